//! The run a driver call belongs to, and the moment that run stops.
//!
//! Why: most driver functions are short and the engine simply drops their future when a
//! signal arrives. Work that outlives its call (traffic started by `load.single`, which
//! returns at once as the talk's Python module did) or that runs in the background (where
//! signals do not reach activities, as in the reference) must still stop when the run is
//! interrupted or ends, and must stop *cleanly* (finish what is in flight, report what it
//! did). The engine owns a [`Scope`] per run and stops it on any interruption and at the
//! run's end; [`registry`](crate::registry) runs each native function inside the run's
//! [`RunScope`], which the function reads with [`current`] and hands to whatever it starts.

use std::future::Future;
use tokio::sync::watch;

/// Why a run's scope stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// A signal, a control, the kill switch: the run was interrupted.
    Interrupted,
    /// The run reached its end (after its rollbacks).
    Ended,
}

impl StopCause {
    /// The word results and logs use: `interrupted`, `experiment-end`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopCause::Interrupted => "interrupted",
            StopCause::Ended => "experiment-end",
        }
    }
}

/// The engine's side: stops the scope once (the first cause wins).
#[derive(Debug)]
pub struct Scope {
    tx: watch::Sender<Option<StopCause>>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            tx: watch::Sender::new(None),
        }
    }
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops the scope for `cause`, unless it already stopped.
    pub fn stop(&self, cause: StopCause) {
        self.tx.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(cause);
                true
            } else {
                false
            }
        });
    }

    /// What driver calls of this run receive.
    pub fn handle(&self) -> RunScope {
        RunScope {
            rx: self.tx.subscribe(),
        }
    }
}

/// A driver's side: whether, and why, the run stopped; cheap to clone and `Send`, so it can
/// be handed to threads and tasks a function starts.
#[derive(Debug, Clone)]
pub struct RunScope {
    rx: watch::Receiver<Option<StopCause>>,
}

impl RunScope {
    /// A scope that never stops (a call made outside any run, e.g. from a test).
    pub fn never() -> RunScope {
        // With its sender gone the channel never changes: `stopped` waits forever.
        let (_, rx) = watch::channel(None);
        RunScope { rx }
    }

    /// Why the run stopped, if it did.
    pub fn cause(&self) -> Option<StopCause> {
        *self.rx.borrow()
    }

    /// Resolves when the run stops (never, if its engine went away without stopping it).
    pub async fn stopped(&mut self) -> StopCause {
        let cause = match self.rx.wait_for(Option::is_some).await {
            Ok(cause) => *cause,
            Err(_) => None,
        };
        match cause {
            Some(cause) => cause,
            None => std::future::pending().await,
        }
    }
}

tokio::task_local! {
    static CURRENT: RunScope;
}

/// The scope of the run whose activity is being called, if any.
pub fn current() -> Option<RunScope> {
    CURRENT.try_with(RunScope::clone).ok()
}

/// Runs `f` with `scope` as [`current`]'s answer (as is, without a scope).
pub async fn within<F: Future>(scope: Option<RunScope>, f: F) -> F::Output {
    match scope {
        Some(scope) => CURRENT.scope(scope, f).await,
        None => f.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_cause_wins_and_every_handle_sees_it() {
        let scope = Scope::new();
        let mut a = scope.handle();
        let b = scope.handle();
        assert_eq!(a.cause(), None);
        scope.stop(StopCause::Interrupted);
        scope.stop(StopCause::Ended);
        assert_eq!(a.stopped().await, StopCause::Interrupted);
        assert_eq!(b.cause(), Some(StopCause::Interrupted));
        // A handle taken later still sees it.
        assert_eq!(scope.handle().cause(), Some(StopCause::Interrupted));
    }

    #[tokio::test]
    async fn current_is_the_scope_it_runs_within() {
        assert!(current().is_none());
        let scope = Scope::new();
        let seen = within(Some(scope.handle()), async { current() }).await;
        scope.stop(StopCause::Ended);
        assert_eq!(seen.map(|s| s.cause()), Some(Some(StopCause::Ended)));
        assert!(within(None, async { current() }).await.is_none());
        assert_eq!(RunScope::never().cause(), None);
    }
}
