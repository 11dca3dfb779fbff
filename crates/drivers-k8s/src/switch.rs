//! The kill switch as a ConfigMap (`configmap:NAMESPACE/NAME`): in a cluster, the one
//! object every `chaos run` pod can read, and that whoever runs the incident can create
//! with `kubectl`.
//!
//! The switch is on while the ConfigMap exists, unless its `data.state` says off (`off`,
//! `false`, `0`, `no`); a missing ConfigMap is off. Any other answer (the API server
//! unreachable, 403, a `state` that is not a state) is unreadable, which the engine
//! treats as on by default (`engine::kill_switch`). Credentials as for every `chaosk8s`
//! function without secrets: the kubeconfig, or the pod's service account. Each read is
//! one GET, bounded by [`READ_TIMEOUT`].

use crate::client::client_for;
use experiment::{Map, Value};
use providers::switch::{parse_state, SwitchError, SwitchSource};
use providers::BoxFuture;
use std::time::Duration;

/// The longest one read may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// A ConfigMap that holds the kill switch.
pub struct ConfigMapSwitch {
    namespace: String,
    name: String,
}

impl ConfigMapSwitch {
    pub fn new(namespace: &str, name: &str) -> Self {
        ConfigMapSwitch {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    async fn read(&self) -> Result<bool, SwitchError> {
        let unreadable = |e: String| SwitchError(format!("cannot read {}: {e}", self.describe()));
        let kube = client_for(&Map::new())
            .await
            .map_err(|e| unreadable(e.to_string()))?;
        let path = format!(
            "/api/v1/namespaces/{}/configmaps/{}",
            self.namespace, self.name
        );
        match kube
            .get(&path)
            .await
            .map_err(|e| unreadable(e.to_string()))?
        {
            Ok(object) => match object.get("data").and_then(|d| d.get("state")) {
                None => Ok(true),
                Some(Value::String(state)) => parse_state(state).map_err(|e| unreadable(e.0)),
                Some(other) => Err(unreadable(format!("data.state is {other}, not text"))),
            },
            Err(status) if status.code == 404 => Ok(false),
            Err(status) => Err(unreadable(format!(
                "HTTP {} {}: {}",
                status.code,
                status.reason(),
                status.message()
            ))),
        }
    }
}

impl SwitchSource for ConfigMapSwitch {
    fn describe(&self) -> String {
        format!("ConfigMap {}/{}", self.namespace, self.name)
    }

    fn how_to_turn_off(&self) -> String {
        format!(
            "kubectl -n {} delete configmap {}",
            self.namespace, self.name
        )
    }

    fn is_on(&self) -> BoxFuture<'_, Result<bool, SwitchError>> {
        Box::pin(async move {
            match tokio::time::timeout(READ_TIMEOUT, self.read()).await {
                Ok(answer) => answer,
                Err(_) => Err(SwitchError(format!(
                    "cannot read {}: no answer within {} s",
                    self.describe(),
                    READ_TIMEOUT.as_secs()
                ))),
            }
        })
    }
}
