//! `chaostoxi.proxy.actions`: create, modify, enable/disable, delete proxies, reset.

use experiment::pyrepr::py_repr;
use experiment::Value;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};
use proxy::client::ProxySpec;

use crate::common::{body, refusal, Ctx, Def, Outcome, Spec, CONFIGURATION};

pub const MODULE: &str = "chaostoxi.proxy.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_proxy",
        kind: Kind::Action,
        doc: "Create a proxy from listen_host:listen_port (port 0 picks a free one) to \
              upstream_host:upstream_port. `env:NAME` upstream values are read from the \
              environment. Sets the environment variable `<proxy_name>_PORT` to the port \
              the proxy listens on. `protocol` (Shakedown's, `chaos proxy serve` only) makes \
              a `udp` (or another non-TCP) proxy; left out, the proxy is TCP as upstream's. \
              `tls` (Shakedown's too) is the proxy's `tls` object, e.g. `{\"generate\": true}`, \
              for HTTP faults on HTTPS traffic; left out, none is sent.",
        params: &[
            ("proxy_name", Def::Required, Some("string")),
            ("upstream_host", Def::Required, Some("string")),
            ("upstream_port", Def::Required, Some("integer")),
            ("listen_host", Def::Str("0.0.0.0"), Some("string")),
            ("listen_port", Def::Int(0), Some("integer")),
            ("enabled", Def::Bool(true), Some("boolean")),
            CONFIGURATION,
            ("protocol", Def::None, Some("string")),
            ("tls", Def::None, Some("mapping")),
        ],
        return_type: None,
        body: body!(create_proxy),
    },
    Spec {
        name: "disable_proxy",
        kind: Kind::Action,
        doc: "Disable a proxy: it stops listening and drops its connections, as if the \
              proxied service were down.",
        params: &[("proxy_name", Def::Required, Some("string")), CONFIGURATION],
        return_type: None,
        body: body!(disable_proxy),
    },
    Spec {
        name: "enable_proxy",
        kind: Kind::Action,
        doc: "Enable a disabled proxy again.",
        params: &[("proxy_name", Def::Required, Some("string")), CONFIGURATION],
        return_type: None,
        body: body!(enable_proxy),
    },
    Spec {
        name: "modify_proxy",
        kind: Kind::Action,
        doc: "Change a proxy's listen address, upstream address or enabled state; only the \
              arguments given are changed.",
        params: &[
            ("proxy_name", Def::Required, Some("string")),
            ("listen_address", Def::None, Some("string")),
            ("upstream_address", Def::None, Some("string")),
            ("enabled", Def::None, Some("boolean")),
            CONFIGURATION,
        ],
        return_type: None,
        body: body!(modify_proxy),
    },
    Spec {
        name: "delete_proxy",
        kind: Kind::Action,
        doc: "Remove a proxy. Failures are only logged.",
        params: &[("proxy_name", Def::Required, Some("string")), CONFIGURATION],
        return_type: None,
        body: body!(delete_proxy),
    },
    Spec {
        name: "reset",
        kind: Kind::Action,
        doc: "Enable every proxy and remove every toxic. Returns whether the server agreed.",
        params: &[CONFIGURATION],
        return_type: None,
        body: body!(reset),
    },
];

/// Upstream's `value_from_environment_if_exists`: `env:NAME` reads `$NAME`, whose
/// absence is a `KeyError`.
fn from_env(v: &Value) -> Result<Value, ProviderError> {
    match v.as_str().and_then(|s| s.strip_prefix("env:")) {
        Some(name) => std::env::var(name).map(Value::String).map_err(|_| {
            ProviderError::failed(
                FailureKind::Environment,
                format!(
                    "KeyError: {} (environment variable named by 'env:{name}' is not set)",
                    py_repr(&Value::String(name.into()))
                ),
            )
        }),
        None => Ok(v.clone()),
    }
}

/// Upstream publishes the listen port as `configuration["<name>_PORT"]` (on chaoslib's
/// copy, so it is lost) and as an environment variable, which later `process` activities
/// and `env:` arguments see. Only the environment variable is observable, so that is kept.
fn publish_port(proxy_name: &str, listen: &str) -> String {
    let port = listen.rsplit(':').next().unwrap_or_default().to_string();
    let key = format!("{proxy_name}_PORT");
    if key.is_empty() || key.contains('=') || key.contains('\0') || port.contains('\0') {
        log::warn!("cannot export {key:?}={port:?} to the environment");
    } else {
        std::env::set_var(&key, &port);
        log::debug!("toxiproxy port exported as {key}={port}");
    }
    port
}

async fn create_proxy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let name = ctx.text("proxy_name");
    let listen = format!("{}:{}", ctx.text("listen_host"), ctx.text("listen_port"));
    let upstream_host = from_env(ctx.arg("upstream_host"))?;
    let upstream_port = from_env(ctx.arg("upstream_port"))?;
    let upstream = format!(
        "{}:{}",
        experiment::pyrepr::py_str(&upstream_host),
        experiment::pyrepr::py_str(&upstream_port)
    );
    let Value::Bool(enabled) = *ctx.arg("enabled") else {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "AssertionError: cannot create proxy '{name}': enabled must be a boolean, not {}",
                py_repr(ctx.arg("enabled"))
            ),
        ));
    };
    let spec = ProxySpec {
        name: name.clone(),
        listen,
        upstream,
        enabled,
        protocol: ctx.opt_str("protocol"),
        tls: Some(ctx.arg("tls")).filter(|v| !v.is_null()).cloned(),
    };
    log::debug!("Creating proxy with the following configuration: {spec:?}");
    let api = ctx.client()?;
    let proxy = match api
        .run("create a proxy", api.client.create_proxy(&spec))
        .await?
    {
        Outcome::Ok(p) => p,
        Outcome::Refused(e) => {
            return Err(ProviderError::failed(
                FailureKind::Remote,
                format!(
                    "AssertionError: Toxiproxy did not create proxy '{name}': {}",
                    refusal(&e)
                ),
            ))
        }
    };
    let port = proxy.listen.rsplit(':').next().unwrap_or_default();
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProviderError::failed(
            FailureKind::Remote,
            format!(
                "AssertionError: cannot read a port from the proxy's listen address {:?}",
                proxy.listen
            ),
        ));
    }
    publish_port(&name, &proxy.listen);
    Ok(Value::Bool(true))
}

/// Shared by modify/enable/disable: PATCH only the given fields, then publish the port.
async fn modify(
    ctx: &Ctx<'_>,
    listen: Option<String>,
    upstream: Option<String>,
    enabled: Option<bool>,
) -> Result<Value, ProviderError> {
    let name = ctx.text("proxy_name");
    let api = ctx.client()?;
    let call = api
        .client
        .update_proxy(&name, listen.as_deref(), upstream.as_deref(), enabled);
    match api.run("modify a proxy", call).await? {
        Outcome::Ok(p) => {
            publish_port(&name, &p.listen);
            Ok(Value::Bool(true))
        }
        Outcome::Refused(e) => {
            log::error!("Unable to modify proxy {name}");
            Err(ProviderError::failed(
                FailureKind::Remote,
                format!(
                    "AssertionError: Toxiproxy did not modify proxy '{name}': {}",
                    refusal(&e)
                ),
            ))
        }
    }
}

async fn modify_proxy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let text = |k: &str| match ctx.arg(k) {
        Value::Null => None,
        v => Some(experiment::pyrepr::py_str(v)),
    };
    let enabled = match ctx.arg("enabled") {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        other => {
            return Err(ProviderError::failed(
                FailureKind::Declaration,
                format!(
                    "AssertionError: cannot modify proxy '{}': enabled must be a boolean, not {}",
                    ctx.text("proxy_name"),
                    py_repr(other)
                ),
            ))
        }
    };
    modify(
        &ctx,
        text("listen_address"),
        text("upstream_address"),
        enabled,
    )
    .await
}

async fn disable_proxy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    modify(&ctx, None, None, Some(false)).await
}

async fn enable_proxy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    modify(&ctx, None, None, Some(true)).await
}

/// Upstream swallows every failure here (logged as a warning) and returns `None`, so a
/// rollback that deletes an already-deleted proxy still succeeds.
async fn delete_proxy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let name = ctx.text("proxy_name");
    let api = match ctx.client() {
        Ok(api) => api,
        Err(e) => {
            log::warn!("Unable to remove proxy {name}: {e}");
            return Ok(Value::Null);
        }
    };
    match api
        .run("delete a proxy", api.client.delete_proxy(&name))
        .await
    {
        Ok(Outcome::Ok(())) => {}
        Ok(Outcome::Refused(e)) => log::warn!(
            "Unable to remove proxy from chaostoolkit with: {}/proxies/{name} received: {}",
            api.url,
            e.status
        ),
        Err(e) => log::warn!("Unable to remove proxy from chaostoolkit: {e}"),
    }
    Ok(Value::Null)
}

async fn reset(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let api = ctx.client()?;
    match api.run("reset", api.client.reset()).await? {
        Outcome::Ok(()) => Ok(Value::Bool(true)),
        Outcome::Refused(e) => {
            log::warn!("Toxiproxy refused the reset: {}", refusal(&e));
            Ok(Value::Bool(false))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_prefix_reads_the_environment() {
        std::env::set_var("SHAKEDOWN_TOXI_UNIT_HOST", "127.0.0.9");
        assert_eq!(
            from_env(&Value::String("env:SHAKEDOWN_TOXI_UNIT_HOST".into())).expect("set"),
            Value::String("127.0.0.9".into())
        );
        assert_eq!(
            from_env(&Value::from(5)).expect("plain"),
            Value::from(5),
            "non-strings pass through"
        );
        let e =
            from_env(&Value::String("env:SHAKEDOWN_TOXI_UNIT_UNSET".into())).expect_err("unset");
        assert!(
            e.to_string()
                .starts_with("KeyError: 'SHAKEDOWN_TOXI_UNIT_UNSET'"),
            "{e}"
        );
    }
}
