//! The reaper: process activities never outlive the `chaos` that started them, even when
//! it is killed with SIGKILL.
//!
//! Each process activity runs in a process group of its own (see [`crate::process`]).
//! While it runs, its group id is registered with one small helper process per run, the
//! reaper: `chaos` itself, started again with [`REAPER_ENV`] set, reading group ids from a
//! pipe. When the runner goes away, however it goes, the pipe's write end closes; the
//! reaper then sends SIGKILL to every group still registered and exits. An activity that
//! ends (or is killed by its timeout or an interrupt) unregisters its group first.
//!
//! Why a process and not the kernel's parent-death signal on each activity: that signal
//! reaches only the direct child (a shell's children live on), and setting it forces a
//! full `fork` for every activity instead of the cheaper spawn path (0.3 ms each,
//! measured in docs/benchmarks.md); the reaper is started once per run, only when a
//! process activity runs, and each registration is a few bytes on a pipe.
//!
//! The reaper is its own process group and ignores SIGINT, SIGTERM and SIGHUP, so a
//! Ctrl-C in the terminal (which signals the terminal's foreground group) does not take it
//! away before the runner has finished with its rollbacks.
//!
//! The same process is the run's guardian (`engine::guardian`), which also plays the
//! rollbacks of a killed run and finalises its journal: this module owns the process, the
//! pipe and the process groups ([`Groups`]); the guardian's messages travel on the same
//! pipe ([`send_message`]) and its process body lives in the engine, which can play
//! rollbacks. The guardian starts the process with the run ([`start_now`]); without it
//! (an embedding caller), the first process activity does.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// Set in the environment of the reaper process; `chaos` checks it before anything else
/// and then runs the guardian (`engine::guardian::main`) instead of a command.
pub const REAPER_ENV: &str = "SHAKEDOWN_REAPER";

struct Reaper {
    pipe: ChildStdin,
    // Kept so the handle is not dropped (the child is not waited for: it outlives us).
    _child: Child,
}

static REAPER: OnceLock<Option<Mutex<Reaper>>> = OnceLock::new();
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Lets process activities use a reaper. Only the `chaos` binary calls it: the reaper is
/// the running executable started again, which in a test binary would be the test suite.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

fn reaper() -> Option<&'static Mutex<Reaper>> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    REAPER
        .get_or_init(|| match start() {
            Ok(reaper) => Some(Mutex::new(reaper)),
            Err(e) => {
                log::warn!(
                    "process activities will not be stopped if chaos is killed: cannot start its reaper ({e})"
                );
                None
            }
        })
        .as_ref()
}

fn start() -> std::io::Result<Reaper> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .env(REAPER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        // The guardian logs to the run's console when it takes over a killed run.
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()?;
    let pipe = child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no pipe to the reaper"))?;
    Ok(Reaper {
        pipe,
        _child: child,
    })
}

fn send(line: &str) {
    if let Some(reaper) = reaper() {
        let mut reaper = reaper.lock().unwrap_or_else(|e| e.into_inner());
        // A reaper that died cannot be helped; the activity itself is not affected.
        let _ = reaper.pipe.write_all(line.as_bytes());
    }
}

/// Registers a process group that runs an activity.
pub fn register(pgid: u32) {
    send(&format!("+{pgid}\n"));
}

/// Unregisters it: the activity ended and its group is no longer the reaper's business.
pub fn unregister(pgid: u32) {
    send(&format!("-{pgid}\n"));
}

/// Starts the reaper now, if it is enabled and not started yet: the run's guardian
/// (`engine::guardian`) is the same process and starts with the run. False when there is
/// no reaper (not enabled, or it could not start).
pub fn start_now() -> bool {
    reaper().is_some()
}

/// Sends one line of another kind to the reaper process (the guardian's messages, JSON
/// objects without a newline). Lines starting with `+` or `-` are registrations.
pub fn send_message(line: &str) {
    debug_assert!(!line.contains('\n'));
    let mut framed = String::with_capacity(line.len() + 1);
    framed.push_str(line);
    framed.push('\n');
    send(&framed);
}

/// The reaper's side: the process groups registered so far.
#[derive(Debug, Default)]
pub struct Groups(std::collections::BTreeSet<libc::pid_t>);

impl Groups {
    /// Applies one registration line: `+PGID` adds a group, `-PGID` removes it. False
    /// for a line that is not a registration (it is someone else's message); group ids 0
    /// and 1, which would signal ourselves or init's group, are ignored.
    pub fn apply(&mut self, line: &str) -> bool {
        let (sign, id) = line.split_at(line.len().min(1));
        if sign != "+" && sign != "-" {
            return false;
        }
        let Ok(pgid) = id.trim().parse::<libc::pid_t>() else {
            return true;
        };
        if pgid <= 1 {
            return true;
        }
        if sign == "+" {
            self.0.insert(pgid);
        } else {
            self.0.remove(&pgid);
        }
        true
    }

    /// SIGKILLs every group still registered: their activity's runner is gone.
    pub fn kill_all(&mut self) {
        for pgid in std::mem::take(&mut self.0) {
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }
}

/// Makes this process deaf to the terminal's SIGINT, SIGTERM and SIGHUP: they are meant
/// for the runner, which plays its rollbacks on them while the reaper keeps watching.
pub fn ignore_terminal_signals() {
    // SAFETY: setting a signal's disposition to SIG_IGN has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_add_and_remove_groups_and_nonsense_is_ignored() {
        let mut groups = Groups::default();
        for line in ["+100", "+200", "-100", "+1", "+0", "+", "+-3", "+300 "] {
            assert!(groups.apply(line), "{line} is a registration line");
        }
        for line in ["x5", "{\"done\": true}", ""] {
            assert!(!groups.apply(line), "{line} is someone else's line");
        }
        assert_eq!(groups.0.into_iter().collect::<Vec<_>>(), [200, 300]);
    }
}
