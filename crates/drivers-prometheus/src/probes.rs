//! `chaosprometheus.probes`: an instant query, a range query, and the mean of a range.
//!
//! `query` and `query_interval` return Prometheus' JSON as-is and fail with upstream's
//! messages (`failed to parse '<text>'`, `Prometheus query <params> failed: <body>`), with
//! `<params>` the Python `repr` of the query parameters, so journals and log lines match
//! the reference. Beyond upstream (docs/compatibility.md): the request is bounded
//! (`prometheus_client_timeout`, 60 s by default), a secured Prometheus is reached with
//! a bearer token or basic credentials from the secrets, and `compute_mean` (hence
//! `nodes_cpu_usage_mean`) works: upstream subtracts a date from a number and raises
//! `TypeError` before any request, and its `harmonic` branch is unreachable.

use experiment::pyrepr::{py_float, py_repr, py_str, py_truthy};
use experiment::{Map, Value};
use providers::registry::Kind;
use providers::table::{Bound, Def, Spec, CONFIGURATION, SECRETS};
use providers::{body, Failure, FailureKind, ProviderError};
use std::time::Duration;
use time::OffsetDateTime;

use crate::client::{self, Auth, HttpError, Limits, Request};
use crate::when;

pub const MODULE: &str = "chaosprometheus.probes";

/// Upstream's default when the configuration names no server.
pub const DEFAULT_BASE_URL: &str = "http://localhost:9090";
/// The configuration key that bounds one request, in seconds (not upstream's).
pub const CLIENT_TIMEOUT_KEY: &str = "prometheus_client_timeout";
/// The bound when the configuration sets none: Prometheus' own default query timeout is
/// 2 minutes, but a probe that waits that long has lost its point.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The query `nodes_cpu_usage_mean` runs, as upstream writes it.
pub const NODES_CPU_QUERY: &str =
    r#"100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])))"#;

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "query",
        kind: Kind::Probe,
        doc: "Run an instant query against a Prometheus server and returns its result\n    as-is.",
        params: &[
            ("query", Def::Required, Some("string")),
            ("when", Def::None, Some("string")),
            ("timeout", Def::None, Some("number")),
            ("verify_tls", Def::Bool(true), Some("boolean")),
            CONFIGURATION,
            SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(query),
    },
    Spec {
        name: "query_interval",
        kind: Kind::Probe,
        doc: "Run a range query against a Prometheus server and returns its result as-is.\n\n    The `start` and `end` arguments can be a RFC 3339 date or expressed more\n    colloquially such as `\"5 minutes ago\"`.",
        params: &[
            ("query", Def::Required, Some("string")),
            ("start", Def::Required, Some("string")),
            ("end", Def::Required, Some("string")),
            ("step", Def::Int(1), Some("integer")),
            ("timeout", Def::None, Some("number")),
            ("verify_tls", Def::Bool(true), Some("boolean")),
            CONFIGURATION,
            SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(query_interval),
    },
    Spec {
        name: "compute_mean",
        kind: Kind::Probe,
        doc: "Compute the mean of all returned datapoints of the range vector matching\n    the given query. The query must return a range vector.\n\n    The default computes an arithmetic mean. You can switch to geometric\n    or harmonic mean by passing `mean_type=\"geometric\"` or\n    `mean_type=\"harmonic\"`.",
        params: &[
            ("query", Def::Required, Some("string")),
            ("window", Def::Str("1d"), Some("string")),
            ("mean_type", Def::Str("arithmetic"), Some("string")),
            CONFIGURATION,
            SECRETS,
        ],
        return_type: Some("number"),
        body: body!(compute_mean),
    },
    Spec {
        name: "nodes_cpu_usage_mean",
        kind: Kind::Probe,
        doc: "Computes a mean of all nodes activities per minute over the given\n    `window`. We use the `node_cpu_seconds_total` metric to perform this\n    query.",
        params: &[
            ("window", Def::Str("1d"), Some("string")),
            CONFIGURATION,
            SECRETS,
        ],
        return_type: Some("number"),
        body: body!(nodes_cpu_usage_mean),
    },
];

/// `chaoslib.exceptions.ActivityFailed: <message>`, what upstream raises on purpose.
fn activity_failed(kind: FailureKind, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::failed(
        kind,
        format!("chaoslib.exceptions.ActivityFailed: {message}"),
    )
}

/// The server the configuration names, as upstream reads it (no trailing-slash cleanup).
fn base_url(configuration: &Map) -> String {
    configuration
        .get("prometheus_base_url")
        .map(py_str)
        .unwrap_or_else(|| DEFAULT_BASE_URL.into())
}

fn limits(configuration: &Map) -> Limits {
    let total = configuration
        .get(CLIENT_TIMEOUT_KEY)
        .and_then(client::seconds)
        .unwrap_or(DEFAULT_CLIENT_TIMEOUT);
    Limits {
        connect: CONNECT_TIMEOUT.min(total),
        total,
    }
}

/// An instant `text` names, or upstream's failure.
fn instant(value: &Value, now: OffsetDateTime) -> Result<OffsetDateTime, ProviderError> {
    let Value::String(text) = value else {
        // dateparser refuses anything but a string.
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            "TypeError: Input type must be str",
        ));
    };
    when::parse(text, now).ok_or_else(|| {
        activity_failed(
            FailureKind::Declaration,
            format!("failed to parse '{text}'"),
        )
    })
}

/// GETs `path` of the configured server with `params`, as upstream's `requests.get`.
async fn get(
    call: &Bound<'_>,
    path: &str,
    params: &Map,
    verify_tls: bool,
) -> Result<client::Answer, ProviderError> {
    let auth = Auth::from_secrets(&call.secrets)
        .map_err(|e| ProviderError::failed(FailureKind::Declaration, format!("ValueError: {e}")))?;
    let url = format!("{}{path}", base_url(call.configuration));
    let query: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), py_str(v))).collect();
    client::send(Request {
        method: reqwest::Method::GET,
        url: &url,
        query: &query,
        auth: &auth,
        verify_tls,
        limits: limits(call.configuration),
        body: None,
    })
    .await
    .map_err(request_failure)
}

/// A request that got no answer, named as `requests` names it.
fn request_failure(e: HttpError) -> ProviderError {
    let (kind, class) = match &e {
        HttpError::InvalidUrl { .. } => {
            (FailureKind::Declaration, "requests.exceptions.InvalidURL")
        }
        HttpError::Unreachable { .. } => (
            FailureKind::Unreachable,
            "requests.exceptions.ConnectionError",
        ),
        HttpError::Timeout { .. } => (FailureKind::Timeout, "requests.exceptions.ReadTimeout"),
        HttpError::Client(_) => (
            FailureKind::Environment,
            "requests.exceptions.RequestException",
        ),
    };
    let message = format!("{class}: Prometheus: {e}");
    ProviderError::Failed(Failure::new(kind, message).with_source(e))
}

/// `r.json()` of a 200 answer.
fn json(answer: &client::Answer) -> Result<Value, ProviderError> {
    if let Some(marker) = &answer.cut {
        return Err(ProviderError::failed(
            FailureKind::Remote,
            format!("requests.exceptions.JSONDecodeError: the answer of Prometheus is too large to decode{marker}"),
        ));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        let message = format!("requests.exceptions.JSONDecodeError: {e}");
        ProviderError::Failed(Failure::new(FailureKind::Remote, message).with_source(e))
    })
}

/// `{query, timeout}`, the parameters both queries start with (`timeout` when given).
fn query_params(call: &Bound<'_>) -> Map {
    let mut params = Map::new();
    params.insert("query".into(), call.arg("query").clone());
    if !call.arg("timeout").is_null() {
        params.insert("timeout".into(), call.arg("timeout").clone());
    }
    params
}

/// GETs `path` with `params`: the JSON of a 200 answer, or upstream's
/// `Prometheus <what> <params> failed: <body>`.
async fn run_query(
    call: &Bound<'_>,
    path: &str,
    what: &str,
    params: Map,
) -> Result<Value, ProviderError> {
    let shown = py_repr(&Value::Object(params.clone()));
    log::debug!("Querying with: {shown}");
    let answer = get(call, path, &params, call.flag("verify_tls")).await?;
    if answer.status != 200 {
        return Err(activity_failed(
            FailureKind::Remote,
            format!("Prometheus {what} {shown} failed: {}", answer.text()),
        ));
    }
    json(&answer)
}

async fn query(call: Bound<'_>) -> Result<Value, ProviderError> {
    let mut params = query_params(&call);
    if py_truthy(call.arg("when")) {
        let at = instant(call.arg("when"), OffsetDateTime::now_utc())?;
        params.insert("time".into(), Value::String(when::rfc3339(at)));
    }
    run_query(&call, "/api/v1/query", "query", params).await
}

async fn query_interval(call: Bound<'_>) -> Result<Value, ProviderError> {
    let now = OffsetDateTime::now_utc();
    let mut params = query_params(&call);
    if py_truthy(call.arg("step")) {
        params.insert("step".into(), call.arg("step").clone());
    }
    for bound in ["start", "end"] {
        let at = instant(call.arg(bound), now)?;
        params.insert(bound.into(), Value::String(when::rfc3339(at)));
    }
    run_query(&call, "/api/v1/query_range", "query range", params).await
}

async fn compute_mean(call: Bound<'_>) -> Result<Value, ProviderError> {
    let query = call.text("query");
    mean_of(&call, &query).await
}

async fn nodes_cpu_usage_mean(call: Bound<'_>) -> Result<Value, ProviderError> {
    mean_of(&call, NODES_CPU_QUERY).await
}

/// What upstream's `compute_mean` means to do: a range query over `window` (from its
/// start to now, 300 steps), and the mean of the first series' samples.
async fn mean_of(call: &Bound<'_>, query: &str) -> Result<Value, ProviderError> {
    let now = OffsetDateTime::now_utc();
    let start = instant(call.arg("window"), now)?;
    let start_s = unix_seconds(start);
    let end_s = unix_seconds(now);
    let step = (end_s - start_s) / 60.0 / 5.0;
    let mut params = Map::new();
    params.insert("query".into(), Value::String(query.into()));
    params.insert("start".into(), Value::String(py_float(start_s)));
    params.insert("end".into(), Value::String(py_float(end_s)));
    params.insert("step".into(), Value::String(py_float(step)));
    let answer = get(call, "/api/v1/query_range", &params, true).await?;
    if answer.status > 399 {
        log::debug!(
            "Failed to perform Prometheus query '{query}': {}",
            answer.text()
        );
        return Err(activity_failed(
            FailureKind::Remote,
            "Failed to run Prometheus query",
        ));
    }
    let response = json(&answer)?;
    if response.get("status").and_then(Value::as_str) != Some("success") {
        log::debug!("Prometheus query '{query}' not successful: {response}");
        return Err(activity_failed(
            FailureKind::Remote,
            "Prometheus query was not successful",
        ));
    }
    let values = response
        .pointer("/data/result/0/values")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ProviderError::failed(
                FailureKind::Check,
                format!("IndexError: list index out of range (the query '{query}' returned no range vector)"),
            )
        })?;
    let samples = values
        .iter()
        .map(sample)
        .collect::<Result<Vec<f64>, ProviderError>>()?;
    let mean = mean(&samples, &call.text("mean_type")).map_err(|e| {
        ProviderError::failed(
            FailureKind::Check,
            format!("statistics.StatisticsError: {e}"),
        )
    })?;
    serde_json::Number::from_f64(mean)
        .map(Value::Number)
        .ok_or_else(|| {
            ProviderError::failed(
                FailureKind::Check,
                format!("ValueError: the mean of '{query}' is not a number ({mean})"),
            )
        })
}

fn unix_seconds(t: OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

/// `float(value[1])` of one `[timestamp, "value"]` sample.
fn sample(pair: &Value) -> Result<f64, ProviderError> {
    let text = pair.get(1).map(py_str).unwrap_or_default();
    let parsed = match text.trim().to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse().ok(),
    };
    parsed.ok_or_else(|| {
        ProviderError::failed(
            FailureKind::Remote,
            format!(
                "ValueError: could not convert string to float: {}",
                py_repr(&Value::String(text))
            ),
        )
    })
}

/// Python's `statistics.fmean`, `geometric_mean` and `harmonic_mean`; any other
/// `mean_type` is arithmetic, as upstream.
pub fn mean(data: &[f64], mean_type: &str) -> Result<f64, &'static str> {
    let n = data.len() as f64;
    match mean_type {
        "geometric" => {
            if data.is_empty() || data.iter().any(|x| *x <= 0.0) {
                return Err(
                    "geometric mean requires a non-empty dataset containing positive numbers",
                );
            }
            Ok((data.iter().map(|x| x.ln()).sum::<f64>() / n).exp())
        }
        "harmonic" => {
            if data.is_empty() {
                return Err("harmonic_mean requires at least one data point");
            }
            if data.iter().any(|x| *x < 0.0) {
                return Err("harmonic mean does not support negative values");
            }
            if data.contains(&0.0) {
                return Ok(0.0);
            }
            Ok(n / data.iter().map(|x| 1.0 / x).sum::<f64>())
        }
        _ => {
            if data.is_empty() {
                return Err("fmean requires at least one data point");
            }
            Ok(data.iter().sum::<f64>() / n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn means_match_pythons_statistics() {
        // statistics.fmean / geometric_mean / harmonic_mean of [1, 2, 4] (Python 3.11).
        let data = [1.0, 2.0, 4.0];
        assert_eq!(mean(&data, "arithmetic"), Ok(7.0 / 3.0));
        assert_eq!(mean(&data, "whatever"), Ok(7.0 / 3.0));
        let g = mean(&data, "geometric").unwrap_or(f64::NAN);
        assert!((g - 2.0).abs() < 1e-12, "{g}");
        assert_eq!(mean(&data, "harmonic"), Ok(12.0 / 7.0));
        assert_eq!(mean(&[3.0, 0.0], "harmonic"), Ok(0.0));
        assert!(mean(&[3.0, -1.0], "harmonic").is_err());
        assert!(mean(&[3.0, 0.0], "geometric").is_err());
        assert!(mean(&[], "arithmetic").is_err());
    }

    #[test]
    fn samples_are_read_as_python_floats() {
        assert_eq!(sample(&json!([1, "0.5"])).ok(), Some(0.5));
        assert_eq!(sample(&json!([1, "+Inf"])).ok(), Some(f64::INFINITY));
        assert!(sample(&json!([1, "NaN"])).is_ok_and(f64::is_nan));
        let bad = sample(&json!([1, "x"])).err().map(|e| e.to_string());
        assert_eq!(
            bad.as_deref(),
            Some("ValueError: could not convert string to float: 'x'")
        );
    }

    #[test]
    fn the_base_url_and_the_bound_come_from_the_configuration() {
        let cfg = |v: Value| match v {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        assert_eq!(base_url(&Map::new()), DEFAULT_BASE_URL);
        assert_eq!(
            base_url(&cfg(json!({"prometheus_base_url": "http://p:9/"}))),
            "http://p:9/"
        );
        assert_eq!(limits(&Map::new()).total, DEFAULT_CLIENT_TIMEOUT);
        let short = limits(&cfg(json!({CLIENT_TIMEOUT_KEY: 2})));
        assert_eq!(
            (short.connect, short.total),
            (Duration::from_secs(2), Duration::from_secs(2))
        );
        assert_eq!(
            limits(&cfg(json!({CLIENT_TIMEOUT_KEY: "nope"}))).total,
            DEFAULT_CLIENT_TIMEOUT
        );
    }

    #[test]
    fn dates_that_are_not_strings_are_type_errors() {
        let now = OffsetDateTime::now_utc();
        let e = instant(&json!(5), now).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("TypeError: Input type must be str"));
        let e = instant(&json!("nope"), now).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("chaoslib.exceptions.ActivityFailed: failed to parse 'nope'")
        );
    }
}
