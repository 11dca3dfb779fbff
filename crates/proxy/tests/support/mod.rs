#![allow(dead_code)]
//! Calls to the proxy's HTTP API and checks of its answers, shared by the API and toxic
//! tests. Built on `common::http`, so a test binary that includes this module also
//! includes `mod common;`.

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::{http, Resp};

pub async fn get(api: SocketAddr, path: &str) -> Resp {
    http(api, "GET", path, None, "").await
}

pub async fn post(api: SocketAddr, path: &str, body: &str) -> Resp {
    http(api, "POST", path, Some(body), "").await
}

/// A POST with no body at all (`Content-Length: 0`).
pub async fn post_empty(api: SocketAddr, path: &str) -> Resp {
    http(api, "POST", path, None, "").await
}

pub async fn patch(api: SocketAddr, path: &str, body: &str) -> Resp {
    http(api, "PATCH", path, Some(body), "").await
}

pub async fn delete(api: SocketAddr, path: &str) -> Resp {
    http(api, "DELETE", path, None, "").await
}

/// POSTs `body` to `/proxies/{proxy}/toxics` and returns the answer unchecked (unlike
/// `common::add_toxic`, which insists on a 200).
pub async fn post_toxic(api: SocketAddr, proxy: &str, body: &str) -> Resp {
    post(api, &format!("/proxies/{proxy}/toxics"), body).await
}

/// PATCHes `body` onto toxic `toxic` of `proxy`, checks the API answers 200 OK, and
/// returns the updated toxic.
pub async fn update_toxic(api: SocketAddr, proxy: &str, toxic: &str, body: &str) -> Value {
    let r = patch(api, &format!("/proxies/{proxy}/toxics/{toxic}"), body).await;
    assert_eq!(r.status, 200, "PATCH toxic {toxic} of {proxy}: {}", r.body);
    r.json()
}

/// DELETEs toxic `toxic` of `proxy` and checks the API answers 204 No Content.
pub async fn remove_toxic(api: SocketAddr, proxy: &str, toxic: &str) {
    let r = delete(api, &format!("/proxies/{proxy}/toxics/{toxic}")).await;
    assert_eq!(r.status, 204, "DELETE toxic {toxic} of {proxy}: {}", r.body);
}

/// PATCHes `enabled` of `proxy` and returns the answer unchecked.
pub async fn set_enabled(api: SocketAddr, proxy: &str, enabled: bool) -> Resp {
    let body = json!({ "enabled": enabled }).to_string();
    patch(api, &format!("/proxies/{proxy}"), &body).await
}

/// Toxiproxy's error body: `{"error": error, "status": status}`.
pub fn error_body(status: u16, error: &str) -> Value {
    json!({"error": error, "status": status})
}

/// Checks the answer's status code and its body, read as JSON.
pub fn assert_answer(r: &Resp, status: u16, body: Value) {
    assert_eq!((r.status, r.json()), (status, body));
}

/// Checks the answer's body is Toxiproxy's error body for `status` and `error` (the body
/// only, as Toxiproxy's clients read it; pair with `assert_answer` to check the code too).
pub fn assert_error_body(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.json(), error_body(status, error));
}

/// Checks the answer's status code and its body, verbatim.
pub fn assert_text_answer(r: &Resp, status: u16, body: &str) {
    assert_eq!((r.status, r.body.as_str()), (status, body));
}

/// The `stats` (proof of injection) of toxic `toxic` of `proxy`.
pub async fn toxic_stats(api: SocketAddr, proxy: &str, toxic: &str) -> Value {
    let r = get(api, &format!("/proxies/{proxy}/toxics/{toxic}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["stats"].clone()
}
