//! `chaos info core|settings|extensions`.

use crate::args::{InfoArgs, InfoTarget};
use std::path::Path;

pub fn info(args: InfoArgs, settings_path: &Path) -> u8 {
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
        }
    }
    0
}
