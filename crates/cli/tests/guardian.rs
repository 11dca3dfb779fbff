//! The guardian (issue #15): `chaos run` killed with SIGKILL at random points of real
//! experiments (a renamed file, a latency toxic on a real `chaos proxy serve`, a deployment
//! scaled to zero on the control plane of `scripts/testenv`) leaves the system restored and
//! a whole journal, every time.
//!
//! Each kill point is drawn from a seeded generator (the seed is printed; set
//! `SHAKEDOWN_GUARDIAN_SEED` to replay one). A kill lands after the run has started (its
//! journal exists) and anywhere from the first activity to after the end. The test then
//! waits for the guardian: it shares the run's standard error, so reading that to its end
//! waits for the guardian to finish.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/proxy_server.rs"]
mod proxy_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use run::{chaos_command, read_json, record_names, scratch};
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A small deterministic generator (SplitMix64): kill points that can be replayed.
struct Points(u64);

impl Points {
    fn new(test: &str) -> Points {
        let seed = std::env::var("SHAKEDOWN_GUARDIAN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            });
        eprintln!("{test}: SHAKEDOWN_GUARDIAN_SEED={seed}");
        Points(seed)
    }

    /// The kill delay of `round`: the first round's lands within `during_ms` (a span the
    /// run is certainly still in, so the guardian is always exercised), every other one
    /// anywhere in [0, max_ms), after the run's end included.
    fn for_round(&mut self, round: usize, during_ms: u64, max_ms: u64) -> Duration {
        self.next(if round == 0 { during_ms } else { max_ms })
    }

    /// A delay in [0, max_ms) milliseconds.
    fn next(&mut self, max_ms: u64) -> Duration {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Duration::from_millis((z ^ (z >> 31)) % max_ms)
    }
}

fn process(name: &str, path: &str, arguments: &[&str]) -> Value {
    json!({"type": "action", "name": name,
           "provider": {"type": "process", "path": path, "arguments": arguments}})
}

/// What one killed run left behind.
struct Killed {
    journal: Value,
    stderr: String,
    log: String,
}

/// `chaos ARGS` in `dir`, and a thread that reads its standard error to the end (which
/// the run's guardian shares: the end is the guardian's end too).
fn spawn_reading_stderr(
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, std::thread::JoinHandle<String>) {
    reading_stderr(chaos_command(dir, args, env))
}

/// Spawns `command` with its standard error read to the end by a thread.
fn reading_stderr(mut command: std::process::Command) -> (Child, std::thread::JoinHandle<String>) {
    let mut child: Child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chaos run");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    (child, reader)
}

/// Starts `chaos run` in `dir`, waits until its journal exists (the run has started),
/// SIGKILLs it `delay` later, and waits for its guardian to finish.
fn run_and_kill(dir: &Path, args: &[&str], env: &[(&str, &str)], delay: Duration) -> Killed {
    let journal_path = dir.join("journal.json");
    let _ = std::fs::remove_file(&journal_path);
    let _ = std::fs::remove_file(dir.join("chaostoolkit.log"));
    let mut full = vec!["run", "--journal-path", "journal.json"];
    full.extend_from_slice(args);
    let (mut child, reader) = spawn_reading_stderr(dir, &full, env);
    // Readiness wait, bounded: the run has started once its journal exists.
    for _ in 0..1200 {
        if journal_path.exists() || matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    // The guardian holds the same standard error: its end is the guardian's end.
    let stderr = reader.join().expect("stderr reader");
    let log = std::fs::read_to_string(dir.join("chaostoolkit.log")).unwrap_or_default();
    let journal = read_json(&journal_path);
    Killed {
        journal,
        stderr,
        log,
    }
}

/// Every record of the journal's lists is closed: a status, an end.
fn assert_whole(journal: &Value, context: &str) {
    assert!(
        journal["status"].is_string(),
        "a final status; {context}\n{journal:#}"
    );
    assert!(journal["end"].is_string(), "an end; {context}");
    let mut records: Vec<&Value> = Vec::new();
    for list in ["run", "rollbacks"] {
        records.extend(journal[list].as_array().into_iter().flatten());
    }
    for phase in ["before", "after"] {
        records.extend(
            journal["steady_states"][phase]["probes"]
                .as_array()
                .into_iter()
                .flatten(),
        );
    }
    for record in records {
        assert!(
            record["status"].is_string() && record["end"].is_string(),
            "every record closed; {context}\n{record:#}"
        );
    }
    if let Err(e) = journal::from_value(journal.clone()) {
        panic!("the journal does not read back as a journal ({e}); {context}\n{journal:#}");
    }
}

/// The pids of the processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_killed_run_puts_a_renamed_file_back_and_leaves_a_whole_journal_at_every_kill_point() {
    let dir = scratch("guardian", "rename");
    let mut points = Points::new("rename");
    // A unique sleep length marks this test's processes in the process table.
    let marker = format!("1.{:03}", std::process::id() % 1000);
    let secret = "guardian-s3cr3t-value";
    let experiment = json!({
        "title": "the data file is moved away and back",
        "description": "d",
        "secrets": {"vault": {"token": secret}},
        "method": [
            process("move-away", "mv", &["data", "data.moved"]),
            process("hold", "sleep", &[&marker]),
        ],
        "rollbacks": [
            process("move-back", "mv", &["data.moved", "data"]),
            {"type": "action", "name": "say-token",
             "provider": {"type": "process", "path": "echo", "arguments": "${token}"}},
            process("settle", "sleep", &["0.4"]),
        ],
    });
    std::fs::write(dir.join("e.json"), experiment.to_string()).expect("experiment");
    let mut took_over = 0;
    for round in 0..12 {
        std::fs::write(dir.join("data"), "precious").expect("data");
        let _ = std::fs::remove_file(dir.join("data.moved"));
        let delay = points.for_round(round, 1000, 2200);
        let killed = run_and_kill(&dir, &["e.json"], &[], delay);
        let context = format!("round {round}, killed {delay:?} after the start");
        let journal = &killed.journal;

        // The system is restored: the file is back where it was, whole.
        assert_eq!(
            std::fs::read_to_string(dir.join("data")).ok().as_deref(),
            Some("precious"),
            "the data file is back; {context}\n{}\n{journal:#}",
            killed.stderr
        );
        assert!(!dir.join("data.moved").exists(), "{context}");
        // No activity outlived the run or its guardian.
        assert_eq!(
            processes_with(&format!("sleep {marker}")),
            Vec::<u32>::new(),
            "no orphan; {context}"
        );
        assert_whole(journal, &context);
        // No temporary journal file is left beside it.
        let leftovers: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}; {context}");
        // The secret is nowhere.
        for (what, text) in [
            ("journal", journal.to_string()),
            ("stderr", killed.stderr.clone()),
            ("log", killed.log.clone()),
        ] {
            assert!(
                !text.contains(secret),
                "the secret leaked into the {what}; {context}"
            );
        }

        if let Some(guardian) = journal.get("guardian") {
            took_over += 1;
            assert_eq!(journal["status"], "aborted", "{context}");
            assert!(
                killed
                    .stderr
                    .contains("ended before the run did: the guardian takes over"),
                "{context}\n{}",
                killed.stderr
            );
            assert!(killed.log.contains("the guardian takes over"), "{context}");
            let played = guardian["rollbacks"]["played"].as_u64().unwrap_or(0);
            if guardian["rollbacks"].get("reason").is_some() {
                assert_eq!(played, 0, "{context}");
                // Killed before the method: nothing to undo under the default strategy
                // (and the data file, checked above, never moved).
                assert_eq!(
                    guardian["rollbacks"]["reason"], "no activity of the method had started",
                    "{context}"
                );
                assert_eq!(journal["run"], json!([]), "{context}");
            } else {
                // Every rollback the run had not finished was played by the guardian.
                let before = guardian["rollbacks"]["already_played_by_the_run"]
                    .as_u64()
                    .unwrap_or(0);
                // (none, when the kill came after the run's last rollback)
                assert!(played + before >= 3, "{guardian:#}; {context}");
                let names = record_names(journal, "rollbacks");
                assert_eq!(
                    names.last().map(String::as_str),
                    Some("settle"),
                    "{context}"
                );
            }
        } else {
            // The kill came after the end: the run's own final journal.
            assert_eq!(journal["status"], "completed", "{context}\n{journal:#}");
            assert_eq!(
                record_names(journal, "rollbacks"),
                ["move-back", "say-token", "settle"]
            );
        }
    }
    // The kill points were not all after the end: the guardian was tested.
    assert!(took_over > 0, "no kill landed during a run");
}

#[test]
fn a_killed_run_removes_its_proxy_toxic_at_every_kill_point() {
    let dir = scratch("guardian", "toxic");
    let mut points = Points::new("toxic");
    let server = proxy_server::Server::start(&dir, &[]);
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").expect("upstream");
    let upstream_addr = upstream.local_addr().expect("addr");
    server.create("guarded", upstream_addr);
    let toxics = || -> Value {
        let (status, body) = server.request("GET", "/proxies/guarded/toxics", "", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("toxics JSON")
    };
    let toxic_call = |name: &str, func: &str, arguments: Value| {
        json!({"type": "action", "name": name, "provider": {
            "type": "python", "module": "chaostoxi.toxic.actions", "func": func,
            "arguments": arguments}})
    };
    let experiment = json!({
        "title": "a latency toxic on the proxy, removed by the rollback",
        "description": "d",
        "configuration": {
            "toxiproxy_host": "127.0.0.1",
            "toxiproxy_port": server.api.port(),
        },
        "method": [
            toxic_call("add-latency", "create_latency_toxic",
                       json!({"for_proxy": "guarded", "toxic_name": "slow", "latency": 250})),
            process("hold", "sleep", &["1"]),
        ],
        "rollbacks": [
            toxic_call("remove-latency", "delete_toxic",
                       json!({"for_proxy": "guarded", "toxic_name": "slow"})),
        ],
    });
    std::fs::write(dir.join("e.json"), experiment.to_string()).expect("experiment");
    let mut took_over = 0;
    for round in 0..8 {
        let delay = points.for_round(round, 900, 1500);
        let killed = run_and_kill(&dir, &["e.json"], &[], delay);
        let context = format!("round {round}, killed {delay:?} after the start");
        assert_eq!(
            toxics(),
            json!([]),
            "the toxic is gone; {context}\n{}",
            killed.stderr
        );
        assert_whole(&killed.journal, &context);
        took_over += usize::from(killed.journal.get("guardian").is_some());
    }
    assert!(took_over > 0, "no kill landed during a run");
}

#[test]
fn a_run_killed_before_its_method_is_rolled_back_only_under_the_always_strategy() {
    let dir = scratch("guardian", "before");
    let slow = format!("30.{:03}", std::process::id() % 1000);
    let experiment = json!({
        "title": "killed while the hypothesis runs",
        "description": "d",
        "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "slow-check", "tolerance": 0,
             "provider": {"type": "process", "path": "sleep", "arguments": [slow]}}]},
        "method": [process("touch", "touch", &["method-ran"])],
        "rollbacks": [process("undo", "touch", &["rolled-back"])],
        "controls": [{"name": "sync", "provider": {
            "type": "python", "module": "chaosaddons.controls.synchronization"}}],
    });
    std::fs::write(dir.join("e.json"), experiment.to_string()).expect("experiment");
    for (strategy, rolled_back) in [("default", false), ("always", true)] {
        let _ = std::fs::remove_file(dir.join("rolled-back"));
        let killed = {
            // Kill once the journal shows the slow probe running.
            let journal_path = dir.join("journal.json");
            let _ = std::fs::remove_file(&journal_path);
            let (mut child, reader) = spawn_reading_stderr(
                &dir,
                &[
                    "run",
                    "--journal-path",
                    "journal.json",
                    "--rollback-strategy",
                    strategy,
                    "e.json",
                ],
                &[],
            );
            let probing =
                |j: &Value| record_names(&j["steady_states"]["before"], "probes") == ["slow-check"];
            let seen = run::wait_for_journal(&journal_path, probing).is_some();
            let _ = child.kill();
            let _ = child.wait();
            let stderr = reader.join().expect("reader");
            assert!(
                seen,
                "the journal never showed the probe running:\n{stderr}"
            );
            (read_json(&journal_path), stderr)
        };
        let (journal, stderr) = killed;
        let context = format!("--rollback-strategy {strategy}\n{stderr}");
        assert!(!dir.join("method-ran").exists(), "{context}");
        assert_eq!(dir.join("rolled-back").exists(), rolled_back, "{context}");
        assert_whole(&journal, &context);
        assert_eq!(journal["status"], "aborted");
        let probe = &journal["steady_states"]["before"]["probes"][0];
        assert_eq!(probe["status"], "failed", "{probe:#}");
        let guardian = &journal["guardian"];
        if rolled_back {
            assert_eq!(record_names(&journal, "rollbacks"), ["undo"], "{context}");
            assert!(
                stderr.contains(
                    "WARNING] The guardian plays the rollbacks without the run's controls: 'sync' will not be called"
                ),
                "{context}"
            );
            assert_eq!(guardian["rollbacks"]["played"], 1);
        } else {
            assert_eq!(journal["rollbacks"], json!([]));
            assert_eq!(
                guardian["rollbacks"]["reason"],
                "no activity of the method had started"
            );
            assert!(
                stderr.contains(
                    "The guardian plays no rollbacks: no activity of the method had started"
                ),
                "{context}"
            );
        }
        assert_eq!(
            processes_with(&format!("sleep {slow}")),
            Vec::<u32>::new(),
            "the probe's sleep is gone"
        );
    }
}

#[test]
fn a_killed_run_scales_its_deployment_back_at_every_kill_point() {
    let dir = scratch("guardian", "scale");
    let mut points = Points::new("scale");
    let kubeconfig = cluster::kubeconfig();
    let ns = format!("guardian-{}", std::process::id());
    let _ = cluster::kubectl(
        &[
            "delete",
            "namespace",
            &ns,
            "--ignore-not-found",
            "--wait=false",
        ],
        None,
    );
    cluster::kubectl(&["create", "namespace", &ns], None);
    cluster::kubectl(
        &[
            "-n",
            &ns,
            "create",
            "deployment",
            "web",
            "--image=nginx",
            "--replicas=3",
        ],
        None,
    );
    let replicas = || {
        cluster::kubectl(
            &[
                "-n",
                &ns,
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.spec.replicas}",
            ],
            None,
        )
    };
    let scale = |name: &str, replicas: u32| {
        json!({"type": "action", "name": name, "provider": {
            "type": "python", "module": "chaosk8s.deployment.actions",
            "func": "scale_deployment",
            "arguments": {"name": "web", "replicas": replicas, "ns": ns}}})
    };
    let experiment = json!({
        "title": "the deployment is scaled to zero, and back",
        "description": "d",
        "method": [scale("scale-down", 0), process("hold", "sleep", &["1.5"])],
        "rollbacks": [scale("scale-back", 3)],
    });
    std::fs::write(dir.join("e.json"), experiment.to_string()).expect("experiment");
    let mut took_over = 0;
    for round in 0..5 {
        let delay = points.for_round(round, 1400, 2500);
        let killed = run_and_kill(&dir, &["e.json"], &[("KUBECONFIG", kubeconfig)], delay);
        let context = format!("round {round}, killed {delay:?} after the start");
        assert_eq!(replicas(), "3", "scaled back; {context}\n{}", killed.stderr);
        assert_whole(&killed.journal, &context);
        took_over += usize::from(killed.journal.get("guardian").is_some());
    }
    let _ = cluster::kubectl(&["delete", "namespace", &ns, "--wait=false"], None);
    assert!(took_over > 0, "no kill landed during a run");
}

/// `chaos run` as the first process of a new PID namespace (as in a container), through
/// `unshare`; the journal shows `hold` running when it returns. Returns the `unshare`
/// process, the stderr reader, and the pid (outside the namespace) of the `chaos` that is
/// PID 1 inside it.
fn run_as_first_process(
    dir: &Path,
    env: &[(&str, &str)],
) -> (Child, std::thread::JoinHandle<String>, u32) {
    let _ = std::fs::remove_file(dir.join("journal.json"));
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--pid", "--fork"])
        .arg(env!("CARGO_BIN_EXE_chaos"))
        .arg("--settings")
        .arg(dir.join("settings.yaml"))
        .args(["run", "--journal-path", "journal.json", "e.json"])
        .current_dir(dir)
        .env("CHAOS_COLOR", "never")
        .stdin(Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (mut child, reader) = reading_stderr(cmd);
    let holding = |j: &Value| record_names(j, "run") == ["move-away", "hold"];
    if run::wait_for_journal(&dir.join("journal.json"), holding).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "the run never held (are user and PID namespaces allowed here?):\n{}",
            reader.join().unwrap_or_default()
        );
    }
    let first = run::children(child.id());
    assert_eq!(first.len(), 1, "unshare --fork has one child: {first:?}");
    (child, reader, first[0])
}

#[test]
fn in_a_container_the_first_process_keeps_the_guardian_alive_when_the_run_is_killed() {
    let dir = scratch("guardian", "pid1");
    let marker = format!("9.{:03}", std::process::id() % 1000);
    let experiment = json!({
        "title": "the data file is moved away and back",
        "description": "d",
        "method": [
            process("move-away", "mv", &["data", "data.moved"]),
            process("hold", "sleep", &[&marker]),
        ],
        "rollbacks": [process("move-back", "mv", &["data.moved", "data"])],
    });
    std::fs::write(dir.join("e.json"), experiment.to_string()).expect("experiment");

    // The run killed (as by the OOM killer): PID 1 is `chaos` as a minimal init, the run is
    // its child; the guardian rolls back, and PID 1 exits with the run's 128 + 9.
    std::fs::write(dir.join("data"), "precious").expect("data");
    let (mut unshare, reader, init) = run_as_first_process(&dir, &[]);
    let runs = run::children(init);
    assert_eq!(
        runs.len(),
        1,
        "the init runs the command in one child: {runs:?}"
    );
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(runs[0] as i32, libc::SIGKILL) };
    let status = unshare.wait().expect("unshare");
    let stderr = reader.join().expect("stderr");
    assert_eq!(status.code(), Some(137), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("data")).ok().as_deref(),
        Some("precious"),
        "{stderr}"
    );
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "aborted");
    assert_eq!(journal["guardian"]["rollbacks"]["played"], 1);
    assert_whole(&journal, "pid 1");
    assert_eq!(
        processes_with(&format!("sleep {marker}")),
        Vec::<u32>::new()
    );

    // SIGTERM to PID 1 (what `kubectl delete pod` sends) reaches the run, which stops as
    // interrupted and exits 1 (the default strategy plays no rollback on SIGTERM).
    std::fs::write(dir.join("data"), "precious").expect("data");
    let _ = std::fs::remove_file(dir.join("data.moved"));
    let (mut unshare, reader, init) = run_as_first_process(&dir, &[]);
    // SAFETY: as above.
    unsafe { libc::kill(init as i32, libc::SIGTERM) };
    let status = unshare.wait().expect("unshare");
    let stderr = reader.join().expect("stderr");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("Caught SIGTERM signal, interrupting experiment now"),
        "{stderr}"
    );
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "interrupted", "{journal:#}");
    assert!(journal.get("guardian").is_none(), "the run ended itself");

    // Why: without the init (chaos runs the command itself as PID 1), killing the run
    // kills the whole namespace, guardian included, and the fault stays.
    std::fs::write(dir.join("data"), "precious").expect("data");
    let _ = std::fs::remove_file(dir.join("data.moved"));
    let (mut unshare, reader, init) = run_as_first_process(&dir, &[("SHAKEDOWN_NO_INIT", "1")]);
    // SAFETY: as above.
    unsafe { libc::kill(init as i32, libc::SIGKILL) };
    let _ = unshare.wait();
    let _ = reader.join();
    assert!(
        dir.join("data.moved").exists(),
        "nothing rolled back without the init"
    );
    let _ = std::fs::rename(dir.join("data.moved"), dir.join("data"));
}
