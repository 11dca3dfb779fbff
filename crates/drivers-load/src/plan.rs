//! What a load is: the arguments of `run_load` / `start_load` / `load.single`, checked and
//! typed once, at validation (`chaos validate`) and again when the action runs.
//!
//! Why checked this strictly: a load generator is a denial-of-service tool. A typo in a
//! rate or a URL must stop the experiment before any traffic, with the argument named and
//! the fix said, not flood the wrong host or the machine running `chaos`. The limits below
//! bound what one action may ask for (connections, rate, duration, body size); each error
//! says which limit and why.

use experiment::pyrepr::py_repr;
use experiment::{Map, Value};
use std::time::Duration;

/// The most connections (closed model) or concurrent requests (open model) one load may use.
pub const MAX_CONCURRENCY: u64 = 10_000;
/// The highest arrival rate, requests per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// The longest load, in seconds (a day).
pub const MAX_DURATION: f64 = 86_400.0;
/// The longest per-request timeout, in seconds.
pub const MAX_TIMEOUT: f64 = 3_600.0;
/// The most threads one load may drive its connections from.
pub const MAX_THREADS: u64 = 64;
/// The largest request body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// An argument that cannot make a load: which one, and why (with the fix).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("argument '{argument}': {message}")]
pub struct ArgumentError {
    pub argument: &'static str,
    pub message: String,
}

fn bad(argument: &'static str, message: impl Into<String>) -> ArgumentError {
    ArgumentError {
        argument,
        message: message.into(),
    }
}

/// HTTP/1.1 (keep-alive or not) or HTTP/2 with prior knowledge over cleartext (h2c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http1 => "1.1",
            Protocol::Http2 => "2",
        }
    }
}

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// `concurrency` users, each sending its next request as soon as its last one is
    /// answered (siege's and wrk's model).
    Closed,
    /// Requests arrive at `rate` per second whatever the answers (at most `concurrency` in
    /// flight); latency counts from when a request was due, so a slow server's queue shows
    /// (wrk2's correction of coordinated omission).
    Open { rate: f64 },
}

/// A checked load.
#[derive(Debug, Clone)]
pub struct Plan {
    pub url: url::Url,
    /// `host:port` to connect to (the URL's, nothing else).
    pub authority: String,
    pub host: String,
    pub port: u16,
    pub method: hyper::Method,
    pub headers: Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
    pub body: bytes::Bytes,
    pub duration: Duration,
    pub concurrency: usize,
    pub model: Model,
    pub timeout: Duration,
    pub protocol: Protocol,
    pub keep_alive: bool,
    pub threads: usize,
}

/// The defaults `run_load` and `start_load` declare.
pub mod defaults {
    pub const DURATION: f64 = 10.0;
    pub const CONCURRENCY: i64 = 10;
    pub const TIMEOUT: f64 = 10.0;
    pub const METHOD: &str = "GET";
    pub const HTTP_VERSION: &str = "1.1";
    pub const THREADS: i64 = 1;
}

/// Whether `value` is still a `${...}` placeholder (validation sees arguments before the
/// configuration is substituted; the run checks them again, substituted).
pub fn is_placeholder(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.contains("${"))
}

fn number(args: &Map, name: &'static str) -> Result<Option<f64>, ArgumentError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
            bad(
                name,
                format!(
                    "must be a number, not {}",
                    py_repr(&Value::String(s.clone()))
                ),
            )
        }),
        Some(other) => Err(bad(
            name,
            format!("must be a number, not {}", py_repr(other)),
        )),
    }
}

/// Seconds: a number, or a string with an `s`, `m` or `h` suffix (`20S`, as siege's
/// `--time` takes it).
fn seconds(args: &Map, name: &'static str) -> Result<Option<f64>, ArgumentError> {
    if let Some(Value::String(s)) = args.get(name) {
        let t = s.trim();
        let (digits, unit) = match t.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
            _ => (t, 's'),
        };
        let factor = match unit {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => {
                return Err(bad(
                    name,
                    format!(
                        "{} is not a duration: write seconds (20), or 20s, 5m, 1h",
                        py_repr(&Value::String(s.clone()))
                    ),
                ))
            }
        };
        return match digits.trim().parse::<f64>() {
            Ok(v) => Ok(Some(v * factor)),
            Err(_) => Err(bad(
                name,
                format!(
                    "{} is not a duration: write seconds (20), or 20s, 5m, 1h",
                    py_repr(&Value::String(s.clone()))
                ),
            )),
        };
    }
    number(args, name)
}

fn integer(args: &Map, name: &'static str) -> Result<Option<u64>, ArgumentError> {
    match number(args, name)? {
        None => Ok(None),
        Some(v) if v.fract() == 0.0 && v >= 0.0 && v <= u64::MAX as f64 => Ok(Some(v as u64)),
        Some(v) => Err(bad(name, format!("must be a whole number, not {v}"))),
    }
}

fn within(name: &'static str, v: f64, max: f64, what: &str) -> Result<f64, ArgumentError> {
    if !v.is_finite() || v <= 0.0 {
        return Err(bad(name, format!("must be more than 0 {what}, not {v}")));
    }
    if v > max {
        return Err(bad(
            name,
            format!("{v} {what} is more than the {max} {what} one load may use; split it into several actions if you really mean it"),
        ));
    }
    Ok(v)
}

/// Checks the URL alone: present, absolute `http://` with a host (what `chaos validate`
/// reports first).
pub fn check_url(args: &Map) -> Result<url::Url, ArgumentError> {
    let raw = match args.get("url") {
        None | Some(Value::Null) => {
            return Err(bad(
                "url",
                "is missing: give the absolute http:// URL to send the load to",
            ))
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Err(bad(
                "url",
                "is empty: give the absolute http:// URL to send the load to",
            ))
        }
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => {
            return Err(bad(
                "url",
                format!("must be a string, not {}", py_repr(other)),
            ))
        }
    };
    let url = url::Url::parse(&raw).map_err(|e| {
        bad(
            "url",
            format!(
                "'{raw}' is not a valid URL ({e}); write it absolute, e.g. http://host:8080/path"
            ),
        )
    })?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(bad(
                "url",
                format!("'{raw}': https is not supported by the native load generator yet; send the load to a cleartext http:// address (a sidecar or an ingress port)"),
            ))
        }
        other => {
            return Err(bad(
                "url",
                format!("'{raw}': the scheme must be http, not '{other}'"),
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("url", format!("'{raw}' has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "url",
            format!(
                "'{}' carries credentials; send them in an Authorization header instead",
                url.host_str().unwrap_or("")
            ),
        ));
    }
    Ok(url)
}

impl Plan {
    /// The plan for bound arguments (every declared parameter present). Placeholders are
    /// errors here: the engine substitutes before the call.
    pub fn from_args(args: &Map) -> Result<Plan, ArgumentError> {
        let url = check_url(args)?;
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_matches(['[', ']'])
            .to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };

        let method_text = match args.get("method") {
            None | Some(Value::Null) => defaults::METHOD.to_string(),
            Some(Value::String(s)) => s.trim().to_ascii_uppercase(),
            Some(other) => {
                return Err(bad(
                    "method",
                    format!("must be a string, not {}", py_repr(other)),
                ))
            }
        };
        let method = hyper::Method::from_bytes(method_text.as_bytes())
            .map_err(|_| bad("method", format!("'{method_text}' is not an HTTP method")))?;

        let mut headers = Vec::new();
        match args.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let name = hyper::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| bad("headers", format!("'{k}' is not a valid header name")))?;
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => experiment::pyrepr::py_str(other),
                    };
                    let value = hyper::header::HeaderValue::from_str(&text).map_err(|_| {
                        bad(
                            "headers",
                            format!("the value of '{k}' is not a valid header value"),
                        )
                    })?;
                    headers.push((name, value));
                }
            }
            Some(other) => {
                return Err(bad(
                    "headers",
                    format!(
                        "must be a mapping of names to values, not {}",
                        py_repr(other)
                    ),
                ))
            }
        }

        let body = match args.get("body") {
            None | Some(Value::Null) => bytes::Bytes::new(),
            Some(Value::String(s)) => bytes::Bytes::from(s.clone().into_bytes()),
            Some(other) => {
                // A mapping or a list is sent as JSON, as the http provider sends one.
                if !headers
                    .iter()
                    .any(|(n, _)| n == hyper::header::CONTENT_TYPE)
                {
                    headers.push((
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    ));
                }
                bytes::Bytes::from(
                    serde_json::to_vec(other).map_err(|e| bad("body", e.to_string()))?,
                )
            }
        };
        if body.len() > MAX_BODY {
            return Err(bad(
                "body",
                format!(
                    "is {} bytes, more than the {MAX_BODY} one load may send",
                    body.len()
                ),
            ));
        }

        let duration = within(
            "duration",
            seconds(args, "duration")?.unwrap_or(defaults::DURATION),
            MAX_DURATION,
            "seconds",
        )?;
        let timeout = within(
            "timeout",
            seconds(args, "timeout")?.unwrap_or(defaults::TIMEOUT),
            MAX_TIMEOUT,
            "seconds",
        )?;
        let concurrency = integer(args, "concurrency")?.unwrap_or(defaults::CONCURRENCY as u64);
        within(
            "concurrency",
            concurrency as f64,
            MAX_CONCURRENCY as f64,
            "connections",
        )?;
        let model = match number(args, "rate")? {
            None => Model::Closed,
            Some(rate) => Model::Open {
                rate: within("rate", rate, MAX_RATE, "requests per second")?,
            },
        };
        let threads = integer(args, "threads")?.unwrap_or(defaults::THREADS as u64);
        within("threads", threads as f64, MAX_THREADS as f64, "threads")?;
        let threads = threads.min(concurrency);

        let protocol = match args.get("http_version") {
            None | Some(Value::Null) => Protocol::Http1,
            Some(v) => match experiment::pyrepr::py_str(v).trim() {
                "1.1" | "1" | "http/1.1" | "HTTP/1.1" => Protocol::Http1,
                "2" | "2.0" | "h2c" | "http/2" | "HTTP/2" => Protocol::Http2,
                other => return Err(bad("http_version", format!("'{other}' is not one of '1.1' or '2' (HTTP/2 over cleartext, prior knowledge)"))),
            },
        };
        let keep_alive = match args.get("keep_alive") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(bad(
                    "keep_alive",
                    format!("must be true or false, not {}", py_repr(other)),
                ))
            }
        };
        if protocol == Protocol::Http2 && !keep_alive {
            return Err(bad("keep_alive", "HTTP/2 always keeps its connection; leave keep_alive true or use http_version '1.1'"));
        }

        Ok(Plan {
            url,
            authority,
            host,
            port,
            method,
            headers,
            body,
            duration: Duration::from_secs_f64(duration),
            concurrency: concurrency as usize,
            model,
            timeout: Duration::from_secs_f64(timeout),
            protocol,
            keep_alive,
            threads: threads as usize,
        })
    }

    /// The path and query sent in the request line.
    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_string(),
        }
    }

    /// One line for the log: what is sent where, how.
    pub fn describe(&self) -> String {
        let pace = match self.model {
            Model::Closed => format!("{} connections back to back", self.concurrency),
            Model::Open { rate } => {
                format!("{rate} requests/s, at most {} in flight", self.concurrency)
            }
        };
        format!(
            "{} {} for {}s, {pace}, HTTP/{}",
            self.method,
            self.url,
            experiment::pyrepr::py_float(self.duration.as_secs_f64()),
            self.protocol.as_str()
        )
    }
}

/// Validation's check of `arguments` as written in the experiment: each argument that is
/// not a `${...}` placeholder must make a plan (defaults fill the others).
pub fn check_declared(args: &Map) -> Result<(), ArgumentError> {
    let concrete: Map = args
        .iter()
        .filter(|(_, v)| !is_placeholder(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if args.get("url").is_some_and(is_placeholder) {
        let mut with_url = concrete;
        with_url.insert("url".into(), Value::String("http://placeholder/".into()));
        return Plan::from_args(&with_url).map(drop);
    }
    Plan::from_args(&concrete).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(v: Value) -> Result<Plan, ArgumentError> {
        Plan::from_args(v.as_object().unwrap())
    }

    fn err(v: Value) -> (String, String) {
        let e = plan(v).unwrap_err();
        (e.argument.to_string(), e.message)
    }

    #[test]
    fn defaults_make_a_closed_http1_load() {
        let p = plan(json!({"url": "http://127.0.0.1:8080/a?b=1"})).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.authority.as_str()),
            ("127.0.0.1", 8080, "127.0.0.1:8080")
        );
        assert_eq!(p.path_and_query(), "/a?b=1");
        assert_eq!(
            (p.concurrency, p.threads, p.model, p.protocol),
            (10, 1, Model::Closed, Protocol::Http1)
        );
        assert_eq!(
            (p.duration, p.timeout),
            (Duration::from_secs(10), Duration::from_secs(10))
        );
        assert!(p.keep_alive);
    }

    #[test]
    fn siege_style_durations_and_json_bodies() {
        let p = plan(json!({"url": "http://h/", "duration": "20S", "timeout": "1m", "rate": 5, "body": {"a": 1}, "method": "post"})).unwrap();
        assert_eq!(p.duration, Duration::from_secs(20));
        assert_eq!(p.timeout, Duration::from_secs(60));
        assert_eq!(p.model, Model::Open { rate: 5.0 });
        assert_eq!(p.method, hyper::Method::POST);
        assert_eq!(&p.body[..], br#"{"a":1}"#);
        assert!(p
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "application/json"));
        assert_eq!(p.port, 80);
    }

    #[test]
    fn bad_urls_name_the_argument_and_the_fix() {
        assert_eq!(err(json!({})).0, "url");
        assert!(err(json!({"url": ""})).1.contains("is empty"));
        assert!(err(json!({"url": "counter.dev/"}))
            .1
            .contains("not a valid URL"));
        assert!(err(json!({"url": "ftp://h/"})).1.contains("must be http"));
        assert!(err(json!({"url": "https://h/"}))
            .1
            .contains("https is not supported"));
        assert!(err(json!({"url": "http://u:p@h/"}))
            .1
            .contains("Authorization"));
        assert!(err(json!({"url": 3})).1.contains("must be a string"));
    }

    #[test]
    fn absurd_values_are_refused_with_the_limit() {
        assert_eq!(
            err(json!({"url": "http://h/", "concurrency": 0})).0,
            "concurrency"
        );
        let (arg, msg) = err(json!({"url": "http://h/", "concurrency": 1_000_000}));
        assert_eq!(arg, "concurrency");
        assert!(msg.contains("10000"), "{msg}");
        assert_eq!(
            err(json!({"url": "http://h/", "concurrency": 2.5})).0,
            "concurrency"
        );
        assert_eq!(err(json!({"url": "http://h/", "rate": -1})).0, "rate");
        assert_eq!(err(json!({"url": "http://h/", "rate": 1e9})).0, "rate");
        assert_eq!(
            err(json!({"url": "http://h/", "duration": 0})).0,
            "duration"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "duration": "forever"})).0,
            "duration"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "duration": 1e12})).0,
            "duration"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "timeout": "x"})).0,
            "timeout"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "http_version": "3"})).0,
            "http_version"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "method": "BAD METHOD"})).0,
            "method"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "headers": ["a"]})).0,
            "headers"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "headers": {"bad name": "x"}})).0,
            "headers"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "threads": 100})).0,
            "threads"
        );
        assert_eq!(
            err(json!({"url": "http://h/", "http_version": "2", "keep_alive": false})).0,
            "keep_alive"
        );
    }

    #[test]
    fn validation_skips_placeholders_but_checks_the_rest() {
        let args = json!({"url": "${counter_service_url}", "duration": 20});
        assert_eq!(check_declared(args.as_object().unwrap()), Ok(()));
        let args = json!({"url": "${u}", "rate": 0});
        assert_eq!(
            check_declared(args.as_object().unwrap())
                .unwrap_err()
                .argument,
            "rate"
        );
        let args = json!({"url": "http://h/", "duration": "${d}"});
        assert_eq!(check_declared(args.as_object().unwrap()), Ok(()));
    }
}
