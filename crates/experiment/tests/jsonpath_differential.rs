//! Differential check against the real jsonpath2 in the reference venv: regenerates the
//! oracle table live (jsonpath_gen.py --stdout) and compares. Skipped, loudly, when the
//! venv is absent; jsonpath_table.rs always checks the recorded copy.

mod jsonpath_common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn agrees_with_live_jsonpath2() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = manifest.join("../../target/reference-venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED jsonpath differential test: no reference venv at {} \
             (the recorded table in jsonpath_oracle.json is still checked)",
            python.display()
        );
        return;
    }
    let out = Command::new(&python)
        .arg(manifest.join("tests/jsonpath_gen.py"))
        .arg("--stdout")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the reference python");
    if !out.status.success() {
        eprintln!(
            "SKIPPED jsonpath differential test: the reference python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("generator output");
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("jsonpath_oracle.json")).expect("table");
    assert_eq!(
        live, recorded,
        "jsonpath_oracle.json is stale: rerun jsonpath_gen.py"
    );
    let (n, bad) = jsonpath_common::disagreements(&live);
    assert!(
        bad.is_empty(),
        "{} of {n} cases disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
