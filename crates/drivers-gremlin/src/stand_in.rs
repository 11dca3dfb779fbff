//! A recording stand-in for the Gremlin API on 127.0.0.1, for tests (this crate's, and the
//! CLI's through the `stand-in` feature, which point both `chaos` and the Python reference
//! at it).
//!
//! Std only: one thread accepts, one thread per connection reads one request, records it
//! and answers as the Gremlin API does ([`Behaviour::Gremlin`]) or with an error. Answers
//! are fixed, so two clients that send the same requests get the same answers: the login
//! (`POST /v1/users/auth`) answers two sessions, of orgs [`OTHER_ORG`] and [`ORG`] (the
//! client must pick by name), the second with header [`SESSION_HEADER`] and first team
//! [`TEAM_ID`]; an attack (`POST /v1/attacks/new`) answers 201 with [`ATTACK_ID`]; a halt
//! (`DELETE /v1/attacks[/{guid}]`) answers 202 with an empty body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The org the tests log in to.
pub const ORG: &str = "shakedown-org";
/// Another org of the same user, listed first.
pub const OTHER_ORG: &str = "other-org";
/// The `header` of the [`ORG`] session.
pub const SESSION_HEADER: &str = "Bearer standin-session-token";
/// The first team of the [`ORG`] session.
pub const TEAM_ID: &str = "team-standin-1";
/// What every attack is answered (a Gremlin attack guid).
pub const ATTACK_ID: &str = "0b8e2d4a-6c1f-11e8-a3a1-0242ac110002";

/// How the stand-in answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// As Gremlin does when all is well.
    Gremlin,
    /// Every request: this HTTP status, with a text body `status {code}`.
    Status(u16),
    /// The login answers 401 `{"message":"Invalid credentials"}`; the rest as Gremlin.
    BadLogin,
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

/// A base URL on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_api_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
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
                    let _ = serve(stream, &behaviour, &recorded);
                });
            }
        });
        StandIn { port, requests }
    }

    /// The API base URL, for `GREMLIN_API_URL`: `http://127.0.0.1:PORT/v1`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    mut stream: TcpStream,
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
    let mut body = vec![0; length.min(1 << 20)];
    reader.read_exact(&mut body)?;
    let request = Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, content_type, answer) = answer(&request, behaviour);
    recorded.lock().unwrap().push(request);
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(answer.as_bytes())?;
    stream.flush()
}

fn answer(request: &Request, behaviour: &Behaviour) -> (u16, &'static str, String) {
    let json = "application/json";
    let route = request.path.split('?').next().unwrap_or_default();
    if let Behaviour::Status(code) = behaviour {
        return (*code, "text/plain", format!("status {code}"));
    }
    match (request.method.as_str(), route) {
        ("POST", "/v1/users/auth") if *behaviour == Behaviour::BadLogin => (
            401,
            json,
            serde_json::json!({"message": "Invalid credentials"}).to_string(),
        ),
        ("POST", "/v1/users/auth") => (
            200,
            json,
            serde_json::json!([
                {"org_name": OTHER_ORG, "org_id": "o-1", "header": "Bearer other-token",
                 "teams": [{"identifier": "team-other"}]},
                {"org_name": ORG, "org_id": "o-2", "header": SESSION_HEADER,
                 "teams": [{"identifier": TEAM_ID}, {"identifier": "team-standin-2"}]}
            ])
            .to_string(),
        ),
        ("POST", "/v1/attacks/new") => (201, "text/plain", ATTACK_ID.to_string()),
        ("DELETE", r) if r == "/v1/attacks" || r.starts_with("/v1/attacks/") => {
            (202, "text/plain", String::new())
        }
        _ => (404, "text/plain", "not found".to_string()),
    }
}
