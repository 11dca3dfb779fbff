//! `chaosgremlin.actions`: `attack` as upstream has it, and the two halts it lacks.
//!
//! | function | upstream | request |
//! |---|---|---|
//! | `attack(command, target, labels=None, tags=None, secrets=None)` | yes | `POST {base}/attacks/new?teamId=T`, JSON `{command, target, labels, tags}`, 201 expected; returns the answer's text (the attack's id) |
//! | `halt_attack(guid, secrets=None)` | ours | `DELETE {base}/attacks/{guid}?teamId=T`, any 2xx; returns the answer's text |
//! | `halt_all_attacks(secrets=None)` | ours | `DELETE {base}/attacks?teamId=T`, any 2xx; returns the answer's text |
//!
//! Why the halts: upstream can start an attack but an experiment has no way to stop it,
//! so a run that is interrupted, or whose hypothesis deviates, leaves the attack running
//! for its full length. `halt_all_attacks` in `rollbacks` stops what the method started.
//!
//! Authentication is upstream's (chaostoolkit-gremlin at a32cd48, the API-key path that
//! PyPI's 0.3.0 predates): with secrets, they are `auth(email, password, org_name)`'s
//! keyword arguments (any other key is a `TypeError`, as in Python), the login is
//! `POST {base}/users/auth` with a form, the session of the matching `org_name` gives the
//! `Authorization` value and, unless `GREMLIN_TEAM_ID` is set, the team (its first
//! `teams[].identifier`). Without secrets, `GREMLIN_API_KEY` is sent as `Key <key>` and
//! `GREMLIN_TEAM_ID` is required. Messages are upstream's word for word where upstream has
//! one (docs/gremlin.md lists them).

use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use providers::registry::Kind;
use providers::table::{self, Bound, Def, Spec, P, SECRETS};
use providers::{FailureKind, ProviderError};
use reqwest::Method;

use crate::api::{self, Answer, Body, Client, Credential, GremlinError};

/// The upstream module path.
pub const MODULE: &str = "chaosgremlin.actions";

/// The rows of `chaosgremlin.actions`.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "attack",
        kind: Kind::Action,
        doc: "Send attack declaration (JSON) to Gremlin API for execution. Please refer to \
              Gremlin's documentation for the meaning of each argument. The `secrets` \
              argument is a mapping which must have the following keys: `email`, `password` \
              and `org_name`; without secrets, `GREMLIN_API_KEY` and `GREMLIN_TEAM_ID` are \
              used.\n\nThe function returns the identifier of the attack or raises \
              `FailedActivity` if the authentication failed and when the attack could not \
              be started.",
        params: &[
            ("command", Def::Required, Some("mapping")),
            ("target", Def::Required, Some("mapping")),
            ("labels", Def::None, Some("mapping")),
            ("tags", Def::None, Some("mapping")),
            SECRETS,
        ],
        return_type: None,
        body: providers::body!(attack),
    },
    Spec {
        name: "halt_attack",
        kind: Kind::Action,
        doc: "Halt the Gremlin attack whose identifier is `guid` (what `attack` returned). \
              Authenticates as `attack` does. Not in chaostoolkit-gremlin.",
        params: &[("guid", Def::Required, Some("string")), SECRETS],
        return_type: None,
        body: providers::body!(halt_attack),
    },
    Spec {
        name: "halt_all_attacks",
        kind: Kind::Action,
        doc: "Halt every active Gremlin attack of the team, for a rollback to stop what the \
              method started. Authenticates as `attack` does. Not in chaostoolkit-gremlin.",
        params: &[SECRETS],
        return_type: None,
        body: providers::body!(halt_all_attacks),
    },
];

/// Upstream's `auth(email, password, org_name)`, whose keyword arguments the secrets are.
const AUTH_PARAMS: &[P] = &[
    ("email", Def::Required, None),
    ("password", Def::Required, None),
    ("org_name", Def::Required, None),
];

/// What the driver reads from the process environment, read once per call.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub api_url: Option<String>,
    pub api_key: Option<Credential>,
    pub team_id: Option<String>,
}

impl Env {
    /// `GREMLIN_API_URL`, `GREMLIN_API_KEY` and `GREMLIN_TEAM_ID`, as set (upstream tests the
    /// team with `if not`, so an empty one is unset).
    pub fn from_process() -> Env {
        let var = |name: &str| std::env::var(name).ok();
        Env {
            api_url: var(api::API_URL_ENV),
            api_key: var(api::API_KEY_ENV).map(Credential::new),
            team_id: var(api::TEAM_ID_ENV).filter(|t| !t.is_empty()),
        }
    }
}

/// Who the calls are made as: the `Authorization` value and the team.
#[derive(Debug)]
struct Session {
    authorization: Credential,
    team_id: String,
}

/// What upstream raises as `FailedActivity`, as chaoslib reports it:
/// `chaoslib.exceptions.ActivityFailed: <message>`.
const ACTIVITY_FAILED: &str = "chaoslib.exceptions.ActivityFailed: ";

fn failed(kind: FailureKind, message: impl std::fmt::Display) -> ProviderError {
    ProviderError::failed(kind, format!("{ACTIVITY_FAILED}{message}"))
}

fn request_failed(e: GremlinError) -> ProviderError {
    let kind = match &e {
        GremlinError::InvalidUrl { .. } => FailureKind::Declaration,
        GremlinError::Timeout { .. } => FailureKind::Timeout,
        GremlinError::TooLarge { .. } => FailureKind::Remote,
        _ => FailureKind::Unreachable,
    };
    let message = format!("{ACTIVITY_FAILED}{e}");
    ProviderError::Failed(providers::Failure::new(kind, message).with_source(e))
}

/// Logs in with the secrets, or takes the API key: upstream's two paths, in its order.
async fn session(
    client: &Client,
    secrets: &Map,
    env: &Env,
    action: &str,
) -> Result<Session, ProviderError> {
    if secrets.is_empty() {
        let Some(key) = &env.api_key else {
            return Err(failed(
                FailureKind::Declaration,
                "Gremlin authentication failed: No API Key present",
            ));
        };
        let Some(team_id) = env.team_id.clone() else {
            return Err(failed(
                FailureKind::Declaration,
                format!(
                    "Gremlin {action} failed: Team ID must be provided with API Key authentication."
                ),
            ));
        };
        return Ok(Session {
            authorization: Credential::new(format!("Key {}", key.expose())),
            team_id,
        });
    }
    let bound = table::bind("auth", AUTH_PARAMS, secrets.clone())?;
    let text = |k: &str| bound.get(k).map(py_str).unwrap_or_default();
    let (email, org_name) = (text("email"), text("org_name"));
    let password = Credential::new(text("password"));
    // `requests` leaves out a form field whose value is None.
    let mut form: Vec<(&str, &str)> = Vec::new();
    if bound.get("email").is_some_and(|v| !v.is_null()) {
        form.push(("email", &email));
    }
    if bound.get("password").is_some_and(|v| !v.is_null()) {
        form.push(("password", password.expose()));
    }
    let answer = client
        .send(Method::POST, "/users/auth", &[], None, Body::Form(&form))
        .await
        .map_err(request_failed)?;
    if answer.status != 200 {
        return Err(failed(
            FailureKind::Remote,
            format!("Gremlin authentication failed: {}", answer.text),
        ));
    }
    let sessions = match serde_json::from_str::<Value>(&answer.text) {
        Ok(Value::Array(sessions)) => sessions,
        _ => {
            return Err(failed(
                FailureKind::Remote,
                format!(
                    "Gremlin authentication failed: the answer of {} is not a list of sessions: {}",
                    client.url("/users/auth"),
                    answer.text
                ),
            ))
        }
    };
    let Some(chosen) = sessions
        .iter()
        .find(|s| s.get("org_name").map(py_str).as_deref() == Some(org_name.as_str()))
    else {
        return Err(failed(
            FailureKind::Check,
            format!("User '{email}' does not seem to belong to org '{org_name}'"),
        ));
    };
    let Some(header) = chosen.get("header").and_then(Value::as_str) else {
        return Err(failed(
            FailureKind::Remote,
            format!(
                "Gremlin authentication failed: the session of org '{org_name}' has no 'header'"
            ),
        ));
    };
    let first_team = chosen
        .get("teams")
        .and_then(|t| t.get(0))
        .and_then(|t| t.get("identifier"))
        .map(py_str);
    let Some(team_id) = env.team_id.clone().or(first_team) else {
        return Err(failed(
            FailureKind::Declaration,
            format!(
                "Gremlin {action} failed: the session of org '{org_name}' lists no team; set {}",
                api::TEAM_ID_ENV
            ),
        ));
    };
    Ok(Session {
        authorization: Credential::new(header),
        team_id,
    })
}

fn client(configuration: &Map, env: &Env) -> Result<Client, ProviderError> {
    Client::new(api::base_url(configuration, env.api_url.clone())).map_err(request_failed)
}

/// `attack` with the environment given.
pub async fn attack_with(call: &Bound<'_>, env: &Env) -> Result<Value, ProviderError> {
    let client = client(call.configuration, env)?;
    let session = session(&client, &call.secrets, env, "attack").await?;
    let body = serde_json::json!({
        "command": call.arg("command"),
        "target": call.arg("target"),
        "labels": call.arg("labels"),
        "tags": call.arg("tags"),
    });
    let answer = client
        .send(
            Method::POST,
            "/attacks/new",
            &[("teamId", &session.team_id)],
            Some(&session.authorization),
            Body::Json(&body),
        )
        .await
        .map_err(request_failed)?;
    if answer.status != 201 {
        return Err(failed(
            FailureKind::Remote,
            format!("Gremlin attack failed: {}", answer.text),
        ));
    }
    log::debug!("attack submitted successfully: {}", answer.text);
    Ok(Value::String(answer.text))
}

/// `halt_attack` with the environment given.
pub async fn halt_attack_with(call: &Bound<'_>, env: &Env) -> Result<Value, ProviderError> {
    let guid = call.text("guid");
    if guid.is_empty() || guid.contains(['/', '?', '#', '%']) || call.arg("guid").is_null() {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "ValueError: halt_attack needs the attack's identifier as 'guid' (what attack returned), not {}",
                experiment::pyrepr::py_repr(call.arg("guid"))
            ),
        ));
    }
    halt(call, env, &format!("/attacks/{guid}")).await
}

/// `halt_all_attacks` with the environment given.
pub async fn halt_all_attacks_with(call: &Bound<'_>, env: &Env) -> Result<Value, ProviderError> {
    halt(call, env, "/attacks").await
}

async fn halt(call: &Bound<'_>, env: &Env, path: &str) -> Result<Value, ProviderError> {
    let client = client(call.configuration, env)?;
    let session = session(&client, &call.secrets, env, "halt").await?;
    let Answer { status, text } = client
        .send(
            Method::DELETE,
            path,
            &[("teamId", &session.team_id)],
            Some(&session.authorization),
            Body::None,
        )
        .await
        .map_err(request_failed)?;
    if !(200..300).contains(&status) {
        return Err(failed(
            FailureKind::Remote,
            format!("Gremlin halt failed: {text}"),
        ));
    }
    log::debug!("halt accepted: {text}");
    Ok(Value::String(text))
}

async fn attack(call: Bound<'_>) -> Result<Value, ProviderError> {
    attack_with(&call, &Env::from_process()).await
}

async fn halt_attack(call: Bound<'_>) -> Result<Value, ProviderError> {
    halt_attack_with(&call, &Env::from_process()).await
}

async fn halt_all_attacks(call: Bound<'_>) -> Result<Value, ProviderError> {
    halt_all_attacks_with(&call, &Env::from_process()).await
}

#[cfg(test)]
mod tests;
