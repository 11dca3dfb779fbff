//! `chaos seal autonomous` against the real control plane of `scripts/testenv` (kwok plays
//! the kubelets; run with your own `TESTENV_RUN_DIR` to use a plane of your own): pods the
//! test creates killed with a seeded selection, counted and checked; the exit strategies;
//! `probeHTTP` to a real local HTTP server and to a closed port; `kubectl apply` with
//! `autoDelete` (through the API and through a named `kubectlBinary`), its objects gone
//! after the scenario, also when a later step failed and when SIGTERM stopped the run;
//! a Service target resolved to its cluster address; the journals, and `chaos report`
//! reading one.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;
#[path = "support/seal.rs"]
mod seal;

use std::time::Duration;

use run::{chaos, scratch, stderr};
use seal::{
    autonomous, autonomous_command, exists, has, journal, k, killed, namespace, pod_names,
    statuses, victims, write_policy,
};

#[test]
fn a_seed_kills_the_same_pods_every_time_and_only_those() {
    let ns = namespace("kill");
    victims(&ns, 6);
    let dir = scratch("seal-run", "kill");
    // Six pods, a sample of four, the fixed `probability` filter (upstream crashes on it),
    // and a coin flip per pod: what dies depends only on the seed.
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: seeded kill
  steps:
  - podAction:
      matches: [{{labels: {{namespace: {ns}, selector: app=victim}}}}]
      filters: [{{randomSample: {{size: 4}}}}, {{probability: 1}}]
      actions: [{{kill: {{probability: 0.6}}}}]
"
        ),
    );
    let first = autonomous(&dir, &policy, "11", &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let j1 = journal(&dir, "seeded-kill", 1);
    let k1 = killed(&j1);
    assert_eq!(j1["status"], "completed");
    assert_eq!(
        j1["run"][0]["output"]["filtered"].as_array().unwrap().len(),
        4
    );
    assert!(!k1.is_empty() && k1.len() <= 4, "{k1:?}");
    // Exactly those pods are gone; the others are untouched.
    let all: Vec<String> = (0..6).map(|i| format!("{ns}/victim-{i}")).collect();
    let left: Vec<String> = pod_names(&ns, "app=victim")
        .into_iter()
        .map(|n| format!("{ns}/{n}"))
        .collect();
    let expected_left: Vec<String> = all.iter().filter(|p| !k1.contains(p)).cloned().collect();
    assert_eq!(left, expected_left, "killed {k1:?}");
    let err = stderr(&first);
    assert_eq!(err.matches("Pod killed: [pod #").count(), k1.len(), "{err}");
    has(&err, "Filtered set length: 4");
    // The same pods again, the same seed: the same choice.
    victims(&ns, 6);
    let second = autonomous(&dir, &policy, "11", &[]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(killed(&journal(&dir, "seeded-kill", 1)), k1);
    // `probability: 0` passes nothing (no crash): nothing dies.
    victims(&ns, 6);
    let none = write_policy(
        &dir,
        &std::fs::read_to_string(&policy)
            .unwrap()
            .replace("{probability: 1}", "{probability: 0}"),
    );
    let out = autonomous(&dir, &none, "11", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Empty set after {'probability': 0}"),
        "{}",
        stderr(&out)
    );
    assert_eq!(pod_names(&ns, "app=victim").len(), 6);
    let _ = std::fs::remove_dir_all(&dir);
}

const EXIT_POLICY: &str = "config:
  runStrategy: {runs: 1}
  exitStrategy: {strategy: STRATEGY}
scenarios:
- name: wrong count
  steps:
  - podAction:
      matches: [{labels: {namespace: NS, selector: app=victim}}]
      actions: [{checkPodCount: {count: 5}}]
- name: right count
  steps:
  - podAction:
      matches: [{namespace: NS}]
      actions: [{checkPodCount: {count: 2}}, {checkPodState: {state: running}}]
";

#[test]
fn fail_fast_exits_1_at_the_first_failure_and_report_carries_on_with_0() {
    let ns = namespace("exit");
    victims(&ns, 3);
    let dir = scratch("seal-run", "exit");
    let policy = EXIT_POLICY.replace("NS", &ns);
    // The seal's own pod (POD_NAME) is never a candidate: 3 pods, 2 counted.
    let me = [("POD_NAME", "victim-1")];

    let report = write_policy(&dir, &policy.replace("STRATEGY", "report"));
    let out = autonomous(&dir, &report, "1", &me);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    has(
        &err,
        "ERROR action_nodes_pods.wrong count Expected 5 pods, got 2",
    );
    has(&err, "Scenario failed, reporting and carrying on");
    has(
        &err,
        "Self-destruction prevention. Filtering out: [[pod #1 name=victim-1",
    );
    has(&err, "All done here!");
    assert_eq!(journal(&dir, "wrong-count", 1)["status"], "failed");
    assert_eq!(journal(&dir, "right-count", 1)["status"], "completed");
    // The self-protection spared victim-1 in the first scenario too.
    assert_eq!(pod_names(&ns, "app=victim").len(), 3);

    let _ = std::fs::remove_dir_all(dir.join("journals"));
    let fail_fast = write_policy(&dir, &policy.replace("STRATEGY", "fail-fast"));
    let out = autonomous(&dir, &fail_fast, "1", &me);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    has(&err, "ERROR policy_runner Exiting early");
    assert!(!err.contains("Starting scenario 'right count'"), "{err}");
    assert_eq!(journal(&dir, "wrong-count", 1)["status"], "failed");
    assert!(!dir
        .join("journals/seal-journal-right-count-1.json")
        .exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn probes_and_kubectl_apply_clean_up_after_a_failed_step() {
    let ns = namespace("probe");
    let server = http_server::TestServer::start(None);
    let closed = http_server::closed_port();
    let dir = scratch("seal-run", "probe");
    let kubectl = cluster::kubectl_bin();
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: apply probe and fail
  steps:
  - kubectl:
      action: apply
      payload: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: seal-config, namespace: {ns}}}
        data: {{k: v}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: applied, namespace: {ns}}}
        spec:
          replicas: 2
          selector: {{matchLabels: {{app: applied}}}}
          template:
            metadata: {{labels: {{app: applied}}}}
            spec: {{containers: [{{name: c, image: busybox}}]}}
  - podAction:
      matches: [{{deployment: {{namespace: {ns}, name: applied}}}}]
      actions: [{{checkPodCount: {{count: 2}}}}]
      retries: {{retriesCount: {{count: 120, sleep: 0.5}}}}
  - probeHTTP:
      target: {{url: '{base}'}}
      endpoint: /echo/seal
      method: post
      body: hello seal
      headers: [{{name: X-Seal, value: probing}}]
      code: 200
  - probeHTTP:
      target: {{url: 'http://127.0.0.1:{closed}'}}
      retries: 2
      delay: 10
  - wait: {{seconds: 1}}
- name: binary apply
  steps:
  - kubectl:
      action: apply
      kubectlBinary: {kubectl}
      payload: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: seal-binary, namespace: {ns}}}
  - probeHTTP:
      target: {{url: '{base}'}}
      endpoint: status/503
",
            base = server.base_url(),
            kubectl = kubectl.display(),
        ),
    );
    let out = autonomous(&dir, &policy, "3", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The objects were there (the deployment's pods were counted), and are gone.
    has(&err, "configmap/seal-config serverside-applied");
    has(&err, "deployment.apps/applied serverside-applied");
    has(&err, "Cleanup started (1 items)");
    has(&err, "deployment.apps/applied deleted");
    assert!(!exists(&ns, "configmap/seal-config"));
    assert!(!exists(&ns, "deployment/applied"));
    // The local server saw the probe as declared.
    assert!(
        server.requests().contains(&"/echo/seal".to_string()),
        "{:?}",
        server.requests()
    );
    assert!(server.bodies().contains(&"hello seal".to_string()));
    has(&err, r#""method": "POST""#);
    has(&err, "x-seal");
    // The closed port: two attempts, then the step fails and the scenario ends there.
    let url = format!("http://127.0.0.1:{closed}/");
    assert_eq!(
        err.matches(&format!("Exception while calling {url}"))
            .count(),
        2,
        "{err}"
    );
    has(&err, "Error calling. Sleeping 10 and retrying");
    let j = journal(&dir, "apply-probe-and-fail", 1);
    assert_eq!(j["status"], "failed");
    assert_eq!(
        statuses(&j, "run"),
        ["succeeded", "succeeded", "succeeded", "failed"]
    );
    assert_eq!(statuses(&j, "rollbacks"), ["succeeded"]);
    assert_eq!(j["run"][2]["activity"]["type"], "probe");
    assert_eq!(j["run"][2]["output"]["codes"], serde_json::json!([200]));
    assert!(j["run"][3]["exception"][0]
        .as_str()
        .unwrap()
        .contains("Exception while calling"));
    // kubectlBinary: kubectl's own output, and its cleanup through the same binary.
    has(&err, "configmap/seal-binary created");
    has(
        &err,
        "Expected response code 200, got 503 instead. Response: status 503",
    );
    has(&err, "configmap \"seal-binary\" deleted");
    assert!(!exists(&ns, "configmap/seal-binary"));
    // `chaos report` reads a seal journal like any other.
    let report = chaos(
        &dir,
        &[
            "report",
            "journals/seal-journal-apply-probe-and-fail-1.json",
            "report.md",
        ],
        &[],
    );
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let md = std::fs::read_to_string(dir.join("report.md")).expect("report");
    assert!(md.contains("apply probe and fail"), "{md}");
    assert!(md.contains("4. probeHTTP"), "{md}");
    assert!(md.contains("cleanup 1. kubectl delete"), "{md}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_service_target_is_called_at_its_cluster_address() {
    let ns = namespace("service");
    cluster::kubectl(
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: {ns}}}\nspec: {{selector: {{app: web}}, ports: [{{port: 8080}}]}}\n"
        )),
    );
    let ip = k(&[
        "-n",
        &ns,
        "get",
        "service",
        "web",
        "-o",
        "jsonpath={.spec.clusterIP}",
    ]);
    let dir = scratch("seal-run", "service");
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: to the service
  steps:
  - probeHTTP:
      target: {{service: {{name: web, namespace: {ns}, port: 8080}}}}
      endpoint: health
      timeout: 200
- name: to no service
  steps:
  - probeHTTP:
      target: {{service: {{name: nothing, namespace: {ns}, port: 80}}}}
"
        ),
    );
    let out = autonomous(&dir, &policy, "1", &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // No pod network on the test plane: the address is right, the call cannot connect.
    has(
        &err,
        &format!("Making a call: http://{ip}:8080/health, get"),
    );
    assert_eq!(journal(&dir, "to-the-service", 1)["status"], "failed");
    has(
        &err,
        &format!("Service not found: 'nothing' in namespace '{ns}' (404)"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_during_a_step_still_deletes_what_was_applied() {
    let ns = namespace("term");
    let dir = scratch("seal-run", "term");
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 2}}}}
scenarios:
- name: apply then wait
  steps:
  - kubectl:
      action: apply
      payload: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: held, namespace: {ns}}}
  - wait: {{seconds: 3600}}
"
        ),
    );
    let child = autonomous_command(&dir, &policy, &[], &[])
        .spawn()
        .expect("spawn chaos");
    let mut there = false;
    for _ in 0..600 {
        if exists(&ns, "configmap/held") {
            there = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(there, "the configmap never appeared");
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(143), "{err}");
    has(&err, "Stopped by SIGTERM during step 2");
    has(&err, "configmap/held deleted");
    assert!(!exists(&ns, "configmap/held"));
    let j = journal(&dir, "apply-then-wait", 1);
    assert_eq!(j["status"], "interrupted");
    assert_eq!(j["interruption"]["name"], "SIGTERM");
    assert_eq!(statuses(&j, "rollbacks"), ["succeeded"]);
    assert!(!dir
        .join("journals/seal-journal-apply-then-wait-2.json")
        .exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /metrics` from the seal's endpoint: the body, or `None` while nothing answers.
fn scrape(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: seal\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

#[test]
fn pod_kills_reach_the_prometheus_endpoint_during_the_run() {
    let ns = namespace("metrics");
    victims(&ns, 2);
    let dir = scratch("seal-run", "metrics");
    let policy = write_policy(
        &dir,
        &format!(
            "config: {{runStrategy: {{runs: 1}}}}
scenarios:
- name: kill and hold
  steps:
  - podAction:
      matches: [{{labels: {{namespace: {ns}, selector: app=victim}}}}]
      actions: [{{kill: {{force: true}}}}]
  - wait: {{seconds: 3600}}
"
        ),
    );
    let port = http_server::closed_port();
    let child = autonomous_command(
        &dir,
        &policy,
        &[
            "--prometheus-collector",
            "--prometheus-host",
            "127.0.0.1",
            "--prometheus-port",
            &port.to_string(),
        ],
        &[],
    )
    .spawn()
    .expect("spawn chaos");
    let wanted = [
        format!(
            "seal_pod_kills_total{{status=\"success\",namespace=\"{ns}\",name=\"victim-0\"}} 1"
        ),
        format!(
            "seal_pod_kills_total{{status=\"success\",namespace=\"{ns}\",name=\"victim-1\"}} 1"
        ),
        "seal_empty_match_total{source=\"nodes\"} 0".to_string(),
        "# TYPE seal_pod_kills_total counter".to_string(),
    ];
    let mut last = String::new();
    for _ in 0..600 {
        if let Some(body) = scrape(port) {
            last = body;
            if wanted.iter().all(|w| last.contains(w.as_str())) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().expect("wait");
    for w in &wanted {
        assert!(
            last.contains(w.as_str()),
            "{w} not in:\n{last}\n{}",
            stderr(&out)
        );
    }
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreachable_cluster_fails_the_step_and_names_the_api() {
    let dir = scratch("seal-run", "unreachable");
    let port = http_server::closed_port();
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1
kind: Config
current-context: gone
clusters: [{{name: gone, cluster: {{server: 'https://127.0.0.1:{port}', insecure-skip-tls-verify: true}}}}]
users: [{{name: gone, user: {{token: t}}}}]
contexts: [{{name: gone, context: {{cluster: gone, user: gone}}}}]
"
        ),
    )
    .unwrap();
    let policy = write_policy(
        &dir,
        "config: {runStrategy: {runs: 1}, exitStrategy: {strategy: fail-fast}}
scenarios:
- name: kill nothing
  steps:
  - podAction:
      matches: [{namespace: default}]
      actions: [{kill: {probability: 1}}]
",
    );
    let out = chaos(
        &dir,
        &[
            "seal",
            "autonomous",
            "--policy-file",
            policy.to_str().unwrap(),
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--journal-dir",
            "journals",
        ],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    has(
        &err,
        &format!("ERROR action_nodes_pods.kill nothing cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused"),
    );
    assert!(!err.contains("urllib3"), "{err}");
    let j = journal(&dir, "kill-nothing", 1);
    assert_eq!(statuses(&j, "run"), ["failed"]);
    assert!(j["run"][0]["exception"][0]
        .as_str()
        .unwrap()
        .starts_with("cannot reach the Kubernetes API"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn label_mode_kills_the_pods_its_labels_allow_and_only_those() {
    let ns = namespace("label");
    let all_day = "seal/days: 'mon,tue,wed,thu,fri,sat,sun', seal/start-time: '00-00-00', seal/end-time: '23-59-59'";
    let pods = [
        ("enabled", format!("seal/enabled: 'true', {all_day}")),
        ("disabled", format!("seal/enabled: 'false', {all_day}")),
        ("unlucky", format!("seal/enabled: 'true', seal/kill-probability: '0', {all_day}")),
        ("never", "seal/enabled: 'true', seal/days: funday".to_string()),
        ("bad-time", "seal/enabled: 'true', seal/start-time: '10:00:00', seal/days: 'mon,tue,wed,thu,fri,sat,sun'".to_string()),
        ("starts-after-its-end", "seal/enabled: 'true', seal/days: sun, seal/start-time: '23-59-59'".to_string()),
    ];
    let docs: Vec<String> = pods
        .iter()
        .map(|(name, annotations)| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: label}}, annotations: {{{annotations}}}}}\nspec: {{containers: [{{name: c, image: busybox}}]}}\n"
            )
        })
        .collect();
    cluster::kubectl(&["apply", "-f", "-"], Some(&docs.join("---\n")));
    k(&[
        "-n",
        &ns,
        "wait",
        "--for=condition=Ready",
        "pod",
        "-l",
        "app=label",
        "--timeout=120s",
    ]);
    let dir = scratch("seal-run", "label");
    let out = chaos(
        &dir,
        &[
            "seal",
            "label",
            "--kubeconfig",
            cluster::kubeconfig(),
            "--kubernetes-namespace",
            &ns,
            "--runs",
            "2",
            "--max-seconds-between-runs",
            "0",
            "--seed",
            "3",
        ],
        &[("TZ", "UTC")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    has(&err, "INFO label_runner Found 6 pods");
    has(&err, "INFO label_runner Filtered to 1 pods");
    let killed: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("Pod killed: [pod #"))
        .collect();
    assert_eq!(killed.len(), 1, "{err}");
    assert!(
        killed[0].contains(&format!(" name=enabled namespace={ns} ")),
        "{err}"
    );
    // The second round lists one pod fewer.
    has(&err, "INFO label_runner Found 5 pods");
    has(
        &err,
        &format!("WARNING label_runner Invalid start time - skipping pod {ns}/bad-time"),
    );
    has(&err, "All done here!");
    let left = pod_names(&ns, "app=label");
    assert!(!left.contains(&"enabled".to_string()), "{left:?}");
    for kept in [
        "disabled",
        "unlucky",
        "never",
        "bad-time",
        "starts-after-its-end",
    ] {
        assert!(
            left.contains(&kept.to_string()),
            "{kept} was killed: {left:?}\n{err}"
        );
    }
}
