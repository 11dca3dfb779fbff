//! Differential check against the real jsonpath2 in the reference venv: regenerates the
//! oracle table live (jsonpath_gen.py --stdout) and compares. Skipped, loudly, when the
//! venv is absent; jsonpath_table.rs always checks the recorded copy.

mod differential_support;
mod jsonpath_common;

#[test]
fn agrees_with_live_jsonpath2() {
    let Some(live) = differential_support::live_table("jsonpath") else {
        return;
    };
    differential_support::assert_agrees(
        "jsonpath",
        &live,
        include_str!("jsonpath_oracle.json"),
        jsonpath_common::disagreements,
    );
}
