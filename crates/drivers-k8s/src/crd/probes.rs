//! `chaosk8s.crd.probes`.

use experiment::Value;
use http::Method;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{body, Ctx, Def, Spec, NS, SECRETS};
use crate::crd::{call, path};

pub const MODULE: &str = "chaosk8s.crd.probes";

const GVP: [crate::common::P; 3] = [
    ("group", Def::Required, Some("string")),
    ("version", Def::Required, Some("string")),
    ("plural", Def::Required, Some("string")),
];
const NAME: crate::common::P = ("name", Def::Required, Some("string"));

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "get_custom_object",
        kind: Kind::Probe,
        doc: "Custom object `name` of `group`/`version`/`plural` in `ns`, as the API returns it.",
        params: &[GVP[0], GVP[1], GVP[2], NAME, NS, SECRETS],
        return_type: Some("mapping"),
        body: body!(get_custom_object),
    },
    Spec {
        name: "get_cluster_custom_object",
        kind: Kind::Probe,
        doc: "Cluster-scoped custom object `name` of `group`/`version`/`plural`.",
        params: &[GVP[0], GVP[1], GVP[2], NAME, SECRETS],
        return_type: Some("mapping"),
        body: body!(get_cluster_custom_object),
    },
    Spec {
        name: "list_custom_objects",
        kind: Kind::Probe,
        doc: "The list (the API's `…List` object) of `group`/`version`/`plural` in `ns`.",
        params: &[GVP[0], GVP[1], GVP[2], NS, SECRETS],
        return_type: Some("list"),
        body: body!(list_custom_objects),
    },
    Spec {
        name: "list_cluster_custom_objects",
        kind: Kind::Probe,
        doc: "The list of `group`/`version`/`plural` cluster-wide (all namespaces).",
        params: &[GVP[0], GVP[1], GVP[2], SECRETS],
        return_type: Some("list"),
        body: body!(list_cluster_custom_objects),
    },
];

// Upstream's probes say "create" in their failure message.
async fn get_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &path(&ctx, true, true), None, "create").await
}

async fn get_cluster_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &path(&ctx, false, true), None, "create").await
}

async fn list_custom_objects(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &path(&ctx, true, false), None, "create").await
}

async fn list_cluster_custom_objects(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &path(&ctx, false, false), None, "create").await
}
