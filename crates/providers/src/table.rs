//! Native drivers written as tables: one [`Spec`] row per upstream Python function
//! (name, parameters with their upstream defaults, discovery metadata, an async body),
//! turned into a registry [`Function`] whose driver binds keyword arguments the way a
//! Python call does. Every driver crate (`chaosk8s`, `chaostoxi`, …) shares this so the
//! binding rules and their `TypeError` messages cannot drift apart between packages.

use experiment::pyrepr::{py_repr, py_str, py_truthy};
use experiment::{Map, Param, Signature, Value};

use crate::registry::{Driver, Function, Invocation, Kind};
use crate::{BoxFuture, FailureKind, ProviderError};

/// A parameter default, as written in the upstream signature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Def {
    /// No default: the caller must pass it.
    Required,
    /// `= None`.
    None,
    Str(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Def {
    /// The default as a value; `None` for a required parameter.
    pub fn value(self) -> Option<Value> {
        match self {
            Def::Required => None,
            Def::None => Some(Value::Null),
            Def::Str(s) => Some(Value::String(s.into())),
            Def::Int(i) => Some(Value::from(i)),
            Def::Float(f) => Some(Value::from(f)),
            Def::Bool(b) => Some(Value::Bool(b)),
        }
    }
}

/// One parameter: name, default, discovery type (from the upstream annotation).
pub type P = (&'static str, Def, Option<&'static str>);

/// `secrets: Secrets = None`: filled by the engine from the activity's secret scopes.
pub const SECRETS: P = ("secrets", Def::None, Some("mapping"));
/// `configuration: Configuration = None`: filled by the engine with the run's configuration.
pub const CONFIGURATION: P = ("configuration", Def::None, Some("mapping"));

/// The body of a function: the bound call in, output or failure out.
pub type Body = for<'a> fn(Bound<'a>) -> BoxFuture<'a, Result<Value, ProviderError>>;

/// A function as a table row, turned into a registry [`Function`] by [`Spec::function`].
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub params: &'static [P],
    pub return_type: Option<&'static str>,
    pub body: Body,
}

impl Spec {
    /// The registry entry for this row under `module`.
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
                var_keyword: false,
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
            Ok(args) => (self.body)(Bound {
                args,
                configuration: invocation.configuration,
                secrets: invocation.secrets,
            }),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

/// Whether `name` is one of the two parameters chaoslib fills in itself.
fn injected(name: &str) -> bool {
    name == "configuration" || name == "secrets"
}

/// Binds keyword arguments like a Python call: unknown keywords and missing required
/// parameters are `TypeError`s worded as CPython words them; defaults fill the rest.
/// `configuration` and `secrets`, when the signature declares them, come from the engine
/// (as chaoslib injects them) and never from `arguments`; they are not in the result.
pub fn bind(func: &str, params: &[P], mut given: Map) -> Result<Map, ProviderError> {
    for (name, _, _) in params.iter().filter(|(n, _, _)| injected(n)) {
        given.remove(*name);
    }
    if let Some(unknown) = given
        .keys()
        .find(|k| !params.iter().any(|(name, _, _)| name == k))
    {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: {func}() got an unexpected keyword argument {}",
                py_repr(&Value::String(unknown.clone()))
            ),
        ));
    }
    let mut args = Map::new();
    let mut missing = Vec::new();
    for (name, default, _) in params.iter().filter(|(n, _, _)| !injected(n)) {
        match given.remove(*name).or_else(|| default.value()) {
            Some(v) => {
                args.insert((*name).to_string(), v);
            }
            None => missing.push(format!("'{name}'")),
        }
    }
    match missing.as_slice() {
        [] => Ok(args),
        [one] => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!("TypeError: {func}() missing 1 required positional argument: {one}"),
        )),
        // Python: "'a' and 'b'", but "'a', 'b', and 'c'" from three on.
        [first, last] => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: {func}() missing 2 required positional arguments: {first} and {last}"
            ),
        )),
        [rest @ .., last] => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: {func}() missing {} required positional arguments: {}, and {last}",
                missing.len(),
                rest.join(", ")
            ),
        )),
    }
}

/// A bound call: every declared parameter is present (given or defaulted), plus the run's
/// configuration and the activity's merged secrets. Driver crates add their own
/// context-specific helpers (API clients) through extension traits.
pub struct Bound<'a> {
    pub args: Map,
    pub configuration: &'a Map,
    pub secrets: Map,
}

impl Bound<'_> {
    /// An argument, `null` when the signature does not have it.
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

    /// Python truthiness of an argument.
    pub fn flag(&self, name: &str) -> bool {
        py_truthy(self.arg(name))
    }

    /// An integer argument; `Ok(None)` when null, a `TypeError` when not a number.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ProviderError> {
        let v = self.arg(name);
        let bad = || {
            ProviderError::failed(
                FailureKind::Declaration,
                format!(
                    "TypeError: argument '{name}' must be an integer, not {}",
                    py_repr(v)
                ),
            )
        };
        match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(i64::from(*b))),
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Some)
                .ok_or_else(bad),
            Value::String(s) => s.trim().parse::<i64>().map(Some).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// Boxes an `async fn(Bound) -> …` (or a crate's alias of it) into a [`Body`].
#[macro_export]
macro_rules! body {
    ($f:path) => {{
        fn wrapped<'a>(
            ctx: $crate::table::Bound<'a>,
        ) -> $crate::BoxFuture<'a, Result<::experiment::Value, $crate::ProviderError>> {
            Box::pin($f(ctx))
        }
        wrapped as $crate::table::Body
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    const PARAMS: &[P] = &[
        ("a", Def::Required, None),
        ("b", Def::Required, None),
        ("c", Def::Int(3), None),
        ("d", Def::None, None),
        ("e", Def::Str("x"), None),
        ("f", Def::Bool(true), None),
        ("g", Def::Float(0.5), None),
        SECRETS,
        CONFIGURATION,
    ];

    fn err(r: Result<Map, ProviderError>) -> String {
        match r {
            Ok(m) => format!("bound unexpectedly: {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn missing_required_is_a_python_type_error() {
        assert_eq!(
            err(bind("f", PARAMS, Map::new())),
            "TypeError: f() missing 2 required positional arguments: 'a' and 'b'"
        );
        assert_eq!(
            err(bind("f", PARAMS, map(json!({"a": 1})))),
            "TypeError: f() missing 1 required positional argument: 'b'"
        );
        const THREE: &[P] = &[
            ("x", Def::Required, None),
            ("y", Def::Required, None),
            ("z", Def::Required, None),
        ];
        assert_eq!(
            err(bind("g", THREE, Map::new())),
            "TypeError: g() missing 3 required positional arguments: 'x', 'y', and 'z'"
        );
    }

    #[test]
    fn unknown_keyword_is_a_python_type_error() {
        assert_eq!(
            err(bind("f", PARAMS, map(json!({"a": 1, "b": 2, "zz": 0})))),
            "TypeError: f() got an unexpected keyword argument 'zz'"
        );
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let bound = bind("f", PARAMS, map(json!({"a": 1, "b": null, "e": "y"})));
        assert_eq!(
            bound.map(Value::Object),
            Ok(json!({"a": 1, "b": null, "c": 3, "d": null, "e": "y", "f": true, "g": 0.5}))
        );
    }

    #[test]
    fn injected_parameters_never_come_from_arguments() {
        // Declared: the engine's values win, and they are not bound arguments.
        let bound = bind(
            "f",
            PARAMS,
            map(json!({"a": 1, "b": 2, "secrets": {"k": 1}, "configuration": {"x": 1}})),
        );
        assert_eq!(
            bound.map(Value::Object),
            Ok(json!({"a": 1, "b": 2, "c": 3, "d": null, "e": "x", "f": true, "g": 0.5}))
        );
        // Not declared: a keyword of that name is unknown, as in Python.
        const NO_SECRETS: &[P] = &[("a", Def::Required, None), CONFIGURATION];
        assert_eq!(
            err(bind("h", NO_SECRETS, map(json!({"a": 1, "secrets": {}})))),
            "TypeError: h() got an unexpected keyword argument 'secrets'"
        );
        assert_eq!(
            bind(
                "h",
                NO_SECRETS,
                map(json!({"a": 1, "configuration": {"x": 1}}))
            )
            .map(Value::Object),
            Ok(json!({"a": 1}))
        );
    }

    async fn echo(call: Bound<'_>) -> Result<Value, ProviderError> {
        Ok(json!({
            "args": Value::Object(call.args.clone()),
            "configuration": Value::Object(call.configuration.clone()),
            "secrets": Value::Object(call.secrets.clone()),
            "int": call.int("c")?,
            "flag": call.flag("f"),
            "opt": call.opt_str("d"),
        }))
    }

    const ECHO: Spec = Spec {
        name: "echo",
        kind: Kind::Probe,
        doc: "echo",
        params: PARAMS,
        return_type: None,
        body: crate::body!(echo),
    };

    fn run(arguments: Value) -> Result<Value, ProviderError> {
        let function = ECHO.function("m");
        let configuration = map(json!({"from": "run"}));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| ProviderError::fatal(FailureKind::Environment, e.to_string()))?;
        rt.block_on(function.driver.call(Invocation {
            arguments: map(arguments),
            configuration: &configuration,
            secrets: map(json!({"token": "s"})),
        }))
    }

    #[test]
    fn the_driver_injects_configuration_and_secrets() {
        let out = run(json!({"a": 1, "b": 2, "c": "7", "secrets": {"bad": 1}}));
        assert_eq!(
            out,
            Ok(json!({
                "args": {"a": 1, "b": 2, "c": "7", "d": null, "e": "x", "f": true, "g": 0.5},
                "configuration": {"from": "run"},
                "secrets": {"token": "s"},
                "int": 7,
                "flag": true,
                "opt": null,
            }))
        );
        assert_eq!(
            run(json!({"a": 1, "b": 2, "c": [1]})),
            Err(ProviderError::failed(
                FailureKind::Declaration,
                "TypeError: argument 'c' must be an integer, not [1]"
            ))
        );
        assert_eq!(
            run(json!({})),
            Err(ProviderError::failed(
                FailureKind::Declaration,
                "TypeError: echo() missing 2 required positional arguments: 'a' and 'b'"
            ))
        );
    }

    #[test]
    fn hidden_functions_run_but_are_not_discovered() {
        let mut registry = crate::registry::Registry::new();
        registry.register(ECHO.function("m"));
        registry.register_hidden(
            Spec {
                name: "secret",
                ..ECHO
            }
            .function("m"),
        );
        assert!(registry.function("m", "secret").is_some());
        assert!(registry.is_hidden("m", "secret"));
        assert!(!registry.is_hidden("m", "echo"));
        let listed: Vec<&str> = registry.module_functions("m").map(|f| f.name).collect();
        assert_eq!(listed, ["echo"]);
    }

    #[test]
    fn signature_carries_defaults_and_types() {
        let f = Spec {
            params: &[("a", Def::Required, Some("string")), SECRETS],
            ..ECHO
        }
        .function("m");
        assert_eq!(f.module, "m");
        assert_eq!(f.signature.params.len(), 2);
        assert_eq!(f.signature.params[0].default, None);
        assert_eq!(f.signature.params[1].default, Some(Value::Null));
        assert_eq!(f.signature.params[1].type_name, Some("mapping"));
    }
}
