#![allow(dead_code)]
//! A real Jaeger (v2 all-in-one, `scripts/jaeger-peer`, built from the Go module proxy
//! into target/peers/bin/jaeger) for the tracing tests, started once per test binary on
//! free loopback ports with a small config of its own: the OTLP receiver (HTTP and gRPC),
//! in-memory storage, the query API. Spans are read back with `GET /api/traces`.
//!
//! A missing binary fails the test when `SHAKEDOWN_REQUIRE_PEERS` or `CI` is set
//! (`scripts/test` sets the former after running `scripts/jaeger-peer`), else it is a loud
//! SKIP ([`super::reference::skip_or_fail`]'s policy).
//!
//! Jaeger is started from one parked thread with a parent-death signal, so it ends with
//! the test binary.

use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

pub struct Jaeger {
    /// `http://127.0.0.1:<port>`: OTLP/HTTP (`/v1/traces`).
    pub otlp_http: String,
    /// The OTLP/HTTP port alone.
    pub otlp_http_port: u16,
    /// `http://127.0.0.1:<port>`: OTLP/gRPC.
    pub otlp_grpc: String,
    /// `http://127.0.0.1:<port>`: the query API (`/api/traces`).
    pub query: String,
    /// The UDP port of the Jaeger agent protocol (Thrift compact: what `jaeger_client`,
    /// the legacy control's tracer upstream, sends to `tracing_port`).
    pub thrift_compact_port: u16,
    /// `http://127.0.0.1:<port>`: the query service's gRPC API (a real gRPC server
    /// that does not serve OTLP: its answer to an export is a non-zero gRPC status).
    pub query_grpc: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn binary() -> PathBuf {
    super::reference::workspace_root().join("target/peers/bin/jaeger")
}

/// The test binary's Jaeger, or `None` (after a SKIP line) when it is not built and peers
/// are not required.
pub fn jaeger(test: &str) -> Option<&'static Jaeger> {
    static JAEGER: OnceLock<Option<Jaeger>> = OnceLock::new();
    let bin = binary();
    if !bin.exists() {
        super::reference::skip_or_fail(
            test,
            &format!(
                "{} not found: run scripts/jaeger-peer to build Jaeger v1.76.0 from the Go module proxy",
                bin.display()
            ),
        );
        return None;
    }
    JAEGER.get_or_init(|| Some(start(bin))).as_ref()
}

fn start(bin: PathBuf) -> Jaeger {
    let (http, grpc, query, query_grpc) = (free_port(), free_port(), free_port(), free_port());
    let thrift_compact = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port");
    let dir = std::env::temp_dir().join(format!("shakedown-jaeger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("jaeger config dir");
    let config = dir.join("config.yaml");
    // The config shared with bench/tracing, its ports filled in.
    let text = include_str!("jaeger.yaml")
        .replace("{query}", &query.to_string())
        .replace("{query_grpc}", &query_grpc.to_string())
        .replace("{grpc}", &grpc.to_string())
        .replace("{http}", &http.to_string())
        .replace("{thrift_compact}", &thrift_compact.to_string());
    std::fs::write(&config, text).expect("write the jaeger config");
    let mut command = Command::new(&bin);
    command
        .arg("--config")
        .arg(format!("file:{}", config.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    // The keeper thread forks Jaeger and stays parked: the parent-death signal fires when
    // the thread that forked the child ends, i.e. with the test binary.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn();
        let ok = child.is_ok();
        let _ = tx.send(child.map(|_| ()).map_err(|e| e.to_string()));
        if ok {
            loop {
                std::thread::park();
            }
        }
    });
    rx.recv()
        .expect("keeper thread")
        .unwrap_or_else(|e| panic!("{} does not start: {e}", bin.display()));
    let jaeger = Jaeger {
        otlp_http: format!("http://127.0.0.1:{http}"),
        otlp_http_port: http,
        otlp_grpc: format!("http://127.0.0.1:{grpc}"),
        query: format!("http://127.0.0.1:{query}"),
        query_grpc: format!("http://127.0.0.1:{query_grpc}"),
        thrift_compact_port: thrift_compact,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = get(&format!("{}/api/services", jaeger.query)).is_some();
        let otlp = std::net::TcpStream::connect(("127.0.0.1", http)).is_ok();
        if ready && otlp {
            return jaeger;
        }
        assert!(
            Instant::now() < deadline,
            "Jaeger ({}) not ready within 60 s",
            bin.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking HTTP/1.0 GET answered 200 with a JSON body, else `None`.
pub fn get(url: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let path = if path.is_empty() { "/" } else { path };
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return None;
    }
    serde_json::from_str(body).ok()
}

impl Jaeger {
    /// The traces of `service`, once at least `spans` spans arrived in all (Jaeger stores
    /// what it receives a moment later); panics after 30 s with what it found.
    pub fn traces(&self, service: &str, spans: usize) -> Vec<Value> {
        let url = format!("{}/api/traces?service={service}&limit=100", self.query);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = Vec::new();
        loop {
            if let Some(Value::Array(data)) = get(&url).map(|v| v["data"].clone()) {
                let count: usize = data
                    .iter()
                    .map(|t| t["spans"].as_array().map_or(0, Vec::len))
                    .sum();
                if count >= spans {
                    // One more look: late spans of the same run.
                    std::thread::sleep(Duration::from_millis(300));
                    if let Some(Value::Array(data)) = get(&url).map(|v| v["data"].clone()) {
                        return data;
                    }
                    return data;
                }
                last = data;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {spans} spans of service {service} in Jaeger after 30 s: {last:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A span read back from Jaeger, flattened for assertions.
#[derive(Debug, Clone)]
pub struct Seen {
    pub trace_id: String,
    pub span_id: String,
    pub parent: Option<String>,
    pub name: String,
    pub tags: serde_json::Map<String, Value>,
    pub logs: Vec<serde_json::Map<String, Value>>,
}

/// Jaeger's JSON trace, span by span (ids left-padded to Jaeger's 32/16 hex digits).
pub fn spans(trace: &Value) -> Vec<Seen> {
    let fields = |list: &Value| {
        list.as_array()
            .map(|l| {
                l.iter()
                    .map(|t| {
                        (
                            t["key"].as_str().unwrap_or("").to_string(),
                            t["value"].clone(),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
            })
            .unwrap_or_default()
    };
    trace["spans"]
        .as_array()
        .map(|spans| {
            spans
                .iter()
                .map(|s| Seen {
                    trace_id: format!("{:0>32}", s["traceID"].as_str().unwrap_or("")),
                    span_id: format!("{:0>16}", s["spanID"].as_str().unwrap_or("")),
                    parent: s["references"].as_array().and_then(|r| {
                        r.iter()
                            .find(|r| r["refType"] == "CHILD_OF")
                            .and_then(|r| r["spanID"].as_str())
                            .map(|id| format!("{id:0>16}"))
                    }),
                    name: s["operationName"].as_str().unwrap_or("").to_string(),
                    tags: fields(&s["tags"]),
                    logs: s["logs"]
                        .as_array()
                        .map(|l| l.iter().map(|l| fields(&l["fields"])).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}
