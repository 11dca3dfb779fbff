//! The zero-copy fast path (`proxy::splice`) on real loopback sockets: it is taken when no
//! toxic is active (the `shakedown_proxy_spliced_bytes_total` counter on `/metrics` grows,
//! and stays at zero on the copying path), toxics added and removed on a live stream
//! switch paths without losing or reordering a byte, and half-close and RST pass through
//! it as through the toxic chain. No assertion depends on how fast anything runs.

mod common;
mod support;
use common::*;
use proxy::{ServeConfig, ServerHandle};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LONG: Duration = Duration::from_secs(60);

/// Byte `i` of the test stream: no short period, so a lost, repeated or reordered block
/// shows at the first byte it shifts.
fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 ^ (i >> 20) as u8
}

async fn metrics_server() -> ServerHandle {
    server_with(ServeConfig {
        port: 0,
        proxy_metrics: true,
        ..Default::default()
    })
    .await
}

/// `shakedown_proxy_spliced_bytes_total` of proxy `p` in `direction`.
async fn spliced(api: SocketAddr, direction: &str) -> u64 {
    let m = get(api, "/metrics").await;
    assert_eq!(m.status, 200, "{}", m.body);
    let key =
        format!("shakedown_proxy_spliced_bytes_total{{direction=\"{direction}\",proxy=\"p\"}} ");
    m.body
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in\n{}", m.body))
}

/// `toxiproxy_proxy_sent_bytes_total` of proxy `p` in `direction`.
async fn sent(api: SocketAddr, direction: &str) -> u64 {
    let m = get(api, "/metrics").await;
    let key = format!("toxiproxy_proxy_sent_bytes_total{{direction=\"{direction}\",");
    m.body
        .lines()
        .find(|l| l.starts_with(&key))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in\n{}", m.body))
}

/// Polls `cond` until it holds (the stream keeps moving meanwhile); fails after `LONG`.
async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let give_up = tokio::time::Instant::now() + LONG;
    while !cond().await {
        assert!(tokio::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A server (metrics on) with proxy "p" in front of `upstream`: with `noop` toxics on both
/// directions when `toxic` (every byte through the chain), else none (the fast path).
async fn proxy_on_path(upstream: SocketAddr, toxic: bool) -> (ServerHandle, SocketAddr) {
    let srv = metrics_server().await;
    let listen = create_proxy(srv.addr(), "p", upstream).await;
    if toxic {
        add_toxic(srv.addr(), "p", r#"{"type":"noop","stream":"downstream"}"#).await;
        add_toxic(srv.addr(), "p", r#"{"type":"noop","stream":"upstream"}"#).await;
    }
    (srv, listen)
}

/// Streams `n` pattern bytes from a source upstream through proxy "p" (see
/// `proxy_on_path`), checks them, waits until the proxy counted them as sent, and returns
/// the bytes spliced (downstream, upstream).
async fn stream_through(toxic: bool, n: usize) -> (u64, u64) {
    let (srv, listen) = proxy_on_path(source_server(n).await, toxic).await;
    let api = srv.addr();
    let mut c = TcpStream::connect(listen).await.expect("connect");
    c.write_all(b"x").await.expect("write");
    let (got, err) = read_all(&mut c, LONG).await;
    assert_eq!((got.len(), err), (n, None));
    assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    // The proxy's byte counters include spliced bytes.
    until("the link counted its last write", || async {
        sent(api, "downstream").await == n as u64
    })
    .await;
    let counts = (
        spliced(api, "downstream").await,
        spliced(api, "upstream").await,
    );
    srv.shutdown().await.expect("shutdown");
    counts
}

#[tokio::test]
async fn a_stream_with_no_toxic_is_spliced_and_counted() {
    let n = 8 << 20;
    // Every byte went through the pipe.
    assert_eq!(stream_through(false, n).await, (n as u64, 1));
}

/// The control: with a toxic on both directions every byte is copied through the chain,
/// so the splice counter stays at zero while the byte counters grow.
#[tokio::test]
async fn a_stream_with_a_toxic_is_copied_not_spliced() {
    assert_eq!(stream_through(true, 2 << 20).await, (0, 0));
}

/// Adds `body` as toxic `name` and waits until it has seen bytes of the live stream: the
/// chain really took over from the pipe.
async fn add_and_see_bytes(api: SocketAddr, name: &str, body: &str) {
    add_toxic(api, "p", body).await;
    until(&format!("toxic {name} sees bytes"), || async {
        toxic_stats(api, "p", name).await["bytes_in"]
            .as_u64()
            .is_some_and(|b| b > 0)
    })
    .await;
}

/// Waits until both directions splice more than they had when called.
async fn spliced_again(api: SocketAddr) {
    let (up, down) = (
        spliced(api, "upstream").await,
        spliced(api, "downstream").await,
    );
    until("both links splice again", || async {
        spliced(api, "upstream").await > up && spliced(api, "downstream").await > down
    })
    .await;
}

#[tokio::test]
async fn toxics_added_and_removed_mid_stream_lose_and_reorder_nothing() {
    let srv = metrics_server().await;
    let api = srv.addr();
    let listen = create_proxy(api, "p", echo_server().await).await;
    let c = TcpStream::connect(listen).await.expect("connect");
    let (mut r, mut w) = c.into_split();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    // Writes the pattern until told to stop, then half-closes.
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            let mut buf = vec![0u8; 16 * 1024];
            while !stop.load(Ordering::Relaxed) {
                for b in buf.iter_mut() {
                    *b = pattern(i);
                    i += 1;
                }
                w.write_all(&buf).await.expect("write");
                written.store(i, Ordering::Relaxed);
            }
            w.shutdown().await.expect("shutdown");
            i
        })
    };
    // Checks every echoed byte against the pattern as it arrives, until EOF.
    let reader = tokio::spawn(async move {
        let mut i = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let k = tokio::time::timeout(LONG, r.read(&mut buf))
                .await
                .expect("echo in time")
                .expect("read");
            if k == 0 {
                return i;
            }
            for &b in &buf[..k] {
                assert_eq!(b, pattern(i), "byte {i} differs");
                i += 1;
            }
        }
    });

    until("both links splice", || async {
        spliced(api, "upstream").await > 0 && spliced(api, "downstream").await > 0
    })
    .await;
    for round in 0..2 {
        // Each direction gets a delaying and a cutting toxic, swapped between rounds.
        let (lat, sli) = if round == 0 {
            ("upstream", "downstream")
        } else {
            ("downstream", "upstream")
        };
        add_and_see_bytes(
            api,
            "lat",
            &format!(r#"{{"name":"lat","type":"latency","stream":"{lat}","attributes":{{"latency":3,"jitter":2}}}}"#),
        )
        .await;
        add_and_see_bytes(
            api,
            "sli",
            &format!(r#"{{"name":"sli","type":"slicer","stream":"{sli}","attributes":{{"average_size":700,"size_variation":300}}}}"#),
        )
        .await;
        remove_toxic(api, "p", "lat").await;
        remove_toxic(api, "p", "sli").await;
        spliced_again(api).await;
    }
    stop.store(true, Ordering::Relaxed);
    let sent_total = writer.await.expect("writer");
    let echoed = reader.await.expect("reader");
    assert_eq!(echoed, sent_total, "every byte, once");
    assert!(sent_total >= 1 << 20, "only {sent_total} bytes streamed");
    srv.shutdown().await.expect("shutdown");
}

/// Half-close: the client's FIN reaches the upstream, whose reply and FIN come back, on
/// the fast path as on the chain.
#[tokio::test]
async fn half_close_passes_on_both_paths() {
    for toxic in [false, true] {
        let (srv, listen) = proxy_on_path(echo_server().await, toxic).await;
        let api = srv.addr();
        let mut c = TcpStream::connect(listen).await.expect("connect");
        let data: Vec<u8> = (0..600_000u64).map(pattern).collect();
        c.write_all(&data).await.expect("write");
        c.shutdown().await.expect("half-close");
        let (got, err) = read_all(&mut c, LONG).await;
        assert_eq!(err, None, "toxic: {toxic}");
        assert!(got == data, "toxic: {toxic}: {} bytes came back", got.len());
        let down = spliced(api, "downstream").await;
        assert_eq!(down > 0, !toxic, "spliced {down} bytes, toxic: {toxic}");
        srv.shutdown().await.expect("shutdown");
    }
}

/// An upstream that reads one byte and then resets the connection.
async fn resetting_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut b = [0u8; 1];
            let _ = s.read_exact(&mut b).await;
            s.set_zero_linger().expect("linger");
            drop(s);
        }
    });
    addr
}

/// The upstream's RST reaches the client as a reset, on the fast path as on the chain.
#[tokio::test]
async fn an_upstream_reset_reaches_the_client_on_both_paths() {
    for toxic in [false, true] {
        let (srv, listen) = proxy_on_path(resetting_upstream().await, toxic).await;
        let mut c = TcpStream::connect(listen).await.expect("connect");
        c.write_all(b"x").await.expect("write");
        let (got, err) = read_all(&mut c, LONG).await;
        assert!(got.is_empty(), "toxic: {toxic}");
        assert_eq!(err, Some(ErrorKind::ConnectionReset), "toxic: {toxic}");
        srv.shutdown().await.expect("shutdown");
    }
}
