//! DNS proxies end to end on loopback: `proxy::start`, a DNS proxy created through the
//! API in front of a real authoritative test server (`common::dns`, UDP and TCP), and
//! raw DNS clients. Each test checks the answers the client gets, what reached the
//! upstream, and the toxics' and the proxy's counters.

mod common;
mod support;
use common::dns::{head, query, rdatas, upstream, TYPE_A, TYPE_AAAA, TYPE_TXT};
use common::*;
use proxy::ServeConfig;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A bound on every wait, so a broken proxy fails the test instead of hanging it (never
/// reached when things work; nothing asserts on how long anything took).
const WAIT: Duration = Duration::from_secs(30);

async fn dns_proxy(api: SocketAddr, name: &str, upstream: SocketAddr) -> SocketAddr {
    let body = json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string(), "protocol": "dns"});
    let r = post(api, "/proxies", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["protocol"], "dns");
    r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen")
}

async fn client() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind client")
}

/// Sends one query over UDP and waits for the answer.
async fn ask(proxy: SocketAddr, id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let c = client().await;
    c.send_to(&query(id, name, qtype), proxy)
        .await
        .expect("send");
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(WAIT, c.recv_from(&mut buf))
        .await
        .expect("an answer")
        .expect("recv");
    buf.truncate(n);
    buf
}

/// Whether an answer comes within `wait` (for drops: a positive answer fails the test
/// at once; the bound only limits how long "nothing" is watched).
async fn silent(c: &UdpSocket, wait: Duration) -> bool {
    let mut buf = vec![0u8; 65_536];
    tokio::time::timeout(wait, c.recv_from(&mut buf))
        .await
        .is_err()
}

async fn tcp_ask(s: &mut TcpStream, packet: &[u8]) -> Vec<u8> {
    let mut out = (packet.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(packet);
    s.write_all(&out).await.expect("write");
    tcp_read(s).await
}

async fn tcp_read(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    tokio::time::timeout(WAIT, s.read_exact(&mut len))
        .await
        .expect("an answer")
        .expect("read length");
    let mut a = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut a).await.expect("read answer");
    a
}

async fn dns_stats(api: SocketAddr, proxy: &str) -> Value {
    let r = get(api, &format!("/proxies/{proxy}")).await;
    r.json()["dns_stats"].clone()
}

#[tokio::test]
async fn queries_are_forwarded_and_answers_relayed_by_id() {
    let srv = server().await;
    let up = upstream().await;
    let p = dns_proxy(srv.addr(), "dns", up.addr).await;
    // Two clients, 40 queries each in flight at once, ids chosen to collide between them.
    let mut tasks = Vec::new();
    for k in 0..2u16 {
        tasks.push(tokio::spawn(async move {
            let c = client().await;
            for i in 0..40u16 {
                let (name, qtype) = if i % 2 == 0 {
                    ("web.svc.test", TYPE_A)
                } else {
                    ("Web.Svc.Test", TYPE_AAAA)
                };
                c.send_to(&query(1000 + i, name, qtype), p)
                    .await
                    .expect("send");
            }
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65_536];
            for _ in 0..40 {
                let (n, _) = tokio::time::timeout(WAIT, c.recv_from(&mut buf))
                    .await
                    .expect("answer")
                    .expect("recv");
                got.push(buf[..n].to_vec());
            }
            (k, got)
        }));
    }
    for t in tasks {
        let (_, got) = t.await.expect("client");
        let mut ids: Vec<u16> = got.iter().map(|a| head(a).id).collect();
        ids.sort();
        assert_eq!(ids, (1000..1040).collect::<Vec<_>>());
        for a in &got {
            let h = head(a);
            let want = if h.id % 2 == 0 {
                vec![192, 0, 2, 10]
            } else {
                "2001:db8::10"
                    .parse::<std::net::Ipv6Addr>()
                    .expect("v6")
                    .octets()
                    .to_vec()
            };
            assert_eq!((h.rcode, rdatas(a)), (0, vec![want]), "id {}", h.id);
        }
    }
    assert_eq!(up.seen.count("web.svc.test"), 80);
    let s = dns_stats(srv.addr(), "dns").await;
    assert_eq!(
        s,
        json!({"queries": 80, "forwarded": 80, "relayed": 80, "answered": 0,
               "malformed": 0, "upstream_failures": 0, "overflow": 0})
    );
}

#[tokio::test]
async fn faults_by_name_pattern_with_precedence_and_counters() {
    let srv = server_with(ServeConfig {
        port: 0,
        proxy_metrics: true,
        ..Default::default()
    })
    .await;
    let api = srv.addr();
    let up = upstream().await;
    let p = dns_proxy(api, "dns", up.addr).await;
    add_toxic(
        api,
        "dns",
        r#"{"name":"zone","type":"dns_nxdomain","attributes":{"names":"*.svc.test"}}"#,
    )
    .await;
    add_toxic(api, "dns", r#"{"name":"api","type":"dns_address","attributes":{"names":"API.svc.test.","addresses":"10.0.0.7,fd00::7","ttl":5}}"#).await;
    add_toxic(api, "dns", r#"{"name":"broken","type":"dns_servfail","attributes":{"names":"broken.example, *.broken.example"}}"#).await;
    add_toxic(
        api,
        "dns",
        r#"{"name":"lost","type":"dns_drop","attributes":{"names":"lost.example"}}"#,
    )
    .await;

    // The exact name beats the zone's wildcard, for A and AAAA.
    let a = ask(p, 1, "api.svc.test", TYPE_A).await;
    assert_eq!((head(&a).rcode, rdatas(&a)), (0, vec![vec![10, 0, 0, 7]]));
    let a = ask(p, 2, "api.svc.test", TYPE_AAAA).await;
    let v6: std::net::Ipv6Addr = "fd00::7".parse().expect("v6");
    assert_eq!(rdatas(&a), vec![v6.octets().to_vec()]);
    // Its TXT is not dns_address's to answer: the wildcard's NXDOMAIN.
    assert_eq!(head(&ask(p, 3, "api.svc.test", TYPE_TXT).await).rcode, 3);
    assert_eq!(head(&ask(p, 4, "web.svc.test", TYPE_A).await).rcode, 3);
    assert_eq!(
        head(&ask(p, 5, "a.b.broken.example", TYPE_A).await).rcode,
        2
    );
    assert_eq!(head(&ask(p, 6, "broken.example", TYPE_A).await).rcode, 2);
    let c = client().await;
    c.send_to(&query(7, "lost.example", TYPE_A), p)
        .await
        .expect("send");
    // svc.test itself is not under *.svc.test: forwarded, and the upstream says NXDOMAIN
    // (it knows no such name) — the upstream's answer, as it saw the query.
    assert_eq!(head(&ask(p, 8, "svc.test", TYPE_A).await).rcode, 3);
    assert!(
        silent(&c, Duration::from_millis(300)).await,
        "a dropped query was answered"
    );
    // No faulted query reached the upstream; the passed one did.
    let names: Vec<String> = up.seen.all().into_iter().map(|s| s.0).collect();
    assert_eq!(names, vec!["svc.test".to_string()]);

    let stats = |name: &str| {
        let name = name.to_string();
        async move { toxic_stats(api, "dns", &name).await }
    };
    assert_eq!(
        stats("zone").await,
        json!({"queries_seen": 8, "queries_matched": 4, "queries_faulted": 2})
    );
    assert_eq!(
        stats("api").await,
        json!({"queries_seen": 8, "queries_matched": 2, "queries_faulted": 2})
    );
    assert_eq!(
        stats("broken").await,
        json!({"queries_seen": 8, "queries_matched": 2, "queries_faulted": 2})
    );
    assert_eq!(
        stats("lost").await,
        json!({"queries_seen": 8, "queries_matched": 1, "queries_faulted": 1})
    );
    let s = dns_stats(api, "dns").await;
    assert_eq!(
        (
            s["queries"].as_u64(),
            s["answered"].as_u64(),
            s["forwarded"].as_u64()
        ),
        (Some(8), Some(6), Some(1))
    );
    let m = get(api, "/metrics").await.body;
    for line in [
        r#"shakedown_toxic_queries_faulted_total{direction="downstream",proxy="dns",toxic="zone",type="dns_nxdomain"} 2"#,
        r#"shakedown_toxic_queries_matched_total{direction="downstream",proxy="dns",toxic="lost",type="dns_drop"} 1"#,
        r#"shakedown_dns_queries_total{proxy="dns"} 8"#,
        r#"shakedown_dns_answered_total{proxy="dns"} 6"#,
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line} in\n{m}");
    }
    // Attributes are echoed as given; an update keeps the counters.
    let t = update_toxic(
        api,
        "dns",
        "zone",
        r#"{"attributes":{"names":"other.test"}}"#,
    )
    .await;
    assert_eq!(t["attributes"], json!({"names": "other.test"}));
    assert_eq!(t["stats"]["queries_faulted"], 2);
    assert_eq!(head(&ask(p, 9, "web.svc.test", TYPE_A).await).rcode, 0);
}

#[tokio::test]
async fn a_delayed_query_is_answered_after_one_that_is_not() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    let p = dns_proxy(api, "dns", up.addr).await;
    add_toxic(api, "dns", r#"{"name":"slow","type":"dns_delay","attributes":{"names":"web.svc.test","latency":1500}}"#).await;
    let c = client().await;
    c.send_to(&query(1, "web.svc.test", TYPE_A), p)
        .await
        .expect("send");
    c.send_to(&query(2, "api.svc.test", TYPE_A), p)
        .await
        .expect("send");
    let mut buf = vec![0u8; 65_536];
    let mut order = Vec::new();
    for _ in 0..2 {
        let (n, _) = tokio::time::timeout(WAIT, c.recv_from(&mut buf))
            .await
            .expect("answer")
            .expect("recv");
        order.push((head(&buf[..n]).id, rdatas(&buf[..n])));
    }
    assert_eq!(
        order,
        vec![
            (2, vec![vec![192, 0, 2, 20]]),
            (1, vec![vec![192, 0, 2, 10]])
        ]
    );
    assert_eq!(
        toxic_stats(api, "dns", "slow").await,
        json!({"queries_seen": 2, "queries_matched": 1, "queries_faulted": 1, "delay_injected_ms": 1500})
    );
}

#[tokio::test]
async fn truncated_udp_answers_are_relayed_and_tcp_gets_the_whole_answer() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    let p = dns_proxy(api, "dns", up.addr).await;
    let a = ask(p, 77, "big.svc.test", TYPE_TXT).await;
    assert_eq!(
        head(&a),
        common::dns::Head {
            id: 77,
            rcode: 0,
            tc: true,
            answers: 0
        }
    );
    let mut s = TcpStream::connect(p).await.expect("tcp");
    let a = tcp_ask(&mut s, &query(78, "big.svc.test", TYPE_TXT)).await;
    assert_eq!(
        head(&a),
        common::dns::Head {
            id: 78,
            rcode: 0,
            tc: false,
            answers: 1
        }
    );
    assert!(a.len() > 1600, "{}", a.len());
    assert_eq!(rdatas(&a)[0].len(), 16 * 101);
    // Pipelined on the same connection, with a toxic answering one of them.
    add_toxic(
        api,
        "dns",
        r#"{"name":"nx","type":"dns_nxdomain","attributes":{"names":"api.svc.test"}}"#,
    )
    .await;
    let mut both = Vec::new();
    for (id, name) in [(80u16, "api.svc.test"), (81, "web.svc.test")] {
        let q = query(id, name, TYPE_A);
        both.extend_from_slice(&(q.len() as u16).to_be_bytes());
        both.extend_from_slice(&q);
    }
    s.write_all(&both).await.expect("write");
    let mut got = [head(&tcp_read(&mut s).await), head(&tcp_read(&mut s).await)];
    got.sort_by_key(|h| h.id);
    assert_eq!(
        (got[0].id, got[0].rcode, got[1].id, got[1].rcode),
        (80, 3, 81, 0)
    );
    let transports: Vec<_> = up.seen.all().into_iter().map(|s| (s.0, s.2)).collect();
    assert_eq!(
        transports,
        vec![
            ("big.svc.test".to_string(), "udp"),
            ("big.svc.test".to_string(), "tcp"),
            ("web.svc.test".to_string(), "tcp"),
        ]
    );
}

#[tokio::test]
async fn malformed_packets_are_dropped_or_formerr_and_counted() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    let p = dns_proxy(api, "dns", up.addr).await;
    let c = client().await;
    // Shorter than a header, and a response sent to the proxy: dropped.
    c.send_to(&[0x12, 0x34, 0x01], p).await.expect("send");
    let mut response = query(5, "web.svc.test", TYPE_A);
    response[2] |= 0x80;
    c.send_to(&response, p).await.expect("send");
    // A pointer loop in the question: FORMERR with the query's id.
    let mut looped = query(9, "", TYPE_A);
    looped.truncate(12);
    looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    c.send_to(&looped, p).await.expect("send");
    let mut buf = vec![0u8; 65_536];
    let (n, _) = tokio::time::timeout(WAIT, c.recv_from(&mut buf))
        .await
        .expect("answer")
        .expect("recv");
    assert_eq!(
        head(&buf[..n]),
        common::dns::Head {
            id: 9,
            rcode: 1,
            tc: false,
            answers: 0
        }
    );
    // A truncated question: FORMERR too.
    let cut = query(10, "web.svc.test", TYPE_A);
    c.send_to(&cut[..cut.len() - 3], p).await.expect("send");
    let (n, _) = tokio::time::timeout(WAIT, c.recv_from(&mut buf))
        .await
        .expect("answer")
        .expect("recv");
    assert_eq!((head(&buf[..n]).id, head(&buf[..n]).rcode), (10, 1));
    // 64 KB over TCP: a maximal message of garbage after a valid header (its first
    // "label" is a reserved type), then a real query on the same connection.
    let mut s = TcpStream::connect(p).await.expect("tcp");
    let mut huge = vec![0x41u8; 65_535];
    huge[..12].copy_from_slice(&[0, 11, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    let a = tcp_ask(&mut s, &huge).await;
    assert_eq!((head(&a).id, head(&a).rcode), (11, 1));
    // A maximal message with a valid question is a query: forwarded, answered.
    let mut big = query(12, "web.svc.test", TYPE_A);
    big.resize(65_535, 0);
    let a = tcp_ask(&mut s, &big).await;
    assert_eq!((head(&a).id, rdatas(&a)), (12, vec![vec![192, 0, 2, 10]]));
    // An empty message and a short one: dropped, the connection still serves.
    s.write_all(&[0, 0, 0, 3, 1, 2, 3]).await.expect("write");
    let a = tcp_ask(&mut s, &query(13, "api.svc.test", TYPE_A)).await;
    assert_eq!((head(&a).id, head(&a).rcode), (13, 0));
    // And UDP still answers after all of it.
    assert_eq!(head(&ask(p, 14, "web.svc.test", TYPE_A).await).rcode, 0);
    let s = dns_stats(api, "dns").await;
    assert_eq!(
        (s["malformed"].as_u64(), s["answered"].as_u64()),
        (Some(7), Some(3))
    );
    assert_eq!(up.seen.all().len(), 3);
}

#[tokio::test]
async fn an_unreachable_upstream_gets_the_client_servfail() {
    let srv = server().await;
    let api = srv.addr();
    // A port where nothing listens, for UDP (ICMP port unreachable) and TCP (refused).
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let a = s.local_addr().expect("addr");
        drop(s);
        a
    };
    let p = dns_proxy(api, "dead", closed).await;
    let a = ask(p, 3, "web.svc.test", TYPE_A).await;
    assert_eq!((head(&a).id, head(&a).rcode), (3, 2));
    let mut s = TcpStream::connect(p).await.expect("tcp");
    let a = tcp_ask(&mut s, &query(4, "web.svc.test", TYPE_A)).await;
    assert_eq!((head(&a).id, head(&a).rcode), (4, 2));
    assert_eq!(dns_stats(api, "dead").await["upstream_failures"], 2);

    // An upstream that never answers: SERVFAIL once the proxy stops waiting.
    let silent_up = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let p = dns_proxy(api, "mute", silent_up.local_addr().expect("addr")).await;
    let a = ask(p, 5, "web.svc.test", TYPE_A).await;
    assert_eq!((head(&a).id, head(&a).rcode), (5, 2));
    let mut buf = [0u8; 512];
    let (n, _) = silent_up
        .recv_from(&mut buf)
        .await
        .expect("the query arrived");
    assert!(n > 12);
    assert_eq!(dns_stats(api, "mute").await["upstream_failures"], 1);
}

#[tokio::test]
async fn populate_makes_dns_proxies_too() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    let body = json!([{"name": "resolver", "listen": "127.0.0.1:0", "upstream": up.addr.to_string(), "protocol": "dns"}]);
    let r = post(api, "/populate", &body.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = &r.json()["proxies"][0];
    assert_eq!(made["protocol"], "dns");
    let p: SocketAddr = made["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen");
    let a = ask(p, 1, "api.svc.test", TYPE_A).await;
    assert_eq!(rdatas(&a), vec![vec![192, 0, 2, 20]]);
}

#[tokio::test]
async fn bad_requests_are_refused_with_clear_errors() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    // Port in use, by UDP or by TCP only: both are the proxy's address.
    let udp_taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let tcp_taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    for a in [udp_taken.local_addr(), tcp_taken.local_addr()] {
        let a = a.expect("addr");
        let body = json!({"name": "x", "listen": a.to_string(), "upstream": up.addr.to_string(), "protocol": "dns"});
        let r = post(api, "/proxies", &body.to_string()).await;
        let error = format!("listen dns {a}: bind: address already in use");
        assert_answer(&r, 500, error_body(500, &error));
    }

    dns_proxy(api, "dns", up.addr).await;
    let tcp = create_proxy(api, "tcp", up.addr).await;
    let _ = tcp;
    let r = post_toxic(api, "dns", r#"{"type":"latency"}"#).await;
    assert_answer(&r, 400, error_body(400, "toxic type latency does not apply to dns proxies (they take dns_nxdomain, dns_servfail, dns_drop, dns_delay and dns_address)"));
    let r = post_toxic(api, "tcp", r#"{"type":"dns_nxdomain"}"#).await;
    assert_answer(
        &r,
        400,
        error_body(
            400,
            r#"toxic type dns_nxdomain applies to dns proxies only (create the proxy with "protocol": "dns")"#,
        ),
    );
    let r = post_toxic(
        api,
        "dns",
        r#"{"type":"dns_address","attributes":{"names":"a.test"}}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("attribute addresses is required")),
        "{}",
        r.body
    );
    let r = post_toxic(
        api,
        "dns",
        r#"{"type":"dns_address","attributes":{"addresses":"10.0.0.300"}}"#,
    )
    .await;
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains(r#"invalid address "10.0.0.300" in attribute addresses"#)),
        "{}",
        r.body
    );
    let r = post_toxic(
        api,
        "dns",
        r#"{"type":"dns_drop","attributes":{"names":"a.*.test"}}"#,
    )
    .await;
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains(r#"invalid name pattern "a.*.test" in attribute names"#)),
        "{}",
        r.body
    );
    let r = post(
        api,
        "/proxies",
        r#"{"name":"y","upstream":"127.0.0.1:53","protocol":"sctp"}"#,
    )
    .await;
    assert_answer(
        &r,
        400,
        error_body(
            400,
            r#"invalid protocol "sctp": a proxy is "tcp" (the default), "udp" or "dns""#,
        ),
    );
    // Nothing half-made remains.
    let r = get(api, "/proxies/dns/toxics").await;
    assert_eq!(r.json(), json!([]));
}
