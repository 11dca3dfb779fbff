//! The journal's objects: typed known keys, unknown keys kept, key order remembered.

use crate::order::{output_keys, KeyOrder};
use crate::read::{self, Path, ReadJson, Slot};
use crate::{ActivityStatus, Field, JournalError, Status, Timestamp};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// Implements, for an object type, from one table of `"json key" => field`:
/// - `KEYS`, the canonical key order (the table's order);
/// - reading from a JSON object (known keys typed, others into `extra`, order recorded);
/// - `Serialize`, writing the keys in the recorded order (see `order::output_keys`);
/// - `Deserialize`, through a `serde_json::Value`.
macro_rules! journal_object {
    ($t:ident, $blank:expr, { $($key:literal => $field:ident),* $(,)? }) => {
        impl $t {
            /// The keys this type knows, in the order they are written when no other order
            /// was read (the order chaostoolkit-lib 1.44 and Shakedown write them in).
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            fn known_present(&self, key: &str) -> bool {
                match key {
                    $($key => Slot::present(&self.$field),)*
                    _ => false,
                }
            }

            fn read_object(value: Value, path: Path<'_>) -> Result<Self, JournalError> {
                let map = match value {
                    Value::Object(m) => m,
                    other => return Err(read::wrong(path, "an object", &other)),
                };
                let mut out = $t {
                    order: KeyOrder::of(&map),
                    ..$blank
                };
                for (k, v) in map {
                    match k.as_str() {
                        $($key => out.$field = Slot::read_slot(v, path.key($key))?,)*
                        _ => {
                            out.extra.insert(k, v);
                        }
                    }
                }
                Ok(out)
            }
        }

        impl ReadJson for $t {
            fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
                $t::read_object(v, path)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let keys = output_keys(
                    &self.order,
                    $t::KEYS,
                    |k| self.known_present(k),
                    &self.extra,
                );
                let mut map = serializer.serialize_map(Some(keys.len()))?;
                for k in keys {
                    match k {
                        $($key if Slot::present(&self.$field) => {
                            map.serialize_entry(k, &self.$field)?
                        })*
                        _ => {
                            if let Some(v) = self.extra.get(k) {
                                map.serialize_entry(k, v)?;
                            }
                        }
                    }
                }
                map.end()
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(deserializer)?;
                $t::from_value(v).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A whole journal: what `chaos run` writes to `journal.json`.
///
/// Every key the format defines is a typed public field; keys this crate does not know
/// are kept in [`Journal::extra`]; the key order read is remembered and reproduced (see
/// the crate documentation). Only `experiment` is required: everything else may be
/// absent, and is then not written back.
#[derive(Debug, Clone, PartialEq)]
pub struct Journal {
    /// `chaoslib-version`: the engine's version, e.g. `"1.44.0"`.
    pub chaoslib_version: Field<String>,
    /// `platform`: Python's `platform.platform()` or Shakedown's equivalent.
    pub platform: Field<String>,
    /// `node`: the host name.
    pub node: Field<String>,
    /// `experiment`: the experiment as run (a JSON object, key order kept).
    pub experiment: Value,
    /// `start`: when the run started.
    pub start: Field<Timestamp>,
    /// `status`: how the run ended.
    pub status: Field<Status>,
    /// `deviated`: whether the hypothesis after the method was not met.
    pub deviated: Field<bool>,
    /// `steady_states`: the hypothesis runs.
    pub steady_states: Field<SteadyStates>,
    /// `run`: the method's run records, in start order.
    pub run: Field<Vec<Run>>,
    /// `rollbacks`: the rollbacks' run records.
    pub rollbacks: Field<Vec<Run>>,
    /// `end`: when the run ended.
    pub end: Field<Timestamp>,
    /// `duration`: seconds from start to end (a float, kept exactly as read).
    pub duration: Field<Number>,
    /// `interruption`: which signal or control interrupted the run (chaostoolkit 1.21.4
    /// with chaostoolkit-lib 1.45.1 adds it to interrupted runs, after `duration`).
    pub interruption: Field<Interruption>,
    /// `extensions`: free-form data some tools add to the journal.
    pub extensions: Option<Value>,
    /// Every other key, with its value, as read.
    pub extra: Map<String, Value>,
    order: KeyOrder,
}

journal_object!(Journal, Journal::blank(Value::Object(Map::new())), {
    "chaoslib-version" => chaoslib_version,
    "platform" => platform,
    "node" => node,
    "experiment" => experiment,
    "start" => start,
    "status" => status,
    "deviated" => deviated,
    "steady_states" => steady_states,
    "run" => run,
    "rollbacks" => rollbacks,
    "end" => end,
    "duration" => duration,
    "interruption" => interruption,
    "extensions" => extensions,
});

impl Journal {
    /// A journal with every key absent but `experiment`.
    fn blank(experiment: Value) -> Self {
        Journal {
            chaoslib_version: Field::Absent,
            platform: Field::Absent,
            node: Field::Absent,
            experiment,
            start: Field::Absent,
            status: Field::Absent,
            deviated: Field::Absent,
            steady_states: Field::Absent,
            run: Field::Absent,
            rollbacks: Field::Absent,
            end: Field::Absent,
            duration: Field::Absent,
            interruption: Field::Absent,
            extensions: None,
            extra: Map::new(),
            order: KeyOrder::default(),
        }
    }

    /// The journal of a run that is starting, shaped like chaostoolkit-lib's
    /// `initialize_run_journal`: `experiment`, `status: null`, `deviated: false`,
    /// `steady_states: {before: null, after: null, during: []}`, `run: []`,
    /// `rollbacks: []`. The caller sets `chaoslib-version`, `platform`, `node` and `start`
    /// (this crate makes no system calls), then the rest as the run goes.
    pub fn new(experiment: Value) -> Self {
        Journal {
            status: Field::Null,
            deviated: Field::Value(false),
            steady_states: Field::Value(SteadyStates::new()),
            run: Field::Value(Vec::new()),
            rollbacks: Field::Value(Vec::new()),
            ..Journal::blank(experiment)
        }
    }

    /// Reads a journal from a parsed JSON value.
    ///
    /// Fails when the value is not an object, has no `experiment` object, or a known key
    /// holds a value of the wrong type; unknown keys and unknown status strings are kept.
    pub fn from_value(value: Value) -> Result<Self, JournalError> {
        let map = match value {
            Value::Object(m) => m,
            other => {
                return Err(JournalError::NotAJournal {
                    file: None,
                    reason: format!("expected a JSON object, found {}", read::kind(&other)),
                })
            }
        };
        match map.get("experiment") {
            None => {
                return Err(JournalError::NotAJournal {
                    file: None,
                    reason: "missing key `experiment`".into(),
                })
            }
            Some(e) if !e.is_object() => {
                return Err(read::wrong(Path::Root.key("experiment"), "an object", e))
            }
            Some(_) => {}
        }
        Journal::read_object(Value::Object(map), Path::Root)
    }

    /// The journal as a JSON value, keys in the order they are written.
    pub fn to_value(&self) -> Result<Value, JournalError> {
        serde_json::to_value(self).map_err(JournalError::from_write)
    }

    /// `experiment.title`.
    pub fn title(&self) -> Option<&str> {
        self.experiment.get("title").and_then(Value::as_str)
    }

    /// The run's status (`None` when absent or `null`).
    pub fn status(&self) -> Option<&Status> {
        self.status.get()
    }

    /// Whether the run deviated (`None` when absent or `null`).
    pub fn deviated(&self) -> Option<bool> {
        self.deviated.get().copied()
    }

    /// The run's duration in seconds.
    pub fn duration_secs(&self) -> Option<f64> {
        self.duration.get().and_then(Number::as_f64)
    }

    /// The hypothesis run before the method, if any.
    pub fn before(&self) -> Option<&HypothesisState> {
        self.steady_states.get().and_then(|s| s.before.get())
    }

    /// The hypothesis run after the method, if any.
    pub fn after(&self) -> Option<&HypothesisState> {
        self.steady_states.get().and_then(|s| s.after.get())
    }

    /// The hypothesis runs during the method (continuous hypothesis), in order.
    pub fn during(&self) -> &[HypothesisState] {
        self.steady_states
            .get()
            .and_then(|s| s.during.get())
            .map_or(&[], Vec::as_slice)
    }

    /// The method's run records (empty when absent).
    pub fn method_runs(&self) -> &[Run] {
        self.run.get().map_or(&[], Vec::as_slice)
    }

    /// The rollbacks' run records (empty when absent).
    pub fn rollback_runs(&self) -> &[Run] {
        self.rollbacks.get().map_or(&[], Vec::as_slice)
    }
}

/// `steady_states`: the hypothesis runs before, during and after the method.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SteadyStates {
    /// `before`: `null` when no hypothesis ran before the method.
    pub before: Field<HypothesisState>,
    /// `after`: `null` when no hypothesis ran after the method.
    pub after: Field<HypothesisState>,
    /// `during`: one state per iteration of the continuous hypothesis.
    pub during: Field<Vec<HypothesisState>>,
    /// Every other key, as read.
    pub extra: Map<String, Value>,
    order: KeyOrder,
}

journal_object!(SteadyStates, SteadyStates::default(), {
    "before" => before,
    "after" => after,
    "during" => during,
});

impl SteadyStates {
    /// `{"before": null, "after": null, "during": []}`, as a run starts.
    pub fn new() -> Self {
        SteadyStates {
            before: Field::Null,
            after: Field::Null,
            during: Field::Value(Vec::new()),
            ..SteadyStates::default()
        }
    }

    /// Reads it from a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, JournalError> {
        SteadyStates::read_object(value, Path::Root)
    }
}

/// One run of the steady-state hypothesis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HypothesisState {
    /// `steady_state_met`.
    pub steady_state_met: Field<bool>,
    /// `probes`: the probes' run records, each with `tolerance_met`.
    pub probes: Field<Vec<Run>>,
    /// Every other key, as read.
    pub extra: Map<String, Value>,
    order: KeyOrder,
}

journal_object!(HypothesisState, HypothesisState::default(), {
    "steady_state_met" => steady_state_met,
    "probes" => probes,
});

impl HypothesisState {
    /// `{"steady_state_met": null, "probes": []}`, as the reference starts a hypothesis.
    pub fn new() -> Self {
        HypothesisState {
            steady_state_met: Field::Null,
            probes: Field::Value(Vec::new()),
            ..HypothesisState::default()
        }
    }

    /// Reads it from a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, JournalError> {
        HypothesisState::read_object(value, Path::Root)
    }

    /// Whether the hypothesis was met (`None` when absent or `null`).
    pub fn met(&self) -> Option<bool> {
        self.steady_state_met.get().copied()
    }

    /// The probes' run records (empty when absent).
    pub fn probe_runs(&self) -> &[Run] {
        self.probes.get().map_or(&[], Vec::as_slice)
    }
}

/// One activity's run record (in `run`, `rollbacks` and a hypothesis' `probes`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// `activity`: a copy of the activity as declared (unsubstituted).
    pub activity: Option<Value>,
    /// `output`: what the provider returned (`Some(Value::Null)` when it is `null`).
    pub output: Option<Value>,
    /// `start`.
    pub start: Field<Timestamp>,
    /// `status`: **absent** for an activity that was interrupted.
    pub status: Field<ActivityStatus>,
    /// `exception`: only when the activity failed.
    pub exception: Field<Exception>,
    /// `end`: absent for a background activity abandoned on SIGUSR2.
    pub end: Field<Timestamp>,
    /// `duration` in seconds, kept exactly as read; absent with `end`.
    pub duration: Field<Number>,
    /// `tolerance_met`: only in a hypothesis' probes.
    pub tolerance_met: Field<bool>,
    /// Every other key, as read.
    pub extra: Map<String, Value>,
    order: KeyOrder,
}

journal_object!(Run, Run::default(), {
    "activity" => activity,
    "output" => output,
    "start" => start,
    "status" => status,
    "exception" => exception,
    "end" => end,
    "duration" => duration,
    "tolerance_met" => tolerance_met,
});

impl Run {
    /// The record of an activity that is starting: `{activity, output: null, start}`,
    /// as the reference creates it (and appends it to the journal) before the call.
    pub fn new(activity: Value, start: Timestamp) -> Self {
        Run {
            activity: Some(activity),
            output: Some(Value::Null),
            start: Field::Value(start),
            ..Run::default()
        }
    }

    /// Reads it from a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, JournalError> {
        Run::read_object(value, Path::Root)
    }

    /// `activity.name`.
    pub fn name(&self) -> Option<&str> {
        self.activity_str("name")
    }

    /// `activity.type`: `"probe"` or `"action"`.
    pub fn activity_type(&self) -> Option<&str> {
        self.activity_str("type")
    }

    fn activity_str(&self, key: &str) -> Option<&str> {
        self.activity.as_ref()?.get(key)?.as_str()
    }

    /// True when the activity ran in the background (`activity.background` is `true`).
    pub fn is_background(&self) -> bool {
        self.activity
            .as_ref()
            .and_then(|a| a.get("background"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The activity's status (`None` when absent, as for an interrupted activity).
    pub fn status(&self) -> Option<&ActivityStatus> {
        self.status.get()
    }

    /// The duration in seconds.
    pub fn duration_secs(&self) -> Option<f64> {
        self.duration.get().and_then(Number::as_f64)
    }

    /// The failure message: the last non-empty line of `exception`, e.g.
    /// `chaoslib.exceptions.ActivityFailed: process activity took too long to complete`.
    pub fn failure_message(&self) -> Option<&str> {
        self.exception.get().and_then(Exception::last_line)
    }

    /// `tolerance_met`, for a hypothesis probe.
    pub fn tolerance_met(&self) -> Option<bool> {
        self.tolerance_met.get().copied()
    }
}

/// `interruption`: what interrupted the run, e.g.
/// `{"kind": "signal", "name": "SIGINT", "reason": "received SIGINT"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interruption {
    /// `kind`: `"signal"`, or `"control"` when a control interrupted the run.
    pub kind: Field<String>,
    /// `name`: the signal's name (`SIGINT`, `SIGTERM`) or the control's.
    pub name: Field<String>,
    /// `reason`: a sentence, e.g. `received SIGTERM`.
    pub reason: Field<String>,
    /// Every other key, as read.
    pub extra: Map<String, Value>,
    order: KeyOrder,
}

journal_object!(Interruption, Interruption::default(), {
    "kind" => kind,
    "name" => name,
    "reason" => reason,
});

impl Interruption {
    /// What chaostoolkit 1.21.4 records for a run interrupted by the signal `name`
    /// (`"SIGINT"`, `"SIGTERM"`).
    pub fn signal(name: &str) -> Self {
        Interruption {
            kind: Field::Value("signal".into()),
            name: Field::Value(name.into()),
            reason: Field::Value(format!("received {name}")),
            ..Interruption::default()
        }
    }

    /// Reads it from a parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, JournalError> {
        Interruption::read_object(value, Path::Root)
    }
}

/// A run record's `exception`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    /// What the reference writes: the lines of a Python traceback, each ending with `\n`;
    /// the last is `chaoslib.exceptions.ActivityFailed: <message>\n`.
    Lines(Vec<String>),
    /// A single string (the format allows it).
    Text(String),
}

impl Exception {
    /// The last non-empty line, trimmed: what readers display.
    pub fn last_line(&self) -> Option<&str> {
        fn last(s: &str) -> Option<&str> {
            s.lines().rev().map(str::trim).find(|l| !l.is_empty())
        }
        match self {
            Exception::Lines(lines) => lines.iter().rev().find_map(|l| last(l)),
            Exception::Text(s) => last(s),
        }
    }

    /// The whole text (the lines joined).
    pub fn text(&self) -> String {
        match self {
            Exception::Lines(lines) => lines.concat(),
            Exception::Text(s) => s.clone(),
        }
    }
}

impl ReadJson for Exception {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::String(s) => Ok(Exception::Text(s)),
            v @ Value::Array(_) => Vec::<String>::read_json(v, path).map(Exception::Lines),
            other => Err(read::wrong(path, "an array of strings or a string", &other)),
        }
    }
}

impl Serialize for Exception {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Exception::Lines(lines) => lines.serialize(serializer),
            Exception::Text(s) => s.serialize(serializer),
        }
    }
}

macro_rules! read_via_from {
    ($($t:ty),*) => {$(
        impl ReadJson for $t {
            fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
                String::read_json(v, path).map(<$t>::from)
            }
        }
    )*};
}

read_via_from!(Status, ActivityStatus, Timestamp);
