//! Tolerance rules as recorded from the reference (chaostoolkit-lib 1.44.0) in
//! tolerance_oracle.json (regenerate with tolerance_gen.py), plus the cases the table
//! cannot express (probe tolerances, describe).

mod tolerance_common;

use experiment::substitute::Lookup;
use experiment::tolerance::{describe, describe_for, evaluate, Outcome};
use experiment::Map;
use serde_json::{json, Value};

#[test]
fn matches_the_recorded_reference_table() {
    let table: Value = serde_json::from_str(include_str!("tolerance_oracle.json")).expect("table");
    let (n, bad) = tolerance_common::disagreements(&table);
    assert!(n > 200, "table too small: {n}");
    assert!(
        bad.is_empty(),
        "{} of {n} cases disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn probe_tolerance_is_handed_to_the_engine() {
    let empty = Map::new();
    let l = Lookup::new(&empty, &empty);
    let t = json!({"type": "probe", "name": "p", "provider": {"type": "python", "module": "m", "func": "f", "arguments": {"a": 1}}});
    match evaluate(&t, &json!({"status": 200}), &l) {
        Outcome::RunProbe(a) => {
            assert_eq!(
                a["provider"]["arguments"],
                json!({"a": 1, "value": {"status": 200}})
            );
            assert_eq!(a["name"], json!("p"));
        }
        other => panic!("{other:?}"),
    }
    // The original is untouched (the reference mutates it; we do not).
    assert_eq!(t["provider"]["arguments"], json!({"a": 1}));
    let no_args = json!({"type": "probe", "provider": {"type": "python"}});
    assert!(matches!(
        evaluate(&no_args, &json!(1), &l),
        Outcome::Error(_)
    ));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let empty = Map::new();
    let l = Lookup::new(&empty, &empty);
    let cases = [
        json!({"type": "regex", "pattern": "(a+)+$"}),
        json!({"type": "regex", "pattern": "a{99999999999}"}),
        json!({"type": "regex", "pattern": "\\"}),
        json!({"type": "regex", "pattern": "\\u12"}),
        json!({"type": "regex", "pattern": "\\U0011FFFF"}),
        json!({"type": "regex", "pattern": "[\\"}),
        json!({"type": "regex", "pattern": "(?"}),
        json!({"type": "range", "range": [0, 1]}),
        json!({"type": "range", "range": ["1e999999999999999999999999", "-1e-99999999999999999999"]}),
        json!({"type": "jsonpath", "path": "$..*"}),
    ];
    let long = "a".repeat(40) + "!";
    for t in cases {
        for v in [
            json!(long),
            json!("1e-999999999999999999999999"),
            json!([0, [9, 9], 99999999999u64]),
            json!(null),
        ] {
            let _ = evaluate(&t, &v, &l);
            let _ = describe(&t);
        }
    }
}

#[test]
fn descriptions() {
    let cases: &[(Value, &str)] = &[
        (json!(200), "200"),
        (json!(true), "True"),
        (json!("ok"), "'ok'"),
        (json!([200, 204]), "between 200 and 204"),
        (json!([200, 201, 204]), "one of [200, 201, 204]"),
        (
            json!({"type": "regex", "pattern": "ok", "target": "stdout"}),
            "regex 'ok' on stdout",
        ),
        (
            json!({"type": "jsonpath", "path": "$.x", "count": 0}),
            "jsonpath $.x (count 0)",
        ),
        (
            json!({"type": "jsonpath", "path": "$.x", "target": "body", "expect": [1]}),
            "jsonpath $.x on body expecting [1]",
        ),
        (
            json!({"type": "range", "range": [0, 10]}),
            "between 0 and 10",
        ),
        (
            json!({"type": "probe", "name": "check"}),
            "probe 'check' to succeed",
        ),
        (json!({"type": "nope"}), "unsupported tolerance type 'nope'"),
    ];
    for (t, want) in cases {
        assert_eq!(describe(t), *want, "{t}");
    }
    assert_eq!(
        describe_for(&json!([200, 204]), &json!({"status": 500})),
        "status one of [200, 204]"
    );
    assert_eq!(
        describe_for(&json!([0, 10]), &json!(11)),
        "between 0 and 10"
    );
}
