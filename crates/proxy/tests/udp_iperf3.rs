//! A UDP proxy under a real traffic generator: iperf3 (Debian's, installed by
//! `scripts/iperf3-peer` into target/peers/bin) streams UDP through a Shakedown UDP proxy
//! (its TCP control connection through a TCP proxy on the same port), a `loss` toxic is
//! added and removed while the stream runs, and iperf3's own count of lost datagrams
//! must equal the toxic's `datagrams_dropped`: the proxy lost nothing else, and the
//! counter tells the truth. Without the peer the test prints `**** SKIP` and passes,
//! unless `CI` is set or `scripts/iperf3-peer` has run on this machine.

mod common;
mod support;
use common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/peers")
}

/// The iperf3 wrapper, or None (after saying so) when the test may skip.
fn iperf3() -> Option<PathBuf> {
    let bin = peers().join("bin/iperf3");
    if bin.exists() {
        return Some(bin);
    }
    // As every peer (crates/cli/tests/support/reference.rs): required under scripts/test
    // (`SHAKEDOWN_REQUIRE_PEERS`) or CI, and once the install script ran here.
    let must = ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"))
        || peers().join("iperf3.requested").exists();
    assert!(
        !must,
        "{} is missing: run scripts/iperf3-peer",
        bin.display()
    );
    eprintln!(
        "**** SKIP: {} not installed (run scripts/iperf3-peer) ****",
        bin.display()
    );
    None
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The kernel's count of UDP datagrams dropped because a socket's receive buffer was full
/// (`RcvbufErrors` in `/proc/net/snmp`, this network namespace). On a loaded machine the
/// proxy or the iperf3 server can fall behind for long enough that loopback drops some;
/// those are losses iperf3 sees that no toxic caused.
fn udp_rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("/proc/net/snmp");
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        panic!("no Udp lines in /proc/net/snmp");
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .expect("RcvbufErrors")
}

async fn proxy(api: SocketAddr, body: Value) {
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn iperf3_udp_through_the_proxy_loses_exactly_what_the_toxic_dropped() {
    let Some(iperf3) = iperf3() else { return };
    let server_port = free_port();
    let _server = Kill(
        Command::new(&iperf3)
            .args(["-s", "-B", "127.0.0.1", "-p", &server_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start iperf3 server"),
    );
    // Readiness wait (not a timing assertion): the server's control port accepts.
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", server_port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let srv = server().await;
    let api = srv.addr();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let upstream = format!("127.0.0.1:{server_port}");
    proxy(
        api,
        json!({"name": "ctl", "listen": listen, "upstream": upstream}),
    )
    .await;
    proxy(
        api,
        json!({"name": "data", "listen": listen, "upstream": upstream, "protocol": "udp"}),
    )
    .await;

    let kernel_drops_before = udp_rcvbuf_errors();
    let client = Command::new(&iperf3)
        .args([
            "-c",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-u",
            "-b",
            "4M",
            "-l",
            "1000",
            "-t",
            "3",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iperf3 client");
    // While it streams: loss added and raised, a latency toxic added and removed, then
    // the loss turned off (kept, so its counters can be read after the run).
    tokio::time::sleep(Duration::from_millis(700)).await;
    add_toxic(
        api,
        "data",
        r#"{"type":"loss","name":"lossy","stream":"upstream","attributes":{"probability":0.2}}"#,
    )
    .await;
    add_toxic(
        api,
        "data",
        r#"{"type":"latency","name":"lag","stream":"upstream","attributes":{"latency":5,"jitter":3}}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    update_toxic(
        api,
        "data",
        "lossy",
        r#"{"attributes":{"probability":0.4}}"#,
    )
    .await;
    remove_toxic(api, "data", "lag").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    update_toxic(api, "data", "lossy", r#"{"attributes":{"probability":0}}"#).await;
    let out = tokio::task::spawn_blocking(move || client.wait_with_output())
        .await
        .expect("join")
        .expect("iperf3 client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&text).expect("iperf3 JSON");
    let sum = &report["end"]["sum"];
    let lost = sum["lost_packets"].as_u64().expect("lost_packets");
    let packets = sum["packets"].as_u64().expect("packets");
    assert!(packets > 1000, "{sum}");
    let r = get(api, "/proxies/data/toxics/lossy").await;
    let stats = &r.json()["stats"];
    eprintln!("iperf3: {packets} datagrams, {lost} lost; loss toxic: {stats}");
    assert_eq!(stats["connections"], json!(1), "{stats}");
    // Every datagram iperf3 lost was dropped by the toxic, or (on a loaded machine) by a
    // full receive buffer, which the kernel counts; nothing else lost any.
    let kernel_drops = udp_rcvbuf_errors() - kernel_drops_before;
    assert_eq!(
        stats["datagrams_dropped"]
            .as_u64()
            .map(|d| d + kernel_drops),
        Some(lost),
        "iperf3: {sum}\nproxy: {stats}\nkernel receive-buffer drops: {kernel_drops}"
    );
    assert!(lost > 0, "{sum}");
    srv.shutdown().await.expect("shutdown");
}
