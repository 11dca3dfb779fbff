//! Key order: remembered when a journal is read, reproduced when it is written.

use serde_json::{Map, Value};

/// The order of an object's keys as they were read (empty for an object built in code).
///
/// It never takes part in equality: like `serde_json::Value`, two objects with the same
/// keys and values are equal whatever their key order.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyOrder(pub(crate) Vec<String>);

impl PartialEq for KeyOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl KeyOrder {
    pub(crate) fn of(map: &Map<String, Value>) -> Self {
        KeyOrder(map.keys().cloned().collect())
    }
}

/// The keys to write, in order:
/// 1. the keys in the recorded order that are still present;
/// 2. each present known key that was not recorded (set in code), right after the
///    nearest key that precedes it in the `canonical` order (so an object built in code
///    comes out in the canonical order);
/// 3. the unknown keys (`extra`) that were not recorded, in their own order, at the end.
pub(crate) fn output_keys<'a>(
    recorded: &'a KeyOrder,
    canonical: &'static [&'static str],
    known_present: impl Fn(&str) -> bool,
    extra: &'a Map<String, Value>,
) -> Vec<&'a str> {
    let present = |k: &str| known_present(k) || extra.contains_key(k);
    let mut out: Vec<&'a str> = Vec::with_capacity(canonical.len() + extra.len());
    for k in &recorded.0 {
        if present(k) && !out.contains(&k.as_str()) {
            out.push(k);
        }
    }
    for (ci, &k) in canonical.iter().enumerate() {
        if !known_present(k) || out.contains(&k) {
            continue;
        }
        let before = &canonical[..ci];
        let pos = out
            .iter()
            .rposition(|o| before.contains(o))
            .map_or(0, |p| p + 1);
        out.insert(pos, k);
    }
    for k in extra.keys() {
        if !out.contains(&k.as_str()) {
            out.push(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANON: &[&str] = &["a", "b", "c", "d"];

    fn keys(recorded: &[&str], known: &[&str], extra: &[&str]) -> Vec<String> {
        let recorded = KeyOrder(recorded.iter().map(|s| s.to_string()).collect());
        let extra: Map<String, Value> =
            extra.iter().map(|k| (k.to_string(), Value::Null)).collect();
        output_keys(&recorded, CANON, |k| known.contains(&k), &extra)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn built_in_code_gives_canonical_order_then_extras() {
        assert_eq!(
            keys(&[], &["d", "b", "a"], &["z", "y"]),
            ["a", "b", "d", "z", "y"]
        );
    }

    #[test]
    fn recorded_order_wins() {
        assert_eq!(
            keys(&["d", "x", "a", "b"], &["a", "b", "d"], &["x"]),
            ["d", "x", "a", "b"]
        );
    }

    #[test]
    fn keys_set_after_reading_go_after_their_canonical_predecessor() {
        // `c` was absent when read and set since: it follows `b`, before the unknown `x`.
        assert_eq!(
            keys(&["a", "b", "x", "d"], &["a", "b", "c", "d"], &["x"]),
            ["a", "b", "c", "x", "d"]
        );
        // no predecessor present: first
        assert_eq!(keys(&["x", "d"], &["a", "d"], &["x"]), ["a", "x", "d"]);
    }

    #[test]
    fn removed_keys_are_not_written() {
        assert_eq!(keys(&["a", "x", "b"], &["b"], &[]), ["b"]);
    }
}
