//! `chaostracing` in a real `chaos run`, the spans read back from a real Jaeger
//! (`scripts/jaeger-peer`, support/jaeger.rs):
//! - `chaostracing.oltp`: the span tree (`experiment` → `hypothesis` ×2, `method`,
//!   `rollbacks` → `activity: <name>`, background activities included), the attributes,
//!   the error status and exception event of a failed activity, and the `traceparent`
//!   the test HTTP server received matching the activity span Jaeger stored; secrets
//!   masked; both OTLP encodings (http/protobuf, http/json);
//! - `TRACEPARENT` in the environment: the run joins the caller's trace;
//! - the legacy `chaostracing.control` with the talk's declaration (`tracing_provider:
//!   jaeger`, `tracing_propagation: b3`): spans named after titles, its tags, the B3
//!   headers the server received matching the span;
//! - a collector that is down: the same status and exit code, one WARNING naming the
//!   control and the endpoint;
//! - differential: the same experiment through the reference with chaostoolkit-opentracing
//!   (`scripts/reference-venv-tracing`) into the same Jaeger: the same exit code and
//!   status, span names, parent links and `chaostoolkit.*` attribute keys.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/jaeger.rs"]
mod jaeger;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use jaeger::Seen;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

const SECRET: &str = "t0ken-never-in-a-span";

fn run_chaos(dir: &Path, experiment: &Value, env: &[(&str, &str)]) -> (Output, Value) {
    std::fs::write(dir.join("experiment.json"), experiment.to_string()).unwrap();
    let mut cmd = run::chaos_command(
        dir,
        &[
            "run",
            "--rollback-strategy",
            "always",
            "--journal-path",
            "journal.json",
            "experiment.json",
        ],
        &[],
    );
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") || k == "TRACEPARENT" || k == "TRACESTATE" {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("CHAOS_PYTHON_MODULES");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run chaos");
    let journal = run::read_json(&dir.join("journal.json"));
    (out, journal)
}

/// The experiment of the current-control tests: an HTTP probe (echoing the headers it
/// got), a background process, an action that uses a secret, one that fails, an HTTP
/// rollback.
fn experiment(server: &str, controls: Value) -> Value {
    json!({
        "title": "Traced from end to end",
        "description": "d",
        "tags": ["svc", "tracing"],
        "contributions": {"reliability": "high"},
        "secrets": {"api": {"token": SECRET}},
        "controls": controls,
        "steady-state-hypothesis": {
            "title": "the service answers",
            "probes": [{
                "name": "echo-probe", "type": "probe", "tolerance": 200,
                "provider": {"type": "http", "url": format!("{server}/echo/probe")}
            }]
        },
        "method": [
            {"name": "in-background", "type": "action", "background": true,
             "provider": {"type": "process", "path": "true"}},
            {"name": "use-secret", "type": "action", "secrets": ["api"],
             "provider": {"type": "process", "path": "echo", "arguments": "${token}"}},
            {"name": "unreachable", "type": "action",
             "provider": {"type": "http", "url": format!("http://127.0.0.1:{}/x", http_server::closed_port()), "timeout": 5}}
        ],
        "rollbacks": [{
            "name": "echo-rollback", "type": "action",
            "provider": {"type": "http", "url": format!("{server}/echo/rollback")}
        }]
    })
}

fn oltp_control() -> Value {
    json!([{"name": "opentelemetry", "provider": {"type": "python", "module": "chaostracing.oltp"}}])
}

fn by_name<'a>(spans: &'a [Seen], name: &str) -> Vec<&'a Seen> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [Seen], name: &str) -> &'a Seen {
    let found = by_name(spans, name);
    assert_eq!(found.len(), 1, "one span {name:?} in {spans:#?}");
    found[0]
}

/// The header `name` the echo endpoint received, from the journal's run of `activity`.
fn echoed(journal: &Value, list: &str, activity: &str, name: &str) -> Vec<String> {
    let runs: Vec<&Value> = match list {
        "hypothesis" => ["steady_states"]
            .iter()
            .flat_map(|_| {
                ["before", "after"].into_iter().filter_map(|p| {
                    journal["steady_states"][p]["probes"]
                        .as_array()
                        .and_then(|a| a.first())
                })
            })
            .collect(),
        other => journal[other].as_array().unwrap().iter().collect(),
    };
    runs.iter()
        .filter(|r| r["activity"]["name"] == activity)
        .map(|r| {
            r["output"]["body"]["headers"][name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} echoed in {r}"))
                .to_string()
        })
        .collect()
}

fn check_oltp_tree(spans: &[Seen], journal: &Value) {
    let root = one(spans, "experiment");
    assert_eq!(root.parent, None, "the root has no parent");
    assert_eq!(
        root.tags["chaostoolkit.experiment.title"],
        "Traced from end to end"
    );
    assert_eq!(root.tags["chaostoolkit.experiment.status"], "completed");
    assert_eq!(root.tags["chaostoolkit.experiment.deviated"], false);
    assert!(root.tags["chaostoolkit.platform.full"]
        .as_str()
        .is_some_and(|p| p.starts_with("Linux")));
    assert!(
        spans.iter().all(|s| s.trace_id == root.trace_id),
        "one trace"
    );

    let hypotheses = by_name(spans, "hypothesis");
    let mut phases: Vec<&str> = hypotheses
        .iter()
        .map(|h| h.tags["chaostoolkit.hypothesis.phase"].as_str().unwrap())
        .collect();
    phases.sort();
    assert_eq!(phases, ["after", "before"]);
    for h in &hypotheses {
        assert_eq!(h.parent.as_deref(), Some(root.span_id.as_str()));
        assert_eq!(h.tags["chaostoolkit.hypothesis.met"], true);
    }
    let method = one(spans, "method");
    let rollbacks = one(spans, "rollbacks");
    assert_eq!(method.parent.as_deref(), Some(root.span_id.as_str()));
    assert_eq!(rollbacks.parent.as_deref(), Some(root.span_id.as_str()));

    // Activities hang under their phase, the background one too.
    let probes = by_name(spans, "activity: echo-probe");
    assert_eq!(probes.len(), 2);
    for p in &probes {
        assert!(hypotheses
            .iter()
            .any(|h| p.parent.as_ref() == Some(&h.span_id)));
        assert_eq!(p.tags["chaostoolkit.activity.name"], "echo-probe");
        assert_eq!(p.tags["chaostoolkit.activity.status"], "succeeded");
        assert_eq!(p.tags["chaostoolkit.activity.background"], false);
    }
    let background = one(spans, "activity: in-background");
    assert_eq!(background.parent.as_deref(), Some(method.span_id.as_str()));
    assert_eq!(background.tags["chaostoolkit.activity.background"], true);
    let secret = one(spans, "activity: use-secret");
    assert_eq!(secret.parent.as_deref(), Some(method.span_id.as_str()));
    let output = secret.tags["chaostoolkit.activity.output"]
        .as_str()
        .unwrap();
    assert!(output.contains("***"), "{output}");
    let everything = format!("{spans:?}");
    assert!(!everything.contains(SECRET), "a secret reached Jaeger");

    let failed = one(spans, "activity: unreachable");
    assert_eq!(failed.parent.as_deref(), Some(method.span_id.as_str()));
    assert_eq!(failed.tags["chaostoolkit.activity.status"], "failed");
    assert_eq!(failed.tags["otel.status_code"], "ERROR");
    assert_eq!(failed.tags["error"], true);
    assert!(failed.tags["chaostoolkit.activity.error"]
        .as_str()
        .is_some_and(|e| e.contains("ActivityFailed")));
    assert!(
        failed
            .logs
            .iter()
            .any(|l| l["event"] == "exception" && l["exception.type"].as_str().is_some()),
        "an exception event: {:?}",
        failed.logs
    );
    let rollback = one(spans, "activity: echo-rollback");
    assert_eq!(rollback.parent.as_deref(), Some(rollbacks.span_id.as_str()));

    // The traceparent each HTTP call carried is its activity span's.
    let mut sent = echoed(journal, "hypothesis", "echo-probe", "traceparent");
    sent.extend(echoed(journal, "rollbacks", "echo-rollback", "traceparent"));
    assert_eq!(sent.len(), 3);
    for tp in &sent {
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts[0], "00");
        assert_eq!(parts[1], root.trace_id, "{tp}");
        let span = spans.iter().find(|s| s.span_id == parts[2]);
        let name = span.map(|s| s.name.as_str());
        assert!(
            name == Some("activity: echo-probe") || name == Some("activity: echo-rollback"),
            "{tp} names an activity span: {name:?}"
        );
    }
    let unique: std::collections::HashSet<_> = sent.iter().collect();
    assert_eq!(unique.len(), 3, "each call its own span: {sent:?}");
}

fn oltp_case(name: &str, protocol: &str) {
    let Some(jaeger) = jaeger::jaeger(name) else {
        return;
    };
    let endpoint = if protocol == "grpc" {
        &jaeger.otlp_grpc
    } else {
        &jaeger.otlp_http
    };
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", name);
    let service = format!("shakedown-{name}-{}", std::process::id());
    let (out, journal) = run_chaos(
        &dir,
        &experiment(&server.base_url(), oltp_control()),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", &service),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    assert!(
        !run::stderr(&out).contains("could not export"),
        "{}",
        run::stderr(&out)
    );
    assert_eq!(journal["status"], "completed");
    // experiment, 2 hypotheses, method, rollbacks, 2 probes, 3 actions, 1 rollback.
    let traces = jaeger.traces(&service, 11);
    assert_eq!(traces.len(), 1, "one trace: {traces:?}");
    let spans = jaeger::spans(&traces[0]);
    assert_eq!(spans.len(), 11, "{spans:#?}");
    check_oltp_tree(&spans, &journal);
}

#[test]
fn oltp_spans_reach_jaeger_over_http_protobuf() {
    oltp_case("oltp-protobuf", "http/protobuf");
}

#[test]
fn oltp_spans_reach_jaeger_over_http_json() {
    oltp_case("oltp-json", "http/json");
}

/// OTLP/gRPC to Jaeger's gRPC receiver (its 4317), read back from the query API.
#[test]
fn oltp_spans_reach_jaeger_over_grpc() {
    oltp_case("oltp-grpc", "grpc");
}

/// A real gRPC server that serves no trace service (Jaeger's query API) answers the
/// export with a non-zero gRPC status: one WARNING naming the control, the endpoint and
/// the status, and the run is untouched.
#[test]
fn a_grpc_error_status_is_one_warning() {
    let Some(jaeger) = jaeger::jaeger("grpc-status") else {
        return;
    };
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "grpc-status");
    let (out, journal) = run_chaos(
        &dir,
        &experiment(&server.base_url(), oltp_control()),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &jaeger.query_grpc),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
        ],
    );
    let warning = the_one_export_warning(&out, &journal);
    let expected = format!(
        "Control 'opentelemetry' (chaostracing.oltp) could not export spans: {}/opentelemetry.proto.collector.trace.v1.TraceService/Export answered gRPC status 12 (UNIMPLEMENTED): unknown service opentelemetry.proto.collector.trace.v1.TraceService",
        jaeger.query_grpc
    );
    assert!(warning.ends_with(&expected), "{warning}");
}

/// A run that completed as if no control were there, but for exactly one WARNING that
/// it could not export its spans (whatever the number of failed batches): that line.
fn the_one_export_warning(out: &Output, journal: &Value) -> String {
    let err = run::stderr(out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(journal["status"], "completed");
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("WARNING") && l.contains("could not export"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    warnings[0].to_string()
}

/// Three native drivers' own HTTP calls (a chaosprometheus query, a chaostoxi API call, a
/// chaosk8s API call through [`stand_in_kubeconfig`]), all to the test server, which records
/// their trace-context headers.
fn driver_experiment(server: &str, controls: Value) -> Value {
    json!({
        "title": "Drivers carry the context",
        "description": "d",
        "configuration": {
            "prometheus_base_url": format!("{server}/echo"),
            "toxiproxy_url": format!("{server}/toxi"),
        },
        "controls": controls,
        "method": [
            {"name": "prom-query", "type": "probe",
             "provider": {"type": "python", "module": "chaosprometheus.probes",
                          "func": "query", "arguments": {"query": "up"}}},
            {"name": "toxi-exists", "type": "probe",
             "provider": {"type": "python", "module": "chaostoxi.proxy.probes",
                          "func": "proxy_exist", "arguments": {"proxy_name": "db"}}},
            {"name": "k8s-count", "type": "probe",
             "provider": {"type": "python", "module": "chaosk8s.pod.probes",
                          "func": "count_pods", "arguments": {"label_selector": "app=x"}}}
        ]
    })
}

/// A kubeconfig in `dir` whose cluster is the test server at `server` (which answers the
/// pod list with a 404: the probe fails, its request is what counts).
fn stand_in_kubeconfig(dir: &Path, server: &str) -> String {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n\
             clusters: [{{name: stand-in, cluster: {{server: \"{server}\"}}}}]\n\
             users: [{{name: u, user: {{token: t0ken}}}}]\n\
             contexts: [{{name: c, context: {{cluster: stand-in, user: u}}}}]\n"
        ),
    )
    .expect("kubeconfig");
    path.to_string_lossy().into_owned()
}

/// The trace-context headers of the server's requests whose target starts with `prefix`.
fn received(server: &http_server::TestServer, prefix: &str) -> Vec<Vec<(String, String)>> {
    server
        .trace_headers()
        .into_iter()
        .filter(|(target, _)| target.starts_with(prefix))
        .map(|(_, headers)| headers)
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// While an activity span is current, the native drivers' own HTTP calls carry it: the
/// `traceparent` the server received names the activity span Jaeger stored. Without a
/// tracing control they carry nothing; with the legacy control, its B3 headers.
#[test]
fn the_drivers_own_http_calls_carry_the_activity_span() {
    let Some(jaeger) = jaeger::jaeger("driver-traceparent") else {
        return;
    };
    let calls = [
        ("/echo/api/v1/query", "activity: prom-query", "prom-query"),
        ("/toxi/proxies/db", "activity: toxi-exists", "toxi-exists"),
        (
            "/api/v1/namespaces/default/pods",
            "activity: k8s-count",
            "k8s-count",
        ),
    ];

    // chaostracing.oltp: W3C traceparent.
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "driver-traceparent");
    let service = format!("shakedown-drivers-{}", std::process::id());
    let kubeconfig = stand_in_kubeconfig(&dir, &server.base_url());
    let (out, journal) = run_chaos(
        &dir,
        &driver_experiment(&server.base_url(), oltp_control()),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &jaeger.otlp_http),
            ("OTEL_SERVICE_NAME", &service),
            ("KUBECONFIG", &kubeconfig),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    assert_eq!(journal["status"], "completed", "{}", run::stderr(&out));
    // experiment, method, three activities.
    let traces = jaeger.traces(&service, 5);
    let spans = jaeger::spans(&traces[0]);
    let root = one(&spans, "experiment");
    for (prefix, span_name, _) in calls {
        let got = received(&server, prefix);
        assert_eq!(
            got.len(),
            1,
            "one call to {prefix}: {:?}",
            server.trace_headers()
        );
        let traceparent = header(&got[0], "traceparent")
            .unwrap_or_else(|| panic!("no traceparent on {prefix}: {got:?}"));
        let span = one(&spans, span_name);
        assert_eq!(
            traceparent,
            format!("00-{}-{}-01", root.trace_id, span.span_id),
            "{prefix}"
        );
    }

    // No tracing control: no trace context at all.
    let bare = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "driver-no-control");
    let kubeconfig = stand_in_kubeconfig(&dir, &bare.base_url());
    let (out, _) = run_chaos(
        &dir,
        &driver_experiment(&bare.base_url(), json!([])),
        &[("KUBECONFIG", &kubeconfig)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    for (prefix, _, _) in calls {
        assert_eq!(received(&bare, prefix), [vec![]], "{prefix}");
    }

    // The legacy control with the talk's propagation: B3 headers naming its spans.
    let legacy = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "driver-legacy-b3");
    let mut exp = driver_experiment(
        &legacy.base_url(),
        json!([{"name": "opentracing", "provider": {"type": "python",
            "module": "chaostracing.control",
            "arguments": {"provider": "jaeger", "host": "127.0.0.1", "propagation": "b3",
                          "otlp_port": jaeger.otlp_http_port}}}]),
    );
    exp["title"] = json!("Drivers carry the legacy context");
    let kubeconfig = stand_in_kubeconfig(&dir, &legacy.base_url());
    let (out, _) = run_chaos(&dir, &exp, &[("KUBECONFIG", &kubeconfig)]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let spans = trace_titled(
        jaeger,
        "chaostoolkit",
        "Drivers carry the legacy context",
        5,
    );
    for (prefix, _, span_name) in calls {
        let got = received(&legacy, prefix);
        let span = one(&spans, span_name);
        assert_eq!(
            header(&got[0], "x-b3-traceid"),
            Some(span.trace_id.as_str())
        );
        assert_eq!(header(&got[0], "x-b3-spanid"), Some(span.span_id.as_str()));
        assert_eq!(header(&got[0], "x-b3-parentspanid"), span.parent.as_deref());
        assert_eq!(header(&got[0], "traceparent"), None);
    }
}

#[test]
fn traceparent_in_the_environment_makes_the_run_a_child_of_the_callers_trace() {
    let Some(jaeger) = jaeger::jaeger("traceparent-env") else {
        return;
    };
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "traceparent-env");
    let service = format!("shakedown-traceparent-{}", std::process::id());
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let mut exp = experiment(&server.base_url(), oltp_control());
    exp["method"] = json!([{"name": "noop", "type": "action",
        "provider": {"type": "process", "path": "true"}}]);
    exp["rollbacks"] = json!([]);
    let (out, journal) = run_chaos(
        &dir,
        &exp,
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &format!("{}/v1/traces", jaeger.otlp_http),
            ),
            ("OTEL_SERVICE_NAME", &service),
            (
                "TRACEPARENT",
                &format!("00-{caller_trace}-{caller_span}-01"),
            ),
            ("TRACESTATE", "ci=job-42"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    // experiment, 2 hypotheses, method, 2 probes, 1 action (rollbacks span: empty list).
    let traces = jaeger.traces(&service, 7);
    let spans = jaeger::spans(&traces[0]);
    let root = one(&spans, "experiment");
    assert_eq!(root.trace_id, caller_trace);
    assert_eq!(root.parent.as_deref(), Some(caller_span));
    assert!(spans.iter().all(|s| s.trace_id == caller_trace));
    // The caller's trace state travels with the context.
    assert_eq!(
        echoed(&journal, "hypothesis", "echo-probe", "tracestate"),
        ["ci=job-42", "ci=job-42"]
    );
}

#[test]
fn the_talks_legacy_declaration_reaches_jaeger_with_b3_headers() {
    let Some(jaeger) = jaeger::jaeger("legacy-talk") else {
        return;
    };
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "legacy-talk");
    let mut exp = experiment(
        &server.base_url(),
        json!([{"name": "opentracing", "automatic": true,
                "provider": {"type": "python", "module": "chaostracing.control"}}]),
    );
    // The talk's configuration (from-local-to-automated-chaostoolkit), plus the OTLP port
    // of this test's Jaeger (the talk's Jaeger listens on the default, 4318).
    exp["configuration"] = json!({
        "tracing_provider": "jaeger",
        "tracing_host": {"type": "env", "key": "JAEGER_HOST"},
        "tracing_port": 6831,
        "tracing_propagation": "b3",
        "tracing_otlp_port": jaeger.otlp_http_port,
    });
    let (out, journal) = run_chaos(&dir, &exp, &[("JAEGER_HOST", "127.0.0.1")]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let traces = jaeger.traces("chaostoolkit", 11);
    let trace = traces
        .iter()
        .find(|t| {
            jaeger::spans(t)
                .iter()
                .any(|s| s.name == "Traced from end to end")
        })
        .expect("the legacy run's trace");
    let spans = jaeger::spans(trace);
    assert_eq!(spans.len(), 11, "{spans:#?}");
    let root = one(&spans, "Traced from end to end");
    assert_eq!(root.tags["type"], "experiment");
    assert_eq!(root.tags["target"], "svc, tracing");
    assert_eq!(root.tags["reliability"], "high");
    assert_eq!(root.tags["status"], "completed");
    let hypotheses = by_name(&spans, "the service answers");
    assert_eq!(hypotheses.len(), 2);
    for h in &hypotheses {
        assert_eq!(h.tags["type"], "hypothesis");
        assert_eq!(h.tags["deviated"], false);
        assert_eq!(h.parent.as_deref(), Some(root.span_id.as_str()));
    }
    let method = one(&spans, "Method");
    assert_eq!(method.tags["type"], "method");
    let rollbacks = one(&spans, "Rollbacks");
    assert_eq!(rollbacks.tags["type"], "rollback");
    let failed = one(&spans, "unreachable");
    assert_eq!(failed.tags["error"], true);
    assert_eq!(failed.tags["status"], "failed");
    assert_eq!(failed.parent.as_deref(), Some(method.span_id.as_str()));
    let probe = &by_name(&spans, "echo-probe")[0];
    assert_eq!(probe.tags["type"], "activity");
    assert_eq!(probe.tags["activity"], "probe");
    assert_eq!(probe.tags["http.method"], "GET");
    assert_eq!(probe.tags["http.status_code"], 200);
    assert_eq!(probe.tags["span.kind"], "client");
    assert!(!format!("{spans:?}").contains(SECRET));

    // B3 headers, each naming its own activity span.
    let trace_ids = echoed(&journal, "hypothesis", "echo-probe", "x-b3-traceid");
    let span_ids = echoed(&journal, "hypothesis", "echo-probe", "x-b3-spanid");
    assert_eq!(trace_ids, [root.trace_id.clone(), root.trace_id.clone()]);
    for id in &span_ids {
        let span = spans.iter().find(|s| &s.span_id == id).expect("a span");
        assert_eq!(span.name, "echo-probe");
    }
    assert_eq!(
        echoed(&journal, "hypothesis", "echo-probe", "x-b3-sampled"),
        ["1", "1"]
    );
}

#[test]
fn the_default_legacy_propagation_is_uber_trace_id() {
    let Some(jaeger) = jaeger::jaeger("legacy-uber") else {
        return;
    };
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "legacy-uber");
    let mut exp = experiment(
        &server.base_url(),
        json!([{"name": "opentracing", "provider": {"type": "python",
            "module": "chaostracing.control",
            "arguments": {"provider": "jaeger", "host": "127.0.0.1",
                          "otlp_port": jaeger.otlp_http_port}}}]),
    );
    exp["title"] = json!("uber headers");
    let (out, journal) = run_chaos(&dir, &exp, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let sent = echoed(&journal, "rollbacks", "echo-rollback", "uber-trace-id");
    let parts: Vec<&str> = sent[0].split(':').collect();
    assert_eq!(parts.len(), 4, "{sent:?}");
    let traces = jaeger.traces("chaostoolkit", 11);
    let trace = traces
        .iter()
        .find(|t| jaeger::spans(t).iter().any(|s| s.name == "uber headers"))
        .expect("the run's trace");
    let spans = jaeger::spans(trace);
    let rollback = one(&spans, "echo-rollback");
    assert_eq!(parts[0], rollback.trace_id);
    assert_eq!(parts[1], rollback.span_id);
    assert_eq!(Some(parts[2]), rollback.parent.as_deref());
    assert_eq!(parts[3], "1");
}

#[test]
fn a_collector_that_is_down_costs_one_warning_and_nothing_else() {
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "collector-down");
    let endpoint = format!("http://127.0.0.1:{}", http_server::closed_port());
    let (out, journal) = run_chaos(
        &dir,
        &experiment(&server.base_url(), oltp_control()),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)],
    );
    let warning = the_one_export_warning(&out, &journal);
    assert!(
        warning.contains("Control 'opentelemetry' (chaostracing.oltp)")
            && warning.contains(&format!("{endpoint}/v1/traces")),
        "{warning}"
    );
    // The HTTP calls still carried a traceparent.
    assert_eq!(
        echoed(&journal, "rollbacks", "echo-rollback", "traceparent").len(),
        1
    );
}

/// What a declaration asks for and the native controls do not do is a WARNING naming it,
/// never silence: an unknown legacy provider, a vendor, a Python instrumentation flag.
#[test]
fn unsupported_declarations_are_warnings_that_name_them() {
    let server = http_server::TestServer::start(None);
    let dir = run::scratch("tracing", "unsupported");
    let mut e = experiment(
        &server.base_url(),
        json!([
            {"name": "legacy", "provider": {"type": "python", "module": "chaostracing.control"}},
            {"name": "otel", "provider": {"type": "python", "module": "chaostracing.oltp",
                                          "arguments": {"trace_urllib3": true}}}
        ]),
    );
    e["configuration"] = json!({"tracing_provider": "zipkin", "otel_vendor": "gcp"});
    let endpoint = format!("http://127.0.0.1:{}", http_server::closed_port());
    let (out, journal) = run_chaos(&dir, &e, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let err = run::stderr(&out);
    assert_eq!(journal["status"], "completed", "{err}");
    let warned = |needle: &str| {
        err.lines()
            .any(|l| l.contains("WARNING") && l.contains(needle))
    };
    assert!(
        warned(
            "Control 'legacy' (chaostracing.control): tracing provider 'zipkin' is not supported"
        ),
        "{err}"
    );
    assert!(
        warned("Control 'otel' (chaostracing.oltp): vendor 'gcp' is not supported"),
        "{err}"
    );
    assert!(
        warned("Control 'otel' (chaostracing.oltp): trace_urllib3 instruments a Python library"),
        "{err}"
    );
}

/// The reference with chaostoolkit-opentracing (`scripts/reference-venv-tracing`).
fn reference_chaos(test: &str) -> Option<std::path::PathBuf> {
    let bin = reference::workspace_root().join("target/reference-venv-tracing/bin/chaos");
    if bin.exists() {
        return Some(bin);
    }
    reference::skip_or_fail(
        test,
        &format!(
            "{} not found: run scripts/reference-venv-tracing",
            bin.display()
        ),
    );
    None
}

/// The reference's `chaos run` of `experiment` (written into `dir`), as `run_chaos` runs
/// ours: rollbacks always, a journal, no tracing variables from the test's environment.
fn reference_run(reference: &Path, dir: &Path, experiment: &Value) -> std::process::Command {
    std::fs::write(dir.join("experiment.json"), experiment.to_string()).unwrap();
    let mut cmd = std::process::Command::new(reference);
    cmd.args([
        "--no-version-check",
        "--settings",
        "settings.yaml",
        "run",
        "--rollback-strategy",
        "always",
        "--journal-path",
        "journal.json",
        "experiment.json",
    ])
    .current_dir(dir)
    .stdin(std::process::Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    for (k, _) in std::env::vars() {
        if k.starts_with("OTEL_") || k.starts_with("JAEGER_") || k == "TRACEPARENT" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The attribute keys of each span name.
type KeysByName = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

/// Each span as (its name, its parent's name) and the `chaostoolkit.*` attribute keys of
/// each span name, sorted: what two runs of the same experiment must share, ids and times
/// aside.
fn shape(spans: &[Seen]) -> (Vec<(String, String)>, KeysByName) {
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| spans.iter().find(|s| &s.span_id == id))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let mut edges: Vec<(String, String)> = spans
        .iter()
        .map(|s| (s.name.clone(), name_of(&s.parent)))
        .collect();
    edges.sort();
    let mut keys = std::collections::BTreeMap::new();
    for s in spans {
        let set: &mut std::collections::BTreeSet<String> = keys.entry(s.name.clone()).or_default();
        set.extend(
            s.tags
                .keys()
                .filter(|k| k.starts_with("chaostoolkit."))
                .cloned(),
        );
    }
    (edges, keys)
}

#[test]
fn the_span_tree_and_attribute_keys_are_the_references() {
    let Some(jaeger) = jaeger::jaeger("differential") else {
        return;
    };
    let Some(reference) = reference_chaos("differential") else {
        return;
    };
    let server = http_server::TestServer::start(None);
    let exp = experiment(&server.base_url(), oltp_control());
    let pid = std::process::id();

    // The reference, exporting to the same Jaeger under a service name of its own.
    let ref_dir = run::scratch("tracing", "differential-reference");
    let ref_service = format!("reference-{pid}");
    let mut cmd = reference_run(&reference, &ref_dir, &exp);
    cmd.env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        format!("{}/v1/traces", jaeger.otlp_http),
    )
    .env("OTEL_SERVICE_NAME", &ref_service);
    let ref_out = cmd.output().expect("run the reference");
    let ref_journal = run::read_json(&ref_dir.join("journal.json"));

    let dir = run::scratch("tracing", "differential-ours");
    let service = format!("ours-{pid}");
    let (out, journal) = run_chaos(
        &dir,
        &exp,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &jaeger.otlp_http),
            ("OTEL_SERVICE_NAME", &service),
        ],
    );
    assert_eq!(
        out.status.code(),
        ref_out.status.code(),
        "ours:\n{}\nreference:\n{}",
        run::stderr(&out),
        String::from_utf8_lossy(&ref_out.stderr)
    );
    assert_eq!(journal["status"], ref_journal["status"]);

    let ref_traces = jaeger.traces(&ref_service, 11);
    let traces = jaeger.traces(&service, 11);
    assert_eq!((ref_traces.len(), traces.len()), (1, 1));
    let theirs = shape(&jaeger::spans(&ref_traces[0]));
    let ours = shape(&jaeger::spans(&traces[0]));
    assert_eq!(ours.0, theirs.0, "span names and parents");
    assert_eq!(ours.1, theirs.1, "attribute keys per span");
}

/// The trace whose root span is named `title`, once it holds at least `spans` spans
/// (Jaeger stores what it receives a moment later); other runs share the service name.
fn trace_titled(jaeger: &jaeger::Jaeger, service: &str, title: &str, spans: usize) -> Vec<Seen> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let traces = jaeger.traces(service, 1);
        if let Some(found) = traces
            .iter()
            .map(jaeger::spans)
            .find(|s| s.iter().any(|s| s.name == title && s.parent.is_none()))
        {
            if found.len() >= spans {
                return found;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no trace {title:?} of {spans} spans in Jaeger after 30 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// The legacy control, differentially: the talk's declaration run by the reference
/// (chaostoolkit-opentracing's `chaostracing.control` with the archived `jaeger_client`,
/// which sends Thrift compact over UDP to the agent port) and by Shakedown (OTLP/HTTP to
/// the same host), into the same Jaeger: the same exit code and status, span names,
/// parent links, tag keys and values, and log fields.
#[test]
fn the_legacy_controls_spans_are_the_references() {
    let Some(jaeger) = jaeger::jaeger("legacy-differential") else {
        return;
    };
    let Some(reference) = reference_chaos("legacy-differential") else {
        return;
    };
    // A venv made before the script installed jaeger-client has no legacy tracer.
    let python = reference.with_file_name("python");
    let has_client = std::process::Command::new(&python)
        .args(["-c", "import jaeger_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_client {
        reference::skip_or_fail(
            "legacy-differential",
            &format!(
                "{} cannot import jaeger_client: run scripts/reference-venv-tracing",
                python.display()
            ),
        );
        return;
    }
    let server = http_server::TestServer::start(None);
    let pid = std::process::id();
    let mut exp = experiment(
        &server.base_url(),
        json!([{"name": "opentracing", "automatic": true,
                "provider": {"type": "python", "module": "chaostracing.control"}}]),
    );
    // Upstream's legacy control cannot trace a background activity: jaeger_client's
    // thread-local scope manager has no active span in the activity's thread
    // (`AttributeError: 'NoneType' object has no attribute 'span'`), and the spans after
    // it land in a second trace. The differential leaves it out (docs/tracing.md).
    exp["method"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["name"] != "in-background");
    exp["configuration"] = json!({
        "tracing_provider": "jaeger",
        "tracing_host": {"type": "env", "key": "JAEGER_HOST"},
        "tracing_port": jaeger.thrift_compact_port,
        "tracing_propagation": "b3",
        "tracing_otlp_port": jaeger.otlp_http_port,
    });

    let ref_title = format!("Legacy differential, reference {pid}");
    exp["title"] = json!(ref_title);
    let ref_dir = run::scratch("tracing", "legacy-differential-reference");
    let mut cmd = reference_run(&reference, &ref_dir, &exp);
    cmd.env("JAEGER_HOST", "127.0.0.1");
    let ref_out = cmd.output().expect("run the reference");
    let ref_journal = run::read_json(&ref_dir.join("journal.json"));

    let title = format!("Legacy differential, ours {pid}");
    exp["title"] = json!(title);
    let dir = run::scratch("tracing", "legacy-differential-ours");
    let (out, journal) = run_chaos(&dir, &exp, &[("JAEGER_HOST", "127.0.0.1")]);
    assert_eq!(
        out.status.code(),
        ref_out.status.code(),
        "ours:\n{}\nreference:\n{}",
        run::stderr(&out),
        String::from_utf8_lossy(&ref_out.stderr)
    );
    assert_eq!(journal["status"], ref_journal["status"]);

    let theirs = trace_titled(jaeger, "chaostoolkit", &ref_title, 10);
    let ours = trace_titled(jaeger, "chaostoolkit", &title, 10);
    let (theirs, ours) = (legacy_shape(&theirs), legacy_shape(&ours));
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t, "ours (left) and the reference's (right) span");
    }
}

/// Every hex run of a span or trace id's length (16 or 32 digits), as `<id>`.
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        if run.len() == 16 || run.len() == 32 {
            out.push_str("<id>");
        } else {
            out.push_str(&run);
        }
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

/// Each span of a legacy trace as text, sorted: its name, its parent's name, its tags
/// and its logs' fields, ids masked; the titles made equal; the tags only one transport
/// adds left out (jaeger_client's `sampler.*`; OTLP's `otel.scope.*`, its status
/// description and `span.kind=internal`); the traceback in an error log reduced to its
/// form (a Python list of lines, as both write it; the lines are each tool's own).
fn legacy_shape(spans: &[Seen]) -> Vec<String> {
    let transport_only = [
        "sampler.type",
        "sampler.param",
        "otel.scope.name",
        "otel.scope.version",
        "otel.status_description",
    ];
    let name_of = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| spans.iter().find(|s| &s.span_id == id))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let title = |name: &str| {
        if name.starts_with("Legacy differential") {
            "<title>".to_string()
        } else {
            name.to_string()
        }
    };
    let mut shapes: Vec<String> = spans
        .iter()
        .map(|s| {
            let tags: std::collections::BTreeMap<&String, &Value> = s
                .tags
                .iter()
                .filter(|(k, v)| {
                    let internal = k.as_str() == "span.kind" && *v == "internal";
                    !(internal || transport_only.contains(&k.as_str()))
                })
                .collect();
            let mut logs: Vec<String> = s
                .logs
                .iter()
                .map(|l| {
                    let mut fields: std::collections::BTreeMap<&String, Value> =
                        l.iter().map(|(k, v)| (k, v.clone())).collect();
                    for (k, v) in fields.iter_mut() {
                        if k.as_str() == "stack" {
                            let list = v.as_str().is_some_and(|t| t.starts_with("['"));
                            *v = json!(if list { "['…']" } else { "not a list" });
                        }
                    }
                    format!("{fields:?}")
                })
                .collect();
            logs.sort();
            without_ids(&format!(
                "{} <- {}: {tags:?} {logs:?}",
                title(&s.name),
                title(&name_of(&s.parent))
            ))
        })
        .collect();
    shapes.sort();
    shapes
}
