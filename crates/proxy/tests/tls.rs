//! HTTPS faults end to end: curl (the system's, OpenSSL-based) trusts the proxy's CA, the
//! proxy terminates TLS and re-encrypts toward a real HTTPS upstream (tokio-rustls with
//! its own CA), and the HTTP toxics act on the plaintext requests in between.
//!
//! Timing checks are lower bounds only (a delay toxic of d ms cannot answer sooner);
//! the counters (`stats`) prove the toxic acted.

mod common;
mod support;
mod tls_support;

use common::*;
use proxy::ServeConfig;
use serde_json::{json, Value};
use support::*;
use tls_support::*;

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
}

#[tokio::test]
async fn http_toxics_act_on_https_requests_through_a_generated_ca() {
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(
        ServeConfig::default(),
        "web",
        &["localhost", "127.0.0.1", "api.example.test"],
        json!({}),
    )
    .await;

    // The proxy's JSON shows the same CA, the names it covers, and never a key.
    let shown = get(api, "/proxies/web").await.json();
    let tls = &shown["tls"];
    assert_eq!(tls["generate"], json!(true));
    assert_eq!(tls["verify_upstream"], json!(true));
    assert_eq!(
        tls["ca_cert"].as_str(),
        std::fs::read_to_string(&ca).ok().as_deref()
    );
    assert!(
        tls["names"]
            .as_array()
            .is_some_and(|n| n.contains(&json!("localhost"))),
        "{tls}"
    );
    assert!(!shown.to_string().contains("PRIVATE KEY"), "{shown}");

    // Plain forwarding. `localhost` names the proxy itself, so it is not passed on: the
    // upstream is verified for its own host, 127.0.0.1 (an IP: no SNI).
    let base = format!("https://localhost:{port}");
    let c = curl(&format!("{base}/hello"), &ca, &[]).await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=- path=/hello"),
        "{c:?}"
    );
    // By IP: no SNI from the client; the upstream is verified for its IP address.
    let c = curl(&format!("https://127.0.0.1:{port}/ip"), &ca, &[]).await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=- path=/ip"),
        "{c:?}"
    );
    // Any other name: the proxy mints a leaf for it and passes the name on as SNI, and
    // verifies the upstream for it.
    let resolve = format!("api.example.test:{port}:127.0.0.1");
    let c = curl(
        &format!("https://api.example.test:{port}/named"),
        &ca,
        &["--resolve", &resolve],
    )
    .await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=api.example.test path=/named"),
        "{c:?}"
    );

    // Abort: the toxic's status over TLS, only for the matching path.
    add_toxic(api, "web", r#"{"name":"abort","type":"http_abort","stream":"upstream","attributes":{"status":503,"path_prefix":"/fail"}}"#).await;
    let c = curl(&format!("{base}/fail/now"), &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 503), "{c:?}");
    assert!(
        c.headers.contains("X-Shakedown-Fault: http_abort"),
        "{}",
        c.headers
    );
    let c = curl(&format!("{base}/fine"), &ca, &[]).await;
    assert_eq!(
        (c.status, c.text().as_str()),
        (200, "sni=- path=/fine"),
        "{c:?}"
    );
    let stats = toxic_stats(api, "web", "abort").await;
    assert_eq!(stat(&stats, "requests_aborted"), 1, "{stats}");
    assert_eq!(stat(&stats, "requests_seen"), 2, "{stats}");
    assert_eq!(stats["requests_aborted_by_status"], json!({"503": 1}));

    // Delay: the matching request is held at least the delay, and counted.
    add_toxic(api, "web", r#"{"name":"slow","type":"http_delay","stream":"upstream","attributes":{"delay":400,"path_prefix":"/slow"}}"#).await;
    let c = curl(&format!("{base}/slow/x"), &ca, &[]).await;
    assert_eq!(
        (c.status, c.text().as_str()),
        (200, "sni=- path=/slow/x"),
        "{c:?}"
    );
    assert!(
        c.seconds >= 0.39,
        "a 400 ms delay answered after {} s",
        c.seconds
    );
    let stats = toxic_stats(api, "web", "slow").await;
    assert_eq!(stat(&stats, "requests_delayed"), 1, "{stats}");
    assert!(stat(&stats, "delay_injected_ms") >= 400, "{stats}");

    // Removing the toxics restores plain forwarding.
    remove_toxic(api, "web", "abort").await;
    remove_toxic(api, "web", "slow").await;
    let c = curl(&format!("{base}/fail/now"), &ca, &[]).await;
    assert_eq!(
        (c.status, c.text().as_str()),
        (200, "sni=- path=/fail/now"),
        "{c:?}"
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tcp_toxics_act_on_the_plaintext_of_a_tls_proxy() {
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(ServeConfig::default(), "tcp", &["localhost"], json!({})).await;
    let url = format!("https://localhost:{port}/big/1000000");

    add_toxic(
        api,
        "tcp",
        r#"{"name":"lat","type":"latency","attributes":{"latency":300}}"#,
    )
    .await;
    let c = curl(&url, &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    assert!(
        c.body == pattern(1_000_000),
        "body differs ({} bytes)",
        c.body.len()
    );
    assert!(
        c.seconds >= 0.29,
        "a 300 ms latency answered after {} s",
        c.seconds
    );
    let stats = toxic_stats(api, "tcp", "lat").await;
    // The toxic saw at least the plaintext body (the TLS framing is not in the link).
    assert!(stat(&stats, "bytes_delayed") >= 1_000_000, "{stats}");
    assert!(stat(&stats, "bytes_in") < 1_100_000, "{stats}");

    // Slicing and throttling the plaintext: TLS re-frames it, nothing is lost or reordered.
    remove_toxic(api, "tcp", "lat").await;
    add_toxic(api, "tcp", r#"{"name":"slice","type":"slicer","attributes":{"average_size":700,"size_variation":300,"delay":10}}"#).await;
    add_toxic(
        api,
        "tcp",
        r#"{"name":"bw","type":"bandwidth","stream":"upstream","attributes":{"rate":100}}"#,
    )
    .await;
    let c = curl(&url, &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    assert!(
        c.body == pattern(1_000_000),
        "body differs ({} bytes)",
        c.body.len()
    );
    assert!(stat(&toxic_stats(api, "tcp", "slice").await, "bytes_out") >= 1_000_000);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_given_certificate_and_key_from_files() {
    let srv = server().await;
    let api = srv.addr();
    let (up, up_ca) = https_upstream(&["127.0.0.1"]).await;
    let dir = Scratch::new();
    let mine = mint(&["localhost"]);
    let cert = dir.write("cert.pem", &mine.cert_pem);
    let key = dir.write("key.pem", &mine.key_pem);
    let ca = dir.write("ca.pem", &mine.ca_pem);
    let up_ca_file = dir.write("upstream-ca.pem", &up_ca);
    let tls =
        json!({"cert": cert, "key": key, "upstream_ca": up_ca_file, "upstream_name": "127.0.0.1"});
    let port = tls_proxy(api, "given", up, tls).await;
    let c = curl(&format!("https://localhost:{port}/x"), &ca, &[]).await;
    // upstream_name wins over the client's SNI for verification and for what is sent.
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=- path=/x"),
        "{c:?}"
    );
    let r = get(api, "/proxies/given/ca.pem").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("was given its certificate")),
        "{}",
        r.body
    );
    assert!(!get(api, "/proxies/given")
        .await
        .body
        .contains("PRIVATE KEY"));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_proxy_without_tls_passes_tls_through_untouched() {
    let srv = server().await;
    let api = srv.addr();
    let (up, up_ca) = https_upstream(&["localhost"]).await;
    let listen = create_proxy(api, "raw", up).await;
    add_toxic(
        api,
        "raw",
        r#"{"name":"abort","type":"http_abort","stream":"upstream"}"#,
    )
    .await;
    let dir = Scratch::new();
    let ca = dir.write("upstream-ca.pem", &up_ca);
    // curl verifies the upstream's own certificate through the proxy: the bytes are the
    // upstream's, and the HTTP toxic sees no HTTP in them.
    let c = curl(
        &format!("https://localhost:{}/through", listen.port()),
        &ca,
        &[],
    )
    .await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=localhost path=/through"),
        "{c:?}"
    );
    let stats = toxic_stats(api, "raw", "abort").await;
    assert_eq!(stat(&stats, "requests_aborted"), 0, "{stats}");
    assert!(get(api, "/proxies/raw").await.json().get("tls").is_none());
    let r = get(api, "/proxies/raw/ca.pem").await;
    assert_eq!(r.status, 404, "{}", r.body);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn plaintext_upstream_and_unverified_upstream() {
    let srv = server().await;
    let api = srv.addr();
    let dir = Scratch::new();
    // TLS toward the client only.
    let port = tls_proxy(
        api,
        "plain",
        http_upstream().await,
        json!({"generate": true, "upstream_tls": false}),
    )
    .await;
    let ca = ca_file(api, "plain", &dir).await;
    let c = curl(&format!("https://localhost:{port}/"), &ca, &[]).await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "ok"),
        "{c:?}"
    );
    // An upstream whose CA nobody gave: refused unless verification is off.
    let (up, _) = https_upstream(&["localhost"]).await;
    let port = tls_proxy(
        api,
        "insecure",
        up,
        json!({"generate": true, "verify_upstream": false}),
    )
    .await;
    let ca = ca_file(api, "insecure", &dir).await;
    let c = curl(&format!("https://localhost:{port}/i"), &ca, &[]).await;
    assert_eq!(
        (c.exit, c.status, c.text().as_str()),
        (0, 200, "sni=- path=/i"),
        "{c:?}"
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_upstream_that_fails_gives_the_client_a_502() {
    let srv = server().await;
    let api = srv.addr();
    let dir = Scratch::new();
    // The upstream's certificate is not signed by the CA the proxy was told to trust.
    let (up, _) = https_upstream(&["localhost"]).await;
    let other = mint(&["localhost"]);
    let port = tls_proxy(
        api,
        "wrongca",
        up,
        json!({"generate": true, "upstream_ca": other.ca_pem}),
    )
    .await;
    let ca = ca_file(api, "wrongca", &dir).await;
    let c = curl(&format!("https://localhost:{port}/x"), &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 502), "{c:?}");
    assert!(
        c.text().contains("TLS handshake with upstream"),
        "{}",
        c.text()
    );
    assert!(
        c.headers.contains("X-Shakedown-Proxy-Error: upstream"),
        "{}",
        c.headers
    );

    // Nothing listens upstream.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gone = closed.local_addr().expect("addr");
    drop(closed);
    let port = tls_proxy(api, "gone", gone, json!({"generate": true})).await;
    let ca = ca_file(api, "gone", &dir).await;
    let c = curl(&format!("https://localhost:{port}/x"), &ca, &[]).await;
    assert_eq!((c.exit, c.status), (0, 502), "{c:?}");
    assert!(
        c.text().contains("cannot connect to upstream"),
        "{}",
        c.text()
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxics_change_live_on_a_streaming_tls_download_without_losing_a_byte() {
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(ServeConfig::default(), "live", &["localhost"], json!({})).await;
    // 8 MB at 4000 KB/s: the download is still running while the chain changes (a link
    // reads up to 4 MiB ahead into its queue; toxics act on what it reads after that).
    add_toxic(
        api,
        "live",
        r#"{"name":"bw","type":"bandwidth","attributes":{"rate":4000}}"#,
    )
    .await;
    let url = format!("https://localhost:{port}/big/8000000");
    let download = tokio::spawn(async move { curl(&url, &ca, &[]).await });
    let stats = |t: &'static str| toxic_stats(api, "live", t);
    // Wait (bounded) until the download has started flowing through the toxic.
    for _ in 0..300 {
        if stat(&stats("bw").await, "bytes_in") > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(200));
    let lat = r#"{"name":"lat","type":"latency","attributes":{"latency":50,"jitter":40}}"#;
    add_toxic(api, "live", lat).await;
    pause().await;
    let slice = r#"{"name":"slice","type":"slicer","attributes":{"average_size":500,"size_variation":400,"delay":20}}"#;
    add_toxic(api, "live", slice).await;
    pause().await;
    update_toxic(api, "live", "bw", r#"{"attributes":{"rate":8000}}"#).await;
    pause().await;
    // Both acted on this very connection before they go.
    assert!(stat(&stats("lat").await, "bytes_delayed") > 0);
    assert!(stat(&stats("slice").await, "bytes_out") > 0);
    remove_toxic(api, "live", "lat").await;
    pause().await;
    remove_toxic(api, "live", "slice").await;
    remove_toxic(api, "live", "bw").await;
    let c = download.await.expect("curl task");
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    assert!(
        c.body == pattern(8_000_000),
        "body differs ({} bytes)",
        c.body.len()
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn reset_peer_resets_a_tls_client() {
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(ServeConfig::default(), "rst", &["localhost"], json!({})).await;
    add_toxic(
        api,
        "rst",
        r#"{"name":"rst","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}"#,
    )
    .await;
    let c = curl(&format!("https://localhost:{port}/x"), &ca, &[]).await;
    // curl: "Recv failure: Connection reset by peer" (56), no response.
    assert_eq!((c.exit, c.status), (56, 0), "{c:?}");
    assert!(c.stderr.contains("reset"), "{}", c.stderr);
    assert_eq!(
        stat(&toxic_stats(api, "rst", "rst").await, "connections_reset"),
        1
    );
    srv.shutdown().await.expect("shutdown");
}

/// `name{direction="dir",…proxy="p"…}` on `/metrics` of the server at `api`.
async fn link_metric(api: std::net::SocketAddr, name: &str, p: &str, dir: &str) -> u64 {
    let m = get(api, "/metrics").await;
    assert_eq!(m.status, 200, "{}", m.body);
    let (prefix, label) = (
        format!("{name}{{direction=\"{dir}\","),
        format!("proxy=\"{p}\""),
    );
    m.body
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(&label))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix}…{label} in\n{}", m.body))
}

/// The zero-copy path needs raw sockets on both ends of a link: a TLS proxy's links copy
/// (its splice counter stays at zero while it sends every byte), while a plain proxy (on
/// another server) carrying the very same TLS bytes in front of it splices all of them.
#[tokio::test]
async fn tls_links_copy_while_a_plain_proxy_in_front_splices() {
    let metrics = ServeConfig {
        proxy_metrics: true,
        ..Default::default()
    };
    let Fixture {
        srv,
        api,
        port,
        ca,
        dir: _dir,
    } = Fixture::generated(metrics.clone(), "tls", &["localhost"], json!({})).await;
    let front = server_with(ServeConfig { port: 0, ..metrics }).await;
    let tls_listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let raw = create_proxy(front.addr(), "raw", tls_listen).await;
    let n = 4_000_000;
    let c = curl(
        &format!("https://localhost:{}/big/{n}", raw.port()),
        &ca,
        &[],
    )
    .await;
    assert_eq!((c.exit, c.status), (0, 200), "{c:?}");
    assert!(
        c.body == pattern(n),
        "body differs ({} bytes)",
        c.body.len()
    );

    // Bounded waits: the last counter updates may trail curl's last read.
    let (sent, spliced) = (
        "toxiproxy_proxy_sent_bytes_total",
        "shakedown_proxy_spliced_bytes_total",
    );
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let settled = |what: &str| {
        assert!(std::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(5))
    };
    while link_metric(api, sent, "tls", "downstream").await < n as u64 {
        settled("the TLS proxy counted the body as sent").await;
    }
    for dir in ["downstream", "upstream"] {
        assert_eq!(link_metric(api, spliced, "tls", dir).await, 0, "{dir}");
        assert!(link_metric(api, sent, "tls", dir).await > 0, "{dir}");
    }
    // The plain proxy splices every byte it sends, both ways (TLS records: more than n).
    for dir in ["downstream", "upstream"] {
        loop {
            let (s, z) = (
                link_metric(front.addr(), sent, "raw", dir).await,
                link_metric(front.addr(), spliced, "raw", dir).await,
            );
            if s > 0 && s == z {
                break;
            }
            settled(&format!("raw {dir}: spliced {z} of {s} sent")).await;
        }
    }
    assert!(link_metric(front.addr(), spliced, "raw", "downstream").await > n as u64);
    front.shutdown().await.expect("shutdown");
    srv.shutdown().await.expect("shutdown");
}
