//! What the `*_differential.rs` tests share: running an oracle generator under the
//! reference venv's python to get the live table, and checking it against the recorded
//! copy and our implementation. Without the venv (or when its python fails) the test is
//! skipped, loudly; the `*_table.rs` tests always check the recorded copy.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The table `tests/{name}_gen.py --stdout` prints under the reference venv's python, or
/// `None` after a SKIPPED line on stderr when there is no venv or the python fails; a
/// failure instead when peers are required (`SHAKEDOWN_REQUIRE_PEERS`, set by
/// `scripts/test`, or `CI`).
pub fn live_table(name: &str) -> Option<Value> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = manifest.join("../../target/reference-venv/bin/python");
    if !python.exists() {
        assert!(
            !peers_required(),
            "no reference venv at {} and peers are required (SHAKEDOWN_REQUIRE_PEERS or CI is \
             set): run scripts/reference-venv",
            python.display()
        );
        eprintln!(
            "SKIPPED {name} differential test: no reference venv at {} \
             (the recorded table in {name}_oracle.json is still checked)",
            python.display()
        );
        return None;
    }
    let out = Command::new(&python)
        .arg(manifest.join(format!("tests/{name}_gen.py")))
        .arg("--stdout")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the reference python");
    if !out.status.success() {
        assert!(
            !peers_required(),
            "the reference python failed and peers are required: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "SKIPPED {name} differential test: the reference python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).expect("generator output"))
}

/// Checks the live table equals the recorded `{name}_oracle.json` (given as its text) and
/// that `disagreements` (our implementation run over the table) finds none.
pub fn assert_agrees(
    name: &str,
    live: &Value,
    recorded: &str,
    disagreements: impl Fn(&Value) -> (usize, Vec<String>),
) {
    let recorded: Value = serde_json::from_str(recorded).expect("table");
    assert_eq!(
        *live, recorded,
        "{name}_oracle.json is stale: rerun {name}_gen.py"
    );
    let (n, bad) = disagreements(live);
    assert!(
        bad.is_empty(),
        "{} of {n} cases disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Whether a missing reference must fail the test rather than skip it.
fn peers_required() -> bool {
    ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"))
}
