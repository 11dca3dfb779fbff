//! The talk's rollout functions (`set_deployment_image`, `rollback_deployment`,
//! `collect_deployment_status`, from an unreleased branch of chaostoolkit-kubernetes) on the
//! real control plane of `scripts/testenv`, with `kubectl` as the oracle: a Deployment
//! changed and rolled back by Shakedown ends exactly like its twin changed by
//! `kubectl set image` and rolled back by `kubectl rollout undo`.

mod support;

use serde_json::{json, Value};
use support::*;

const DEP_A: &str = "chaosk8s.deployment.actions";
const DEP: &str = "chaosk8s.deployment.probes";

fn get(ns: &str, name: &str) -> Value {
    let out = kubectl(&["-n", ns, "get", "deploy", name, "-o", "json"], None);
    serde_json::from_str(&out).expect("deployment JSON")
}

fn revision(d: &Value) -> Option<&str> {
    d.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
}

/// Waits (a readiness wait, not a timing assertion) until the controller has stamped
/// revision `want` on Deployment `name`.
fn wait_revision(ns: &str, name: &str, want: &str) -> Value {
    for _ in 0..120 {
        let d = get(ns, name);
        if revision(&d) == Some(want) {
            return d;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("deployment {ns}/{name} never reached revision {want}");
}

/// The ReplicaSets of `name` as (revision, image), sorted.
fn history(ns: &str, name: &str) -> Vec<(String, String)> {
    let out = kubectl(
        &[
            "-n",
            ns,
            "get",
            "rs",
            "-l",
            &format!("app={name}"),
            "-o",
            "jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision} {.spec.template.spec.containers[0].image}{\"\\n\"}{end}",
        ],
        None,
    );
    let mut h: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(r, i)| (r.to_string(), i.to_string()))
        .collect();
    h.sort();
    h
}

/// What a rollout leaves that both sides must agree on: the pod template and the
/// annotations, revision included.
fn outcome(d: &Value) -> (Value, Value) {
    let mut template = d["spec"]["template"].clone();
    // The label that tells the twins apart.
    template["metadata"]["labels"]["app"] = json!("twin");
    let mut annotations = d["metadata"]["annotations"].clone();
    if let Some(a) = annotations.as_object_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    (template, annotations)
}

/// Waits for both twins to reach revision `rev`, checks they agree (template, annotations,
/// ReplicaSet history) and gives the image Shakedown's twin now runs.
fn twins_agree_at(ns: &str, rev: &str) -> Value {
    let (ours, theirs) = (
        wait_revision(ns, "ours", rev),
        wait_revision(ns, "kubectl", rev),
    );
    assert_eq!(outcome(&ours), outcome(&theirs), "revision {rev}");
    assert_eq!(
        history(ns, "ours"),
        history(ns, "kubectl"),
        "revision {rev}"
    );
    ours["spec"]["template"]["spec"]["containers"][0]["image"].clone()
}

#[test]
fn image_change_and_undo_end_like_kubectl() {
    let ns = Ns::new("rollout");
    let n = ns.0.as_str();
    ns.apply(&deployment("ours", 1, None));
    ns.apply(&deployment("kubectl", 1, None));
    wait_revision(n, "ours", "1");
    wait_revision(n, "kubectl", "1");

    // Nothing to undo yet: both refuse.
    let e = failure(call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "ours", "ns": n}),
    ));
    assert_eq!(
        e,
        format!(
            "chaoslib.exceptions.ActivityFailed: Deployment '{n}/ours' rollback failed (no \
             rollout history found: it was never rolled out)"
        )
    );

    // A new image: ours (container named) against `kubectl set image`.
    let set = call(
        DEP_A,
        "set_deployment_image",
        json!({"deployment_name": "ours", "container_name": "c", "image": "fake:v2", "ns": n}),
    );
    assert_eq!(set.expect("set image"), Value::Null);
    kubectl(
        &["-n", n, "set", "image", "deploy/kubectl", "c=fake:v2"],
        None,
    );
    let (ours, theirs) = (
        wait_revision(n, "ours", "2"),
        wait_revision(n, "kubectl", "2"),
    );
    assert_eq!(outcome(&ours), outcome(&theirs));
    assert_eq!(
        ours["spec"]["template"]["spec"]["containers"][0]["image"],
        "fake:v2"
    );

    // A third image without container_name: the only container is meant.
    call(
        DEP_A,
        "set_deployment_image",
        json!({"deployment_name": "ours", "image": "fake:v3", "ns": n}),
    )
    .expect("set image without container_name");
    kubectl(
        &["-n", n, "set", "image", "deploy/kubectl", "c=fake:v3"],
        None,
    );
    assert_eq!(twins_agree_at(n, "3"), "fake:v3");

    // Undo: back to v2, which becomes revision 4 on both sides.
    let undo = call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "ours", "ns": n}),
    );
    assert_eq!(undo.expect("rollback"), Value::Null);
    kubectl(&["-n", n, "rollout", "undo", "deploy/kubectl"], None);
    let (ours, theirs) = (
        wait_revision(n, "ours", "4"),
        wait_revision(n, "kubectl", "4"),
    );
    assert_eq!(outcome(&ours), outcome(&theirs));
    assert_eq!(
        ours["spec"]["template"]["spec"]["containers"][0]["image"],
        "fake:v2"
    );
    assert_eq!(history(n, "ours"), history(n, "kubectl"));

    // To a named revision: revision 1 (the original image), as `--to-revision=1`.
    call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "ours", "to_revision": 1, "ns": n}),
    )
    .expect("rollback to revision 1");
    kubectl(
        &[
            "-n",
            n,
            "rollout",
            "undo",
            "deploy/kubectl",
            "--to-revision=1",
        ],
        None,
    );
    let (ours, theirs) = (
        wait_revision(n, "ours", "5"),
        wait_revision(n, "kubectl", "5"),
    );
    assert_eq!(outcome(&ours), outcome(&theirs));
    assert_eq!(
        ours["spec"]["template"]["spec"]["containers"][0]["image"],
        "fake"
    );
    assert_eq!(history(n, "ours"), history(n, "kubectl"));

    let e = failure(call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "ours", "to_revision": 99, "ns": n}),
    ));
    assert_eq!(
        e,
        format!(
            "chaoslib.exceptions.ActivityFailed: Deployment '{n}/ours' rollback failed (unable \
             to find specified revision 99 in history)"
        )
    );
}

#[test]
fn failures_name_the_deployment_and_the_cause() {
    let ns = Ns::new("rollout-errors");
    let n = ns.0.as_str();
    let e = failure(call(
        DEP_A,
        "set_deployment_image",
        json!({"deployment_name": "ghost", "image": "x", "ns": n}),
    ));
    assert!(
        e.starts_with(&format!(
            "chaoslib.exceptions.ActivityFailed: Deployment '{n}/ghost' image of container \
             'None' could not be set {{"
        )) && e.contains("\"reason\":\"NotFound\""),
        "{e}"
    );
    let e = failure(call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "ghost", "ns": n}),
    ));
    assert!(
        e.starts_with(&format!(
            "chaoslib.exceptions.ActivityFailed: Deployment '{n}/ghost' rollback failed {{"
        )) && e.contains("NotFound"),
        "{e}"
    );
    // Two containers and no container_name: which one is ambiguous.
    ns.apply(
        "apiVersion: apps/v1
kind: Deployment
metadata: {name: two}
spec:
  replicas: 1
  selector: {matchLabels: {app: two}}
  template:
    metadata: {labels: {app: two}}
    spec:
      containers: [{name: a, image: fake}, {name: b, image: fake}]
",
    );
    let e = failure(call(
        DEP_A,
        "set_deployment_image",
        json!({"deployment_name": "two", "image": "x", "ns": n}),
    ));
    assert_eq!(
        e,
        format!(
            "chaoslib.exceptions.ActivityFailed: Deployment '{n}/two' image of container \
             'None' could not be set (it has 2 containers: a, b; name one with container_name)"
        )
    );
    // A paused Deployment is not rolled back (kubectl refuses it too).
    kubectl(&["-n", n, "rollout", "pause", "deploy/two"], None);
    let e = failure(call(
        DEP_A,
        "rollback_deployment",
        json!({"deployment_name": "two", "ns": n}),
    ));
    assert!(
        e.ends_with(
            "rollback failed (it is paused: resume it first, as kubectl rollout undo asks)"
        ),
        "{e}"
    );
}

#[test]
fn collect_deployment_status_samples_the_conditions() {
    let ns = Ns::new("rollout-status");
    let n = ns.0.as_str();
    ns.apply(&deployment("web", 1, None));
    ns.wait_ready("app=web", 1);
    let samples = call(
        DEP,
        "collect_deployment_status",
        json!({"deployment_name": "web", "ns": n, "duration": 2, "every": 1}),
    )
    .expect("collect");
    let samples = samples.as_array().expect("a list of samples");
    // One sample per `every` within `duration`: the loop sleeps first, then reads.
    assert!((1..=2).contains(&samples.len()), "{samples:?}");
    for s in samples {
        let triples = s.as_array().expect("a sample is a list");
        assert!(
            triples.contains(&json!(["Available", "True", "MinimumReplicasAvailable"])),
            "{s}"
        );
        assert!(triples
            .iter()
            .all(|t| t.as_array().is_some_and(|t| t.len() == 3)));
    }
    // Not discovered: no released chaostoolkit-kubernetes lists them.
    let r = registry();
    for (module, func) in [
        (DEP_A, "set_deployment_image"),
        (DEP_A, "rollback_deployment"),
        (DEP, "collect_deployment_status"),
    ] {
        assert!(r.function(module, func).is_some(), "{module}.{func} runs");
        assert!(r.is_hidden(module, func), "{module}.{func} is hidden");
    }
}
