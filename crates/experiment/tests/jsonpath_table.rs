//! jsonpath2 behaviour, as recorded from the reference (jsonpath2 0.4.5) in
//! jsonpath_oracle.json (regenerate with jsonpath_gen.py).

mod jsonpath_common;

use experiment::jsonpath;
use serde_json::{json, Value};

#[test]
fn matches_the_recorded_jsonpath2_table() {
    let table: Value = serde_json::from_str(include_str!("jsonpath_oracle.json")).expect("table");
    let (n, bad) = jsonpath_common::disagreements(&table);
    assert!(n > 150, "table too small: {n}");
    assert!(
        bad.is_empty(),
        "{} of {n} cases disagree:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn prometheus_filter_applies_to_the_current_node() {
    let all_zero = json!({"data": {"result": [
        {"metric": {}, "value": [1, "0"]},
        {"metric": {}, "value": [2, "0"]}
    ]}});
    let one_bad = json!({"data": {"result": [
        {"metric": {}, "value": [1, "0"]},
        {"metric": {}, "value": [2, "1"]}
    ]}});
    let p = jsonpath::compile(r#"$.data.result.*[?(@.value[1]!="0")]"#).unwrap();
    assert_eq!(p.find(&all_zero).len(), 0);
    assert_eq!(p.find(&one_bad).len(), 1);
    // Without `.*` the filter tests the list itself, which has no `value`.
    let q = jsonpath::compile(r#"$.data.result[?(@.value[1]!="0")]"#).unwrap();
    assert_eq!(q.find(&one_bad).len(), 0);
}

#[test]
fn hostile_inputs_do_not_panic() {
    let deep_path = format!("$[?({}@{})]", "(".repeat(5000), ")".repeat(5000));
    assert!(jsonpath::compile(&deep_path).is_err());
    let nots = format!("$[?({}@)]", "not ".repeat(5000));
    assert!(jsonpath::compile(&nots).is_err());
    let mut deep = json!(1);
    for _ in 0..2000 {
        deep = Value::Array(vec![deep]);
    }
    let p = jsonpath::compile("$..*").unwrap();
    assert!(p.try_find(&deep).is_err());
    let p = jsonpath::compile(
        "$[-99999999999999999999999999999999999999999:99999999999999999999999999999999999:-1]",
    )
    .unwrap();
    assert!(p.find(&json!([1, 2, 3])).len() <= 3);
    for s in [
        "$[\"",
        "$[\"\\u12\"]",
        "$.é",
        "$\u{0}",
        "$[?(@ = {\"a\" 1})]",
        "$[?(@ = [1,])]",
        "$[1:2:3:4]",
    ] {
        assert!(jsonpath::compile(s).is_err(), "{s}");
    }
}
