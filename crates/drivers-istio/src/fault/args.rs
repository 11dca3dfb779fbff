//! The actions' arguments: what the reference sends as given and Shakedown shapes first, and
//! the checks `chaos validate` runs on them.
//!
//! The reference wraps `percentage` in `{value: …}` whatever it is, so the README's own
//! `percentage: {value: 100.0}` becomes `{value: {value: 100}}` and the API refuses the
//! PATCH (returned, not raised: the experiment goes on without a fault). It also dropped the
//! pre-0.1.3 `percent` argument that older experiments (the book's `all.yaml`) still pass.
//! Both spellings and both shapes are accepted here. Numbers given as strings (a
//! `${…}` from an environment-typed configuration is always a string) are sent as numbers.

use experiment::pyrepr::py_repr;
use experiment::{Map, Value};

/// Why an argument cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    #[error(
        "`routes` must be a list of mappings such as [{{destination: {{host: reviews, subset: v2}}}}], not {0}"
    )]
    RoutesNotList(String),
    #[error(
        "routes[{index}] must be a mapping such as {{destination: {{host: reviews, subset: v2}}}}, not {found}"
    )]
    RouteNotMapping { index: usize, found: String },
    #[error(
        "routes[{index}].destination must be a mapping with `host` (and optionally `subset`), not {found}"
    )]
    DestinationNotMapping { index: usize, found: String },
    #[error(
        "routes[{index}].destination has no `host`: name the destination's host as the VirtualService does, e.g. {{host: reviews, subset: v2}}"
    )]
    NoHost { index: usize },
    #[error("`{name}` must be a number from 0 to 100 (or {{value: <number>}}), not {found}")]
    Percentage { name: &'static str, found: String },
    #[error("give either `percentage` or the older `percent`, not both")]
    BothPercentages,
    #[error("`fixed_delay` must be a duration such as \"5s\", \"250ms\" or \"1m30s\", not {0}")]
    FixedDelay(String),
    #[error("`http_status` must be an HTTP status code (an integer from 200 to 599), not {0}")]
    HttpStatus(String),
    #[error("`merge` must be true or false, not {0}")]
    Merge(String),
    #[error(
        "`fault` must be a mapping (an Istio HTTPFaultInjection such as {{abort: {{httpStatus: 500}}}}), not {0}"
    )]
    FaultNotMapping(String),
}

/// A destination the caller targets: its `host` and its `subset` (`null` when absent).
pub type Target = (Value, Value);

/// The `(host, subset)` pairs of the `routes` entries that have a `destination`, as the
/// reference collects them (entries without `destination` are skipped).
pub fn targets(routes: &Value) -> Result<Vec<Target>, ArgError> {
    let Value::Array(list) = routes else {
        return Err(ArgError::RoutesNotList(py_repr(routes)));
    };
    let mut out = Vec::new();
    for (index, route) in list.iter().enumerate() {
        let Value::Object(route) = route else {
            return Err(ArgError::RouteNotMapping {
                index,
                found: py_repr(route),
            });
        };
        let Some(destination) = route.get("destination") else {
            continue;
        };
        let Value::Object(destination) = destination else {
            return Err(ArgError::DestinationNotMapping {
                index,
                found: py_repr(destination),
            });
        };
        let host = destination.get("host").ok_or(ArgError::NoHost { index })?;
        let subset = destination.get("subset").cloned().unwrap_or(Value::Null);
        out.push((host.clone(), subset));
    }
    Ok(out)
}

/// A number, or a string holding one, as a JSON number.
fn number(v: &Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<i64>() {
                Some(Value::from(i))
            } else {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            }
        }
        _ => None,
    }
}

/// The `percentage` object for `percentage` / `percent` (`None`: neither given, so Istio
/// applies the fault to every request).
pub fn percentage(percentage: &Value, percent: &Value) -> Result<Option<Value>, ArgError> {
    let (name, given) = match (percentage, percent) {
        (Value::Null, Value::Null) => return Ok(None),
        (p, Value::Null) => ("percentage", p),
        (Value::Null, p) => ("percent", p),
        _ => return Err(ArgError::BothPercentages),
    };
    // `{value: N}` (the README's shape) is the object itself, not a value to wrap again.
    let scalar = match given {
        Value::Object(m) if m.len() == 1 && m.contains_key("value") => &m["value"],
        other => other,
    };
    let bad = || ArgError::Percentage {
        name,
        found: py_repr(given),
    };
    let value = number(scalar).ok_or_else(bad)?;
    match value.as_f64() {
        Some(f) if (0.0..=100.0).contains(&f) => {}
        _ => return Err(bad()),
    }
    let mut object = Map::new();
    object.insert("value".into(), value);
    Ok(Some(Value::Object(object)))
}

/// `http_status` as sent: an integer given as a string becomes the integer; anything else
/// is sent as given (the API refuses it, and that refusal is returned, as upstream).
pub fn http_status(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// The `merge` flag (`null` is false).
pub fn merge(v: &Value) -> Result<bool, ArgError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        other => Err(ArgError::Merge(py_repr(other))),
    }
}

/// Whether `s` is in Istio's duration syntax (Go's, which its CRD's validation rule parses):
/// one or more `<digits>[.<digits>]<unit>` with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
fn is_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["ns", "us", "µs", "ms", "s", "m", "h"];
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let int = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if int == 0 {
            return false;
        }
        rest = &rest[int..];
        if let Some(after) = rest.strip_prefix('.') {
            let frac = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if frac == 0 {
                return false;
            }
            rest = &after[frac..];
        }
        match UNITS.iter().find(|u| rest.starts_with(**u)) {
            Some(unit) => rest = &rest[unit.len()..],
            None => return false,
        }
    }
    true
}

/// Whether a value is still a `${…}` placeholder (checked after substitution, at run time).
fn placeholder(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains("${"))
}

/// `chaos validate`'s check of an action's declared arguments: the argument at fault and
/// why. Only arguments present are checked; placeholders are left to run time.
pub fn check(arguments: &Map) -> Result<(), (&'static str, ArgError)> {
    let get = |k: &str| arguments.get(k).filter(|v| !placeholder(v));
    if let Some(routes) = get("routes") {
        targets(routes).map_err(|e| ("routes", e))?;
    }
    let null = Value::Null;
    let pct = get("percentage").unwrap_or(&null);
    let old = get("percent").unwrap_or(&null);
    percentage(pct, old).map_err(|e| {
        let argument = if old.is_null() {
            "percentage"
        } else {
            "percent"
        };
        (argument, e)
    })?;
    if let Some(delay) = get("fixed_delay") {
        let ok = matches!(delay, Value::String(s) if is_duration(s.trim()));
        if !ok {
            return Err(("fixed_delay", ArgError::FixedDelay(py_repr(delay))));
        }
    }
    if let Some(status) = get("http_status") {
        let ok = matches!(http_status(status).as_i64(), Some(200..=599));
        if !ok {
            return Err(("http_status", ArgError::HttpStatus(py_repr(status))));
        }
    }
    if let Some(m) = get("merge") {
        merge(m).map_err(|e| ("merge", e))?;
    }
    if let Some(fault) = get("fault") {
        if !fault.is_object() {
            return Err(("fault", ArgError::FaultNotMapping(py_repr(fault))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn refused(args: Value) -> (String, String) {
        match check(&map(args)) {
            Ok(()) => panic!("accepted"),
            Err((a, e)) => (a.to_string(), e.to_string()),
        }
    }

    #[test]
    fn percentage_takes_a_number_an_object_a_string_or_the_old_percent() {
        let value = |v: Value| Ok(Some(json!({ "value": v })));
        assert_eq!(
            percentage(&json!(50), &Value::Null).map_err(|e| e.to_string()),
            value(json!(50))
        );
        assert_eq!(
            percentage(&json!({"value": 100.0}), &Value::Null).map_err(|e| e.to_string()),
            value(json!(100.0))
        );
        assert_eq!(
            percentage(&json!("12.5"), &Value::Null).map_err(|e| e.to_string()),
            value(json!(12.5))
        );
        assert_eq!(
            percentage(&Value::Null, &json!(30)).map_err(|e| e.to_string()),
            value(json!(30))
        );
        assert_eq!(
            percentage(&Value::Null, &Value::Null).map_err(|e| e.to_string()),
            Ok(None)
        );
        assert_eq!(
            percentage(&json!(1), &json!(2)).map_err(|e| e.to_string()),
            Err("give either `percentage` or the older `percent`, not both".to_string())
        );
        assert_eq!(
            percentage(&json!(150), &Value::Null).map_err(|e| e.to_string()),
            Err(
                "`percentage` must be a number from 0 to 100 (or {value: <number>}), not 150"
                    .into()
            )
        );
        assert_eq!(
            percentage(&Value::Null, &json!("half")).map_err(|e| e.to_string()),
            Err(
                "`percent` must be a number from 0 to 100 (or {value: <number>}), not 'half'"
                    .into()
            )
        );
    }

    #[test]
    fn targets_are_host_and_subset_pairs() {
        let got = targets(&json!([
            {"destination": {"host": "a", "subset": "v1"}},
            {"destination": {"host": "b", "port": {"number": 80}}},
            {"weight": 10},
        ]));
        assert_eq!(
            got.map_err(|e| e.to_string()),
            Ok(vec![(json!("a"), json!("v1")), (json!("b"), Value::Null)])
        );
        assert_eq!(
            targets(&json!([{"destination": {"subset": "v1"}}])).map_err(|e| e.to_string()),
            Err(
                "routes[0].destination has no `host`: name the destination's host as the \
VirtualService does, e.g. {host: reviews, subset: v2}"
                    .into()
            )
        );
        assert!(targets(&json!({"destination": {"host": "a"}})).is_err());
        assert!(targets(&json!(["a"])).is_err());
        assert!(targets(&json!([{"destination": "a"}])).is_err());
    }

    #[test]
    fn validation_names_the_argument_and_the_fix() {
        assert_eq!(
            refused(json!({"fixed_delay": "15", "routes": []})),
            (
                "fixed_delay".into(),
                "`fixed_delay` must be a duration such as \"5s\", \"250ms\" or \"1m30s\", not '15'"
                    .into()
            )
        );
        assert_eq!(refused(json!({"fixed_delay": 15})).0, "fixed_delay");
        assert_eq!(refused(json!({"http_status": "abc"})).0, "http_status");
        assert_eq!(refused(json!({"http_status": 42})).0, "http_status");
        assert_eq!(refused(json!({"percent": "x"})).0, "percent");
        assert_eq!(refused(json!({"percentage": -1})).0, "percentage");
        assert_eq!(refused(json!({"merge": "yes"})).0, "merge");
        assert_eq!(refused(json!({"fault": [1]})).0, "fault");
        assert_eq!(
            refused(json!({"routes": [{"destination": {}}]})).0,
            "routes"
        );
        for ok in [
            json!({"fixed_delay": "15s", "percentage": 50, "routes": [{"destination": {"host": "h"}}]}),
            json!({"fixed_delay": "1m30.5s", "percent": "25"}),
            json!({"http_status": 500, "merge": true, "percentage": {"value": 100.0}}),
            json!({"http_status": "503", "percentage": "${pct}", "fixed_delay": "${d}"}),
        ] {
            assert!(check(&map(ok.clone())).is_ok(), "{ok} refused");
        }
    }

    #[test]
    fn durations_follow_go_syntax() {
        for ok in ["15s", "250ms", "1m30s", "1.5h", "10us", "3µs", "2ns"] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in ["", "15", "s", "1.s", ".5s", "5 s", "5sec", "-1s", "1d"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn http_status_strings_become_integers() {
        assert_eq!(http_status(&json!("503")), json!(503));
        assert_eq!(http_status(&json!(500)), json!(500));
        assert_eq!(http_status(&json!("abc")), json!("abc"));
    }
}
