//! Where an experiment comes from: a local JSON/YAML file or an http(s) URL.

use experiment::load::{self, Loaded};
use experiment::Value;
use std::path::Path;

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
) -> Result<Source, String> {
    let path = Path::new(source);
    if path.is_file() {
        let format = load::format_from_path(source).map_err(|e| e.message)?;
        let bytes = std::fs::read(path).map_err(|e| format!("{source}: cannot read: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            format!(
                "{source}: the file is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )
        })?;
        let loaded = load::parse(&text, format, source).map_err(|e| e.to_string())?;
        return Ok(Source {
            origin: source.to_string(),
            loaded,
        });
    }
    let scheme = match source.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() => scheme.to_ascii_lowercase(),
        _ => return Err(format!("Path \"{source}\" does not exist.")),
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("'{scheme}' is not a supported source scheme."));
    }
    fetch(source, settings, verify_tls).await
}

async fn fetch(url: &str, settings: &Value, verify_tls: bool) -> Result<Source, String> {
    providers::http::ensure_tls_provider();
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(!verify_tls)
        .build()
        .map_err(|e| format!("cannot create an HTTP client: {e}"))?;
    let mut request = client
        .get(url)
        .header("Accept", "application/json, application/x-yaml");
    if let Some(auth) = authorization(url, settings) {
        request = request.header("Authorization", auth);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("Failed to fetch the experiment from {url}: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .text()
        .await
        .map_err(|e| format!("Failed to fetch the experiment from {url}: {e}"))?;
    if status.as_u16() != 200 {
        return Err(format!("Failed to fetch the experiment: {body}"));
    }
    let loaded = load::parse_by_content_type(&body, content_type.as_deref(), url)
        .map_err(|e| e.to_string())?;
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
