//! `chaosaddons.utils.idle`: `idle_for(duration)`, a pause as an action.
//!
//! Upstream sleeps in 0.1 s slices until `duration` seconds have passed, so that a signal
//! lands between two slices. Here the engine races every foreground provider call against
//! the run's interruptions, so one timer is as interruptible and ends on time.

use experiment::pyrepr::py_repr;
use experiment::Value;
use providers::registry::Kind;
use providers::table::{Bound, Def, Spec};
use providers::{BoxFuture, FailureKind, ProviderError};
use std::time::Duration;

pub const MODULE: &str = "chaosaddons.utils.idle";

pub const SPECS: &[Spec] = &[Spec {
    name: "idle_for",
    kind: Kind::Action,
    doc: "Pauses the experiment without blocking the process completely.",
    params: &[("duration", Def::Required, Some("number"))],
    return_type: None,
    body: idle_for,
}];

fn idle_for(bound: Bound<'_>) -> BoxFuture<'_, Result<Value, ProviderError>> {
    Box::pin(async move {
        let seconds = seconds(bound.arg("duration"))?;
        if seconds > 0.0 {
            tokio::time::sleep(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)).await;
        }
        Ok(Value::Null)
    })
}

/// The duration in seconds, as Python's `time.time() + duration` accepts it (a bool is an
/// int); anything else is upstream's `TypeError`.
fn seconds(duration: &Value) -> Result<f64, ProviderError> {
    match duration {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        other => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: unsupported operand type(s) for +: 'float' and '{}'",
                python_type(other)
            ),
        )),
    }
    .inspect_err(|_| log::debug!("idle_for({}) failed", py_repr(duration)))
}

fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use experiment::Map;
    use serde_json::json;

    fn call(duration: Value) -> (Map, Map) {
        let mut args = Map::new();
        args.insert("duration".into(), duration);
        (args, Map::new())
    }

    #[tokio::test(start_paused = true)]
    async fn sleeps_for_the_duration() {
        let (args, configuration) = call(json!(2.5));
        let start = tokio::time::Instant::now();
        let out = idle_for(Bound {
            args,
            configuration: &configuration,
            secrets: Map::new(),
        })
        .await;
        assert_eq!(out, Ok(Value::Null));
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_millis(2510));
    }

    #[tokio::test(start_paused = true)]
    async fn negative_returns_at_once_and_text_is_a_type_error() {
        let (args, configuration) = call(json!(-1));
        let start = tokio::time::Instant::now();
        let bound = Bound {
            args,
            configuration: &configuration,
            secrets: Map::new(),
        };
        assert_eq!(idle_for(bound).await, Ok(Value::Null));
        assert_eq!(start.elapsed(), Duration::ZERO);
        let (args, configuration) = call(json!("1"));
        let bound = Bound {
            args,
            configuration: &configuration,
            secrets: Map::new(),
        };
        let err = idle_for(bound).await.err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("TypeError: unsupported operand type(s) for +: 'float' and 'str'")
        );
    }
}
