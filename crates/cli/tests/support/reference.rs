//! What the tests that compare `chaos` with the Python reference share: where the workspace
//! and the reference (`scripts/reference-venv`) are, log lines without their colours, and a
//! command environment whose loopback traffic no proxy reroutes.

use std::path::{Path, PathBuf};

/// The workspace root, canonical so that paths built from it read plainly in messages.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Removes the proxy variables that would send a command's loopback requests to a proxy.
pub fn remove_proxy_env(cmd: &mut std::process::Command) {
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
}

/// A test run from a background job (`cargo test … &` in a shell without job control)
/// inherits SIGINT (and maybe others) as *ignored*: `chaos`, like Python, then leaves SIGINT
/// alone (it never installs its handler), and a test that interrupts it fails, or, comparing
/// two tools, silently tests nothing. The commands the tests start get default dispositions
/// and an empty signal mask (`chaos_command` in `support/run.rs`, and the differential tiers).
#[allow(dead_code)]
pub fn reset_signal_dispositions(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGUSR1,
                libc::SIGUSR2,
                libc::SIGQUIT,
                libc::SIGHUP,
            ] {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}

/// The reference's `chaos`, installed by `scripts/reference-venv`.
pub fn reference_bin() -> PathBuf {
    workspace_root().join("target/reference-venv/bin/chaos")
}

/// `s` without ANSI CSI sequences (`ESC [ … letter`, the colours of the console log); a
/// lone ESC is dropped too.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Whether a missing peer (a reference venv, a peer binary) must fail the test rather than
/// skip it: `scripts/test` (hence CI) sets `SHAKEDOWN_REQUIRE_PEERS=1` after installing every
/// peer, and a CI system's own `CI` counts too. A developer running one test by hand without
/// the peers gets a loud SKIP line instead.
#[allow(dead_code)]
pub fn peers_required() -> bool {
    ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// Fails the test with `msg` when [`peers_required`], otherwise prints a loud SKIP line
/// naming the test; the caller then returns early.
#[allow(dead_code)]
pub fn skip_or_fail(test: &str, msg: &str) {
    if peers_required() {
        panic!("{msg} (peers are required: SHAKEDOWN_REQUIRE_PEERS or CI is set)");
    }
    eprintln!("\n**** SKIP {test}: {msg} ****\n");
}

/// `LEVEL message` per console line of a run's standard error, without colours,
/// timestamps and (`--verbose`) the `[module:line]` of the line: what two tools' logs
/// must agree on.
#[allow(dead_code)]
pub fn log_lines(stderr: &[u8]) -> Vec<String> {
    strip_ansi(&String::from_utf8_lossy(stderr))
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (head, message) = rest.split_once("] ")?;
            let level = head.rsplit(' ').next()?;
            let message = match message.strip_prefix('[').and_then(|m| m.split_once("] ")) {
                Some((place, rest)) if place.contains(':') => rest,
                _ => message,
            };
            Some(format!("{level} {message}"))
        })
        .collect()
}

/// Asserts that the reference venv's Python can run `import_line` (the extension a test
/// compares with is installed), naming `what` and the script that installs it.
#[allow(dead_code)]
pub fn assert_reference_has(import_line: &str, what: &str) {
    let python = reference_bin().with_file_name("python");
    let check = std::process::Command::new(&python)
        .args(["-c", import_line])
        .env_remove("PYTHONPATH")
        .output();
    assert!(
        check.as_ref().is_ok_and(|c| c.status.success()),
        "the reference venv at {} lacks {what}: run scripts/reference-venv",
        python.display()
    );
}

/// The reference's `chaos --settings DIR/settings.yaml run experiment.json` in `dir`, with
/// `crates/cli/tests/<modules>` on PYTHONPATH (a test's `sitecustomize.py` that points an
/// extension at a local stand-in), no proxy and an empty stdin.
#[allow(dead_code)]
pub fn reference_run_command(dir: &Path, modules: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(reference_bin());
    cmd.args(["--no-version-check", "--settings"])
        .arg(dir.join("settings.yaml"))
        .args(["run", "experiment.json"])
        .current_dir(dir)
        .env(
            "PYTHONPATH",
            workspace_root().join("crates/cli/tests").join(modules),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null());
    remove_proxy_env(&mut cmd);
    cmd
}
