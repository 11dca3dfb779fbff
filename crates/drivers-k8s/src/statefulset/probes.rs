//! `chaosk8s.statefulset.probes`.

use std::time::Duration;

use experiment::Value;
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{query, watch_until};
use crate::common::{body, reached_or_raise, Ctx, Def, Spec, NS, SECRETS};

pub const MODULE: &str = "chaosk8s.statefulset.probes";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "statefulset_fully_available",
        kind: Kind::Probe,
        doc:
            "Wait (watching, up to `timeout` s) until all replicas of StatefulSet `name` are ready.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            (
                "raise_on_not_fully_available",
                Def::Bool(true),
                Some("boolean"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(statefulset_fully_available),
    },
    Spec {
        name: "statefulset_not_fully_available",
        kind: Kind::Probe,
        doc: "Wait (watching, up to `timeout` s) until StatefulSet `name` lacks ready replicas.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            ("label_selector", Def::None, Some("string")),
            ("timeout", Def::Int(30), Some("integer")),
            ("raise_on_fully_available", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(statefulset_not_fully_available),
    },
];

fn ready(o: &Value) -> bool {
    let r = o.pointer("/status/readyReplicas").and_then(Value::as_i64);
    r.is_some() && r == o.pointer("/spec/replicas").and_then(Value::as_i64)
}

async fn wait(ctx: &Ctx<'_>, want: bool) -> Result<bool, ProviderError> {
    let api = ctx.kube().await?;
    let field = format!("metadata.name={}", ctx.text("name"));
    let label = ctx.opt_str("label_selector");
    let url = query(
        &format!("/apis/apps/v1/namespaces/{}/statefulsets", ctx.ns()),
        &[
            ("fieldSelector", Some(&field)),
            ("labelSelector", label.as_deref()),
        ],
    );
    let timeout = ctx.int("timeout")?.unwrap_or(30).max(0) as u64;
    watch_until(&api, &url, Duration::from_secs(timeout), |o| {
        ready(o) == want
    })
    .await
}

async fn statefulset_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let reached = wait(&ctx, true).await?;
    reached_or_raise(reached, &ctx, true, "microservice")
}

async fn statefulset_not_fully_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let reached = wait(&ctx, false).await?;
    reached_or_raise(reached, &ctx, false, "microservice")
}
