//! Proof of injection: every toxic's `stats` (API JSON and `/metrics`) count exactly what
//! real loopback traffic through the proxy went through.

mod common;
mod support;
use common::*;
use proxy::ServeConfig;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(20);

async fn echo_once(listen: SocketAddr, msg: &[u8]) {
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(msg).await.expect("write");
    let mut buf = vec![0u8; msg.len()];
    tokio::time::timeout(LONG, c.read_exact(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(buf, msg);
}

/// Proxy `proxy` in front of an upstream that sends `n` bytes, with one toxic (`toxic`
/// POSTed as is): how many bytes a client read until the proxy closed, and the stats of
/// the toxic named `name`.
async fn drain_through(
    api: SocketAddr,
    proxy: &str,
    n: usize,
    toxic: &str,
    name: &str,
) -> (usize, Value) {
    let listen = create_proxy(api, proxy, source_server(n).await).await;
    add_toxic(api, proxy, toxic).await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let (got, _) = read_all(&mut c, LONG).await;
    (got.len(), toxic_stats(api, proxy, name).await)
}

/// Sends one HTTP request on a fresh connection and returns the whole answer.
async fn request(listen: SocketAddr, path: &str) -> String {
    let mut c = TcpStream::connect(listen).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.write_all(req.as_bytes()).await.expect("write");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(LONG, c.read(&mut buf))
        .await
        .expect("in time")
        .expect("read");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[tokio::test]
async fn latency_counts_every_byte_it_delayed() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    let t = add_toxic(
        api,
        "p",
        r#"{"type":"latency","attributes":{"latency":20}}"#,
    )
    .await;
    assert_eq!(
        t["stats"],
        serde_json::json!({"connections":0,"bytes_in":0,"bytes_out":0,"bytes_delayed":0,
                           "bytes_dropped":0,"delay_injected_ms":0})
    );
    let sizes = [1usize, 100, 1000, 5000];
    for n in sizes {
        echo_once(listen, &vec![b'x'; n]).await;
    }
    let total: usize = sizes.iter().sum();
    let s = toxic_stats(api, "p", "latency_downstream").await;
    assert_eq!(s["connections"], 4, "{s}");
    assert_eq!(s["bytes_in"], total, "{s}");
    assert_eq!(s["bytes_out"], total, "{s}");
    assert_eq!(s["bytes_delayed"], total, "{s}");
    assert_eq!(s["bytes_dropped"], 0, "{s}");
    // Every chunk was held exactly 20 ms (no jitter); at least one chunk per message.
    let delay = s["delay_injected_ms"].as_f64().expect("number");
    assert!(delay >= 80.0 && delay % 20.0 == 0.0, "{s}");
    // The upstream direction saw nothing of a downstream toxic.
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn updates_keep_counters_and_removal_drops_them() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(api, "p", r#"{"type":"noop","name":"n"}"#).await;
    echo_once(listen, b"hello").await;
    let t = update_toxic(api, "p", "n", r#"{"toxicity":1}"#).await;
    assert_eq!(t["stats"]["bytes_in"], 5, "{t}");
    echo_once(listen, b"again").await;
    assert_eq!(toxic_stats(api, "p", "n").await["bytes_in"], 10);
    remove_toxic(api, "p", "n").await;
    let t = add_toxic(api, "p", r#"{"type":"noop","name":"n"}"#).await;
    assert_eq!(t["stats"]["bytes_in"], 0, "{t}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn toxicity_zero_touches_nothing() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"latency","toxicity":0,"attributes":{"latency":1000}}"#,
    )
    .await;
    echo_once(listen, b"untouched").await;
    let s = toxic_stats(api, "p", "latency_downstream").await;
    assert_eq!(
        (s["connections"].clone(), s["bytes_in"].clone()),
        (0.into(), 0.into())
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn limit_data_and_timeout_count_what_they_dropped() {
    let srv = server().await;
    let api = srv.addr();
    let (got, s) = drain_through(
        api,
        "lim",
        100_000,
        r#"{"type":"limit_data","attributes":{"bytes":1234}}"#,
        "limit_data_downstream",
    )
    .await;
    assert_eq!(got, 1234);
    assert_eq!(s["bytes_out"], 1234, "{s}");
    assert_eq!(s["connections_closed"], 1, "{s}");
    let (bytes_in, dropped) = (s["bytes_in"].as_u64(), s["bytes_dropped"].as_u64());
    assert_eq!(bytes_in, dropped.map(|d| d + 1234), "{s}");

    let listen = create_proxy(api, "to", echo_server().await).await;
    add_toxic(
        api,
        "to",
        r#"{"type":"timeout","attributes":{"timeout":50}}"#,
    )
    .await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"hello").await.expect("write");
    let (got, _) = read_all(&mut c, LONG).await;
    assert!(got.is_empty());
    let s = toxic_stats(api, "to", "timeout_downstream").await;
    assert_eq!(
        (
            s["bytes_in"].clone(),
            s["bytes_dropped"].clone(),
            s["bytes_out"].clone()
        ),
        (5.into(), 5.into(), 0.into()),
        "{s}"
    );
    assert_eq!(s["connections_closed"], 1, "{s}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reset_peer_slow_close_and_bandwidth_count_their_effects() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "rp", echo_server().await).await;
    add_toxic(
        api,
        "rp",
        r#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}"#,
    )
    .await;
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"boom").await.expect("write");
    let _ = read_all(&mut c, LONG).await;
    let s = toxic_stats(api, "rp", "reset_peer_upstream").await;
    assert_eq!(s["connections_reset"], 1, "{s}");
    assert_eq!(s["bytes_dropped"], 4, "{s}");

    let (got, s) = drain_through(
        api,
        "sc",
        10,
        r#"{"type":"slow_close","attributes":{"delay":30}}"#,
        "slow_close_downstream",
    )
    .await;
    assert_eq!(got, 10);
    assert_eq!(s["closes_delayed"], 1, "{s}");
    assert_eq!(s["delay_injected_ms"], 30, "{s}");
    assert_eq!(s["bytes_delayed"], 0, "{s}");

    let (got, s) = drain_through(
        api,
        "bw",
        50_000,
        r#"{"type":"bandwidth","attributes":{"rate":1000}}"#,
        "bandwidth_downstream",
    )
    .await;
    assert_eq!(got, 50_000);
    assert_eq!(
        (
            s["bytes_in"].clone(),
            s["bytes_out"].clone(),
            s["bytes_delayed"].clone()
        ),
        (50_000.into(), 50_000.into(), 50_000.into()),
        "{s}"
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn http_toxics_count_requests_by_outcome() {
    let srv = server_with(ServeConfig {
        port: 0,
        proxy_metrics: true,
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let listen = create_proxy(api, "web", http_upstream().await).await;
    add_toxic(
        api,
        "web",
        r#"{"type":"http_abort","name":"abort","stream":"upstream","attributes":{"status":502,"path_prefix":"/fail"}}"#,
    )
    .await;
    add_toxic(
        api,
        "web",
        r#"{"type":"http_delay","name":"slow","stream":"upstream","attributes":{"delay":10,"path_prefix":"/slow"}}"#,
    )
    .await;
    for _ in 0..5 {
        let r = request(listen, "/fail/x").await;
        assert!(r.starts_with("HTTP/1.1 502 "), "{r}");
    }
    for _ in 0..3 {
        let r = request(listen, "/slow").await;
        assert!(r.starts_with("HTTP/1.1 200 "), "{r}");
    }
    let r = request(listen, "/ok").await;
    assert!(r.starts_with("HTTP/1.1 200 "), "{r}");

    let s = toxic_stats(api, "web", "abort").await;
    assert_eq!(s["requests_seen"], 9, "{s}");
    assert_eq!(s["requests_aborted"], 5, "{s}");
    assert_eq!(
        s["requests_aborted_by_status"],
        serde_json::json!({"502": 5})
    );
    assert_eq!(s["connections"], 9, "{s}");
    // The aborted requests' bytes never reached the upstream.
    let head = "GET /fail/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".len();
    assert_eq!(s["bytes_dropped"], 5 * head, "{s}");
    // http_delay runs after http_abort: it sees only the requests abort let through.
    let s = toxic_stats(api, "web", "slow").await;
    assert_eq!(s["requests_seen"], 4, "{s}");
    assert_eq!(s["requests_delayed"], 3, "{s}");
    let slow = "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".len();
    assert_eq!(s["bytes_delayed"], 3 * slow, "{s}");
    assert_eq!(s["delay_injected_ms"], 30, "{s}");

    let m = get(api, "/metrics").await.body;
    let labels = r#"direction="upstream",proxy="web",toxic="abort",type="http_abort""#;
    for want in [
        format!("shakedown_toxic_requests_aborted_total{{{labels}}} 5"),
        format!("shakedown_toxic_requests_aborted_by_status_total{{{labels},status=\"502\"}} 5"),
        r#"shakedown_toxic_requests_delayed_total{direction="upstream",proxy="web",toxic="slow",type="http_delay"} 3"#.to_string(),
        r#"shakedown_toxic_delay_injected_seconds_total{direction="upstream",proxy="web",toxic="slow",type="http_delay"} 0.03"#.to_string(),
        "# TYPE shakedown_toxic_requests_aborted_total counter".to_string(),
    ] {
        assert!(m.lines().any(|l| l == want), "missing {want:?} in\n{m}");
    }
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn connect_toxics_count_connections() {
    let srv = server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    add_toxic(
        api,
        "p",
        r#"{"type":"connect_delay","attributes":{"delay":5}}"#,
    )
    .await;
    echo_once(listen, b"a").await;
    echo_once(listen, b"b").await;
    let s = toxic_stats(api, "p", "connect_delay_downstream").await;
    assert_eq!(
        s,
        serde_json::json!({"connections_delayed":2,"delay_injected_ms":10})
    );
    remove_toxic(api, "p", "connect_delay_downstream").await;
    add_toxic(api, "p", r#"{"type":"connect_refuse"}"#).await;
    for _ in 0..3 {
        let mut c = TcpStream::connect(listen).await.expect("connect");
        let _ = read_all(&mut c, LONG).await;
    }
    let s = toxic_stats(api, "p", "connect_refuse_downstream").await;
    assert_eq!(s, serde_json::json!({"connections_refused":3}));
    srv.shutdown().await.expect("shutdown");
}
