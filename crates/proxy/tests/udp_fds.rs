//! UDP sessions are capped like TCP connections and give their sockets back: alone in its
//! test binary, so `/proc/self/fd` counts only this test's sockets.

mod common;
mod support;
use common::*;
use support::*;

use std::net::SocketAddr;
use std::time::Duration;

use proxy::ServeConfig;
use serde_json::json;
use tokio::net::UdpSocket;

async fn echoes(proxy: SocketAddr) -> (UdpSocket, bool) {
    let c = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    c.connect(proxy).await.expect("connect");
    c.send(b"hi").await.expect("send");
    let mut buf = [0u8; 8];
    let ok = matches!(
        tokio::time::timeout(Duration::from_millis(500), c.recv(&mut buf)).await,
        Ok(Ok(2))
    );
    (c, ok)
}

/// 150 clients against a UDP proxy capped at 50 sessions: exactly 50 are served, and once
/// the proxy is deleted every session socket is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_sessions_are_capped_and_closed() {
    const CAP: usize = 50;
    let srv = server_with(ServeConfig {
        port: 0,
        max_connections: Some(CAP),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let up = udp_echo().await;
    // Warm the API and the UDP paths once, on a proxy that is deleted again.
    let body = json!({"name": "warm", "listen": "127.0.0.1:0", "upstream": up.to_string(),
                      "protocol": "udp"});
    let r = post(api, "/proxies", &body.to_string()).await;
    let warm: SocketAddr = r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen");
    assert!(echoes(warm).await.1);
    assert_eq!(delete(api, "/proxies/warm").await.status, 204);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = open_fds();

    let body = json!({"name": "u", "listen": "127.0.0.1:0", "upstream": up.to_string(),
                      "protocol": "udp"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen: SocketAddr = r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen");
    let mut clients = Vec::new();
    for _ in 0..CAP * 3 {
        let c = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        c.connect(listen).await.expect("connect");
        c.send(b"hi").await.expect("send");
        clients.push((c, false));
    }
    // Collect the replies (polling, no time asserted): until CAP came, then a little
    // longer to see that no more do.
    let mut served = 0;
    let mut extra = 0;
    for _ in 0..400 {
        let mut buf = [0u8; 8];
        for (c, got) in clients.iter_mut().filter(|(_, got)| !*got) {
            if c.try_recv(&mut buf).is_ok() {
                *got = true;
                served += 1;
            }
        }
        if served >= CAP {
            extra += 1;
            if extra > 10 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served, CAP, "sessions served");
    let m = get(api, "/proxies").await;
    assert_eq!(m.status, 200, "the API answers");
    drop(clients);
    assert_eq!(delete(api, "/proxies/u").await.status, 204);

    assert_fds_back_to(baseline).await;
    srv.shutdown().await.expect("shutdown");
}
