//! The SNS seam: publish a release notification to a topic.
//!
//! A topic is published to in the region its ARN names (a client for that
//! region is made once and kept). A notification must never hold up a
//! release, so these clients try at most [`ATTEMPTS`] times within
//! [`WITHIN`] in all, not the run's usual retries. AWS calls: `Publish`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{Region, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

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
    clients: Mutex<BTreeMap<String, aws_sdk_sns::Client>>,
}

impl Topics {
    /// SNS with the credentials, endpoint and settings of `sdk`.
    pub fn new(sdk: &SdkConfig) -> Self {
        Topics {
            sdk: sdk.clone(),
            clients: Mutex::new(BTreeMap::new()),
        }
    }

    fn client(&self, region: &str) -> aws_sdk_sns::Client {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_sns::config::Builder::from(&self.sdk)
                    .region(Region::new(region.to_owned()))
                    .retry_config(RetryConfig::standard().with_max_attempts(ATTEMPTS))
                    .timeout_config(TimeoutConfig::builder().operation_timeout(WITHIN).build())
                    .build();
                aws_sdk_sns::Client::from_conf(config)
            })
            .clone()
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
