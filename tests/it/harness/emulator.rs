//! The moto AWS emulator, one per test, started and stopped by the harness.
//!
//! `localstack/moto.sh install` provisions the project-local virtualenv once
//! (it locks, so parallel test processes are safe); then each [`Emulator`]
//! is `localstack/moto_emulator.py` on a free loopback port, forked from one
//! process per test process that has imported moto once ([`Forks`]). The
//! launcher says `READY <url>` only after the server has answered its own
//! set-up requests, so readiness is a line read with a deadline, never a
//! sleep. An emulator is killed when its test ends, and all of them when the
//! test process ends, however it ends. Its request log names
//! the AWS operation of each request ([`Emulator::calls`]), so a "no writes"
//! check tells an SSM write from a read though both are `POST /`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

/// How long an emulator may take to say it is ready.
const READY_DEADLINE: Duration = Duration::from_secs(120);

/// The region every test uses.
pub const REGION: &str = "us-east-1";

/// A running moto server.
pub struct Emulator {
    /// Its number with [`Forks`].
    id: u64,
    /// The server's request log (one line per request, written before the
    /// response body, so complete once a client has its answer).
    log: tempfile::NamedTempFile,
    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub endpoint: String,
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtualenv's python, after making sure moto is installed (once per process).
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo_root().join("localstack/moto.sh"))
            .arg("install")
            .status()
            .expect("run localstack/moto.sh install");
        assert!(
            status.success(),
            "localstack/moto.sh install failed: {status}"
        );
        let venv = std::env::var_os("GREENLIGHT_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join(".venv"));
        venv.join("bin/python")
    })
}

impl Emulator {
    /// Starts a fresh emulator with launcher `options` (none: the
    /// defaults), e.g. how long Lambda states last:
    /// `["--snapstart-pending", "2"]`, and waits until it is ready.
    pub fn start_with(options: &[&str]) -> Emulator {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let (id, answer) = Forks::get().start(log.path(), options);
        let line = match answer.recv_timeout(READY_DEADLINE) {
            Ok(line) => line,
            Err(e) => panic!("the moto emulator did not report READY in time ({e})"),
        };
        let endpoint = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| {
                let said = std::fs::read_to_string(log.path()).unwrap_or_default();
                panic!("the moto emulator did not start: {line}\n{said}")
            })
            .to_owned();
        Emulator { id, log, endpoint }
    }

    /// Queues the results the next simple-mode invocations return, in order.
    pub fn queue_invoke_results(&self, results: &[serde_json::Value]) {
        let results: Vec<String> = results.iter().map(|r| r.to_string()).collect();
        let body = serde_json::json!({ "results": results, "region": REGION }).to_string();
        let status = self.post("/moto-api/static/lambda-simple/response", &body);
        assert_eq!(status, 201, "queueing invoke results");
    }

    /// Every AWS API request served so far, as `METHOD /path`, oldest first
    /// (the emulator's own `/moto-api` calls left out).
    #[track_caller]
    pub fn requests(&self) -> Vec<String> {
        self.entries().into_iter().map(|e| e.request).collect()
    }

    /// [`Emulator::requests`] with the AWS operation each called, as
    /// `METHOD /path Operation` (e.g. `POST / PutParameter`): the
    /// operation tells an SSM write from a read though both are `POST /`.
    #[track_caller]
    pub fn calls(&self) -> Vec<String> {
        self.entries()
            .into_iter()
            .map(|e| format!("{} {}", e.request, e.operation))
            .collect()
    }

    /// The writes among the calls from the `before`-th on, judged by
    /// operation (see [`Emulator::calls`] and [`is_read`]).
    #[track_caller]
    pub fn writes_since(&self, before: usize) -> Vec<String> {
        let mut calls = self.calls().split_off(before);
        calls.retain(|c| !is_read(c));
        calls
    }

    /// The HTTP status the emulator answered each call of `operation`
    /// with, oldest first.
    #[track_caller]
    pub fn answers(&self, operation: &str) -> Vec<u16> {
        self.entries()
            .into_iter()
            .filter(|e| e.operation == operation)
            .map(|e| e.status)
            .collect()
    }

    /// The requests of the log. A line of the log
    /// that is neither a request nor a known non-request line fails the
    /// test: a check such as "no writes" must not pass on a log it could
    /// not read.
    #[track_caller]
    fn entries(&self) -> Vec<Entry> {
        let log = std::fs::read_to_string(self.log.path()).expect("read the request log");
        // The last line may still be being written.
        let complete = log.rfind('\n').map_or("", |end| &log[..end]);
        complete
            .lines()
            .filter_map(|line| match request_line(line) {
                Some(entry) if entry.operation == "MotoApi" => None,
                Some(entry) => Some(entry),
                None if is_known_non_request(line) => None,
                None => {
                    panic!("the emulator's log has a line that is not a request: {line:?}\n{log}")
                }
            })
            .collect()
    }

    /// The requests ([`Emulator::requests`]) served after the first
    /// `before`, having checked that none of them wrote anything (judged by
    /// operation) and that each of `reads` (an operation, e.g.
    /// `GetParameters`, or the start of a `METHOD /path`) is among them: a
    /// "no writes" check that would pass on an empty log proves nothing.
    #[track_caller]
    pub fn assert_only_reads_since(&self, before: usize, reads: &[&str]) -> Vec<String> {
        let calls = self.calls().split_off(before);
        let writes = self.writes_since(before);
        assert!(writes.is_empty(), "writes {writes:?} among {calls:?}");
        for read in reads {
            assert!(
                calls
                    .iter()
                    .any(|c| c.starts_with(read) || c.rsplit(' ').next() == Some(read)),
                "no {read} among {calls:?}"
            );
        }
        self.requests().split_off(before)
    }

    /// Makes the emulator refuse the next `times` calls of `operation`
    /// (e.g. `UpdateAlias`) with Lambda's 409 `ResourceConflictException`,
    /// as Lambda does while an update is in progress. The refused calls are
    /// in the log, answered 409.
    pub fn refuse_with_conflict(&self, operation: &str, times: usize) {
        let body = serde_json::json!({ "operation": operation, "times": times }).to_string();
        let status = self.post("/moto-api/greenlight/conflicts", &body);
        assert_eq!(status, 200, "asking for conflicts on {operation}");
    }

    /// A minimal HTTP/1.1 POST to the emulator's own API; returns the status code.
    fn post(&self, path: &str, body: &str) -> u16 {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to emulator");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set timeout");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read response");
        response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad HTTP response: {response:?}"))
    }
}

/// Whether a call only reads: one of [`Emulator::calls`], judged by its
/// operation (`Get…`, `List…`, `Describe…`, `Head…`); a bare `METHOD /path`
/// by its method (any `POST /` then counts as a read, which only the
/// operation tells apart).
pub fn is_read(call: &str) -> bool {
    let mut words = call.split(' ');
    match (words.next(), words.next(), words.next()) {
        (_, _, Some(operation)) => ["Get", "List", "Describe", "Head", "BatchGet"]
            .iter()
            .any(|read| operation.starts_with(read)),
        _ => call.starts_with("GET ") || call.starts_with("HEAD ") || call == "POST /",
    }
}

/// One request of the emulator's log.
struct Entry {
    /// `METHOD /path`.
    request: String,
    /// The AWS operation it called, e.g. `GetAlias`.
    operation: String,
    /// The HTTP status it was answered with.
    status: u16,
}

/// The request a line of the server's log records, e.g.
/// `127.0.0.1 - - [01/Dec/2026 16:36:23] "GET /path HTTP/1.1" 200 - GetAlias`.
fn request_line(line: &str) -> Option<Entry> {
    let (_, rest) = line.split_once(" - - [")?;
    let (_, rest) = rest.split_once("] \"")?;
    let (request, after) = rest.rsplit_once('"')?;
    let mut after = after.split_whitespace();
    let (status, _size, operation) = (after.next()?, after.next()?, after.next()?);
    let status = status.parse().ok().filter(|s| (100..600).contains(s))?;
    if after.next().is_some() {
        return None;
    }
    let mut words = request.split_whitespace();
    let (method, path, version) = (words.next()?, words.next()?, words.next()?);
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    let operation_ok = operation.bytes().all(|b| b.is_ascii_alphanumeric());
    (method_ok
        && operation_ok
        && path.starts_with('/')
        && version.starts_with("HTTP/")
        && words.next().is_none())
    .then(|| Entry {
        request: format!("{method} {path}"),
        operation: operation.to_owned(),
        status,
    })
}

/// Lines the server writes that are not requests, and say nothing about them.
fn is_known_non_request(line: &str) -> bool {
    line.trim().is_empty()
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The launcher kills it at once; if the launcher is gone, so is it.
        Forks::get().tell(serde_json::json!({ "stop": self.id }));
    }
}

/// `localstack/emulator_forks.py`, one per test process: it imports moto
/// once and forks an emulator per [`Emulator::start_with`] (a quarter of a
/// second instead of a second and a half of imports each). It exits, and
/// takes every emulator with it, when this process ends and its standard
/// input closes.
struct Forks {
    stdin: Mutex<ChildStdin>,
    /// The starts waiting for their answer, by emulator number.
    waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<String>>>>,
    next: AtomicU64,
}

impl Forks {
    /// The launcher of this process, started on first use.
    fn get() -> &'static Forks {
        static FORKS: OnceLock<Forks> = OnceLock::new();
        FORKS.get_or_init(|| {
            #[expect(
                clippy::zombie_processes,
                reason = "it lives as long as this process and exits when its stdin closes"
            )]
            let mut child = Command::new(python())
                .arg(repo_root().join("localstack/emulator_forks.py"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start localstack/emulator_forks.py");
            let waiting: Arc<Mutex<HashMap<u64, mpsc::Sender<String>>>> = Arc::default();
            let stdout = child.stdout.take().expect("launcher stdout");
            let answers = Arc::clone(&waiting);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(|line| line.ok()) {
                    let Some((id, said)) = line.split_once(' ') else {
                        continue;
                    };
                    let waiter = id
                        .parse()
                        .ok()
                        .and_then(|id: u64| answers.lock().expect("launcher answers").remove(&id));
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(said.to_owned());
                    }
                }
                // The launcher is gone: nobody waiting will hear from it.
                answers.lock().expect("launcher answers").clear();
            });
            Forks {
                stdin: Mutex::new(child.stdin.take().expect("launcher stdin")),
                waiting,
                next: AtomicU64::new(0),
            }
        })
    }

    /// Asks for an emulator with launcher `options`, logging to `log`;
    /// returns its number and where the launcher's answer will arrive.
    fn start(&self, log: &Path, options: &[&str]) -> (u64, mpsc::Receiver<String>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel();
        self.waiting
            .lock()
            .expect("launcher answers")
            .insert(id, tx);
        self.tell(serde_json::json!({ "start": id, "log": log, "args": options }));
        (id, rx)
    }

    /// Sends `request`, expecting no answer.
    fn tell(&self, request: serde_json::Value) {
        let mut stdin = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(stdin, "{request}").and_then(|()| stdin.flush());
    }
}
