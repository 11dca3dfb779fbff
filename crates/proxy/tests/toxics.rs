//! Each toxic's effect on real loopback connections. Timing checks are generous lower
//! bounds (or loose upper bounds far from the expected value) so a loaded machine
//! cannot make them flake.

mod common;
mod support;
use common::*;
use proxy::ServerHandle;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::*;
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

/// A server with proxy "p" in front of `upstream` and one toxic, added by POSTing
/// `toxic` (checked for a 200); returns the server and the proxy's listen address.
async fn proxy_with_toxic(upstream: SocketAddr, toxic: &str) -> (ServerHandle, SocketAddr) {
    let srv = server().await;
    let listen = create_proxy(srv.addr(), "p", upstream).await;
    add_toxic(srv.addr(), "p", toxic).await;
    (srv, listen)
}

/// Connects to `listen` and reads until the proxy closes (or `LONG` passes).
async fn connect_and_read_all(listen: SocketAddr) -> (Vec<u8>, Option<ErrorKind>) {
    let mut c = TcpStream::connect(listen).await.expect("connect");
    read_all(&mut c, LONG).await
}

/// Connects to `listen`, sends `msg`, and reads until the proxy closes (or `LONG` passes).
async fn send_and_read_all(listen: SocketAddr, msg: &[u8]) -> (Vec<u8>, Option<ErrorKind>) {
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(msg).await.expect("write");
    read_all(&mut c, LONG).await
}

/// The proxy closed the connection (in time) without passing on any data.
fn assert_closed_without_data(got: &[u8], err: Option<ErrorKind>) {
    assert!(got.is_empty());
    assert_ne!(err, Some(ErrorKind::TimedOut));
}

/// The proxy reset the connection without passing on any data.
fn assert_reset_without_data(got: &[u8], err: Option<ErrorKind>) {
    assert!(got.is_empty());
    assert_eq!(err, Some(ErrorKind::ConnectionReset));
}

/// At least `ms` milliseconds have passed since `start`.
fn assert_took_at_least(start: Instant, ms: u64) {
    assert!(
        start.elapsed() >= Duration::from_millis(ms),
        "{:?}",
        start.elapsed()
    );
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
    update_toxic(
        api,
        "p",
        "latency_downstream",
        r#"{"attributes":{"latency":400}}"#,
    )
    .await;
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
    remove_toxic(api, "p", "latency_downstream").await;
    remove_toxic(api, "p", "latency_upstream").await;
    // (The fastest of three round trips: one alone may be slowed by a loaded machine.)
    let mut fastest = Duration::MAX;
    for _ in 0..3 {
        fastest = fastest.min(round_trip(&mut c, b"ping").await);
    }
    assert!(fastest < Duration::from_millis(390), "{fastest:?}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bandwidth_limits_rate() {
    let (srv, listen) = proxy_with_toxic(
        source_server(200_000).await,
        r#"{"type":"bandwidth","attributes":{"rate":200}}"#,
    )
    .await;
    let t = Instant::now();
    let (got, err) = connect_and_read_all(listen).await;
    assert_eq!((got.len(), err), (200_000, None));
    // 200 KB at 200 KB/s is one second.
    assert_took_at_least(t, 900);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn limit_data_truncates_then_closes() {
    let (srv, listen) = proxy_with_toxic(
        source_server(100_000).await,
        r#"{"type":"limit_data","attributes":{"bytes":1234}}"#,
    )
    .await;
    let (got, _) = connect_and_read_all(listen).await;
    assert_eq!(got.len(), 1234);
    let expect: Vec<u8> = (0..1234).map(|i| (i % 251) as u8).collect();
    assert_eq!(got, expect);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn timeout_drops_data_and_closes() {
    let (srv, listen) = proxy_with_toxic(
        echo_server().await,
        r#"{"type":"timeout","attributes":{"timeout":300}}"#,
    )
    .await;
    let t = Instant::now();
    let (got, err) = send_and_read_all(listen, b"hello").await;
    assert_closed_without_data(&got, err);
    assert_took_at_least(t, 290);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn removing_timeout_closes_connection() {
    let (srv, listen) = proxy_with_toxic(
        echo_server().await,
        r#"{"type":"timeout","attributes":{"timeout":0}}"#,
    )
    .await;
    let api = srv.addr();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"lost").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    remove_toxic(api, "p", "timeout_downstream").await;
    let (got, err) = read_all(&mut c, LONG).await;
    assert_closed_without_data(&got, err);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reset_peer_sends_rst() {
    let (srv, listen) = proxy_with_toxic(
        echo_server().await,
        r#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":100}}"#,
    )
    .await;
    let (got, err) = send_and_read_all(listen, b"boom").await;
    assert_reset_without_data(&got, err);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn slow_close_delays_eof() {
    let (srv, listen) = proxy_with_toxic(
        source_server(10).await,
        r#"{"type":"slow_close","attributes":{"delay":300}}"#,
    )
    .await;
    let t = Instant::now();
    let (got, err) = connect_and_read_all(listen).await;
    assert_eq!((got.len(), err), (10, None));
    assert_took_at_least(t, 290);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn slicer_keeps_bytes_intact() {
    let (srv, listen) = proxy_with_toxic(
        source_server(50_000).await,
        r#"{"type":"slicer","attributes":{"average_size":100,"size_variation":50,"delay":10}}"#,
    )
    .await;
    let (got, err) = connect_and_read_all(listen).await;
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
    assert_eq!(set_enabled(api, "p", false).await.status, 200);
    let (_, err) = read_all(&mut c, LONG).await;
    assert_ne!(err, Some(ErrorKind::TimedOut));
    assert!(
        TcpStream::connect(listen).await.is_err(),
        "listener must be closed"
    );
    // Re-enabling rebinds the same address.
    let r = set_enabled(api, "p", true).await;
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
    let (got, err) = connect_and_read_all(listen).await;
    assert_closed_without_data(&got, err);
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
    assert_took_at_least(t, 290);

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
    let (srv, listen) = proxy_with_toxic(
        echo_server().await,
        r#"{"type":"connect_delay","attributes":{"delay":300}}"#,
    )
    .await;
    let t = Instant::now();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    round_trip(&mut c, b"hi").await;
    assert_took_at_least(t, 290);

    add_toxic(srv.addr(), "p", r#"{"type":"connect_refuse"}"#).await;
    let (got, err) = connect_and_read_all(listen).await;
    assert_reset_without_data(&got, err);
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
