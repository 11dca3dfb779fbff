//! `chaosk8s.daemonset.probes`: upstream answers `False` (never raises) when the DaemonSet
//! is missing or not in the wanted state.

use std::time::Duration;

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{query, watch_until};
use crate::common::{body, items, Ctx, Def, Spec, NS, SECRETS};
use crate::daemonset::actions::COLLECTION;
use crate::generic;

pub const MODULE: &str = "chaosk8s.daemonset.probes";

const LOOKUP: &[crate::common::P] = &[
    ("name", Def::Required, Some("string")),
    NS,
    ("label_selector", Def::None, Some("string")),
    SECRETS,
];

const WAIT: &[crate::common::P] = &[
    ("name", Def::Required, Some("string")),
    NS,
    ("label_selector", Def::None, Some("string")),
    ("timeout", Def::Int(30), Some("integer")),
    SECRETS,
];

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "daemon_set_available_and_healthy",
        kind: Kind::Probe,
        doc: "Whether DaemonSet `name` exists and every one of its scheduled pods is ready.",
        params: LOOKUP,
        return_type: Some("boolean"),
        body: body!(daemon_set_available_and_healthy),
    },
    Spec {
        name: "daemon_set_not_fully_available",
        kind: Kind::Probe,
        doc: "Wait (watching, up to `timeout` seconds) until DaemonSet `name` has fewer ready \
pods than scheduled; false when that does not happen in time.",
        params: WAIT,
        return_type: Some("boolean"),
        body: body!(daemon_set_not_fully_available),
    },
    Spec {
        name: "daemon_set_fully_available",
        kind: Kind::Probe,
        doc: "Wait (watching, up to `timeout` seconds) until every scheduled pod of DaemonSet \
`name` is ready; false when that does not happen in time.",
        params: WAIT,
        return_type: Some("boolean"),
        body: body!(daemon_set_fully_available),
    },
    Spec {
        name: "daemon_set_partially_available",
        kind: Kind::Probe,
        doc: "Whether DaemonSet `name` has at least one ready pod.",
        params: LOOKUP,
        return_type: Some("boolean"),
        body: body!(daemon_set_partially_available),
    },
];

/// `…/daemonsets?fieldSelector=metadata.name=<name>[&labelSelector=]`; the waiting probes
/// substitute `{name}` in the selector as upstream does.
fn by_name(ctx: &Ctx<'_>, format_selector: bool) -> String {
    let name = ctx.text("name");
    let field = format!("metadata.name={name}");
    let label = ctx.opt_str("label_selector").map(|l| {
        if format_selector {
            l.replace("{name}", &name)
        } else {
            l
        }
    });
    query(
        &generic::path(COLLECTION, &ctx.ns()),
        &[
            ("fieldSelector", Some(&field)),
            ("labelSelector", label.as_deref()),
        ],
    )
}

fn number(d: &Value, field: &str) -> i64 {
    d.pointer(&format!("/status/{field}"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

fn ready(d: &Value) -> bool {
    number(d, "numberReady") == number(d, "desiredNumberScheduled")
}

async fn list(ctx: &Ctx<'_>) -> Result<Vec<Value>, ProviderError> {
    let api = ctx.kube().await?;
    Ok(items(&api.get_ok(&by_name(ctx, false)).await?).to_vec())
}

async fn daemon_set_available_and_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let found = list(&ctx).await?;
    Ok(Value::Bool(!found.is_empty() && found.iter().all(ready)))
}

async fn daemon_set_partially_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    // Upstream decides on the first match only.
    let found = list(&ctx).await?;
    Ok(Value::Bool(
        found.first().is_some_and(|d| number(d, "numberReady") >= 1),
    ))
}

async fn wait(ctx: &Ctx<'_>, want_ready: bool) -> Result<Value, ProviderError> {
    let timeout = ctx.int("timeout")?.unwrap_or(30).max(0) as u64;
    let api = ctx.kube().await?;
    let reached = watch_until(
        &api,
        &by_name(ctx, true),
        Duration::from_secs(timeout),
        |d| ready(d) == want_ready,
    )
    .await?;
    if !reached {
        log::debug!(
            "daemon set '{}' did not reach the wanted state within {timeout}s",
            ctx.text("name")
        );
    }
    Ok(Value::Bool(reached))
}

async fn daemon_set_not_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    wait(&ctx, false).await
}

async fn daemon_set_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    wait(&ctx, true).await
}
