//! Stopping a run from outside: SIGINT / SIGTERM, or whoever holds the sender (tests).
//!
//! Passed into the runner rather than read from a global, so a test can stop a run it
//! started and a library user can wire its own signals. A stop ends the current step (its
//! future is dropped: an HTTP call or a wait is abandoned), then the scenario's cleanup
//! runs to its end (deleting what `kubectl apply` created) before the runner returns.

use tokio::sync::watch;

/// Why the run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    /// 128 + the signal's number, as a shell reports a process killed by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }

    pub fn signal_name(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
        }
    }
}

/// The receiving end: cheap to clone, answers [`Shutdown::wait`] once a stop was sent.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<Option<Stop>>);

impl Shutdown {
    /// A sender and its receiver.
    pub fn channel() -> (watch::Sender<Option<Stop>>, Shutdown) {
        let (tx, rx) = watch::channel(None);
        (tx, Shutdown(rx))
    }

    /// Stops on SIGINT and SIGTERM (a task listens for as long as the runtime lives).
    pub fn on_signals() -> std::io::Result<Shutdown> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        let (tx, rx) = Shutdown::channel();
        tokio::spawn(async move {
            loop {
                let stop = tokio::select! {
                    _ = int.recv() => Stop::Interrupt,
                    _ = term.recv() => Stop::Terminate,
                };
                let _ = tx.send(Some(stop));
            }
        });
        Ok(rx)
    }

    /// The stop asked for, if any.
    pub fn stopped(&self) -> Option<Stop> {
        *self.0.borrow()
    }

    /// Waits for a stop (forever when none can come any more).
    pub async fn wait(&mut self) -> Stop {
        loop {
            if let Some(stop) = *self.0.borrow_and_update() {
                return stop;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
