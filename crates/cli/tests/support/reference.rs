//! What the tests that compare `chaos` with the Python reference share: where the workspace
//! and the reference (`scripts/reference-venv`) are, and log lines without their colours.

use std::path::{Path, PathBuf};

/// The workspace root, canonical so that paths built from it read plainly in messages.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
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
