//! `chaosk8s.event.probes`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::query;
use crate::common::{body, Ctx, Def, Spec, CONFIGURATION, SECRETS};

pub const MODULE: &str = "chaosk8s.event.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "get_events",
    kind: Kind::Probe,
    doc: "The raw events.k8s.io/v1 EventList of all namespaces, filtered by label/field \
selectors, at most `limit`.",
    params: &[
        ("label_selector", Def::None, Some("string")),
        ("field_selector", Def::None, Some("string")),
        ("limit", Def::Int(100), Some("integer")),
        CONFIGURATION,
        SECRETS,
    ],
    return_type: Some("mapping"),
    body: body!(get_events),
}];

async fn get_events(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let limit = ctx.int("limit")?.map(|l| l.to_string());
    let label = ctx.opt_str("label_selector");
    let field = ctx.opt_str("field_selector");
    api.get_ok(&query(
        "/apis/events.k8s.io/v1/events",
        &[
            ("labelSelector", label.as_deref()),
            ("fieldSelector", field.as_deref()),
            ("limit", limit.as_deref()),
        ],
    ))
    .await
}
