//! `chaosprometheus` in a real `chaos run`, compared with the reference running
//! chaostoolkit-prometheus 0.6.0 (`scripts/reference-venv`), against real peers (Debian's
//! Prometheus and Pushgateway, `scripts/prometheus-peer`, see
//! crates/drivers-prometheus/tests/peers):
//! - the probes: one experiment through both against a Prometheus scraping a target the
//!   test serves; exit codes, console log lines and journals (outputs with their
//!   evaluation timestamps masked) compared;
//! - the metrics control: one experiment through both against the same Pushgateway; what
//!   each pushed, read back from the Pushgateway's `/metrics`, the exit codes, the
//!   journals' status and the console log lines compared; and a Pushgateway that cannot
//!   be reached costs ours one WARNING, the run unchanged.

#[path = "../../drivers-prometheus/tests/peers/mod.rs"]
mod peers;
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

fn experiment(pushgateway: &str, job: &str) -> Value {
    json!({
        "title": "The marker stays away",
        "description": "deviates: the method drops the marker the hypothesis checks for",
        "controls": [{
            "name": "prometheus-metrics",
            "provider": {
                "type": "python",
                "module": "chaosprometheus.metrics",
                "arguments": {"pushgateway_url": pushgateway, "job": job}
            }
        }],
        "steady-state-hypothesis": {
            "title": "no marker",
            "probes": [{
                "type": "probe",
                "name": "no-marker",
                "tolerance": 0,
                "provider": {"type": "process", "path": "test", "arguments": "! -f marker"}
            }]
        },
        "method": [{
            "type": "action",
            "name": "drop-marker",
            "provider": {"type": "process", "path": "touch", "arguments": "marker"}
        }]
    })
}

fn write_experiment(dir: &Path, experiment: &Value) {
    let text = serde_json::to_string_pretty(experiment).expect("json");
    std::fs::write(dir.join("experiment.json"), text).expect("write experiment");
}

/// `LEVEL message` of the console's log records at INFO and above.
fn log_lines(out: &Output) -> Vec<String> {
    reference::strip_ansi(&String::from_utf8_lossy(&out.stderr))
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.split_once("] "))
        .filter_map(|(head, message)| {
            let level = head.split_whitespace().nth(2)?;
            let level = if level == "WARN" { "WARNING" } else { level };
            (level != "DEBUG" && !message.starts_with("  => observed"))
                .then(|| format!("{level} {message}"))
        })
        .collect()
}

/// The Pushgateway's samples of `job`, comparable between two runs: the trace id, the
/// durations, creation times and push times (and the duration buckets, which depend on
/// how fast each toolkit runs) left out.
fn pushed(gateway: &str, job: &str) -> Vec<String> {
    let (status, body) = peers::get(gateway, "/metrics", None).expect("pushgateway answers");
    assert_eq!(status, 200);
    let mut samples: Vec<String> = body
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(&format!("job=\"{job}\"")))
        .filter(|l| !l.starts_with("push_"))
        .filter(|l| !l.contains("_bucket{") || l.contains("le=\"+Inf\""))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or((l, ""));
            let series = mask_label(series, "chaostoolkit_run_trace_id");
            let timing = ["_duration{", "_sum{", "_created{"]
                .iter()
                .any(|t| series.contains(t));
            format!("{series} {}", if timing { "<varies>" } else { value })
        })
        .collect();
    samples.sort();
    samples
}

fn mask_label(series: &str, label: &str) -> String {
    let key = format!("{label}=\"");
    match series.find(&key) {
        Some(start) => {
            let from = start + key.len();
            let end = series[from..].find('"').map_or(series.len(), |e| from + e);
            format!("{}<masked>{}", &series[..from], &series[end..])
        }
        None => series.to_string(),
    }
}

/// The reference's `chaos run` of `dir/experiment.json`, with `env` added.
fn reference_chaos(dir: &Path, env: &[(&str, &str)]) -> Output {
    let bin = reference::reference_bin();
    assert!(
        bin.exists(),
        "{} is missing: run scripts/reference-venv",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.args([
        "--no-version-check",
        "run",
        "--journal-path",
        "journal.json",
        "experiment.json",
    ])
    .current_dir(dir)
    .envs(env.iter().copied())
    .stdin(Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    cmd.output().expect("run the reference")
}

fn ours(dir: &Path) -> Output {
    run::chaos(
        dir,
        &["run", "--journal-path", "journal.json", "experiment.json"],
        &[],
    )
}

#[test]
fn the_metrics_control_pushes_what_the_reference_pushes() {
    let Some(peers) = peers::peers() else {
        return;
    };
    let experiment = experiment(&peers.pushgateway, "e2e-metrics");

    let reference_dir = run::scratch("prometheus-control", "reference");
    write_experiment(&reference_dir, &experiment);
    let reference_out = reference_chaos(&reference_dir, &[]);
    let reference_pushed = pushed(&peers.pushgateway, "e2e-metrics");

    let ours_dir = run::scratch("prometheus-control", "ours");
    write_experiment(&ours_dir, &experiment);
    let ours_out = ours(&ours_dir);
    let ours_pushed = pushed(&peers.pushgateway, "e2e-metrics");

    assert_eq!(
        ours_out.status.code(),
        reference_out.status.code(),
        "exit codes; ours:\n{}",
        run::stderr(&ours_out)
    );
    assert_eq!(ours_out.status.code(), Some(1), "a deviated run exits 1");
    let journal = |dir: &Path| run::read_json(&dir.join("journal.json"));
    let (ref_journal, our_journal) = (journal(&reference_dir), journal(&ours_dir));
    for key in ["status", "deviated"] {
        assert_eq!(our_journal[key], ref_journal[key], "journal {key}");
    }
    // chaoslib 1.44: a deviated run is `completed`, with `deviated: true`.
    assert_eq!(
        (
            our_journal["status"].as_str(),
            our_journal["deviated"].as_bool()
        ),
        (Some("completed"), Some(true))
    );
    assert_eq!(
        log_lines(&ours_out),
        log_lines(&reference_out),
        "console log"
    );

    // Ours counts the activities too; everything else is upstream's, sample for sample.
    let (activities, ours_upstream): (Vec<String>, Vec<String>) = ours_pushed
        .into_iter()
        .partition(|s| s.starts_with("chaostoolkit_activity_outcome_total{"));
    assert_eq!(ours_upstream, reference_pushed, "pushed samples");
    assert!(
        reference_pushed
            .iter()
            .any(|s| s.starts_with("chaostoolkit_experiment_status{")
                && s.contains("chaostoolkit_experiment_status=\"completed\"")
                && s.ends_with(" 1")),
        "{reference_pushed:#?}"
    );
    assert!(
        reference_pushed
            .iter()
            .any(|s| s.starts_with("chaostoolkit_deviated_experiment_total{") && s.ends_with(" 1")),
        "{reference_pushed:#?}"
    );
    // The hypothesis probe ran twice (succeeded both times: the tolerance missed, the
    // probe did not fail), the action once.
    let count = |kind: &str| {
        activities
            .iter()
            .find(|s| {
                s.contains(&format!("activity_type=\"{kind}\""))
                    && s.contains("status=\"succeeded\"")
            })
            .and_then(|s| s.rsplit(' ').next())
            .map(str::to_string)
    };
    assert_eq!(count("probe").as_deref(), Some("2"), "{activities:#?}");
    assert_eq!(count("action").as_deref(), Some("1"), "{activities:#?}");
}

#[test]
fn an_unreachable_pushgateway_is_one_warning_and_the_run_is_unchanged() {
    let closed = format!(
        "http://metrics:pw-not-shown@127.0.0.1:{}",
        peers::closed_port()
    );
    let dir = run::scratch("prometheus-control", "unreachable");
    write_experiment(&dir, &experiment(&closed, "unreachable"));
    let out = ours(&dir);
    assert_eq!(out.status.code(), Some(1), "{}", run::stderr(&out));
    let journal = run::read_json(&dir.join("journal.json"));
    assert_eq!(
        (journal["status"].as_str(), journal["deviated"].as_bool()),
        (Some("completed"), Some(true))
    );
    let warnings: Vec<String> = log_lines(&out)
        .into_iter()
        .filter(|l| l.starts_with("WARNING"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].starts_with(
            "WARNING Control 'prometheus-metrics' (chaosprometheus.metrics) could not push the run's metrics: cannot reach http://metrics:***@127.0.0.1:"
        ),
        "{}",
        warnings[0]
    );
    assert!(!run::stderr(&out).contains("pw-not-shown"));
    assert!(!std::fs::read_to_string(dir.join("journal.json"))
        .unwrap_or_default()
        .is_empty());
}

#[test]
fn the_labels_name_the_chaoslib_version_the_journals_report() {
    assert_eq!(
        drivers_prometheus::metrics::CHAOSLIB_VERSION,
        engine::CHAOSLIB_COMPAT_VERSION
    );
}

fn probes_experiment() -> Value {
    let probe = |name: &str, func: &str, arguments: Value| {
        json!({
            "type": "probe",
            "name": name,
            "provider": {"type": "python", "module": "chaosprometheus.probes", "func": func, "arguments": arguments}
        })
    };
    let mut healthy = probe(
        "series-a-is-42",
        "query",
        json!({"query": "shakedown_probe_value{series=\"a\"}", "timeout": 5}),
    );
    healthy["tolerance"] =
        json!({"type": "jsonpath", "path": "$.data.result[0].value[1]", "expect": "42"});
    json!({
        "title": "Prometheus answers",
        "description": "the chaosprometheus probes against a real Prometheus",
        "configuration": {"prometheus_base_url": {"type": "env", "key": "PROMETHEUS_URL"}},
        "steady-state-hypothesis": {"title": "series a is 42", "probes": [healthy]},
        "method": [
            probe("sum", "query", json!({"query": "sum(shakedown_probe_value)", "when": "now"})),
            probe("an-hour-ago", "query", json!({"query": "shakedown_probe_value", "when": "1 hour ago"})),
            probe("range", "query_interval", json!({"query": "shakedown_probe_value{series=\"b\"}", "start": "20 seconds ago", "end": "now", "step": 2})),
            probe("bad-query", "query", json!({"query": "sum("})),
            probe("bad-date", "query_interval", json!({"query": "up", "start": "not a date at all", "end": "now"})),
            probe("range-without-step", "query_interval", json!({"query": "up", "start": "1 minute ago", "end": "now", "step": 0}))
        ]
    })
}

/// A journal with what legitimately differs between two runs masked: times, durations,
/// versions, the samples' evaluation timestamps (and which of them a range holds: its
/// distinct values are kept), and the exception's traceback (its last line is kept).
fn comparable(mut journal: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for key in [
                    "start",
                    "end",
                    "duration",
                    "chaoslib-version",
                    "platform",
                    "node",
                ] {
                    if m.contains_key(key) {
                        m.insert(key.into(), json!("<varies>"));
                    }
                }
                if let Some(Value::Array(pair)) = m.get_mut("value") {
                    if let Some(ts) = pair.first_mut() {
                        *ts = json!("<ts>");
                    }
                }
                if let Some(Value::Array(values)) = m.get_mut("values") {
                    let mut distinct: Vec<Value> = values.iter().map(|p| p[1].clone()).collect();
                    distinct.dedup();
                    m.insert("values".into(), json!({"distinct": distinct}));
                }
                if let Some(exception) = m.get_mut("exception") {
                    let last = exception
                        .as_array()
                        .and_then(|lines| {
                            lines
                                .iter()
                                .rev()
                                .find_map(|l| l.as_str().filter(|l| !l.trim().is_empty()))
                        })
                        .map(|l| l.trim_end().to_string());
                    *exception = json!(last);
                }
                m.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            Value::String(text) => *text = mask_instants(text),
            _ => {}
        }
    }
    walk(&mut journal);
    journal
}

#[test]
fn the_probes_journal_what_the_reference_journals() {
    let Some(peers) = peers::peers() else {
        return;
    };
    let experiment = probes_experiment();
    let env = [("PROMETHEUS_URL", peers.prometheus.as_str())];

    let reference_dir = run::scratch("prometheus-probes", "reference");
    write_experiment(&reference_dir, &experiment);
    let reference_out = reference_chaos(&reference_dir, &env);
    let ours_dir = run::scratch("prometheus-probes", "ours");
    write_experiment(&ours_dir, &experiment);
    let ours_out = run::chaos(
        &ours_dir,
        &["run", "--journal-path", "journal.json", "experiment.json"],
        &env,
    );

    assert_eq!(
        ours_out.status.code(),
        reference_out.status.code(),
        "exit codes"
    );
    assert_eq!(
        ours_out.status.code(),
        Some(0),
        "{}",
        run::stderr(&ours_out)
    );
    let logs =
        |out: &Output| -> Vec<String> { log_lines(out).iter().map(|l| mask_instants(l)).collect() };
    assert_eq!(logs(&ours_out), logs(&reference_out), "console log");
    let journal = |dir: &Path| comparable(run::read_json(&dir.join("journal.json")));
    let (ours, theirs) = (journal(&ours_dir), journal(&reference_dir));
    assert_eq!(
        serde_json::to_string_pretty(&ours).unwrap_or_default(),
        serde_json::to_string_pretty(&theirs).unwrap_or_default(),
        "journals"
    );
    // Not vacuous: the outputs are Prometheus' answers.
    assert_eq!(
        ours["run"][0]["output"]["data"]["result"][0]["value"][1],
        "42.5"
    );
    assert_eq!(ours["run"][1]["output"]["data"]["result"], json!([]));
    assert_eq!(
        ours["run"][2]["output"]["data"]["result"][0]["values"],
        json!({"distinct": ["0.5"]})
    );
    assert_eq!(ours["run"][3]["status"], "failed");
}

/// `text` with every instant sent to Prometheus (`2026-12-02T07:56:30.9Z`, the shape
/// maya writes) replaced by `<instant>`: the two runs query at different times.
fn mask_instants(text: &str) -> String {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dZ";
    let bytes = text.as_bytes();
    let fits = |at: usize| {
        bytes.len() >= at + SHAPE.len()
            && SHAPE
                .iter()
                .zip(&bytes[at..])
                .all(|(shape, b)| match shape {
                    b'd' => b.is_ascii_digit(),
                    other => other == b,
                })
    };
    let mut out = String::new();
    let mut at = 0;
    while at < bytes.len() {
        if fits(at) {
            out.push_str("<instant>");
            at += SHAPE.len();
        } else {
            let c = text[at..].chars().next().unwrap_or_default();
            out.push(c);
            at += c.len_utf8();
        }
    }
    out
}
