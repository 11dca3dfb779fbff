//! `chaosk8s.chaosmesh.network.actions`: one `NetworkChaos` per call, without a duration
//! (the fault lasts until `delete_network_fault`, so pair them in a rollback).

use experiment::{Map, Value};
use providers::registry::Kind;
use providers::ProviderError;

use crate::chaosmesh::spec::{copy, selection, target};
use crate::chaosmesh::{create, creating, delete, named, optional, selection_params, NetworkChaos};
use crate::common::{body, Ctx, Def, Spec, P};

pub const MODULE: &str = "chaosk8s.chaosmesh.network.actions";

/// The create parameters: upstream's selection ones around the fault's own, then the target.
macro_rules! network_params {
    ([$($lead:expr),*], [$($own:expr),*]) => {
        selection_params!(
            [$($lead),*],
            [
                $($own,)*
                optional("external_targets"),
                ("target_mode", Def::Str("one"), Some("object")),
                optional("target_mode_value"),
                optional("target_namespaces_selectors"),
                optional("target_label_selectors"),
                optional("target_annotations_selectors")
            ]
        )
    };
}

const CORRELATION: P = optional("correlation");

pub(crate) const SPECS: &[Spec] = &[
    creating(
        "add_latency",
        "Delay the selected pods' packets by `latency` (e.g. \"100ms\"; Chaos Mesh requires \
it), with `jitter` and `correlation`.",
        network_params!([], [optional("latency"), CORRELATION, optional("jitter")]),
        body!(add_latency),
    ),
    creating(
        "set_loss",
        "Drop `loss` percent of the selected pods' packets.",
        network_params!([], [optional("loss"), CORRELATION]),
        body!(set_loss),
    ),
    creating(
        "duplicate_packets",
        "Duplicate `duplicate` percent of the selected pods' packets.",
        network_params!([], [optional("duplicate"), CORRELATION]),
        body!(duplicate_packets),
    ),
    creating(
        "corrupt_packets",
        "Corrupt `corrupt` percent of the selected pods' packets.",
        network_params!([], [optional("corrupt"), CORRELATION]),
        body!(corrupt_packets),
    ),
    creating(
        "reorder_packets",
        "Upstream's reorder fault (`action: reorder`), which Chaos Mesh rejects: reordering \
is part of its delay fault.",
        network_params!([], [optional("reorder"), CORRELATION, optional("gap")]),
        body!(reorder_packets),
    ),
    creating(
        "set_bandwidth",
        "Limit the selected pods' bandwidth to `rate` (token bucket of `limit` and `buffer` \
bytes; optional `peakrate`, `minburst`).",
        network_params!(
            [
                ("rate", Def::Required, Some("string")),
                ("limit", Def::Required, Some("integer")),
                ("buffer", Def::Required, Some("integer"))
            ],
            [optional("peakrate"), optional("minburst")]
        ),
        body!(set_bandwidth),
    ),
    named(
        "delete_network_fault",
        Kind::Action,
        "Delete the NetworkChaos `name` from `ns` (ends its fault).",
        body!(delete::<NetworkChaos>),
    ),
];

/// Creates upstream's object for a fault: `spec.action` and `spec.<action>` filled from the
/// arguments of the same names (`always` as given, `when_set` only when truthy, as
/// upstream), then the selection and the target.
async fn create_fault(
    ctx: Ctx<'_>,
    action: &str,
    always: &[&str],
    when_set: &[&str],
) -> Result<Value, ProviderError> {
    let mut settings = Map::new();
    for (names, only_truthy) in [(always, false), (when_set, true)] {
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, *n)).collect();
        copy(&ctx, &mut settings, &pairs, only_truthy);
    }
    let mut spec = Map::new();
    spec.insert("action".into(), Value::from(action));
    spec.insert(action.into(), Value::Object(settings));
    selection(&ctx, &mut spec)?;
    target(&ctx, &mut spec)?;
    create::<NetworkChaos>(&ctx, spec).await
}

async fn add_latency(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fault(ctx, "delay", &[], &["latency", "correlation", "jitter"]).await
}

async fn set_loss(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fault(ctx, "loss", &[], &["loss", "correlation"]).await
}

async fn duplicate_packets(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fault(ctx, "duplicate", &[], &["duplicate", "correlation"]).await
}

async fn corrupt_packets(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fault(ctx, "corrupt", &[], &["corrupt", "correlation"]).await
}

/// Kept as upstream builds it (`action: reorder`, `spec.reorder`): Chaos Mesh has no such
/// action (reordering is `delay.reorder` and needs a latency this function has no argument
/// for), so the API refuses it with a 422 naming the action, as it does upstream's.
async fn reorder_packets(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fault(ctx, "reorder", &[], &["reorder", "gap", "correlation"]).await
}

/// Upstream misspells the action `bandwdith`, which Chaos Mesh rejects; this sends
/// `bandwidth`.
async fn set_bandwidth(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let always = ["rate", "limit", "buffer"];
    create_fault(ctx, "bandwidth", &always, &["peakrate", "minburst"]).await
}
