//! `chaostoxi.proxy.probes`: does a proxy exist, and one attribute of it.

use experiment::pyrepr::py_repr;
use experiment::Value;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use crate::common::{body, Ctx, Def, Outcome, Spec, CONFIGURATION};

pub const MODULE: &str = "chaostoxi.proxy.probes";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "proxy_exist",
        kind: Kind::Probe,
        doc: "Whether a proxy of that name exists.",
        params: &[("proxy_name", Def::Required, Some("string")), CONFIGURATION],
        return_type: None,
        body: body!(proxy_exist),
    },
    Spec {
        name: "get_proxy_attribute",
        kind: Kind::Probe,
        doc: "One attribute of a proxy (`name`, `listen`, `upstream`, `enabled`, `toxics`), \
              or null when the proxy does not exist.",
        params: &[
            ("proxy_name", Def::Required, Some("string")),
            ("attribute", Def::Required, Some("string")),
            CONFIGURATION,
        ],
        return_type: None,
        body: body!(get_proxy_attribute),
    },
];

/// GET the proxy as the API shows it; `None` for any non-2xx answer, as upstream.
async fn read_proxy(ctx: &Ctx<'_>) -> Result<Option<Value>, ProviderError> {
    let name = ctx.text("proxy_name");
    let api = ctx.client()?;
    match api.run("read a proxy", api.client.proxy(&name)).await? {
        Outcome::Ok(p) => serde_json::to_value(p).map(Some).map_err(|e| {
            ProviderError::failed(
                FailureKind::Remote,
                format!("ValueError: cannot encode proxy '{name}': {e}"),
            )
        }),
        Outcome::Refused(e) => {
            log::debug!(
                "Proxy with name {name} does not seem to exist ({})",
                e.error
            );
            Ok(None)
        }
    }
}

async fn proxy_exist(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let found = read_proxy(&ctx).await?;
    Ok(Value::Bool(found.is_some_and(|p| {
        p.get("name").and_then(Value::as_str) == Some(ctx.text("proxy_name").as_str())
    })))
}

async fn get_proxy_attribute(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let Some(proxy) = read_proxy(&ctx).await? else {
        return Ok(Value::Null);
    };
    let attribute = ctx.arg("attribute");
    match attribute.as_str().and_then(|a| proxy.get(a)) {
        Some(v) => Ok(v.clone()),
        None => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "KeyError: {} (a proxy has name, listen, upstream, enabled, toxics)",
                py_repr(attribute)
            ),
        )),
    }
}
