//! `chaosk8s.secret.probes`.

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.secret.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "secret_exists",
    kind: Kind::Probe,
    doc: "Whether a Secret named `name` (or matching `label_selector`) exists in `ns`; never \
raises on API errors.",
    params: &[
        ("name", Def::None, Some("string")),
        NS,
        ("label_selector", Def::None, Some("string")),
        SECRETS,
    ],
    return_type: Some("boolean"),
    body: body!(secret_exists),
}];

async fn secret_exists(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    match generic::list_matching(&ctx, "/api/v1/namespaces/{ns}/secrets").await {
        Ok(found) => Ok(Value::Bool(!found.is_empty())),
        Err(e) => {
            log::debug!("secret_exists: {e}");
            Ok(Value::Bool(false))
        }
    }
}
