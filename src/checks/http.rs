//! HTTP smoke tests: one request to a URL (a Lambda function URL, the API in
//! front of the function, or in DNS mode the colour's endpoint) and the
//! checks on its answer: status, a text the body contains, JSON keys, and
//! the latency. The body and the errors are outside text ([`crate::outside`]).

use std::time::{Duration, Instant};

use crate::checks::smoke::{Target, json_mismatch};
use crate::config::HttpCheck;
use crate::outside;

/// Sends the request; `None` when every check holds, else what differed.
pub async fn check(http: &HttpCheck, target: &Target, timeout: Duration) -> Option<String> {
    let url = target.fill(&http.url);
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(e) => {
            let why = outside::quote(&e.to_string());
            return Some(format!("cannot make an HTTP client: {why}"));
        }
    };
    let method =
        reqwest::Method::from_bytes(http.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, &url);
    for (name, value) in &http.headers {
        request = request.header(name, target.fill(value));
    }
    if let Some(body) = &http.body {
        request = request.body(target.fill(body));
    }
    let started = Instant::now();
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let why = outside::quote(&error_chain(&e));
            return Some(format!("{} {url} failed: {why}", http.method));
        }
    };
    let status = response.status().as_u16();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            let why = outside::quote(&error_chain(&e));
            return Some(format!("reading the answer of {url} failed: {why}"));
        }
    };
    let latency = started.elapsed();
    let text = String::from_utf8_lossy(&body);
    if status != http.status {
        return Some(format!(
            "{} {url}: expected status {}, got {status}; body was {}",
            http.method,
            http.status,
            outside::excerpt(&text)
        ));
    }
    if let Some(wanted) = &http.contains
        && !text.contains(wanted.as_str())
    {
        return Some(format!(
            "{} {url}: expected the body to contain {wanted:?}, got {}",
            http.method,
            outside::excerpt(&text)
        ));
    }
    if let Some(expect) = &http.json
        && let Some(why) = json_mismatch(expect, &body)
    {
        return Some(format!("{} {url}: {why}", http.method));
    }
    match http.max_latency {
        Some(max) if latency > max => Some(format!(
            "{} {url}: answered in {} ms, more than max_latency {}",
            http.method,
            latency.as_millis(),
            humantime::format_duration(max)
        )),
        _ => None,
    }
}

/// An error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
