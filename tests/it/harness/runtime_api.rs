//! A small Lambda Runtime API on loopback, as Lambda runs a custom
//! runtime: the first `GET …/invocation/next` hands over one event, later
//! ones wait (as Lambda's do between events), and the answer posted to
//! `…/response` or `…/error` is kept for the test to read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The request id of the one event.
pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the runtime answered: the path's last segment (`response` or
/// `error`) and the body.
pub type Answered = (String, String);

/// A Runtime API holding one event.
pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    answer: Arc<Mutex<Option<Answered>>>,
}

impl RuntimeApi {
    /// Serves `event` once, until the test process ends.
    pub fn start(event: serde_json::Value) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        let answer = Arc::new(Mutex::new(None));
        let handed = Arc::new(Mutex::new(false));
        let kept = Arc::clone(&answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (answer, handed, event) =
                    (Arc::clone(&kept), Arc::clone(&handed), event.to_string());
                std::thread::spawn(move || serve(stream, &event, &handed, &answer));
            }
        });
        RuntimeApi { address, answer }
    }

    /// Waits up to `deadline` for the runtime's answer to the event.
    #[track_caller]
    pub fn answer(&self, deadline: Duration) -> Answered {
        let start = Instant::now();
        loop {
            if let Some(answer) = self.answer.lock().expect("lock").clone() {
                return answer;
            }
            assert!(
                start.elapsed() < deadline,
                "the runtime never answered the event"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Answers the requests of one connection.
fn serve(stream: TcpStream, event: &str, handed: &Mutex<bool>, answer: &Mutex<Option<Answered>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) <= 2 {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut out = &stream;
        if path.ends_with("/invocation/next") {
            if std::mem::replace(&mut *handed.lock().expect("lock"), true) {
                // No second event: hold the request, as Lambda does.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: {REQUEST_ID}\r\nlambda-runtime-deadline-ms: 0\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{event}",
                event.len()
            );
        } else {
            let kind = path.rsplit('/').next().unwrap_or_default().to_owned();
            *answer.lock().expect("lock") =
                Some((kind, String::from_utf8_lossy(&body).into_owned()));
            let _ = write!(
                out,
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{{\"status\":\"OK\"}}"
            );
        }
    }
}
