//! Gremlin, natively: `chaosgremlin.actions` in full `chaos run`s against a recording
//! stand-in for the Gremlin API (`drivers_gremlin::stand_in`, reached through
//! `GREMLIN_API_URL`): the sample experiment's shape (an attack in the method, a halt in
//! the rollbacks), the journal, the exact requests, and the failures (401, 500,
//! unreachable). Then the same experiments through the reference (chaostoolkit-gremlin
//! 0.3.0 from PyPI, `scripts/reference-venv`), pointed at its own stand-in by
//! `gremlin_modules/sitecustomize.py`: the same statuses, journals, log lines and requests,
//! less the `teamId` query that PyPI's 0.3.0 predates (docs/compatibility.md).

#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use drivers_gremlin::stand_in::{self, closed_api_url, Behaviour, Request, StandIn};
use reference::log_lines;
use run::{chaos, read_json, record_names, scratch, stderr};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;

const PASSWORD: &str = "gremlin-secret-password";

/// The sample's shape: credentials from the environment through a secret scope, an
/// attack in the method, a probe after it, and (when `halt`) the halt in the rollbacks.
fn experiment(halt: bool) -> String {
    let rollbacks = if halt {
        r#"[{"type": "action", "name": "halt-all-attacks", "provider": {"type": "python", "module": "chaosgremlin.actions", "func": "halt_all_attacks", "secrets": ["gremlin"]}}]"#
    } else {
        "[]"
    };
    format!(
        r#"{{
  "version": "1.0.0",
  "title": "System is resilient to provider's failures",
  "description": "Can we survive a Gremlin attack on a random host?",
  "secrets": {{"gremlin": {{
    "email": {{"type": "env", "key": "GREMLIN_EMAIL"}},
    "password": {{"type": "env", "key": "GREMLIN_PWD"}},
    "org_name": {{"type": "env", "key": "GREMLIN_ORG_NAME"}}
  }}}},
  "steady-state-hypothesis": {{"title": "Services are all available and healthy", "probes": [
    {{"type": "probe", "name": "all-services-are-healthy", "tolerance": 0, "provider": {{"type": "process", "path": "true"}}}}
  ]}},
  "method": [
    {{"type": "action", "name": "kill-provider-microservice", "provider": {{"type": "python", "module": "chaosgremlin.actions", "func": "attack", "secrets": ["gremlin"],
      "arguments": {{"command": {{"type": "shutdown", "args": ["-d", "1", "-r"]}}, "target": {{"type": "Random", "containers": {{"labels": {{"app": "provider"}}}}}}, "labels": {{"owner": "sre"}}}}}}}},
    {{"type": "probe", "name": "consumer-service-must-still-respond", "provider": {{"type": "process", "path": "true"}}}}
  ],
  "rollbacks": {rollbacks}
}}"#
    )
}

fn setup(name: &str, experiment: &str) -> std::path::PathBuf {
    let dir = scratch("gremlin", name);
    std::fs::write(dir.join("experiment.json"), experiment).expect("write the experiment");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("write the settings");
    dir
}

fn env(api: &str) -> Vec<(&str, &str)> {
    vec![
        ("GREMLIN_API_URL", api),
        ("GREMLIN_EMAIL", "ops@example.com"),
        ("GREMLIN_PWD", PASSWORD),
        ("GREMLIN_ORG_NAME", stand_in::ORG),
    ]
}

fn run_ours(dir: &Path, api: &str) -> Output {
    let mut cmd = run::chaos_command(dir, &["run", "experiment.json"], &env(api));
    cmd.env_remove("GREMLIN_TEAM_ID")
        .env_remove("GREMLIN_API_KEY");
    cmd.output().expect("run chaos")
}

fn run_reference(dir: &Path, api: &str) -> Output {
    let mut cmd = reference::reference_run_command(dir, "gremlin_modules");
    cmd.env_remove("GREMLIN_TEAM_ID")
        .env_remove("GREMLIN_API_KEY");
    for (k, v) in env(api) {
        cmd.env(k, v);
    }
    cmd.output().expect("run the reference")
}

/// Status and each record's name, status, output and the last line of its exception.
fn journal_outline(journal: &Value) -> Value {
    let records = |list: &Value| -> Vec<Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let exception = r["exception"]
                    .as_array()
                    .and_then(|lines| lines.last())
                    .map(|l| l.as_str().unwrap_or_default().trim().to_string());
                json!([r["activity"]["name"], r["status"], r["output"], exception])
            })
            .collect()
    };
    json!({
        "status": journal["status"],
        "deviated": journal["deviated"],
        "run": records(&journal["run"]),
        "rollbacks": records(&journal["rollbacks"]),
    })
}

/// What a request says; `with_query: false` leaves the query out of the path.
fn comparable(r: &Request, with_query: bool) -> Value {
    let path = if with_query {
        r.path.clone()
    } else {
        r.path.split('?').next().unwrap_or_default().to_string()
    };
    let body = if r.header("content-type") == Some("application/x-www-form-urlencoded") {
        json!(r.form())
    } else {
        r.json()
    };
    json!({
        "method": r.method,
        "path": path,
        "authorization": r.header("authorization"),
        "content-type": r.header("content-type"),
        "body": body,
    })
}

fn login() -> Value {
    json!({
        "method": "POST",
        "path": "/v1/users/auth",
        "authorization": null,
        "content-type": "application/x-www-form-urlencoded",
        "body": [["email", "ops@example.com"], ["password", PASSWORD]],
    })
}

#[test]
fn the_sample_runs_its_attack_and_the_rollback_halts_it() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    let dir = setup("sample", &experiment(true));
    let out = run_ours(&dir, &gremlin.api_url());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "completed");
    assert_eq!(journal["run"][0]["status"], "succeeded");
    assert_eq!(journal["run"][0]["output"], stand_in::ATTACK_ID);
    assert_eq!(record_names(&journal, "rollbacks"), ["halt-all-attacks"]);
    assert_eq!(journal["rollbacks"][0]["status"], "succeeded");

    let requests: Vec<Value> = gremlin
        .requests()
        .iter()
        .map(|r| comparable(r, true))
        .collect();
    let team = stand_in::TEAM_ID;
    assert_eq!(
        requests,
        [
            login(),
            json!({
                "method": "POST",
                "path": format!("/v1/attacks/new?teamId={team}"),
                "authorization": stand_in::SESSION_HEADER,
                "content-type": "application/json",
                "body": {
                    "command": {"type": "shutdown", "args": ["-d", "1", "-r"]},
                    "target": {"type": "Random", "containers": {"labels": {"app": "provider"}}},
                    "labels": {"owner": "sre"},
                    "tags": null
                },
            }),
            login(),
            json!({
                "method": "DELETE",
                "path": format!("/v1/attacks?teamId={team}"),
                "authorization": stand_in::SESSION_HEADER,
                "content-type": null,
                "body": null,
            }),
        ]
    );
    // The password went to the login form only.
    let written = std::fs::read_to_string(dir.join("journal.json")).expect("journal");
    assert!(!written.contains(PASSWORD));
    assert!(!stderr(&out).contains(PASSWORD));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failures_are_failed_activities_with_clear_messages_and_the_rollback_still_runs() {
    let closed = closed_api_url();
    for (name, behaviour, message) in [
        (
            "401",
            Some(Behaviour::BadLogin),
            r#"Gremlin authentication failed: {"message":"Invalid credentials"}"#.to_string(),
        ),
        (
            "500",
            Some(Behaviour::Status(500)),
            "Gremlin authentication failed: status 500".to_string(),
        ),
        (
            "unreachable",
            None,
            format!("the Gremlin API at {closed}/users/auth could not be reached: "),
        ),
    ] {
        let gremlin = behaviour.map(StandIn::start);
        let api = gremlin.as_ref().map_or(closed.clone(), StandIn::api_url);
        let dir = setup(name, &experiment(true));
        let out = run_ours(&dir, &api);
        // A failed action does not fail the run (the reference's rule): exit 0, the
        // activity failed with the message, and the rollback was attempted.
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let journal = read_json(&dir.join("journal.json"));
        assert_eq!(journal["run"][0]["status"], "failed", "{name}");
        let exception: String = journal["run"][0]["exception"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        assert!(exception.contains(&message), "{name}: {exception}");
        assert!(
            stderr(&out).contains(&message),
            "{name}: the console says it:\n{}",
            stderr(&out)
        );
        assert_eq!(journal["rollbacks"][0]["status"], "failed", "{name}");
        assert!(!std::fs::read_to_string(dir.join("journal.json"))
            .expect("journal")
            .contains(PASSWORD));
        assert!(!stderr(&out).contains(PASSWORD), "{name}");
        if let Some(gremlin) = gremlin {
            // Nothing after a failed login.
            assert_eq!(gremlin.requests().len(), 2, "{name}: two logins");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn discover_lists_the_gremlin_functions() {
    let dir = scratch("gremlin", "discover");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let out = chaos(
        &dir,
        &["discover", "--no-system-info", "chaostoolkit-gremlin"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let discovery = read_json(&dir.join("discovery.json"));
    let names: Vec<&str> = discovery["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["attack", "halt_all_attacks", "halt_attack"]);
    let _ = std::fs::remove_dir_all(&dir);
}

fn reference_has_chaosgremlin() {
    reference::assert_reference_has("import chaosgremlin.actions", "chaostoolkit-gremlin 0.3.0");
}

#[test]
fn the_reference_sends_the_same_gremlin_requests() {
    reference_has_chaosgremlin();
    // PyPI's 0.3.0 has `attack` only (no halts), and always logs in.
    for (name, behaviour) in [
        ("ok", Behaviour::Gremlin),
        ("bad-login", Behaviour::BadLogin),
        ("500", Behaviour::Status(500)),
    ] {
        let ours_dir = setup(&format!("{name}-ours"), &experiment(false));
        let reference_dir = setup(&format!("{name}-reference"), &experiment(false));
        let ours_api = StandIn::start(behaviour.clone());
        let reference_api = StandIn::start(behaviour);
        let ours = run_ours(&ours_dir, &ours_api.api_url());
        let theirs = run_reference(&reference_dir, &reference_api.api_url());
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "{name}: {}\n{}",
            stderr(&ours),
            stderr(&theirs)
        );
        // Less logzero's own console line in the reference (`[D … actions:54] attack
        // submitted succesfully: …`): chaosgremlin's DEBUG message, which chaoslib's
        // console handler would not show (docs/compatibility.md).
        let leveled = |stderr: &[u8]| -> Vec<String> {
            log_lines(stderr)
                .into_iter()
                .filter(|l| {
                    let level = l.split(' ').next().unwrap_or_default();
                    ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level)
                })
                .collect()
        };
        assert_eq!(leveled(&ours.stderr), leveled(&theirs.stderr), "{name}");
        let journal = |dir: &Path| journal_outline(&read_json(&dir.join("journal.json")));
        assert_eq!(journal(&ours_dir), journal(&reference_dir), "{name}");

        let ours_requests = ours_api.requests();
        let reference_requests = reference_api.requests();
        let without_query =
            |rs: &[Request]| -> Vec<Value> { rs.iter().map(|r| comparable(r, false)).collect() };
        assert_eq!(
            without_query(&ours_requests),
            without_query(&reference_requests),
            "{name}"
        );
        // The one difference: the team, which the repository's head (and so Shakedown)
        // adds and PyPI's 0.3.0 does not send.
        for (o, t) in ours_requests.iter().zip(&reference_requests) {
            if o.path.starts_with("/v1/attacks/new") {
                assert_eq!(
                    o.path,
                    format!("/v1/attacks/new?teamId={}", stand_in::TEAM_ID)
                );
                assert_eq!(t.path, "/v1/attacks/new");
            } else {
                assert_eq!(o.path, t.path, "{name}");
            }
        }
        let _ = std::fs::remove_dir_all(&ours_dir);
        let _ = std::fs::remove_dir_all(&reference_dir);
    }
}

#[test]
fn the_api_key_path_and_the_configuration_key_for_the_api_url() {
    let gremlin = StandIn::start(Behaviour::Gremlin);
    // No secrets declared: GREMLIN_API_KEY and GREMLIN_TEAM_ID; the URL from the
    // experiment's configuration, not the environment.
    let experiment = json!({
        "title": "API key",
        "description": "d",
        "configuration": {"gremlin_api_url": gremlin.api_url()},
        "method": [{"type": "action", "name": "attack", "provider": {
            "type": "python", "module": "chaosgremlin.actions", "func": "attack",
            "arguments": {"command": {"type": "cpu"}, "target": {"type": "Random"}}}}],
        "rollbacks": [{"type": "action", "name": "halt", "provider": {
            "type": "python", "module": "chaosgremlin.actions", "func": "halt_attack",
            "arguments": {"guid": stand_in::ATTACK_ID}}}]
    });
    let dir = setup("api-key", &experiment.to_string());
    let mut cmd = run::chaos_command(
        &dir,
        &["run", "experiment.json"],
        &[
            ("GREMLIN_API_KEY", "key-123"),
            ("GREMLIN_TEAM_ID", "team-9"),
        ],
    );
    cmd.env_remove("GREMLIN_API_URL");
    let out = cmd.output().expect("run chaos");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["run"][0]["output"], stand_in::ATTACK_ID);
    assert_eq!(journal["rollbacks"][0]["status"], "succeeded");
    let requests: Vec<Value> = gremlin
        .requests()
        .iter()
        .map(|r| comparable(r, true))
        .collect();
    assert_eq!(
        requests,
        [
            json!({"method": "POST", "path": "/v1/attacks/new?teamId=team-9",
                   "authorization": "Key key-123", "content-type": "application/json",
                   "body": {"command": {"type": "cpu"}, "target": {"type": "Random"},
                            "labels": null, "tags": null}}),
            json!({"method": "DELETE", "path": format!("/v1/attacks/{}?teamId=team-9", stand_in::ATTACK_ID),
                   "authorization": "Key key-123", "content-type": null, "body": null}),
        ]
    );
    assert!(!stderr(&out).contains("key-123"), "the key is never shown");
    let _ = std::fs::remove_dir_all(&dir);
}
