//! `chaosaddons.controls.repeat`: an activity-level control whose `after_activity_control`
//! inserts `repeat_count - 1` copies of the activity (each with an `iteration_index`) right
//! after the first activity of the same name in the hypothesis probes, the method and the
//! rollbacks, so the run plays them next. A copy is never repeated again; with
//! `break_if_previous_iteration_failed`, an activity whose run did not succeed is not
//! repeated. A `repeat_count` under 2 does nothing.

use experiment::{Map, Value};
use providers::control::{Changes, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;

pub const MODULE: &str = "chaosaddons.controls.repeat";

pub struct Repeat;

impl Control for Repeat {
    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        let changes = if call.level == Level::Activity && call.when == When::After {
            after_activity(call)
        } else {
            Changes::default()
        };
        Box::pin(async move { Ok(changes) })
    }
}

fn after_activity(call: HookCall<'_>) -> Changes {
    let activity = call.context;
    // Prevent endless looping: a copy is not repeated.
    if activity.get("iteration_index").is_some() {
        return Changes::default();
    }
    let name = activity
        .get("name")
        .map(experiment::pyrepr::py_str)
        .unwrap_or_default();
    let kind = activity
        .get("type")
        .map(experiment::pyrepr::py_str)
        .unwrap_or_default();
    let count = int_argument(call.arguments, "repeat_count").saturating_sub(1);
    if count <= 0 {
        log::debug!("Do not repeat {kind} '{name}' when `repeat_count` is less than 2");
        return Changes::default();
    }
    log::debug!("Repeat {kind} '{name}' {count} more times");
    let break_on_failure = call
        .arguments
        .get("break_if_previous_iteration_failed")
        .is_some_and(experiment::pyrepr::py_truthy);
    let last_status = call
        .state
        .and_then(|s| s.get("status"))
        .and_then(Value::as_str);
    if break_on_failure && last_status != Some("succeeded") {
        log::debug!("Last iteration failed so stopping our iterations of '{name}'");
        return Changes::default();
    }
    let mut experiment = call.experiment.clone();
    let mut changed = false;
    if let Some(list) = experiment
        .get_mut("steady-state-hypothesis")
        .and_then(|h| h.get_mut("probes"))
        .and_then(Value::as_array_mut)
    {
        changed |= repeat_in(activity, list, count);
    }
    for key in ["method", "rollbacks"] {
        if let Some(list) = experiment.get_mut(key).and_then(Value::as_array_mut) {
            changed |= repeat_in(activity, list, count);
        }
    }
    Changes {
        experiment: changed.then_some(experiment),
        ..Changes::default()
    }
}

/// An integer argument as Python would use it in `range()`; 0 when absent.
fn int_argument(arguments: &Map, name: &str) -> i64 {
    match arguments.get(name) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::Bool(b)) => i64::from(*b),
        _ => 0,
    }
}

/// Inserts `count` copies of `activity` after the first entry of `list` with its name.
fn repeat_in(activity: &Value, list: &mut Vec<Value>, count: i64) -> bool {
    let name = activity.get("name");
    let Some(pos) = list.iter().position(|a| a.get("name") == name) else {
        return false;
    };
    for index in 1..=count {
        let mut copy = activity.clone();
        if let Some(map) = copy.as_object_mut() {
            map.insert("iteration_index".into(), Value::from(index));
        }
        let at = pos + usize::try_from(index).unwrap_or(usize::MAX);
        list.insert(at.min(list.len()), copy);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copies_follow_the_first_activity_of_that_name() {
        let a = json!({"type": "action", "name": "a"});
        let mut list = vec![json!({"name": "x"}), a.clone(), json!({"name": "y"})];
        assert!(repeat_in(&a, &mut list, 2));
        let names: Vec<_> = list
            .iter()
            .map(|v| (v["name"].clone(), v.get("iteration_index").cloned()))
            .collect();
        assert_eq!(
            names,
            [
                (json!("x"), None),
                (json!("a"), None),
                (json!("a"), Some(json!(1))),
                (json!("a"), Some(json!(2))),
                (json!("y"), None)
            ]
        );
        assert!(!repeat_in(&json!({"name": "z"}), &mut list, 1));
    }
}
