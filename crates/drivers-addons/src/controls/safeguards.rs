//! `chaosaddons.controls.safeguards`: probes that keep an eye on the system while the
//! experiment runs, and end it the moment one of them misses its tolerance.
//!
//! - A probe with neither `background` nor `frequency` runs before the experiment starts,
//!   and the experiment waits for all of them (a pre-check).
//! - `background: true`: runs once, as soon as possible, beside the run.
//! - `frequency: N`: runs every N seconds, beside the run, until it ends.
//!
//! The first miss logs `Safeguard '<name>' triggered the end of the experiment` (CRITICAL)
//! and interrupts the run as upstream's `exit_gracefully()` does (SIGUSR1): the step in the
//! foreground stops, the run ends `interrupted` (`Received the exit signal: 20`), and the
//! rollbacks follow the rollback strategy. The journal then records which safeguard
//! triggered and its run under `safeguards` (`triggered_by`, `run`), as chaostoolkit-addons
//! 0.12 writes it. The probes stop at `after_experiment_control`.
//!
//! Differences from upstream, on purpose (docs/compatibility.md):
//! - the run is interrupted through the engine's [`RunHandle`], not a signal raised in
//!   whatever Python code runs at the time, so an interrupt cannot be swallowed or freeze
//!   the run (chaostoolkit#210);
//! - a `frequency` probe is judged as soon as it returns (upstream waits the full interval
//!   before judging the run it just made);
//! - pre-check probes are judged before the experiment goes on, so a failing one stops the
//!   run before the hypothesis (upstream judges them after releasing the experiment, a race);
//! - probes still running when the run ends are abandoned, not awaited (upstream's
//!   `shutdown(wait=True)` keeps the process alive until they return);
//! - each declared safeguards control has its own state (upstream shares one module-level
//!   guardian between them).
//!
//! The probes run through the engine's activity runner ([`RunHandle::run_probe`]): `ref`,
//! pauses, activity-level controls and the tolerance judge are the hypothesis's; they are
//! not announced on the console (upstream calls chaoslib's `run_activity` directly), but
//! run-event subscribers (`--events-file`) hear every one of them.

use super::synchronization;
use experiment::pyrepr::{py_str, py_truthy};
use experiment::validate::{check_activity, check_tolerance, ValidationError};
use experiment::{FunctionCatalog, Map, Value};
use providers::control::{
    Changes, ConfigureCall, Control, ControlError, HookCall, Level, RunHandle, When,
};
use providers::{BoxFuture, Exit};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;

pub const MODULE: &str = "chaosaddons.controls.safeguards";

/// How a safeguard probe is scheduled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Before the experiment, which waits for it.
    Now,
    /// Once, beside the run.
    Background,
    /// Every so many seconds, beside the run.
    Every(Duration),
}

impl Schedule {
    /// Upstream's test: a truthy `frequency` first, then a truthy `background`.
    pub fn of(probe: &Value) -> Self {
        if let Some(frequency) = probe.get("frequency").filter(|f| py_truthy(f)) {
            let seconds = frequency.as_f64().unwrap_or(0.0).max(0.0);
            return Schedule::Every(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
        }
        if probe.get("background").is_some_and(py_truthy) {
            return Schedule::Background;
        }
        Schedule::Now
    }
}

/// The native control: one [`Guardian`] per declared control name, for the current run.
#[derive(Default)]
pub struct Safeguards {
    guardians: Mutex<HashMap<String, Arc<Guardian>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Safeguards {
    fn guardian(&self, name: &str) -> Option<Arc<Guardian>> {
        lock(&self.guardians).get(name).cloned()
    }
}

/// What triggered the end of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub probe: String,
    pub run: Value,
}

#[derive(Default)]
struct State {
    trigger: Option<Trigger>,
    /// The run is over: nothing interrupts it any more.
    finished: bool,
}

/// The safeguards of one run.
pub struct Guardian {
    run: Arc<dyn RunHandle>,
    state: Mutex<State>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Guardian {
    pub fn new(run: Arc<dyn RunHandle>) -> Arc<Self> {
        Arc::new(Self {
            run,
            state: Mutex::new(State::default()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts the `background` and `frequency` probes, then runs the others and returns
    /// once they are all done (and judged: a miss has interrupted the run by then).
    pub async fn start(self: &Arc<Self>, probes: &[Value]) {
        let mut now = Vec::new();
        for probe in probes {
            let schedule = Schedule::of(probe);
            let task = match schedule {
                Schedule::Now => {
                    let guardian = self.clone();
                    let probe = probe.clone();
                    now.push(tokio::spawn(async move {
                        let run = guardian.run.run_probe(&probe).await;
                        (probe, run)
                    }));
                    continue;
                }
                Schedule::Background => tokio::spawn(self.clone().once(probe.clone())),
                Schedule::Every(period) => {
                    tokio::spawn(self.clone().repeatedly(probe.clone(), period))
                }
            };
            lock(&self.tasks).push(task);
        }
        // All pre-checks run at once; the experiment waits for every one of them.
        let mut done = Vec::new();
        for task in now {
            match task.await {
                Ok(finished) => done.push(finished),
                Err(e) => log::debug!("a safeguard pre-check did not finish: {e}"),
            }
        }
        for (probe, run) in done {
            log::debug!("Safeguard '{}' finished normally", name_of(&probe));
            if !run.tolerance_met {
                self.trigger(&probe, run.record);
            }
        }
    }

    async fn once(self: Arc<Self>, probe: Value) {
        let run = self.run.run_probe(&probe).await;
        if !run.tolerance_met {
            self.trigger(&probe, run.record);
        }
        log::debug!("Safeguard '{}' finished normally", name_of(&probe));
    }

    /// Runs `probe`, judges it at once, then waits `period` before the next run.
    async fn repeatedly(self: Arc<Self>, probe: Value, period: Duration) {
        loop {
            let run = self.run.run_probe(&probe).await;
            if !run.tolerance_met {
                self.trigger(&probe, run.record);
                break;
            }
            if lock(&self.state).finished {
                break;
            }
            tokio::time::sleep(period).await;
        }
        log::debug!("Safeguard '{}' finished normally", name_of(&probe));
    }

    /// The first miss ends the run (unless it is already over).
    fn trigger(&self, probe: &Value, run: Value) {
        let mut state = lock(&self.state);
        if state.finished || state.trigger.is_some() || synchronization::experiment_finished() {
            return;
        }
        let name = name_of(probe);
        log::error!(
            target: providers::CRITICAL_TARGET,
            "Safeguard '{name}' triggered the end of the experiment"
        );
        state.trigger = Some(Trigger { probe: name, run });
        drop(state);
        self.run.interrupt(Exit::SystemExit(Some(20)));
    }

    /// The run is over: stops every probe still running or waiting, and says what
    /// triggered the end of the run, if anything did.
    pub fn terminate(&self) -> Option<Trigger> {
        let trigger = {
            let mut state = lock(&self.state);
            state.finished = true;
            state.trigger.clone()
        };
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        log::debug!("Guardian is now terminated");
        trigger
    }

    /// What triggered the end of the run, if anything did.
    pub fn triggered(&self) -> Option<Trigger> {
        lock(&self.state).trigger.clone()
    }
}

fn name_of(probe: &Value) -> String {
    probe
        .get("name")
        .map(py_str)
        .unwrap_or_else(|| "None".into())
}

/// The probes of the control's arguments.
fn probes(arguments: &Map) -> Vec<Value> {
    match arguments.get("probes") {
        Some(Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    }
}

impl Control for Safeguards {
    fn validate(
        &self,
        control: &Value,
        catalog: &dyn FunctionCatalog,
    ) -> Result<(), ValidationError> {
        validate(control, catalog)
    }

    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        if let Some(run) = call.run {
            synchronization::reset();
            lock(&self.guardians).insert(call.name.to_string(), Guardian::new(run.clone()));
        }
        Box::pin(async { Ok(()) })
    }

    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async move {
            if call.level != Level::Experiment {
                return Ok(Changes::default());
            }
            let Some(guardian) = self.guardian(call.name) else {
                return Err(ControlError::Failed(format!(
                    "safeguards '{}' were not configured for this run",
                    call.name
                )));
            };
            match call.when {
                When::Before => {
                    guardian.start(&probes(call.arguments)).await;
                    Ok(Changes::default())
                }
                When::After => {
                    let trigger = guardian.terminate();
                    let state = match (trigger, call.state) {
                        (Some(trigger), Some(Value::Object(journal))) => {
                            let mut journal = journal.clone();
                            journal.insert(
                                "safeguards".into(),
                                serde_json::json!({
                                    "triggered_by": trigger.probe,
                                    "run": trigger.run,
                                }),
                            );
                            Some(Value::Object(journal))
                        }
                        _ => None,
                    };
                    Ok(Changes {
                        state,
                        ..Changes::default()
                    })
                }
            }
        })
    }

    fn cleanup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, ()> {
        if let Some(guardian) = lock(&self.guardians).remove(name) {
            guardian.terminate();
        }
        Box::pin(async {})
    }
}

/// Upstream's `validate_control`: at least one probe; each a valid activity of type
/// `probe` with a valid `tolerance`.
pub fn validate(control: &Value, catalog: &dyn FunctionCatalog) -> Result<(), ValidationError> {
    let fail = |message: String, path: String| ValidationError {
        message,
        path: Some(path),
    };
    let base = "provider.arguments.probes";
    let declared = control
        .get("provider")
        .and_then(|p| p.get("arguments"))
        .and_then(|a| a.get("probes"))
        .filter(|p| py_truthy(p));
    let Some(declared) = declared else {
        return Err(fail(
            "safeguard control must have at least one probe".into(),
            base.into(),
        ));
    };
    // Python iterates whatever it is given: a mapping's keys, a string's characters.
    let items: Vec<Value> = match declared {
        Value::Array(list) => list.clone(),
        Value::Object(map) => map.keys().cloned().map(Value::String).collect(),
        Value::String(s) => s.chars().map(|c| Value::String(c.into())).collect(),
        other => {
            let kind = if other.is_boolean() {
                "bool"
            } else if other.is_f64() {
                "float"
            } else {
                "int"
            };
            return Err(fail(
                format!("TypeError: '{kind}' object is not iterable"),
                base.into(),
            ));
        }
    };
    for (i, probe) in items.iter().enumerate() {
        let path = format!("{base}[{i}]");
        check_activity(probe, &path, catalog)?;
        let kind = probe.get("type").unwrap_or(&Value::Null);
        if kind.as_str() != Some("probe") {
            return Err(fail(
                format!(
                    "safeguard control '{}' should be of type 'probe' not '{}'",
                    name_of(probe),
                    py_str(kind)
                ),
                format!("{path}.type"),
            ));
        }
        let Some(tolerance) = probe.get("tolerance") else {
            return Err(fail(
                format!(
                    "safeguard control is invalid as the probe '{}' is missing a tolerance property",
                    name_of(probe)
                ),
                path,
            ));
        };
        check_tolerance(tolerance, &format!("{path}.tolerance"), catalog)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
