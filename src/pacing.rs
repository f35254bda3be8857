//! Client-side pacing of Lambda requests, per region.
//!
//! Lambda's control plane allows about 15 requests per second per account
//! and region for most calls. A fleet run that fires faster is throttled and
//! then spends its time in retry backoff; instead, every Lambda request
//! (each attempt, retries included) waits for its slot from one [`Pace`]
//! shared by all functions in that region, so the run goes at the quota's
//! pace with no throttling storm. The pacing sits in the HTTP client the
//! Lambda SDK client uses ([`paced`]), below retries and signing.

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Evenly spaced request slots: at most `rate` per second.
#[derive(Debug)]
pub struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    /// Slots for `rate` requests per second (at least 1).
    pub fn per_second(rate: u32) -> Arc<Pace> {
        Arc::new(Pace {
            interval: Duration::from_secs(1) / rate.max(1),
            next: Mutex::new(Instant::now()),
        })
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// `inner`, with every request waiting for a slot of `pace` first.
pub fn paced(inner: SharedHttpClient, pace: Arc<Pace>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, pace })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pace: Arc<Pace>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pace: self.pace.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pace: Arc<Pace>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, pace) = (self.inner.clone(), self.pace.clone());
        HttpConnectorFuture::new(async move {
            pace.wait().await;
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate() {
        let pace = Pace::per_second(10);
        let start = Instant::now();
        for _ in 0..21 {
            pace.wait().await;
        }
        // The first slot is now, then one every 100 ms.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}
