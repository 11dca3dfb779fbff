//! The reference's patch algorithm on a VirtualService's `spec.http` list, without I/O.
//!
//! An HTTP rule is targeted when one of its `route[].destination`s has exactly the `host`
//! and `subset` of a `routes` entry (strings compared as given: a short name is not its FQDN;
//! a missing subset matches only a destination without one, as chaostoolkit-istio 0.1.5+).
//! Adding sets the rule's `fault` to the new one, REPLACING whatever was there (the book's
//! `network-delay.yaml` adds a delay after an abort and reports what follows from the abort
//! being gone). With `merge`, only the new fault's kinds (`abort`, `delay`) are written and
//! the others kept; removing with a kind then removes only that kind. The whole list is sent
//! back, so rules that match nothing are sent unchanged.

use experiment::{Map, Value};

use super::args::Target;

/// What to do to each targeted rule's `fault`.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'a> {
    /// `fault = <this>` (the reference).
    Replace(&'a Value),
    /// Each key of this mapping written into `fault`, the others kept (`merge: true`).
    Merge(&'a Map),
    /// `fault` removed whole (the reference, for both `remove_*_fault`).
    RemoveAll,
    /// Only `fault.<kind>` removed, and `fault` with it once empty (`merge: true`).
    RemoveKind(&'static str),
}

/// A destination's `(host, subset)`, `subset` `null` when absent.
fn target_of(destination: &Map) -> Target {
    (
        destination.get("host").cloned().unwrap_or(Value::Null),
        destination.get("subset").cloned().unwrap_or(Value::Null),
    )
}

/// Whether one of `rule`'s route destinations is a target.
fn targeted(rule: &Map, targets: &[Target]) -> bool {
    rule.get("route")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("destination").and_then(Value::as_object))
        .any(|d| targets.contains(&target_of(d)))
}

/// `http` with `edit` applied to every targeted rule, and how many rules were targeted.
pub fn apply(http: &[Value], targets: &[Target], edit: Edit<'_>) -> (Vec<Value>, usize) {
    let mut matched = 0;
    let out = http
        .iter()
        .map(|rule| {
            let mut rule = rule.clone();
            if let Value::Object(r) = &mut rule {
                if targeted(r, targets) {
                    matched += 1;
                    edit_rule(r, edit);
                }
            }
            rule
        })
        .collect();
    (out, matched)
}

fn edit_rule(rule: &mut Map, edit: Edit<'_>) {
    match edit {
        Edit::Replace(fault) => {
            rule.insert("fault".into(), fault.clone());
        }
        Edit::Merge(fault) => {
            let mut merged = match rule.get("fault") {
                Some(Value::Object(existing)) => existing.clone(),
                _ => Map::new(),
            };
            for (k, v) in fault {
                merged.insert(k.clone(), v.clone());
            }
            rule.insert("fault".into(), Value::Object(merged));
        }
        Edit::RemoveAll => {
            rule.remove("fault");
        }
        Edit::RemoveKind(kind) => {
            let empty = match rule.get_mut("fault") {
                Some(Value::Object(fault)) => {
                    fault.remove(kind);
                    fault.is_empty()
                }
                Some(_) => true,
                None => false,
            };
            if empty {
                rule.remove("fault");
            }
        }
    }
}

/// The `host[/subset]` of every route destination in `http`, for a message saying what a
/// `routes` argument could have named.
pub fn destinations(http: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in http
        .iter()
        .filter_map(|rule| rule.get("route").and_then(Value::as_array))
        .flatten()
        .filter_map(|r| r.get("destination").and_then(Value::as_object))
    {
        let (host, subset) = target_of(d);
        let text = match subset {
            Value::Null => format!("{{host: {}}}", experiment::pyrepr::py_str(&host)),
            s => format!(
                "{{host: {}, subset: {}}}",
                experiment::pyrepr::py_str(&host),
                experiment::pyrepr::py_str(&s)
            ),
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http() -> Vec<Value> {
        match json!([
            {"match": [{"uri": {"prefix": "/a"}}],
             "route": [{"destination": {"host": "go-demo-8", "subset": "primary", "port": {"number": 80}}}]},
            {"route": [{"destination": {"host": "go-demo-8"}}, {"destination": {"host": "other"}}]},
            {"route": [{"destination": {"host": "go-demo-8.ns.svc.cluster.local", "subset": "primary"}}]},
            {"redirect": {"uri": "/x"}},
        ]) {
            Value::Array(a) => a,
            _ => unreachable!(),
        }
    }

    fn primary() -> Vec<Target> {
        vec![(json!("go-demo-8"), json!("primary"))]
    }

    #[test]
    fn only_exact_host_and_subset_are_targeted() {
        let abort = json!({"abort": {"httpStatus": 500}});
        let (out, n) = apply(&http(), &primary(), Edit::Replace(&abort));
        assert_eq!(n, 1);
        assert_eq!(out[0]["fault"], abort);
        assert!(out[1].get("fault").is_none());
        assert!(
            out[2].get("fault").is_none(),
            "an FQDN is not the short name"
        );
        assert_eq!(out[3], http()[3]);
        // A target without subset matches only destinations without one.
        let (out, n) = apply(
            &http(),
            &[(json!("go-demo-8"), Value::Null)],
            Edit::Replace(&abort),
        );
        assert_eq!(n, 1);
        assert_eq!(out[1]["fault"], abort);
        assert!(out[0].get("fault").is_none());
    }

    #[test]
    fn a_second_fault_replaces_the_first_unless_merged() {
        let abort = json!({"abort": {"httpStatus": 500, "percentage": {"value": 50}}});
        let delay = json!({"delay": {"fixedDelay": "15s"}});
        let (once, _) = apply(&http(), &primary(), Edit::Replace(&abort));
        let (replaced, _) = apply(&once, &primary(), Edit::Replace(&delay));
        assert_eq!(replaced[0]["fault"], delay);

        let delay_map = delay.as_object().cloned().unwrap_or_default();
        let (merged, _) = apply(&once, &primary(), Edit::Merge(&delay_map));
        assert_eq!(
            merged[0]["fault"],
            json!({"abort": {"httpStatus": 500, "percentage": {"value": 50}}, "delay": {"fixedDelay": "15s"}})
        );
        let (no_abort, _) = apply(&merged, &primary(), Edit::RemoveKind("abort"));
        assert_eq!(no_abort[0]["fault"], delay);
        let (clean, _) = apply(&no_abort, &primary(), Edit::RemoveKind("delay"));
        assert_eq!(clean, http());
        let (all_gone, _) = apply(&merged, &primary(), Edit::RemoveAll);
        assert_eq!(all_gone, http());
    }

    #[test]
    fn nothing_targeted_leaves_the_list_as_it_was() {
        let (out, n) = apply(&http(), &[(json!("nope"), Value::Null)], Edit::RemoveAll);
        assert_eq!((out, n), (http(), 0));
        assert_eq!(
            destinations(&http()),
            vec![
                "{host: go-demo-8, subset: primary}",
                "{host: go-demo-8}",
                "{host: other}",
                "{host: go-demo-8.ns.svc.cluster.local, subset: primary}"
            ]
        );
    }
}
