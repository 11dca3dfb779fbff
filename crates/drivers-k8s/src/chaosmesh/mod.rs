//! `chaosk8s.chaosmesh`: Chaos Mesh faults as `NetworkChaos` / `StressChaos` objects
//! (`chaos-mesh.org/v1alpha1`) in `ns`, created, read and deleted through the custom-object
//! calls of [`crate::crd`], so answers and failures are upstream's `chaosk8s.crd` ones: the
//! created object (or the API's `409` Status when it is already there), and
//! `Failed to <verb> custom resource object: '<HTTP reason>' <body>` (the probes say
//! "create", as upstream).
//!
//! Chaos Mesh itself must run in the cluster for a fault to do anything; these functions only
//! write the objects its controller acts on.

mod spec;

/// `chaosk8s.chaosmesh.network.*`: `NetworkChaos`.
pub mod network {
    pub mod actions;
    pub mod probes;
}

/// `chaosk8s.chaosmesh.stress.*`: `StressChaos`.
pub mod stress {
    pub mod actions;
    pub mod probes;
}

use experiment::{Map, Value};
use http::Method;
use providers::registry::Kind;
use providers::ProviderError;

use crate::common::{Body, Ctx, Def, Spec, NS, P, SECRETS};
use crate::crd::call;

/// Upstream annotates most arguments `Optional[...]`, which its discovery calls "object".
const OPTIONAL: Option<&str> = Some("object");

pub(crate) const NAME: P = ("name", Def::Required, Some("string"));
pub(crate) const NAMESPACES_SELECTORS: P = ("namespaces_selectors", Def::None, OPTIONAL);
pub(crate) const LABEL_SELECTORS: P = ("label_selectors", Def::None, OPTIONAL);
pub(crate) const ANNOTATIONS_SELECTORS: P = ("annotations_selectors", Def::None, OPTIONAL);
pub(crate) const MODE: P = ("mode", Def::Str("one"), Some("string"));
pub(crate) const MODE_VALUE: P = ("mode_value", Def::None, OPTIONAL);
pub(crate) const DIRECTION: P = ("direction", Def::Str("to"), Some("string"));

/// An `Optional[...] = None` argument.
pub(crate) const fn optional(name: &'static str) -> P {
    (name, Def::None, OPTIONAL)
}

/// The parameters of a create function in upstream's order: `name`, the function's leading
/// required ones, `ns`, the pod selection, its own, then `secrets`.
macro_rules! selection_params {
    ([$($lead:expr),*], [$($own:expr),*]) => {
        &[
            $crate::chaosmesh::NAME,
            $($lead,)*
            $crate::common::NS,
            $crate::chaosmesh::NAMESPACES_SELECTORS,
            $crate::chaosmesh::LABEL_SELECTORS,
            $crate::chaosmesh::ANNOTATIONS_SELECTORS,
            $crate::chaosmesh::MODE,
            $crate::chaosmesh::MODE_VALUE,
            $crate::chaosmesh::DIRECTION,
            $($own,)*
            $crate::common::SECRETS,
        ]
    };
}
pub(crate) use selection_params;

/// A Chaos Mesh kind: what the functions of one upstream module create and read.
pub(crate) trait Chaos {
    const KIND: &'static str;
    const PLURAL: &'static str;
}

pub(crate) struct NetworkChaos;
impl Chaos for NetworkChaos {
    const KIND: &'static str = "NetworkChaos";
    const PLURAL: &'static str = "networkchaos";
}

pub(crate) struct StressChaos;
impl Chaos for StressChaos {
    const KIND: &'static str = "StressChaos";
    const PLURAL: &'static str = "stresschaos";
}

/// A create action's row (upstream returns the created object, or the conflict Status).
pub(crate) const fn creating(
    name: &'static str,
    doc: &'static str,
    params: &'static [P],
    body: Body,
) -> Spec {
    Spec {
        name,
        kind: Kind::Action,
        doc,
        params,
        return_type: Some("mapping"),
        body,
    }
}

/// A row taking `name` and `ns` (get and delete of one object).
pub(crate) const fn named(name: &'static str, kind: Kind, doc: &'static str, body: Body) -> Spec {
    Spec {
        name,
        kind,
        doc,
        params: &[NAME, NS, SECRETS],
        return_type: Some("mapping"),
        body,
    }
}

/// A row taking only `ns` (the list).
pub(crate) const fn listing(name: &'static str, doc: &'static str, body: Body) -> Spec {
    Spec {
        name,
        kind: Kind::Probe,
        doc,
        params: &[NS, SECRETS],
        return_type: Some("mapping"),
        body,
    }
}

/// `/apis/chaos-mesh.org/v1alpha1/namespaces/{ns}/{plural}[/{name}]`.
fn url<K: Chaos>(ctx: &Ctx<'_>, with_name: bool) -> String {
    let mut url = format!(
        "/apis/{}/{}/namespaces/{}/{}",
        spec::GROUP,
        spec::VERSION,
        ctx.ns(),
        K::PLURAL
    );
    if with_name {
        url.push('/');
        url.push_str(&ctx.text("name"));
    }
    url
}

/// Upstream's `create_custom_object(group, version, plural, ns, resource=…)` of a `K`
/// with `spec`.
pub(crate) async fn create<K: Chaos>(ctx: &Ctx<'_>, spec: Map) -> Result<Value, ProviderError> {
    let resource = spec::resource(ctx, K::KIND, spec);
    crate::crd::actions::create(ctx, true, &url::<K>(ctx, false), &resource).await
}

/// Upstream's `get_custom_object` of `name`.
pub(crate) async fn get<K: Chaos>(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &url::<K>(&ctx, true), None, "create").await
}

/// Upstream's `list_custom_objects` (the API's `…List`).
pub(crate) async fn list<K: Chaos>(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::GET, &url::<K>(&ctx, false), None, "create").await
}

/// Upstream's `delete_custom_object` of `name` (the API's Status).
pub(crate) async fn delete<K: Chaos>(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(&ctx, Method::DELETE, &url::<K>(&ctx, true), None, "delete").await
}
