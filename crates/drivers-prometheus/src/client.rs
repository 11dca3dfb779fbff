//! The HTTP side both halves of the crate share: one bounded request to Prometheus or the
//! Pushgateway, its status and (capped) body, and errors that never show a credential.
//!
//! Upstream (`requests`, `prometheus_client`) waits as long as the server takes for the
//! probes and 30 s for a push; here every exchange is bounded ([`Limits`]), so a wedged
//! server costs one bounded wait, never a hung run. Bodies are read up to the output cap
//! of the run (`CHAOS_MAX_OUTPUT_BYTES`, [`providers::capture`]). A URL is only ever shown
//! through [`shown`], which masks the password of a `user:password@` URL; a bearer token or
//! password from the secrets travels in a header and appears in no message.

use std::time::Duration;

use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use providers::capture::{self, Captured};
use providers::http::Timeouts;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};

/// How long one exchange may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub connect: Duration,
    pub total: Duration,
}

/// Why an exchange did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        url: String,
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {}s", .after.as_secs_f64())]
    Timeout {
        url: String,
        after: Duration,
        #[source]
        source: Option<reqwest::Error>,
    },
    #[error("HTTP client: {0}")]
    Client(#[source] providers::ProviderError),
}

/// Credentials for a secured server.
#[derive(Clone, PartialEq)]
pub enum Auth {
    None,
    Bearer(String),
    Basic { username: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(***)",
            Auth::Basic { .. } => "Auth::Basic(***)",
        })
    }
}

/// The secret keys that secure the Prometheus API (upstream has none).
pub const BEARER_TOKEN: &str = "prometheus_bearer_token";
pub const USERNAME: &str = "prometheus_username";
pub const PASSWORD: &str = "prometheus_password";

impl Auth {
    /// The credentials the secrets declare: a bearer token, or a username and password.
    pub fn from_secrets(secrets: &Map) -> Result<Auth, String> {
        let get = |k: &str| secrets.get(k).filter(|v| !v.is_null()).map(py_str);
        match (get(BEARER_TOKEN), get(USERNAME), get(PASSWORD)) {
            (None, None, None) => Ok(Auth::None),
            (Some(token), None, None) => Ok(Auth::Bearer(token)),
            (None, Some(username), password) => Ok(Auth::Basic {
                username,
                password: password.unwrap_or_default(),
            }),
            (None, None, Some(_)) => Err(format!("the secret {PASSWORD} needs {USERNAME}")),
            (Some(_), _, _) => Err(format!(
                "declare either the secret {BEARER_TOKEN} or {USERNAME} and {PASSWORD}, not both"
            )),
        }
    }

    fn header(&self) -> Option<HeaderValue> {
        let text = match self {
            Auth::None => return None,
            Auth::Bearer(token) => format!("Bearer {token}"),
            Auth::Basic { username, password } => {
                format!(
                    "Basic {}",
                    base64(format!("{username}:{password}").as_bytes())
                )
            }
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Standard base64 with padding (for the `Basic` header).
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// URL-safe base64 with padding (Python's `urlsafe_b64encode`, for grouping keys).
pub fn base64_urlsafe(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// `url` as messages may show it: the password of `user:password@` replaced by `***`.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Not a URL: still hide what could be credentials before an `@`.
        Err(_) => match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://***@{}", &url[..scheme], &url[at + 1..])
            }
            _ => url.to_string(),
        },
    }
}

/// An answer: its status and body (cut at the output cap, see `cut`).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The body was longer than the cap: `body` is its beginning, and this is the marker.
    pub cut: Option<String>,
}

impl Answer {
    /// The body as text (UTF-8, bad bytes replaced), with the cut marker if it was cut.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.body).into_owned();
        if let Some(marker) = &self.cut {
            text.push_str(marker);
        }
        text
    }
}

/// A request to send.
pub struct Request<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub query: &'a [(String, String)],
    pub auth: &'a Auth,
    pub verify_tls: bool,
    pub limits: Limits,
    /// A body and its content type.
    pub body: Option<(Vec<u8>, &'static str)>,
}

/// Sends one request and reads its answer, within `limits`.
pub async fn send(request: Request<'_>) -> Result<Answer, HttpError> {
    let url = request.url;
    let parsed = url::Url::parse(url).map_err(|e| HttpError::InvalidUrl {
        url: shown(url),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(HttpError::InvalidUrl {
            url: shown(url),
            reason: format!("unsupported scheme '{}'", parsed.scheme()),
        });
    }
    let limits = request.limits;
    let client = providers::http::client(
        request.verify_tls,
        Timeouts {
            connect: Some(limits.connect),
            read: None,
            total: Some(limits.total),
        },
    )
    .map_err(HttpError::Client)?;
    // The activity's trace context, when a tracing control opened a span around it.
    let mut builder = providers::outbound::apply(client.request(request.method, parsed))
        .header(ACCEPT, "application/json");
    if !request.query.is_empty() {
        builder = builder.query(request.query);
    }
    if let Some(value) = request.auth.header() {
        builder = builder.header(AUTHORIZATION, value);
    }
    if let Some((body, content_type)) = request.body {
        builder = builder.header(CONTENT_TYPE, content_type).body(body);
    }
    let exchange = async {
        let mut response = builder.send().await?;
        let status = response.status().as_u16();
        let limit = capture::limit();
        let mut captured = Captured::default();
        while let Some(chunk) = response.chunk().await? {
            captured.push(&chunk, limit);
            if captured.dropped > 0 {
                captured.stopped = true;
                break;
            }
        }
        Ok::<_, reqwest::Error>((status, captured))
    };
    // reqwest's own total timeout covers the exchange; this one also covers a body that
    // trickles in after the headers, whatever the client does.
    let outcome = tokio::time::timeout(limits.total, exchange).await;
    let (status, captured) = match outcome {
        Err(_) => {
            return Err(HttpError::Timeout {
                url: shown(url),
                after: limits.total,
                source: None,
            })
        }
        Ok(Err(e)) if e.is_timeout() => {
            return Err(HttpError::Timeout {
                url: shown(url),
                after: limits.total,
                source: Some(e),
            })
        }
        Ok(Err(e)) => {
            return Err(HttpError::Unreachable {
                url: shown(url),
                detail: error_chain(&e),
                source: e,
            })
        }
        Ok(Ok(answer)) => answer,
    };
    let (body, cut) = match captured.truncation() {
        Some((kept, marker)) => (kept.to_vec(), Some(marker)),
        None => (captured.bytes, None),
    };
    Ok(Answer { status, body, cut })
}

/// The error and its causes on one line, any `user:password@` in them masked (reqwest
/// repeats the URL in its messages).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = e.source();
    while let Some(cause) = current {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = cause.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    hide_userinfo(&parts.join(": "))
}

/// `text` with the password of every `scheme://user:password@` in it replaced by `***`.
pub fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', ' ', ')', '?', '#']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// A number of seconds from a JSON value, as a positive duration.
pub fn seconds(value: &Value) -> Option<Duration> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
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
    fn base64_matches_python() {
        // base64.b64encode / urlsafe_b64encode
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:p@ss"), "dXNlcjpwQHNz");
        assert_eq!(base64_urlsafe(b"a/b c?~~~"), "YS9iIGM_fn5-");
    }

    #[test]
    fn credentials_come_from_the_secrets() {
        assert_eq!(Auth::from_secrets(&Map::new()), Ok(Auth::None));
        assert_eq!(
            Auth::from_secrets(&map(json!({BEARER_TOKEN: "t0k"}))),
            Ok(Auth::Bearer("t0k".into()))
        );
        assert_eq!(
            Auth::from_secrets(&map(json!({USERNAME: "u", PASSWORD: "p"}))),
            Ok(Auth::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        let both = Auth::from_secrets(&map(json!({BEARER_TOKEN: "t0k", USERNAME: "u"})));
        assert!(both.as_ref().is_err_and(|e| !e.contains("t0k")), "{both:?}");
        assert!(Auth::from_secrets(&map(json!({PASSWORD: "p"}))).is_err());
        // Debug never shows a credential.
        assert_eq!(
            format!("{:?}", Auth::Bearer("t0k".into())),
            "Auth::Bearer(***)"
        );
        let header = Auth::Basic {
            username: "u".into(),
            password: "p".into(),
        }
        .header();
        assert_eq!(
            header.as_ref().and_then(|h| h.to_str().ok()),
            Some("Basic dTpw")
        );
        assert!(header.is_some_and(|h| h.is_sensitive()));
    }

    #[test]
    fn shown_urls_hide_passwords() {
        assert_eq!(shown("http://h:9090"), "http://h:9090");
        assert_eq!(shown("http://u:s3cret@h:9090/x"), "http://u:***@h:9090/x");
        assert_eq!(shown("http://u@h:9090"), "http://u@h:9090");
        assert_eq!(shown("nonsense://u:s3cret@[bad"), "nonsense://***@[bad");
        assert_eq!(shown("no url"), "no url");
        assert_eq!(
            hide_userinfo("error for url (http://u:s3cret@h:1/a?b) via https://x/y"),
            "error for url (http://u:***@h:1/a?b) via https://x/y"
        );
    }

    #[test]
    fn seconds_are_positive_numbers() {
        assert_eq!(seconds(&json!(2.5)), Some(Duration::from_millis(2500)));
        assert_eq!(seconds(&json!("3")), Some(Duration::from_secs(3)));
        assert_eq!(seconds(&json!(0)), None);
        assert_eq!(seconds(&json!(-1)), None);
        assert_eq!(seconds(&json!("5s")), None);
        assert_eq!(seconds(&json!(null)), None);
    }
}
