//! A flooded proxy cannot starve the others, and descriptors come back: alone in its test
//! binary, so `/proc/self/fd` counts only this test's sockets (server, upstream, clients).

mod common;
mod support;
use common::*;
use support::*;

use std::time::Duration;

use proxy::ServeConfig;
use serde_json::json;
use tokio::net::TcpStream;

/// One proxy flooded past its cap: its extra clients are reset, another proxy and the API
/// keep answering, and once the flood ends descriptors return to where they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooded_proxy_cannot_starve_the_others() {
    const CAP: usize = 20;
    let srv = server_with(ServeConfig {
        port: 0,
        max_connections: Some(CAP),
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let up = echo_server().await;
    let flooded = create_proxy(api, "flooded", up).await;
    let calm = create_proxy(api, "calm", up).await;
    // Warm every path once so lazily opened descriptors are in the baseline.
    let mut warm = TcpStream::connect(calm).await.expect("connect");
    assert!(echoes(&mut warm).await);
    drop(warm);
    assert_eq!(get(api, "/proxies").await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let baseline = open_fds();

    for _ in 0..3 {
        // Loop attempts are refused and hold nothing.
        let body = json!({"upstream": flooded.to_string()}).to_string();
        assert_eq!(patch(api, "/proxies/calm", &body).await.status, 400);
    }
    // A client reset before its connect returns sees the reset there.
    let mut clients = Vec::new();
    for _ in 0..CAP * 4 {
        clients.push(TcpStream::connect(flooded).await.ok());
    }
    let mut served = 0;
    for c in clients.iter_mut().flatten() {
        if echoes(c).await {
            served += 1;
        }
    }
    assert_eq!(served, CAP, "clients served by the flooded proxy");
    let mut other = TcpStream::connect(calm).await.expect("connect calm");
    assert!(echoes(&mut other).await, "another proxy is still usable");
    assert_eq!(get(api, "/proxies").await.status, 200, "the API answers");
    drop(other);
    drop(clients);

    assert_fds_back_to(baseline).await;
    srv.shutdown().await.expect("shutdown");
}
