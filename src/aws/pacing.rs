//! Client-side pacing of Lambda requests, per region.
//!
//! Lambda's control plane allows about 15 requests per second per account
//! and region for most calls; `GetFunction` has its own quota of 100 per
//! second, and invocations are not counted against either. A fleet run that
//! fires faster is throttled and then spends its time in retry backoff;
//! instead, every Lambda request (each attempt, retries included) waits for
//! its slot from the [`Paces`] shared by all functions in that region, so
//! the run goes at the quota's pace with no throttling storm. The pacing
//! sits in the HTTP client the Lambda SDK client uses ([`paced`]), below
//! retries and signing.

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

/// How many requests may start at once after a pause, as a token bucket
/// (which Lambda's own quota is) allows: a `ship` makes six reads in its
/// first two round trips (the alias and the function; `$LATEST` and the
/// three trigger reads), and spread a slot apart they would wait on each
/// other instead of going together. Over time the rate still holds.
const BURST: u32 = 6;

/// Request slots: at most `rate` per second over time, and up to [`BURST`]
/// at once after a pause (a token bucket).
#[derive(Debug)]
pub struct Pace {
    interval: Duration,
    /// How far ahead of its even slot a request may start.
    burst: Duration,
    /// The even slot of the next request (its theoretical arrival time).
    next: Mutex<Instant>,
}

impl Pace {
    /// Slots for `rate` requests per second (at least 1).
    pub fn per_second(rate: u32) -> Pace {
        let interval = Duration::from_secs(1) / rate.max(1);
        Pace {
            interval,
            burst: interval * (BURST - 1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let even = (*next).max(now);
            *next = even + self.interval;
            even.checked_sub(self.burst).unwrap_or(now).max(now)
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The paces of one region's Lambda quotas.
#[derive(Debug)]
pub struct Paces {
    /// The control plane: every call but `GetFunction` and invocations.
    control: Pace,
    /// `GetFunction`, whose quota is 100/15 times the control plane's.
    get_function: Pace,
}

impl Paces {
    /// Paces for a control-plane quota of `rate` requests per second.
    pub fn for_rate(rate: u32) -> Arc<Paces> {
        Arc::new(Paces {
            control: Pace::per_second(rate),
            get_function: Pace::per_second(rate.saturating_mul(100) / 15),
        })
    }

    /// The pace `request` waits for; none for an invocation.
    fn of(&self, method: &str, path: &str) -> Option<&Pace> {
        let path = path.split('?').next().unwrap_or(path);
        let functions = path.split_once("/functions/").map(|(_, rest)| rest);
        match (method, functions) {
            ("POST", Some(rest)) if rest.ends_with("/invocations") => None,
            ("GET", Some(rest)) if !rest.is_empty() && !rest.contains('/') => {
                Some(&self.get_function)
            }
            _ => Some(&self.control),
        }
    }
}

/// `inner`, with every request waiting for its slot of `paces` first.
pub fn paced(inner: SharedHttpClient, paces: Arc<Paces>) -> SharedHttpClient {
    SharedHttpClient::new(PacedClient { inner, paces })
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    paces: Arc<Paces>,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            paces: self.paces.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    paces: Arc<Paces>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, paces) = (self.inner.clone(), self.paces.clone());
        HttpConnectorFuture::new(async move {
            if let Some(pace) = paces.of(request.method(), request.uri()) {
                pace.wait().await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate_after_a_burst() {
        let pace = Pace::per_second(10);
        let start = Instant::now();
        for _ in 0..BURST {
            pace.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "a burst starts at once");
        for _ in 0..20 {
            pace.wait().await;
        }
        // Then one every 100 ms.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // After a pause, a burst again, never more.
        tokio::time::sleep(Duration::from_secs(10)).await;
        let paused = Instant::now();
        for _ in 0..=BURST {
            pace.wait().await;
        }
        assert_eq!(paused.elapsed(), Duration::from_millis(100));
    }

    #[test]
    fn each_request_counts_against_its_own_quota() {
        let paces = Paces::for_rate(15);
        let of = |method: &str, path: &str| paces.of(method, path).map(|p| p.interval);
        let control = Some(Duration::from_secs(1) / 15);
        let get_function = Some(Duration::from_secs(1) / 100);
        let base = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions";
        assert_eq!(of("POST", &format!("{base}/orders/invocations")), None);
        assert_eq!(
            of("GET", &format!("{base}/orders?Qualifier=live")),
            get_function
        );
        assert_eq!(of("GET", &format!("{base}/orders/configuration")), control);
        assert_eq!(of("PUT", &format!("{base}/orders/code")), control);
        assert_eq!(of("POST", &format!("{base}/orders/versions")), control);
        assert_eq!(of("GET", &format!("{base}/orders/aliases/live")), control);
        assert_eq!(of("POST", base), control);
    }
}
