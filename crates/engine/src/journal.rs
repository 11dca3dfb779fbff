//! The journal: the reference's JSON shape, key order and timestamp format.

use experiment::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A UTC instant, printed like Python's `datetime.isoformat()` with a `+00:00` offset
/// (microseconds omitted when exactly zero, as Python does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Self(SystemTime::now())
    }

    /// Seconds elapsed from `earlier`, with microsecond resolution like `timedelta.total_seconds()`.
    /// Like the reference, the difference of the two instants as written (microseconds).
    pub fn seconds_since(&self, earlier: Timestamp) -> f64 {
        let micros = |t: &Timestamp| {
            t.0.duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO)
                .as_micros()
        };
        micros(self).saturating_sub(micros(&earlier)) as f64 / 1_000_000.0
    }

    pub fn iso(&self) -> String {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let micros = i64::try_from(since.as_micros()).unwrap_or(i64::MAX);
        journal::Timestamp::from_unix_micros(micros)
            .as_str()
            .to_string()
    }

    pub fn unix_seconds(&self) -> f64 {
        self.0
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }
}

/// How a run ended, as the journal's `status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Completed,
    Failed,
    Aborted,
    Interrupted,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::Interrupted => "interrupted",
        }
    }
}

/// One activity's run record, in the reference's key order:
/// `activity, output, start, status, exception, end, duration` (+ `tolerance_met`).
#[derive(Debug, Clone)]
pub struct Record {
    pub activity: Value,
    pub output: Value,
    pub start: Timestamp,
    /// `None` for an interrupted activity: the reference writes no `status` key then.
    pub status: Option<ActivityStatus>,
    /// The failure message, when the activity failed.
    pub failure: Option<providers::Failure>,
    /// `None` for a background activity abandoned by SIGUSR2 (no `end`, no `duration`).
    pub end: Option<Timestamp>,
    pub tolerance_met: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityStatus {
    Succeeded,
    Failed,
}

impl Record {
    pub fn started(activity: Value) -> Self {
        Self {
            activity,
            output: Value::Null,
            start: Timestamp::now(),
            status: None,
            failure: None,
            end: None,
            tolerance_met: None,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status == Some(ActivityStatus::Succeeded)
    }

    pub fn name(&self) -> &str {
        self.activity
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The record as the journal shows it, secrets masked (`crate::redact`).
    pub fn to_json(&self) -> Value {
        let mut json = self.json_unmasked();
        crate::redact::value(&mut json);
        json
    }

    /// The record before masking, for a whole journal that is masked once.
    fn json_unmasked(&self) -> Value {
        let mut m = Map::new();
        m.insert("activity".into(), self.activity.clone());
        m.insert("output".into(), self.output.clone());
        m.insert("start".into(), Value::String(self.start.iso()));
        if let Some(status) = self.status {
            let s = match status {
                ActivityStatus::Succeeded => "succeeded",
                ActivityStatus::Failed => "failed",
            };
            m.insert("status".into(), Value::String(s.into()));
        }
        if let Some(message) = &self.failure {
            m.insert("exception".into(), exception_lines(message.message()));
        }
        if let Some(end) = self.end {
            m.insert("end".into(), Value::String(end.iso()));
            m.insert(
                "duration".into(),
                Value::from(end.seconds_since(self.start)),
            );
        }
        if let Some(met) = self.tolerance_met {
            m.insert("tolerance_met".into(), Value::Bool(met));
        }
        Value::Object(m)
    }
}

/// The `exception` list. The reference stores a Python traceback whose last line is what
/// readers display; Shakedown has no Python frames, so it stores that last line only.
pub fn exception_lines(message: &str) -> Value {
    Value::Array(vec![Value::String(format!(
        "chaoslib.exceptions.ActivityFailed: {message}\n"
    ))])
}

/// The state of one steady-state hypothesis run.
#[derive(Debug, Clone, Default)]
pub struct HypothesisState {
    pub met: Option<bool>,
    pub probes: Vec<Record>,
}

impl HypothesisState {
    /// The state as the journal shows it, secrets masked (`crate::redact`).
    pub fn to_json(&self) -> Value {
        let mut json = self.json_unmasked();
        crate::redact::value(&mut json);
        json
    }

    fn json_unmasked(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "steady_state_met".into(),
            self.met.map(Value::Bool).unwrap_or(Value::Null),
        );
        m.insert(
            "probes".into(),
            Value::Array(self.probes.iter().map(Record::json_unmasked).collect()),
        );
        Value::Object(m)
    }

    /// True when a probe errored (as opposed to returning an out-of-tolerance value).
    pub fn has_failed_probe(&self) -> bool {
        self.probes.iter().any(|p| !p.succeeded())
    }

    pub fn last_probe_name(&self) -> &str {
        self.probes.last().map(Record::name).unwrap_or("")
    }
}

/// Everything the journal holds, filled in as the run goes.
#[derive(Debug, Clone)]
pub struct Journal {
    pub platform: String,
    pub node: String,
    pub experiment: Value,
    pub start: Timestamp,
    pub status: Option<Status>,
    pub deviated: bool,
    pub before: Option<HypothesisState>,
    pub after: Option<HypothesisState>,
    pub during: Vec<HypothesisState>,
    pub run: Vec<Record>,
    pub rollbacks: Vec<Record>,
    pub end: Option<Timestamp>,
    /// The signal that interrupted the run (SIGINT or SIGTERM), written last as
    /// chaostoolkit 1.21 writes it.
    pub interruption: Option<&'static str>,
    /// Keys a control added to the journal it was handed at the end of the run (the
    /// after-experiment hook's state, as a Python control adds keys to chaoslib's journal
    /// in place; chaostoolkit-addons 0.12 adds `safeguards`), written last.
    pub extra: Map,
}

impl Journal {
    pub fn new(experiment: Value) -> Self {
        Self {
            platform: platform(),
            node: hostname(),
            experiment,
            start: Timestamp::now(),
            status: None,
            deviated: false,
            before: None,
            after: None,
            during: Vec::new(),
            run: Vec::new(),
            rollbacks: Vec::new(),
            end: None,
            interruption: None,
            extra: Map::new(),
        }
    }

    /// Takes over the keys of `state` (the journal as an after-experiment control changed
    /// it) that the journal does not write itself.
    pub fn absorb_control_keys(&mut self, state: &Value) {
        let own = self.to_json();
        for (key, value) in state.as_object().into_iter().flatten() {
            if own.get(key).is_none() || self.extra.contains_key(key) {
                self.extra.insert(key.clone(), value.clone());
            }
        }
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "chaoslib-version".into(),
            Value::String(crate::CHAOSLIB_COMPAT_VERSION.into()),
        );
        m.insert("platform".into(), Value::String(self.platform.clone()));
        m.insert("node".into(), Value::String(self.node.clone()));
        let mut experiment = self.experiment.clone();
        crate::redact::mask_inline_secrets(&mut experiment);
        m.insert("experiment".into(), experiment);
        m.insert("start".into(), Value::String(self.start.iso()));
        m.insert(
            "status".into(),
            self.status
                .map(|s| Value::String(s.as_str().into()))
                .unwrap_or(Value::Null),
        );
        m.insert("deviated".into(), Value::Bool(self.deviated));
        let mut states = Map::new();
        let state = |s: &Option<HypothesisState>| {
            s.as_ref()
                .map(HypothesisState::json_unmasked)
                .unwrap_or(Value::Null)
        };
        states.insert("before".into(), state(&self.before));
        states.insert("after".into(), state(&self.after));
        states.insert(
            "during".into(),
            Value::Array(
                self.during
                    .iter()
                    .map(HypothesisState::json_unmasked)
                    .collect(),
            ),
        );
        m.insert("steady_states".into(), Value::Object(states));
        m.insert(
            "run".into(),
            Value::Array(self.run.iter().map(Record::json_unmasked).collect()),
        );
        m.insert(
            "rollbacks".into(),
            Value::Array(self.rollbacks.iter().map(Record::json_unmasked).collect()),
        );
        if let Some(end) = self.end {
            m.insert("end".into(), Value::String(end.iso()));
            m.insert(
                "duration".into(),
                Value::from(end.seconds_since(self.start)),
            );
        }
        if let Some(name) = self.interruption {
            m.insert(
                "interruption".into(),
                serde_json::json!({"kind": "signal", "name": name, "reason": format!("received {name}")}),
            );
        }
        m.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut json = Value::Object(m);
        // The keys controls added (a safeguard's probe run) are masked too.
        crate::redact::value(&mut json);
        json
    }
}

/// Something like Python's `platform.platform()`: `Linux-<release>-<machine>-with-<libc>`.
pub fn platform() -> String {
    let u = uname();
    format!("{}-{}-{}", u.sysname, u.release, u.machine)
}

pub fn hostname() -> String {
    uname().nodename
}

struct Uname {
    sysname: String,
    nodename: String,
    release: String,
    machine: String,
}

fn uname() -> Uname {
    // SAFETY: `utsname` is plain old data; `uname` fills it and returns 0 on success.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::uname(&mut u) } == 0;
    let field = |f: &[libc::c_char]| -> String {
        if !ok {
            return String::new();
        }
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Uname {
        sysname: field(&u.sysname),
        nodename: field(&u.nodename),
        release: field(&u.release),
        machine: field(&u.machine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_matches_python_isoformat() {
        let t = Timestamp(UNIX_EPOCH + Duration::from_micros(1_795_653_414_198_563));
        assert_eq!(t.iso(), "2026-11-26T00:36:54.198563+00:00");
        let whole = Timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400));
        assert_eq!(whole.iso(), "2000-02-29T00:00:00+00:00");
    }

    #[test]
    fn interrupted_record_has_no_status_key() {
        let mut r = Record::started(serde_json::json!({"name": "x"}));
        r.end = Some(Timestamp::now());
        let keys: Vec<String> = r.to_json().as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["activity", "output", "start", "end", "duration"]);
    }
}
