//! `chaosk8s.namespace.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, failed, read_manifest, Ctx, Def, Spec, SECRETS};

pub const MODULE: &str = "chaosk8s.namespace.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_namespace",
        kind: Kind::Action,
        doc: "Create a namespace from the manifest at `spec_path`, else named `name`.",
        params: &[
            ("name", Def::None, Some("string")),
            ("spec_path", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: None,
        body: body!(create_namespace),
    },
    Spec {
        name: "delete_namespace",
        kind: Kind::Action,
        doc: "Delete namespace `name` (and everything in it).",
        params: &[("name", Def::Required, Some("string")), SECRETS],
        return_type: None,
        body: body!(delete_namespace),
    },
];

async fn create_namespace(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let body = match (ctx.opt_str("spec_path"), ctx.opt_str("name")) {
        (Some(p), _) => read_manifest(&p)?,
        (None, Some(n)) => serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": n}}),
        (None, None) => return Err(failed("You need to either specify name or spec_path")),
    };
    let api = ctx.kube().await?;
    api.post("/api/v1/namespaces", &body)
        .await?
        .map_err(|e| e.exception())?;
    Ok(Value::Null)
}

async fn delete_namespace(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    api.delete(&format!("/api/v1/namespaces/{}", ctx.text("name")), None)
        .await?
        .map_err(|e| e.exception())?;
    Ok(Value::Null)
}
