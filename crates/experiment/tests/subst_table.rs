//! `${name}` substitution as recorded from the reference's `chaoslib.substitute` in
//! subst_oracle.json (regenerate with subst_gen.py). Exercises the Python `str()`
//! rendering of embedded values too.

use experiment::substitute::{placeholders, substitute, Lookup};
use serde_json::Value;

#[test]
fn matches_the_recorded_reference_table() {
    let table: Value = serde_json::from_str(include_str!("subst_oracle.json")).expect("table");
    let config = table["configuration"].as_object().expect("configuration");
    let secrets = table["secrets"].as_object().expect("secrets");
    let lookup = Lookup::new(config, secrets);
    let mut bad = Vec::new();
    let cases = table["cases"].as_array().expect("cases");
    for case in cases {
        let got = substitute(&case["input"], &lookup);
        if got != case["output"] {
            bad.push(format!(
                "{}: reference {}, we {}",
                case["input"], case["output"], got
            ));
        }
    }
    assert!(cases.len() > 40);
    assert!(
        bad.is_empty(),
        "{} disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn placeholder_names() {
    assert_eq!(
        placeholders("${a} $b $$c ${a} ${d-e} $_f1 ${g"),
        vec!["a", "b", "_f1"]
    );
    assert!(placeholders("no dollars").is_empty());
}
