//! A recording stand-in for the Gremlin API on 127.0.0.1, for tests (this crate's, and the
//! CLI's through the `stand-in` feature, which point both `chaos` and the Python reference
//! at it).
//!
//! Built on `providers::stand_in` (the recording server the Slack stand-in shares); it
//! answers as the Gremlin API does ([`Behaviour::Gremlin`]) or with an error. Answers
//! are fixed, so two clients that send the same requests get the same answers: the login
//! (`POST /v1/users/auth`) answers two sessions, of orgs [`OTHER_ORG`] and [`ORG`] (the
//! client must pick by name), the second with header [`SESSION_HEADER`] and first team
//! [`TEAM_ID`]; an attack (`POST /v1/attacks/new`) answers 201 with [`ATTACK_ID`]; a halt
//! (`DELETE /v1/attacks[/{guid}]`) answers 202 with an empty body.

use providers::stand_in::{Recorder, Reply};
use std::sync::Arc;

pub use providers::stand_in::Request;

/// The org the tests log in to.
pub const ORG: &str = "shakedown-org";
/// Another org of the same user, listed first.
pub const OTHER_ORG: &str = "other-org";
/// The `header` of the [`ORG`] session.
pub const SESSION_HEADER: &str = "Bearer standin-session-token";
/// The first team of the [`ORG`] session.
pub const TEAM_ID: &str = "team-standin-1";
/// What every attack is answered (a Gremlin attack guid).
pub const ATTACK_ID: &str = "0b8e2d4a-6c1f-11e8-a3a1-0242ac110002";

/// How the stand-in answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// As Gremlin does when all is well.
    Gremlin,
    /// Every request: this HTTP status, with a text body `status {code}`.
    Status(u16),
    /// The login answers 401 `{"message":"Invalid credentials"}`; the rest as Gremlin.
    BadLogin,
}

/// A base URL on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_api_url() -> String {
    format!("http://127.0.0.1:{}/v1", providers::stand_in::closed_port())
}

/// A running stand-in; it stops accepting when dropped (at its next connection).
pub struct StandIn {
    recorder: Recorder,
}

impl StandIn {
    pub fn start(behaviour: Behaviour) -> StandIn {
        StandIn {
            recorder: Recorder::start(Arc::new(move |r: &Request, _| answer(r, &behaviour))),
        }
    }

    /// The API base URL, for `GREMLIN_API_URL`: `http://127.0.0.1:PORT/v1`.
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.recorder.port())
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.recorder.requests()
    }
}

fn answer(request: &Request, behaviour: &Behaviour) -> Reply {
    let json = "application/json";
    let route = request.path.split('?').next().unwrap_or_default();
    if let Behaviour::Status(code) = behaviour {
        return Reply::new(*code, "text/plain", format!("status {code}"));
    }
    match (request.method.as_str(), route) {
        ("POST", "/v1/users/auth") if *behaviour == Behaviour::BadLogin => Reply::new(
            401,
            json,
            serde_json::json!({"message": "Invalid credentials"}).to_string(),
        ),
        ("POST", "/v1/users/auth") => Reply::new(
            200,
            json,
            serde_json::json!([
                {"org_name": OTHER_ORG, "org_id": "o-1", "header": "Bearer other-token",
                 "teams": [{"identifier": "team-other"}]},
                {"org_name": ORG, "org_id": "o-2", "header": SESSION_HEADER,
                 "teams": [{"identifier": TEAM_ID}, {"identifier": "team-standin-2"}]}
            ])
            .to_string(),
        ),
        ("POST", "/v1/attacks/new") => Reply::new(201, "text/plain", ATTACK_ID),
        ("DELETE", r) if r == "/v1/attacks" || r.starts_with("/v1/attacks/") => {
            Reply::new(202, "text/plain", "")
        }
        _ => Reply::new(404, "text/plain", "not found"),
    }
}
