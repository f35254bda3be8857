//! A small HTTP server on loopback for the tests that need one (HTTP smoke
//! checks, a release folder to install from, a check made at request
//! time): each request's path goes to a handler, whose status line and
//! body are the answer.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

/// What a handler answers: the status (e.g. `"200 OK"`) and the body.
pub type Answer = (String, Vec<u8>);

/// Serves until the test process ends, each connection on its own thread
/// (a slow answer holds up no other); `handler` gets the request's path
/// (with its query). Returns the base URL, e.g. `http://127.0.0.1:41234`.
pub fn serve(handler: impl Fn(&str) -> Answer + Send + Sync + 'static) -> String {
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

/// Reads one request (its line and headers; no body is expected) and
/// writes the handler's answer, closing the connection after it.
fn answer(stream: &TcpStream, handler: &dyn Fn(&str) -> Answer) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let (status, body) = handler(line.split_whitespace().nth(1).unwrap_or("/"));
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}
