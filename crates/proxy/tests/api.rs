//! API status codes and bodies, checked against Toxiproxy 2.12's documented behaviour.

mod common;
mod support;
use common::*;
use serde_json::json;
use support::*;

#[tokio::test]
async fn proxy_endpoints() {
    let srv = server().await;
    let api = srv.addr();
    let up = echo_server().await;

    assert_answer(&get(api, "/proxies").await, 200, json!({}));

    let listen = create_proxy(api, "redis", up).await;
    assert_eq!(listen.ip().to_string(), "127.0.0.1");
    let body = format!(r#"{{"name":"redis","listen":"127.0.0.1:0","upstream":"{up}"}}"#);
    let r = post(api, "/proxies", &body).await;
    assert_answer(&r, 409, error_body(409, "proxy already exists"));

    let r = post(api, "/proxies", r#"{"upstream":"x:1"}"#).await;
    assert_error_body(&r, 400, "missing required field: name");
    let r = post(api, "/proxies", r#"{"name":"a"}"#).await;
    assert_error_body(&r, 400, "missing required field: upstream");
    let r = post(api, "/proxies", "{nope").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]
        .as_str()
        .unwrap_or("")
        .starts_with("bad request body: "));
    let r = post_empty(api, "/proxies").await;
    assert_error_body(&r, 400, "bad request body: EOF");
    let r = post(api, "/proxies", r#"{"name":5,"upstream":"x:1"}"#).await;
    assert_eq!(r.status, 400);

    let r = get(api, "/proxies/redis").await;
    let expected = json!({"name":"redis","listen":listen.to_string(),"upstream":up.to_string(),"enabled":true,"toxics":[]});
    assert_answer(&r, 200, expected);
    // Key order is part of the wire format.
    assert!(
        r.body.starts_with(r#"{"name":"redis","listen":"#),
        "{}",
        r.body
    );

    let r = get(api, "/proxies/nope").await;
    assert_answer(&r, 404, error_body(404, "proxy not found"));

    let r = set_enabled(api, "redis", false).await;
    assert_eq!((r.status, r.json()["enabled"].clone()), (200, json!(false)));
    assert_eq!(r.json()["listen"], json!(listen.to_string()));
    let r = post(api, "/proxies/redis", r#"{"enabled":true}"#).await;
    assert_eq!((r.status, r.json()["enabled"].clone()), (200, json!(true)));

    assert_text_answer(&delete(api, "/proxies/redis").await, 204, "");
    assert_eq!(delete(api, "/proxies/redis").await.status, 404);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn toxic_endpoints() {
    let srv = server().await;
    let api = srv.addr();
    let up = echo_server().await;
    create_proxy(api, "p", up).await;

    let t = add_toxic(
        api,
        "p",
        r#"{"type":"latency","attributes":{"latency":100}}"#,
    )
    .await;
    assert_eq!(
        t,
        json!({"attributes":{"latency":100,"jitter":0},"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1,
               "stats":{"connections":0,"bytes_in":0,"bytes_out":0,"bytes_delayed":0,"bytes_dropped":0,"delay_injected_ms":0}})
    );
    let r = post_toxic(api, "p", r#"{"type":"latency"}"#).await;
    assert_error_body(&r, 409, "toxic already exists");
    let r = post_toxic(api, "p", r#"{"type":"latency","stream":"sideways"}"#).await;
    assert_error_body(
        &r,
        400,
        "stream was invalid, can be either upstream or downstream",
    );
    let r = post_toxic(api, "p", r#"{"type":"nope"}"#).await;
    assert_error_body(&r, 400, "invalid toxic type");
    let r = post_toxic(api, "p", r#"{"name":"x"}"#).await;
    assert_error_body(&r, 400, "invalid toxic type");
    let r = post_toxic(
        api,
        "p",
        r#"{"type":"latency","name":"b","attributes":{"latency":"slow"}}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post_toxic(api, "x", r#"{"type":"latency"}"#).await;
    assert_eq!(r.status, 404);

    let t = add_toxic(
        api,
        "p",
        r#"{"type":"bandwidth","stream":"UpStream","toxicity":0.5,"attributes":{"rate":10}}"#,
    )
    .await;
    assert_eq!(t["name"], json!("bandwidth_UpStream"));
    assert_eq!(t["stream"], json!("UpStream"));
    assert_eq!(t["toxicity"], json!(0.5));

    // Upstream chain first.
    let r = get(api, "/proxies/p/toxics").await;
    let names: Vec<_> = r
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("bandwidth_UpStream"), json!("latency_downstream")]
    );

    // PATCH merges attributes and keeps toxicity.
    let t = update_toxic(
        api,
        "p",
        "latency_downstream",
        r#"{"attributes":{"jitter":5}}"#,
    )
    .await;
    assert_eq!(t["attributes"], json!({"latency":100,"jitter":5}));
    let r = post(
        api,
        "/proxies/p/toxics/latency_downstream",
        r#"{"toxicity":0.25,"type":"timeout"}"#,
    )
    .await;
    assert_eq!(
        (r.json()["toxicity"].clone(), r.json()["type"].clone()),
        (json!(0.25), json!("latency"))
    );
    let r = patch(api, "/proxies/p/toxics/none", "{}").await;
    assert_error_body(&r, 404, "toxic not found");

    let toxic = "/proxies/p/toxics/latency_downstream";
    assert_eq!(get(api, toxic).await.status, 200);
    assert_eq!(delete(api, toxic).await.status, 204);
    assert_eq!(get(api, toxic).await.status, 404);

    assert_eq!(post_empty(api, "/reset").await.status, 204);
    assert_eq!(get(api, "/proxies/p").await.json()["toxics"], json!([]));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn populate_version_security() {
    let srv = server().await;
    let api = srv.addr();
    let up = echo_server().await;

    let body = format!(
        r#"[{{"name":"a","listen":"127.0.0.1:0","upstream":"{up}"}},{{"name":"b","listen":"127.0.0.1:0","upstream":"{up}","enabled":false}}]"#
    );
    let r = post(api, "/populate", &body).await;
    assert_eq!(r.status, 201);
    let proxies = r.json()["proxies"].as_array().cloned().unwrap_or_default();
    assert_eq!(proxies.len(), 2);
    assert_eq!(proxies[1]["enabled"], json!(false));

    let r = post(api, "/populate", r#"[{"upstream":"x:1"},{"name":"c"}]"#).await;
    assert_answer(
        &r,
        400,
        json!({"error":"missing required field: name at proxy 1","status":400,"proxies":null}),
    );
    let r = post(api, "/populate", "[]").await;
    assert_answer(&r, 201, json!({"proxies":null}));

    let r = get(api, "/version").await;
    assert_text_answer(&r, 200, "{\"version\": \"2.12.0\"}\n");

    let r = http(
        api,
        "GET",
        "/proxies",
        None,
        "User-Agent: Mozilla/5.0 (X11)\r\n",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r
        .headers
        .to_ascii_lowercase()
        .contains("x-toxiproxy-request-id"));

    assert_text_answer(&get(api, "/nothing").await, 404, "404 page not found\n");
    assert_eq!(get(api, "/metrics").await.status, 404);
    assert_eq!(http(api, "PUT", "/proxies", None, "").await.status, 405);

    // Announce a 2 MiB body without sending it: the API must refuse it from the header
    // alone (sending it would race the server's early close and break the pipe).
    let status = oversized_post_status(api, "/proxies", 2 * 1024 * 1024).await;
    assert_eq!(status, 413);
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn metrics_when_enabled() {
    let srv = server_with(proxy::ServeConfig {
        port: 0,
        proxy_metrics: true,
        runtime_metrics: true,
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let up = echo_server().await;
    let listen = create_proxy(api, "m", up).await;
    let mut c = tokio::net::TcpStream::connect(listen)
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut c, b"hello")
        .await
        .expect("write");
    let mut buf = [0u8; 5];
    tokio::io::AsyncReadExt::read_exact(&mut c, &mut buf)
        .await
        .expect("echo");
    let r = get(api, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("# TYPE toxiproxy_proxy_received_bytes_total counter"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("toxiproxy_proxy_received_bytes_total{{direction=\"upstream\",listener=\"{listen}\",proxy=\"m\",upstream=\"{up}\"}} 5")), "{}", r.body);
    assert!(r.body.contains("process_resident_memory_bytes"));
    srv.shutdown().await.expect("shutdown");
}

/// POSTs headers announcing `length` bytes, sends none of them, and returns the status.
async fn oversized_post_status(api: std::net::SocketAddr, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api)
        .await
        .expect("connect api");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {api}\r\nUser-Agent: test\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes())
        .await
        .expect("write the request head");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.expect("read the status line");
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
