//! Posting a notification to a URL: a few quick tries, then give up.
//!
//! Each try waits at most [`TRY_TIMEOUT`]; a refused or dropped
//! connection, a timeout, a 429 or a 5xx is tried again after a short
//! pause, up to [`ATTEMPTS`] tries (about ten seconds at most in all);
//! any other answer outside 2xx is given up at once. A redirect is such an
//! answer, not followed: the notice goes only to the URL configured (a
//! redirect could lead to another host, or to plain `http://`). Errors
//! never hold the URL (it holds a token).

use std::time::Duration;

/// Tries per notification.
pub const ATTEMPTS: u32 = 3;
/// How long one try may take.
pub const TRY_TIMEOUT: Duration = Duration::from_secs(3);
/// The pause before the second try; it doubles before each later one.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// Posts `body` (JSON) to `url`; why it could not, if it could not.
pub async fn post(url: &str, body: &str) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(TRY_TIMEOUT)
        .connect_timeout(TRY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("no HTTP client: {}", e.without_url()))?;
    let mut pause = FIRST_PAUSE;
    let mut tries = 0;
    loop {
        tries += 1;
        let answer = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await;
        let (why, again) = match answer {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => {
                let status = answer.status();
                let again = status.is_server_error() || status.as_u16() == 429;
                (format!("it answered HTTP {}", status.as_u16()), again)
            }
            Err(e) => {
                let again = !e.is_builder();
                (unreachable(e), again)
            }
        };
        if !again || tries >= ATTEMPTS {
            let tried = match tries {
                1 => String::new(),
                n => format!(" ({n} tries)"),
            };
            return Err(format!("{why}{tried}"));
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
}

/// Why a request got no answer, without its URL.
fn unreachable(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {}s", TRY_TIMEOUT.as_secs());
    }
    if e.is_connect() {
        return "could not connect".to_owned();
    }
    if e.is_builder() {
        return "not a URL greenlight can post to".to_owned();
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}
