//! The Run API: one experiment from its source to its journal and exit code.
//!
//! `chaos run` is this plus argument parsing; the operator, a CronJob or a test harness call
//! the same function. Everything a run needs arrives in a [`RunRequest`] (the source, the
//! settings, the command-line overrides) and everything it produces leaves as [`RunEvent`]s
//! to the [`Subscriber`]s (the journal file, the notification channels) and as the
//! [`RunOutcome`]. The sequence is the reference CLI's (chaostoolkit 1.19.0 `run`):
//! global controls' loader hooks, load, `run-started`, validation, the `dry` key, the
//! strategies, the engine, the journal, the end notifications, the exit code.

use crate::controls::{Controls, Level};
use crate::events::{ActivityPhase, Events, HypothesisPhase, NotReady, RunEvent, Subscriber};
use crate::interrupt::Interrupter;
use crate::journal::{HypothesisState, Journal, Record, Status};
use crate::notifications::{notify, Phase};
use crate::run::{run_experiment, RunOptions};
use crate::source::{self, Source, SourceError};
use crate::strategy::{Dry, HypothesisStrategy, RollbackStrategy};
use experiment::validate::{PythonRuntime, PythonRuntimeError, Validated, ValidationError};
use experiment::vars::Overrides;
use experiment::{FunctionCatalog, Value};
use providers::bridge::BridgedCatalog;
use providers::registry::Registry;
use providers::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What to run and how, as the command line and the settings say it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// A file path or an http(s) URL.
    pub source: String,
    /// The loaded settings (`{}` when there is no settings file).
    pub settings: Value,
    /// `--var` and `--var-file` values.
    pub overrides: Overrides,
    /// `--hypothesis-strategy`, as written (`continously` included).
    pub hypothesis_strategy: Option<String>,
    /// `--rollback-strategy`.
    pub rollback_strategy: Option<String>,
    pub dry: Option<Dry>,
    /// `--hypothesis-frequency`, seconds.
    pub hypothesis_frequency: f64,
    pub fail_fast: bool,
    /// `false` for `--no-validation`.
    pub validate: bool,
    /// `false` for `--no-verify-tls`.
    pub verify_tls: bool,
    /// `--control-file` files: global controls, a name → definition map each.
    pub control_files: Vec<PathBuf>,
    /// `--strict` (`Some(true)`) or `--no-strict` (`Some(false)`); `None` leaves it to the
    /// settings' `runtime.validation.strict` ([`Strictness::resolve`]).
    pub strict: Option<bool>,
    /// Turn SIGINT, SIGTERM, SIGUSR1 and SIGUSR2 into interruptions once the engine starts
    /// (what a CLI wants; an embedding process may handle signals itself and use the
    /// interrupter directly).
    pub handle_signals: bool,
    /// The kill switch ([`crate::kill_switch`]): checked before anything is loaded (a run
    /// does not start while it is on) and watched while the experiment runs.
    pub kill_switch: Option<Arc<crate::kill_switch::KillSwitch>>,
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// The journal, when the engine ran (not when loading or validation failed).
    pub journal: Option<Journal>,
    /// The process exit code, as the reference's: 0 only for a completed, non-deviated run.
    pub exit_code: u8,
}

/// Why a run did not reach the engine. The `Display` is the ERROR line the CLI logs.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Source(#[from] SourceError),
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("Unknown hypothesis strategy '{0}': use default, before-method-only, after-method-only, during-method-only, continuously or skip")]
    Strategy(String),
    #[error("{origin}: {message}")]
    ControlFile { origin: String, message: String },
    /// A control file that is not JSON or YAML (the message names the file and line).
    #[error("{0}")]
    ControlFileSyntax(String),
    #[error("cannot install signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("{0}")]
    Configuration(#[from] crate::run::RunError),
    /// `runtime.python` is malformed (chaostoolkit 1.21's check, before validation).
    #[error("{0}")]
    Runtime(#[from] PythonRuntimeError),
    /// A subscriber could not get ready (the events file could not be created).
    #[error("{0}")]
    NotReady(#[from] NotReady),
    /// The kill switch is on, or cannot be read.
    #[error("{0}")]
    KillSwitch(#[from] crate::kill_switch::Refusal),
}

impl StartError {
    /// A stable name for the kind of failure, to group failures by.
    pub fn kind(&self) -> &'static str {
        match self {
            StartError::Source(_) => "source",
            StartError::Invalid(_) => "validation",
            StartError::Strategy(_) => "strategy",
            StartError::ControlFile { .. } | StartError::ControlFileSyntax(_) => "control-file",
            StartError::Signals(_) => "signals",
            StartError::Configuration(_) => "configuration",
            StartError::Runtime(_) => "runtime",
            StartError::NotReady(_) => "subscriber",
            StartError::KillSwitch(_) => "kill-switch",
        }
    }
}

/// Builds the driver registry a document needs (the CLI loads its native drivers only when
/// something in the experiment or the settings names a Python module). Called with `Null`
/// for the loader hooks, then with the loaded experiment.
pub type RegistryFor<'a> = dyn Fn(&Value) -> Arc<Registry> + Send + Sync + 'a;

/// Runs one experiment. Log lines are the reference's; `subscribers` hear every event.
pub async fn run(
    request: RunRequest,
    registry_for: &RegistryFor<'_>,
    interrupter: Arc<Interrupter>,
    subscribers: Vec<Arc<dyn Subscriber>>,
) -> RunOutcome {
    let events = Events::new(subscribers);
    match run_inner(request, registry_for, interrupter, &events).await {
        Ok(outcome) => outcome,
        Err(error) => {
            if !matches!(error, StartError::Invalid(_)) {
                log::error!("{error}");
            }
            events.emit(RunEvent::StartFailed { error: &error }).await;
            RunOutcome {
                journal: None,
                exit_code: 1,
            }
        }
    }
}

async fn run_inner(
    request: RunRequest,
    registry_for: &RegistryFor<'_>,
    interrupter: Arc<Interrupter>,
    events: &Events,
) -> Result<RunOutcome, StartError> {
    if let Some(switch) = &request.kill_switch {
        switch.check().await?;
    }
    let mut settings = request.settings.clone();
    add_control_files(&mut settings, &request.control_files)?;
    let loader = has_global_controls(&settings).then(|| registry_for(&Value::Null));
    let (source, mut experiment) =
        load_with_controls(&request.source, &settings, request.verify_tls, loader).await?;
    check_python_runtime(&experiment)?;
    crate::redact::install_inline(&experiment);
    let registry = registry_for(&experiment);
    events
        .emit(RunEvent::Started {
            experiment: &experiment,
        })
        .await;

    let mut resolved = None;
    if request.validate {
        let catalog = BridgedCatalog::resolve(&registry, registry.bridge(), &experiment).await;
        let strictness = Strictness::resolve(request.strict, &settings);
        match check(
            &source,
            &experiment,
            &catalog,
            catalog.unavailable(),
            &request.overrides,
            strictness,
        ) {
            // The run takes over the configuration and secrets validation resolved.
            Ok(validated) => resolved = Some((validated.configuration, validated.secrets)),
            Err(error) => {
                events.emit(RunEvent::Invalid { error: &error }).await;
                return Err(StartError::Invalid(error));
            }
        }
    }
    if let Some(map) = experiment.as_object_mut() {
        let dry = request.dry.map(|d| Value::String(d.name().into()));
        map.insert("dry".into(), dry.unwrap_or(Value::Null));
    }

    let strategies = Strategies::resolve(
        request.hypothesis_strategy.as_deref(),
        request.rollback_strategy.as_deref(),
        &settings,
        &experiment,
    );
    let Some(hypothesis_strategy) = HypothesisStrategy::parse(&strategies.hypothesis) else {
        return Err(StartError::Strategy(strategies.hypothesis));
    };
    if strategies.hypothesis == "continously" {
        log::warn!(
            "\nThe \"--hypothesis-strategy=continously\" command is depreciating and will be removed in a future version\nInstead, please use \"--hypothesis-strategy=continuously\""
        );
    }
    strategies.record_in(&mut settings);

    let options = RunOptions {
        dry: request.dry,
        hypothesis_strategy,
        rollback_strategy: RollbackStrategy::parse(&strategies.rollbacks),
        hypothesis_frequency: request.hypothesis_frequency,
        fail_fast: request.fail_fast,
        overrides: request.overrides,
        resolved,
    };
    events.ready()?;
    if request.handle_signals {
        crate::interrupt::install(interrupter.clone()).map_err(StartError::Signals)?;
    }
    let watcher = request
        .kill_switch
        .clone()
        .map(|switch| tokio::spawn(switch.watch(interrupter.clone())));
    let journal = run_experiment(
        experiment,
        options,
        registry,
        &settings,
        interrupter,
        events.clone(),
    )
    .await;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    let journal = journal?;
    let json = journal.to_json();
    let mut exit_code = exit_code(&journal);
    if !events.persist(&json) {
        exit_code = 1;
    }
    events
        .emit(RunEvent::Finished {
            journal: &journal,
            json: &json,
            exit_code,
        })
        .await;
    Ok(RunOutcome {
        journal: Some(journal),
        exit_code,
    })
}

/// `chaos validate`: load, validate, and the `validate-*` notifications; the exit code.
/// `strict` is `--strict`/`--no-strict` ([`RunRequest::strict`]).
pub async fn validate(
    source: &str,
    settings: &Value,
    verify_tls: bool,
    strict: Option<bool>,
    registry_for: &RegistryFor<'_>,
) -> u8 {
    validate_outcome(source, settings, verify_tls, strict, registry_for)
        .await
        .exit_code
}

/// What `chaos validate` found: enough for a report.
#[derive(Debug)]
pub struct ValidateOutcome {
    /// 0 when the experiment is valid, else 1.
    pub exit_code: u8,
    /// The experiment's `title` as loaded (`None` when it could not be loaded; `Null` when
    /// the experiment has none).
    pub title: Option<Value>,
    /// The first error found: [`StartError::Source`], [`StartError::Runtime`] or
    /// [`StartError::Invalid`].
    pub error: Option<StartError>,
}

/// [`validate`], with the title and the error.
pub async fn validate_outcome(
    source: &str,
    settings: &Value,
    verify_tls: bool,
    strict: Option<bool>,
    registry_for: &RegistryFor<'_>,
) -> ValidateOutcome {
    let failed = |title: Option<Value>, error: StartError| ValidateOutcome {
        exit_code: 1,
        title,
        error: Some(error),
    };
    let loader = has_global_controls(settings).then(|| registry_for(&Value::Null));
    let (source, experiment) = match load_with_controls(source, settings, verify_tls, loader).await
    {
        Ok(loaded) => loaded,
        Err(error) => {
            log::error!("{error}");
            return failed(None, error.into());
        }
    };
    let title = Some(experiment.get("title").cloned().unwrap_or(Value::Null));
    if let Err(error) = check_python_runtime(&experiment) {
        log::error!("{error}");
        return failed(title, error);
    }
    let registry = registry_for(&experiment);
    let send = |name: &'static str, error: Option<String>| {
        let registry = registry.clone();
        let experiment = &experiment;
        async move {
            notify(
                settings,
                &registry,
                Phase::Validate,
                name,
                experiment,
                error.as_deref(),
            )
            .await
        }
    };
    send("validate-started", None).await;
    let catalog = BridgedCatalog::resolve(&registry, registry.bridge(), &experiment).await;
    match check(
        &source,
        &experiment,
        &catalog,
        catalog.unavailable(),
        &Overrides::default(),
        Strictness::resolve(strict, settings),
    ) {
        Ok(_) => {
            log::info!("experiment syntax and semantic look valid");
            send("validate-completed", None).await;
            ValidateOutcome {
                exit_code: 0,
                title,
                error: None,
            }
        }
        Err(e) => {
            send("validate-failed", Some(e.message.clone())).await;
            failed(title, e.into())
        }
    }
}

/// `runtime.python` (chaostoolkit 1.21): a malformed one stops the run before validation,
/// as in the reference. The reference then re-runs the command under `uv run` with the
/// dependencies (and Python version) installed; Shakedown does not, and says so: the
/// Python modules an experiment names run in the interpreter of `--python`/`CHAOS_PYTHON`.
fn check_python_runtime(experiment: &Value) -> Result<(), StartError> {
    let Some(PythonRuntime {
        dependencies,
        version,
        ..
    }) = experiment::validate::python_runtime(experiment)?
    else {
        return Ok(());
    };
    if !dependencies.is_empty() {
        log::warn!(
            "runtime.python.dependencies are not installed by Shakedown (chaostoolkit 1.21 runs the experiment under `uv run`): install {} into the Python interpreter given by --python or CHAOS_PYTHON",
            dependencies.join(", ")
        );
    }
    if let Some(version) = version {
        log::warn!(
            "runtime.python.version {version} is not enforced by Shakedown (chaostoolkit 1.21 runs the experiment under `uv run`): the Python interpreter given by --python or CHAOS_PYTHON runs the experiment's Python modules"
        );
    }
    Ok(())
}

/// The reference's exit code: 0 only when the run completed and did not deviate.
pub fn exit_code(journal: &Journal) -> u8 {
    let completed = journal.status.unwrap_or(Status::Completed) == Status::Completed;
    u8::from(!completed || journal.deviated)
}

/// Loads SOURCE between the global controls' loader hooks: `before_loading_experiment`
/// gets the source, `after_loading_experiment` the parsed experiment, which it may change.
pub async fn load_with_controls(
    source: &str,
    settings: &Value,
    verify_tls: bool,
    registry: Option<Arc<Registry>>,
) -> Result<(Source, Value), SourceError> {
    let controls = match registry {
        Some(registry) => Controls::global_only(registry, settings).await,
        None => Controls::default(),
    };
    let context = Value::String(source.to_string());
    let empty = experiment::Map::new();
    let lookup = experiment::substitute::Lookup::new(&empty, &empty);
    let point = |context| crate::controls::Point {
        level: Level::Loader,
        context,
        local: None,
        experiment: &Value::Null,
    };
    if !controls.is_empty() {
        if let Err(message) = controls
            .before(point(&context), &lookup, &empty, &empty)
            .await
        {
            log::debug!("a loader control interrupted loading: {message}");
        }
    }
    let loaded = source::load_source(source, settings, verify_tls).await?;
    let mut experiment = loaded.loaded.value.clone();
    if !controls.is_empty() {
        match controls
            .after(point(&context), &experiment, &lookup, &empty, &empty)
            .await
        {
            Ok(changes) => {
                if let Some(changed) = changes.state {
                    experiment = changed;
                }
            }
            Err(message) => log::debug!("a loader control interrupted loading: {message}"),
        }
    }
    Ok((loaded, experiment))
}

fn has_global_controls(settings: &Value) -> bool {
    settings
        .get("controls")
        .and_then(Value::as_object)
        .is_some_and(|c| !c.is_empty())
}

/// Validates with the reference's log lines, and points at the offending line on failure.
/// `unavailable` says why non-native Python modules could not be looked up, if they could not.
///
/// Once the reference's checks pass, the keys the reference would ignore
/// ([`experiment::keys`]) are logged at WARNING, each followed by a line with its place
/// (`  => at experiment.yaml:3:1 (steady-state-hypotesis)`), before `Experiment looks
/// valid`; under [`Strictness::Strict`] the first one is the validation error instead.
pub fn check(
    source: &Source,
    experiment: &Value,
    catalog: &dyn FunctionCatalog,
    unavailable: Option<&str>,
    overrides: &Overrides,
    strictness: Strictness,
) -> Result<Validated, ValidationError> {
    log::info!("Validating the experiment's syntax");
    let place = |path: &str| source::locate(source, path).unwrap_or_else(|| source.origin.clone());
    let checked = experiment::validate::validate_resolved(experiment, catalog, overrides).and_then(
        |validated| {
            for w in &validated.warnings {
                log::warn!("{}", w.message);
            }
            let unknown = experiment::keys::unknown_keys(experiment);
            if let (Strictness::Strict, Some(first)) = (strictness, unknown.first()) {
                return Err(ValidationError {
                    message: first.error_message(),
                    path: Some(first.path.clone()),
                });
            }
            for key in &unknown {
                log::warn!("{}", key.message());
                log::warn!("  => at {} ({})", place(&key.path), key.path);
            }
            Ok(validated)
        },
    );
    match checked {
        Ok(validated) => {
            log::info!("Experiment looks valid");
            Ok(validated)
        }
        Err(e) => {
            log::error!("{}", e.message);
            if let Some(path) = &e.path {
                log::error!("  => at {} ({path})", place(path));
            }
            if let Some(why) = unavailable {
                if e.message.starts_with("could not find Python module") {
                    log::error!("  => {why}");
                }
            }
            Err(e)
        }
    }
}

/// Whether the keys Chaos Toolkit ignores ([`experiment::keys`]) only warn or fail
/// validation, after every source had its say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Logged at WARNING with their place and a suggestion (the default).
    Warn,
    /// The first one is a validation error (exit 1, as any invalid experiment).
    Strict,
}

impl Strictness {
    /// Precedence, lowest first: `Warn`, the settings' `runtime.validation.strict` (a
    /// boolean; anything else is ignored with a warning), the command line (`--strict` is
    /// `Some(true)`, `--no-strict` `Some(false)`).
    pub fn resolve(flag: Option<bool>, settings: &Value) -> Self {
        let from_settings = match crate::settings::runtime_strict(settings) {
            Ok(value) => value,
            Err(written) => {
                log::warn!(
                    "settings: runtime.validation.strict must be true or false, not '{written}': ignored"
                );
                None
            }
        };
        match flag.or(from_settings) {
            Some(true) => Strictness::Strict,
            _ => Strictness::Warn,
        }
    }
}

/// The hypothesis and rollback strategies, by name, after every source had its say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategies {
    pub hypothesis: String,
    pub rollbacks: String,
}

impl Strategies {
    /// Precedence, lowest first: `default`, the settings' `runtime`, the experiment's
    /// `runtime`, the command line. As in the reference, a non-empty experiment `runtime`
    /// sets both strategies (each falling back to `default`), so it also resets a rollback
    /// strategy that came from the settings.
    pub fn resolve(
        hypothesis_flag: Option<&str>,
        rollback_flag: Option<&str>,
        settings: &Value,
        experiment: &Value,
    ) -> Self {
        let from_settings = |section| crate::settings::runtime_strategy(settings, section);
        let mut hypothesis = from_settings("hypothesis").unwrap_or_else(|| "default".into());
        let mut rollbacks = from_settings("rollbacks").unwrap_or_else(|| "default".into());
        if let Some(runtime) = experiment
            .get("runtime")
            .filter(|r| r.as_object().is_some_and(|m| !m.is_empty()))
        {
            let pick = |section: &str| {
                runtime
                    .get(section)
                    .and_then(|s| s.get("strategy"))
                    .map(experiment::pyrepr::py_str)
                    .unwrap_or_else(|| "default".into())
            };
            hypothesis = pick("hypothesis");
            rollbacks = pick("rollbacks");
        }
        if let Some(flag) = hypothesis_flag {
            hypothesis = flag.to_string();
        }
        if let Some(flag) = rollback_flag {
            rollbacks = flag.to_string();
        }
        Self {
            hypothesis,
            rollbacks,
        }
    }

    /// The reference records the resolved strategies in the settings handed to controls.
    fn record_in(&self, settings: &mut Value) {
        if let Some(runtime) = section(settings, "runtime") {
            runtime.insert(
                "hypothesis".into(),
                serde_json::json!({"strategy": self.hypothesis}),
            );
            runtime.insert(
                "rollbacks".into(),
                serde_json::json!({"strategy": self.rollbacks}),
            );
        }
    }
}

/// The settings' mapping under `key`, created when absent (`None` when the settings or the
/// key are not mappings).
fn section<'a>(settings: &'a mut Value, key: &str) -> Option<&'a mut experiment::Map> {
    settings
        .as_object_mut()?
        .entry(key)
        .or_insert_with(|| Value::Object(Default::default()))
        .as_object_mut()
}

/// `--control-file`: each file maps control names to definitions, like the settings'
/// `controls`; they join the global controls (a later file wins on a name).
fn add_control_files(settings: &mut Value, files: &[PathBuf]) -> Result<(), StartError> {
    for file in files {
        let origin = file.display().to_string();
        let error = |message: String| StartError::ControlFile {
            origin: origin.clone(),
            message,
        };
        let bytes = experiment::load::read_document(file, experiment::load::MAX_DOCUMENT_BYTES)
            .map_err(|e| error(format!("cannot read the control file: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            error(format!(
                "cannot read the control file: it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let format = experiment::load::format_from_path(&origin).map_err(|e| error(e.message))?;
        let loaded = experiment::load::parse(&text, format, &origin)
            .map_err(|e| StartError::ControlFileSyntax(e.to_string()))?;
        let Value::Object(controls) = loaded.value else {
            return Err(error(
                "a control file must map control names to their definitions".into(),
            ));
        };
        if let Some(global) = section(settings, "controls") {
            global.extend(controls);
        }
    }
    Ok(())
}

/// Keeps the journal file: checks before the run that it can be written, brings it up to
/// date as the run goes (after each activity starts and ends, and after each hypothesis),
/// and writes the final journal at the end, each time atomically (a temporary file renamed
/// over it). A kill at any moment leaves a whole journal of what ran so far: while the run
/// is going on its `status` is `null` and it has no `end` nor `duration`, as the
/// reference's journal holds while it runs, and an activity still running has neither
/// `status` nor `end`. Indented by two spaces with non-ASCII kept, like the reference's.
///
/// A device or a pipe (`--journal-path /dev/stdout`) gets the final journal only, written
/// in place.
///
/// The updates are written by a thread of their own, which always writes the newest state:
/// the run never waits for the disk, and when activities end faster than the journal can
/// be written, the states in between are skipped rather than queued.
pub struct JournalFile {
    path: PathBuf,
    shared: Arc<PartialShared>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// What the run's thread and the writer thread share.
#[derive(Default)]
struct PartialShared {
    partial: Mutex<Partial>,
    changed: std::sync::Condvar,
}

/// The journal as the run's events tell it so far.
#[derive(Default)]
struct Partial {
    journal: Option<Journal>,
    /// The hypothesis being run, and its probes so far.
    hypothesis: Option<(HypothesisPhase, Vec<Record>)>,
    /// Changed since the writer last wrote it.
    dirty: bool,
    /// The run is over: the writer stops.
    closed: bool,
}

impl JournalFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            shared: Arc::default(),
            writer: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn update(&self, change: impl FnOnce(&mut Partial)) {
        let mut partial = self.shared.lock();
        change(&mut partial);
        partial.dirty = true;
        self.shared.changed.notify_one();
    }

    fn start_writer(&self) {
        if journal::is_stream(&self.path) {
            // `/dev/stdout`, a pipe: the journal is written once, at the end.
            return;
        }
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.is_some() {
            return;
        }
        let shared = self.shared.clone();
        let path = self.path.clone();
        let spawned = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || shared.write_updates(&path));
        match spawned {
            Ok(handle) => *writer = Some(handle),
            // The final journal is still written; only the updates are lost.
            Err(e) => log::warn!("the journal will only be written at the end: {e}"),
        }
    }

    /// Stops the writer thread, once it has finished the write it is doing.
    fn stop_writer(&self) {
        {
            let mut partial = self.shared.lock();
            partial.closed = true;
            self.shared.changed.notify_one();
        }
        let handle = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = handle {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

impl Drop for JournalFile {
    fn drop(&mut self) {
        let mut partial = self.shared.lock();
        partial.closed = true;
        self.shared.changed.notify_one();
    }
}

/// The shortest time between two updates of the journal file during a run. A SIGKILL
/// loses at most what changed in the last interval; the final journal is always whole.
const UPDATE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);

impl PartialShared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Partial> {
        self.partial.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer thread: writes the newest state each time it changed, until closed.
    fn write_updates(&self, path: &Path) {
        let mut warned = false;
        let mut last_write: Option<std::time::Instant> = None;
        loop {
            // At most one write per UPDATE_INTERVAL: a run of many quick activities would
            // otherwise spend its time rewriting the journal (each write holds the whole
            // journal). What changed meanwhile is in the next write. Parked rather than
            // waiting on the condition, so the updates do not wake the thread each time;
            // `stop_writer` unparks it.
            if let Some(remaining) =
                last_write.and_then(|at| UPDATE_INTERVAL.checked_sub(at.elapsed()))
            {
                if !self.lock().closed {
                    std::thread::park_timeout(remaining);
                }
            }
            let json = {
                let mut partial = self.lock();
                while !partial.dirty && !partial.closed {
                    partial = self
                        .changed
                        .wait(partial)
                        .unwrap_or_else(|e| e.into_inner());
                }
                if partial.closed {
                    return;
                }
                partial.dirty = false;
                partial.to_json()
            };
            let Some(json) = json else { continue };
            last_write = Some(std::time::Instant::now());
            let written = journal::value_to_string_pretty(&json).and_then(|text| {
                journal::write_atomically(
                    path,
                    text.as_bytes(),
                    journal::Durability { sync: false },
                )
                .map_err(|source| journal::JournalError::Io {
                    file: Some(path.to_path_buf()),
                    source,
                })
            });
            if let Err(e) = written {
                if !warned {
                    warned = true;
                    log::warn!(
                        "cannot bring the journal '{}' up to date: {e}",
                        path.display()
                    );
                }
            }
        }
    }
}

impl Partial {
    fn to_json(&self) -> Option<Value> {
        let journal = self.journal.as_ref()?;
        let mut json = journal.to_json();
        if let Some((phase, probes)) = &self.hypothesis {
            let state = HypothesisState {
                met: None,
                probes: probes.clone(),
            }
            .to_json();
            if let Some(states) = json.get_mut("steady_states") {
                match phase {
                    HypothesisPhase::Before => states["before"] = state,
                    HypothesisPhase::During(_) => {
                        if let Some(during) = states["during"].as_array_mut() {
                            during.push(state);
                        }
                    }
                    HypothesisPhase::After => states["after"] = state,
                }
            }
        }
        Some(json)
    }

    fn records(&mut self, phase: ActivityPhase) -> Option<&mut Vec<Record>> {
        match phase {
            ActivityPhase::Hypothesis => self.hypothesis.as_mut().map(|(_, probes)| probes),
            ActivityPhase::Method => self.journal.as_mut().map(|j| &mut j.run),
            ActivityPhase::Rollback => self.journal.as_mut().map(|j| &mut j.rollbacks),
            // A control's own probes (safeguards) are not the experiment's activities.
            ActivityPhase::Control => None,
        }
    }
}

impl Subscriber for JournalFile {
    fn ready(&self) -> Result<(), NotReady> {
        journal::check_writable(&self.path).map_err(|e| {
            NotReady(
                format!(
                    "cannot write the journal to '{}': {e} (choose another --journal-path)",
                    self.path.display()
                )
                .into(),
            )
        })
    }

    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            match event {
                RunEvent::ExperimentStarted { experiment, .. } => {
                    self.start_writer();
                    self.update(|p| p.journal = Some(Journal::new(experiment.clone())));
                }
                RunEvent::HypothesisStarted { phase } => {
                    self.update(|p| p.hypothesis = Some((phase, Vec::new())));
                }
                RunEvent::StartFailed { .. } => self.stop_writer(),
                RunEvent::HypothesisCompleted { phase, state } => self.update(|p| {
                    p.hypothesis = None;
                    if let Some(journal) = p.journal.as_mut() {
                        match phase {
                            HypothesisPhase::Before => journal.before = Some(state.clone()),
                            HypothesisPhase::During(_) => journal.during.push(state.clone()),
                            HypothesisPhase::After => journal.after = Some(state.clone()),
                        }
                    }
                }),
                RunEvent::ActivityStarted { phase, activity } => self.update(|p| {
                    if let Some(records) = p.records(phase) {
                        records.push(Record::started(activity.clone()));
                    }
                }),
                RunEvent::ActivityCompleted { phase, record } => self.update(|p| {
                    if let Some(records) = p.records(phase) {
                        // The record of the same activity that is still running (background
                        // activities end in any order), else a new one.
                        let running = records.iter_mut().find(|r| {
                            r.status.is_none() && r.end.is_none() && r.activity == record.activity
                        });
                        match running {
                            Some(slot) => *slot = record.clone(),
                            None => records.push(record.clone()),
                        }
                    }
                }),
                _ => {}
            }
        })
    }

    fn persist(&self, json: &Value) -> Result<(), NotReady> {
        // No update may land after the final journal.
        self.stop_writer();
        write_journal(&self.path, json).map_err(|e| {
            NotReady(format!("cannot write the journal to '{}': {e}", self.path.display()).into())
        })
    }
}

/// Through the typed journal crate, which checks the shape and writes floats the way
/// Python's `json.dump` does (`7e-06`, not `7e-6`).
pub(crate) fn write_journal(path: &Path, journal: &Value) -> Result<(), journal::JournalError> {
    let typed = journal::from_value(journal.clone())?;
    journal::write_file(path, &typed)
}

/// Keeps the final journal in a [`providers::journal_store::JournalStore`] (a ConfigMap:
/// `chaos run --journal-configmap`), beside the journal file. The journal is the same text
/// the file gets; a store that fails makes the exit code 1 with its message, as a journal
/// file that cannot be written does.
pub struct JournalStoreSubscriber {
    store: Arc<dyn providers::journal_store::JournalStore>,
}

impl JournalStoreSubscriber {
    pub fn new(store: Arc<dyn providers::journal_store::JournalStore>) -> Self {
        Self { store }
    }
}

impl Subscriber for JournalStoreSubscriber {
    fn on_event<'a>(&'a self, _event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn persist(&self, json: &Value) -> Result<(), NotReady> {
        let fail = |e: String| {
            NotReady(format!("cannot keep the journal in {}: {e}", self.store.describe()).into())
        };
        let typed = journal::from_value(json.clone()).map_err(|e| fail(e.to_string()))?;
        let text = journal::to_string_pretty(&typed).map_err(|e| fail(e.to_string()))?;
        // `persist` is synchronous and runs on the run's runtime: the store's I/O gets a
        // thread and a runtime of its own, so it never blocks a runtime worker it needs.
        let store = self.store.clone();
        let result = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| providers::journal_store::StoreError(e.to_string()))?;
                    runtime.block_on(store.store(&text))
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(providers::journal_store::StoreError(
                        "the writer thread panicked".into(),
                    ))
                })
        });
        result.map_err(|e| fail(e.0))
    }
}

/// The settings' notification channels: `run-started`, then `run-completed` or
/// `run-failed`, and `run-deviated` in addition when the run deviated; `validate-failed`
/// (with the experiment and the error) when the experiment is invalid, where the reference
/// sends nothing more.
pub struct Notifications {
    settings: Value,
    registry: Arc<Registry>,
    /// The experiment `run-started` carried, for `validate-failed`.
    experiment: std::sync::Mutex<Option<Value>>,
    /// The settings declare at least one channel.
    has_channels: bool,
}

impl Notifications {
    /// The channels of `settings`; `plugin` channels are answered by the registry that
    /// `registry_for` builds for the settings alone.
    pub fn new(settings: Value, registry_for: &RegistryFor<'_>) -> Self {
        let has_channels = settings
            .get("notifications")
            .and_then(Value::as_array)
            .is_some_and(|channels| !channels.is_empty());
        Self {
            settings,
            registry: registry_for(&Value::Null),
            experiment: std::sync::Mutex::new(None),
            has_channels,
        }
    }
}

impl Subscriber for Notifications {
    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let send = |name: &'static str, payload: &'a Value| {
                notify(
                    &self.settings,
                    &self.registry,
                    Phase::Run,
                    name,
                    payload,
                    None,
                )
            };
            match event {
                RunEvent::Started { experiment } => {
                    // Kept for `validate-failed`, only when a channel may want it.
                    if self.has_channels {
                        if let Ok(mut kept) = self.experiment.lock() {
                            *kept = Some(experiment.clone());
                        }
                    }
                    send("run-started", experiment).await
                }
                RunEvent::Invalid { error } => {
                    let experiment = self.experiment.lock().ok().and_then(|mut e| e.take());
                    notify(
                        &self.settings,
                        &self.registry,
                        Phase::Validate,
                        "validate-failed",
                        &experiment.unwrap_or(Value::Null),
                        Some(&error.message),
                    )
                    .await
                }
                RunEvent::Finished { journal, json, .. } => {
                    let completed =
                        journal.status.unwrap_or(Status::Completed) == Status::Completed;
                    if completed {
                        send("run-completed", json).await;
                    } else {
                        send("run-failed", json).await;
                    }
                    if journal.deviated {
                        send("run-deviated", json).await;
                    }
                }
                _ => {}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(
        h: Option<&str>,
        r: Option<&str>,
        settings: Value,
        experiment: Value,
    ) -> (String, String) {
        let s = Strategies::resolve(h, r, &settings, &experiment);
        (s.hypothesis, s.rollbacks)
    }

    fn pair(h: &str, r: &str) -> (String, String) {
        (h.to_string(), r.to_string())
    }

    #[test]
    fn nothing_said_means_default() {
        assert_eq!(
            resolve(None, None, json!({}), json!({})),
            pair("default", "default")
        );
    }

    #[test]
    fn settings_override_the_default() {
        let settings = json!({"runtime": {"hypothesis": {"strategy": "skip"}, "rollbacks": {"strategy": "always"}}});
        assert_eq!(
            resolve(None, None, settings, json!({})),
            pair("skip", "always")
        );
    }

    #[test]
    fn the_experiment_runtime_overrides_the_settings_and_resets_both() {
        let settings = json!({"runtime": {"rollbacks": {"strategy": "always"}}});
        let experiment = json!({"runtime": {"hypothesis": {"strategy": "continuously"}}});
        // The experiment names no rollback strategy: it falls back to default, not to the settings.
        assert_eq!(
            resolve(None, None, settings, experiment),
            pair("continuously", "default")
        );
    }

    #[test]
    fn an_empty_experiment_runtime_leaves_the_settings_alone() {
        let settings = json!({"runtime": {"rollbacks": {"strategy": "never"}}});
        assert_eq!(
            resolve(None, None, settings, json!({"runtime": {}})),
            pair("default", "never")
        );
    }

    #[test]
    fn the_command_line_overrides_everything() {
        let settings = json!({"runtime": {"hypothesis": {"strategy": "skip"}, "rollbacks": {"strategy": "never"}}});
        let experiment = json!({"runtime": {"hypothesis": {"strategy": "before-method-only"}, "rollbacks": {"strategy": "deviated"}}});
        assert_eq!(
            resolve(
                Some("after-method-only"),
                Some("always"),
                settings.clone(),
                experiment.clone()
            ),
            pair("after-method-only", "always")
        );
        // Each flag overrides only its own strategy.
        assert_eq!(
            resolve(None, Some("always"), settings, experiment),
            pair("before-method-only", "always")
        );
    }

    #[test]
    fn non_string_experiment_strategies_print_as_python_would() {
        let experiment = json!({"runtime": {"rollbacks": {"strategy": null}}});
        assert_eq!(
            resolve(None, None, json!({}), experiment),
            pair("default", "None")
        );
    }

    #[test]
    fn strictness_is_warn_when_nothing_is_said() {
        assert_eq!(Strictness::resolve(None, &json!({})), Strictness::Warn);
        assert_eq!(
            Strictness::resolve(None, &json!({"runtime": {"validation": {"strict": null}}})),
            Strictness::Warn
        );
    }

    #[test]
    fn strictness_from_the_settings_overrides_the_default() {
        let on = json!({"runtime": {"validation": {"strict": true}}});
        let off = json!({"runtime": {"validation": {"strict": false}}});
        assert_eq!(Strictness::resolve(None, &on), Strictness::Strict);
        assert_eq!(Strictness::resolve(None, &off), Strictness::Warn);
    }

    #[test]
    fn a_strictness_setting_that_is_not_a_boolean_is_ignored() {
        for written in [json!("yes"), json!(1), json!({"a": true})] {
            let settings = json!({"runtime": {"validation": {"strict": written}}});
            assert_eq!(Strictness::resolve(None, &settings), Strictness::Warn);
        }
        assert_eq!(
            crate::settings::runtime_strict(&json!({"runtime": {"validation": {"strict": "yes"}}})),
            Err("yes".to_string())
        );
    }

    #[test]
    fn the_strict_flags_override_the_settings() {
        let on = json!({"runtime": {"validation": {"strict": true}}});
        let off = json!({"runtime": {"validation": {"strict": false}}});
        assert_eq!(Strictness::resolve(Some(true), &off), Strictness::Strict);
        assert_eq!(
            Strictness::resolve(Some(true), &json!({})),
            Strictness::Strict
        );
        assert_eq!(Strictness::resolve(Some(false), &on), Strictness::Warn);
    }

    #[test]
    fn resolved_strategies_are_recorded_in_the_settings() {
        let mut settings = json!({"runtime": {"other": 1}});
        Strategies {
            hypothesis: "skip".into(),
            rollbacks: "never".into(),
        }
        .record_in(&mut settings);
        assert_eq!(
            settings,
            json!({"runtime": {"other": 1, "hypothesis": {"strategy": "skip"}, "rollbacks": {"strategy": "never"}}})
        );
    }

    #[test]
    fn control_files_join_the_global_controls_and_bad_ones_name_the_file() {
        let dir =
            std::env::temp_dir().join(format!("shakedown-control-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("c.yaml");
        std::fs::write(&good, "c:\n  provider: {type: python, module: m}\n").expect("write");
        let list = dir.join("l.yaml");
        std::fs::write(&list, "- a\n").expect("write");
        let mut settings = json!({"controls": {"g": {}}});
        add_control_files(&mut settings, std::slice::from_ref(&good)).expect("loads");
        assert_eq!(settings["controls"].as_object().map(|c| c.len()), Some(2));
        let err = add_control_files(&mut settings, std::slice::from_ref(&list))
            .expect_err("a list is refused");
        assert_eq!(err.kind(), "control-file");
        assert!(
            err.to_string().starts_with(&list.display().to_string()),
            "{err}"
        );
        let missing = dir.join("missing.yaml");
        let err = add_control_files(&mut settings, &[missing]).expect_err("missing");
        assert!(
            err.to_string().contains("cannot read the control file"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
