//! Differential check against the live reference (tolerance_gen.py --stdout). Skipped,
//! loudly, without the venv; tolerance_table.rs always checks the recorded copy.

mod differential_support;
mod tolerance_common;

#[test]
fn agrees_with_live_chaoslib() {
    let Some(live) = differential_support::live_table("tolerance") else {
        return;
    };
    differential_support::assert_agrees(
        "tolerance",
        &live,
        include_str!("tolerance_oracle.json"),
        tolerance_common::disagreements,
    );
}
