//! The objects upstream builds, key for key: its YAML skeleton plus `add_common_spec` (the
//! pod selection and, for network faults, the target). Argument values go in as given (no
//! coercion, as upstream), so the API's schema validation answers what upstream's would.

use experiment::pyrepr::py_truthy;
use experiment::{Map, Value};
use providers::{FailureKind, ProviderError};
use serde_json::json;

use crate::common::Ctx;

pub(crate) const GROUP: &str = "chaos-mesh.org";
pub(crate) const VERSION: &str = "v1alpha1";

/// `{apiVersion, kind, metadata, spec}`. Upstream also writes `metadata.ns` (the API drops
/// it: the namespace comes from the URL); kept, as it is harmless.
pub(crate) fn resource(ctx: &Ctx<'_>, kind: &str, spec: Map) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": kind,
        "metadata": {"name": ctx.arg("name"), "ns": ctx.arg("ns")},
        "spec": spec,
    })
}

/// Copies arguments into `into` under the given keys: `(argument, key)`; each is written
/// as given, or only when truthy (upstream's `if x:`).
pub(crate) fn copy(ctx: &Ctx<'_>, into: &mut Map, fields: &[(&str, &str)], only_truthy: bool) {
    for (arg, key) in fields {
        let v = ctx.arg(arg);
        if !only_truthy || py_truthy(v) {
            into.insert((*key).to_string(), v.clone());
        }
    }
}

/// `direction`, `mode` (+ `value` only for `fixed-percent`, as upstream: `fixed` and
/// `random-max-percent` lose theirs) and `selector`.
pub(crate) fn selection(ctx: &Ctx<'_>, spec: &mut Map) -> Result<(), ProviderError> {
    spec.insert("direction".into(), ctx.arg("direction").clone());
    let mode = ctx.arg("mode");
    spec.insert("mode".into(), mode.clone());
    if mode.as_str() == Some("fixed-percent") {
        spec.insert("value".into(), ctx.arg("mode_value").clone());
    }
    spec.insert("selector".into(), selector(ctx, "")?);
    Ok(())
}

/// The network part of upstream's `add_common_spec`: `externalTargets`, and `target`
/// whenever `target_mode` is set (it defaults to `one`, so almost always), with a `value`
/// for the modes that take one.
pub(crate) fn target(ctx: &Ctx<'_>, spec: &mut Map) -> Result<(), ProviderError> {
    if let Some(targets) = csv(ctx.arg("external_targets")) {
        spec.insert("externalTargets".into(), targets);
    }
    let mode = ctx.arg("target_mode");
    if py_truthy(mode) {
        let mut target = Map::new();
        target.insert("mode".into(), mode.clone());
        target.insert("selector".into(), selector(ctx, "target_")?);
        if matches!(
            mode.as_str(),
            Some("fixed" | "fixed-percent" | "random-max-percent")
        ) {
            target.insert("value".into(), ctx.arg("target_mode_value").clone());
        }
        spec.insert("target".into(), Value::Object(target));
    }
    Ok(())
}

/// `{namespaces, labelSelectors, annotationSelectors}` from the `<prefix>…_selectors`
/// arguments, each only when truthy.
fn selector(ctx: &Ctx<'_>, prefix: &str) -> Result<Value, ProviderError> {
    let mut s = Map::new();
    if let Some(v) = csv(ctx.arg(&format!("{prefix}namespaces_selectors"))) {
        s.insert("namespaces".into(), v);
    }
    for (arg, key) in [
        ("label_selectors", "labelSelectors"),
        ("annotations_selectors", "annotationSelectors"),
    ] {
        let v = ctx.arg(&format!("{prefix}{arg}"));
        if py_truthy(v) {
            s.insert(key.into(), pairs(v)?);
        }
    }
    Ok(Value::Object(s))
}

/// A truthy argument as a list: a string is split on commas, anything else kept as is.
pub(crate) fn csv(v: &Value) -> Option<Value> {
    py_truthy(v).then(|| split(v))
}

/// A string split on commas (upstream's `str.split(",")`); anything else as is.
pub(crate) fn split(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::Array(s.split(',').map(Value::from).collect()),
        other => other.clone(),
    }
}

/// `"k=v,k2=v2"` as `{k: v, k2: v2}` (split at the first `=`); a mapping kept as is. An item
/// without `=` fails as upstream's tuple unpacking does.
fn pairs(v: &Value) -> Result<Value, ProviderError> {
    let Value::String(s) = v else {
        return Ok(v.clone());
    };
    let mut m = Map::new();
    for item in s.split(',') {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            ProviderError::failed(
                FailureKind::Declaration,
                "ValueError: not enough values to unpack (expected 2, got 1)",
            )
        })?;
        m.insert(k.into(), Value::from(v));
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::{csv, pairs};
    use serde_json::json;

    #[test]
    fn strings_split_like_python() {
        assert_eq!(csv(&json!("a,,b")), Some(json!(["a", "", "b"])));
        assert_eq!(csv(&json!("")), None);
        assert_eq!(csv(&json!(["x"])), Some(json!(["x"])));
        assert_eq!(
            pairs(&json!("app=web,k=v=w")).ok(),
            Some(json!({"app": "web", "k": "v=w"}))
        );
        assert_eq!(pairs(&json!({"a": "b"})).ok(), Some(json!({"a": "b"})));
        assert!(pairs(&json!("app=web,")).is_err());
    }
}
