//! The reference's three provider types, parsed once, and every provider a document holds.
//!
//! Activities, tolerance probes, dynamic configuration entries and controls all carry a
//! `provider` map; code that needs to know which kind each is (which drivers to load, which
//! modules the Python bridge must look up, which provider runs) asks here instead of
//! matching on the `type` string.

use crate::{Map, Value};

/// A provider's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// `module` + `func` (native driver or the Python bridge).
    Python,
    /// An executable and its arguments.
    Process,
    /// A URL.
    Http,
}

impl ProviderKind {
    /// The kind named by a `type` value, `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "python" => Some(Self::Python),
            "process" => Some(Self::Process),
            "http" => Some(Self::Http),
            _ => None,
        }
    }

    /// The kind of a `provider` map.
    pub fn of(provider: &Map) -> Option<Self> {
        provider
            .get("type")
            .and_then(Value::as_str)
            .and_then(Self::parse)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Process => "process",
            Self::Http => "http",
        }
    }
}

/// Every `provider` map in `document`, depth first in document order, with its kind (`None`
/// for a missing or unknown `type`).
pub fn providers(document: &Value) -> Vec<(Option<ProviderKind>, &Map)> {
    let mut out = Vec::new();
    walk(document, &mut out);
    out
}

fn walk<'a>(value: &'a Value, out: &mut Vec<(Option<ProviderKind>, &'a Map)>) {
    match value {
        Value::Object(map) => {
            if let Some(provider) = map.get("provider").and_then(Value::as_object) {
                out.push((ProviderKind::of(provider), provider));
            }
            map.values().for_each(|v| walk(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
        _ => {}
    }
}

/// True when some provider in `document` is `python`.
pub fn uses_python(document: &Value) -> bool {
    providers(document)
        .iter()
        .any(|(kind, _)| *kind == Some(ProviderKind::Python))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_parse_and_print() {
        for kind in [
            ProviderKind::Python,
            ProviderKind::Process,
            ProviderKind::Http,
        ] {
            assert_eq!(ProviderKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(ProviderKind::parse("Python"), None);
        assert_eq!(ProviderKind::parse(""), None);
    }

    #[test]
    fn providers_are_found_everywhere_in_document_order() {
        let doc = json!({
            "configuration": {"dyn": {"type": "probe", "provider": {"type": "process", "path": "x"}}},
            "controls": [{"name": "c", "provider": {"type": "python", "module": "ctl"}}],
            "steady-state-hypothesis": {"probes": [{"provider": {"type": "http", "url": "u"},
                "tolerance": {"type": "probe", "provider": {"type": "python", "module": "t", "func": "g"}}}]},
            "method": [{"provider": {"type": "nope"}}, {"provider": "not a map"}]
        });
        let kinds: Vec<_> = providers(&doc).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds,
            [
                Some(ProviderKind::Process),
                Some(ProviderKind::Python),
                Some(ProviderKind::Http),
                Some(ProviderKind::Python),
                None
            ]
        );
        assert!(uses_python(&doc));
        assert!(!uses_python(
            &json!({"method": [{"provider": {"type": "http"}}]})
        ));
    }
}
