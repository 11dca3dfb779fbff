//! A recording stand-in for the Slack Web API on 127.0.0.1, for tests (this crate's, and
//! the CLI's through the `stand-in` feature, which point both `chaos` and the Python
//! reference at it).
//!
//! Built on `providers::stand_in` (the recording server the Gremlin stand-in shares); it
//! answers as Slack would ([`Behaviour::Slack`]), or with an HTTP error, a Slack error,
//! or never ([`Behaviour`]). Answers are fixed, so two clients that send the same requests
//! get the same answers: `chat.postMessage`/`chat.update` answer channel [`CHANNEL_ID`] and
//! ts [`TS`], `files.getUploadURLExternal` hands out `{base}/upload/{FILE_ID}`.

use providers::stand_in::{Recorder, Reply};
use std::sync::Arc;
use std::time::Duration;

pub use providers::stand_in::Request;

/// The channel id every message lands in.
pub const CHANNEL_ID: &str = "C0STANDIN";
/// The ts of every message.
pub const TS: &str = "1700000000.000100";
/// The id of every uploaded file.
pub const FILE_ID: &str = "F0STANDIN";

/// How the stand-in answers the API methods (uploads are always accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// As Slack does when all is well.
    Slack,
    /// This HTTP status, with a text body.
    Status(u16),
    /// `200 {"ok": false, "error": …}`.
    SlackError(String),
    /// Reads the request, records it, and never answers (the connection stays open for
    /// a minute).
    Silent,
}

/// The Slack-specific check of a recorded request.
pub trait JsonCall {
    /// Asserts that this is slack_sdk's JSON call of the Web API `method` with `token`.
    fn assert_json_call(&self, method: &str, token: &str);
}

impl JsonCall for Request {
    fn assert_json_call(&self, method: &str, token: &str) {
        assert_eq!(
            (self.method.as_str(), self.path.as_str()),
            ("POST", format!("/api/{method}").as_str())
        );
        assert_eq!(
            self.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json;charset=utf-8")
        );
    }
}

/// A base URL on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_api_url() -> String {
    format!(
        "http://127.0.0.1:{}/api/",
        providers::stand_in::closed_port()
    )
}

/// A running stand-in; it stops accepting when dropped (at its next connection).
pub struct StandIn {
    recorder: Recorder,
}

impl StandIn {
    pub fn start(behaviour: Behaviour) -> StandIn {
        let answer = move |request: &Request, port: u16| {
            let path = request.path.as_str();
            let upload = path.starts_with("/upload/");
            let (status, content_type, body) = match &behaviour {
                Behaviour::Silent if !upload => return Reply::Silent(Duration::from_secs(60)),
                Behaviour::Status(code) if !upload => {
                    (*code, "text/plain", format!("status {code}"))
                }
                Behaviour::SlackError(error) if !upload => (
                    200,
                    "application/json; charset=utf-8",
                    serde_json::json!({"ok": false, "error": error}).to_string(),
                ),
                _ => slack_answer(path, port, request.body.len()),
            };
            Reply::new(status, content_type, body)
        };
        StandIn {
            recorder: Recorder::start(Arc::new(answer)),
        }
    }

    /// The Web API base URL, for `SLACK_API_URL`: `http://127.0.0.1:PORT/api/`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/api/", self.recorder.port())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.recorder.requests()
    }
}

/// What Slack answers to each method.
fn slack_answer(path: &str, port: u16, length: usize) -> (u16, &'static str, String) {
    let json = "application/json; charset=utf-8";
    let method = path.rsplit('/').next().unwrap_or_default();
    let answer = match method {
        _ if path.starts_with("/upload/") => {
            return (200, "text/plain; charset=utf-8", format!("OK - {length}"));
        }
        "chat.postMessage" | "chat.update" => serde_json::json!({
            "ok": true, "channel": CHANNEL_ID, "ts": TS, "message": {"type": "message", "ts": TS}
        }),
        "files.getUploadURLExternal" => serde_json::json!({
            "ok": true,
            "upload_url": format!("http://127.0.0.1:{port}/upload/{FILE_ID}"),
            "file_id": FILE_ID
        }),
        "files.completeUploadExternal" => serde_json::json!({
            "ok": true, "files": [{"id": FILE_ID, "title": "state.yaml"}]
        }),
        _ => serde_json::json!({"ok": false, "error": "unknown_method"}),
    };
    (200, json, answer.to_string())
}
