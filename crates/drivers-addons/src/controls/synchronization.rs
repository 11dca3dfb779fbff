//! `chaosaddons.controls.synchronization`: `after_experiment_control` sets a process-wide
//! "experiment finished" flag; the safeguards control stops interrupting once it is set.
//!
//! Upstream's flag is a `threading.Event` that is never cleared; here a safeguards control
//! clears it when it is configured for a new run, so a second run in the same process (the
//! operator, tests) is guarded again.

use providers::control::{Changes, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;
use std::sync::atomic::{AtomicBool, Ordering};

pub const MODULE: &str = "chaosaddons.controls.synchronization";

static EXPERIMENT_FINISHED: AtomicBool = AtomicBool::new(false);

/// Whether a synchronization control saw the experiment end.
pub fn experiment_finished() -> bool {
    EXPERIMENT_FINISHED.load(Ordering::SeqCst)
}

/// A new run starts: the flag is down again.
pub(crate) fn reset() {
    EXPERIMENT_FINISHED.store(false, Ordering::SeqCst);
}

pub struct Synchronization;

impl Control for Synchronization {
    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        if call.level == Level::Experiment && call.when == When::After {
            EXPERIMENT_FINISHED.store(true, Ordering::SeqCst);
        }
        Box::pin(async { Ok(Changes::default()) })
    }
}
