//! `alertManagerAction`: silence every alert on each Alertmanager target for the run of a
//! scenario, and lift the silence in its cleanup (`autoUnmute`, the default).
//!
//! Upstream's requests (`action_alertmanager.py`, 3.3, Alertmanager API v2), byte for
//! byte where it matters: each target `url` is the API's base (`http://am:9093/api/v2`);
//! `mute` POSTs `<url>/silences` with `Content-Type: application/json`, upstream's
//! `User-Agent: powefulseal` (its spelling) and `{"comment": "silence all alerts",
//! "createdBy": "powerfulseal", "startsAt", "endsAt", "matchers": [{"isRegex": true,
//! "name": "alertname", "value": ".+"}]}` (local times in Python's `isoformat()`), and
//! reads `silenceID` from the answer; the cleanup DELETEs `<url>/silence/<id>`. TLS
//! certificates are not verified (upstream's `verify=False`); `proxies.http` and
//! `proxies.https` are used for their schemes, and no proxy at all when empty (never the
//! environment's). A target that fails fails the step, after every target was tried.
//! `duration` defaults to 900 s, the code's (the schema says 60; docs/compatibility.md).

use experiment::Value;
use serde_json::json;

use super::{Cleanup, Outcome, Runner};
use crate::policy::AlertManagerAction;

const MODULE: &str = "action_alertmanager";

/// Python's `datetime.isoformat()` of an aware time: microseconds unless 0, `+HH:MM`.
pub(crate) fn isoformat(t: time::OffsetDateTime) -> String {
    let (h, m, _) = t.offset().as_hms();
    let sign = if t.offset().is_negative() { '-' } else { '+' };
    let fraction = match t.microsecond() {
        0 => String::new(),
        us => format!(".{us:06}"),
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{sign}{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// The client for one step's (or cleanup's) requests.
pub(crate) fn client(proxy_http: &str, proxy_https: &str) -> Result<reqwest::Client, String> {
    let mut builder = providers::http::client_builder()
        .danger_accept_invalid_certs(true)
        .no_proxy();
    if !proxy_http.is_empty() {
        builder =
            builder
                .proxy(reqwest::Proxy::http(proxy_http).map_err(|e| {
                    format!("proxies.http {proxy_http:?} is not a usable URL: {e}")
                })?);
    }
    if !proxy_https.is_empty() {
        builder = builder.proxy(
            reqwest::Proxy::https(proxy_https)
                .map_err(|e| format!("proxies.https {proxy_https:?} is not a usable URL: {e}"))?,
        );
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

impl Runner<'_> {
    pub(crate) async fn alert_manager(&mut self, step: &AlertManagerAction) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        self.log.info(&logger, "executing alertmanager actions...");
        let client = match client(&step.proxy_http, &step.proxy_https) {
            Ok(c) => c,
            Err(e) => {
                self.log.error(&logger, &e);
                return Outcome::failed(Value::Null, e);
            }
        };
        let mut silences = Vec::new();
        let mut errors = Vec::new();
        for mute in &step.actions {
            for url in &step.targets {
                self.log.info(
                    &logger,
                    format!("Silencing alerts for alert manager {url}..."),
                );
                let start = time::OffsetDateTime::now_utc().to_offset(self.local_offset);
                let end = start + time::Duration::seconds(mute.duration_seconds as i64);
                let payload = json!({
                    "comment": "silence all alerts",
                    "createdBy": "powerfulseal",
                    "startsAt": isoformat(start),
                    "endsAt": isoformat(end),
                    "matchers": [{"isRegex": true, "name": "alertname", "value": ".+"}],
                });
                let target = format!("{url}/silences");
                match silence(&client, &target, &payload).await {
                    Ok(id) => {
                        self.log.info(
                            &logger,
                            format!(
                                "Silenced alerts from {} to {}",
                                isoformat(start),
                                isoformat(end)
                            ),
                        );
                        silences.push(json!({"url": url, "silenceID": id}));
                        if mute.auto_unmute {
                            self.cleanups.push(Cleanup::Unmute {
                                url: url.clone(),
                                id,
                                proxy_http: step.proxy_http.clone(),
                                proxy_https: step.proxy_https.clone(),
                            });
                        }
                    }
                    Err(e) => {
                        let message = format!("Exception while calling {target}: {e}");
                        self.log.error(&logger, &message);
                        errors.push(message);
                    }
                }
            }
        }
        let output = json!({"silences": silences});
        if errors.is_empty() {
            Outcome::ok(output)
        } else {
            Outcome::failed(output, errors.join("\n"))
        }
    }

    /// The cleanup: DELETE `<url>/silence/<id>`.
    pub(crate) async fn unmute(
        &mut self,
        url: &str,
        id: &str,
        proxy_http: &str,
        proxy_https: &str,
    ) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        self.log
            .info(&logger, format!("Unmuting alerts for alert manager {url}"));
        let target = format!("{url}/silence/{id}");
        let output = json!({"url": url, "silenceID": id});
        let result = match client(proxy_http, proxy_https) {
            Ok(c) => c
                .delete(&target)
                .send()
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.error_for_status().map(|_| ()).map_err(|e| e.to_string())),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => Outcome::ok(output),
            Err(e) => {
                let message = format!("Exception while calling {target}: {e}");
                self.log.error(&logger, &message);
                Outcome::failed(output, message)
            }
        }
    }
}

async fn silence(
    client: &reqwest::Client,
    target: &str,
    payload: &Value,
) -> Result<String, String> {
    let answer = client
        .post(target)
        .header("Content-Type", "application/json")
        .header("User-Agent", "powefulseal")
        .body(payload.to_string())
        .send()
        .await
        .map_err(|e| e.to_string())?
        .error_for_status()
        .map_err(|e| e.to_string())?;
    let body: Value = answer
        .json()
        .await
        .map_err(|e| format!("the answer is not JSON: {e}"))?;
    body.get("silenceID")
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("the answer has no silenceID: {body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_pythons_isoformat() {
        let at = |unix: i64, micros: i64, h: i8, m: i8| {
            let offset = time::UtcOffset::from_hms(h, m, 0).unwrap();
            (time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
                + time::Duration::microseconds(micros))
            .to_offset(offset)
        };
        // 2026-12-02T15:35:09Z
        assert_eq!(
            isoformat(at(1_796_225_709, 42, 1, 30)),
            "2026-12-02T17:05:09.000042+01:30"
        );
        assert_eq!(
            isoformat(at(1_796_225_709, 0, -5, 0)),
            "2026-12-02T10:35:09-05:00"
        );
    }
}
