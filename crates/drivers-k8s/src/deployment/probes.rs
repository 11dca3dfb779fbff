//! `chaosk8s.deployment.probes`.

use std::time::Duration;

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{query, watch_until};
use crate::common::{body, failed, items, reached_or_raise, Ctx, Def, Spec, NS, SECRETS};

pub const MODULE: &str = "chaosk8s.deployment.probes";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "deployment_available_and_healthy",
        kind: Kind::Probe,
        doc: "Whether Deployment `name` has as many available replicas as it wants.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("raise_on_unavailable", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_available_and_healthy),
    },
    Spec {
        name: "deployment_partially_available",
        kind: Kind::Probe,
        doc: "Whether Deployment `name` has at least one available replica.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            (
                "raise_on_not_partially_available",
                Def::Bool(true),
                Some("boolean"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_partially_available),
    },
    Spec {
        name: "deployment_fully_available",
        kind: Kind::Probe,
        doc: "Wait (watching, up to `timeout` seconds) until all replicas of Deployment `name` \
are ready.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            (
                "raise_on_not_fully_available",
                Def::Bool(true),
                Some("boolean"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_fully_available),
    },
    Spec {
        name: "deployment_not_fully_available",
        kind: Kind::Probe,
        doc: "Wait (watching, up to `timeout` seconds) until Deployment `name` has fewer ready \
replicas than wanted.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            ("raise_on_fully_available", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(deployment_not_fully_available),
    },
];

/// `…/deployments?fieldSelector=metadata.name=<name>[&labelSelector=]`.
fn by_name(ctx: &Ctx<'_>) -> String {
    let ns = ctx.ns();
    let field = format!("metadata.name={}", ctx.text("name"));
    let label = ctx
        .opt_str("label_selector")
        .map(|l| l.replace("{name}", &ctx.text("name")));
    query(
        &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        &[
            ("fieldSelector", Some(&field)),
            ("labelSelector", label.as_deref()),
        ],
    )
}

fn int(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

async fn find(ctx: &Ctx<'_>) -> Result<Vec<Value>, ProviderError> {
    let api = ctx.kube().await?;
    let list = api.get_ok(&by_name(ctx)).await?;
    let found = items(&list).to_vec();
    if found.is_empty() {
        return Err(failed(format!(
            "Deployment '{}' was not found",
            ctx.text("name")
        )));
    }
    Ok(found)
}

async fn deployment_available_and_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    for d in find(&ctx).await? {
        if int(&d, "/status/availableReplicas") != int(&d, "/spec/replicas") {
            if ctx.flag("raise_on_unavailable") {
                return Err(failed(format!(
                    "Deployment '{}' is not healthy",
                    ctx.text("name")
                )));
            }
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

async fn deployment_partially_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    for d in find(&ctx).await? {
        if int(&d, "/status/availableReplicas").unwrap_or(0) < 1 {
            if ctx.flag("raise_on_not_partially_available") {
                return Err(failed(format!(
                    "Deployment '{}' is not healthy",
                    ctx.text("name")
                )));
            }
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

/// Upstream compares `status.readyReplicas` (absent when 0) with `spec.replicas`.
fn fully_ready(d: &Value) -> bool {
    let ready = int(d, "/status/readyReplicas");
    ready.is_some() && ready == int(d, "/spec/replicas")
}

async fn wait(ctx: &Ctx<'_>, want_ready: bool) -> Result<bool, ProviderError> {
    let timeout = ctx.int("timeout")?.unwrap_or(30).max(0) as u64;
    let api = ctx.kube().await?;
    watch_until(&api, &by_name(ctx), Duration::from_secs(timeout), |d| {
        fully_ready(d) == want_ready
    })
    .await
}

async fn deployment_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let reached = wait(&ctx, true).await?;
    reached_or_raise(reached, &ctx, true, "deployment")
}

async fn deployment_not_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let reached = wait(&ctx, false).await?;
    reached_or_raise(reached, &ctx, false, "deployment")
}
