//! UDP proxies on real loopback sockets: a datagram echo server behind `"protocol":"udp"`
//! proxies, datagram boundaries, per-client sessions, the UDP toxics with their counters,
//! live toxic changes on a running exchange, and the API's refusals.

mod common;
mod support;
use common::*;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::net::UdpSocket;

/// How long a test waits for a datagram that should come (never asserted as a time).
const LONG: Duration = Duration::from_secs(20);
/// How long a test waits before concluding a datagram is not coming.
const QUIET: Duration = Duration::from_millis(300);

async fn create_udp_proxy(api: SocketAddr, name: &str, upstream: SocketAddr) -> SocketAddr {
    let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string(),
                      "protocol": "udp"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["protocol"], json!("udp"));
    r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen address")
}

async fn client(proxy: SocketAddr) -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").await.expect("bind client");
    c.connect(proxy).await.expect("connect");
    c
}

/// The toxic's counters once `done` holds for them, or the last ones read after [`LONG`]
/// (for the caller's assertion to show).
async fn stats_when(
    api: SocketAddr,
    proxy: &str,
    toxic: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let s = toxic_stats(api, proxy, toxic).await;
        if done(&s) || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn recv(c: &UdpSocket, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65_536];
    match tokio::time::timeout(wait, c.recv(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

#[tokio::test]
async fn datagrams_keep_their_boundaries_per_client_session() {
    let srv = server().await;
    let api = srv.addr();
    let proxy = create_udp_proxy(api, "u", udp_echo().await).await;
    let (a, b) = (client(proxy).await, client(proxy).await);
    for size in [1usize, 1000, 8000, 60_000] {
        let msg: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        a.send(&msg).await.expect("send");
        assert_eq!(recv(&a, LONG).await.as_deref(), Some(&msg[..]), "{size}");
    }
    // Two datagrams sent back to back come back as two, not one.
    a.send(b"first").await.expect("send");
    a.send(b"second").await.expect("send");
    assert_eq!(recv(&a, LONG).await.as_deref(), Some(&b"first"[..]));
    assert_eq!(recv(&a, LONG).await.as_deref(), Some(&b"second"[..]));
    // Another client gets its own replies only.
    b.send(b"from b").await.expect("send");
    assert_eq!(recv(&b, LONG).await.as_deref(), Some(&b"from b"[..]));
    assert_eq!(recv(&a, QUIET).await, None);
    // The proxy lists as UDP; a TCP proxy has no `protocol` key, as in Toxiproxy.
    let listed = get(api, "/proxies").await.json();
    assert_eq!(listed["u"]["protocol"], json!("udp"));
    create_proxy(api, "t", echo_server().await).await;
    let t = get(api, "/proxies/t").await.json();
    assert!(t.get("protocol").is_none(), "{t}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn latency_and_bandwidth_delay_whole_datagrams_and_count_them() {
    let srv = server().await;
    let api = srv.addr();
    let proxy = create_udp_proxy(api, "u", udp_echo().await).await;
    add_toxic(
        api,
        "u",
        r#"{"type":"latency","attributes":{"latency":30}}"#,
    )
    .await;
    add_toxic(
        api,
        "u",
        r#"{"type":"bandwidth","stream":"upstream","attributes":{"rate":100}}"#,
    )
    .await;
    let c = client(proxy).await;
    for i in 0..5u8 {
        let msg = vec![i; 500];
        c.send(&msg).await.expect("send");
        assert_eq!(recv(&c, LONG).await, Some(msg));
    }
    let s = toxic_stats(api, "u", "latency_downstream").await;
    assert_eq!(s["connections"], 1, "{s}");
    assert_eq!(s["bytes_in"], 2500, "{s}");
    assert_eq!(s["bytes_delayed"], 2500, "{s}");
    assert_eq!(s["delay_injected_ms"], 150, "{s}");
    let s = toxic_stats(api, "u", "bandwidth_upstream").await;
    // 500 B at 100 KB/s takes 5 ms to transmit (the link was idle before each).
    assert_eq!(s["bytes_delayed"], 2500, "{s}");
    assert_eq!(s["delay_injected_ms"], 25, "{s}");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn loss_and_blackhole_drop_datagrams_and_count_them() {
    let srv = server_with(proxy::ServeConfig {
        port: 0,
        seed: Some(42),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let proxy = create_udp_proxy(api, "u", udp_echo().await).await;
    add_toxic(
        api,
        "u",
        r#"{"type":"loss","stream":"upstream","attributes":{"probability":0.5}}"#,
    )
    .await;
    let c = client(proxy).await;
    for i in 0..40u8 {
        c.send(&[i; 10]).await.expect("send");
    }
    // Every datagram is either echoed or counted as dropped: wait until the two add up (a
    // loaded machine may hold an echo back for longer than QUIET), bounded by LONG.
    let mut replies = Vec::new();
    let deadline = tokio::time::Instant::now() + LONG;
    let (s, dropped) = loop {
        while let Some(d) = recv(&c, QUIET).await {
            replies.push(d[0]);
        }
        let s = toxic_stats(api, "u", "loss_upstream").await;
        let dropped = s["datagrams_dropped"].as_u64().expect("count");
        if replies.len() as u64 + dropped >= 40 || tokio::time::Instant::now() > deadline {
            break (s, dropped);
        }
    };
    // What came back came whole and in order, with gaps where datagrams were lost.
    assert!(replies.windows(2).all(|w| w[0] < w[1]), "{replies:?}");
    let got = replies.len() as u64;
    assert_eq!(got + dropped, 40, "{s}");
    assert!(got > 0 && dropped > 0, "{s}");
    assert_eq!(s["bytes_dropped"], json!(dropped * 10), "{s}");
    assert_eq!(s["bytes_out"], json!(got * 10), "{s}");

    remove_toxic(api, "u", "loss_upstream").await;
    add_toxic(api, "u", r#"{"type":"blackhole"}"#).await;
    for _ in 0..3 {
        c.send(b"void").await.expect("send");
    }
    assert_eq!(recv(&c, QUIET).await, None);
    // The three reach the toxic in their own time: wait for its count, bounded by LONG.
    let s = stats_when(api, "u", "blackhole_downstream", |s| {
        s["bytes_in"] == json!(12)
    })
    .await;
    assert_eq!(
        (s["bytes_in"].clone(), s["bytes_dropped"].clone()),
        (json!(12), json!(12)),
        "{s}"
    );
    // Removing it restores the exchange on the same session.
    remove_toxic(api, "u", "blackhole_downstream").await;
    c.send(b"back").await.expect("send");
    assert_eq!(recv(&c, LONG).await.as_deref(), Some(&b"back"[..]));
    srv.shutdown().await.expect("shutdown");
}

/// Toxics added, updated and removed while an exchange runs: every datagram comes back,
/// in order, none lost or duplicated.
#[tokio::test]
async fn live_toxic_changes_lose_nothing() {
    let srv = server().await;
    let api = srv.addr();
    let proxy = create_udp_proxy(api, "u", udp_echo().await).await;
    let c = client(proxy).await;
    let changes = tokio::spawn(async move {
        for round in 0..5 {
            add_toxic(
                api,
                "u",
                r#"{"type":"latency","attributes":{"latency":20}}"#,
            )
            .await;
            tokio::time::sleep(Duration::from_millis(15)).await;
            let body = format!(r#"{{"attributes":{{"latency":{}}}}}"#, 5 + round);
            update_toxic(api, "u", "latency_downstream", &body).await;
            add_toxic(
                api,
                "u",
                r#"{"type":"bandwidth","stream":"upstream","attributes":{"rate":50}}"#,
            )
            .await;
            tokio::time::sleep(Duration::from_millis(15)).await;
            remove_toxic(api, "u", "latency_downstream").await;
            remove_toxic(api, "u", "bandwidth_upstream").await;
        }
    });
    // A window of 8 datagrams in flight, so toxics change under queued datagrams.
    let total = 400u32;
    let (mut sent, mut next) = (0u32, 0u32);
    while next < total {
        while sent < total && sent < next + 8 {
            c.send(&sent.to_be_bytes()).await.expect("send");
            sent += 1;
        }
        let d = recv(&c, LONG).await.expect("a reply");
        assert_eq!(d, next.to_be_bytes(), "reply {next}");
        next += 1;
    }
    changes.await.expect("changes");
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn bad_input_is_refused_clearly() {
    let srv = server().await;
    let api = srv.addr();
    let upstream = udp_echo().await;
    // A port in use: the same status and shape as a TCP proxy's.
    let busy = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let body = json!({"name": "busy", "listen": format!("127.0.0.1:{port}"),
                      "upstream": upstream.to_string(), "protocol": "udp"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_answer(
        &r,
        500,
        error_body(
            500,
            &format!("listen udp 127.0.0.1:{port}: bind: address already in use"),
        ),
    );
    let tcp_busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let tport = tcp_busy.local_addr().expect("addr").port();
    let body = json!({"name": "busy", "listen": format!("127.0.0.1:{tport}"),
                      "upstream": upstream.to_string()});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_answer(
        &r,
        500,
        error_body(
            500,
            &format!("listen tcp 127.0.0.1:{tport}: bind: address already in use"),
        ),
    );

    let body = json!({"name": "x", "upstream": "127.0.0.1:1", "protocol": "sctp"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_answer(
        &r,
        400,
        error_body(
            400,
            "invalid protocol \"sctp\": a proxy is \"tcp\" (the default), \"udp\" or \"dns\"",
        ),
    );

    create_udp_proxy(api, "u", upstream).await;
    for kind in [
        "slicer",
        "limit_data",
        "http_abort",
        "http_delay",
        "timeout",
        "reset_peer",
        "slow_close",
        "connect_refuse",
        "connect_delay",
    ] {
        let r = post_toxic(api, "u", &json!({"type": kind}).to_string()).await;
        let msg = format!(
            "toxic type {kind} does not apply to udp proxies (they take latency, bandwidth, \
             loss, blackhole and noop)"
        );
        assert_answer(&r, 400, error_body(400, &msg));
    }
    create_proxy(api, "t", echo_server().await).await;
    let r = post_toxic(api, "t", r#"{"type":"loss"}"#).await;
    assert_answer(
        &r,
        400,
        error_body(
            400,
            "toxic type loss applies to udp proxies only (on tcp use timeout, reset_peer or \
             bandwidth)",
        ),
    );
    // Nothing was added by the refusals.
    assert_eq!(get(api, "/proxies/u/toxics").await.json(), json!([]));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn populate_creates_and_replaces_udp_proxies() {
    let srv = server().await;
    let api = srv.addr();
    let upstream = udp_echo().await;
    // The TCP proxy below takes over the UDP proxy's address, so the port must be free for
    // both protocols (an ephemeral UDP port's number may be a busy TCP port).
    let port = port_free_for_tcp_and_udp();
    let body = json!([{"name": "u", "listen": format!("127.0.0.1:{port}"),
                       "upstream": upstream.to_string(), "protocol": "udp"}]);
    let r = post(api, "/populate", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["proxies"][0]["protocol"], json!("udp"));
    let listen: SocketAddr = r.json()["proxies"][0]["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen");
    let c = client(listen).await;
    c.send(b"populated").await.expect("send");
    assert_eq!(recv(&c, LONG).await.as_deref(), Some(&b"populated"[..]));
    // The same entry as TCP replaces the UDP proxy (the protocol is part of its identity).
    let body =
        json!([{"name": "u", "listen": listen.to_string(), "upstream": upstream.to_string()}]);
    let r = post(api, "/populate", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(
        r.json()["proxies"][0].get("protocol").is_none(),
        "{}",
        r.body
    );
    srv.shutdown().await.expect("shutdown");
}

/// A loopback port that neither a TCP nor a UDP socket holds right now.
fn port_free_for_tcp_and_udp() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The `shakedown_proxy_connections` gauge of proxy `u` (its UDP sessions).
async fn sessions(api: SocketAddr) -> Option<u64> {
    let m = get(api, "/metrics").await.body;
    m.lines()
        .find_map(|l| l.strip_prefix("shakedown_proxy_connections{proxy=\"u\"} "))
        .and_then(|v| v.parse().ok())
}

/// A quiet session is closed after the idle timeout; the client's next datagram opens a
/// new one. (Polls the gauge; no time is asserted.)
#[tokio::test]
async fn idle_sessions_end_and_come_back() {
    let srv = server_with(proxy::ServeConfig {
        port: 0,
        proxy_metrics: true,
        udp_idle_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let proxy = create_udp_proxy(api, "u", udp_echo().await).await;
    let c = client(proxy).await;
    c.send(b"one").await.expect("send");
    assert_eq!(recv(&c, LONG).await.as_deref(), Some(&b"one"[..]));
    let mut n = sessions(api).await;
    for _ in 0..400 {
        if n == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        n = sessions(api).await;
    }
    assert_eq!(n, Some(0), "the idle session was closed");
    c.send(b"two").await.expect("send");
    assert_eq!(recv(&c, LONG).await.as_deref(), Some(&b"two"[..]));
    assert_eq!(sessions(api).await, Some(1));
    srv.shutdown().await.expect("shutdown");
}
