//! End to end with real processes: `chaos proxy serve` on a free port, a std-only HTTP
//! service, and `chaos run` of `tests/e2e/toxiproxy/experiment.yaml`, which creates a
//! proxy and toxics through the native `chaostoxi` functions, watches the service miss
//! its deadline through the proxy, and rolls everything back. The journal and the proxy
//! API must then agree that nothing is left. Also `chaos discover chaostoolkit-toxiproxy`.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/proxy_server.rs"]
mod proxy_server;
#[path = "support/reference.rs"]
#[allow(dead_code)] // this test needs only `workspace_root`, `peers_required` and the env helpers
mod reference;
#[path = "support/run.rs"]
mod run;

use http_server::TestServer;
use proxy_server::{free_port, Server as ProxyServer};
use reference::workspace_root;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh scratch directory, with the empty settings file every `chaos` here reads.
fn scratch(name: &str) -> PathBuf {
    let dir = run::scratch("e2e-toxiproxy", name);
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    dir
}

/// `chaos` in `dir` (the shared support's command: its settings, no proxy variables).
fn chaos(dir: &Path) -> Command {
    run::chaos_command(dir, &[], &[])
}

/// The run record of the activity called `name` in `runs`.
fn run_of<'a>(runs: &'a Value, name: &str) -> &'a Value {
    runs.as_array()
        .and_then(|r| r.iter().find(|r| r["activity"]["name"] == json!(name)))
        .unwrap_or_else(|| panic!("no run of '{name}' in {runs:#}"))
}

#[test]
fn experiment_adds_toxics_and_rollbacks_remove_them() {
    let Run {
        journal,
        code,
        log,
        api,
        service,
        proxy_port,
    } = run_experiment("run", "experiment.yaml", &[]);
    // The hypothesis (after the method) fails through the latency: the run deviates.
    assert_eq!(journal["status"], json!("failed"), "{log}");
    assert_eq!(journal["deviated"], json!(true), "{log}");
    assert_eq!(code, Some(1), "{log}");

    let runs = &journal["run"];
    let create = run_of(runs, "create-proxy");
    assert_eq!(create["status"], json!("succeeded"), "{create:#}");
    assert_eq!(create["output"], json!(true));
    // create_proxy exported <proxy_name>_PORT to later activities.
    let exported = run_of(runs, "exported-port");
    assert_eq!(exported["status"], json!("succeeded"), "{exported:#}");
    assert_eq!(
        exported["output"]["stdout"].as_str().map(str::trim),
        Some(proxy_port.to_string().as_str())
    );
    let baseline = run_of(runs, "baseline-through-proxy");
    assert_eq!(baseline["status"], json!("succeeded"), "{baseline:#}");
    assert_eq!(baseline["output"]["status"], json!(200));
    assert_eq!(baseline["output"]["body"], json!("hello world"));
    for name in ["add-latency", "add-slow-close"] {
        let r = run_of(runs, name);
        assert_eq!(r["status"], json!("succeeded"), "{r:#}");
        assert_eq!(r["output"], json!(true), "{name}");
    }
    let toxics = &run_of(runs, "toxics-in-place")["output"];
    let mut names: Vec<&str> = toxics
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    names.sort_unstable();
    assert_eq!(
        names,
        ["slow-close-upstream", "slow-downstream"],
        "{toxics:#}"
    );

    let after = &journal["steady_states"]["after"];
    assert_eq!(after["steady_state_met"], json!(false), "{after:#}");
    let probes = &after["probes"];
    assert_eq!(run_of(probes, "proxy-exists")["tolerance_met"], json!(true));
    let slow = run_of(probes, "service-answers-through-proxy");
    assert_eq!(slow["status"], json!("failed"), "{slow:#}");
    assert_eq!(slow["tolerance_met"], json!(false));
    assert_eq!(journal["steady_states"]["before"], Value::Null);

    // Rollbacks: both toxics existed and were removed, then the proxy.
    let rollbacks = &journal["rollbacks"];
    for name in ["remove-latency", "remove-slow-close"] {
        let r = run_of(rollbacks, name);
        assert_eq!(r["status"], json!("succeeded"), "{r:#}");
        assert_eq!(r["output"], json!(true), "{name} found its toxic");
    }
    let rm = run_of(rollbacks, "remove-proxy");
    assert_eq!(rm["status"], json!("succeeded"), "{rm:#}");
    assert_eq!(rm["output"], Value::Null);

    // And the server agrees: no proxy, hence no toxic, is left.
    assert_eq!(api.get_json("/proxies"), json!({}));
    let (status, _) = api.request("GET", "/proxies/shakedown_e2e/toxics", "", "");
    assert_eq!(status, 404);
    // Traffic reached the service through the proxy (the baseline probe).
    assert!(service.requests().iter().any(|r| r == "/text"));
}

#[test]
fn discover_lists_the_sixteen_functions_and_toxic_stats() {
    let dir = scratch("discover");
    let path = dir.join("discovery.json");
    let out = chaos(&dir)
        .args(["discover", "--no-install", "--discovery-path"])
        .arg(&path)
        .arg("chaostoolkit-toxiproxy")
        .output()
        .expect("run chaos discover");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "discovery.json: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let d: Value = serde_json::from_str(&text).expect("discovery.json is JSON");
    assert_eq!(d["target"], json!("toxiproxy"));
    assert_eq!(
        d["extension"],
        json!({"name": "chaostoolkit-toxiproxy", "version": "0.3.1"})
    );
    let activities = d["activities"].as_array().expect("activities");
    let mut listed: Vec<String> = activities
        .iter()
        .map(|a| {
            format!(
                "{} {}.{}",
                a["type"].as_str().unwrap_or("?"),
                a["mod"].as_str().unwrap_or("?"),
                a["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<String> = [
        ("action", "chaostoxi.proxy.actions", "create_proxy"),
        ("action", "chaostoxi.proxy.actions", "delete_proxy"),
        ("action", "chaostoxi.proxy.actions", "disable_proxy"),
        ("action", "chaostoxi.proxy.actions", "enable_proxy"),
        ("action", "chaostoxi.proxy.actions", "modify_proxy"),
        ("action", "chaostoxi.proxy.actions", "reset"),
        ("probe", "chaostoxi.proxy.probes", "get_proxy_attribute"),
        ("probe", "chaostoxi.proxy.probes", "proxy_exist"),
        (
            "action",
            "chaostoxi.toxic.actions",
            "create_bandwith_degradation_toxic",
        ),
        ("action", "chaostoxi.toxic.actions", "create_latency_toxic"),
        ("action", "chaostoxi.toxic.actions", "create_limiter_toxic"),
        ("action", "chaostoxi.toxic.actions", "create_slicer_toxic"),
        (
            "action",
            "chaostoxi.toxic.actions",
            "create_slow_connection_close_toxic",
        ),
        ("action", "chaostoxi.toxic.actions", "create_timeout_toxic"),
        ("action", "chaostoxi.toxic.actions", "create_toxic"),
        ("action", "chaostoxi.toxic.actions", "delete_toxic"),
        ("probe", "chaostoxi.toxic.probes", "toxic_stats"),
    ]
    .iter()
    .map(|(t, m, n)| format!("{t} {m}.{n}"))
    .collect();
    expected.sort();
    assert_eq!(listed, expected);
    let latency = activities
        .iter()
        .find(|a| a["name"] == json!("create_latency_toxic"))
        .expect("latency helper");
    assert_eq!(
        latency["arguments"],
        json!([
            {"name": "for_proxy", "type": "string"},
            {"name": "toxic_name", "type": "string"},
            {"name": "latency", "type": "integer"},
            {"name": "jitter", "default": 0, "type": "integer"},
            {"name": "configuration", "default": null, "type": "mapping"}
        ])
    );
    assert_eq!(latency["return_type"], json!("mapping"));
}

/// The real toxiproxy-python client against `chaos proxy serve`.
///
/// Policy: the venv comes from `scripts/toxiproxy-python-peer` (run by
/// `scripts/toxiproxy-peer`, hence by `scripts/test` and CI). If that script has ever run
/// here (it leaves `target/peers/toxiproxy-python.requested`) or peers are required
/// (`SHAKEDOWN_REQUIRE_PEERS`, `CI`), a missing or
/// broken venv FAILS this test; otherwise the test prints a loud SKIP line and passes.
#[test]
fn toxiproxy_python_client_drives_the_proxy() {
    let peers = workspace_root().join("target/peers");
    let python = peers.join("toxiproxy-python-venv/bin/python");
    let required = peers.join("toxiproxy-python.requested").exists() || reference::peers_required();
    if !python.exists() {
        if required {
            panic!(
                "{} is missing although scripts/toxiproxy-python-peer was supposed to create it \
                 (it ran here before, or SHAKEDOWN_REQUIRE_PEERS/CI is set): run scripts/toxiproxy-python-peer",
                python.display()
            );
        }
        eprintln!(
            "\n**** SKIP toxiproxy_python_client_drives_the_proxy: {} not found; \
             run scripts/toxiproxy-python-peer to install toxiproxy-python ****\n",
            python.display()
        );
        return;
    }
    let dir = scratch("python");
    let service = TestServer::start(None);
    let api = ProxyServer::start(&dir, &[]);
    let script = workspace_root().join("tests/e2e/toxiproxy/python_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(api.port().to_string())
        .arg(format!("127.0.0.1:{}", service.port()))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.starts_with("OK "),
        "toxiproxy-python scenario failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // The scenario ends with destroy_all: the server must agree.
    assert_eq!(api.get_json("/proxies"), json!({}));
}

/// A finished `chaos run` of one of `tests/e2e/toxiproxy/`'s experiments, with the
/// servers it ran against (still up).
struct Run {
    journal: Value,
    code: Option<i32>,
    log: String,
    api: ProxyServer,
    service: TestServer,
    proxy_port: u16,
}

/// Runs `tests/e2e/toxiproxy/<file>` against a fresh `chaos proxy serve` and HTTP
/// service (TOXIPROXY_PORT, SERVICE_PORT, PROXY_PORT set, plus `env`).
fn run_experiment(name: &str, file: &str, env: &[(&str, &str)]) -> Run {
    let dir = scratch(name);
    let service = TestServer::start(None);
    let api = ProxyServer::start(&dir, &[]);
    let proxy_port = free_port();
    let experiment = workspace_root().join("tests/e2e/toxiproxy").join(file);
    let journal_path = dir.join("journal.json");
    let out = chaos(&dir)
        .arg("run")
        .arg("--journal-path")
        .arg(&journal_path)
        .arg(&experiment)
        .env("TOXIPROXY_PORT", api.port().to_string())
        .env("SERVICE_PORT", service.port().to_string())
        .env("PROXY_PORT", proxy_port.to_string())
        .envs(env.iter().copied())
        .output()
        .expect("run chaos");
    let log = format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let journal: Value = serde_json::from_str(
        &std::fs::read_to_string(&journal_path).unwrap_or_else(|e| panic!("journal: {e}\n{log}")),
    )
    .unwrap_or_else(|e| panic!("journal is not JSON: {e}\n{log}"));
    Run {
        journal,
        code: out.status.code(),
        log,
        api,
        service,
        proxy_port,
    }
}

/// Runs `stats-experiment.yaml` with the abort toxic's toxicity.
fn run_stats_experiment(name: &str, toxicity: &str) -> (Value, Option<i32>, String) {
    let run = run_experiment(
        name,
        "stats-experiment.yaml",
        &[("ABORT_TOXICITY", toxicity)],
    );
    // The rollback removed the proxy either way.
    assert_eq!(run.api.get_json("/proxies"), json!({}), "{}", run.log);
    (run.journal, run.code, run.log)
}

#[test]
fn stats_probe_proves_the_abort_happened() {
    let (journal, code, log) = run_stats_experiment("stats-abort", "1");
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(journal["status"], json!("completed"), "{log}");
    assert_eq!(journal["deviated"], json!(false), "{log}");
    let runs = &journal["run"];
    for name in ["request-1", "request-2", "request-3"] {
        let r = run_of(runs, name);
        assert_eq!(r["output"]["status"], json!(503), "{r:#}");
    }
    // The journal carries the toxic's own account of what it did.
    let stats = &run_of(runs, "abort-stats")["output"];
    assert_eq!(stats["requests_seen"], json!(3), "{stats:#}");
    assert_eq!(stats["requests_aborted"], json!(3), "{stats:#}");
    assert_eq!(
        stats["requests_aborted_by_status"],
        json!({"503": 3}),
        "{stats:#}"
    );
    let after = &journal["steady_states"]["after"];
    assert_eq!(after["steady_state_met"], json!(true), "{after:#}");
    let probe = run_of(&after["probes"], "requests-aborted");
    assert_eq!(probe["tolerance_met"], json!(true), "{probe:#}");
    assert_eq!(probe["output"]["requests_aborted"], json!(3), "{probe:#}");
}

#[test]
fn stats_probe_deviates_when_the_toxic_never_fired() {
    let (journal, code, log) = run_stats_experiment("stats-toxicity-0", "0");
    // The probe ran fine; its tolerance was not met: the run deviated (exit 1).
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(journal["deviated"], json!(true), "{log}");
    assert_eq!(
        journal["steady_states"]["after"]["steady_state_met"],
        json!(false),
        "{log}"
    );
    let runs = &journal["run"];
    for name in ["request-1", "request-2", "request-3"] {
        let r = run_of(runs, name);
        assert_eq!(r["output"]["status"], json!(200), "{r:#}");
    }
    let stats = &run_of(runs, "abort-stats")["output"];
    assert_eq!(stats["requests_aborted"], json!(0), "{stats:#}");
    assert_eq!(stats["connections"], json!(0), "{stats:#}");
    let probe = run_of(
        &journal["steady_states"]["after"]["probes"],
        "requests-aborted",
    );
    assert_eq!(probe["tolerance_met"], json!(false), "{probe:#}");
}

/// `create_proxy(..., protocol="udp")` (Shakedown's argument) makes a UDP proxy on `chaos
/// proxy serve`: a datagram goes through and back, a `loss` toxic added by `create_toxic`
/// drops the next one, and the rollback leaves no proxy.
#[test]
fn create_proxy_with_protocol_udp_carries_datagrams() {
    let echo = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind echo");
    let echo_port = echo.local_addr().expect("echo addr").port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    let echo_port = echo_port.to_string();
    let run = run_experiment(
        "udp",
        "udp-experiment.yaml",
        &[("ECHO_PORT", echo_port.as_str())],
    );
    let log = &run.log;
    assert_eq!(run.code, Some(0), "{log}");
    assert_eq!(run.journal["status"], json!("completed"), "{log}");
    let runs = &run.journal["run"];
    assert_eq!(
        run_of(runs, "create-udp-proxy")["output"],
        json!(true),
        "{log}"
    );
    assert_eq!(run_of(runs, "protocol")["output"], json!("udp"), "{log}");
    let through = &run_of(runs, "datagram-through-proxy")["output"];
    assert_eq!(through["stdout"], json!("ping\n"), "{through:#}");
    assert_eq!(run_of(runs, "add-loss")["output"], json!(true), "{log}");
    let after = &run_of(runs, "datagram-after-loss")["output"];
    assert_eq!(after["stdout"], json!("lost\n"), "{after:#}");
    let rm = run_of(&run.journal["rollbacks"], "remove-udp-proxy");
    assert_eq!(rm["status"], json!("succeeded"), "{rm:#}");
    assert_eq!(run.api.get_json("/proxies"), json!({}), "{log}");
}
