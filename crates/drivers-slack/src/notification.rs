//! `chaosslack.notification`: the notification plugin (`notify(settings, event)`) that the
//! book's settings declare:
//!
//! ```yaml
//! notifications:
//!   - type: plugin
//!     module: chaosslack.notification
//!     token: {type: env, key: SLACK_TOKEN}   # or the token itself, as upstream
//!     channel: chaos                          # `#` optional
//!     events: [run-failed, run-deviated]
//! ```
//!
//! Every event is one `chat.postMessage` to `#channel` with upstream's text ("New Chaos
//! Experiment Event") and attachments: the main one (Source = phase, Event = name,
//! Experiment = title), "Steady State" (the hypothesis, Before/After `ok` or `not met`, the
//! last probe's output or last exception line when not met; colour `warning` before,
//! `danger` after), "Failed Activities" and "Failed Rollbacks" (danger). Footers go on the
//! last attachment only, "to not clutter the view", as upstream pops them.
//!
//! Ours: `token` and `channel` may be `{type: env, key: …}`; `api_url` (or
//! `SLACK_API_URL`) replaces the Web API base URL; a missing token or channel, and the
//! first failed request, are one WARNING each naming the module and the endpoint (upstream
//! logs them at DEBUG); after Slack could not be reached, later events are not sent (each
//! would wait for the timeout again).

use crate::api::{self, Client, SlackError, Token};
use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use providers::registry::Notifier;
use providers::BoxFuture;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;

#[cfg(test)]
mod tests;

pub const MODULE: &str = "chaosslack.notification";

/// The attachments' colour, footer and footer icon.
const COLOR: &str = "#439FE0";
const FOOTER: &str = "Chaos Toolkit";
const ICON: &str = "https://avatars1.githubusercontent.com/u/32068152?s=16&v=4";

/// The plugin. It remembers, for the life of the command, what it already warned about
/// and which endpoints could not be reached.
#[derive(Default)]
pub struct SlackNotifier {
    warned: Mutex<HashSet<String>>,
    unreachable: Mutex<HashSet<String>>,
}

/// A settings value: the string itself, or `{type: env, key: NAME}` read from the
/// environment. `None` when missing or empty.
pub fn setting(channel: &Value, key: &str) -> Option<String> {
    let value = match channel.get(key)? {
        Value::String(s) => s.clone(),
        Value::Object(reference) if reference.get("type") == Some(&json!("env")) => {
            let name = reference.get("key").and_then(Value::as_str)?;
            std::env::var(name).ok()?
        }
        _ => return None,
    };
    (!value.trim().is_empty()).then_some(value)
}

impl SlackNotifier {
    /// Logs `message` as a WARNING the first time it is seen.
    fn warn_once(&self, message: String) {
        let first = self
            .warned
            .lock()
            .map(|mut warned| warned.insert(message.clone()))
            .unwrap_or(true);
        if first {
            log::warn!("{message}");
        } else {
            log::debug!("{message}");
        }
    }

    async fn send(&self, channel: &Value, event: &Value) -> Result<(), String> {
        let base = api::base_url(channel.get("api_url"), api::SLACKCLIENT_BASE_URL);
        let endpoint = format!("{base}chat.postMessage");
        let name = event.get("name").and_then(Value::as_str).unwrap_or("event");
        let Some(token) = setting(channel, "token").as_deref().and_then(Token::new) else {
            self.warn_once(format!(
                "{MODULE}: the channel has no Slack token (`token`), so nothing is sent to {endpoint}"
            ));
            return Err(format!("no token; {name} not sent"));
        };
        let Some(target) = setting(channel, "channel") else {
            self.warn_once(format!(
                "{MODULE}: the channel has no Slack channel (`channel`), so nothing is sent to {endpoint}"
            ));
            return Err(format!("no channel; {name} not sent"));
        };
        let target = format!("#{}", target.trim_start_matches('#').trim());
        let key = format!("{endpoint} {target}");
        if self.unreachable.lock().is_ok_and(|u| u.contains(&key)) {
            return Err(format!(
                "{endpoint} could not be reached earlier; {name} not sent"
            ));
        }
        let body = json!({
            "text": "New Chaos Experiment Event",
            "attachments": attachments(event),
            "channel": target,
        });
        let client = Client::new(base, token).map_err(|e| e.to_string())?;
        match client.post_json("chat.postMessage", &body).await {
            Ok(answer) => {
                log::debug!("Slack client return call: {}", Value::Object(answer));
                Ok(())
            }
            Err(e) => {
                if e.is_unreachable() {
                    if let Ok(mut unreachable) = self.unreachable.lock() {
                        unreachable.insert(key);
                    }
                }
                self.warn_once(failure(&e));
                Err(e.to_string())
            }
        }
    }
}

fn failure(e: &SlackError) -> String {
    format!("{MODULE}: the Slack notification was not sent: {e}")
}

impl Notifier for SlackNotifier {
    fn notify<'a>(
        &'a self,
        channel: &'a Value,
        event: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(self.send(channel, event))
    }
}

/// The output of a run, or its last exception line when the output is falsy, as upstream
/// writes it into a field: `` ```{msg}``` `` with Python's `str()`.
fn outcome(run: &Value) -> String {
    let output = run.get("output").cloned().unwrap_or(Value::Null);
    let message = if experiment::pyrepr::py_truthy(&output) {
        output
    } else {
        match run.get("exception").and_then(Value::as_array) {
            Some(lines) if !lines.is_empty() => lines
                .last()
                .map(|l| Value::String(py_str(l).trim().to_string()))
                .unwrap_or(output),
            _ => output,
        }
    };
    format!("```{}```", py_str(&message))
}

fn field(title: Value, value: Value, short: bool) -> Value {
    json!({"title": title, "value": value, "short": short})
}

/// Upstream's attachments for `event`, in its order, with its keys.
pub fn attachments(event: &Value) -> Value {
    let ts = event.get("ts").cloned().unwrap_or(Value::Null);
    let footed = |mut attachment: Map| {
        attachment.insert("ts".into(), ts.clone());
        attachment.insert("footer_icon".into(), json!(ICON));
        attachment.insert("footer".into(), json!(FOOTER));
        attachment
    };
    let get = |key: &str| event.get(key).cloned().unwrap_or(Value::Null);
    let mut fields = vec![
        field(json!("Source"), get("phase"), true),
        field(json!("Event"), get("name"), true),
    ];
    let mut steady = Vec::new();
    let mut steady_color = COLOR;
    let mut activities = Vec::new();
    let mut rollbacks = Vec::new();

    if let Some(payload) = event.get("payload").filter(|p| p.is_object()) {
        let experiment = payload.get("experiment");
        let pick = |key: &str| {
            payload
                .get(key)
                .filter(|v| experiment::pyrepr::py_truthy(v))
                .or_else(|| experiment.and_then(|e| e.get(key)))
                .filter(|v| experiment::pyrepr::py_truthy(v))
        };
        if let Some(title) = pick("title") {
            fields.push(field(json!("Experiment"), title.clone(), false));
        }
        let hypothesis_title = match pick("steady-state-hypothesis") {
            Some(h) => h.get("title").cloned().unwrap_or(Value::Null),
            None => json!("N/A"),
        };
        steady.push(field(json!("Hypothesis"), hypothesis_title, false));

        let states = payload.get("steady_states");
        for (when, label, miss_color) in [
            ("before", "Before", "warning"),
            ("after", "After", "danger"),
        ] {
            let Some(state) = states
                .and_then(|s| s.get(when))
                .filter(|s| experiment::pyrepr::py_truthy(s))
            else {
                continue;
            };
            let met = state
                .get("steady_state_met")
                .is_some_and(experiment::pyrepr::py_truthy);
            steady.push(field(
                json!(label),
                json!(if met { "ok" } else { "not met" }),
                false,
            ));
            if !met {
                steady_color = miss_color;
                let last = state
                    .get("probes")
                    .and_then(Value::as_array)
                    .and_then(|p| p.last())
                    .cloned()
                    .unwrap_or(Value::Null);
                steady.push(field(
                    json!("Tolerance Output"),
                    json!(outcome(&last)),
                    false,
                ));
            }
        }
        let failed = |list: Option<&Value>, into: &mut Vec<Value>| {
            for run in list.and_then(Value::as_array).into_iter().flatten() {
                if run.get("status").and_then(Value::as_str) == Some("failed") {
                    let name = run
                        .get("activity")
                        .and_then(|a| a.get("name"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    into.push(field(name, json!(outcome(run)), false));
                }
            }
        };
        failed(payload.get("run"), &mut activities);
        failed(payload.get("rollbacks"), &mut rollbacks);
    }

    // Upstream pops the footer of every attachment but the last one.
    let mut list: Vec<Map> = Vec::new();
    let mut main = Map::new();
    main.insert("fields".into(), Value::Array(fields));
    main.insert("color".into(), json!(COLOR));
    list.push(main);
    for (text, fields, color) in [
        ("Steady State", steady, steady_color),
        ("Failed Activities", activities, "danger"),
        ("Failed Rollbacks", rollbacks, "danger"),
    ] {
        if fields.is_empty() {
            continue;
        }
        let mut attachment = Map::new();
        attachment.insert("text".into(), json!(text));
        attachment.insert("fields".into(), Value::Array(fields));
        attachment.insert("color".into(), json!(color));
        list.push(attachment);
    }
    let last = list.len() - 1;
    Value::Array(
        list.into_iter()
            .enumerate()
            .map(|(i, a)| Value::Object(if i == last { footed(a) } else { a }))
            .collect(),
    )
}
