//! `chaosprometheus.probes` against a real Prometheus (Debian's, `scripts/prometheus-peer`)
//! scraping a target this test serves (tests/peers): outputs as Prometheus gives them,
//! upstream's failure messages, the relative times, authentication, and the bounds.

mod peers;

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};
use providers::{FailureKind, ProviderError};
use serde_json::json;

const PROBES: &str = "chaosprometheus.probes";

fn obj(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

async fn call(
    func: &str,
    configuration: Value,
    secrets: Value,
    args: Value,
) -> Result<Value, ProviderError> {
    let mut registry = Registry::new();
    drivers_prometheus::register(&mut registry);
    let f = registry
        .function(PROBES, func)
        .unwrap_or_else(|| panic!("{PROBES}.{func} is registered"));
    f.driver
        .call(Invocation {
            arguments: obj(args),
            configuration: &obj(configuration),
            secrets: obj(secrets),
        })
        .await
}

/// A call against the plain Prometheus.
async fn probe(func: &str, args: Value) -> Option<Result<Value, ProviderError>> {
    let peers = peers::peers()?;
    Some(
        call(
            func,
            json!({"prometheus_base_url": peers.prometheus}),
            json!({}),
            args,
        )
        .await,
    )
}

fn ok(r: Result<Value, ProviderError>) -> Value {
    r.unwrap_or_else(|e| panic!("the probe failed: {e}"))
}

fn failure(r: Result<Value, ProviderError>) -> (FailureKind, String) {
    match r {
        Err(ProviderError::Failed(f)) => (f.kind(), f.into_message()),
        other => panic!("expected an activity failure, got {other:?}"),
    }
}

/// The value of the vector sample whose `series` label is `series`.
fn sample_of(output: &Value, series: &str) -> Option<String> {
    output["data"]["result"]
        .as_array()?
        .iter()
        .find(|r| r["metric"]["series"] == series)
        .and_then(|r| r["value"][1].as_str())
        .map(str::to_string)
}

#[tokio::test]
async fn query_returns_prometheus_json_as_is() {
    let Some(out) = probe("query", json!({"query": "shakedown_probe_value"})).await else {
        return;
    };
    let out = ok(out);
    assert_eq!(out["status"], "success");
    assert_eq!(out["data"]["resultType"], "vector");
    assert_eq!(sample_of(&out, "a").as_deref(), Some("42"));
    assert_eq!(sample_of(&out, "b").as_deref(), Some("0.5"));
    let a = &out["data"]["result"].as_array().expect("result")[0];
    assert_eq!(a["metric"]["job"], peers::JOB);
    assert!(a["value"][0].is_number(), "{a}");

    // A scalar, with Prometheus' own query timeout passed through.
    let scalar = ok(probe(
        "query",
        json!({"query": "scalar(sum(shakedown_probe_value))", "timeout": 5}),
    )
    .await
    .expect("peers"));
    assert_eq!(scalar["data"]["resultType"], "scalar");
    assert_eq!(scalar["data"]["result"][1], "42.5");
}

#[tokio::test]
async fn when_moves_the_evaluation_time() {
    let Some(now) = probe(
        "query",
        json!({"query": "shakedown_probe_value", "when": "now"}),
    )
    .await
    else {
        return;
    };
    assert_eq!(sample_of(&ok(now), "a").as_deref(), Some("42"));
    // Prometheus started seconds ago: an hour ago, a day ago and in RFC 3339 it has no
    // samples, which shows the `time` parameter reached it.
    for when in ["1 hour ago", "1d", "yesterday", "2020-01-02T03:04:05Z"] {
        let out = ok(probe(
            "query",
            json!({"query": "shakedown_probe_value", "when": when}),
        )
        .await
        .expect("peers"));
        assert_eq!(out["status"], "success", "{when}");
        assert_eq!(out["data"]["result"], json!([]), "{when}");
    }
}

#[tokio::test]
async fn query_interval_returns_a_matrix() {
    let Some(out) = probe(
        "query_interval",
        json!({"query": "shakedown_probe_value{series=\"a\"}", "start": "30 seconds ago", "end": "now", "step": 1}),
    )
    .await
    else {
        return;
    };
    let out = ok(out);
    assert_eq!(out["data"]["resultType"], "matrix");
    let values = out["data"]["result"][0]["values"]
        .as_array()
        .expect("values");
    assert!(!values.is_empty(), "{out}");
    assert!(values.iter().all(|v| v[1] == "42"), "{out}");

    // Without a step (0 is falsy, so no `step` is sent) Prometheus refuses the range,
    // and the message is upstream's, with the parameters' Python repr.
    let (kind, message) = failure(
        probe(
            "query_interval",
            json!({"query": "up", "start": "5 minutes ago", "end": "now", "step": 0}),
        )
        .await
        .expect("peers"),
    );
    assert_eq!(kind, FailureKind::Remote);
    assert!(
        message.starts_with(
            "chaoslib.exceptions.ActivityFailed: Prometheus query range {'query': 'up', 'start': '"
        ),
        "{message}"
    );
    assert!(message.contains("\"errorType\":\"bad_data\""), "{message}");
}

#[tokio::test]
async fn failures_carry_upstreams_messages() {
    let Some(bad) = probe("query", json!({"query": "sum("})).await else {
        return;
    };
    let (kind, message) = failure(bad);
    assert_eq!(kind, FailureKind::Remote);
    assert!(
        message.starts_with(
            "chaoslib.exceptions.ActivityFailed: Prometheus query {'query': 'sum('} failed: {\"status\":\"error\",\"errorType\":\"bad_data\""
        ),
        "{message}"
    );
    let (kind, message) = failure(
        probe("query", json!({"query": "up", "when": "not a date at all"}))
            .await
            .expect("peers"),
    );
    assert_eq!(kind, FailureKind::Declaration);
    assert_eq!(
        message,
        "chaoslib.exceptions.ActivityFailed: failed to parse 'not a date at all'"
    );
    let (_, message) = failure(
        probe(
            "query_interval",
            json!({"query": "up", "start": "now", "end": "soonish"}),
        )
        .await
        .expect("peers"),
    );
    assert_eq!(
        message,
        "chaoslib.exceptions.ActivityFailed: failed to parse 'soonish'"
    );
    // Binding errors are Python's.
    let (_, message) = failure(
        probe("query_interval", json!({"query": "up"}))
            .await
            .expect("peers"),
    );
    assert_eq!(
        message,
        "TypeError: query_interval() missing 2 required positional arguments: 'start' and 'end'"
    );
}

#[tokio::test]
async fn compute_mean_works_where_upstream_crashes() {
    let Some(mean) = probe(
        "compute_mean",
        json!({"query": "shakedown_probe_value{series=\"a\"}", "window": "5 minutes ago"}),
    )
    .await
    else {
        return;
    };
    assert_eq!(ok(mean), json!(42.0));
    for mean_type in ["geometric", "harmonic", "arithmetic"] {
        let out = ok(probe(
            "compute_mean",
            json!({"query": "shakedown_probe_value{series=\"b\"}", "window": "1h", "mean_type": mean_type}),
        )
        .await
        .expect("peers"));
        let value = out.as_f64().expect("a number");
        assert!((value - 0.5).abs() < 1e-12, "{mean_type}: {value}");
    }
    let (kind, message) = failure(
        probe("compute_mean", json!({"query": "no_such_metric"}))
            .await
            .expect("peers"),
    );
    assert_eq!(kind, FailureKind::Check);
    assert!(
        message.starts_with("IndexError: list index out of range"),
        "{message}"
    );
    let (_, message) = failure(
        probe("compute_mean", json!({"query": "sum("}))
            .await
            .expect("peers"),
    );
    assert_eq!(
        message,
        "chaoslib.exceptions.ActivityFailed: Failed to run Prometheus query"
    );
    // The idle counter grows at 0.75 s/s, so over a full minute of samples the nodes are
    // 25 % busy; Prometheus started seconds ago, and `rate[1m]` over a few seconds of
    // samples extrapolates less than that, so the usage reads between 25 % and 100 %
    // (100 % would mean no idle time at all: the target's series was not used).
    // `rate` needs two scrapes first.
    let rate = json!({"query": "rate(node_cpu_seconds_total[1m])"});
    for _ in 0..300 {
        let out = ok(probe("query", rate.clone()).await.expect("peers"));
        if out["data"]["result"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let cpu = ok(
        probe("nodes_cpu_usage_mean", json!({"window": "10 minutes ago"}))
            .await
            .expect("peers"),
    );
    let cpu = cpu.as_f64().expect("a number");
    assert!((20.0..100.0).contains(&cpu), "{cpu}");
}

#[tokio::test]
async fn a_secured_prometheus_is_reached_with_basic_credentials() {
    let Some(secured) = peers::secured_prometheus() else {
        return;
    };
    let configuration = json!({"prometheus_base_url": secured});
    let args = json!({"query": "shakedown_probe_value"});
    let with = json!({"prometheus_username": peers::USER, "prometheus_password": peers::PASSWORD});
    let out = ok(call("query", configuration.clone(), with, args.clone()).await);
    assert_eq!(sample_of(&out, "a").as_deref(), Some("42"));

    let (kind, message) =
        failure(call("query", configuration.clone(), json!({}), args.clone()).await);
    assert_eq!(kind, FailureKind::Remote);
    assert_eq!(
        message,
        "chaoslib.exceptions.ActivityFailed: Prometheus query {'query': 'shakedown_probe_value'} failed: Unauthorized\n"
    );
    let wrong =
        json!({"prometheus_username": peers::USER, "prometheus_password": "wrong-pw-not-shown"});
    let (_, message) = failure(call("query", configuration, wrong, args.clone()).await);
    assert!(message.ends_with("failed: Unauthorized\n"), "{message}");
    assert!(!message.contains("wrong-pw-not-shown"), "{message}");

    // Credentials in the URL work too, and a failure never shows the password.
    let port = secured.rsplit(':').next().expect("port");
    let in_url = format!(
        "http://{}:{}@127.0.0.1:{port}",
        peers::USER,
        peers::PASSWORD
    );
    let out = ok(call(
        "query",
        json!({"prometheus_base_url": in_url}),
        json!({}),
        args.clone(),
    )
    .await);
    assert_eq!(sample_of(&out, "a").as_deref(), Some("42"));
    let closed = format!(
        "http://{}:{}@127.0.0.1:{}",
        peers::USER,
        peers::PASSWORD,
        peers::closed_port()
    );
    let (kind, message) = failure(
        call(
            "query",
            json!({"prometheus_base_url": closed}),
            json!({}),
            args,
        )
        .await,
    );
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(message.starts_with("requests.exceptions.ConnectionError: Prometheus: cannot reach http://chaos:***@127.0.0.1:"), "{message}");
    assert!(!message.contains(peers::PASSWORD), "{message}");
}

#[tokio::test]
async fn a_bearer_token_is_sent_and_never_shown() {
    let Some(peers) = peers::peers() else {
        return;
    };
    // The target stands in for Prometheus behind an auth proxy that wants the token.
    let configuration = json!({"prometheus_base_url": peers.target});
    let args = json!({"query": "bearer_probe", "when": "2024-01-02T03:04:05.678Z"});
    let out = ok(call(
        "query",
        configuration.clone(),
        json!({"prometheus_bearer_token": peers::TOKEN}),
        args.clone(),
    )
    .await);
    assert_eq!(out["data"]["result"][1], "1");
    let seen = peers.target_log.lock().expect("log").clone();
    let request = seen
        .iter()
        .find(|r| r.contains("bearer_probe"))
        .unwrap_or_else(|| panic!("no request seen: {seen:?}"));
    assert_eq!(
        request,
        &format!(
            "GET /api/v1/query?query=bearer_probe&time=2024-01-02T03%3A04%3A05.6Z Bearer {}",
            peers::TOKEN
        )
    );
    let (_, message) = failure(
        call(
            "query",
            configuration,
            json!({"prometheus_bearer_token": "another-token"}),
            args,
        )
        .await,
    );
    assert!(message.ends_with("failed: Unauthorized\n"), "{message}");
    assert!(!message.contains("another-token"), "{message}");
}

#[tokio::test]
async fn a_server_that_never_answers_costs_one_bounded_wait() {
    let silent = peers::silent_server();
    let (kind, message) = failure(
        call(
            "query",
            json!({"prometheus_base_url": format!("http://{silent}"), "prometheus_client_timeout": 0.5}),
            json!({}),
            json!({"query": "up"}),
        )
        .await,
    );
    assert_eq!(kind, FailureKind::Timeout);
    assert_eq!(
        message,
        format!("requests.exceptions.ReadTimeout: Prometheus: http://{silent}/api/v1/query did not answer within 0.5s")
    );
    let (kind, message) = failure(
        call(
            "query",
            json!({"prometheus_base_url": format!("http://127.0.0.1:{}", peers::closed_port())}),
            json!({}),
            json!({"query": "up"}),
        )
        .await,
    );
    assert_eq!(kind, FailureKind::Unreachable);
    assert!(
        message.starts_with(
            "requests.exceptions.ConnectionError: Prometheus: cannot reach http://127.0.0.1:"
        ),
        "{message}"
    );
}
