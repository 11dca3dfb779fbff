//! `chaos run --events-file FILE`: the run's progress as newline-delimited JSON events, as
//! chaostoolkit 1.21.4 writes them (`chaostoolkit.events.EventFile`), for whoever tails the
//! file during a long run.
//!
//! Every line is one JSON object written as Python's `json.dumps(event,
//! ensure_ascii=False)` writes it (`", "` and `": "` separators, floats as `repr`): `type`,
//! `timestamp` (`datetime.now(UTC).isoformat()`), then the payload:
//!
//! | type | payload |
//! |---|---|
//! | `run-started` | `title` |
//! | `hypothesis-started` | `phase` (`before`, `after`; `during` once, with `frequency`) |
//! | `hypothesis-completed` | `phase`, `[iteration]`, `met`, `probes` |
//! | `method-started`, `method-completed` | — |
//! | `activity-started` | `name`, `activity_type`, `background` |
//! | `activity-completed` | `name`, `activity_type`, `status`, `duration`, `output` or `output_truncated` + `output_size`, `[error]` |
//! | `rollbacks-started`, `rollbacks-completed` | — |
//! | `run-interrupted`, `run-signal-exit` | — |
//! | `run-finished` | `status`, `deviated` |
//!
//! The file is created (truncated if it exists) once the experiment is valid, just before
//! the engine starts ([`Subscriber::ready`]): a run that cannot start leaves no file. Each
//! line is flushed as it is written; the file is closed after `run-finished`.

use crate::events::{HypothesisPhase, NotReady, RunEvent, Subscriber};
use crate::journal::{HypothesisState, Record, Timestamp};
use experiment::pyjson::{self, Style};
use experiment::pyrepr::py_truthy;
use experiment::{Map, Value};
use providers::BoxFuture;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Outputs longer than this once serialised (in characters of the JSON text) are left to
/// the journal: the event says `"output_truncated": true, "output_size": <length>`.
pub const MAX_OUTPUT_SIZE: usize = 4096;

/// Why the events file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum EventsFileError {
    #[error("cannot create the events file '{}': {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The events file subscriber.
pub struct EventsFile {
    path: PathBuf,
    /// `None` before [`Subscriber::ready`], after `run-finished`, and after a write error.
    file: Mutex<Option<File>>,
}

impl EventsFile {
    /// The subscriber for `path`; nothing is created before the run is ready to start.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one event line and flushes it. A write error is logged once and ends the file.
    fn write(&self, event: &Map) {
        let mut line = dumps(&Value::Object(event.clone()));
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(open) = file.as_mut() else {
            return;
        };
        if let Err(e) = open.write_all(line.as_bytes()).and_then(|()| open.flush()) {
            log::error!(
                "cannot write to the events file '{}': {e}",
                self.path.display()
            );
            *file = None;
        }
    }

    fn close(&self) {
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Subscriber for EventsFile {
    fn ready(&self) -> Result<(), NotReady> {
        let file = File::create(&self.path).map_err(|source| {
            NotReady(Box::new(EventsFileError::Create {
                path: self.path.clone(),
                source,
            }))
        })?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
        Ok(())
    }

    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let finished = matches!(event, RunEvent::Finished { .. });
            if let Some(mut line) = event_line(&event, Timestamp::now()) {
                crate::redact::map(&mut line);
                self.write(&line);
            }
            if finished {
                self.close();
            }
        })
    }
}

/// The line of `event`, stamped `at`; `None` for the events the reference does not write.
pub fn event_line(event: &RunEvent<'_>, at: Timestamp) -> Option<Map> {
    let (kind, payload): (&str, Vec<(&str, Value)>) = match *event {
        RunEvent::ExperimentStarted { experiment, .. } => {
            ("run-started", vec![("title", field(experiment, "title"))])
        }
        RunEvent::HypothesisStarted { phase } => match phase {
            HypothesisPhase::Before => ("hypothesis-started", vec![("phase", "before".into())]),
            HypothesisPhase::After => ("hypothesis-started", vec![("phase", "after".into())]),
            // Announced once by ContinuousHypothesisStarted.
            HypothesisPhase::During(_) => return None,
        },
        RunEvent::ContinuousHypothesisStarted { frequency } => (
            "hypothesis-started",
            vec![("phase", "during".into()), ("frequency", frequency.into())],
        ),
        RunEvent::HypothesisCompleted { phase, state } => {
            let mut payload = match phase {
                HypothesisPhase::Before => vec![("phase", "before".into())],
                HypothesisPhase::After => vec![("phase", "after".into())],
                HypothesisPhase::During(i) => {
                    vec![("phase", "during".into()), ("iteration", i.into())]
                }
            };
            payload.extend(hypothesis_state(state));
            ("hypothesis-completed", payload)
        }
        RunEvent::MethodStarted => ("method-started", vec![]),
        RunEvent::MethodCompleted { .. } => ("method-completed", vec![]),
        RunEvent::ActivityStarted { activity, .. } => (
            "activity-started",
            vec![
                ("name", field(activity, "name")),
                ("activity_type", field(activity, "type")),
                (
                    "background",
                    activity.get("background").is_some_and(py_truthy).into(),
                ),
            ],
        ),
        RunEvent::ActivityCompleted { record, .. } => ("activity-completed", completed(record)),
        RunEvent::RollbacksStarted => ("rollbacks-started", vec![]),
        RunEvent::RollbacksCompleted { .. } => ("rollbacks-completed", vec![]),
        RunEvent::Interrupted => ("run-interrupted", vec![]),
        RunEvent::SignalExit => ("run-signal-exit", vec![]),
        RunEvent::Finished { json, .. } => (
            "run-finished",
            vec![
                ("status", field(json, "status")),
                (
                    "deviated",
                    json.get("deviated").cloned().unwrap_or(Value::Bool(false)),
                ),
            ],
        ),
        RunEvent::Started { .. } | RunEvent::Invalid { .. } | RunEvent::StartFailed { .. } => {
            return None
        }
    };
    let mut line = Map::new();
    line.insert("type".into(), kind.into());
    line.insert("timestamp".into(), at.iso().into());
    for (key, value) in payload {
        line.insert(key.into(), value);
    }
    Some(line)
}

fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// `activity-completed`: from the run record as the journal has it.
fn completed(record: &Record) -> Vec<(&'static str, Value)> {
    let run = record.to_json();
    let mut payload = vec![
        ("name", field(&record.activity, "name")),
        ("activity_type", field(&record.activity, "type")),
        ("status", field(&run, "status")),
        ("duration", field(&run, "duration")),
    ];
    payload.extend(bounded_output(&record.output));
    if let Some(error) = exception_text(&run) {
        payload.push(("error", error.into()));
    }
    payload
}

/// `"".join(run["exception"]).strip()` when the record has a non-empty `exception`.
pub fn exception_text(run: &Value) -> Option<String> {
    let lines = run.get("exception")?.as_array().filter(|l| !l.is_empty())?;
    let joined: String = lines.iter().filter_map(Value::as_str).collect();
    Some(py_strip(&joined).to_string())
}

/// `met` and `probes` of a hypothesis run, as `hypothesis-completed` carries them.
fn hypothesis_state(state: &HypothesisState) -> Vec<(&'static str, Value)> {
    let probes = state
        .probes
        .iter()
        .map(|probe| {
            let mut entry = Map::new();
            entry.insert("name".into(), field(&probe.activity, "name"));
            let run = probe.to_json();
            entry.insert("status".into(), field(&run, "status"));
            entry.insert("tolerance_met".into(), field(&run, "tolerance_met"));
            for (key, value) in bounded_output(&probe.output) {
                entry.insert(key.into(), value);
            }
            Value::Object(entry)
        })
        .collect();
    vec![
        ("met", state.met.map(Value::Bool).unwrap_or(Value::Null)),
        ("probes", Value::Array(probes)),
    ]
}

/// `{"output": output}` when its JSON text is at most [`MAX_OUTPUT_SIZE`] characters, else
/// `{"output_truncated": true, "output_size": <characters>}` (the reference's
/// `bounded_output`).
pub fn bounded_output(output: &Value) -> Vec<(&'static str, Value)> {
    let size = dumps(output).chars().count();
    if size > MAX_OUTPUT_SIZE {
        vec![
            ("output_truncated", Value::Bool(true)),
            ("output_size", size.into()),
        ]
    } else {
        vec![("output", output.clone())]
    }
}

/// Python's `str.strip()` (`str.isspace` characters).
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// `value` as Python's `json.dumps(value, ensure_ascii=False)` writes it: `", "` and
/// `": "` between items, floats as `repr` (`7.4e-05`, `1.0`), non-ASCII text as is.
pub fn dumps(value: &Value) -> String {
    pyjson::dumps(value, Style::PYTHON.unicode())
}

/// `value` as Python's `json.dumps(value, indent=2, ensure_ascii=False)` writes it.
pub fn dumps_pretty(value: &Value) -> String {
    pyjson::dumps(value, Style::PYTHON.indent(2).unicode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::ActivityStatus;
    use serde_json::json;

    fn text(n: usize) -> Value {
        Value::String("x".repeat(n))
    }

    #[test]
    fn outputs_up_to_4096_characters_of_json_are_kept() {
        // 4094 characters and two quotes: 4096, kept; one more: truncated.
        assert_eq!(bounded_output(&text(4094)), vec![("output", text(4094))]);
        assert_eq!(
            bounded_output(&text(4095)),
            vec![
                ("output_truncated", Value::Bool(true)),
                ("output_size", json!(4097))
            ]
        );
        // Characters, not bytes: 4094 two-byte characters are still 4096 characters.
        let wide = Value::String("é".repeat(4094));
        assert_eq!(bounded_output(&wide), vec![("output", wide.clone())]);
        // Python's separators count: `{"a": 1, "b": 2}` is 16 characters.
        assert_eq!(dumps(&json!({"a": 1, "b": 2})).chars().count(), 16);
        assert_eq!(bounded_output(&Value::Null), vec![("output", Value::Null)]);
    }

    #[test]
    fn json_text_is_pythons() {
        let value = json!({"s": "é\"\\\n\u{1}\u{7f}", "f": [0.000074, 1.0, 1e16, 0.5], "i": -3, "e": [], "o": {}, "n": null, "b": true});
        assert_eq!(
            dumps(&value),
            r#"{"s": "é\"\\\n\u0001"#.to_string()
                + "\u{7f}"
                + r#"", "f": [7.4e-05, 1.0, 1e+16, 0.5], "i": -3, "e": [], "o": {}, "n": null, "b": true}"#
        );
        assert_eq!(
            dumps_pretty(&json!({"a": [1, {"b": []}], "c": {}})),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"
        );
    }

    fn at() -> Timestamp {
        Timestamp::now()
    }

    fn line(event: RunEvent<'_>) -> String {
        let mut line = event_line(&event, at()).expect("an event line");
        line.insert("timestamp".into(), "T".into());
        dumps(&Value::Object(line))
    }

    #[test]
    fn events_have_the_references_shapes() {
        let experiment = json!({"title": "completed run"});
        let nothing = experiment::Map::new();
        let resolved = crate::events::Resolved {
            configuration: &nothing,
            secrets: &nothing,
            rollback_strategy: &crate::strategy::RollbackStrategy::Default,
            controls: &[],
        };
        assert_eq!(
            line(RunEvent::ExperimentStarted {
                experiment: &experiment,
                resolved,
            }),
            r#"{"type": "run-started", "timestamp": "T", "title": "completed run"}"#
        );
        let activity = json!({"type": "probe", "name": "p", "background": 1});
        assert_eq!(
            line(RunEvent::ActivityStarted {
                phase: crate::events::ActivityPhase::Hypothesis,
                activity: &activity
            }),
            r#"{"type": "activity-started", "timestamp": "T", "name": "p", "activity_type": "probe", "background": true}"#
        );
        assert_eq!(
            line(RunEvent::ContinuousHypothesisStarted { frequency: 1.0 }),
            r#"{"type": "hypothesis-started", "timestamp": "T", "phase": "during", "frequency": 1.0}"#
        );
        assert!(event_line(
            &RunEvent::HypothesisStarted {
                phase: HypothesisPhase::During(1)
            },
            at()
        )
        .is_none());
        assert_eq!(
            line(RunEvent::SignalExit),
            r#"{"type": "run-signal-exit", "timestamp": "T"}"#
        );
    }

    #[test]
    fn completed_activities_carry_status_duration_output_and_error() {
        let mut record = Record::started(json!({"type": "action", "name": "a"}));
        record.end = Some(record.start);
        assert_eq!(
            line(RunEvent::ActivityCompleted {
                phase: crate::events::ActivityPhase::Method,
                record: &record
            }),
            r#"{"type": "activity-completed", "timestamp": "T", "name": "a", "activity_type": "action", "status": null, "duration": 0.0, "output": null}"#
        );
        record.status = Some(ActivityStatus::Failed);
        record.failure = Some(providers::Failure::new(
            providers::FailureKind::Timeout,
            "process activity took too long to complete",
        ));
        record.output = text(5000);
        assert_eq!(
            line(RunEvent::ActivityCompleted {
                phase: crate::events::ActivityPhase::Method,
                record: &record
            }),
            r#"{"type": "activity-completed", "timestamp": "T", "name": "a", "activity_type": "action", "status": "failed", "duration": 0.0, "output_truncated": true, "output_size": 5002, "error": "chaoslib.exceptions.ActivityFailed: process activity took too long to complete"}"#
        );
    }

    #[test]
    fn hypothesis_completed_lists_the_probes_without_errors() {
        let mut probe = Record::started(json!({"type": "probe", "name": "p"}));
        probe.status = Some(ActivityStatus::Succeeded);
        probe.tolerance_met = Some(true);
        probe.output = json!({"status": 0});
        let state = HypothesisState {
            met: Some(true),
            probes: vec![probe],
        };
        assert_eq!(
            line(RunEvent::HypothesisCompleted {
                phase: HypothesisPhase::During(2),
                state: &state
            }),
            r#"{"type": "hypothesis-completed", "timestamp": "T", "phase": "during", "iteration": 2, "met": true, "probes": [{"name": "p", "status": "succeeded", "tolerance_met": true, "output": {"status": 0}}]}"#
        );
    }

    #[test]
    fn the_file_is_created_when_ready_and_a_missing_directory_is_a_clear_error() {
        let dir =
            std::env::temp_dir().join(format!("shakedown-events-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("events.ndjson");
        std::fs::write(&path, "old content\n").expect("write");
        let events = EventsFile::new(&path);
        events.ready().expect("created");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "",
            "truncated"
        );
        events.write(&event_line(&RunEvent::MethodStarted, at()).expect("line"));
        let written = std::fs::read_to_string(&path).expect("read");
        assert!(
            written.starts_with(r#"{"type": "method-started", "timestamp": ""#),
            "{written}"
        );
        assert!(written.ends_with("\"}\n"), "{written}");

        let missing = dir.join("no-such-dir/events.ndjson");
        let error = EventsFile::new(&missing).ready().expect_err("no directory");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot create the events file '{}': ",
                missing.display()
            )),
            "{message}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
