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
