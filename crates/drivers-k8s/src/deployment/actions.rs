//! `chaosk8s.deployment.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{query, STRATEGIC};
use crate::common::{body, failed, read_manifest, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.deployment.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_deployment",
        kind: Kind::Action,
        doc: "Create a Deployment in `ns` from the manifest at `spec_path` (JSON or YAML).",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_deployment),
    },
    Spec {
        name: "delete_deployment",
        kind: Kind::Action,
        doc: "Delete the Deployments named `name`, else those matching `label_selector`, else \
all Deployments of `ns`.",
        params: &[
            ("name", Def::None, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: None,
        body: body!(delete_deployment),
    },
    Spec {
        name: "scale_deployment",
        kind: Kind::Action,
        doc: "Set the number of `replicas` of Deployment `name`.",
        params: &[
            ("name", Def::Required, Some("string")),
            ("replicas", Def::Required, Some("integer")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(scale_deployment),
    },
    Spec {
        name: "rollout_deployment",
        kind: Kind::Action,
        doc: "Restart the pods of Deployment `name` like `kubectl rollout restart`.",
        params: &[("name", Def::None, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(rollout_deployment),
    },
];

const COLLECTION: &str = "/apis/apps/v1/namespaces/{ns}/deployments";

async fn create_deployment(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, COLLECTION, &manifest).await?;
    Ok(Value::Null)
}

async fn delete_deployment(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_matching(&ctx, COLLECTION).await?;
    Ok(Value::Null)
}

async fn scale_deployment(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::scale(&ctx, COLLECTION).await
}

async fn rollout_deployment(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let name = ctx.text("name");
    let ns = ctx.ns();
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now}}}}});
    let api = ctx.kube().await?;
    let path = query(
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}"),
        &[],
    );
    api.patch(&path, STRATEGIC, &body).await?.map_err(|e| {
        failed(format!(
            "failed to rollout the deployment '{name}'! Error: {}",
            e.message()
        ))
    })?;
    Ok(Value::Null)
}
