//! `chaos validate SOURCE`: wiring for [`engine::api::validate_outcome`], and its report
//! with `--output agent`.

use super::runtime;
use crate::args::{OutputArg, ValidateArgs};
use engine::agent::{self, ReportError};
use experiment::Value;
use providers::bridge::Bridge;
use std::path::PathBuf;
use std::sync::Arc;

pub fn validate(args: ValidateArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    let settings = engine::settings::load(&settings_path);
    // In agent mode stdout carries the report only: what anything else prints goes to stderr.
    let mut report = match args.output {
        OutputArg::Text => None,
        OutputArg::Agent => match agent::divert_stdout() {
            Ok(stdout) => Some(stdout),
            Err(e) => {
                log::error!("cannot set stdout aside for the agent report: {e}");
                return 1;
            }
        },
    };
    let Ok(rt) = runtime() else { return 1 };
    let registries = crate::drivers::Registries::new(&settings, bridge);
    let registry_for = |document: &Value| registries.for_document(document);
    let outcome = rt.block_on(engine::api::validate_outcome(
        &args.source,
        &settings,
        !args.no_verify_tls,
        args.strict.flag(),
        &registry_for,
    ));
    if let Some(stdout) = report.as_mut() {
        let error = outcome.error.as_ref().map(ReportError::from_start_error);
        let json = agent::validate_report(&args.source, outcome.title.as_ref(), error.as_ref());
        if let Err(e) = agent::write_report(stdout, &json) {
            log::error!("cannot write the agent report: {e}");
        }
    }
    outcome.exit_code
}
