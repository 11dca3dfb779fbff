//! A recording stand-in for the Slack Web API on 127.0.0.1, for tests (this crate's, and
//! the CLI's through the `stand-in` feature, which point both `chaos` and the Python
//! reference at it).
//!
//! Std only: one thread accepts, one thread per connection reads one request, records it
//! and answers as Slack would ([`Behaviour::Slack`]), or with an HTTP error, a Slack error,
//! or never ([`Behaviour`]). Answers are fixed, so two clients that send the same requests
//! get the same answers: `chat.postMessage`/`chat.update` answer channel [`CHANNEL_ID`] and
//! ts [`TS`], `files.getUploadURLExternal` hands out `{base}/upload/{FILE_ID}`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The channel id every message lands in.
pub const CHANNEL_ID: &str = "C0STANDIN";
/// The ts of every message.
pub const TS: &str = "1700000000.000100";
/// The id of every uploaded file.
pub const FILE_ID: &str = "F0STANDIN";

/// How the stand-in answers the API methods (uploads are always accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// As Slack does when all is well.
    Slack,
    /// This HTTP status, with a text body.
    Status(u16),
    /// `200 {"ok": false, "error": …}`.
    SlackError(String),
    /// Reads the request, records it, and never answers (the connection stays open for
    /// a minute).
    Silent,
}

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

    /// Asserts that this is slack_sdk's JSON call of the Web API `method` with `token`.
    pub fn assert_json_call(&self, method: &str, token: &str) {
        assert_eq!(
            (self.method.as_str(), self.path.as_str()),
            ("POST", format!("/api/{method}").as_str())
        );
        assert_eq!(
            self.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json;charset=utf-8")
        );
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as a form, decoded, fields in order.
    pub fn form(&self) -> Vec<(String, String)> {
        self.body
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A base URL on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_api_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/api/")
}

/// A running stand-in; it stops accepting when dropped (at its next connection).
pub struct StandIn {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl StandIn {
    pub fn start(behaviour: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::downgrade(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Some(recorded) = recorded.upgrade() else {
                    return;
                };
                let Ok(stream) = stream else { continue };
                let behaviour = behaviour.clone();
                thread::spawn(move || {
                    let _ = serve(stream, port, &behaviour, &recorded);
                });
            }
        });
        StandIn { port, requests }
    }

    /// The Web API base URL, for `SLACK_API_URL`: `http://127.0.0.1:PORT/api/`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/", self.port)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    mut stream: TcpStream,
    port: u16,
    behaviour: &Behaviour,
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
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Request {
        method,
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    recorded.lock().unwrap().push(request);

    let upload = path.starts_with("/upload/");
    let (status, content_type, body) = match behaviour {
        Behaviour::Silent if !upload => {
            thread::sleep(Duration::from_secs(60));
            return Ok(());
        }
        Behaviour::Status(code) if !upload => (*code, "text/plain", format!("status {code}")),
        Behaviour::SlackError(error) if !upload => (
            200,
            "application/json; charset=utf-8",
            serde_json::json!({"ok": false, "error": error}).to_string(),
        ),
        _ => slack_answer(&path, port, length),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

/// What Slack answers to each method.
fn slack_answer(path: &str, port: u16, length: usize) -> (u16, &'static str, String) {
    let json = "application/json; charset=utf-8";
    let method = path.rsplit('/').next().unwrap_or_default();
    let answer = match method {
        _ if path.starts_with("/upload/") => {
            return (200, "text/plain; charset=utf-8", format!("OK - {length}"));
        }
        "chat.postMessage" | "chat.update" => serde_json::json!({
            "ok": true, "channel": CHANNEL_ID, "ts": TS, "message": {"type": "message", "ts": TS}
        }),
        "files.getUploadURLExternal" => serde_json::json!({
            "ok": true,
            "upload_url": format!("http://127.0.0.1:{port}/upload/{FILE_ID}"),
            "file_id": FILE_ID
        }),
        "files.completeUploadExternal" => serde_json::json!({
            "ok": true, "files": [{"id": FILE_ID, "title": "state.yaml"}]
        }),
        _ => serde_json::json!({"ok": false, "error": "unknown_method"}),
    };
    (200, json, answer.to_string())
}
