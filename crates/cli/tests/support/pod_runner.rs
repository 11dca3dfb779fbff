//! The pod runner: Shakedown's pods on the fake nodes of `scripts/testenv` run for real.
//!
//! Why: the control plane of `scripts/testenv` has no kubelet (this VM has cgroup v1 and
//! kubelet 1.36 refuses it by default; docs/testenv.md "Real nodes"), and kwok only pretends
//! to run pods. A Job or CronJob of `deploy/`, or a pod `chaos operator` creates, must really
//! execute the image's command, or the in-cluster story is untested. The runner plays the
//! kubelet for exactly those pods: the ones whose image is Shakedown's under the name `deploy/`
//! gives it (`shakedown:<workspace version>`, `:latest` or untagged, any registry:
//! [`runs_here`]; kwok's pod-ready and pod-complete stages skip exactly those, see
//! `scripts/testenv`; other tags such as `shakedown:test` stay kwok's), in the namespaces a test hands it, so concurrent tests never run each
//! other's pods.
//!
//! Why a test-support module and not a daemon started by `scripts/testenv`: it lives and dies
//! with the test that needs it (no stale runner from an earlier `up` running another
//! checkout's binary), it runs the `chaos` the test was built with, and the test reads its
//! logs, claims and peak memory directly. The contract (which pods, what is mounted, what is
//! written back) is in docs/testenv.md, "Pods that really run".
//!
//! For each such pod, once it is bound to a node: the image (the OCI layout of
//! `scripts/release`, `target/image/oci`, when it exists, else one written by
//! `scripts/oci-image` around the `chaos` under test) is unpacked once; every container gets
//! a root of its own (hard links to the image's files) in a private mount namespace, with the
//! pod's volumes bind-mounted where the pod would see them (ConfigMaps, Secrets, projected
//! service-account tokens from the TokenRequest API, downward API, emptyDir, claims as host
//! directories), `/proc`, `/dev`, a generated `/etc/hosts`, then `chroot`, the working
//! directory, the user, group and fsGroup of the security context, `no_new_privs`, and the
//! read-only root file system when asked. Its command, arguments and environment are the
//! kubelet's (image entrypoint/cmd/env, `$(VAR)` expansion, `valueFrom`, `envFrom`,
//! `KUBERNETES_SERVICE_HOST/PORT` of the apiserver). Init containers run first, in order.
//! The runner writes the pod's status through `pods/status`: Running, then Succeeded or
//! Failed with each container's exit code, so the Job controller completes the Job. Standard
//! output and error go to a file per container ([`PodRunner::log`]), and the peak resident
//! memory of each run is kept ([`PodRunner::runs`]).
//!
//! It also provisions the claims of its namespaces: a PersistentVolume (hostPath, a directory
//! under the runner's own) for every pending PersistentVolumeClaim, so the scheduler can
//! place the pods that use them.
//!
//! Needs the crate's `cluster` module (`drivers-k8s/tests/support/cluster.rs`) and root (for
//! the mount namespace and `chroot`; the tests run as root here and on CI).
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::CString;
use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// One container run to its end.
#[derive(Debug, Clone)]
pub struct Run {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub exit_code: i32,
    /// Peak resident set (`VmHWM` of `/proc/<pid>/status`, polled every 10 ms), KiB.
    pub peak_rss_kib: u64,
    /// The container's standard output and error.
    pub log: PathBuf,
}

/// A running pod runner; dropping it kills what still runs and deletes the volumes it
/// provisioned.
pub struct PodRunner {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    watchers: Arc<Mutex<Vec<Child>>>,
}

struct Shared {
    id: String,
    dir: PathBuf,
    namespaces: HashSet<String>,
    kubeconfig: String,
    apiserver: (String, String),
    stop: AtomicBool,
    runs: Mutex<Vec<Run>>,
    /// uid → cancelled (deleted) flag of the pods started.
    started: Mutex<HashMap<String, Arc<AtomicBool>>>,
    provisioned: Mutex<HashSet<String>>,
    pod_threads: Mutex<Vec<JoinHandle<()>>>,
    image: Image,
}

/// Shakedown's image, unpacked.
#[derive(Debug, Clone)]
pub struct Image {
    pub rootfs: PathBuf,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: String,
    pub user: (u32, u32),
    /// The tags under which it is known (its version, `latest`).
    pub tags: Vec<String>,
    /// Where it came from: `target/image/oci` (`scripts/release`) or the debug `chaos`.
    pub source: String,
    /// A dynamically linked binary (the debug build) needs the host's libraries.
    pub dynamic: bool,
    /// A binary bind-mounted over the image's entrypoint (the debug `chaos` under test).
    pub binary: Option<PathBuf>,
}

/// An ELF executable with a program interpreter (`ld-linux`): dynamically linked.
fn is_dynamic(binary: &Path) -> bool {
    let mut head = vec![0u8; 4096];
    let n = std::fs::File::open(binary)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    head[..n]
        .windows(b"ld-linux".len())
        .any(|w| w == b"ld-linux")
}

/// Whether `image` names Shakedown's image (`[registry/…/]shakedown[:tag|@digest]`): the
/// same test as the kwok stages' selector in `scripts/testenv`.
pub fn is_shakedown_image(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    let name = last.split(['@', ':']).next().unwrap_or(last);
    name == "shakedown"
}

/// The pods the runner takes (and kwok's stages leave alone, `scripts/testenv`): Shakedown's
/// image under the name `deploy/` gives it, `shakedown:<workspace version>`, `:latest` or no
/// tag. Other tags (`shakedown:test`) stay kwok's, so other tests' pods behave as before.
pub fn runs_here(image: &str) -> bool {
    is_shakedown_image(image)
        && !image.contains('@')
        && image_tag(image).is_none_or(|t| t == env!("CARGO_PKG_VERSION") || t == "latest")
}

fn image_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains('@') {
        return None;
    }
    last.split_once(':').map(|(_, tag)| tag)
}

impl PodRunner {
    /// Starts running Shakedown's pods in `namespaces` (which need not exist yet); its
    /// files (logs, claims, pod roots) go under `dir`.
    pub fn start(dir: &Path, namespaces: &[&str]) -> PodRunner {
        let kubeconfig = super::cluster::kubeconfig().to_string();
        check_stages(&kubeconfig);
        std::fs::create_dir_all(dir).expect("pod runner dir");
        let server = super::cluster::kubectl(
            &[
                "config",
                "view",
                "--minify",
                "-o",
                "jsonpath={.clusters[0].cluster.server}",
            ],
            None,
        );
        let hostport = server
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let (host, port) = hostport
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("no port in the apiserver URL {server}"));
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let shared = Arc::new(Shared {
            id: format!(
                "{}-{}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::SeqCst)
            ),
            dir: dir.to_path_buf(),
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            kubeconfig,
            apiserver: (host.to_string(), port.to_string()),
            stop: AtomicBool::new(false),
            runs: Mutex::new(Vec::new()),
            started: Mutex::new(HashMap::new()),
            provisioned: Mutex::new(HashSet::new()),
            pod_threads: Mutex::new(Vec::new()),
            image: shakedown_image().clone(),
        });
        let watchers = Arc::new(Mutex::new(Vec::new()));
        let mut threads = Vec::new();
        for resource in ["pods", "persistentvolumeclaims"] {
            let shared = Arc::clone(&shared);
            let watchers = Arc::clone(&watchers);
            threads.push(std::thread::spawn(move || {
                watch(&shared, resource, &watchers)
            }));
        }
        PodRunner {
            shared,
            threads,
            watchers,
        }
    }

    /// The image the runner runs.
    pub fn image(&self) -> &Image {
        &self.shared.image
    }

    /// The host directory behind the claim `claim` of `namespace` (provisioned by the runner).
    pub fn claim_dir(&self, namespace: &str, claim: &str) -> PathBuf {
        self.shared.dir.join("claims").join(namespace).join(claim)
    }

    /// The log file of `container` of `pod`.
    pub fn log_path(&self, namespace: &str, pod: &str, container: &str) -> PathBuf {
        log_path(&self.shared.dir, namespace, pod, container)
    }

    /// The log of `container` of `pod` so far (empty when it never ran).
    pub fn log(&self, namespace: &str, pod: &str, container: &str) -> String {
        std::fs::read_to_string(self.log_path(namespace, pod, container)).unwrap_or_default()
    }

    /// Every container run that ended, in order.
    pub fn runs(&self) -> Vec<Run> {
        self.shared.runs.lock().expect("runs").clone()
    }

    /// Polls (at most `timeout`) until `n` runs ended in `namespace`; those runs.
    pub fn wait_for_runs(&self, namespace: &str, n: usize, timeout: Duration) -> Vec<Run> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let runs: Vec<Run> = self
                .runs()
                .into_iter()
                .filter(|r| r.namespace == namespace)
                .collect();
            if runs.len() >= n || std::time::Instant::now() > deadline {
                return runs;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PodRunner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for flag in self.shared.started.lock().expect("started").values() {
            flag.store(true, Ordering::SeqCst);
        }
        for child in self.watchers.lock().expect("watchers").iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let pods: Vec<JoinHandle<()>> = self
            .shared
            .pod_threads
            .lock()
            .expect("pod threads")
            .drain(..)
            .collect();
        for t in pods {
            let _ = t.join();
        }
        // The pods' roots and volumes (tokens, secrets); logs and claims stay for the test.
        let _ = std::fs::remove_dir_all(self.shared.dir.join("pods"));
        let _ = super::cluster::try_kubectl_at(
            &self.shared.kubeconfig,
            &[
                "delete",
                "persistentvolume",
                "-l",
                &format!("shakedown.dev/pod-runner={}", self.shared.id),
                "--wait=false",
            ],
        );
    }
}

/// The kwok stages of a `scripts/testenv` from before the runner would make kwok complete
/// Shakedown's pods itself: say so instead of racing it.
fn check_stages(kubeconfig: &str) {
    for stage in ["pod-ready", "pod-complete"] {
        let out = super::cluster::try_kubectl_at(
            kubeconfig,
            &["get", "stage", stage, "-o", "jsonpath={.spec.selector}"],
        )
        .unwrap_or_default();
        assert!(
            out.contains("shakedown"),
            "kwok's {stage} stage does not skip Shakedown's pods: the control plane was started \
             by an older scripts/testenv; run `scripts/testenv down` and `scripts/testenv up` \
             from this checkout"
        );
    }
}

fn kubectl(shared: &Shared, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut cmd = Command::new(super::cluster::kubectl_bin());
    cmd.arg("--kubeconfig")
        .arg(&shared.kubeconfig)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("kubectl: {e}"))?;
    if let Some(input) = stdin {
        use std::io::Write;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(input.as_bytes())
                .map_err(|e| format!("kubectl stdin: {e}"))?;
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("kubectl: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn get_json(shared: &Shared, ns: &str, kind: &str, name: &str) -> Result<Value, String> {
    let out = kubectl(shared, &["-n", ns, "get", kind, name, "-o", "json"], None)?;
    serde_json::from_str(&out).map_err(|e| format!("{kind}/{name}: {e}"))
}

/// `kubectl get RESOURCE --all-namespaces --watch`, restarted when it ends, each event handed
/// to the pod or claim logic.
fn watch(shared: &Arc<Shared>, resource: &str, watchers: &Mutex<Vec<Child>>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let child = Command::new(super::cluster::kubectl_bin())
            .arg("--kubeconfig")
            .arg(&shared.kubeconfig)
            .args([
                "get",
                resource,
                "--all-namespaces",
                "--watch",
                "--output-watch-events",
                "-o",
                "json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            std::thread::sleep(Duration::from_millis(500));
            continue;
        };
        let Some(stdout) = child.stdout.take() else {
            continue;
        };
        watchers.lock().expect("watchers").push(child);
        let events = serde_json::Deserializer::from_reader(BufReader::new(stdout)).into_iter();
        for event in events {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(event) = event else { break };
            let event: Value = event;
            let object = &event["object"];
            let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
            if !shared.namespaces.contains(ns) {
                continue;
            }
            let deleted = event["type"] == "DELETED";
            if resource == "pods" {
                on_pod(shared, object, deleted);
            } else if !deleted {
                on_claim(shared, object);
            }
        }
        if !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn on_pod(shared: &Arc<Shared>, pod: &Value, deleted: bool) {
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut started = shared.started.lock().expect("started");
    if let Some(flag) = started.get(&uid) {
        if deleted || !pod["metadata"]["deletionTimestamp"].is_null() {
            flag.store(true, Ordering::SeqCst);
        }
        return;
    }
    let ours = containers(pod, "initContainers")
        .chain(containers(pod, "containers"))
        .any(|c| runs_here(c["image"].as_str().unwrap_or_default()));
    let pending = matches!(pod["status"]["phase"].as_str(), None | Some("Pending"));
    if deleted
        || !ours
        || !pending
        || pod["spec"]["nodeName"].as_str().is_none()
        || !pod["metadata"]["deletionTimestamp"].is_null()
    {
        return;
    }
    let cancel = Arc::new(AtomicBool::new(false));
    started.insert(uid, Arc::clone(&cancel));
    let shared2 = Arc::clone(shared);
    let pod = pod.clone();
    let handle = std::thread::spawn(move || run_pod(&shared2, &pod, &cancel));
    shared.pod_threads.lock().expect("pod threads").push(handle);
}

fn containers<'a>(pod: &'a Value, list: &str) -> impl Iterator<Item = &'a Value> {
    pod["spec"][list].as_array().into_iter().flatten()
}

/// A PersistentVolume (hostPath under the runner's directory) for a pending claim.
fn on_claim(shared: &Shared, claim: &Value) {
    let ns = claim["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = claim["metadata"]["name"].as_str().unwrap_or_default();
    if claim["status"]["phase"] != "Pending" || claim["spec"]["volumeName"].is_string() {
        return;
    }
    let key = format!("{ns}/{name}");
    if !shared.provisioned.lock().expect("provisioned").insert(key) {
        return;
    }
    let path = shared.dir.join("claims").join(ns).join(name);
    if std::fs::create_dir_all(&path).is_err() {
        return;
    }
    set_mode(&path, 0o777);
    let pv = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": format!("pod-runner-{}-{ns}-{name}", shared.id),
            "labels": {"shakedown.dev/pod-runner": shared.id},
        },
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"].as_str().unwrap_or("1Gi")},
            "accessModes": claim["spec"]["accessModes"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": claim["spec"]["storageClassName"].as_str().unwrap_or(""),
            "claimRef": {"namespace": ns, "name": name, "uid": claim["metadata"]["uid"]},
            "hostPath": {"path": path.to_string_lossy()},
        }
    });
    let _ = kubectl(shared, &["create", "-f", "-"], Some(&pv.to_string()));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

fn log_path(dir: &Path, ns: &str, pod: &str, container: &str) -> PathBuf {
    dir.join("logs")
        .join(ns)
        .join(pod)
        .join(format!("{container}.log"))
}

fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // RFC 3339 in UTC, without a date library: days since the epoch to a civil date.
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn patch_status(shared: &Shared, pod: &Value, status: Value) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let _ = kubectl(
        shared,
        &[
            "-n",
            ns,
            "patch",
            "pod",
            name,
            "--subresource=status",
            "--type=merge",
            "-p",
            &json!({ "status": status }).to_string(),
        ],
        None,
    );
}

/// What stops a pod before its containers start: a kubelet's waiting reason and message.
struct Waiting {
    reason: &'static str,
    message: String,
    /// The kubelet retries (a missing ConfigMap may appear); an image never appears here.
    retry: bool,
}

fn waiting(reason: &'static str, message: String, retry: bool) -> Waiting {
    Waiting {
        reason,
        message,
        retry,
    }
}

fn run_pod(shared: &Arc<Shared>, pod: &Value, cancel: &Arc<AtomicBool>) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    let pod_dir = shared
        .dir
        .join("pods")
        .join(format!("{ns}_{name}_{}", &uid[..uid.len().min(8)]));
    let started_at = now();
    // Volumes first, as a kubelet: retried while a source is missing.
    let volumes = loop {
        let result = check_images(shared, pod).and_then(|()| volumes(shared, pod, &pod_dir));
        match result {
            Ok(v) => break v,
            Err(w) => {
                let statuses: Vec<Value> = containers(pod, "containers")
                    .map(|c| {
                        json!({"name": c["name"], "image": c["image"], "ready": false, "restartCount": 0,
                               "state": {"waiting": {"reason": w.reason, "message": w.message}}})
                    })
                    .collect();
                patch_status(
                    shared,
                    pod,
                    json!({"phase": "Pending", "containerStatuses": statuses, "hostIP": "127.0.0.1"}),
                );
                if !w.retry {
                    return;
                }
                for _ in 0..10 {
                    if cancel.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    };
    let ready = |ready: bool, extra: Value| {
        let mut status = json!({
            "startTime": started_at,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": if ready {"True"} else {"False"}},
                {"type": "Ready", "status": if ready {"True"} else {"False"}},
            ],
        });
        if let (Some(s), Some(e)) = (status.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        patch_status(shared, pod, status);
    };
    // Init containers, one after the other; a failure fails the pod (restartPolicy Never).
    let mut init_statuses = Vec::new();
    for c in containers(pod, "initContainers") {
        let result = run_container(shared, pod, c, &volumes, &pod_dir, cancel);
        let Some(status) = finished_status(c, result) else {
            return;
        };
        let code = status["state"]["terminated"]["exitCode"]
            .as_i64()
            .unwrap_or(1);
        init_statuses.push(status);
        if code != 0 {
            ready(
                false,
                json!({"phase": "Failed", "initContainerStatuses": init_statuses}),
            );
            return;
        }
    }
    let running: Vec<Value> = containers(pod, "containers")
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true, "started": true,
                   "restartCount": 0, "state": {"running": {"startedAt": now()}}})
        })
        .collect();
    ready(
        true,
        json!({"phase": "Running", "containerStatuses": running, "initContainerStatuses": init_statuses}),
    );
    // The containers side by side.
    let handles: Vec<_> = containers(pod, "containers")
        .map(|c| {
            let (shared, pod, c, volumes, pod_dir) = (
                Arc::clone(shared),
                pod.clone(),
                c.clone(),
                volumes.clone(),
                pod_dir.clone(),
            );
            let cancel = Arc::clone(cancel);
            std::thread::spawn(move || {
                let result = run_container(&shared, &pod, &c, &volumes, &pod_dir, &cancel);
                finished_status(&c, result)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        match h.join().ok().flatten() {
            Some(s) => statuses.push(s),
            None => return, // deleted while running: nothing to report
        }
    }
    publish_logs(shared, pod);
    let failed = statuses
        .iter()
        .any(|s| s["state"]["terminated"]["exitCode"].as_i64() != Some(0));
    ready(
        false,
        json!({"phase": if failed {"Failed"} else {"Succeeded"}, "containerStatuses": statuses,
               "initContainerStatuses": init_statuses}),
    );
}

/// `kubectl logs` for the pod once its containers ended: each log rewritten in the CRI format
/// kwok serves (`<time> stdout F <line>`), and a kwok `Logs` object named after the pod
/// pointing at them (kwok plays every fake node's kubelet API; docs/testenv.md).
fn publish_logs(shared: &Shared, pod: &Value) {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let stamp = now().replace('Z', ".000000000Z");
    let mut logs = Vec::new();
    for c in containers(pod, "initContainers").chain(containers(pod, "containers")) {
        let container = c["name"].as_str().unwrap_or_default();
        let plain = log_path(&shared.dir, ns, name, container);
        let Ok(text) = std::fs::read_to_string(&plain) else {
            continue;
        };
        let cri: String = text
            .lines()
            .map(|l| format!("{stamp} stdout F {l}\n"))
            .collect();
        let file = plain.with_extension("cri.log");
        if std::fs::write(&file, cri).is_ok() {
            logs.push(json!({"containers": [container], "logsFile": file.to_string_lossy()}));
        }
    }
    let object = json!({
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Logs",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"logs": logs},
    });
    let _ = kubectl(shared, &["apply", "-f", "-"], Some(&object.to_string()));
}

/// The container's status after its run; `None` when it was killed because the pod went.
fn finished_status(c: &Value, result: Result<Option<i32>, String>) -> Option<Value> {
    let (code, reason, message) = match result {
        Ok(None) => return None,
        Ok(Some(0)) => (0, "Completed", None),
        Ok(Some(code)) => (code, "Error", None),
        Err(message) => (128, "StartError", Some(message)),
    };
    let mut terminated =
        json!({"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now()});
    if let Some(m) = message {
        terminated["message"] = json!(m);
    }
    Some(
        json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": false, "started": false,
                "restartCount": 0, "state": {"terminated": terminated}}),
    )
}

fn check_images(shared: &Shared, pod: &Value) -> Result<(), Waiting> {
    for c in containers(pod, "initContainers").chain(containers(pod, "containers")) {
        let image = c["image"].as_str().unwrap_or_default();
        if !is_shakedown_image(image) {
            return Err(waiting(
                "ErrImagePull",
                format!(
                    "the pod runner runs Shakedown's image only, not {image:?} (container {})",
                    c["name"]
                ),
                false,
            ));
        }
        if let Some(tag) = image_tag(image).filter(|_| !runs_here(image)) {
            if !shared.image.tags.iter().any(|t| t == tag) {
                return Err(waiting(
                    "ErrImagePull",
                    format!(
                        "failed to pull image {image:?}: not found (the pod runner has shakedown:{})",
                        shared.image.tags.join(", shakedown:")
                    ),
                    false,
                ));
            }
        }
    }
    Ok(())
}

/// A volume as a host directory (or file tree) the containers bind-mount.
#[derive(Clone, Debug)]
struct Volume {
    path: PathBuf,
    read_only: bool,
}

/// Every volume of the pod, materialised under `pod_dir/volumes`.
fn volumes(
    shared: &Shared,
    pod: &Value,
    pod_dir: &Path,
) -> Result<BTreeMap<String, Volume>, Waiting> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut out = BTreeMap::new();
    let fs_group = pod["spec"]["securityContext"]["fsGroup"].as_u64();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or_default();
        let path = pod_dir.join("volumes").join(name);
        let mount_error = |e: String| {
            waiting(
                "ContainerCreating",
                format!("MountVolume.SetUp failed for volume {name:?} : {e}"),
                true,
            )
        };
        let volume = if let Some(claim) = v["persistentVolumeClaim"].as_object() {
            let claim_name = claim["claimName"].as_str().unwrap_or_default();
            let pvc = get_json(shared, ns, "pvc", claim_name).map_err(mount_error)?;
            let pv_name = pvc["spec"]["volumeName"].as_str().unwrap_or_default();
            let pv = get_json(shared, "", "pv", pv_name).map_err(mount_error)?;
            let host = pv["spec"]["hostPath"]["path"].as_str().ok_or_else(|| {
                mount_error(format!(
                    "the pod runner mounts hostPath PersistentVolumes only ({pv_name})"
                ))
            })?;
            Volume {
                path: PathBuf::from(host),
                read_only: claim
                    .get("readOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        } else if v["emptyDir"].is_object() {
            std::fs::create_dir_all(&path).map_err(|e| mount_error(e.to_string()))?;
            set_mode(&path, 0o777);
            Volume {
                path,
                read_only: false,
            }
        } else {
            let mut files = BTreeMap::new();
            if let Some(cm) = v.get("configMap").filter(|c| c.is_object()) {
                key_files(shared, ns, "configmap", cm, &mut files).map_err(mount_error)?;
            } else if let Some(secret) = v.get("secret").filter(|c| c.is_object()) {
                let mut source = secret.clone();
                source["name"] = secret["secretName"].clone();
                key_files(shared, ns, "secret", &source, &mut files).map_err(mount_error)?;
            } else if let Some(api) = v.get("downwardAPI").filter(|c| c.is_object()) {
                downward_files(pod, api, &mut files).map_err(mount_error)?;
            } else if let Some(projected) = v.get("projected").filter(|c| c.is_object()) {
                for source in projected["sources"].as_array().into_iter().flatten() {
                    if let Some(cm) = source.get("configMap") {
                        key_files(shared, ns, "configmap", cm, &mut files).map_err(mount_error)?;
                    } else if let Some(secret) = source.get("secret") {
                        key_files(shared, ns, "secret", secret, &mut files).map_err(mount_error)?;
                    } else if let Some(api) = source.get("downwardAPI") {
                        downward_files(pod, api, &mut files).map_err(mount_error)?;
                    } else if let Some(sat) = source.get("serviceAccountToken") {
                        let token = token(shared, pod, sat).map_err(mount_error)?;
                        let file = sat["path"].as_str().unwrap_or("token");
                        files.insert(file.to_string(), token.into_bytes());
                    } else {
                        return Err(mount_error(format!(
                            "projected source {source} is not supported by the pod runner"
                        )));
                    }
                }
            } else {
                return Err(waiting(
                    "CreateContainerConfigError",
                    format!("volume {name:?}: {v} is not supported by the pod runner"),
                    false,
                ));
            }
            let _ = std::fs::remove_dir_all(&path);
            for (file, bytes) in &files {
                let target = path.join(file);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| mount_error(e.to_string()))?;
                }
                std::fs::write(&target, bytes).map_err(|e| mount_error(e.to_string()))?;
                set_mode(&target, 0o644);
                if let Some(group) = fs_group {
                    let c = CString::new(target.as_os_str().as_bytes()).unwrap_or_default();
                    // SAFETY: a valid C string; chown of a file the runner just wrote.
                    unsafe { libc::chown(c.as_ptr(), u32::MAX, group as u32) };
                }
            }
            std::fs::create_dir_all(&path).map_err(|e| mount_error(e.to_string()))?;
            set_mode(&path, 0o755);
            Volume {
                path,
                read_only: true,
            }
        };
        out.insert(name.to_string(), volume);
    }
    Ok(out)
}

/// The files of a ConfigMap or Secret volume source (`name`, `items`, `optional`).
fn key_files(
    shared: &Shared,
    ns: &str,
    kind: &str,
    source: &Value,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    let name = source["name"].as_str().unwrap_or_default();
    let object = match get_json(shared, ns, kind, name) {
        Ok(o) => o,
        Err(_) if source["optional"] == true => return Ok(()),
        Err(_) => return Err(format!("{kind} {name:?} not found")),
    };
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in object["data"].as_object().into_iter().flatten() {
        let text = v.as_str().unwrap_or_default();
        let bytes = if kind == "secret" {
            base64_decode(text).ok_or_else(|| format!("secret {name:?} key {k:?}: bad base64"))?
        } else {
            text.as_bytes().to_vec()
        };
        data.insert(k.clone(), bytes);
    }
    for (k, v) in object["binaryData"].as_object().into_iter().flatten() {
        let bytes = base64_decode(v.as_str().unwrap_or_default())
            .ok_or_else(|| format!("{kind} {name:?} key {k:?}: bad base64"))?;
        data.insert(k.clone(), bytes);
    }
    match source["items"].as_array() {
        Some(items) => {
            for item in items {
                let key = item["key"].as_str().unwrap_or_default();
                let bytes = data
                    .get(key)
                    .ok_or_else(|| format!("{kind} {name:?} has no key {key:?}"))?;
                let path = item["path"].as_str().unwrap_or(key);
                files.insert(path.to_string(), bytes.clone());
            }
        }
        None => files.extend(data),
    }
    Ok(())
}

fn downward_files(
    pod: &Value,
    api: &Value,
    files: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    for item in api["items"].as_array().into_iter().flatten() {
        let path = item["path"].as_str().unwrap_or_default();
        let field = item["fieldRef"]["fieldPath"].as_str().ok_or_else(|| {
            format!("downwardAPI item {path:?}: only fieldRef is supported by the pod runner")
        })?;
        files.insert(path.to_string(), field_value(pod, field)?.into_bytes());
    }
    Ok(())
}

/// A `fieldRef` of the pod, as the kubelet resolves it.
fn field_value(pod: &Value, field: &str) -> Result<String, String> {
    let meta = &pod["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let keyed = |map: &str, rest: &str| {
        let key = rest.trim_start_matches("['").trim_end_matches("']");
        text(&meta[map][key])
    };
    Ok(match field {
        "metadata.name" => text(&meta["name"]),
        "metadata.namespace" => text(&meta["namespace"]),
        "metadata.uid" => text(&meta["uid"]),
        "spec.nodeName" => text(&pod["spec"]["nodeName"]),
        "spec.serviceAccountName" => text(&pod["spec"]["serviceAccountName"]),
        "status.hostIP" | "status.podIP" => "127.0.0.1".to_string(),
        "status.hostIPs" | "status.podIPs" => "127.0.0.1".to_string(),
        f if f.starts_with("metadata.labels[") => keyed("labels", &f["metadata.labels".len()..]),
        f if f.starts_with("metadata.annotations[") => {
            keyed("annotations", &f["metadata.annotations".len()..])
        }
        "metadata.labels" | "metadata.annotations" => {
            let map = field.trim_start_matches("metadata.");
            meta[map]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}=\"{}\"\n", v.as_str().unwrap_or_default()))
                .collect()
        }
        other => {
            return Err(format!(
                "fieldRef {other:?} is not supported by the pod runner"
            ))
        }
    })
}

/// A service-account token for the pod from the TokenRequest API, bound to the pod.
fn token(shared: &Shared, pod: &Value, source: &Value) -> Result<String, String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let sa = pod["spec"]["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    let seconds = source["expirationSeconds"].as_u64().unwrap_or(3607);
    let mut args = vec![
        "-n".to_string(),
        ns.to_string(),
        "create".into(),
        "token".into(),
        sa.to_string(),
        "--bound-object-kind=Pod".into(),
        format!(
            "--bound-object-name={}",
            pod["metadata"]["name"].as_str().unwrap_or_default()
        ),
        format!(
            "--bound-object-uid={}",
            pod["metadata"]["uid"].as_str().unwrap_or_default()
        ),
        format!("--duration={seconds}s"),
    ];
    if let Some(audience) = source["audience"].as_str() {
        args.push(format!("--audience={audience}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kubectl(shared, &args, None).map(|t| t.trim().to_string())
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `$(VAR)` expansion of the kubelet: defined names are replaced, `$$` is a `$`, anything
/// else stays as written.
fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn set_env(env: &mut Vec<(String, String)>, name: &str, value: String) {
    env.retain(|(k, _)| k != name);
    env.push((name.to_string(), value));
}

/// The container's environment, as the kubelet builds it.
fn environment(shared: &Shared, pod: &Value, c: &Value) -> Result<Vec<(String, String)>, String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut env: Vec<(String, String)> = shared.image.env.clone();
    set_env(
        &mut env,
        "HOSTNAME",
        pod["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    let (host, port) = &shared.apiserver;
    for (k, v) in [
        ("KUBERNETES_SERVICE_HOST", host.clone()),
        ("KUBERNETES_SERVICE_PORT", port.clone()),
        ("KUBERNETES_SERVICE_PORT_HTTPS", port.clone()),
        ("KUBERNETES_PORT", format!("tcp://{host}:{port}")),
    ] {
        set_env(&mut env, k, v);
    }
    for from in c["envFrom"].as_array().into_iter().flatten() {
        let prefix = from["prefix"].as_str().unwrap_or_default();
        let (kind, source) = if from["configMapRef"].is_object() {
            ("configmap", &from["configMapRef"])
        } else {
            ("secret", &from["secretRef"])
        };
        let mut files = BTreeMap::new();
        key_files(shared, ns, kind, source, &mut files)?;
        for (k, v) in files {
            set_env(
                &mut env,
                &format!("{prefix}{k}"),
                String::from_utf8_lossy(&v).into_owned(),
            );
        }
    }
    for var in c["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap_or_default();
        let value = if let Some(v) = var["value"].as_str() {
            expand(v, &env)
        } else if let Some(from) = var["valueFrom"].as_object() {
            if let Some(f) = from.get("fieldRef") {
                field_value(pod, f["fieldPath"].as_str().unwrap_or_default())?
            } else if let Some(r) = from
                .get("configMapKeyRef")
                .map(|r| ("configmap", r))
                .or_else(|| from.get("secretKeyRef").map(|r| ("secret", r)))
            {
                let (kind, r) = r;
                let key = r["key"].as_str().unwrap_or_default();
                let mut source = r.clone();
                source["items"] = json!([{"key": key, "path": "v"}]);
                let mut files = BTreeMap::new();
                match key_files(shared, ns, kind, &source, &mut files) {
                    Ok(()) => {}
                    Err(_) if r["optional"] == true => continue,
                    Err(e) => return Err(e),
                }
                match files.remove("v") {
                    Some(v) => String::from_utf8_lossy(&v).into_owned(),
                    None => continue,
                }
            } else if let Some(r) = from.get("resourceFieldRef") {
                let resource = r["resource"].as_str().unwrap_or_default();
                let (kind, what) = resource.split_once('.').unwrap_or(("limits", resource));
                c["resources"][kind][what]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            } else {
                return Err(format!("env {name}: unsupported valueFrom {from:?}"));
            }
        } else {
            String::new()
        };
        set_env(&mut env, name, value);
    }
    Ok(env)
}

/// The annotation that gives a Service of the runner's namespaces the (loopback) address
/// where a test serves it: the apiserver refuses loopback endpoints, and there is no
/// kube-proxy nor cluster DNS.
pub const SERVICE_ADDRESS: &str = "pod-runner.shakedown.dev/address";

/// `/etc/hosts` of the pod: localhost, the pod's own name, its `hostAliases`, and the
/// Services of the runner's namespaces annotated with [`SERVICE_ADDRESS`], under their DNS
/// names, so the book's in-cluster URLs reach the tests' stand-ins.
fn hosts_file(shared: &Shared, pod: &Value) -> String {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut hosts = format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t{}\n",
        pod["metadata"]["name"].as_str().unwrap_or_default()
    );
    for alias in pod["spec"]["hostAliases"].as_array().into_iter().flatten() {
        let names: Vec<&str> = alias["hostnames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        hosts.push_str(&format!(
            "{}\t{}\n",
            alias["ip"].as_str().unwrap_or_default(),
            names.join(" ")
        ));
    }
    for service_ns in &shared.namespaces {
        let Ok(out) = kubectl(
            shared,
            &["-n", service_ns, "get", "services", "-o", "json"],
            None,
        ) else {
            continue;
        };
        let Ok(list) = serde_json::from_str::<Value>(&out) else {
            continue;
        };
        for svc in list["items"].as_array().into_iter().flatten() {
            let service = svc["metadata"]["name"].as_str().unwrap_or_default();
            let Some(address) = svc["metadata"]["annotations"][SERVICE_ADDRESS].as_str() else {
                continue;
            };
            let mut names = format!(
                "{service}.{service_ns} {service}.{service_ns}.svc {service}.{service_ns}.svc.cluster.local"
            );
            if service_ns == ns {
                names = format!("{service} {names}");
            }
            hosts.push_str(&format!("{address}\t{names}\n"));
        }
    }
    hosts
}

/// Runs one container to its end: `Ok(Some(code))`, `Ok(None)` when killed because the pod
/// was deleted, `Err` when it could not start.
fn run_container(
    shared: &Shared,
    pod: &Value,
    c: &Value,
    volumes: &BTreeMap<String, Volume>,
    pod_dir: &Path,
    cancel: &AtomicBool,
) -> Result<Option<i32>, String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let container = c["name"].as_str().unwrap_or_default();
    let image = &shared.image;
    let env = environment(shared, pod, c)?;
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .map(|s| expand(s.as_str().unwrap_or_default(), &env))
                .collect()
        })
    };
    let argv: Vec<String> = match (strings(&c["command"]), strings(&c["args"])) {
        (Some(cmd), Some(args)) => cmd.into_iter().chain(args).collect(),
        (Some(cmd), None) => cmd,
        (None, Some(args)) => image.entrypoint.iter().cloned().chain(args).collect(),
        (None, None) => image
            .entrypoint
            .iter()
            .chain(image.cmd.iter())
            .cloned()
            .collect(),
    };
    let Some(program) = argv.first().cloned() else {
        return Err("no command".into());
    };
    let root = pod_dir.join("roots").join(container);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.parent().unwrap_or(pod_dir)).map_err(|e| e.to_string())?;
    let status = Command::new("cp")
        .arg("-al")
        .arg(&image.rootfs)
        .arg(&root)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("cp -al {} failed", image.rootfs.display()));
    }
    let program = if program.contains('/') {
        program
    } else {
        let path = env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        path.split(':')
            .map(|d| format!("{d}/{program}"))
            .find(|p| root.join(p.trim_start_matches('/')).exists())
            .ok_or_else(|| format!("executable file not found in $PATH: {program}"))?
    };
    // The files the runtime provides.
    let etc = root.join("etc");
    std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
    std::fs::write(etc.join("hosts"), hosts_file(shared, pod)).map_err(|e| e.to_string())?;
    std::fs::write(etc.join("hostname"), format!("{pod_name}\n")).map_err(|e| e.to_string())?;
    std::fs::write(etc.join("resolv.conf"), "").map_err(|e| e.to_string())?;
    if image.dynamic {
        // glibc's resolver of the debug build: /etc/hosts first.
        std::fs::write(etc.join("nsswitch.conf"), "hosts: files dns\n")
            .map_err(|e| e.to_string())?;
    }
    // (source, target inside root, flags): bind mounts in order, then read-only remounts.
    let mut mounts: Vec<(PathBuf, String, bool)> = Vec::new();
    if image.dynamic {
        for lib in ["/lib", "/lib64", "/usr/lib"] {
            if Path::new(lib).exists() {
                mounts.push((PathBuf::from(lib), lib.to_string(), true));
            }
        }
    }
    if let (Some(binary), Some(target)) = (&image.binary, image.entrypoint.first()) {
        mounts.push((binary.clone(), target.clone(), true));
    }
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let name = m["name"].as_str().unwrap_or_default();
        let volume = volumes
            .get(name)
            .ok_or_else(|| format!("volumeMount {name:?}: no such volume"))?;
        let mut source = volume.path.clone();
        if let Some(sub) = m["subPath"].as_str().filter(|s| !s.is_empty()) {
            source = source.join(sub);
            if !source.exists() {
                std::fs::create_dir_all(&source).map_err(|e| e.to_string())?;
            }
        }
        let target = m["mountPath"].as_str().unwrap_or_default().to_string();
        let read_only = volume.read_only || m["readOnly"] == true;
        mounts.push((source, target, read_only));
    }
    for (source, target, _) in &mounts {
        let inside = root.join(target.trim_start_matches('/'));
        if source.is_dir() {
            std::fs::create_dir_all(&inside).map_err(|e| format!("{target}: {e}"))?;
        } else {
            if let Some(p) = inside.parent() {
                std::fs::create_dir_all(p).map_err(|e| format!("{target}: {e}"))?;
            }
            std::fs::write(&inside, "").map_err(|e| format!("{target}: {e}"))?;
        }
    }
    for d in ["proc", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
    }
    set_mode(&root.join("tmp"), 0o1777);

    let security = &c["securityContext"];
    let pod_security = &pod["spec"]["securityContext"];
    let pick = |key: &str| {
        security[key]
            .as_u64()
            .or_else(|| pod_security[key].as_u64())
    };
    let uid = pick("runAsUser").map_or(image.user.0, |u| u as u32);
    let gid = pick("runAsGroup").map_or(image.user.1, |g| g as u32);
    let non_root = security["runAsNonRoot"] == true || pod_security["runAsNonRoot"] == true;
    if non_root && uid == 0 {
        return Err("container has runAsNonRoot and image will run as root".into());
    }
    let mut groups: Vec<libc::gid_t> = vec![gid];
    groups.extend(pick("fsGroup").map(|g| g as u32));
    groups.extend(
        pod_security["supplementalGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .map(|g| g as u32),
    );
    let read_only_root = security["readOnlyRootFilesystem"] == true;
    let working_dir = c["workingDir"]
        .as_str()
        .filter(|w| !w.is_empty())
        .unwrap_or(&image.working_dir)
        .to_string();
    let working_dir = if working_dir.is_empty() {
        "/".to_string()
    } else {
        working_dir
    };
    if !root.join(working_dir.trim_start_matches('/')).is_dir() {
        std::fs::create_dir_all(root.join(working_dir.trim_start_matches('/')))
            .map_err(|e| e.to_string())?;
    }

    // Everything the child needs, as C strings, before the fork.
    let cs = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|e| e.to_string());
    let root_c = cs(&root)?;
    let mut binds: Vec<(CString, CString, bool)> = Vec::new();
    for (source, target, ro) in &mounts {
        binds.push((
            cs(source)?,
            cs(&root.join(target.trim_start_matches('/')))?,
            *ro,
        ));
    }
    let proc_c = cs(&root.join("proc"))?;
    let dev_c = cs(&root.join("dev"))?;
    let wd_c = CString::new(working_dir.clone()).map_err(|e| e.to_string())?;
    let proc_fs = CString::new("proc").map_err(|e| e.to_string())?;
    let slash = CString::new("/").map_err(|e| e.to_string())?;

    let log = log_path(&shared.dir, ns, pod_name, container);
    if let Some(p) = log.parent() {
        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
    }
    let file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let err_file = file.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&program);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file);
    super::reference::reset_signal_dispositions(&mut cmd);
    // SAFETY: only async-signal-safe system calls on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let check = |r: libc::c_int| {
                if r == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            let null = std::ptr::null::<libc::c_char>();
            libc::setsid();
            check(libc::unshare(libc::CLONE_NEWNS))?;
            check(libc::mount(
                null,
                slash.as_ptr(),
                null,
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                root_c.as_ptr(),
                root_c.as_ptr(),
                null,
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
            for (source, target, ro) in &binds {
                check(libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    null,
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ))?;
                if *ro {
                    check(libc::mount(
                        null,
                        target.as_ptr(),
                        null,
                        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                        std::ptr::null(),
                    ))?;
                }
            }
            check(libc::mount(
                proc_fs.as_ptr(),
                proc_c.as_ptr(),
                proc_fs.as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                c"/dev".as_ptr(),
                dev_c.as_ptr(),
                null,
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            if read_only_root {
                check(libc::mount(
                    null,
                    root_c.as_ptr(),
                    null,
                    libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
                    std::ptr::null(),
                ))?;
            }
            check(libc::chroot(root_c.as_ptr()))?;
            check(libc::chdir(wd_c.as_ptr()))?;
            check(libc::setgroups(groups.len(), groups.as_ptr()))?;
            check(libc::setgid(gid))?;
            check(libc::setuid(uid))?;
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("failed to start {program}: {e}"))?;
    let pid = child.id();
    let mut peak = 0u64;
    // A deleted pod: SIGTERM to the process group, SIGKILL after the grace period (or at
    // once when the runner stops), as a kubelet; `chaos run` runs its rollbacks meanwhile.
    let grace = Duration::from_secs(
        pod["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30),
    );
    let mut terminating: Option<std::time::Instant> = None;
    let code = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                break status
                    .code()
                    .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
            }
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        if cancel.load(Ordering::SeqCst) {
            let since = *terminating.get_or_insert_with(|| {
                // SAFETY: the child leads its own process group (setsid above).
                unsafe { libc::kill(-(pid as i32), libc::SIGTERM) };
                std::time::Instant::now()
            });
            if since.elapsed() > grace || shared.stop.load(Ordering::SeqCst) {
                // SAFETY: as above.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    shared.runs.lock().expect("runs").push(Run {
        namespace: ns.to_string(),
        pod: pod_name.to_string(),
        container: container.to_string(),
        exit_code: code,
        peak_rss_kib: peak,
        log,
    });
    // A deleted pod has no status left to write.
    Ok(terminating.is_none().then_some(code))
}

/// `VmHWM` of a live process, KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The image of `scripts/release` exists and its binary is not older than the `chaos` under
/// test (a stale release would test old code).
fn release_image_is_current(root: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let image = modified(&root.join("target/image/oci/index.json"));
    let release = modified(&root.join("target/release-static/chaos"));
    let debug = modified(Path::new(env!("CARGO_BIN_EXE_chaos")));
    matches!((image, release, debug), (Some(_), Some(r), Some(d)) if r >= d)
}

/// Shakedown's image, unpacked once per test binary: `SHAKEDOWN_POD_IMAGE` (an OCI layout
/// directory), else `target/image/oci` from `scripts/release` when its binary is not older
/// than the `chaos` under test, else one written by `scripts/oci-image` around the `chaos`
/// under test.
pub fn shakedown_image() -> &'static Image {
    static IMAGE: OnceLock<Image> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let root = super::cluster::root();
        // Unpacked images of earlier test processes that are gone.
        for entry in std::fs::read_dir(std::env::temp_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("shakedown-pod-image-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let work = std::env::temp_dir().join(format!("shakedown-pod-image-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).expect("image dir");
        let (layout, source) = match std::env::var_os("SHAKEDOWN_POD_IMAGE") {
            Some(dir) => (
                PathBuf::from(&dir),
                format!("{} (SHAKEDOWN_POD_IMAGE)", PathBuf::from(dir).display()),
            ),
            None if release_image_is_current(&root) => (
                root.join("target/image/oci"),
                "target/image/oci (scripts/release: the static chaos)".to_string(),
            ),
            None => {
                // The layout of scripts/oci-image around a stand-in file: gzip of the
                // 300 MB debug binary would take minutes. The debug `chaos` under test is
                // bind-mounted over the image's binary in every container instead.
                let placeholder = work.join("chaos.placeholder");
                std::fs::write(&placeholder, "bind-mounted by the pod runner\n")
                    .expect("placeholder");
                let version = env!("CARGO_PKG_VERSION");
                let out = Command::new("python3")
                    .arg(root.join("scripts/oci-image"))
                    .arg("--binary")
                    .arg(&placeholder)
                    .args(["--ca-bundle", "/etc/ssl/certs/ca-certificates.crt"])
                    .args(["--version", version, "--out"])
                    .arg(&work)
                    .output()
                    .expect("run scripts/oci-image");
                assert!(
                    out.status.success(),
                    "scripts/oci-image: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let mut image = unpack(
                    &work.join("oci"),
                    &work.join("rootfs"),
                    "scripts/oci-image, with the debug chaos under test as its binary".to_string(),
                );
                image.binary = Some(PathBuf::from(env!("CARGO_BIN_EXE_chaos")));
                image.dynamic = is_dynamic(Path::new(env!("CARGO_BIN_EXE_chaos")));
                return image;
            }
        };
        unpack(&layout, &work.join("rootfs"), source)
    })
}

fn unpack(layout: &Path, rootfs: &Path, source: String) -> Image {
    let read = |digest: &str| -> Vec<u8> {
        let hex = digest.trim_start_matches("sha256:");
        let path = layout.join("blobs/sha256").join(hex);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let json_of = |bytes: Vec<u8>| -> Value { serde_json::from_slice(&bytes).expect("image JSON") };
    let index: Value = json_of(
        std::fs::read(layout.join("index.json"))
            .unwrap_or_else(|e| panic!("{}/index.json: {e}", layout.display())),
    );
    let entry = &index["manifests"][0];
    let manifest = json_of(read(entry["digest"].as_str().expect("manifest digest")));
    let config = json_of(read(manifest["config"]["digest"].as_str().expect("config")));
    std::fs::create_dir_all(rootfs).expect("rootfs");
    for layer in manifest["layers"].as_array().into_iter().flatten() {
        let hex = layer["digest"]
            .as_str()
            .expect("layer digest")
            .trim_start_matches("sha256:");
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(layout.join("blobs/sha256").join(hex))
            .arg("-C")
            .arg(rootfs)
            .status()
            .expect("tar");
        assert!(status.success(), "unpacking layer {hex}");
    }
    let c = &config["config"];
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let env = list(&c["Env"])
        .into_iter()
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let user = c["User"].as_str().unwrap_or("0:0");
    let (u, g) = user.split_once(':').unwrap_or((user, user));
    let version = entry["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap_or("latest")
        .to_string();
    let entrypoint = list(&c["Entrypoint"]);
    let dynamic = entrypoint
        .first()
        .map(|b| is_dynamic(&rootfs.join(b.trim_start_matches('/'))))
        .unwrap_or(false);
    Image {
        rootfs: rootfs.to_path_buf(),
        entrypoint,
        cmd: list(&c["Cmd"]),
        env,
        working_dir: c["WorkingDir"].as_str().unwrap_or("/").to_string(),
        user: (u.parse().unwrap_or(0), g.parse().unwrap_or(0)),
        tags: vec![version, "latest".to_string()],
        source,
        dynamic,
        binary: None,
    }
}

/// The last non-empty line of a log.
pub fn last_line(log: &str) -> &str {
    log.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}
