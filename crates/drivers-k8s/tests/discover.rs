//! What `chaos discover chaostoolkit-kubernetes` lists: the CLI's discovery walks the
//! package's modules through `Registry::module_functions`, so this checks exactly that
//! surface against upstream 0.39.0's discovery (`chaosk8s.load_exported_activities()`,
//! i.e. each module's `__all__`), and that functions outside `__all__` still run.

use std::collections::BTreeSet;

use providers::registry::Registry;

/// Upstream's discovered functions per module (every `chaosk8s` module is native).
const UPSTREAM: &[(&str, &[&str])] = &[
    (
        "chaosk8s.chaosmesh.network.actions",
        &[
            "add_latency",
            "corrupt_packets",
            "delete_network_fault",
            "duplicate_packets",
            "reorder_packets",
            "set_bandwidth",
            "set_loss",
        ],
    ),
    (
        "chaosk8s.chaosmesh.network.probes",
        &["get_network_fault", "get_network_faults"],
    ),
    (
        "chaosk8s.chaosmesh.stress.actions",
        &["delete_stressor", "stress_cpu", "stress_memory"],
    ),
    (
        "chaosk8s.chaosmesh.stress.probes",
        &["get_stressor", "get_stressors"],
    ),
    (
        "chaosk8s.crd.actions",
        &[
            "apply_from_json",
            "apply_from_yaml",
            "create_cluster_custom_object",
            "create_custom_object",
            "delete_cluster_custom_object",
            "delete_custom_object",
            "patch_cluster_custom_object",
            "patch_custom_object",
            "replace_cluster_custom_object",
            "replace_custom_object",
        ],
    ),
    (
        "chaosk8s.crd.probes",
        &[
            "get_cluster_custom_object",
            "get_custom_object",
            "list_cluster_custom_objects",
            "list_custom_objects",
        ],
    ),
    (
        "chaosk8s.actions",
        &[
            "kill_microservice",
            "remove_service_endpoint",
            "scale_microservice",
            "start_microservice",
        ],
    ),
    (
        "chaosk8s.daemonset.actions",
        &[
            "create_daemon_set",
            "delete_daemon_set",
            "update_daemon_set",
        ],
    ),
    (
        "chaosk8s.daemonset.probes",
        &[
            "daemon_set_available_and_healthy",
            "daemon_set_fully_available",
            "daemon_set_not_fully_available",
            "daemon_set_partially_available",
        ],
    ),
    (
        "chaosk8s.deployment.actions",
        &[
            "create_deployment",
            "delete_deployment",
            "rollout_deployment",
            "scale_deployment",
        ],
    ),
    (
        "chaosk8s.deployment.probes",
        &[
            "deployment_available_and_healthy",
            "deployment_fully_available",
            "deployment_not_fully_available",
            "deployment_partially_available",
        ],
    ),
    ("chaosk8s.event.probes", &["get_events"]),
    (
        "chaosk8s.namespace.actions",
        &["create_namespace", "delete_namespace"],
    ),
    ("chaosk8s.namespace.probes", &["namespace_exists"]),
    (
        "chaosk8s.networking.actions",
        &[
            "allow_dns_access",
            "create_ingress",
            "create_network_policy",
            "delete_ingress",
            "deny_all_egress",
            "deny_all_ingress",
            "remove_allow_dns_access",
            "remove_deny_all_egress",
            "remove_deny_all_ingress",
            "remove_network_policy",
            "update_ingress",
        ],
    ),
    ("chaosk8s.networking.probes", &["ingress_exists"]),
    (
        "chaosk8s.node.actions",
        &[
            "cordon_node",
            "create_node",
            "delete_nodes",
            "drain_nodes",
            "uncordon_node",
        ],
    ),
    (
        "chaosk8s.node.probes",
        &[
            "all_nodes_must_be_ready_to_schedule",
            "get_all_node_status_conditions",
            "get_nodes",
            "nodes_must_be_healthy",
            "verify_nodes_condition",
        ],
    ),
    ("chaosk8s.pod.actions", &["exec_in_pods", "terminate_pods"]),
    (
        "chaosk8s.pod.probes",
        &[
            "count_min_pods",
            "count_pods",
            "pod_is_not_available",
            "pods_in_conditions",
            "pods_in_phase",
            "pods_not_in_phase",
            "read_pod_logs",
            "should_be_found_in_logs",
        ],
    ),
    (
        "chaosk8s.probes",
        &[
            "all_microservices_healthy",
            "deployment_is_fully_available",
            "deployment_is_not_fully_available",
            "microservice_available_and_healthy",
            "microservice_is_not_available",
            "read_microservices_logs",
            "secret_exists",
            "service_endpoint_is_initialized",
        ],
    ),
    ("chaosk8s.replicaset.actions", &["delete_replica_set"]),
    (
        "chaosk8s.secret.actions",
        &["create_secret", "delete_secret"],
    ),
    ("chaosk8s.secret.probes", &["secret_exists"]),
    (
        "chaosk8s.service.actions",
        &["create_service_endpoint", "delete_service"],
    ),
    ("chaosk8s.service.probes", &["service_is_initialized"]),
    (
        "chaosk8s.statefulset.actions",
        &[
            "create_statefulset",
            "remove_statefulset",
            "scale_statefulset",
        ],
    ),
    (
        "chaosk8s.statefulset.probes",
        &[
            "statefulset_fully_available",
            "statefulset_not_fully_available",
        ],
    ),
];

fn registry() -> Registry {
    let mut r = Registry::new();
    drivers_k8s::register(&mut r);
    r
}

fn discovered(r: &Registry) -> BTreeSet<(String, String)> {
    let package = r
        .package(drivers_k8s::PACKAGE)
        .expect("the chaostoolkit-kubernetes package is registered");
    package
        .modules
        .iter()
        .flat_map(|m| r.module_functions(m))
        .map(|f| (f.module.to_string(), f.name.to_string()))
        .collect()
}

#[test]
fn discover_lists_upstreams_functions() {
    let r = registry();
    let ours = discovered(&r);
    let upstream: BTreeSet<(String, String)> = UPSTREAM
        .iter()
        .flat_map(|(m, fs)| fs.iter().map(|f| (m.to_string(), f.to_string())))
        .collect();
    let missing: Vec<_> = upstream.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&upstream).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from discovery: {missing:?}\nnot discovered upstream: {extra:?}"
    );
    let package = r.package(drivers_k8s::PACKAGE).expect("package");
    assert_eq!(package.version, drivers_k8s::UPSTREAM_VERSION);
    assert_eq!(package.target, "kubernetes");
    // Each module once, so discovery lists no function twice.
    let modules: BTreeSet<&str> = package.modules.iter().copied().collect();
    assert_eq!(modules.len(), package.modules.len());
}

#[test]
fn functions_outside_all_run_but_are_not_discovered() {
    let r = registry();
    let ours = discovered(&r);
    for (module, func) in [
        ("chaosk8s.pod.actions", "delete_pods"),
        ("chaosk8s.pod.probes", "all_pods_healthy"),
    ] {
        assert!(r.function(module, func).is_some(), "{module}.{func} runs");
        assert!(r.is_hidden(module, func), "{module}.{func} is hidden");
        assert!(
            !ours.contains(&(module.to_string(), func.to_string())),
            "{module}.{func} must not be discovered"
        );
    }
}
