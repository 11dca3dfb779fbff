//! Shared checker for tolerance oracle tables (see tolerance_gen.py).

use experiment::substitute::Lookup;
use experiment::tolerance::{evaluate, Outcome};
use serde_json::Value;

pub fn disagreements(table: &Value) -> (usize, Vec<String>) {
    let config = table["configuration"].as_object().expect("configuration");
    let secrets = table["secrets"].as_object().expect("secrets");
    let lookup = Lookup::new(config, secrets);
    let cases = table["cases"].as_array().expect("cases");
    let mut bad = Vec::new();
    for case in cases {
        let (t, v, want) = (&case["tolerance"], &case["value"], &case["result"]);
        let got = evaluate(t, v, &lookup);
        let ok = match (want, &got) {
            (Value::Bool(b), Outcome::Met(m)) => b == m,
            (Value::String(s), Outcome::Error(_)) => s.starts_with("crash"),
            _ => false,
        };
        if !ok {
            bad.push(format!(
                "tolerance {t} on {v}: reference {want}, we {got:?}"
            ));
        }
    }
    (cases.len(), bad)
}
