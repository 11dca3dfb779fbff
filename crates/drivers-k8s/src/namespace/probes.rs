//! `chaosk8s.namespace.probes`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::query;
use crate::common::{body, items, Ctx, Def, Spec, SECRETS};

pub const MODULE: &str = "chaosk8s.namespace.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "namespace_exists",
    kind: Kind::Probe,
    doc: "Whether namespace `name` exists.",
    params: &[("name", Def::Required, Some("string")), SECRETS],
    return_type: Some("boolean"),
    body: body!(namespace_exists),
}];

async fn namespace_exists(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let field = format!("metadata.name={}", ctx.text("name"));
    let list = api
        .get_ok(&query(
            "/api/v1/namespaces",
            &[("fieldSelector", Some(&field))],
        ))
        .await?;
    Ok(Value::Bool(!items(&list).is_empty()))
}
