//! Differential check against the live reference (tolerance_gen.py --stdout). Skipped,
//! loudly, without the venv; tolerance_table.rs always checks the recorded copy.

mod tolerance_common;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn agrees_with_live_chaoslib() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = manifest.join("../../target/reference-venv/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED tolerance differential test: no reference venv at {} \
             (the recorded table in tolerance_oracle.json is still checked)",
            python.display()
        );
        return;
    }
    let out = Command::new(&python)
        .arg(manifest.join("tests/tolerance_gen.py"))
        .arg("--stdout")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run the reference python");
    if !out.status.success() {
        eprintln!(
            "SKIPPED tolerance differential test: the reference python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).expect("generator output");
    let recorded: serde_json::Value =
        serde_json::from_str(include_str!("tolerance_oracle.json")).expect("table");
    assert_eq!(
        live, recorded,
        "tolerance_oracle.json is stale: rerun tolerance_gen.py"
    );
    let (n, bad) = tolerance_common::disagreements(&live);
    assert!(
        bad.is_empty(),
        "{} of {n} cases disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
