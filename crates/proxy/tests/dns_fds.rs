//! DNS proxies cap their TCP clients like TCP proxies and give every socket back when
//! deleted, even with queries still held by a delay: alone in its test binary, so
//! `/proc/self/fd` counts only this test's sockets.

mod common;
mod support;
use common::dns::{query, upstream, TYPE_A};
use common::*;
use support::*;

use std::net::SocketAddr;
use std::time::Duration;

use proxy::ServeConfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

async fn dns_proxy(api: SocketAddr, name: &str, up: SocketAddr) -> SocketAddr {
    let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": up.to_string(), "protocol": "dns"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen")
}

/// One query over a new TCP connection: the connection and whether it was answered (a
/// client reset at accept may see the reset already when its connect completes).
async fn tcp_query(p: SocketAddr, id: u16) -> (Option<TcpStream>, bool) {
    let Ok(mut s) = TcpStream::connect(p).await else {
        return (None, false);
    };
    let q = query(id, "web.svc.test", TYPE_A);
    let mut out = (q.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&q);
    let _ = s.write_all(&out).await;
    let mut len = [0u8; 2];
    let mut ok = matches!(
        tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len)).await,
        Ok(Ok(_))
    );
    if ok {
        let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
        ok = s.read_exact(&mut answer).await.is_ok();
    }
    (Some(s), ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_clients_are_capped_and_every_socket_is_returned() {
    const CAP: usize = 20;
    let srv = server_with(ServeConfig {
        port: 0,
        max_connections: Some(CAP),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let up = upstream().await;
    // Warm the API, UDP and TCP paths once, on a proxy that is deleted again.
    let warm = dns_proxy(api, "warm", up.addr).await;
    assert!(tcp_query(warm, 1).await.1);
    assert_eq!(delete(api, "/proxies/warm").await.status, 204);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = open_fds();

    let p = dns_proxy(api, "dns", up.addr).await;
    // CAP clients hold a connection each; the next ones are reset unanswered.
    let mut held = Vec::new();
    for i in 0..CAP as u16 {
        let (s, ok) = tcp_query(p, i).await;
        assert!(ok, "client {i} within the cap was not answered");
        held.extend(s);
    }
    for i in 0..10u16 {
        let (_, ok) = tcp_query(p, 100 + i).await;
        assert!(!ok, "client {i} past the cap was answered");
    }
    // Queries held by a long delay, over UDP and on the held TCP connections, when the
    // proxy is deleted.
    add_toxic(
        api,
        "dns",
        r#"{"name":"hold","type":"dns_delay","attributes":{"latency":600000}}"#,
    )
    .await;
    let mut udp = Vec::new();
    for i in 0..50u16 {
        let c = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        c.send_to(&query(i, "web.svc.test", TYPE_A), p)
            .await
            .expect("send");
        udp.push(c);
    }
    for (i, s) in held.iter_mut().enumerate() {
        let q = query(500 + i as u16, "api.svc.test", TYPE_A);
        let mut out = (q.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(&q);
        s.write_all(&out).await.expect("write");
    }
    // Every held query reached the toxic before the proxy goes.
    for _ in 0..300 {
        if toxic_stats(api, "dns", "hold").await["queries_faulted"] == 50 + CAP as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        toxic_stats(api, "dns", "hold").await["queries_faulted"],
        50 + CAP as u64
    );
    assert_eq!(delete(api, "/proxies/dns").await.status, 204);
    // The held connections are closed by the proxy (EOF or reset, no answer).
    for s in held.iter_mut() {
        let mut buf = [0u8; 2];
        let r = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
        assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
    }
    drop(held);
    drop(udp);
    assert_fds_back_to(baseline).await;
    srv.shutdown().await.expect("shutdown");
}
