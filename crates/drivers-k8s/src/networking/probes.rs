//! `chaosk8s.networking.probes`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::query;
use crate::common::{body, items, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;
use crate::networking::actions::INGRESSES;

pub const MODULE: &str = "chaosk8s.networking.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "ingress_exists",
    kind: Kind::Probe,
    doc: "Whether Ingress `name` exists in `ns`.",
    params: &[("name", Def::Required, Some("string")), NS, SECRETS],
    return_type: Some("boolean"),
    body: body!(ingress_exists),
}];

async fn ingress_exists(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let field = format!("metadata.name={}", ctx.text("name"));
    let api = ctx.kube().await?;
    let url = query(
        &generic::path(INGRESSES, &ctx.ns()),
        &[("fieldSelector", Some(&field))],
    );
    let list = api.get_ok(&url).await?;
    Ok(Value::Bool(!items(&list).is_empty()))
}
