//! The Jobs and CronJobs of `deploy/` really running Shakedown's image as pods (issue #12),
//! on the control plane of `scripts/testenv`, through the pod runner
//! (`support/pod_runner.rs`): the pod's command, environment, ConfigMaps, claim and
//! service-account token (TokenRequest) as the kubelet would give them, its exit code
//! written back as the pod's phase, so the Job controller ends the Job.
//!
//! - K01's Job (`deploy/job.yaml`) runs the book's `health-http.yaml` against a stand-in of
//!   go-demo-8 (a real HTTP server on a loopback address, reached through the Service's
//!   name), kills a pod of the application with the pod's own token, ends Complete, and
//!   leaves its journal in the claim; its peak memory is measured.
//! - K01's CronJob (`deploy/cronjob.yaml`), run twice with `kubectl create job --from`:
//!   one journal per run; the second, with the application answering 500, deviates, its pod
//!   ends Failed with exit code 1, and its last log line says so.
//! - K03's node drain (`deploy/cronjob-node.yaml`) from the `chaos` namespace: a node
//!   drained and uncordoned by the rollback, Complete.
//! - The book's `periodic-slack.yaml` settings path, `/root/.chaostoolkit`: the settings
//!   mounted there are read (the image's `HOME`), and the failed run notifies the Slack
//!   stand-in.
//!
//! The manifests are applied as shipped, with the namespaces renamed and the book's pauses
//! shortened; the test-only changes are named where they are made.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/pod_runner.rs"]
mod pod_runner;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use drivers_slack::stand_in::{Behaviour, StandIn};
use pod_runner::{last_line, PodRunner};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The tests drain nodes and kill pods: one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn corpus() -> PathBuf {
    std::env::var_os("SHAKEDOWN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| cluster::root().join("../shared/corpus"))
}

/// A file of `deploy/`, its namespaces renamed.
///
/// CronJobs come suspended: the tests start their runs with `kubectl create job --from`,
/// and the manifests' real `*/5` schedule must not add runs of its own when a test happens
/// to cross a five-minute boundary (a CI run once lost K03's pod that way).
fn deploy(path: &str, app_ns: &str, chaos_ns: &str) -> String {
    let text = std::fs::read_to_string(cluster::root().join("deploy").join(path))
        .unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    let text = text
        .replace("namespace: go-demo-8", &format!("namespace: {app_ns}"))
        .replace("namespace: chaos", &format!("namespace: {chaos_ns}"));
    if text.contains("kind: CronJob") {
        let suspended = text.replace(
            "\n  concurrencyPolicy: Forbid\n",
            "\n  suspend: true\n  concurrencyPolicy: Forbid\n",
        );
        assert_ne!(
            suspended, text,
            "deploy/{path}: no `concurrencyPolicy` line to suspend at"
        );
        return suspended;
    }
    text
}

/// The book's experiments ConfigMap `file` (`k8s/chaos/…`), for the test's namespace and
/// with short pauses.
fn book_configmap(file: &str, app_ns: &str) -> String {
    let path = corpus().join("go-demo-8/k8s/chaos").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.replace("ns: go-demo-8", &format!("ns: {app_ns}"))
        .replace("go-demo-8.go-demo-8/", &format!("go-demo-8.{app_ns}/"))
        .replace("after: 180", "after: 1")
        .replace("after: 10", "after: 1")
        .replace("after: 2", "after: 1")
}

fn kubectl(args: &[&str]) -> String {
    cluster::kubectl(args, None)
}

fn apply(ns: &str, manifest: &str) {
    cluster::kubectl(&["-n", ns, "apply", "-f", "-"], Some(manifest));
}

/// kubectl commands run when dropped (in reverse order), so a failing test cleans up too.
struct Cleanup(Vec<Vec<String>>);

impl Cleanup {
    fn then(&mut self, args: &[&str]) {
        self.0.push(args.iter().map(|a| a.to_string()).collect());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = cluster::try_kubectl_at(cluster::kubeconfig(), &args);
        }
    }
}

/// Fresh namespaces, deleted (and waited for: a terminating namespace's pods would fail the
/// next test's drain) when the guard is dropped.
fn fresh_namespaces(names: &[&str]) -> Cleanup {
    let mut args = vec!["delete", "namespace"];
    args.extend(names);
    args.extend(["--ignore-not-found", "--wait=true"]);
    kubectl(&args);
    for ns in names {
        kubectl(&["create", "namespace", ns]);
    }
    let mut cleanup = Cleanup(Vec::new());
    cleanup.then(&args);
    cleanup
}

/// go-demo-8 on the fake nodes (kwok runs these pods: not Shakedown's image).
fn app(ns: &str) {
    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: go-demo-8, namespace: {ns}}}\n\
         spec:\n  replicas: 2\n  selector: {{matchLabels: {{app: go-demo-8}}}}\n  template:\n    \
         metadata: {{labels: {{app: go-demo-8}}}}\n    spec:\n      containers:\n      \
         - {{name: app, image: vfarcic/go-demo-8}}\n"
    );
    apply(ns, &manifest);
    kubectl(&[
        "-n",
        ns,
        "rollout",
        "status",
        "deployment/go-demo-8",
        "--timeout=120s",
    ]);
}

fn pods(ns: &str, selector: &str) -> BTreeSet<String> {
    kubectl(&[
        "-n",
        ns,
        "get",
        "pods",
        "-l",
        selector,
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ])
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

/// A stand-in for go-demo-8's HTTP API on `<address>:80`: `GET /demo/person` with the
/// book's `Host: go-demo-8.acme.com` answers 200 to its first `healthy` requests and
/// `status` afterwards (200 unless changed): the application breaking under the experiment.
/// Every request's first line and Host header are recorded.
struct AppStandIn {
    address: String,
    status: Arc<AtomicU16>,
    healthy: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl AppStandIn {
    fn start() -> AppStandIn {
        // An address of the loopback range of its own (port 80 is the book's URL's).
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let address = format!("127.80.{}.{}", std::process::id() % 250, n);
        let listener = TcpListener::bind((address.as_str(), 80))
            .unwrap_or_else(|e| panic!("bind {address}:80: {e}"));
        let status = Arc::new(AtomicU16::new(200));
        let healthy = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (s, h, r) = (
            Arc::clone(&status),
            Arc::clone(&healthy),
            Arc::clone(&requests),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let first = head.lines().next().unwrap_or_default().to_string();
                let host = head
                    .lines()
                    .find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
                            .map(|(_, v)| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let seen = {
                    let mut all = r.lock().expect("requests");
                    all.push(format!("{first} host={host}"));
                    all.len()
                };
                let code =
                    if !first.starts_with("GET /demo/person ") || host != "go-demo-8.acme.com" {
                        404
                    } else if seen <= h.load(Ordering::SeqCst) {
                        200
                    } else {
                        s.load(Ordering::SeqCst)
                    };
                let body = format!("status {code}");
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        AppStandIn {
            address,
            status,
            healthy,
            requests,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

/// The Service `go-demo-8` of `ns`, served at `address` (a stand-in's): the pod runner
/// resolves its DNS names to the annotated address (no cluster DNS nor kube-proxy here).
fn expose(ns: &str, address: &str) {
    {
        let manifest = format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: go-demo-8\n  annotations: {{{}: \"{}\"}}\n\
             spec:\n  ports: [{{port: 80}}]\n",
            pod_runner::SERVICE_ADDRESS,
            address
        );
        apply(ns, &manifest);
    }
}

/// Polls (at most 3 minutes) until the Job has the condition `Complete` or `Failed`: which.
fn job_end(ns: &str, job: &str) -> String {
    for _ in 0..1800 {
        let out = kubectl(&[
            "-n",
            ns,
            "get",
            "job",
            job,
            "-o",
            "jsonpath={.status.conditions[?(@.status==\"True\")].type}",
        ]);
        for end in ["Complete", "Failed"] {
            if out.split_whitespace().any(|c| c == end) {
                return end.to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "job {ns}/{job} did not end: {}",
        kubectl(&["-n", ns, "get", "job,pods", "-o", "wide"])
    );
}

/// The one pod of `job`, as JSON.
fn job_pod(ns: &str, job: &str) -> Value {
    let out = kubectl(&[
        "-n",
        ns,
        "get",
        "pods",
        "-l",
        &format!("job-name={job}"),
        "-o",
        "json",
    ]);
    let list: Value = serde_json::from_str(&out).expect("pods JSON");
    let items = list["items"].as_array().expect("items");
    if items.len() != 1 {
        // What happened to it, for the next reader of a CI log.
        let jobs = kubectl(&["-n", ns, "get", "jobs,pods", "-o", "wide"]);
        let events = kubectl(&["-n", ns, "get", "events", "--sort-by=.lastTimestamp"]);
        panic!(
            "one pod for job {job}, found {}: {list:#}\n{jobs}\n{events}",
            items.len()
        );
    }
    items[0].clone()
}

fn exit_code(pod: &Value) -> i64 {
    pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no terminated state: {pod:#}"))
}

/// Every run's peak memory, printed (docs/in-cluster.md keeps the numbers); with the static
/// binary of the image (`scripts/release`), each within the manifests' 16 MiB limit.
fn memory(runner: &PodRunner) {
    for run in runner.runs() {
        let peak = run.peak_rss_kib;
        eprintln!(
            "pod {}/{}: exit {}, peak RSS {peak} KiB ({:.1} MiB), image from {}",
            run.namespace,
            run.pod,
            run.exit_code,
            peak as f64 / 1024.0,
            runner.image().source
        );
        assert!(peak > 0, "no memory measured for {}", run.pod);
        if !runner.image().dynamic {
            assert!(
                peak <= 16 * 1024,
                "the static chaos took {peak} KiB in {}, over the pods' 16 MiB limit",
                run.pod
            );
        }
    }
}

/// The phase of `pod` in `ns`.
fn phase(ns: &str, pod: &str) -> String {
    kubectl(&[
        "-n",
        ns,
        "get",
        "pod",
        pod,
        "-o",
        "jsonpath={.status.phase}",
    ])
}

fn name(pod: &Value) -> String {
    pod["metadata"]["name"].as_str().expect("name").to_string()
}

/// K01's namespace `ns`, fresh: its pod runner, go-demo-8 (two pods on the fake nodes and its
/// Service at `address`), the Role of `deploy/rbac/pod-chaos.yaml`, the book's experiments
/// ConfigMap and the journals' claim. Dropped in reverse order: the runner, then the
/// namespace.
fn k01_namespace(ns: &str, address: &str) -> (Cleanup, PodRunner) {
    let cleanup = fresh_namespaces(&[ns]);
    let runner = PodRunner::start(&run::scratch("deploy-pods", ns), &[ns]);
    expose(ns, address);
    app(ns);
    apply(ns, &deploy("rbac/pod-chaos.yaml", ns, ns));
    apply(ns, &book_configmap("experiments.yaml", ns));
    apply(ns, &deploy("journals.yaml", ns, ns));
    (cleanup, runner)
}

/// K01: the book's Job, its journal in the claim, its memory measured.
#[test]
fn k01_job_runs_the_book_s_experiment_as_a_real_pod() {
    let _one = serial();
    let ns = "deploy-pods-k01";
    let go_demo = AppStandIn::start();
    let (_cleanup, runner) = k01_namespace(ns, &go_demo.address);
    let before = pods(ns, "app=go-demo-8");
    apply(ns, &deploy("job.yaml", ns, ns));

    assert_eq!(job_end(ns, "go-demo-8-chaos"), "Complete");
    let pod = job_pod(ns, "go-demo-8-chaos");
    let pod_name = name(&pod);
    assert_eq!(pod["status"]["phase"], "Succeeded", "{pod:#}");
    assert_eq!(exit_code(&pod), 0);

    // The journal, in the claim, named after the pod (POD_NAME from the downward API).
    let journal = run::read_json(
        &runner
            .claim_dir(ns, "chaos-journals")
            .join(format!("{pod_name}.json")),
    );
    assert_eq!(journal["status"], "completed", "{journal:#}");
    assert_eq!(journal["deviated"], false);
    assert_eq!(journal["run"][0]["activity"]["name"], "terminate-app-pod");
    assert_eq!(journal["run"][0]["status"], "succeeded", "{journal:#}");
    for phase in ["before", "after"] {
        let probe = &journal["steady_states"][phase]["probes"][0];
        assert_eq!(probe["status"], "succeeded", "{journal:#}");
        assert_eq!(probe["output"]["status"], 200, "{journal:#}");
    }
    // The probe reached the stand-in through the Service's name, with the book's Host.
    let requests = go_demo.requests();
    assert!(
        requests.len() >= 2
            && requests
                .iter()
                .all(|r| r == "GET /demo/person HTTP/1.1 host=go-demo-8.acme.com"),
        "{requests:?}"
    );
    // The pod's own token (the Role of deploy/rbac/pod-chaos.yaml) killed an app pod.
    let after = pods(ns, "app=go-demo-8");
    assert!(
        before.difference(&after).count() >= 1,
        "no app pod was terminated: {before:?} -> {after:?}"
    );
    // The last log line is the verdict.
    let log = runner.log(ns, &pod_name, "chaostoolkit");
    assert!(
        last_line(&log).contains("Experiment ended with status: completed"),
        "{log}"
    );
    // `kubectl logs`, as the book reads the verdict (kwok serves the runner's log file).
    let tail = (0..100)
        .find_map(|_| {
            let out = cluster::try_kubectl_at(
                cluster::kubeconfig(),
                &["-n", ns, "logs", "job/go-demo-8-chaos", "--tail=1"],
            )
            .filter(|o| !o.trim().is_empty());
            if out.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            out
        })
        .unwrap_or_else(|| panic!("kubectl logs never answered"));
    assert_eq!(tail.trim(), last_line(&log), "kubectl logs --tail=1");
    assert!(
        log.contains(" DEBUG] "),
        "--verbose from the manifest's args: {log}"
    );
    assert_eq!(runner.runs().len(), 1);
    memory(&runner);
}

/// K01's CronJob: a journal per run; a deviating run fails its pod and says why.
#[test]
fn k01_cronjob_keeps_a_journal_per_run_and_a_deviation_fails_the_pod() {
    let _one = serial();
    let ns = "deploy-pods-cron";
    let go_demo = AppStandIn::start();
    let (_cleanup, runner) = k01_namespace(ns, &go_demo.address);
    apply(ns, &deploy("cronjob.yaml", ns, ns));

    kubectl(&[
        "-n",
        ns,
        "create",
        "job",
        "run-1",
        "--from=cronjob/go-demo-8-chaos",
    ]);
    assert_eq!(job_end(ns, "run-1"), "Complete");
    // The second run: the application breaks after the first probe (the steady state
    // before the method holds, the one after does not: deviated).
    let seen = go_demo.requests().len();
    go_demo.healthy.store(seen + 1, Ordering::SeqCst);
    go_demo.status.store(500, Ordering::SeqCst);
    kubectl(&[
        "-n",
        ns,
        "create",
        "job",
        "run-2",
        "--from=cronjob/go-demo-8-chaos",
    ]);
    assert_eq!(job_end(ns, "run-2"), "Failed");

    let claim = runner.claim_dir(ns, "chaos-journals");
    let first = job_pod(ns, "run-1");
    let second = job_pod(ns, "run-2");
    let journals: BTreeSet<String> = std::fs::read_dir(&claim)
        .expect("claim dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = [&first, &second]
        .iter()
        .map(|p| format!("{}.json", name(p)))
        .collect();
    assert_eq!(
        journals,
        expected,
        "one journal per run in {}",
        claim.display()
    );
    let ok = run::read_json(&claim.join(format!("{}.json", name(&first))));
    assert_eq!(ok["status"], "completed", "{ok:#}");
    let bad = run::read_json(&claim.join(format!("{}.json", name(&second))));
    // As the reference: a deviation keeps the status, sets `deviated`, exits 1.
    assert_eq!(bad["deviated"], true, "{bad:#}");
    assert_eq!(
        bad["steady_states"]["after"]["steady_state_met"], false,
        "{bad:#}"
    );

    assert_eq!(second["status"]["phase"], "Failed", "{second:#}");
    assert_eq!(exit_code(&second), 1);
    assert_eq!(
        second["status"]["containerStatuses"][0]["state"]["terminated"]["reason"],
        "Error"
    );
    let log = runner.log(ns, &name(&second), "chaostoolkit");
    // The last lines say the verdict, as the reference's.
    assert_eq!(
        last_line(&log).split("] ").last(),
        Some("The steady-state has deviated, a weakness may have been discovered"),
        "{log}"
    );
    assert!(
        log.contains("Experiment ended with status: deviated"),
        "{log}"
    );
    memory(&runner);
}

/// K03: a random node drained from the `chaos` namespace, uncordoned by the rollback.
#[test]
fn k03_node_drain_runs_from_the_chaos_namespace() {
    let _one = serial();
    let (app_ns, chaos_ns) = ("deploy-pods-k03-app", "deploy-pods-k03-chaos");
    let mut cleanup = fresh_namespaces(&[app_ns, chaos_ns]);
    cleanup.then(&[
        "delete",
        "clusterrolebinding,clusterrole",
        "chaostoolkit-nodes",
        "--ignore-not-found",
    ]);
    let runner = PodRunner::start(&run::scratch("deploy-pods", "k03"), &[chaos_ns]);
    app(app_ns);
    for file in ["rbac/pod-chaos-from-namespace.yaml", "rbac/node-chaos.yaml"] {
        cluster::kubectl(&["apply", "-f", "-"], Some(&deploy(file, app_ns, chaos_ns)));
    }
    apply(chaos_ns, &book_configmap("experiments-node.yaml", app_ns));
    apply(chaos_ns, &deploy("journals.yaml", app_ns, chaos_ns));
    apply(chaos_ns, &deploy("cronjob-node.yaml", app_ns, chaos_ns));
    // Test-only: the drain must not pick the node of the chaos pod itself (it would evict
    // its own runner, as it can in the book: docs/in-cluster.md). One node leaves the
    // experiment's candidates (`beta.kubernetes.io/os=linux`) and runs the pod.
    let home = "kwok-b2";
    kubectl(&["label", "node", home, "beta.kubernetes.io/os-"]);
    cleanup.then(&[
        "label",
        "node",
        home,
        "beta.kubernetes.io/os=linux",
        "--overwrite",
    ]);
    kubectl(&[
        "-n",
        chaos_ns,
        "patch",
        "cronjob",
        "nodes-chaos",
        "--type=merge",
        "-p",
        &format!(
            r#"{{"spec":{{"jobTemplate":{{"spec":{{"template":{{"spec":{{"nodeSelector":{{"kubernetes.io/hostname":"{home}"}}}}}}}}}}}}}}"#
        ),
    ]);
    kubectl(&[
        "-n",
        chaos_ns,
        "create",
        "job",
        "drain-1",
        "--from=cronjob/nodes-chaos",
    ]);
    let end = job_end(chaos_ns, "drain-1");
    let pod = job_pod(chaos_ns, "drain-1");
    let journal = run::read_json(
        &runner
            .claim_dir(chaos_ns, "chaos-journals")
            .join(format!("{}.json", name(&pod))),
    );
    assert_eq!(end, "Complete", "{journal:#}");
    assert_eq!(journal["status"], "completed", "{journal:#}");
    assert_eq!(journal["run"][0]["status"], "succeeded", "{journal:#}");
    assert_eq!(
        journal["rollbacks"][0]["status"], "succeeded",
        "{journal:#}"
    );
    let drained = journal["run"][0]["output"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no drained node: {journal:#}"))
        .to_string();
    assert_ne!(drained, home);
    let unschedulable = kubectl(&[
        "get",
        "node",
        &drained,
        "-o",
        "jsonpath={.spec.unschedulable}",
    ]);
    if !unschedulable.is_empty() {
        kubectl(&["uncordon", &drained]);
    }
    assert_eq!(unschedulable, "", "the rollback left {drained} cordoned");
    assert_eq!(exit_code(&pod), 0);
    memory(&runner);
}

/// The book's settings path, `/root/.chaostoolkit` (periodic-slack.yaml): the image's HOME,
/// so Slack hears of the failed run.
#[test]
fn settings_at_the_book_s_root_path_are_read_in_the_pod() {
    let _one = serial();
    let ns = "deploy-pods-slack";
    // go-demo-8 down, as in the book's failing run: nothing answers at its address, the
    // probe fails, the run fails (`run-failed`).
    let nothing = format!("127.80.{}.250", std::process::id() % 250);
    let (_cleanup, runner) = k01_namespace(ns, &nothing);
    let slack = StandIn::start(Behaviour::Slack);
    apply(ns, &deploy("settings-slack.yaml", ns, ns));
    kubectl(&[
        "-n",
        ns,
        "create",
        "secret",
        "generic",
        "chaostoolkit-slack",
        "--from-literal=token=xoxb-in-pod-token",
    ]);
    let cronjob = deploy("cronjob-slack.yaml", ns, ns);
    assert!(
        cronjob.contains("mountPath: /root/.chaostoolkit"),
        "the book's path"
    );
    apply(ns, &cronjob);
    // Test-only: Slack is the stand-in on loopback.
    kubectl(&[
        "-n",
        ns,
        "set",
        "env",
        "cronjob/go-demo-8-chaos",
        &format!("SLACK_API_URL={}", slack.api_url()),
    ]);
    kubectl(&[
        "-n",
        ns,
        "create",
        "job",
        "slack-1",
        "--from=cronjob/go-demo-8-chaos",
    ]);
    assert_eq!(job_end(ns, "slack-1"), "Failed");
    let pod = job_pod(ns, "slack-1");
    let log = runner.log(ns, &name(&pod), "chaostoolkit");
    assert!(
        log.contains("Using settings file '/root/.chaostoolkit/settings.yaml'"),
        "{log}"
    );
    // The Slack notification is sent (and logged) after the verdict line.
    assert!(
        log.contains("Experiment ended with status: failed"),
        "{log}"
    );
    let requests = slack.requests();
    let posted: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert!(
        posted.contains(&"/api/chat.postMessage"),
        "no Slack message from the pod: {posted:?}\n{log}"
    );
    let message = requests
        .iter()
        .find(|r| r.path == "/api/chat.postMessage")
        .expect("postMessage");
    assert_eq!(
        message.header("authorization"),
        Some("Bearer xoxb-in-pod-token"),
        "the token from the Secret, through the environment"
    );
    assert!(
        message.body.contains("tests"),
        "the channel of the settings: {:?}",
        message.body
    );
    memory(&runner);
}

/// What keeps a pod from starting is in its status, as a kubelet would say it: a sidecar
/// whose image the runner does not have (`ErrImagePull`), a ConfigMap that does not exist
/// (the pod waits, `ContainerCreating` with the mount error) until it is created, and then
/// the pod runs.
#[test]
fn a_pod_that_cannot_start_says_why_in_its_status() {
    let _one = serial();
    let ns = "deploy-pods-bad";
    let _cleanup = fresh_namespaces(&[ns]);
    let runner = PodRunner::start(&run::scratch("deploy-pods", "bad"), &[ns]);
    let pod = |name: &str, sidecar: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  restartPolicy: Never\n  \
             containers:\n  - name: c\n    image: shakedown:latest\n    args: [--version]\n    \
             volumeMounts: [{{name: e, mountPath: /experiment}}]\n{sidecar}  \
             volumes: [{{name: e, configMap: {{name: experiments}}}}]\n"
        )
    };
    apply(
        ns,
        &pod(
            "no-such-tag",
            "  - {name: side, image: shakedown:0.0.0-missing}\n",
        ),
    );
    apply(ns, &pod("no-configmap", ""));
    let waiting = |name: &str| -> (String, String) {
        for _ in 0..600 {
            let out = kubectl(&[
                "-n",
                ns,
                "get",
                "pod",
                name,
                "-o",
                "jsonpath={.status.containerStatuses[0].state.waiting.reason}|{.status.containerStatuses[0].state.waiting.message}",
            ]);
            if let Some((reason, message)) = out.split_once('|').filter(|(r, _)| !r.is_empty()) {
                return (reason.to_string(), message.to_string());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{name}: no waiting reason");
    };
    let (reason, message) = waiting("no-such-tag");
    assert_eq!(reason, "ErrImagePull");
    assert!(
        message.contains("shakedown:0.0.0-missing") && message.contains("not found"),
        "{message}"
    );
    let (reason, message) = waiting("no-configmap");
    assert_eq!(reason, "ContainerCreating");
    assert!(
        message.contains(r#"configmap "experiments" not found"#),
        "{message}"
    );
    assert_eq!(phase(ns, "no-configmap"), "Pending");
    // Once the ConfigMap exists, the pod runs (`chaos --version`) and succeeds.
    kubectl(&[
        "-n",
        ns,
        "create",
        "configmap",
        "experiments",
        "--from-literal=a=b",
    ]);
    let runs = runner.wait_for_runs(ns, 1, Duration::from_secs(60));
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].exit_code, 0);
    assert!(runner
        .log(ns, "no-configmap", "c")
        .contains("chaos version"));
    for _ in 0..300 {
        if phase(ns, "no-configmap") == "Succeeded" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(phase(ns, "no-configmap"), "Succeeded");
    assert_eq!(phase(ns, "no-such-tag"), "Pending");
}

/// A pod deleted while it runs (eviction, the Job's deadline, an operator's kill switch) is
/// terminated as a kubelet does it: SIGTERM first, so `chaos run` ends `interrupted` and
/// still writes its journal to the claim, exit code 1.
#[test]
fn a_deleted_pod_gets_sigterm_and_its_run_ends_interrupted() {
    let _one = serial();
    let ns = "deploy-pods-term";
    let go_demo = AppStandIn::start();
    let (_cleanup, runner) = k01_namespace(ns, &go_demo.address);
    // Test-only: a long pause after the kill, to delete the pod in it.
    apply(
        ns,
        &book_configmap("experiments.yaml", ns).replace("after: 1", "after: 300"),
    );
    apply(ns, &deploy("job.yaml", ns, ns));
    let pod = (0..600)
        .find_map(|_| {
            let pods = pods(ns, "job-name=go-demo-8-chaos");
            let pod = pods.into_iter().next()?;
            if runner
                .log(ns, &pod, "chaostoolkit")
                .contains("Pausing after activity for 300s")
            {
                return Some(pod);
            }
            std::thread::sleep(Duration::from_millis(100));
            None
        })
        .unwrap_or_else(|| panic!("the run never reached its pause"));
    kubectl(&["-n", ns, "delete", "pod", &pod, "--wait=false"]);
    let runs = runner.wait_for_runs(ns, 1, Duration::from_secs(60));
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        runs[0].exit_code,
        1,
        "{}",
        runner.log(ns, &pod, "chaostoolkit")
    );
    let log = runner.log(ns, &pod, "chaostoolkit");
    assert!(
        log.contains("Caught SIGTERM signal, interrupting experiment now"),
        "{log}"
    );
    let journal = run::read_json(
        &runner
            .claim_dir(ns, "chaos-journals")
            .join(format!("{pod}.json")),
    );
    assert_eq!(journal["status"], "interrupted", "{journal:#}");
}
