//! The `tls` object through the API: bad input refused naming the field, `/populate`
//! keeping or rebuilding a TLS proxy. In a test binary of its own, without curl: a
//! subprocess forked while a proxy is rebuilt holds a copy of its listening socket until
//! it execs, so rebinding the same port would fail now and then (EADDRINUSE) in a process
//! that spawns curl concurrently.

mod common;
mod support;
mod tls_support;

use common::*;
use serde_json::{json, Value};
use support::*;
use tls_support::*;

#[tokio::test]
async fn bad_tls_input_is_refused_naming_the_field() {
    let srv = server().await;
    let api = srv.addr();
    let create = |tls: Value, protocol: &str| {
        json!({"name": "bad", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9", "protocol": protocol, "tls": tls})
            .to_string()
    };
    let refused = |body: String| async move {
        let r = post(api, "/proxies", &body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        r.json()["error"].as_str().unwrap_or_default().to_string()
    };
    let garbage =
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
    let mine = mint(&["localhost"]);
    let e = refused(create(json!({"cert": garbage, "key": mine.key_pem}), "tcp")).await;
    assert!(
        e.starts_with("tls.cert: certificate 1 of 1 is not valid X.509"),
        "{e}"
    );
    let e = refused(create(
        json!({"cert": "not pem at all", "key": mine.key_pem}),
        "tcp",
    ))
    .await;
    assert!(
        e.starts_with("tls.cert: cannot read file \"not pem at all\""),
        "{e}"
    );
    let e = refused(create(json!({"cert": mine.cert_pem, "key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}), "tcp")).await;
    assert!(e.starts_with("tls.key: "), "{e}");
    let other = mint(&["localhost"]);
    let e = refused(create(
        json!({"cert": mine.cert_pem, "key": other.key_pem}),
        "tcp",
    ))
    .await;
    assert!(e.starts_with("tls.key: does not fit tls.cert"), "{e}");
    let e = refused(create(
        json!({"generate": true, "upstream_ca": garbage}),
        "tcp",
    ))
    .await;
    assert!(e.starts_with("tls.upstream_ca: "), "{e}");
    let e = refused(create(
        json!({"generate": true, "verify_upsteam": false}),
        "tcp",
    ))
    .await;
    assert!(e.contains("unknown key \"verify_upsteam\""), "{e}");
    let e = refused(create(json!({"generate": true}), "udp")).await;
    assert!(e.starts_with("tls applies to tcp proxies only"), "{e}");
    let e = refused(create(json!(true), "tcp")).await;
    assert!(e.contains("expected an object"), "{e}");
    // Nothing was created; populate reports the same error and stops there.
    assert_eq!(get(api, "/proxies").await.json(), json!({}));
    let body = json!([{"name": "p1", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"},
                      {"name": "p2", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9", "tls": {"cert": garbage}}]);
    let r = post(api, "/populate", &body.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.json()["error"],
        json!("tls.key: missing: the private key of tls.cert (PEM text or a file path)")
    );
    // Entries are read before any is applied, so nothing was created.
    assert_eq!(r.json()["proxies"], Value::Null);
    assert_eq!(get(api, "/proxies").await.json(), json!({}));
    srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn populate_keeps_an_unchanged_tls_proxy_and_rebuilds_a_changed_one() {
    let srv = server().await;
    let api = srv.addr();
    // A fixed port: populate compares listen addresses, and port 0 never matches.
    let listen = format!("127.0.0.1:{}", port_below_ephemeral_range());
    let body = |tls: Value| {
        json!([{"name": "p", "listen": listen, "upstream": "127.0.0.1:9", "tls": tls}]).to_string()
    };
    let r = post(api, "/populate", &body(json!({"generate": true}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let ca1 = get(api, "/proxies/p/ca.pem").await.body;
    let r = post(api, "/populate", &body(json!({"generate": true}))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        get(api, "/proxies/p/ca.pem").await.body,
        ca1,
        "same spec: same proxy, same CA"
    );
    let r = post(
        api,
        "/populate",
        &body(json!({"generate": true, "verify_upstream": false})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(
        get(api, "/proxies/p/ca.pem").await.body,
        ca1,
        "changed spec: a new proxy"
    );
    // A toggle through the Toxiproxy API keeps TLS (Toxiproxy clients never send it).
    assert_eq!(set_enabled(api, "p", false).await.status, 200);
    let r = set_enabled(api, "p", true).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["tls"]["verify_upstream"], json!(false));
    srv.shutdown().await.expect("shutdown");
}
