//! `chaos run --output agent`, `chaos run --events-file` and `chaos validate --output
//! agent`, compared with the newest reference: chaostoolkit 1.21.4 / chaostoolkit-lib
//! 1.45.1 in `target/reference-venv-latest` (made by `scripts/reference-venv-latest`).
//!
//! Each experiment runs through both, each in its own directory; the exit codes, the
//! report on stdout and the events file must be the same once timestamps, durations and
//! the directories are normalised. Both texts must also be exactly what Python's
//! `json.dumps` writes (so key order, separators and float forms are compared too). The one
//! difference kept on purpose (docs/compatibility.md): the `error` of an
//! `activity-completed` event is the Python traceback in the reference and its last line
//! in Shakedown; the comparison keeps the last line of both.
//!
//! The rest checks what only Shakedown does: a clear error for an events file that cannot
//! be created, stdout kept for the report, `runtime.python` not re-run under uv.

#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;

use engine::events_file::{dumps, dumps_pretty};
use reference::workspace_root;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COMPLETED: &str = r#"{
  "title": "completed run",
  "description": "all good",
  "steady-state-hypothesis": {"title": "ok", "probes": [
    {"type": "probe", "name": "probe-true", "tolerance": 0,
     "provider": {"type": "process", "path": "true"}}]},
  "method": [
    {"type": "action", "name": "action-echo", "provider": {"type": "process", "path": "echo", "arguments": "hello"}}],
  "rollbacks": [
    {"type": "action", "name": "rollback-true", "provider": {"type": "process", "path": "true"}}]
}"#;

const DEVIATED: &str = r#"{
  "title": "deviated run",
  "description": "the after hypothesis fails and a method action times out",
  "steady-state-hypothesis": {"title": "no marker", "probes": [
    {"type": "probe", "name": "no-marker", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "test ! -e marker"]}}]},
  "method": [
    {"type": "action", "name": "make-marker", "provider": {"type": "process", "path": "touch", "arguments": "marker"}},
    {"type": "action", "name": "failing-action", "provider": {"type": "process", "path": "sleep", "arguments": "3", "timeout": 0.3}}],
  "rollbacks": [
    {"type": "action", "name": "remove-marker", "provider": {"type": "process", "path": "rm", "arguments": ["-f", "marker"]}}]
}"#;

const BASELINE: &str = r#"{
  "title": "baseline not met",
  "description": "the hypothesis before the method is not met",
  "steady-state-hypothesis": {"title": "false", "probes": [
    {"type": "probe", "name": "probe-false", "tolerance": 0,
     "provider": {"type": "process", "path": "false"}}]},
  "method": [
    {"type": "action", "name": "action-true", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [
    {"type": "action", "name": "rollback-true", "provider": {"type": "process", "path": "true"}}]
}"#;

const PROBE_ERROR: &str = r#"{
  "title": "probe error",
  "description": "a probe times out",
  "steady-state-hypothesis": {"title": "slow", "probes": [
    {"type": "probe", "name": "probe-slow", "tolerance": 0,
     "provider": {"type": "process", "path": "sleep", "arguments": "3", "timeout": 0.5}}]},
  "method": [
    {"type": "action", "name": "action-true", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [
    {"type": "action", "name": "rollback-true", "provider": {"type": "process", "path": "true"}}]
}"#;

const ABORTED: &str = r#"{
  "title": "aborted run",
  "description": "a method ref to a missing activity",
  "steady-state-hypothesis": {"title": "ok", "probes": [
    {"type": "probe", "name": "probe-true", "tolerance": 0,
     "provider": {"type": "process", "path": "true"}}]},
  "method": [
    {"type": "action", "name": "action-true", "provider": {"type": "process", "path": "true"}},
    {"ref": "does-not-exist"}],
  "rollbacks": [
    {"type": "action", "name": "rollback-true", "provider": {"type": "process", "path": "true"}}]
}"#;

const NO_HYPOTHESIS: &str = r#"{
  "title": "no hypothesis",
  "description": "explore; the second rollback times out",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [
    {"type": "action", "name": "rb1", "provider": {"type": "process", "path": "true"}},
    {"type": "action", "name": "rb2", "provider": {"type": "process", "path": "sleep", "arguments": "3", "timeout": 0.3}}]
}"#;

const SLEEP: &str = r#"{
  "title": "interrupted run",
  "description": "the method sleeps",
  "steady-state-hypothesis": {"title": "ok", "probes": [
    {"type": "probe", "name": "probe-true", "tolerance": 0,
     "provider": {"type": "process", "path": "true"}}]},
  "method": [
    {"type": "action", "name": "sleep-long", "provider": {"type": "process", "path": "sleep", "arguments": "5"}},
    {"type": "action", "name": "never-run", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [
    {"type": "action", "name": "rollback-true", "provider": {"type": "process", "path": "true"}}]
}"#;

const ROLLBACK_SLEEP: &str = r#"{
  "title": "rollback sleeps",
  "description": "d",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "rollbacks": [
    {"type": "action", "name": "rb-sleep", "provider": {"type": "process", "path": "sleep", "arguments": "5"}},
    {"type": "action", "name": "rb-next", "provider": {"type": "process", "path": "true"}}]
}"#;

const INVALID: &str = r#"{
  "title": "invalid",
  "description": "no such binary",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "no-such-binary-xyz"}}]
}"#;

/// Process outputs around the truncation threshold: `{"status": 0, "stdout": "<n>", "stderr":
/// ""}` is n + 41 characters of JSON, so 4055 characters are kept and 4056 are not.
const BIG: &str = r#"{
  "title": "big outputs",
  "description": "truncation",
  "steady-state-hypothesis": {"title": "h", "probes": [
    {"type": "probe", "name": "p-big", "tolerance": 0,
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "head -c 5000 /dev/zero | tr '\\0' y"]}}]},
  "method": [
    {"type": "action", "name": "a-4055", "provider": {"type": "process", "path": "sh", "arguments": ["-c", "head -c 4055 /dev/zero | tr '\\0' x"]}},
    {"type": "action", "name": "a-4056", "provider": {"type": "process", "path": "sh", "arguments": ["-c", "head -c 4056 /dev/zero | tr '\\0' x"]}},
    {"type": "action", "name": "a-unicode", "provider": {"type": "process", "path": "echo", "arguments": ["été", "\"q\"\t"]}}]
}"#;

/// One continuous iteration only: the method ends long before the second one is due.
const CONTINUOUS: &str = r#"{
  "title": "continuous",
  "description": "d",
  "steady-state-hypothesis": {"title": "h", "probes": [
    {"type": "probe", "name": "p", "tolerance": 0, "provider": {"type": "process", "path": "true"}}]},
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "sleep", "arguments": "0.5"}}]
}"#;

const RUNTIME_NOT_A_LIST: &str = r#"{
  "title": "runtime not a list",
  "description": "d",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "runtime": {"python": {"dependencies": "requests"}}
}"#;

const RUNTIME_VERSION_NUMBER: &str = r#"{
  "title": "runtime version",
  "description": "d",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "runtime": {"python": {"version": 3.12}}
}"#;

const RUNTIME_ISOLATED: &str = r#"{
  "title": "runtime isolated",
  "description": "d",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "runtime": {"python": {"dependencies": ["requests"], "isolated": "yes"}}
}"#;

const RUNTIME_OK: &str = r#"{
  "title": "runtime ok",
  "description": "d",
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}],
  "runtime": {"python": {"dependencies": ["six==1.16.0"], "version": "3.12"}}
}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Reference,
    Ours,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Reference => "reference",
            Side::Ours => "ours",
        }
    }

    fn bin(self) -> PathBuf {
        match self {
            Side::Reference => {
                let bin = workspace_root().join("target/reference-venv-latest/bin/chaos");
                assert!(
                    bin.exists(),
                    "the newest reference is missing: {} does not exist; run scripts/reference-venv-latest",
                    bin.display()
                );
                bin
            }
            Side::Ours => PathBuf::from(env!("CARGO_BIN_EXE_chaos")),
        }
    }
}

/// What one `chaos` invocation left behind.
struct Outcome {
    dir: PathBuf,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The events file, when the run created it.
    events: Option<String>,
}

/// A fresh directory for one side of one case, canonical (as `os.getcwd()` names it).
fn scratch(case: &str, side: &str) -> PathBuf {
    let dir = workspace_root()
        .join("target/agent-output-tests")
        .join(case)
        .join(side);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch directory");
    dir.canonicalize().expect("canonical scratch directory")
}

/// A signal to send 0.3 s after a line is logged.
#[derive(Clone, Copy)]
struct Signal {
    signal: libc::c_int,
    after: &'static str,
}

/// Runs `chaos --no-version-check … ARGS` in a fresh directory holding `files`, and sends
/// the signal, if any.
fn chaos(
    side: Side,
    case: &str,
    files: &[(&str, &str)],
    args: &[&str],
    signal: Option<Signal>,
) -> Outcome {
    let bin = side.bin();
    let dir = scratch(case, side.name());
    for (name, text) in files {
        fs::write(dir.join(name), text).expect("write the experiment");
    }
    let stdout = fs::File::create(dir.join("stdout")).expect("stdout file");
    let stderr = fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut cmd = Command::new(&bin);
    reference::reset_signal_dispositions(&mut cmd);
    let mut child = cmd
        .arg("--no-version-check")
        .arg("--settings")
        .arg(dir.join("settings.yaml"))
        .arg("--log-file")
        .arg(dir.join("chaostoolkit.log"))
        .args(args)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let deadline = Instant::now() + Duration::from_secs(90);
    if let Some(Signal { signal, after }) = signal {
        let log = dir.join("stderr");
        while !fs::read_to_string(&log).unwrap_or_default().contains(after) {
            assert!(
                Instant::now() < deadline,
                "{case} ({}): `{after}` never logged",
                side.name()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        // SAFETY: signals the child this test started and has not reaped yet.
        unsafe { libc::kill(pid, signal) };
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chaos") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{case} ({}): chaos did not finish in 90 s", side.name());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code(),
        stdout: fs::read_to_string(dir.join("stdout")).expect("stdout"),
        stderr: fs::read_to_string(dir.join("stderr")).expect("stderr"),
        events: fs::read_to_string(dir.join("events.ndjson")).ok(),
        dir,
    }
}

/// Every string with `dir` replaced by `<dir>`.
fn replace_dir(value: &mut Value, dir: &str) {
    match value {
        Value::String(s) => *s = s.replace(dir, "<dir>"),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_dir(v, dir)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_dir(v, dir)),
        _ => {}
    }
}

fn placeholder(value: Option<&mut Value>, text: &str) {
    if let Some(value) = value.filter(|v| !v.is_null()) {
        *value = Value::String(text.into());
    }
}

/// `text` with the number after every `"duration": ` replaced by the string
/// `"<duration>"`. Durations are the only floats the reference computes: they are masked
/// before parsing, since serde_json may read a 17-digit float one bit off and then print
/// it differently from Python, which is not what the format check is about.
fn mask_durations(text: &str) -> String {
    const KEY: &str = "\"duration\": ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let (head, tail) = rest.split_at(at + KEY.len());
        out.push_str(head);
        let number = tail
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(tail.len());
        out.push_str(if number > 0 { "\"<duration>\"" } else { "" });
        rest = &tail[number..];
    }
    out.push_str(rest);
    out
}

/// The report with its times and directory normalised, as Python's text. The report must
/// be exactly what `json.dumps(indent=2)` and a newline give.
fn normalised_report(out: &Outcome, case: &str, side: Side) -> String {
    let stdout = mask_durations(&out.stdout);
    let mut report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{case} ({}): stdout is not one JSON report ({e}):\n{}\nstderr:\n{}",
            side.name(),
            out.stdout,
            out.stderr
        )
    });
    assert_eq!(
        format!("{}\n", dumps_pretty(&report)),
        stdout,
        "{case} ({}): the report is not json.dumps(indent=2) text",
        side.name()
    );
    if let Some(journal) = report.get_mut("journal").filter(|j| j.is_object()) {
        placeholder(journal.get_mut("start"), "<start>");
        placeholder(journal.get_mut("end"), "<end>");
        placeholder(journal.get_mut("duration"), "<duration>");
    }
    replace_dir(&mut report, &out.dir.to_string_lossy());
    dumps_pretty(&report)
}

/// The events, one normalised line each: timestamps and durations replaced, `error` cut to
/// its last line. Each line must be exactly what `json.dumps` gives.
fn normalised_events(text: &str, dir: &Path, case: &str, side: Side) -> Vec<String> {
    assert!(
        text.ends_with('\n'),
        "{case} ({}): the last line ends with a newline",
        side.name()
    );
    text.lines()
        .map(|line| {
            let line = mask_durations(line);
            let mut event: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
                panic!("{case} ({}): not a JSON line ({e}): {line}", side.name())
            });
            assert_eq!(
                dumps(&event),
                line,
                "{case} ({}): the line is not json.dumps text",
                side.name()
            );
            placeholder(event.get_mut("timestamp"), "<timestamp>");
            if let Some(Value::String(error)) = event.get_mut("error") {
                *error = error.lines().last().unwrap_or_default().to_string();
            }
            replace_dir(&mut event, &dir.to_string_lossy());
            dumps(&event)
        })
        .collect()
}

/// How the events of both sides are compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Exact,
    /// The continuous hypothesis runs beside the method: the interleaving is racy in the
    /// reference itself, so the lines are compared as a multiset.
    AnyOrder,
}

/// Runs the case through both and compares exit code, report and events file.
fn compare(
    case: &str,
    files: &[(&str, &str)],
    args: &[&str],
    signal: Option<Signal>,
    order: Order,
) {
    let theirs = chaos(Side::Reference, case, files, args, signal);
    let ours = chaos(Side::Ours, case, files, args, signal);
    let context = format!(
        "{case}\n--- reference stderr:\n{}\n--- our stderr:\n{}",
        theirs.stderr, ours.stderr
    );
    assert_eq!(ours.code, theirs.code, "exit code of {context}");
    assert_eq!(
        normalised_report(&ours, case, Side::Ours),
        normalised_report(&theirs, case, Side::Reference),
        "report of {context}"
    );
    match (&theirs.events, &ours.events) {
        (None, None) => {}
        (Some(t), Some(o)) => {
            let mut t = normalised_events(t, &theirs.dir, case, Side::Reference);
            let mut o = normalised_events(o, &ours.dir, case, Side::Ours);
            if order == Order::AnyOrder {
                t.sort();
                o.sort();
            }
            assert_eq!(o.join("\n"), t.join("\n"), "events file of {context}");
        }
        (t, o) => panic!(
            "events file: the reference's exists: {}, ours exists: {}, in {context}",
            t.is_some(),
            o.is_some()
        ),
    }
}

fn run_case(case: &str, experiment: &str, extra: &[&str]) {
    let mut args = vec!["run", "--output", "agent", "--events-file", "events.ndjson"];
    args.extend_from_slice(extra);
    args.push("experiment.json");
    compare(
        case,
        &[("experiment.json", experiment)],
        &args,
        None,
        Order::Exact,
    );
}

#[test]
fn completed_run() {
    run_case("completed", COMPLETED, &[]);
}

#[test]
fn deviated_run_with_a_failed_method_activity() {
    run_case("deviated", DEVIATED, &[]);
}

#[test]
fn baseline_not_met() {
    run_case("baseline", BASELINE, &[]);
}

#[test]
fn probe_error() {
    run_case("probe-error", PROBE_ERROR, &[]);
}

#[test]
fn aborted_run() {
    run_case("aborted", ABORTED, &["--no-validation"]);
}

#[test]
fn no_hypothesis_and_a_failed_rollback() {
    run_case("no-hypothesis", NO_HYPOTHESIS, &[]);
}

#[test]
fn dry_run() {
    run_case("dry", COMPLETED, &["--dry", "activities"]);
}

#[test]
fn outputs_are_truncated_past_4096_characters() {
    run_case("big", BIG, &[]);
}

#[test]
fn continuous_hypothesis() {
    compare(
        "continuous",
        &[("experiment.json", CONTINUOUS)],
        &[
            "run",
            "--output",
            "agent",
            "--events-file",
            "events.ndjson",
            "--hypothesis-strategy",
            "continuously",
            "--hypothesis-frequency",
            "10",
            "experiment.json",
        ],
        None,
        Order::AnyOrder,
    );
}

fn interrupted(case: &str, signal: libc::c_int) {
    compare(
        case,
        &[("experiment.json", SLEEP)],
        &[
            "run",
            "--rollback-strategy",
            "always",
            "--output",
            "agent",
            "--events-file",
            "events.ndjson",
            "experiment.json",
        ],
        Some(Signal {
            signal,
            after: "Action: sleep-long",
        }),
        Order::Exact,
    );
}

#[test]
fn interrupted_during_rollbacks() {
    compare(
        "sigint-rollbacks",
        &[("experiment.json", ROLLBACK_SLEEP)],
        &[
            "run",
            "--output",
            "agent",
            "--events-file",
            "events.ndjson",
            "experiment.json",
        ],
        Some(Signal {
            signal: libc::SIGINT,
            after: "Action: rb-sleep",
        }),
        Order::Exact,
    );
}

#[test]
fn interrupted_by_sigint() {
    interrupted("sigint", libc::SIGINT);
}

#[test]
fn interrupted_by_sigterm() {
    interrupted("sigterm", libc::SIGTERM);
}

#[test]
fn interrupted_by_sigusr2() {
    interrupted("sigusr2", libc::SIGUSR2);
}

#[test]
fn validation_error() {
    run_case("invalid", INVALID, &[]);
}

#[test]
fn load_error() {
    compare(
        "missing",
        &[],
        &[
            "run",
            "--output",
            "agent",
            "--events-file",
            "events.ndjson",
            "nosuch.json",
        ],
        None,
        Order::Exact,
    );
}

#[test]
fn runtime_python_errors_come_before_validation() {
    run_case("runtime-not-a-list", RUNTIME_NOT_A_LIST, &[]);
    run_case(
        "runtime-version-number",
        RUNTIME_VERSION_NUMBER,
        &["--no-validation"],
    );
}

#[test]
fn validate_reports() {
    for (case, files, source) in [
        (
            "validate-ok",
            vec![("experiment.json", COMPLETED)],
            "experiment.json",
        ),
        (
            "validate-invalid",
            vec![("experiment.json", INVALID)],
            "experiment.json",
        ),
        ("validate-missing", vec![], "nosuch.json"),
        (
            "validate-runtime",
            vec![("experiment.json", RUNTIME_ISOLATED)],
            "experiment.json",
        ),
    ] {
        compare(
            case,
            &files,
            &["validate", "--output", "agent", source],
            None,
            Order::Exact,
        );
    }
}

// What only Shakedown does.

fn ours(case: &str, files: &[(&str, &str)], args: &[&str]) -> Outcome {
    chaos(Side::Ours, case, files, args, None)
}

#[test]
fn an_events_file_in_a_missing_directory_stops_the_run_after_validation() {
    let out = ours(
        "events-missing-dir",
        &[("experiment.json", COMPLETED)],
        &[
            "run",
            "--output",
            "agent",
            "--events-file",
            "nodir/events.ndjson",
            "experiment.json",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(
        out.stderr.contains("Experiment looks valid")
            && out.stderr.contains(
                "ERROR] cannot create the events file 'nodir/events.ndjson': No such file or directory"
            ),
        "{}",
        out.stderr
    );
    assert!(!out.dir.join("journal.json").exists(), "no journal");
    let report: Value = serde_json::from_str(&out.stdout).expect("a report");
    assert_eq!(report["outcome"], "error");
    assert_eq!(report["error"]["stage"], "runtime", "{}", out.stdout);
    assert_eq!(report["error"]["type"], "FileNotFoundError");
}

#[test]
fn an_events_file_that_is_a_directory_is_a_usage_error() {
    let out = ours(
        "events-directory",
        &[("experiment.json", COMPLETED)],
        &["run", "--events-file", ".", "experiment.json"],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("Error: Invalid value for '--events-file': File '.' is a directory."),
        "{}",
        out.stderr
    );
    assert!(!out.dir.join("journal.json").exists(), "no journal");
}

#[test]
fn an_existing_events_file_is_overwritten_and_none_is_created_when_validation_fails() {
    let dir_files = [("experiment.json", COMPLETED), ("events.ndjson", "stale\n")];
    let out = ours(
        "events-overwritten",
        &dir_files,
        &["run", "--events-file", "events.ndjson", "experiment.json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let events = out.events.expect("the events file");
    assert!(
        events.starts_with(r#"{"type": "run-started", "#),
        "{events}"
    );
    assert!(!events.contains("stale"), "{events}");
    assert!(
        out.stdout.is_empty(),
        "text mode prints nothing: {}",
        out.stdout
    );

    let out = ours(
        "events-invalid",
        &[("experiment.json", INVALID)],
        &["run", "--events-file", "events.ndjson", "experiment.json"],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.events.is_none(),
        "no events file for an invalid experiment"
    );
}

#[test]
fn an_unknown_output_is_a_usage_error_without_a_report() {
    for command in ["run", "validate"] {
        let out = ours(
            &format!("output-json-{command}"),
            &[("experiment.json", COMPLETED)],
            &[command, "--output", "json", "experiment.json"],
        );
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

#[test]
fn in_agent_mode_what_python_prints_goes_to_stderr() {
    let module =
        "print('noisy imported')\ndef act():\n    print('noisy act called')\n    return 1\n";
    let experiment = r#"{"title": "noisy", "description": "d",
      "method": [{"type": "action", "name": "n", "provider": {"type": "python", "module": "noisy_agent_mod", "func": "act"}}]}"#;
    let dir = scratch("noisy", "ours");
    fs::write(dir.join("noisy_agent_mod.py"), module).expect("module");
    fs::write(dir.join("experiment.json"), experiment).expect("experiment");
    for command in ["run", "validate"] {
        let out = Command::new(env!("CARGO_BIN_EXE_chaos"))
            .args([
                "--no-log-file",
                command,
                "--output",
                "agent",
                "experiment.json",
            ])
            .current_dir(&dir)
            .env("PYTHONPATH", &dir)
            .output()
            .expect("run chaos");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{command}: {stderr}");
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{command}: stdout is the report only ({e}): {stdout}"));
        assert_eq!(report["command"], command);
        assert!(stderr.contains("noisy imported"), "{command}: {stderr}");
        if command == "run" {
            assert!(stderr.contains("noisy act called"), "{stderr}");
            assert_eq!(report["outcome"], "passed");
        }
    }
}

#[test]
fn runtime_python_is_not_prepared_and_the_run_says_so() {
    let out = ours(
        "runtime-ok",
        &[("experiment.json", RUNTIME_OK)],
        &["run", "--output", "agent", "experiment.json"],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "WARNING] runtime.python.dependencies are not installed by Shakedown (chaostoolkit 1.21 runs the experiment under `uv run`): install six==1.16.0 into the Python interpreter given by --python or CHAOS_PYTHON"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("WARNING] runtime.python.version 3.12 is not enforced by Shakedown"),
        "{}",
        out.stderr
    );
    let report: Value = serde_json::from_str(&out.stdout).expect("a report");
    assert_eq!(report["outcome"], "passed");
}
