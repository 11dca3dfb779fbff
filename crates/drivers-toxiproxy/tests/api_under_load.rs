//! Adding and removing a toxic (through the `chaostoxi` functions) while ~200
//! connections stream through the proxy must get an answer from the API every time. No
//! time bound is asserted: the API client gives up after 60 s, which fails the test.

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};
use proxy::ServeConfig;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const STREAMS: usize = 200;
const ROUNDS: usize = 10;

/// An upstream that writes as fast as the connection accepts.
async fn source() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind source");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let buf = vec![7u8; 16 * 1024];
                while s.write_all(&buf).await.is_ok() {}
            });
        }
    });
    addr
}

fn obj(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxic_changes_answer_while_connections_stream() {
    let srv = proxy::start(ServeConfig {
        port: 0,
        ..Default::default()
    })
    .await
    .expect("server");
    let mut reg = Registry::new();
    drivers_toxiproxy::register(&mut reg);
    let cfg = obj(json!({"toxiproxy_url": srv.url()}));
    let call = |module: &'static str, func: &'static str, args: Value| {
        let f = reg.function(module, func).expect("registered");
        let cfg = &cfg;
        async move {
            f.driver
                .call(Invocation {
                    arguments: obj(args),
                    configuration: cfg,
                    secrets: Map::new(),
                })
                .await
                .unwrap_or_else(|e| panic!("{func}: {e}"))
        }
    };
    let up = source().await;
    let created = call(
        "chaostoxi.proxy.actions",
        "create_proxy",
        json!({"proxy_name": "busy", "upstream_host": "127.0.0.1",
               "upstream_port": up.port(), "listen_host": "127.0.0.1"}),
    )
    .await;
    assert_eq!(created, json!(true));
    let listen = call(
        "chaostoxi.proxy.probes",
        "get_proxy_attribute",
        json!({"proxy_name": "busy", "attribute": "listen"}),
    )
    .await;
    let addr: SocketAddr = listen
        .as_str()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("listen address {listen}"));

    // Slow readers: most data queues in the proxy and the kernel buffers.
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..STREAMS {
        let mut s = TcpStream::connect(addr).await.expect("connect stream");
        let (stop, received) = (stop.clone(), received.clone());
        readers.push(tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while !stop.load(Ordering::Relaxed) {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.fetch_add(n as u64, Ordering::Relaxed),
                };
                tokio::task::yield_now().await;
            }
        }));
    }

    for round in 0..ROUNDS {
        let name = format!("lat{round}");
        let added = call(
            "chaostoxi.toxic.actions",
            "create_latency_toxic",
            json!({"for_proxy": "busy", "toxic_name": name, "latency": 10}),
        )
        .await;
        assert_eq!(added, json!(true), "round {round}: add");
        let removed = call(
            "chaostoxi.toxic.actions",
            "delete_toxic",
            json!({"for_proxy": "busy", "toxic_name": name}),
        )
        .await;
        assert_eq!(removed, json!(true), "round {round}: remove");
    }
    let toxics = call(
        "chaostoxi.proxy.probes",
        "get_proxy_attribute",
        json!({"proxy_name": "busy", "attribute": "toxics"}),
    )
    .await;
    assert_eq!(toxics, json!([]));
    assert!(received.load(Ordering::Relaxed) > 0, "data streamed");

    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        call(
            "chaostoxi.proxy.actions",
            "delete_proxy",
            json!({"proxy_name": "busy"})
        )
        .await,
        Value::Null
    );
    for r in readers {
        r.await.expect("reader task");
    }
    srv.shutdown().await.expect("shutdown");
}
