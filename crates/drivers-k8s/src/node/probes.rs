//! `chaosk8s.node.probes`: node lists and status conditions.

use experiment::{Map, Value};
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::query;
use crate::common::{body, items, name_of, s, Ctx, Def, Spec, CONFIGURATION, SECRETS};

pub const MODULE: &str = "chaosk8s.node.probes";

const SELECTOR_PARAMS: &[crate::common::P] = &[
    ("label_selector", Def::None, Some("string")),
    CONFIGURATION,
    SECRETS,
];

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "get_nodes",
        kind: Kind::Probe,
        doc: "The raw NodeList of the nodes matching `label_selector`.",
        params: SELECTOR_PARAMS,
        return_type: None,
        body: body!(get_nodes),
    },
    Spec {
        name: "all_nodes_must_be_ready_to_schedule",
        kind: Kind::Probe,
        doc: "Whether every selected node has condition Ready=True (cordoning is not looked \
at, as upstream).",
        params: SELECTOR_PARAMS,
        return_type: Some("boolean"),
        body: body!(all_nodes_must_be_ready_to_schedule),
    },
    Spec {
        name: "get_all_node_status_conditions",
        kind: Kind::Probe,
        doc: "For each selected node, `{name, <ConditionType>: <status>, …}`.",
        params: SELECTOR_PARAMS,
        return_type: Some("list"),
        body: body!(get_all_node_status_conditions),
    },
    Spec {
        name: "verify_nodes_condition",
        kind: Kind::Probe,
        doc: "Whether every selected node has `condition_type` = `condition_value`.",
        params: &[
            ("condition_type", Def::Str("PIDPressure"), Some("string")),
            ("condition_value", Def::Str("False"), Some("string")),
            ("label_selector", Def::None, Some("string")),
            CONFIGURATION,
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(verify_nodes_condition),
    },
    Spec {
        name: "nodes_must_be_healthy",
        kind: Kind::Probe,
        doc: "Whether every selected node is Ready and reports no pressure or problem \
condition (those absent are not required).",
        params: SELECTOR_PARAMS,
        return_type: Some("boolean"),
        body: body!(nodes_must_be_healthy),
    },
];

async fn node_list(ctx: &Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let label = ctx.opt_str("label_selector");
    api.get_ok(&query(
        "/api/v1/nodes",
        &[("labelSelector", label.as_deref())],
    ))
    .await
}

fn conditions(node: &Value) -> Map {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name_of(node).to_string()));
    if let Some(cs) = node.pointer("/status/conditions").and_then(Value::as_array) {
        for c in cs {
            m.insert(
                s(c, "/type").to_string(),
                Value::String(s(c, "/status").to_string()),
            );
        }
    }
    m
}

async fn get_nodes(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    node_list(&ctx).await
}

async fn get_all_node_status_conditions(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = node_list(&ctx).await?;
    Ok(Value::Array(
        items(&list)
            .iter()
            .map(|n| Value::Object(conditions(n)))
            .collect(),
    ))
}

fn all_have(list: &Value, checks: &[(&str, &str)], required: bool) -> bool {
    items(list).iter().all(|n| {
        let c = conditions(n);
        checks.iter().all(|(t, want)| match c.get(*t) {
            Some(Value::String(v)) => v == want,
            _ => !required,
        })
    })
}

async fn all_nodes_must_be_ready_to_schedule(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = node_list(&ctx).await?;
    Ok(Value::Bool(all_have(&list, &[("Ready", "True")], true)))
}

async fn verify_nodes_condition(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = node_list(&ctx).await?;
    let t = ctx.text("condition_type");
    let v = ctx.text("condition_value");
    Ok(Value::Bool(all_have(&list, &[(&t, &v)], true)))
}

const HEALTHY: &[(&str, &str)] = &[
    ("FrequentKubeletRestart", "False"),
    ("FrequentDockerRestart", "False"),
    ("FrequentContainerdRestart", "False"),
    ("ReadonlyFilesystem", "False"),
    ("KernelDeadlock", "False"),
    ("CorruptDockerOverlay2", "False"),
    ("FrequentUnregisterNetDevice", "False"),
    ("NetworkUnavailable", "False"),
    ("MemoryPressure", "False"),
    ("DiskPressure", "False"),
    ("PIDPressure", "False"),
    ("Ready", "True"),
];

async fn nodes_must_be_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = node_list(&ctx).await?;
    Ok(Value::Bool(all_have(&list, HEALTHY, false)))
}
