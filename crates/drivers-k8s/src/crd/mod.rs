//! `chaosk8s.crd`: custom objects, namespaced and cluster-wide, by group/version/plural.
//!
//! Upstream returns the API's JSON answer as is (a created `409` answers the existing
//! object's `Status`), and words failures `Failed to <verb> custom resource object:
//! '<HTTP reason>' <body>` (the probes say "create" too, as upstream).

pub mod actions;
pub mod probes;

use experiment::Value;
use http::Method;
use providers::ProviderError;

use crate::client::ApiStatus;
use crate::common::{failed, Ctx};

/// `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}]`.
pub(crate) fn path(ctx: &Ctx<'_>, namespaced: bool, with_name: bool) -> String {
    let mut p = format!("/apis/{}/{}", ctx.text("group"), ctx.text("version"));
    if namespaced {
        p.push_str(&format!("/namespaces/{}", ctx.ns()));
    }
    p.push_str(&format!("/{}", ctx.text("plural")));
    if with_name {
        p.push_str(&format!("/{}", ctx.text("name")));
    }
    p
}

/// Upstream's failure wording for an API refusal.
pub(crate) fn refused(verb: &str, e: &ApiStatus) -> ProviderError {
    failed(format!(
        "Failed to {verb} custom resource object: '{}' {}",
        e.reason(),
        e.body.trim_end()
    ))
}

/// One request; the answer's JSON, or upstream's failure for `verb`.
pub(crate) async fn call(
    ctx: &Ctx<'_>,
    method: Method,
    path: &str,
    body: Option<(&str, &Value)>,
    verb: &str,
) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    api.request(method, path, body)
        .await?
        .map_err(|e| refused(verb, &e))
}
