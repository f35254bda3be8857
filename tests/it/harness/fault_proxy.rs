//! A fault-injecting HTTP proxy between greenlight and the emulator.
//!
//! greenlight is pointed at the proxy (`AWS_ENDPOINT_URL`); the proxy names
//! each request's AWS operation (`UpdateAlias`, `ChangeResourceRecordSets`,
//! `DescribeAlarms`, …) and either forwards it to moto or answers it with a
//! fault: the service's throttling error, a 500 or 503, a dropped
//! connection, or no answer at all. Faults are chosen by rule (an
//! operation, after how many calls, how many times) or at random (a share of
//! all calls, from a seed, so a failing run can be replayed). Every request
//! is logged with the fault it got, the function it names, when it arrived
//! and was answered, and what the emulator answered (or why it could not be
//! reached), for assertions such as "no further writes" or "the gates were
//! read only after the TTL". A call can also be held until the test lets it
//! go, to look at the emulator's state between two writes.
//!
//! A request the proxy cannot forward to the emulator is not passed off as
//! a fault: it is logged as [`Upstream::Failed`], printed, and fails the
//! test when the proxy is dropped.
//!
//! One request per connection (`Connection: close` both ways) keeps the
//! relay simple: the SDK opens a new connection when the old one closes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does to a request instead of answering it normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error: Lambda's 429
    /// `TooManyRequestsException`, Route 53's and CloudWatch's 400
    /// `Throttling`, S3's 503 `SlowDown`.
    Throttle,
    /// Route 53's 400 `PriorRequestNotComplete` (Lambda's 429 elsewhere).
    PriorRequestNotComplete,
    /// 500, the service's internal error.
    ServerError,
    /// 503, service unavailable.
    Unavailable,
    /// Lambda's 409 `ResourceConflictException`: an update is in progress.
    Conflict,
    /// 403 `AccessDeniedException` (Lambda) or `AccessDenied`: the caller's
    /// policy does not allow the call.
    AccessDenied,
    /// The connection is closed without an answer.
    Reset,
    /// No answer, ever: the client's timeout has to fire.
    Hang,
    /// Forwarded (so the emulator applies it), then no answer: the response
    /// is lost, as when the caller dies mid-call.
    HangAfterForward,
    /// Forwarded, and the answer's body returned with `from` replaced by
    /// `to` (e.g. a Route 53 change still `PENDING`).
    Rewrite {
        /// The text replaced.
        from: &'static str,
        /// Its replacement.
        to: &'static str,
    },
}

impl Fault {
    /// The faults a service may answer with at any time, for random runs.
    pub const TRANSIENT: [Fault; 5] = [
        Fault::Throttle,
        Fault::ServerError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Hang,
    ];
}

/// A rule: calls of `op` (of `function` only, if set) after the first
/// `skip` get `fault`, `times` times (or always).
#[derive(Debug, Clone)]
struct Rule {
    op: String,
    function: Option<String>,
    skip: usize,
    times: Option<usize>,
    fault: Fault,
    applied: usize,
}

/// What became of a request on its way to the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// Answered by the proxy alone (a fault), or not yet sent.
    NotForwarded,
    /// The emulator answered with this HTTP status: it has applied the call.
    Answered(u16),
    /// The proxy could not reach the emulator or read its answer: a broken
    /// test set-up, never a fault the test meant.
    Failed(String),
}

/// One request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The AWS operation, e.g. `UpdateAlias`.
    pub op: String,
    /// Its number among the calls of `op`, from 1.
    pub n: usize,
    /// The fault it got, if any.
    pub fault: Option<Fault>,
    /// The Lambda function its path names, if any.
    pub function: Option<String>,
    /// When it arrived at the proxy.
    pub at: Instant,
    /// When the proxy wrote its answer to greenlight (`None`: no answer,
    /// or not yet).
    pub answered: Option<Instant>,
    /// What the emulator made of it.
    pub upstream: Upstream,
    /// The start (4 KiB) of the answer's body greenlight got, as text.
    pub answer: String,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// Share of calls faulted at random, with the faults to pick from.
    random: Option<(f64, Vec<Fault>)>,
    rng: u64,
    calls: BTreeMap<String, usize>,
    /// Calls per (function, operation).
    function_calls: BTreeMap<(String, String), usize>,
    log: Vec<Seen>,
    /// Calls of this operation are held until this many have arrived.
    barrier: Option<(String, usize)>,
    waiting: usize,
    /// Calls (operation, number from 1) to hold until released.
    holds: BTreeSet<(String, usize)>,
    /// Held calls that have arrived and wait.
    held: BTreeSet<(String, usize)>,
    /// Added before every request is forwarded: a network far away.
    latency: Duration,
}

/// A running proxy in front of one emulator.
pub struct FaultProxy {
    /// The URL to give greenlight, e.g. `http://127.0.0.1:41235`.
    pub endpoint: String,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port that forwards to `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let (state, upstream) = (shared.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &state);
                });
            }
        });
        FaultProxy {
            endpoint,
            state,
            stop,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let (lock, wake) = &*self.state;
        let out = f(&mut lock.lock().expect("proxy state"));
        wake.notify_all();
        out
    }

    /// Calls of `op` after the first `skip` (counted from the start) get
    /// `fault`, `times` times, or always with `None`.
    pub fn rule(&self, op: &str, skip: usize, times: Option<usize>, fault: Fault) {
        self.add_rule(op, None, skip, times, fault);
    }

    /// [`FaultProxy::rule`] for the calls naming Lambda function `function`
    /// only (`skip` counts that function's calls of `op`).
    pub fn rule_for(
        &self,
        function: &str,
        op: &str,
        skip: usize,
        times: Option<usize>,
        fault: Fault,
    ) {
        self.add_rule(op, Some(function), skip, times, fault);
    }

    fn add_rule(
        &self,
        op: &str,
        function: Option<&str>,
        skip: usize,
        times: Option<usize>,
        fault: Fault,
    ) {
        self.with(|s| {
            s.rules.push(Rule {
                op: op.to_owned(),
                function: function.map(str::to_owned),
                skip,
                times,
                fault,
                applied: 0,
            });
        });
    }

    /// Whether a rule or the random faults may leave a call unanswered
    /// until the client's timeout (so a run should time out quickly).
    pub fn may_hang(&self) -> bool {
        self.with(|s| {
            s.rules.iter().any(|r| r.fault == Fault::Hang)
                || s.random
                    .as_ref()
                    .is_some_and(|(_, faults)| faults.contains(&Fault::Hang))
        })
    }

    /// Holds the calls of `op` numbered `ns` (counted from the start, from
    /// 1) before they reach the emulator, each until [`FaultProxy::release`].
    pub fn hold(&self, op: &str, ns: &[usize]) {
        self.with(|s| s.holds.extend(ns.iter().map(|n| (op.to_owned(), *n))));
    }

    /// Waits until the `n`-th call of `op` is being held, failing after `deadline`.
    #[track_caller]
    pub fn wait_until_held(&self, op: &str, n: usize, deadline: Duration) {
        let key = (op.to_owned(), n);
        self.wait(&format!("call {n} of {op} to be held"), deadline, |s| {
            s.held.contains(&key)
        });
    }

    /// Lets the held `n`-th call of `op` go on to the emulator.
    pub fn release(&self, op: &str, n: usize) {
        self.with(|s| s.holds.remove(&(op.to_owned(), n)));
    }

    /// For each of the calls of `op` numbered `ns` (held with
    /// [`FaultProxy::hold`]): waits until it is held, runs `look(n)` on the
    /// state the calls before it left, then lets it go. A state that lasts
    /// only between two writes is seen for certain, however slow the
    /// machine.
    #[track_caller]
    pub fn look_before_each(
        &self,
        op: &str,
        ns: &[usize],
        deadline: Duration,
        mut look: impl FnMut(usize),
    ) {
        for &n in ns {
            self.wait_until_held(op, n, deadline);
            look(n);
            self.release(op, n);
        }
    }

    /// A `share` of all calls (0–1) get one of `faults`, picked with a
    /// generator seeded with `seed`.
    pub fn random(&self, share: f64, seed: u64, faults: &[Fault]) {
        self.with(|s| {
            s.random = Some((share, faults.to_vec()));
            s.rng = seed.max(1);
        });
    }

    /// Holds calls of `op` until `n` of them are waiting, then lets them
    /// all through at once: a race, made certain.
    pub fn barrier(&self, op: &str, n: usize) {
        self.with(|s| s.barrier = Some((op.to_owned(), n)));
    }

    /// No more faults or holds; calls already hanging stay hung.
    pub fn clear(&self) {
        self.with(|s| {
            s.rules.clear();
            s.random = None;
            s.barrier = None;
            s.holds.clear();
        });
    }

    /// Holds every request `latency` before forwarding it, as a distant
    /// network would: requests made together then overlap for certain.
    pub fn add_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    /// The longest chain of requests in the log each of which arrived only
    /// after the one before it was answered: the round trips a run waited
    /// for one after another (requests made together count once).
    pub fn sequential_round_trips(&self) -> usize {
        let log = self.log();
        let mut chain = vec![0; log.len()];
        for (i, call) in log.iter().enumerate() {
            let before = log[..i]
                .iter()
                .zip(&chain)
                .filter(|(earlier, _)| earlier.answered.is_some_and(|a| a <= call.at))
                .map(|(_, n)| *n)
                .max()
                .unwrap_or(0);
            chain[i] = before + 1;
        }
        chain.into_iter().max().unwrap_or(0)
    }

    /// Every request so far, in order.
    pub fn log(&self) -> Vec<Seen> {
        self.with(|s| s.log.clone())
    }

    /// How many calls of `op` the proxy has seen.
    pub fn calls(&self, op: &str) -> usize {
        self.with(|s| s.calls.get(op).copied().unwrap_or(0))
    }

    /// How many calls of `op` naming Lambda function `function` the proxy has seen.
    pub fn calls_of(&self, function: &str, op: &str) -> usize {
        self.with(|s| {
            let key = (function.to_owned(), op.to_owned());
            s.function_calls.get(&key).copied().unwrap_or(0)
        })
    }

    /// How many requests got a fault.
    pub fn faults(&self) -> usize {
        self.log().iter().filter(|s| s.fault.is_some()).count()
    }

    /// Waits until the proxy has seen `n` calls of `op`, failing after `deadline`.
    #[track_caller]
    pub fn wait_for_calls(&self, op: &str, n: usize, deadline: Duration) {
        self.wait(&format!("{n} {op} calls"), deadline, |s| {
            s.calls.get(op).copied().unwrap_or(0) >= n
        });
    }

    /// Waits until the emulator has answered the `n`-th call of `op`
    /// (counted from the start, from 1), so it has applied it, whatever
    /// became of the answer; fails after `deadline`.
    #[track_caller]
    pub fn wait_for_forwarded(&self, op: &str, n: usize, deadline: Duration) {
        self.wait(
            &format!("the emulator to answer call {n} of {op}"),
            deadline,
            |s| {
                s.log
                    .iter()
                    .any(|c| c.op == op && c.n == n && matches!(c.upstream, Upstream::Answered(_)))
            },
        );
    }

    /// Waits until the emulator has answered a call of `op` made after the
    /// last call of `after` so far (e.g. the gate check that follows a
    /// move); fails after `deadline`.
    #[track_caller]
    pub fn wait_for_answered_after(&self, after: &str, op: &str, deadline: Duration) {
        let last = self.log().iter().rposition(|c| c.op == after);
        self.wait(
            &format!("the emulator to answer a {op} after the last {after}"),
            deadline,
            |s| {
                s.log
                    .iter()
                    .skip(last.map_or(0, |i| i + 1))
                    .any(|c| c.op == op && matches!(c.upstream, Upstream::Answered(_)))
            },
        );
    }

    /// Waits until `done` holds for the state, failing after `deadline`
    /// (and at once if a request could not be forwarded).
    #[track_caller]
    fn wait(&self, what: &str, deadline: Duration, done: impl Fn(&State) -> bool) {
        let (lock, wake) = &*self.state;
        let until = Instant::now() + deadline;
        let mut state = lock.lock().expect("proxy state");
        while !done(&state) {
            let failed = forwarding_failures(&state);
            assert!(failed.is_empty(), "waiting for {what}: {failed:?}");
            let left = until.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "timed out waiting for {what}");
            state = wake.wait_timeout(state, left).expect("proxy state").0;
        }
    }
}

/// The requests the proxy could not forward, with why.
fn forwarding_failures(state: &State) -> Vec<String> {
    state
        .log
        .iter()
        .filter_map(|c| match &c.upstream {
            Upstream::Failed(why) => Some(format!("{}: {why}", c.op)),
            _ => None,
        })
        .collect()
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
        let failed = self.with(|s| forwarding_failures(s));
        if !failed.is_empty() && !std::thread::panicking() {
            panic!("the fault proxy could not forward requests to the emulator: {failed:?}");
        }
    }
}

/// One HTTP request, as read off the wire.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Reads one request (`Content-Length` or chunked body); `None` at end of stream.
fn read_request(reader: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut start = String::new();
    if reader.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut parts = start.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..n]);
            if n == 0 {
                break;
            }
        }
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
        headers.push(("Content-Length".to_owned(), body.len().to_string()));
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// The Lambda function a request's path names, if any.
fn function_of(r: &Request) -> Option<String> {
    let path = r.path.split('?').next().unwrap_or_default();
    let mut segments = path.split('/').filter(|s| !s.is_empty()).skip(1);
    (segments.next() == Some("functions"))
        .then(|| segments.next().map(str::to_owned))
        .flatten()
}

/// The AWS operation a request calls, from its method, path and body.
fn operation(r: &Request) -> String {
    // The JSON protocol (SSM, Secrets Manager) names it in a header.
    if let Some(op) = target(r) {
        return op.to_owned();
    }
    let path = r.path.split('?').next().unwrap_or_default();
    let query = r.path.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = r.method.as_str();
    let op = match segments.as_slice() {
        ["moto-api", ..] => "MotoApi",
        [_, "functions"] if method == "POST" => "CreateFunction",
        [_, "functions"] => "ListFunctions",
        [_, "functions", _] if method == "GET" => "GetFunction",
        [_, "functions", _] if method == "DELETE" => "DeleteFunction",
        [_, "functions", _, "configuration"] if method == "GET" => "GetFunctionConfiguration",
        [_, "functions", _, "configuration"] => "UpdateFunctionConfiguration",
        [_, "functions", _, "code"] => "UpdateFunctionCode",
        [_, "functions", _, "versions"] if method == "POST" => "PublishVersion",
        [_, "functions", _, "versions"] => "ListVersionsByFunction",
        [_, "functions", _, "aliases"] if method == "POST" => "CreateAlias",
        [_, "functions", _, "aliases"] => "ListAliases",
        [_, "functions", _, "aliases", _] if method == "PUT" => "UpdateAlias",
        [_, "functions", _, "aliases", _] if method == "DELETE" => "DeleteAlias",
        [_, "functions", _, "aliases", _] => "GetAlias",
        [_, "functions", _, "invocations"] => "Invoke",
        [_, "functions", _, "provisioned-concurrency"] if method == "PUT" => {
            "PutProvisionedConcurrencyConfig"
        }
        [_, "functions", _, "provisioned-concurrency"] => "GetProvisionedConcurrencyConfig",
        [_, "tags", _] if method == "POST" => "TagResource",
        [_, "tags", _] if method == "DELETE" => "UntagResource",
        [_, "tags", _] => "ListTags",
        [_, "functions", _, "url"] if method == "GET" => "GetFunctionUrlConfig",
        [_, "functions", _, "url"] if method == "POST" => "CreateFunctionUrlConfig",
        [_, "functions", _, "policy"] if method == "GET" => "GetPolicy",
        [_, "functions", _, "policy"] => "AddPermission",
        [_, "event-source-mappings"] if method == "GET" => "ListEventSourceMappings",
        [_, "event-source-mappings"] => "CreateEventSourceMapping",
        ["2013-04-01", "hostedzone", _, "rrset"] if method == "POST" => "ChangeResourceRecordSets",
        ["2013-04-01", "hostedzone", _, "rrset"] => "ListResourceRecordSets",
        ["2013-04-01", "change", _] => "GetChange",
        ["2013-04-01", ..] => "Route53",
        _ => {
            let form = String::from_utf8_lossy(&r.body);
            let action = form
                .split('&')
                .chain(query.split('&'))
                .find_map(|kv| kv.strip_prefix("Action="));
            return match action {
                Some(a) => a.to_owned(),
                None => format!("S3{method}"),
            };
        }
    };
    op.to_owned()
}

/// The operation an AWS JSON-protocol request names in `X-Amz-Target`.
fn target(r: &Request) -> Option<&str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
        .and_then(|(_, v)| v.rsplit('.').next())
}

/// Which wire format a request's errors take.
#[derive(PartialEq)]
enum Service {
    Lambda,
    Route53,
    Query,
    S3,
    /// The AWS JSON protocol (SSM, Secrets Manager).
    Json,
}

fn service(r: &Request, op: &str) -> Service {
    if target(r).is_some() {
        Service::Json
    } else if r.path.starts_with("/2013-04-01/") {
        Service::Route53
    } else if r.path.contains("/functions")
        || r.path.starts_with("/2017-03-31/tags/")
        || r.path.contains("/event-source-mappings")
    {
        Service::Lambda
    } else if op.starts_with("S3") {
        Service::S3
    } else {
        Service::Query
    }
}

/// The error answer `fault` stands for, in `service`'s format.
fn error_response(service: &Service, fault: Fault) -> Vec<u8> {
    let (status, reason, code) = match (service, fault) {
        (Service::Lambda, Fault::Throttle | Fault::PriorRequestNotComplete) => {
            (429, "Too Many Requests", "TooManyRequestsException")
        }
        (Service::S3, Fault::Throttle) => (503, "Slow Down", "SlowDown"),
        (Service::Json, Fault::Throttle) => (400, "Bad Request", "ThrottlingException"),
        (Service::Json, Fault::AccessDenied) => (400, "Bad Request", "AccessDeniedException"),
        (_, Fault::Throttle) => (400, "Bad Request", "Throttling"),
        (_, Fault::PriorRequestNotComplete) => (400, "Bad Request", "PriorRequestNotComplete"),
        (_, Fault::Conflict) => (409, "Conflict", "ResourceConflictException"),
        (Service::Lambda, Fault::AccessDenied) => (403, "Forbidden", "AccessDeniedException"),
        (_, Fault::AccessDenied) => (403, "Forbidden", "AccessDenied"),
        (_, Fault::Unavailable) => (503, "Service Unavailable", "ServiceUnavailable"),
        _ => (500, "Internal Server Error", "ServiceException"),
    };
    let message = match fault {
        Fault::AccessDenied => {
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform this operation"
        }
        _ => "injected by the test proxy",
    };
    let (content_type, body) = match service {
        Service::Lambda => (
            "application/json",
            format!(r#"{{"Type":"Service","message":"{message}"}}"#),
        ),
        Service::Json => (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        ),
        Service::S3 => (
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
        ),
        _ => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
            ),
        ),
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nx-amzn-RequestId: proxy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A call as [`decide`] numbered and logged it.
struct Decided {
    fault: Option<Fault>,
    /// Its number among the calls of its operation, from 1.
    n: usize,
    /// Its place in the log.
    index: usize,
}

/// Decides the fault for a call of `op` naming `function` and logs it.
fn decide(state: &mut State, op: &str, function: Option<&str>) -> Decided {
    let n = {
        let calls = state.calls.entry(op.to_owned()).or_default();
        *calls += 1;
        *calls
    };
    let n_of_function = function.map(|f| {
        let calls = state
            .function_calls
            .entry((f.to_owned(), op.to_owned()))
            .or_default();
        *calls += 1;
        *calls
    });
    let ruled = state.rules.iter_mut().find(|r| {
        let count = match &r.function {
            None => Some(n),
            Some(f) if Some(f.as_str()) == function => n_of_function,
            Some(_) => None,
        };
        r.op == op && count.is_some_and(|c| c > r.skip) && r.times.is_none_or(|t| r.applied < t)
    });
    let fault = match ruled {
        Some(rule) => {
            rule.applied += 1;
            Some(rule.fault)
        }
        None => match &state.random {
            Some((share, faults)) if op != "MotoApi" => {
                // xorshift64: small, seeded, good enough to spread faults.
                let mut next = || {
                    state.rng ^= state.rng << 13;
                    state.rng ^= state.rng >> 7;
                    state.rng ^= state.rng << 17;
                    state.rng
                };
                let roll = (next() % 10_000) as f64 / 10_000.0;
                let pick = next() as usize % faults.len().max(1);
                (roll < *share).then(|| faults[pick])
            }
            _ => None,
        },
    };
    state.log.push(Seen {
        op: op.to_owned(),
        n,
        fault,
        function: function.map(str::to_owned),
        at: Instant::now(),
        answered: None,
        upstream: Upstream::NotForwarded,
        answer: String::new(),
    });
    Decided {
        fault,
        n,
        index: state.log.len() - 1,
    }
}

/// Serves one connection: one request, answered or faulted.
fn serve(client: TcpStream, upstream: &str, state: &(Mutex<State>, Condvar)) -> io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let op = operation(&request);
    let (lock, wake) = state;
    let Decided { fault, index, .. } = {
        let mut s = lock.lock().expect("proxy state");
        let decided = decide(&mut s, &op, function_of(&request).as_deref());
        wake.notify_all();
        if decided.fault.is_none() && s.barrier.as_ref().is_some_and(|(b, _)| *b == op) {
            s.waiting += 1;
            wake.notify_all();
            let deadline = Instant::now() + Duration::from_secs(30);
            while s.barrier.as_ref().is_some_and(|(_, n)| s.waiting < *n)
                && Instant::now() < deadline
            {
                s = wake
                    .wait_timeout(s, Duration::from_millis(50))
                    .expect("proxy state")
                    .0;
            }
        }
        let key = (op.clone(), decided.n);
        if s.holds.contains(&key) {
            s.held.insert(key.clone());
            wake.notify_all();
            // A test that never releases its hold is a broken test: let
            // the call go in the end rather than hang forever.
            let deadline = Instant::now() + Duration::from_secs(300);
            while s.holds.contains(&key) && Instant::now() < deadline {
                s = wake
                    .wait_timeout(s, Duration::from_millis(50))
                    .expect("proxy state")
                    .0;
            }
            s.held.remove(&key);
        }
        decided
    };
    let latency = lock.lock().expect("proxy state").latency;
    std::thread::sleep(latency);
    let record = |upstream: Option<Upstream>, answer: Option<&[u8]>| {
        let mut s = lock.lock().expect("proxy state");
        let seen = &mut s.log[index];
        if let Some(upstream) = upstream {
            if let Upstream::Failed(why) = &upstream {
                eprintln!("fault proxy: cannot forward {op} to the emulator: {why}");
            }
            seen.upstream = upstream;
        }
        if let Some(answer) = answer {
            seen.answered = Some(Instant::now());
            let body = answer
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(&[][..], |end| &answer[end + 4..]);
            seen.answer = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
        }
        wake.notify_all();
    };
    let forwarded = |rewrite: Option<(&str, &str)>| match forward(&request, upstream, rewrite) {
        Ok((status, answer)) => {
            record(Some(Upstream::Answered(status)), None);
            Some(answer)
        }
        Err(e) => {
            record(Some(Upstream::Failed(e.to_string())), None);
            None
        }
    };
    let mut client = client;
    let answer = match fault {
        None => forwarded(None),
        Some(Fault::Rewrite { from, to }) => forwarded(Some((from, to))),
        Some(Fault::Reset) => None,
        Some(Fault::Hang) => {
            hang(&mut reader);
            None
        }
        Some(Fault::HangAfterForward) => {
            forwarded(None);
            hang(&mut reader);
            None
        }
        Some(fault) => Some(error_response(&service(&request, &op), fault)),
    };
    if let Some(answer) = answer {
        record(None, Some(&answer));
        client.write_all(&answer)?;
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// Blocks until the client gives up and closes the connection.
fn hang(reader: &mut BufReader<TcpStream>) {
    let mut sink = Vec::new();
    let _ = reader.read_to_end(&mut sink);
}

/// Sends `request` to the emulator and returns its status and whole
/// answer, marked `Connection: close`, with `rewrite` (from, to) applied to
/// the body.
fn forward(
    request: &Request,
    upstream: &str,
    rewrite: Option<(&str, &str)>,
) -> io::Result<(u16, Vec<u8>)> {
    let mut server = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (k, v) in &request.headers {
        if !k.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    server.write_all(head.as_bytes())?;
    server.write_all(&request.body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    let broken = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_owned());
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            broken(&format!(
                "no complete answer: {:?}",
                String::from_utf8_lossy(&answer)
            ))
        })?;
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| broken(&format!("no status in {head:?}")))?;
    let mut body = answer[end + 4..].to_vec();
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") {
            continue;
        }
        if rewrite.is_some() && lower.starts_with("transfer-encoding:") {
            return Err(broken("cannot rewrite a chunked answer"));
        }
        if rewrite.is_some() && lower.starts_with("content-length:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    if let Some((from, to)) = rewrite {
        body = String::from_utf8_lossy(&body)
            .replace(from, to)
            .into_bytes();
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok((status, bytes))
}
