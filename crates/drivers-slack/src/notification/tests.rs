//! The expected bodies are what chaostoolkit-slack 0.10.0 (with slackclient 2.9.4) sent
//! to a recording server for the same events.

use super::*;
use crate::stand_in::{closed_api_url, Behaviour, JsonCall, StandIn};

const ICON_URL: &str = "https://avatars1.githubusercontent.com/u/32068152?s=16&v=4";

fn deviated_journal() -> Value {
    json!({
        "experiment": {"title": "E", "steady-state-hypothesis": {"title": "H"}},
        "status": "completed", "deviated": true,
        "steady_states": {
            "before": {"steady_state_met": true, "probes": []},
            "after": {"steady_state_met": false, "probes": [
                {"activity": {"name": "p1"}, "output": 200, "status": "succeeded"},
                {"activity": {"name": "p2"}, "output": null, "status": "failed",
                 "exception": ["Traceback\n", "  ActivityFailed: boom  \n"]}
            ]}
        },
        "run": [
            {"activity": {"name": "a1"}, "status": "succeeded", "output": 1},
            {"activity": {"name": "a2"}, "status": "failed", "output": {"k": [1, true, null]}}
        ],
        "rollbacks": [
            {"activity": {"name": "r1"}, "status": "failed", "output": "",
             "exception": ["x\n", "RuntimeError: nope\n"]}
        ]
    })
}

#[test]
fn a_deviated_journal_gets_upstreams_attachments() {
    let event = json!({"name": "run-deviated", "phase": "run", "ts": 1700000000.25, "payload": deviated_journal()});
    assert_eq!(
        attachments(&event),
        json!([
            {"fields": [
                {"title": "Source", "value": "run", "short": true},
                {"title": "Event", "value": "run-deviated", "short": true},
                {"title": "Experiment", "value": "E", "short": false}
            ], "color": "#439FE0"},
            {"text": "Steady State", "fields": [
                {"title": "Hypothesis", "value": "H", "short": false},
                {"title": "Before", "value": "ok", "short": false},
                {"title": "After", "value": "not met", "short": false},
                {"title": "Tolerance Output", "value": "```ActivityFailed: boom```", "short": false}
            ], "color": "danger"},
            {"text": "Failed Activities", "fields": [
                {"title": "a2", "value": "```{'k': [1, True, None]}```", "short": false}
            ], "color": "danger"},
            {"text": "Failed Rollbacks", "fields": [
                {"title": "r1", "value": "```RuntimeError: nope```", "short": false}
            ], "color": "danger", "ts": 1700000000.25, "footer_icon": ICON_URL, "footer": "Chaos Toolkit"}
        ])
    );
}

#[test]
fn the_footer_goes_on_the_last_attachment_only() {
    let not_a_dict =
        json!({"name": "validate-failed", "phase": "validate", "ts": 2, "payload": "x"});
    assert_eq!(
        attachments(&not_a_dict),
        json!([{"fields": [
            {"title": "Source", "value": "validate", "short": true},
            {"title": "Event", "value": "validate-failed", "short": true}
        ], "color": "#439FE0", "ts": 2, "footer_icon": ICON_URL, "footer": "Chaos Toolkit"}])
    );
    let rollback_only = json!({"name": "run-failed", "phase": "run", "ts": 3, "payload": {
        "experiment": {"title": "E"}, "run": [],
        "rollbacks": [{"activity": {"name": "r"}, "status": "failed", "output": 0}]
    }});
    assert_eq!(
        attachments(&rollback_only),
        json!([
            {"fields": [
                {"title": "Source", "value": "run", "short": true},
                {"title": "Event", "value": "run-failed", "short": true},
                {"title": "Experiment", "value": "E", "short": false}
            ], "color": "#439FE0"},
            {"text": "Steady State", "fields": [
                {"title": "Hypothesis", "value": "N/A", "short": false}
            ], "color": "#439FE0"},
            {"text": "Failed Rollbacks", "fields": [
                {"title": "r", "value": "```0```", "short": false}
            ], "color": "danger", "ts": 3, "footer_icon": ICON_URL, "footer": "Chaos Toolkit"}
        ])
    );
}

#[test]
fn a_before_miss_is_a_warning_colour() {
    let event = json!({"name": "run-failed", "phase": "run", "ts": 1, "payload": {
        "experiment": {"title": "E"},
        "steady_states": {"before": {"steady_state_met": false, "probes": [{"output": "down"}]}}
    }});
    let steady = &attachments(&event)[1];
    assert_eq!(steady["color"], json!("warning"));
    assert_eq!(steady["fields"][2]["value"], json!("```down```"));
}

#[tokio::test]
async fn an_event_is_one_post_message_to_the_channel() {
    let slack = StandIn::start(Behaviour::Slack);
    let channel = json!({"type": "plugin", "module": MODULE, "token": " xoxb-secret ",
                         "channel": " ##chaos ", "api_url": slack.api_url()});
    let event = json!({"name": "run-deviated", "phase": "run", "ts": 1700000000.25, "payload": deviated_journal()});
    SlackNotifier::default()
        .notify(&channel, &event)
        .await
        .expect("sent");
    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    r.assert_json_call("chat.postMessage", "xoxb-secret");
    // `lstrip("#")` then `strip()`, as upstream: the space keeps the hashes.
    assert_eq!(
        r.json(),
        json!({"text": "New Chaos Experiment Event", "attachments": attachments(&event), "channel": "###chaos"})
    );
}

#[tokio::test]
async fn token_and_channel_may_come_from_the_environment() {
    std::env::set_var("SHAKEDOWN_TEST_SLACK_NOTIFY_TOKEN", "xoxb-from-env");
    std::env::set_var("SHAKEDOWN_TEST_SLACK_NOTIFY_CHANNEL", "ops");
    let slack = StandIn::start(Behaviour::Slack);
    let channel = json!({
        "token": {"type": "env", "key": "SHAKEDOWN_TEST_SLACK_NOTIFY_TOKEN"},
        "channel": {"type": "env", "key": "SHAKEDOWN_TEST_SLACK_NOTIFY_CHANNEL"},
        "api_url": slack.api_url()
    });
    let event = json!({"name": "run-started", "phase": "run", "ts": 1, "payload": {"title": "t"}});
    SlackNotifier::default()
        .notify(&channel, &event)
        .await
        .expect("sent");
    let r = &slack.requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer xoxb-from-env"));
    assert_eq!(r.json()["channel"], json!("#ops"));
    // An unset variable is a missing setting.
    let unset = json!({"token": {"type": "env", "key": "SHAKEDOWN_TEST_SLACK_UNSET"}});
    assert_eq!(setting(&unset, "token"), None);
}

#[tokio::test]
async fn without_a_token_or_a_channel_nothing_is_sent() {
    let slack = StandIn::start(Behaviour::Slack);
    let event = json!({"name": "run-started", "phase": "run", "ts": 1, "payload": {}});
    let notifier = SlackNotifier::default();
    for channel in [
        json!({"channel": "c", "api_url": slack.api_url()}),
        json!({"token": "xoxb-1", "api_url": slack.api_url()}),
        json!({"token": "", "channel": "c", "api_url": slack.api_url()}),
    ] {
        let e = notifier
            .notify(&channel, &event)
            .await
            .expect_err("not sent");
        assert!(!e.contains("xoxb"), "{e}");
    }
    assert!(slack.requests().is_empty());
}

#[tokio::test]
async fn an_unreachable_slack_is_tried_once_an_erring_one_every_time() {
    let closed = closed_api_url();
    let notifier = SlackNotifier::default();
    let event = json!({"name": "run-started", "phase": "run", "ts": 1, "payload": {}});
    let channel = json!({"token": "xoxb-1", "channel": "c", "api_url": closed});
    let first = notifier
        .notify(&channel, &event)
        .await
        .expect_err("refused");
    assert!(first.contains("could not be reached"), "{first}");
    let second = notifier
        .notify(&channel, &event)
        .await
        .expect_err("skipped");
    assert!(second.contains("could not be reached earlier"), "{second}");

    let slack = StandIn::start(Behaviour::Status(500));
    let channel = json!({"token": "xoxb-1", "channel": "c", "api_url": slack.api_url()});
    for _ in 0..2 {
        let e = notifier.notify(&channel, &event).await.expect_err("500");
        assert!(e.contains("answered HTTP 500"), "{e}");
    }
    assert_eq!(slack.requests().len(), 2);
}
