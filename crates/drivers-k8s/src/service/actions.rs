//! `chaosk8s.service.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, read_manifest, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.service.actions";
pub(crate) const COLLECTION: &str = "/api/v1/namespaces/{ns}/services";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_service_endpoint",
        kind: Kind::Action,
        doc: "Create a Service in `ns` from the manifest at `spec_path`.",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_service_endpoint),
    },
    Spec {
        name: "delete_service",
        kind: Kind::Action,
        doc: "Delete Service `name` from `ns`.",
        params: &[("name", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(delete_service),
    },
];

async fn create_service_endpoint(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, COLLECTION, &manifest).await?;
    Ok(Value::Null)
}

pub(crate) async fn delete_service(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_named(&ctx, COLLECTION, &ctx.text("name")).await?;
    Ok(Value::Null)
}
