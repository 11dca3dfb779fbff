#![allow(dead_code)]
//! Helpers for the HTTPS-fault tests: a real HTTPS upstream (tokio-rustls, its own CA),
//! curl as the client, and scratch files for PEMs.
//!
//! The upstream answers every HTTP/1.1 request (keep-alive) with a body naming what it
//! saw: `sni=<name or -> path=<path>`, so a test can tell the SNI the proxy passed on.
//! `GET /big/<n>` answers `n` bytes of a fixed pattern (see [`pattern`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proxy::{ServeConfig, ServerHandle};
use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::server_with;
use crate::support::{get, post};

/// A CA and a leaf it signed for `names`: (CA PEM, leaf chain PEM, leaf key PEM, chain, key).
pub struct Minted {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

pub fn mint(names: &[&str]) -> Minted {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let ca = proxy::tls::new_ca("test upstream CA").expect("ca");
    let mut params = CertificateParams::new(names).expect("params");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().expect("key");
    let leaf = params.signed_by(&key, &ca.issuer).expect("leaf");
    Minted {
        ca_pem: ca.pem,
        cert_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
        chain: vec![leaf.der().clone(), ca.der],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// Byte `i` of the `/big/<n>` body.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// An HTTPS upstream on loopback with a certificate for `names`; returns its address and
/// its CA's PEM.
pub async fn https_upstream(names: &[&str]) -> (SocketAddr, String) {
    let m = mint(names);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(m.chain, m.key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(s).await else {
                    return;
                };
                let sni = s.get_ref().1.server_name().unwrap_or("-").to_string();
                serve_http(&mut s, &sni).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, m.ca_pem)
}

async fn serve_http<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(s: &mut S, sni: &str) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_string();
            buf.drain(..i + 4);
            let path = head.split(' ').nth(1).unwrap_or("").to_string();
            let body = match path.strip_prefix("/big/") {
                Some(n) => pattern(n.parse().unwrap_or(0)),
                None => format!("sni={sni} path={path}").into_bytes(),
            };
            let mut resp =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
            resp.extend_from_slice(&body);
            if s.write_all(&resp).await.is_err() || s.flush().await.is_err() {
                return;
            }
        }
        match s.read(&mut tmp).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

/// A free loopback TCP port below the kernel's ephemeral range, so no outgoing connection
/// can take it while a proxy that listens on it is being rebuilt.
pub fn port_below_ephemeral_range() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| {
            r.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let start = low.saturating_sub(1 + (std::process::id() % 4000) as u16);
    (1024..=start)
        .rev()
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A scratch directory under the system temp dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "shakedown-tls-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What curl printed: status, response headers, body, total time (s), exit code, stderr.
#[derive(Debug)]
pub struct Curl {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
    pub seconds: f64,
    pub exit: i32,
    pub stderr: String,
}

impl Curl {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// Runs the system's curl for `url`, trusting `cacert`, with `extra` arguments
/// (e.g. `--resolve`). Fails the test when curl is missing: it is part of the base system
/// the test suite needs (README).
pub async fn curl(url: &str, cacert: &Path, extra: &[&str]) -> Curl {
    let dir = Scratch::new();
    let head = dir.0.join("head");
    let body = dir.0.join("body");
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "60", "--cacert"])
        .arg(cacert)
        .arg("-D")
        .arg(&head)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code} %{time_total}"])
        .args(extra)
        .arg(url)
        .output()
        .await
        .expect("run curl (install it: apt-get install curl)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let mut it = stdout.split_whitespace();
    let status = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    Curl {
        status,
        headers: std::fs::read_to_string(&head).unwrap_or_default(),
        body: std::fs::read(&body).unwrap_or_default(),
        seconds,
        exit: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// Creates a proxy `name` in front of `upstream` with `tls` and returns its port.
pub async fn tls_proxy(api: SocketAddr, name: &str, upstream: SocketAddr, tls: Value) -> u16 {
    let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string(), "tls": tls});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen: SocketAddr = r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen");
    listen.port()
}

/// The proxy's minted CA, fetched from the API into a file.
pub async fn ca_file(api: SocketAddr, name: &str, dir: &Scratch) -> std::path::PathBuf {
    let r = get(api, &format!("/proxies/{name}/ca.pem")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .headers
        .to_ascii_lowercase()
        .contains("content-type: application/x-pem-file"));
    assert!(
        r.body.starts_with("-----BEGIN CERTIFICATE-----"),
        "{}",
        r.body
    );
    dir.write(&format!("{name}-ca.pem"), &r.body)
}

/// A server (port 0, `cfg` otherwise), an HTTPS upstream for `names` and 127.0.0.1, and a
/// proxy `name`
/// with `"generate": true`, trusting the upstream's CA, plus `extra` keys in its `tls`;
/// the proxy's CA is in a scratch file.
pub struct Fixture {
    pub srv: ServerHandle,
    pub api: SocketAddr,
    pub port: u16,
    pub ca: PathBuf,
    pub dir: Scratch,
}

impl Fixture {
    pub async fn generated(cfg: ServeConfig, name: &str, names: &[&str], extra: Value) -> Fixture {
        let srv = server_with(ServeConfig { port: 0, ..cfg }).await;
        let api = srv.addr();
        // The proxy verifies the upstream as 127.0.0.1 unless a client names another host.
        let mut names = names.to_vec();
        names.push("127.0.0.1");
        let (up, up_ca) = https_upstream(&names).await;
        let mut tls = json!({"generate": true, "upstream_ca": up_ca});
        if let (Some(t), Value::Object(more)) = (tls.as_object_mut(), extra) {
            t.extend(more);
        }
        let port = tls_proxy(api, name, up, tls).await;
        let dir = Scratch::new();
        let ca = ca_file(api, name, &dir).await;
        Fixture {
            srv,
            api,
            port,
            ca,
            dir,
        }
    }
}
