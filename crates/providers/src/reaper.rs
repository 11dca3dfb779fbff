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
//! away before the runner has finished with its rollbacks. It is the first piece of the
//! guardian of issue #15, which will also play the rollbacks of a killed run.

use std::io::{BufRead, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// Set in the environment of the reaper process; `chaos` checks it before anything else
/// and then runs [`main`] instead of a command.
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
        .stderr(Stdio::null())
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

/// The reaper's own life: read registrations until the runner's end of the pipe closes,
/// then SIGKILL every group still registered. Returns the process exit code.
pub fn main() -> u8 {
    // SAFETY: setting a signal's disposition to SIG_IGN has no memory-safety preconditions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    let mut groups = std::collections::BTreeSet::new();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        apply(&mut groups, &line);
    }
    for pgid in groups {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    0
}

/// One registration line: `+PGID` adds a group, `-PGID` removes it; anything else (and
/// group ids 0 or 1, which would signal ourselves or init's group) is ignored.
fn apply(groups: &mut std::collections::BTreeSet<libc::pid_t>, line: &str) {
    let (sign, id) = line.split_at(line.len().min(1));
    let Ok(pgid) = id.trim().parse::<libc::pid_t>() else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    match sign {
        "+" => {
            groups.insert(pgid);
        }
        "-" => {
            groups.remove(&pgid);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_add_and_remove_groups_and_nonsense_is_ignored() {
        let mut groups = std::collections::BTreeSet::new();
        for line in [
            "+100", "+200", "-100", "+1", "+0", "x5", "+", "+-3", "+300 ",
        ] {
            apply(&mut groups, line);
        }
        assert_eq!(groups.into_iter().collect::<Vec<_>>(), [200, 300]);
    }
}
