//! `chaos` as the first process of a container: a minimal init, so that a run's guardian
//! outlives a killed run there too.
//!
//! In a container (a Kubernetes Job running the Shakedown image) `chaos` is often PID 1 of
//! its PID namespace. When PID 1 dies, the kernel kills every other process of the
//! namespace, so the run's guardian (`engine::guardian`), which must outlive a run killed
//! by the OOM killer to play its rollbacks, would die with it. And PID 1 has duties a run
//! does not fulfil: orphans are re-parented to it and must be reaped.
//!
//! So when `chaos` finds itself PID 1 ([`run_if_first_process`]), it does not run the
//! command itself: it starts itself again as its only child (with [`CHILD_ENV`] set), with
//! the same arguments, and then only
//! - forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to that child (a
//!   `kubectl delete pod` is the run's SIGTERM, which it handles with its rollbacks);
//! - reaps every process that ends (the run, its guardian, orphaned activities);
//! - exits once no process is left, with the run's exit code (128 + the signal when it
//!   was killed), so the guardian had all the time it needed.
//!
//! It waits on signals with `sigwait` (signals blocked, nothing polled), and uses no
//! memory beyond its own start. `SHAKEDOWN_NO_INIT=1` turns this off (when something else
//! is PID 1's init, such as `tini`, `chaos` is not PID 1 anyway).

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Set in the environment of the child a PID 1 `chaos` starts: it runs the command.
pub const CHILD_ENV: &str = "SHAKEDOWN_INIT_CHILD";

/// Set to turn the init behaviour off.
pub const DISABLE_ENV: &str = "SHAKEDOWN_NO_INIT";

/// The signals passed on to the run.
const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// When this process is PID 1 (and not told otherwise), runs the command in a child and
/// acts as init until every process has ended; returns the exit code to exit with. `None`
/// when this process should run the command itself.
pub fn run_if_first_process() -> Option<u8> {
    if std::process::id() != 1
        || std::env::var_os(CHILD_ENV).is_some()
        || std::env::var_os(DISABLE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
    {
        return None;
    }
    Some(match init() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chaos: cannot run as the container's first process ({e}); set {DISABLE_ENV}=1 to run without it");
            1
        }
    })
}

fn init() -> std::io::Result<u8> {
    // SAFETY: plain signal-set manipulation on a local, zero-initialised set.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        for signal in FORWARDED {
            libc::sigaddset(&mut set, signal);
        }
    }
    // The kernel delivers a signal to a namespace's init only if it has a handler for it
    // (SIGKILL aside), even from outside the namespace: a handler that does nothing, never
    // called since the signals stay blocked, makes them pending for `sigwait`. Handlers
    // go back to the default at `exec`, so the child does not inherit them.
    for signal in FORWARDED {
        // SAFETY: a zeroed sigaction with a valid `extern "C"` handler and an empty mask.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // Blocked before the child exists, so no signal is lost in between; the child gets an
    // empty mask back before it runs (the mask survives fork and exec).
    // SAFETY: `set` is a valid signal set; the old mask is not needed.
    if unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1");
    // SAFETY: between fork and exec the closure only calls sigprocmask, which is
    // async-signal-safe, on a set of its own.
    unsafe {
        command.pre_exec(|| {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    let run = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
    // The child is reaped below with waitpid, not through the handle.
    drop(child);
    let mut code: Option<u8> = None;
    loop {
        let mut signal: libc::c_int = 0;
        // SAFETY: `set` and `signal` are valid for the call.
        if unsafe { libc::sigwait(&set, &mut signal) } != 0 {
            continue;
        }
        if signal != libc::SIGCHLD {
            if code.is_none() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(run, signal) };
            }
            continue;
        }
        // Reap everything that ended; the run's status is the exit code.
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: `status` is valid for the call.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == 0 {
                break;
            }
            if pid < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
                    // No child is left: the run and its guardian are done.
                    return Ok(code.unwrap_or(1));
                }
                break;
            }
            if pid == run {
                code = Some(exit_code(status));
            }
        }
    }
}

/// The handler that lets the forwarded signals reach PID 1; they are taken by `sigwait`.
extern "C" fn ignore(_: libc::c_int) {}

/// The shell's convention: the exit code, or 128 + the signal that killed the process.
fn exit_code(status: libc::c_int) -> u8 {
    if libc::WIFEXITED(status) {
        u8::try_from(libc::WEXITSTATUS(status)).unwrap_or(1)
    } else if libc::WIFSIGNALED(status) {
        u8::try_from(128 + libc::WTERMSIG(status)).unwrap_or(255)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        // Statuses as waitpid encodes them on Linux.
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(0), 0);
        assert_eq!(exit_code(libc::SIGKILL), 137);
        assert_eq!(exit_code(libc::SIGTERM), 143);
    }

    #[test]
    fn a_process_that_is_not_pid_1_runs_its_command_itself() {
        assert_eq!(run_if_first_process(), None);
    }
}
