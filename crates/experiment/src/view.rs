//! Typed, borrowed views of an experiment and its activities.
//!
//! The experiment stays a [`Value`] tree (the journal echoes it key by key, and controls may
//! rewrite any part of it while it runs), so these views own nothing: each wraps a borrowed
//! map and answers the questions the engine asks, with the reference's reading of every key
//! in one place (`background` and pauses are tested for Python truthiness, a `name` is
//! Python's `str()`, a provider's `type` is a [`ProviderKind`]). Building one is free, so the
//! engine builds an [`ActivityView`] each time it plays an entry of the live experiment:
//! after a control edited the activity, the view reads the edit.
//!
//! A view never fails: validation ([`crate::validate`]) is where a malformed experiment is
//! refused with the place and the fix. What `--no-validation` lets through reads as the
//! reference reads it (a missing key is absent, a wrong type is ignored).

use crate::provider::ProviderKind;
use crate::pyrepr::{py_str, py_truthy};
use crate::{Map, Value};

static EMPTY: std::sync::LazyLock<Map> = std::sync::LazyLock::new(Map::new);

fn object(value: &Value) -> &Map {
    value.as_object().unwrap_or(&EMPTY)
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// One entry of a method, rollbacks or probes list: an activity, or a `ref` to one.
#[derive(Debug, Clone, Copy)]
pub struct ActivityView<'a> {
    map: &'a Map,
}

impl<'a> ActivityView<'a> {
    /// The view of `value`; anything but a mapping reads as an empty one.
    pub fn new(value: &'a Value) -> Self {
        Self { map: object(value) }
    }

    /// The raw declaration.
    pub fn map(&self) -> &'a Map {
        self.map
    }

    /// `type` as written (`""` when absent), for the log's `Action:` / `Probe:` label.
    pub fn type_name(&self) -> &'a str {
        self.map.get("type").and_then(Value::as_str).unwrap_or("")
    }

    /// `name` as Python's `str()` shows it; `None` when absent.
    pub fn name(&self) -> Option<String> {
        self.map.get("name").map(py_str)
    }

    /// The name when it is a string (how the reference indexes activities for `ref`).
    pub fn name_str(&self) -> Option<&'a str> {
        self.map.get("name").and_then(Value::as_str)
    }

    /// The `ref` this entry points at: a non-empty, non-null value (`str()` of it).
    pub fn reference(&self) -> Option<String> {
        match self.map.get("ref") {
            Some(r) if !r.is_null() && r.as_str() != Some("") => Some(py_str(r)),
            _ => None,
        }
    }

    /// `background`, as the reference tests it (`if activity.get("background")`).
    pub fn background(&self) -> bool {
        self.map.get("background").is_some_and(py_truthy)
    }

    /// `pauses`, as declared (before substitution).
    pub fn pauses(&self) -> Option<&'a Value> {
        self.map.get("pauses")
    }

    /// The `controls` local to this activity.
    pub fn controls(&self) -> Option<&'a Value> {
        self.map.get("controls")
    }

    /// The `tolerance` of a hypothesis probe.
    pub fn tolerance(&self) -> Option<&'a Value> {
        self.map.get("tolerance")
    }

    pub fn has_tolerance(&self) -> bool {
        self.map.contains_key("tolerance")
    }

    /// The `provider` mapping and its kind (`None` for a missing or unknown `type`).
    pub fn provider(&self) -> Option<(Option<ProviderKind>, &'a Map)> {
        let provider = self.map.get("provider")?.as_object()?;
        Some((ProviderKind::of(provider), provider))
    }
}

/// An experiment document.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentView<'a> {
    map: &'a Map,
}

impl<'a> ExperimentView<'a> {
    pub fn new(value: &'a Value) -> Self {
        Self { map: object(value) }
    }

    pub fn title(&self) -> Option<&'a Value> {
        self.map.get("title")
    }

    pub fn hypothesis(&self) -> Option<HypothesisView<'a>> {
        self.map
            .get("steady-state-hypothesis")
            .and_then(Value::as_object)
            .map(|map| HypothesisView { map })
    }

    /// The hypothesis's probes; empty without a hypothesis.
    pub fn probes(&self) -> &'a [Value] {
        self.hypothesis().map_or(&[], |h| h.probes())
    }

    pub fn method(&self) -> &'a [Value] {
        list(self.map.get("method"))
    }

    pub fn rollbacks(&self) -> &'a [Value] {
        list(self.map.get("rollbacks"))
    }

    /// The experiment's own `controls` list.
    pub fn controls(&self) -> &'a [Value] {
        list(self.map.get("controls"))
    }

    /// Every activity a `ref` may name, as the reference indexes them: the method's, then
    /// the hypothesis probes' (a later one of the same name wins).
    pub fn referable(&self) -> impl Iterator<Item = ActivityView<'a>> {
        self.method()
            .iter()
            .chain(self.probes())
            .map(ActivityView::new)
    }
}

/// The `steady-state-hypothesis` block.
#[derive(Debug, Clone, Copy)]
pub struct HypothesisView<'a> {
    map: &'a Map,
}

impl<'a> HypothesisView<'a> {
    /// The raw block.
    pub fn map(&self) -> &'a Map {
        self.map
    }

    pub fn title(&self) -> Option<&'a Value> {
        self.map.get("title")
    }

    pub fn probes(&self) -> &'a [Value] {
        list(self.map.get("probes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_activity_reads_as_the_reference_reads_it() {
        let a = json!({"type": "action", "name": 7, "background": "yes",
                       "pauses": {"after": 1}, "provider": {"type": "process", "path": "x"}});
        let v = ActivityView::new(&a);
        assert_eq!(v.type_name(), "action");
        assert_eq!(v.name().as_deref(), Some("7"));
        assert_eq!(v.name_str(), None, "only string names are referable");
        assert!(v.background(), "any truthy value runs in the background");
        assert_eq!(v.provider().map(|p| p.0), Some(Some(ProviderKind::Process)));
        assert!(!v.has_tolerance());

        let off = json!({"type": "probe", "background": 0, "provider": {"type": "ftp"}});
        let v = ActivityView::new(&off);
        assert!(!v.background());
        assert_eq!(v.type_name(), "probe");
        assert_eq!(
            v.provider().map(|p| p.0),
            Some(None),
            "unknown provider type"
        );
    }

    #[test]
    fn refs_that_are_null_or_empty_are_not_refs() {
        for (entry, expected) in [
            (json!({"ref": "a"}), Some("a")),
            (json!({"ref": ""}), None),
            (json!({"ref": null}), None),
            (json!({"ref": 3}), Some("3")),
            (json!({"name": "a"}), None),
        ] {
            assert_eq!(ActivityView::new(&entry).reference().as_deref(), expected);
        }
    }

    #[test]
    fn an_experiment_without_lists_reads_as_empty_lists() {
        let e = json!({"title": "t", "method": "not a list"});
        let v = ExperimentView::new(&e);
        assert!(v.method().is_empty());
        assert!(v.rollbacks().is_empty());
        assert!(v.probes().is_empty());
        assert!(v.hypothesis().is_none());
        assert!(ExperimentView::new(&json!(null)).controls().is_empty());
    }

    #[test]
    fn referable_activities_are_the_method_then_the_probes() {
        let e = json!({
            "steady-state-hypothesis": {"title": "h", "probes": [{"name": "p"}, {"name": "a"}]},
            "method": [{"name": "a"}, {"ref": "p"}],
        });
        let names: Vec<_> = ExperimentView::new(&e)
            .referable()
            .map(|a| a.name())
            .collect();
        assert_eq!(
            names,
            [Some("a".into()), None, Some("p".into()), Some("a".into())]
        );
    }
}
