//! Run events sent to the channels declared under `notifications` in the settings.
//!
//! `http` channels are built in; `plugin` channels name a module, answered by a native
//! notifier a driver crate registered, else by the Python bridge. As in the reference,
//! channels run one after the other, and a failing channel is logged at debug level and
//! never affects the run; a channel that cannot be sent at all (no such plugin) is a
//! WARNING that names it. A channel listening for `discover-failed` (the book's settings
//! say so; no such event exists, and the reference never matches it) hears
//! `discovery-failed`, with a WARNING that says so.

use crate::journal::Timestamp;
use experiment::{Map, Value};
use providers::bridge::BridgeError;
use providers::registry::Registry;
use std::time::Duration;

/// The phase an event belongs to, which is part of the event object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Run,
    Validate,
    Discovery,
    Init,
}

impl Phase {
    fn name(&self) -> &'static str {
        match self {
            Phase::Run => "run",
            Phase::Validate => "validate",
            Phase::Discovery => "discovery",
            Phase::Init => "init",
        }
    }
}

/// Sends `event` (e.g. `run-started`) with its payload to every channel that wants it.
pub async fn notify(
    settings: &Value,
    registry: &Registry,
    phase: Phase,
    event: &str,
    payload: &Value,
    error: Option<&str>,
) {
    let Some(channels) = settings.get("notifications").and_then(Value::as_array) else {
        return;
    };
    let mut object = Map::new();
    object.insert("name".into(), Value::String(event.into()));
    object.insert("payload".into(), payload.clone());
    object.insert("phase".into(), Value::String(phase.name().into()));
    object.insert("ts".into(), Value::from(Timestamp::now().unix_seconds()));
    if let Some(error) = error {
        object.insert("error".into(), Value::String(error.into()));
    }
    let mut object = Value::Object(object);
    if let Some(payload) = object.get_mut("payload") {
        // The run-started and validate payloads are the experiment, inline secrets and all
        // (a journal payload comes masked from `Journal::to_json`).
        crate::redact::mask_inline_secrets(payload);
    }
    crate::redact::value(&mut object);
    for channel in channels {
        if !wants(channel, event) {
            continue;
        }
        match channel.get("type").and_then(Value::as_str) {
            Some("http") => {
                if let Err(e) = send_http(channel, &object).await {
                    log::debug!("failed to notify {event} over HTTP: {e}");
                }
            }
            Some("plugin") => send_plugin(registry, channel, &object, event).await,
            Some(other) => {
                log::warn!("notification channel type '{other}' is not supported (use http or plugin); {event} was not sent to it")
            }
            None => log::warn!(
                "a notification channel has no type (use http or plugin); {event} was not sent to it"
            ),
        }
    }
}

/// A `plugin` channel: `func(channel, event)` of its module (`notify` by default).
async fn send_plugin(registry: &Registry, channel: &Value, event: &Value, name: &str) {
    let Some(module) = channel.get("module").and_then(Value::as_str) else {
        log::warn!("A notification plugin channel has no `module`; {name} was not sent to it");
        return;
    };
    if let Some(notifier) = registry.notifier(module) {
        if let Err(e) = notifier.notify(channel, event).await {
            log::debug!("failed calling notification plugin '{module}': {e}");
        }
        return;
    }
    let not_found = |why: String| {
        log::warn!("could not find Python plugin '{module}' for notification{why}; {name} was not sent to it")
    };
    match registry.bridge() {
        Some(bridge) => match bridge.notify(channel, event).await {
            Ok(answer) if answer.get("importable").and_then(Value::as_bool) == Some(false) => {
                not_found(String::new())
            }
            Ok(_) => {}
            Err(e @ BridgeError::NoInterpreter { .. }) => not_found(format!(" ({e})")),
            Err(e) => log::debug!("failed calling notification plugin '{module}': {e}"),
        },
        None => not_found(String::new()),
    }
}

/// The event name the book's settings use for `discovery-failed`.
const DISCOVER_FAILED_ALIAS: &str = "discover-failed";

fn wants(channel: &Value, event: &str) -> bool {
    match channel.get("events").and_then(Value::as_array) {
        Some(events) => events.iter().any(|e| match e.as_str() {
            Some(DISCOVER_FAILED_ALIAS) => {
                warn_alias_once();
                event == "discovery-failed"
            }
            name => name == Some(event),
        }),
        None => true,
    }
}

fn warn_alias_once() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        log::warn!("notification event '{DISCOVER_FAILED_ALIAS}' is not a Chaos Toolkit event (the reference never sends it); taken as 'discovery-failed'")
    });
}

async fn send_http(channel: &Value, event: &Value) -> Result<(), String> {
    let url = channel
        .get("url")
        .and_then(Value::as_str)
        .ok_or("the http channel has no url")?;
    let verify = channel
        .get("verify_tls")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let forward = channel
        .get("forward_event_payload")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let client = providers::http::client_builder()
        .connect_timeout(Duration::from_secs(2))
        .read_timeout(Duration::from_secs(5))
        .tls_danger_accept_invalid_certs(!verify)
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = if forward {
        client.post(url).json(event)
    } else {
        client.get(url)
    };
    if let Some(Value::Object(headers)) = channel.get("headers") {
        for (name, value) in headers {
            if let Some(v) = value.as_str() {
                request = request.header(name.as_str(), v);
            }
        }
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("the channel answered {}", response.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn discover_failed_is_taken_as_discovery_failed() {
        let book = json!({"events": ["discover-failed", "run-failed"]});
        assert!(wants(&book, "discovery-failed"));
        assert!(wants(&book, "run-failed"));
        assert!(
            !wants(&book, "discover-failed"),
            "not an event anyone sends"
        );
        assert!(!wants(&book, "validate-failed"));
        assert!(wants(&json!({}), "validate-failed"));
    }
}
