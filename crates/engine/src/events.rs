//! Run events: what happens during a run, as it happens, for whoever subscribed.
//!
//! The journal writer, the notification channels, and (later) the events file, the
//! agent report and the operator's status updates are all subscribers: the engine emits
//! events in order and awaits each subscriber in turn, so a subscriber sees the run exactly
//! as the log tells it. With no subscriber an event costs a length check.

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
    HypothesisStarted {
        phase: HypothesisPhase,
    },
    HypothesisCompleted {
        phase: HypothesisPhase,
        state: &'a HypothesisState,
    },
    MethodStarted,
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
    /// The run is over: the journal is final. `json` is its reference shape.
    Finished {
        journal: &'a Journal,
        json: &'a Value,
        exit_code: u8,
    },
}

/// Something that wants to know. Subscribers are awaited in turn and cannot fail the run:
/// a subscriber logs its own failures.
pub trait Subscriber: Send + Sync {
    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()>;
}

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

    pub async fn emit(&self, event: RunEvent<'_>) {
        for subscriber in &self.subscribers {
            subscriber.on_event(event).await;
        }
    }
}
