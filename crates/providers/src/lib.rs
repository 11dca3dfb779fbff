//! Activity providers: what actually happens when an activity runs.
//!
//! The reference has three provider types. `http` and `process` are implemented here
//! natively ([`http`], [`process`]). `python` providers name a `module.func`; Shakedown
//! answers them from a [`registry::Registry`] of native drivers, so experiments keep their
//! upstream module and function names while no Python is involved, and sends the modules
//! no native driver answers to the Python [`bridge`].
//!
//! A provider either returns the activity's output, fails the activity
//! ([`ProviderError::Failed`], the reference's `ActivityFailed`), fails in a way the
//! reference does not catch ([`ProviderError::Fatal`]), which aborts a method, or ends the
//! run the way a signal does ([`ProviderError::Interrupted`]). A failure is typed: its
//! [`FailureKind`] groups it (a bad declaration, a timeout, an unreachable or refusing
//! endpoint, a failed check, the local environment, a Python extension) and its `source`
//! keeps the cause, while its `Display` stays the reference's message ([`Failure`]).
//!
//! Driver crates describe their functions as [`table::Spec`] rows, which share one
//! Python-style argument binding, and register native [`control::Control`]s and
//! notification plugins ([`registry::Notifier`]) in the same registry. docs/extending.md
//! says how to add each.

pub mod bridge;
pub mod capture;
pub mod control;
mod error;
pub mod http;
pub mod init;
pub mod journal_store;
pub mod outbound;
pub mod process;
pub mod reaper;
pub mod registry;
pub mod scope;
#[cfg(feature = "stand-in")]
pub mod stand_in;
pub mod switch;
pub mod table;

use experiment::provider::ProviderKind;
use experiment::substitute::Lookup;
use experiment::view::ActivityView;
use experiment::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// Name resolution, re-exported so drivers reach it without a dependency of their own.
pub use dns;
pub use error::{Exit, Failure, FailureKind, ProviderError};

/// The `log` target of records shown at the reference's CRITICAL level (`log` has no such
/// level): `log::error!(target: providers::CRITICAL_TARGET, …)`.
pub const CRITICAL_TARGET: &str = "chaos::critical";

/// A boxed, sendable future, used where trait objects return futures.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything a provider needs besides its own declaration.
pub struct Call<'a> {
    /// The full activity declaration (needed for the `tolerance` presence rule and names).
    pub activity: &'a Value,
    /// The resolved configuration.
    pub configuration: &'a Map,
    /// The resolved secrets, scope → map.
    pub secrets: &'a Map,
    /// The native drivers that answer `python` providers (and the Python bridge for the
    /// modules they do not answer).
    pub registry: &'a registry::Registry,
    /// A background activity or continuous-hypothesis probe: signals do not stop it.
    pub background: bool,
    /// The run the call belongs to, for work that must stop when the run is interrupted or
    /// ends ([`scope`]); `None` outside a run (dynamic configuration).
    pub scope: Option<scope::RunScope>,
}

impl Call<'_> {
    pub fn lookup(&self) -> Lookup<'_> {
        Lookup::new(self.configuration, self.secrets)
    }

    fn provider(&self) -> Option<(Option<ProviderKind>, &Map)> {
        ActivityView::new(self.activity).provider()
    }

    fn has_tolerance(&self) -> bool {
        ActivityView::new(self.activity).has_tolerance()
    }
}

/// Runs the activity's provider and returns its output.
pub async fn run(call: &Call<'_>) -> Result<Value, ProviderError> {
    let Some((kind, provider)) = call.provider() else {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            "an activity requires a provider",
        ));
    };
    match kind {
        Some(ProviderKind::Process) => process::run(call, provider).await,
        Some(ProviderKind::Http) => http::run(call, provider).await,
        Some(ProviderKind::Python) => registry::run_python(call, provider).await,
        None => Err(ProviderError::fatal(
            FailureKind::Declaration,
            match provider.get("type").and_then(Value::as_str) {
                Some(other) => format!("unknown provider type '{other}'"),
                None => "a provider must have a type".into(),
            },
        )),
    }
}

/// Substitutes `value` only when configuration or secrets exist, as the reference does for
/// arguments (so a literal `$$` survives in experiments that declare neither).
fn substitute_if_any(value: &Value, lookup: &Lookup) -> Value {
    if lookup.is_empty() {
        value.clone()
    } else {
        experiment::substitute::substitute(value, lookup)
    }
}
