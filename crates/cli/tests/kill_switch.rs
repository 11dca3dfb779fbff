//! The kill switch (issue #10, docs/kill-switch.md), against real runs: a file, an HTTP
//! endpoint served by a real local server, and a ConfigMap on the control plane of
//! `scripts/testenv`. Turned on during a long run, it stops the run and plays its
//! rollbacks; while it is on, the next run is refused; unreadable, it counts as on.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/http_server.rs"]
mod http_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use run::{chaos, chaos_command, read_json, record_names, scratch, stderr};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn process(name: &str, path: &str, arguments: &[&str]) -> Value {
    json!({"type": "action", "name": name,
           "provider": {"type": "process", "path": path, "arguments": arguments}})
}

/// A run that holds for a long time in its method, and whose rollback leaves a mark.
fn long_experiment(dir: &Path, marker: &str) {
    let experiment = json!({
        "title": "a long run",
        "description": "d",
        "method": [process("hold", "sleep", &[marker])],
        "rollbacks": [process("undo", "touch", &["rolled-back"])],
    });
    std::fs::write(dir.join("long.json"), experiment.to_string()).expect("experiment");
    let short = json!({"title": "a short run", "description": "d",
                       "method": [process("quick", "true", &[])]});
    std::fs::write(dir.join("short.json"), short.to_string()).expect("experiment");
}

/// Starts the long run, waits until its journal shows `hold` running, calls `turn_on`,
/// and returns the run's output and the time from `turn_on` to its end.
fn stop_a_long_run(
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    turn_on: impl FnOnce(),
) -> (Output, Duration) {
    let _ = std::fs::remove_file(dir.join("journal.json"));
    let _ = std::fs::remove_file(dir.join("rolled-back"));
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.push("long.json");
    let child = chaos_command(dir, &args, env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chaos run");
    let journal = dir.join("journal.json");
    let holding = |j: &Value| record_names(j, "run") == ["hold"];
    let seen = run::wait_for_journal(&journal, holding).is_some();
    assert!(seen, "the run never started holding");
    let switched = Instant::now();
    turn_on();
    let out = child.wait_with_output().expect("chaos output");
    (out, switched.elapsed())
}

/// What a run the switch stopped shows: exit 1, `interrupted`, the reason in the journal
/// and the log, the rollback played under the default strategy.
fn assert_stopped_and_rolled_back(dir: &Path, out: &Output, source: &str, took: Duration) {
    let err = stderr(out);
    eprintln!("the switch stopped the run {took:?} after it was turned on");
    assert_eq!(out.status.code(), Some(1), "{err}");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "interrupted", "{journal:#}");
    assert_eq!(journal["interruption"]["kind"], "kill-switch");
    let reason = journal["interruption"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains(&format!("The kill switch ({source})")),
        "{reason}"
    );
    // The long action did not run to its end: it was interrupted.
    assert!(journal["run"][0]["status"] != "succeeded", "{journal:#}");
    assert_eq!(record_names(&journal, "rollbacks"), ["undo"]);
    assert!(dir.join("rolled-back").exists(), "the rollback ran");
    assert!(
        err.contains(&format!(
            "CRITICAL] The kill switch ({source}) is on: the experiment stops now and rolls back"
        )),
        "{err}"
    );
    assert!(
        err.contains("Rollbacks will be played because the kill switch stopped the experiment"),
        "{err}"
    );
}

/// While the switch is on, a run is refused before anything: exit 1, no journal.
fn assert_refused(dir: &Path, out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    assert!(!err.contains("Running experiment"), "{err}");
    assert!(!dir.join("journal.json").exists(), "no journal");
}

fn marker(n: u32) -> String {
    format!("{n}.{:03}", std::process::id() % 1000)
}

#[test]
fn a_file_switch_stops_a_run_refuses_the_next_and_lets_them_run_once_removed() {
    let dir = scratch("kill-switch", "file");
    long_experiment(&dir, &marker(40));
    let switch = dir.join("stop");
    let _ = std::fs::remove_file(&switch);
    let (out, took) = stop_a_long_run(&dir, &["--kill-switch", "stop"], &[], || {
        std::fs::write(&switch, "").expect("touch the switch");
    });
    assert_stopped_and_rolled_back(&dir, &out, "file stop", took);

    let _ = std::fs::remove_file(dir.join("journal.json"));
    let out = chaos(&dir, &["run", "--kill-switch", "stop", "short.json"], &[]);
    assert_refused(
        &dir,
        &out,
        "ERROR] the kill switch (file stop) is on: no experiment runs while it is (remove stop to let them run)",
    );

    // Written off, or removed: runs go again.
    std::fs::write(&switch, "off\n").expect("write off");
    let out = chaos(&dir, &["run", "--kill-switch", "stop", "short.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_file(&switch).expect("remove the switch");
    let out = chaos(&dir, &["run", "--kill-switch", "stop", "short.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_http_switch_from_the_environment_stops_a_run_and_an_unreachable_one_counts_as_on() {
    let dir = scratch("kill-switch", "http");
    long_experiment(&dir, &marker(41));
    let server = http_server::TestServer::start(Some(dir.clone()));
    let url = format!("{}/file/switch?ct=text/plain", server.base_url());
    std::fs::write(dir.join("switch"), "off").expect("off");
    let env = [("CHAOS_KILL_SWITCH", url.as_str())];
    let (out, took) = stop_a_long_run(&dir, &[], &env, || {
        std::fs::write(dir.join("switch"), "on\n").expect("on");
    });
    assert_stopped_and_rolled_back(&dir, &out, &url, took);
    assert!(server
        .requests()
        .iter()
        .any(|r| r.starts_with("/file/switch")));

    // A switch nobody answers for: refused, unless unreadable switches may be ignored.
    let closed = format!("http://127.0.0.1:{}/switch", http_server::closed_port());
    let _ = std::fs::remove_file(dir.join("journal.json"));
    let out = chaos(
        &dir,
        &["run", "short.json"],
        &[("CHAOS_KILL_SWITCH", &closed)],
    );
    assert_refused(
        &dir,
        &out,
        "the kill switch cannot be read, so it counts as on: cannot read",
    );
    let out = chaos(
        &dir,
        &["run", "short.json"],
        &[
            ("CHAOS_KILL_SWITCH", &closed),
            ("CHAOS_KILL_SWITCH_UNREADABLE", "continue"),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("WARNING] The kill switch cannot be read; the run goes on as asked"),
        "{err}"
    );
    // A switch that is not understood: a clear error before anything runs.
    std::fs::remove_file(dir.join("journal.json")).expect("the last run's journal");
    let out = chaos(
        &dir,
        &["run", "--kill-switch", "ftp://x/y", "short.json"],
        &[],
    );
    assert_refused(
        &dir,
        &out,
        "the kill switch 'ftp://x/y' (from --kill-switch) is not understood",
    );
}

#[test]
fn a_configmap_switch_from_the_settings_stops_a_run_in_the_cluster() {
    let dir = scratch("kill-switch", "configmap");
    long_experiment(&dir, &marker(42));
    let kubeconfig = cluster::kubeconfig();
    let ns = format!("kill-switch-{}", std::process::id());
    let _ = cluster::kubectl(&["delete", "namespace", &ns, "--ignore-not-found"], None);
    cluster::kubectl(&["create", "namespace", &ns], None);
    std::fs::write(
        dir.join("settings.yaml"),
        format!("runtime:\n  kill_switch: configmap:{ns}/kill-switch\n"),
    )
    .expect("settings");
    let env = [("KUBECONFIG", kubeconfig)];
    let source = format!("ConfigMap {ns}/kill-switch");

    // On: refused, with the command that turns it off.
    cluster::kubectl(
        &[
            "-n",
            &ns,
            "create",
            "configmap",
            "kill-switch",
            "--from-literal=state=on",
        ],
        None,
    );
    let out = chaos(&dir, &["run", "short.json"], &env);
    assert_refused(
        &dir,
        &out,
        &format!("the kill switch ({source}) is on: no experiment runs while it is (kubectl -n {ns} delete configmap kill-switch to let them run)"),
    );
    // Off (state: off): runs.
    cluster::kubectl(
        &[
            "-n",
            &ns,
            "patch",
            "configmap",
            "kill-switch",
            "-p",
            r#"{"data":{"state":"off"}}"#,
        ],
        None,
    );
    let out = chaos(&dir, &["run", "short.json"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Deleted: off; created during a run (no state: on): the run stops.
    cluster::kubectl(&["-n", &ns, "delete", "configmap", "kill-switch"], None);
    let (out, took) = stop_a_long_run(&dir, &[], &env, || {
        cluster::kubectl(&["-n", &ns, "create", "configmap", "kill-switch"], None);
    });
    assert_stopped_and_rolled_back(&dir, &out, &source, took);
    let _ = cluster::kubectl(&["delete", "namespace", &ns, "--wait=false"], None);
}
