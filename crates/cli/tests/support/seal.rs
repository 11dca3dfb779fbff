//! Helpers of the `chaos seal autonomous` tests against the control plane of
//! `scripts/testenv` (`seal_run.rs`, `seal_clone.rs`). Needs `cluster` (drivers-k8s's
//! `tests/support/cluster.rs`) and `run` as sibling modules.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use super::cluster;
use super::run::{chaos_command, read_json};

/// A namespace of this test's own, fresh.
pub fn namespace(name: &str) -> String {
    let ns = format!("seal-{name}");
    let _ = cluster::try_kubectl_at(
        cluster::kubeconfig(),
        &["delete", "namespace", &ns, "--wait=true", "--timeout=120s"],
    );
    cluster::kubectl(&["create", "namespace", &ns], None);
    ns
}

pub fn k(args: &[&str]) -> String {
    cluster::kubectl(args, None)
}

/// Bare pods `victim-0` … `victim-{n-1}` (label `app=victim`), Ready.
pub fn victims(ns: &str, n: usize) {
    let docs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: victim-{i}, namespace: {ns}, labels: {{app: victim}}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n"
            )
        })
        .collect();
    cluster::kubectl(&["apply", "-f", "-"], Some(&docs.join("---\n")));
    k(&[
        "-n",
        ns,
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        "app=victim",
        "--timeout=120s",
    ]);
}

pub fn pod_names(ns: &str, selector: &str) -> Vec<String> {
    let list: Value =
        serde_json::from_str(&k(&["-n", ns, "get", "pods", "-l", selector, "-o", "json"]))
            .expect("pods as JSON");
    let mut names: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();
    names
}

pub fn exists(ns: &str, what: &str) -> bool {
    cluster::try_kubectl_at(cluster::kubeconfig(), &["-n", ns, "get", what]).is_some()
}

/// `needle` is in the seal's log `err` (shown whole when not).
pub fn has(err: &str, needle: &str) {
    assert!(err.contains(needle), "{needle:?} not in:\n{err}");
}

pub fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("policy.yml");
    std::fs::write(&path, text).expect("write policy");
    path
}

/// `chaos seal autonomous --policy-file POLICY --kubeconfig K --journal-dir journals
/// EXTRA…` in `dir`, with `env`; stderr piped (to spawn it and read its log).
pub fn autonomous_command(
    dir: &Path,
    policy: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> std::process::Command {
    let mut args = vec![
        "seal",
        "autonomous",
        "--policy-file",
        policy.to_str().expect("utf-8"),
        "--kubeconfig",
        cluster::kubeconfig(),
        "--journal-dir",
        "journals",
    ];
    args.extend_from_slice(extra);
    let mut cmd = chaos_command(dir, &args, env);
    cmd.stderr(std::process::Stdio::piped());
    cmd
}

/// [`autonomous_command`] with `--seed SEED`, run to its end.
pub fn autonomous(dir: &Path, policy: &Path, seed: &str, env: &[(&str, &str)]) -> Output {
    autonomous_command(dir, policy, &["--seed", seed], env)
        .output()
        .expect("run chaos")
}

pub fn journal(dir: &Path, scenario: &str, n: u64) -> Value {
    read_json(&dir.join(format!("journals/seal-journal-{scenario}-{n}.json")))
}

pub fn statuses(journal: &Value, list: &str) -> Vec<String> {
    journal[list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("(none)").to_string())
        .collect()
}

/// The pods the journal's first step killed (`namespace/name`), sorted.
pub fn killed(journal: &Value) -> Vec<String> {
    let mut k: Vec<String> = journal["run"][0]["output"]["killed"]
        .as_array()
        .expect("killed")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    k.sort();
    k
}
