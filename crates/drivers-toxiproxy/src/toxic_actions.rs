//! `chaostoxi.toxic.actions`: add any toxic, typed helpers for the common ones (always
//! downstream, toxicity 1.0), and delete a toxic.

use experiment::pyrepr::py_repr;
use experiment::{Map, Value};
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};
use proxy::client::NewToxic;

use crate::common::{body, refusal, Ctx, Def, Outcome, Spec, CONFIGURATION};

pub const MODULE: &str = "chaostoxi.toxic.actions";

const FOR_PROXY: crate::common::P = ("for_proxy", Def::Required, Some("string"));
const TOXIC_NAME: crate::common::P = ("toxic_name", Def::Required, Some("string"));

/// Upstream annotates the typed helpers `-> Dict[str, Any]` although they return a
/// bool; discovery reports the annotation.
const HELPER_RETURN: Option<&str> = Some("mapping");

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "delete_toxic",
        kind: Kind::Action,
        doc: "Remove a toxic from a proxy. Returns whether the server agreed.",
        params: &[FOR_PROXY, TOXIC_NAME, CONFIGURATION],
        return_type: None,
        body: body!(delete_toxic),
    },
    Spec {
        name: "create_toxic",
        kind: Kind::Action,
        doc: "Add a toxic of any type with its attributes. Returns whether the created \
              toxic carries the requested name.",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("toxic_type", Def::Required, Some("string")),
            ("stream", Def::Str("downstream"), Some("string")),
            ("toxicity", Def::Float(1.0), Some("number")),
            ("attributes", Def::None, Some("mapping")),
            CONFIGURATION,
        ],
        return_type: Some("boolean"),
        body: body!(create_toxic),
    },
    Spec {
        name: "create_latency_toxic",
        kind: Kind::Action,
        doc: "Delay the data coming back from the upstream by `latency` ms (± `jitter` ms).",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("latency", Def::Required, Some("integer")),
            ("jitter", Def::Int(0), Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_latency_toxic),
    },
    Spec {
        name: "create_bandwith_degradation_toxic",
        kind: Kind::Action,
        doc: "Limit the data coming back from the upstream to `rate` KB/s.",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("rate", Def::Required, Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_bandwith_degradation_toxic),
    },
    Spec {
        name: "create_slow_connection_close_toxic",
        kind: Kind::Action,
        doc: "Pass the upstream's close on `delay` ms late.",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("delay", Def::Required, Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_slow_connection_close_toxic),
    },
    Spec {
        name: "create_timeout_toxic",
        kind: Kind::Action,
        doc: "Drop the data coming back from the upstream and close the connection after \
              `timeout` ms without data (0: never close).",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("timeout", Def::Required, Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_timeout_toxic),
    },
    Spec {
        name: "create_slicer_toxic",
        kind: Kind::Action,
        doc: "Slice the data coming back from the upstream into pieces of about \
              `average_size` ± `size_variation` bytes, `delay` µs apart.",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("average_size", Def::Required, Some("integer")),
            ("size_variation", Def::Required, Some("integer")),
            ("delay", Def::Required, Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_slicer_toxic),
    },
    Spec {
        name: "create_limiter_toxic",
        kind: Kind::Action,
        doc: "Close the connection once `bytes_limit` bytes came back from the upstream.",
        params: &[
            FOR_PROXY,
            TOXIC_NAME,
            ("bytes_limit", Def::Required, Some("integer")),
            CONFIGURATION,
        ],
        return_type: HELPER_RETURN,
        body: body!(create_limiter_toxic),
    },
];

/// POSTs the toxic. Upstream subscripts the response (`toxic["name"]`), so any refusal
/// surfaces as `TypeError: 'NoneType' object is not subscriptable`; the reason follows.
async fn add(
    ctx: &Ctx<'_>,
    kind: &Value,
    stream: &Value,
    toxicity: &Value,
    attributes: &Value,
) -> Result<Value, ProviderError> {
    let proxy = ctx.text("for_proxy");
    let wanted = ctx.arg("toxic_name");
    let fail = |why: String| {
        ProviderError::failed(
            FailureKind::Remote,
            format!(
                "TypeError: 'NoneType' object is not subscriptable (Toxiproxy did not create \
             toxic {} on proxy '{proxy}': {why})",
                py_repr(wanted)
            ),
        )
    };
    let name = match wanted {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => {
            return Err(fail(format!(
                "toxic_name must be a string, not {}",
                py_repr(other)
            )))
        }
    };
    let Some(kind) = kind.as_str() else {
        return Err(fail(format!(
            "toxic_type must be a string, not {}",
            py_repr(kind)
        )));
    };
    let Some(stream) = stream.as_str() else {
        return Err(fail(format!(
            "stream must be a string, not {}",
            py_repr(stream)
        )));
    };
    let toxicity = match toxicity {
        Value::Number(n) => n.as_f64().unwrap_or(1.0) as f32,
        other => {
            return Err(fail(format!(
                "toxicity must be a number, not {}",
                py_repr(other)
            )))
        }
    };
    let attributes = match attributes {
        Value::Null => Map::new(),
        Value::Object(m) => m.clone(),
        other => {
            return Err(fail(format!(
                "attributes must be a mapping, not {}",
                py_repr(other)
            )))
        }
    };
    log::info!(
        "Creating toxic {} for proxy {proxy} with type: {kind} as a {stream} with toxicity {toxicity} and attributes {}",
        py_repr(wanted),
        py_repr(&Value::Object(attributes.clone()))
    );
    let toxic = NewToxic {
        name,
        kind: kind.to_string(),
        stream: stream.to_string(),
        toxicity,
        attributes,
    };
    let api = ctx.client()?;
    match api
        .run("create a toxic", api.client.add_toxic(&proxy, &toxic))
        .await?
    {
        Outcome::Ok(t) => Ok(Value::Bool(wanted.as_str() == Some(t.name.as_str()))),
        Outcome::Refused(e) => {
            log::error!("Unable to create toxic for proxy: {proxy}");
            Err(fail(refusal(&e)))
        }
    }
}

async fn create_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    add(
        &ctx,
        ctx.arg("toxic_type"),
        ctx.arg("stream"),
        ctx.arg("toxicity"),
        ctx.arg("attributes"),
    )
    .await
}

/// A typed helper: `kind` downstream at toxicity 1.0, attributes taken from the named
/// arguments as given (no coercion, like upstream).
async fn helper(
    ctx: Ctx<'_>,
    kind: &str,
    attributes: &[(&str, &str)],
) -> Result<Value, ProviderError> {
    let attrs: Map = attributes
        .iter()
        .map(|(attr, arg)| (attr.to_string(), ctx.arg(arg).clone()))
        .collect();
    add(
        &ctx,
        &Value::String(kind.into()),
        &Value::String("downstream".into()),
        &Value::from(1.0),
        &Value::Object(attrs),
    )
    .await
}

async fn create_latency_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(
        ctx,
        "latency",
        &[("latency", "latency"), ("jitter", "jitter")],
    )
    .await
}

async fn create_bandwith_degradation_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(ctx, "bandwidth", &[("rate", "rate")]).await
}

async fn create_slow_connection_close_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(ctx, "slow_close", &[("delay", "delay")]).await
}

async fn create_timeout_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(ctx, "timeout", &[("timeout", "timeout")]).await
}

async fn create_slicer_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(
        ctx,
        "slicer",
        &[
            ("average_size", "average_size"),
            ("size_variation", "size_variation"),
            ("delay", "delay"),
        ],
    )
    .await
}

async fn create_limiter_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    helper(ctx, "limit_data", &[("bytes", "bytes_limit")]).await
}

async fn delete_toxic(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let proxy = ctx.text("for_proxy");
    let toxic = ctx.text("toxic_name");
    let api = ctx.client()?;
    match api
        .run("delete a toxic", api.client.remove_toxic(&proxy, &toxic))
        .await?
    {
        Outcome::Ok(()) => Ok(Value::Bool(true)),
        Outcome::Refused(e) => {
            log::warn!(
                "Unable to delete toxic '{toxic}' of proxy '{proxy}': {}",
                refusal(&e)
            );
            Ok(Value::Bool(false))
        }
    }
}
