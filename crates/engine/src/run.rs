//! The run loop: configuration, the hypothesis before, the method (with the continuous
//! hypothesis alongside), the hypothesis after, rollbacks, and the final status.

use crate::activity::{self, LiveList, Mode, Records, RunContext, Stop};
use crate::controls::{Changes, Controls, Level, ProbeRun, RunHandle};
use crate::events::{ActivityPhase, Events, HypothesisPhase, RunEvent};
use crate::hypothesis;
use crate::interrupt::{Interrupter, Interruption};
use crate::journal::{HypothesisState, Journal, Record, Status, Timestamp};
use crate::strategy::{Dry, HypothesisStrategy, RollbackStrategy};
use experiment::config::{self, ConfigError};
use experiment::provider::ProviderKind;
use experiment::pyrepr::{py_float, py_str};
use experiment::substitute::substitute;
use experiment::vars::Overrides;
use experiment::view::ActivityView;
use experiment::{Map, Value};
use providers::registry::Registry;
use providers::Call;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How to run, as the CLI resolved it from flags, settings and the experiment's `runtime`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub dry: Option<Dry>,
    pub hypothesis_strategy: HypothesisStrategy,
    pub rollback_strategy: RollbackStrategy,
    /// Seconds between two continuous hypothesis runs.
    pub hypothesis_frequency: f64,
    pub fail_fast: bool,
    pub overrides: Overrides,
    /// The static configuration and secrets validation resolved, when it ran: the run
    /// resolves them only when this is `None` (`--no-validation`).
    pub resolved: Option<(Map, Map)>,
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Configuration(#[from] ConfigError),
}

/// State the continuous hypothesis shares with the main flow.
#[derive(Default)]
struct Shared {
    status: Mutex<Option<Status>>,
    during: Mutex<Vec<HypothesisState>>,
}

impl Shared {
    fn status(&self) -> Option<Status> {
        *self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_status(&self, status: Status) {
        *self.status.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
    }

    fn stopped(&self) -> bool {
        matches!(
            self.status(),
            Some(Status::Failed | Status::Aborted | Status::Interrupted)
        )
    }
}

/// Loads configuration and secrets (with overrides) and runs the dynamic configuration probes.
pub async fn resolve_configuration(
    experiment: &Value,
    overrides: &Overrides,
    registry: &Arc<Registry>,
) -> Result<(Map, Map), RunError> {
    let configuration =
        config::load_configuration(experiment.get("configuration"), &overrides.configuration)?;
    let secrets = config::load_secrets(experiment.get("secrets"), &overrides.secrets)?;
    let configuration = dynamic_configuration(configuration, &secrets, registry).await;
    Ok((configuration, secrets))
}

/// Runs the `{"type": "probe"}` configuration entries in order, each seeing the keys before it.
async fn dynamic_configuration(declared: Map, secrets: &Map, registry: &Arc<Registry>) -> Map {
    let mut resolved = Map::new();
    let mut had_errors = false;
    for (key, value) in declared {
        let is_probe =
            value.get("type").and_then(Value::as_str) == Some("probe") && value.is_object();
        if !is_probe {
            resolved.insert(key, value);
            continue;
        }
        let name = value.get("name").map(py_str).unwrap_or_default();
        let kind = value
            .get("provider")
            .and_then(Value::as_object)
            .and_then(ProviderKind::of);
        let call = Call {
            activity: &value,
            configuration: &resolved,
            secrets,
            registry,
            background: false,
            scope: None,
        };
        let output = match providers::run(&call).await {
            Ok(output) => output,
            Err(e) => {
                had_errors = true;
                log::debug!("Failed to load configuration '{name}': {e}");
                continue;
            }
        };
        match kind {
            Some(ProviderKind::Process) => {
                if output.get("status").and_then(Value::as_i64) != Some(0) {
                    had_errors = true;
                    log::debug!(
                        "Failed to load configuration dynamically from probe '{name}': {}",
                        output.get("stderr").map(py_str).unwrap_or_default()
                    );
                } else {
                    let stdout = output.get("stdout").and_then(Value::as_str).unwrap_or("");
                    resolved.insert(key, Value::String(stdout.trim().to_string()));
                }
            }
            Some(ProviderKind::Http) => {
                resolved.insert(key, output.get("body").cloned().unwrap_or(Value::Null));
            }
            _ => {
                resolved.insert(key, output);
            }
        }
    }
    if had_errors {
        log::warn!("Some of the dynamic configuration failed to be loaded.Please review the log file for understanding what happened.");
    }
    resolved
}

/// Runs an experiment to its end and returns the journal.
///
/// `experiment` must already carry the `dry` key the CLI sets; the journal echoes it.
pub async fn run_experiment(
    mut experiment: Value,
    mut options: RunOptions,
    registry: Arc<Registry>,
    settings: &Value,
    interrupter: Arc<Interrupter>,
    events: Events,
) -> Result<Journal, RunError> {
    // Validation ran when it handed over what it resolved.
    let validated = options.resolved.is_some();
    let (configuration, secrets) = match options.resolved.take() {
        Some((configuration, secrets)) => {
            let configuration = dynamic_configuration(configuration, &secrets, &registry).await;
            (configuration, secrets)
        }
        None => resolve_configuration(&experiment, &options.overrides, &registry).await?,
    };
    crate::redact::install(&secrets);
    let references = activity::references(&experiment);
    let controls = Controls::resolve(registry.clone(), settings, &experiment, validated).await;
    let ctx = Arc::new(RunContext {
        configuration,
        secrets,
        registry,
        dry: options.dry,
        interrupter: interrupter.clone(),
        references,
        controls,
        tolerance_values: Mutex::new(HashMap::new()),
        live: Mutex::new(Arc::new(experiment.clone())),
        events,
    });

    if let Some(title) = experiment.get("title").cloned() {
        let title = substitute(&title, &ctx.lookup());
        if let Some(map) = experiment.as_object_mut() {
            map.insert("title".into(), title);
        }
    }
    log::info!(
        "Running experiment: {}",
        experiment.get("title").map(py_str).unwrap_or_default()
    );
    let control_names = ctx.controls.names();
    ctx.events
        .emit(RunEvent::ExperimentStarted {
            experiment: &experiment,
            resolved: crate::events::Resolved {
                configuration: &ctx.configuration,
                secrets: &ctx.secrets,
                rollback_strategy: &options.rollback_strategy,
                controls: &control_names,
            },
        })
        .await;
    let mut journal = Journal::new(journal_copy(&experiment, &ctx.secrets));
    if let Some(dry) = options.dry {
        log::warn!("Running experiment with dry {}", dry.name());
    }
    let handle: Arc<dyn RunHandle> = Arc::new(Handle {
        ctx: Arc::downgrade(&ctx),
    });
    ctx.controls
        .configure(&experiment, &ctx.configuration, &ctx.secrets, &handle)
        .await;
    let strategy = options.hypothesis_strategy;
    log::info!("Steady-state strategy: {}", strategy.log_name());
    log::info!("Rollbacks strategy: {}", options.rollback_strategy.name());

    let with_hypothesis =
        strategy != HypothesisStrategy::Skip && hypothesis::has_probes(&experiment);
    if strategy == HypothesisStrategy::Skip {
        log::info!("Skipping Steady-State Hypothesis as requested");
    } else if !with_hypothesis {
        log::info!("No steady state hypothesis defined. That's ok, just exploring.");
    }

    let shared = Arc::new(Shared::default());
    let method_records: Records = Arc::new(Mutex::new(Vec::new()));
    let mut continuous: Option<(watch::Sender<bool>, JoinHandle<()>)> = None;

    // A before-experiment control may change the experiment the rest of the run plays.
    let started = match ctx
        .before_hooks(Level::Experiment, &experiment, None, Mode::Foreground)
        .await
    {
        Ok(changes) => {
            if let Some(changed) = changes.context {
                experiment = changed;
                journal.experiment = journal_copy(&experiment, &ctx.secrets);
                *ctx.live.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(experiment.clone());
            }
            Ok(())
        }
        Err(stop) => Err(stop),
    };
    let flow = async {
        started?;
        if with_hypothesis && strategy.before() {
            let state =
                hypothesis::run(&ctx, &experiment, Mode::Foreground, HypothesisPhase::Before)
                    .await?;
            let met = state.met == Some(true);
            if !met {
                let status = if state.has_failed_probe() { Status::Failed } else { Status::Completed };
                shared.set_status(status);
                crate::critical!(
                    "Steady state probe '{}' is not in the given tolerance so failing this experiment",
                    state.last_probe_name()
                );
            }
            journal.before = Some(state);
            if !met {
                return Ok(());
            }
        }
        if with_hypothesis && strategy.during() {
            continuous = Some(start_continuous(&ctx, &experiment, &options, &shared));
        }
        log::info!("Playing your experiment's method now...");
        ctx.events.emit(RunEvent::MethodStarted).await;
        let method = match ctx.before_hooks(Level::Method, &experiment, None, Mode::Foreground).await {
            Ok(_) => run_method(&ctx, &method_records, &shared).await,
            Err(stop) => Err(stop),
        };
        // As chaoslib's `run_method`, which lets KeyboardInterrupt and SystemExit through.
        let signal_exit = method == Err(Stop::Interrupted)
            && interrupter.pending().is_some_and(is_signal_exit);
        if !ctx.events.is_empty() && !signal_exit {
            let runs = take_copy(&method_records);
            ctx.events.emit(RunEvent::MethodCompleted { runs: &runs }).await;
        }
        // As chaoslib's `with controls(...)`, the after hooks run however the method ended.
        let after = if ctx.controls.any(None) {
            let runs = records_json(&method_records);
            ctx.after_hooks(Level::Method, &experiment, &runs, None, Mode::Foreground).await.map(drop)
        } else {
            Ok(())
        };
        if let Some((stop, task)) = continuous.take() {
            let _ = stop.send(true);
            let _ = task.await;
        }
        method.and(after)?;
        let cut_short = matches!(shared.status(), Some(Status::Interrupted | Status::Aborted));
        if !cut_short && with_hypothesis && strategy.after() {
            {
                let state =
                    hypothesis::run(&ctx, &experiment, Mode::Foreground, HypothesisPhase::After)
                        .await?;
                if state.met != Some(true) {
                    journal.deviated = true;
                    let status = if state.has_failed_probe() { Status::Failed } else { Status::Completed };
                    shared.set_status(status);
                    crate::critical!(
                        "Steady state probe '{}' is not in the given tolerance so failing this experiment",
                        state.last_probe_name()
                    );
                }
                journal.after = Some(state);
            }
        }
        Ok::<(), Stop>(())
    }
    .await;

    // Whatever stopped the flow, the continuous hypothesis ends before rollbacks.
    if let Some((stop, task)) = continuous.take() {
        let _ = stop.send(true);
        let _ = task.await;
    }
    let mut play_rollbacks_at_all = true;
    // The kill switch stopped the run: its rollbacks are played whatever the strategy
    // (but `never`), and the journal says why.
    let mut kill_switch = None;
    if let Err(Stop::Interrupted) = flow {
        shared.set_status(Status::Interrupted);
        let caught = interrupter.take();
        if caught == Some(Interruption::KillSwitch) {
            kill_switch = interrupter.kill_switch_reason();
        }
        let event = if caught.is_some_and(is_signal_exit) {
            RunEvent::SignalExit
        } else {
            RunEvent::Interrupted
        };
        if let Some(what) = caught {
            interrupter.log_caught(what);
            if what == Interruption::Usr2 {
                log::warn!("Ignoring rollbacks as per signal");
                play_rollbacks_at_all = false;
            }
        }
        ctx.events.emit(event).await;
    }
    if interrupter.ungraceful() {
        play_rollbacks_at_all = false;
    }

    journal.run = take_records(&method_records);
    journal.during = std::mem::take(&mut *shared.during.lock().unwrap_or_else(|e| e.into_inner()));
    journal.status = shared.status();

    if let Some(reason) = &kill_switch {
        journal.extra.insert(
            "interruption".into(),
            serde_json::json!({"kind": "kill-switch", "reason": reason}),
        );
    }
    // Decided (and its warnings logged) only when rollbacks may be played at all.
    let play = play_rollbacks_at_all
        && match (&kill_switch, &options.rollback_strategy) {
            (Some(_), RollbackStrategy::Default | RollbackStrategy::Deviated) => {
                log::warn!(
                    "Rollbacks will be played because the kill switch stopped the experiment"
                );
                true
            }
            _ => {
                should_play_rollbacks(&options.rollback_strategy, journal.status, journal.deviated)
            }
        };
    interrupter.enter_rollbacks();
    if play {
        let records: Records = Arc::new(Mutex::new(Vec::new()));
        log::info!("Let's rollback...");
        ctx.events.emit(RunEvent::RollbacksStarted).await;
        let mut result = ctx
            .before_hooks(Level::Rollback, &experiment, None, Mode::Foreground)
            .await
            .map(drop);
        if result.is_ok() {
            result = run_rollbacks(&ctx, &records).await;
        }
        if ctx.controls.any(None) {
            let runs = records_json(&records);
            let after = ctx
                .after_hooks(Level::Rollback, &experiment, &runs, None, Mode::Foreground)
                .await
                .map(drop);
            result = result.and(after);
        }
        journal.rollbacks = take_records(&records);
        ctx.events
            .emit(RunEvent::RollbacksCompleted {
                runs: &journal.rollbacks,
            })
            .await;
        if let Err(Stop::Interrupted) = result {
            journal.status = Some(Status::Interrupted);
            match interrupter.take() {
                Some(what @ (Interruption::Term | Interruption::Control)) => interrupter.log_caught(what),
                _ => log::warn!("Received an exit signal.Terminating now without running the remaining rollbacks."),
            }
        }
    }

    // The reference's journal holds a shallow copy of the experiment: its lists are the ones
    // the run played, with whatever controls changed in them.
    let live = ctx.live_experiment();
    for list in [LiveList::Probes, LiveList::Method, LiveList::Rollbacks] {
        list.copy(&live, &mut journal.experiment);
    }
    hypothesis::record_tolerance_values(&ctx, &mut journal);
    // Work the run's functions left running (traffic `load.single` started) stops now.
    interrupter.end_run();
    journal.end = Some(Timestamp::now());
    let status = *journal.status.get_or_insert(Status::Completed);
    if status == Status::Interrupted {
        journal.interruption = interrupter.recorded_signal();
    }
    let shown = if journal.deviated {
        "deviated"
    } else {
        status.as_str()
    };
    log::info!("Experiment ended with status: {shown}");
    if journal.deviated {
        log::info!("The steady-state has deviated, a weakness may have been discovered");
    }
    if ctx.controls.any(None) {
        let state = journal.to_json();
        // As in the reference, the end of the run is past interrupting: errors are ignored.
        // Keys a control adds to the journal it is handed are kept, as the reference's
        // journal is the very dictionary its controls change.
        let after = ctx
            .after_hooks(
                Level::Experiment,
                &experiment,
                &state,
                None,
                Mode::Foreground,
            )
            .await;
        if let Ok(Changes {
            state: Some(changed),
            ..
        }) = after
        {
            journal.absorb_control_keys(&changed);
        }
    }
    ctx.controls.cleanup().await;
    Ok(journal)
}

/// The run as its controls see it ([`RunHandle`]): a weak reference, so a control that
/// keeps the handle (a safeguard's task) never keeps the run alive.
struct Handle {
    ctx: std::sync::Weak<RunContext>,
}

impl RunHandle for Handle {
    fn run_probe<'a>(&'a self, probe: &'a Value) -> providers::BoxFuture<'a, ProbeRun> {
        Box::pin(async move {
            match self.ctx.upgrade() {
                Some(ctx) => hypothesis::probe_for_control(&ctx, probe).await,
                None => ProbeRun {
                    record: serde_json::json!({"activity": probe, "output": null, "status": "failed"}),
                    tolerance_met: false,
                },
            }
        })
    }

    fn interrupt(&self, exit: providers::Exit) {
        if let Some(ctx) = self.ctx.upgrade() {
            ctx.interrupter.trigger(Interruption::from_exit(exit));
        }
    }
}

/// The experiment as the journal shows it. The reference hands every secret to dynamic
/// configuration probes by writing them into the probe's `provider.secrets`, which leaks
/// them into the journal; Shakedown keeps that key but masks every value.
fn journal_copy(experiment: &Value, secrets: &Map) -> Value {
    let mut copy = experiment.clone();
    let configuration = copy.get_mut("configuration").and_then(Value::as_object_mut);
    for entry in configuration.into_iter().flat_map(|c| c.values_mut()) {
        if entry.get("type").and_then(Value::as_str) != Some("probe") {
            continue;
        }
        if let Some(Value::Object(provider)) = entry.get_mut("provider") {
            provider.insert("secrets".into(), mask(&Value::Object(secrets.clone())));
        }
    }
    copy
}

/// The same tree with every leaf value replaced by `***`.
fn mask(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), mask(v))).collect())
        }
        _ => Value::String("***".into()),
    }
}

fn records_json(records: &Records) -> Value {
    let list = records.lock().unwrap_or_else(|e| e.into_inner());
    Value::Array(list.iter().map(Record::to_json).collect())
}

fn take_copy(records: &Records) -> Vec<Record> {
    records.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn take_records(records: &Records) -> Vec<Record> {
    std::mem::take(&mut *records.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The interruptions the reference raises as `KeyboardInterrupt` or `SystemExit`, as
/// opposed to its `InterruptExecution` (SIGTERM, a control).
fn is_signal_exit(what: Interruption) -> bool {
    matches!(
        what,
        Interruption::Int | Interruption::Usr1 | Interruption::Usr2 | Interruption::Exit(_)
    )
}

/// The reference's rollback decision, with its warnings, for a run that ended with
/// `status` (`None`: completed).
pub(crate) fn should_play_rollbacks(
    strategy: &RollbackStrategy,
    status: Option<Status>,
    deviated: bool,
) -> bool {
    match strategy {
        RollbackStrategy::Always => {
            log::warn!("Rollbacks were explicitly requested to be played");
            true
        }
        RollbackStrategy::Never => {
            log::warn!("Rollbacks were explicitly requested to not be played");
            false
        }
        RollbackStrategy::Default => !matches!(status, Some(Status::Failed | Status::Interrupted)),
        RollbackStrategy::Deviated if deviated => {
            log::warn!("Rollbacks will be played only because the experiment deviated");
            true
        }
        RollbackStrategy::Deviated => {
            log::warn!("Rollbacks were explicitely requested to be played only if the experiment deviated. Since this is not the case, we will not play them.");
            false
        }
        RollbackStrategy::Unknown(_) => false,
    }
}

/// Plays the rollbacks of `experiment` for a run whose process is gone (the
/// [`guardian`](crate::guardian)), as the run loop plays them, and returns their records.
/// The run's controls died with it: no hook is called.
pub async fn play_orphaned_rollbacks(
    experiment: Value,
    configuration: Map,
    secrets: Map,
    registry: Arc<Registry>,
) -> Vec<Record> {
    let dry = experiment
        .get("dry")
        .and_then(Value::as_str)
        .and_then(Dry::parse);
    let ctx = Arc::new(RunContext {
        configuration,
        secrets,
        registry,
        dry,
        interrupter: Arc::new(Interrupter::new()),
        references: activity::references(&experiment),
        controls: Controls::default(),
        tolerance_values: Mutex::new(HashMap::new()),
        live: Mutex::new(Arc::new(experiment)),
        events: Events::default(),
    });
    let records: Records = Arc::new(Mutex::new(Vec::new()));
    // Nothing interrupts the guardian; a fatal error is logged and the next rollback runs.
    let _ = run_rollbacks(&ctx, &records).await;
    take_records(&records)
}

async fn run_method(
    ctx: &Arc<RunContext>,
    records: &Records,
    shared: &Arc<Shared>,
) -> Result<(), Stop> {
    if ctx.live_entry(LiveList::Method, 0).is_none() {
        log::info!("No declared activities, let's move on.");
    }
    play(ctx, records, Phase::Method(shared)).await
}

async fn run_rollbacks(ctx: &Arc<RunContext>, records: &Records) -> Result<(), Stop> {
    if ctx.live_entry(LiveList::Rollbacks, 0).is_none() {
        log::info!("No declared rollbacks, let's move on.");
    }
    play(ctx, records, Phase::Rollbacks).await
}

/// Which list [`play`] runs: they differ in their logs and in what a fatal error does.
enum Phase<'a> {
    Method(&'a Shared),
    Rollbacks,
}

impl Phase<'_> {
    fn list(&self) -> LiveList {
        match self {
            Phase::Method(_) => LiveList::Method,
            Phase::Rollbacks => LiveList::Rollbacks,
        }
    }

    fn activity(&self) -> ActivityPhase {
        match self {
            Phase::Method(_) => ActivityPhase::Method,
            Phase::Rollbacks => ActivityPhase::Rollback,
        }
    }
}

/// Runs activities in order, background ones alongside, then waits for the background ones.
async fn play(ctx: &Arc<RunContext>, records: &Records, phase: Phase<'_>) -> Result<(), Stop> {
    let mut background = Vec::new();
    let mut outcome = Ok(());
    // Read one entry at a time from the live list: a control may insert activities after
    // the one it is handed, and the reference's loop plays them.
    let list = phase.list();
    let mut index = 0;
    while let Some(entry) = ctx.live_entry(list, index) {
        index += 1;
        let view = ActivityView::new(&entry);
        if let Phase::Rollbacks = phase {
            log::info!("Rollback: {}", view.name().unwrap_or_else(|| "None".into()));
        }
        if view.background() {
            let (started, has_started) = tokio::sync::oneshot::channel();
            background.push(spawn_background(
                ctx,
                entry,
                records,
                phase.activity(),
                started,
            ));
            // The sender is dropped if the activity ends before it starts (a bad `ref`).
            tokio::select! {
                _ = has_started => {}
                _ = ctx.interrupter.wait() => {}
            }
        } else {
            match activity::execute(
                ctx,
                &entry,
                Mode::Foreground,
                Some(records),
                phase.activity(),
            )
            .await
            {
                Ok(_) => {}
                Err(Stop::Interrupted) => {
                    outcome = Err(Stop::Interrupted);
                    break;
                }
                Err(Stop::Fatal(message)) => match phase {
                    Phase::Method(shared) => {
                        shared.set_status(Status::Aborted);
                        crate::critical!(
                            "Experiment ran into an un expected fatal error, aborting now.\n{message}"
                        );
                        break;
                    }
                    // The reference crashes here; a failed rollback that lets the others
                    // run is what a user needs (see docs/compatibility.md).
                    Phase::Rollbacks => log::error!("  => failed: {message}"),
                },
            }
        }
        if ctx.interrupter.pending().is_some() {
            outcome = Err(Stop::Interrupted);
            break;
        }
        if let Phase::Method(shared) = phase {
            if shared.stopped() {
                break;
            }
        }
    }
    wait_background(ctx, background).await;
    outcome
}

fn spawn_background(
    ctx: &Arc<RunContext>,
    entry: Value,
    records: &Records,
    phase: ActivityPhase,
    started: tokio::sync::oneshot::Sender<()>,
) -> JoinHandle<()> {
    let ctx = ctx.clone();
    let records = records.clone();
    tokio::spawn(async move {
        // Failures are in the record; a fatal error leaves the record without a status,
        // as the reference does for background activities.
        let _ = activity::execute_reporting_start(
            &ctx,
            &entry,
            Mode::Background,
            Some(&records),
            phase,
            Some(started),
        )
        .await;
    })
}

/// Waits for background activities, unless SIGUSR2 asks to abandon them.
async fn wait_background(ctx: &RunContext, mut tasks: Vec<JoinHandle<()>>) {
    if tasks.is_empty() {
        return;
    }
    log::debug!("Waiting for background activities to complete");
    while let Some(task) = tasks.last_mut() {
        if ctx.interrupter.ungraceful() {
            break;
        }
        tokio::select! {
            _ = task => { tasks.pop(); }
            _ = ctx.interrupter.wait_ungraceful() => break,
        }
    }
    if !tasks.is_empty() {
        log::debug!("Do not wait for the background activities to finish as per signal");
        for task in tasks {
            task.abort();
        }
    }
}

fn start_continuous(
    ctx: &Arc<RunContext>,
    experiment: &Value,
    options: &RunOptions,
    shared: &Arc<Shared>,
) -> (watch::Sender<bool>, JoinHandle<()>) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = ctx.clone();
    let experiment = experiment.clone();
    let shared = shared.clone();
    let frequency = options.hypothesis_frequency;
    let fail_fast = options.fail_fast;
    let task = tokio::spawn(async move {
        continuous(ctx, experiment, frequency, fail_fast, stop_rx, shared).await;
        log::info!("Continuous steady state hypothesis terminated");
    });
    (stop_tx, task)
}

async fn continuous(
    ctx: Arc<RunContext>,
    experiment: Value,
    frequency: f64,
    fail_fast: bool,
    mut stop: watch::Receiver<bool>,
    shared: Arc<Shared>,
) {
    ctx.events
        .emit(RunEvent::ContinuousHypothesisStarted { frequency })
        .await;
    log::info!(
        "Executing the steady-state hypothesis continuously every {} seconds",
        py_float(frequency)
    );
    let mut failures = 0u32;
    let mut iteration = 1u32;
    while !*stop.borrow() {
        if shared.stopped() {
            break;
        }
        let phase = HypothesisPhase::During(iteration);
        let Ok(state) = hypothesis::run(&ctx, &experiment, Mode::Background, phase).await else {
            break;
        };
        let met = state.met == Some(true);
        let last = state.last_probe_name().to_string();
        shared
            .during
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(state);
        if !met {
            failures += 1;
            let ratio = f64::from(failures) * 100.0 / f64::from(iteration);
            log::warn!("Continuous steady state probe '{last}' is not in the given tolerance");
            if fail_fast {
                // The CLI fixes the fail-fast ratio at 0: the first failure trips it.
                log::info!(
                    "Terminating immediately the experiment after {ratio:.1}% hypothesis deviated"
                );
                shared.set_status(Status::Failed);
                break;
            }
        }
        iteration += 1;
        // Python's `Event.wait` cannot wait this long: the reference aborts the run (the
        // CLI refuses such a frequency; an embedding caller may still pass one).
        let pause = match experiment::duration::from_secs(frequency) {
            Ok(pause) => pause,
            Err(e) => {
                crate::critical!("the hypothesis frequency of {e}");
                shared.set_status(Status::Aborted);
                break;
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.wait_for(|stopped| *stopped) => {}
        }
    }
}
