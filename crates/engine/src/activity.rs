//! Running one activity: `ref` resolution, pauses, dry mode, the provider call and its run
//! record, in the order the reference logs them.

use crate::controls::{Changes, ControlInterrupt, Level, Point};
use crate::events::{ActivityPhase, RunEvent};
use crate::interrupt::Interrupter;
use crate::journal::{ActivityStatus, Record, Timestamp};
use crate::strategy::Dry;
use experiment::pyrepr::{py_str, py_truthy};
use experiment::substitute::{substitute, Lookup};
use experiment::view::{ActivityView, ExperimentView};
use experiment::{Map, Value};
use providers::registry::Registry;
use providers::{Call, Failure, FailureKind, ProviderError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What every activity of a run shares.
pub struct RunContext {
    pub configuration: Map,
    pub secrets: Map,
    pub registry: Arc<Registry>,
    pub dry: Option<Dry>,
    pub interrupter: Arc<Interrupter>,
    /// Activities `ref` can point at: method activities, then hypothesis probes (last wins).
    pub references: HashMap<String, Value>,
    /// The run's controls (global and top-level), called at every level.
    pub controls: crate::controls::Controls,
    /// The last value each probe tolerance (by hypothesis probe index) was called with; the
    /// reference writes it into the experiment, so the journal shows it.
    pub tolerance_values: Mutex<HashMap<usize, Value>>,
    /// The experiment as the run plays it: controls may change it (an activity they are
    /// handed, activities they insert). The method, rollbacks and hypothesis probes are read
    /// from it one at a time, as the reference's loops read its live lists, and the
    /// journal's copy of the experiment shows it at the end, as the reference's does.
    /// Shared, not copied, with each control hook (a copy per hook made a run of n
    /// activities with any control cost O(n²)); changed copy-on-write.
    pub live: Mutex<Arc<Value>>,
    /// Who hears the run's events.
    pub events: crate::events::Events,
}

impl RunContext {
    pub fn lookup(&self) -> Lookup<'_> {
        Lookup::new(&self.configuration, &self.secrets)
    }

    /// The before hooks of the controls that apply at this point; a control's
    /// `InterruptExecution` becomes the pending interruption. In the foreground a signal
    /// that arrives while a hook runs interrupts it, as the reference's signal handlers
    /// raise in whatever runs on its main thread.
    pub async fn before_hooks(
        &self,
        level: Level,
        context: &Value,
        local: Option<&Value>,
        mode: Mode,
    ) -> Result<Changes, Stop> {
        self.hooks(level, context, None, local, mode).await
    }

    /// The after hooks, handed the level's `state`.
    pub async fn after_hooks(
        &self,
        level: Level,
        context: &Value,
        state: &Value,
        local: Option<&Value>,
        mode: Mode,
    ) -> Result<Changes, Stop> {
        self.hooks(level, context, Some(state), local, mode).await
    }

    async fn hooks(
        &self,
        level: Level,
        context: &Value,
        state: Option<&Value>,
        local: Option<&Value>,
        mode: Mode,
    ) -> Result<Changes, Stop> {
        if !self.controls.any(local) {
            return Ok(Changes::default());
        }
        let experiment = self.live_experiment();
        let point = Point {
            level,
            context,
            local,
            experiment: &experiment,
        };
        let lookup = self.lookup();
        let call = async {
            match state {
                None => {
                    self.controls
                        .before(point, &lookup, &self.configuration, &self.secrets)
                        .await
                }
                Some(state) => {
                    self.controls
                        .after(point, state, &lookup, &self.configuration, &self.secrets)
                        .await
                }
            }
        };
        // Only a signal that arrives during the hooks interrupts them: after hooks that run
        // because the step was interrupted still run to their end.
        let interruptible = mode == Mode::Foreground && self.interrupter.pending().is_none();
        let result = if interruptible {
            tokio::select! {
                result = call => result,
                _ = self.interrupter.wait() => return Err(Stop::Interrupted),
            }
        } else {
            call.await
        };
        let changes = result.map_err(|interrupt| interrupted_by_control(self, interrupt))?;
        if interruptible && self.interrupter.pending().is_some() {
            // The signal reached the Python worker too (Ctrl-C in a terminal), and its
            // answer came first.
            return Err(Stop::Interrupted);
        }
        if let Some(changed) = &changes.experiment {
            *lock(&self.live) = Arc::new(changed.clone());
        }
        Ok(changes)
    }

    /// A copy of the experiment as the run plays it now.
    pub fn live_experiment(&self) -> Arc<Value> {
        lock(&self.live).clone()
    }

    /// Entry `index` of the live `method`, `rollbacks` (`key`) or hypothesis probes.
    pub fn live_entry(&self, list: LiveList, index: usize) -> Option<Value> {
        let live = lock(&self.live);
        list.of(&live)?.get(index).cloned()
    }

    /// A control changed an activity it was handed: the live experiment keeps the change
    /// wherever that activity stands (a `ref` shares the activity in the reference).
    fn activity_changed(&self, declared: &Value, changed: &Value) {
        let mut guard = lock(&self.live);
        let live = Arc::make_mut(&mut guard);
        for list in [LiveList::Probes, LiveList::Method, LiveList::Rollbacks] {
            if let Some(items) = list.of_mut(live) {
                for item in items.iter_mut().filter(|item| *item == declared) {
                    *item = changed.clone();
                }
            }
        }
    }
}

/// The lists of activities a run plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveList {
    Probes,
    Method,
    Rollbacks,
}

impl LiveList {
    /// The list in `experiment`, `None` when it has none (or not a list).
    fn of(self, experiment: &Value) -> Option<&Vec<Value>> {
        match self {
            LiveList::Probes => experiment.get("steady-state-hypothesis")?.get("probes"),
            LiveList::Method => experiment.get("method"),
            LiveList::Rollbacks => experiment.get("rollbacks"),
        }?
        .as_array()
    }

    fn of_mut(self, experiment: &mut Value) -> Option<&mut Vec<Value>> {
        match self {
            LiveList::Probes => experiment
                .get_mut("steady-state-hypothesis")?
                .get_mut("probes"),
            LiveList::Method => experiment.get_mut("method"),
            LiveList::Rollbacks => experiment.get_mut("rollbacks"),
        }?
        .as_array_mut()
    }

    /// Copies this list from `from` into `to` (the journal's experiment at the end).
    pub fn copy(self, from: &Value, to: &mut Value) {
        if let (Some(source), Some(target)) = (self.of(from), self.of_mut(to)) {
            target.clone_from(source);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Why an activity stopped the flow it runs in.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A signal arrived while it ran (or paused).
    Interrupted,
    /// An error the reference does not wrap as a failed activity: aborts a method.
    Fatal(Failure),
}

/// Whether the activity runs in the foreground (signals stop it) or in the background
/// (signals do not; the run waits for it, or abandons it on SIGUSR2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Foreground,
    Background,
}

/// Shared list that records are appended to when they start, so the journal keeps start order.
pub type Records = Arc<Mutex<Vec<Record>>>;

/// Collects all activities a `ref` may name, as the reference indexes them.
pub fn references(experiment: &Value) -> HashMap<String, Value> {
    let mut refs = HashMap::new();
    for activity in ExperimentView::new(experiment).referable() {
        if let Some(name) = activity.name_str() {
            refs.insert(name.to_string(), Value::Object(activity.map().clone()));
        }
    }
    refs
}

/// Resolves a `{"ref": name}` entry to the activity it names.
pub fn resolve<'a>(ctx: &'a RunContext, entry: &'a Value) -> Result<&'a Value, Stop> {
    match ActivityView::new(entry).reference() {
        Some(name) => ctx.references.get(&name).ok_or_else(|| {
            let message = format!("could not find referenced activity '{name}'");
            Stop::Fatal(Failure::new(FailureKind::Declaration, message))
        }),
        None => Ok(entry),
    }
}

/// A pause value in seconds, or `None` for no pause (absent, zero, or not a number).
fn pause_seconds(value: &Value) -> Option<f64> {
    let secs = match value {
        Value::Number(n) => n.as_f64()?,
        Value::Bool(true) => 1.0,
        _ => return None,
    };
    (secs.is_finite() && secs > 0.0).then_some(secs)
}

/// Runs one activity and returns its record.
///
/// `records`, when given, receives the record as soon as the activity starts (method and
/// rollbacks); hypothesis probes pass `None` and collect records themselves.
pub async fn execute(
    ctx: &RunContext,
    entry: &Value,
    mode: Mode,
    records: Option<&Records>,
    phase: ActivityPhase,
) -> Result<Record, Stop> {
    execute_reporting_start(ctx, entry, mode, records, phase, None).await
}

/// [`execute`], telling `started` when the activity has begun as far as the flow around
/// it is concerned: its `Pausing before…` line is logged, or its `Action:` line is logged
/// and its record is in `records` (or it ended before either). The run loop waits for
/// this before it goes on past a background activity, so that, as in the reference
/// (where a thread starts at once), background activities are logged and journaled in
/// declaration order rather than after the next foreground one.
pub async fn execute_reporting_start(
    ctx: &RunContext,
    entry: &Value,
    mode: Mode,
    records: Option<&Records>,
    phase: ActivityPhase,
    mut started: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<Record, Stop> {
    let mut report_start = move || {
        if let Some(tx) = started.take() {
            let _ = tx.send(());
        }
    };
    let declared = resolve(ctx, entry)?;
    let lookup = ctx.lookup();
    let local_controls = ActivityView::new(declared).controls();
    // A before-activity control may change the activity it is handed, as in the reference.
    let changed = match ctx
        .before_hooks(Level::Activity, declared, local_controls, mode)
        .await
    {
        Ok(changes) => {
            if let Some(changed) = &changes.context {
                ctx.activity_changed(declared, changed);
            }
            (changes.context, changes.outbound_headers)
        }
        Err(stop) => {
            // chaoslib's `with controls(...)` still calls the after hooks, without a state.
            let _ = ctx
                .after_hooks(
                    Level::Activity,
                    declared,
                    &Value::Null,
                    local_controls,
                    mode,
                )
                .await;
            return Err(stop);
        }
    };
    let (changed, outbound) = changed;
    let activity = changed.as_ref().unwrap_or(declared);
    let view = ActivityView::new(activity);
    let pauses = view
        .pauses()
        .map(|p| substitute(p, &lookup))
        .unwrap_or(Value::Null);
    let activity_type = view.type_name();
    let is_dry = ctx.dry.is_some_and(|d| d.skips(activity_type));
    let sleeps = !is_dry && ctx.dry != Some(Dry::Pause);

    // A control's own probe runs without the console lines of the experiment's activities.
    let announced = phase != ActivityPhase::Control;
    if let Some(before) = pauses.get("before").filter(|v| py_truthy(v)) {
        if announced {
            log::info!("Pausing before next activity for {}s...", py_str(before));
        }
        report_start();
        if sleeps {
            pause(ctx, before, "before", mode).await?;
        }
    }

    let label = title_case(activity_type);
    let name = view.name().unwrap_or_default();
    if !announced {
        log::debug!("{label}: {name} (run by a control)");
    } else if view.background() {
        log::info!("{label}: {name} [in background]");
    } else {
        log::info!("{label}: {name}");
    }

    ctx.events
        .emit(RunEvent::ActivityStarted { phase, activity })
        .await;
    let mut record = Record::started(activity.clone());
    let index = records.map(|list| {
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        list.push(record.clone());
        list.len() - 1
    });
    report_start();

    let outcome = if is_dry {
        log::debug!("Activity {name} is in dry mode");
        Outcome::Output(Value::Null)
    } else {
        let call = Call {
            activity,
            configuration: &ctx.configuration,
            secrets: &ctx.secrets,
            registry: &ctx.registry,
            background: mode == Mode::Background,
            scope: Some(ctx.interrupter.run_scope()),
        };
        // The drivers' own HTTP calls carry what the controls asked for (trace context).
        let provided = providers::outbound::scope(outbound, providers::run(&call));
        let result = match mode {
            Mode::Foreground => tokio::select! {
                out = provided => Some(out),
                _ = ctx.interrupter.wait() => None,
            },
            Mode::Background => Some(provided.await),
        };
        match result {
            Some(Ok(output)) => Outcome::Output(output),
            Some(Err(error)) => Outcome::Provider(error),
            None => Outcome::Interrupted,
        }
    };
    let mut stop = None;
    match outcome {
        Outcome::Output(output) => {
            record.status = Some(ActivityStatus::Succeeded);
            if output.is_null() {
                log::debug!("  => succeeded without any result value");
            } else {
                log::debug!("  => succeeded with '{}'", py_str(&output));
            }
            record.output = output;
        }
        Outcome::Provider(ProviderError::Failed(failure)) => {
            record.status = Some(ActivityStatus::Failed);
            if announced {
                log::error!("  => failed: {failure}");
            } else {
                log::debug!("  => failed: {failure}");
            }
            record.failure = Some(failure);
        }
        Outcome::Provider(ProviderError::Fatal(failure)) => stop = Some(Stop::Fatal(failure)),
        Outcome::Provider(ProviderError::Interrupted(exit)) if mode == Mode::Foreground => {
            ctx.interrupter
                .trigger(crate::interrupt::Interruption::from_exit(exit));
            stop = Some(Stop::Interrupted);
        }
        // In the reference a background thread's KeyboardInterrupt or SystemExit is lost
        // with the thread: the record keeps no status.
        Outcome::Provider(ProviderError::Interrupted(exit)) => {
            log::debug!("background activity {name} ended with {exit}");
            stop = Some(Stop::Fatal(Failure::new(
                FailureKind::Extension,
                exit.to_string(),
            )));
        }
        Outcome::Interrupted => stop = Some(Stop::Interrupted),
    }
    record.end = Some(Timestamp::now());
    if let (Some(list), Some(i)) = (records, index) {
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = list.get_mut(i) {
            *slot = record.clone();
        }
    }

    ctx.events
        .emit(RunEvent::ActivityCompleted {
            phase,
            record: &record,
        })
        .await;

    if let Some(after) = pauses.get("after").filter(|v| py_truthy(v)) {
        if announced {
            log::info!("Pausing after activity for {}s...", py_str(after));
        }
        if sleeps && stop.is_none() {
            pause(ctx, after, "after", mode).await?;
        }
    }
    if let Some(stop) = stop {
        if ctx.controls.any(local_controls) {
            let _ = ctx
                .after_hooks(
                    Level::Activity,
                    activity,
                    &Value::Null,
                    local_controls,
                    mode,
                )
                .await;
        }
        return Err(stop);
    }
    if ctx.controls.any(local_controls) {
        let changes = ctx
            .after_hooks(
                Level::Activity,
                activity,
                &record.to_json(),
                local_controls,
                mode,
            )
            .await?;
        if let Some(changed) = &changes.context {
            ctx.activity_changed(activity, changed);
        }
    }

    Ok(record)
}

/// A control's `InterruptExecution`: recorded as the pending interruption.
pub fn interrupted_by_control(ctx: &RunContext, interrupt: ControlInterrupt) -> Stop {
    ctx.interrupter.trigger_control(interrupt.message);
    Stop::Interrupted
}

/// Sleeps for a pause. One longer than the reference can sleep aborts the run, as the
/// reference's `OverflowError` does.
async fn pause(ctx: &RunContext, value: &Value, which: &str, mode: Mode) -> Result<(), Stop> {
    let Some(secs) = pause_seconds(value) else {
        return Ok(());
    };
    let duration = experiment::duration::from_secs(secs).map_err(|e| {
        Stop::Fatal(Failure::new(
            FailureKind::Declaration,
            format!("the {which} pause of {e}"),
        ))
    })?;
    let sleep = tokio::time::sleep(duration);
    match mode {
        Mode::Background => {
            sleep.await;
            Ok(())
        }
        Mode::Foreground => tokio::select! {
            _ = sleep => Ok(()),
            _ = ctx.interrupter.wait() => Err(Stop::Interrupted),
        },
    }
}

enum Outcome {
    Output(Value),
    Provider(ProviderError),
    Interrupted,
}

fn title_case(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase(),
        None => String::new(),
    }
}
