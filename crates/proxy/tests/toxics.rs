//! Each toxic's effect on real loopback connections. Timing checks are generous lower
//! bounds (or loose upper bounds far from the expected value) so a loaded machine
//! cannot make them flake.

mod common;
use common::*;
use std::io::ErrorKind;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(20);

async fn round_trip(c: &mut TcpStream, msg: &[u8]) -> Duration {
    let t = Instant::now();
    c.write_all(msg).await.expect("write");
    let mut buf = vec![0u8; msg.len()];
    tokio::time::timeout(LONG, c.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(buf, msg);
    t.elapsed()
}

#[tokio::test]
async fn no_toxic_passes_data_and_preserves_half_close() {
    let srv = server().await;
    let listen = create_proxy(srv.addr(), "p", echo_server().await).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let (mut r, mut w) = c.split();
    let writer = async {
        w.write_all(&data).await.expect("write");
        // Half-close: the echo server still answers everything after our FIN.
        w.shutdown().await.expect("shutdown");
    };
    let reader = async {
        let mut got = Vec::new();
        tokio::time::timeout(LONG, r.read_to_end(&mut got))
            .await
            .expect("in time")
            .expect("read");
        got
    };
    let ((), got) = tokio::join!(writer, reader);
    assert_eq!(got, data);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn latency_and_live_changes() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    round_trip(&mut c, b"warm").await;
    // Added to a live connection: it applies without dropping it.
    add_toxic(
        api,
        "p",
        r#"{"type":"latency","attributes":{"latency":200}}"#,
    )
    .await;
    let rt = round_trip(&mut c, b"ping").await;
    assert!(rt >= Duration::from_millis(190), "{rt:?}");
    // Raise it on the live connection.
    let r = http(
        api,
        "PATCH",
        "/proxies/p/toxics/latency_downstream",
        Some(r#"{"attributes":{"latency":400}}"#),
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let rt = round_trip(&mut c, b"ping").await;
    assert!(rt >= Duration::from_millis(390), "{rt:?}");
    // Upstream direction adds up with downstream.
    add_toxic(
        api,
        "p",
        r#"{"type":"latency","stream":"upstream","attributes":{"latency":100}}"#,
    )
    .await;
    let rt = round_trip(&mut c, b"ping").await;
    assert!(rt >= Duration::from_millis(490), "{rt:?}");
    // Removing them restores the connection's speed; it is still the same connection.
    assert_eq!(
        http(
            api,
            "DELETE",
            "/proxies/p/toxics/latency_downstream",
            None,
            ""
        )
        .await
        .status,
        204
    );
    assert_eq!(
        http(
            api,
            "DELETE",
            "/proxies/p/toxics/latency_upstream",
            None,
            ""
        )
        .await
        .status,
        204
    );
    let rt = round_trip(&mut c, b"ping").await;
    assert!(rt < Duration::from_millis(390), "{rt:?}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bandwidth_limits_rate() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", source_server(200_000).await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"bandwidth","attributes":{"rate":200}}"#,
    )
    .await;
    let t = Instant::now();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, err) = read_all(&mut c, LONG).await;
    assert_eq!((got.len(), err), (200_000, None));
    // 200 KB at 200 KB/s is one second.
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn limit_data_truncates_then_closes() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", source_server(100_000).await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"limit_data","attributes":{"bytes":1234}}"#,
    )
    .await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, _) = read_all(&mut c, LONG).await;
    assert_eq!(got.len(), 1234);
    let expect: Vec<u8> = (0..1234).map(|i| (i % 251) as u8).collect();
    assert_eq!(got, expect);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn timeout_drops_data_and_closes() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"timeout","attributes":{"timeout":300}}"#,
    )
    .await;
    let t = Instant::now();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"hello").await.expect("write");
    let (got, err) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    assert_ne!(err, Some(ErrorKind::TimedOut));
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn removing_timeout_closes_connection() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(api, "p", r#"{"type":"timeout","attributes":{"timeout":0}}"#).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"lost").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        http(
            api,
            "DELETE",
            "/proxies/p/toxics/timeout_downstream",
            None,
            ""
        )
        .await
        .status,
        204
    );
    let (got, err) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    assert_ne!(err, Some(ErrorKind::TimedOut));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reset_peer_sends_rst() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":100}}"#,
    )
    .await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"boom").await.expect("write");
    let (got, err) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    assert_eq!(err, Some(ErrorKind::ConnectionReset));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn slow_close_delays_eof() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", source_server(10).await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"slow_close","attributes":{"delay":300}}"#,
    )
    .await;
    let t = Instant::now();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, err) = read_all(&mut c, LONG).await;
    assert_eq!((got.len(), err), (10, None));
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn slicer_keeps_bytes_intact() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", source_server(50_000).await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"slicer","attributes":{"average_size":100,"size_variation":50,"delay":10}}"#,
    )
    .await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, err) = read_all(&mut c, LONG).await;
    let expect: Vec<u8> = (0..50_000).map(|i| (i % 251) as u8).collect();
    assert_eq!(err, None);
    assert_eq!(got, expect);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn disable_closes_listener_and_connections() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    round_trip(&mut c, b"x").await;
    let r = http(api, "PATCH", "/proxies/p", Some(r#"{"enabled":false}"#), "").await;
    assert_eq!(r.status, 200);
    let (_, err) = read_all(&mut c, LONG).await;
    assert_ne!(err, Some(ErrorKind::TimedOut));
    assert!(
        TcpStream::connect(listen).await.is_err(),
        "listener must be closed"
    );
    // Re-enabling rebinds the same address.
    let r = http(api, "PATCH", "/proxies/p", Some(r#"{"enabled":true}"#), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut c = TcpStream::connect(listen).await.expect("reconnect");
    round_trip(&mut c, b"y").await;
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn unreachable_upstream_closes_client() {
    // Bind then drop to get a port nobody listens on.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let srv = server().await;
    let listen = create_proxy(srv.addr(), "p", dead).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, err) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    assert_ne!(err, Some(ErrorKind::TimedOut));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn http_abort_and_delay() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "web", http_upstream().await).await;
    add_toxic(api, "web", r#"{"type":"http_abort","stream":"upstream","attributes":{"status":502,"path_prefix":"/fail","method":"GET"}}"#).await;
    add_toxic(api, "web", r#"{"type":"http_delay","stream":"upstream","attributes":{"delay":300,"path_prefix":"/slow"}}"#).await;

    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 40];
    let n = c.read(&mut buf).await.expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );

    let t = Instant::now();
    c.write_all(b"GET /slow/x HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let n = c.read(&mut buf).await.expect("read");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );

    c.write_all(b"GET /fail/now HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (got, _) = read_all(&mut c, LONG).await;
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 502 Bad Gateway\r\n"), "{text}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn connect_refuse_and_delay() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"connect_delay","attributes":{"delay":300}}"#,
    )
    .await;
    let t = Instant::now();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    round_trip(&mut c, b"hi").await;
    assert!(
        t.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t.elapsed()
    );

    add_toxic(api, "p", r#"{"type":"connect_refuse"}"#).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, err) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    assert_eq!(err, Some(ErrorKind::ConnectionReset));
    srv.shutdown().await.expect("shutdown");
}

/// With the same seed, toxicity decisions repeat exactly across servers.
#[tokio::test]
async fn seed_makes_toxicity_reproducible() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let srv = server_with(proxy::ServeConfig {
            port: 0,
            seed: Some(seed),
            ..Default::default()
        })
        .await;
        let api = srv.addr();
        let listen = create_proxy(api, "p", echo_server().await).await;
        add_toxic(api, "p", r#"{"type":"connect_refuse","toxicity":0.5}"#).await;
        let mut out = Vec::new();
        for _ in 0..16 {
            let mut c = TcpStream::connect(listen).await.expect("connect");
            let ok = c.write_all(b"a").await.is_ok() && {
                let mut b = [0u8; 1];
                matches!(tokio::time::timeout(LONG, c.read(&mut b)).await, Ok(Ok(1)))
            };
            out.push(ok);
        }
        srv.shutdown().await.expect("shutdown");
        out
    }
    let a = pattern(42).await;
    assert_eq!(a, pattern(42).await);
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
}
