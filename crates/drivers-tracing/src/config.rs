//! Where the spans go, from the standard `OTEL_*` environment variables (the OpenTelemetry
//! SDK specification's names and defaults), which is all upstream's `chaostracing.oltp`
//! reads too.
//!
//! | variable | here |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the full URL spans are POSTed to, as is |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | a base URL; `/v1/traces` is appended (default `http://localhost:4318`) |
//! | `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS` | `k=v,k2=v2`, URL-decoded, sent with every export (never logged) |
//! | `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` | `http/protobuf` (default), `http/json`, `grpc` (OTLP/gRPC: the endpoint is used as is, default `http://localhost:4317`) |
//! | `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` | milliseconds one export may take (default 10000) |
//! | `OTEL_SERVICE_NAME` | the resource's `service.name` (default `chaostoolkit`) |
//! | `OTEL_SDK_DISABLED` | `true`: nothing is exported (spans are still made, so `traceparent` still flows) |
//! | `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | the queue bound (2048) and the batch size (512) |

use crate::otlp::Encoding;
use std::time::Duration;

pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// The specification's default for `grpc`.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The gRPC method every OTLP trace receiver serves.
pub const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// How an export request travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/HTTP: a POST to `…/v1/traces` in the [`Encoding`].
    Http,
    /// OTLP/gRPC: the protobuf request in gRPC framing over HTTP/2 (`h2c` for `http://`).
    Grpc,
}
pub const DEFAULT_SERVICE_NAME: &str = "chaostoolkit";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The exporter's settings for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The URL spans are POSTed to (`…/v1/traces`, or the gRPC method's URL).
    pub endpoint: String,
    pub transport: Transport,
    /// Whether `endpoint` came from `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` (non-empty)
    /// rather than the default; the legacy control's own host yields to it only then.
    pub endpoint_from_env: bool,
    pub headers: Vec<(String, String)>,
    pub encoding: Encoding,
    pub timeout: Duration,
    pub service_name: String,
    pub disabled: bool,
    pub max_queue: usize,
    pub max_batch: usize,
    /// Things worth a WARNING found while reading the variables (a bad value).
    pub notes: Vec<String>,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `var` (tests pass a map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |k: &str| {
            var(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let traces_or = |k: &str| {
            var(&format!("OTEL_EXPORTER_OTLP_TRACES_{k}"))
                .or_else(|| var(&format!("OTEL_EXPORTER_OTLP_{k}")))
        };
        let mut notes = Vec::new();
        let (encoding, transport) = match traces_or("PROTOCOL").as_deref() {
            None | Some("http/protobuf") => (Encoding::Protobuf, Transport::Http),
            Some("http/json") => (Encoding::Json, Transport::Http),
            Some("grpc") => (Encoding::Protobuf, Transport::Grpc),
            Some(other) => {
                notes.push(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not one of http/protobuf, http/json, grpc: using http/protobuf"
                ));
                (Encoding::Protobuf, Transport::Http)
            }
        };
        let endpoint_from_env = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        let endpoint = match (transport, var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
            (Transport::Http, Some(full)) => full,
            (Transport::Http, None) => signal_url(
                &var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_else(|| DEFAULT_ENDPOINT.into()),
            ),
            // gRPC has no per-signal path: both variables name the receiver itself.
            (Transport::Grpc, traces) => grpc_url(
                &traces
                    .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))
                    .unwrap_or_else(|| DEFAULT_GRPC_ENDPOINT.into()),
            ),
        };
        let headers = traces_or("HEADERS")
            .map(|h| parse_headers(&h))
            .unwrap_or_default();
        let timeout = traces_or("TIMEOUT")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let number = |k: &str, default: usize| {
            var(k)
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let max_queue = number("OTEL_BSP_MAX_QUEUE_SIZE", 2048);
        Config {
            endpoint,
            transport,
            endpoint_from_env,
            headers,
            encoding,
            timeout,
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| DEFAULT_SERVICE_NAME.into()),
            disabled: var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            max_batch: number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512).min(max_queue),
            max_queue,
            notes,
        }
    }

    /// The endpoint as shown in messages (a password masked).
    pub fn shown_endpoint(&self) -> String {
        crate::shown(&self.endpoint)
    }
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base: the traces path is appended to it.
pub fn signal_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// A gRPC receiver (`http://host:4317`, or `host:4317` as the Python exporter also
/// takes it) turned into the URL of the trace service's `Export` method. A path in the
/// endpoint is ignored, as the OpenTelemetry SDKs do: a gRPC method has its own.
pub fn grpc_url(endpoint: &str) -> String {
    let parsed = url::Url::parse(endpoint)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| url::Url::parse(&format!("http://{endpoint}")).ok());
    match parsed {
        Some(mut u) => {
            u.set_path(GRPC_PATH);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        None => endpoint.to_string(),
    }
}

/// `k=v,k2=v2`, each side percent-decoded (the spec's W3C-baggage-like format).
pub fn parse_headers(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let decode = |s: &str| {
                url::form_urlencoded::parse(
                    format!("x={}", s.trim().replace('+', "%2B")).as_bytes(),
                )
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
            };
            let k = decode(k);
            (!k.is_empty()).then(|| (k, decode(v)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn only_a_non_empty_endpoint_variable_counts_as_set() {
        assert!(!config(&[]).endpoint_from_env);
        assert!(!config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).endpoint_from_env);
        assert!(config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1")]).endpoint_from_env);
        assert!(
            config(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:2/t")]).endpoint_from_env
        );
    }

    #[test]
    fn defaults_follow_the_specification() {
        let c = config(&[]);
        assert_eq!(c.endpoint, "http://localhost:4318/v1/traces");
        assert_eq!(c.encoding, Encoding::Protobuf);
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.service_name, "chaostoolkit");
        assert!(!c.disabled);
        assert_eq!((c.max_queue, c.max_batch), (2048, 512));
        assert!(c.notes.is_empty());
        assert_eq!(c.transport, Transport::Http);
    }

    #[test]
    fn the_traces_variables_win_over_the_generic_ones() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x=1"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                "api-key=s%3Dcret, b = 2",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500"),
            ("OTEL_SERVICE_NAME", "ci"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ]);
        assert_eq!(c.endpoint, "http://a:1/v1/traces");
        assert_eq!(
            c.headers,
            vec![
                ("api-key".into(), "s=cret".into()),
                ("b".into(), "2".into())
            ]
        );
        assert_eq!(c.encoding, Encoding::Json);
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!(c.service_name, "ci");
        assert!(c.disabled);
        let full = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:1"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:2/custom"),
        ]);
        assert_eq!(full.endpoint, "http://b:2/custom");
    }

    #[test]
    fn grpc_names_the_receiver_itself() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://collector:4317/ignored?x=1",
            ),
        ]);
        assert_eq!(c.transport, Transport::Grpc);
        assert_eq!(c.encoding, Encoding::Protobuf);
        assert_eq!(c.endpoint, format!("http://collector:4317{GRPC_PATH}"));
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        let default = config(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")]);
        assert_eq!(
            default.endpoint,
            format!("http://localhost:4317{GRPC_PATH}")
        );
        let base = config(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example:443/"),
        ]);
        assert_eq!(base.endpoint, format!("https://otel.example{GRPC_PATH}"));
        assert_eq!(
            grpc_url("collector:4317"),
            format!("http://collector:4317{GRPC_PATH}")
        );
    }

    #[test]
    fn unknown_protocols_fall_back_with_a_note() {
        let odd = config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")]);
        assert_eq!(odd.encoding, Encoding::Protobuf);
        assert!(odd.notes[0].contains("carrier-pigeon"));
    }
}
