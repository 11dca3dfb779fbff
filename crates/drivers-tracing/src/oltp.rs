//! `chaostracing.oltp`: the current OpenTelemetry control of chaostoolkit-opentracing.
//!
//! The span tree and attributes are upstream's (docs/tracing.md has the table): a root
//! `experiment` span started when the control is configured, `hypothesis` spans with
//! their phase, `method`, `rollbacks`, and one `activity: <name>` span per activity under
//! the phase running it (background activities included), error status and an
//! `exception` event on a failed activity.
//!
//! Beyond upstream:
//! - `TRACEPARENT` (and `TRACESTATE`) in the environment makes the `experiment` span a
//!   child of the caller's trace (a CI job's);
//! - `trace_request` (on by default here, off upstream, where it turns on `requests`'
//!   instrumentation) injects `traceparent`/`tracestate` into the headers of `http`
//!   providers and of the native drivers' own HTTP calls (`providers::outbound`) while
//!   their activity span is current;
//! - resolved secret values never reach a span (`***`);
//! - an unreachable collector is one WARNING naming the control and the endpoint
//!   (upstream's batch processor logs at ERROR per batch and retries).

use crate::config::Config;
use crate::export::Exporter;
use crate::span::{AttrValue, Context, Span, TraceParent};
use crate::tracer::{with_headers, Runs, Traced, Tracer};
use experiment::pyjson::{dumps, Style};
use experiment::pyrepr::py_truthy;
use experiment::{Map, Value};
use providers::control::{Changes, ConfigureCall, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;

pub const MODULE: &str = "chaostracing.oltp";

/// The control: one [`Tracer`] per declared control name for the current run, and its
/// `trace_request` flag.
#[derive(Default)]
pub struct Oltp {
    runs: Runs<bool>,
}

/// The caller's trace, from `TRACEPARENT` / `TRACESTATE` (an invalid value is ignored,
/// with a WARNING naming the variable).
pub fn caller_context(control: &str, module: &str) -> Option<Context> {
    let raw = std::env::var("TRACEPARENT").ok()?;
    if raw.trim().is_empty() {
        return None;
    }
    match TraceParent::parse(&raw) {
        Some(p) => Some(Context {
            trace_id: p.trace_id,
            span_id: p.span_id,
            trace_state: std::env::var("TRACESTATE").unwrap_or_default(),
        }),
        None => {
            log::warn!(
                "Control '{control}' ({module}) ignores TRACEPARENT: '{}' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>); the run starts a trace of its own",
                raw.chars().take(80).collect::<String>()
            );
            None
        }
    }
}

/// The exporter's settings, with a WARNING for each problem found in them.
pub fn config_with_notes(control: &str, module: &str) -> Config {
    let config = Config::from_env();
    for note in &config.notes {
        log::warn!("Control '{control}' ({module}): {note}");
    }
    config
}

/// The W3C headers for a span context.
pub fn w3c_headers(context: &Context) -> Vec<(String, String)> {
    let mut headers = vec![(
        "traceparent".to_string(),
        TraceParent {
            trace_id: context.trace_id,
            span_id: context.span_id,
            sampled: true,
        }
        .header(),
    )];
    if !context.trace_state.is_empty() {
        headers.push(("tracestate".to_string(), context.trace_state.clone()));
    }
    headers
}

fn activity_name(activity: &Value) -> String {
    activity
        .get("name")
        .map(experiment::pyrepr::py_str)
        .unwrap_or_else(|| "None".into())
}

/// Ends an activity span from its run record, as upstream's `finish_activity`.
pub fn record_run(span: &mut Span, run: Option<&Value>, mask: &dyn Fn(&str) -> String) {
    let Some(run) = run.filter(|r| r.is_object()) else {
        return;
    };
    // As upstream: the output always (`json.dumps(None)` is `null`), the status, and the
    // traceback lines as a string array when there is one.
    let output = run.get("output").unwrap_or(&Value::Null);
    span.set(
        "chaostoolkit.activity.output",
        mask(&dumps(output, Style::PYTHON)),
    );
    if let Some(status) = run.get("status").and_then(Value::as_str) {
        span.set("chaostoolkit.activity.status", status);
    }
    let lines: Vec<String> = match run.get("exception") {
        Some(Value::Array(lines)) => lines.iter().map(experiment::pyrepr::py_str).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    };
    if !lines.is_empty() {
        let lines: Vec<String> = lines.iter().map(|l| mask(l)).collect();
        let stack: String = lines.concat();
        span.set(
            "chaostoolkit.activity.error",
            crate::span::AttrValue::StrArray(lines),
        );
        // Shakedown: the error status and exception event upstream's span never gets
        // (chaoslib catches the activity's exception before the span would see it).
        let last = stack.trim_end().lines().last().unwrap_or("").to_string();
        let (kind, message) = last
            .split_once(": ")
            .map(|(k, m)| (k.to_string(), m.to_string()))
            .unwrap_or_else(|| ("ActivityFailed".to_string(), last.clone()));
        span.fail(&kind, &message, Some(&stack));
    } else if run.get("status").and_then(Value::as_str) == Some("failed") {
        span.fail("ActivityFailed", "the activity failed", None);
    }
}

/// What the declaration asks for that this control does not do, one sentence each: a
/// vendor other than the default (`configuration.otel_vendor` or `$OTEL_VENDOR`), and the
/// Python libraries' auto-instrumentation flags (`trace_httpx`, `trace_botocore`,
/// `trace_urllib3`). Each is a WARNING at configure time, never silence.
pub fn unsupported(arguments: &Map, configuration: &Map) -> Vec<String> {
    let mut notes = Vec::new();
    let vendor = configuration
        .get("otel_vendor")
        .filter(|v| !v.is_null())
        .map(experiment::pyrepr::py_str)
        .or_else(|| std::env::var("OTEL_VENDOR").ok())
        .filter(|v| !v.trim().is_empty());
    if let Some(vendor) = vendor {
        notes.push(format!(
            "vendor '{vendor}' is not supported: spans go over OTLP/HTTP to the OTEL_EXPORTER_OTLP_* endpoint, with W3C trace context"
        ));
    }
    for flag in ["trace_httpx", "trace_botocore", "trace_urllib3"] {
        if arguments.get(flag).is_some_and(py_truthy) {
            notes.push(format!(
                "{flag} instruments a Python library and does nothing here: only http providers get trace context"
            ));
        }
    }
    notes
}

impl Control for Oltp {
    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            let config = config_with_notes(call.name, MODULE);
            for note in unsupported(call.arguments, call.configuration) {
                log::warn!("Control '{}' ({MODULE}): {note}", call.name);
            }
            let exporter = Exporter::new(call.name, MODULE, config);
            let parent = caller_context(call.name, MODULE);
            let tracer = Tracer::new(exporter, call.secrets, parent);
            let title = call
                .experiment
                .get("title")
                .map(experiment::pyrepr::py_str)
                .unwrap_or_default();
            tracer.start_root(
                "experiment",
                vec![("chaostoolkit.experiment.title", AttrValue::from(title))],
            );
            let trace_request = call.arguments.get("trace_request").is_none_or(py_truthy);
            self.runs
                .start(
                    call.name,
                    Traced {
                        tracer,
                        extra: trace_request,
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
            match (call.level, call.when) {
                (Level::Hypothesis, When::Before) => {
                    let phase = if tracer.method_started() {
                        "after"
                    } else {
                        "before"
                    };
                    tracer.start_phase(
                        "hypothesis",
                        vec![("chaostoolkit.hypothesis.phase", phase.into())],
                        false,
                    );
                }
                (Level::Hypothesis, When::After) => tracer.end_phase(|span| {
                    if let Some(met) = call
                        .state
                        .and_then(|s| s.get("steady_state_met"))
                        .and_then(Value::as_bool)
                    {
                        span.set("chaostoolkit.hypothesis.met", met);
                    }
                }),
                (Level::Method, When::Before) => tracer.start_phase("method", vec![], true),
                (Level::Rollback, When::Before) => tracer.start_phase("rollbacks", vec![], false),
                (Level::Method | Level::Rollback, When::After) => tracer.end_phase(|_| {}),
                (Level::Activity, When::Before) => {
                    let name = activity_name(call.context);
                    let background = call.context.get("background").is_some_and(py_truthy);
                    let context =
                        tracer.start_activity(&name, &format!("activity: {name}"), |span| {
                            span.set("chaostoolkit.activity.name", name.as_str());
                            span.set("chaostoolkit.activity.background", background);
                        });
                    if run.extra {
                        let headers = w3c_headers(&context);
                        // An `http` provider's declaration, and a driver's own calls.
                        return Ok(Changes {
                            context: with_headers(call.context, &headers),
                            outbound_headers: headers,
                            ..Changes::default()
                        });
                    }
                }
                (Level::Activity, When::After) => {
                    let name = activity_name(call.context);
                    tracer.end_activity(&name, |span| {
                        record_run(span, call.state, &|s| tracer.mask(s));
                    });
                }
                (Level::Experiment, When::After) => {
                    let journal = call.state.cloned().unwrap_or(Value::Null);
                    tracer.with_root(|root| end_experiment(root, &journal));
                    tracer.end_all();
                    tracer.flush().await;
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

/// The root's closing attributes, from the journal.
fn end_experiment(root: &mut Span, journal: &Value) {
    if let Some(platform) = journal.get("platform").and_then(Value::as_str) {
        root.set("chaostoolkit.platform.full", platform);
    }
    let status = journal.get("status").and_then(Value::as_str);
    if let Some(status) = status {
        root.set("chaostoolkit.experiment.status", status);
    }
    root.set(
        "chaostoolkit.experiment.deviated",
        journal.get("deviated").is_some_and(py_truthy),
    );
    if status == Some("interrupted") {
        root.set("chaostoolkit.experiment.interrupted", true);
    }
}
