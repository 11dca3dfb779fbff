//! `chaosk8s.node`: cordon, drain, delete and create nodes, and probe their conditions.

pub mod actions;
pub mod probes;

use std::collections::BTreeSet;

use experiment::Value;
use providers::ProviderError;

use crate::client::{query, Kube};
use crate::common::{failed, items, name_of, s};

/// Nodes by `name` and/or `label_selector` (neither: all), narrowed to those hosting a
/// pod in `pod_namespace` (matching `pod_label_selector` if given).
///
/// Upstream ignores `pod_namespace` unless `pod_label_selector` is also set; the book
/// relies on `pod_namespace` alone narrowing the choice, so Shakedown honours it alone too.
pub(crate) async fn select_nodes(
    api: &Kube,
    name: Option<&str>,
    label_selector: Option<&str>,
    pod_label_selector: Option<&str>,
    pod_namespace: Option<&str>,
) -> Result<Vec<Value>, ProviderError> {
    let field = name.map(|n| format!("metadata.name={n}"));
    let url = query(
        "/api/v1/nodes",
        &[
            ("fieldSelector", field.as_deref()),
            ("labelSelector", label_selector),
        ],
    );
    let list = api.get_ok(&url).await?;
    let mut nodes = items(&list).to_vec();
    if let Some(ns) = pod_namespace {
        let pods = api
            .get_ok(&crate::pod::actions::pods_path(ns, pod_label_selector))
            .await?;
        let hosts: BTreeSet<&str> = items(&pods)
            .iter()
            .map(|p| s(p, "/spec/nodeName"))
            .filter(|n| !n.is_empty())
            .collect();
        nodes.retain(|n| hosts.contains(name_of(n)));
    }
    if nodes.is_empty() {
        return Err(failed("failed to find a node that matches selector"));
    }
    Ok(nodes)
}

/// `count` distinct nodes at random (all of them if fewer).
pub(crate) fn sample(mut nodes: Vec<Value>, count: usize) -> Vec<Value> {
    let mut picked = Vec::with_capacity(count.min(nodes.len()));
    while picked.len() < count && !nodes.is_empty() {
        picked.push(nodes.swap_remove(fastrand::usize(..nodes.len())));
    }
    picked
}
