//! `chaosk8s.node.actions`: cordon, uncordon, drain, delete and create nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use experiment::{Map, Value};
use futures::StreamExt;
use kube::api::WatchEvent;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{query, Kube, STRATEGIC};
use crate::common::{body, failed, items, name_of, s, Ctx, Def, Spec, SECRETS};
use crate::node::{sample, select_nodes};

pub const MODULE: &str = "chaosk8s.node.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "delete_nodes",
        kind: Kind::Action,
        doc: "Delete Node objects selected by `label_selector` (and hosting pods of \
`pod_namespace`/`pod_label_selector`): the first one, `all`, one at random (`rand`) or \
`count` at random. Nodes are not drained and no machine is deleted.",
        params: &[
            ("label_selector", Def::None, Some("string")),
            ("all", Def::Bool(false), Some("boolean")),
            ("rand", Def::Bool(false), Some("boolean")),
            ("count", Def::None, Some("integer")),
            ("grace_period_seconds", Def::None, Some("integer")),
            SECRETS,
            ("pod_label_selector", Def::None, Some("string")),
            ("pod_namespace", Def::None, Some("string")),
        ],
        return_type: Some("list"),
        body: body!(delete_nodes),
    },
    Spec {
        name: "create_node",
        kind: Kind::Action,
        doc: "Create a Node from `meta` (metadata) and `spec`.",
        params: &[
            ("meta", Def::None, Some("mapping")),
            ("spec", Def::None, Some("mapping")),
            SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(create_node),
    },
    Spec {
        name: "cordon_node",
        kind: Kind::Action,
        doc: "Mark the selected nodes unschedulable (no selector: all nodes).",
        params: &[
            ("name", Def::None, Some("string")),
            ("label_selector", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: Some("list"),
        body: body!(cordon_node),
    },
    Spec {
        name: "uncordon_node",
        kind: Kind::Action,
        doc: "Mark the selected nodes schedulable again (no selector: all nodes). Use it in \
rollbacks after `drain_nodes`.",
        params: &[
            ("name", Def::None, Some("string")),
            ("label_selector", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: Some("list"),
        body: body!(uncordon_node),
    },
    Spec {
        name: "drain_nodes",
        kind: Kind::Action,
        doc: "Cordon the selected nodes (`count` of them at random, else all) and evict their \
pods like `kubectl drain --ignore-daemonsets`, honouring PodDisruptionBudgets, then wait up to \
`timeout` seconds per node for the evicted pods to go. Pods with emptyDir volumes are evicted \
only with `delete_pods_with_local_storage`; a pod no controller owns stops the drain. Nodes \
stay cordoned: uncordon them in rollbacks.",
        params: &[
            ("name", Def::None, Some("string")),
            ("label_selector", Def::None, Some("string")),
            (
                "delete_pods_with_local_storage",
                Def::Bool(false),
                Some("boolean"),
            ),
            ("timeout", Def::Int(120), Some("integer")),
            SECRETS,
            ("count", Def::None, Some("integer")),
            ("pod_label_selector", Def::None, Some("string")),
            ("pod_namespace", Def::None, Some("string")),
        ],
        return_type: Some("list"),
        body: body!(drain_nodes),
    },
];

async fn selected(ctx: &Ctx<'_>, api: &Kube, with_name: bool) -> Result<Vec<Value>, ProviderError> {
    let name = if with_name { ctx.opt_str("name") } else { None };
    select_nodes(
        api,
        name.as_deref(),
        ctx.opt_str("label_selector").as_deref(),
        ctx.opt_str("pod_label_selector").as_deref(),
        ctx.opt_str("pod_namespace").as_deref(),
    )
    .await
}

fn names(nodes: &[Value]) -> Value {
    Value::Array(
        nodes
            .iter()
            .map(|n| Value::String(name_of(n).to_string()))
            .collect(),
    )
}

async fn set_unschedulable(api: &Kube, node: &str, on: bool) -> Result<(), ProviderError> {
    let body = serde_json::json!({"spec": {"unschedulable": on}});
    api.patch(&format!("/api/v1/nodes/{node}"), STRATEGIC, &body)
        .await?
        .map_err(|e| {
            failed(if on {
                format!("Failed to unschedule node '{node}': {}", e.body)
            } else {
                format!("Failed to schedule node '{node}': {}", e.body)
            })
        })?;
    Ok(())
}

async fn cordon_node(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let nodes = selected(&ctx, &api, true).await?;
    for n in &nodes {
        set_unschedulable(&api, name_of(n), true).await?;
    }
    Ok(names(&nodes))
}

async fn uncordon_node(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let nodes = selected(&ctx, &api, true).await?;
    for n in &nodes {
        set_unschedulable(&api, name_of(n), false).await?;
    }
    Ok(names(&nodes))
}

async fn delete_nodes(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let nodes = selected(&ctx, &api, false).await?;
    let count = ctx.int("count")?;
    // Upstream crashes on `all=True`; the documented meaning is "every selected node".
    let victims = if ctx.flag("all") {
        nodes
    } else if ctx.flag("rand") {
        sample(nodes, 1)
    } else if let Some(c) = count.filter(|c| *c >= 1) {
        sample(nodes, c as usize)
    } else {
        nodes.into_iter().take(1).collect()
    };
    let grace = ctx.int("grace_period_seconds")?.map(|g| g.to_string());
    let mut deleted = Vec::new();
    for node in &victims {
        let name = name_of(node);
        let url = query(
            &format!("/api/v1/nodes/{name}"),
            &[("gracePeriodSeconds", grace.as_deref())],
        );
        match api.delete(&url, None).await? {
            Ok(_) => deleted.push(Value::String(name.to_string())),
            Err(e) => log::debug!("Failed to delete node '{name}': {}", e.body),
        }
    }
    Ok(Value::Array(deleted))
}

/// The Python client takes snake_case model attributes; the API wants camelCase.
fn camel(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (camel_key(k), camel(v)))
                .collect::<Map>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(camel).collect()),
        other => other.clone(),
    }
}

fn camel_key(k: &str) -> String {
    match k {
        "pod_cidr" => return "podCIDR".into(),
        "pod_cid_rs" | "pod_cidrs" => return "podCIDRs".into(),
        "provider_id" => return "providerID".into(),
        "external_id" => return "externalID".into(),
        _ => {}
    }
    // Labels and annotations keep their keys verbatim (they may contain `_`).
    if k.contains('/') || k.contains('.') {
        return k.to_string();
    }
    let mut out = String::with_capacity(k.len());
    let mut upper = false;
    for c in k.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

async fn create_node(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let mut body = serde_json::json!({"apiVersion": "v1", "kind": "Node"});
    if let Value::Object(meta) = ctx.arg("meta") {
        // Label/annotation keys are data, not attribute names: keep them verbatim.
        let mut m = Map::new();
        for (k, v) in meta {
            let v = if k == "labels" || k == "annotations" {
                v.clone()
            } else {
                camel(v)
            };
            m.insert(camel_key(k), v);
        }
        body["metadata"] = Value::Object(m);
    }
    if !ctx.arg("spec").is_null() {
        body["spec"] = camel(ctx.arg("spec"));
    }
    let api = ctx.kube().await?;
    api.post("/api/v1/nodes", &body)
        .await?
        .map_err(|e| failed(format!("Creating new node failed: {}", e.body)))
}

/// What `kubectl drain --ignore-daemonsets` would evict from one node.
fn evictable(
    pods: &[Value],
    node: &str,
    with_local_storage: bool,
) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::new();
    for pod in pods {
        if pod
            .pointer("/metadata/annotations/kubernetes.io~1config.mirror")
            .is_some()
        {
            continue;
        }
        let controller = pod
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            });
        if controller.is_some_and(|c| s(c, "/kind") == "DaemonSet") {
            continue;
        }
        let local = pod
            .pointer("/spec/volumes")
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(|v| v.get("emptyDir").is_some()));
        if local && !with_local_storage {
            continue;
        }
        if matches!(s(pod, "/status/phase"), "Succeeded" | "Failed") || controller.is_some() {
            out.push(pod.clone());
            continue;
        }
        return Err(failed(format!(
            "Pod '{}' on node '{node}' is unmanaged, cannot drain this node. Delete it manually first?",
            name_of(pod)
        )));
    }
    Ok(out)
}

async fn evict(api: &Kube, pod: &Value) -> Result<(), ProviderError> {
    let ns = s(pod, "/metadata/namespace");
    let name = name_of(pod);
    let body = serde_json::json!({
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": ns},
    });
    api.post(
        &format!("/api/v1/namespaces/{ns}/pods/{name}/eviction"),
        &body,
    )
    .await?
    .map_err(|e| failed(format!("Failed to evict pod {name}: {}", e.body.trim_end())))?;
    Ok(())
}

/// Waits, by watching the node's pods, until every evicted pod (by uid) is gone.
async fn wait_evicted(
    api: &Kube,
    node: &str,
    evicted: &[Value],
    timeout: Duration,
) -> Result<(), ProviderError> {
    let field = format!("spec.nodeName={node}");
    let url = query("/api/v1/pods", &[("fieldSelector", Some(&field))]);
    let mut pending: BTreeMap<String, String> = evicted
        .iter()
        .map(|p| {
            (
                s(p, "/metadata/uid").to_string(),
                format!("{}/{}", s(p, "/metadata/namespace"), name_of(p)),
            )
        })
        .collect();
    let deadline = tokio::time::Instant::now() + timeout;
    let result = tokio::time::timeout_at(deadline, async {
        loop {
            // List, drop what is already gone, then watch from that version: no event is
            // missed between the two, and a closed watch just resumes with a new list.
            let list = api.get_ok(&url).await?;
            let present: std::collections::BTreeSet<&str> =
                items(&list).iter().map(|p| s(p, "/metadata/uid")).collect();
            pending.retain(|uid, _| present.contains(uid.as_str()));
            if pending.is_empty() {
                return Ok::<(), ProviderError>(());
            }
            let rv = s(&list, "/metadata/resourceVersion").to_string();
            let left = deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .as_secs()
                .max(1)
                .to_string();
            let watch = query(
                "/api/v1/pods",
                &[
                    ("fieldSelector", Some(&field)),
                    ("resourceVersion", Some(&rv)),
                    ("watch", Some("true")),
                    ("timeoutSeconds", Some(&left)),
                ],
            );
            let stream = api.watch(&watch).await?;
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::Deleted(p)) => {
                        pending.remove(s(&p, "/metadata/uid"));
                        if pending.is_empty() {
                            return Ok(());
                        }
                    }
                    Ok(WatchEvent::Error(_)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    })
    .await;
    match result {
        Ok(r) => r,
        Err(_) => {
            let remaining: Vec<&str> = pending.values().map(String::as_str).collect();
            Err(failed(format!(
                "Draining nodes did not completed within {}s. Remaining pods are:\n{}",
                timeout.as_secs(),
                remaining.join("\n")
            )))
        }
    }
}

async fn drain_nodes(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let nodes = selected(&ctx, &api, true).await?;
    let nodes = match ctx.int("count")? {
        Some(c) => sample(nodes, c.max(0) as usize),
        None => nodes,
    };
    let timeout = Duration::from_secs(ctx.int("timeout")?.unwrap_or(120).max(0) as u64);
    let with_local = ctx.flag("delete_pods_with_local_storage");
    // Cordon everything first, so evicted pods cannot land on another victim.
    for n in &nodes {
        set_unschedulable(&api, name_of(n), true).await?;
    }
    for n in &nodes {
        let node = name_of(n);
        let field = format!("spec.nodeName={node}");
        let pods = api
            .get_ok(&query("/api/v1/pods", &[("fieldSelector", Some(&field))]))
            .await?;
        let victims = evictable(items(&pods), node, with_local)?;
        for pod in &victims {
            evict(&api, pod).await?;
        }
        if !victims.is_empty() {
            wait_evicted(&api, node, &victims, timeout).await?;
        }
    }
    Ok(names(&nodes))
}
