//! The wire: HTTP/1.1 keep-alive (one connection per worker, reused), HTTP/1.1 without it
//! (one connection per request), HTTP/2 over cleartext with prior knowledge (one
//! connection per thread, requests as streams), methods, headers and bodies, against a
//! real hyper server on 127.0.0.1 that counts connections and requests.

mod support;

use providers::registry::Invocation;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use support::serve;

async fn run_load(arguments: Value) -> Value {
    let spec = drivers_load::actions::SPECS
        .iter()
        .find(|s| s.name == "run_load")
        .unwrap();
    let function = spec.function(drivers_load::actions::MODULE);
    let configuration = Map::new();
    let Value::Object(arguments) = arguments else {
        panic!("arguments")
    };
    function
        .driver
        .call(Invocation {
            arguments,
            configuration: &configuration,
            secrets: Map::new(),
        })
        .await
        .unwrap_or_else(|e| panic!("run_load failed: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_reuses_one_connection_per_worker() {
    let (port, seen) = serve(false).await;
    let results = run_load(json!({
        "url": format!("http://127.0.0.1:{port}/ka"), "duration": 0.5, "concurrency": 4, "threads": 2,
        "method": "POST", "headers": {"X-Load": "yes"}, "body": "ping"})).await;
    let requests = results["requests"].as_u64().unwrap();
    assert!(requests > 8, "{results}");
    assert_eq!(requests, seen.requests.load(Ordering::SeqCst));
    assert_eq!(results["status"]["200"].as_u64(), Some(requests));
    assert_eq!(results["bytes_received"].as_u64(), Some(requests * 5));
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        4,
        "one connection per worker"
    );
    assert_eq!(
        seen.first.lock().unwrap().as_deref(),
        Some("POST /ka yes ping")
    );
    assert_eq!(
        (
            results["threads"].as_u64(),
            results["http_version"].as_str()
        ),
        (Some(2), Some("1.1"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keep_alive_every_request_has_its_connection() {
    let (port, seen) = serve(false).await;
    let results = run_load(json!({
        "url": format!("http://127.0.0.1:{port}/close"), "duration": 0.3, "concurrency": 2, "keep_alive": false})).await;
    let requests = results["requests"].as_u64().unwrap();
    assert!(requests > 2, "{results}");
    assert_eq!(requests, seen.requests.load(Ordering::SeqCst));
    assert_eq!(seen.connections.load(Ordering::SeqCst), requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_sends_streams_over_one_connection_per_thread() {
    let (port, seen) = serve(true).await;
    let results = run_load(json!({
        "url": format!("http://127.0.0.1:{port}/h2"), "duration": 0.5, "concurrency": 8, "threads": 2,
        "http_version": "2", "body": {"k": 1}, "method": "PUT", "headers": {"x-load": "h2"}})).await;
    let requests = results["requests"].as_u64().unwrap();
    assert!(requests > 8, "{results}");
    assert_eq!(requests, seen.requests.load(Ordering::SeqCst));
    assert_eq!(
        results["status"]["200"].as_u64(),
        Some(requests),
        "{results}"
    );
    assert_eq!(results["http_version"], "2");
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        2,
        "one connection per thread"
    );
    assert_eq!(
        seen.first.lock().unwrap().as_deref(),
        Some(r#"PUT /h2 h2 {"k":1}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_model_keeps_its_schedule() {
    let (port, seen) = serve(false).await;
    // 200 requests per second for half a second: the 100 of the schedule, no more.
    let results = run_load(json!({
        "url": format!("http://127.0.0.1:{port}/open"), "duration": 0.5, "rate": 200, "concurrency": 5})).await;
    assert_eq!(results["requests"], 100, "{results}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 100);
    assert_eq!(
        (results["model"].as_str(), results["rate"].as_f64()),
        (Some("open"), Some(200.0))
    );
}
