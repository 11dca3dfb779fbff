//! A recording HTTP server on 127.0.0.1 for tests that stand in for a remote API (Slack,
//! Gremlin): it records every request and answers what the caller's function says. The
//! driver crates build their API's stand-in on it (their `stand-in` feature) so that the
//! CLI's tests can point both `chaos` and the Python reference at the same kind of server.
//!
//! Std only: one thread accepts, one thread per connection reads one request (headers and
//! a `Content-Length` body of at most 1 MiB), records it, and writes the answer with
//! `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as a form, decoded, fields in order.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// How to answer one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// This status, content type and body.
    Answer {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Nothing: the connection stays open this long, then closes.
    Silent(Duration),
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
        Reply::Answer {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }
}

/// What decides the answer: the request and the server's port.
pub type Answer = dyn Fn(&Request, u16) -> Reply + Send + Sync;

/// A port on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

/// A running recorder; it stops accepting when dropped (at its next connection).
pub struct Recorder {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    pub fn start(answer: Arc<Answer>) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::downgrade(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Some(recorded) = recorded.upgrade() else {
                    return;
                };
                let Ok(stream) = stream else { continue };
                let answer = answer.clone();
                thread::spawn(move || {
                    let _ = serve(stream, port, &*answer, &recorded);
                });
            }
        });
        Recorder { port, requests }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(
    mut stream: TcpStream,
    port: u16,
    answer: &Answer,
    recorded: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let request = Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = answer(&request, port);
    if let Ok(mut r) = recorded.lock() {
        r.push(request);
    }
    let (status, content_type, body) = match reply {
        Reply::Silent(wait) => {
            thread::sleep(wait);
            return Ok(());
        }
        Reply::Answer {
            status,
            content_type,
            body,
        } => (status, content_type, body),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
