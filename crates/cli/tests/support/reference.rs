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
