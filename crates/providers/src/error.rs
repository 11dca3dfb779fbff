//! Typed provider errors.
//!
//! Every way an activity's provider call can go wrong is a [`ProviderError`]: the activity
//! failed (the reference's `ActivityFailed`), an error the reference does not catch
//! aborted it, or it ended the run the way a signal does. A failure carries a
//! [`FailureKind`] so that whatever reads a run (the agent report, a report over many
//! journals, the operator's status) can group failures, and optionally the error that
//! caused it as its `source`. Its `Display` is always the reference's message text,
//! because that text is what the journal, the log and the console show.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// How an activity's provider call can go wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The activity failed (the reference's `ActivityFailed`): the run goes on.
    #[error("{0}")]
    Failed(Failure),
    /// An error the reference does not wrap: in a method it aborts the run.
    #[error("{0}")]
    Fatal(Failure),
    /// The function ended the way a signal does (a bridged Python function raised
    /// `KeyboardInterrupt` or `SystemExit`): the run is interrupted.
    #[error("{0}")]
    Interrupted(Exit),
}

impl ProviderError {
    /// A failed activity of `kind` with the reference's `message`.
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::Failed(Failure::new(kind, message))
    }

    /// An error the reference does not catch, of `kind`, with its `message`.
    pub fn fatal(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::Fatal(Failure::new(kind, message))
    }

    /// The failure's kind; `None` for an interruption.
    pub fn kind(&self) -> Option<FailureKind> {
        match self {
            Self::Failed(f) | Self::Fatal(f) => Some(f.kind),
            Self::Interrupted(_) => None,
        }
    }

    /// The failure, for the two variants that carry one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed(f) | Self::Fatal(f) => Some(f),
            Self::Interrupted(_) => None,
        }
    }
}

/// What a failure was about, to group failures by; the message says the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureKind {
    /// The activity's declaration or its arguments are wrong: no provider, an unknown
    /// provider type, arguments the function does not take (the reference's `TypeError`)
    /// or values it refuses (`ValueError`, an invalid pattern, method or header).
    Declaration,
    /// The activity took longer than its `timeout`.
    Timeout,
    /// The endpoint could not be reached: connection refused or reset, DNS, TLS.
    Unreachable,
    /// The remote system answered with an error (an API's 4xx or 5xx).
    Remote,
    /// The function ran and found the system not as it expects (the drivers' own
    /// `ActivityFailed`: no pod matches, a condition is not met).
    Check,
    /// Something on the machine running the experiment: a path that does not exist, a
    /// process that cannot start, a file that cannot be read, no Python interpreter.
    Environment,
    /// A Python extension run through the bridge raised an exception other than
    /// `ActivityFailed`, or ended the way a signal does in a background activity.
    Extension,
}

impl FailureKind {
    /// A stable lower-case name, for reports and machine-readable outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declaration => "declaration",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
            Self::Remote => "remote",
            Self::Check => "check",
            Self::Environment => "environment",
            Self::Extension => "extension",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failure: its kind, the reference's message and, where known, its cause.
#[derive(Clone)]
pub struct Failure {
    kind: FailureKind,
    message: String,
    source: Option<Arc<dyn StdError + Send + Sync>>,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Keeps `source` as the cause (its text is usually already part of the message).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The reference's message text, as the journal and the log show it.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, consuming the failure.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Failure");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

/// Two failures are equal when kind and message are: causes are not comparable.
impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// How a function asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `KeyboardInterrupt`, as Ctrl-C.
    KeyboardInterrupt,
    /// `SystemExit(code)`: 30 is the reference's ungraceful exit, anything else graceful.
    SystemExit(Option<i64>),
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::KeyboardInterrupt => write!(f, "KeyboardInterrupt"),
            Exit::SystemExit(Some(code)) => write!(f, "SystemExit: {code}"),
            Exit::SystemExit(None) => write!(f, "SystemExit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;

    #[test]
    fn display_is_the_reference_message_and_the_cause_is_the_source() {
        let error = ProviderError::Failed(
            Failure::new(FailureKind::Unreachable, "failed to connect to http://x/")
                .with_source(Refused),
        );
        assert_eq!(error.to_string(), "failed to connect to http://x/");
        assert_eq!(error.kind(), Some(FailureKind::Unreachable));
        let failure = error.failure().expect("a failure");
        let cause = StdError::source(failure).expect("the cause is kept");
        assert_eq!(cause.to_string(), "connection refused");
        assert!(format!("{failure:?}").contains("connection refused"));
    }

    #[test]
    fn equality_ignores_the_cause_but_not_the_kind() {
        let a = Failure::new(FailureKind::Check, "m");
        assert_eq!(
            a,
            Failure::new(FailureKind::Check, "m").with_source(Refused)
        );
        assert_ne!(a, Failure::new(FailureKind::Remote, "m"));
        assert_eq!(
            ProviderError::Interrupted(Exit::SystemExit(Some(30))).kind(),
            None
        );
    }
}
