//! `chaosprometheus.metrics` against a real Pushgateway (Debian's, `scripts/prometheus-peer`):
//! what a run pushes, read back from the Pushgateway's `/metrics`; a Pushgateway that is
//! unreachable, answers 500 or never answers costs one WARNING naming the control and the
//! endpoint, within a bounded time, without its credentials; the scrape endpoint.

mod peers;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};

use drivers_prometheus::metrics::{Metrics, MODULE};
use experiment::{Map, Value};
use providers::control::{ConfigureCall, Control, HookCall, Level, When};
use serde_json::json;

/// Every log record of the test binary, as `LEVEL message`.
fn records() -> &'static Mutex<Vec<String>> {
    static RECORDS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    RECORDS.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if let Ok(mut r) = records().lock() {
            r.push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = log::set_logger(&Capture);
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The records that mention `needle`.
fn logged(needle: &str) -> Vec<String> {
    records()
        .lock()
        .map(|r| r.iter().filter(|l| l.contains(needle)).cloned().collect())
        .unwrap_or_default()
}

fn obj(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// Plays a run through the control as the engine does: configure, before experiment, one
/// activity, after experiment.
async fn run(control: &Metrics, name: &str, arguments: Value, journal: Value) {
    let arguments = obj(arguments);
    let experiment = json!({"title": name, "method": []});
    let empty = Map::new();
    control
        .configure(ConfigureCall {
            name,
            arguments: &arguments,
            experiment: &experiment,
            configuration: &empty,
            secrets: &empty,
            settings: None,
            run: None,
        })
        .await
        .expect("configure");
    let hook = |level, when, state| HookCall {
        level,
        when,
        name,
        context: &experiment,
        state,
        arguments: &arguments,
        configuration: &empty,
        secrets: &empty,
        settings: &Value::Null,
        experiment: &experiment,
    };
    control
        .hook(hook(Level::Experiment, When::Before, None))
        .await
        .expect("before");
    let activity = json!({"activity": {"type": "probe", "name": "p"}, "status": "succeeded"});
    control
        .hook(hook(Level::Activity, When::After, Some(&activity)))
        .await
        .expect("activity");
    control
        .hook(hook(Level::Experiment, When::After, Some(&journal)))
        .await
        .expect("after");
}

/// The Pushgateway's samples of `job`, without the ones it adds itself.
fn pushed(gateway: &str, job: &str) -> Vec<String> {
    let (status, body) = peers::get(gateway, "/metrics", None).expect("pushgateway answers");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| !l.starts_with('#') && l.contains(&format!("job=\"{job}\"")))
        .filter(|l| {
            !l.starts_with("push_time_seconds") && !l.starts_with("push_failure_time_seconds")
        })
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_run_is_pushed_to_the_pushgateway() {
    let Some(peers) = peers::peers() else {
        return;
    };
    capture_logs();
    let control = Metrics::default();
    let args = json!({
        "pushgateway_url": peers.pushgateway,
        "job": "metrics-test",
        "trace_id": "trace-1",
        "grouping_key": {"team": "sre"}
    });
    let journal = json!({"status": "failed", "deviated": true, "duration": 0.3});
    run(&control, "pushed", args, journal).await;
    let samples = pushed(&peers.pushgateway, "metrics-test");
    let labels = r#"chaostoolkit_experiment_ref="#;
    let expect = [
        (
            "chaostoolkit_experiment_status{",
            r#"chaostoolkit_experiment_status="failed""#,
            "1",
        ),
        (
            "chaostoolkit_experiment_status{",
            r#"chaostoolkit_experiment_status="completed""#,
            "0",
        ),
        ("chaostoolkit_deviated_experiment_total{", labels, "1"),
        ("chaostoolkit_inprogress_experiment{", labels, "0"),
        ("chaostoolkit_experiment_duration{", labels, "0.3"),
        (
            "chaostoolkit_experiment_duration_dist_bucket{",
            r#"le="0.25""#,
            "0",
        ),
        (
            "chaostoolkit_experiment_duration_dist_bucket{",
            r#"le="0.5""#,
            "1",
        ),
        ("chaostoolkit_experiment_duration_dist_count{", labels, "1"),
        (
            "chaostoolkit_activity_outcome_total{",
            r#"activity_type="probe""#,
            "1",
        ),
    ];
    for (name, label, value) in expect {
        assert!(
            samples.iter().any(|s| s.starts_with(name)
                && s.contains(label)
                && s.contains(r#"chaostoolkit_run_trace_id="trace-1""#)
                && s.contains(r#"team="sre""#)
                && s.contains(r#"source="chaostoolkit""#)
                && s.ends_with(&format!(" {value}"))),
            "no {name}…{label}… {value} in:\n{}",
            samples.join("\n")
        );
    }
    assert!(logged("pushed").iter().all(|l| !l.starts_with("WARN")));
}

/// A server that answers every request with a 500.
fn failing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nboom\n",
            );
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_broken_pushgateway_is_one_warning_and_the_run_goes_on() {
    capture_logs();
    let silent = format!("http://{}", peers::silent_server());
    let closed = format!(
        "http://gw-user:gw-s3cret@127.0.0.1:{}",
        peers::closed_port()
    );
    let cases = [
        (
            "unreachable",
            closed,
            "cannot reach http://gw-user:***@127.0.0.1:",
        ),
        ("erroring", failing_server(), "answered 500: boom"),
        ("silent", silent, "did not answer within 0.5s"),
    ];
    for (name, url, why) in cases {
        let control = Metrics::default();
        let args = json!({"pushgateway_url": url, "push_timeout": 0.5});
        let journal = json!({"status": "completed", "deviated": false, "duration": 1});
        run(&control, name, args, journal).await;
        let warnings: Vec<String> = logged(&format!("Control '{name}' ({MODULE})"))
            .into_iter()
            .filter(|l| l.starts_with("WARN"))
            .collect();
        assert_eq!(warnings.len(), 1, "{name}: {warnings:?}");
        assert!(
            warnings[0].contains("could not push the run's metrics") && warnings[0].contains(why),
            "{name}: {}",
            warnings[0]
        );
        assert!(
            warnings[0].contains("/metrics/job/chaostoolkit/chaostoolkit_experiment_ref/"),
            "{}",
            warnings[0]
        );
        // The second push's failure is DEBUG only.
        assert_eq!(
            logged(&format!("Control '{name}' ({MODULE})")).len(),
            2,
            "{name}"
        );
    }
    assert!(records()
        .lock()
        .map(|r| r.iter().all(|l| !l.contains("gw-s3cret")))
        .unwrap_or(false));
}

#[tokio::test]
async fn the_scrape_endpoint_serves_the_latest_run() {
    capture_logs();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let listen = format!("127.0.0.1:{port}");
    let endpoint = format!("http://{listen}");
    let control = Metrics::default();
    let closed = format!("http://127.0.0.1:{}", peers::closed_port());
    for (trace, status) in [("first", "completed"), ("second", "interrupted")] {
        let args = json!({"pushgateway_url": closed, "listen": listen, "trace_id": trace});
        let journal = json!({"status": status, "deviated": false, "duration": 2});
        run(&control, "scraped", args, journal).await;
        let (code, body) = tokio::task::spawn_blocking({
            let endpoint = endpoint.clone();
            move || peers::get(&endpoint, "/metrics", None)
        })
        .await
        .expect("join")
        .expect("the endpoint answers");
        assert_eq!(code, 200);
        let state = body
            .lines()
            .find(|l| l.contains(&format!("chaostoolkit_experiment_status=\"{status}\"")))
            .unwrap_or_else(|| panic!("no {status} sample in:\n{body}"));
        assert!(state.ends_with(" 1.0"), "{state}");
        assert!(
            state.contains(&format!("chaostoolkit_run_trace_id=\"{trace}\"")),
            "{state}"
        );
        assert!(
            !body.contains("trace_id=\"first\"") || trace == "first",
            "{body}"
        );
    }
    let (code, _) = tokio::task::spawn_blocking(move || peers::get(&endpoint, "/other", None))
        .await
        .expect("join")
        .expect("answers");
    assert_eq!(code, 404);
    // A port already taken: one WARNING, the run goes on.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let args = json!({"pushgateway_url": closed, "listen": addr.to_string()});
    run(&control, "taken", args, json!({"status": "completed"})).await;
    let warnings = logged(&format!("cannot serve metrics on {addr}"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("WARN Control 'taken' (chaosprometheus.metrics)"),
        "{}",
        warnings[0]
    );
}
