"""What moto lacks and greenlight's tests depend on, one module per AWS gap.

Each module patches moto in place (before its server starts) so that the
emulator answers, and refuses, as the AWS service does:

- `front_door`: every request's operation named in the request log, and a
  `ResourceConflictException` injectable on any Lambda operation;
- `lambda_revisions`: alias and function RevisionIds, and `PublishVersion`'s
  RevisionId and CodeSha256 guards;
- `lambda_settings`: the function settings moto drops, and the ones Lambda
  refuses (log levels without JSON logs, file systems without a VPC);
- `lambda_states`: Pending functions and versions, updates in progress;
- `lambda_invoke`: a weighted alias routes by its weights, and the version
  that ran is named (`X-Amz-Executed-Version`);
- `lambda_extras`: provisioned concurrency, a function URL per qualifier;
- `route53`: exact DELETEs, one TTL per weighted set;
- `cloudwatch`: `DescribeAlarms` in pages and within its limits,
  percentiles (`p99`) in `GetMetricData`;
- `ssm`: `GetParameters` with a `:version` or `:label` selector.
"""
