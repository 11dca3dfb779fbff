use super::*;
use crate::stand_in::{closed_api_url, Behaviour, JsonCall, StandIn};
use serde_json::json;

fn client(base: String) -> Client {
    Client::new(base, Token::new(" xoxb-api-test ").expect("token")).expect("client")
}

#[test]
fn the_base_url_comes_from_the_setting_then_the_environment_then_the_default() {
    // The only test that touches SLACK_API_URL; the others name their URL explicitly.
    std::env::remove_var(API_URL_ENV);
    assert_eq!(base_url(None, SLACK_SDK_BASE_URL), "https://slack.com/api/");
    std::env::set_var(API_URL_ENV, "http://127.0.0.1:9/api");
    assert_eq!(
        base_url(None, SLACK_SDK_BASE_URL),
        "http://127.0.0.1:9/api/"
    );
    assert_eq!(
        base_url(Some(&json!("http://h/x/")), SLACK_SDK_BASE_URL),
        "http://h/x/"
    );
    assert_eq!(
        base_url(Some(&json!("")), SLACK_SDK_BASE_URL),
        "http://127.0.0.1:9/api/"
    );
    std::env::remove_var(API_URL_ENV);
}

#[test]
fn a_token_is_trimmed_and_never_shown() {
    assert_eq!(Token::new("  "), None);
    let token = Token::new(" xoxb-1 ").expect("token");
    assert_eq!(format!("{token:?}"), "Token(***)");
    assert!(!format!("{:?}", client("http://h/".into())).contains("xoxb"));
}

#[tokio::test]
async fn json_calls_are_slack_sdks_requests() {
    let slack = StandIn::start(Behaviour::Slack);
    let answer = client(slack.api_url())
        .post_json("chat.postMessage", &json!({"channel": "#c", "text": "hi"}))
        .await
        .expect("answer");
    assert_eq!(answer.get("ts"), Some(&json!(crate::stand_in::TS)));
    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    requests[0].assert_json_call("chat.postMessage", "xoxb-api-test");
    assert_eq!(requests[0].json(), json!({"channel": "#c", "text": "hi"}));
}

#[tokio::test]
async fn form_calls_keep_their_field_order() {
    let slack = StandIn::start(Behaviour::Slack);
    client(slack.api_url())
        .post_form(
            "files.getUploadURLExternal",
            &[("filename", "Uploaded file".into()), ("length", "3".into())],
        )
        .await
        .expect("answer");
    let r = &slack.requests()[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.body, "filename=Uploaded+file&length=3");
}

#[tokio::test]
async fn failures_name_the_endpoint_and_never_the_token() {
    let cases = [
        (Behaviour::Status(500), "answered HTTP 500", false),
        (
            Behaviour::SlackError("channel_not_found".into()),
            "answered with the Slack error 'channel_not_found'",
            false,
        ),
    ];
    for (behaviour, says, unreachable) in cases {
        let slack = StandIn::start(behaviour);
        let url = slack.api_url();
        let e = client(url.clone())
            .post_json("chat.update", &json!({}))
            .await
            .expect_err("a failure");
        let text = e.to_string();
        assert!(text.starts_with(&format!("{url}chat.update ")), "{text}");
        assert!(text.contains(says), "{text}");
        assert!(!text.contains("xoxb"), "{text}");
        assert_eq!(e.is_unreachable(), unreachable);
    }
    let closed = closed_api_url();
    let e = client(closed.clone())
        .post_json("chat.postMessage", &json!({}))
        .await
        .expect_err("refused");
    assert!(e.is_unreachable());
    assert!(
        e.to_string()
            .starts_with(&format!("{closed}chat.postMessage could not be reached: ")),
        "{e}"
    );
    assert!(!format!("{e:?}").contains("xoxb"));
}

#[tokio::test(start_paused = true)]
async fn a_slack_that_never_answers_times_out() {
    let slack = StandIn::start(Behaviour::Silent);
    let e = client(slack.api_url())
        .post_json("chat.postMessage", &json!({}))
        .await
        .expect_err("no answer");
    assert!(matches!(e, SlackError::Timeout { .. }), "{e:?}");
    assert!(e.is_unreachable());
    assert!(e.to_string().ends_with("did not answer within 10 s"), "{e}");
}
