//! TLS clients that never finish their handshake are closed after the proxy's handshake
//! timeout, and leave no descriptor behind: alone in its test binary, so `/proc/self/fd`
//! counts only this test's sockets.

mod common;
mod support;
mod tls_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use proxy::ServeConfig;
use serde_json::json;
use support::*;
use tls_support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The first bytes a real TLS client sends (rustls' ClientHello for `localhost`).
fn client_hello() -> Vec<u8> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut out = Vec::new();
    conn.write_tls(&mut out).expect("hello");
    out
}

fn open_connections(metrics: &str, proxy: &str) -> Option<u64> {
    let prefix = format!("shakedown_proxy_connections{{proxy=\"{proxy}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// Connects, optionally sends `first`, then waits (30 s at most) for the proxy to end
/// the connection; returns whether it did.
async fn closed_by_proxy(listen: SocketAddr, first: Vec<u8>) -> bool {
    let mut s = TcpStream::connect(listen).await.expect("connect");
    if !first.is_empty() {
        s.write_all(&first).await.expect("write");
    }
    let (got, err) = read_all(&mut s, Duration::from_secs(30)).await;
    got.is_empty() && err != Some(std::io::ErrorKind::TimedOut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_handshakes_are_closed_and_leak_nothing() {
    let cfg = ServeConfig {
        proxy_metrics: true,
        ..Default::default()
    };
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(
        cfg,
        "web",
        &["localhost"],
        json!({"handshake_timeout_ms": 300}),
    )
    .await;
    let listen: SocketAddr = ([127, 0, 0, 1], port).into();
    let url = format!("https://localhost:{port}/warm");
    // Warm every path once so lazily opened descriptors are in the baseline.
    let c = curl(&url, &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = open_fds();

    let hello = client_hello();
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    let half = &hello[..hello.len() / 2];
    let mut clients = Vec::new();
    for i in 0..40 {
        // Silent clients, and clients that stop halfway through their ClientHello.
        let first: &[u8] = if i % 2 == 0 { &[] } else { half };
        clients.push(tokio::spawn(closed_by_proxy(listen, first.to_vec())));
    }
    // While they hang, a real client is served.
    let c = curl(&url, &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    for c in clients {
        assert!(c.await.expect("client task"), "the proxy closed the client");
    }

    assert_fds_back_to(baseline).await;
    let metrics = get(api, "/metrics").await.body;
    assert_eq!(open_connections(&metrics, "web"), Some(0), "{metrics}");
    srv.shutdown().await.expect("shutdown");
}
