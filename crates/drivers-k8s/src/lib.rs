//! `chaosk8s` (chaostoolkit-kubernetes) without Python: the pod, deployment, node,
//! service, replicaset, statefulset, namespace, secret and event functions plus the
//! deprecated `chaosk8s.actions` / `chaosk8s.probes` wrappers, registered under their
//! upstream module paths with upstream argument names, defaults, return values and
//! failure messages. Talks to the API with kube-rs (one cached client per credentials)
//! and waits with watches, never fixed polling.

mod client;
mod common;
mod generic;
mod legacy;

pub mod deployment;
pub mod event;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod replicaset;
pub mod secret;
pub mod service;
pub mod statefulset;

use providers::registry::{Package, Registry};

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-kubernetes";
/// The upstream release whose functions and signatures this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.39.0";

/// Every module and its functions (hidden-but-callable ones included).
fn modules() -> Vec<(&'static str, Vec<&'static common::Spec>)> {
    let all = |a: &'static [common::Spec]| a.iter().collect::<Vec<_>>();
    let both = |a: &'static [common::Spec], b: &'static [common::Spec]| {
        a.iter().chain(b.iter()).collect::<Vec<_>>()
    };
    vec![
        (
            pod::actions::MODULE,
            both(pod::actions::SPECS, pod::actions::HIDDEN),
        ),
        (
            pod::probes::MODULE,
            both(pod::probes::SPECS, pod::probes::HIDDEN),
        ),
        (deployment::actions::MODULE, all(deployment::actions::SPECS)),
        (deployment::probes::MODULE, all(deployment::probes::SPECS)),
        (node::actions::MODULE, all(node::actions::SPECS)),
        (node::probes::MODULE, all(node::probes::SPECS)),
        (service::actions::MODULE, all(service::actions::SPECS)),
        (service::probes::MODULE, all(service::probes::SPECS)),
        (replicaset::actions::MODULE, all(replicaset::actions::SPECS)),
        (
            statefulset::actions::MODULE,
            all(statefulset::actions::SPECS),
        ),
        (statefulset::probes::MODULE, all(statefulset::probes::SPECS)),
        (namespace::actions::MODULE, all(namespace::actions::SPECS)),
        (namespace::probes::MODULE, all(namespace::probes::SPECS)),
        (secret::actions::MODULE, all(secret::actions::SPECS)),
        (secret::probes::MODULE, all(secret::probes::SPECS)),
        (event::probes::MODULE, all(event::probes::SPECS)),
        (legacy::ACTIONS, all(legacy::ACTION_SPECS)),
        (
            legacy::PROBES,
            // `secret_exists` is re-exported by the legacy module upstream.
            both(legacy::PROBE_SPECS, secret::probes::SPECS),
        ),
    ]
}

/// Registers every `chaosk8s` function and the `chaostoolkit-kubernetes` package.
pub fn register(registry: &mut Registry) {
    let mut names = Vec::new();
    for (module, specs) in modules() {
        for spec in specs {
            registry.register(spec.function(module));
        }
        names.push(module);
    }
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "kubernetes",
        modules: names,
    });
}
