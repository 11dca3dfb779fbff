//! The settings file (`~/.chaostoolkit/settings.yaml` or `--settings`).

use experiment::Value;
use std::path::{Path, PathBuf};

/// The default settings path, made absolute like the reference does.
pub fn default_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".chaostoolkit").join("settings.yaml")
}

/// Loads settings; a missing file is `{}`, a malformed one is logged and treated as missing.
pub fn load(path: &Path) -> Value {
    let empty = Value::Object(Default::default());
    let Ok(bytes) = std::fs::read(path) else {
        log::debug!("The settings file '{}' does not exist", path.display());
        return empty;
    };
    let text = String::from_utf8_lossy(&bytes);
    match experiment::yaml::parse_yaml(&text) {
        Ok((Value::Object(map), _)) => Value::Object(map),
        Ok((Value::Null, _)) => empty,
        Ok(_) => {
            log::error!(
                "Failed parsing YAML settings: {}: the settings must be a mapping",
                path.display()
            );
            empty
        }
        Err(e) => {
            let mut e = e;
            e.origin = path.display().to_string();
            log::error!("Failed parsing YAML settings: {e}");
            empty
        }
    }
}

/// `settings.runtime.<section>.strategy`, if set.
pub fn runtime_strategy(settings: &Value, section: &str) -> Option<String> {
    settings
        .get("runtime")?
        .get(section)?
        .get("strategy")?
        .as_str()
        .map(str::to_string)
}
