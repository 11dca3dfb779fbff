//! The Slack Web API, as much of it as `chaosslack` uses: `chat.postMessage`, `chat.update`
//! and the three steps of a file upload (`files.getUploadURLExternal`, the upload itself,
//! `files.completeUploadExternal`).
//!
//! The requests are slack_sdk's (and slackclient 2.9's, which `chaosslack.notification`
//! uses): `POST {base}{method}`, `Authorization: Bearer <token>`, a JSON body with
//! `Content-Type: application/json;charset=utf-8` for the chat methods, a form for the file
//! methods. What is ours: every request is bounded ([`CONNECT_TIMEOUT`],
//! [`REQUEST_TIMEOUT`]; slack_sdk waits 30 s per request, and a Slack that accepts and
//! never answers would cost that at every hook), answers are read up to [`MAX_ANSWER`]
//! bytes, the base URL comes from a setting or `SLACK_API_URL` (so tests and air-gapped
//! proxies can stand in for Slack), and the token is a [`Token`] that neither `Debug` nor
//! any error message shows.

use experiment::{Map, Value};
use std::fmt;
use std::time::Duration;

#[cfg(test)]
mod tests;

/// slack_sdk's `WebClient.BASE_URL` (what `chaosslack.control` talks to).
pub const SLACK_SDK_BASE_URL: &str = "https://slack.com/api/";
/// slackclient 2.9's `WebClient.BASE_URL` (what `chaosslack.notification` talks to).
pub const SLACKCLIENT_BASE_URL: &str = "https://www.slack.com/api/";
/// The environment variable that points both modules at another Web API.
pub const API_URL_ENV: &str = "SLACK_API_URL";

/// How long connecting to Slack may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request (connect, send, answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of an answer that is read; Slack's answers here are a few hundred bytes.
pub const MAX_ANSWER: usize = 1 << 20;

/// A Slack token. It is only ever written into the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// The token, trimmed as slack_sdk trims it; `None` when nothing is left.
    pub fn new(raw: &str) -> Option<Token> {
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| Token(trimmed.to_string()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The base URL: `explicit` (a setting) when it is a non-empty string, else
/// `SLACK_API_URL` when set and non-empty, else `default`. A missing final `/` is added
/// (slack_sdk joins the method with `urljoin`, which would drop the last path segment).
pub fn base_url(explicit: Option<&Value>, default: &str) -> String {
    let from_setting = explicit
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let from_env = || {
        std::env::var(API_URL_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let mut url = from_setting
        .or_else(from_env)
        .unwrap_or_else(|| default.to_string());
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// How a call to Slack can fail. No variant holds the token.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("{url} could not be reached: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {} s", REQUEST_TIMEOUT.as_secs())]
    Timeout {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} answered with the Slack error '{error}'")]
    Api { url: String, error: String },
    #[error("{url} answered something that is not a Slack Web API answer")]
    BadAnswer { url: String },
}

impl SlackError {
    /// Slack could not be reached at all (or not in time): later calls would fare no better.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            SlackError::Client(_) | SlackError::Unreachable { .. } | SlackError::Timeout { .. }
        )
    }
}

/// A client for one base URL and token.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Token,
}

impl Client {
    pub fn new(base: String, token: Token) -> Result<Client, SlackError> {
        let http = providers::http::client_builder()
            .user_agent(concat!("shakedown/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(SlackError::Client)?;
        Ok(Client { http, base, token })
    }

    /// The URL of a Web API method.
    pub fn endpoint(&self, method: &str) -> String {
        format!("{}{method}", self.base)
    }

    /// The base URL, for messages.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST {base}{method}` with a JSON body (the chat methods).
    pub async fn post_json(&self, method: &str, body: &Value) -> Result<Map, SlackError> {
        let url = self.endpoint(method);
        let text = serde_json::to_string(body).unwrap_or_default();
        let request = self
            .authorized(&url)
            .header("Content-Type", "application/json;charset=utf-8")
            .body(text);
        answer(&url, request).await
    }

    /// `POST {base}{method}` with a form (the file methods), fields in this order.
    pub async fn post_form(
        &self,
        method: &str,
        form: &[(&str, String)],
    ) -> Result<Map, SlackError> {
        let url = self.endpoint(method);
        answer(&url, self.authorized(&url).form(form)).await
    }

    /// The middle step of a file upload: the content, to the URL Slack handed out, without
    /// the token (slack_sdk posts it with urllib's default form content type).
    pub async fn upload(&self, url: &str, content: Vec<u8>) -> Result<(), SlackError> {
        let request = providers::outbound::apply(self.http.post(url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(content);
        let response = request.send().await.map_err(|e| transport(url, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(SlackError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    fn authorized(&self, url: &str) -> reqwest::RequestBuilder {
        // The activity's trace context when an action posts (none from controls and
        // notifications, which run outside activities).
        providers::outbound::apply(self.http.post(url))
            .header("Authorization", format!("Bearer {}", self.token.0))
    }
}

/// Sends the request and reads a Slack answer: a JSON object with `"ok": true`.
async fn answer(url: &str, request: reqwest::RequestBuilder) -> Result<Map, SlackError> {
    let mut response = request.send().await.map_err(|e| transport(url, e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(SlackError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(url, e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(SlackError::BadAnswer { url: url.into() });
        }
        body.extend_from_slice(&chunk);
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) else {
        return Err(SlackError::BadAnswer { url: url.into() });
    };
    if map.get("ok") != Some(&Value::Bool(true)) {
        let error = map
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        return Err(SlackError::Api {
            url: url.into(),
            error,
        });
    }
    Ok(map)
}

fn transport(url: &str, e: reqwest::Error) -> SlackError {
    if e.is_timeout() {
        return SlackError::Timeout {
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
    SlackError::Unreachable {
        url: url.into(),
        reason,
        source: e,
    }
}
