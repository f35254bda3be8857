#!/usr/bin/env bash
# Runs inside LocalStack when it is ready: the role the examples name.
awslocal iam create-role --role-name greenlight-example \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
  >/dev/null
