//! `--output agent`: one JSON report on stdout once the command is over, as chaostoolkit
//! 1.21.4 writes it (`chaostoolkit.agent`), so that a program (a coding agent, a CI step)
//! branches on a few stable fields instead of reading logs or re-deriving a verdict:
//!
//! - `outcome`: [`Outcome`], by fixed precedence ([`classify`]);
//! - `conclusive`: whether the outcome answers the question the experiment asks;
//! - `warnings`: stable [`WarningCode`]s for what weakens or qualifies the outcome.
//!
//! The exit code is unchanged by this mode. For `chaos run` the report is built by the
//! [`AgentReport`] subscriber from the final journal (or from the error that kept the run
//! from starting); `chaos validate` builds it with [`validate_report`]. The report is
//! written as Python's `json.dumps(report, indent=2, ensure_ascii=False)` plus a newline.

use crate::api::StartError;
use crate::events::{RunEvent, Subscriber};
use crate::events_file::{bounded_output, dumps_pretty};
use experiment::pyrepr::{py_str, py_truthy};
use experiment::{Map, Value};
use providers::BoxFuture;
use std::io::Write;
use std::sync::Mutex;

/// `schema` of a `run` report.
pub const RUN_SCHEMA: &str = "chaostoolkit/agent/run/v1";
/// `schema` of a `validate` report.
pub const VALIDATE_SCHEMA: &str = "chaostoolkit/agent/validate/v1";

/// What a run found, from the least to the most trustworthy verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The steady state held before, during and after the method.
    Passed,
    /// The steady state held before the method but not during or after it.
    Deviated,
    /// The steady state did not hold before the method: nothing was injected.
    BaselineNotMet,
    /// A steady-state probe failed, so its tolerance could not be evaluated.
    ProbeError,
    /// The method ran into an unexpected error.
    Aborted,
    /// A signal or a control interrupted the run.
    Interrupted,
    /// The run could not start: invalid source, experiment or runtime.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Deviated => "deviated",
            Outcome::BaselineNotMet => "baseline-not-met",
            Outcome::ProbeError => "probe-error",
            Outcome::Aborted => "aborted",
            Outcome::Interrupted => "interrupted",
            Outcome::Error => "error",
        }
    }
}

/// What weakens or qualifies an outcome, in the order the report lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningCode {
    /// Activities were not executed: the outcome says nothing about the system.
    DryRun,
    /// No probes to judge the system with: the run only explored.
    NoSteadyStateHypothesis,
    /// A method activity failed: the perturbation may not have been applied.
    MethodActivityFailed,
    /// Declared rollbacks were not all played: the system may not be restored.
    RollbacksNotPlayed,
    /// A rollback failed: the system may not be restored.
    RollbackFailed,
}

impl WarningCode {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::DryRun => "dry-run",
            WarningCode::NoSteadyStateHypothesis => "no-steady-state-hypothesis",
            WarningCode::MethodActivityFailed => "method-activity-failed",
            WarningCode::RollbacksNotPlayed => "rollbacks-not-played",
            WarningCode::RollbackFailed => "rollback-failed",
        }
    }

    /// The warnings that keep an outcome from answering the question.
    pub fn inconclusive(self) -> bool {
        matches!(
            self,
            WarningCode::DryRun
                | WarningCode::NoSteadyStateHypothesis
                | WarningCode::MethodActivityFailed
        )
    }
}

/// Where a command that could not do its work stopped, for the report's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// `load`, `validation` or `runtime`.
    pub stage: &'static str,
    /// The reference's exception class name (`InvalidSource`, `InvalidActivity`, …).
    pub kind: String,
    pub message: String,
}

impl ReportError {
    /// The stage and exception class the reference reports for the same failure. Failures
    /// the reference crashes on get the stage they happen in: a configuration or strategy
    /// error is a validation one, a control file is loaded, the events file and the
    /// signal handlers belong to the runtime.
    pub fn from_start_error(error: &StartError) -> Self {
        let (stage, kind) = match error {
            StartError::Source(_) => ("load", "InvalidSource".to_string()),
            StartError::ControlFile { .. } | StartError::ControlFileSyntax(_) => {
                ("load", "InvalidControl".to_string())
            }
            StartError::Invalid(e) => ("validation", e.exception_type().to_string()),
            StartError::Configuration(_) | StartError::Strategy(_) => {
                ("validation", "InvalidExperiment".to_string())
            }
            StartError::Runtime(_) => ("runtime", "PythonRuntimeError".to_string()),
            StartError::Signals(e) => ("runtime", os_error_type(Some(e)).to_string()),
            StartError::NotReady(e) => ("runtime", os_error_type(io_source(&*e.0)).to_string()),
            // No reference has a kill switch; the run is refused before it loads anything.
            StartError::KillSwitch(_) => ("runtime", "KillSwitchOn".to_string()),
        };
        Self {
            stage,
            kind,
            message: error.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("stage".into(), self.stage.into());
        m.insert("type".into(), self.kind.clone().into());
        m.insert("message".into(), self.message.clone().into());
        Value::Object(m)
    }
}

/// The first I/O error in an error's chain.
fn io_source<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        next = e.source();
    }
    None
}

/// Python's `OSError` subclass for an I/O error.
fn os_error_type(error: Option<&std::io::Error>) -> &'static str {
    use std::io::ErrorKind;
    match error.map(std::io::Error::kind) {
        Some(ErrorKind::NotFound) => "FileNotFoundError",
        Some(ErrorKind::PermissionDenied) => "PermissionError",
        Some(ErrorKind::IsADirectory) => "IsADirectoryError",
        Some(ErrorKind::NotADirectory) => "NotADirectoryError",
        _ => "OSError",
    }
}

/// The paths a run report names, as given on the command line.
#[derive(Debug, Clone)]
pub struct ReportPaths {
    /// SOURCE: a URL is kept, a file path made absolute.
    pub source: String,
    /// `--journal-path`.
    pub journal_path: String,
    /// `--events-file`.
    pub events_path: Option<String>,
}

/// The `chaos run --output agent` subscriber: writes the report to `out` when the run is
/// over (after the journal file and the notifications, when it comes after them in the
/// subscriber list), or when it could not start.
pub struct AgentReport {
    paths: ReportPaths,
    out: Mutex<Box<dyn Write + Send>>,
}

impl AgentReport {
    pub fn new(paths: ReportPaths, out: Box<dyn Write + Send>) -> Self {
        Self {
            paths,
            out: Mutex::new(out),
        }
    }

    fn emit(&self, report: &Value) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = write_report(&mut *out, report) {
            log::error!("cannot write the agent report: {e}");
        }
    }
}

impl Subscriber for AgentReport {
    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match event {
                RunEvent::Finished {
                    json, exit_code, ..
                } => self.emit(&run_report(json, &self.paths, exit_code)),
                RunEvent::StartFailed { error } => {
                    let error = ReportError::from_start_error(error);
                    self.emit(&run_error_report(&error, &self.paths.source, 1));
                }
                _ => {}
            }
        })
    }
}

/// Writes a report as the reference's `click.echo(json.dumps(report, indent=2,
/// ensure_ascii=False))` does, and flushes.
pub fn write_report(out: &mut dyn Write, report: &Value) -> std::io::Result<()> {
    let mut report = report.clone();
    crate::redact::value(&mut report);
    let mut text = dumps_pretty(&report);
    text.push('\n');
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// In agent mode stdout carries the report only: from now on file descriptor 1 is the
/// standard error (for Shakedown and for what it starts, the Python bridge's worker
/// included), and the returned file writes to the original standard output.
pub fn divert_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain descriptor calls; the duplicate is owned by the returned File only.
    let saved = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_DUPFD_CLOEXEC, 3) };
    if saved < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `saved` is a fresh descriptor nobody else owns.
    let original = unsafe { std::fs::File::from_raw_fd(saved) };
    // SAFETY: dup2 on the process's own standard descriptors.
    if unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(original)
}

/// The report of a run, from its final journal (the reference's `run_report`).
pub fn run_report(journal: &Value, paths: &ReportPaths, exit_code: u8) -> Value {
    let empty = Value::Object(Map::new());
    let experiment = truthy(journal.get("experiment")).unwrap_or(&empty);
    let states = States::of(journal);
    let outcome = classify(journal);
    let warnings = warnings(journal, experiment);
    let conclusive = matches!(outcome, Outcome::Passed | Outcome::Deviated)
        && !warnings.iter().any(|(code, _)| code.inconclusive());

    let mut report = Map::new();
    report.insert("schema".into(), RUN_SCHEMA.into());
    report.insert("command".into(), "run".into());
    report.insert("outcome".into(), outcome.as_str().into());
    report.insert("conclusive".into(), conclusive.into());
    report.insert("verdict".into(), verdict(outcome, journal).into());
    report.insert("exit_code".into(), exit_code.into());
    report.insert("source".into(), location(&paths.source).into());
    report.insert("journal_path".into(), abspath(&paths.journal_path).into());
    report.insert(
        "events_path".into(),
        paths
            .events_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(abspath(p)))
            .unwrap_or(Value::Null),
    );
    report.insert(
        "experiment".into(),
        object([
            ("title", get(experiment, "title")),
            ("dry", get(experiment, "dry")),
        ]),
    );
    report.insert(
        "journal".into(),
        object([
            ("status", get(journal, "status")),
            (
                "deviated",
                journal
                    .get("deviated")
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
            ),
            ("start", get(journal, "start")),
            ("end", get(journal, "end")),
            ("duration", get(journal, "duration")),
        ]),
    );
    report.insert(
        "steady_state".into(),
        object([
            ("before", state_detail(states.before)),
            ("during", during_detail(&states.during)),
            ("after", state_detail(states.after)),
        ]),
    );
    let runs = list(journal.get("run"));
    let rollbacks = list(journal.get("rollbacks"));
    report.insert(
        "method".into(),
        object([
            ("count", runs.len().into()),
            ("failed", failed_runs(runs).into()),
        ]),
    );
    report.insert(
        "rollbacks".into(),
        object([
            ("declared", list(experiment.get("rollbacks")).len().into()),
            ("played", rollbacks.len().into()),
            ("failed", failed_runs(rollbacks).into()),
        ]),
    );
    report.insert(
        "interrupted_by".into(),
        interrupted_by(journal).unwrap_or(Value::Null),
    );
    report.insert(
        "warnings".into(),
        Value::Array(
            warnings
                .into_iter()
                .map(|(code, message)| {
                    object([("code", code.as_str().into()), ("message", message.into())])
                })
                .collect(),
        ),
    );
    report.insert("error".into(), Value::Null);
    Value::Object(report)
}

/// The report of a run that could not start (the reference's `run_error_report`).
pub fn run_error_report(error: &ReportError, source: &str, exit_code: u8) -> Value {
    let mut report = Map::new();
    report.insert("schema".into(), RUN_SCHEMA.into());
    report.insert("command".into(), "run".into());
    report.insert("outcome".into(), Outcome::Error.as_str().into());
    report.insert("conclusive".into(), false.into());
    report.insert(
        "verdict".into(),
        format!("The experiment could not be run: {} failed.", error.stage).into(),
    );
    report.insert("exit_code".into(), exit_code.into());
    report.insert("source".into(), location(source).into());
    for key in [
        "journal_path",
        "events_path",
        "experiment",
        "journal",
        "steady_state",
        "method",
        "rollbacks",
        "interrupted_by",
    ] {
        report.insert(key.into(), Value::Null);
    }
    report.insert("warnings".into(), Value::Array(Vec::new()));
    report.insert("error".into(), error.to_json());
    Value::Object(report)
}

/// The report of `chaos validate`: `title` is the loaded experiment's (`None` when it
/// could not be loaded), `error` the first error found.
pub fn validate_report(source: &str, title: Option<&Value>, error: Option<&ReportError>) -> Value {
    let mut report = Map::new();
    report.insert("schema".into(), VALIDATE_SCHEMA.into());
    report.insert("command".into(), "validate".into());
    report.insert("valid".into(), error.is_none().into());
    report.insert("source".into(), location(source).into());
    report.insert("title".into(), title.cloned().unwrap_or(Value::Null));
    report.insert(
        "error".into(),
        error.map(ReportError::to_json).unwrap_or(Value::Null),
    );
    Value::Object(report)
}

/// The outcome of a run, first match wins: interrupted (also an interruption an older
/// chaostoolkit-lib swallowed as an activity failure), aborted, probe error, baseline not
/// met, deviated, passed.
pub fn classify(journal: &Value) -> Outcome {
    let status = journal.get("status").and_then(Value::as_str);
    if status == Some("interrupted") || swallowed_interruption(journal).is_some() {
        return Outcome::Interrupted;
    }
    if status == Some("aborted") {
        return Outcome::Aborted;
    }
    let states = States::of(journal);
    let probe_failed = states
        .all()
        .flat_map(|state| list(state.get("probes")))
        .any(|probe| probe.get("status").and_then(Value::as_str) != Some("succeeded"));
    if probe_failed {
        return Outcome::ProbeError;
    }
    if states.before.is_some_and(unmet) {
        return Outcome::BaselineNotMet;
    }
    if !deviated_phases(&states).is_empty() {
        return Outcome::Deviated;
    }
    Outcome::Passed
}

/// The steady states of a journal; `during` without its empty entries.
struct States<'a> {
    before: Option<&'a Value>,
    during: Vec<&'a Value>,
    after: Option<&'a Value>,
}

impl<'a> States<'a> {
    fn of(journal: &'a Value) -> Self {
        let states = truthy(journal.get("steady_states"));
        let get = |key| states.and_then(|s| truthy(s.get(key)));
        Self {
            before: get("before"),
            during: list(states.and_then(|s| s.get("during")))
                .iter()
                .filter(|s| py_truthy(s))
                .collect(),
            after: get("after"),
        }
    }

    fn all(&self) -> impl Iterator<Item = &'a Value> + '_ {
        self.before
            .into_iter()
            .chain(self.during.iter().copied())
            .chain(self.after)
    }
}

/// `steady_state_met is False`.
fn unmet(state: &Value) -> bool {
    state.get("steady_state_met") == Some(&Value::Bool(false))
}

fn deviated_phases(states: &States<'_>) -> Vec<&'static str> {
    let mut phases = Vec::new();
    if states.during.iter().any(|s| unmet(s)) {
        phases.push("during");
    }
    if states.after.is_some_and(unmet) {
        phases.push("after");
    }
    phases
}

fn verdict(outcome: Outcome, journal: &Value) -> String {
    let states = States::of(journal);
    match outcome {
        Outcome::Passed => {
            let mut phases = Vec::new();
            if states.before.is_some() {
                phases.push("before");
            }
            if !states.during.is_empty() {
                phases.push("during");
            }
            if states.after.is_some() {
                phases.push("after");
            }
            if phases.is_empty() {
                "The run completed without evaluating a steady state.".into()
            } else {
                format!("The steady state held {} the method.", join(&phases))
            }
        }
        Outcome::Deviated => {
            let deviated = join(&deviated_phases(&states));
            if states.before.is_none() {
                format!(
                    "The steady state did not hold {deviated} the method, no baseline was evaluated before it."
                )
            } else {
                format!("The steady state held before the method but not {deviated} it.")
            }
        }
        Outcome::BaselineNotMet => {
            "The steady state did not hold before the method, nothing was injected.".into()
        }
        Outcome::ProbeError => {
            "A steady-state probe could not be executed, its tolerance could not be evaluated."
                .into()
        }
        Outcome::Aborted => "The method ran into an unexpected error, the run was aborted.".into(),
        Outcome::Interrupted | Outcome::Error => match interrupted_by(journal) {
            Some(by) => {
                let text = |key| by.get(key).map(py_str).unwrap_or_else(|| "None".into());
                match by.get("kind").and_then(Value::as_str) {
                    Some("safeguard") => format!(
                        "The run was interrupted by the safeguard '{}' before it completed.",
                        text("name")
                    ),
                    Some("control") => format!(
                        "The run was interrupted by the control '{}': {}",
                        text("name"),
                        text("reason")
                    ),
                    _ => format!(
                        "The run was interrupted before it completed: {}",
                        text("reason")
                    ),
                }
            }
            None => "The run was interrupted before it completed.".into(),
        },
    }
}

fn warnings(journal: &Value, experiment: &Value) -> Vec<(WarningCode, String)> {
    let mut warnings = Vec::new();
    if let Some(dry) = truthy(experiment.get("dry")) {
        warnings.push((
            WarningCode::DryRun,
            format!("Activities were not executed (dry run: {}).", py_str(dry)),
        ));
    }
    let probes = truthy(experiment.get("steady-state-hypothesis")).and_then(|h| h.get("probes"));
    if truthy(probes).is_none() {
        warnings.push((
            WarningCode::NoSteadyStateHypothesis,
            "The experiment has no steady-state probes, nothing was judged.".into(),
        ));
    }
    let names = |runs: &[Value]| {
        failed_runs(runs)
            .iter()
            .map(|r| r.get("name").map(py_str).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let failed = names(list(journal.get("run")));
    if !failed.is_empty() {
        warnings.push((
            WarningCode::MethodActivityFailed,
            format!(
                "Method activities failed, the perturbation may not have been applied: {failed}."
            ),
        ));
    }
    let declared = list(experiment.get("rollbacks")).len();
    let played = list(journal.get("rollbacks")).len();
    if played < declared {
        warnings.push((
            WarningCode::RollbacksNotPlayed,
            format!(
                "Only {played} of {declared} declared rollbacks were played, the system may not be restored."
            ),
        ));
    }
    let failed = names(list(journal.get("rollbacks")));
    if !failed.is_empty() {
        warnings.push((
            WarningCode::RollbackFailed,
            format!("Rollbacks failed, the system may not be restored: {failed}."),
        ));
    }
    warnings
}

/// What interrupted the run, when the journal says: a chaosaddons safeguard
/// (`safeguards.triggered_by`), the journal's `interruption` (a signal, or a control that
/// recorded itself), or an interruption an older chaostoolkit-lib swallowed.
fn interrupted_by(journal: &Value) -> Option<Value> {
    let swallowed = swallowed_interruption(journal);
    if journal.get("status").and_then(Value::as_str) != Some("interrupted") && swallowed.is_none() {
        return None;
    }
    let safeguards = truthy(journal.get("safeguards"));
    let Some(name) = truthy(safeguards.and_then(|s| s.get("triggered_by"))) else {
        if let Some(interruption) = journal.get("interruption").filter(|i| i.is_object()) {
            if let Some(reason) = truthy(interruption.get("reason")) {
                return Some(object([
                    (
                        "kind",
                        truthy(interruption.get("kind"))
                            .cloned()
                            .unwrap_or_else(|| "control".into()),
                    ),
                    ("name", get(interruption, "name")),
                    ("reason", reason.clone()),
                ]));
            }
        }
        return swallowed.map(|reason| {
            object([
                ("kind", "signal".into()),
                ("name", Value::Null),
                ("reason", reason.into()),
            ])
        });
    };
    let empty = Value::Object(Map::new());
    let run = truthy(safeguards.and_then(|s| s.get("run"))).unwrap_or(&empty);
    let activity = truthy(run.get("activity")).unwrap_or(&empty);
    let mut detail = Map::new();
    detail.insert("kind".into(), "safeguard".into());
    detail.insert("name".into(), name.clone());
    detail.insert("status".into(), get(run, "status"));
    detail.insert("tolerance".into(), get(activity, "tolerance"));
    for (key, value) in bounded_output(&get(run, "output")) {
        detail.insert(key.into(), value);
    }
    if let Some(exception) = truthy(run.get("exception")) {
        detail.insert("error".into(), last_line(exception).into());
    }
    Some(Value::Object(detail))
}

const SWALLOWED_INTERRUPTION: &str =
    "chaoslib.exceptions.ActivityFailed: chaoslib.exceptions.InterruptExecution";

/// Older chaostoolkit-lib versions turned an interruption raised in a Python activity (on
/// SIGTERM, say) into that activity's failure and went on: its reason, if so.
fn swallowed_interruption(journal: &Value) -> Option<String> {
    let states = States::of(journal);
    let runs = list(journal.get("run"))
        .iter()
        .chain(list(journal.get("rollbacks")))
        .chain(states.all().flat_map(|s| list(s.get("probes"))));
    for run in runs {
        for line in list(run.get("exception")).iter().filter_map(Value::as_str) {
            if let Some(rest) = py_strip(line).strip_prefix(SWALLOWED_INTERRUPTION) {
                let reason = rest.trim_start_matches([':', ' ']);
                return Some(if reason.is_empty() {
                    "interrupted".into()
                } else {
                    reason.into()
                });
            }
        }
    }
    None
}

fn state_detail(state: Option<&Value>) -> Value {
    let Some(state) = state else {
        return Value::Null;
    };
    object([
        ("met", get(state, "steady_state_met")),
        (
            "probes",
            Value::Array(list(state.get("probes")).iter().map(probe_detail).collect()),
        ),
    ])
}

fn probe_detail(probe: &Value) -> Value {
    let empty = Value::Object(Map::new());
    let activity = truthy(probe.get("activity")).unwrap_or(&empty);
    let mut detail = Map::new();
    detail.insert("name".into(), get(activity, "name"));
    detail.insert("status".into(), get(probe, "status"));
    detail.insert("tolerance_met".into(), get(probe, "tolerance_met"));
    detail.insert("tolerance".into(), get(activity, "tolerance"));
    for (key, value) in bounded_output(&get(probe, "output")) {
        detail.insert(key.into(), value);
    }
    if let Some(exception) = truthy(probe.get("exception")) {
        detail.insert("error".into(), last_line(exception).into());
    }
    Value::Object(detail)
}

fn during_detail(during: &[&Value]) -> Value {
    let unmet: Vec<(usize, &Value)> = during
        .iter()
        .enumerate()
        .filter(|(_, s)| unmet(s))
        .map(|(i, s)| (i + 1, *s))
        .collect();
    let mut probes: Vec<Value> = Vec::new();
    for (_, state) in &unmet {
        for probe in list(state.get("probes")) {
            if probe.get("tolerance_met") == Some(&Value::Bool(false)) {
                let name = truthy(probe.get("activity"))
                    .map(|a| get(a, "name"))
                    .unwrap_or(Value::Null);
                if !probes.contains(&name) {
                    probes.push(name);
                }
            }
        }
    }
    probes.sort_by_key(|name| match name {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    object([
        ("iterations", during.len().into()),
        ("unmet", unmet.len().into()),
        (
            "first_unmet_iteration",
            unmet.first().map_or(Value::Null, |(i, _)| (*i).into()),
        ),
        ("unmet_probes", Value::Array(probes)),
    ])
}

/// `[{"name", "error"}]` of the records whose status is `failed` (an interrupted record,
/// which has no status, is not a failure).
fn failed_runs(runs: &[Value]) -> Vec<Value> {
    runs.iter()
        .filter(|run| run.get("status").and_then(Value::as_str) == Some("failed"))
        .map(|run| {
            let name = truthy(run.get("activity"))
                .map(|a| get(a, "name"))
                .unwrap_or(Value::Null);
            let error = run
                .get("exception")
                .map_or(Value::Null, |e| last_line(e).into());
            object([("name", name), ("error", error)])
        })
        .collect()
}

/// The last line of a joined `exception` list (`None` when there is no text).
fn last_line(exception: &Value) -> Option<String> {
    let joined: String = list(Some(exception))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    py_strip(&joined)
        .rsplit(is_line_boundary)
        .next()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
}

/// The line boundaries of Python's `str.splitlines`.
fn is_line_boundary(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// `source` as reports name it: a URL as is, a path made absolute.
pub fn location(source: &str) -> String {
    if source.contains("://") {
        source.to_string()
    } else {
        abspath(source)
    }
}

/// Python's `os.path.abspath`: joined to the working directory, then normalised without
/// looking at the file system (`..` removes the component before it).
pub fn abspath(path: &str) -> String {
    if path.starts_with('/') {
        return normpath(path);
    }
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.is_empty() {
        normpath(&cwd)
    } else if cwd.ends_with('/') {
        normpath(&format!("{cwd}{path}"))
    } else {
        normpath(&format!("{cwd}/{path}"))
    }
}

/// Python's `posixpath.normpath`.
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    // POSIX lets exactly two leading slashes mean something else: Python keeps them.
    let initial = if path.starts_with("//") && !path.starts_with("///") {
        "//"
    } else if path.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if !initial.is_empty() => {}
            other => parts.push(other),
        }
    }
    let joined = format!("{initial}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn truthy(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| py_truthy(v))
}

fn get(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// The items of a list value (nothing for anything else).
fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn join(phases: &[&str]) -> String {
    match phases {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn probe(name: &str, status: &str, met: bool) -> Value {
        json!({"activity": {"type": "probe", "name": name, "tolerance": 0},
               "output": {"status": 0, "stdout": "", "stderr": ""},
               "start": "s", "status": status, "end": "e", "duration": 0.1,
               "tolerance_met": met})
    }

    fn state(met: bool, probes: Vec<Value>) -> Value {
        json!({"steady_state_met": met, "probes": probes})
    }

    fn record(name: &str, status: Option<&str>, exception: Option<&str>) -> Value {
        let mut r =
            json!({"activity": {"type": "action", "name": name}, "output": null, "start": "s"});
        if let Some(status) = status {
            r["status"] = status.into();
        }
        if let Some(e) = exception {
            r["exception"] = json!(["Traceback (most recent call last):\n", "  File \"x\"\n", e]);
        }
        r
    }

    /// A completed journal: hypothesis before and after met, one method action, one rollback.
    fn completed() -> Value {
        json!({
            "chaoslib-version": "1.45.1",
            "experiment": {
                "title": "completed run",
                "steady-state-hypothesis": {"title": "ok", "probes": [{"type": "probe", "name": "probe-true"}]},
                "method": [{"type": "action", "name": "action-echo"}],
                "rollbacks": [{"type": "action", "name": "rollback-true"}],
                "dry": null
            },
            "start": "2026-12-02T02:45:35.661568+00:00",
            "status": "completed",
            "deviated": false,
            "steady_states": {
                "before": state(true, vec![probe("probe-true", "succeeded", true)]),
                "after": state(true, vec![probe("probe-true", "succeeded", true)]),
                "during": []
            },
            "run": [record("action-echo", Some("succeeded"), None)],
            "rollbacks": [record("rollback-true", Some("succeeded"), None)],
            "end": "2026-12-02T02:45:35.690558+00:00",
            "duration": 0.03672289848327637
        })
    }

    fn paths() -> ReportPaths {
        ReportPaths {
            source: "/x/completed.json".into(),
            journal_path: "/x/./out/../journal.json".into(),
            events_path: Some("/x/events.ndjson".into()),
        }
    }

    #[test]
    fn a_completed_run_is_reported_as_the_reference_does() {
        let report = run_report(&completed(), &paths(), 0);
        let expected = r#"{
  "schema": "chaostoolkit/agent/run/v1",
  "command": "run",
  "outcome": "passed",
  "conclusive": true,
  "verdict": "The steady state held before and after the method.",
  "exit_code": 0,
  "source": "/x/completed.json",
  "journal_path": "/x/journal.json",
  "events_path": "/x/events.ndjson",
  "experiment": {
    "title": "completed run",
    "dry": null
  },
  "journal": {
    "status": "completed",
    "deviated": false,
    "start": "2026-12-02T02:45:35.661568+00:00",
    "end": "2026-12-02T02:45:35.690558+00:00",
    "duration": 0.03672289848327637
  },
  "steady_state": {
    "before": {
      "met": true,
      "probes": [
        {
          "name": "probe-true",
          "status": "succeeded",
          "tolerance_met": true,
          "tolerance": 0,
          "output": {
            "status": 0,
            "stdout": "",
            "stderr": ""
          }
        }
      ]
    },
    "during": {
      "iterations": 0,
      "unmet": 0,
      "first_unmet_iteration": null,
      "unmet_probes": []
    },
    "after": {
      "met": true,
      "probes": [
        {
          "name": "probe-true",
          "status": "succeeded",
          "tolerance_met": true,
          "tolerance": 0,
          "output": {
            "status": 0,
            "stdout": "",
            "stderr": ""
          }
        }
      ]
    }
  },
  "method": {
    "count": 1,
    "failed": []
  },
  "rollbacks": {
    "declared": 1,
    "played": 1,
    "failed": []
  },
  "interrupted_by": null,
  "warnings": [],
  "error": null
}"#;
        assert_eq!(dumps_pretty(&report), expected);
        let mut out = Vec::new();
        write_report(&mut out, &report).expect("written");
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            format!("{expected}\n")
        );
    }

    fn outcome_and_verdict(journal: &Value) -> (&'static str, String) {
        (
            classify(journal).as_str(),
            verdict(classify(journal), journal),
        )
    }

    #[test]
    fn outcomes_follow_the_references_precedence_and_verdicts() {
        let mut j = completed();
        j["steady_states"]["after"] = state(false, vec![probe("probe-true", "succeeded", false)]);
        j["deviated"] = true.into();
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "deviated",
                "The steady state held before the method but not after it.".into()
            )
        );
        j["steady_states"]["during"] = json!([
            state(true, vec![]),
            {},
            state(
                false,
                vec![
                    probe("p2", "succeeded", false),
                    probe("p1", "succeeded", false)
                ]
            )
        ]);
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The steady state held before the method but not during and after it."
        );
        let during = run_report(&j, &paths(), 1)["steady_state"]["during"].clone();
        assert_eq!(
            during,
            json!({"iterations": 2, "unmet": 1, "first_unmet_iteration": 2, "unmet_probes": ["p1", "p2"]})
        );
        j["steady_states"]["before"] = Value::Null;
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The steady state did not hold during and after the method, no baseline was evaluated before it."
        );

        let mut j = completed();
        j["steady_states"]["before"] = state(false, vec![probe("probe-true", "succeeded", false)]);
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "baseline-not-met",
                "The steady state did not hold before the method, nothing was injected.".into()
            )
        );
        // A failed probe wins over the unmet baseline.
        j["steady_states"]["before"] = state(false, vec![probe("probe-true", "failed", false)]);
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "probe-error",
                "A steady-state probe could not be executed, its tolerance could not be evaluated."
                    .into()
            )
        );
        j["status"] = "aborted".into();
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "aborted",
                "The method ran into an unexpected error, the run was aborted.".into()
            )
        );
        j["status"] = "interrupted".into();
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "interrupted",
                "The run was interrupted before it completed.".into()
            )
        );

        let mut j = completed();
        j["steady_states"] = json!({"before": null, "after": null, "during": []});
        assert_eq!(
            outcome_and_verdict(&j),
            (
                "passed",
                "The run completed without evaluating a steady state.".into()
            )
        );
        j["steady_states"]["during"] = json!([state(true, vec![])]);
        j["steady_states"]["after"] = state(true, vec![]);
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The steady state held during and after the method."
        );
        j["steady_states"]["before"] = state(true, vec![]);
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The steady state held before, during and after the method."
        );
    }

    #[test]
    fn interruptions_say_what_interrupted_the_run() {
        let mut j = completed();
        j["status"] = "interrupted".into();
        j["interruption"] =
            json!({"kind": "signal", "name": "SIGINT", "reason": "received SIGINT"});
        let report = run_report(&j, &paths(), 1);
        assert_eq!(
            report["interrupted_by"],
            json!({"kind": "signal", "name": "SIGINT", "reason": "received SIGINT"})
        );
        assert_eq!(
            report["verdict"],
            "The run was interrupted before it completed: received SIGINT"
        );
        assert_eq!(report["conclusive"], false);

        j["interruption"] = json!({"name": "load", "reason": "the load generator did not start"});
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The run was interrupted by the control 'load': the load generator did not start"
        );
        // No reason: not said.
        j["interruption"] = json!({"kind": "signal", "name": "SIGINT"});
        assert_eq!(interrupted_by(&j), None);

        j["safeguards"] = json!({"triggered_by": "error-rate", "run": {
            "activity": {"name": "error-rate", "tolerance": true}, "status": "succeeded",
            "output": false}});
        assert_eq!(
            interrupted_by(&j),
            Some(
                json!({"kind": "safeguard", "name": "error-rate", "status": "succeeded", "tolerance": true, "output": false})
            )
        );
        assert_eq!(
            outcome_and_verdict(&j).1,
            "The run was interrupted by the safeguard 'error-rate' before it completed."
        );

        // Not interrupted: nothing, whatever the journal holds.
        j["status"] = "completed".into();
        assert_eq!(interrupted_by(&j), None);
    }

    #[test]
    fn an_interruption_an_older_chaoslib_swallowed_is_an_interruption() {
        let mut j = completed();
        j["run"] = json!([record(
            "py",
            Some("failed"),
            Some("chaoslib.exceptions.ActivityFailed: chaoslib.exceptions.InterruptExecution: SIGTERM signal received\n")
        )]);
        assert_eq!(classify(&j), Outcome::Interrupted);
        assert_eq!(
            interrupted_by(&j),
            Some(json!({"kind": "signal", "name": null, "reason": "SIGTERM signal received"}))
        );
        j["run"][0]["exception"] =
            json!(["chaoslib.exceptions.ActivityFailed: chaoslib.exceptions.InterruptExecution\n"]);
        assert_eq!(swallowed_interruption(&j).as_deref(), Some("interrupted"));
    }

    #[test]
    fn warnings_come_in_the_references_order_and_some_make_the_outcome_inconclusive() {
        let mut j = completed();
        j["experiment"]["dry"] = "activities".into();
        j["experiment"]["steady-state-hypothesis"] = Value::Null;
        j["experiment"]["rollbacks"] = json!([{}, {}, {}]);
        j["run"] = json!([
            record(
                "a1",
                Some("failed"),
                Some("chaoslib.exceptions.ActivityFailed: boom\n")
            ),
            record("a2", None, None),
            record("a3", Some("failed"), None)
        ]);
        j["rollbacks"] = json!([record(
            "rb",
            Some("failed"),
            Some("ActivityFailed: one\ntwo\n")
        )]);
        let report = run_report(&j, &paths(), 0);
        assert_eq!(
            report["warnings"],
            json!([
                {"code": "dry-run", "message": "Activities were not executed (dry run: activities)."},
                {"code": "no-steady-state-hypothesis", "message": "The experiment has no steady-state probes, nothing was judged."},
                {"code": "method-activity-failed", "message": "Method activities failed, the perturbation may not have been applied: a1, a3."},
                {"code": "rollbacks-not-played", "message": "Only 1 of 3 declared rollbacks were played, the system may not be restored."},
                {"code": "rollback-failed", "message": "Rollbacks failed, the system may not be restored: rb."}
            ])
        );
        assert_eq!(
            report["method"],
            json!({"count": 3, "failed": [
                {"name": "a1", "error": "chaoslib.exceptions.ActivityFailed: boom"},
                {"name": "a3", "error": null}
            ]})
        );
        assert_eq!(
            report["rollbacks"]["failed"],
            json!([{"name": "rb", "error": "two"}])
        );
        assert_eq!(report["conclusive"], false);
        assert_eq!(
            report["experiment"],
            json!({"title": "completed run", "dry": "activities"})
        );

        // Only the last three warnings: still conclusive when rollbacks alone are wrong.
        let mut j = completed();
        j["rollbacks"] = json!([]);
        let report = run_report(&j, &paths(), 0);
        assert_eq!(report["warnings"][0]["code"], "rollbacks-not-played");
        assert_eq!(report["conclusive"], true);
    }

    #[test]
    fn probe_details_carry_tolerance_bounded_output_and_error() {
        let mut p = probe("slow", "failed", false);
        p["output"] = Value::Null;
        p["activity"]["tolerance"] = json!([0, 1]);
        p["exception"] = json!([
            "Traceback (most recent call last):\n",
            "chaoslib.exceptions.ActivityFailed: process activity took too long to complete\n"
        ]);
        assert_eq!(
            probe_detail(&p),
            json!({"name": "slow", "status": "failed", "tolerance_met": false, "tolerance": [0, 1],
                   "output": null, "error": "chaoslib.exceptions.ActivityFailed: process activity took too long to complete"})
        );
        p["output"] = Value::String("x".repeat(5000));
        let detail = probe_detail(&p);
        assert_eq!(detail["output_truncated"], true);
        assert_eq!(detail["output_size"], 5002);
        assert!(detail.get("output").is_none());
    }

    #[test]
    fn error_and_validate_reports() {
        let error = ReportError {
            stage: "validation",
            kind: "InvalidActivity".into(),
            message: "path 'no-such-binary-xyz' cannot be found, in activity 'a'".into(),
        };
        let report = run_error_report(&error, "http://h/e.json", 1);
        let keys: Vec<&str> = report
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "schema",
                "command",
                "outcome",
                "conclusive",
                "verdict",
                "exit_code",
                "source",
                "journal_path",
                "events_path",
                "experiment",
                "journal",
                "steady_state",
                "method",
                "rollbacks",
                "interrupted_by",
                "warnings",
                "error"
            ]
        );
        assert_eq!(
            report["verdict"],
            "The experiment could not be run: validation failed."
        );
        assert_eq!(report["source"], "http://h/e.json");
        assert_eq!(
            report["error"],
            json!({"stage": "validation", "type": "InvalidActivity", "message": "path 'no-such-binary-xyz' cannot be found, in activity 'a'"})
        );
        assert_eq!(
            dumps_pretty(&validate_report("/e.json", Some(&json!("t")), None)),
            "{\n  \"schema\": \"chaostoolkit/agent/validate/v1\",\n  \"command\": \"validate\",\n  \"valid\": true,\n  \"source\": \"/e.json\",\n  \"title\": \"t\",\n  \"error\": null\n}"
        );
        let invalid = validate_report("/e.json", None, Some(&error));
        assert_eq!(invalid["valid"], false);
        assert_eq!(invalid["title"], Value::Null);
    }

    #[test]
    fn start_errors_map_to_the_references_stages_and_types() {
        let missing =
            StartError::Source(crate::source::SourceError::NotFound("nosuch.json".into()));
        assert_eq!(
            ReportError::from_start_error(&missing),
            ReportError {
                stage: "load",
                kind: "InvalidSource".into(),
                message: "Path \"nosuch.json\" does not exist.".into()
            }
        );
        let runtime = StartError::Runtime(experiment::validate::PythonRuntimeError::NotAVersion);
        assert_eq!(
            ReportError::from_start_error(&runtime),
            ReportError {
                stage: "runtime",
                kind: "PythonRuntimeError".into(),
                message: "runtime.python.version must be a Python version".into()
            }
        );
        let io = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let not_ready = StartError::NotReady(crate::events::NotReady(Box::new(io)));
        assert_eq!(
            ReportError::from_start_error(&not_ready).kind,
            "PermissionError"
        );
    }

    #[test]
    fn last_lines_are_pythons_splitlines() {
        assert_eq!(
            last_line(&json!(["a\n", "b\r\n", "c\n\n"])),
            Some("c".into())
        );
        assert_eq!(last_line(&json!(["a\u{2028}b"])), Some("b".into()));
        assert_eq!(last_line(&json!([" \n"])), None);
        assert_eq!(last_line(&json!([])), None);
    }

    #[test]
    fn paths_are_made_absolute_as_os_path_abspath_does() {
        assert_eq!(normpath("/a/./b//c/../d/"), "/a/b/d");
        assert_eq!(normpath("/../a"), "/a");
        assert_eq!(normpath("//a/b"), "//a/b");
        assert_eq!(normpath("///a"), "/a");
        assert_eq!(normpath("a/../.."), "..");
        assert_eq!(normpath(""), ".");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(abspath("j.json"), format!("{}/j.json", cwd.display()));
        assert_eq!(location("https://h/e.yaml"), "https://h/e.yaml");
        assert_eq!(location("/e/../f.yaml"), "/f.yaml");
        assert_eq!(
            join(&["before", "during", "after"]),
            "before, during and after"
        );
    }
}
