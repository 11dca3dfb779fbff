//! Real journals: every journal recorded under `tests/` (the differential corpus'
//! `reference.json` files hold the reference's normalised journals) and the fixtures
//! written by chaostoolkit-lib 1.44.0, 1.45.1 and Shakedown (`tests/fixtures/`) are read,
//! checked field by field against the raw JSON, and written back with the same value and
//! the same key order in every object.

use journal::{ActivityStatus, Field, Journal, JournalError, Phase, Status};
use serde_json::{Map, Number, Value};
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Compact text of a value: with `preserve_order`, equal texts mean equal values with
/// the same key order everywhere.
fn ordered(v: &Value) -> String {
    serde_json::to_string(v).expect("a Value serialises")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn looks_like_journal(v: &Value) -> bool {
    v.get("experiment").is_some_and(Value::is_object)
        && (v.get("steady_states").is_some() || v.get("chaoslib-version").is_some())
}

/// Every run-record list of a raw journal, with its phase.
fn raw_runs(raw: &Value) -> Vec<(Phase, &Value)> {
    let mut out = Vec::new();
    let ss = raw.get("steady_states");
    fn probes(state: Option<&Value>) -> Option<&Vec<Value>> {
        state
            .and_then(|s| s.get("probes"))
            .and_then(Value::as_array)
    }
    if let Some(p) = probes(ss.and_then(|s| s.get("before"))) {
        out.extend(p.iter().map(|r| (Phase::Before, r)));
    }
    if let Some(p) = raw.get("run").and_then(Value::as_array) {
        out.extend(p.iter().map(|r| (Phase::Method, r)));
    }
    if let Some(during) = ss.and_then(|s| s.get("during")).and_then(Value::as_array) {
        for (i, state) in during.iter().enumerate() {
            if let Some(p) = probes(Some(state)) {
                out.extend(p.iter().map(|r| (Phase::During(i), r)));
            }
        }
    }
    if let Some(p) = probes(ss.and_then(|s| s.get("after"))) {
        out.extend(p.iter().map(|r| (Phase::After, r)));
    }
    if let Some(p) = raw.get("rollbacks").and_then(Value::as_array) {
        out.extend(p.iter().map(|r| (Phase::Rollback, r)));
    }
    out
}

/// The last non-empty line of a raw `exception` (list or string), computed here
/// independently of the crate.
fn raw_last_line(exc: &Value) -> Option<String> {
    let text = match exc {
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<String>(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(String::from)
}

/// Reads `raw`, checks the typed fields against it, writes it back and compares.
fn check(label: &str, raw: &Value) -> Journal {
    let j = journal::from_value(raw.clone()).unwrap_or_else(|e| panic!("{label}: {e}"));

    // the same through the text entry point
    let pretty_in = serde_json::to_string_pretty(raw).expect("serialises");
    let j2 = journal::from_str(&pretty_in).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(j, j2, "{label}: from_str and from_value differ");

    // lossless, key order included
    let text = journal::to_string_pretty(&j).unwrap_or_else(|e| panic!("{label}: {e}"));
    let back: Value = serde_json::from_str(&text).expect("our output is JSON");
    assert_eq!(
        ordered(raw),
        ordered(&back),
        "{label}: round trip changed the journal"
    );
    assert_eq!(
        ordered(&j.to_value().expect("to_value")),
        ordered(raw),
        "{label}: to_value"
    );
    let compact: Value = serde_json::from_str(&journal::to_string(&j).expect("to_string"))
        .expect("our output is JSON");
    assert_eq!(ordered(&compact), ordered(raw), "{label}: to_string");

    // typed top-level fields
    assert_eq!(
        j.title(),
        raw["experiment"].get("title").and_then(Value::as_str)
    );
    match raw.get("status") {
        None => assert!(j.status.is_absent(), "{label}"),
        Some(Value::Null) => assert!(j.status.is_null(), "{label}"),
        Some(s) => {
            let s = s.as_str().expect("status is a string");
            let typed = j.status().expect("status read");
            assert_eq!(typed.as_str(), s, "{label}");
            let expected_variant = match s {
                "completed" => Some(Status::Completed),
                "failed" => Some(Status::Failed),
                "aborted" => Some(Status::Aborted),
                "interrupted" => Some(Status::Interrupted),
                _ => None,
            };
            match expected_variant {
                Some(v) => assert_eq!(typed, &v, "{label}"),
                None => assert!(matches!(typed, Status::Other(_)), "{label}"),
            }
        }
    }
    assert_eq!(
        j.deviated(),
        raw.get("deviated").and_then(Value::as_bool),
        "{label}"
    );
    assert_eq!(
        j.duration_secs(),
        raw.get("duration").and_then(Value::as_f64),
        "{label}"
    );
    assert_eq!(
        j.chaoslib_version.get().map(String::as_str),
        raw.get("chaoslib-version").and_then(Value::as_str)
    );
    assert_eq!(
        j.interruption.is_present(),
        raw.get("interruption").is_some()
    );

    // every run record, in order, with its phase
    let expected = raw_runs(raw);
    let got: Vec<_> = j.runs().collect();
    assert_eq!(got.len(), expected.len(), "{label}: number of runs");
    for (i, ((phase, r), entry)) in expected.iter().zip(&got).enumerate() {
        let at = format!("{label}: run #{i} ({phase})");
        let run = entry.run;
        assert_eq!(entry.phase, *phase, "{at}");
        assert_eq!(
            run.name(),
            r.get("activity")
                .and_then(|a| a.get("name"))
                .and_then(Value::as_str),
            "{at}"
        );
        assert_eq!(
            run.activity_type(),
            r.get("activity")
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str),
            "{at}"
        );
        match r.get("status") {
            None => assert!(run.status.is_absent() && run.status().is_none(), "{at}"),
            Some(s) => {
                let s = s.as_str().expect("a string");
                let typed = run.status().expect("status read");
                assert_eq!(typed.as_str(), s, "{at}");
                match s {
                    "succeeded" => assert_eq!(typed, &ActivityStatus::Succeeded),
                    "failed" => assert_eq!(typed, &ActivityStatus::Failed),
                    _ => assert!(matches!(typed, ActivityStatus::Other(_))),
                }
            }
        }
        assert_eq!(run.end.is_present(), r.get("end").is_some(), "{at}");
        assert_eq!(
            run.duration.is_present(),
            r.get("duration").is_some(),
            "{at}"
        );
        assert_eq!(
            run.duration_secs(),
            r.get("duration").and_then(Value::as_f64),
            "{at}"
        );
        assert_eq!(
            run.failure_message().map(String::from),
            r.get("exception").and_then(raw_last_line),
            "{at}"
        );
        assert_eq!(
            run.tolerance_met(),
            r.get("tolerance_met").and_then(Value::as_bool),
            "{at}"
        );
        assert_eq!(run.output.as_ref(), r.get("output"), "{at}");
        if matches!(phase, Phase::Before | Phase::After | Phase::During(_)) {
            assert!(
                run.tolerance_met.is_present(),
                "{at}: a probe without tolerance_met"
            );
        }
    }
    j
}

/// The differential harness replaces every `duration` by the string `"<duration>"`
/// (and timestamps by `"<timestamp>"`, which stay strings). Put numbers back, varied so
/// that a value written at the wrong place would be noticed.
fn denormalise(journal: &mut Value) -> usize {
    let mut n = 0;
    let mut fix = |obj: &mut Value| {
        if let Some(d) = obj.get_mut("duration") {
            if d == "<duration>" {
                n += 1;
                let secs = 0.012_345 + n as f64 * 0.000_001_5;
                *d = Value::Number(Number::from_f64(secs).expect("finite"));
            }
        }
    };
    fix(journal);
    for key in ["run", "rollbacks"] {
        if let Some(list) = journal.get_mut(key).and_then(Value::as_array_mut) {
            list.iter_mut().for_each(&mut fix);
        }
    }
    if let Some(ss) = journal.get_mut("steady_states") {
        for key in ["before", "after"] {
            if let Some(p) = ss
                .get_mut(key)
                .and_then(|s| s.get_mut("probes"))
                .and_then(Value::as_array_mut)
            {
                p.iter_mut().for_each(&mut fix);
            }
        }
        if let Some(during) = ss.get_mut("during").and_then(Value::as_array_mut) {
            for state in during {
                if let Some(p) = state.get_mut("probes").and_then(Value::as_array_mut) {
                    p.iter_mut().for_each(&mut fix);
                }
            }
        }
    }
    n
}

fn json_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_journal_under_tests_round_trips() {
    let tests = workspace_root().join("tests");
    let mut files = Vec::new();
    json_files_under(&tests, &mut files);
    let (mut standalone, mut embedded, mut references) = (0, 0, 0);
    let mut statuses = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        // not every .json under tests/ is JSON (loading cases hold broken files on purpose)
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let label = f.strip_prefix(&tests).unwrap_or(f).display().to_string();
        if f.file_name().is_some_and(|n| n == "reference.json") {
            references += 1;
        }
        if looks_like_journal(&v) {
            standalone += 1;
            check(&label, &v);
        } else if let Some(raw) = v.get("journal").filter(|j| looks_like_journal(j)) {
            embedded += 1;
            let normalised = raw.clone();
            let mut raw = raw.clone();
            let replaced = denormalise(&mut raw);
            assert!(replaced >= 1, "{label}: no <duration> placeholder");
            let j = check(&label, &raw);
            *statuses
                .entry(j.status().map_or("-".into(), |s| s.to_string()))
                .or_default() += 1;

            // the normalised form itself is not a journal: durations are strings there
            match journal::from_value(normalised) {
                Err(JournalError::WrongType {
                    path,
                    expected,
                    found,
                    ..
                }) => {
                    assert!(path.ends_with("duration"), "{label}: {path}");
                    assert_eq!((expected, found), ("a number", "a string"), "{label}");
                }
                other => panic!("{label}: the normalised journal was accepted: {other:?}"),
            }
        }
    }
    eprintln!(
        "{} files, {references} reference.json, {embedded} embedded journals, {standalone} journal files; statuses {statuses:?}",
        files.len()
    );
    // the corpus holds 165 journals today; a drop means the discovery broke
    assert!(references >= 200, "only {references} reference.json found");
    assert!(
        embedded >= 150,
        "only {embedded} journals found in reference.json files"
    );
    for s in ["completed", "failed", "aborted", "interrupted"] {
        assert!(
            statuses.contains_key(s),
            "no {s} journal in the corpus: {statuses:?}"
        );
    }
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["lib-1.44.0", "lib-1.45.1", "shakedown"] {
        json_files_under(&fixtures_dir().join(dir), &mut files);
    }
    files
}

/// `7e-6` → `7e-06`, `1e16` → `1e+16`: serde_json's exponents written as Python's.
fn python_exponents(text: &str) -> String {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 16);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        out.push(c);
        i += 1;
        if c != b'e' || i < 2 || !b[i - 2].is_ascii_digit() || i >= b.len() {
            continue;
        }
        let sign = match b[i] {
            b'-' | b'+' => {
                i += 1;
                b[i - 1]
            }
            d if d.is_ascii_digit() => b'+',
            _ => continue,
        };
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        out.push(sign);
        if i - start == 1 {
            out.push(b'0');
        }
        out.extend_from_slice(&b[start..i]);
    }
    String::from_utf8(out).expect("only ASCII bytes were added")
}

/// The text of a fixture as Python's `json.dump(indent=2, ensure_ascii=False)` writes
/// it (no trailing newline).
fn as_python_writes_it(fixture: &Path) -> String {
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let text = text.trim_end_matches('\n');
    // Shakedown (at 72be959) writes serde_json's `7e-6` where Python writes `7e-06`;
    // this crate writes Python's form
    if fixture.parent().is_some_and(|p| p.ends_with("shakedown")) {
        python_exponents(text)
    } else {
        text.to_string()
    }
}

/// Equal texts, or a panic showing the first line that differs.
fn assert_same_text(label: &str, ours: &str, expected: &str) {
    if ours == expected {
        return;
    }
    let (a, b): (Vec<_>, Vec<_>) = (ours.lines().collect(), expected.lines().collect());
    let i = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    panic!(
        "{label}: text differs at line {}:\n  ours:     {:?}\n  expected: {:?}",
        i + 1,
        a.get(i),
        b.get(i)
    );
}

#[test]
fn python_exponents_helper() {
    assert_eq!(
        python_exponents(
            r#"{"a": 7e-6, "b": 1e16, "c": 5.3e-05, "d": 2.5e+300, "t": "wörld e-6 1e5"}"#
        ),
        r#"{"a": 7e-06, "b": 1e+16, "c": 5.3e-05, "d": 2.5e+300, "t": "wörld e-6 1e+05"}"#
    );
}

#[test]
fn fixtures_round_trip_byte_for_byte() {
    let files = fixture_files();
    assert!(files.len() >= 24, "{} fixtures", files.len());
    for f in &files {
        let label = f
            .strip_prefix(fixtures_dir())
            .unwrap_or(f)
            .display()
            .to_string();
        let j = check(&label, &read_json(f));
        // byte for byte what Python wrote, floats included (the dry-run journals hold
        // `5.3e-05`, which serde_json alone would write `0.000053`)
        let ours = journal::to_string_pretty(&j).expect("writes");
        assert_same_text(&label, &ours, &as_python_writes_it(f));
        assert_eq!(journal::read_file(f).expect("read_file"), j);
    }
}

#[test]
fn fixture_timestamps_parse_and_agree_with_durations() {
    for f in fixture_files() {
        let label = f.display().to_string();
        let shakedown = f.parent().is_some_and(|p| p.ends_with("shakedown"));
        let j = journal::read_file(&f).expect("reads");
        let start = j
            .start
            .get()
            .expect("start")
            .unix_seconds()
            .expect("start parses");
        let end = j
            .end
            .get()
            .expect("end")
            .unix_seconds()
            .expect("end parses");
        let total = j.duration_secs().expect("duration");
        // the reference measures `duration` with time.time(), from just before `start`
        assert!(end >= start, "{label}");
        assert!(
            (end - start - total).abs() < 0.05,
            "{label}: end - start = {}, duration {total}",
            end - start
        );
        for entry in j.runs() {
            let r = entry.run;
            let s = r.start.get().expect("start").unix_micros().expect("parses");
            assert!(s >= start as i64 * 1_000_000 - 1_000_000, "{label}");
            if let (Some(e), Some(d)) = (r.end.get(), r.duration_secs()) {
                let e = e.unix_micros().expect("end parses");
                // the reference writes `(end - start).total_seconds()`: exactly the
                // difference of the two timestamps, in microseconds. Shakedown truncates
                // the timestamps and the difference separately: 1 µs apart at most.
                let slack = if shakedown { 1 } else { 0 };
                let d = (d * 1e6).round() as i64;
                assert!(
                    (e - s - d).abs() <= slack,
                    "{label}: {:?}: end - start = {} µs, duration {d} µs",
                    r.name(),
                    e - s
                );
            }
        }
    }
}

fn fixture(name: &str) -> Journal {
    journal::read_file(fixtures_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn top_keys(j: &Journal) -> Vec<String> {
    j.to_value()
        .expect("to_value")
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn fixtures_read_as_the_runs_that_made_them() {
    for lib in ["lib-1.44.0", "lib-1.45.1"] {
        let newest = lib == "lib-1.45.1";
        let version = &lib[4..];

        let j = fixture(&format!("{lib}/completed.json"));
        assert_eq!(j.chaoslib_version.get().map(String::as_str), Some(version));
        assert_eq!(j.status(), Some(&Status::Completed));
        assert_eq!(j.deviated(), Some(false));
        let names: Vec<_> = j
            .runs()
            .map(|e| (e.phase, e.run.name().unwrap_or("")))
            .collect();
        assert_eq!(
            names,
            [
                (Phase::Before, "true-exits-zero"),
                (Phase::Method, "echo-hello"),
                (Phase::Method, "too-slow"),
                (Phase::Method, "false-exits-one"),
                (Phase::After, "true-exits-zero"),
                (Phase::Rollback, "rollback-echo"),
            ]
        );
        let m = j.method_runs();
        assert_eq!(m[0].output.as_ref().unwrap()["stdout"], "hello wörld\n");
        assert_eq!(m[1].status(), Some(&ActivityStatus::Failed));
        assert_eq!(
            m[1].failure_message(),
            Some("chaoslib.exceptions.ActivityFailed: process activity took too long to complete")
        );
        // a non-zero exit code is not a failure
        assert_eq!(m[2].status(), Some(&ActivityStatus::Succeeded));
        assert_eq!(m[2].output.as_ref().unwrap()["status"], 1);
        assert!(m[2].exception.is_absent());
        assert_eq!(j.before().and_then(|s| s.met()), Some(true));

        let j = fixture(&format!("{lib}/deviated.json"));
        assert_eq!(j.status(), Some(&Status::Completed));
        assert_eq!(j.deviated(), Some(true));
        let after = j.after().expect("after hypothesis");
        assert_eq!(after.met(), Some(false));
        assert_eq!(after.probe_runs()[0].tolerance_met(), Some(false));
        assert_eq!(j.rollback_runs()[0].name(), Some("remove-marker"));

        let j = fixture(&format!("{lib}/failed-before.json"));
        assert_eq!(j.status(), Some(&Status::Failed));
        let before = j.before().expect("before");
        assert_eq!(
            before.probe_runs()[0].status(),
            Some(&ActivityStatus::Failed)
        );
        assert!(j.method_runs().is_empty());
        assert!(j.after().is_none() && j.steady_states.get().unwrap().after.is_null());

        let j = fixture(&format!("{lib}/background.json"));
        let mut names: Vec<_> = j.method_runs().iter().filter_map(|r| r.name()).collect();
        names.sort_unstable();
        assert_eq!(names, ["bg-fast", "bg-slow", "fg-true"]);
        assert!(j.method_runs().iter().filter(|r| r.is_background()).count() == 2);
        assert!(j.rollback_runs()[0].is_background());

        let j = fixture(&format!("{lib}/continuous.json"));
        assert!(!j.during().is_empty());
        assert!(j.runs().any(|e| matches!(e.phase, Phase::During(_))));

        for (sig, rollbacks) in [("SIGINT", 1), ("SIGTERM", 0)] {
            let name = format!("{lib}/interrupted-{}.json", sig.to_lowercase());
            let j = fixture(&name);
            assert_eq!(j.status(), Some(&Status::Interrupted), "{name}");
            assert!(j.after().is_none(), "{name}");
            let interrupted = &j.method_runs()[1];
            assert_eq!(interrupted.name(), Some("long-sleep"));
            // no `status` key at all, but an end and a duration
            assert!(interrupted.status.is_absent(), "{name}");
            assert!(interrupted.end.is_present() && interrupted.duration.is_present());
            assert_eq!(j.rollback_runs().len(), rollbacks, "{name}");
            let keys = top_keys(&j);
            if newest {
                // chaostoolkit 1.21.4 records the signal, as the very last key
                let i = j.interruption.get().expect("interruption");
                assert_eq!(i.kind.get().map(String::as_str), Some("signal"));
                assert_eq!(i.name.get().map(String::as_str), Some(sig));
                assert_eq!(i.reason.get(), Some(&format!("received {sig}")));
                assert_eq!(keys.last().map(String::as_str), Some("interruption"));
                assert_eq!(i, &journal::Interruption::signal(sig));
            } else {
                assert!(j.interruption.is_absent(), "{name}");
                assert_eq!(keys.last().map(String::as_str), Some("duration"));
            }
        }
    }
}

/// Reverses the key order of every object of the journal's structure (not inside the
/// experiment, activities or outputs, whose order is kept as a plain Value anyway), and
/// inserts unknown keys at the start, middle and end: what another writer could produce.
fn shuffle(v: &mut Value, depth: usize) {
    match v {
        Value::Object(m) => {
            let old = std::mem::take(m);
            let n = old.len();
            let mut entries: Vec<(String, Value)> = old.into_iter().collect();
            entries.reverse();
            let mut out = Map::new();
            out.insert(format!("x-first-{depth}"), Value::from(depth));
            for (i, (k, mut val)) in entries.into_iter().enumerate() {
                if i == n / 2 {
                    out.insert(format!("x-middle-{depth}"), Value::Null);
                }
                if !matches!(k.as_str(), "experiment" | "activity" | "output") {
                    shuffle(&mut val, depth + 1);
                }
                out.insert(k, val);
            }
            out.insert(
                format!("x-last-{depth}"),
                serde_json::json!({"b": 1, "a": [2]}),
            );
            *m = out;
        }
        Value::Array(a) => a.iter_mut().for_each(|x| shuffle(x, depth + 1)),
        _ => {}
    }
}

#[test]
fn any_key_order_and_unknown_keys_round_trip() {
    for f in fixture_files() {
        let mut raw = read_json(&f);
        shuffle(&mut raw, 0);
        let label = format!("{} (shuffled)", f.display());
        assert_eq!(
            ordered(&raw).find("\"x-first-0\""),
            Some(1),
            "the shuffle did not happen"
        );
        let j = check(&label, &raw);
        assert_eq!(j.extra.len(), 3, "{label}");
        assert!(j.runs().all(|e| e.run.extra.len() == 3), "{label}");
    }
}

#[test]
fn a_journal_edited_after_reading_keeps_its_order_and_places_new_keys() {
    let mut j = fixture("lib-1.44.0/interrupted-sigint.json");
    // a reader that fills in the missing status of the interrupted record: it lands
    // where the reference would have written it, after `start`
    let runs = j.run.get_mut().expect("runs");
    runs[1].status = ActivityStatus::Other("interrupted".into()).into();
    runs[1].extra.insert("x-note".into(), "added".into());
    j.interruption = journal::Interruption::signal("SIGINT").into();
    j.platform = Field::Absent;
    let v = j.to_value().expect("to_value");
    let keys: Vec<_> = v["run"][1].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["activity", "output", "start", "status", "end", "duration", "x-note"]
    );
    let top: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        top,
        [
            "chaoslib-version",
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
            "interruption"
        ]
    );
    // and it reads back as it was written
    let again = journal::from_value(v.clone()).expect("reads");
    assert_eq!(ordered(&again.to_value().unwrap()), ordered(&v));
}

#[test]
fn write_file_then_read_file() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("journal-round-trip");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    for f in fixture_files() {
        let j = journal::read_file(&f).expect("reads");
        let label = f.display().to_string();
        let name = f.strip_prefix(fixtures_dir()).expect("a fixture");
        let out = dir.join(name.to_string_lossy().replace('/', "-"));
        journal::write_file(&out, &j).expect("writes");
        let written = std::fs::read_to_string(&out).expect("written");
        assert_same_text(&label, &written, &as_python_writes_it(&f));
        assert_eq!(journal::read_file(&out).expect("reads back"), j);
    }
    let missing = dir.join("missing/journal.json");
    let e = journal::read_file(&missing).expect_err("no such file");
    assert!(matches!(e, JournalError::Io { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
    assert_eq!(e.file(), Some(missing.as_path()));
}
