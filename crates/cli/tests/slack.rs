//! Slack, natively: `chaosslack.notification` and `chaosslack.control` against a recording
//! stand-in for the Slack Web API (`drivers_slack::stand_in`, reached through
//! `SLACK_API_URL`), and against the reference running chaostoolkit-slack 0.10.0 from
//! PyPI (`scripts/reference-venv`), pointed at its own stand-in by
//! `slack_modules/sitecustomize.py`: the same statuses, journals, log lines and Slack
//! requests. Then what must not hurt a run: no token, an unreachable Slack, a Slack that
//! answers 500; and the token must never show.

#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use drivers_slack::stand_in::{closed_api_url, Behaviour, JsonCall, Request, StandIn};
use run::{chaos, read_json, scratch, stderr};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

const CONTROL_TOKEN: &str = "xoxb-control-secret-token";
const NOTIFY_TOKEN: &str = "xoxb-notify-secret-token";

/// Probes, an action and a rollback, with the Slack control declared in the experiment and
/// its token from the environment through the secrets.
const EXPERIMENT: &str = r##"{
  "title": "Slack says",
  "description": "d",
  "secrets": {"slack": {"token": {"type": "env", "key": "SLACK_BOT_TOKEN"}}},
  "controls": [{"name": "slack", "provider": {"type": "python", "module": "chaosslack.control", "arguments": {"channel": "#chaos"}}}],
  "steady-state-hypothesis": {"title": "h", "probes": [
    {"type": "probe", "name": "p", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
  ]},
  "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "echo", "arguments": "hi"}}],
  "rollbacks": [{"type": "action", "name": "r", "provider": {"type": "process", "path": "true"}}]
}"##;

/// The book's notification channel, its token from the environment.
const SETTINGS: &str = "notifications:
  - type: plugin
    module: chaosslack.notification
    token: {type: env, key: SLACK_TOKEN}
    channel: chaos
";

fn setup(name: &str, experiment: &str, settings: &str) -> std::path::PathBuf {
    let dir = scratch("slack", name);
    std::fs::write(dir.join("experiment.json"), experiment).expect("write the experiment");
    std::fs::write(dir.join("settings.yaml"), settings).expect("write the settings");
    dir
}

fn env(slack: &str) -> Vec<(&str, &str)> {
    vec![
        ("SLACK_API_URL", slack),
        ("SLACK_BOT_TOKEN", CONTROL_TOKEN),
        ("SLACK_TOKEN", NOTIFY_TOKEN),
    ]
}

fn run_ours(dir: &Path, slack: &str) -> Output {
    chaos(dir, &["run", "experiment.json"], &env(slack))
}

fn run_reference(dir: &Path, slack: &str) -> Output {
    let mut cmd = reference::reference_run_command(dir, "slack_modules");
    for (k, v) in env(slack) {
        cmd.env(k, v);
    }
    cmd.output().expect("run the reference")
}

fn log_lines(out: &Output) -> Vec<String> {
    reference::log_lines(&out.stderr)
}

/// What a request says, less what differs from run to run: the notification's `ts`, the
/// timestamps and durations of the records in a `state.yaml` snippet, and so the snippet's
/// `length`.
fn comparable(r: &Request) -> Value {
    let body = if r.path.starts_with("/upload/") {
        let masked: Vec<String> = r
            .body
            .lines()
            .map(|line| {
                let key = line.trim_start().split(':').next().unwrap_or("");
                if ["start", "end", "duration"].contains(&key) {
                    format!("{}: <t>", line.split(':').next().unwrap_or(""))
                } else {
                    line.to_string()
                }
            })
            .collect();
        json!(masked)
    } else if r.header("content-type") == Some("application/x-www-form-urlencoded") {
        let form: Vec<Value> = r
            .form()
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "length" { "<n>".to_string() } else { v };
                json!([k, v])
            })
            .collect();
        json!(form)
    } else {
        let mut body = r.json();
        for attachment in body["attachments"].as_array_mut().into_iter().flatten() {
            if attachment.get("ts").is_some_and(Value::is_number) {
                attachment["ts"] = json!("<ts>");
            }
        }
        body
    };
    json!({
        "method": r.method,
        "path": r.path,
        "authorization": r.header("authorization"),
        "content-type": r.header("content-type"),
        "body": body,
    })
}

/// Status, deviation and each record's name, status and output.
fn journal_outline(journal: &Value) -> Value {
    let records = |list: &Value| -> Vec<Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|r| json!([r["activity"]["name"], r["status"], r["output"]]))
            .collect()
    };
    json!({
        "status": journal["status"],
        "deviated": journal["deviated"],
        "before": records(&journal["steady_states"]["before"]["probes"]),
        "after": records(&journal["steady_states"]["after"]["probes"]),
        "run": records(&journal["run"]),
        "rollbacks": records(&journal["rollbacks"]),
    })
}

fn reference_has_chaosslack() {
    reference::assert_reference_has(
        "import chaosslack.control, chaosslack.notification",
        "chaostoolkit-slack 0.10.0",
    );
}

#[test]
fn the_reference_sends_the_same_slack_requests() {
    reference_has_chaosslack();
    // The token as the book writes it: upstream cannot read `{type: env, …}` there (it
    // fails on `.strip()` of a dict and sends nothing).
    let settings = SETTINGS.replace("{type: env, key: SLACK_TOKEN}", NOTIFY_TOKEN);
    // A run that completes (2 notifications, 16 messages, 5 snippets of 3 requests each),
    // and one whose steady state is not met before the method (no method; the "not met"
    // attachment, the deviated thread reply). The exit codes are the reference's.
    // And the control declared in the settings (a global control), which also hears the
    // loader's hook ("Experiment loaded" opens the conversation).
    let failing = EXPERIMENT.replace(r#""tolerance": 0"#, r#""tolerance": 1"#);
    let (head, rest) = EXPERIMENT
        .split_once("  \"controls\"")
        .expect("the experiment declares the control");
    let without_control = format!("{head}{}", rest.split_once('\n').map_or("", |r| r.1));
    let global = format!(
        "{settings}controls:\n  slack:\n    provider:\n      type: python\n      module: chaosslack.control\n      arguments: {{channel: '#chaos'}}\n"
    );
    for (name, experiment, settings, requests) in [
        ("completes", EXPERIMENT, &settings, 33),
        ("fails", failing.as_str(), &settings, 19),
        ("global", without_control.as_str(), &global, 34),
    ] {
        let ours_dir = setup(&format!("{name}-ours"), experiment, settings);
        let reference_dir = setup(&format!("{name}-reference"), experiment, settings);
        let ours_slack = StandIn::start(Behaviour::Slack);
        let reference_slack = StandIn::start(Behaviour::Slack);
        let ours = run_ours(&ours_dir, &ours_slack.api_url());
        let theirs = run_reference(&reference_dir, &reference_slack.api_url());

        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{name}: {}\n{}",
            stderr(&ours),
            stderr(&theirs)
        );
        // Less the line Shakedown adds under a missed tolerance (docs/compatibility.md).
        let ours_log: Vec<String> = log_lines(&ours)
            .into_iter()
            .filter(|l| !l.starts_with("ERROR   => observed "))
            .collect();
        assert_eq!(ours_log, log_lines(&theirs), "{name}");
        let journal = |dir: &Path| journal_outline(&read_json(&dir.join("journal.json")));
        assert_eq!(journal(&ours_dir), journal(&reference_dir), "{name}");

        let ours_requests: Vec<Value> = ours_slack.requests().iter().map(comparable).collect();
        let reference_requests: Vec<Value> =
            reference_slack.requests().iter().map(comparable).collect();
        assert_eq!(ours_requests.len(), requests, "{name}");
        for (i, (o, t)) in ours_requests.iter().zip(&reference_requests).enumerate() {
            assert_eq!(o, t, "{name}: request {i}");
        }
        assert_eq!(ours_requests.len(), reference_requests.len(), "{name}");
        // The token went where it belongs, and nowhere else.
        let written = std::fs::read_to_string(ours_dir.join("journal.json")).expect("journal");
        for token in [CONTROL_TOKEN, NOTIFY_TOKEN] {
            assert!(!written.contains(token));
            assert!(!stderr(&ours).contains(token));
        }
        let _ = std::fs::remove_dir_all(&ours_dir);
        let _ = std::fs::remove_dir_all(&reference_dir);
    }
}

/// The WARNING lines of a run.
fn warnings(out: &Output) -> Vec<String> {
    log_lines(out)
        .into_iter()
        .filter(|l| l.starts_with("WARNING "))
        .collect()
}

#[test]
fn a_failing_slack_is_one_warning_per_module_and_the_run_goes_on() {
    let closed = closed_api_url();
    let erring = StandIn::start(Behaviour::Status(500));
    for (name, url, why) in [
        ("closed", closed.clone(), "could not be reached"),
        ("erring", erring.api_url(), "answered HTTP 500"),
    ] {
        let dir = setup(name, EXPERIMENT, SETTINGS);
        let out = chaos(&dir, &["--verbose", "run", "experiment.json"], &env(&url));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let journal = read_json(&dir.join("journal.json"));
        assert_eq!(journal["status"], "completed");
        let warnings = warnings(&out);
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].starts_with(&format!(
                "WARNING chaosslack.notification: the Slack notification was not sent: {url}chat.postMessage {why}"
            )),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[1].starts_with(&format!(
                "WARNING Slack control 'slack' (chaosslack.control): {url}chat.postMessage {why}"
            )),
            "{}",
            warnings[1]
        );
        // Not in the console (DEBUG lines included), the log file or the journal.
        let mut written = stderr(&out);
        for file in ["journal.json", "chaostoolkit.log"] {
            written.push_str(&std::fs::read_to_string(dir.join(file)).unwrap_or_default());
        }
        for token in [CONTROL_TOKEN, NOTIFY_TOKEN] {
            assert!(!written.contains(token), "{name}: the token leaked");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Erring, not unreachable: every hook tried again (the top message each time).
    assert!(erring.requests().len() > 10);
}

#[test]
fn without_a_token_nothing_is_sent_and_one_warning_says_so() {
    let slack = StandIn::start(Behaviour::Slack);
    let experiment = EXPERIMENT.replace(
        r#""secrets": {"slack": {"token": {"type": "env", "key": "SLACK_BOT_TOKEN"}}},"#,
        "",
    );
    let dir = setup("no-token", &experiment, SETTINGS);
    let url = slack.api_url();
    let out = chaos(
        &dir,
        &["run", "experiment.json"],
        &[("SLACK_API_URL", url.as_str())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        warnings(&out),
        [
            format!("WARNING chaosslack.notification: the channel has no Slack token (`token`), so nothing is sent to {url}chat.postMessage"),
            format!("WARNING Slack control 'slack' (chaosslack.control): no Slack token (secrets `slack.token` or SLACK_BOT_TOKEN), so nothing is sent to {url} in this run"),
        ]
    );
    assert!(slack.requests().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_experiment_is_a_validate_failed_notification() {
    let slack = StandIn::start(Behaviour::Slack);
    let settings = format!("{SETTINGS}    events: [validate-failed, run-started]\n");
    let dir = setup(
        "invalid",
        r#"{"title": "Broken", "description": "d"}"#,
        &settings,
    );
    let out = run_ours(&dir, &slack.api_url());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let requests = slack.requests();
    let events: Vec<Value> = requests
        .iter()
        .map(|r| {
            r.assert_json_call("chat.postMessage", NOTIFY_TOKEN);
            r.json()["attachments"][0]["fields"].clone()
        })
        .collect();
    assert_eq!(
        events,
        [
            json!([
                {"title": "Source", "value": "run", "short": true},
                {"title": "Event", "value": "run-started", "short": true},
                {"title": "Experiment", "value": "Broken", "short": false}
            ]),
            json!([
                {"title": "Source", "value": "validate", "short": true},
                {"title": "Event", "value": "validate-failed", "short": true},
                {"title": "Experiment", "value": "Broken", "short": false}
            ])
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_secret_an_activity_prints_is_masked_in_what_slack_receives() {
    let slack = StandIn::start(Behaviour::Slack);
    // The action echoes the control's token (`${token}` is the `slack` secret).
    let experiment = EXPERIMENT.replace(r#""arguments": "hi""#, r#""arguments": "${token}""#);
    let dir = setup("masked", &experiment, SETTINGS);
    let out = run_ours(&dir, &slack.api_url());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let requests = slack.requests();
    let snippet = requests
        .iter()
        .find(|r| r.path.starts_with("/upload/") && r.body.contains("name: a\n"))
        .expect("the action's run as a snippet");
    assert!(snippet.body.contains("stdout: '***"), "{}", snippet.body);
    for r in &requests {
        assert!(!r.body.contains(CONTROL_TOKEN), "{} {}", r.path, r.body);
        assert!(!r.body.contains(NOTIFY_TOKEN), "{} {}", r.path, r.body);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
