//! A small HTTP server on loopback for the tests that need one (HTTP smoke
//! checks, a release folder to install from, a check made at request
//! time, a webhook that keeps what it was sent): each request's path (and
//! body) goes to a handler, whose status line and body are the answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What a handler answers: the status (e.g. `"200 OK"`) and the body.
pub type Answer = (String, Vec<u8>);

/// Serves until the test process ends, each connection on its own thread
/// (a slow answer holds up no other); `handler` gets the request's path
/// (with its query). Returns the base URL, e.g. `http://127.0.0.1:41234`.
pub fn serve(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> String {
    serve_bodies(move |path, _body| handler(path))
}

/// What a [`recorder`] received: each request's path and body, oldest first.
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A server that answers every request with `status` (e.g. `"200 OK"`)
/// and keeps each request's path and body; returns its base URL and them.
pub fn recorder(status: &'static str) -> (String, Received) {
    let received = Received::default();
    let kept = Arc::clone(&received);
    let base = serve_bodies(move |path, body| {
        kept.lock()
            .expect("the requests")
            .push((path.to_owned(), body.to_owned()));
        (status.to_owned(), b"ok".to_vec())
    });
    (base, received)
}

/// [`serve`], the handler also getting the request's body (as much as its
/// `content-length` says).
pub fn serve_bodies(handler: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || answer(&stream, &*handler));
        }
    });
    base
}

/// Reads one request (its line, headers and body) and writes the
/// handler's answer, closing the connection after it.
fn answer(stream: &TcpStream, handler: &dyn Fn(&str, &str) -> Answer) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let mut header = String::new();
    let mut length = 0;
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        header.clear();
    }
    let mut request = vec![0; length];
    let _ = reader.read_exact(&mut request);
    let request = String::from_utf8_lossy(&request);
    let (status, body) = handler(line.split_whitespace().nth(1).unwrap_or("/"), &request);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}
