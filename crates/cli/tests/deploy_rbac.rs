//! The manifests under `deploy/rbac/` on the real control plane (`scripts/testenv`), with
//! RBAC enforced by the real apiserver (issue #12): the runner's service account, with a
//! token from the TokenRequest API as a pod would have it, runs the book's in-cluster
//! experiments (K02's random pod kill from its own namespace and from the application's,
//! K03's random node drain) with exactly
//! the permissions the manifests grant; a permission taken away fails the activity with a
//! message naming it; and the account can do nothing beyond what the manifests document.
//!
//! The experiments are the book's ConfigMap entries (`k8s/chaos/experiments-node.yaml`),
//! with only the namespaces and the pauses (to keep the test short) changed.
//! The manifests are applied as shipped, the namespaces `chaos` and `go-demo-8` renamed.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const APP_NS: &str = "deploy-rbac-app";
const CHAOS_NS: &str = "deploy-rbac-chaos";

fn deploy(path: &str) -> String {
    let text = std::fs::read_to_string(cluster::root().join("deploy").join(path))
        .unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    text.replace("namespace: go-demo-8", &format!("namespace: {APP_NS}"))
        .replace("namespace: chaos", &format!("namespace: {CHAOS_NS}"))
}

/// The book's ConfigMap entry `key`, from the corpus, for the test's namespace.
fn book_experiment(key: &str) -> String {
    let corpus = std::env::var_os("SHAKEDOWN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cluster::root().join("../shared/corpus"));
    let file = corpus.join("go-demo-8/k8s/chaos/experiments-node.yaml");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let docs: Vec<Value> = text
        .split("\n---")
        .filter_map(|d| yaml_to_json(d.trim()))
        .collect();
    let data = docs
        .iter()
        .find_map(|d| d.get("data").and_then(|data| data.get(key)))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} not in {}", file.display()));
    data.replace("ns: go-demo-8", &format!("ns: {APP_NS}"))
        .replace("after: 180", "after: 1")
        .replace("after: 10", "after: 1")
}

/// A Kubernetes YAML document as JSON, read by kubectl (`create --dry-run=client`).
fn yaml_to_json(doc: &str) -> Option<Value> {
    if !doc.contains("kind:") {
        return None;
    }
    let out = cluster::kubectl(
        &["create", "--dry-run=client", "-o", "json", "-f", "-"],
        Some(doc),
    );
    serde_json::from_str(&out).ok()
}

fn reset_namespaces() {
    cluster::kubectl(
        &[
            "delete",
            "namespace",
            APP_NS,
            CHAOS_NS,
            "--ignore-not-found",
            "--wait=true",
        ],
        None,
    );
    for ns in [APP_NS, CHAOS_NS] {
        cluster::kubectl(&["create", "namespace", ns], None);
    }
}

/// Two replicas of a small app on the fake nodes.
fn app() {
    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: go-demo-8, namespace: {APP_NS}}}\n\
         spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: go-demo-8}}}}\n  template:\n    \
         metadata: {{labels: {{app: go-demo-8}}}}\n    spec:\n      containers:\n      \
         - {{name: app, image: vfarcic/go-demo-8}}\n"
    );
    cluster::kubectl(&["apply", "-f", "-"], Some(&manifest));
    cluster::kubectl(
        &[
            "-n",
            APP_NS,
            "rollout",
            "status",
            "deployment/go-demo-8",
            "--timeout=120s",
        ],
        None,
    );
}

/// A kubeconfig holding a token of `ns`/`chaostoolkit` from the TokenRequest API, as the
/// kubelet projects it into a pod, for the same apiserver and CA as the admin's.
fn service_account_kubeconfig(dir: &Path, ns: &str) -> PathBuf {
    cluster::token_kubeconfig(dir, ns, "chaostoolkit")
}

/// `chaos run` of `experiment` as the service account of `kubeconfig`: the journal.
fn run_as(dir: &Path, kubeconfig: &Path, name: &str, experiment: &str) -> Value {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, experiment).expect("experiment");
    let journal = dir.join(format!("{name}.json"));
    let out = run::chaos(
        dir,
        &[
            "run",
            "--journal-path",
            journal.to_str().expect("utf-8"),
            file.to_str().expect("utf-8"),
        ],
        &[
            ("KUBECONFIG", kubeconfig.to_str().expect("utf-8")),
            ("HOME", dir.to_str().expect("utf-8")),
        ],
    );
    let err = run::stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    run::read_json(&journal)
}

fn pods(ns: &str) -> BTreeSet<String> {
    cluster::kubectl(
        &[
            "-n",
            ns,
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
        None,
    )
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

/// `resource:verb` pairs `kubectl auth can-i --list` gives the account in `ns`, without the
/// self-review rules every authenticated user has (`system:basic-user`) and the
/// non-resource URLs (`system:discovery`, `system:public-info-viewer`).
fn granted(account: &str, ns: &str) -> BTreeSet<String> {
    let out = cluster::kubectl(
        &["auth", "can-i", "--list", "--as", account, "-n", ns],
        None,
    );
    let mut set = BTreeSet::new();
    for line in out.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let Some(resource) = cols.first() else {
            continue;
        };
        if resource.starts_with("selfsubject") || line.trim_start().starts_with('[') {
            continue;
        }
        let verbs = line
            .rfind('[')
            .map(|i| line[i + 1..].trim_end().trim_end_matches(']'))
            .unwrap_or_default();
        for verb in verbs.split_whitespace() {
            set.insert(format!("{resource}:{verb}"));
        }
    }
    set
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_runner_has_exactly_what_the_book_s_experiments_need() {
    cluster::kubeconfig();
    let dir = run::scratch("deploy-rbac", "runner");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    reset_namespaces();
    app();
    for file in ["rbac/pod-chaos-from-namespace.yaml", "rbac/node-chaos.yaml"] {
        cluster::kubectl(&["apply", "-f", "-"], Some(&deploy(file)));
    }
    // K01's layout too: the runner in the application's own namespace.
    cluster::kubectl(
        &["-n", APP_NS, "apply", "-f", "-"],
        Some(&deploy("rbac/pod-chaos.yaml")),
    );

    // Nothing beyond the documented table of each manifest.
    let chaos_sa = format!("system:serviceaccount:{CHAOS_NS}:chaostoolkit");
    let cluster_wide = [
        "nodes:get",
        "nodes:list",
        "nodes:patch",
        "pods:list",
        "pods:watch",
        "pods/eviction:create",
    ];
    let mut in_app = set(&["pods:get", "pods:delete"]);
    in_app.extend(set(&cluster_wide));
    assert_eq!(granted(&chaos_sa, APP_NS), in_app, "{chaos_sa} in {APP_NS}");
    assert_eq!(
        granted(&chaos_sa, CHAOS_NS),
        set(&cluster_wide),
        "{chaos_sa} in {CHAOS_NS}"
    );
    let app_sa = format!("system:serviceaccount:{APP_NS}:chaostoolkit");
    assert_eq!(
        granted(&app_sa, APP_NS),
        set(&["pods:get", "pods:list", "pods:delete"]),
        "{app_sa} in {APP_NS}"
    );
    assert_eq!(granted(&app_sa, "default"), set(&[]), "{app_sa} in default");

    // K02 from the runner's own namespace: a random pod of the application is killed.
    let k02 = book_experiment("health-instances.yaml");
    let kc = service_account_kubeconfig(&dir, CHAOS_NS);
    let before = pods(APP_NS);
    let journal = run_as(&dir, &kc, "k02", &k02);
    assert_eq!(journal["status"], "completed", "{journal:#}");
    assert_eq!(journal["run"][0]["status"], "succeeded", "{journal:#}");
    let killed = journal["run"][0]["output"].clone();
    assert!(!before.is_empty());
    assert_ne!(pods(APP_NS), before, "no pod was terminated: {killed}");

    // The same experiment as K01 lays it out: the runner in the application's namespace.
    let app_kc = service_account_kubeconfig(&dir, APP_NS);
    let journal = run_as(&dir, &app_kc, "k01-layout", &k02);
    assert_eq!(journal["status"], "completed", "{journal:#}");
    assert_eq!(journal["run"][0]["status"], "succeeded", "{journal:#}");

    // K03: one random node (`beta.kubernetes.io/os=linux`, which every fake node has)
    // drained, and uncordoned by the rollback, as the runner of `chaos`.
    let k03 = book_experiment("node.yaml");
    let journal = run_as(&dir, &kc, "k03", &k03);
    assert_eq!(journal["status"], "completed", "{journal:#}");
    assert_eq!(journal["run"][0]["status"], "succeeded", "{journal:#}");
    assert_eq!(
        journal["rollbacks"][0]["status"], "succeeded",
        "{journal:#}"
    );
    let drained = journal["run"][0]["output"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no drained node in {journal:#}"))
        .to_string();
    let unschedulable = cluster::kubectl(
        &[
            "get",
            "node",
            &drained,
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
        None,
    );
    if !unschedulable.is_empty() {
        cluster::kubectl(&["uncordon", &drained], None);
    }
    assert_eq!(unschedulable, "", "the rollback left {drained} cordoned");

    // Without `delete` on pods, the kill fails, and says which permission is missing.
    cluster::kubectl(
        &[
            "-n",
            APP_NS,
            "patch",
            "role",
            "chaostoolkit-from-chaos",
            "--type=json",
            "-p",
            r#"[{"op": "replace", "path": "/rules/0/verbs", "value": ["get", "list"]}]"#,
        ],
        None,
    );
    let journal = run_as(&dir, &kc, "k02-forbidden", &k02);
    let record = &journal["run"][0];
    assert_eq!(record["status"], "failed", "{journal:#}");
    let exception = record["exception"].to_string();
    for needle in ["forbidden", "delete", "pods", CHAOS_NS, "chaostoolkit"] {
        assert!(exception.contains(needle), "{needle:?} not in {exception}");
    }

    cluster::kubectl(
        &[
            "delete",
            "namespace",
            APP_NS,
            CHAOS_NS,
            "--ignore-not-found",
            "--wait=false",
        ],
        None,
    );
    cluster::kubectl(
        &[
            "delete",
            "clusterrolebinding,clusterrole",
            "chaostoolkit-nodes",
            "--ignore-not-found",
        ],
        None,
    );
}

/// Every workload manifest is accepted by the apiserver as it is (a server-side dry run:
/// schema, `batch/v1` CronJobs, field names), in the namespace its header names.
#[test]
fn every_workload_manifest_is_valid_for_the_apiserver() {
    cluster::kubeconfig();
    let ns = "deploy-rbac-dry-run";
    cluster::kubectl(
        &[
            "delete",
            "namespace",
            ns,
            "--ignore-not-found",
            "--wait=true",
        ],
        None,
    );
    cluster::kubectl(&["create", "namespace", ns], None);
    let dir = cluster::root().join("deploy");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("deploy/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let out = cluster::kubectl(
            &[
                "-n",
                ns,
                "apply",
                "--dry-run=server",
                "-f",
                path.to_str().expect("utf-8"),
            ],
            None,
        );
        assert!(
            out.contains("(server dry run)"),
            "{}: {out}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} manifests under deploy/");
    cluster::kubectl(&["delete", "namespace", ns, "--wait=false"], None);
}
