//! DNS proxies under real clients: `dig` (Debian's bind9-dnsutils, installed by
//! `scripts/dns-peer` into target/peers/bin) and the C library's `getaddrinfo`, through
//! `getent ahosts` in a mount namespace whose /etc/resolv.conf names the proxy (glibc's
//! stub resolver only talks to port 53, so that proxy listens on port 53 of an address
//! of its own in 127.0.0.0/8). The upstream is the loopback test server of
//! `common::dns`. Without dig, or without the right to make a mount namespace (root),
//! a test prints `**** SKIP` and passes, unless `CI`/`SHAKEDOWN_REQUIRE_PEERS` is set or
//! `scripts/dns-peer` has run on this machine.

mod common;
mod support;
use common::dns::upstream;
use common::*;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use support::*;
use tokio::process::Command;

fn peers() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/peers")
}

fn required() -> bool {
    ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"))
        || peers().join("dig.requested").exists()
}

/// The dig wrapper, or None (after saying so) when the test may skip.
fn dig() -> Option<PathBuf> {
    let bin = peers().join("bin/dig");
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        !required(),
        "{} is missing: run scripts/dns-peer",
        bin.display()
    );
    eprintln!(
        "**** SKIP: {} not installed (run scripts/dns-peer) ****",
        bin.display()
    );
    None
}

async fn dns_proxy(
    api: SocketAddr,
    name: &str,
    listen: &str,
    upstream: SocketAddr,
) -> Result<SocketAddr, String> {
    let body = json!({"name": name, "listen": listen, "upstream": upstream.to_string(), "protocol": "dns"});
    let r = post(api, "/proxies", &body.to_string()).await;
    if r.status != 201 {
        return Err(r.body);
    }
    Ok(r.json()["listen"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("listen"))
}

struct Dig {
    bin: PathBuf,
    at: SocketAddr,
}

impl Dig {
    /// Runs dig against the proxy; `time` is dig's per-try timeout in seconds (only the
    /// bound on a query the proxy drops).
    async fn run(&self, args: &[&str]) -> (String, i32) {
        let out: Output = Command::new(&self.bin)
            .arg(format!("@{}", self.at.ip()))
            .args(["-p", &self.at.port().to_string(), "+tries=1", "+time=10"])
            .args(args)
            .output()
            .await
            .expect("run dig");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (text, out.status.code().unwrap_or(-1))
    }

    /// The status dig reports and the records of its answer section, as dig prints them
    /// (`name TTL class type data`, whitespace collapsed).
    async fn ask(&self, name: &str, qtype: &str, extra: &[&str]) -> (String, Vec<String>, String) {
        let mut args = vec![name, qtype];
        args.extend_from_slice(extra);
        let (text, code) = self.run(&args).await;
        assert_eq!(code, 0, "dig {name} {qtype}: {text}");
        assert!(!text.contains("ID mismatch"), "{text}");
        let status = text
            .lines()
            .find_map(|l| l.split("status: ").nth(1))
            .and_then(|s| s.split(',').next())
            .unwrap_or("")
            .to_string();
        let mut answers = Vec::new();
        let mut in_answer = false;
        for l in text.lines() {
            if l.starts_with(";; ANSWER SECTION:") {
                in_answer = true;
            } else if in_answer && (l.is_empty() || l.starts_with(";;")) {
                in_answer = false;
            } else if in_answer {
                answers.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
        (status, answers, text)
    }
}

#[tokio::test]
async fn dig_sees_every_fault() {
    let Some(bin) = dig() else { return };
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    let at = dns_proxy(api, "dns", "127.0.0.1:0", up.addr)
        .await
        .expect("proxy");
    let dig = Dig { bin, at };

    let (status, answers, _) = dig.ask("web.svc.test", "A", &[]).await;
    assert_eq!(
        (status.as_str(), answers),
        (
            "NOERROR",
            vec!["web.svc.test. 60 IN A 192.0.2.10".to_string()]
        )
    );

    add_toxic(
        api,
        "dns",
        r#"{"name":"nx","type":"dns_nxdomain","attributes":{"names":"*.svc.test"}}"#,
    )
    .await;
    add_toxic(api, "dns", r#"{"name":"to","type":"dns_address","attributes":{"names":"api.svc.test","addresses":"10.0.0.7,fd00::7","ttl":30}}"#).await;
    add_toxic(
        api,
        "dns",
        r#"{"name":"sf","type":"dns_servfail","attributes":{"names":"db.example"}}"#,
    )
    .await;
    add_toxic(
        api,
        "dns",
        r#"{"name":"gone","type":"dns_drop","attributes":{"names":"Lost.Example."}}"#,
    )
    .await;
    add_toxic(api, "dns", r#"{"name":"slow","type":"dns_delay","attributes":{"names":"web.svc.test","latency":300,"jitter":0}}"#).await;

    let (status, answers, _) = dig.ask("WEB.svc.test.", "A", &[]).await;
    assert_eq!((status.as_str(), answers.len()), ("NXDOMAIN", 0));
    let (status, answers, _) = dig.ask("api.svc.test", "A", &[]).await;
    assert_eq!(
        (status.as_str(), answers),
        (
            "NOERROR",
            vec!["api.svc.test. 30 IN A 10.0.0.7".to_string()]
        )
    );
    let (status, answers, _) = dig.ask("api.svc.test", "AAAA", &[]).await;
    assert_eq!(
        (status.as_str(), answers),
        (
            "NOERROR",
            vec!["api.svc.test. 30 IN AAAA fd00::7".to_string()]
        )
    );
    let (status, _, _) = dig.ask("db.example", "A", &[]).await;
    assert_eq!(status, "SERVFAIL");
    // The dropped query: dig gives up after its one try (exit 9, "timed out").
    let (text, code) = dig.run(&["lost.example", "A", "+time=1"]).await;
    assert_eq!(code, 9, "{text}");
    assert!(text.contains("timed out"), "{text}");
    // Over TCP the same faults apply.
    let (status, answers, _) = dig.ask("api.svc.test", "A", &["+tcp"]).await;
    assert_eq!((status.as_str(), answers.len()), ("NOERROR", 1));
    let (status, _, _) = dig.ask("other.svc.test", "A", &["+tcp"]).await;
    assert_eq!(status, "NXDOMAIN");

    assert_eq!(
        toxic_stats(api, "dns", "nx").await,
        json!({"queries_seen": 7, "queries_matched": 5, "queries_faulted": 2})
    );
    assert_eq!(toxic_stats(api, "dns", "to").await["queries_faulted"], 3);
    assert_eq!(toxic_stats(api, "dns", "sf").await["queries_faulted"], 1);
    assert_eq!(toxic_stats(api, "dns", "gone").await["queries_faulted"], 1);
    assert_eq!(
        toxic_stats(api, "dns", "slow").await,
        json!({"queries_seen": 7, "queries_matched": 1, "queries_faulted": 1, "delay_injected_ms": 300})
    );
    // Only the first, unfaulted query reached the upstream.
    assert_eq!(up.seen.all().len(), 1);
}

#[tokio::test]
async fn dig_retries_a_truncated_answer_over_tcp_through_the_proxy() {
    let Some(bin) = dig() else { return };
    let srv = server().await;
    let up = upstream().await;
    let at = dns_proxy(srv.addr(), "dns", "127.0.0.1:0", up.addr)
        .await
        .expect("proxy");
    let dig = Dig { bin, at };
    let (status, answers, text) = dig.ask("big.svc.test", "TXT", &[]).await;
    assert!(
        text.contains(";; Truncated, retrying in TCP mode."),
        "{text}"
    );
    assert_eq!(status, "NOERROR");
    assert_eq!(answers.len(), 1, "{text}");
    assert_eq!(
        answers[0].matches("\"").count(),
        2 * common::dns::BIG_TXT_STRINGS
    );
    let transports: Vec<_> = up.seen.all().into_iter().map(|s| s.2).collect();
    assert_eq!(transports, vec!["udp", "tcp"]);
}

/// `getent ahosts NAME` (getaddrinfo with AF_UNSPEC) in a private mount namespace whose
/// /etc/resolv.conf is `resolv`: Ok((exit code, stdout)), or Err when no namespace can
/// be made here.
async fn getent(resolv: &str, name: &str) -> Result<(i32, String), String> {
    let dir = std::env::temp_dir().join(format!("shakedown-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join(format!("resolv-{}.conf", resolv.len()));
    std::fs::write(&file, resolv).expect("write resolv.conf");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind "$1" /etc/resolv.conf || exit 100; exec getent ahosts "$2""#)
        .args(["sh", &file.to_string_lossy(), name])
        .output()
        .await
        .map_err(|e| format!("unshare: {e}"));
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir(&dir);
    let out = out?;
    let code = out.status.code().unwrap_or(-1);
    if code == 100 || (code == 1 && !out.stderr.is_empty()) {
        return Err(String::from_utf8_lossy(&out.stderr).to_string());
    }
    Ok((code, String::from_utf8_lossy(&out.stdout).to_string()))
}

/// The addresses `getent ahosts` printed (first column, each once, in order).
fn addresses(out: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for a in out.lines().filter_map(|l| l.split_whitespace().next()) {
        if !v.iter().any(|x| x == a) {
            v.push(a.to_string());
        }
    }
    v
}

#[tokio::test]
async fn getaddrinfo_of_a_real_process_follows_the_faults() {
    let srv = server().await;
    let api = srv.addr();
    let up = upstream().await;
    // Port 53 on an address of its own: try a few in 127.53.0.0/16.
    let pid = std::process::id();
    let mut at = None;
    for k in 0..20u32 {
        let n = pid.wrapping_add(k * 7919) % 65_000 + 1;
        let listen = format!("127.53.{}.{}:53", n / 256, n % 256);
        if let Ok(a) = dns_proxy(api, "dns", &listen, up.addr).await {
            at = Some(a);
            break;
        }
    }
    let at = at.expect("a free port 53 on some 127.53.x.y");
    let ip = at.ip();
    let udp = format!("nameserver {ip}\noptions timeout:5 attempts:1\n");
    let tcp = format!("nameserver {ip}\noptions timeout:5 attempts:1 use-vc\n");

    let (code, out) = match getent(&udp, "web.svc.test").await {
        Ok(r) => r,
        Err(e) => {
            assert!(
                !required(),
                "cannot make a mount namespace for getaddrinfo: {e}"
            );
            eprintln!("**** SKIP: no mount namespace here (needs root): {e} ****");
            return;
        }
    };
    assert_eq!(
        (code, addresses(&out)),
        (
            0,
            vec!["192.0.2.10".to_string(), "2001:db8::10".to_string()]
        ),
        "{out}"
    );

    add_toxic(api, "dns", r#"{"name":"to","type":"dns_address","attributes":{"names":"web.svc.test","addresses":"10.0.0.7"}}"#).await;
    let (code, out) = getent(&udp, "web.svc.test").await.expect("getent");
    // Only the chosen address: the AAAA query got an empty answer, not the real one.
    assert_eq!(
        (code, addresses(&out)),
        (0, vec!["10.0.0.7".to_string()]),
        "{out}"
    );

    add_toxic(
        api,
        "dns",
        r#"{"name":"nx","type":"dns_nxdomain","attributes":{"names":"*.svc.test"}}"#,
    )
    .await;
    let (code, out) = getent(&udp, "api.svc.test").await.expect("getent");
    // getent's "key not found".
    assert_eq!((code, out.as_str()), (2, ""));
    // The exact-name toxic still wins over the wildcard for web.svc.test, over TCP too.
    let (code, out) = getent(&tcp, "web.svc.test").await.expect("getent");
    assert_eq!(
        (code, addresses(&out)),
        (0, vec!["10.0.0.7".to_string()]),
        "{out}"
    );
    let by_tcp = toxic_stats(api, "dns", "to").await["queries_faulted"].as_u64();

    remove_toxic(api, "dns", "nx").await;
    let (code, out) = getent(&tcp, "api.svc.test").await.expect("getent");
    assert_eq!(
        (code, addresses(&out)),
        (0, vec!["192.0.2.20".to_string()]),
        "{out}"
    );
    assert!(
        up.seen
            .all()
            .iter()
            .any(|(n, q, t)| n == "api.svc.test" && *q == 1 && *t == "tcp"),
        "{:?}",
        up.seen.all()
    );
    // A and AAAA for web.svc.test, twice each (UDP, then TCP).
    assert_eq!(by_tcp, Some(4));
}
