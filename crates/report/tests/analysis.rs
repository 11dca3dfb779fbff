//! The analysis of real journals (`tests/journals/`, see its README) and of the cases the
//! reference's renderer gets wrong: a `ref` in the method, non-integer Prometheus values.

use report::analysis::{analyse, Loaded, Output};
use report::{Options, Verdict};
use std::path::Path;

fn load(name: &str) -> Loaded {
    report::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/journals")
            .join(name),
    )
    .expect("fixture journal")
}

#[test]
fn a_prometheus_matrix_output_becomes_a_series_with_its_non_integer_values() {
    let a = analyse(&[load("ref.json")], &Options::default());
    let e = &a.experiments[0];
    assert_eq!(e.matrices.len(), 1);
    let m = &e.matrices[0];
    assert_eq!(m.activity, "query-error-rate");
    assert_eq!(e.activities[m.index].name, "query-error-rate");
    assert_eq!(m.series.len(), 1);
    assert_eq!(m.series[0].name, "errors{job=\"payments\"}");
    let values: Vec<f64> = m.series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(values, [1.0, 3.0, 2.5, 0.0]);
}

#[test]
fn every_phase_is_analysed_with_the_deviation_and_the_rollback() {
    for f in [
        "ref.json",
        "ref-latest.json",
        "shakedown.json",
        "old-0.14.json",
    ] {
        let a = analyse(&[load(f)], &Options::default());
        let e = &a.experiments[0];
        assert_eq!(e.verdict, Verdict::Deviated, "{f}");
        let phases: Vec<&str> = e.activities.iter().map(|a| a.phase.as_str()).collect();
        assert_eq!(
            phases,
            [
                "before", "before", "before", "method", "method", "method", "method", "method",
                "after", "after", "rollback"
            ],
            "{f}"
        );
        assert!(e.activities[4].background, "{f}");
        assert_eq!(e.activities[3].pause_after.as_deref(), Some("0.2"), "{f}");
        assert_eq!(e.deviations.len(), 1, "{f}");
        assert_eq!(e.deviations[0].observed, "\"broken\\n\"", "{f}");
        // The masked secret, substituted then hidden, in arguments and in outputs.
        let args = e.activities[3].arguments.as_deref().unwrap_or_default();
        assert!(
            args.contains("echo restart eu-west-1 with ***"),
            "{f}: {args}"
        );
        match &e.activities[3].output {
            Output::Text(b) => assert!(b.text.contains("restart eu-west-1 with ***"), "{f}"),
            other => panic!("{f}: {other:?}"),
        }
    }
}

#[test]
fn a_ref_in_the_method_is_resolved() {
    let mut l = load("ref.json");
    let method = l.journal.experiment["method"].as_array_mut().unwrap();
    method.push(serde_json::json!({"ref": "query-error-rate"}));
    method.push(serde_json::json!({"ref": "no-such-activity"}));
    let a = analyse(&[l], &Options::default());
    let e = &a.experiments[0];
    assert_eq!(
        e.method[5],
        ("probe".to_string(), "query-error-rate".to_string())
    );
    assert_eq!(
        e.method[6],
        ("ref".to_string(), "no-such-activity".to_string())
    );
    assert_eq!(e.num_probes, 4);
}

#[test]
fn var_overrides_substitute_and_secret_overrides_are_masked() {
    let mut options = Options::default();
    options
        .overrides
        .configuration
        .insert("region".into(), "us-east-2".into());
    options.overrides.secrets.insert(
        "ledger".into(),
        serde_json::json!({"token": "another-token-value"}),
    );
    let a = analyse(&[load("ref.json")], &options);
    let args = a.experiments[0].activities[3].arguments.clone().unwrap();
    assert!(args.contains("echo restart us-east-2 with ***"), "{args}");
    assert!(!args.contains("another-token-value"));
}

#[test]
fn the_continuous_hypothesis_is_analysed_per_iteration() {
    // Shakedown's run of experiment.json with `--hypothesis-strategy continuously
    // --hypothesis-frequency 0.1`.
    let a = analyse(&[load("shakedown-continuous.json")], &Options::default());
    let e = &a.experiments[0];
    assert_eq!(e.verdict, Verdict::Deviated);
    assert!(!e.during.is_empty());
    assert!(e
        .during
        .iter()
        .all(|c| c.met == Some(false) && c.probes.len() == 2));
    assert!(matches!(e.deviations[0].phase, journal::Phase::During(0)));
    assert!(
        e.verdict_line
            .starts_with("Deviated: the steady state was not met while the method ran. During the method, probe `ledger-state-is-ok` observed \"broken\\n\""),
        "{}",
        e.verdict_line
    );
}

#[test]
fn load_test_results_become_latency_and_response_charts() {
    let a = analyse(&[load("load.json")], &Options::default());
    let e = &a.experiments[0];
    assert_eq!(e.loads.len(), 2);
    let ok = &e.loads[0];
    assert_eq!(ok.activity, "users-on-the-catalogue");
    assert_eq!(e.activities[ok.index].name, ok.activity);
    let labels: Vec<&str> = ok.latency_ms.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(labels, ["min", "mean", "p50", "p90", "p99", "max"]);
    // Milliseconds as the journal has them, in increasing order of percentile.
    assert_eq!(ok.latency_ms[2], ("p50".to_string(), 3.759));
    let pct: Vec<f64> = ok.latency_ms[2..].iter().map(|(_, v)| *v).collect();
    assert!(pct.windows(2).all(|w| w[0] <= w[1]), "{pct:?}");
    assert_eq!(ok.outcomes, [("200".to_string(), 1764.0)]);
    assert_eq!(e.loads[1].outcomes, [("404".to_string(), 886.0)]);
}

#[test]
fn a_vegeta_json_report_on_a_process_stdout_is_charted_in_milliseconds() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/journals/load.json"),
    )
    .expect("fixture");
    let mut j: serde_json::Value = serde_json::from_str(&text).expect("json");
    // vegeta 12's `report -type json`, as a process activity's stdout.
    let vegeta = serde_json::json!({
        "latencies": {"total": 9_000_000_000u64, "mean": 3_000_000, "50th": 2_500_000,
                      "90th": 5_000_000, "95th": 6_000_000, "99th": 9_000_000,
                      "max": 12_000_000, "min": 1_000_000},
        "requests": 3000, "success": 0.99, "status_codes": {"200": 2970, "503": 30},
        "errors": ["503 Service Unavailable"]
    });
    j["run"][1]["output"] =
        serde_json::json!({"status": 0, "stdout": vegeta.to_string(), "stderr": ""});
    let dir = std::env::temp_dir().join(format!("report-vegeta-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("vegeta.json");
    std::fs::write(&path, j.to_string()).expect("write");
    let a = analyse(&[report::load(&path).expect("load")], &Options::default());
    let v = &a.experiments[0].loads[1];
    assert_eq!(
        v.latency_ms,
        [
            ("min".to_string(), 1.0),
            ("mean".to_string(), 3.0),
            ("p50".to_string(), 2.5),
            ("p90".to_string(), 5.0),
            ("p99".to_string(), 9.0),
            ("max".to_string(), 12.0)
        ]
    );
    assert_eq!(
        v.outcomes,
        [("200".to_string(), 2970.0), ("503".to_string(), 30.0)]
    );
}
