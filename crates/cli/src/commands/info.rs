//! `chaos info core|settings|extensions`.

use crate::args::{InfoArgs, InfoTarget};
use experiment::Value;
use providers::bridge::Bridge;
use std::path::Path;
use std::sync::Arc;

pub fn info(args: InfoArgs, settings_path: &Path, bridge: Arc<Bridge>) -> u8 {
    match args.target {
        InfoTarget::Core => {
            println!("{:<20}{:<10}", "NAME", "VERSION");
            println!("{:<20}{:<10}", "CLI", env!("CARGO_PKG_VERSION"));
            println!(
                "{:<20}{:<10}",
                "Core library",
                engine::CHAOSLIB_COMPAT_VERSION
            );
        }
        InfoTarget::Settings => match std::fs::read_to_string(settings_path) {
            Ok(text) => print!("{text}"),
            Err(_) => println!("No settings file found at {}", settings_path.display()),
        },
        InfoTarget::Extensions => {
            let registry = crate::drivers::registry();
            println!(
                "{:<40}{:<10}{:<20}DESCRIPTION",
                "NAME", "VERSION", "LICENSE"
            );
            for package in registry.packages() {
                println!(
                    "{:<40}{:<10}{:<20}native Shakedown driver",
                    package.name, package.version, "Apache-2.0"
                );
            }
            // Extensions installed for the Python bridge, unless a native driver has the name.
            for ext in bridged_extensions(&bridge) {
                let field = |k: &str| ext.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let name = field("name");
                if registry.package(&name).is_some() {
                    continue;
                }
                // chaostoolkit 1.21.4 shows a distribution that declares no licence as
                // `Unknown` (1.19.0 crashes on it).
                let license = Some(field("license"))
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| "Unknown".into());
                println!(
                    "{:<40}{:<10}{:<20}{} (Python)",
                    name,
                    field("version"),
                    license,
                    field("summary")
                );
            }
        }
    }
    0
}

/// The `chaostoolkit-*` distributions the bridge's interpreter has, or none without one.
fn bridged_extensions(bridge: &Bridge) -> Vec<Value> {
    let Ok(rt) = super::runtime() else {
        return Vec::new();
    };
    rt.block_on(async {
        match bridge
            .request("extensions", Default::default(), false)
            .await
        {
            Ok(Value::Array(list)) => list,
            Ok(_) => Vec::new(),
            Err(e) => {
                log::debug!("no Python extensions listed: {e}");
                Vec::new()
            }
        }
    })
}
