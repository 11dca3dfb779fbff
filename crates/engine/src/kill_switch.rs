//! The kill switch: one switch that stops every running experiment and refuses new ones.
//!
//! Users of every chaos tool ask for it (Chaos Mesh #2423, Litmus #4243): when an incident
//! starts, someone must be able to stop all chaos at once without finding each run. A
//! switch is a file, an HTTP endpoint, or (in a cluster) a ConfigMap, named by
//! `--kill-switch`, `CHAOS_KILL_SWITCH` or the settings' `runtime.kill_switch`
//! ([`resolve`]). While it is on:
//! - `chaos run` refuses to start: exit 1, no journal, a message that says how to turn it
//!   off ([`KillSwitch::check`]);
//! - a running experiment stops within half a second ([`KillSwitch::watch`], which reads
//!   the switch every [`INTERVAL`]): its activity is interrupted, its rollbacks are played
//!   whatever the strategy says (unless it is `never`), its status is `interrupted`, its
//!   journal says why. Once the rollbacks started, the switch no longer interrupts.
//!
//! **Safe by default.** A switch that cannot be read (a missing ConfigMap is off, but an
//! unreachable API server or endpoint, a denied read, a text that is not a state) counts
//! as on: a run does not start, and a running one stops once [`UNREADABLE_LIMIT`] reads in
//! a row failed, with a WARNING at the first. `unreadable: continue` (settings) or
//! `CHAOS_KILL_SWITCH_UNREADABLE=continue` makes an unreadable switch count as off
//! instead, with the same WARNING. docs/kill-switch.md says this for users.
//!
//! The engine knows the file and HTTP sources; other sources implement
//! [`providers::switch::SwitchSource`] in their driver crate (the ConfigMap: drivers-k8s).

use crate::interrupt::Interrupter;
use experiment::Value;
use providers::switch::{parse_state, SwitchError, SwitchSource};
use providers::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How often a running experiment reads its switch.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// Failed reads in a row after which a running experiment stops (unless `continue`).
pub const UNREADABLE_LIMIT: u32 = 3;

/// The longest a switch's text may be: a state is a word.
const MAX_STATE_BYTES: u64 = 4096;

/// Where the switch lives, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `file:/run/chaos/stop` or a path (`/run/chaos/stop`, `./stop`).
    File(PathBuf),
    /// `http://…` or `https://…`.
    Http(String),
    /// `configmap:NAMESPACE/NAME`.
    ConfigMap { namespace: String, name: String },
}

/// A switch named in a way Shakedown does not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the kill switch '{text}' (from {origin}) is not understood: {reason}")]
pub struct SpecError {
    pub text: String,
    pub origin: &'static str,
    pub reason: String,
}

impl Spec {
    pub fn parse(text: &str, origin: &'static str) -> Result<Spec, SpecError> {
        let error = |reason: &str| SpecError {
            text: text.to_string(),
            origin,
            reason: reason.to_string(),
        };
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("configmap:") {
            let (namespace, name) = rest
                .split_once('/')
                .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
                .ok_or_else(|| error("use configmap:NAMESPACE/NAME"))?;
            return Ok(Spec::ConfigMap {
                namespace: namespace.to_string(),
                name: name.to_string(),
            });
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            url::Url::parse(text).map_err(|e| error(&format!("not a URL ({e})")))?;
            return Ok(Spec::Http(text.to_string()));
        }
        let path = text.strip_prefix("file:").unwrap_or(text);
        if path.is_empty() || path.contains("://") {
            return Err(error(
                "use a file path, an http(s) URL or configmap:NAMESPACE/NAME",
            ));
        }
        Ok(Spec::File(PathBuf::from(path)))
    }
}

/// What an unreadable switch means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// It counts as on (the default).
    Stop,
    /// It counts as off, with a WARNING.
    Continue,
}

/// The switch a run uses, resolved from the flag, the environment and the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub spec: Spec,
    pub unreadable: Unreadable,
}

/// The switch for a run: `--kill-switch` (`flag`), else `CHAOS_KILL_SWITCH` (`env`), else
/// the settings' `runtime.kill_switch`, a string or `{source: …, unreadable: stop|continue}`.
/// What an unreadable switch means: `CHAOS_KILL_SWITCH_UNREADABLE` (`env_unreadable`),
/// else the settings' `unreadable`, else stop. An empty flag or variable means "none".
pub fn resolve(
    flag: Option<&str>,
    env: Option<&str>,
    env_unreadable: Option<&str>,
    settings: &Value,
) -> Result<Option<Config>, SpecError> {
    let declared = settings.get("runtime").and_then(|r| r.get("kill_switch"));
    let (settings_source, settings_unreadable) = match declared {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Object(o)) => (
            o.get("source").and_then(Value::as_str),
            o.get("unreadable").and_then(Value::as_str),
        ),
        _ => (None, None),
    };
    let chosen = [
        (flag, "--kill-switch"),
        (env, "CHAOS_KILL_SWITCH"),
        (settings_source, "the settings' runtime.kill_switch"),
    ]
    .into_iter()
    .find_map(|(value, origin)| value.map(|v| (v, origin)));
    let Some((text, origin)) = chosen else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let spec = Spec::parse(text, origin)?;
    let unreadable = match env_unreadable.or(settings_unreadable) {
        None | Some("stop") => Unreadable::Stop,
        Some("continue") => Unreadable::Continue,
        Some(other) => {
            return Err(SpecError {
                text: other.to_string(),
                origin: "unreadable",
                reason: "say what an unreadable switch means with stop or continue".into(),
            })
        }
    };
    Ok(Some(Config { spec, unreadable }))
}

/// A file: on while it exists, unless its text says off (`touch` turns it on, `rm` off).
pub struct FileSwitch(pub PathBuf);

impl SwitchSource for FileSwitch {
    fn describe(&self) -> String {
        format!("file {}", self.0.display())
    }

    fn how_to_turn_off(&self) -> String {
        format!("remove {}", self.0.display())
    }

    fn is_on(&self) -> BoxFuture<'_, Result<bool, SwitchError>> {
        Box::pin(async move {
            match experiment::load::read_document(&self.0, MAX_STATE_BYTES) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    if text.trim().is_empty() {
                        Ok(true)
                    } else {
                        parse_state(&text)
                            .map_err(|e| SwitchError(format!("{}: {e}", self.describe())))
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(SwitchError(format!("cannot read {}: {e}", self.describe()))),
            }
        })
    }
}

/// An HTTP endpoint: `GET` answers the state (`on`/`off`, or `{"on": …}`); 404 is off.
pub struct HttpSwitch {
    url: String,
    client: Result<reqwest::Client, String>,
}

impl HttpSwitch {
    pub fn new(url: String) -> Self {
        let client = providers::http::client_builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| e.to_string());
        HttpSwitch { url, client }
    }
}

impl SwitchSource for HttpSwitch {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn how_to_turn_off(&self) -> String {
        format!("turn it off at {}", self.url)
    }

    fn is_on(&self) -> BoxFuture<'_, Result<bool, SwitchError>> {
        Box::pin(async move {
            let unreadable = |e: String| SwitchError(format!("cannot read {}: {e}", self.url));
            let client = self.client.as_ref().map_err(|e| unreadable(e.clone()))?;
            let response = client
                .get(&self.url)
                .send()
                .await
                .map_err(|e| unreadable(e.to_string()))?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(false);
            }
            if !status.is_success() {
                return Err(unreadable(format!("HTTP {status}")));
            }
            let mut body = Vec::new();
            let mut response = response;
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| unreadable(e.to_string()))?
            {
                body.extend_from_slice(&chunk);
                if body.len() as u64 > MAX_STATE_BYTES {
                    return Err(unreadable(
                        "the answer is not a switch state (too long)".into(),
                    ));
                }
            }
            parse_state(&String::from_utf8_lossy(&body)).map_err(|e| unreadable(e.to_string()))
        })
    }
}

/// Why a run may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the kill switch ({source_name}) is on: no experiment runs while it is ({how_to_turn_off} to let them run)")]
    On {
        source_name: String,
        how_to_turn_off: String,
    },
    #[error("the kill switch cannot be read, so it counts as on: {reason} (fix it, or set CHAOS_KILL_SWITCH_UNREADABLE=continue to run anyway)")]
    Unreadable { reason: String },
}

/// A run's switch: checked before it starts, watched while it runs.
#[derive(Clone)]
pub struct KillSwitch {
    source: Arc<dyn SwitchSource>,
    unreadable: Unreadable,
}

impl KillSwitch {
    pub fn new(source: Arc<dyn SwitchSource>, unreadable: Unreadable) -> Self {
        KillSwitch { source, unreadable }
    }

    /// Before a run: an error when the run may not start.
    pub async fn check(&self) -> Result<(), Refusal> {
        match self.source.is_on().await {
            Ok(false) => Ok(()),
            Ok(true) => Err(Refusal::On {
                source_name: self.source.describe(),
                how_to_turn_off: self.source.how_to_turn_off(),
            }),
            Err(e) => match self.unreadable {
                Unreadable::Stop => Err(Refusal::Unreadable { reason: e.0 }),
                Unreadable::Continue => {
                    log::warn!("The kill switch cannot be read; the run goes on as asked (unreadable: continue): {e}");
                    Ok(())
                }
            },
        }
    }

    /// While a run goes on: reads the switch every [`INTERVAL`] and interrupts the run
    /// once it is on (or unreadable [`UNREADABLE_LIMIT`] times in a row, unless
    /// `continue`). Returns when it has interrupted the run; the caller aborts it when the
    /// run ends first.
    pub async fn watch(self: Arc<Self>, interrupter: Arc<Interrupter>) {
        let mut failures = 0u32;
        loop {
            tokio::time::sleep(INTERVAL).await;
            let reason = match self.source.is_on().await {
                Ok(false) => {
                    failures = 0;
                    continue;
                }
                Ok(true) => format!("The kill switch ({}) is on", self.source.describe()),
                Err(e) => {
                    failures += 1;
                    if failures == 1 {
                        let then = match self.unreadable {
                            Unreadable::Stop => format!(
                                "the run stops if it still cannot be read after {UNREADABLE_LIMIT} tries"
                            ),
                            Unreadable::Continue => "the run goes on as asked (unreadable: continue)".into(),
                        };
                        log::warn!("The kill switch cannot be read ({e}); {then}");
                    }
                    if self.unreadable == Unreadable::Continue || failures < UNREADABLE_LIMIT {
                        continue;
                    }
                    format!("The kill switch cannot be read ({e}), so it counts as on")
                }
            };
            interrupter
                .trigger_kill_switch(format!("{reason}: the experiment stops now and rolls back"));
            return;
        }
    }
}

impl std::fmt::Debug for KillSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillSwitch")
            .field("source", &self.source.describe())
            .field("unreadable", &self.unreadable)
            .finish()
    }
}

/// The source for a file or HTTP spec; `None` for a source a driver crate provides.
pub fn builtin_source(spec: &Spec) -> Option<Arc<dyn SwitchSource>> {
    match spec {
        Spec::File(path) => Some(Arc::new(FileSwitch(path.clone()))),
        Spec::Http(url) => Some(Arc::new(HttpSwitch::new(url.clone()))),
        Spec::ConfigMap { .. } => None,
    }
}

#[cfg(test)]
mod tests;
