//! `chaos settings show|get|set|remove`, the reference's `settings` group. Reading the file,
//! addressing an entry and writing the file back live in [`engine::settings`], the
//! reference's YAML and JSON text in [`experiment::pyyaml`].

use crate::args::{GetFormat, SettingsArgs, SettingsCommand, ShowFormat};
use engine::settings::{self, Located};
use experiment::pyjson::{dumps, Style};
use experiment::pyyaml::to_yaml;
use experiment::Value;
use std::io::Write;
use std::path::Path;

pub fn settings(args: SettingsArgs, path: &Path) -> u8 {
    let loaded = match settings::read_file(path) {
        Ok(loaded) => loaded,
        Err(e) => {
            log::error!("{e}");
            return 1;
        }
    };
    // Like the reference: a malformed file is logged, then read as `{}`.
    if let Some(e) = &loaded.parse_error {
        log::error!("{e}");
    }
    let mut doc = loaded.settings;
    match args.command {
        SettingsCommand::Show { format } => print(&match format {
            ShowFormat::Json => dumps(&doc, Style::PYTHON.indent(2)),
            ShowFormat::Yaml => to_yaml(&doc),
        }),
        SettingsCommand::Get { format, key } => {
            let Some(found) = locate(&doc, &key) else {
                return 1;
            };
            print(&match format {
                GetFormat::String => experiment::pyrepr::py_str(&found.entry),
                GetFormat::Json => dumps(&found.entry, Style::PYTHON.indent(2)),
                GetFormat::Yaml => to_yaml(&found.entry),
            })
        }
        SettingsCommand::Set { key, value } => {
            let Some(found) = locate(&doc, &key) else {
                return 1;
            };
            let value = match settings::parse_value(&value) {
                Ok(v) => v,
                Err(e) => {
                    log::error!("{e}");
                    return 1;
                }
            };
            let changed = settings::set_entry(&mut doc, &found.steps, value);
            save(changed, &doc, path)
        }
        SettingsCommand::Remove { key } => {
            let Some(found) = locate(&doc, &key) else {
                return 1;
            };
            let changed = settings::remove_entry(&mut doc, &found.steps);
            save(changed, &doc, path)
        }
    }
}

fn locate(doc: &Value, key: &str) -> Option<Located> {
    settings::locate(doc, key)
        .map_err(|e| log::error!("{e}"))
        .ok()
}

fn save(changed: Result<(), settings::EditError>, doc: &Value, path: &Path) -> u8 {
    if let Err(e) = changed {
        log::error!("{e}");
        return 1;
    }
    match settings::write_atomically(path, &to_yaml(doc)) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("cannot write the settings file {}: {e}", path.display());
            1
        }
    }
}

/// Prints `text` and a newline, as `click.echo`; a closed stdout is an error, not a panic.
fn print(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => 0,
        // A reader that went away (`| head`) needs no explanation.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 1,
        Err(e) => {
            log::error!("cannot write to stdout: {e}");
            1
        }
    }
}
