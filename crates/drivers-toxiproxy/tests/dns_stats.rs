//! chaostoxi against a DNS proxy (a Shakedown extension): `create_toxic` adds a
//! `dns_servfail` toxic, and `toxic_stats` proves it answered a real query, so an
//! experiment's probe can assert the DNS fault happened.

mod support;

use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// POSTs a JSON body to the proxy API and returns the status line and body.
async fn post(api: std::net::SocketAddr, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(api).await.expect("connect api");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn toxic_stats_counts_dns_faults() {
    let env = Env::new().await;
    // The upstream is never asked: the toxic answers first.
    let upstream = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let body = json!({"name": "resolver", "listen": "127.0.0.1:0",
                      "upstream": upstream.local_addr().expect("addr").to_string(),
                      "protocol": "dns"});
    let r = post(env.srv.addr(), "/proxies", &body.to_string()).await;
    assert!(r.starts_with("HTTP/1.1 201"), "{r}");
    let listen = env.listen_addr("resolver").await;
    env.ok(
        TA,
        "create_toxic",
        json!({"for_proxy": "resolver", "toxic_name": "broken", "toxic_type": "dns_servfail",
               "attributes": {"names": "*.svc.test"}}),
    )
    .await;
    let before = env
        .ok(
            TP,
            "toxic_stats",
            json!({"for_proxy": "resolver", "toxic_name": "broken"}),
        )
        .await;
    assert_eq!(before["queries_faulted"], json!(0), "{before}");

    let c = UdpSocket::bind("127.0.0.1:0").await.expect("client");
    for (id, name) in [(1u8, "web.svc.test"), (2, "example.org")] {
        let mut q = vec![0, id, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        c.send_to(&q, listen).await.expect("send");
    }
    let mut buf = [0u8; 512];
    let (n, _) = tokio::time::timeout(std::time::Duration::from_secs(30), c.recv_from(&mut buf))
        .await
        .expect("an answer")
        .expect("recv");
    // web.svc.test: SERVFAIL from the toxic (example.org went to the silent upstream).
    assert!(n >= 12);
    assert_eq!((buf[1], buf[3] & 0x0f), (1, 2));
    let s = env
        .ok(
            TP,
            "toxic_stats",
            json!({"for_proxy": "resolver", "toxic_name": "broken"}),
        )
        .await;
    assert_eq!(
        s,
        json!({"queries_seen": 2, "queries_matched": 1, "queries_faulted": 1}),
        "{s}"
    );
    let toxics = env.attribute("resolver", "toxics").await;
    assert_eq!(toxics[0]["stats"], s, "{toxics}");
    env.srv.shutdown().await.expect("shutdown");
}
