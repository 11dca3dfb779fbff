//! `chaos run SOURCE`: the command line turned into an [`engine::api::RunRequest`], the
//! events file, the journal file, the notification channels and the agent report as
//! subscribers, and the Run API's exit code.

use super::runtime;
use crate::args::{DryArg, HypothesisArg, OutputArg, RollbackArg, RunArgs};
use engine::agent::{AgentReport, ReportPaths};
use engine::api::{self, JournalFile, Notifications, RunRequest};
use engine::events::Subscriber;
use engine::events_file::EventsFile;
use engine::guardian::Guardian;
use engine::interrupt::Interrupter;
use engine::kill_switch::{self, KillSwitch};
use engine::settings;
use engine::strategy::Dry;
use experiment::vars::{self, Overrides, VarFile};
use experiment::Value;
use providers::bridge::Bridge;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub fn run(args: RunArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    if let Some(missing) = args.control_files.iter().find(|p| !p.exists()) {
        eprintln!(
            "Error: Invalid value for '--control-file': Path '{}' does not exist.",
            missing.display()
        );
        return 2;
    }
    if let Some(message) = args.events_file.as_deref().and_then(unusable_events_file) {
        eprintln!("Error: Invalid value for '--events-file': {message}");
        return 2;
    }
    let settings = settings::load(&settings_path);
    // .env files change the process environment, so they are read before any thread starts.
    let overrides = match overrides(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // In agent mode stdout carries the report only: what anything else prints goes to stderr.
    let report = match args.output {
        OutputArg::Text => None,
        OutputArg::Agent => match engine::agent::divert_stdout() {
            Ok(stdout) => Some(stdout),
            Err(e) => {
                log::error!("cannot set stdout aside for the agent report: {e}");
                return 1;
            }
        },
    };
    let Ok(rt) = runtime() else { return 1 };
    rt.block_on(run_async(args, settings, overrides, bridge, report))
}

/// `--events-file` as the reference's `click.Path(dir_okay=False, writable=True)` checks
/// it: an existing directory or an existing file that cannot be written is a usage error.
/// A file in a missing directory is an error of the run, once the experiment is valid.
fn unusable_events_file(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return Some(format!("File '{}' is a directory.", path.display()));
    }
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `access` only reads the NUL-terminated path.
    let writable = unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0;
    (!writable).then(|| format!("File '{}' is not writable.", path.display()))
}

/// `--var-file` then `--var`, as the reference merges them. Bad `--var` syntax is a usage
/// error (exit 2); an unreadable var file is logged and skipped.
fn overrides(args: &RunArgs) -> Result<Overrides, u8> {
    load_overrides(&args.overrides.vars, &args.overrides.var_files)
}

/// `--var` and `--var-file` values, as `run` and `report` read them (usage errors: 2).
pub(crate) fn load_overrides(vars: &[String], var_files: &[PathBuf]) -> Result<Overrides, u8> {
    let mut files = Vec::new();
    for path in var_files {
        if !path.exists() {
            eprintln!(
                "Error: Invalid value for '--var-file': Path '{}' does not exist.",
                path.display()
            );
            return Err(2);
        }
        match vars::load_var_file(path) {
            Ok(VarFile::Overrides(o)) => files.push(o),
            Ok(VarFile::DotEnv(pairs)) => {
                for (k, v) in pairs {
                    // SAFETY: single-threaded at this point: no runtime or thread exists yet.
                    unsafe { std::env::set_var(k, v) };
                }
            }
            Err(message) => log::error!("{message}"),
        }
    }
    let mut parsed = Vec::new();
    for spec in vars {
        match vars::parse_var(spec) {
            Ok(pair) => parsed.push(pair),
            Err(message) => {
                eprintln!("Error: Invalid value for '--var': {message}");
                return Err(2);
            }
        }
    }
    Ok(vars::merge(files, parsed))
}

async fn run_async(
    args: RunArgs,
    settings: Value,
    overrides: Overrides,
    bridge: Arc<Bridge>,
    report: Option<std::fs::File>,
) -> u8 {
    let kill_switch = match kill_switch(&args, &settings) {
        Ok(switch) => switch,
        Err(code) => return code,
    };
    let python = bridge.python();
    let registries = crate::drivers::Registries::new(&settings, bridge);
    let registry_for = |document: &Value| registries.for_document(document);
    let request = RunRequest {
        source: args.source.clone(),
        settings: settings.clone(),
        overrides,
        hypothesis_strategy: args
            .hypothesis_strategy
            .map(|h| hypothesis_name(h).to_string()),
        rollback_strategy: args.rollback_strategy.map(|r| rollback_name(r).to_string()),
        dry: args.dry.map(dry_mode),
        hypothesis_frequency: args.hypothesis_frequency,
        fail_fast: args.fail_fast,
        validate: !args.no_validation,
        verify_tls: !args.no_verify_tls,
        control_files: args.control_files.clone(),
        strict: args.strict.flag(),
        handle_signals: true,
        kill_switch,
    };
    let mut subscribers: Vec<Arc<dyn Subscriber>> = Vec::new();
    if let Some(path) = &args.events_file {
        subscribers.push(Arc::new(EventsFile::new(path)));
    }
    subscribers.push(Arc::new(JournalFile::new(args.journal_path.clone())));
    if let Some(name) = args.journal_configmap.as_deref().filter(|n| !n.is_empty()) {
        match drivers_k8s::journal_configmap::ConfigMapJournal::parse(name) {
            Ok(store) => {
                subscribers.push(Arc::new(api::JournalStoreSubscriber::new(Arc::new(store))))
            }
            Err(e) => {
                log::error!("{e}");
                return 1;
            }
        }
    }
    subscribers.push(Arc::new(Notifications::new(
        settings.clone(),
        &registry_for,
    )));
    if let Some(stdout) = report {
        let paths = ReportPaths {
            source: args.source.clone(),
            journal_path: args.journal_path.to_string_lossy().into_owned(),
            events_path: args
                .events_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        };
        subscribers.push(Arc::new(AgentReport::new(paths, Box::new(stdout))));
    }
    let interrupter = Arc::new(Interrupter::new());
    // First: the guardian has the run's plan before the journal file exists (it hears
    // that the run is over only after every subscriber persisted the journal).
    subscribers.insert(
        0,
        Arc::new(Guardian::new(
            &args.journal_path,
            python,
            interrupter.clone(),
        )),
    );
    api::run(request, &registry_for, interrupter, subscribers)
        .await
        .exit_code
}

/// The run's kill switch: `--kill-switch`, `CHAOS_KILL_SWITCH`, the settings
/// (`engine::kill_switch::resolve`). One that is not understood stops the run: exit 1.
fn kill_switch(args: &RunArgs, settings: &Value) -> Result<Option<Arc<KillSwitch>>, u8> {
    let env = |key: &str| std::env::var(key).ok();
    let config = kill_switch::resolve(
        args.kill_switch.as_deref(),
        env("CHAOS_KILL_SWITCH").as_deref(),
        env("CHAOS_KILL_SWITCH_UNREADABLE").as_deref(),
        settings,
    )
    .map_err(|e| {
        log::error!("{e}");
        1
    })?;
    let Some(config) = config else {
        return Ok(None);
    };
    let Some(source) = crate::drivers::switch_source(&config.spec) else {
        log::error!(
            "the kill switch {:?} has no source in this build",
            config.spec
        );
        return Err(1);
    };
    Ok(Some(Arc::new(KillSwitch::new(source, config.unreadable))))
}

fn dry_mode(d: DryArg) -> Dry {
    match d {
        DryArg::Probes => Dry::Probes,
        DryArg::Actions => Dry::Actions,
        DryArg::Activities => Dry::Activities,
        DryArg::Pause => Dry::Pause,
    }
}

fn hypothesis_name(h: HypothesisArg) -> &'static str {
    match h {
        HypothesisArg::Default => "default",
        HypothesisArg::BeforeMethodOnly => "before-method-only",
        HypothesisArg::AfterMethodOnly => "after-method-only",
        HypothesisArg::DuringMethodOnly => "during-method-only",
        HypothesisArg::Continuously => "continuously",
        HypothesisArg::Continously => "continously",
    }
}

fn rollback_name(r: RollbackArg) -> &'static str {
    match r {
        RollbackArg::Default => "default",
        RollbackArg::Always => "always",
        RollbackArg::Never => "never",
        RollbackArg::Deviated => "deviated",
    }
}
