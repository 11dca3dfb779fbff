//! The `http` provider: one HTTP request, its status, headers and body.
//!
//! Reference rules kept on purpose: a 4xx/5xx status is not a failure (only a warning when
//! the activity declares no tolerance); the body is parsed as JSON only for an exact
//! `Content-Type: application/json`; arguments go in the query string for GET, and in a JSON
//! body only when the request's `Content-Type` header is exactly `application/json`.

use crate::process::seconds;
use crate::{substitute_if_any, Call, Failure, FailureKind, ProviderError};
use experiment::pyrepr::py_str;
use experiment::pyrepr::py_truthy;
use experiment::substitute::substitute;
use experiment::{Map, Value};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::OnceLock;
use std::time::Duration;

/// The reference's warning for a status above 399 when no tolerance is declared.
pub const HTTP_ERROR_WARNING: &str = "This HTTP call returned a response with a HTTP status code above 400. This may indicate some error and not what you expected. Please have a look at the logs.";

/// Installs the TLS crypto provider once per process (reqwest is built without a default).
pub fn ensure_tls_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Connect, read and whole-exchange limits, from a number or a `[connect, read]` pair.
///
/// `connect` and `read` are the reference's (`requests`): the read limit applies to each
/// read, so a server that sends a byte now and then would never time out. `total` bounds
/// the whole exchange (connecting, sending, the headers and the whole body): the number
/// itself, or connect + read for a pair (docs/compatibility.md).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timeouts {
    pub connect: Option<Duration>,
    pub read: Option<Duration>,
    pub total: Option<Duration>,
}

fn timeouts(value: Option<&Value>) -> Result<Timeouts, ProviderError> {
    Ok(match value {
        Some(Value::Array(pair)) if pair.len() == 2 => {
            let connect = seconds(&pair[0])?;
            let read = seconds(&pair[1])?;
            let total = match (connect, read) {
                (None, None) => None,
                (c, r) => Some(c.unwrap_or_default().saturating_add(r.unwrap_or_default())),
            };
            Timeouts {
                connect,
                read,
                total,
            }
        }
        Some(v) => {
            let t = seconds(v)?;
            Timeouts {
                connect: t,
                read: t,
                total: t,
            }
        }
        None => Timeouts::default(),
    })
}

/// A reqwest client builder for any outbound HTTP: the TLS provider installed, names resolved
/// through [`dns`] (the pure-Rust resolver in the static build).
pub fn client_builder() -> reqwest::ClientBuilder {
    ensure_tls_provider();
    dns::reqwest(reqwest::Client::builder())
}

/// Builds a client for this call; the common case (verified TLS, no timeouts) is shared.
pub fn client(verify_tls: bool, limits: Timeouts) -> Result<reqwest::Client, ProviderError> {
    static SHARED: OnceLock<reqwest::Client> = OnceLock::new();
    let build = || {
        let mut b = client_builder()
            .user_agent(concat!("shakedown/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(!verify_tls);
        if let Some(c) = limits.connect {
            b = b.connect_timeout(c);
        }
        if let Some(r) = limits.read {
            b = b.read_timeout(r);
        }
        if let Some(t) = limits.total {
            b = b.timeout(t);
        }
        b.build()
    };
    if verify_tls && limits == Timeouts::default() {
        if let Some(c) = SHARED.get() {
            return Ok(c.clone());
        }
        let c = build().map_err(client_error)?;
        return Ok(SHARED.get_or_init(|| c).clone());
    }
    build().map_err(client_error)
}

fn client_error(e: reqwest::Error) -> ProviderError {
    let message = format!("HTTP client: {e}");
    ProviderError::Fatal(Failure::new(FailureKind::Environment, message).with_source(e))
}

pub async fn run(call: &Call<'_>, provider: &Map) -> Result<Value, ProviderError> {
    let lookup = call.lookup();
    let url = provider
        .get("url")
        .map(|u| substitute(u, &lookup))
        .map(|u| py_str(&u))
        .unwrap_or_default();
    let method = provider
        .get("method")
        .map(py_str)
        .unwrap_or_else(|| "GET".into())
        .to_uppercase();
    let headers = provider.get("headers").map(|h| substitute(h, &lookup));
    let arguments = provider
        .get("arguments")
        .map(|a| substitute_if_any(a, &lookup));
    let limits = timeouts(
        provider
            .get("timeout")
            .map(|t| substitute(t, &lookup))
            .as_ref(),
    )?;
    let verify_tls = provider.get("verify_tls").map(py_truthy).unwrap_or(true);
    let max_retries = provider
        .get("max_retries")
        .and_then(Value::as_u64)
        .unwrap_or(0);

    let client = client(verify_tls, limits)?;
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| declaration(format!("invalid HTTP method '{method}'")))?;
    let header_map = header_map(headers.as_ref())?;
    let json_body = headers
        .as_ref()
        .and_then(|h| h.get("Content-Type"))
        .and_then(Value::as_str)
        == Some("application/json");

    let mut attempt = 0;
    let mut response = loop {
        let mut request = client
            .request(method.clone(), &url)
            .headers(header_map.clone());
        if let Some(args) = &arguments {
            request = if method == reqwest::Method::GET {
                request.query(&form_pairs(args))
            } else if json_body {
                request.json(args)
            } else if let Value::String(raw) = args {
                request.body(raw.clone())
            } else {
                request.form(&form_pairs(args))
            };
        }
        match request.send().await {
            Ok(r) => break r,
            Err(e) if e.is_connect() && attempt < max_retries => attempt += 1,
            Err(e) => return Err(request_error(&url, e)),
        }
    };

    let status = response.status().as_u16();
    let headers = response_headers(response.headers());
    let exact_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        == Some("application/json");
    let charset = charset(response.headers());
    let limit = crate::capture::limit();
    let mut captured = crate::capture::Captured::default();
    while let Some(chunk) = response.chunk().await.map_err(|e| request_error(&url, e))? {
        captured.push(&chunk, limit);
        if captured.dropped > 0 {
            // Unlike a process's pipe, a body need not be drained: stop reading.
            captured.stopped = true;
            break;
        }
    }
    let body = if let Some((kept, marker)) = captured.truncation() {
        // A cut body is text with its marker, whatever its type: cut JSON is not JSON.
        Value::String(decode_body(kept, charset.as_deref()) + &marker)
    } else if exact_json {
        let text = decode_body(&captured.bytes, charset.as_deref());
        serde_json::from_str(&text).map_err(|e| {
            let message = format!(
                "the response of {url} says it is application/json but its body is not JSON: {e}"
            );
            ProviderError::Fatal(Failure::new(FailureKind::Remote, message).with_source(e))
        })?
    } else {
        Value::String(decode_body(&captured.bytes, charset.as_deref()))
    };
    if status > 399 && !call.has_tolerance() {
        log::warn!("{HTTP_ERROR_WARNING}");
    }
    let mut output = Map::new();
    output.insert("status".into(), Value::from(status));
    output.insert("headers".into(), Value::Object(headers));
    output.insert("body".into(), body);
    Ok(Value::Object(output))
}

/// The `charset` parameter of the response's `Content-Type`, if any.
fn charset(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(reqwest::header::CONTENT_TYPE)?.to_str().ok()?;
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The body as text, decoded with its charset (UTF-8 when it names none or one unknown),
/// bad bytes replaced, as `reqwest`'s `text()` does.
fn decode_body(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

fn request_error(url: &str, e: reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        let failure = Failure::new(FailureKind::Timeout, "activity took too long to complete");
        ProviderError::Failed(failure.with_source(e))
    } else if e.is_builder() {
        let message = format!("invalid HTTP request to '{url}': {}", error_chain(&e));
        ProviderError::Fatal(Failure::new(FailureKind::Declaration, message).with_source(e))
    } else {
        let message = format!("failed to connect to {url}: {}", error_chain(&e));
        ProviderError::Failed(Failure::new(FailureKind::Unreachable, message).with_source(e))
    }
}

/// The error and its sources on one line, so the cause (refused, TLS, DNS) is visible.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A request the declaration makes impossible: the reference raises, so the method aborts.
fn declaration(message: String) -> ProviderError {
    ProviderError::fatal(FailureKind::Declaration, message)
}

fn header_map(headers: Option<&Value>) -> Result<HeaderMap, ProviderError> {
    let mut map = HeaderMap::new();
    let Some(Value::Object(h)) = headers else {
        return Ok(map);
    };
    for (name, value) in h {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| declaration(format!("invalid HTTP header name '{name}'")))?;
        let value = HeaderValue::from_str(&py_str(value))
            .map_err(|_| declaration(format!("invalid value for HTTP header '{name}'")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// Query or form pairs as `requests` encodes a mapping: lists repeat the key, `null` is
/// dropped, other scalars use Python `str()`.
fn form_pairs(args: &Value) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    if let Value::Object(map) = args {
        for (k, v) in map {
            match v {
                Value::Null => {}
                // `requests` iterates a mapping value, so it sends the mapping's keys.
                Value::Object(inner) => {
                    pairs.extend(inner.keys().map(|inner_key| (k.clone(), inner_key.clone())))
                }
                Value::Array(items) => pairs.extend(
                    items
                        .iter()
                        .filter(|i| !i.is_null())
                        .map(|i| (k.clone(), py_str(i))),
                ),
                other => pairs.push((k.clone(), py_str(other))),
            }
        }
    }
    pairs
}

/// Response headers as a plain map. The HTTP stack lowercases names; they are given back
/// in the Title-Case servers send, and repeated headers are joined with ", " as `requests`.
fn response_headers(headers: &HeaderMap) -> Map {
    let mut out = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(title_case(name.as_str()), Value::String(joined));
    }
    out
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_pairs_follow_requests_encoding() {
        let pairs = form_pairs(&json!({"a": [1, 2], "b": null, "c": true, "d": {"x": 1}}));
        assert_eq!(
            pairs,
            vec![
                ("a".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string()),
                ("c".to_string(), "True".to_string()),
                ("d".to_string(), "x".to_string())
            ]
        );
    }

    #[test]
    fn timeouts_accept_number_or_pair() {
        let t = timeouts(Some(&json!([1, 2.5]))).unwrap();
        assert_eq!(t.connect, Some(Duration::from_secs(1)));
        assert_eq!(t.read, Some(Duration::from_millis(2500)));
        assert_eq!(t.total, Some(Duration::from_millis(3500)));
        let t = timeouts(Some(&json!(3))).unwrap();
        assert_eq!(t.connect, t.read);
        assert_eq!(t.total, Some(Duration::from_secs(3)));
        let t = timeouts(Some(&json!([null, 2]))).unwrap();
        assert_eq!((t.connect, t.total), (None, Some(Duration::from_secs(2))));
        assert_eq!(timeouts(None).unwrap(), Timeouts::default());
    }

    #[test]
    fn a_timeout_beyond_what_the_reference_can_wait_is_fatal() {
        for t in [json!(1e20), json!([1e20, 1]), json!([1, 9.3e9])] {
            match timeouts(Some(&t)) {
                Err(ProviderError::Fatal(m)) => {
                    assert!(m.message().contains("out of range"), "{m}")
                }
                other => panic!("{t}: {other:?}"),
            }
        }
        // negative: no limit, as before
        assert_eq!(timeouts(Some(&json!(-1))).unwrap(), Timeouts::default());
        assert_eq!(timeouts(Some(&json!(null))).unwrap(), Timeouts::default());
    }

    #[test]
    fn a_timeout_that_is_not_a_number_is_fatal_as_the_references_abort() {
        for t in [json!("1s"), json!("10"), json!(["1", 2]), json!({"a": 1})] {
            match timeouts(Some(&t)) {
                Err(ProviderError::Fatal(m)) => assert!(
                    m.message()
                        .starts_with("the activity's timeout must be a number of seconds, not"),
                    "{m}"
                ),
                other => panic!("{t}: {other:?}"),
            }
        }
    }

    #[test]
    fn header_names_come_back_title_cased() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("x-request-id"), "X-Request-Id");
    }
}
