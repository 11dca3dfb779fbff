//! Where an experiment comes from: a local JSON/YAML file or an http(s) URL, loaded as the
//! reference loads it, with errors that name the file, line and column.

use experiment::load::{self, Loaded};
use experiment::Value;
use std::path::Path;
use std::time::Duration;

/// The environment variable that sets how many seconds fetching an experiment from a URL
/// may take, from connecting to the last byte.
pub const SOURCE_TIMEOUT_ENV: &str = "CHAOS_SOURCE_TIMEOUT";

/// How long and how large fetching an experiment from a URL may be. The reference waits
/// forever and keeps whatever arrives; a server that never answers, or never stops, would
/// hang the run or fill the memory before anything runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FetchLimits {
    pub connect: Duration,
    /// From connecting to the last byte.
    pub total: Duration,
    /// The most bytes of an answer.
    pub max_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            total: Duration::from_secs(60),
            max_bytes: 32 * 1024 * 1024,
        }
    }
}

impl FetchLimits {
    /// The defaults, with the total time from [`SOURCE_TIMEOUT_ENV`] when it holds a
    /// number of seconds (a value that is not one is ignored with a warning).
    pub fn from_env() -> Self {
        let mut limits = Self::default();
        if let Ok(text) = std::env::var(SOURCE_TIMEOUT_ENV) {
            let secs = text.trim().parse::<f64>().ok().filter(|s| *s > 0.0);
            match secs.map(experiment::duration::from_secs) {
                Some(Ok(total)) => {
                    limits.total = total;
                    limits.connect = limits.connect.min(total);
                }
                _ => log::warn!(
                    "{SOURCE_TIMEOUT_ENV} must be a number of seconds above 0, not '{text}': using {} seconds",
                    limits.total.as_secs()
                ),
            }
        }
        limits
    }
}

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
    /// The server did not send the whole experiment in time.
    #[error("Failed to fetch the experiment from {url}: no complete answer within {secs} seconds (set {SOURCE_TIMEOUT_ENV} to wait longer)", secs = .limit.as_secs_f64())]
    TimedOut { url: String, limit: Duration },
    /// The answer is larger than any experiment should be.
    #[error("Failed to fetch the experiment from {url}: the answer is larger than {} MiB, more than an experiment can be", .limit / (1024 * 1024))]
    TooLarge { url: String, limit: usize },
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
        let bytes =
            load::read_document(path, load::MAX_DOCUMENT_BYTES).map_err(|e| SourceError::Read {
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
    fetch(source, settings, verify_tls, FetchLimits::from_env()).await
}

/// Fetches and parses an experiment from `url`, within `limits`.
pub async fn fetch(
    url: &str,
    settings: &Value,
    verify_tls: bool,
    limits: FetchLimits,
) -> Result<Source, SourceError> {
    let timed_out = || SourceError::TimedOut {
        url: url.to_string(),
        limit: limits.total,
    };
    match tokio::time::timeout(
        limits.total,
        fetch_within(url, settings, verify_tls, limits),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(timed_out()),
    }
}

async fn fetch_within(
    url: &str,
    settings: &Value,
    verify_tls: bool,
    limits: FetchLimits,
) -> Result<Source, SourceError> {
    let client = providers::http::client_builder()
        .tls_danger_accept_invalid_certs(!verify_tls)
        .connect_timeout(limits.connect)
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
    let mut response = request.send().await.map_err(fetch_error)?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let too_large = || SourceError::TooLarge {
        url: url.to_string(),
        limit: limits.max_bytes,
    };
    if response
        .content_length()
        .is_some_and(|n| n > limits.max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if bytes.len() + chunk.len() > limits.max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A loopback server that reads each request, then hands the connection to `answer`.
    fn serve(answer: fn(std::net::TcpStream)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/e.json", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    answer(stream);
                });
            }
        });
        url
    }

    fn limits() -> FetchLimits {
        FetchLimits {
            connect: Duration::from_secs(5),
            total: Duration::from_millis(300),
            max_bytes: 1024 * 1024,
        }
    }

    /// How fetching `url` fails when the whole fetch may take `total`.
    async fn fetch_error(url: &str, total: Duration) -> SourceError {
        let limits = FetchLimits { total, ..limits() };
        match fetch(url, &Value::Null, true, limits).await {
            Ok(_) => panic!("{url} loaded"),
            Err(e) => e,
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let url = serve(|mut stream| {
            // Holds the connection open until the client gives up.
            let _ = stream.read(&mut [0u8; 1]);
        });
        let e = fetch_error(&url, limits().total).await;
        assert!(matches!(e, SourceError::TimedOut { .. }), "{e}");
        assert!(e.to_string().contains(SOURCE_TIMEOUT_ENV), "{e}");
    }

    #[tokio::test]
    async fn an_answer_that_never_ends_is_cut_at_the_size_cap() {
        let url = serve(|mut stream| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[");
            let chunk = [b' '; 64 * 1024];
            while stream.write_all(&chunk).is_ok() {}
        });
        let e = fetch_error(&url, Duration::from_secs(120)).await;
        assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
    }

    #[tokio::test]
    async fn an_announced_length_past_the_cap_is_refused_at_once() {
        let url = serve(|mut stream| {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n{");
            // Never sends the rest: only the announced length can end this fetch.
            let _ = stream.read(&mut [0u8; 1]);
        });
        let e = fetch_error(&url, Duration::from_secs(120)).await;
        assert!(matches!(e, SourceError::TooLarge { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_small_experiment_still_loads() {
        let url = serve(|mut stream| {
            let body = r#"{"title": "t", "method": []}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        let mut generous = limits();
        generous.total = Duration::from_secs(120);
        let source = fetch(&url, &Value::Null, true, generous).await.unwrap();
        assert_eq!(source.loaded.value["title"], "t");
    }
}
