//! The SNS seam: publish a release notification to a topic.
//!
//! A topic is published to in the region its ARN names (a client for that
//! region is made once and kept). A notification must never hold up a
//! release, so these clients try at most [`ATTEMPTS`] times within
//! [`WITHIN`] in all, not the run's usual retries. AWS calls: `Publish`.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::aws::PerRegion;
use crate::aws::sdk_errors::aws_error;
use crate::error::Result;

/// Attempts per `Publish`.
pub const ATTEMPTS: u32 = 3;
/// How long one `Publish`, its retries included, may take.
pub const WITHIN: Duration = Duration::from_secs(10);

/// SNS topics, in any region.
#[derive(Debug)]
pub struct Topics {
    sdk: SdkConfig,
    clients: PerRegion<aws_sdk_sns::Client>,
}

impl Topics {
    /// SNS with the credentials, endpoint and settings of `sdk`.
    pub fn new(sdk: &SdkConfig) -> Self {
        Topics {
            sdk: sdk.clone(),
            clients: PerRegion::default(),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_sns::Client {
        self.clients.get(region, |region| {
            let config = aws_sdk_sns::config::Builder::from(&self.sdk)
                .region(region)
                .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS))
                .timeout_config(TimeoutConfig::builder().operation_timeout(WITHIN).build())
                .build();
            aws_sdk_sns::Client::from_conf(config)
        })
    }

    /// Publishes `message` with `subject` to the topic `arn`, in `region`.
    pub async fn publish(
        &self,
        arn: &str,
        region: &str,
        subject: &str,
        message: &str,
    ) -> Result<()> {
        self.client(region)
            .publish()
            .topic_arn(arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(|e| aws_error(format!("publish to SNS topic {arn}"), e))?;
        Ok(())
    }
}
