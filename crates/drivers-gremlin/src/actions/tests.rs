//! The actions against the recording stand-in: exact requests, upstream's messages.

use super::*;
use crate::stand_in::{self, Behaviour, StandIn};
use serde_json::json;

fn map(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn login_secrets() -> Map {
    map(json!({"email": "ops@example.com", "password": "p@ss w&rd", "org_name": stand_in::ORG}))
}

fn env(url: &str) -> Env {
    Env {
        api_url: Some(url.to_string()),
        api_key: None,
        team_id: None,
    }
}

async fn call(
    func: &str,
    arguments: Value,
    secrets: Map,
    env: &Env,
) -> Result<Value, ProviderError> {
    let spec = SPECS.iter().find(|s| s.name == func).unwrap();
    let configuration = Map::new();
    let args = table::bind(func, spec.params, map(arguments))?;
    let bound = Bound {
        args,
        configuration: &configuration,
        secrets,
    };
    match func {
        "attack" => attack_with(&bound, env).await,
        "halt_attack" => halt_attack_with(&bound, env).await,
        _ => halt_all_attacks_with(&bound, env).await,
    }
}

fn message(r: Result<Value, ProviderError>) -> String {
    match r {
        Ok(v) => format!("succeeded unexpectedly: {v}"),
        Err(e) => e.to_string(),
    }
}

fn assert_login(request: &stand_in::Request) {
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", "/v1/users/auth")
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.header("authorization"), None);
    assert_eq!(
        request.form(),
        [
            ("email".to_string(), "ops@example.com".to_string()),
            ("password".to_string(), "p@ss w&rd".to_string())
        ]
    );
}

#[tokio::test]
async fn attack_logs_in_picks_the_org_and_posts_the_attack() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let out = call(
        "attack",
        json!({"command": {"type": "cpu", "args": ["-c", "1"]}, "target": {"type": "Random"}}),
        login_secrets(),
        &env(&gremlin.api_url()),
    )
    .await;
    assert_eq!(out, Ok(json!(stand_in::ATTACK_ID)));
    let requests = gremlin.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_login(&requests[0]);
    let attack = &requests[1];
    assert_eq!(
        (attack.method.as_str(), attack.path.as_str()),
        (
            "POST",
            format!("/v1/attacks/new?teamId={}", stand_in::TEAM_ID).as_str()
        )
    );
    assert_eq!(
        attack.header("authorization"),
        Some(stand_in::SESSION_HEADER)
    );
    assert_eq!(attack.header("content-type"), Some("application/json"));
    assert_eq!(
        attack.json(),
        json!({"command": {"type": "cpu", "args": ["-c", "1"]}, "target": {"type": "Random"},
               "labels": null, "tags": null})
    );
}

#[tokio::test]
async fn the_team_variable_wins_over_the_session_team() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let env = Env {
        team_id: Some("team-from-env".into()),
        ..env(&gremlin.api_url())
    };
    let out = call(
        "attack",
        json!({"command": {"type": "shutdown"}, "target": {"type": "Exact"}, "labels": {"a": "b"}, "tags": {"t": 1}}),
        login_secrets(),
        &env,
    )
    .await;
    assert_eq!(out, Ok(json!(stand_in::ATTACK_ID)));
    let requests = gremlin.requests();
    assert_eq!(requests[1].path, "/v1/attacks/new?teamId=team-from-env");
    assert_eq!(requests[1].json()["labels"], json!({"a": "b"}));
    assert_eq!(requests[1].json()["tags"], json!({"t": 1}));
}

#[tokio::test]
async fn without_secrets_the_api_key_and_team_are_used() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let env = Env {
        api_key: Some(Credential::new("k-123")),
        team_id: Some("team-9".into()),
        ..env(&gremlin.api_url())
    };
    let out = call(
        "attack",
        json!({"command": {"type": "cpu"}, "target": {"type": "Random"}}),
        Map::new(),
        &env,
    )
    .await;
    assert_eq!(out, Ok(json!(stand_in::ATTACK_ID)));
    let requests = gremlin.requests();
    assert_eq!(requests.len(), 1, "no login with an API key");
    assert_eq!(requests[0].path, "/v1/attacks/new?teamId=team-9");
    assert_eq!(requests[0].header("authorization"), Some("Key k-123"));
}

#[tokio::test]
async fn api_key_path_errors_are_upstreams_and_send_nothing() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let args = json!({"command": {"type": "cpu"}, "target": {"type": "Random"}});
    assert_eq!(
        message(call("attack", args.clone(), Map::new(), &env(&gremlin.api_url())).await),
        "chaoslib.exceptions.ActivityFailed: Gremlin authentication failed: No API Key present"
    );
    let keyed = Env {
        api_key: Some(Credential::new("k")),
        ..env(&gremlin.api_url())
    };
    assert_eq!(
        message(call("attack", args, Map::new(), &keyed).await),
        "chaoslib.exceptions.ActivityFailed: Gremlin attack failed: Team ID must be provided with API Key authentication."
    );
    assert_eq!(
        message(call("halt_all_attacks", json!({}), Map::new(), &keyed).await),
        "chaoslib.exceptions.ActivityFailed: Gremlin halt failed: Team ID must be provided with API Key authentication."
    );
    assert!(gremlin.requests().is_empty());
}

#[tokio::test]
async fn login_errors_are_upstreams() {
    let args = json!({"command": {"type": "cpu"}, "target": {"type": "Random"}});
    let bad = StandIn::start(Behaviour::BadLogin);
    assert_eq!(
        message(
            call(
                "attack",
                args.clone(),
                login_secrets(),
                &env(&bad.api_url())
            )
            .await
        ),
        r#"chaoslib.exceptions.ActivityFailed: Gremlin authentication failed: {"message":"Invalid credentials"}"#
    );
    assert_eq!(bad.requests().len(), 1, "no attack after a failed login");

    let gremlin = StandIn::start(Behaviour::Gremlin);
    let mut other = login_secrets();
    other.insert("org_name".into(), json!("nope"));
    assert_eq!(
        message(call("attack", args.clone(), other, &env(&gremlin.api_url())).await),
        "chaoslib.exceptions.ActivityFailed: User 'ops@example.com' does not seem to belong to org 'nope'"
    );
    let mut extra = login_secrets();
    extra.insert("api_key".into(), json!("x"));
    assert_eq!(
        message(call("attack", args.clone(), extra, &env(&gremlin.api_url())).await),
        "TypeError: auth() got an unexpected keyword argument 'api_key'"
    );
    let partial = map(json!({"email": "a", "password": "b"}));
    assert_eq!(
        message(call("attack", args, partial, &env(&gremlin.api_url())).await),
        "TypeError: auth() missing 1 required positional argument: 'org_name'"
    );
    assert_eq!(
        gremlin.requests().len(),
        1,
        "only the wrong-org login was sent"
    );
}

#[tokio::test]
async fn a_refused_attack_and_an_unreachable_api_are_clear_failures() {
    let failing = StandIn::start(Behaviour::Status(500));
    let keyed = |url: String| Env {
        api_url: Some(url),
        api_key: Some(Credential::new("k")),
        team_id: Some("t".into()),
    };
    let args = json!({"command": {"type": "cpu"}, "target": {"type": "Random"}});
    let out = call(
        "attack",
        args.clone(),
        Map::new(),
        &keyed(failing.api_url()),
    )
    .await;
    assert_eq!(
        message(out.clone()),
        "chaoslib.exceptions.ActivityFailed: Gremlin attack failed: status 500"
    );
    assert_eq!(out.err().and_then(|e| e.kind()), Some(FailureKind::Remote));

    let closed = stand_in::closed_api_url();
    let out = call("attack", args, login_secrets(), &env(&closed)).await;
    let text = message(out.clone());
    assert!(
        text.starts_with(&format!("chaoslib.exceptions.ActivityFailed: the Gremlin API at {closed}/users/auth could not be reached: ")),
        "{text}"
    );
    assert!(!text.contains("p@ss"), "no password in {text}");
    assert_eq!(
        out.err().and_then(|e| e.kind()),
        Some(FailureKind::Unreachable)
    );
}

#[tokio::test]
async fn halts_delete_one_or_all_attacks_of_the_team() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let e = env(&gremlin.api_url());
    assert_eq!(
        call(
            "halt_attack",
            json!({"guid": stand_in::ATTACK_ID}),
            login_secrets(),
            &e
        )
        .await,
        Ok(json!(""))
    );
    assert_eq!(
        call("halt_all_attacks", json!({}), login_secrets(), &e).await,
        Ok(json!(""))
    );
    let requests = gremlin.requests();
    assert_eq!(requests.len(), 4);
    assert_login(&requests[0]);
    assert_login(&requests[2]);
    let team = stand_in::TEAM_ID;
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        (
            "DELETE",
            format!("/v1/attacks/{}?teamId={team}", stand_in::ATTACK_ID).as_str()
        )
    );
    assert_eq!(
        (requests[3].method.as_str(), requests[3].path.as_str()),
        ("DELETE", format!("/v1/attacks?teamId={team}").as_str())
    );
    for r in [&requests[1], &requests[3]] {
        assert_eq!(r.header("authorization"), Some(stand_in::SESSION_HEADER));
        assert_eq!(r.body, "");
    }

    let failing = StandIn::start(Behaviour::Status(404));
    let keyed = Env {
        api_url: Some(failing.api_url()),
        api_key: Some(Credential::new("k")),
        team_id: Some("t".into()),
    };
    assert_eq!(
        message(call("halt_attack", json!({"guid": "g-1"}), Map::new(), &keyed).await),
        "chaoslib.exceptions.ActivityFailed: Gremlin halt failed: status 404"
    );
}

#[tokio::test]
async fn a_guid_that_is_not_one_is_refused_before_any_request() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    for guid in [json!(""), json!(null), json!("../users"), json!("a?b=c")] {
        let text = message(
            call(
                "halt_attack",
                json!({"guid": guid}),
                login_secrets(),
                &env(&gremlin.api_url()),
            )
            .await,
        );
        assert!(
            text.starts_with("ValueError: halt_attack needs the attack's identifier"),
            "{text}"
        );
    }
    assert!(gremlin.requests().is_empty());
    assert_eq!(
        message(call("halt_attack", json!({}), Map::new(), &Env::default()).await),
        "TypeError: halt_attack() missing 1 required positional argument: 'guid'"
    );
}
