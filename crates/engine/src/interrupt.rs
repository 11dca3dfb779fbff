//! Interruptions: SIGINT, SIGTERM, SIGUSR1 and SIGUSR2, as the reference reacts to them.
//!
//! The reference raises an exception in its main thread, which unwinds the current step and
//! is caught once by the run loop. Here a signal sets a pending [`Interruption`]; foreground
//! steps (activities, pauses) race against it and stop, and the run loop [`take`]s it once,
//! so a later signal (during rollbacks, say) interrupts again.
//!
//! [`take`]: Interrupter::take

use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interruption {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
    /// SIGUSR1: graceful exit (the reference's exit code 20).
    Usr1,
    /// SIGUSR2: ungraceful exit (code 30): no rollbacks, background activities abandoned.
    Usr2,
    /// A control raised the reference's `InterruptExecution`.
    Control,
    /// A Python function raised `SystemExit` with a code other than 20 or 30.
    Exit(Option<i64>),
    /// The kill switch is on (`crate::kill_switch`): the run stops as `interrupted` and
    /// plays its rollbacks (unless the strategy is `never`).
    KillSwitch,
}

impl Interruption {
    /// What a bridged function's `KeyboardInterrupt` or `SystemExit` amounts to: the
    /// reference catches them in its run loop as it catches the signals.
    pub fn from_exit(exit: providers::Exit) -> Self {
        match exit {
            providers::Exit::KeyboardInterrupt => Interruption::Int,
            providers::Exit::SystemExit(Some(20)) => Interruption::Usr1,
            providers::Exit::SystemExit(Some(30)) => Interruption::Usr2,
            providers::Exit::SystemExit(code) => Interruption::Exit(code),
        }
    }
}

#[derive(Default)]
pub struct Interrupter {
    pending: Mutex<Option<Interruption>>,
    ungraceful: Mutex<bool>,
    /// The message of a control's interruption.
    control_message: Mutex<Option<String>>,
    /// Why the kill switch stopped the run, once it did.
    kill_switch: Mutex<Option<String>>,
    /// The rollbacks started: the kill switch no longer interrupts.
    rolling_back: std::sync::atomic::AtomicBool,
    /// The first SIGINT or SIGTERM the process received (not a control, not a Python
    /// function's KeyboardInterrupt): what the journal's `interruption` key names.
    first_signal: Mutex<Option<Interruption>>,
    notify: Notify,
    /// What driver calls see of the run stopping (providers::scope): stopped by the first
    /// interruption, or at the run's end.
    scope: providers::scope::Scope,
}

impl Interrupter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an interruption; the first pending one wins until it is taken.
    pub fn trigger(&self, what: Interruption) {
        if what == Interruption::Term {
            log::warn!("Caught SIGTERM signal, interrupting experiment now");
        }
        if what == Interruption::Usr2 {
            if let Ok(mut u) = self.ungraceful.lock() {
                *u = true;
            }
        }
        if let Ok(mut p) = self.pending.lock() {
            p.get_or_insert(what);
        }
        self.scope.stop(providers::scope::StopCause::Interrupted);
        self.notify.notify_waiters();
    }

    /// The scope driver calls of this run are handed.
    pub fn run_scope(&self) -> providers::scope::RunScope {
        self.scope.handle()
    }

    /// The run reached its end: what its functions started and left running stops.
    pub fn end_run(&self) {
        self.scope.stop(providers::scope::StopCause::Ended);
    }

    /// A signal the process received: recorded (SIGINT and SIGTERM, the first one) for the
    /// journal, then an interruption like any other.
    pub fn signal(&self, what: Interruption) {
        if matches!(what, Interruption::Int | Interruption::Term) {
            if let Ok(mut first) = self.first_signal.lock() {
                first.get_or_insert(what);
            }
        }
        self.trigger(what);
    }

    /// The journal's `interruption` value (chaostoolkit 1.21's), when SIGINT or SIGTERM was
    /// received: `{"kind": "signal", "name": "SIGINT", "reason": "received SIGINT"}`.
    pub fn recorded_signal(&self) -> Option<&'static str> {
        match self.first_signal.lock().ok().and_then(|f| *f) {
            Some(Interruption::Int) => Some("SIGINT"),
            Some(Interruption::Term) => Some("SIGTERM"),
            _ => None,
        }
    }

    /// A control interrupting the run with `message`.
    pub fn trigger_control(&self, message: String) {
        if let Ok(mut m) = self.control_message.lock() {
            *m = Some(message);
        }
        self.trigger(Interruption::Control);
    }

    /// The kill switch stopping the run, for `reason` (logged when the run loop catches
    /// it). Ignored once the rollbacks started: they are what the switch wants to happen.
    pub fn trigger_kill_switch(&self, reason: String) {
        if self.rolling_back.load(std::sync::atomic::Ordering::SeqCst) {
            log::warn!("{reason}; the rollbacks go on");
            return;
        }
        if let Ok(mut m) = self.kill_switch.lock() {
            *m = Some(reason);
        }
        self.trigger(Interruption::KillSwitch);
    }

    /// Why the kill switch stopped the run, if it did.
    pub fn kill_switch_reason(&self) -> Option<String> {
        self.kill_switch.lock().ok().and_then(|m| m.clone())
    }

    /// The run starts its rollbacks: from now on the kill switch does not interrupt.
    pub fn enter_rollbacks(&self) {
        self.rolling_back
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The line the run loop logs when it catches the interruption.
    pub fn log_caught(&self, what: Interruption) {
        match what {
            Interruption::Int => log::warn!("Received a termination signal (Ctrl-C)..."),
            Interruption::Term => crate::critical!("SIGTERM signal received"),
            Interruption::Usr1 => log::warn!("Received the exit signal: 20"),
            Interruption::Usr2 => log::warn!("Received the exit signal: 30"),
            Interruption::Exit(Some(code)) => log::warn!("Received the exit signal: {code}"),
            Interruption::Exit(None) => log::warn!("Received the exit signal: None"),
            Interruption::KillSwitch => {
                crate::critical!("{}", self.kill_switch_reason().unwrap_or_default());
            }
            Interruption::Control => {
                let message = self
                    .control_message
                    .lock()
                    .ok()
                    .and_then(|m| m.clone())
                    .unwrap_or_default();
                crate::critical!("{message}");
            }
        }
    }

    pub fn pending(&self) -> Option<Interruption> {
        self.pending.lock().ok().and_then(|p| *p)
    }

    /// Consumes the pending interruption (the run loop "catching" it).
    pub fn take(&self) -> Option<Interruption> {
        self.pending.lock().ok().and_then(|mut p| p.take())
    }

    /// True once SIGUSR2 was received: background work is abandoned from then on.
    pub fn ungraceful(&self) -> bool {
        self.ungraceful.lock().map(|u| *u).unwrap_or(false)
    }

    /// Resolves when an interruption is pending.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending().is_some() {
                return;
            }
            notified.await;
        }
    }
}

/// True when `signal` is set to be ignored (inherited from the parent process).
fn inherited_ignore(signal: libc::c_int) -> bool {
    // SAFETY: a null new action only queries the current one into `old`.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Forwards the four signals to `interrupter` until the process ends.
pub fn install(interrupter: std::sync::Arc<Interrupter>) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let kinds = [
        (SignalKind::interrupt(), Interruption::Int),
        (SignalKind::terminate(), Interruption::Term),
        (SignalKind::user_defined1(), Interruption::Usr1),
        (SignalKind::user_defined2(), Interruption::Usr2),
    ];
    for (kind, what) in kinds {
        // Like Python (and `nohup`), leave SIGINT alone when it was ignored at start-up, as
        // a shell does for background jobs.
        if what == Interruption::Int && inherited_ignore(libc::SIGINT) {
            continue;
        }
        let mut stream = signal(kind)?;
        let interrupter = interrupter.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                interrupter.signal(what);
            }
        });
    }
    Ok(())
}

impl Interrupter {
    /// Resolves once SIGUSR2 has been received.
    pub async fn wait_ungraceful(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.ungraceful() {
                return;
            }
            notified.await;
        }
    }
}
