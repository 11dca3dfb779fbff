//! PowerfulSeal policies from the command line: `chaos seal validate` and the same through
//! a link named `powerfulseal`, on the book's policies (`crates/seal/tests/policies`) and
//! a corpus of invalid ones: PowerfulSeal's output (`OK`, or `Policy not valid. See log
//! output above.`) and exit codes, with the file, line and path of each mistake; every
//! `autonomous` flag (the runner itself: `seal_run.rs`) and `label` (on the cluster: `seal_run.rs`).

#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;

use reference::workspace_root;
use run::{chaos, scratch, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn policies() -> PathBuf {
    workspace_root().join("crates/seal/tests/policies")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn seal(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["seal"];
    all.extend_from_slice(args);
    chaos(dir, &all, &[])
}

/// `powerfulseal ARGS` through a symbolic link to the `chaos` under test.
fn powerfulseal(dir: &Path, args: &[&str]) -> Output {
    let link = dir.join("powerfulseal");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_chaos"), &link).expect("link");
    }
    let mut cmd = Command::new(&link);
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    cmd.output().expect("run powerfulseal")
}

#[test]
fn the_books_policies_validate_as_chaos_seal_and_as_powerfulseal() {
    let dir = scratch("seal", "book");
    for name in [
        "book-11.1-probe.yml",
        "experiment1b.yml",
        "experiment2b.yml",
        "experiment3.yml",
    ] {
        let file = policies().join(name);
        let file = file.to_str().expect("utf-8 path");
        for out in [
            seal(&dir, &["validate", "--policy-file", file]),
            powerfulseal(&dir, &["validate", "--policy-file", file]),
        ] {
            assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
            assert_eq!(stdout(&out), "OK\n", "{name}");
            assert_eq!(stderr(&out), "", "{name}: nothing to warn about");
        }
    }
    assert!(
        !dir.join("chaostoolkit.log").exists(),
        "PowerfulSeal's modes leave no chaostoolkit.log"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn invalid_policies_name_the_file_line_and_path_and_exit_1() {
    let dir = scratch("seal", "invalid");
    let invalid = policies().join("invalid");
    for (name, expected) in [
        (
            "typo-namespace.yml",
            ":11:13: scenarios[0].steps[0].podAction.matches[0].labels: unknown key 'namspace' (expected one of: selector, namespace)",
        ),
        (
            "probability-object.yml",
            ":8:11: scenarios[0].steps[0].podAction.filters[0].probability: expected a number between 0 and 1, found a mapping",
        ),
        (
            "two-kinds.yml",
            ":4:5: scenarios[0].steps[0]: expected exactly one of: podAction, nodeAction, kubectl, probeHTTP, wait, clone, alertManagerAction; found both 'wait' and 'probeHTTP'",
        ),
    ] {
        let file = invalid.join(name);
        let file = file.to_str().expect("utf-8 path");
        for out in [
            seal(&dir, &["validate", "--policy-file", file]),
            powerfulseal(&dir, &["-v", "validate", "--policy-file", file]),
            // autonomous checks its policy first: invalid is exit 1, as upstream.
            seal(&dir, &["autonomous", "--headless", "--policy-file", file]),
        ] {
            assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
            assert_eq!(stdout(&out), "Policy not valid. See log output above.\n");
            let err = stderr(&out);
            assert!(
                err.starts_with(&format!("ERROR {file}{expected}")),
                "{name}: expected {expected:?} in:\n{err}"
            );
            assert!(!err.contains("panicked"));
        }
    }
    // A file that is not there, and one that is not YAML.
    let out = seal(&dir, &["validate", "--policy-file", "missing.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("ERROR missing.yml: cannot read the policy file: "));
    std::fs::write(dir.join("broken.yml"), "scenarios: [\n").expect("write");
    let out = seal(&dir, &["validate", "--policy-file", "broken.yml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("ERROR broken.yml:2:1: not valid YAML: "),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cloud_and_ssh_are_out_of_scope_and_say_so() {
    let dir = scratch("seal", "cloud");
    std::fs::write(
        dir.join("nodes.yml"),
        "scenarios:\n- name: stop a node\n  steps:\n  - nodeAction:\n      matches: [{property: {name: name, value: worker}}]\n      actions: [{stop: {}}]\n",
    )
    .expect("write");
    let out = seal(&dir, &["validate", "--policy-file", "nodes.yml"]);
    assert_eq!(out.status.code(), Some(0), "valid, as upstream");
    assert_eq!(stdout(&out), "OK\n");
    assert!(
        stderr(&out).starts_with("WARNING nodes.yml: line 6: scenarios[0].steps[0].nodeAction.actions[0].stop: stopping a node needs a cloud driver; Shakedown has no cloud drivers"),
        "{}",
        stderr(&out)
    );
    let policy = policies().join("experiment1b.yml");
    let policy = policy.to_str().expect("utf-8 path");
    let out = powerfulseal(&dir, &["autonomous", "--aws", "--policy-file", policy]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with(
        "ERROR --aws: PowerfulSeal's cloud drivers and SSH execution are out of scope"
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn autonomous_and_label_run_and_name_a_missing_kubeconfig() {
    let dir = scratch("seal", "modes");
    let policy = policies().join("experiment1b.yml");
    let policy = policy.to_str().expect("utf-8 path");
    // Every upstream flag parses; a kubeconfig that does not exist fails the pod step with
    // a message naming it, the scenario is reported (exitStrategy report) and the run ends 0.
    let out = powerfulseal(
        &dir,
        &[
            "autonomous",
            "--policy-file",
            policy,
            "--kubeconfig",
            "kubeconfig",
            "--headless",
            "--prometheus-collector",
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-port",
            "0",
            "--seed",
            "7",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Starting scenario 'Kill 50% of Goldpinger nodes' (1 steps)"),
        "{err}"
    );
    assert!(
        err.contains("kubeconfig kubeconfig: no such file (check --kubeconfig)"),
        "{err}"
    );
    assert!(
        err.contains("Scenario failed, reporting and carrying on"),
        "{err}"
    );
    assert!(err.contains("All done here!"), "{err}");
    let out = seal(
        &dir,
        &[
            "label",
            "--kubernetes-namespace",
            "default",
            "--kubeconfig",
            "kubeconfig",
            "--runs",
            "1",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("ERROR label_runner cannot list pods: kubeconfig kubeconfig: no such file"),
        "{err}"
    );
    assert!(err.contains("All done here!"), "{err}");
    // A flag PowerfulSeal does not have is a usage error.
    let out = seal(&dir, &["validate", "--policy-file", policy, "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// PowerfulSeal 3.1.0 from PyPI (`scripts/powerfulseal-peer`), or `None` when it was never
/// installed here; a test needing it FAILS when peers are required (`SHAKEDOWN_REQUIRE_PEERS`,
/// `CI`) or the script was run.
fn powerfulseal_peer() -> Option<PathBuf> {
    let peers = workspace_root().join("target/peers");
    let bin = peers.join("powerfulseal-venv/bin/powerfulseal");
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        !peers.join("powerfulseal.requested").exists(),
        "PowerfulSeal 3.1.0 is missing at {} although scripts/powerfulseal-peer ran here",
        bin.display()
    );
    reference::skip_or_fail(
        "PowerfulSeal differential",
        &format!(
            "PowerfulSeal 3.1.0 is missing at {}: run scripts/powerfulseal-peer",
            bin.display()
        ),
    );
    None
}

/// Policies both accept or both refuse, for PowerfulSeal 3.1.0 (which predates `clone` and
/// `retries`, so none uses them; nor `alertManagerAction`, whose upstream schema checks
/// nothing).
const DIFFERENTIAL: &[(&str, &str)] = &[
    ("minimal", "scenarios: []\n"),
    ("no-scenarios", "config: {}\n"),
    ("top-level-typo", "scenarios: []\nconfg: {}\n"),
    ("run-strategy", "config:\n  runStrategy: {strategy: random, runs: 3, minSecondsBetweenRuns: 1, maxSecondsBetweenRuns: 2}\n  exitStrategy: {strategy: fail-fast}\nscenarios: []\n"),
    ("bad-strategy", "config:\n  runStrategy: {strategy: sometimes}\nscenarios: []\n"),
    ("runs-zero", "config:\n  runStrategy: {runs: 0}\nscenarios: []\n"),
    ("bad-exit", "config:\n  exitStrategy: {strategy: fail-slow}\nscenarios: []\n"),
    ("short-name", "scenarios:\n- name: ab\n  steps: []\n"),
    ("no-steps", "scenarios:\n- name: abc\n"),
    ("unknown-step", "scenarios:\n- name: abc\n  steps:\n  - sleep: {seconds: 1}\n"),
    ("two-kinds", "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: 1}\n    kubectl: {action: apply, payload: x}\n"),
    ("wait-bool", "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: true}\n"),
    ("wait-negative", "scenarios:\n- name: abc\n  steps:\n  - wait: {seconds: -1}\n"),
    ("pod-all", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}, {deployment: {name: a, namespace: d}}, {labels: {selector: a=b, namespace: d}}]\n      filters: [{property: {name: name, value: 'a.*', negative: true}}, {randomSample: {size: 2}}, {dayTime: {onlyDays: [monday], startTime: {hour: 1, minute: 0, second: 0}, endTime: {hour: 2, minute: 0, second: 0}}}]\n      actions: [{kill: {probability: 0.5, force: false}}, {wait: {seconds: 1}}, {checkPodState: {state: Running}}, {checkPodCount: {count: 2}}]\n"),
    ("pod-typo", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namspace: d}]\n      actions: []\n"),
    ("pod-no-actions", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n"),
    ("property-name", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{property: {name: phase, value: x}}]\n      actions: []\n"),
    ("kill-probability", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      actions: [{kill: {probability: 2}}]\n"),
    ("sample-zero", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{randomSample: {size: 0}}]\n      actions: []\n"),
    ("day-typo", "scenarios:\n- name: abc\n  steps:\n  - podAction:\n      matches: [{namespace: d}]\n      filters: [{dayTime: {onlyDays: [funday], startTime: {hour: 1, minute: 0, second: 0}, endTime: {hour: 2, minute: 0, second: 0}}}]\n      actions: []\n"),
    ("node-all", "scenarios:\n- name: abc\n  steps:\n  - nodeAction:\n      matches: [{property: {name: ip, value: '10.*'}}]\n      actions: [{wait: {seconds: 1}}]\n"),
    ("node-bad-property", "scenarios:\n- name: abc\n  steps:\n  - nodeAction:\n      matches: [{property: {name: zone, value: x}}]\n      actions: []\n"),
    ("kubectl", "scenarios:\n- name: abc\n  steps:\n  - kubectl: {action: apply, payload: x, autoDelete: false}\n"),
    ("kubectl-create", "scenarios:\n- name: abc\n  steps:\n  - kubectl: {action: create, payload: x}\n"),
    ("kubectl-no-payload", "scenarios:\n- name: abc\n  steps:\n  - kubectl: {action: apply}\n"),
    ("probe-url", "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {url: 'http://x'}, method: post, code: 201, headers: [{name: a, value: b}]}\n"),
    ("probe-method", "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {url: 'http://x'}, method: put}\n"),
    ("probe-no-target", "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {endpoint: /x}\n"),
    ("probe-port", "scenarios:\n- name: abc\n  steps:\n  - probeHTTP: {target: {service: {name: s, namespace: n, port: 70000}}}\n"),
];

#[test]
fn powerfulseal_accepts_and_refuses_the_same_policies() {
    let Some(peer) = powerfulseal_peer() else {
        return;
    };
    let dir = scratch("seal", "differential");
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, text) in DIFFERENTIAL {
        let file = dir.join(format!("{name}.yml"));
        std::fs::write(&file, text).expect("write");
        files.push(file);
    }
    for name in ["book-11.1-probe.yml", "experiment1b.yml", "experiment3.yml"] {
        files.push(policies().join(name));
    }
    for name in ["typo-namespace.yml", "two-kinds.yml"] {
        files.push(policies().join("invalid").join(name));
    }
    for file in &files {
        let path = file.to_str().expect("utf-8 path");
        let ours = seal(&dir, &["validate", "--policy-file", path]);
        let mut cmd = Command::new(&peer);
        cmd.args(["validate", "--policy-file", path])
            .current_dir(&dir)
            .stdin(Stdio::null());
        let theirs = cmd.output().expect("run powerfulseal");
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{path}\nours: {}\ntheirs: {}{}",
            stderr(&ours),
            stdout(&theirs),
            stderr(&theirs)
        );
        assert_eq!(
            stdout(&ours).lines().last(),
            stdout(&theirs).lines().last(),
            "{path}: the last line on stdout"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
