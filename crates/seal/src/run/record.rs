//! Each scenario run as a Chaos Toolkit journal: the scenario is the experiment, its
//! steps the method's actions (a `probeHTTP` a probe), the cleanup the rollbacks; each
//! with its status, start, end, duration, output and, when it failed, the reason as the
//! `exception`. Written with the `journal` crate (the types and atomic writer `chaos run`
//! uses), so `chaos report`, and whatever reads journals, reads policies too.
//!
//! Mapping (docs/seal.md): the run's `status` is `completed` when the scenario succeeded,
//! `failed` when a step failed, `interrupted` (with the `interruption` key) when a signal
//! stopped it; `deviated` is always `false` (a scenario has no steady-state hypothesis).
//! The activity's provider is `{"type": "powerfulseal", "step": <kind>, "arguments":
//! <the step as written>}`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use experiment::Value;
use journal::{ActivityStatus, Exception, Field, Journal, Run, Status, Timestamp};
use serde_json::json;

use super::shutdown::Stop;
use super::Outcome;

pub(crate) fn now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_micros(micros)
}

fn seconds_between(a: &Timestamp, b: &Timestamp) -> f64 {
    match (a.unix_micros(), b.unix_micros()) {
        (Ok(a), Ok(b)) => (b - a) as f64 / 1_000_000.0,
        _ => 0.0,
    }
}

/// One scenario run being recorded.
pub(crate) struct Record {
    title: String,
    description: String,
    origin: String,
    loop_number: u64,
    start: Timestamp,
    method: Vec<Value>,
    rollbacks: Vec<Value>,
    runs: Vec<Run>,
    rollback_runs: Vec<Run>,
}

/// A declared activity and the start of its run record.
pub(crate) struct Started {
    activity: Value,
    run: Run,
}

impl Record {
    pub(crate) fn new(title: &str, description: &str, origin: &str, loop_number: u64) -> Self {
        Record {
            title: title.to_string(),
            description: description.to_string(),
            origin: origin.to_string(),
            loop_number,
            start: now(),
            method: Vec::new(),
            rollbacks: Vec::new(),
            runs: Vec::new(),
            rollback_runs: Vec::new(),
        }
    }

    /// An activity starts: `name`, a probe or an action, the step as written.
    pub(crate) fn start(name: String, kind: &str, probe: bool, arguments: Value) -> Started {
        let activity = json!({
            "type": if probe { "probe" } else { "action" },
            "name": name,
            "provider": {"type": "powerfulseal", "step": kind, "arguments": arguments},
        });
        Started {
            run: Run::new(activity.clone(), now()),
            activity,
        }
    }

    /// The activity ended (`None`: it was interrupted, and has no status).
    pub(crate) fn finish(started: Started, outcome: Option<&Outcome>) -> (Value, Run) {
        let Started { activity, mut run } = started;
        let end = now();
        if let Some(start) = run.start.get() {
            run.duration = Field::seconds(seconds_between(start, &end));
        }
        run.end = Field::Value(end);
        match outcome {
            Some(o) => {
                run.output = Some(o.output.clone());
                if o.ok {
                    run.status = Field::Value(ActivityStatus::Succeeded);
                } else {
                    run.status = Field::Value(ActivityStatus::Failed);
                    let message = o.error.clone().unwrap_or_else(|| "step failed".into());
                    run.exception = Field::Value(Exception::Lines(
                        message.lines().map(|l| format!("{l}\n")).collect(),
                    ));
                }
            }
            None => {
                run.exception = Field::Value(Exception::Lines(vec![
                    "interrupted: the run was stopped during this step\n".into(),
                ]));
            }
        }
        (activity, run)
    }

    pub(crate) fn step(&mut self, (activity, run): (Value, Run)) {
        self.method.push(activity);
        self.runs.push(run);
    }

    pub(crate) fn rollback(&mut self, (activity, run): (Value, Run)) {
        self.rollbacks.push(activity);
        self.rollback_runs.push(run);
    }

    /// The whole journal; `ok` whether the scenario succeeded, `stop` what interrupted it.
    pub(crate) fn journal(self, ok: bool, stop: Option<Stop>) -> Journal {
        let experiment = json!({
            "version": "1.0.0",
            "title": self.title,
            "description": self.description,
            "tags": ["powerfulseal"],
            "extensions": [{"name": "powerfulseal", "policy": self.origin, "loop": self.loop_number}],
            "method": self.method,
            "rollbacks": self.rollbacks,
        });
        let mut j = Journal::new(experiment);
        j.chaoslib_version = Field::Value(format!("shakedown {}", env!("CARGO_PKG_VERSION")));
        j.platform = Field::Value(platform());
        j.node = Field::Value(hostname());
        let end = now();
        j.duration = Field::seconds(seconds_between(&self.start, &end));
        j.start = Field::Value(self.start);
        j.end = Field::Value(end);
        j.status = Field::Value(match (stop, ok) {
            (Some(_), _) => Status::Interrupted,
            (None, true) => Status::Completed,
            (None, false) => Status::Failed,
        });
        j.run = Field::Value(self.runs);
        j.rollbacks = Field::Value(self.rollback_runs);
        if let Some(stop) = stop {
            j.interruption = Field::Value(journal::Interruption::signal(stop.signal_name()));
        }
        j
    }
}

/// `<dir>/seal-journal-<scenario>-<loop>.json`: the name with every character but
/// letters, digits, `.`, `_` and `-` turned into `-`.
pub(crate) fn path(dir: &Path, scenario: &str, loop_number: u64) -> PathBuf {
    let slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    dir.join(format!("seal-journal-{slug}-{loop_number}.json"))
}

fn platform() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{}-{}-{}",
        std::env::consts::OS,
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_names_are_safe_file_names() {
        assert_eq!(
            path(Path::new("/j"), "kill half / of it", 3),
            PathBuf::from("/j/seal-journal-kill-half---of-it-3.json")
        );
    }
}
