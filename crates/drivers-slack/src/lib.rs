//! Native `chaosslack` (chaostoolkit-slack 0.10.0): the notification plugin the book's
//! settings use and the control that keeps a Slack thread per run.
//!
//! | upstream module | here | what |
//! |---|---|---|
//! | `chaosslack.notification` (`notify`) | [`notification`] | one `chat.postMessage` per event, with upstream's attachments |
//! | `chaosslack.control` | [`control`] | a top message per run, updated at the end, and a thread reply per phase (the state as a `state.yaml` snippet where upstream uploads one) |
//! | — | [`api`] | the Slack Web API client both share: base URL, token, bounded timeouts, errors that never carry the token |
//! | — | `stand_in` (tests, feature `stand-in`) | a recording Slack Web API on 127.0.0.1 |
//!
//! One file per upstream module, each with its tests in a `tests.rs` beside it, as in
//! `drivers-addons`. Why native: a Slack notification is how a team hears that a run
//! failed, so it should not need a Python interpreter with chaostoolkit-lib, slackclient
//! and slack_sdk installed beside `chaos`; and a Slack that is down or slow must not hold
//! the run: every request here has a bounded timeout, the first failure is one WARNING
//! naming the control and the endpoint, and the token goes in the `Authorization` header
//! only, never into a message, a log line or the journal.
//!
//! What differs from upstream on purpose (docs/compatibility.md): the token and channel
//! of a notification channel may be `{type: env, key: …}`, the Web API base URL is
//! configurable (`SLACK_API_URL`, or `api_url` / `slack_api_url`), missing settings and
//! failures are WARNINGs rather than DEBUG lines, and a Slack that cannot be reached stops
//! the control for the rest of the run. The upstream modules can still be forced to Python
//! with `CHAOS_PYTHON_MODULES=chaosslack.` (docs/python-bridge.md).

pub mod api;
pub mod control;
pub mod notification;
#[cfg(any(test, feature = "stand-in"))]
pub mod stand_in;

use providers::registry::Registry;
use std::sync::Arc;

/// The upstream version whose requests, texts, attachments and colours this follows.
pub const UPSTREAM_VERSION: &str = "0.10.0";

/// Registers the notification plugin and the control under their upstream module paths.
pub fn register(registry: &mut Registry) {
    registry.register_notifier(
        notification::MODULE,
        Arc::new(notification::SlackNotifier::default()),
    );
    registry.register_control(control::MODULE, Arc::new(control::SlackControl::default()));
    // `chaosslack.probes.get_channel_history` stays with the Python bridge (issue #10
    // asks for the notification and the control only).
}
