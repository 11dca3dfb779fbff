//! chaostoxi `create_proxy`'s Shakedown-only arguments after `configuration`: `tls` (the
//! proxy's `tls` object, for HTTP faults on HTTPS) and `protocol`, against a real
//! `chaos proxy serve`: what they create, and how a bad value fails the activity with the
//! server's message naming the field.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn create_proxy_passes_tls_to_the_server() {
    let env = Env::new().await;
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = upstream.local_addr().expect("addr").port();
    env.assert_returns(
        PA,
        "create_proxy",
        json!({"proxy_name": "web", "upstream_host": "127.0.0.1", "upstream_port": port,
               "listen_host": "127.0.0.1", "tls": {"generate": true, "upstream_tls": false}}),
        json!(true),
    )
    .await;
    let tls = env.attribute("web", "tls").await;
    assert_eq!(tls["generate"], json!(true), "{tls}");
    assert_eq!(tls["upstream_tls"], json!(false), "{tls}");
    assert!(
        tls["ca_cert"]
            .as_str()
            .is_some_and(|c| c.starts_with("-----BEGIN CERTIFICATE-----")),
        "{tls}"
    );

    // Left out, no `tls` is sent: a plain proxy, whose JSON has no `tls` key.
    env.create("plain", upstream.local_addr().expect("addr"))
        .await;
    let msg = env
        .failure(
            PP,
            "get_proxy_attribute",
            json!({"proxy_name": "plain", "attribute": "tls"}),
        )
        .await;
    assert!(msg.starts_with("KeyError: 'tls'"), "{msg}");
}

#[tokio::test]
async fn create_proxy_with_a_bad_tls_object_fails_naming_the_field() {
    let env = Env::new().await;
    let msg = env
        .failure(
            PA,
            "create_proxy",
            json!({"proxy_name": "web", "upstream_host": "127.0.0.1", "upstream_port": 1,
                   "listen_host": "127.0.0.1", "tls": {"generate": "yes"}}),
        )
        .await;
    assert!(msg.starts_with("AssertionError: "), "{msg}");
    assert!(
        msg.contains("tls.generate: expected true or false"),
        "{msg}"
    );
    env.assert_exists("web", false).await;
}

#[tokio::test]
async fn create_proxy_with_an_invalid_protocol_fails_naming_the_choices() {
    let env = Env::new().await;
    let msg = env
        .failure(
            PA,
            "create_proxy",
            json!({"proxy_name": "x", "upstream_host": "127.0.0.1", "upstream_port": 1,
                   "listen_host": "127.0.0.1", "protocol": "sctp"}),
        )
        .await;
    assert!(msg.starts_with("AssertionError: "), "{msg}");
    assert!(msg.contains("invalid protocol \"sctp\""), "{msg}");
    assert!(msg.contains("\"udp\"") && msg.contains("dns"), "{msg}");
    env.assert_exists("x", false).await;
}
