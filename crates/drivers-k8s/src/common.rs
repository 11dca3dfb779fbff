//! What every `chaosk8s` function shares beyond the providers' function table
//! ([`providers::table`]: rows, Python-style binding, typed arguments): the call context
//! with its API client, upstream-shaped failures, and manifest reading.

use std::ops::Deref;

use experiment::Value;
use providers::table::Bound;
use providers::{FailureKind, ProviderError};

use crate::client::Kube;

pub(crate) use providers::table::{Body, Def, Spec, CONFIGURATION, P, SECRETS};

pub(crate) const NS: P = ("ns", Def::Str("default"), Some("string"));

/// A bound call (arguments, configuration, secrets; see [`Bound`]) plus what only
/// `chaosk8s` functions need: the namespace default and the API client.
pub(crate) struct Ctx<'a>(pub Bound<'a>);

impl<'a> Deref for Ctx<'a> {
    type Target = Bound<'a>;
    fn deref(&self) -> &Bound<'a> {
        &self.0
    }
}

impl Ctx<'_> {
    /// The namespace argument (`ns`), defaulting like upstream.
    pub fn ns(&self) -> String {
        self.opt_str("ns").unwrap_or_else(|| "default".into())
    }

    /// The API client for this call's credentials (cached per credentials).
    pub async fn kube(&self) -> Result<Kube, ProviderError> {
        crate::client::client_for(&self.secrets).await
    }
}

/// `chaoslib.exceptions.ActivityFailed: <message>`, what upstream raises on purpose.
pub(crate) fn failed(message: impl std::fmt::Display) -> ProviderError {
    ProviderError::failed(
        FailureKind::Check,
        format!("chaoslib.exceptions.ActivityFailed: {message}"),
    )
}

/// The upstream shape of the `*_fully_available` (`want_ready`) / `*_not_fully_available`
/// probes: `true` once the awaited state was reached; otherwise `false`, or `ActivityFailed`
/// with upstream's message ("<noun> '<name>' failed to recover / to stop running within
/// <timeout>s") when the caller set the probe's `raise_on_[not_]fully_available` flag.
pub(crate) fn reached_or_raise(
    reached: bool,
    ctx: &Ctx<'_>,
    want_ready: bool,
    noun: &str,
) -> Result<Value, ProviderError> {
    let (raise_flag, failure) = if want_ready {
        ("raise_on_not_fully_available", "failed to recover")
    } else {
        ("raise_on_fully_available", "failed to stop running")
    };
    if reached {
        Ok(Value::Bool(true))
    } else if ctx.flag(raise_flag) {
        Err(failed(format!(
            "{noun} '{}' {failure} within {}s",
            ctx.text("name"),
            ctx.text("timeout")
        )))
    } else {
        Ok(Value::Bool(false))
    }
}

/// Reads a manifest (`.json`, `.yaml`, `.yml`) as upstream's `spec_path` helpers do.
pub(crate) fn read_manifest(spec_path: &str) -> Result<Value, ProviderError> {
    let lower = spec_path.to_ascii_lowercase();
    let is_json = lower.ends_with(".json");
    if !is_json && !lower.ends_with(".yaml") && !lower.ends_with(".yml") {
        return Err(failed(format!("cannot process {spec_path}")));
    }
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        ProviderError::failed(FailureKind::Environment, format!(
            "FileNotFoundError: cannot read '{spec_path}': {e} (the path is relative to the directory `chaos run` is started from)"
        ))
    })?;
    parse_document(&text, is_json).map_err(|e| {
        ProviderError::failed(
            FailureKind::Declaration,
            format!("ValueError: '{spec_path}' is not a valid manifest: {e}"),
        )
    })
}

/// Parses JSON or the first YAML document into JSON values.
pub(crate) fn parse_document(text: &str, json: bool) -> Result<Value, String> {
    if json {
        return serde_json::from_str(text).map_err(|e| e.to_string());
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    Ok(docs.first().map(yaml_to_json).unwrap_or(Value::Null))
}

/// A YAML node as JSON (keys as strings; aliases and bad values as `null`).
pub fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(s.clone())),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        Yaml::Real(r) => r.clone(),
                        _ => String::new(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

/// Boxes an `async fn(Ctx) -> …` into a [`Body`] (the shared table hands out a
/// [`Bound`]; this wraps it in the crate's own context).
macro_rules! body {
    ($f:path) => {{
        fn wrapped<'a>(
            bound: providers::table::Bound<'a>,
        ) -> providers::BoxFuture<'a, Result<experiment::Value, providers::ProviderError>> {
            Box::pin($f($crate::common::Ctx(bound)))
        }
        wrapped as $crate::common::Body
    }};
}
pub(crate) use body;

/// A string at a JSON pointer, `""` when absent.
pub(crate) fn s<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// `metadata.name` of an object.
pub(crate) fn name_of(v: &Value) -> &str {
    s(v, "/metadata/name")
}

/// `items` of a list response.
pub(crate) fn items(list: &Value) -> &[Value] {
    list.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}
