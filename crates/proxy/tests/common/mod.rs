#![allow(dead_code)]
//! Helpers for the integration tests: a server on port 0, echo/sink upstreams on
//! loopback, and a raw HTTP/1.1 call that returns status, headers and body verbatim.

pub mod dns;

use std::net::SocketAddr;
use std::time::Duration;

use proxy::{ServeConfig, ServerHandle};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub async fn server() -> ServerHandle {
    server_with(ServeConfig {
        port: 0,
        ..Default::default()
    })
    .await
}

pub async fn server_with(cfg: ServeConfig) -> ServerHandle {
    proxy::start(cfg).await.expect("server starts")
}

pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Raw HTTP/1.1 request with `Connection: close`.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &str,
) -> Resp {
    let body = body.unwrap_or("");
    let ua = if extra.to_ascii_lowercase().contains("user-agent") {
        ""
    } else {
        "User-Agent: test\r\n"
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{ua}{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw_http(addr, &req).await
}

/// Sends `request` verbatim and reads the answer until the server closes.
pub async fn raw_http(addr: SocketAddr, request: &str) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect api");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers: head.to_string(),
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// An upstream that echoes every byte and half-closes when the client does.
pub async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

/// An upstream that writes `n` bytes of pattern data, then closes.
pub async fn source_server(n: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind source");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
                let _ = s.write_all(&data).await;
                let _ = s.shutdown().await;
                let mut sink = [0u8; 1024];
                while let Ok(k) = s.read(&mut sink).await {
                    if k == 0 {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A tiny HTTP/1.1 upstream answering every request with 200 "ok" (keep-alive).
pub async fn http_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut tmp).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&tmp[..n]);
                    while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..i + 4);
                        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if s.write_all(resp).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

/// Create a proxy on an ephemeral port and return its listen address.
pub async fn create_proxy(api: SocketAddr, name: &str, upstream: SocketAddr) -> SocketAddr {
    let body = format!(r#"{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}"}}"#);
    let r = http(api, "POST", "/proxies", Some(&body), "").await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen addr")
}

pub async fn add_toxic(api: SocketAddr, proxy: &str, body: &str) -> Value {
    let r = http(
        api,
        "POST",
        &format!("/proxies/{proxy}/toxics"),
        Some(body),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Read until EOF or error, with an overall bound so a broken proxy fails the test.
pub async fn read_all(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return (out, Some(std::io::ErrorKind::TimedOut)),
            Ok(Ok(0)) => return (out, None),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return (out, Some(e.kind())),
        }
    }
}

/// Writes one byte through an echoing path and reads it back within a generous bound:
/// whether the proxy serves this client.
pub async fn echoes(s: &mut TcpStream) -> bool {
    if s.write_all(b"x").await.is_err() {
        return false;
    }
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(30), s.read(&mut b)).await,
        Ok(Ok(1))
    )
}

/// A UDP server that sends every datagram back to its sender.
pub async fn udp_echo() -> SocketAddr {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind udp echo");
    let addr = s.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            let _ = s.send_to(&buf[..n], from).await;
        }
    });
    addr
}

/// This process's open descriptors (meaningful in a test binary of its own).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits (up to 30 s, polling) for the open descriptors to fall to `baseline` and checks
/// they did.
pub async fn assert_fds_back_to(baseline: usize) {
    let mut now = open_fds();
    for _ in 0..300 {
        if now <= baseline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = open_fds();
    }
    assert!(now <= baseline, "descriptors {now} > baseline {baseline}");
}
