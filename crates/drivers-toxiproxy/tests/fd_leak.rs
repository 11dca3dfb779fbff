//! Opening and closing a few thousand connections through a proxy (created with
//! `chaostoxi.proxy.actions.create_proxy`) must give every file descriptor back. The
//! proxy, its API and the upstream all run in this process, so `/proc/self/fd` sees
//! every socket. Alone in its own test binary so no other test moves the count.

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};
use proxy::ServeConfig;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 3000;
const BATCH: usize = 50;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("cannot list /proc/self/fd: {e}"))
}

async fn echo() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn round_trip(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr)
        .await
        .expect("connect through proxy");
    s.write_all(b"hello").await.expect("write");
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await.expect("echo back");
    assert_eq!(&buf, b"hello");
}

async fn batch(addr: SocketAddr, n: usize) {
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(round_trip(addr))).collect();
    for t in tasks {
        t.await.expect("connection task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_connections_leave_no_descriptor_behind() {
    let srv = proxy::start(ServeConfig {
        port: 0,
        ..Default::default()
    })
    .await
    .expect("server");
    let mut reg = Registry::new();
    drivers_toxiproxy::register(&mut reg);
    let cfg: Map = match json!({"toxiproxy_host": "127.0.0.1", "toxiproxy_port": srv.addr().port()})
    {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let up = echo().await;
    let f = reg
        .function("chaostoxi.proxy.actions", "create_proxy")
        .expect("create_proxy");
    let args = json!({"proxy_name": "leak", "upstream_host": "127.0.0.1",
                      "upstream_port": up.port(), "listen_host": "127.0.0.1"});
    let Value::Object(arguments) = args else {
        unreachable!()
    };
    let out = f
        .driver
        .call(Invocation {
            arguments,
            configuration: &cfg,
            secrets: Map::new(),
        })
        .await
        .expect("create_proxy");
    assert_eq!(out, json!(true));
    let port: u16 = std::env::var("leak_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .expect("create_proxy exports leak_PORT");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();

    // Warm up (runtime workers, lazily created resources), then take the baseline.
    batch(addr, BATCH).await;
    let settle = |target: usize| async move {
        // Connections close asynchronously on the proxy side; wait for them, bounded.
        let mut now = open_fds();
        for _ in 0..400 {
            if now <= target {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
            now = open_fds();
        }
        now
    };
    let mut baseline = open_fds();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = open_fds();
        if now == baseline {
            break;
        }
        baseline = now;
    }

    for _ in 0..CONNECTIONS / BATCH {
        batch(addr, BATCH).await;
    }
    let after = settle(baseline).await;
    assert!(
        after <= baseline,
        "{CONNECTIONS} connections through the proxy left {} descriptors open \
         (baseline {baseline}, now {after})",
        after - baseline
    );
    srv.shutdown().await.expect("shutdown");
}
