//! The expected requests are what chaostoolkit-slack 0.10.0 (with slack_sdk 3.47.0) sent to
//! a recording server for the same hooks.

use super::*;
use crate::stand_in::{Behaviour, Request, StandIn, CHANNEL_ID, FILE_ID, TS};

/// What one run hands the control, and a way to call a hook with it.
struct Run {
    experiment: Value,
    arguments: Map,
    configuration: Map,
    secrets: Map,
}

impl Run {
    fn new(api_url: &str) -> Run {
        let object = |v: Value| v.as_object().cloned().unwrap_or_default();
        Run {
            experiment: json!({"title": "My exp", "method": []}),
            arguments: object(json!({"channel": "#chaos"})),
            configuration: object(json!({"slack_api_url": api_url})),
            secrets: object(json!({"slack": {"token": "xoxb-control"}})),
        }
    }

    async fn hook(
        &self,
        control: &SlackControl,
        level: Level,
        when: When,
        context: &Value,
        state: Option<&Value>,
    ) {
        let call = HookCall {
            level,
            when,
            name: "slack",
            context,
            state,
            arguments: &self.arguments,
            configuration: &self.configuration,
            secrets: &self.secrets,
            settings: &Value::Null,
            experiment: &self.experiment,
        };
        let changes = control.hook(call).await.expect("hooks never fail");
        assert_eq!(changes, Changes::default());
    }
}

fn top_attachments(state: &str, color: &str, text: &str) -> Value {
    json!([{"color": color, "fallback": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*My exp*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("*Host:* {}\n*State:* {state}", host())}]}
    ]}])
}

fn reply(text: &str) -> Value {
    json!({"fallback": text, "channel": "#chaos", "text": text, "thread_ts": TS})
}

fn paths(requests: &[Request]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

#[tokio::test]
async fn a_run_is_a_top_message_its_thread_and_a_final_update() {
    let slack = StandIn::start(Behaviour::Slack);
    let run = Run::new(&slack.api_url());
    let control = SlackControl::default();
    let e = run.experiment.clone();
    let activity = json!({"type": "action", "name": "a"});
    let record = json!({"activity": activity, "output": 3, "status": "succeeded"});
    let hypothesis = json!({"title": "h"});
    let state = json!({"steady_state_met": false, "probes": []});
    let journal = json!({"status": "completed", "deviated": true});

    run.hook(&control, Level::Experiment, When::Before, &e, None)
        .await;
    run.hook(&control, Level::Hypothesis, When::Before, &hypothesis, None)
        .await;
    run.hook(
        &control,
        Level::Hypothesis,
        When::After,
        &hypothesis,
        Some(&state),
    )
    .await;
    run.hook(&control, Level::Method, When::Before, &e, None)
        .await;
    run.hook(&control, Level::Activity, When::Before, &activity, None)
        .await;
    run.hook(
        &control,
        Level::Activity,
        When::After,
        &activity,
        Some(&record),
    )
    .await;
    run.hook(&control, Level::Method, When::After, &e, Some(&json!([])))
        .await;
    run.hook(&control, Level::Rollback, When::Before, &e, None)
        .await;
    run.hook(&control, Level::Rollback, When::After, &e, Some(&json!([])))
        .await;
    run.hook(&control, Level::Experiment, When::After, &e, Some(&journal))
        .await;

    let requests = slack.requests();
    let upload = [
        "/api/files.getUploadURLExternal",
        "/upload/F0STANDIN",
        "/api/files.completeUploadExternal",
    ];
    let mut expected = vec!["/api/chat.postMessage"; 2];
    expected.extend(upload);
    expected.extend(["/api/chat.postMessage"; 2]);
    expected.extend(upload);
    expected.extend(["/api/chat.postMessage"; 3]);
    expected.extend(["/api/chat.update", "/api/chat.postMessage"]);
    assert_eq!(paths(&requests), expected);
    for r in &requests {
        assert_eq!(r.method, "POST");
        let auth = r.header("authorization");
        if r.path.starts_with("/upload/") {
            assert_eq!(auth, None, "the upload URL gets no token");
        } else {
            assert_eq!(auth, Some("Bearer xoxb-control"));
        }
    }

    assert_eq!(
        requests[0].json(),
        json!({"fallback": "Experiment is starting", "channel": "#chaos", "text": "Experiment is starting",
               "attachments": top_attachments("Running", "#222831", "Experiment is starting")})
    );
    assert_eq!(
        requests[1].json(),
        reply("Steady state hypothesis is being evaluated")
    );
    let yaml = "probes: []\nsteady_state_met: false\n";
    assert_eq!(
        requests[2].form(),
        [
            ("filename", "Uploaded file"),
            ("length", "35"),
            ("snippet_type", "yaml")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(requests[3].body, yaml);
    assert_eq!(
        requests[4].form(),
        [
            ("length", "35"),
            (
                "files",
                &format!("[{{\"id\": \"{FILE_ID}\", \"title\": \"state.yaml\"}}]")
            ),
            ("channel_id", CHANNEL_ID),
            (
                "initial_comment",
                "Steady state hypothesis finished and *deviated*"
            ),
            ("thread_ts", TS),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert_eq!(requests[5].json(), reply("Method is starting"));
    assert_eq!(requests[6].json(), reply("Activity `a` is starting"));
    assert_eq!(
        requests[8].body,
        "activity:\n  name: a\n  type: action\noutput: 3\nstatus: succeeded\n"
    );
    assert_eq!(
        requests[9].form()[3].1,
        "Activity `a` finished with status `succeeded`"
    );
    assert_eq!(requests[10].json(), reply("Method is finished"));
    assert_eq!(requests[11].json(), reply("Rollback is starting"));
    assert_eq!(requests[12].json(), reply("Rollback is finished"));
    assert_eq!(
        requests[13].json(),
        json!({"channel": CHANNEL_ID, "ts": TS, "text": "Experiment is finished",
               "attachments": top_attachments("Deviated", "#FF1700", "Experiment is finished"),
               "reply_broadcast": false})
    );
    assert_eq!(
        requests[14].json(),
        reply("Experiment is finished with status `deviated`")
    );
}

#[test]
fn states_and_colours_are_upstreams() {
    let cases = [
        (
            json!({"status": "completed", "deviated": false}),
            "Completed successfully",
            "#06FF00",
        ),
        (
            json!({"status": "completed", "deviated": true}),
            "Deviated",
            "#FF1700",
        ),
        (
            json!({"status": "failed", "deviated": false}),
            "Failed to complete",
            "#FF8E00",
        ),
        (
            json!({"status": "interrupted", "deviated": false}),
            "Interrupted by operator or signal",
            "#CEAB93",
        ),
        (
            json!({"status": "aborted", "deviated": false}),
            "Aborted",
            "#000000",
        ),
    ];
    for (journal, state, colour) in cases {
        assert_eq!(final_state(Some(&journal)), state);
        assert_eq!(color(state), colour);
    }
    assert_eq!(final_state(None), "Running");
    assert_eq!(color("Running"), "#222831");
}

#[tokio::test]
async fn the_loader_opens_the_conversation_and_extra_blocks_follow_the_title() {
    let slack = StandIn::start(Behaviour::Slack);
    let mut run = Run::new(&slack.api_url());
    run.configuration
        .insert("slack_extra".into(), json!(["*Team:* SRE"]));
    let control = SlackControl::default();
    let source = json!("experiment.json");
    let loaded = run.experiment.clone();
    run.hook(&control, Level::Loader, When::Before, &source, None)
        .await;
    run.hook(&control, Level::Loader, When::After, &source, Some(&loaded))
        .await;
    run.hook(&control, Level::Experiment, When::Before, &loaded, None)
        .await;
    let requests = slack.requests();
    assert_eq!(
        paths(&requests),
        ["/api/chat.postMessage", "/api/chat.update"]
    );
    let mut attachments = top_attachments("Running", "#222831", "Experiment loaded");
    attachments[0]["blocks"]
        .as_array_mut()
        .expect("blocks")
        .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": "*Team:* SRE"}}));
    assert_eq!(requests[0].json()["attachments"], attachments);
    assert_eq!(requests[1].json()["text"], json!("Experiment is starting"));
}

#[tokio::test]
async fn without_a_channel_or_a_token_nothing_is_sent() {
    let slack = StandIn::start(Behaviour::Slack);
    let e = json!({"title": "t"});
    let mut no_channel = Run::new(&slack.api_url());
    no_channel.arguments.clear();
    let mut no_token = Run::new(&slack.api_url());
    no_token.secrets.clear();
    // Unless the environment has them, which this test process does not set.
    if std::env::var(CHANNEL_ENV).is_err() && std::env::var(TOKEN_ENV).is_err() {
        for run in [no_channel, no_token] {
            let control = SlackControl::default();
            run.hook(&control, Level::Experiment, When::Before, &e, None)
                .await;
            run.hook(&control, Level::Method, When::Before, &e, None)
                .await;
            assert!(control.run.lock().await.stopped);
        }
        assert!(slack.requests().is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn a_slack_that_never_answers_costs_one_timeout_per_run() {
    let slack = StandIn::start(Behaviour::Silent);
    let run = Run::new(&slack.api_url());
    let control = SlackControl::default();
    let e = run.experiment.clone();
    run.hook(&control, Level::Experiment, When::Before, &e, None)
        .await;
    run.hook(&control, Level::Method, When::Before, &e, None)
        .await;
    run.hook(
        &control,
        Level::Experiment,
        When::After,
        &e,
        Some(&json!({"status": "completed", "deviated": false})),
    )
    .await;
    assert!(control.run.lock().await.stopped);
    assert!(
        slack.requests().len() <= 1,
        "only the first message was tried"
    );
    // The next run tries again.
    control.cleanup("slack").await;
    assert!(!control.run.lock().await.stopped);
}

#[tokio::test]
async fn an_erring_slack_is_tried_at_every_hook_and_a_new_run_opens_a_new_thread() {
    let slack = StandIn::start(Behaviour::SlackError("not_in_channel".into()));
    let run = Run::new(&slack.api_url());
    let control = SlackControl::default();
    let e = run.experiment.clone();
    run.hook(&control, Level::Experiment, When::Before, &e, None)
        .await;
    run.hook(&control, Level::Method, When::Before, &e, None)
        .await;
    // No top message was posted, so each hook tries to post it again, as upstream does.
    assert_eq!(
        paths(&slack.requests()),
        ["/api/chat.postMessage", "/api/chat.postMessage"]
    );
    assert!(control.run.lock().await.warned);

    let healthy = StandIn::start(Behaviour::Slack);
    let control = SlackControl::default();
    let run = Run::new(&healthy.api_url());
    run.hook(&control, Level::Experiment, When::Before, &e, None)
        .await;
    control.cleanup("slack").await;
    run.hook(&control, Level::Experiment, When::Before, &e, None)
        .await;
    let requests = healthy.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.json().get("thread_ts").is_none()));
}
