//! The server guarding itself, end to end on loopback: proxy loops refused, a slowloris
//! API client cut off without blocking others, and foreign Host/Origin headers refused
//! (the descriptor budget is in `guard_fds.rs`, alone in its process). No timing is
//! asserted beyond generous bounds.

mod common;
mod support;
use common::*;
use support::*;

use std::net::SocketAddr;
use std::time::Duration;

use proxy::ServeConfig;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn loop_error(detail: &str) -> serde_json::Value {
    error_body(400, &format!("proxy loop: {detail}"))
}

/// A GET with the given Host and extra header lines.
async fn get_as(api: SocketAddr, path: &str, host: &str, extra: &str) -> Resp {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: test\r\n{extra}Connection: close\r\n\r\n"
    );
    raw_http(api, &req).await
}

#[tokio::test]
async fn a_self_loop_is_refused_at_create_and_update() {
    let srv = server().await;
    let api = srv.addr();
    let port = free_port();
    let own = format!("127.0.0.1:{port}");

    let body = json!({"name": "self", "listen": own, "upstream": own}).to_string();
    let r = post(api, "/proxies", &body).await;
    let detail = format!("upstream {own} is the listen address of proxy self itself");
    assert_answer(&r, 400, loop_error(&detail));
    // Through a name too: localhost resolves to the listen address.
    let body = json!({"name": "self", "listen": own, "upstream": format!("localhost:{port}")});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_answer(&get(api, "/proxies").await, 200, json!({}));

    // Update: upstream pointed at its own listen address; the proxy keeps working.
    let up = echo_server().await;
    let listen = create_proxy(api, "p", up).await;
    let body = json!({ "upstream": listen.to_string() }).to_string();
    let r = patch(api, "/proxies/p", &body).await;
    let detail = format!("upstream {listen} is the listen address of proxy p itself");
    assert_answer(&r, 400, loop_error(&detail));
    let shown = get(api, "/proxies/p").await.json();
    assert_eq!(
        (shown["upstream"].clone(), shown["enabled"].clone()),
        (json!(up.to_string()), json!(true))
    );
    let mut c = TcpStream::connect(listen).await.expect("connect");
    assert!(echoes(&mut c).await);

    // Update: listen moved onto its own upstream.
    let port = free_port();
    let body =
        json!({"name": "q", "listen": "127.0.0.1:0", "upstream": format!("127.0.0.1:{port}")});
    assert_eq!(post(api, "/proxies", &body.to_string()).await.status, 201);
    let body = json!({ "listen": format!("127.0.0.1:{port}") }).to_string();
    let r = patch(api, "/proxies/q", &body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("proxy loop: ")),
        "{}",
        r.body
    );
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_loop_through_another_proxy_is_refused() {
    let srv = server().await;
    let api = srv.addr();
    let up = echo_server().await;
    let a = create_proxy(api, "a", up).await;

    // b dialling a, at create and at update.
    let body = json!({"name": "b", "listen": "127.0.0.1:0", "upstream": a.to_string()});
    let r = post(api, "/proxies", &body.to_string()).await;
    let detail = format!("upstream {a} is the listen address of proxy a on this server");
    assert_answer(&r, 400, loop_error(&detail));
    create_proxy(api, "b", up).await;
    let r = patch(
        api,
        "/proxies/b",
        &json!({"upstream": a.to_string()}).to_string(),
    )
    .await;
    assert_answer(&r, 400, loop_error(&detail));

    // c listening where a running proxy dials.
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    let body = json!({"name": "d", "listen": "127.0.0.1:0", "upstream": target});
    assert_eq!(post(api, "/proxies", &body.to_string()).await.status, 201);
    let body = json!({"name": "c", "listen": target, "upstream": up.to_string()});
    let r = post(api, "/proxies", &body.to_string()).await;
    let detail = format!("listen address {target} is the upstream of proxy d on this server");
    assert_answer(&r, 400, loop_error(&detail));

    // Populate stops at the loop and reports it in its own shape.
    let body = json!([{"name": "e", "listen": "127.0.0.1:0", "upstream": a.to_string()}]);
    let r = post(api, "/populate", &body.to_string()).await;
    let detail = format!("upstream {a} is the listen address of proxy a on this server");
    let expected =
        json!({"error": format!("proxy loop: {detail}"), "status": 400, "proxies": null});
    assert_answer(&r, 400, expected);

    // A disabled proxy holds no address, but enabling it again is checked.
    assert_eq!(set_enabled(api, "a", false).await.status, 200);
    let r = patch(
        api,
        "/proxies/b",
        &json!({"upstream": a.to_string()}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = set_enabled(api, "a", true).await;
    let detail = format!("listen address {a} is the upstream of proxy b on this server");
    assert_answer(&r, 400, loop_error(&detail));
    srv.shutdown().await.expect("shutdown");
}

/// Clients dripping their headers are cut off at the header-read timeout; meanwhile the
/// API answers everyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_is_timed_out_without_blocking_the_api() {
    let srv = server_with(ServeConfig {
        port: 0,
        header_read_timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(api).await.expect("connect");
        s.write_all(b"GET /proxies HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            .await
            .expect("write");
        slow.push(s);
    }
    for _ in 0..5 {
        let r = get(api, "/version").await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for mut s in slow {
        let (out, err) = read_all(&mut s, Duration::from_secs(60)).await;
        assert_ne!(err, Some(std::io::ErrorKind::TimedOut), "never closed");
        assert!(!String::from_utf8_lossy(&out).contains("200 OK"));
    }
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn foreign_host_and_origin_are_refused_on_loopback() {
    let srv = server().await;
    let api = srv.addr();
    let port = api.port();

    for host in [
        "localhost".to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        let r = get_as(api, "/version", &host, "").await;
        assert_eq!(r.status, 200, "Host {host}: {}", r.body);
    }
    let origin = |o: &str| format!("Origin: {o}\r\n");
    let r = get_as(
        api,
        "/proxies",
        "localhost",
        &origin("http://localhost:3000"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = get_as(api, "/proxies", &format!("evil.example:{port}"), "").await;
    let msg = format!(
        "Host not allowed: \"evil.example:{port}\" (the API listens on loopback; \
         allow more hosts with --allow-host)"
    );
    assert_answer(&r, 403, error_body(403, &msg));
    assert!(
        r.headers.contains("x-toxiproxy-request-id"),
        "{}",
        r.headers
    );
    let r = get_as(api, "/proxies", "localhost", &origin("http://evil.example")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.json()["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("Origin not allowed: \"http://evil.example\"")));
    // A refused request changes nothing.
    let body = r#"{"name":"x","upstream":"127.0.0.1:1"}"#;
    let req = format!(
        "POST /proxies HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: null\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(raw_http(api, &req).await.status, 403);
    assert_answer(&get(api, "/proxies").await, 200, json!({}));
    srv.shutdown().await.expect("shutdown");

    let srv = server_with(ServeConfig {
        port: 0,
        allowed_hosts: vec!["toxiproxy.internal".into()],
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let r = get_as(
        api,
        "/version",
        "toxiproxy.internal:8474",
        "Origin: http://toxiproxy.internal\r\n",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        get_as(api, "/version", "other.internal", "").await.status,
        403
    );
    srv.shutdown().await.expect("shutdown");
}
