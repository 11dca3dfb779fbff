//! Running the `chaos` under test in a scratch directory of its own, and reading what the run
//! left there. Needs `support/reference.rs` as the crate's `reference` module (for the
//! proxy variables).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A fresh, empty directory for one test: `<tmp>/shakedown-<suite>-<pid>-<name>`.
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shakedown-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// `chaos ARGS` in `dir`, with `dir/settings.yaml` as its settings, no colours, no proxy,
/// default signal dispositions, and `env` added to its environment; stdin is empty.
pub fn chaos_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chaos"));
    cmd.arg("--settings")
        .arg(dir.join("settings.yaml"))
        .args(args)
        .current_dir(dir)
        .env("CHAOS_COLOR", "never")
        .stdin(Stdio::null());
    super::reference::remove_proxy_env(&mut cmd);
    super::reference::reset_signal_dispositions(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs [`chaos_command`] to its end.
pub fn chaos(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    chaos_command(dir, args, env).output().expect("run chaos")
}

/// Standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The command ended through its own error handling, not a panic: `code`, and `needle`
/// in its standard error.
pub fn assert_clean_exit(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit code {code}; stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "no panic:\n{err}");
    assert_stderr_has(out, needle);
}

/// `needle` is in the command's standard error.
pub fn assert_stderr_has(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

/// The journal at `path`, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e}):\n{text}", path.display()))
}

/// The `name` of each record of a journal list (`run`, `rollbacks`).
pub fn record_names(journal: &serde_json::Value, list: &str) -> Vec<String> {
    journal[list]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| r["activity"]["name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (at most about 30 s, polling) until the journal file at `path` reads as JSON that
/// `ready` accepts, for tests that act at a point of a running experiment; the journal
/// then, or `None` if it never got there.
pub fn wait_for_journal(
    path: &Path,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    for _ in 0..1200 {
        let journal = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
        if let Some(journal) = journal.filter(|j| ready(j)) {
            return Some(journal);
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    None
}

/// The processes whose parent is `pid` (every thread's children).
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}
