//! A tiny HTTP service for the self-contained demo experiment (`scripts/demo`).
//!
//! `GET /health` answers `{"status": "ok"}`; `POST /chaos/slow?ms=N` makes every later
//! answer wait N milliseconds (`ms=0` restores it). Listens on 127.0.0.1 only; the port is
//! the first argument (default 8089). Standard library only, one thread per connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8089);
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-service: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("demo-service: listening on http://127.0.0.1:{port}");
    let delay = Arc::new(AtomicU64::new(0));
    for stream in listener.incoming().flatten() {
        let delay = delay.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &delay);
        });
    }
}

fn handle(mut stream: TcpStream, delay: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers; the demo needs no body.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, body) = match (method, path) {
        ("GET", "/health") => {
            std::thread::sleep(Duration::from_millis(delay.load(Ordering::Relaxed)));
            ("200 OK", r#"{"status": "ok"}"#.to_string())
        }
        ("POST", "/chaos/slow") => {
            let ms = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("ms="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            delay.store(ms, Ordering::Relaxed);
            ("200 OK", format!(r#"{{"delay_ms": {ms}}}"#))
        }
        _ => ("404 Not Found", r#"{"error": "not found"}"#.to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
