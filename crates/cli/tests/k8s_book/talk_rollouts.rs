//! The four rollout experiments of the "From local to automated Chaos Toolkit" talk
//! (`../shared/corpus/community-playground/from-local-to-automated-chaostoolkit/`), the
//! journals behind the report seed (`../shared/seeds/report-four-rollout-experiments.txt`),
//! run unchanged by `chaos run` against the real control plane and a real Prometheus.
//!
//! What stands in for the talk's cluster, and why it is honest:
//! - `service2` is a real Deployment (two replicas, `progressDeadlineSeconds: 20`); the
//!   experiments change its image and roll it back with Shakedown's native `chaosk8s`
//!   rollout functions; the Deployment controller does the rolling. kwok runs the pods;
//!   a kwok Stage keeps pods of the `:v3` image Running but never Ready, so v3 is the
//!   talk's "unhealthy service 2": the rollout stalls, the old pods keep serving and the
//!   Deployment reports `ProgressDeadlineExceeded`, as in the seed.
//! - `service1` (the counter service users call) is a loopback HTTP server in this test.
//!   It serves through whichever `service2` versions have Ready pods, read from the
//!   cluster's ReplicaSets: `:v4` is the "slower service 2", so service1's call to it
//!   times out and users get a 500. It exposes `svc_responses_total` and `counter`,
//!   which a real Prometheus scrapes every second.
//! - Users call service1 all along (a thread), as production users would; the talk's
//!   `load.single` adds its own requests: Shakedown's native `load.single` (docs/load.md),
//!   since the Python path holds the other stand-ins (`corpus_modules/chaoshumio`) but no
//!   `load` module. service1 counts its requests apart (they do not say `Host: service1`).
//! - `chaoshumio.control` runs through the bridge (its stand-in records, sends nothing);
//!   `chaostracing.control` is native and points at a closed loopback port.
//!
//! The experiments take 45 s each (20 s of load, 25 s of status samples, as written), so
//! this test lives in the book's binary and runs next to the book's scenarios instead of
//! after them. `SHAKEDOWN_UPDATE_FIXTURES=1` copies the four journals to
//! `tests/fixtures/talk-rollouts/`, where `chaos report`'s tests read them.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::{cluster, peers};

const SERVICE2: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: service2, labels: {app: service2}}
spec:
  replicas: 2
  progressDeadlineSeconds: 20
  selector: {matchLabels: {app: service2}}
  template:
    metadata: {labels: {app: service2}}
    spec:
      containers: [{name: service2, image: 'lawouach/service2:v1'}]
";

/// Pods of the unhealthy `:v3` image start but never pass their readiness probe: the
/// book's Running-not-Ready Stage, for that image in `default`, under a label of its own
/// (the book's scenarios remove theirs by label while this test runs).
fn unhealthy_v3_stage() -> String {
    super::running_not_ready_stage("talk-service2-v3-never-ready", 0, 100, super::STARTED)
        .replace(super::STAGE_LABEL, "shakedown.test/talk-rollouts")
        .replace(
            "values: [go-demo-8]}",
            "values: [default]}\n    - {key: '.spec.containers.[0].image', operator: In, \
             values: [\"lawouach/service2:v3\"]}",
        )
}

/// The stand-in for the talk's service1 and what it has seen.
struct Service1 {
    url: String,
    /// The `service2` versions with Ready pods, as last read from the cluster.
    serving: Arc<Mutex<Vec<String>>>,
    ok: Arc<AtomicU64>,
    errors: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Requests from the experiments' `load.single` (to `/`, any `Host` but the users').
    pretend: Arc<AtomicU64>,
}

impl Drop for Service1 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Service1 {
    fn start(kc: &str) -> Service1 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind service1");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let s = Service1 {
            url,
            serving: Arc::new(Mutex::new(Vec::new())),
            ok: Arc::new(AtomicU64::new(0)),
            errors: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            pretend: Arc::new(AtomicU64::new(0)),
        };
        let (serving, ok, errors) = (s.serving.clone(), s.ok.clone(), s.errors.clone());
        let pretend = s.pretend.clone();
        let next = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let pretend = pretend.clone();
                let (serving, ok, errors, next) =
                    (serving.clone(), ok.clone(), errors.clone(), next.clone());
                std::thread::spawn(move || serve(stream, &serving, &ok, &errors, &next, &pretend));
            }
        });
        // Which versions serve: the ReplicaSets of service2 with Ready pods.
        let (serving, stop, kc) = (s.serving.clone(), s.stop.clone(), kc.to_string());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Some(out) = cluster::try_kubectl_at(
                    &kc,
                    &[
                        "-n",
                        "default",
                        "get",
                        "rs",
                        "-l",
                        "app=service2",
                        "-o",
                        "jsonpath={range .items[*]}{.spec.template.spec.containers[0].image} {.status.readyReplicas}{\"\\n\"}{end}",
                    ],
                ) {
                    let ready: Vec<String> = out
                        .lines()
                        .filter_map(|l| l.split_once(' '))
                        .filter(|(_, n)| n.trim().parse::<u32>().is_ok_and(|n| n > 0))
                        .filter_map(|(image, _)| image.rsplit_once(':'))
                        .map(|(_, version)| version.to_string())
                        .collect();
                    *serving.lock().expect("serving") = ready;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        });
        s
    }

    /// The users, every 100 ms from now on, once service1 knows service2 serves (before
    /// that, service1 would answer 500s nobody caused).
    fn start_users(&self) {
        for _ in 0..200 {
            if !self.serving.lock().map(|s| s.is_empty()).unwrap_or(true) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let (url, stop) = (self.url.clone(), self.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let _ = get(&url, "/");
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }
}

fn delete_service2(kc: &str, wait: bool) {
    let wait = format!("--wait={wait}");
    let args = [
        "-n",
        "default",
        "delete",
        "deploy",
        "service2",
        "--ignore-not-found",
        &wait,
    ];
    cluster::try_kubectl_at(kc, &args);
}

/// Removes what the test put in the cluster, however it ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let stage = "talk-service2-v3-never-ready";
        let args = [
            "delete",
            "stages.kwok.x-k8s.io",
            stage,
            "--ignore-not-found",
        ];
        cluster::try_kubectl_at(&self.0, &args);
        delete_service2(&self.0, false);
    }
}

/// One request to service1: `/` goes through service2, `/metrics` is for Prometheus.
fn serve(
    mut stream: TcpStream,
    serving: &Mutex<Vec<String>>,
    ok: &AtomicU64,
    errors: &AtomicU64,
    next: &AtomicUsize,
    pretend: &AtomicU64,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {
                let (name, value) = header.split_once(':').unwrap_or_default();
                let scrape = request_line.contains(" /metrics ");
                if name.eq_ignore_ascii_case("host") && value.trim() != "service1" && !scrape {
                    pretend.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = if path == "/metrics" {
        let (ok, errors) = (ok.load(Ordering::SeqCst), errors.load(Ordering::SeqCst));
        let body = format!(
            "# TYPE svc_responses_total counter\n\
             svc_responses_total{{name=\"service1\",path=\"/\",status_code=\"200\"}} {ok}\n\
             svc_responses_total{{name=\"service1\",path=\"/\",status_code=\"500\"}} {errors}\n\
             # TYPE counter counter\ncounter{{name=\"service1\"}} {}\n",
            ok + errors
        );
        ("200 OK", body)
    } else {
        let versions = serving.lock().map(|v| v.clone()).unwrap_or_default();
        let version = match versions.len() {
            0 => None,
            n => versions
                .get(next.fetch_add(1, Ordering::SeqCst) % n)
                .cloned(),
        };
        match version.as_deref() {
            Some("v4") => {
                // The slower service2: service1 gives up after its 1 s timeout.
                std::thread::sleep(Duration::from_secs(1));
                errors.fetch_add(1, Ordering::SeqCst);
                (
                    "500 Internal Server Error",
                    "service2 timed out\n".to_string(),
                )
            }
            Some(v) => {
                ok.fetch_add(1, Ordering::SeqCst);
                ("200 OK", format!("counted by service2 {v}\n"))
            }
            None => {
                errors.fetch_add(1, Ordering::SeqCst);
                ("500 Internal Server Error", "no service2\n".to_string())
            }
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn get(base: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(base.trim_start_matches("http://")).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: service1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn talk() -> PathBuf {
    PathBuf::from(
        "/work/shared/corpus/community-playground/from-local-to-automated-chaostoolkit/experiments",
    )
}

/// Waits until `n` pods of service2 are Ready (set-up, not a timing assertion).
fn wait_service2_ready(kc: &str, n: usize) {
    for _ in 0..240 {
        let out = cluster::try_kubectl_at(
            kc,
            &[
                "-n",
                "default",
                "get",
                "deploy",
                "service2",
                "-o",
                "jsonpath={.status.readyReplicas} {.status.updatedReplicas}",
            ],
        )
        .unwrap_or_default();
        if out.trim() == format!("{n} {n}") {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("service2 never had {n} Ready, updated pods");
}

struct Run {
    journal: Value,
    code: i32,
    log: String,
    /// Requests service1 got from the experiment's `load.single`.
    pretend: u64,
}

fn run(dir: &Path, kc: &str, service1: &Service1, prometheus: &str, version: u32) -> Run {
    let experiment = talk().join(format!("rollout-v{version}-service2.json"));
    let journal = dir.join(format!("rollout-v{version}-service2.journal.json"));
    let root = super::reference::workspace_root();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaos"));
    cmd.current_dir(dir)
        .arg("--settings")
        .arg(dir.join("settings.yaml"))
        .arg("run")
        .arg("--journal-path")
        .arg(&journal)
        .arg(&experiment)
        .env("KUBECONFIG", kc)
        .env("COUNTER_URL", format!("{}/", service1.url))
        .env("PROMETHEUS_URL", prometheus)
        // The talk's tracer: native, to a loopback port nobody listens on.
        .env("JAEGER_HOST", "127.0.0.1")
        .env("HUMIO_INGEST_TOKEN", "humio-test-token")
        .env("HUMIO_DATASPACE", "chaos-demo")
        .env("PYTHONPATH", dir.join("modules"))
        .env(
            "CHAOS_PYTHON",
            root.join("target/reference-venv/bin/python"),
        )
        .env("SHAKEDOWN_CORPUS_RECORD", dir.join("records.jsonl"))
        .env("CHAOS_COLOR", "never");
    super::reference::remove_proxy_env(&mut cmd);
    super::reference::reset_signal_dispositions(&mut cmd);
    let pretend = service1.pretend.load(Ordering::SeqCst);
    let out = cmd.output().expect("run chaos");
    let pretend = service1.pretend.load(Ordering::SeqCst) - pretend;
    let log = format!(
        "rollout v{version}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = std::fs::read_to_string(&journal)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("no journal\n{log}"));
    Run {
        journal,
        code: out.status.code().unwrap_or(-1),
        log,
        pretend,
    }
}

fn activity<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .and_then(|l| l.iter().find(|r| r["activity"]["name"] == name))
        .unwrap_or_else(|| panic!("no activity {name} in {list:#}"))
}

/// The status samples of `read-deployment-status`: one list of `[type, status, reason]`
/// per second.
fn samples(journal: &Value) -> Vec<Value> {
    activity(&journal["run"], "read-deployment-status")["output"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn has(sample: &Value, triple: Value) -> bool {
    sample.as_array().is_some_and(|s| s.contains(&triple))
}

#[test]
fn talk_rollout_experiments_end_like_the_report_seed() {
    let python = super::reference::workspace_root().join("target/reference-venv/bin/python");
    if !python.exists() {
        super::reference::skip_or_fail(
            "talk_rollout_experiments_end_like_the_report_seed",
            "target/reference-venv is missing (the bridge's Python for the talk's `load` \
             and `chaoshumio` modules): run scripts/reference-venv",
        );
        return;
    }
    let kc = cluster::kubeconfig().to_string();
    let service1 = Service1::start(&kc);
    let Some(prometheus) = peers::prometheus_scraping(&service1.url, "talk-rollouts") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("shakedown-talk-rollouts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    // Not the talk's settings.yaml: it sends traces to 10.1.1.141.
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    // The bridge's modules: the stand-ins of corpus_modules but `load`, which the native
    // `load.single` answers when Python has no `load` to import.
    let modules = super::reference::workspace_root().join("crates/cli/tests/corpus_modules");
    std::fs::create_dir_all(dir.join("modules")).expect("modules dir");
    for m in ["chaoshumio", "corpus_record.py"] {
        std::os::unix::fs::symlink(modules.join(m), dir.join("modules").join(m))
            .expect("link a stand-in module");
    }

    let k = |args: &[&str], stdin: Option<&str>| cluster::kubectl_at(&kc, args, stdin);
    delete_service2(&kc, true);
    let _cleanup = Cleanup(kc.clone());
    k(&["apply", "-f", "-"], Some(&unhealthy_v3_stage()));
    k(&["-n", "default", "apply", "-f", "-"], Some(SERVICE2));
    wait_service2_ready(&kc, 2);
    service1.start_users();

    let runs: Vec<Run> = (1..=4)
        .map(|v| {
            let r = run(&dir, &kc, &service1, &prometheus, v);
            // Each rollback leaves service2 serving v1 again before the next experiment.
            wait_service2_ready(&kc, 2);
            r
        })
        .collect();

    // The seed: three completed, the slower v4 deviated.
    for (v, r) in runs.iter().enumerate().map(|(i, r)| (i + 1, r)) {
        let j = &r.journal;
        let deviated = v == 4;
        assert_eq!(j["status"], "completed", "{}", r.log);
        assert_eq!(j["deviated"], json!(deviated), "{}", r.log);
        assert_eq!(r.code, i32::from(deviated), "{}", r.log);
        assert_eq!(
            j["steady_states"]["before"]["steady_state_met"], true,
            "{}",
            r.log
        );
        assert_eq!(
            j["steady_states"]["after"]["steady_state_met"],
            json!(!deviated),
            "{}",
            r.log
        );
        // The talk's pretend users: the native `load.single` (its line, `None` at once, and
        // one request a second for 20 s, not more).
        let users = activity(&j["run"], "pretend-users-in-background");
        assert_eq!(users["status"], "succeeded", "{users:#}");
        assert_eq!(users["output"], Value::Null, "{users:#}");
        assert!(r.log.contains("for 20s every 1.0s"), "{}", r.log);
        assert!((1..=21).contains(&r.pretend), "{} requests", r.pretend);
        let set = activity(&j["run"], &format!("initiate-rollout-v{v}-of-service2"));
        assert_eq!(set["status"], "succeeded", "{set:#}");
        let samples = samples(j);
        assert!(!samples.is_empty(), "{}", r.log);
        for s in &samples {
            assert!(
                has(s, json!(["Available", "True", "MinimumReplicasAvailable"])),
                "{s}"
            );
        }
        if v == 3 {
            // Stalled: the deadline passes while the v3 pods never become Ready.
            let last = samples.last().cloned().unwrap_or_default();
            assert!(
                has(
                    &last,
                    json!(["Progressing", "False", "ProgressDeadlineExceeded"])
                ),
                "{samples:?}"
            );
        } else {
            assert!(
                samples.iter().all(|s| !has(
                    s,
                    json!(["Progressing", "False", "ProgressDeadlineExceeded"])
                )),
                "{samples:?}"
            );
        }
        // The counter over the last 30 s: a matrix of the users' calls.
        let counter = &activity(&j["run"], "read-counter-for-the-past-30-seconds")["output"];
        assert_eq!(counter["data"]["resultType"], "matrix", "{counter}");
        // v1 is already v1: nothing to undo, as `kubectl rollout undo` says; the others
        // are rolled back.
        let rollback = &j["rollbacks"][0];
        let expected = if v == 1 { "failed" } else { "succeeded" };
        assert_eq!(rollback["status"], expected, "{rollback:#}");
    }
    // v4's after-probe saw the errors the slower service caused.
    let after = &runs[3].journal["steady_states"]["after"]["probes"][0];
    let result = after["output"]["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(result.iter().any(|s| s["value"][1] != "0"), "{after:#}");
    assert!(service1.errors.load(Ordering::SeqCst) > 0);

    if std::env::var("SHAKEDOWN_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
        let fixtures = super::reference::workspace_root().join("tests/fixtures/talk-rollouts");
        std::fs::create_dir_all(&fixtures).expect("fixtures dir");
        for v in 1..=4 {
            let name = format!("rollout-v{v}-service2.journal.json");
            std::fs::copy(dir.join(&name), fixtures.join(&name)).expect("copy fixture");
        }
    }
}
