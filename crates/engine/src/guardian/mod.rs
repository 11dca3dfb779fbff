//! The guardian: a run whose process is killed still plays its rollbacks and leaves a
//! whole journal.
//!
//! SIGKILL, the OOM killer or a crash end `chaos` without a chance to roll back: the fault
//! it injected stays, and the journal stops at its last update. No chaos tool handles
//! that. Shakedown starts one small helper process with each run, the guardian, which
//! takes over when the run's process dies before the run is over.
//!
//! # How it works
//!
//! The guardian is the process reaper of [`providers::reaper`], grown up: `chaos` started
//! again with [`providers::reaper::REAPER_ENV`] set, reading lines from a pipe whose only
//! writer is the run's process. It costs one process per run and no polling: it sleeps in
//! a `read` until the pipe has something to say, and the kernel closes the pipe when the
//! run's process goes away, however it goes.
//!
//! On the run's side the guardian is a [`Subscriber`] ([`Guardian`]): it turns the run's
//! events into short messages on the pipe. When the engine starts playing, the *plan*: the
//! experiment, the resolved configuration and secrets, the rollback strategy, the journal
//! path, the log configuration and the Python interpreter. Then what decides the rollbacks:
//! the hypothesis before the method missed (and whether a probe failed), the method
//! started, the hypothesis after it missed, the run was interrupted (and whether SIGUSR2
//! asked for no rollbacks), the rollbacks started and which of them completed. Last, that
//! the run is over: the guardian then exits when the pipe closes.
//!
//! When the pipe closes without that last message, the guardian
//! 1. kills the process groups of the activities that were running (the reaper's job);
//! 2. if the journal on disk is already final (the run was killed after writing it), does
//!    nothing more;
//! 3. decides, as the run would have (`decide`), whether rollbacks are played: the ones
//!    the run had started playing and not finished are played again from the first
//!    unfinished one; otherwise the strategy decides, taking the kill as the end of the
//!    run (`default` plays them once a method activity may have run);
//! 4. plays them with the engine's own runner, in the guardian's process, with the run's
//!    configuration and secrets, logging to the run's console and log file;
//! 5. finalises the journal: activities that were running are closed as failed, the
//!    rollbacks it played are added, the status becomes `aborted` (`interrupted` if the run
//!    was being interrupted), and a `guardian` key says what happened and what it did.
//!
//! What it cannot do: a guardian dies with everything else when the whole machine, pod or
//! process group is killed (`kill -9 -PGID`; in a container whose first process is `chaos`,
//! the kernel kills every process when it dies); the controls of the run died with it, so
//! no control hook runs for the rollbacks it plays; a rollback that never returns keeps it
//! waiting (the rollback's own `timeout` bounds it). docs/guardian.md says this for users.

use crate::events::{ActivityPhase, HypothesisPhase, RunEvent, Subscriber};
use crate::interrupt::Interrupter;
use crate::journal::{Journal, Record, Status, Timestamp};
use crate::strategy::RollbackStrategy;
use experiment::{Map, Value};
use providers::registry::Registry;
use providers::BoxFuture;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The run's side: a subscriber that keeps the guardian informed.
pub struct Guardian {
    /// Where the journal is written; `None` for a stream (`/dev/stdout`), which the
    /// guardian cannot finalise.
    journal_path: Option<PathBuf>,
    /// The Python interpreter of the run's bridge.
    python: String,
    interrupter: Arc<Interrupter>,
    /// The rollbacks started so far, in order, and whether each completed.
    rollbacks: Mutex<Vec<(Value, bool)>>,
}

impl Guardian {
    pub fn new(journal_path: &Path, python: String, interrupter: Arc<Interrupter>) -> Self {
        let journal_path = (!journal::is_stream(journal_path))
            .then(|| std::path::absolute(journal_path).unwrap_or_else(|_| journal_path.into()));
        Self {
            journal_path,
            python,
            interrupter,
            rollbacks: Mutex::new(Vec::new()),
        }
    }

    fn send(&self, message: &Value) {
        providers::reaper::send_message(&message.to_string());
    }

    fn plan(&self, experiment: &Value, resolved: crate::events::Resolved<'_>) -> Value {
        json!({"plan": {
            "experiment": experiment,
            "configuration": resolved.configuration,
            "secrets": resolved.secrets,
            "rollback_strategy": resolved.rollback_strategy.name(),
            "controls": resolved.controls,
            "journal_path": self.journal_path.as_ref().map(|p| p.to_string_lossy()),
            "python": self.python,
            "runner": std::process::id(),
            "log": crate::logging::installed().map(crate::logging::LogConfig::to_json),
        }})
    }
}

impl Subscriber for Guardian {
    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let message = match event {
                RunEvent::ExperimentStarted {
                    experiment,
                    resolved,
                } => {
                    // Not started (not the `chaos` binary, or it could not start: the
                    // reaper warned), nothing to tell.
                    if !providers::reaper::start_now() {
                        return;
                    }
                    self.plan(experiment, resolved)
                }
                RunEvent::HypothesisCompleted { phase, state } => {
                    let missed = state.met != Some(true);
                    match phase {
                        HypothesisPhase::Before if missed => {
                            json!({"before_missed": {"failed_probe": state.has_failed_probe()}})
                        }
                        HypothesisPhase::After if missed => {
                            json!({"after_missed": {"failed_probe": state.has_failed_probe()}})
                        }
                        _ => return,
                    }
                }
                RunEvent::MethodStarted => json!({"method": true}),
                RunEvent::Interrupted | RunEvent::SignalExit => json!({"interrupted": {
                    "ungraceful": self.interrupter.ungraceful(),
                    "kill_switch": self.interrupter.kill_switch_reason().is_some(),
                }}),
                RunEvent::RollbacksStarted => json!({"rollbacks": true}),
                RunEvent::ActivityStarted {
                    phase: ActivityPhase::Rollback,
                    activity,
                } => {
                    let mut started = self.rollbacks.lock().unwrap_or_else(|e| e.into_inner());
                    started.push((activity.clone(), false));
                    return;
                }
                RunEvent::ActivityCompleted {
                    phase: ActivityPhase::Rollback,
                    record,
                } => {
                    let mut started = self.rollbacks.lock().unwrap_or_else(|e| e.into_inner());
                    // Background rollbacks complete in any order: the first unfinished
                    // one that is this activity.
                    let index = started
                        .iter()
                        .position(|(activity, done)| !done && *activity == record.activity);
                    let Some(index) = index else { return };
                    started[index].1 = true;
                    // The record too: the journal file may not show it yet (it is written
                    // at most every 50 ms), and a finished rollback must not look unfinished.
                    json!({"rollback_done": index, "record": record.to_json()})
                }
                RunEvent::Finished { .. } => json!({"done": true}),
                _ => return,
            };
            self.send(&message);
        })
    }
}

/// What the run handed over when it started.
#[derive(Debug, Clone)]
struct Plan {
    experiment: Value,
    configuration: Map,
    secrets: Map,
    strategy: RollbackStrategy,
    journal_path: Option<PathBuf>,
    python: String,
    runner: u32,
    log: Option<Value>,
    /// The run's controls, which the guardian cannot call.
    controls: Vec<String>,
}

impl Plan {
    fn from_json(value: &Value) -> Option<Self> {
        let object = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        Some(Plan {
            experiment: value.get("experiment")?.clone(),
            configuration: object("configuration"),
            secrets: object("secrets"),
            strategy: RollbackStrategy::parse(value.get("rollback_strategy")?.as_str()?),
            journal_path: value
                .get("journal_path")
                .and_then(Value::as_str)
                .map(PathBuf::from),
            python: value
                .get("python")
                .and_then(Value::as_str)
                .unwrap_or("python3")
                .to_string(),
            runner: value
                .get("runner")
                .and_then(Value::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
            log: value.get("log").filter(|l| l.is_object()).cloned(),
            controls: value
                .get("controls")
                .and_then(Value::as_array)
                .map(|names| {
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    fn rollbacks(&self) -> &[Value] {
        self.experiment
            .get("rollbacks")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// What the guardian knows of the run from its messages.
#[derive(Debug, Default)]
struct Watch {
    plan: Option<Plan>,
    /// The hypothesis before the method missed; whether a probe failed in it.
    before_missed: Option<bool>,
    method: bool,
    /// A hypothesis missed because a probe failed: the run's status is `failed`.
    failed: bool,
    deviated: bool,
    interrupted: bool,
    /// SIGUSR2: the user asked for no rollbacks.
    ungraceful: bool,
    /// The kill switch stopped the run: rollbacks are played unless the strategy is never.
    kill_switch: bool,
    rollbacks_started: bool,
    rollbacks_done: BTreeSet<usize>,
    /// The records of the rollbacks the run finished, as it sent them.
    rollback_records: Vec<Value>,
    done: bool,
}

impl Watch {
    /// Takes one message; malformed ones are ignored (the pipe is ours, but a guardian
    /// must not fall over).
    fn apply(&mut self, message: &Value) {
        let Some(object) = message.as_object() else {
            return;
        };
        for (key, value) in object {
            match key.as_str() {
                "plan" => self.plan = Plan::from_json(value),
                "before_missed" => {
                    let failed = value.get("failed_probe").and_then(Value::as_bool) == Some(true);
                    self.before_missed = Some(failed);
                    self.failed |= failed;
                }
                "after_missed" => {
                    self.deviated = true;
                    self.failed |= value.get("failed_probe").and_then(Value::as_bool) == Some(true);
                }
                "method" => self.method = true,
                "interrupted" => {
                    self.interrupted = true;
                    self.ungraceful |=
                        value.get("ungraceful").and_then(Value::as_bool) == Some(true);
                    self.kill_switch |=
                        value.get("kill_switch").and_then(Value::as_bool) == Some(true);
                }
                "rollbacks" => self.rollbacks_started = true,
                "record" => self.rollback_records.push(value.clone()),
                "rollback_done" => {
                    if let Some(index) = value.as_u64().and_then(|i| usize::try_from(i).ok()) {
                        self.rollbacks_done.insert(index);
                    }
                }
                "done" => self.done = true,
                _ => {}
            }
        }
    }
}

/// What the guardian does about the rollbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// Play these entries of the rollback list (by index).
    Play(Vec<usize>),
    /// Play nothing, for this reason (said in the log and the journal).
    Skip(String),
}

/// The rollback decision for a run whose process died, as the run would have made it.
fn decide(watch: &Watch, plan: &Plan) -> Decision {
    let all = plan.rollbacks().len();
    if watch.ungraceful {
        return Decision::Skip("SIGUSR2 asked for no rollbacks".into());
    }
    if watch.rollbacks_started {
        // The run had decided to play them: the rest are played, the one that was
        // running included (rollbacks are written to be played again).
        let rest = (0..all)
            .filter(|i| !watch.rollbacks_done.contains(i))
            .collect();
        return Decision::Play(rest);
    }
    // The run's status, had it ended now: a kill is no verdict, so `aborted` unless the
    // run already knew better.
    let status = if watch.interrupted {
        Status::Interrupted
    } else if watch.failed {
        Status::Failed
    } else if watch.before_missed.is_some() && !watch.method {
        Status::Completed
    } else {
        Status::Aborted
    };
    let forced = watch.kill_switch
        && matches!(
            plan.strategy,
            RollbackStrategy::Default | RollbackStrategy::Deviated
        );
    if forced {
        return Decision::Play((0..all).collect());
    }
    let nothing_injected = !watch.method && watch.before_missed.is_none();
    if nothing_injected && plan.strategy != RollbackStrategy::Always {
        return Decision::Skip("no activity of the method had started".into());
    }
    if crate::run::should_play_rollbacks(&plan.strategy, Some(status), watch.deviated) {
        Decision::Play((0..all).collect())
    } else {
        Decision::Skip(format!(
            "the rollback strategy '{}' does not play them for a run that is {}",
            plan.strategy.name(),
            if watch.deviated && status != Status::Failed {
                "deviated"
            } else {
                status.as_str()
            }
        ))
    }
}

/// Builds the driver registry the guardian's rollbacks need: the experiment and the
/// run's Python interpreter in, the registry out (the CLI's native drivers and bridge).
pub type RegistryFor = dyn Fn(&Value, &str) -> Arc<Registry>;

/// The guardian process: reads the pipe until the run's process closes it, then takes
/// over if the run was not over. Returns the process exit code.
pub fn main(registry_for: &RegistryFor) -> u8 {
    providers::reaper::ignore_terminal_signals();
    let mut groups = providers::reaper::Groups::default();
    let mut watch = Watch::default();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if groups.apply(&line) {
            continue;
        }
        if let Ok(message) = serde_json::from_str::<Value>(&line) {
            watch.apply(&message);
        }
    }
    // First the activities the run left running: they may still be injecting faults.
    groups.kill_all();
    let Some(plan) = watch.plan.take() else {
        return 0;
    };
    // Read once: nothing writes it any more.
    let last = last_journal(plan.journal_path.as_deref());
    if watch.done || last.as_ref().is_some_and(is_final) {
        return 0;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => return 1,
    };
    runtime.block_on(take_over(&watch, plan, last, registry_for))
}

/// The journal file as the run last wrote it, when it reads back as JSON.
fn last_journal(path: Option<&Path>) -> Option<Value> {
    let text = std::fs::read(path?).ok()?;
    serde_json::from_slice(&text).ok()
}

/// True for the run's final journal (the run was killed after writing it): it has a status.
fn is_final(journal: &Value) -> bool {
    journal
        .get("status")
        .is_some_and(|status| !status.is_null())
}

async fn take_over(
    watch: &Watch,
    plan: Plan,
    last: Option<Value>,
    registry_for: &RegistryFor,
) -> u8 {
    if let Some(log) = &plan.log {
        // The run's logger: its console format and its log file, appended to.
        let _ = crate::logging::init(crate::logging::LogConfig::from_json(log));
    }
    crate::redact::install_inline(&plan.experiment);
    crate::redact::install(&plan.secrets);
    log::warn!(
        "The run's process ({}) ended before the run did: the guardian takes over",
        plan.runner
    );
    let taken_over = Timestamp::now();
    let decision = decide(watch, &plan);
    let mut played = Vec::new();
    if matches!(&decision, Decision::Play(indices) if !indices.is_empty())
        && !plan.controls.is_empty()
    {
        // Their state died with the run: say which ones hear nothing of these rollbacks.
        log::warn!(
            "The guardian plays the rollbacks without the run's controls: {} will not be called",
            plan.controls
                .iter()
                .map(|name| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    match &decision {
        Decision::Play(indices) if !indices.is_empty() => {
            log::info!("Let's rollback...");
            let mut experiment = plan.experiment.clone();
            let rest: Vec<Value> = indices
                .iter()
                .filter_map(|&i| plan.rollbacks().get(i).cloned())
                .collect();
            if let Some(map) = experiment.as_object_mut() {
                map.insert("rollbacks".into(), Value::Array(rest));
            }
            let registry = registry_for(&experiment, &plan.python);
            played = crate::run::play_orphaned_rollbacks(
                experiment,
                plan.configuration.clone(),
                plan.secrets.clone(),
                registry,
            )
            .await;
        }
        Decision::Play(_) => log::info!("No rollbacks were left to play."),
        Decision::Skip(reason) => log::warn!("The guardian plays no rollbacks: {reason}"),
    }
    let status = if watch.interrupted {
        Status::Interrupted
    } else {
        Status::Aborted
    };
    let Some(path) = &plan.journal_path else {
        log::info!("Experiment ended with status: {}", status.as_str());
        return 0;
    };
    let journal = finalise(
        journal_to_finish(last, &plan),
        &Finish {
            status,
            deviated: watch.deviated,
            runner: plan.runner,
            taken_over,
            decision: &decision,
            played: &played,
            already_played: watch.rollbacks_done.len(),
            finished_by_the_run: &watch.rollback_records,
        },
    );
    remove_temporaries(path, plan.runner);
    log::info!("Experiment ended with status: {}", status.as_str());
    match crate::api::write_journal(path, &journal) {
        Ok(()) => {
            log::info!("The guardian finalised the journal '{}'", path.display());
            0
        }
        Err(e) => {
            log::error!(
                "the guardian cannot write the journal '{}': {e}",
                path.display()
            );
            1
        }
    }
}

/// The journal as the run last wrote it, or a new one if it wrote none (or none that
/// reads back as a journal).
fn journal_to_finish(last: Option<Value>, plan: &Plan) -> Value {
    last.filter(|j| j.get("experiment").is_some() && j.get("run").is_some_and(Value::is_array))
        .unwrap_or_else(|| Journal::new(plan.experiment.clone()).to_json())
}

/// How the guardian ends the journal.
struct Finish<'a> {
    status: Status,
    deviated: bool,
    runner: u32,
    taken_over: Timestamp,
    decision: &'a Decision,
    played: &'a [Record],
    already_played: usize,
    /// The rollback records the run sent as it finished them.
    finished_by_the_run: &'a [Value],
}

/// The journal closed: unfinished activities failed, the guardian's rollbacks added, the
/// status, end and duration set, and a `guardian` key that says what happened.
fn finalise(mut journal: Value, finish: &Finish<'_>) -> Value {
    let end = Timestamp::now();
    let killed = format!(
        "the run's process ({}) ended while this activity ran",
        finish.runner
    );
    if let Some(records) = journal.get_mut("rollbacks").and_then(Value::as_array_mut) {
        for finished in finish.finished_by_the_run {
            let same_run = |r: &Value| {
                r.get("activity") == finished.get("activity")
                    && r.get("start") == finished.get("start")
            };
            match records.iter_mut().find(|r| same_run(r)) {
                Some(slot) => *slot = finished.clone(),
                None => records.push(finished.clone()),
            }
        }
    }
    for list in ["run", "rollbacks"] {
        if let Some(records) = journal.get_mut(list).and_then(Value::as_array_mut) {
            records.iter_mut().for_each(|r| close(r, end, &killed));
        }
    }
    if let Some(states) = journal.get_mut("steady_states") {
        for phase in ["before", "after"] {
            close_probes(states.get_mut(phase), end, &killed);
        }
        if let Some(during) = states.get_mut("during").and_then(Value::as_array_mut) {
            during
                .iter_mut()
                .for_each(|s| close_probes(Some(s), end, &killed));
        }
    }
    if let Some(rollbacks) = journal.get_mut("rollbacks").and_then(Value::as_array_mut) {
        rollbacks.extend(finish.played.iter().map(Record::to_json));
    }
    let start = journal
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| journal::parse_timestamp(s).ok());
    let Some(map) = journal.as_object_mut() else {
        return journal;
    };
    map.insert("status".into(), finish.status.as_str().into());
    map.insert("deviated".into(), finish.deviated.into());
    map.insert("end".into(), end.iso().into());
    if let Some(start) = start {
        map.insert("duration".into(), (end.unix_seconds() - start).into());
    }
    let rollbacks = match finish.decision {
        Decision::Play(_) => json!({
            "played": finish.played.len(),
            "already_played_by_the_run": finish.already_played,
        }),
        Decision::Skip(reason) => json!({"played": 0, "reason": reason}),
    };
    map.insert(
        "guardian".into(),
        json!({
            "runner_pid": finish.runner,
            "taken_over_at": finish.taken_over.iso(),
            "reason": "the run's process ended before the run did (killed by a signal, out of memory, or crashed)",
            "rollbacks": rollbacks,
        }),
    );
    journal
}

/// Closes a record that has no status yet: the activity was running when the run died.
fn close(record: &mut Value, end: Timestamp, message: &str) {
    let Some(map) = record.as_object_mut() else {
        return;
    };
    if map.get("status").is_some_and(|s| !s.is_null()) {
        return;
    }
    map.insert("status".into(), "failed".into());
    map.insert("exception".into(), crate::journal::exception_lines(message));
    let start = map
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| journal::parse_timestamp(s).ok());
    map.insert("end".into(), end.iso().into());
    if let Some(start) = start {
        map.insert("duration".into(), (end.unix_seconds() - start).into());
    }
}

fn close_probes(state: Option<&mut Value>, end: Timestamp, message: &str) {
    let probes = state
        .and_then(|s| s.get_mut("probes"))
        .and_then(Value::as_array_mut);
    for probe in probes.into_iter().flatten() {
        close(probe, end, message);
    }
}

/// The temporary files the run's journal writer left when it was killed mid-write
/// (`journal::write_atomically` names them `.NAME.PID.N.tmp`).
fn remove_temporaries(path: &Path, runner: u32) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.{runner}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests;
