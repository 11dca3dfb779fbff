//! `chaosk8s.secret.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, read_manifest, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.secret.actions";
const COLLECTION: &str = "/api/v1/namespaces/{ns}/secrets";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_secret",
        kind: Kind::Action,
        doc: "Create a Secret in `ns` from the manifest at `spec_path`.",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_secret),
    },
    Spec {
        name: "delete_secret",
        kind: Kind::Action,
        doc: "Delete Secret `name` from `ns`.",
        params: &[("name", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(delete_secret),
    },
];

async fn create_secret(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, COLLECTION, &manifest).await?;
    Ok(Value::Null)
}

async fn delete_secret(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_named(&ctx, COLLECTION, &ctx.text("name")).await?;
    Ok(Value::Null)
}
