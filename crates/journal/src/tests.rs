//! Unit tests of the public behaviour on small hand-written journals.

use crate::*;
use serde_json::{json, Value};

fn ordered(v: &Value) -> String {
    serde_json::to_string(v).expect("serialises")
}

/// Reads `text`, writes it back, and checks the value and key order are unchanged.
fn round_trip(text: &str) -> Journal {
    let j = from_str(text).unwrap_or_else(|e| panic!("{e}"));
    let out = to_string_pretty(&j).expect("writes");
    let a: Value = serde_json::from_str(text).expect("test input is JSON");
    let b: Value = serde_json::from_str(&out).expect("output is JSON");
    assert_eq!(ordered(&a), ordered(&b));
    j
}

fn err(text: &str) -> JournalError {
    match from_str(text) {
        Ok(j) => panic!("accepted: {j:?}"),
        Err(e) => e,
    }
}

const MINIMAL: &str = r#"{"experiment": {"title": "t"}}"#;

#[test]
fn only_experiment_is_required() {
    let j = round_trip(MINIMAL);
    assert_eq!(j.title(), Some("t"));
    assert!(j.status.is_absent() && j.run.is_absent() && j.steady_states.is_absent());
    assert_eq!(j.status(), None);
    assert_eq!(j.runs().count(), 0);
    assert_eq!(to_string(&j).unwrap(), r#"{"experiment":{"title":"t"}}"#);
}

#[test]
fn absent_and_null_stay_apart() {
    let text = r#"{
      "experiment": {},
      "status": null,
      "steady_states": {"before": null, "during": []},
      "run": [
        {"activity": {"name": "interrupted"}, "output": null, "start": "s", "end": "e", "duration": 1.5},
        {"activity": {"name": "abandoned"}, "output": null, "start": "s"},
        {"activity": {"name": "odd"}, "output": null, "start": "s", "status": null, "end": null}
      ]
    }"#;
    let j = round_trip(text);
    assert!(j.status.is_null());
    assert!(j.deviated.is_absent());
    let ss = j.steady_states.get().unwrap();
    assert!(ss.before.is_null());
    assert!(ss.after.is_absent());
    let runs = j.method_runs();
    assert!(runs[0].status.is_absent());
    assert!(runs[0].end.is_present());
    assert!(runs[1].end.is_absent() && runs[1].duration.is_absent());
    assert!(runs[2].status.is_null() && runs[2].end.is_null());
    assert_eq!(runs[2].status(), None);
    assert_eq!(runs[0].output, Some(Value::Null));
    assert!(runs[0].exception.is_absent());
    assert!(runs[0].tolerance_met.is_absent());
    let v = j.to_value().unwrap();
    assert!(v["run"][0].get("status").is_none());
    assert_eq!(v["run"][2].get("status"), Some(&Value::Null));
    assert!(v["steady_states"].get("after").is_none());
}

#[test]
fn unknown_keys_are_kept_in_place() {
    let text = r#"{
      "x-first": 1,
      "experiment": {"title": "t", "zzz": true, "aaa": [3, 2, 1]},
      "x-between": {"nested": {"b": 1, "a": 2}},
      "status": "completed",
      "steady_states": {"during": [], "x-ss": "y", "before": null, "after": null},
      "run": [{"x-run": 0, "duration": 0.5, "activity": {"name": "a"}, "output": {"z": 1, "a": 2}, "start": "s"}],
      "x-last": null
    }"#;
    let j = round_trip(text);
    let keys: Vec<_> = j.extra.keys().map(String::as_str).collect();
    assert_eq!(keys, ["x-first", "x-between", "x-last"]);
    assert_eq!(j.extra["x-last"], Value::Null);
    assert_eq!(j.steady_states.get().unwrap().extra["x-ss"], "y");
    assert_eq!(j.method_runs()[0].extra["x-run"], 0);
    let out = to_string(&j).unwrap();
    assert!(
        out.starts_with(
            r#"{"x-first":1,"experiment":{"title":"t","zzz":true,"aaa":[3,2,1]},"x-between""#
        ),
        "{out}"
    );
}

#[test]
fn unknown_status_values_are_read_as_other_and_written_back() {
    let j = round_trip(
        r#"{"experiment": {}, "status": "deviated", "run": [
            {"activity": {}, "status": "skipped"}, {"activity": {}, "status": "succeeded"}]}"#,
    );
    assert_eq!(j.status(), Some(&Status::Other("deviated".into())));
    assert_eq!(
        j.method_runs()[0].status(),
        Some(&ActivityStatus::Other("skipped".into()))
    );
    assert_eq!(
        j.method_runs()[1].status(),
        Some(&ActivityStatus::Succeeded)
    );
    assert_eq!(to_value(&j).unwrap()["status"], "deviated");
    assert_eq!(to_value(&j).unwrap()["run"][0]["status"], "skipped");
}

#[test]
fn numbers_print_back_the_same() {
    let text = r#"{"experiment": {"n": 1}, "duration": 0.24099159240722656, "run": [
        {"duration": 0.012345}, {"duration": 0.0}, {"duration": 3}, {"duration": 1.0},
        {"duration": 0.000123}, {"duration": 123456789.123456}]}"#;
    let j = round_trip(text);
    let out = to_string(&j).unwrap();
    for n in [
        "0.24099159240722656",
        "0.012345",
        "0.0",
        ":3}",
        "1.0",
        "0.000123",
        "123456789.123456",
    ] {
        assert!(out.contains(n), "{n} not in {out}");
    }
    assert_eq!(j.method_runs()[2].duration_secs(), Some(3.0));
    assert!(j.method_runs()[2].duration.get().unwrap().is_u64());
}

#[test]
fn exceptions_as_list_or_text() {
    let j = round_trip(
        r#"{"experiment": {}, "run": [
        {"status": "failed", "exception": ["Traceback (most recent call last):\n", "  File \"x\"\n",
          "\nDuring handling of the above exception, another exception occurred:\n\n",
          "chaoslib.exceptions.ActivityFailed: boom\n"]},
        {"status": "failed", "exception": "chaoslib.exceptions.ActivityFailed: one string\n\n"},
        {"status": "failed", "exception": ["\n", "  \n"]},
        {"status": "failed", "exception": []}]}"#,
    );
    let runs = j.method_runs();
    assert_eq!(
        runs[0].failure_message(),
        Some("chaoslib.exceptions.ActivityFailed: boom")
    );
    assert!(matches!(runs[0].exception.get(), Some(Exception::Lines(l)) if l.len() == 4));
    assert_eq!(
        runs[1].failure_message(),
        Some("chaoslib.exceptions.ActivityFailed: one string")
    );
    assert!(matches!(runs[1].exception.get(), Some(Exception::Text(_))));
    assert_eq!(runs[2].failure_message(), None);
    assert_eq!(runs[3].failure_message(), None);
    assert!(runs[0]
        .exception
        .get()
        .unwrap()
        .text()
        .starts_with("Traceback"));
}

#[test]
fn run_entries_come_with_their_phase() {
    let j = round_trip(
        r#"{"experiment": {},
        "steady_states": {
          "before": {"steady_state_met": true, "probes": [{"activity": {"name": "b", "type": "probe"}, "tolerance_met": true}]},
          "after": {"steady_state_met": false, "probes": [{"activity": {"name": "a"}, "tolerance_met": false}]},
          "during": [
            {"steady_state_met": true, "probes": [{"activity": {"name": "d0"}}]},
            {"steady_state_met": null, "probes": []},
            {"steady_state_met": true, "probes": [{"activity": {"name": "d2"}}]}]},
        "run": [{"activity": {"name": "m", "type": "action", "background": true}}],
        "rollbacks": [{"activity": {"name": "r"}}]}"#,
    );
    let got: Vec<_> = j.runs().map(|e| (e.phase, e.run.name().unwrap())).collect();
    assert_eq!(
        got,
        [
            (Phase::Before, "b"),
            (Phase::Method, "m"),
            (Phase::During(0), "d0"),
            (Phase::During(2), "d2"),
            (Phase::After, "a"),
            (Phase::Rollback, "r"),
        ]
    );
    assert_eq!(j.during()[1].met(), None);
    assert!(j.during()[1].steady_state_met.is_null());
    assert_eq!(j.after().unwrap().met(), Some(false));
    assert_eq!(
        j.before().unwrap().probe_runs()[0].activity_type(),
        Some("probe")
    );
    assert!(j.method_runs()[0].is_background());
    assert!(!j.rollback_runs()[0].is_background());
    assert_eq!(Phase::During(2).to_string(), "during");
}

#[test]
fn built_in_code_in_the_canonical_order() {
    let mut j = Journal::new(json!({"title": "t", "dry": null}));
    j.chaoslib_version = Field::Value("1.44.0".into());
    j.platform = Field::Value("Linux".into());
    j.node = Field::Value("vm".into());
    j.start = Timestamp::from_unix_micros(1_795_653_414_198_563).into();
    j.end = Timestamp::from_unix_micros(1_795_653_414_437_136).into();
    j.duration = Field::seconds(0.24099159240722656);
    assert!(Field::seconds(f64::NAN).is_null());
    j.status = Status::Completed.into();
    let mut probe = Run::new(
        json!({"type": "probe"}),
        "2026-11-26T00:36:54.199511+00:00".into(),
    );
    probe.tolerance_met = true.into();
    probe.status = ActivityStatus::Succeeded.into();
    probe.duration = serde_json::Number::from(0).into();
    probe.end = Timestamp::new("e").into();
    let mut state = HypothesisState::new();
    state.steady_state_met = true.into();
    state.probes.get_mut().unwrap().push(probe);
    j.steady_states.get_mut().unwrap().before = state.into();
    let mut failed = Run::new(json!({"type": "action"}), "s".into());
    failed.exception =
        Exception::Lines(vec!["chaoslib.exceptions.ActivityFailed: x\n".into()]).into();
    failed.end = Timestamp::new("e").into();
    failed.status = ActivityStatus::Failed.into();
    j.run.get_mut().unwrap().push(failed);
    j.extra.insert("x-tool".into(), json!(1));

    let v = j.to_value().unwrap();
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&v),
        [
            "chaoslib-version",
            "platform",
            "node",
            "experiment",
            "start",
            "status",
            "deviated",
            "steady_states",
            "run",
            "rollbacks",
            "end",
            "duration",
            "x-tool"
        ]
    );
    assert_eq!(keys(&v["steady_states"]), ["before", "after", "during"]);
    assert_eq!(
        keys(&v["steady_states"]["before"]),
        ["steady_state_met", "probes"]
    );
    assert_eq!(
        keys(&v["steady_states"]["before"]["probes"][0]),
        [
            "activity",
            "output",
            "start",
            "status",
            "end",
            "duration",
            "tolerance_met"
        ]
    );
    assert_eq!(
        keys(&v["run"][0]),
        ["activity", "output", "start", "status", "exception", "end"]
    );
    assert_eq!(Journal::KEYS.len(), 14);
    assert_eq!(Run::KEYS[..3], ["activity", "output", "start"]);
    // the engine's writer today (crates/engine/src/journal.rs) writes this shape
    assert_eq!(v["status"], "completed");
    assert_eq!(v["deviated"], false);
    assert_eq!(v["steady_states"]["after"], Value::Null);
    assert_eq!(v["steady_states"]["during"], json!([]));
    assert_eq!(v["rollbacks"], json!([]));
    assert_eq!(v["duration"].to_string(), "0.24099159240722656");
    assert_eq!(v["start"], "2026-11-26T00:36:54.198563+00:00");

    // read back: equal, and written the same
    let again = from_value(v.clone()).unwrap();
    assert_eq!(again, j);
    assert_eq!(ordered(&again.to_value().unwrap()), ordered(&v));
}

#[test]
fn serde_traits_work_through_the_same_rules() {
    let j: Journal = serde_json::from_str(r#"{"experiment": {}, "status": "odd"}"#).unwrap();
    assert_eq!(j.status(), Some(&Status::Other("odd".into())));
    let e = serde_json::from_str::<Journal>(r#"{"experiment": {}, "deviated": "no"}"#)
        .expect_err("wrong type");
    assert!(
        e.to_string()
            .contains("`deviated`: expected a boolean, found a string"),
        "{e}"
    );
    let r: Run = serde_json::from_value(json!({"start": "s", "activity": {"name": "n"}})).unwrap();
    assert_eq!(r.name(), Some("n"));
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"start":"s","activity":{"name":"n"}}"#
    );
    let s: Status = serde_json::from_str("\"aborted\"").unwrap();
    assert_eq!(s, Status::Aborted);
    assert!(serde_json::from_str::<Status>("3").is_err());
}

#[test]
fn malformed_input_gives_clear_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "line 1 column 0: EOF while parsing a value"),
        ("not json", "line 1 column 2: expected ident"),
        (
            "{\n  \"experiment\": {},\n  \"status\": \n",
            "line 4 column 0: EOF while parsing a value",
        ),
        (
            "{\"experiment\": {}} trailing",
            "line 1 column 20: trailing characters",
        ),
        (
            "[]",
            "not a journal: expected a JSON object, found an array",
        ),
        (
            "[{\"experiment\": {}}]",
            "not a journal: expected a JSON object, found an array",
        ),
        (
            "\"journal\"",
            "not a journal: expected a JSON object, found a string",
        ),
        ("null", "not a journal: expected a JSON object, found null"),
        ("{}", "not a journal: missing key `experiment`"),
        (
            r#"{"status": "completed", "run": []}"#,
            "not a journal: missing key `experiment`",
        ),
        (
            r#"{"experiment": null}"#,
            "`experiment`: expected an object, found null",
        ),
        (
            r#"{"experiment": []}"#,
            "`experiment`: expected an object, found an array",
        ),
        (
            r#"{"experiment": {}, "status": 1}"#,
            "`status`: expected a string, found a number",
        ),
        (
            r#"{"experiment": {}, "deviated": "false"}"#,
            "`deviated`: expected a boolean, found a string",
        ),
        (
            r#"{"experiment": {}, "duration": "1.0"}"#,
            "`duration`: expected a number, found a string",
        ),
        (
            r#"{"experiment": {}, "start": 1700000000}"#,
            "`start`: expected a string, found a number",
        ),
        (
            r#"{"experiment": {}, "run": {}}"#,
            "`run`: expected an array, found an object",
        ),
        (
            r#"{"experiment": {}, "run": [{}, 3]}"#,
            "`run[1]`: expected an object, found a number",
        ),
        (
            r#"{"experiment": {}, "rollbacks": [{"status": true}]}"#,
            "`rollbacks[0].status`: expected a string, found a boolean",
        ),
        (
            r#"{"experiment": {}, "run": [{"exception": 5}]}"#,
            "`run[0].exception`: expected an array of strings or a string, found a number",
        ),
        (
            r#"{"experiment": {}, "run": [{"exception": ["a", 5]}]}"#,
            "`run[0].exception[1]`: expected a string, found a number",
        ),
        (
            r#"{"experiment": {}, "steady_states": []}"#,
            "`steady_states`: expected an object, found an array",
        ),
        (
            r#"{"experiment": {}, "steady_states": {"before": {"probes": [{"tolerance_met": "yes"}]}}}"#,
            "`steady_states.before.probes[0].tolerance_met`: expected a boolean, found a string",
        ),
        (
            r#"{"experiment": {}, "steady_states": {"during": [{}, {"steady_state_met": 0}]}}"#,
            "`steady_states.during[1].steady_state_met`: expected a boolean, found a number",
        ),
        (
            r#"{"experiment": {}, "interruption": "SIGINT"}"#,
            "`interruption`: expected an object, found a string",
        ),
        (
            r#"{"experiment": {}, "interruption": {"name": 2}}"#,
            "`interruption.name`: expected a string, found a number",
        ),
    ];
    for (input, message) in cases {
        let e = err(input);
        assert_eq!(&e.to_string(), message, "input {input:?}");
        assert_eq!(e.file(), None);
    }
    // syntax errors carry the parser's error as their source, and the position
    match err("{\n  \"experiment\": {},\n  x\n}") {
        e @ JournalError::Syntax {
            line: 3, column: 3, ..
        } => {
            assert!(std::error::Error::source(&e).is_some());
            assert_eq!(e.to_string(), "line 3 column 3: key must be a string");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn errors_from_a_file_name_it() {
    let dir = std::env::temp_dir().join(format!("shakedown-journal-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.json");
    std::fs::write(&path, r#"{"status": "completed"}"#).unwrap();
    let e = read_file(&path).expect_err("not a journal");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: not a journal: missing key `experiment`",
            path.display()
        )
    );
    assert_eq!(e.file(), Some(path.as_path()));
    std::fs::write(&path, "{\n\n    oops").unwrap();
    assert_eq!(
        read_file(&path).unwrap_err().to_string(),
        format!("{}: line 3 column 5: key must be a string", path.display())
    );
    std::fs::write(&path, [0xff, 0xfe, b'{']).unwrap();
    assert!(read_file(&path)
        .unwrap_err()
        .to_string()
        .starts_with(&format!("{}: line 1 column 1:", path.display())));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Arbitrary bytes and mutilated journals never panic.
#[test]
fn garbage_never_panics() {
    let base = r#"{"chaoslib-version": "1.44.0", "experiment": {"title": "t"}, "start": "2026-11-26T00:36:54+00:00",
      "status": "completed", "deviated": false, "steady_states": {"before": {"steady_state_met": true,
      "probes": [{"activity": {"name": "p"}, "output": null, "start": "s", "status": "succeeded",
      "end": "e", "duration": 0.1, "tolerance_met": true}]}, "after": null, "during": []},
      "run": [], "rollbacks": [], "end": "2026-11-26T00:36:55+00:00", "duration": 1.0}"#;
    assert!(from_str(base).is_ok());
    let bytes = base.as_bytes();
    // every prefix, and every single-byte replacement by a few troublesome bytes
    for cut in 0..bytes.len() {
        let _ = from_slice(&bytes[..cut]);
    }
    for i in 0..bytes.len() {
        for b in [b'"', b'{', b'[', b'0', b'n', b',', 0xff] {
            let mut m = bytes.to_vec();
            m[i] = b;
            if let Ok(j) = from_slice(&m) {
                // whatever was accepted can be written and read back
                let out = to_string_pretty(&j).unwrap();
                let again = from_str(&out).unwrap();
                assert_eq!(again, j);
                for e in j.runs() {
                    let _ = e.run.start.get().map(Timestamp::unix_seconds);
                    let _ = e.run.failure_message();
                }
            }
        }
    }
    // deep nesting is refused by the parser, not a stack overflow
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(from_str(&deep), Err(JournalError::Syntax { .. })));
    let deep = format!(
        r#"{{"experiment": {}1{}}}"#,
        "{\"a\":".repeat(200),
        "}".repeat(200)
    );
    assert!(from_str(&deep).is_err());
}

#[test]
fn reader_entry_points_agree() {
    let text = r#"{"experiment": {"title": "t"}, "status": "failed"}"#;
    let a = from_str(text).unwrap();
    let b = from_slice(text.as_bytes()).unwrap();
    let c = from_reader(std::io::Cursor::new(text)).unwrap();
    let d = from_value(serde_json::from_str(text).unwrap()).unwrap();
    assert!(a == b && b == c && c == d);
    let mut buf = Vec::new();
    to_writer_pretty(&mut buf, &a).unwrap();
    assert_eq!(
        String::from_utf8(buf).unwrap(),
        to_string_pretty(&a).unwrap()
    );
}

#[test]
fn equality_ignores_key_order_like_serde_json() {
    let a = from_str(r#"{"experiment": {"a": 1, "b": 2}, "status": "completed", "x": 1, "y": 2}"#)
        .unwrap();
    let b = from_str(r#"{"y": 2, "status": "completed", "x": 1, "experiment": {"b": 2, "a": 1}}"#)
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(to_string(&a).unwrap(), to_string(&b).unwrap());
}
