//! `clone` steps of `chaos seal autonomous` against the real control plane of
//! `scripts/testenv` (kwok plays the kubelets, so the clone's pods "run" without images):
//! the clone's objects as the API holds them (metadata, labels, replicas, env, the `tc`
//! init container, the Toxiproxy sidecar and its `iptables-setup` init container, the
//! startup probe), the retargeted Service, and the clone always deleted: after the
//! scenario, after a later step failed, after SIGTERM; a clone that was there before is
//! left alone. The sidecar's startup probe, taken from the API, is then run for real
//! against `chaos proxy serve` through a `toxiproxy-cli` link: the proxy and its 250 ms
//! latency toxic exist afterwards. The book's listings 11.2 (experiment1b, kill half) and
//! 11.3 (experiment2b, the clone) run end to end against a small deployment the test applies.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;
#[path = "support/seal.rs"]
mod seal;

use std::path::Path;
use std::time::Duration;

use run::{scratch, stderr};
use seal::{
    autonomous, autonomous_command, exists, has, journal, k, killed, namespace, statuses,
    write_policy,
};
use serde_json::{json, Value};

/// A deployment `name` of `replicas` pods (`app=<name>`, port 8080) and its Service.
fn deployment(ns: &str, name: &str, replicas: u32) {
    let doc = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: {name}
        image: docker.io/bloomberg/goldpinger:v3.0.0
        ports: [{{containerPort: 8080, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 8080, name: http}}]
"
    );
    cluster::kubectl(&["apply", "-f", "-"], Some(&doc));
    k(&[
        "-n",
        ns,
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=120s",
    ]);
}

fn get(ns: &str, what: &str) -> Option<Value> {
    cluster::try_kubectl_at(
        cluster::kubeconfig(),
        &["-n", ns, "get", what, "-o", "json"],
    )
    .map(|t| serde_json::from_str(&t).expect("JSON from kubectl"))
}

/// Polls until `f` holds (at most a minute).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: never happened");
}

/// The seal running in the background; SIGTERM (and its cleanup) also when the test
/// fails before it stops it, so a failed assertion never leaves a run and a clone behind.
struct Stopper(Option<std::process::Child>);

impl Stopper {
    fn stop(&mut self) -> std::process::Output {
        let child = self.0.take().expect("running");
        // SAFETY: signalling the child this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait_with_output().expect("wait")
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        if self.0.is_some() {
            let _ = self.stop();
        }
    }
}

const IMAGE: &str = "registry.test/shakedown:ci";

#[test]
fn the_clones_objects_and_sigterm_deletes_it_and_restores_the_service() {
    let ns = namespace("clone-objects");
    deployment(&ns, "web", 2);
    let dir = scratch("seal-clone", "objects");
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: clone web
  steps:
  - clone:
      source: {{deployment: {{name: web, namespace: {ns}}}}}
      replicas: 3
      labels:
      - label: {{key: track, value: canary}}
      servicesToRetarget:
      - service: {{name: web, namespace: {ns}}}
      mutations:
      - environment: {{name: MODE, value: chaos}}
      - tc:
          command: [tc]
          args: [qdisc, add, dev, eth0, root, netem, delay, 200ms]
      - toxiproxy:
          toxics:
          - targetProxy: \"8080\"
            toxicType: latency
            toxicAttributes: [{{name: latency, value: 250}}]
  - wait: {{seconds: 3600}}
"
        ),
    );
    let child = autonomous_command(&dir, &policy, &[], &[("SHAKEDOWN_IMAGE", IMAGE)])
        .spawn()
        .expect("spawn chaos");
    let mut seal = Stopper(Some(child));
    eventually("the clone's three pods ready", || {
        get(&ns, "deployment/web-chaos").is_some_and(|d| d["status"]["readyReplicas"] == json!(3))
    });
    let d = get(&ns, "deployment/web-chaos").expect("the clone");
    let meta = &d["metadata"];
    assert_eq!(meta["labels"], json!({"chaos": "true"}));
    assert_eq!(meta["annotations"]["original_deployment"], "web");
    assert_eq!(meta["annotations"]["chaos_scenario"], "clone web");
    assert_eq!(d["spec"]["replicas"], 3);
    let labels = json!({"app": "web", "track": "canary", "chaos": "true"});
    assert_eq!(d["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(d["spec"]["template"]["metadata"]["labels"], labels);
    let spec = &d["spec"]["template"]["spec"];
    let containers = spec["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 2, "{spec:#}");
    let web = &containers[0];
    assert_eq!(web["name"], "web");
    assert_eq!(web["env"], json!([{"name": "MODE", "value": "chaos"}]));
    assert_eq!(web["ports"][0]["containerPort"], 8080);
    let sidecar = &containers[1];
    assert_eq!(sidecar["name"], "chaos-toxiproxy");
    assert_eq!(sidecar["image"], IMAGE);
    assert_eq!(
        sidecar["args"],
        json!(["proxy", "serve", "--host", "0.0.0.0", "--port", "8474"])
    );
    let cli = "/usr/local/bin/toxiproxy-cli";
    let probe = sidecar["startupProbe"]["exec"]["command"].clone();
    assert_eq!(
        probe,
        json!([
            "/usr/local/bin/chaos",
            "seal",
            "chain",
            "--",
            cli,
            "create",
            "-l",
            "0.0.0.0:10000",
            "-u",
            "127.0.0.1:8080",
            "auto8080",
            "&&",
            cli,
            "toxic",
            "add",
            "-t",
            "latency",
            "-a",
            "latency=250",
            "auto8080"
        ])
    );
    let init = spec["initContainers"].as_array().expect("init containers");
    assert_eq!(init.len(), 2, "{spec:#}");
    assert_eq!(init[0]["name"], "chaos1");
    assert_eq!(init[0]["command"], json!(["tc"]));
    assert_eq!(
        init[0]["args"],
        json!(["qdisc", "add", "dev", "eth0", "root", "netem", "delay", "200ms"])
    );
    assert_eq!(init[0]["image"], "gaiadocker/iproute2:latest");
    assert_eq!(init[1]["name"], "iptables-setup");
    assert_eq!(
        init[1]["command"][2],
        "iptables -t filter -A INPUT -s 127.0.0.1 -j ACCEPT && iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j REDIRECT --to-port 10000 -m comment --comment \"auto8080\" && echo \"iptables rules setup successfully: 8080->10000\""
    );
    for c in init {
        assert_eq!(
            c["securityContext"]["capabilities"]["add"],
            json!(["NET_ADMIN"])
        );
        assert_eq!(c["securityContext"]["runAsUser"], 0);
    }
    // The pods are the clone's, and the Service now selects only them.
    let svc = get(&ns, "service/web").expect("service");
    assert_eq!(
        svc["spec"]["selector"],
        json!({"app": "web", "chaos": "true"})
    );
    let pods = get(&ns, "pods").expect("pods");
    let clone_pods = pods["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["metadata"]["labels"]["chaos"] == "true")
        .count();
    assert_eq!(clone_pods, 3);

    // The startup probe, as the API holds it, configures a real proxy server.
    probe_configures_a_proxy(&dir, &probe);

    let out = seal.stop();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{err}");
    has(&err, "Clone deployment created successfully");
    has(&err, "Cleanup started (2 items)");
    has(
        &err,
        &format!("Service modified successfully: remove web in {ns}"),
    );
    has(
        &err,
        &format!("Clone deployment deleted successfully: web-chaos in {ns}"),
    );
    assert!(!exists(&ns, "deployment/web-chaos"));
    assert!(exists(&ns, "deployment/web"), "the source stays");
    let svc = get(&ns, "service/web").expect("service");
    assert_eq!(svc["spec"]["selector"], json!({"app": "web"}));
    let j = journal(&dir, "clone-web", 1);
    assert_eq!(j["status"], "interrupted");
    assert_eq!(j["run"][0]["status"], "succeeded");
    assert_eq!(
        j["run"][0]["output"]["containers"],
        json!(["web", "chaos-toxiproxy"])
    );
    assert_eq!(statuses(&j, "rollbacks"), ["succeeded", "succeeded"]);
    let names: Vec<&str> = j["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .map(|r| r["activity"]["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["cleanup 1. restore service", "cleanup 2. delete clone"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the sidecar's startup probe here: `chaos` for `/usr/local/bin/chaos`, a
/// `toxiproxy-cli` link to it for the CLI, against `chaos proxy serve` on a free port;
/// the proxy's listen port moved to a free one (10000 may be taken on this machine).
fn probe_configures_a_proxy(dir: &Path, probe: &Value) {
    let chaos = env!("CARGO_BIN_EXE_chaos");
    let link = dir.join("toxiproxy-cli");
    std::os::unix::fs::symlink(chaos, &link).expect("link");
    let api = free_port();
    let listen = free_port();
    let mut server = std::process::Command::new(chaos)
        .args(["proxy", "serve", "--port", &api.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("proxy serve");
    eventually("the proxy API listening", || {
        std::net::TcpStream::connect(("127.0.0.1", api)).is_ok()
    });
    let argv: Vec<String> = probe
        .as_array()
        .expect("probe argv")
        .iter()
        .map(|a| match a.as_str().unwrap_or("") {
            "/usr/local/bin/toxiproxy-cli" => link.display().to_string(),
            "0.0.0.0:10000" => format!("127.0.0.1:{listen}"),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(argv[0], "/usr/local/bin/chaos");
    let url = format!("http://127.0.0.1:{api}");
    let status = std::process::Command::new(chaos)
        .args(&argv[1..])
        .env("TOXIPROXY_URL", &url)
        .status()
        .expect("run the probe");
    assert!(status.success(), "the probe failed: {status}");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(&link)
            .args(args)
            .env("TOXIPROXY_URL", &url)
            .output()
            .expect("toxiproxy-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = cli(&["list"]);
    assert!(
        text.contains(&format!("127.0.0.1:{listen}\t127.0.0.1:8080")),
        "{text}"
    );
    let text = cli(&["inspect", "auto8080"]);
    assert!(text.contains("latency_downstream"), "{text}");
    assert!(text.contains("latency=250"), "{text}");
    // Run again, the proxy exists: the probe fails (upstream's probe does too).
    let again = std::process::Command::new(chaos)
        .args(&argv[1..])
        .env("TOXIPROXY_URL", &url)
        .status()
        .expect("run the probe");
    assert!(!again.success());
    let _ = server.kill();
    let _ = server.wait();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The book's policy file, pointed at `ns` and with `wait` shortened to `seconds`.
fn book_policy(name: &str, ns: &str, seconds: &str) -> String {
    let path = cluster::root()
        .join("crates/seal/tests/policies")
        .join(name);
    std::fs::read_to_string(&path)
        .expect("book policy")
        .replace("namespace: default", &format!("namespace: {ns}"))
        .replace("seconds: 120", &format!("seconds: {seconds}"))
}

#[test]
fn the_books_clone_and_kill_policies_run_end_to_end() {
    let ns = namespace("book");
    deployment(&ns, "goldpinger", 4);
    let dir = scratch("seal-clone", "book");
    // Listing 11.3: clone goldpinger with 2 replicas and a 250 ms toxic, wait, clean up.
    let policy = write_policy(&dir, &book_policy("experiment2b.yml", &ns, "1"));
    let out = autonomous(&dir, &policy, "7", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    for line in [
        "Starting scenario 'Toxiproxy latency' (2 steps)",
        "INFO action_clone.Toxiproxy laten Clone deployment created successfully",
        "Sleeping for 1 seconds",
        "Scenario finished",
        "Cleanup started (1 items)",
        &format!(
            "INFO action_clone Clone deployment deleted successfully: goldpinger-chaos in {ns}"
        ),
        "Cleanup done",
        "All done here!",
    ] {
        has(&err, line);
    }
    assert!(!exists(&ns, "deployment/goldpinger-chaos"));
    let j = journal(&dir, "Toxiproxy-latency", 1);
    assert_eq!(j["status"], "completed");
    assert_eq!(statuses(&j, "run"), ["succeeded", "succeeded"]);
    assert_eq!(j["run"][0]["output"]["replicas"], 2);
    assert_eq!(
        j["run"][0]["output"]["initContainers"],
        json!(["iptables-setup"])
    );
    assert_eq!(statuses(&j, "rollbacks"), ["succeeded"]);

    // Listing 11.2: kill half of the goldpinger pods (4 running: 2 die).
    let policy = write_policy(&dir, &book_policy("experiment1b.yml", &ns, "1"));
    let out = autonomous(&dir, &policy, "7", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let j = journal(&dir, "Kill-50--of-Goldpinger-nodes", 1);
    assert_eq!(j["status"], "completed");
    assert_eq!(killed(&j).len(), 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_clone_is_deleted_when_a_later_step_fails_and_a_clone_already_there_is_left_alone() {
    let ns = namespace("clone-fail");
    deployment(&ns, "api", 1);
    let dir = scratch("seal-clone", "fail");
    // Something else's `api-chaos` already exists in a second namespace.
    let other = namespace("clone-taken");
    deployment(&other, "api", 1);
    deployment(&other, "api-chaos", 1);
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}, exitStrategy: {{strategy: report}}}}
scenarios:
- name: clone then fail
  steps:
  - clone:
      source: {{deployment: {{name: api, namespace: {ns}}}}}
      replicas: 2
  - podAction:
      matches: [{{labels: {{selector: chaos=true, namespace: {ns}}}}}]
      actions: [{{checkPodCount: {{count: 2}}}}]
      retries: {{retriesCount: {{count: 600, sleep: 0.1}}}}
  - probeHTTP:
      target: {{url: \"http://127.0.0.1:1\"}}
- name: clone taken
  steps:
  - clone:
      source: {{deployment: {{name: api, namespace: {other}}}}}
- name: clone missing
  steps:
  - clone:
      source: {{deployment: {{name: nothing, namespace: {ns}}}}}
"
        ),
    );
    let out = autonomous(&dir, &policy, "1", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // 1: the clone's two pods were counted, the probe failed, the clone went anyway.
    let j = journal(&dir, "clone-then-fail", 1);
    assert_eq!(j["status"], "failed");
    assert_eq!(statuses(&j, "run"), ["succeeded", "succeeded", "failed"]);
    assert_eq!(statuses(&j, "rollbacks"), ["succeeded"]);
    assert!(!exists(&ns, "deployment/api-chaos"));
    // 2: the create is refused (409); the deployment that was there stays.
    let j = journal(&dir, "clone-taken", 1);
    assert_eq!(j["status"], "failed");
    has(
        &err,
        &format!("cannot create the clone, deployment 'api-chaos' in namespace '{other}': (409)"),
    );
    has(
        &err,
        &format!(
            "Clone deployment api-chaos in {other} was not created by this run: nothing to delete"
        ),
    );
    assert!(exists(&other, "deployment/api-chaos"));
    // 3: a missing source names itself; nothing to clean up.
    has(
        &err,
        &format!("cannot read the clone's source, deployment 'nothing' in namespace '{ns}': (404)"),
    );
    let j = journal(&dir, "clone-missing", 1);
    assert_eq!(statuses(&j, "run"), ["failed"]);
    assert_eq!(statuses(&j, "rollbacks"), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}
