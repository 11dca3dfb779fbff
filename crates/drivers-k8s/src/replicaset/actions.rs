//! `chaosk8s.replicaset.actions`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.replicaset.actions";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "delete_replica_set",
    kind: Kind::Action,
    doc: "Delete the ReplicaSets named `name`, else matching `label_selector`, else all in `ns`.",
    params: &[
        ("name", Def::None, Some("string")),
        NS,
        ("label_selector", Def::None, Some("string")),
        SECRETS,
    ],
    return_type: None,
    body: body!(delete_replica_set),
}];

pub(crate) async fn delete_replica_set(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_matching(&ctx, "/apis/apps/v1/namespaces/{ns}/replicasets").await?;
    Ok(Value::Null)
}
