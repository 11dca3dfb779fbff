//! Errors. `ApiError` carries Toxiproxy's `{"error": …, "status": …}` body so every API
//! failure looks exactly like the original server's.

use serde::{Deserialize, Serialize};

/// An API error as Toxiproxy reports it: a message and the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ApiError {
    /// Human-readable message, e.g. `proxy not found`.
    pub error: String,
    /// HTTP status code, repeated in the body like Toxiproxy does.
    pub status: u16,
}

impl ApiError {
    pub fn new(error: impl Into<String>, status: u16) -> Self {
        ApiError {
            error: error.into(),
            status,
        }
    }
    /// `bad request body: <detail>` (400), Toxiproxy's wording for undecodable JSON.
    pub fn bad_body(detail: impl std::fmt::Display) -> Self {
        Self::new(format!("bad request body: {detail}"), 400)
    }
    pub fn missing_field(field: &str) -> Self {
        Self::new(format!("missing required field: {field}"), 400)
    }
    pub fn proxy_not_found() -> Self {
        Self::new("proxy not found", 404)
    }
    pub fn proxy_exists() -> Self {
        Self::new("proxy already exists", 409)
    }
    pub fn invalid_stream() -> Self {
        Self::new(
            "stream was invalid, can be either upstream or downstream",
            400,
        )
    }
    pub fn invalid_toxic_type() -> Self {
        Self::new("invalid toxic type", 400)
    }
    pub fn toxic_exists() -> Self {
        Self::new("toxic already exists", 409)
    }
    pub fn toxic_not_found() -> Self {
        Self::new("toxic not found", 404)
    }
    /// OS-level failures (bind, resolve) are 500 with the raw error text, as in Toxiproxy.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(detail.to_string(), 500)
    }
}

/// Errors of the proxy library outside a single API call.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot read config file {path}: {source}")]
    Config {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("{0}")]
    Client(String),
}
