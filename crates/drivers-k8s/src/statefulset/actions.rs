//! `chaosk8s.statefulset.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, read_manifest, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.statefulset.actions";
const COLLECTION: &str = "/apis/apps/v1/namespaces/{ns}/statefulsets";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_statefulset",
        kind: Kind::Action,
        doc: "Create a StatefulSet in `ns` from the manifest at `spec_path`.",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_statefulset),
    },
    Spec {
        name: "scale_statefulset",
        kind: Kind::Action,
        doc: "Set the number of `replicas` of StatefulSet `name`.",
        params: &[
            ("name", Def::Required, Some("string")),
            ("replicas", Def::Required, Some("integer")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(scale_statefulset),
    },
    Spec {
        name: "remove_statefulset",
        kind: Kind::Action,
        doc: "Delete the StatefulSets named `name`, else matching `label_selector`, else all.",
        params: &[
            ("name", Def::None, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: None,
        body: body!(remove_statefulset),
    },
];

async fn create_statefulset(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, COLLECTION, &manifest).await?;
    Ok(Value::Null)
}

async fn scale_statefulset(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::scale(&ctx, COLLECTION).await
}

async fn remove_statefulset(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_matching(&ctx, COLLECTION).await?;
    Ok(Value::Null)
}
