//! `proxy::client` and the toxiproxy-cli–style command functions against our server.

mod common;
use common::*;
use proxy::client::cli::{self, ToxicAddArgs};
use proxy::client::Client;

#[tokio::test]
async fn cli_commands_round_trip() {
    let srv = server().await;
    let c = Client::new(&srv.url()).expect("client");
    let up = echo_server().await;
    assert_eq!(c.version().await.expect("version"), "2.12.0");
    let out = cli::create(&c, "db", "127.0.0.1:0", &up.to_string(), None, None)
        .await
        .expect("create");
    assert_eq!(out, "Created new proxy db\n");
    let listen = c.proxy("db").await.expect("get").listen;

    let add = ToxicAddArgs {
        proxy: "db".into(),
        toxic_type: "latency".into(),
        attributes: vec!["latency=100".into(), "jitter=5".into()],
        upstream: true,
        ..Default::default()
    };
    let out = cli::toxic_add(&c, &add).await.expect("add");
    assert_eq!(
        out,
        "Added upstream latency toxic 'latency_upstream' on proxy 'db'\n"
    );
    let out = cli::toxic_update(
        &c,
        "db",
        "latency_upstream",
        Some("0.5"),
        &["latency=200".into()],
    )
    .await
    .expect("update");
    assert_eq!(out, "Updated toxic 'latency_upstream' on proxy 'db'\n");
    let out = cli::inspect(&c, "db").await.expect("inspect");
    assert_eq!(out, "latency_upstream\ttype=latency\tstream=upstream\ttoxicity=0.50\tattributes=[\tjitter=5\tlatency=200\t]\n");
    let out = cli::list(&c).await.expect("list");
    assert_eq!(out, format!("db\t{listen}\t{up}\tenabled\t1\n"));
    assert_eq!(
        cli::toggle(&c, "db").await.expect("toggle"),
        "Proxy db is now disabled\n"
    );
    assert_eq!(
        cli::toxic_remove(&c, "db", "latency_upstream")
            .await
            .expect("rm"),
        "Removed toxic 'latency_upstream' on proxy 'db'\n"
    );
    let err = cli::toxic_remove(&c, "db", "latency_upstream")
        .await
        .expect_err("gone");
    assert_eq!(err.to_string(), "Failed to remove toxic: toxic not found");
    let bad = ToxicAddArgs {
        upstream: true,
        downstream: true,
        toxic_type: "latency".into(),
        ..Default::default()
    };
    assert!(cli::toxic_add(&c, &bad).await.is_err());
    assert_eq!(
        cli::delete(&c, "db").await.expect("delete"),
        "Deleted proxy db\n"
    );
    let err = cli::inspect(&c, "db").await.expect_err("deleted");
    assert_eq!(
        err.to_string(),
        "Failed to retrieve proxy db: proxy not found"
    );
    srv.shutdown().await.expect("shutdown");
}
