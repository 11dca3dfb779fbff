//! `chaos validate SOURCE`.

use super::runtime;
use crate::args::ValidateArgs;
use crate::source::{self, Source};
use engine::notifications::{notify, Phase};
use experiment::validate::ValidationError;
use experiment::vars::Overrides;
use experiment::Value;
use providers::bridge::{Bridge, BridgedCatalog};
use std::path::PathBuf;
use std::sync::Arc;

pub fn validate(args: ValidateArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    let settings = crate::settings::load(&settings_path);
    let Ok(rt) = runtime() else { return 1 };
    rt.block_on(async {
        let source = match source::load_source(&args.source, &settings, !args.no_verify_tls).await {
            Ok(s) => s,
            Err(message) => {
                log::error!("{message}");
                return 1;
            }
        };
        let experiment = source.loaded.value.clone();
        let registry = crate::drivers::registry_for(&experiment, &settings, bridge);
        notify(
            &settings,
            &registry,
            Phase::Validate,
            "validate-started",
            &experiment,
            None,
        )
        .await;
        let catalog = BridgedCatalog::resolve(&registry, registry.bridge(), &experiment).await;
        match check(&source, &catalog, &Overrides::default()) {
            Ok(()) => {
                log::info!("experiment syntax and semantic look valid");
                notify(
                    &settings,
                    &registry,
                    Phase::Validate,
                    "validate-completed",
                    &experiment,
                    None,
                )
                .await;
                0
            }
            Err(e) => {
                notify(
                    &settings,
                    &registry,
                    Phase::Validate,
                    "validate-failed",
                    &experiment,
                    Some(&e.message),
                )
                .await;
                1
            }
        }
    })
}

/// Validates with the reference's log lines, and points at the offending line on failure.
pub fn check(
    source: &Source,
    catalog: &BridgedCatalog<'_>,
    overrides: &Overrides,
) -> Result<(), ValidationError> {
    log::info!("Validating the experiment's syntax");
    let experiment: &Value = &source.loaded.value;
    match experiment::validate::validate(experiment, catalog, overrides) {
        Ok(warnings) => {
            for w in warnings {
                log::warn!("{}", w.message);
            }
            log::info!("Experiment looks valid");
            Ok(())
        }
        Err(e) => {
            log::error!("{}", e.message);
            if let Some(path) = &e.path {
                let place = source::locate(source, path).unwrap_or_else(|| source.origin.clone());
                log::error!("  => at {place} ({path})");
            }
            if let Some(why) = catalog.unavailable() {
                if e.message.starts_with("could not find Python module") {
                    log::error!("  => {why}");
                }
            }
            Err(e)
        }
    }
}
