//! `chaosslack.control`: one Slack conversation per run.
//!
//! ```yaml
//! controls:
//!   - name: slack
//!     provider:
//!       type: python
//!       module: chaosslack.control
//!       arguments: {channel: chaos}        # or SLACK_CHANNEL
//! secrets:
//!   slack:
//!     token: {type: env, key: SLACK_BOT_TOKEN}   # or SLACK_BOT_TOKEN itself
//! ```
//!
//! The first hook posts the top message (the experiment's title, the host and the state,
//! in an attachment coloured by the state); the experiment-level hooks update it ("Experiment
//! is starting", "Experiment is finished" with the final state); every other hook is a reply
//! in its thread, with upstream's texts. Where upstream attaches the state (the hypothesis
//! state after the hypothesis, the run after an activity), the reply is a `state.yaml`
//! snippet uploaded in three steps (slack_sdk's `files_upload_v2`), the YAML being PyYAML's
//! `safe_dump`. `configuration.slack_extra` (a list of mrkdwn strings) adds sections to the
//! top message.
//!
//! Upstream keeps the conversation in module globals for the life of the process; here it
//! lives in the control and ends with the run (`cleanup_control`), so a second run in the
//! same process opens a conversation of its own. The requests, bodies and texts are
//! upstream's; what differs (docs/compatibility.md): `configuration.slack_api_url` or
//! `SLACK_API_URL` replaces the base URL; a missing channel or token, and the first failed
//! request, are one WARNING naming the control and the endpoint (upstream: a DEBUG line per
//! hook, or a request without a token); once Slack could not be reached, the control sends
//! nothing more in that run, so a Slack that never answers costs one timeout, not one per
//! hook.

use crate::api::{self, Client, SlackError, Token};
use experiment::pyrepr::{py_str, py_truthy};
use experiment::{Map, Value};
use providers::control::{Changes, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;
use serde_json::json;
use tokio::sync::Mutex;

#[cfg(test)]
mod tests;

pub const MODULE: &str = "chaosslack.control";

/// The environment variables upstream falls back to.
pub const CHANNEL_ENV: &str = "SLACK_CHANNEL";
pub const TOKEN_ENV: &str = "SLACK_BOT_TOKEN";

/// The control. Hooks are served one at a time (background activities' hooks included),
/// so the replies keep the order of the hooks.
#[derive(Default)]
pub struct SlackControl {
    run: Mutex<Conversation>,
}

/// One run's conversation.
#[derive(Default)]
struct Conversation {
    client: Option<Client>,
    /// The top message: the channel id and ts Slack answered.
    top: Option<Top>,
    /// A WARNING was logged; later failures go to DEBUG.
    warned: bool,
    /// Nothing more is sent in this run (no channel, no token, Slack unreachable).
    stopped: bool,
}

#[derive(Debug, Clone)]
struct Top {
    channel: String,
    ts: String,
}

/// How upstream's `send` places a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// The top message when there is none yet, else an update of it.
    Top,
    /// The top message when there is none yet, else a reply in its thread.
    Thread,
}

/// One message a hook sends.
struct Message<'a> {
    text: String,
    placement: Placement,
    /// Attached as `state.yaml` when replying in the thread.
    data: Option<&'a Value>,
    state: &'static str,
}

impl<'a> Message<'a> {
    fn thread(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            placement: Placement::Thread,
            data: None,
            state: RUNNING,
        }
    }
}

const RUNNING: &str = "Running";

/// Upstream's `get_state(journal)`. An `aborted` journal, which upstream cannot name (and
/// then fails on), is "Aborted".
fn final_state(journal: Option<&Value>) -> &'static str {
    let Some(journal) = journal else {
        return RUNNING;
    };
    let deviated = journal.get("deviated") == Some(&Value::Bool(true));
    match journal.get("status").and_then(Value::as_str) {
        Some("completed") if deviated => "Deviated",
        Some("completed") => "Completed successfully",
        Some("interrupted") => "Interrupted by operator or signal",
        Some("failed") => "Failed to complete",
        _ => "Aborted",
    }
}

/// Upstream's colour of a state.
fn color(state: &str) -> &'static str {
    match state {
        RUNNING => "#222831",
        "Completed successfully" => "#06FF00",
        "Interrupted by operator or signal" => "#CEAB93",
        "Failed to complete" => "#FF8E00",
        "Deviated" => "#FF1700",
        _ => "#000000",
    }
}

/// `platform.node()`.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}

/// Upstream's `attachments(state, fallback, experiment, extra)`.
fn attachments(state: &str, fallback: &str, experiment: &Value, extra: Option<&Value>) -> Value {
    let title = py_str(experiment.get("title").unwrap_or(&Value::Null));
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{title}*")}}),
        json!({"type": "context", "elements": [{
            "type": "mrkdwn",
            "text": format!("*Host:* {}\n*State:* {state}", host()),
        }]}),
    ];
    for x in extra.and_then(Value::as_array).into_iter().flatten() {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": x}}));
    }
    json!([{"color": color(state), "fallback": fallback, "blocks": blocks}])
}

/// The messages upstream's hook for this call sends, in order.
fn messages<'a>(call: &HookCall<'a>) -> Vec<Message<'a>> {
    let name = || py_str(call.context.get("name").unwrap_or(&Value::Null));
    match (call.level, call.when) {
        (Level::Loader, When::After) => vec![Message::thread("Experiment loaded")],
        (Level::Experiment, When::Before) => vec![Message {
            placement: Placement::Top,
            ..Message::thread("Experiment is starting")
        }],
        (Level::Experiment, When::After) => {
            let state = final_state(call.state);
            vec![
                Message {
                    placement: Placement::Top,
                    state,
                    ..Message::thread("Experiment is finished")
                },
                Message {
                    state,
                    ..Message::thread(format!(
                        "Experiment is finished with status `{}`",
                        state.to_lowercase()
                    ))
                },
            ]
        }
        (Level::Hypothesis, When::Before) => {
            vec![Message::thread(
                "Steady state hypothesis is being evaluated",
            )]
        }
        (Level::Hypothesis, When::After) => {
            let deviated =
                call.state.and_then(|s| s.get("steady_state_met")) == Some(&Value::Bool(false));
            let phrase = if deviated {
                "and *deviated*"
            } else {
                "and did not deviate"
            };
            vec![Message {
                data: call.state,
                ..Message::thread(format!("Steady state hypothesis finished {phrase}"))
            }]
        }
        (Level::Method, When::Before) => vec![Message::thread("Method is starting")],
        (Level::Method, When::After) => vec![Message::thread("Method is finished")],
        (Level::Rollback, When::Before) => vec![Message::thread("Rollback is starting")],
        (Level::Rollback, When::After) => vec![Message::thread("Rollback is finished")],
        (Level::Activity, When::Before) => {
            vec![Message::thread(format!(
                "Activity `{}` is starting",
                name()
            ))]
        }
        (Level::Activity, When::After) => {
            let status = call.state.and_then(|s| s.get("status"));
            let status = py_str(status.unwrap_or(&Value::Null));
            vec![Message {
                data: call.state,
                ..Message::thread(format!(
                    "Activity `{}` finished with status `{status}`",
                    name()
                ))
            }]
        }
        (Level::Loader, When::Before) => Vec::new(),
    }
}

/// Where the hook's messages go, and with what.
struct Target<'a> {
    control: &'a str,
    channel: String,
    experiment: &'a Value,
    extra: Option<&'a Value>,
}

impl Conversation {
    fn warn(&mut self, message: String) {
        if self.warned {
            log::debug!("{message}");
        } else {
            self.warned = true;
            log::warn!("{message}");
        }
    }

    /// Stops the conversation for this run with one WARNING.
    fn stop(&mut self, control: &str, why: &str, endpoint: &str) {
        self.stopped = true;
        self.warn(format!(
            "Slack control '{control}' ({MODULE}): {why}, so nothing is sent to {endpoint} in this run"
        ));
    }

    /// The client, built on the first message as upstream builds it (from the secrets the
    /// first hook gets).
    fn client(&mut self, call: &HookCall<'_>) -> Option<Client> {
        if let Some(client) = &self.client {
            return Some(client.clone());
        }
        let base = api::base_url(
            call.configuration.get("slack_api_url"),
            api::SLACK_SDK_BASE_URL,
        );
        let from_secrets = call
            .secrets
            .get("slack")
            .and_then(|s| s.get("token"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let token = from_secrets
            .or_else(|| std::env::var(TOKEN_ENV).ok())
            .as_deref()
            .and_then(Token::new);
        let Some(token) = token else {
            self.stop(
                call.name,
                &format!("no Slack token (secrets `slack.token` or {TOKEN_ENV})"),
                &base,
            );
            return None;
        };
        match Client::new(base.clone(), token) {
            Ok(client) => {
                self.client = Some(client.clone());
                Some(client)
            }
            Err(e) => {
                self.stop(call.name, &e.to_string(), &base);
                None
            }
        }
    }

    async fn send(&mut self, client: &Client, target: &Target<'_>, message: &Message<'_>) {
        if self.stopped {
            return;
        }
        if let Err(e) = self.post(client, target, message).await {
            if e.is_unreachable() {
                self.stop(target.control, &e.to_string(), client.base());
            } else {
                self.warn(format!(
                    "Slack control '{}' ({MODULE}): {e}",
                    target.control
                ));
            }
        }
    }

    /// Upstream's `send`: the top message, a snippet or a reply in its thread, or an update.
    async fn post(
        &mut self,
        client: &Client,
        target: &Target<'_>,
        message: &Message<'_>,
    ) -> Result<(), SlackError> {
        let text = message.text.as_str();
        let attachments = || attachments(message.state, text, target.experiment, target.extra);
        let Some(top) = self.top.clone() else {
            let body = json!({
                "fallback": text,
                "channel": target.channel,
                "text": text,
                "attachments": attachments(),
            });
            let answer = client.post_json("chat.postMessage", &body).await?;
            let field = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_string);
            match (field("channel"), field("ts")) {
                (Some(channel), Some(ts)) => self.top = Some(Top { channel, ts }),
                _ => {
                    return Err(SlackError::BadAnswer {
                        url: client.endpoint("chat.postMessage"),
                    })
                }
            }
            return Ok(());
        };
        match (message.placement, message.data.filter(|d| py_truthy(d))) {
            (Placement::Thread, Some(data)) => upload(client, &top, text, data).await,
            (Placement::Thread, None) => {
                let body = json!({
                    "fallback": text,
                    "channel": target.channel,
                    "text": text,
                    "thread_ts": top.ts,
                });
                client.post_json("chat.postMessage", &body).await.map(drop)
            }
            (Placement::Top, _) => {
                let body = json!({
                    "channel": top.channel,
                    "ts": top.ts,
                    "text": text,
                    "attachments": attachments(),
                    "reply_broadcast": false,
                });
                client.post_json("chat.update", &body).await.map(drop)
            }
        }
    }
}

/// slack_sdk's `files_upload_v2(channel, thread_ts, initial_comment, snippet_type="yaml",
/// content, length, title="state.yaml")`: get an upload URL, upload, complete the upload
/// into the thread. The form fields and their order are slack_sdk 3.47's.
async fn upload(client: &Client, top: &Top, comment: &str, data: &Value) -> Result<(), SlackError> {
    let content = experiment::pyyaml::to_yaml(data);
    let bytes = content.clone().into_bytes();
    let step = "files.getUploadURLExternal";
    let answer = client
        .post_form(
            step,
            &[
                ("filename", "Uploaded file".into()),
                ("length", bytes.len().to_string()),
                ("snippet_type", "yaml".into()),
            ],
        )
        .await?;
    let field = |key: &str| answer.get(key).and_then(Value::as_str).map(str::to_string);
    let (Some(url), Some(file_id)) = (field("upload_url"), field("file_id")) else {
        return Err(SlackError::BadAnswer {
            url: client.endpoint(step),
        });
    };
    client.upload(&url, bytes).await?;
    let files = format!(
        "[{{\"id\": {}, \"title\": \"state.yaml\"}}]",
        Value::String(file_id)
    );
    client
        .post_form(
            "files.completeUploadExternal",
            &[
                // upstream's own `length` (characters), passed through by slack_sdk
                ("length", content.chars().count().to_string()),
                ("files", files),
                ("channel_id", top.channel.clone()),
                ("initial_comment", comment.to_string()),
                ("thread_ts", top.ts.clone()),
            ],
        )
        .await
        .map(drop)
}

/// The channel: the `channel` argument when truthy, else `SLACK_CHANNEL`.
fn channel(arguments: &Map) -> Option<String> {
    arguments
        .get("channel")
        .filter(|c| py_truthy(c))
        .map(py_str)
        .or_else(|| std::env::var(CHANNEL_ENV).ok().filter(|c| !c.is_empty()))
}

impl SlackControl {
    async fn play(&self, call: &HookCall<'_>) {
        let messages = messages(call);
        if messages.is_empty() {
            return;
        }
        let mut conversation = self.run.lock().await;
        if conversation.stopped {
            return;
        }
        let Some(client) = conversation.client(call) else {
            return;
        };
        let Some(channel) = channel(call.arguments) else {
            conversation.stop(
                call.name,
                &format!("missing slack channel name (the `channel` argument or {CHANNEL_ENV})"),
                client.base(),
            );
            return;
        };
        let experiment = match call.level {
            Level::Loader => call.state.unwrap_or(&Value::Null),
            _ => call.experiment,
        };
        let target = Target {
            control: call.name,
            channel,
            experiment,
            extra: call.configuration.get("slack_extra"),
        };
        for message in &messages {
            conversation.send(&client, &target, message).await;
        }
    }
}

impl Control for SlackControl {
    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async move {
            self.play(&call).await;
            Ok(Changes::default())
        })
    }

    /// The run is over: the next one opens a conversation of its own.
    fn cleanup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            *self.run.lock().await = Conversation::default();
        })
    }
}
