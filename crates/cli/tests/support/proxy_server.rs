//! A real `chaos proxy serve` process on a free loopback port, for the tests that need the
//! fault proxy (its API driven over plain HTTP/1.1, as a Toxiproxy client would). Needs
//! `support/run.rs` as the crate's `run` module.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// One request to any API server (`Connection: close`); (0, "") when the exchange fails.
pub fn request(
    api: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    headers: &str,
) -> (u16, String) {
    let exchange = || -> std::io::Result<String> {
        let mut s = TcpStream::connect(api)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let host = if headers.contains("Host:") {
            String::new()
        } else {
            format!("Host: {api}\r\n")
        };
        write!(
            s,
            "{method} {path} HTTP/1.1\r\n{host}{headers}User-Agent: attack\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    };
    let Ok(text) = exchange() else {
        return (0, String::new());
    };
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

/// `chaos proxy serve`, killed (by its own pid) when dropped.
pub struct Server {
    pub child: Child,
    pub api: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(dir: &std::path::Path, extra: &[&str]) -> Server {
        let port = free_port();
        let port_text = port.to_string();
        let mut args = vec!["proxy", "serve", "--port", &port_text];
        args.extend_from_slice(extra);
        let log = std::fs::File::create(dir.join("serve.log")).expect("log file");
        let child = super::run::chaos_command(dir, &args, &[])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn chaos proxy serve");
        let mut server = Server {
            child,
            api: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        // Readiness wait, not a timing assertion.
        for _ in 0..400 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("chaos proxy serve exited early: {status}");
            }
            if server.request("GET", "/version", "", "").0 == 200 {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chaos proxy serve did not answer on {}", server.api);
    }

    /// One request (`Connection: close`); (0, "") when the exchange fails.
    pub fn request(&self, method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
        request(self.api, method, path, body, headers)
    }

    /// `GET path`, which must answer 200 with JSON.
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, "", "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    pub fn port(&self) -> u16 {
        self.api.port()
    }

    pub fn create(&self, name: &str, upstream: SocketAddr) -> SocketAddr {
        let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string()});
        let (status, text) = self.request("POST", "/proxies", &body.to_string(), "");
        assert_eq!(status, 201, "{text}");
        let v: Value = serde_json::from_str(&text).expect("proxy json");
        v["listen"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .expect("listen address")
    }

    pub fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(usize::MAX)
    }
}
