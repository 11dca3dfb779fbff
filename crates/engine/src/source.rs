//! Where an experiment comes from: a local JSON/YAML file or an http(s) URL, loaded as the
//! reference loads it, with errors that name the file, line and column.

use experiment::load::{self, Loaded};
use experiment::Value;
use std::path::Path;

/// Why SOURCE could not be loaded. The `Display` is the line the run logs.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Neither a file nor a URL (the reference's click message).
    #[error("Path \"{0}\" does not exist.")]
    NotFound(String),
    #[error("'{0}' is not a supported source scheme.")]
    Scheme(String),
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
    /// Not valid JSON or YAML, or not the file type the name says.
    #[error("{0}")]
    Parse(String),
    #[error("Failed to fetch the experiment from {url}: {source}")]
    Fetch {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Failed to fetch the experiment: {body}")]
    Status { body: String },
    #[error("cannot create an HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// A loaded experiment and where it came from, for error messages that point at lines.
pub struct Source {
    pub origin: String,
    pub loaded: Loaded,
}

/// Loads SOURCE as the reference does, with errors that name file, line and column.
pub async fn load_source(
    source: &str,
    settings: &Value,
    verify_tls: bool,
) -> Result<Source, SourceError> {
    let path = Path::new(source);
    if path.is_file() {
        let format = load::format_from_path(source).map_err(|e| SourceError::Parse(e.message))?;
        let bytes = std::fs::read(path).map_err(|e| SourceError::Read {
            path: source.to_string(),
            source: e,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
            path: source.to_string(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        let loaded =
            load::parse(&text, format, source).map_err(|e| SourceError::Parse(e.to_string()))?;
        return Ok(Source {
            origin: source.to_string(),
            loaded,
        });
    }
    let scheme = match source.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() => scheme.to_ascii_lowercase(),
        _ => return Err(SourceError::NotFound(source.to_string())),
    };
    if scheme != "http" && scheme != "https" {
        return Err(SourceError::Scheme(scheme));
    }
    fetch(source, settings, verify_tls).await
}

async fn fetch(url: &str, settings: &Value, verify_tls: bool) -> Result<Source, SourceError> {
    providers::http::ensure_tls_provider();
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(!verify_tls)
        .build()
        .map_err(SourceError::Client)?;
    let fetch_error = |source| SourceError::Fetch {
        url: url.to_string(),
        source,
    };
    let mut request = client
        .get(url)
        .header("Accept", "application/json, application/x-yaml");
    if let Some(auth) = authorization(url, settings) {
        request = request.header("Authorization", auth);
    }
    let response = request.send().await.map_err(fetch_error)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response.text().await.map_err(fetch_error)?;
    if status.as_u16() != 200 {
        return Err(SourceError::Status { body });
    }
    let loaded = load::parse_by_content_type(&body, content_type.as_deref(), url)
        .map_err(|e| SourceError::Parse(e.to_string()))?;
    Ok(Source {
        origin: url.to_string(),
        loaded,
    })
}

/// `CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN`, else the settings' `auths[host[:port]]`.
fn authorization(url: &str, settings: &Value) -> Option<String> {
    if let Ok(token) = std::env::var("CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN") {
        return Some(format!("bearer {token}"));
    }
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    let key = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let auth = settings.get("auths")?.get(&key)?;
    let kind = auth.get("type")?.as_str()?;
    let value = auth.get("value")?.as_str()?;
    Some(format!("{kind} {value}"))
}

/// "file:line:col" for a field path, when the loader knows where it was.
pub fn locate(source: &Source, path: &str) -> Option<String> {
    let mut probe = path.to_string();
    loop {
        if let Some((line, col)) = source.loaded.positions.get(&probe) {
            return Some(format!("{}:{line}:{col}", source.origin));
        }
        // Fall back to the nearest ancestor that has a position.
        let cut = probe.rfind(['.', '['])?;
        probe.truncate(cut);
    }
}
