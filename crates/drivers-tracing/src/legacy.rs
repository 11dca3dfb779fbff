//! `chaostracing.control`: the legacy OpenTracing control of chaostoolkit-opentracing
//! (the one the seeds and the talk declare), hook by hook.
//!
//! Spans are named after the experiment title, the hypothesis title, `Method`,
//! `Rollbacks` and each activity's name, with the OpenTracing tags (`type`, `target`, the
//! contributions, `activity`, `status`, `deviated`, `error`, `http.*`) as span attributes
//! and the logs as span events. The span context travels in the headers of `http`
//! providers as upstream's `inject` puts it there: `uber-trace-id` (Jaeger's format;
//! `tracing_id_name` renames it), the B3 headers with `tracing_propagation: b3`, or W3C
//! `traceparent` for the `opentelemetry` provider; the same headers go with the native
//! drivers' own HTTP calls (`providers::outbound`; upstream: none).
//!
//! Where the spans go (docs/tracing.md): upstream's Jaeger client sends them to the
//! agent over UDP (Thrift compact, port 6831). Jaeger deprecated the agent and
//! `jaeger_client` is archived; this control sends OTLP/HTTP to the **same host**, port
//! 4318 (`tracing_otlp_port` changes it), which every Jaeger since 1.35 (the v2
//! all-in-one included) and every OpenTelemetry Collector receives, with one exporter for
//! both generations; the `OTEL_EXPORTER_OTLP_*` variables, when set, win.

use crate::config::{grpc_url, Config, Transport};
use crate::export::Exporter;
use crate::oltp::{caller_context, w3c_headers};
use crate::span::{AttrValue, Context, Kind, Span};
use crate::tracer::{with_headers, Runs, Traced, Tracer};
use experiment::pyjson::{dumps, Style};
use experiment::pyrepr::{py_str, py_truthy};
use experiment::{Map, Value};
use providers::control::{Changes, ConfigureCall, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;

pub const MODULE: &str = "chaostracing.control";
/// The OTLP/HTTP port the legacy control sends to on the declared tracing host.
pub const DEFAULT_OTLP_PORT: u16 = 4318;

/// How a span context is written into HTTP headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Propagation {
    /// Jaeger's `uber-trace-id: {trace}:{span}:{parent}:{flags}` (the header name may be
    /// changed with `tracing_id_name`).
    Jaeger { header: String },
    /// Zipkin's B3 multi-header format.
    B3,
    /// W3C trace context.
    W3c,
}

/// The settings the control resolves from its arguments and the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `noop`, `jaeger` or `opentelemetry`.
    pub provider: String,
    pub propagation: Propagation,
    /// Where the spans go; `None` with the `noop` provider.
    pub endpoint: Option<String>,
    /// How: OTLP/HTTP, or OTLP/gRPC (the `oltp-grpc` exporter, or `grpc` in the
    /// environment when its endpoint is the one used).
    pub transport: Transport,
}

impl Settings {
    /// `arguments` win over the `tracing_*` configuration keys, as upstream.
    pub fn resolve(arguments: &Map, configuration: &Map, env: &Config) -> Self {
        let pick = |arg: &str, key: &str| {
            arguments
                .get(arg)
                .or_else(|| configuration.get(key))
                .filter(|v| !v.is_null())
                .map(py_str)
        };
        let provider = pick("provider", "tracing_provider").unwrap_or_else(|| "noop".into());
        let host = pick("host", "tracing_host").unwrap_or_else(|| "localhost".into());
        let port = pick("otlp_port", "tracing_otlp_port")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(DEFAULT_OTLP_PORT);
        let exporter = pick("opentelemetry_exporter", "tracing_opentelemetry_exporter");
        let propagation = match pick("propagation", "tracing_propagation").as_deref() {
            Some(p) if p.eq_ignore_ascii_case("b3") => Propagation::B3,
            _ if provider == "opentelemetry" => {
                if configuration.contains_key("tracing_opentelemetry_baggage_prefix") {
                    Propagation::B3
                } else {
                    Propagation::W3c
                }
            }
            _ => Propagation::Jaeger {
                header: pick("id_name", "tracing_id_name")
                    .unwrap_or_else(|| "uber-trace-id".into()),
            },
        };
        let env_set = env.endpoint_from_env;
        let same_host = |port: u16| {
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.clone()
            };
            format!("http://{host}:{port}/v1/traces")
        };
        let collector = pick(
            "collector_endpoint",
            "tracing_opentelemetry_collector_endpoint",
        );
        let (endpoint, transport) = match provider.as_str() {
            // Upstream's `oltp-grpc` exporter: its collector endpoint (upstream's default
            // is localhost:4317; here the tracing host's 4317), or the environment's.
            "opentelemetry" if exporter.as_deref() == Some("oltp-grpc") => {
                let endpoint = match collector {
                    Some(c) => grpc_url(&c),
                    None if env_set && env.transport == Transport::Grpc => env.endpoint.clone(),
                    None => grpc_url(&same_host(4317)),
                };
                (Some(endpoint), Transport::Grpc)
            }
            "jaeger" if !env_set => (Some(same_host(port)), Transport::Http),
            "opentelemetry" if exporter.as_deref() != Some("oltp-http") && !env_set => {
                (Some(same_host(port)), Transport::Http)
            }
            "jaeger" | "opentelemetry" => (Some(env.endpoint.clone()), env.transport),
            _ => (None, Transport::Http),
        };
        Settings {
            provider,
            propagation,
            endpoint,
            transport,
        }
    }

    /// The headers carrying `span` (child of `parent`).
    pub fn headers(&self, span: &Context, parent: Option<&str>) -> Vec<(String, String)> {
        match &self.propagation {
            Propagation::Jaeger { header } => vec![(
                header.clone(),
                format!(
                    "{}:{}:{}:1",
                    span.trace_id,
                    span.span_id,
                    parent.unwrap_or("0")
                ),
            )],
            Propagation::B3 => {
                // jaeger_client's B3 codec order.
                let mut h = vec![
                    ("X-B3-TraceId".to_string(), span.trace_id.hex()),
                    ("X-B3-SpanId".to_string(), span.span_id.hex()),
                ];
                if let Some(p) = parent {
                    h.push(("X-B3-ParentSpanId".to_string(), p.to_string()));
                }
                h.push(("X-B3-Sampled".to_string(), "1".to_string()));
                h
            }
            Propagation::W3c => w3c_headers(span),
        }
    }
}

/// The control: one [`Tracer`] per declared control name for the current run, and its
/// [`Settings`].
#[derive(Default)]
pub struct Legacy {
    runs: Runs<Settings>,
}

fn title(v: &Value) -> String {
    v.get("title").map(py_str).unwrap_or_else(|| "None".into())
}

fn set_error(span: &mut Span, why: &str) {
    span.set("error", true);
    span.status = crate::span::Status::Error(why.to_string());
}

impl Control for Legacy {
    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            let mut config = crate::oltp::config_with_notes(call.name, MODULE);
            let settings = Settings::resolve(call.arguments, call.configuration, &config);
            let Some(endpoint) = settings.endpoint.clone() else {
                if settings.provider == "noop" {
                    log::debug!("Control '{}' ({MODULE}): the noop tracer", call.name);
                } else {
                    log::warn!(
                        "Control '{}' ({MODULE}): tracing provider '{}' is not supported (jaeger, opentelemetry or noop): no spans are sent",
                        call.name,
                        settings.provider
                    );
                }
                self.runs.forget(call.name);
                return Ok(());
            };
            config.endpoint = endpoint;
            config.transport = settings.transport;
            let exporter = Exporter::new(call.name, MODULE, config);
            let tracer = Tracer::new(exporter, call.secrets, caller_context(call.name, MODULE));
            self.runs
                .start(
                    call.name,
                    Traced {
                        tracer,
                        extra: settings,
                    },
                )
                .await;
            Ok(())
        })
    }

    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async move {
            let Some(run) = self.runs.get(call.name) else {
                return Ok(Changes::default());
            };
            let tracer = &run.tracer;
            // jaeger_client writes a non-scalar log value with `str()`, the OpenTelemetry
            // shim with `json.dumps`.
            let python_str = run.extra.provider != "opentelemetry";
            match (call.level, call.when) {
                (Level::Experiment, When::Before) => {
                    let experiment = call.context;
                    let mut attributes: Vec<(&str, AttrValue)> =
                        vec![("type", "experiment".into())];
                    if let Some(Value::Array(tags)) = experiment.get("tags") {
                        let joined: Vec<String> = tags.iter().map(py_str).collect();
                        attributes.push(("target", joined.join(", ").into()));
                    }
                    tracer.start_root(&title(experiment), attributes);
                    if let Some(Value::Object(c)) = experiment.get("contributions") {
                        tracer.with_root(|root| {
                            for (k, v) in c {
                                root.set(k, py_str(v));
                            }
                        });
                    }
                }
                (Level::Experiment, When::After) => {
                    let journal = call.state.cloned().unwrap_or(Value::Null);
                    tracer.with_root(|root| {
                        if let Some(status) = journal.get("status").and_then(Value::as_str) {
                            root.set("status", status);
                        }
                    });
                    tracer.end_all();
                    tracer.flush().await;
                }
                (Level::Hypothesis, When::Before) => tracer.start_phase(
                    &title(call.context),
                    vec![("type", "hypothesis".into())],
                    false,
                ),
                (Level::Hypothesis, When::After) => tracer.end_phase(|span| {
                    let Some(state) = call.state.filter(|s| s.is_object()) else {
                        return;
                    };
                    let met = state.get("steady_state_met").is_some_and(py_truthy);
                    span.set("deviated", !met);
                    if !met {
                        set_error(span, "the steady state hypothesis was not met");
                        let last = state
                            .get("probes")
                            .and_then(Value::as_array)
                            .and_then(|p| p.last());
                        if let Some(probe) = last {
                            let activity = probe.get("activity").unwrap_or(&Value::Null);
                            // Upstream's `log_kv` of these three keys: no `event` field.
                            let fields = [
                                ("probe", activity.get("name")),
                                ("expected", activity.get("tolerance")),
                                ("computed", probe.get("output")),
                            ];
                            let fields = fields
                                .into_iter()
                                .map(|(k, v)| {
                                    let v = v.unwrap_or(&Value::Null);
                                    (k.to_string(), log_value(v, python_str, tracer))
                                })
                                .collect();
                            span.event("", fields);
                        }
                    }
                }),
                (Level::Method, When::Before) => {
                    tracer.start_phase("Method", vec![("type", "method".into())], true)
                }
                (Level::Rollback, When::Before) => {
                    tracer.start_phase("Rollbacks", vec![("type", "rollback".into())], false)
                }
                (Level::Method | Level::Rollback, When::After) => tracer.end_phase(|_| {}),
                (Level::Activity, When::Before) => {
                    let activity = call.context;
                    let name = activity.get("name").map(py_str).unwrap_or_default();
                    let provider = activity.get("provider").unwrap_or(&Value::Null);
                    let http = provider.get("type").and_then(Value::as_str) == Some("http");
                    let mut parent_id = None;
                    let context = tracer.start_activity(&name, &name, |span| {
                        parent_id = span.parent.map(|p| p.hex());
                        span.set("type", "activity");
                        if let Some(kind) = activity.get("type") {
                            span.set("activity", py_str(kind));
                        }
                        // Upstream's `log_kv(provider)`: one field per provider key.
                        if let Some(provider) = provider.as_object() {
                            let fields = provider
                                .iter()
                                .map(|(k, v)| (k.clone(), log_value(v, python_str, tracer)))
                                .collect();
                            span.event("", fields);
                        }
                        if http {
                            let method = provider
                                .get("method")
                                .map(py_str)
                                .unwrap_or_else(|| "GET".into())
                                .to_uppercase();
                            span.set("http.method", method);
                            let url = provider.get("url").map(py_str).unwrap_or_default();
                            span.set("http.url", tracer.mask(&url));
                            span.set("span.kind", "client");
                            span.kind = Kind::Client;
                        }
                    });
                    let headers = run.extra.headers(&context, parent_id.as_deref());
                    // An `http` provider gets them in its declaration (upstream's
                    // `inject`), a driver's own calls through `providers::outbound`.
                    return Ok(Changes {
                        context: if http {
                            with_headers(activity, &headers)
                        } else {
                            None
                        },
                        outbound_headers: headers,
                        ..Changes::default()
                    });
                }
                (Level::Activity, When::After) => {
                    let name = call.context.get("name").map(py_str).unwrap_or_default();
                    tracer.end_activity(&name, |span| {
                        end_activity(span, call.context, call.state, tracer)
                    });
                }
                _ => {}
            }
            Ok(Changes::default())
        })
    }

    fn cleanup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.runs.finish(name))
    }
}

/// One `log_kv` value as upstream's tracer writes it: scalars as they are, anything else
/// as Python's `str()` (jaeger_client) or `json.dumps` (the OpenTelemetry shim); strings
/// masked.
fn log_value(v: &Value, python_str: bool, tracer: &Tracer) -> AttrValue {
    match v {
        Value::Bool(b) => AttrValue::Bool(*b),
        Value::Number(n) if n.is_i64() => AttrValue::Int(n.as_i64().unwrap_or_default()),
        Value::Number(n) => AttrValue::Double(n.as_f64().unwrap_or_default()),
        Value::String(s) => tracer.mask(s).into(),
        other if python_str => tracer.mask(&py_str(other)).into(),
        other => tracer.mask(&dumps(other, Style::PYTHON)).into(),
    }
}

/// `after_activity_control`: the run's status, HTTP status (`http` providers only) and
/// tolerance as tags.
fn end_activity(span: &mut Span, activity: &Value, run: Option<&Value>, tracer: &Tracer) {
    let Some(run) = run.filter(|r| r.is_object()) else {
        return;
    };
    let http = activity
        .get("provider")
        .and_then(|p| p.get("type"))
        .and_then(Value::as_str)
        == Some("http");
    if let Some(code) = run
        .get("output")
        .and_then(|o| o.get("status"))
        .and_then(Value::as_i64)
        .filter(|_| http)
    {
        span.set("http.status_code", code);
    }
    if let Some(status) = run.get("status").and_then(Value::as_str) {
        span.set("status", status);
    }
    if run.get("status").and_then(Value::as_str) == Some("failed") {
        // Upstream logs `state["exception"]`, the list of traceback lines, as
        // jaeger_client writes any non-scalar: its Python `str()`.
        let stack = match run.get("exception") {
            Some(other) if !other.is_null() => py_str(other),
            _ => String::new(),
        };
        set_error(span, "the activity failed");
        span.event(
            "error",
            vec![
                ("event".into(), "error".into()),
                ("stack".into(), tracer.mask(&stack).into()),
            ],
        );
    }
    if let Some(met) = run.get("tolerance_met").and_then(Value::as_bool) {
        span.set("deviated", i64::from(!met));
        if !met {
            set_error(span, "the probe's tolerance was not met");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GRPC_PATH;
    use serde_json::json;

    fn resolve(configuration: Value, env: &[(&str, &str)]) -> Settings {
        let env = Config::from_lookup(|k| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        });
        let Value::Object(configuration) = configuration else {
            panic!("an object")
        };
        Settings::resolve(&Map::new(), &configuration, &env)
    }

    #[test]
    fn jaeger_goes_to_the_same_hosts_otlp_http_port_unless_the_environment_says() {
        let s = resolve(
            json!({"tracing_provider": "jaeger", "tracing_host": "j", "tracing_port": 6831}),
            &[],
        );
        assert_eq!(s.endpoint.as_deref(), Some("http://j:4318/v1/traces"));
        assert_eq!(s.transport, Transport::Http);
        let s = resolve(
            json!({"tracing_provider": "jaeger", "tracing_host": "j"}),
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
        );
        assert_eq!(s.endpoint, Some(format!("http://c:4317{GRPC_PATH}")));
        assert_eq!(s.transport, Transport::Grpc);
    }

    #[test]
    fn the_oltp_grpc_exporter_speaks_grpc() {
        let declared = json!({"tracing_provider": "opentelemetry",
            "tracing_opentelemetry_exporter": "oltp-grpc", "tracing_host": "h"});
        let s = resolve(declared.clone(), &[]);
        assert_eq!(s.endpoint, Some(format!("http://h:4317{GRPC_PATH}")));
        assert_eq!(s.transport, Transport::Grpc);
        let mut with_collector = declared;
        with_collector["tracing_opentelemetry_collector_endpoint"] = json!("otel:5317");
        let s = resolve(
            with_collector,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1")],
        );
        assert_eq!(s.endpoint, Some(format!("http://otel:5317{GRPC_PATH}")));
        assert_eq!(s.propagation, Propagation::W3c);
    }

    #[test]
    fn noop_sends_nothing() {
        let s = resolve(json!({}), &[]);
        assert_eq!((s.provider.as_str(), s.endpoint), ("noop", None));
    }
}
