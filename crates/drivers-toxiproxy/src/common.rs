//! What every `chaostoxi` function shares: the declarative function table, binding
//! keyword arguments the way Python does, the API base URL from the configuration, and
//! turning client errors into upstream-shaped failure messages.

use std::future::Future;
use std::time::Duration;

use experiment::pyrepr::{py_repr, py_str, py_truthy};
use experiment::{Map, Param, Signature, Value};
use providers::registry::{Driver, Function, Invocation, Kind};
use providers::{BoxFuture, ProviderError};
use proxy::client::Client;
use proxy::ProxyError;

/// Upstream (`requests`) waits forever; a bound keeps a wedged API from hanging a run.
/// Toxiproxy's own handler timeout is 25 s, so a healthy server always answers first.
const API_TIMEOUT: Duration = Duration::from_secs(60);

/// A parameter default, as written in the upstream signature.
#[derive(Clone, Copy)]
pub(crate) enum Def {
    Required,
    None,
    Str(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Def {
    fn value(self) -> Option<Value> {
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
pub(crate) type P = (&'static str, Def, Option<&'static str>);

/// Every upstream function ends with `configuration: Configuration = None`.
pub(crate) const CONFIGURATION: P = ("configuration", Def::None, Some("mapping"));

/// The body of a function: bound arguments in, output or failure out.
pub(crate) type Body = for<'a> fn(Ctx<'a>) -> BoxFuture<'a, Result<Value, ProviderError>>;

/// A function as a table row, turned into a registry [`Function`] by [`Spec::function`].
pub(crate) struct Spec {
    pub module: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub params: &'static [P],
    pub return_type: Option<&'static str>,
    pub body: Body,
}

impl Spec {
    pub fn function(&self) -> Function {
        Function {
            module: self.module,
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
            }),
            Err(e) => Box::pin(async move { Err(e) }),
        }
    }
}

/// Binds keyword arguments to the signature like a Python call: unknown keywords and
/// missing required parameters are `TypeError`s; defaults fill the rest. A
/// `configuration` argument is replaced by the run's configuration, as chaoslib does.
fn bind(func: &str, params: &[P], mut given: Map) -> Result<Map, ProviderError> {
    given.remove("configuration");
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
        if *name == "configuration" {
            continue;
        }
        match given.remove(*name).or_else(|| default.value()) {
            Some(v) => {
                args.insert((*name).to_string(), v);
            }
            None => missing.push(format!("'{name}'")),
        }
    }
    match missing.len() {
        0 => Ok(args),
        1 => Err(ProviderError::Failed(format!(
            "TypeError: {func}() missing 1 required positional argument: {}",
            missing[0]
        ))),
        n => {
            let (last, rest) = missing.split_last().unwrap_or((&missing[0], &[]));
            Err(ProviderError::Failed(format!(
                "TypeError: {func}() missing {n} required positional arguments: {} and {last}",
                rest.join(", ")
            )))
        }
    }
}

/// A bound call: every parameter is present (given or defaulted).
pub(crate) struct Ctx<'a> {
    pub args: Map,
    pub configuration: &'a Map,
}

impl Ctx<'_> {
    pub fn arg(&self, name: &str) -> &Value {
        self.args.get(name).unwrap_or(&Value::Null)
    }

    /// Python `str()` of an argument, as upstream's `"{}".format(x)` renders it.
    pub fn text(&self, name: &str) -> String {
        py_str(self.arg(name))
    }

    pub fn client(&self) -> Result<Api, ProviderError> {
        let url = base_url(self.configuration);
        let client = Client::new(&url).map_err(|e| {
            ProviderError::Failed(format!(
                "requests.exceptions.InvalidURL: bad Toxiproxy URL {url:?}: {e}"
            ))
        })?;
        Ok(Api { client, url })
    }
}

/// The API base URL as upstream builds it: `toxiproxy_url` if truthy, else
/// `http://{toxiproxy_host}:{toxiproxy_port or 8474}` with Python `str()` formatting
/// (so a missing host gives `http://None:8474`, which fails to resolve, as upstream).
pub fn base_url(configuration: &Map) -> String {
    if let Some(url) = configuration.get("toxiproxy_url").filter(|v| py_truthy(v)) {
        return py_str(url);
    }
    let host = configuration
        .get("toxiproxy_host")
        .map(py_str)
        .unwrap_or_else(|| "None".into());
    let port = match configuration.get("toxiproxy_port") {
        Some(p) if py_truthy(p) => py_str(p),
        _ => "8474".into(),
    };
    format!("http://{host}:{port}")
}

/// The client plus the URL it was built from, for error messages.
pub(crate) struct Api {
    pub client: Client,
    pub url: String,
}

/// How one API call ended.
pub(crate) enum Outcome<T> {
    Ok(T),
    /// The server answered with a non-2xx status (upstream: `response.ok` is false).
    Refused(proxy::ApiError),
}

impl Api {
    /// Runs one client call. Transport failures become upstream's uncaught
    /// `requests.exceptions.ConnectionError`; API errors are handed back as `Refused`,
    /// because each upstream function reacts to them differently.
    pub async fn run<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, ProxyError>>,
    ) -> Result<Outcome<T>, ProviderError> {
        match tokio::time::timeout(API_TIMEOUT, call).await {
            Err(_) => Err(ProviderError::Failed(format!(
                "requests.exceptions.ReadTimeout: Toxiproxy at {} did not answer {what} within {}s",
                self.url,
                API_TIMEOUT.as_secs()
            ))),
            Ok(Ok(v)) => Ok(Outcome::Ok(v)),
            Ok(Err(ProxyError::Api(e))) => Ok(Outcome::Refused(e)),
            Ok(Err(e)) => Err(ProviderError::Failed(format!(
                "requests.exceptions.ConnectionError: cannot reach Toxiproxy at {} to {what}: {e}",
                self.url
            ))),
        }
    }
}

/// `"<message> (<status>)"`, how refusals are quoted in failure messages.
pub(crate) fn refusal(e: &proxy::ApiError) -> String {
    format!("{} ({})", e.error, e.status)
}

/// Boxes an `async fn(Ctx) -> …` into a [`Body`]-compatible future.
macro_rules! body {
    ($f:path) => {{
        fn wrapped<'a>(
            ctx: $crate::common::Ctx<'a>,
        ) -> providers::BoxFuture<'a, Result<experiment::Value, providers::ProviderError>> {
            Box::pin($f(ctx))
        }
        wrapped as $crate::common::Body
    }};
}
pub(crate) use body;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn base_url_follows_upstream_rules() {
        assert_eq!(base_url(&Map::new()), "http://None:8474");
        assert_eq!(
            base_url(&cfg(json!({"toxiproxy_host": "h"}))),
            "http://h:8474"
        );
        assert_eq!(
            base_url(&cfg(json!({"toxiproxy_host": "h", "toxiproxy_port": 9000}))),
            "http://h:9000"
        );
        assert_eq!(
            base_url(&cfg(
                json!({"toxiproxy_host": "h", "toxiproxy_port": "9001"})
            )),
            "http://h:9001"
        );
        // A falsy port (0, "") falls back to 8474.
        assert_eq!(
            base_url(&cfg(json!({"toxiproxy_host": "h", "toxiproxy_port": 0}))),
            "http://h:8474"
        );
        assert_eq!(
            base_url(&cfg(
                json!({"toxiproxy_url": "http://x:1", "toxiproxy_host": "h"})
            )),
            "http://x:1"
        );
        assert_eq!(
            base_url(&cfg(json!({"toxiproxy_url": "", "toxiproxy_host": "h"}))),
            "http://h:8474"
        );
    }

    const PARAMS: &[P] = &[
        ("a", Def::Required, None),
        ("b", Def::Required, None),
        ("c", Def::Int(3), None),
        CONFIGURATION,
    ];

    #[test]
    fn bind_reports_like_python() {
        let e = bind("f", PARAMS, Map::new()).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "TypeError: f() missing 2 required positional arguments: 'a' and 'b'"
        );
        let e = bind("f", PARAMS, cfg(json!({"a": 1}))).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "TypeError: f() missing 1 required positional argument: 'b'"
        );
        let e = bind("f", PARAMS, cfg(json!({"a": 1, "b": 2, "zz": 0}))).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "TypeError: f() got an unexpected keyword argument 'zz'"
        );
        let ok = bind(
            "f",
            PARAMS,
            cfg(json!({"a": 1, "b": 2, "configuration": {"x": 1}})),
        )
        .expect("binds");
        assert_eq!(Value::Object(ok), json!({"a": 1, "b": 2, "c": 3}));
    }
}
