//! What every `chaosk8s` function shares: the declarative function table, Python-style
//! keyword binding, typed access to bound arguments, and upstream-shaped failures.

use experiment::pyrepr::{py_repr, py_str};
use experiment::{Map, Param, Signature, Value};
use providers::registry::{Driver, Function, Invocation, Kind};
use providers::{BoxFuture, ProviderError};

use crate::client::Kube;

/// A parameter default, as written in the upstream signature.
#[derive(Clone, Copy)]
pub(crate) enum Def {
    Required,
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
}

impl Def {
    fn value(self) -> Option<Value> {
        match self {
            Def::Required => None,
            Def::None => Some(Value::Null),
            Def::Str(s) => Some(Value::String(s.into())),
            Def::Int(i) => Some(Value::from(i)),
            Def::Bool(b) => Some(Value::Bool(b)),
        }
    }
}

/// One parameter: name, default, discovery type (from the upstream annotation).
pub(crate) type P = (&'static str, Def, Option<&'static str>);

pub(crate) const SECRETS: P = ("secrets", Def::None, Some("mapping"));
pub(crate) const CONFIGURATION: P = ("configuration", Def::None, Some("mapping"));
pub(crate) const NS: P = ("ns", Def::Str("default"), Some("string"));

/// The body of a function: bound arguments in, output or failure out.
pub(crate) type Body = for<'a> fn(Ctx<'a>) -> BoxFuture<'a, Result<Value, ProviderError>>;

/// A function as a table row, turned into a registry [`Function`] by [`Spec::function`].
pub(crate) struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub params: &'static [P],
    pub return_type: Option<&'static str>,
    pub body: Body,
}

impl Spec {
    pub fn function(&self, module: &'static str) -> Function {
        Function {
            module,
            name: self.name,
            kind: self.kind,
            doc: self.doc,
            signature: Signature {
                params: self
                    .params
                    .iter()
                    .map(|(name, default, ty)| Param {
                        name: (*name).to_string(),
                        default: default.value(),
                        type_name: *ty,
                    })
                    .collect(),
            },
            return_type: self.return_type,
            driver: Box::new(SpecDriver {
                name: self.name,
                params: self.params,
                body: self.body,
            }),
        }
    }
}

struct SpecDriver {
    name: &'static str,
    params: &'static [P],
    body: Body,
}

impl Driver for SpecDriver {
    fn call<'a>(
        &'a self,
        invocation: Invocation<'a>,
    ) -> BoxFuture<'a, Result<Value, ProviderError>> {
        match bind(self.name, self.params, invocation.arguments) {
            Ok(args) => (self.body)(Ctx {
                args,
                configuration: invocation.configuration,
                secrets: invocation.secrets,
            }),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

/// Binds keyword arguments like a Python call: unknown keywords and missing required
/// parameters are `TypeError`s; defaults fill the rest. `secrets` and `configuration`
/// are injected by the engine, never taken from `arguments`.
fn bind(func: &str, params: &[P], mut given: Map) -> Result<Map, ProviderError> {
    given.remove("configuration");
    given.remove("secrets");
    if let Some(unknown) = given
        .keys()
        .find(|k| !params.iter().any(|(name, _, _)| name == k))
    {
        return Err(ProviderError::Failed(format!(
            "TypeError: {func}() got an unexpected keyword argument {}",
            py_repr(&Value::String(unknown.clone()))
        )));
    }
    let mut args = Map::new();
    let mut missing = Vec::new();
    for (name, default, _) in params {
        if *name == "configuration" || *name == "secrets" {
            continue;
        }
        match given.remove(*name).or_else(|| default.value()) {
            Some(v) => {
                args.insert((*name).to_string(), v);
            }
            None => missing.push(format!("'{name}'")),
        }
    }
    match missing.as_slice() {
        [] => Ok(args),
        [one] => Err(ProviderError::Failed(format!(
            "TypeError: {func}() missing 1 required positional argument: {one}"
        ))),
        [rest @ .., last] => Err(ProviderError::Failed(format!(
            "TypeError: {func}() missing {} required positional arguments: {} and {last}",
            missing.len(),
            rest.join(", ")
        ))),
    }
}

/// A bound call: every parameter is present (given or defaulted).
pub(crate) struct Ctx<'a> {
    pub args: Map,
    #[allow(dead_code)]
    pub configuration: &'a Map,
    pub secrets: Map,
}

impl Ctx<'_> {
    pub fn arg(&self, name: &str) -> &Value {
        self.args.get(name).unwrap_or(&Value::Null)
    }

    /// Python `str()` of an argument (`None` for null), as upstream's f-strings render it.
    pub fn text(&self, name: &str) -> String {
        py_str(self.arg(name))
    }

    /// A string argument, `None` when null or empty (upstream tests `if x:`).
    pub fn opt_str(&self, name: &str) -> Option<String> {
        match self.arg(name) {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            other => Some(py_str(other)),
        }
    }

    /// The namespace argument (`ns`), defaulting like upstream.
    pub fn ns(&self) -> String {
        self.opt_str("ns").unwrap_or_else(|| "default".into())
    }

    /// Python truthiness of an argument.
    pub fn flag(&self, name: &str) -> bool {
        experiment::pyrepr::py_truthy(self.arg(name))
    }

    /// An integer argument; `Ok(None)` when null, a `TypeError` when not a number.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ProviderError> {
        match self.arg(name) {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(i64::from(*b))),
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| type_error(name, self.arg(name))),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| type_error(name, self.arg(name))),
            other => Err(type_error(name, other)),
        }
    }

    /// The API client for this call's credentials (cached per credentials).
    pub async fn kube(&self) -> Result<Kube, ProviderError> {
        crate::client::client_for(&self.secrets).await
    }
}

fn type_error(name: &str, v: &Value) -> ProviderError {
    ProviderError::Failed(format!(
        "TypeError: argument '{name}' must be an integer, not {}",
        py_repr(v)
    ))
}

/// `chaoslib.exceptions.ActivityFailed: <message>`, what upstream raises on purpose.
pub(crate) fn failed(message: impl std::fmt::Display) -> ProviderError {
    ProviderError::Failed(format!("chaoslib.exceptions.ActivityFailed: {message}"))
}

/// Reads a manifest (`.json`, `.yaml`, `.yml`) as upstream's `spec_path` helpers do.
pub(crate) fn read_manifest(spec_path: &str) -> Result<Value, ProviderError> {
    let lower = spec_path.to_ascii_lowercase();
    let is_json = lower.ends_with(".json");
    if !is_json && !lower.ends_with(".yaml") && !lower.ends_with(".yml") {
        return Err(failed(format!("cannot process {spec_path}")));
    }
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        ProviderError::Failed(format!(
            "FileNotFoundError: cannot read '{spec_path}': {e} (the path is relative to the directory `chaos run` is started from)"
        ))
    })?;
    parse_document(&text, is_json).map_err(|e| {
        ProviderError::Failed(format!(
            "ValueError: '{spec_path}' is not a valid manifest: {e}"
        ))
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

fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
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

/// Boxes an `async fn(Ctx) -> …` into a [`Body`]-compatible future.
macro_rules! body {
    ($f:path) => {{
        fn wrapped<'a>(
            ctx: $crate::common::Ctx<'a>,
        ) -> providers::BoxFuture<'a, Result<experiment::Value, providers::ProviderError>> {
            Box::pin($f(ctx))
        }
        wrapped
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
