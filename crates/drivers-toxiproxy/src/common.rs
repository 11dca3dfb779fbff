//! What every `chaostoxi` function shares beyond the providers' function table
//! ([`providers::table`]: rows, Python-style binding): the call context with its API
//! client, the API base URL from the configuration, and turning client errors into
//! upstream-shaped failure messages.

use std::future::Future;
use std::ops::Deref;
use std::time::Duration;

use experiment::pyrepr::{py_str, py_truthy};
use experiment::Map;
use providers::table::Bound;
use providers::{FailureKind, ProviderError};
use proxy::client::Client;
use proxy::ProxyError;

/// Upstream (`requests`) waits forever; a bound keeps a wedged API from hanging a run.
/// Toxiproxy's own handler timeout is 25 s, so a healthy server always answers first.
const API_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) use providers::table::{Body, Def, Spec, CONFIGURATION, P};

/// A bound call (see [`Bound`]) plus what only `chaostoxi` functions need: the client for
/// the Toxiproxy API the configuration names.
pub(crate) struct Ctx<'a>(pub Bound<'a>);

impl<'a> Deref for Ctx<'a> {
    type Target = Bound<'a>;
    fn deref(&self) -> &Bound<'a> {
        &self.0
    }
}

impl Ctx<'_> {
    pub fn client(&self) -> Result<Api, ProviderError> {
        let url = base_url(self.configuration);
        let client = Client::new(&url).map_err(|e| {
            ProviderError::failed(
                FailureKind::Declaration,
                format!("requests.exceptions.InvalidURL: bad Toxiproxy URL {url:?}: {e}"),
            )
        })?;
        // The activity's trace context, when a tracing control opened a span around it.
        let client = client.with_headers(providers::outbound::current());
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
            Err(_) => Err(ProviderError::failed(
                FailureKind::Timeout,
                format!(
                "requests.exceptions.ReadTimeout: Toxiproxy at {} did not answer {what} within {}s",
                self.url,
                API_TIMEOUT.as_secs()
            ),
            )),
            Ok(Ok(v)) => Ok(Outcome::Ok(v)),
            Ok(Err(ProxyError::Api(e))) => Ok(Outcome::Refused(e)),
            Ok(Err(e)) => Err(ProviderError::failed(
                FailureKind::Unreachable,
                format!(
                "requests.exceptions.ConnectionError: cannot reach Toxiproxy at {} to {what}: {e}",
                self.url
            ),
            )),
        }
    }
}

/// `"<message> (<status>)"`, how refusals are quoted in failure messages.
pub(crate) fn refusal(e: &proxy::ApiError) -> String {
    format!("{} ({})", e.error, e.status)
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

#[cfg(test)]
mod tests {
    use super::*;
    use experiment::Value;
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
}
