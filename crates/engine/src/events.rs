//! Run events: what happens during a run, as it happens, for whoever subscribed.
//!
//! The journal writer, the notification channels, the events file ([`crate::events_file`]),
//! the agent report ([`crate::agent`]) and the operator's status updates are all
//! subscribers: the engine emits events in order and awaits each subscriber in turn, so a
//! subscriber sees the run exactly as the log tells it. With no subscriber an event costs a
//! length check. The events mirror chaoslib's run event handlers where it has one.

use crate::journal::{HypothesisState, Journal, Record};
use experiment::validate::ValidationError;
use experiment::Value;
use providers::BoxFuture;
use std::sync::Arc;

/// Which run of the steady-state hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HypothesisPhase {
    Before,
    /// The continuous hypothesis, 1-based iteration.
    During(u32),
    After,
}

/// Where an activity runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityPhase {
    Hypothesis,
    Method,
    Rollback,
    /// A probe a control runs beside the run through its
    /// [`RunHandle`](crate::controls::RunHandle) (chaosaddons' safeguards): not on the
    /// console, not in the journal's lists, but heard by subscribers.
    Control,
}

/// One thing that happened in a run.
#[derive(Debug, Clone, Copy)]
pub enum RunEvent<'a> {
    /// The experiment is loaded (the reference's `run-started` notification).
    Started {
        experiment: &'a Value,
    },
    /// Validation refused the experiment; the run ends with exit code 1 and no journal.
    Invalid {
        error: &'a ValidationError,
    },
    /// The run could not start (loading, `runtime.python`, validation, configuration, a
    /// subscriber not ready, …): exit code 1, no journal, no other event follows.
    StartFailed {
        error: &'a crate::api::StartError,
    },
    /// The engine starts playing the experiment, right after `Running experiment: <title>`
    /// (the title substituted): chaoslib's `started` run event.
    ExperimentStarted {
        experiment: &'a Value,
        /// What the run resolved before it started playing.
        resolved: Resolved<'a>,
    },
    HypothesisStarted {
        phase: HypothesisPhase,
    },
    HypothesisCompleted {
        phase: HypothesisPhase,
        state: &'a HypothesisState,
    },
    /// The continuous hypothesis starts, once, before its first iteration; `frequency` is
    /// the seconds between two iterations.
    ContinuousHypothesisStarted {
        frequency: f64,
    },
    MethodStarted,
    /// The method is over, as chaoslib's `method_completed`: also when it was aborted or
    /// interrupted by SIGTERM or a control, but not when SIGINT, SIGUSR1, SIGUSR2 or an
    /// activity's `SystemExit` cut it short (see [`RunEvent::SignalExit`]).
    MethodCompleted {
        runs: &'a [Record],
    },
    ActivityStarted {
        phase: ActivityPhase,
        activity: &'a Value,
    },
    ActivityCompleted {
        phase: ActivityPhase,
        record: &'a Record,
    },
    RollbacksStarted,
    RollbacksCompleted {
        runs: &'a [Record],
    },
    /// The run loop caught the reference's `InterruptExecution` (SIGTERM, a control, an
    /// activity raising it) before the rollbacks.
    Interrupted,
    /// The run loop caught the reference's `KeyboardInterrupt` or `SystemExit` (SIGINT,
    /// SIGUSR1, SIGUSR2, an activity's `SystemExit`) before the rollbacks.
    SignalExit,
    /// The run is over: the journal is final. `json` is its reference shape.
    Finished {
        journal: &'a Journal,
        json: &'a Value,
        exit_code: u8,
    },
}

/// What the engine resolved before it plays the experiment: a subscriber that may have
/// to finish the run's work without the engine (the [`guardian`](crate::guardian)) needs
/// it. The secrets are in clear: a subscriber that writes them anywhere masks them first
/// ([`crate::redact`]).
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    pub configuration: &'a experiment::Map,
    pub secrets: &'a experiment::Map,
    pub rollback_strategy: &'a crate::strategy::RollbackStrategy,
    /// The names of the run's global and top-level controls.
    pub controls: &'a [String],
}

/// Something that wants to know. Subscribers are awaited in turn and cannot fail the run
/// once it started: a subscriber logs its own failures.
pub trait Subscriber: Send + Sync {
    /// Called once the experiment is loaded and valid, just before the engine starts (no
    /// call when the run cannot start): a subscriber acquires what it needs here (the
    /// events file is created). An error stops the run there: exit code 1, no journal.
    fn ready(&self) -> Result<(), NotReady> {
        Ok(())
    }

    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()>;

    /// Called once the run is over, before [`RunEvent::Finished`], with the journal in its
    /// reference shape: a subscriber that keeps the journal (the journal file) writes it
    /// here. An error is logged and makes the exit code 1 (the reference exits 1 when it
    /// cannot write the journal).
    fn persist(&self, _journal: &Value) -> Result<(), NotReady> {
        Ok(())
    }
}

/// A subscriber that could not get ready for the run; the message names what and where.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct NotReady(pub Box<dyn std::error::Error + Send + Sync>);

/// The subscribers of one run, in the order they are told.
#[derive(Clone, Default)]
pub struct Events {
    subscribers: Vec<Arc<dyn Subscriber>>,
}

impl Events {
    pub fn new(subscribers: Vec<Arc<dyn Subscriber>>) -> Self {
        Self { subscribers }
    }

    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Every subscriber's [`Subscriber::ready`], in order; the first error stops.
    pub fn ready(&self) -> Result<(), NotReady> {
        self.subscribers.iter().try_for_each(|s| s.ready())
    }

    /// Every subscriber's [`Subscriber::persist`], in order; each error is logged. False
    /// when one failed.
    pub fn persist(&self, journal: &Value) -> bool {
        let mut all = true;
        for subscriber in &self.subscribers {
            if let Err(e) = subscriber.persist(journal) {
                log::error!("{e}");
                all = false;
            }
        }
        all
    }

    pub async fn emit(&self, event: RunEvent<'_>) {
        for subscriber in &self.subscribers {
            subscriber.on_event(event).await;
        }
    }
}
