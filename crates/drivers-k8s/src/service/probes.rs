//! `chaosk8s.service.probes`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::query;
use crate::common::{body, failed, items, Ctx, Def, Spec, NS, SECRETS};

pub const MODULE: &str = "chaosk8s.service.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "service_is_initialized",
    kind: Kind::Probe,
    doc: "Whether a Service matching `name` and/or `label_selector` exists in `ns` \
(endpoints are not checked, as upstream).",
    params: &[
        ("name", Def::None, Some("string")),
        NS,
        ("label_selector", Def::None, Some("string")),
        (
            "raise_if_service_not_initialized",
            Def::Bool(true),
            Some("boolean"),
        ),
        SECRETS,
    ],
    return_type: Some("boolean"),
    body: body!(service_is_initialized),
}];

pub(crate) async fn service_is_initialized(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let field = ctx.opt_str("name").map(|n| format!("metadata.name={n}"));
    let label = ctx
        .opt_str("label_selector")
        .map(|l| l.replace("{name}", &ctx.text("name")));
    let url = query(
        &format!("/api/v1/namespaces/{}/services", ctx.ns()),
        &[
            ("fieldSelector", field.as_deref()),
            ("labelSelector", label.as_deref()),
        ],
    );
    if items(&api.get_ok(&url).await?).is_empty() {
        if ctx.flag("raise_if_service_not_initialized") {
            return Err(failed(format!(
                "service '{}' is not initialized",
                ctx.text("name")
            )));
        }
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(true))
}
