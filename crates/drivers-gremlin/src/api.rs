//! The Gremlin REST API, as much of it as `chaosgremlin` uses: the login
//! (`POST {base}/users/auth`), starting an attack (`POST {base}/attacks/new`) and, ours,
//! halting attacks (`DELETE {base}/attacks/{guid}`, `DELETE {base}/attacks`).
//!
//! The requests are upstream's (`requests`): the login is a form (`email`, `password`), an
//! attack a JSON body, and every call after the login carries the session's `header` (or
//! `Key <api key>`) as `Authorization`. What is ours: every request is bounded
//! ([`CONNECT_TIMEOUT`], [`REQUEST_TIMEOUT`]; upstream waits as long as the server takes),
//! answers are read up to [`MAX_ANSWER`] bytes, and the base URL comes from the
//! configuration key [`API_URL_KEY`] or the environment variable [`API_URL_ENV`], so tests
//! (and an on-premises proxy) can stand in for `https://api.gremlin.com/v1`. Credentials
//! live in [`Credential`]s, which neither `Debug` nor any error message shows.

use experiment::{Map, Value};
use std::fmt;
use std::time::Duration;

/// Upstream's `chaosgremlin.GREMLIN_BASE_URL`.
pub const DEFAULT_BASE_URL: &str = "https://api.gremlin.com/v1";
/// The environment variable that points the driver at another Gremlin API.
pub const API_URL_ENV: &str = "GREMLIN_API_URL";
/// The configuration key that does the same (it wins over the environment).
pub const API_URL_KEY: &str = "gremlin_api_url";
/// Upstream's API key variable (the path taken when the activity declares no secrets).
pub const API_KEY_ENV: &str = "GREMLIN_API_KEY";
/// Upstream's team variable (required with an API key, preferred over the session's team).
pub const TEAM_ID_ENV: &str = "GREMLIN_TEAM_ID";

/// How long connecting to the API may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one whole request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer that is read (an attack id or a list of sessions is far smaller).
pub const MAX_ANSWER: usize = 1 << 20;

/// A password, an API key or a session header: only ever sent, never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub fn new(value: impl Into<String>) -> Credential {
        Credential(value.into())
    }

    /// The value, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credential(***)")
    }
}

/// The base URL: the configuration's [`API_URL_KEY`] when it is a non-empty string, else
/// `env_url` ([`API_URL_ENV`]) when non-empty, else [`DEFAULT_BASE_URL`]; without a final
/// `/` (paths are appended as upstream formats them, `{base}/users/auth`).
pub fn base_url(configuration: &Map, env_url: Option<String>) -> String {
    let non_empty = |s: &str| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_string())
    };
    configuration
        .get(API_URL_KEY)
        .and_then(Value::as_str)
        .and_then(non_empty)
        .or_else(|| env_url.as_deref().and_then(non_empty))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// How a request can fail before the API answered. No variant holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum GremlinError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("invalid Gremlin API URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the Gremlin API at {url} could not be reached: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the Gremlin API at {url} did not answer within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("the Gremlin API at {url} answered more than {MAX_ANSWER} bytes")]
    TooLarge { url: String },
}

impl GremlinError {
    /// Whether the API could not be reached at all (as opposed to a bad URL).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            GremlinError::Unreachable { .. } | GremlinError::Timeout { .. }
        )
    }
}

/// An answer: the status and the body as text (upstream's `r.text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

/// What to send.
pub enum Body<'a> {
    None,
    /// `application/x-www-form-urlencoded`, fields in order (`requests`' `data=`).
    Form(&'a [(&'a str, &'a str)]),
    /// `application/json` (`requests`' `json=`).
    Json(&'a Value),
}

/// A client for one base URL.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    pub fn new(base: String) -> Result<Client, GremlinError> {
        let http = providers::http::client_builder()
            .user_agent(concat!("shakedown/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(GremlinError::Client)?;
        Ok(Client { http, base })
    }

    /// `{base}{path}`: `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends one request to `{base}{path}` with `query`, `authorization` and `body`, and
    /// reads the answer, whatever its status.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        authorization: Option<&Credential>,
        body: Body<'_>,
    ) -> Result<Answer, GremlinError> {
        let shown = self.url(path);
        let mut url = url::Url::parse(&shown).map_err(|e| GremlinError::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(GremlinError::InvalidUrl {
                reason: format!("unsupported scheme '{}'", url.scheme()),
                url: shown,
            });
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        // The activity's trace context, when a tracing control opened a span around it.
        let mut request = providers::outbound::apply(self.http.request(method, url));
        if let Some(credential) = authorization {
            let mut value =
                reqwest::header::HeaderValue::from_str(credential.expose()).map_err(|_| {
                    GremlinError::InvalidUrl {
                        url: shown.clone(),
                        reason: "the Authorization value is not a valid header value".into(),
                    }
                })?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        request = match body {
            Body::None => request,
            Body::Form(fields) => request.form(fields),
            Body::Json(value) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(value).unwrap_or_default()),
        };
        let mut response = request.send().await.map_err(|e| transport(&shown, e))?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(&shown, e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER {
                return Err(GremlinError::TooLarge { url: shown });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

fn transport(url: &str, e: reqwest::Error) -> GremlinError {
    if e.is_timeout() {
        return GremlinError::Timeout {
            url: url.into(),
            source: e,
        };
    }
    // The innermost cause reads best ("Connection refused (os error 111)").
    let mut reason = e.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(c) = cause {
        reason = c.to_string();
        cause = c.source();
    }
    GremlinError::Unreachable {
        url: url.into(),
        reason,
        source: e,
    }
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

    #[test]
    fn the_base_url_comes_from_configuration_then_environment_then_default() {
        assert_eq!(base_url(&Map::new(), None), DEFAULT_BASE_URL);
        assert_eq!(
            base_url(&Map::new(), Some("http://127.0.0.1:9/v1/".into())),
            "http://127.0.0.1:9/v1"
        );
        assert_eq!(
            base_url(
                &map(json!({"gremlin_api_url": "http://c/v1"})),
                Some("http://e/v1".into())
            ),
            "http://c/v1"
        );
        // Blank values fall through.
        assert_eq!(
            base_url(&map(json!({"gremlin_api_url": " "})), Some("".into())),
            DEFAULT_BASE_URL
        );
    }

    #[test]
    fn credentials_never_show() {
        let c = Credential::new("Bearer s3cr3t");
        assert_eq!(format!("{c:?}"), "Credential(***)");
        assert_eq!(c.expose(), "Bearer s3cr3t");
    }
}
