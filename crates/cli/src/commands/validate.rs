//! `chaos validate SOURCE`: wiring for [`engine::api::validate`].

use super::runtime;
use crate::args::ValidateArgs;
use experiment::Value;
use providers::bridge::Bridge;
use std::path::PathBuf;
use std::sync::Arc;

pub fn validate(args: ValidateArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    let settings = crate::settings::load(&settings_path);
    let Ok(rt) = runtime() else { return 1 };
    let registry_for =
        |document: &Value| crate::drivers::registry_for(document, &settings, bridge.clone());
    rt.block_on(engine::api::validate(
        &args.source,
        &settings,
        !args.no_verify_tls,
        &registry_for,
    ))
}
