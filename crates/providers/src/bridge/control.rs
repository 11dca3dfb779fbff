//! Controls and notification plugins that run in Python.

use super::{Bridge, BridgeError, RemoteKind};
use crate::control::{hook_function, Changes, ConfigureCall, Control, ControlError, HookCall};
use crate::BoxFuture;
use experiment::{Map, Value};
use std::sync::Arc;

/// A control module answered by the bridge: each hook is one request, on the worker's main
/// thread like the reference's controls, which run in line with the flow.
pub struct PythonControl {
    bridge: Arc<Bridge>,
    module: String,
}

impl PythonControl {
    pub fn new(bridge: Arc<Bridge>, module: &str) -> Self {
        Self {
            bridge,
            module: module.to_string(),
        }
    }

    async fn send(&self, hook: &str, mut body: Map) -> Result<Value, ControlError> {
        body.insert("module".into(), Value::String(self.module.clone()));
        body.insert("hook".into(), Value::String(hook.into()));
        match self.bridge.request("control", body, false).await {
            Ok(answer) => Ok(answer),
            Err(BridgeError::Remote(r)) if r.kind == RemoteKind::Interrupt => {
                Err(ControlError::Interrupt(r.message))
            }
            Err(e) => Err(ControlError::Failed(e.to_string())),
        }
    }
}

impl Control for PythonControl {
    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            let mut body = Map::new();
            body.insert("arguments".into(), Value::Object(call.arguments.clone()));
            body.insert("experiment".into(), call.experiment.clone());
            body.insert(
                "configuration".into(),
                Value::Object(call.configuration.clone()),
            );
            body.insert("secrets".into(), Value::Object(call.secrets.clone()));
            body.insert(
                "settings".into(),
                call.settings.cloned().unwrap_or(Value::Null),
            );
            self.send("configure_control", body).await.map(|_| ())
        })
    }

    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async move {
            let mut body = Map::new();
            body.insert("context".into(), call.context.clone());
            body.insert("state".into(), call.state.cloned().unwrap_or(Value::Null));
            body.insert("arguments".into(), Value::Object(call.arguments.clone()));
            body.insert(
                "configuration".into(),
                Value::Object(call.configuration.clone()),
            );
            body.insert("secrets".into(), Value::Object(call.secrets.clone()));
            body.insert("settings".into(), call.settings.clone());
            body.insert("experiment".into(), call.experiment.clone());
            let answer = self
                .send(&hook_function(call.level, call.when), body)
                .await?;
            let changed = answer.get("changed");
            Ok(Changes {
                context: changed.and_then(|c| c.get("context")).cloned(),
                state: changed.and_then(|c| c.get("state")).cloned(),
                experiment: changed.and_then(|c| c.get("experiment")).cloned(),
                ..Changes::default()
            })
        })
    }

    fn cleanup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(e) = self.send("cleanup_control", Map::new()).await {
                log::debug!("Control '{name}' failed to clean up: {e}");
            }
        })
    }
}

impl Bridge {
    /// Whether the interpreter can import `module` (`Err` when no interpreter starts).
    pub async fn importable(&self, module: &str) -> Result<bool, BridgeError> {
        let mut body = Map::new();
        body.insert("module".into(), Value::String(module.into()));
        body.insert("func".into(), Value::String(String::new()));
        let answer = self.request("lookup", body, false).await?;
        Ok(answer.get("found").and_then(Value::as_str) != Some("no-module"))
    }

    /// Calls a notification plugin's function with the channel and the event, as chaoslib's
    /// `notify_via_plugin` does; its failures are only logged (by the worker, at debug).
    /// The answer says whether the module was `importable` and the function `called`.
    pub async fn notify(&self, channel: &Value, event: &Value) -> Result<Value, BridgeError> {
        let mut body = Map::new();
        body.insert("channel".into(), channel.clone());
        body.insert("event".into(), event.clone());
        self.request("notify", body, false).await
    }
}
