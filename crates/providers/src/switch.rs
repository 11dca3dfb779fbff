//! Kill switch sources: where a run reads whether every experiment must stop.
//!
//! The engine's kill switch (`engine::kill_switch`) asks a [`SwitchSource`] whether the
//! switch is on, twice a second during a run and once before a run starts. A file and an
//! HTTP endpoint are built into the engine; a driver crate adds others (a ConfigMap,
//! `drivers-k8s`) by implementing this trait, so the engine knows no driver by name.

use crate::BoxFuture;

/// Why a switch could not be read. The message names the source and what went wrong;
/// the engine decides what an unreadable switch means (by default: on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SwitchError(pub String);

/// One place a kill switch lives.
pub trait SwitchSource: Send + Sync {
    /// The source as users name it in messages: `file /run/chaos/stop`,
    /// `http://127.0.0.1:8080/switch`, `ConfigMap chaos/kill-switch`.
    fn describe(&self) -> String;

    /// How to turn it off, for the message that refuses a run (`remove /run/chaos/stop`).
    fn how_to_turn_off(&self) -> String;

    /// Whether the switch is on now. Must return within a few seconds (a read that cannot
    /// is an error, not a wait).
    fn is_on(&self) -> BoxFuture<'_, Result<bool, SwitchError>>;
}

/// What a switch's text says: `on`, `true`, `1`, `yes`, `stop` (any case, surrounding
/// whitespace ignored) is on; `off`, `false`, `0`, `no` and empty text are off; a JSON
/// object `{"on": true|false}` says it too. Anything else is not understood.
pub fn parse_state(text: &str) -> Result<bool, SwitchError> {
    let trimmed = text.trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" | "stop" => return Ok(true),
        "" | "off" | "false" | "0" | "no" => return Ok(false),
        _ => {}
    }
    if let Ok(serde_json::Value::Object(object)) =
        serde_json::from_str::<serde_json::Value>(trimmed)
    {
        if let Some(on) = object.get("on").and_then(serde_json::Value::as_bool) {
            return Ok(on);
        }
    }
    let shown: String = trimmed.chars().take(40).collect();
    Err(SwitchError(format!(
        "'{shown}' is not a switch state (use on or off)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_from_words_and_json() {
        for on in ["on", " ON\n", "true", "1", "yes", "stop", r#"{"on": true}"#] {
            assert_eq!(parse_state(on), Ok(true), "{on:?}");
        }
        for off in [
            "",
            "\n",
            "off",
            "False",
            "0",
            "no",
            r#"{"on": false, "by": "x"}"#,
        ] {
            assert_eq!(parse_state(off), Ok(false), "{off:?}");
        }
        for bad in ["maybe", r#"{"on": "yes"}"#, "[true]"] {
            let Err(e) = parse_state(bad) else {
                panic!("{bad:?} read as a state");
            };
            assert!(e.0.contains("is not a switch state"), "{e}");
        }
    }
}
