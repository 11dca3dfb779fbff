//! The book's Kubernetes experiments (go-demo-8 `chaos/*.yaml`) through `chaos run` on the
//! real control plane of `scripts/testenv`, with the book's manifests applied, ending with
//! the statuses the book reports (book-inventory §2) — and the same scenarios through the
//! reference Chaos Toolkit + chaostoolkit-kubernetes (`scripts/reference-venv-k8s`) on a
//! second control plane at the same time: same status and exit code.
//!
//! Scenarios share the `go-demo-8` and `istio-system` namespaces the experiments hard-code,
//! so they run one after the other inside one test.
//!
//! kwok starts and removes pods the instant the API asks; a kubelet does not, and several
//! book outcomes hinge on that (a terminated pod is still counted, a replacement is not
//! Ready yet). While the test runs, kwok Stages give `go-demo-8` pods a kubelet's timing:
//! Running [`POD_RUN_MS`] after binding, Ready
//! [`POD_READY_MS`] later, and gone [`POD_STOP_MS`] after deletion. The HTTP
//! probes go to a stand-in for the ingress (`support/stand_in_ingress.rs`) that answers
//! from the Services' real endpoints.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/stand_in_ingress.rs"]
mod stand_in_ingress;
// The talk's rollout experiments: slow (45 s each) and on the same control plane, so they
// run here, next to the book's scenarios, rather than after them in a binary of their own.
#[path = "../../drivers-prometheus/tests/peers/mod.rs"]
mod peers;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "k8s_book/talk_rollouts.rs"]
mod talk_rollouts;
// The network chapters (Istio faults felt through the stand-in ingress) and the combined
// end-to-end test: same namespaces, so they take [`BOOK_NAMESPACES`] too.
#[path = "k8s_book/istio_chapters.rs"]
mod istio_chapters;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A kubelet's timing, which kwok stages give `go-demo-8` pods while the test runs. From
/// binding to phase Running (containers started): later than the probe right after
/// `terminate_pods` (E05 sees the replacement Pending), earlier than the probe after a
/// drain (which waits [`POD_STOP_MS`] for the evicted pods) and its 1 s pause (E15 run 2).
const POD_RUN_MS: u64 = 2000;
/// From Running to Ready (the readiness probe passing): Ready [`POD_RUN_MS`] +
/// `POD_READY_MS` after binding is later than the 2 s pause before the book's HTTP probes
/// (E07, E08) and earlier than the 10 s pauses after which the book sees pods back.
const POD_READY_MS: u64 = 3000;
/// How long a terminated pod stays (Terminating) before it is gone; the probe right after
/// `terminate_pods` still counts it (E02 run 2), the one after a 10 s pause does not (E03).
const POD_STOP_MS: u64 = 3000;

/// The status message of pods made Ready by [`Cluster::kubelet_timing`]'s stage.
const TIMED_BY_KWOK_STAGE: &str = "started-by-kwok-stage-book-pod-ready";

/// Label on every kwok Stage this test adds, so they can be removed together.
const STAGE_LABEL: &str = "shakedown.test/k8s-book";

/// A kwok Stage moving Pending `go-demo-8` pods to Running but not Ready, each container
/// in `CONTAINER_STATE` (see [`running_not_ready_stage`]). No pod IP yet: kwok's pod-ready
/// stage allocates one, and a second would make the pod's `podIPs` invalid.
const RUNNING_NOT_READY_STAGE: &str = r#"apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: NAME
  labels: {LABEL: "true"}
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - {key: .metadata.namespace, operator: In, values: [go-demo-8]}
    - {key: .metadata.deletionTimestamp, operator: DoesNotExist}
    - {key: .status.phase, operator: In, values: [Pending]}
  delay: {durationMilliseconds: DELAY}
  weight: WEIGHT
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        CONTAINER_STATE
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
"#;

/// Containers started, waiting for their readiness probe.
const STARTED: &str = "started: true
        restartCount: 0
        state: {running: {startedAt: {{ $now | Quote }}}}";

/// go-demo-8 without its database: `panic: no reachable servers`, restarted 21 times.
const CRASH_LOOPING: &str = r#"started: false
        restartCount: 21
        lastState:
          terminated: {exitCode: 2, reason: Error, message: "panic: no reachable servers", startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }}}
        state:
          waiting: {reason: CrashLoopBackOff, message: back-off 5m0s restarting failed container}"#;

/// [`RUNNING_NOT_READY_STAGE`] filled in.
fn running_not_ready_stage(
    name: &str,
    delay_ms: u64,
    weight: u32,
    container_state: &str,
) -> String {
    RUNNING_NOT_READY_STAGE
        .replace("NAME", name)
        .replace("LABEL", STAGE_LABEL)
        .replace("DELAY", &delay_ms.to_string())
        .replace("WEIGHT", &weight.to_string())
        .replace("CONTAINER_STATE", container_state)
}

/// The book's `k8s/health/hpa.yaml` (minReplicas 2) in `autoscaling/v2`: the book's
/// `autoscaling/v2beta1` is no longer served since Kubernetes 1.26. With no metrics server
/// the HPA controller still holds the Deployment at `minReplicas`.
const HPA_V2: &str = "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: go-demo-8}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: go-demo-8}
  minReplicas: 2
  maxReplicas: 6
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
  - type: Resource
    resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}
";

/// The service account every namespace gets; applied so tests never race its controller.
const DEFAULT_SERVICE_ACCOUNT: &str =
    "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\n";

/// Held by every test of this binary that uses the `go-demo-8` and `istio-system`
/// namespaces of the default control plane, so that they run one after the other.
static BOOK_NAMESPACES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn book() -> PathBuf {
    PathBuf::from("/work/shared/corpus/go-demo-8")
}

fn last_line_with(stdout: &[u8], prefix: &str) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(prefix).map(|s| s.trim().to_string()))
}

/// A side's control plane: the one `scripts/testenv` manages (which the other Kubernetes
/// tests use too; started if needed and left running), or a second one in `run_dir`
/// (`TESTENV_RUN_DIR`), stopped on drop if it was started here. Panics with the reason.
struct ControlPlane {
    kc: String,
    stop: Option<PathBuf>,
}

impl ControlPlane {
    fn get(run_dir: Option<&Path>) -> ControlPlane {
        if let Some(kc) = cluster::running_plane(run_dir) {
            return ControlPlane { kc, stop: None };
        }
        ControlPlane {
            kc: cluster::start_plane(run_dir),
            stop: run_dir.map(Path::to_path_buf),
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Some(dir) = &self.stop {
            cluster::stop_plane(dir);
        }
    }
}

struct Cluster {
    kc: String,
    /// [`Cluster::crash_loop`] replaced the timed pod-ready stage.
    crash_looping: std::cell::Cell<bool>,
}

impl Cluster {
    fn k(&self, args: &[&str], stdin: Option<&str>) -> String {
        cluster::kubectl_at(&self.kc, args, stdin)
    }

    /// `kubectl ARGS`, its failure ignored: its standard output when it succeeded.
    fn try_k(&self, args: &[&str]) -> Option<String> {
        cluster::try_kubectl_at(&self.kc, args)
    }

    /// Gives `go-demo-8` pods a kubelet's timing with three stages, weighted so that kwok
    /// picks them over its instant unweighted ones: kwok's own pod-delete, delayed; Pending
    /// to Running-not-Ready, delayed; and kwok's own pod-ready, turned to act on Running pods,
    /// delayed, marking the pods it made Ready with [`TIMED_BY_KWOK_STAGE`].
    fn kubelet_timing(&self) {
        let mut delete = self.kwok_stage("pod-delete");
        delete["spec"]["delay"] = json!({ "durationMilliseconds": POD_STOP_MS });
        self.k(&["apply", "-f", "-"], Some(&delete.to_string()));
        self.k(
            &["apply", "-f", "-"],
            Some(&running_not_ready_stage(
                "book-pod-running",
                POD_RUN_MS,
                1,
                STARTED,
            )),
        );
        let mut ready = self.kwok_stage("pod-ready");
        for e in ready["spec"]["selector"]["matchExpressions"]
            .as_array_mut()
            .expect("kwok stage selector.matchExpressions")
        {
            if e["key"] == ".status.phase" {
                e["values"] = json!(["Running"]);
            }
        }
        ready["spec"]["delay"] = json!({ "durationMilliseconds": POD_READY_MS });
        let template = ready["spec"]["next"]["statusTemplate"]
            .as_str()
            .expect("kwok pod-ready statusTemplate");
        ready["spec"]["next"]["statusTemplate"] =
            json!(format!("{template}\nmessage: {TIMED_BY_KWOK_STAGE}\n"));
        self.k(&["apply", "-f", "-"], Some(&ready.to_string()));
        // A pod with the mark went through both delayed stages, so all three are in use.
        self.sync_stages(
            "--for=condition=Ready",
            "{.status.message}",
            TIMED_BY_KWOK_STAGE,
        );
    }

    /// kwok's "fast" `stage` from the testenv share, renamed `book-<stage>`, limited to
    /// `go-demo-8` and weighted.
    fn kwok_stage(&self, stage: &str) -> Value {
        let file = cluster::root().join(format!(
            "target/testenv/share/kwok/stage/pod/fast/{stage}.yaml"
        ));
        let file = file.to_string_lossy();
        let json = self.k(
            &["create", "--dry-run=client", "-o", "json", "-f", &file],
            None,
        );
        let mut s: Value = serde_json::from_str(&json).expect("kwok stage as JSON");
        s["metadata"] = json!({"name": format!("book-{stage}"), "labels": {STAGE_LABEL: "true"}});
        s["spec"]["selector"]["matchExpressions"]
            .as_array_mut()
            .expect("kwok stage selector.matchExpressions")
            .push(json!({"key": ".metadata.namespace", "operator": "In", "values": ["go-demo-8"]}));
        s["spec"]["weight"] = json!(1);
        s
    }

    /// Pending `go-demo-8` pods start crash-looping instead of becoming Ready, the way the
    /// book's go-demo-8 pod does without its database: phase Running, Ready False, the
    /// container waiting in CrashLoopBackOff. kwok picks at random among matching weighted
    /// stages, so the timed start-up stages leave until [`Cluster::reset`] restores them.
    fn crash_loop(&self) {
        self.remove_stage("book-pod-running");
        self.remove_stage("book-pod-ready");
        self.k(
            &["apply", "-f", "-"],
            Some(&running_not_ready_stage(
                "book-crash-loop",
                0,
                100,
                CRASH_LOOPING,
            )),
        );
        self.sync_stages(
            "--for=jsonpath={.status.phase}=Running",
            "{.status.containerStatuses[0].state.waiting.reason}",
            "CrashLoopBackOff",
        );
        self.crash_looping.set(true);
    }

    fn remove_stage(&self, name: &str) {
        self.try_k(&["delete", "stages.kwok.x-k8s.io", name, "--ignore-not-found"]);
    }

    /// Returns once kwok acts on the Stages as they are now. kwok reads them from a watch
    /// and does not say when it has, so throw-away pods are started, each waited for with
    /// `settled` (a `kubectl wait --for=` condition), until the newest stage's mark shows
    /// on one (`jsonpath` reads `expected`).
    fn sync_stages(&self, settled: &str, jsonpath: &str, expected: &str) {
        const CANARY: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: kwok-sync, labels: {app: kwok-sync}}\nspec: {containers: [{name: c, image: fake}]}\n";
        let jsonpath = format!("jsonpath={jsonpath}");
        for _ in 0..20 {
            self.k(&["-n", "go-demo-8", "apply", "-f", "-"], Some(CANARY));
            self.k(
                &[
                    "-n",
                    "go-demo-8",
                    "wait",
                    settled,
                    "pod/kwok-sync",
                    "--timeout=60s",
                ],
                None,
            );
            let seen = self.k(
                &[
                    "-n",
                    "go-demo-8",
                    "get",
                    "pod",
                    "kwok-sync",
                    "-o",
                    &jsonpath,
                ],
                None,
            );
            self.k(
                &[
                    "-n",
                    "go-demo-8",
                    "delete",
                    "pod",
                    "kwok-sync",
                    "--grace-period=0",
                    "--force",
                ],
                None,
            );
            if seen == expected {
                return;
            }
        }
        panic!("kwok did not take up the test's stages (no {expected:?} on a new pod)");
    }

    /// A pre-provisioned volume for the book's database claim (8Gi RWO, no storage class):
    /// the control plane has no provisioner, so the volume is created the static way.
    fn database_volume(&self) {
        self.k(
            &["apply", "-f", "-"],
            Some(
                "apiVersion: v1
kind: PersistentVolume
metadata: {name: book-go-demo-8-db}
spec:
  capacity: {storage: 8Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /var/lib/book-go-demo-8-db}
",
            ),
        );
    }

    /// Back to nothing: empty go-demo-8 / istio-system namespaces, no pool nodes, no
    /// volume. The namespaces are emptied rather than deleted: deleting one waits for the
    /// namespace controller's sweep, which would dominate this test's run time.
    fn reset(&self) {
        for ns in ["go-demo-8", "istio-system"] {
            self.clear(ns);
        }
        self.try_k(&["delete", "nodes", "-l", "pool=book", "--ignore-not-found"]);
        self.try_k(&["delete", "pv", "book-go-demo-8-db", "--ignore-not-found"]);
        // A namespace still terminating (an earlier run's clean-up deletes it without
        // waiting) takes no new objects: wait until it is gone, then create it again.
        let phase = self.try_k(&["get", "ns", "go-demo-8", "-o", "jsonpath={.status.phase}"]);
        if phase.as_deref() == Some("Terminating") {
            self.k(
                &["wait", "--for=delete", "ns/go-demo-8", "--timeout=180s"],
                None,
            );
        }
        self.try_k(&["create", "ns", "go-demo-8"]);
        // Pods need the namespace's default service account. `kubectl wait` fails at once
        // while the controller has not created it yet, so apply it (idempotent) instead.
        self.k(
            &["-n", "go-demo-8", "apply", "-f", "-"],
            Some(DEFAULT_SERVICE_ACCOUNT),
        );
        if self.crash_looping.take() {
            self.remove_stage("book-crash-loop");
            self.kubelet_timing();
        }
    }

    /// Deletes what the book's manifests and the set-ups create in `ns`: the controllers
    /// first, orphaning their pods so nothing re-creates them, then the pods at once (kwok's
    /// stop delay is for experiments, not for set-up), then the rest.
    fn clear(&self, ns: &str) {
        self.try_k(&[
            "-n",
            ns,
            "delete",
            "hpa,deployments,replicasets",
            "--all",
            "--cascade=orphan",
        ]);
        self.try_k(&[
            "-n",
            ns,
            "delete",
            "pods",
            "--all",
            "--grace-period=0",
            "--force",
        ]);
        self.try_k(&[
            "-n",
            ns,
            "delete",
            "services,ingresses,poddisruptionbudgets,persistentvolumeclaims",
            "--all",
        ]);
    }

    fn scale(&self, deployment: &str, replicas: u32) {
        self.k(
            &[
                "-n",
                "go-demo-8",
                "scale",
                "deployment",
                deployment,
                &format!("--replicas={replicas}"),
            ],
            None,
        );
    }

    /// Waits (at most 120 s) until `deployment` in `go-demo-8` has `ready` Ready replicas.
    fn wait_ready_replicas(&self, deployment: &str, ready: u32) {
        self.k(
            &[
                "-n",
                "go-demo-8",
                "wait",
                &format!("--for=jsonpath={{.status.readyReplicas}}={ready}"),
                &format!("deployment/{deployment}"),
                "--timeout=120s",
            ],
            None,
        );
    }

    fn apply(&self, ns: &str, file: &Path) {
        self.k(&["-n", ns, "apply", "-f", &file.to_string_lossy()], None);
    }

    /// Waits (at most 120 s) until a pod matches `selector`: `kubectl wait` with a selector
    /// fails at once while the controllers have not created any yet, which a loaded
    /// machine makes likely.
    fn await_pods(&self, ns: &str, selector: &str) {
        for _ in 0..240 {
            let found = self
                .try_k(&["-n", ns, "get", "pods", "-l", selector, "-o", "name"])
                .is_some_and(|names| !names.trim().is_empty());
            if found {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("no pod in {ns} matched {selector} within 120 s");
    }

    fn wait_ready(&self, ns: &str, selector: &str) {
        self.await_pods(ns, selector);
        self.k(
            &[
                "-n",
                ns,
                "wait",
                "--for=condition=Ready",
                "pods",
                "-l",
                selector,
                "--timeout=120s",
            ],
            None,
        );
    }

    /// Fake nodes labelled `pool=book`, tainted so that only pinned pods land there.
    fn pool(&self, n: usize) {
        for i in 0..n {
            self.k(&["create", "-f", "-"], Some(&format!(
                "apiVersion: v1\nkind: Node\nmetadata:\n  name: book-{i}\n  annotations: {{kwok.x-k8s.io/node: fake}}\n  labels: {{type: kwok, pool: book, kubernetes.io/hostname: book-{i}}}\nspec:\n  taints: [{{key: pool, value: book, effect: NoSchedule}}]\n"
            )));
        }
        self.k(
            &[
                "wait",
                "--for=condition=Ready",
                "nodes",
                "-l",
                "pool=book",
                "--timeout=60s",
            ],
            None,
        );
    }

    /// Pins a Deployment's pods to the `pool=book` nodes.
    fn pin(&self, ns: &str, deploy: &str) {
        self.k(&["-n", ns, "patch", "deployment", deploy, "--type=merge", "-p",
            r#"{"spec":{"template":{"spec":{"nodeSelector":{"pool":"book"},"tolerations":[{"key":"pool","value":"book","effect":"NoSchedule"}]}}}}"#], None);
        self.k(
            &[
                "-n",
                ns,
                "rollout",
                "status",
                &format!("deployment/{deploy}"),
                "--timeout=120s",
            ],
            None,
        );
    }

    /// The book's single-replica ingress gateway with a PDB needing one healthy pod.
    fn gateway(&self, replicas: u32) {
        self.try_k(&["create", "ns", "istio-system"]);
        // Pods need the namespace's default service account. `kubectl wait` fails at once
        // while the controller has not created it yet, so apply it (idempotent) instead.
        self.k(
            &["-n", "istio-system", "apply", "-f", "-"],
            Some(DEFAULT_SERVICE_ACCOUNT),
        );
        self.k(
            &["-n", "istio-system", "apply", "-f", "-"],
            Some(&format!(
                "apiVersion: apps/v1
kind: Deployment
metadata: {{name: istio-ingressgateway}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: istio-ingressgateway}}}}
  template:
    metadata: {{labels: {{app: istio-ingressgateway}}}}
    spec:
      nodeSelector: {{pool: book}}
      tolerations: [{{key: pool, value: book, effect: NoSchedule}}]
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {{matchLabels: {{app: istio-ingressgateway}}}}
            topologyKey: kubernetes.io/hostname
      containers: [{{name: proxy, image: fake}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: ingressgateway}}
spec:
  minAvailable: 1
  selector: {{matchLabels: {{app: istio-ingressgateway}}}}
"
            )),
        );
        self.wait_ready("istio-system", "app=istio-ingressgateway");
        self.k(
            &[
                "-n",
                "istio-system",
                "wait",
                &format!("--for=jsonpath={{.status.currentHealthy}}={replicas}"),
                "pdb/ingressgateway",
                "--timeout=60s",
            ],
            None,
        );
    }
}

/// Runs one experiment with `chaos` (ours or the reference); returns (status, exit code).
fn run(bin: &Path, kc: &str, ingress: &str, experiment: &str, tag: &str) -> (String, i32) {
    run_env(bin, kc, ingress, experiment, tag, &[])
}

/// [`run`] with more environment variables (`CHAOS_PYTHON`, say).
fn run_env(
    bin: &Path,
    kc: &str,
    ingress: &str,
    experiment: &str,
    tag: &str,
    env: &[(&str, &str)],
) -> (String, i32) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("k8s-book-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, "{}\n").expect("settings");
    let journal = dir.join("journal.json");
    let out = Command::new(bin)
        .current_dir(&dir)
        .args(["--no-version-check", "--settings"])
        .arg(&settings)
        .args(["run", "--journal-path"])
        .arg(&journal)
        .arg(book().join("chaos").join(experiment))
        .env("KUBECONFIG", kc)
        .env("NODE_LABEL", "pool=book")
        .env("INGRESS_HOST", ingress)
        .envs(env.iter().copied())
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .output()
        .expect("run chaos");
    let text = std::fs::read_to_string(&journal).unwrap_or_else(|e| {
        panic!(
            "{tag}: no journal ({e}); stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let j: Value = serde_json::from_str(&text).expect("journal JSON");
    // What "Experiment ended with status: …" says: `deviated` replaces the journal status.
    let status = if j["deviated"] == Value::Bool(true) {
        "deviated".to_string()
    } else {
        j["status"].as_str().unwrap_or("?").to_string()
    };
    eprintln!(
        "[{tag}] {experiment}: {status} ({:?})\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (status, out.status.code().unwrap_or(-1))
}

/// One acceptance case: cluster state, experiment, the book's status and exit code.
struct Case {
    id: &'static str,
    experiment: &'static str,
    setup: fn(&Cluster),
    status: &'static str,
    code: i32,
    after: fn(&Cluster),
}

fn nothing(_: &Cluster) {}

fn bare_pod(c: &Cluster) {
    c.apply("go-demo-8", &book().join("k8s/terminate-pods/pod.yaml"));
    c.wait_ready("go-demo-8", "app=go-demo-8");
}

fn deployment(c: &Cluster) {
    c.apply(
        "go-demo-8",
        &book().join("k8s/terminate-pods/deployment.yaml"),
    );
    c.wait_ready("go-demo-8", "app=go-demo-8");
}

fn app(c: &Cluster) {
    c.apply(
        "go-demo-8",
        &book().join("k8s/terminate-pods/app/deployment.yaml"),
    );
    c.wait_ready("go-demo-8", "app=go-demo-8");
}

/// E04 run 1: the bare pod crash-loops (its database is missing).
fn crash_looping_pod(c: &Cluster) {
    c.crash_loop();
    c.apply("go-demo-8", &book().join("k8s/terminate-pods/pod.yaml"));
    c.k(
        &[
            "-n",
            "go-demo-8",
            "wait",
            "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=CrashLoopBackOff",
            "pod/go-demo-8",
            "--timeout=60s",
        ],
        None,
    );
}

/// `k8s/terminate-pods/app/*`: the app (one replica) and its database, plus the book's
/// Ingress and Service (`k8s/health/ingress.yaml`).
fn app_and_db(c: &Cluster) {
    app_and_db_with(c, false);
}

/// [`app_and_db`] with the book's HPA holding two app replicas.
fn app_and_db_with_hpa(c: &Cluster) {
    app_and_db_with(c, true);
}

fn app_and_db_with(c: &Cluster, hpa: bool) {
    c.database_volume();
    c.apply("go-demo-8", &book().join("k8s/terminate-pods/app"));
    c.apply("go-demo-8", &book().join("k8s/health/ingress.yaml"));
    let replicas = if hpa {
        c.k(&["-n", "go-demo-8", "apply", "-f", "-"], Some(HPA_V2));
        // What the HPA controller does at its next sync (every 15 s), done now.
        c.scale("go-demo-8", 2);
        2
    } else {
        1
    };
    for (deployment, ready) in [("go-demo-8-db", 1), ("go-demo-8", replicas)] {
        c.wait_ready_replicas(deployment, ready);
    }
}

/// E14: one node carries the label; the app and the PDB-protected gateway run there.
fn one_node(c: &Cluster) {
    c.pool(1);
    app(c);
    c.pin("go-demo-8", "go-demo-8");
    c.gateway(1);
}

/// E15 run 1: the node is still cordoned from E14 and the app pods are Pending.
fn still_cordoned(c: &Cluster) {
    one_node(c);
    c.k(&["cordon", "book-0"], None);
    c.try_k(&[
        "-n",
        "go-demo-8",
        "delete",
        "pods",
        "--all",
        "--grace-period=0",
        "--force",
    ]);
    c.await_pods("go-demo-8", "app=go-demo-8");
    c.k(
        &[
            "-n",
            "go-demo-8",
            "wait",
            "--for=jsonpath={.status.phase}=Pending",
            "pods",
            "-l",
            "app=go-demo-8",
            "--timeout=60s",
        ],
        None,
    );
}

/// E15 run 2: three labelled nodes, the gateway on two of them (the book raised its HPA's
/// minReplicas to 2), so the drain can evict what it finds there.
fn three_nodes_two_gateways(c: &Cluster) {
    c.pool(3);
    app(c);
    c.pin("go-demo-8", "go-demo-8");
    c.gateway(2);
}

fn all_uncordoned(c: &Cluster) {
    let out = c.k(
        &[
            "get",
            "nodes",
            "-l",
            "pool=book",
            "-o",
            "jsonpath={.items[*].spec.unschedulable}",
        ],
        None,
    );
    assert_eq!(out.trim(), "", "the rollback uncordoned the drained node");
}

/// The book (older chaoslib) runs rollbacks after a failed initial hypothesis; whether the
/// pinned reference does is the engine's business, so this only reports the node state.
fn report_cordon(c: &Cluster) {
    let out = c.k(
        &[
            "get",
            "node",
            "book-0",
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
        None,
    );
    eprintln!("E15 run 1: node book-0 unschedulable after the run: {out:?}");
}

fn left_cordoned(c: &Cluster) {
    let out = c.k(
        &[
            "get",
            "node",
            "book-0",
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
        None,
    );
    assert_eq!(
        out, "true",
        "a failed drain leaves the node cordoned (book)"
    );
}

/// E16: three labelled nodes, the app spread over them.
fn three_nodes(c: &Cluster) {
    c.pool(3);
    app(c);
    c.scale("go-demo-8", 3);
    c.pin("go-demo-8", "go-demo-8");
}

fn one_node_fewer(c: &Cluster) {
    let out = c.k(&["get", "nodes", "-l", "pool=book", "-o", "name"], None);
    assert_eq!(
        out.lines().count(),
        2,
        "delete_nodes removed one Node object"
    );
}

const CASES: &[Case] = &[
    Case {
        id: "E01",
        experiment: "terminate-pod.yaml",
        setup: bare_pod,
        status: "completed",
        code: 0,
        after: nothing,
    },
    // The book (2020 chaoslib) reports failed (1); the pinned reference (chaostoolkit 1.19 /
    // chaoslib 1.44) ends an out-of-tolerance initial hypothesis as completed (0), and the
    // differential half holds Shakedown to the pinned reference.
    Case {
        id: "E02 run 1",
        experiment: "terminate-pod-ssh.yaml",
        setup: nothing,
        status: "completed",
        code: 0,
        after: nothing,
    },
    // The probe right after `terminate_pods` still counts the Terminating pod (book).
    Case {
        id: "E02 run 2",
        experiment: "terminate-pod-ssh.yaml",
        setup: bare_pod,
        status: "completed",
        code: 0,
        after: nothing,
    },
    Case {
        id: "E03",
        experiment: "terminate-pod-pause.yaml",
        setup: bare_pod,
        status: "deviated",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E04 run 1",
        experiment: "terminate-pod-phase.yaml",
        setup: crash_looping_pod,
        status: "failed",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E04 run 2",
        experiment: "terminate-pod-phase.yaml",
        setup: bare_pod,
        status: "deviated",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E04 run 3",
        experiment: "terminate-pod-phase.yaml",
        setup: deployment,
        status: "completed",
        code: 0,
        after: nothing,
    },
    // The replacement pod is not Running yet when the hypothesis is checked again.
    Case {
        id: "E05",
        experiment: "health.yaml",
        setup: app_and_db,
        status: "deviated",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E06",
        experiment: "health-pause.yaml",
        setup: app,
        status: "completed",
        code: 0,
        after: nothing,
    },
    // One replica: 2 s after its pod is terminated the ingress has no ready endpoint.
    Case {
        id: "E07 run 1",
        experiment: "health-http.yaml",
        setup: app_and_db,
        status: "deviated",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E07 run 2",
        experiment: "health-http.yaml",
        setup: app_and_db_with_hpa,
        status: "completed",
        code: 0,
        after: nothing,
    },
    // The app waits for its terminated database; the probe times out after 3 s.
    Case {
        id: "E08",
        experiment: "health-db.yaml",
        setup: app_and_db_with_hpa,
        status: "deviated",
        code: 1,
        after: nothing,
    },
    Case {
        id: "E14",
        experiment: "node-drain.yaml",
        setup: one_node,
        status: "deviated",
        code: 1,
        after: left_cordoned,
    },
    Case {
        id: "E15 run 1",
        experiment: "node-uncordon.yaml",
        setup: still_cordoned,
        status: "failed",
        code: 1,
        after: report_cordon,
    },
    Case {
        id: "E15 run 2",
        experiment: "node-uncordon.yaml",
        setup: three_nodes_two_gateways,
        status: "completed",
        code: 0,
        after: all_uncordoned,
    },
    Case {
        id: "E16",
        experiment: "node-delete.yaml",
        setup: three_nodes,
        status: "completed",
        code: 0,
        after: one_node_fewer,
    },
];

/// Every case with `bin` on one control plane; `status (code)` per case.
fn run_side(tag: &str, bin: &Path, run_dir: Option<&Path>, cases: &[&Case]) -> Vec<(String, i32)> {
    let plane = ControlPlane::get(run_dir);
    let cluster = Cluster {
        kc: plane.kc.clone(),
        crash_looping: Default::default(),
    };
    cluster.reset();
    cluster.kubelet_timing();
    let ingress = stand_in_ingress::StandInIngress::start(stand_in_ingress::Cluster {
        kubectl: cluster::kubectl_bin(),
        kubeconfig: plane.kc.clone(),
        namespace: "go-demo-8".into(),
        database_service: "go-demo-8-db".into(),
    });
    let mut results = Vec::new();
    for case in cases {
        // A case that panics (a setup that times out, a missing journal) is reported in
        // the final table with its message, and the other cases still run.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cluster.reset();
            (case.setup)(&cluster);
            let (status, code) = run(
                bin,
                &plane.kc,
                &ingress.address(),
                case.experiment,
                &format!("{}-{tag}", case.id.replace(' ', "-")),
            );
            if status == case.status && code == case.code {
                (case.after)(&cluster);
            }
            (status, code)
        }));
        results.push(outcome.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (format!("panicked: {message}"), -2)
        }));
    }
    cluster.reset();
    cluster.try_k(&[
        "delete",
        "ns",
        "go-demo-8",
        "istio-system",
        "--ignore-not-found",
        "--wait=false",
    ]);
    cluster.try_k(&["delete", "nodes", "-l", "pool=book", "--ignore-not-found"]);
    cluster.try_k(&["delete", "pv", "book-go-demo-8-db", "--ignore-not-found"]);
    cluster.try_k(&["delete", "stages.kwok.x-k8s.io", "-l", STAGE_LABEL]);
    results
}

/// Shakedown and the reference run at the same time, each on its own control plane (the
/// reference's in `target/testenv/run-k8s-book-reference`, started and stopped here): the
/// cases wait mostly on pauses and the kubelet model, not on the CPU.
#[test]
fn book_experiments_match_the_book_and_the_reference() {
    let _namespaces = BOOK_NAMESPACES.lock().unwrap_or_else(|e| e.into_inner());
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_chaos"));
    let reference = Command::new(cluster::root().join("scripts/reference-venv-k8s"))
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| last_line_with(&o.stdout, "").map(PathBuf::from))
        .filter(|p| p.is_file());
    let reference = reference.expect(
        "the reference venv (scripts/reference-venv-k8s) is needed for the differential half",
    );
    // `SHAKEDOWN_BOOK_CASES=E05,E07` runs only the cases whose id starts with one of those.
    let only = std::env::var("SHAKEDOWN_BOOK_CASES").unwrap_or_default();
    let selected = |id: &str| only.is_empty() || only.split(',').any(|p| id.starts_with(p.trim()));
    let cases: Vec<&Case> = CASES.iter().filter(|c| selected(c.id)).collect();
    let second = cluster::root().join("target/testenv/run-k8s-book-reference");
    let (ours_results, reference_results) = std::thread::scope(|scope| {
        let a = scope.spawn(|| run_side("shakedown", &ours, None, &cases));
        let b = scope.spawn(|| run_side("reference", &reference, Some(&second), &cases));
        let join = |h: std::thread::ScopedJoinHandle<'_, Vec<(String, i32)>>| {
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        };
        (join(a), join(b))
    });
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for ((case, ours), reference) in cases.iter().zip(&ours_results).zip(&reference_results) {
        let mut row = vec![
            case.id.to_string(),
            format!("{} ({})", case.status, case.code),
        ];
        for (tag, (status, code)) in [("shakedown", ours), ("reference", reference)] {
            row.push(format!("{status} ({code})"));
            if status != case.status || *code != case.code {
                failures.push(format!(
                    "{} [{tag}]: {status} ({code}), book: {} ({})",
                    case.id, case.status, case.code
                ));
            }
        }
        report.push(row.join(" | "));
    }
    eprintln!("case | book | shakedown | reference\n{}", report.join("\n"));
    assert!(failures.is_empty(), "{failures:#?}\n{}", report.join("\n"));
}
