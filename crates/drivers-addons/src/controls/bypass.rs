//! `chaosaddons.controls.bypass`: sets `dry: true` on the activities that match by type
//! (`target_type`: `action` or `probe`) or by name (`target_names`), and removes it after
//! they ran. As with chaostoolkit-lib 1.44 (which compares `dry` with its `Dry` enum), the
//! flag does not stop the activity: the run record shows it, the journal's experiment does
//! not. Before the experiment, it warns about what it is configured to bypass.

use experiment::pyrepr::py_truthy;
use experiment::{Map, Value};
use providers::control::{Changes, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;

pub const MODULE: &str = "chaosaddons.controls.bypass";

pub struct Bypass;

/// `target_type`, when truthy.
fn target_type(arguments: &Map) -> Option<&Value> {
    arguments.get("target_type").filter(|t| py_truthy(t))
}

/// `target_names`, when truthy.
fn target_names(arguments: &Map) -> Option<&Value> {
    arguments.get("target_names").filter(|t| py_truthy(t))
}

/// Whether the activity is one the control targets.
fn targeted(arguments: &Map, activity: &Value) -> bool {
    let by_type = target_type(arguments).is_some_and(|t| activity.get("type") == Some(t));
    let by_name = target_names(arguments).is_some_and(|names| {
        let name = activity.get("name").unwrap_or(&Value::Null);
        match names {
            Value::Array(list) => list.contains(name),
            // Python's `in` on a string is a substring test.
            Value::String(s) => name.as_str().is_some_and(|n| s.contains(n)),
            Value::Object(map) => name.as_str().is_some_and(|n| map.contains_key(n)),
            _ => false,
        }
    });
    by_type || by_name
}

fn text(value: &Value) -> String {
    experiment::pyrepr::py_str(value)
}

impl Control for Bypass {
    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        let mut changes = Changes::default();
        match (call.level, call.when) {
            (Level::Experiment, When::Before) => {
                if let Some(t) = target_type(call.arguments) {
                    log::warn!(
                        "No '{}' will be executed as configured by the bypass control",
                        text(t)
                    );
                }
                if let Some(names) = target_names(call.arguments) {
                    let listed: Vec<String> = match names {
                        Value::Array(list) => list.iter().map(text).collect(),
                        Value::String(s) => s.chars().map(String::from).collect(),
                        Value::Object(map) => map.keys().cloned().collect(),
                        other => vec![text(other)],
                    };
                    log::warn!(
                        "The following activities will not be executed: {}",
                        listed.join(", ")
                    );
                }
            }
            (Level::Activity, when) if targeted(call.arguments, call.context) => {
                let mut activity = call.context.clone();
                if let Some(map) = activity.as_object_mut() {
                    match when {
                        When::Before => {
                            map.insert("dry".into(), Value::Bool(true));
                        }
                        When::After => {
                            map.shift_remove("dry");
                        }
                    }
                }
                if activity != *call.context {
                    changes.context = Some(activity);
                }
            }
            _ => {}
        }
        Box::pin(async move { Ok(changes) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_by_type_or_name() {
        let args = |v: Value| v.as_object().cloned().unwrap_or_default();
        let action = json!({"type": "action", "name": "say-hello"});
        assert!(targeted(&args(json!({"target_type": "action"})), &action));
        assert!(!targeted(&args(json!({"target_type": "probe"})), &action));
        assert!(targeted(
            &args(json!({"target_names": ["say-hello"]})),
            &action
        ));
        assert!(!targeted(&args(json!({"target_names": []})), &action));
        assert!(!targeted(&args(json!({})), &action));
    }
}
