//! The deprecated `chaosk8s.actions` / `chaosk8s.probes` wrappers older experiments (and
//! the book) still call; each delegates to the current function.

use experiment::{Map, Value};
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use providers::table::Bound;

use crate::common::{body, Body, Ctx, Def, Spec, NS, SECRETS};

pub const ACTIONS: &str = "chaosk8s.actions";
pub const PROBES: &str = "chaosk8s.probes";

/// The selection arguments the legacy probes pass through unchanged.
const SELECT: [(&str, &str); 3] = [
    ("name", "name"),
    ("ns", "ns"),
    ("label_selector", "label_selector"),
];
const SELECT_WITH_TIMEOUT: [(&str, &str); 4] = [
    ("name", "name"),
    ("ns", "ns"),
    ("label_selector", "label_selector"),
    ("timeout", "timeout"),
];

/// Runs `target` with the arguments `pairs` (name → argument of this call).
async fn delegate(
    ctx: &Ctx<'_>,
    target: Body,
    pairs: &[(&str, &str)],
) -> Result<Value, ProviderError> {
    delegate_with(ctx, target, pairs, &[]).await
}

/// [`delegate`], plus arguments with fixed values (the legacy names always raised).
async fn delegate_with(
    ctx: &Ctx<'_>,
    target: Body,
    pairs: &[(&str, &str)],
    fixed: &[(&str, Value)],
) -> Result<Value, ProviderError> {
    let mut args = Map::new();
    for (to, from) in pairs {
        args.insert((*to).to_string(), ctx.arg(from).clone());
    }
    for (name, value) in fixed {
        args.insert((*name).to_string(), value.clone());
    }
    target(Bound {
        args,
        configuration: ctx.configuration,
        secrets: ctx.secrets.clone(),
    })
    .await
}

fn find(specs: &[Spec], name: &str) -> Body {
    specs
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.body)
        .unwrap_or(unreachable_body)
}

fn unreachable_body(_: Bound<'_>) -> providers::BoxFuture<'_, Result<Value, ProviderError>> {
    Box::pin(async {
        Err(ProviderError::failed(
            FailureKind::Environment,
            "internal error: missing delegate",
        ))
    })
}

pub(crate) const ACTION_SPECS: &[Spec] = &[
    Spec {
        name: "start_microservice",
        kind: Kind::Action,
        doc: "Deprecated: `chaosk8s.deployment.actions.create_deployment`.",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(start_microservice),
    },
    Spec {
        name: "kill_microservice",
        kind: Kind::Action,
        doc: "Deprecated: delete Deployment and ReplicaSet `name`, then its pods (selected by \
`label_selector`, `{name}` replaced).",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            SECRETS,
        ],
        return_type: None,
        body: body!(kill_microservice),
    },
    Spec {
        name: "scale_microservice",
        kind: Kind::Action,
        doc: "Deprecated: `chaosk8s.deployment.actions.scale_deployment`.",
        params: &[
            ("name", Def::Required, Some("string")),
            ("replicas", Def::Required, Some("integer")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(scale_microservice),
    },
    Spec {
        name: "remove_service_endpoint",
        kind: Kind::Action,
        doc: "Deprecated: `chaosk8s.service.actions.delete_service`.",
        params: &[("name", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(remove_service_endpoint),
    },
];

const NAME_NS_LABEL: &[crate::common::P] = &[
    ("name", Def::Required, Some("string")),
    NS,
    ("label_selector", Def::None, Some("string")),
    SECRETS,
];

pub(crate) const PROBE_SPECS: &[Spec] = &[
    Spec {
        name: "all_microservices_healthy",
        kind: Kind::Probe,
        doc: "Deprecated: every pod in `ns` is Running or Succeeded, else raises `the system is \
unhealthy`.",
        params: &[NS, SECRETS],
        return_type: Some("boolean"),
        body: body!(all_microservices_healthy),
    },
    Spec {
        name: "microservice_available_and_healthy",
        kind: Kind::Probe,
        doc: "Deprecated: `deployment_available_and_healthy` (returns its result).",
        params: NAME_NS_LABEL,
        return_type: Some("boolean"),
        body: body!(microservice_available_and_healthy),
    },
    Spec {
        name: "microservice_is_not_available",
        kind: Kind::Probe,
        doc: "Deprecated: `pod_is_not_available`.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(microservice_is_not_available),
    },
    Spec {
        name: "service_endpoint_is_initialized",
        kind: Kind::Probe,
        doc: "Deprecated: `service_is_initialized` (`{name}` in the selector is replaced).",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(service_endpoint_is_initialized),
    },
    Spec {
        name: "deployment_is_fully_available",
        kind: Kind::Probe,
        doc: "Deprecated: `deployment_fully_available`.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_is_fully_available),
    },
    Spec {
        name: "deployment_is_not_fully_available",
        kind: Kind::Probe,
        doc: "Deprecated: `deployment_not_fully_available`.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_is_not_fully_available),
    },
    Spec {
        name: "read_microservices_logs",
        kind: Kind::Probe,
        doc: "Deprecated: `read_pod_logs`.",
        params: &[
            ("name", Def::None, Some("string")),
            ("last", Def::None, Some("string")),
            NS,
            ("from_previous", Def::Bool(false), Some("boolean")),
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            ("container_name", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(read_microservices_logs),
    },
];

use crate::{deployment, pod, replicaset, service};

async fn start_microservice(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    log::warn!("start_microservice is deprecated, use create_deployment");
    let f = find(deployment::actions::SPECS, "create_deployment");
    delegate(&ctx, f, &[("spec_path", "spec_path"), ("ns", "ns")]).await
}

async fn kill_microservice(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let f = find(deployment::actions::SPECS, "delete_deployment");
    delegate(&ctx, f, &[("name", "name"), ("ns", "ns")]).await?;
    delegate(
        &ctx,
        replicaset::actions::SPECS[0].body,
        &[("name", "name"), ("ns", "ns")],
    )
    .await?;
    // Upstream sends the selector unformatted (an API 400); the intent is `{name}` replaced.
    let mut args = Map::new();
    args.insert("ns".into(), ctx.arg("ns").clone());
    args.insert(
        "label_selector".into(),
        Value::String(
            ctx.text("label_selector")
                .replace("{name}", &ctx.text("name")),
        ),
    );
    args.insert("all".into(), Value::Bool(true));
    let terminate = find(pod::actions::SPECS, "terminate_pods");
    terminate(Bound {
        args: bind_defaults(pod::actions::SPECS, "terminate_pods", args),
        configuration: ctx.configuration,
        secrets: ctx.secrets.clone(),
    })
    .await?;
    Ok(Value::Null)
}

/// Fills the defaults a direct (non-bound) delegate call needs.
fn bind_defaults(specs: &[Spec], name: &str, mut args: Map) -> Map {
    if let Some(spec) = specs.iter().find(|s| s.name == name) {
        for (p, d, _) in spec.params {
            if !args.contains_key(*p) {
                let v = match d {
                    Def::Str(s) => Value::String((*s).into()),
                    Def::Int(i) => Value::from(*i),
                    Def::Bool(b) => Value::Bool(*b),
                    _ => Value::Null,
                };
                args.insert((*p).to_string(), v);
            }
        }
    }
    args
}

async fn scale_microservice(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let f = find(deployment::actions::SPECS, "scale_deployment");
    delegate(
        &ctx,
        f,
        &[("name", "name"), ("replicas", "replicas"), ("ns", "ns")],
    )
    .await
}

async fn remove_service_endpoint(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    delegate(
        &ctx,
        service::actions::SPECS[1].body,
        &[("name", "name"), ("ns", "ns")],
    )
    .await
}

async fn all_microservices_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let target = pod::probes::HIDDEN[0].body;
    delegate_with(
        &ctx,
        target,
        &[("ns", "ns")],
        &[("raise_on_any_unhealthy", Value::Bool(true))],
    )
    .await
}

async fn microservice_available_and_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    // Upstream drops the result (always null); the book's `tolerance: true` needs it.
    let target = find(
        deployment::probes::SPECS,
        "deployment_available_and_healthy",
    );
    let fixed = [("raise_on_unavailable", Value::Bool(true))];
    delegate_with(&ctx, target, &SELECT, &fixed).await
}

async fn microservice_is_not_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let target = find(pod::probes::SPECS, "pod_is_not_available");
    let fixed = [("raise_on_is_available", Value::Bool(true))];
    delegate_with(&ctx, target, &SELECT, &fixed).await
}

async fn service_endpoint_is_initialized(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let mut args = Map::new();
    for k in ["name", "ns", "label_selector"] {
        args.insert(k.into(), ctx.arg(k).clone());
    }
    args.insert("raise_if_service_not_initialized".into(), Value::Bool(true));
    service::probes::service_is_initialized(Ctx(Bound {
        args,
        configuration: ctx.configuration,
        secrets: ctx.secrets.clone(),
    }))
    .await
}

async fn deployment_is_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let target = find(deployment::probes::SPECS, "deployment_fully_available");
    let fixed = [("raise_on_not_fully_available", Value::Bool(true))];
    delegate_with(&ctx, target, &SELECT_WITH_TIMEOUT, &fixed).await
}

async fn deployment_is_not_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let target = find(deployment::probes::SPECS, "deployment_not_fully_available");
    let fixed = [("raise_on_fully_available", Value::Bool(true))];
    delegate_with(&ctx, target, &SELECT_WITH_TIMEOUT, &fixed).await
}

async fn read_microservices_logs(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let f = find(pod::probes::SPECS, "read_pod_logs");
    f(Bound {
        args: ctx.args.clone(),
        configuration: ctx.configuration,
        secrets: ctx.secrets.clone(),
    })
    .await
}
