//! A tiny, std-only HTTP/1.1 server for the differential and integration tests.
//!
//! One thread accepts on `127.0.0.1:0`; every connection is served by its own
//! thread and closed after one response (`Connection: close`). Every request
//! target (path + `?query`) is recorded, so a test can wait until a given path
//! was requested (a deterministic "marker" for sending signals), with its
//! trace-context headers ([`TestServer::trace_headers`]).
//!
//! Endpoints (all answer `Connection: close`, never a `Date` header):
//!
//! | Path | Answer |
//! |---|---|
//! | `/status/<code>` | that status, `text/plain` body `status <code>` |
//! | `/json` | `application/json` (exact) document, see [`JSON_DOC`] |
//! | `/json-charset` | the same document as `application/json; charset=utf-8` |
//! | `/json-invalid` | `application/json` with a body that is not JSON |
//! | `/text` | `text/plain` `hello world` |
//! | `/value/<v>` | `text/plain` body `<v>` (percent-decoded) |
//! | `/echo[/...]` | `application/json` `{method, path, query, headers, body}`; `headers` keeps only `content-type`, `authorization`, `x-*` and the trace-context headers `traceparent`, `tracestate`, `uber-trace-id` (lower-cased names) |
//! | `/sleep/<ms>` | sleeps `<ms>` ms, then `text/plain` `slept <ms>` |
//! | `/redirect?to=<path>` | `302` to `<path>` (default `/json`) |
//! | `/counter/<name>?fail=N,M&code=C&slow=K` | per-name request counter; answers `C` (default 500) when the count (1-based) is listed in `fail`, else 200; sleeps 3 s first when the count is listed in `slow`; body `{"name","count"}` |
//! | `/wait/<name>/<n>?delay_ms=D` | blocks until counter `<name>` reached `<n>` (at most 30 s), sleeps `D` ms, answers `{"name","count"}` |
//! | `/prometheus/<variant>` | Prometheus-like vector result: `healthy` (all values "0"), `errors` (one value "3"), `empty` (no result) |
//! | `/experiment.yaml`, `/experiment.json` | the file of that name from the case directory (`application/x-yaml` / `application/json`) |
//! | `/file/<name>?ct=<content-type>` | a file from the case directory with the given content type |
//! | `/marker/<anything>` | `200` `marker`; only useful as a recorded path |
//! | `/headers` | `200`, `text/plain`, with an extra `X-Shakedown: yes` header |
//! | `/alertmanager/<name>/api/v2/silences` | Alertmanager API v2's silence creation: `POST` with a JSON body answers `200` `{"silenceID": "<name>-<n>"}` (`n` counts from 1 per name); other methods `405` |
//! | `/alertmanager/<name>/api/v2/silence/<id>` | `DELETE` answers `200` (empty); other methods `405` |
//! | anything else | `404` `text/plain` `not found` |
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const JSON_DOC: &str = r#"{"message": "hello", "value": 42, "ratio": 0.5, "items": [1, 2, 3], "nested": {"ok": true, "name": "svc"}, "services": [{"name": "a", "up": true}, {"name": "b", "up": false}]}"#;

#[derive(Default)]
struct State {
    requests: Vec<String>,
    bodies: Vec<String>,
    /// Per request, in arrival order: its target and its trace-context headers.
    trace_headers: Vec<(String, Vec<(String, String)>)>,
    counters: HashMap<String, u64>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    files_dir: Option<PathBuf>,
}

/// A running server. It stops accepting when dropped (best effort; the
/// accept thread exits at the next connection or with the test process).
pub struct TestServer {
    port: u16,
    shared: Arc<Shared>,
}

impl TestServer {
    /// Starts a server; `files_dir` is served by `/file/...` and `/experiment.*`.
    pub fn start(files_dir: Option<PathBuf>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            files_dir,
        });
        let accept_shared = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accept_shared);
                thread::spawn(move || {
                    let _ = handle(stream, &shared);
                });
            }
        });
        TestServer { port, shared }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request target received so far, in arrival order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().requests.clone()
    }

    /// The body of every request received so far, in arrival order.
    pub fn bodies(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().bodies.clone()
    }

    /// Every request's target with the trace-context headers it carried (`traceparent`,
    /// `tracestate`, `uber-trace-id`, `x-b3-*`; lower-cased names), in arrival order.
    pub fn trace_headers(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.shared.state.lock().unwrap().trace_headers.clone()
    }

    /// Waits until a request whose target starts with `prefix` was received.
    pub fn wait_for_request(&self, prefix: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock().unwrap();
        loop {
            if st.requests.iter().any(|r| r.starts_with(prefix)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .shared
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap()
                .0;
        }
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().unwrap().port()
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(p) = find(&buf, b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split(' ');
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

struct Response {
    code: u16,
    content_type: String,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
}

fn resp(code: u16, ct: &str, body: impl Into<Vec<u8>>) -> Response {
    Response {
        code,
        content_type: ct.to_string(),
        extra: vec![],
        body: body.into(),
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(req) = read_request(&mut stream) else {
        return Ok(());
    };
    let target = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.query)
    };
    {
        let mut st = shared.state.lock().unwrap();
        let trace: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| {
                ["traceparent", "tracestate", "uber-trace-id"].contains(&k.as_str())
                    || k.starts_with("x-b3-")
            })
            .collect();
        st.trace_headers.push((target.clone(), trace));
        st.requests.push(target);
        st.bodies
            .push(String::from_utf8_lossy(&req.body).into_owned());
        shared.changed.notify_all();
    }
    let r = route(&req, shared);
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.code,
        reason(r.code),
        r.content_type,
        r.body.len()
    );
    for (k, v) in &r.extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&r.body)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

fn counter_body(name: &str, count: u64) -> String {
    format!("{{\"name\": {}, \"count\": {}}}", json_str(name), count)
}

fn route(req: &Request, shared: &Shared) -> Response {
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["status", code] => {
            let code: u16 = code.parse().unwrap_or(400);
            resp(code, "text/plain", format!("status {code}"))
        }
        ["json"] => resp(200, "application/json", JSON_DOC),
        ["json-charset"] => resp(200, "application/json; charset=utf-8", JSON_DOC),
        ["json-invalid"] => resp(200, "application/json", "this is not json"),
        ["text"] => resp(200, "text/plain", "hello world"),
        ["headers"] => {
            let mut r = resp(200, "text/plain", "with headers");
            r.extra.push(("X-Shakedown".into(), "yes".into()));
            r
        }
        ["value", v] => resp(200, "text/plain", percent_decode(v)),
        ["alertmanager", name, "api", "v2", "silences"] => {
            if req.method != "POST" || !req.body.starts_with(b"{") {
                return resp(405, "text/plain", "method not allowed");
            }
            let mut st = shared.state.lock().unwrap();
            let n = st
                .counters
                .entry(format!("alertmanager/{name}"))
                .or_insert(0);
            *n += 1;
            resp(
                200,
                "application/json",
                format!("{{\"silenceID\": \"{name}-{n}\"}}"),
            )
        }
        ["alertmanager", _, "api", "v2", "silence", _] => {
            if req.method != "DELETE" {
                return resp(405, "text/plain", "method not allowed");
            }
            resp(200, "application/json", "")
        }
        ["echo", ..] => {
            let headers: Vec<String> = req
                .headers
                .iter()
                .filter(|(k, _)| {
                    let k = k.to_ascii_lowercase();
                    k == "content-type"
                        || k == "authorization"
                        || k.starts_with("x-")
                        || ["traceparent", "tracestate", "uber-trace-id"].contains(&k.as_str())
                })
                .map(|(k, v)| format!("{}: {}", json_str(&k.to_ascii_lowercase()), json_str(v)))
                .collect();
            let body = format!(
                "{{\"method\": {}, \"path\": {}, \"query\": {}, \"headers\": {{{}}}, \"body\": {}}}",
                json_str(&req.method),
                json_str(&req.path),
                json_str(&req.query),
                headers.join(", "),
                json_str(&echo_body(req))
            );
            resp(200, "application/json", body)
        }
        ["sleep", ms] => {
            let ms: u64 = ms.parse().unwrap_or(0);
            thread::sleep(Duration::from_millis(ms));
            resp(200, "text/plain", format!("slept {ms}"))
        }
        ["redirect"] => {
            let to = query_param(&req.query, "to").unwrap_or_else(|| "/json".to_string());
            let mut r = resp(302, "text/plain", "redirecting");
            r.extra.push(("Location".into(), to));
            r
        }
        ["counter", name] => {
            let count = {
                let mut st = shared.state.lock().unwrap();
                let c = st.counters.entry(name.to_string()).or_insert(0);
                *c += 1;
                let c = *c;
                shared.changed.notify_all();
                c
            };
            let fail: Vec<u64> = query_param(&req.query, "fail")
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            let code: u16 = query_param(&req.query, "code")
                .and_then(|c| c.parse().ok())
                .unwrap_or(500);
            let slow: Vec<u64> = query_param(&req.query, "slow")
                .unwrap_or_default()
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            if slow.contains(&count) {
                thread::sleep(Duration::from_millis(3000));
            }
            let status = if fail.contains(&count) { code } else { 200 };
            resp(status, "application/json", counter_body(name, count))
        }
        ["wait", name, n] => {
            let n: u64 = n.parse().unwrap_or(1);
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut st = shared.state.lock().unwrap();
            loop {
                let c = st.counters.get(*name).copied().unwrap_or(0);
                let now = Instant::now();
                if c >= n || now >= deadline {
                    break;
                }
                st = shared.changed.wait_timeout(st, deadline - now).unwrap().0;
            }
            let c = st.counters.get(*name).copied().unwrap_or(0);
            drop(st);
            if let Some(d) = query_param(&req.query, "delay_ms").and_then(|d| d.parse().ok()) {
                thread::sleep(Duration::from_millis(d));
            }
            resp(200, "application/json", counter_body(name, c))
        }
        ["prometheus", variant] => {
            let result = match *variant {
                "healthy" => {
                    r#"[{"metric": {"job": "api", "instance": "a"}, "value": [1700000000.123, "0"]}, {"metric": {"job": "api", "instance": "b"}, "value": [1700000000.123, "0"]}]"#
                }
                "errors" => {
                    r#"[{"metric": {"job": "api", "instance": "a"}, "value": [1700000000.123, "0"]}, {"metric": {"job": "api", "instance": "b"}, "value": [1700000000.123, "3"]}]"#
                }
                _ => "[]",
            };
            let body = format!(
                r#"{{"status": "success", "data": {{"resultType": "vector", "result": {result}}}}}"#
            );
            resp(200, "application/json", body)
        }
        ["experiment.yaml"] => serve_file(shared, "experiment.yaml", "application/x-yaml"),
        ["experiment.json"] => serve_file(shared, "experiment.json", "application/json"),
        ["file", name] => {
            let ct = query_param(&req.query, "ct").unwrap_or_else(|| "text/plain".to_string());
            serve_file(shared, name, &ct)
        }
        ["marker", ..] => resp(200, "text/plain", "marker"),
        _ => resp(404, "text/plain", "not found"),
    }
}

/// The request body as text; a JSON body (by request content type) is
/// minified (whitespace outside strings removed) so that clients that
/// serialise with or without spaces echo the same text.
fn echo_body(req: &Request) -> String {
    let text = String::from_utf8_lossy(&req.body).to_string();
    let is_json = req.headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase().starts_with("application/json")
    });
    if !is_json {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped) = (false, false);
    for c in text.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn serve_file(shared: &Shared, name: &str, ct: &str) -> Response {
    let Some(dir) = &shared.files_dir else {
        return resp(404, "text/plain", "no files");
    };
    if name.contains("..") || name.contains('/') {
        return resp(400, "text/plain", "bad name");
    }
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => resp(200, ct, bytes),
        Err(_) => resp(404, "text/plain", "not found"),
    }
}
