//! `chaosk8s.daemonset.*` and `chaosk8s.networking.*` against the real control plane of
//! `scripts/testenv` (kwok runs the DaemonSet's pods on the fake nodes).

mod support;

use serde_json::{json, Value};
use support::*;

const DS: &str = "chaosk8s.daemonset.probes";
const DS_A: &str = "chaosk8s.daemonset.actions";
const NET: &str = "chaosk8s.networking.actions";
const NET_P: &str = "chaosk8s.networking.probes";

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("k8s-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn daemon_sets_lifecycle() {
    let ns = Ns::new("ds");
    let n = &ns.0;
    let dir = temp_dir("ds");
    let spec = dir.join("agent.yaml");
    // Tolerates everything so it also lands on other tests' tainted fake nodes.
    std::fs::write(
        &spec,
        "apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {app: agent}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      nodeSelector: {type: kwok}
      tolerations: [{operator: Exists}]
      containers: [{name: c, image: fake}]
",
    )
    .expect("write manifest");
    let bad = dir.join("agent.txt");
    std::fs::write(&bad, "x").expect("write");
    let e = failure(call(
        DS_A,
        "create_daemon_set",
        json!({"spec_path": bad.to_str(), "ns": n}),
    ));
    assert_eq!(
        e,
        format!(
            "chaoslib.exceptions.ActivityFailed: cannot process {}",
            bad.display()
        )
    );

    // Missing: the lookups answer false, they do not raise.
    let missing = json!({"name": "agent", "ns": n});
    assert_eq!(
        call(DS, "daemon_set_available_and_healthy", missing.clone()).unwrap(),
        json!(false)
    );
    assert_eq!(
        call(DS, "daemon_set_partially_available", missing).unwrap(),
        json!(false)
    );

    call(
        DS_A,
        "create_daemon_set",
        json!({"spec_path": spec.to_str(), "ns": n}),
    )
    .unwrap();
    // A brand-new DaemonSet reports 0 ready of 0 desired, which upstream (and so this
    // probe) already calls fully available; wait for the controller and kwok first.
    kubectl(
        &["-n", n, "rollout", "status", "ds/agent", "--timeout=60s"],
        None,
    );
    assert_eq!(
        call(
            DS,
            "daemon_set_fully_available",
            json!({"name": "agent", "ns": n, "timeout": 60})
        )
        .unwrap(),
        json!(true)
    );
    let args = json!({"name": "agent", "ns": n, "label_selector": "app=agent"});
    assert_eq!(
        call(DS, "daemon_set_available_and_healthy", args.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(
        call(DS, "daemon_set_partially_available", args).unwrap(),
        json!(true)
    );
    // Healthy, so "not fully available" is not reached within the timeout: false.
    assert_eq!(
        call(
            DS,
            "daemon_set_not_fully_available",
            json!({"name": "agent", "ns": n, "timeout": 1})
        )
        .unwrap(),
        json!(false)
    );
    // A selector that matches nothing: not found, false.
    assert_eq!(
        call(
            DS,
            "daemon_set_available_and_healthy",
            json!({"name": "agent", "ns": n, "label_selector": "app=other"})
        )
        .unwrap(),
        json!(false)
    );

    call(
        DS_A,
        "update_daemon_set",
        json!({"name": "agent", "ns": n, "spec": {"metadata": {"labels": {"patched": "yes"}}}}),
    )
    .unwrap();
    let labels = kubectl(
        &[
            "-n",
            n,
            "get",
            "ds",
            "agent",
            "-o",
            "jsonpath={.metadata.labels.patched}",
        ],
        None,
    );
    assert_eq!(labels.trim(), "yes");
    let e = failure(call(
        DS_A,
        "update_daemon_set",
        json!({"name": "nope", "ns": n, "spec": {"metadata": {"labels": {"a": "b"}}}}),
    ));
    assert!(
        e.starts_with(
            "chaoslib.exceptions.ActivityFailed: failed to update daemon set 'nope': (404)\nReason: Not Found\n"
        ),
        "{e}"
    );

    assert_eq!(
        call(DS_A, "delete_daemon_set", json!({"name": "agent", "ns": n})).unwrap(),
        Value::Null
    );
    let left = kubectl(&["-n", n, "get", "ds", "-o", "name"], None);
    assert_eq!(left.trim(), "");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn network_policies_and_ingresses() {
    let ns = Ns::new("net");
    let n = &ns.0;
    let policies = || {
        let mut v: Vec<String> = kubectl(&["-n", n, "get", "networkpolicy", "-o", "name"], None)
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };

    call(
        NET,
        "deny_all_ingress",
        json!({"ns": n, "label_selectors": {"app": "web"}}),
    )
    .unwrap();
    call(NET, "deny_all_egress", json!({"ns": n})).unwrap();
    call(NET, "allow_dns_access", json!({"ns": n})).unwrap();
    assert_eq!(
        policies(),
        [
            "networkpolicy.networking.k8s.io/chaostoolkit-allow-dns",
            "networkpolicy.networking.k8s.io/chaostoolkit-deny-all-egress",
            "networkpolicy.networking.k8s.io/chaostoolkit-deny-all-ingress",
        ]
    );
    let ingress = kubectl(
        &[
            "-n",
            n,
            "get",
            "networkpolicy",
            "chaostoolkit-deny-all-ingress",
            "-o",
            "json",
        ],
        None,
    );
    let ingress: Value = serde_json::from_str(&ingress).expect("json");
    assert_eq!(
        ingress["spec"]["podSelector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert_eq!(ingress["spec"]["policyTypes"], json!(["Ingress"]));
    let dns = kubectl(
        &[
            "-n",
            n,
            "get",
            "networkpolicy",
            "chaostoolkit-allow-dns",
            "-o",
            "jsonpath={.spec.egress[0].ports[*].protocol}",
        ],
        None,
    );
    assert_eq!(dns.trim(), "UDP TCP");

    // Creating one twice is the API's 409, as upstream (uncaught ApiException).
    let e = failure(call(NET, "deny_all_egress", json!({"ns": n})));
    assert!(
        e.starts_with("kubernetes.client.exceptions.ApiException: (409)"),
        "{e}"
    );

    call(NET, "remove_deny_all_ingress", json!({"ns": n})).unwrap();
    call(NET, "remove_deny_all_egress", json!({"ns": n})).unwrap();
    call(NET, "remove_allow_dns_access", json!({"ns": n})).unwrap();
    assert!(policies().is_empty());

    // From a file, then by name.
    let dir = temp_dir("net");
    let spec = dir.join("np.json");
    std::fs::write(
        &spec,
        r#"{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"from-file"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}"#,
    )
    .expect("write");
    call(
        NET,
        "create_network_policy",
        json!({"spec_path": spec.to_str(), "ns": n}),
    )
    .unwrap();
    call(
        NET,
        "create_network_policy",
        json!({"spec": {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "inline"}, "spec": {"podSelector": {}}}, "ns": n}),
    )
    .unwrap();
    assert_eq!(
        policies(),
        [
            "networkpolicy.networking.k8s.io/from-file",
            "networkpolicy.networking.k8s.io/inline",
        ]
    );
    let e = failure(call(NET, "create_network_policy", json!({"ns": n})));
    assert!(
        e.starts_with("ValueError: Missing the required parameter `body`"),
        "{e}"
    );
    call(
        NET,
        "remove_network_policy",
        json!({"name": "from-file", "ns": n}),
    )
    .unwrap();
    call(
        NET,
        "remove_network_policy",
        json!({"name": "inline", "ns": n}),
    )
    .unwrap();
    assert!(policies().is_empty());

    // Ingresses.
    let ing = dir.join("ing.yaml");
    std::fs::write(
        &ing,
        "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
",
    )
    .expect("write");
    assert_eq!(
        call(NET_P, "ingress_exists", json!({"name": "web", "ns": n})).unwrap(),
        json!(false)
    );
    call(
        NET,
        "create_ingress",
        json!({"spec_path": ing.to_str(), "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(NET_P, "ingress_exists", json!({"name": "web", "ns": n})).unwrap(),
        json!(true)
    );
    call(
        NET,
        "update_ingress",
        json!({"name": "web", "ns": n, "spec": {"metadata": {"labels": {"patched": "yes"}}}}),
    )
    .unwrap();
    let label = kubectl(
        &[
            "-n",
            n,
            "get",
            "ingress",
            "web",
            "-o",
            "jsonpath={.metadata.labels.patched}",
        ],
        None,
    );
    assert_eq!(label.trim(), "yes");
    call(NET, "delete_ingress", json!({"name": "web", "ns": n})).unwrap();
    assert_eq!(
        call(NET_P, "ingress_exists", json!({"name": "web", "ns": n})).unwrap(),
        json!(false)
    );
    let e = failure(call(NET, "delete_ingress", json!({"name": "web", "ns": n})));
    assert!(
        e.starts_with("kubernetes.client.exceptions.ApiException: (404)"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const CRD: &str = "chaosk8s.crd.actions";
const CRD_P: &str = "chaosk8s.crd.probes";

#[test]
fn custom_objects() {
    let ns = Ns::new("crd");
    let n = &ns.0;
    // A CRD of its own (CRDs are cluster-wide), removed at the end.
    let group = format!("t{}.example.com", std::process::id());
    kubectl(
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"
        )),
    );
    kubectl(
        &[
            "wait",
            "--for=condition=Established",
            &format!("crd/widgets.{group}"),
            "--timeout=60s",
        ],
        None,
    );
    let gvp = |extra: Value| {
        let mut v = json!({"group": group, "version": "v1", "plural": "widgets"});
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    };
    let widget = json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"a": 1}});

    let created = call(
        CRD,
        "create_custom_object",
        gvp(json!({"ns": n, "resource": widget})),
    )
    .unwrap();
    assert_eq!(created["metadata"]["name"], "w1");
    assert_eq!(created["metadata"]["namespace"], n.as_str());
    // Again: upstream answers the conflict Status instead of failing.
    let again = call(
        CRD,
        "create_custom_object",
        gvp(json!({"ns": n, "resource": widget})),
    )
    .unwrap();
    assert_eq!(again["reason"], "AlreadyExists");

    let got = call(
        CRD_P,
        "get_custom_object",
        gvp(json!({"ns": n, "name": "w1"})),
    )
    .unwrap();
    assert_eq!(got["spec"], json!({"a": 1}));
    let e = failure(call(
        CRD_P,
        "get_custom_object",
        gvp(json!({"ns": n, "name": "zz"})),
    ));
    assert!(
        e.starts_with("chaoslib.exceptions.ActivityFailed: Failed to create custom resource object: 'Not Found' {"),
        "{e}"
    );

    let patched = call(
        CRD,
        "patch_custom_object",
        gvp(json!({"ns": n, "name": "w1", "resource": [{"op": "add", "path": "/spec/b", "value": 2}]})),
    )
    .unwrap();
    assert_eq!(patched["spec"], json!({"a": 1, "b": 2}));

    let mut replacement = got.clone();
    replacement["metadata"]["resourceVersion"] = patched["metadata"]["resourceVersion"].clone();
    replacement["spec"] = json!({"c": 3});
    let replaced = call(
        CRD,
        "replace_custom_object",
        gvp(json!({"ns": n, "name": "w1", "resource": replacement})),
    )
    .unwrap();
    assert_eq!(replaced["spec"], json!({"c": 3}));

    let yaml = format!(
        "apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: w2, namespace: {n}}}\nspec: {{y: true}}\n"
    );
    let applied = call(CRD, "apply_from_yaml", json!({"resource": yaml})).unwrap();
    assert_eq!(applied["metadata"]["name"], "w2");
    let e = failure(call(
        CRD,
        "apply_from_json",
        json!({"resource": "{\"kind\": \"Widget\"}"}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: missing apiVersion in resource"
    );

    let listed = call(CRD_P, "list_custom_objects", gvp(json!({"ns": n}))).unwrap();
    let mut names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["w1", "w2"]);
    let all = call(CRD_P, "list_cluster_custom_objects", gvp(json!({}))).unwrap();
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));

    // Cluster-scoped calls on a namespaced kind: the API's 404, worded as upstream (the
    // cluster create's message is upstream's un-formatted f-string).
    let e = failure(call(
        CRD,
        "create_cluster_custom_object",
        gvp(json!({"resource": widget})),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Failed to create custom resource object: '{x.reason}' {x.body}"
    );
    let e = failure(call(CRD, "create_custom_object", gvp(json!({"ns": n}))));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Either `body_as_object` or `body_as_yaml_file` must be set"
    );
    let e = failure(call(
        CRD,
        "create_custom_object",
        gvp(json!({"ns": n, "resource_as_yaml_file": "/nonexistent/w.yaml"})),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Path '/nonexistent/w.yaml' is not a valid resource file"
    );

    let deleted = call(
        CRD,
        "delete_custom_object",
        gvp(json!({"ns": n, "name": "w1"})),
    )
    .unwrap();
    assert_eq!(deleted["status"], "Success");
    let e = failure(call(
        CRD,
        "delete_custom_object",
        gvp(json!({"ns": n, "name": "w1"})),
    ));
    assert!(
        e.starts_with("chaoslib.exceptions.ActivityFailed: Failed to delete custom resource object: 'Not Found' {"),
        "{e}"
    );
    let _ = std::process::Command::new(kubectl_bin())
        .args([
            "--kubeconfig",
            kubeconfig(),
            "delete",
            "crd",
            &format!("widgets.{group}"),
            "--wait=false",
        ])
        .output();
}
