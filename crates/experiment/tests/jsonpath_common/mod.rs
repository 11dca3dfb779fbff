//! Shared checker: run every (path, document) case of a jsonpath2 oracle table through our
//! implementation and collect the disagreements.

use experiment::jsonpath;
use serde_json::Value;

pub fn disagreements(table: &Value) -> (usize, Vec<String>) {
    let docs = &table["documents"];
    let cases = table["cases"].as_array().expect("cases");
    let mut bad = Vec::new();
    for case in cases {
        let path = case["path"].as_str().expect("path");
        let doc = &docs[case["doc"].as_str().expect("doc")];
        let compiled = jsonpath::compile(path);
        if let Some(err) = case.get("parse_error") {
            if let Ok(p) = compiled {
                bad.push(format!(
                    "{path:?}: jsonpath2 rejects it ({err}), we parsed {p:?}"
                ));
            }
            continue;
        }
        let p = match compiled {
            Ok(p) => p,
            Err(e) => {
                bad.push(format!("{path:?}: jsonpath2 parses it, we say {e}"));
                continue;
            }
        };
        let got = p.try_find(doc);
        if let Some(err) = case.get("match_error") {
            if let Ok(found) = got {
                bad.push(format!(
                    "{path:?}: jsonpath2 raises ({err}), we found {found:?}"
                ));
            }
            continue;
        }
        match got {
            Ok(found) => {
                let found: Vec<Value> = found.into_iter().map(|c| c.into_owned()).collect();
                let want = case["matches"].as_array().expect("matches");
                if &found != want {
                    bad.push(format!(
                        "{path:?} on {}: want {}, got {}",
                        case["doc"],
                        Value::Array(want.clone()),
                        Value::Array(found)
                    ));
                }
            }
            Err(e) => bad.push(format!("{path:?}: we raise {e}, jsonpath2 matched")),
        }
    }
    (cases.len(), bad)
}
