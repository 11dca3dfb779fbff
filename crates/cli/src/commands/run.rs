//! `chaos run SOURCE`: load, validate, resolve strategies, run, write the journal, notify.

use super::runtime;
use crate::args::{DryArg, HypothesisArg, RollbackArg, RunArgs};
use crate::settings;
use crate::source;
use engine::interrupt::{self, Interrupter};
use engine::notifications::{notify, Phase};
use engine::run::{run_experiment, RunOptions};
use engine::strategy::{Dry, HypothesisStrategy, RollbackStrategy};
use experiment::vars::{self, Overrides, VarFile};
use experiment::Value;
use providers::bridge::{Bridge, BridgedCatalog};
use std::path::PathBuf;
use std::sync::Arc;

pub fn run(args: RunArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    if let Some(missing) = args.control_files.iter().find(|p| !p.exists()) {
        eprintln!(
            "Error: Invalid value for '--control-file': Path '{}' does not exist.",
            missing.display()
        );
        return 2;
    }
    let settings = settings::load(&settings_path);
    // .env files change the process environment, so they are read before any thread starts.
    let overrides = match overrides(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let Ok(rt) = runtime() else { return 1 };
    rt.block_on(run_async(args, settings, overrides, bridge))
}

/// `--var-file` then `--var`, as the reference merges them. Bad `--var` syntax is a usage
/// error (exit 2); an unreadable var file is logged and skipped.
fn overrides(args: &RunArgs) -> Result<Overrides, u8> {
    let mut files = Vec::new();
    for path in &args.var_files {
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
    for spec in &args.vars {
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
    mut settings: Value,
    overrides: Overrides,
    bridge: Arc<Bridge>,
) -> u8 {
    let source = match source::load_source(&args.source, &settings, !args.no_verify_tls).await {
        Ok(s) => s,
        Err(message) => {
            log::error!("{message}");
            return 1;
        }
    };
    let mut experiment = source.loaded.value.clone();
    let registry = crate::drivers::registry_for(&experiment, &settings, bridge);
    notify(
        &settings,
        &registry,
        Phase::Run,
        "run-started",
        &experiment,
        None,
    )
    .await;

    if !args.no_validation {
        let catalog = BridgedCatalog::resolve(&registry, registry.bridge(), &experiment).await;
        if super::validate::check(&source, &catalog, &overrides).is_err() {
            return 1;
        }
    }
    let dry = args.dry.map(dry_mode);
    if let Some(map) = experiment.as_object_mut() {
        map.insert(
            "dry".into(),
            dry.map(|d| Value::String(d.name().into()))
                .unwrap_or(Value::Null),
        );
    }

    let (hypothesis_name, rollback_name) = strategies(&args, &settings, &experiment);
    let Some(hypothesis_strategy) = HypothesisStrategy::parse(&hypothesis_name) else {
        log::error!(
            "Unknown hypothesis strategy '{hypothesis_name}': use default, before-method-only, after-method-only, during-method-only, continuously or skip"
        );
        return 1;
    };
    if hypothesis_name == "continously" {
        log::warn!(
            "\nThe \"--hypothesis-strategy=continously\" command is depreciating and will be removed in a future version\nInstead, please use \"--hypothesis-strategy=continuously\""
        );
    }
    record_runtime(&mut settings, &hypothesis_name, &rollback_name);
    if let Err(message) = add_control_files(&mut settings, &args.control_files) {
        log::error!("{message}");
        return 1;
    }

    let interrupter = Arc::new(Interrupter::new());
    if let Err(e) = interrupt::install(interrupter.clone()) {
        log::error!("cannot install signal handlers: {e}");
        return 1;
    }
    let options = RunOptions {
        dry,
        hypothesis_strategy,
        rollback_strategy: RollbackStrategy::parse(&rollback_name),
        hypothesis_frequency: args.hypothesis_frequency,
        fail_fast: args.fail_fast,
        overrides,
    };
    let journal = match run_experiment(
        experiment,
        options,
        registry.clone(),
        &settings,
        interrupter,
    )
    .await
    {
        Ok(j) => j,
        Err(e) => {
            log::error!("{e}");
            return 1;
        }
    };
    let json = journal.to_json();
    if let Err(e) = write_journal(&args.journal_path, &json) {
        log::error!(
            "cannot write the journal to '{}': {e}",
            args.journal_path.display()
        );
    }
    let status = journal.status.map(|s| s.as_str()).unwrap_or("completed");
    if status == "completed" {
        notify(
            &settings,
            &registry,
            Phase::Run,
            "run-completed",
            &json,
            None,
        )
        .await;
    } else {
        notify(&settings, &registry, Phase::Run, "run-failed", &json, None).await;
    }
    if journal.deviated {
        notify(
            &settings,
            &registry,
            Phase::Run,
            "run-deviated",
            &json,
            None,
        )
        .await;
    }
    u8::from(status != "completed" || journal.deviated)
}

fn dry_mode(d: DryArg) -> Dry {
    match d {
        DryArg::Probes => Dry::Probes,
        DryArg::Actions => Dry::Actions,
        DryArg::Activities => Dry::Activities,
        DryArg::Pause => Dry::Pause,
    }
}

/// Strategy precedence: default < settings < experiment `runtime` < command line. As in the
/// reference, a non-empty experiment `runtime` sets both strategies (each falling back to
/// `default`), so it also resets a rollback strategy that came from the settings.
fn strategies(args: &RunArgs, settings: &Value, experiment: &Value) -> (String, String) {
    let mut hypothesis =
        settings::runtime_strategy(settings, "hypothesis").unwrap_or_else(|| "default".into());
    let mut rollbacks =
        settings::runtime_strategy(settings, "rollbacks").unwrap_or_else(|| "default".into());
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
    if let Some(h) = args.hypothesis_strategy {
        hypothesis = match h {
            HypothesisArg::Default => "default",
            HypothesisArg::BeforeMethodOnly => "before-method-only",
            HypothesisArg::AfterMethodOnly => "after-method-only",
            HypothesisArg::DuringMethodOnly => "during-method-only",
            HypothesisArg::Continuously => "continuously",
            HypothesisArg::Continously => "continously",
        }
        .into();
    }
    if let Some(r) = args.rollback_strategy {
        rollbacks = match r {
            RollbackArg::Default => "default",
            RollbackArg::Always => "always",
            RollbackArg::Never => "never",
            RollbackArg::Deviated => "deviated",
        }
        .into();
    }
    (hypothesis, rollbacks)
}

/// The reference records the resolved strategies in the settings handed to controls.
fn record_runtime(settings: &mut Value, hypothesis: &str, rollbacks: &str) {
    let Some(map) = settings.as_object_mut() else {
        return;
    };
    let runtime = map
        .entry("runtime")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(runtime) = runtime.as_object_mut() {
        runtime.insert(
            "hypothesis".into(),
            serde_json::json!({"strategy": hypothesis}),
        );
        runtime.insert(
            "rollbacks".into(),
            serde_json::json!({"strategy": rollbacks}),
        );
    }
}

/// `--control-file`: each file maps control names to definitions, like the settings'
/// `controls`; they join the global controls (a later file wins on a name).
fn add_control_files(settings: &mut Value, files: &[PathBuf]) -> Result<(), String> {
    for file in files {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("{origin}: cannot read the control file: {e}"))?;
        let format = experiment::load::format_from_path(&origin)
            .map_err(|e| format!("{origin}: {}", e.message))?;
        let loaded = experiment::load::parse(&text, format, &origin).map_err(|e| e.to_string())?;
        let Value::Object(controls) = loaded.value else {
            return Err(format!(
                "{origin}: a control file must map control names to their definitions"
            ));
        };
        let Some(settings) = settings.as_object_mut() else {
            continue;
        };
        let global = settings
            .entry("controls")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(global) = global.as_object_mut() {
            global.extend(controls);
        }
    }
    Ok(())
}

/// Writes the journal with two-space indentation and non-ASCII kept, like the reference.
fn write_journal(path: &std::path::Path, journal: &Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(journal).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
