//! `chaosk8s.chaosmesh.stress.actions`: one `StressChaos` per call, lasting `duration`.

use experiment::{Map, Value};
use providers::registry::Kind;
use providers::ProviderError;
use serde_json::json;

use crate::chaosmesh::spec::{copy, selection, split};
use crate::chaosmesh::{create, creating, delete, named, optional, selection_params, StressChaos};
use crate::common::{body, Ctx, Def, Spec};

pub const MODULE: &str = "chaosk8s.chaosmesh.stress.actions";

/// Every stressor's own parameters after the selection ones.
macro_rules! stress_params {
    ([$($lead:expr),*]) => {
        selection_params!(
            [$($lead),*],
            [
                ("duration", Def::Str("30s"), Some("string")),
                optional("container_names"),
                optional("stressng_stressors")
            ]
        )
    };
}

pub(crate) const SPECS: &[Spec] = &[
    creating(
        "stress_memory",
        "Stress the memory of the selected pods' containers: `workers` (Chaos Mesh requires \
it) allocating `size` (e.g. \"256MB\", \"50%\") each, for `duration`.",
        stress_params!([
            optional("workers"),
            optional("size"),
            optional("oom_score"),
            optional("time_to_get_to_size")
        ]),
        body!(stress_memory),
    ),
    creating(
        "stress_cpu",
        "Stress the CPU of the selected pods' containers: `workers` at `load` percent each, \
for `duration`.",
        stress_params!([
            ("workers", Def::Required, Some("integer")),
            ("load", Def::Required, Some("integer"))
        ]),
        body!(stress_cpu),
    ),
    named(
        "delete_stressor",
        Kind::Action,
        "Delete the StressChaos `name` from `ns` (ends its stress).",
        body!(delete::<StressChaos>),
    ),
];

/// Creates upstream's object for `stressor` (`cpu` or `memory`) with `fields`
/// (`(argument, key)`) copied as given, nulls included (the API prunes them).
async fn create_stressor(
    ctx: Ctx<'_>,
    stressor: &str,
    fields: &[(&str, &str)],
) -> Result<Value, ProviderError> {
    let mut settings = Map::new();
    copy(&ctx, &mut settings, fields, false);
    let mut spec = Map::new();
    spec.insert("stressors".into(), json!({ stressor: settings }));
    spec.insert("duration".into(), ctx.arg("duration").clone());
    spec.insert("containerNames".into(), split(ctx.arg("container_names")));
    let stressng = [("stressng_stressors", "stressngStressors")];
    copy(&ctx, &mut spec, &stressng, true);
    // With the selection comes `direction`, which StressChaos has no field for (the API
    // prunes it); upstream writes it too.
    selection(&ctx, &mut spec)?;
    create::<StressChaos>(&ctx, spec).await
}

async fn stress_cpu(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_stressor(ctx, "cpu", &[("workers", "workers"), ("load", "load")]).await
}

/// `time_to_get_to_size` goes to `time`, which StressChaos has no field for (the API prunes
/// it), as upstream.
async fn stress_memory(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let fields = [
        ("workers", "workers"),
        ("size", "size"),
        ("time_to_get_to_size", "time"),
        ("oom_score", "oomScoreAdj"),
    ];
    create_stressor(ctx, "memory", &fields).await
}
