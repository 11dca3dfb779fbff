//! `chaosk8s.daemonset.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::STRATEGIC;
use crate::common::{body, failed, read_manifest, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.daemonset.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_daemon_set",
        kind: Kind::Action,
        doc: "Create a DaemonSet in `ns` from the manifest at `spec_path` (JSON or YAML).",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_daemon_set),
    },
    Spec {
        name: "delete_daemon_set",
        kind: Kind::Action,
        doc: "Delete the DaemonSets named `name`, else those matching `label_selector`, else \
all DaemonSets of `ns`.",
        params: &[
            ("name", Def::None, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: None,
        body: body!(delete_daemon_set),
    },
    Spec {
        name: "update_daemon_set",
        kind: Kind::Action,
        doc: "Patch DaemonSet `name` with `spec` (a strategic merge patch, e.g. \
`{spec: {template: …}}`).",
        params: &[
            ("name", Def::Required, Some("string")),
            ("spec", Def::Required, Some("mapping")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(update_daemon_set),
    },
];

pub(crate) const COLLECTION: &str = "/apis/apps/v1/namespaces/{ns}/daemonsets";

async fn create_daemon_set(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, COLLECTION, &manifest).await?;
    Ok(Value::Null)
}

async fn delete_daemon_set(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_matching(&ctx, COLLECTION).await?;
    Ok(Value::Null)
}

async fn update_daemon_set(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let name = ctx.text("name");
    let api = ctx.kube().await?;
    let url = format!("{}/{name}", generic::path(COLLECTION, &ctx.ns()));
    api.patch(&url, STRATEGIC, ctx.arg("spec"))
        .await?
        .map_err(|e| {
            failed(format!(
                "failed to update daemon set '{name}': ({})\nReason: {}\nHTTP response body: {}",
                e.code,
                e.reason(),
                e.body.trim_end()
            ))
        })?;
    Ok(Value::Null)
}
