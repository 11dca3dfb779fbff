//! `chaostoxi.toxic.probes` (a Shakedown extension; chaostoolkit-toxiproxy 0.3.1 has no
//! such module): what a toxic actually did, so an experiment can prove its fault
//! happened instead of trusting that adding a toxic was enough.
//!
//! The counters are the toxic's `stats` object from `chaos proxy serve`'s API (see
//! `proxy::stats`): `{"connections": 3, "bytes_in": …, "requests_aborted": 2, …}`. A
//! probe asserts on one of them with a tolerance such as
//! `{type: range, range: [1, 1.0e12], target: requests_aborted}` or
//! `{type: jsonpath, path: "$.requests_aborted", expect: 5}`. Toxiproxy itself does not
//! count, so against it the probe fails with a message saying so.

use experiment::Value;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use crate::common::{body, refusal, Ctx, Def, Outcome, Spec, CONFIGURATION};

pub const MODULE: &str = "chaostoxi.toxic.probes";

pub(crate) const SPECS: &[Spec] = &[Spec {
    name: "toxic_stats",
    kind: Kind::Probe,
    doc: "What a toxic actually did (Shakedown's proof of injection): connections \
          touched, bytes in, out, delayed and dropped, delay injected, and per type \
          connections closed or reset, HTTP requests seen, aborted (with a count by \
          status) or delayed. Needs `chaos proxy serve`; Toxiproxy does not count.",
    params: &[
        ("for_proxy", Def::Required, Some("string")),
        ("toxic_name", Def::Required, Some("string")),
        CONFIGURATION,
    ],
    return_type: Some("mapping"),
    body: body!(toxic_stats),
}];

async fn toxic_stats(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let proxy = ctx.text("for_proxy");
    let toxic = ctx.text("toxic_name");
    let api = ctx.client()?;
    match api
        .run("read a toxic", api.client.toxic(&proxy, &toxic))
        .await?
    {
        Outcome::Ok(t) => match t.stats {
            Some(stats) => Ok(Value::Object(stats)),
            None => Err(ProviderError::failed(
                FailureKind::Environment,
                format!(
                    "the server at {} does not count what toxic '{toxic}' did (no `stats` \
                     in its answer): toxic statistics need `chaos proxy serve`, not Toxiproxy",
                    api.url
                ),
            )),
        },
        Outcome::Refused(e) => Err(ProviderError::failed(
            FailureKind::Remote,
            format!(
                "cannot read toxic '{toxic}' of proxy '{proxy}': {}",
                refusal(&e)
            ),
        )),
    }
}
