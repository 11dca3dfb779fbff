//! `chaos operator` on the real control plane of `scripts/testenv`, with RBAC enforced by the
//! real apiserver: the operator runs as a real process under its own ServiceAccount
//! (`deploy/operator/rbac.yaml`, a token from the TokenRequest API), the CRDs are
//! `deploy/operator/crds.yaml`.
//!
//! kwok only pretends to run pods, and never ends a pod that no Job owns. So the runner's
//! work is done on the host: the real `chaos run --journal-configmap …` with the runner's
//! own ServiceAccount token, then the pod's end is written through the API
//! (`kubectl patch --subresource=status`, the exit code in `containerStatuses`), as the
//! kubelet would. Job pods (a CronJob's runs) are ended by kwok's own `pod-complete`
//! stage (exit code 0). An image that does not exist is simulated the same way: the
//! kubelet's `ErrImagePull` written into the pod's status.
//!
//! Tests run one at a time (one lock): each starts its own operator and the operators
//! would otherwise share the cluster-wide resources.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const CR_NS: &str = "op-crs";
const SYSTEM_NS: &str = "shakedown-system";

fn kubectl(args: &[&str]) -> String {
    cluster::kubectl(args, None)
}

fn apply(manifest: &str) {
    cluster::kubectl(&["apply", "-f", "-"], Some(manifest));
}

fn try_kubectl(args: &[&str]) -> Option<String> {
    cluster::try_kubectl_at(cluster::kubeconfig(), args)
}

fn get_json(args: &[&str]) -> Option<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    try_kubectl(&all).and_then(|s| serde_json::from_str(&s).ok())
}

/// Polls `f` until it gives `Some` (at most two minutes: a bound, not a timing assertion).
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn deploy(path: &str) -> String {
    std::fs::read_to_string(cluster::root().join("deploy/operator").join(path))
        .unwrap_or_else(|e| panic!("deploy/operator/{path}: {e}"))
}

/// The CRDs and the operator's RBAC, applied once; then the lock that serialises tests.
fn setup() -> MutexGuard<'static, ()> {
    static ONCE: OnceLock<()> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    ONCE.get_or_init(|| {
        cluster::kubeconfig();
        apply(&deploy("crds.yaml"));
        apply(&deploy("rbac.yaml"));
        for crd in [
            "chaosexperiments.chaostoolkit.org",
            "chaosexperiments.shakedown.dev",
        ] {
            kubectl(&[
                "wait",
                "--for=condition=Established",
                &format!("crd/{crd}"),
                "--timeout=60s",
            ]);
        }
        let _ = try_kubectl(&["create", "namespace", CR_NS]);
        let _ = try_kubectl(&[
            "-n",
            SYSTEM_NS,
            "delete",
            "configmap",
            "kill-switch",
            "--ignore-not-found",
        ]);
    });
    guard
}

/// A run namespace the operator may use (`deploy/operator/run-namespace.yaml`, renamed),
/// emptied of what an earlier run of the test left.
fn run_namespace(name: &str) {
    let _ = try_kubectl(&[
        "delete",
        "namespace",
        name,
        "--ignore-not-found",
        "--wait=true",
    ]);
    apply(&deploy("run-namespace.yaml").replace("chaostoolkit-run", name));
}

fn token_kubeconfig(dir: &Path, ns: &str, sa: &str) -> PathBuf {
    cluster::token_kubeconfig(dir, ns, sa)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `chaos operator`, killed when dropped.
struct Operator {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Operator {
    fn start(dir: &Path, identity: &str, extra: &[&str]) -> Operator {
        let kc = token_kubeconfig(dir, SYSTEM_NS, "shakedown-operator");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join(format!("{identity}.log"))).expect("log");
        let mut args = vec![
            "operator",
            "--kubeconfig",
            kc.to_str().expect("utf-8"),
            "--metrics-addr",
            &addr,
            "--identity",
            identity,
            "--runner-image",
            "shakedown:test",
        ];
        args.extend(extra);
        let child = run::chaos_command(dir, &args, &[("KUBECONFIG", "/nonexistent")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn chaos operator");
        let op = Operator {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        eventually("the operator serves metrics", || op.metrics());
        op
    }

    fn metrics(&self) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.contains("200 OK").then_some(out)
    }

    fn metric(&self, series: &str) -> Option<u64> {
        let text = self.metrics()?;
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
    }

    fn log(&self, identity: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{identity}.log"))).unwrap_or_default()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn status(kind: &str, name: &str) -> Value {
    get_json(&["-n", CR_NS, "get", kind, name])
        .map(|o| o["status"].clone())
        .unwrap_or(Value::Null)
}

fn wait_status(kind: &str, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(what, || Some(status(kind, name)).filter(|s| ok(s)))
}

fn condition_reason(status: &Value) -> String {
    status["conditions"][0]["reason"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

fn uid_suffix(kind: &str, name: &str) -> String {
    let uid = kubectl(&[
        "-n",
        CR_NS,
        "get",
        kind,
        name,
        "-o",
        "jsonpath={.metadata.uid}",
    ]);
    uid.chars()
        .filter(char::is_ascii_hexdigit)
        .take(10)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Everything in `ns` carrying the run id `suffix`, as `kind/name` lines.
fn leftovers(ns: &str, suffix: &str) -> Vec<String> {
    let selector = format!("shakedown.dev/run-id={suffix}");
    let out = kubectl(&[
        "-n",
        ns,
        "get",
        "pods,configmaps,serviceaccounts,roles,rolebindings,cronjobs,jobs",
        "-l",
        &selector,
        "-o",
        "name",
    ]);
    let mut names: Vec<String> = out.lines().map(str::to_string).collect();
    let journals = kubectl(&["-n", ns, "get", "configmaps", "-o", "name"]);
    names.extend(
        journals
            .lines()
            .filter(|l| l.contains(suffix))
            .map(str::to_string),
    );
    names
}

const EXPERIMENT_DEVIATES: &str = r#"{
  "title": "the operator keeps this journal",
  "description": "the method breaks the steady state: the run deviates",
  "steady-state-hypothesis": {"title": "no marker", "probes": [
    {"type": "probe", "name": "no-marker", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "test ! -e marker"]}}]},
  "method": [{"type": "action", "name": "leave-a-marker",
              "provider": {"type": "process", "path": "sh", "arguments": ["-c", "touch marker"]}}]
}"#;

fn experiment_configmap(ns: &str, name: &str, key: &str, text: &str) {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": ns}, "data": {key: text}});
    apply(&cm.to_string());
}

/// The pod's end, as the kubelet writes it.
fn end_pod(ns: &str, pod: &str, exit_code: i32) {
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    let patch = json!({"status": {"phase": phase, "containerStatuses": [{
        "name": "chaostoolkit", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 {"Completed"} else {"Error"},
                                 "startedAt": "2026-12-02T10:00:00Z", "finishedAt": "2026-12-02T10:00:05Z"}}}]}});
    kubectl(&[
        "-n",
        ns,
        "patch",
        "pod",
        pod,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch.to_string(),
    ]);
}

#[test]
fn upstream_resource_runs_keeps_its_journal_reruns_and_leaves_nothing() {
    let _lock = setup();
    let dir = run::scratch("operator", "upstream");
    let run_ns = "op-run-upstream";
    run_namespace(run_ns);
    experiment_configmap(
        run_ns,
        "chaostoolkit-experiment",
        "experiment.json",
        EXPERIMENT_DEVIATES,
    );
    let op = Operator::start(&dir, "op-a", &[]);
    let _ = try_kubectl(&[
        "-n",
        CR_NS,
        "delete",
        "ctk",
        "upstream",
        "--ignore-not-found",
        "--wait=true",
    ]);
    // An upstream CR, as upstream's README writes them.
    apply(&format!(
        "apiVersion: chaostoolkit.org/v1\nkind: ChaosToolkitExperiment\nmetadata:\n  name: upstream\n  namespace: {CR_NS}\n  labels: {{team: sre}}\nspec:\n  namespace: {run_ns}\n  pod:\n    image: shakedown:test\n"
    ));
    let suffix = uid_suffix("ctk", "upstream");
    let pod = format!("chaostoolkit-{suffix}-1");
    let pod_json = eventually("the runner pod", || {
        get_json(&["-n", run_ns, "get", "pod", &pod])
    });
    // upstream's objects: ServiceAccount, Role, RoleBinding, env ConfigMap, the pod.
    let sa = format!("chaostoolkit-{suffix}");
    kubectl(&["-n", run_ns, "get", "serviceaccount", &sa]);
    kubectl(&[
        "-n",
        run_ns,
        "get",
        "role",
        &format!("chaostoolkit-experiment-{suffix}"),
    ]);
    kubectl(&[
        "-n",
        run_ns,
        "get",
        "rolebinding",
        &format!("chaostoolkit-experiment-{suffix}"),
    ]);
    kubectl(&[
        "-n",
        run_ns,
        "get",
        "configmap",
        &format!("chaostoolkit-env-{suffix}"),
    ]);
    assert_eq!(pod_json["spec"]["serviceAccountName"], sa.as_str());
    assert_eq!(pod_json["spec"]["restartPolicy"], "Never");
    assert_eq!(pod_json["metadata"]["labels"]["team"], "sre");
    let container = &pod_json["spec"]["containers"][0];
    assert_eq!(container["image"], "shakedown:test");
    assert_eq!(container["args"], json!(["run", "$(EXPERIMENT_PATH)"]));
    wait_status("ctk", "upstream", "status Running", |s| {
        s["phase"] == "Running"
    });

    // The runner's work, on the host, with the runner's own account: the journal goes to
    // the ConfigMap the pod's environment names.
    let runner_kc = token_kubeconfig(&dir, run_ns, &sa);
    let exp = dir.join("experiment.json");
    std::fs::write(&exp, EXPERIMENT_DEVIATES).expect("experiment");
    let journal_cm = format!("{pod}-journal");
    let out = run::chaos(
        &dir,
        &[
            "run",
            "--journal-configmap",
            &format!("{run_ns}/{journal_cm}"),
            exp.to_str().expect("utf-8"),
        ],
        &[
            ("KUBECONFIG", runner_kc.to_str().expect("utf-8")),
            ("HOME", dir.to_str().expect("utf-8")),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a deviated run exits 1: {}",
        run::stderr(&out)
    );
    end_pod(run_ns, &pod, 1);
    let s = wait_status("ctk", "upstream", "the verdict", |s| {
        s["verdict"].is_string()
    });
    assert_eq!(s["verdict"], "deviated", "{s:#}");
    assert_eq!(s["phase"], "Failed");
    assert_eq!(s["pod"], pod.as_str());
    // The pod's own start (kwok's), and the container's end as the kubelet wrote it.
    assert!(
        s["startTime"].as_str().is_some_and(|t| t.starts_with("20")),
        "{s:#}"
    );
    assert_eq!(s["endTime"], "2026-12-02T10:00:05Z");
    assert_eq!(
        s["journal"],
        json!({"namespace": run_ns, "configMap": journal_cm, "key": "journal.json"})
    );
    assert_eq!(condition_reason(&s), "Finished");

    // `chaos report` pointed at the kept journal.
    let journal = kubectl(&[
        "-n",
        run_ns,
        "get",
        "configmap",
        &journal_cm,
        "-o",
        "jsonpath={.data.journal\\.json}",
    ]);
    let journal_file = dir.join("kept.json");
    std::fs::write(&journal_file, &journal).expect("journal");
    let parsed: Value = serde_json::from_str(&journal).expect("the kept journal is JSON");
    assert_eq!(parsed["status"], "completed");
    assert_eq!(parsed["deviated"], true);
    let report = dir.join("report.md");
    let out = run::chaos(
        &dir,
        &[
            "report",
            journal_file.to_str().unwrap(),
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let md = std::fs::read_to_string(&report).expect("report");
    assert!(md.contains("the operator keeps this journal"), "{md}");

    assert_eq!(
        op.metric("shakedown_operator_runs_started_total{kind=\"ctk\"}"),
        Some(1)
    );
    assert_eq!(
        op.metric("shakedown_operator_verdicts_total{kind=\"ctk\",verdict=\"deviated\"}"),
        Some(1)
    );

    // A spec change runs again: the new generation's pod replaces the old one.
    kubectl(&[
        "-n",
        CR_NS,
        "patch",
        "ctk",
        "upstream",
        "--type=merge",
        "-p",
        r#"{"spec":{"verbose":true}}"#,
    ]);
    let pod2 = format!("chaostoolkit-{suffix}-2");
    let pod2_json = eventually("the second generation's pod", || {
        get_json(&["-n", run_ns, "get", "pod", &pod2])
    });
    assert_eq!(
        pod2_json["spec"]["containers"][0]["args"],
        json!(["--verbose", "run", "$(EXPERIMENT_PATH)"])
    );
    eventually("the first pod deleted", || {
        get_json(&["-n", run_ns, "get", "pod", &pod])
            .is_none()
            .then_some(())
    });
    end_pod(run_ns, &pod2, 0);
    let s = wait_status("ctk", "upstream", "the second verdict", |s| {
        s["pod"] == pod2.as_str() && s["verdict"].is_string()
    });
    assert_eq!(
        s["verdict"], "completed",
        "no journal: the exit code says it: {s:#}"
    );
    assert!(
        s["conditions"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("exit code 0"),
        "{s:#}"
    );
    assert_eq!(s["observedGeneration"], 2);

    // Deletion leaves nothing behind (the journal included).
    kubectl(&[
        "-n",
        CR_NS,
        "delete",
        "ctk",
        "upstream",
        "--wait=true",
        "--timeout=60s",
    ]);
    let left = eventually("everything deleted", || {
        let left = leftovers(run_ns, &suffix);
        left.is_empty().then_some(left)
    });
    assert!(left.is_empty());
}

#[test]
fn scheduled_shakedown_experiment_and_the_kill_switch() {
    let _lock = setup();
    let dir = run::scratch("operator", "scheduled");
    let run_ns = "op-run-cron";
    run_namespace(run_ns);
    experiment_configmap(run_ns, "experiments", "health.json", EXPERIMENT_DEVIATES);
    let op = Operator::start(
        &dir,
        "op-b",
        &["--kill-switch", &format!("{SYSTEM_NS}/kill-switch")],
    );
    let _ = try_kubectl(&[
        "-n",
        CR_NS,
        "delete",
        "cex",
        "nightly",
        "--ignore-not-found",
        "--wait=true",
    ]);
    apply(&format!(
        "apiVersion: shakedown.dev/v1alpha1\nkind: ChaosExperiment\nmetadata: {{name: nightly, namespace: {CR_NS}}}\nspec:\n  namespace: {run_ns}\n  experiment: {{configMapName: experiments, key: health.json}}\n  schedule: {{cron: '0 3 * * *', concurrencyPolicy: Replace, successfulRunsHistoryLimit: 5, failedRunsHistoryLimit: 2}}\n"
    ));
    let suffix = uid_suffix("cex", "nightly");
    let cronjob = format!("chaostoolkit-{suffix}");
    let cj = eventually("the CronJob", || {
        get_json(&["-n", run_ns, "get", "cronjob", &cronjob])
    });
    assert_eq!(cj["spec"]["schedule"], "0 3 * * *");
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Replace");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 5);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 2);
    assert_eq!(cj["spec"]["suspend"], false);
    let container = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "shakedown:test");
    let env = container["env"].as_array().expect("env");
    assert!(env.iter().any(|e| e["name"] == "CHAOS_KILL_SWITCH"
        && e["value"] == "configmap:shakedown-system/kill-switch"));
    let s = wait_status("cex", "nightly", "Scheduled", |s| s["phase"] == "Scheduled");
    assert_eq!(condition_reason(&s), "Scheduled");

    // One run now, as `kubectl create job --from` does; kwok ends the Job's pod (exit 0).
    kubectl(&[
        "-n",
        run_ns,
        "create",
        "job",
        "--from",
        &format!("cronjob/{cronjob}"),
        &format!("{cronjob}-manual"),
    ]);
    let s = wait_status("cex", "nightly", "the run's verdict", |s| {
        s["verdict"].is_string()
    });
    assert_eq!(s["verdict"], "completed", "{s:#}");
    assert!(
        s["pod"]
            .as_str()
            .unwrap_or("")
            .starts_with(&format!("{cronjob}-manual")),
        "{s:#}"
    );

    // Journals beyond journalHistoryLimit go, oldest first.
    kubectl(&[
        "-n",
        CR_NS,
        "patch",
        "cex",
        "nightly",
        "--type=merge",
        "-p",
        r#"{"spec":{"journalHistoryLimit":2}}"#,
    ]);
    for run in ["a", "b", "c"] {
        let name = format!("{cronjob}-{run}-journal");
        kubectl(&[
            "-n",
            run_ns,
            "create",
            "configmap",
            &name,
            "--from-literal=journal.json={}",
        ]);
        kubectl(&[
            "-n",
            run_ns,
            "label",
            "configmap",
            &name,
            "shakedown.dev/journal=true",
        ]);
        std::thread::sleep(Duration::from_millis(1100)); // distinct creation seconds
    }
    kubectl(&[
        "-n",
        CR_NS,
        "annotate",
        "cex",
        "nightly",
        "--overwrite",
        "poke=0",
    ]);
    eventually("the oldest journal pruned", || {
        let names = kubectl(&[
            "-n",
            run_ns,
            "get",
            "configmaps",
            "-l",
            "shakedown.dev/journal",
            "-o",
            "name",
        ]);
        (!names.contains(&format!("{cronjob}-a-journal"))).then_some(names)
    });
    for run in ["b", "c"] {
        kubectl(&[
            "-n",
            run_ns,
            "get",
            "configmap",
            &format!("{cronjob}-{run}-journal"),
        ]);
    }

    // The kill switch: the CronJob is suspended and the resource says why.
    apply(&format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: kill-switch, namespace: {SYSTEM_NS}}}\n"));
    kubectl(&[
        "-n",
        CR_NS,
        "annotate",
        "cex",
        "nightly",
        "--overwrite",
        "poke=1",
    ]);
    let s = wait_status("cex", "nightly", "Refused", |s| s["phase"] == "Refused");
    assert_eq!(condition_reason(&s), "KillSwitch");
    assert!(
        s["conditions"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("kubectl -n shakedown-system delete configmap kill-switch"),
        "{s:#}"
    );
    let suspended = kubectl(&[
        "-n",
        run_ns,
        "get",
        "cronjob",
        &cronjob,
        "-o",
        "jsonpath={.spec.suspend}",
    ]);
    assert_eq!(suspended, "true");
    kubectl(&["-n", SYSTEM_NS, "delete", "configmap", "kill-switch"]);
    kubectl(&[
        "-n",
        CR_NS,
        "annotate",
        "cex",
        "nightly",
        "--overwrite",
        "poke=2",
    ]);
    wait_status("cex", "nightly", "Scheduled again", |s| {
        s["phase"] == "Scheduled"
    });
    assert_eq!(
        kubectl(&[
            "-n",
            run_ns,
            "get",
            "cronjob",
            &cronjob,
            "-o",
            "jsonpath={.spec.suspend}"
        ]),
        "false"
    );
    assert!(op
        .metric("shakedown_operator_verdicts_total{kind=\"cex\",verdict=\"completed\"}")
        .is_some());

    kubectl(&[
        "-n",
        CR_NS,
        "delete",
        "cex",
        "nightly",
        "--wait=true",
        "--timeout=60s",
    ]);
    eventually("everything deleted", || {
        leftovers(run_ns, &suffix).is_empty().then_some(())
    });
}

#[test]
fn bad_input_becomes_a_condition_never_a_crash() {
    let _lock = setup();
    let dir = run::scratch("operator", "bad");
    let run_ns = "op-run-bad";
    run_namespace(run_ns);
    let forbidden_ns = "op-forbidden";
    let _ = try_kubectl(&["create", "namespace", forbidden_ns]);
    experiment_configmap(
        run_ns,
        "broken",
        "experiment.json",
        "{\"title\": \"x\",\n  \"method\": [\n",
    );
    let mut op = Operator::start(&dir, "op-c", &[]);
    let cr = |name: &str, spec: &str| {
        let _ = try_kubectl(&[
            "-n",
            CR_NS,
            "delete",
            "ctk",
            name,
            "--ignore-not-found",
            "--wait=true",
        ]);
        apply(&format!(
            "apiVersion: chaostoolkit.org/v1\nkind: ChaosToolkitExperiment\nmetadata: {{name: {name}, namespace: {CR_NS}}}\nspec: {spec}\n"
        ));
    };
    cr(
        "missing-cm",
        &format!("{{namespace: {run_ns}, pod: {{experiment: {{configMapName: nowhere}}}}}}"),
    );
    cr(
        "malformed",
        &format!("{{namespace: {run_ns}, pod: {{experiment: {{configMapName: broken}}}}}}"),
    );
    cr(
        "bad-spec",
        &format!("{{namespace: {run_ns}, pod: {{chaosArgs: run}}}}"),
    );
    cr("forbidden", &format!("{{namespace: {forbidden_ns}}}"));
    experiment_configmap(run_ns, "fine", "experiment.json", EXPERIMENT_DEVIATES);
    cr("no-image", &format!("{{namespace: {run_ns}, pod: {{image: 'does-not-exist.invalid/nope:1', experiment: {{configMapName: fine}}}}}}"));

    let s = wait_status("ctk", "missing-cm", "ConfigMapMissing", |s| {
        s["phase"] == "Invalid"
    });
    assert_eq!(condition_reason(&s), "ConfigMapMissing", "{s:#}");
    let msg = s["conditions"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(&format!("{run_ns}/nowhere does not exist"))
            && msg.contains("spec.pod.experiment.configMapName"),
        "{msg}"
    );

    let s = wait_status("ctk", "malformed", "ExperimentMalformed", |s| {
        s["phase"] == "Invalid"
    });
    assert_eq!(condition_reason(&s), "ExperimentMalformed", "{s:#}");
    let msg = s["conditions"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(&format!("ConfigMap {run_ns}/broken key experiment.json")),
        "{msg}"
    );

    let s = wait_status("ctk", "bad-spec", "InvalidSpec", |s| {
        s["phase"] == "Invalid"
    });
    assert_eq!(condition_reason(&s), "InvalidSpec", "{s:#}");
    assert!(
        s["conditions"][0]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("spec.pod.chaosArgs: expected a list"),
        "{s:#}"
    );

    let s = wait_status("ctk", "forbidden", "Forbidden", |s| s["phase"] == "Invalid");
    assert_eq!(condition_reason(&s), "Forbidden", "{s:#}");
    let msg = s["conditions"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(forbidden_ns)
            && msg.contains("system:serviceaccount:shakedown-system:shakedown-operator"),
        "{msg}"
    );

    let suffix = uid_suffix("ctk", "no-image");
    let pod = format!("chaostoolkit-{suffix}-1");
    eventually("the pod of no-image", || {
        get_json(&["-n", run_ns, "get", "pod", &pod])
    });
    let patch = json!({"status": {"phase": "Pending", "containerStatuses": [{
        "name": "chaostoolkit", "image": "does-not-exist.invalid/nope:1", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ErrImagePull", "message": "failed to resolve reference \"does-not-exist.invalid/nope:1\": not found"}}}]}});
    let patched = eventually("the pull failure written", || {
        try_kubectl(&[
            "-n",
            run_ns,
            "patch",
            "pod",
            &pod,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch.to_string(),
        ])?;
        let s = status("ctk", "no-image");
        (condition_reason(&s) == "ImagePullFailed").then_some(s)
    });
    let msg = patched["conditions"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("'does-not-exist.invalid/nope:1' cannot be pulled (ErrImagePull"),
        "{msg}"
    );

    // The operator is still there, and nothing of this was a reconcile error.
    assert!(op.alive(), "the operator exited: {}", op.log("op-c"));
    assert!(!op.log("op-c").contains("panicked"), "{}", op.log("op-c"));
    for name in [
        "missing-cm",
        "malformed",
        "bad-spec",
        "forbidden",
        "no-image",
    ] {
        kubectl(&[
            "-n",
            CR_NS,
            "delete",
            "ctk",
            name,
            "--wait=true",
            "--timeout=60s",
        ]);
    }
}

#[test]
fn two_replicas_elect_one_leader() {
    let _lock = setup();
    let dir = run::scratch("operator", "leader");
    let lease = format!("{SYSTEM_NS}/op-test-lease");
    let _ = try_kubectl(&[
        "-n",
        SYSTEM_NS,
        "delete",
        "lease",
        "op-test-lease",
        "--ignore-not-found",
    ]);
    let mut a = Operator::start(&dir, "replica-a", &["--leader-lease", &lease]);
    let b = Operator::start(&dir, "replica-b", &["--leader-lease", &lease]);
    let leaders = |a: &Operator, b: &Operator| {
        Some((
            a.metric("shakedown_operator_leader")?,
            b.metric("shakedown_operator_leader")?,
        ))
    };
    let (la, lb) = eventually("a leader", || leaders(&a, &b).filter(|(x, y)| x + y == 1));
    let holder = kubectl(&[
        "-n",
        SYSTEM_NS,
        "get",
        "lease",
        "op-test-lease",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    let expected = if la == 1 { "replica-a" } else { "replica-b" };
    assert_eq!(holder, expected);
    // Several reads later there is still exactly one.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(500));
        let (x, y) = leaders(&a, &b).expect("both answer");
        assert_eq!(x + y, 1, "exactly one leader");
    }
    // The leader goes away: the other takes over once the Lease expires.
    if la == 1 {
        let _ = a.child.kill();
        let _ = a.child.wait();
        eventually("replica-b leads", || {
            (b.metric("shakedown_operator_leader")? == 1).then_some(())
        });
        let holder = kubectl(&[
            "-n",
            SYSTEM_NS,
            "get",
            "lease",
            "op-test-lease",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ]);
        assert_eq!(holder, "replica-b");
    } else {
        assert_eq!(lb, 1);
        drop(b);
        eventually("replica-a leads", || {
            (a.metric("shakedown_operator_leader")? == 1).then_some(())
        });
        assert!(a.alive());
    }
}

#[test]
fn shipped_crds_are_what_the_operator_serves() {
    let _lock = setup();
    let dir = run::scratch("operator", "crds");
    let out = run::chaos(&dir, &["operator", "--print-crds"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    // Both through kubectl, so numbers are written alike (schemars writes 100.0).
    let printed = cluster::kubectl(
        &["create", "--dry-run=client", "-o", "json", "-f", "-"],
        Some(&String::from_utf8_lossy(&out.stdout)),
    );
    let printed: Vec<Value> = serde_json::Deserializer::from_str(&printed)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("JSON objects");
    assert_eq!(printed.len(), 2);
    let shipped = cluster::kubectl(
        &["create", "--dry-run=client", "-o", "json", "-f", "-"],
        Some(&deploy("crds.yaml")),
    );
    let items: Vec<Value> = serde_json::Deserializer::from_str(&shipped)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("JSON objects");
    assert_eq!(items.len(), 2);
    for (p, s) in printed.iter().zip(&items) {
        assert_eq!(
            p["spec"], s["spec"],
            "deploy/operator/crds.yaml is stale: regenerate it (docs/operator.md)"
        );
    }
    // The Deployment as shipped passes the apiserver's validation (server-side dry run).
    cluster::kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&deploy("deployment.yaml")),
    );
    // The schema is enforced: a ChaosExperiment without an experiment is refused.
    let refused = Command::new(cluster::kubectl_bin())
        .args(["--kubeconfig", cluster::kubeconfig(), "apply", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(
                format!("apiVersion: shakedown.dev/v1alpha1\nkind: ChaosExperiment\nmetadata: {{name: no-exp, namespace: {CR_NS}}}\nspec: {{journalHistoryLimit: 0}}\n").as_bytes(),
            )?;
            c.wait_with_output()
        })
        .expect("kubectl");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("spec.experiment: Required value") && err.contains("spec.journalHistoryLimit"),
        "{err}"
    );
}

#[test]
fn journal_configmap_errors_are_clear() {
    let _lock = setup();
    let dir = run::scratch("operator", "journal-cm");
    let exp = dir.join("experiment.json");
    std::fs::write(&exp, EXPERIMENT_DEVIATES).expect("experiment");
    let exp = exp.to_str().expect("utf-8");
    let home = dir.to_str().expect("utf-8");
    // Not NAMESPACE/NAME: refused before anything runs.
    let out = run::chaos(
        &dir,
        &["run", "--journal-configmap", "just-a-name", exp],
        &[("HOME", home)],
    );
    assert_eq!(out.status.code(), Some(1));
    run::assert_stderr_has(
        &out,
        "--journal-configmap 'just-a-name' is not NAMESPACE/NAME",
    );
    assert!(!dir.join("marker").exists(), "the experiment did not run");
    // An account without the right: the run ends, the journal file is written, the
    // ConfigMap write fails with the apiserver's message and the exit code is 1.
    let ns = "op-journal-denied";
    let _ = try_kubectl(&[
        "delete",
        "namespace",
        ns,
        "--ignore-not-found",
        "--wait=true",
    ]);
    kubectl(&["create", "namespace", ns]);
    let _ = try_kubectl(&["-n", ns, "create", "serviceaccount", "nobody"]);
    let kc = token_kubeconfig(&dir, ns, "nobody");
    std::fs::write(
        dir.join("experiment2.json"),
        EXPERIMENT_DEVIATES.replace("deviates", "runs"),
    )
    .expect("exp");
    let out = run::chaos(
        &dir,
        &[
            "run",
            "--journal-configmap",
            &format!("{ns}/kept"),
            "experiment2.json",
        ],
        &[("KUBECONFIG", kc.to_str().expect("utf-8")), ("HOME", home)],
    );
    assert_eq!(out.status.code(), Some(1));
    run::assert_stderr_has(
        &out,
        &format!("cannot keep the journal in ConfigMap {ns}/kept: HTTP 403"),
    );
    run::assert_stderr_has(&out, "cannot create resource \"configmaps\"");
    assert!(dir.join("journal.json").exists());
    // The environment variable names it too, and with the right the journal is there.
    kubectl(&[
        "-n",
        ns,
        "create",
        "role",
        "journal",
        "--verb=create,patch",
        "--resource=configmaps",
    ]);
    kubectl(&[
        "-n",
        ns,
        "create",
        "rolebinding",
        "journal",
        "--role=journal",
        &format!("--serviceaccount={ns}:nobody"),
    ]);
    let _ = std::fs::remove_file(dir.join("marker"));
    let out = run::chaos(
        &dir,
        &["run", "experiment2.json"],
        &[
            ("KUBECONFIG", kc.to_str().expect("utf-8")),
            ("HOME", home),
            ("CHAOS_JOURNAL_CONFIGMAP", &format!("{ns}/kept")),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "deviated: {}",
        run::stderr(&out)
    );
    let kept = kubectl(&[
        "-n",
        ns,
        "get",
        "configmap",
        "kept",
        "-o",
        "jsonpath={.data.journal\\.json}",
    ]);
    let file = std::fs::read_to_string(dir.join("journal.json")).expect("journal file");
    assert_eq!(kept, file, "the ConfigMap holds the journal file's text");
    // A second run with the same name replaces it.
    let _ = std::fs::remove_file(dir.join("marker"));
    let out = run::chaos(
        &dir,
        &[
            "run",
            "--journal-configmap",
            &format!("{ns}/kept"),
            "experiment2.json",
        ],
        &[("KUBECONFIG", kc.to_str().expect("utf-8")), ("HOME", home)],
    );
    assert_eq!(out.status.code(), Some(1));
    let again = kubectl(&[
        "-n",
        ns,
        "get",
        "configmap",
        "kept",
        "-o",
        "jsonpath={.data.journal\\.json}",
    ]);
    assert_ne!(again, kept, "a new journal (new start time)");
    kubectl(&["delete", "namespace", ns, "--wait=false"]);
}
