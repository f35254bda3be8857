//! What only the watcher's own function needs: reserved concurrency, the
//! asynchronous invoke configuration, and deletion (`greenlight watch
//! install/remove`). AWS calls: `PutFunctionConcurrency`,
//! `PutFunctionEventInvokeConfig`, `DeleteFunction`.

use crate::aws::lambda::Lambda;
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

impl Lambda {
    /// Runs at most one instance of `name` (reserved concurrency 1), and
    /// drops an asynchronous event rather than retrying it or keeping it
    /// over `max_age_secs`.
    pub async fn run_alone_and_never_retry(&self, name: &str, max_age_secs: i32) -> Result<()> {
        self.client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(1)
            .send()
            .await
            .map_err(|e| aws_error(format!("reserve concurrency 1 for function {name}"), e))?;
        self.client
            .put_function_event_invoke_config()
            .function_name(name)
            .maximum_retry_attempts(0)
            .maximum_event_age_in_seconds(max_age_secs)
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    format!("configure asynchronous invokes of function {name}"),
                    e,
                )
            })?;
        Ok(())
    }

    /// Deletes function `name` with its versions; whether it was there.
    pub async fn delete_function(&self, name: &str) -> Result<bool> {
        match self
            .client
            .delete_function()
            .function_name(name)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws_error(format!("delete function {name}"), e)),
        }
    }
}
