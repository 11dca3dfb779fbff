//! `chaosk8s` (chaostoolkit-kubernetes) without Python: the pod, deployment, daemonset,
//! node, service, networking, replicaset, statefulset, namespace, secret, event,
//! custom-object (crd) and Chaos Mesh (chaosmesh) functions plus the
//! deprecated `chaosk8s.actions` / `chaosk8s.probes` wrappers, registered under their
//! upstream module paths with upstream argument names, defaults, return values and
//! failure messages. Talks to the API with kube-rs (one cached client per credentials)
//! and waits with watches, never fixed polling.

mod client;
mod common;
mod connect;
mod generic;
mod legacy;

pub mod chaosmesh;
pub mod crd;
pub mod daemonset;
pub mod deployment;
pub mod event;
pub mod journal_configmap;
pub mod namespace;
pub mod networking;
pub mod node;
pub mod pod;
pub mod replicaset;
pub mod secret;
pub mod service;
pub mod statefulset;
pub mod switch;

/// The API client and its raw-JSON helpers, for other crates that talk to Kubernetes
/// (the PowerfulSeal runner, `crates/seal`): one client stack, one way of resolving
/// credentials (as `chaosk8s` does), one cache, rather than a second client.
///
/// [`api::Kube`] sends requests and answers raw JSON, API refusals kept apart from
/// transport failures ([`api::Answer`]); [`api::watch_until`] waits with a watch.
pub mod api {
    pub use crate::client::{
        client_for, client_for_kubeconfig, query, watch_until, Answer, ApiStatus, Kube, STRATEGIC,
    };
    pub use crate::common::yaml_to_json;
}

use common::Spec;
use providers::registry::{Package, Registry};

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-kubernetes";
/// The upstream release whose functions and signatures this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.39.0";

/// Every module and its functions, and the functions its `__all__` leaves out (callable,
/// not discovered).
fn modules() -> Vec<(&'static str, &'static [Spec], &'static [Spec])> {
    const NONE: &[Spec] = &[];
    vec![
        (
            pod::actions::MODULE,
            pod::actions::SPECS,
            pod::actions::HIDDEN,
        ),
        (pod::probes::MODULE, pod::probes::SPECS, pod::probes::HIDDEN),
        (crd::actions::MODULE, crd::actions::SPECS, NONE),
        (crd::probes::MODULE, crd::probes::SPECS, NONE),
        (
            chaosmesh::network::actions::MODULE,
            chaosmesh::network::actions::SPECS,
            NONE,
        ),
        (
            chaosmesh::stress::actions::MODULE,
            chaosmesh::stress::actions::SPECS,
            NONE,
        ),
        (
            chaosmesh::network::probes::MODULE,
            chaosmesh::network::probes::SPECS,
            NONE,
        ),
        (
            chaosmesh::stress::probes::MODULE,
            chaosmesh::stress::probes::SPECS,
            NONE,
        ),
        (daemonset::actions::MODULE, daemonset::actions::SPECS, NONE),
        (daemonset::probes::MODULE, daemonset::probes::SPECS, NONE),
        (
            deployment::actions::MODULE,
            deployment::actions::SPECS,
            deployment::rollout::ACTIONS,
        ),
        (
            deployment::probes::MODULE,
            deployment::probes::SPECS,
            deployment::rollout::PROBES,
        ),
        (node::actions::MODULE, node::actions::SPECS, NONE),
        (node::probes::MODULE, node::probes::SPECS, NONE),
        (service::actions::MODULE, service::actions::SPECS, NONE),
        (service::probes::MODULE, service::probes::SPECS, NONE),
        (
            replicaset::actions::MODULE,
            replicaset::actions::SPECS,
            NONE,
        ),
        (
            statefulset::actions::MODULE,
            statefulset::actions::SPECS,
            NONE,
        ),
        (
            statefulset::probes::MODULE,
            statefulset::probes::SPECS,
            NONE,
        ),
        (namespace::actions::MODULE, namespace::actions::SPECS, NONE),
        (namespace::probes::MODULE, namespace::probes::SPECS, NONE),
        (secret::actions::MODULE, secret::actions::SPECS, NONE),
        (secret::probes::MODULE, secret::probes::SPECS, NONE),
        (event::probes::MODULE, event::probes::SPECS, NONE),
        (
            networking::actions::MODULE,
            networking::actions::SPECS,
            NONE,
        ),
        (networking::probes::MODULE, networking::probes::SPECS, NONE),
        (legacy::ACTIONS, legacy::ACTION_SPECS, NONE),
        (legacy::PROBES, legacy::PROBE_SPECS, NONE),
        // `secret_exists` is re-exported (and listed) by the legacy probes module upstream.
        (legacy::PROBES, secret::probes::SPECS, NONE),
    ]
}

/// Registers every `chaosk8s` function and the `chaostoolkit-kubernetes` package.
pub fn register(registry: &mut Registry) {
    let mut names: Vec<&'static str> = Vec::new();
    for (module, specs, hidden) in modules() {
        for spec in specs {
            registry.register(spec.function(module));
        }
        for spec in hidden {
            registry.register_hidden(spec.function(module));
        }
        if !names.contains(&module) {
            names.push(module);
        }
    }
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "kubernetes",
        modules: names,
    });
}
