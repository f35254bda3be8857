#!/usr/bin/env bash
# An alarm scoped to one version of a function: Errors of that version only
# (the ExecutedVersion dimension Lambda publishes for invocations through an
# alias), so a canary is judged on its own errors, not on the stable
# version's, and an old problem does not block shipping its fix.
#
#   templates/version-alarm.sh FUNCTION ALIAS VERSION [THRESHOLD]
#
# Creates (or updates) the alarm FUNCTION-errors-vVERSION. In greenlight.toml:
#
#   [release]
#   alarms = ["orders-errors-v{version}"]   # {version} = the version being released
#
# In CI, between deploy and release:
#
#   version=$(greenlight deploy --output json | jq -r .deploy.version)
#   templates/version-alarm.sh orders live "$version"
#   greenlight release --version "$version"
#
# Needs cloudwatch:PutMetricAlarm. Old versions' alarms can be deleted with
# `aws cloudwatch delete-alarms --alarm-names FUNCTION-errors-vN`.
set -euo pipefail
function=${1:?function name}
alias=${2:?alias}
version=${3:?version}
threshold=${4:-0}
aws cloudwatch put-metric-alarm \
  --alarm-name "${function}-errors-v${version}" \
  --alarm-description "Errors of ${function} version ${version} through alias ${alias} (greenlight gate)" \
  --namespace AWS/Lambda \
  --metric-name Errors \
  --dimensions "Name=FunctionName,Value=${function}" "Name=Resource,Value=${function}:${alias}" "Name=ExecutedVersion,Value=${version}" \
  --statistic Sum \
  --period 60 \
  --evaluation-periods 1 \
  --threshold "${threshold}" \
  --comparison-operator GreaterThanThreshold \
  --treat-missing-data notBreaching
echo "alarm ${function}-errors-v${version} is ready"
