//! Every implemented `chaosk8s` function against the real control plane of
//! `scripts/testenv` (kwok runs the pods). Each test owns a namespace (and, for node
//! tests, its own tainted fake nodes), so tests run in parallel.

mod support;

use serde_json::{json, Value};
use support::*;

const POD: &str = "chaosk8s.pod.probes";
const POD_A: &str = "chaosk8s.pod.actions";
const DEP: &str = "chaosk8s.deployment.probes";
const DEP_A: &str = "chaosk8s.deployment.actions";
const NODE: &str = "chaosk8s.node.actions";
const NODE_P: &str = "chaosk8s.node.probes";

fn names(v: &Value) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_str().expect("a name").to_string())
        .collect();
    n.sort();
    n
}

#[test]
fn pods_probes_and_terminate() {
    let ns = Ns::new("pods");
    ns.apply(&deployment("web", 3, None));
    ns.wait_ready("app=web", 3);
    let n = &ns.0;
    assert_eq!(
        call(
            POD,
            "count_pods",
            json!({"label_selector": "app=web", "ns": n})
        )
        .unwrap(),
        json!(3)
    );
    assert_eq!(
        call(
            POD,
            "count_pods",
            json!({"label_selector": "app=web", "phase": "Pending", "ns": n})
        )
        .unwrap(),
        json!(0)
    );
    assert_eq!(
        call(
            POD,
            "count_min_pods",
            json!({"label_selector": "app=web", "ns": n, "min_count": 4})
        )
        .unwrap(),
        json!(false)
    );
    assert_eq!(
        call(
            POD,
            "pods_in_phase",
            json!({"label_selector": "app=web", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    let e = failure(call(
        POD,
        "pods_in_phase",
        json!({"label_selector": "app=web", "ns": n, "phase": "Pending"}),
    ));
    assert_eq!(e, "chaoslib.exceptions.ActivityFailed: pod 'app=web' is in phase 'Running' but should be 'Pending'");
    assert_eq!(
        call(POD, "pods_in_phase", json!({"label_selector": "app=web", "ns": n, "phase": "Pending", "raise_on_invalid_phase": false})).unwrap(),
        json!(false)
    );
    let e = failure(call(
        POD,
        "pods_in_phase",
        json!({"label_selector": "app=nope", "ns": n}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: no pods 'app=nope' were found"
    );
    assert_eq!(
        call(
            POD,
            "pods_not_in_phase",
            json!({"label_selector": "app=web", "ns": n, "phase": "Pending"})
        )
        .unwrap(),
        json!(true)
    );
    let e = failure(call(
        POD,
        "pods_not_in_phase",
        json!({"label_selector": "app=web", "ns": n}),
    ));
    assert!(
        e.ends_with("pod 'app=web' should not be in phase 'Running'"),
        "{e}"
    );
    let ready = json!([{"type": "Ready", "status": "True"}]);
    assert_eq!(
        call(
            POD,
            "pods_in_conditions",
            json!({"label_selector": "app=web", "ns": n, "conditions": ready})
        )
        .unwrap(),
        json!(true)
    );
    let e = failure(call(
        POD,
        "pods_in_conditions",
        json!({"label_selector": "app=web", "ns": n, "conditions": [{"type": "Ready", "status": "False"}]}),
    ));
    assert!(
        e.starts_with("chaoslib.exceptions.ActivityFailed: pod web-"),
        "{e}"
    );
    assert!(
        e.ends_with(
            "does not match the following given condition: {'type': 'Ready', 'status': 'False'}"
        ),
        "{e}"
    );
    assert_eq!(
        call(POD, "all_pods_healthy", json!({"ns": n})).unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            "chaosk8s.probes",
            "all_microservices_healthy",
            json!({"ns": n})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(POD, "pod_is_not_available", json!({"name": "zzz", "ns": n})).unwrap(),
        json!(true)
    );

    // Validation errors, before any API call.
    let e = failure(call(POD_A, "terminate_pods", json!({"ns": n, "qty": -1})));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Cannot select pods. Quantity '-1' is negative."
    );
    let e = failure(call(
        POD_A,
        "terminate_pods",
        json!({"ns": n, "mode": "most"}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Cannot select pods. Mode 'most' is invalid."
    );
    let e = failure(call(
        POD_A,
        "terminate_pods",
        json!({"ns": n, "order": "newest"}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Cannot select pods. Order 'newest' is invalid."
    );
    let e = failure(call(POD_A, "terminate_pods", json!({"ns": n, "bogus": 1})));
    assert_eq!(
        e,
        "TypeError: terminate_pods() got an unexpected keyword argument 'bogus'"
    );

    let before = names(&json!(kubectl(
        &["-n", n, "get", "pods", "-o", "name"],
        None
    )
    .lines()
    .map(|l| l.trim_start_matches("pod/").to_string())
    .collect::<Vec<_>>()));
    let gone = call(
        POD_A,
        "terminate_pods",
        json!({"label_selector": "app=web", "rand": true, "ns": n}),
    )
    .unwrap();
    let gone = names(&gone);
    assert_eq!(gone.len(), 1);
    assert!(before.contains(&gone[0]));
    // It returns once the ReplicaSet has created the replacement (a probe right after
    // must not see the cluster before the controller reacted).
    let now = kubectl(&["-n", n, "get", "pods", "-o", "name"], None);
    assert!(
        now.lines()
            .map(|l| l.trim_start_matches("pod/").to_string())
            .any(|p| !before.contains(&p)),
        "no replacement pod right after terminate_pods: {now}"
    );
    // Back to three Ready pods before counting a percentage of them: right after the
    // termination there can briefly be two (or four, with the replacement).
    let gone_pod = format!("pod/{}", gone[0]);
    kubectl(
        &["-n", n, "wait", "--for=delete", &gone_pod, "--timeout=60s"],
        None,
    );
    ns.wait_ready("app=web", 3);
    // 34% of 3 rounds up to 2; `oldest` is accepted.
    let gone2 = call(POD_A, "terminate_pods", json!({"label_selector": "app=web", "mode": "percentage", "qty": 34, "order": "oldest", "ns": n, "grace_period": 0})).unwrap();
    assert_eq!(names(&gone2).len(), 2);
    let none = call(
        POD_A,
        "terminate_pods",
        json!({"label_selector": "app=nothing", "ns": n}),
    )
    .unwrap();
    assert_eq!(none, json!([]));
    let by_name = call(
        POD_A,
        "terminate_pods",
        json!({"name_pattern": "^zzz", "all": true, "ns": n}),
    )
    .unwrap();
    assert_eq!(by_name, json!([]));
    // The Deployment replaces them; the probe waits by watching.
    assert_eq!(
        call(
            DEP,
            "deployment_fully_available",
            json!({"name": "web", "ns": n, "timeout": 60})
        )
        .unwrap(),
        json!(true)
    );
    ns.wait_ready("app=web", 3);
    let all = call(
        POD_A,
        "terminate_pods",
        json!({"label_selector": "app=web", "all": true, "ns": n, "grace_period": 0}),
    )
    .unwrap();
    assert_eq!(names(&all).len(), 3);
}

#[test]
fn unhealthy_namespace_and_bare_pod() {
    let ns = Ns::new("unhealthy");
    let n = &ns.0;
    // A pod that cannot be scheduled stays Pending: the system is unhealthy.
    ns.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: stuck, labels: {app: stuck}}\nspec:\n  nodeSelector: {nowhere: \"true\"}\n  containers: [{name: c, image: fake}]\n");
    let e = failure(call(
        "chaosk8s.probes",
        "all_microservices_healthy",
        json!({"ns": n}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: the system is unhealthy"
    );
    assert_eq!(
        call(
            POD,
            "all_pods_healthy",
            json!({"ns": n, "raise_on_any_unhealthy": false})
        )
        .unwrap(),
        json!(false)
    );
    let e = failure(call(
        POD,
        "pods_in_conditions",
        json!({"label_selector": "app=stuck", "ns": n, "conditions": [{"type": "Ready", "status": "True"}]}),
    ));
    assert_eq!(e, "chaoslib.exceptions.ActivityFailed: pod stuck does not match the following given condition: {'type': 'Ready', 'status': 'True'}");
    assert_eq!(
        call(
            POD,
            "count_pods",
            json!({"label_selector": "app=stuck", "ns": n, "phase": "Pending"})
        )
        .unwrap(),
        json!(1)
    );
    let deleted = call(
        "chaosk8s.pod.actions",
        "delete_pods",
        json!({"name": "stu", "ns": n}),
    )
    .unwrap();
    assert_eq!(deleted, json!(["stuck"]));
}

#[test]
fn deployments_lifecycle() {
    let ns = Ns::new("deploy");
    let n = &ns.0;
    let dir = std::env::temp_dir().join(format!("k8s-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("api.yaml");
    std::fs::write(&spec, deployment("api", 2, None)).unwrap();
    let bad = dir.join("api.txt");
    std::fs::write(&bad, "x").unwrap();
    let e = failure(call(
        DEP_A,
        "create_deployment",
        json!({"spec_path": bad.to_str(), "ns": n}),
    ));
    assert_eq!(
        e,
        format!(
            "chaoslib.exceptions.ActivityFailed: cannot process {}",
            bad.display()
        )
    );
    assert_eq!(
        call(
            DEP_A,
            "create_deployment",
            json!({"spec_path": spec.to_str(), "ns": n})
        )
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        call(
            DEP,
            "deployment_fully_available",
            json!({"name": "api", "ns": n, "timeout": 60})
        )
        .unwrap(),
        json!(true)
    );
    ns.wait_ready("app=api", 2);
    assert_eq!(
        call(
            DEP,
            "deployment_available_and_healthy",
            json!({"name": "api", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            DEP,
            "deployment_partially_available",
            json!({"name": "api", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            "chaosk8s.probes",
            "microservice_available_and_healthy",
            json!({"name": "api", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    let e = failure(call(
        DEP,
        "deployment_available_and_healthy",
        json!({"name": "nope", "ns": n}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: Deployment 'nope' was not found"
    );
    // Scale up to a number the cluster cannot satisfy right away, then watch it recover.
    assert_eq!(
        call(
            DEP_A,
            "scale_deployment",
            json!({"name": "api", "replicas": 4, "ns": n})
        )
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        call(
            DEP,
            "deployment_not_fully_available",
            json!({"name": "api", "ns": n, "timeout": 30})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            DEP,
            "deployment_fully_available",
            json!({"name": "api", "ns": n, "timeout": 60})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            POD,
            "count_pods",
            json!({"label_selector": "app=api", "ns": n, "phase": "Running"})
        )
        .unwrap(),
        json!(4)
    );
    let e = failure(call(
        DEP_A,
        "scale_deployment",
        json!({"name": "ghost", "replicas": 1, "ns": n}),
    ));
    assert!(
        e.starts_with(
            "chaoslib.exceptions.ActivityFailed: failed to scale 'ghost' to 1 replicas: "
        ),
        "{e}"
    );
    // Rollout restart stamps the template; the old pods are replaced.
    call(DEP_A, "rollout_deployment", json!({"name": "api", "ns": n})).unwrap();
    let stamp = kubectl(
        &[
            "-n",
            n,
            "get",
            "deploy",
            "api",
            "-o",
            "jsonpath={.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
        ],
        None,
    );
    assert!(!stamp.is_empty(), "restartedAt annotation set");
    let e = failure(call(
        DEP_A,
        "rollout_deployment",
        json!({"name": "ghost", "ns": n}),
    ));
    assert!(
        e.starts_with(
            "chaoslib.exceptions.ActivityFailed: failed to rollout the deployment 'ghost'! Error: "
        ),
        "{e}"
    );
    // A timeout that cannot be met: a Deployment that never becomes ready.
    ns.apply(&deployment("never", 1, Some("no-such-pool")));
    let e = failure(call(
        DEP,
        "deployment_fully_available",
        json!({"name": "never", "ns": n, "timeout": 2}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: deployment 'never' failed to recover within 2s"
    );
    assert_eq!(
        call(
            DEP,
            "deployment_fully_available",
            json!({"name": "never", "ns": n, "timeout": 1, "raise_on_not_fully_available": false})
        )
        .unwrap(),
        json!(false)
    );
    call(
        DEP_A,
        "delete_deployment",
        json!({"name": "never", "ns": n}),
    )
    .unwrap();
    call(
        DEP_A,
        "delete_deployment",
        json!({"label_selector": "app=api", "ns": n}),
    )
    .unwrap();
    let left = kubectl(&["-n", n, "get", "deploy", "-o", "name"], None);
    assert_eq!(left.trim(), "", "all deployments deleted");
    let _ = std::fs::remove_dir_all(dir);
}

const PDB: &str = "apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: gate}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: gate}}
";

#[test]
fn drain_honours_pdb_then_uncordon() {
    let pool = format!("drain{}", std::process::id());
    let nodes = nodes(&pool, 2);
    let ns = Ns::new("drain");
    let n = &ns.0;
    // Everything on node 0 first: cordon node 1 while deploying.
    kubectl(&["cordon", &nodes[1]], None);
    ns.apply(&deployment("gate", 1, Some(&pool)));
    ns.apply(&deployment("free", 3, Some(&pool)));
    ns.apply(PDB);
    ns.wait_ready("app=gate", 1);
    ns.wait_ready("app=free", 3);
    kubectl(&["uncordon", &nodes[1]], None);
    // Wait for the PDB controller to compute the budget.
    kubectl(
        &[
            "-n",
            n,
            "wait",
            "--for=jsonpath={.status.currentHealthy}=1",
            "pdb/gate",
            "--timeout=60s",
        ],
        None,
    );
    let selector = format!("kubernetes.io/hostname={}", nodes[0]);
    let e = failure(call(
        NODE,
        "drain_nodes",
        json!({"label_selector": selector, "count": 1, "pod_namespace": n, "delete_pods_with_local_storage": true, "timeout": 60}),
    ));
    assert!(
        e.starts_with("chaoslib.exceptions.ActivityFailed: Failed to evict pod gate-"),
        "{e}"
    );
    assert!(
        e.contains("\"code\":429") && e.contains("disruption budget"),
        "{e}"
    );
    let unsched = kubectl(
        &[
            "get",
            "node",
            &nodes[0],
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
        None,
    );
    assert_eq!(
        unsched, "true",
        "the node stays cordoned after a failed drain"
    );
    call(NODE, "uncordon_node", json!({"name": nodes[0]})).unwrap();
    // Now with room on node 1 and the gate scaled to 2: the drain evicts everything.
    call(
        DEP_A,
        "scale_deployment",
        json!({"name": "gate", "replicas": 2, "ns": n}),
    )
    .unwrap();
    ns.wait_ready("app=gate", 2);
    kubectl(
        &[
            "-n",
            n,
            "wait",
            "--for=jsonpath={.status.currentHealthy}=2",
            "pdb/gate",
            "--timeout=60s",
        ],
        None,
    );
    let drained = call(
        NODE,
        "drain_nodes",
        json!({"name": nodes[0], "timeout": 120}),
    )
    .unwrap();
    assert_eq!(drained, json!([nodes[0]]));
    let left = kubectl(
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            &format!("spec.nodeName={}", nodes[0]),
            "-o",
            "name",
        ],
        None,
    );
    assert_eq!(left.trim(), "", "drained node has no pods left");
    // Cordon / uncordon by label.
    let all = call(
        NODE,
        "cordon_node",
        json!({"label_selector": format!("pool={pool}")}),
    )
    .unwrap();
    assert_eq!(names(&all), nodes);
    let all = call(
        NODE,
        "uncordon_node",
        json!({"label_selector": format!("pool={pool}")}),
    )
    .unwrap();
    assert_eq!(names(&all), nodes);
    let unsched = kubectl(
        &[
            "get",
            "node",
            &nodes[0],
            "-o",
            "jsonpath={.spec.unschedulable}",
        ],
        None,
    );
    assert_ne!(unsched, "true", "uncordoned");
    let e = failure(call(
        NODE,
        "uncordon_node",
        json!({"label_selector": "pool=nothing-here"}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: failed to find a node that matches selector"
    );
    drop(ns);
    delete_nodes(&pool);
}

#[test]
fn drain_refuses_unmanaged_pods() {
    let pool = format!("bare{}", std::process::id());
    let nodes = nodes(&pool, 1);
    let ns = Ns::new("bare");
    ns.apply(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: lonely}}\nspec:\n  nodeName: {}\n  tolerations: [{{key: pool, operator: Exists}}]\n  containers: [{{name: c, image: fake}}]\n", nodes[0]));
    ns.wait_ready("!app", 1);
    let e = failure(call(NODE, "drain_nodes", json!({"name": nodes[0]})));
    assert_eq!(e, format!("chaoslib.exceptions.ActivityFailed: Pod 'lonely' on node '{}' is unmanaged, cannot drain this node. Delete it manually first?", nodes[0]));
    drop(ns);
    delete_nodes(&pool);
}

#[test]
fn delete_and_create_nodes() {
    let pool = format!("del{}", std::process::id());
    let nodes = nodes(&pool, 3);
    let ns = Ns::new("delnodes");
    let n = &ns.0;
    ns.apply(&deployment("app", 2, Some(&pool)));
    ns.wait_ready("app=app", 2);
    let hosts: std::collections::BTreeSet<String> = kubectl(
        &[
            "-n",
            n,
            "get",
            "pods",
            "-o",
            "jsonpath={.items[*].spec.nodeName}",
        ],
        None,
    )
    .split_whitespace()
    .map(String::from)
    .collect();
    // `pod_namespace` alone narrows the choice to nodes hosting its pods (book semantics).
    let gone = call(
        NODE,
        "delete_nodes",
        json!({"label_selector": format!("pool={pool}"), "count": 1, "pod_namespace": n}),
    )
    .unwrap();
    let gone = names(&gone);
    assert_eq!(gone.len(), 1);
    assert!(
        hosts.contains(&gone[0]),
        "{gone:?} hosted a pod of {n} ({hosts:?})"
    );
    let left = kubectl(
        &["get", "nodes", "-l", &format!("pool={pool}"), "-o", "name"],
        None,
    );
    assert!(!left.contains(&gone[0]));
    // `all` deletes every selected node (upstream crashes here).
    let rest = call(
        NODE,
        "delete_nodes",
        json!({"label_selector": format!("pool={pool}"), "all": true}),
    )
    .unwrap();
    assert_eq!(names(&rest).len(), 2);
    let left = kubectl(
        &["get", "nodes", "-l", &format!("pool={pool}"), "-o", "name"],
        None,
    );
    assert_eq!(left.trim(), "");
    let _ = nodes;
    // create_node takes the Python client's snake_case keys.
    let name = format!("{pool}-new");
    let created = call(NODE, "create_node", json!({
        "meta": {"name": name, "labels": {"pool": pool}, "annotations": {"kwok.x-k8s.io/node": "fake"}},
        "spec": {"pod_cidr": "10.250.0.0/24", "provider_id": format!("kwok://{name}")}
    })).unwrap();
    assert_eq!(created["metadata"]["name"], json!(name));
    assert_eq!(created["spec"]["podCIDR"], json!("10.250.0.0/24"));
    kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            &format!("node/{name}"),
            "--timeout=60s",
        ],
        None,
    );
    let sel = json!({"label_selector": format!("pool={pool}")});
    assert_eq!(
        call(NODE_P, "all_nodes_must_be_ready_to_schedule", sel.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(
        call(NODE_P, "nodes_must_be_healthy", sel.clone()).unwrap(),
        json!(true)
    );
    assert_eq!(call(NODE_P, "verify_nodes_condition", json!({"label_selector": format!("pool={pool}"), "condition_type": "Ready", "condition_value": "True"})).unwrap(), json!(true));
    let conds = call(NODE_P, "get_all_node_status_conditions", sel.clone()).unwrap();
    assert_eq!(conds[0]["name"], json!(name));
    assert_eq!(conds[0]["Ready"], json!("True"));
    let list = call(NODE_P, "get_nodes", sel).unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let e = failure(call(NODE, "create_node", json!({"meta": {"name": name}})));
    assert!(
        e.starts_with("chaoslib.exceptions.ActivityFailed: Creating new node failed: {"),
        "{e}"
    );
    delete_nodes(&pool);
}

#[test]
fn services_secrets_namespaces_statefulsets_events() {
    let ns = Ns::new("misc");
    let n = &ns.0;
    let dir = std::env::temp_dir().join(format!("k8s-misc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svc = dir.join("svc.json");
    std::fs::write(&svc, r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"front","labels":{"app":"front"}},"spec":{"selector":{"app":"front"},"ports":[{"port":80}]}}"#).unwrap();
    call(
        "chaosk8s.service.actions",
        "create_service_endpoint",
        json!({"spec_path": svc.to_str(), "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.service.probes",
            "service_is_initialized",
            json!({"name": "front", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            "chaosk8s.probes",
            "service_endpoint_is_initialized",
            json!({"name": "front", "ns": n, "label_selector": "app={name}"})
        )
        .unwrap(),
        json!(true)
    );
    call(
        "chaosk8s.actions",
        "remove_service_endpoint",
        json!({"name": "front", "ns": n}),
    )
    .unwrap();
    let e = failure(call(
        "chaosk8s.service.probes",
        "service_is_initialized",
        json!({"name": "front", "ns": n}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: service 'front' is not initialized"
    );
    let e = failure(call(
        "chaosk8s.service.actions",
        "delete_service",
        json!({"name": "front", "ns": n}),
    ));
    assert!(
        e.starts_with("kubernetes.client.exceptions.ApiException: (404)\nReason: Not Found"),
        "{e}"
    );

    let sec = dir.join("sec.yaml");
    std::fs::write(
        &sec,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {k: v}\n",
    )
    .unwrap();
    call(
        "chaosk8s.secret.actions",
        "create_secret",
        json!({"spec_path": sec.to_str(), "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.secret.probes",
            "secret_exists",
            json!({"name": "s1", "ns": n})
        )
        .unwrap(),
        json!(true)
    );
    assert_eq!(
        call(
            "chaosk8s.probes",
            "secret_exists",
            json!({"name": "s2", "ns": n})
        )
        .unwrap(),
        json!(false)
    );
    call(
        "chaosk8s.secret.actions",
        "delete_secret",
        json!({"name": "s1", "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.secret.probes",
            "secret_exists",
            json!({"name": "s1", "ns": n})
        )
        .unwrap(),
        json!(false)
    );

    let extra = format!("{n}-x");
    assert_eq!(
        call(
            "chaosk8s.namespace.probes",
            "namespace_exists",
            json!({"name": extra})
        )
        .unwrap(),
        json!(false)
    );
    call(
        "chaosk8s.namespace.actions",
        "create_namespace",
        json!({"name": extra}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.namespace.probes",
            "namespace_exists",
            json!({"name": extra})
        )
        .unwrap(),
        json!(true)
    );
    call(
        "chaosk8s.namespace.actions",
        "delete_namespace",
        json!({"name": extra}),
    )
    .unwrap();
    let e = failure(call(
        "chaosk8s.namespace.actions",
        "create_namespace",
        json!({}),
    ));
    assert_eq!(
        e,
        "chaoslib.exceptions.ActivityFailed: You need to either specify name or spec_path"
    );

    let sts = dir.join("sts.yaml");
    std::fs::write(&sts, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  replicas: 1\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: c, image: fake}]}\n").unwrap();
    call(
        "chaosk8s.statefulset.actions",
        "create_statefulset",
        json!({"spec_path": sts.to_str(), "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.statefulset.probes",
            "statefulset_fully_available",
            json!({"name": "db", "ns": n, "timeout": 60})
        )
        .unwrap(),
        json!(true)
    );
    // Make the unavailability last: pods of the new template fit no node, so the rolled
    // pod stays Pending. (On kwok, a scaled-up pod can be Ready before a watch starts.)
    kubectl(
        &[
            "-n",
            n,
            "patch",
            "statefulset",
            "db",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"template":{"spec":{"nodeSelector":{"shakedown.test/nowhere":"true"}}}}}"#,
        ],
        None,
    );
    call(
        "chaosk8s.statefulset.actions",
        "scale_statefulset",
        json!({"name": "db", "replicas": 2, "ns": n}),
    )
    .unwrap();
    assert_eq!(
        call(
            "chaosk8s.statefulset.probes",
            "statefulset_not_fully_available",
            json!({"name": "db", "ns": n, "timeout": 30})
        )
        .unwrap(),
        json!(true)
    );
    call(
        "chaosk8s.statefulset.actions",
        "remove_statefulset",
        json!({"name": "db", "ns": n}),
    )
    .unwrap();
    let left = kubectl(&["-n", n, "get", "sts", "-o", "name"], None);
    assert_eq!(left.trim(), "");

    let events = call("chaosk8s.event.probes", "get_events", json!({"limit": 5})).unwrap();
    assert_eq!(events["kind"], json!("EventList"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unreachable_cluster_is_one_clear_line() {
    // Explicit credentials pointing at a closed port (no kubeconfig in this child).
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "unreachable_child", "--ignored", "--nocapture"])
        .env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir().join("no-home-for-k8s-test"))
        .env("KUBERNETES_HOST", "https://127.0.0.1:1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("MESSAGE=urllib3.exceptions.MaxRetryError: cannot reach the Kubernetes API at https://127.0.0.1:1: connection refused"), "{text}");
}

#[test]
#[ignore = "run by unreachable_cluster_is_one_clear_line in a clean environment"]
fn unreachable_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let f = registry().function(POD, "count_pods").unwrap();
    let mut args = experiment::Map::new();
    args.insert("label_selector".into(), json!("a=b"));
    let r = rt.block_on(f.driver.call(providers::registry::Invocation {
        arguments: args,
        configuration: &experiment::Map::new(),
        secrets: experiment::Map::new(),
    }));
    let m = failure(r);
    assert!(!m.contains('\n'), "one line: {m}");
    println!("MESSAGE={m}");
}
