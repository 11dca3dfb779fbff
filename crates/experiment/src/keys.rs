//! Keys the reference does not know: typos caught.
//!
//! chaoslib 1.44.0 reads an experiment as an untyped mapping and ignores every key it does
//! not look up, so `steady-state-hypotesis` runs as an experiment with no hypothesis and
//! `tolerence` as a probe without a tolerance, silently. [`unknown_keys`] lists, for the
//! places where the reference reads a fixed set of keys, every key it would ignore, with
//! the nearest known key as a suggestion (edit distance). The CLI logs them at WARNING
//! (the reference prints nothing), or refuses them with `--strict`.
//!
//! The places checked, and the keys each one knows, are those chaoslib reads
//! (`chaoslib/experiment.py`, `activity.py`, `provider/*.py`, `control/__init__.py`,
//! `configuration.py`, `secret.py`): the top level, the steady-state hypothesis,
//! activities (hypothesis probes, method, rollbacks, probe tolerances, dynamic
//! configuration probes), their providers by type, pauses, controls and their providers,
//! tolerance mappings, and the `env`/`vault` entries of the configuration and the secrets.
//! User-keyed places are never checked: the configuration and secrets maps themselves,
//! provider `arguments`, http `headers`, `extensions`, `contributions`, `runtime`, and a
//! configuration value that is a plain mapping. Keys starting with `x-` are free-form
//! anywhere.

use crate::load::{index_path, key_path};
use crate::provider::ProviderKind;
use crate::{Map, Value};

/// A key that the reference ignores at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The key as written.
    pub key: String,
    /// The field path of the key (`method[0].tolerence`).
    pub path: String,
    /// What holds it, for the message: `the experiment`, `an activity`, `a process provider`…
    pub place: &'static str,
    /// The nearest known key at that place, when one is close enough.
    pub suggestion: Option<&'static str>,
}

impl UnknownKey {
    /// `unknown key 'tolerence' in an activity, ignored by Chaos Toolkit; did you mean
    /// 'tolerance'?` (without the location, which the caller knows how to show).
    pub fn message(&self) -> String {
        self.sentence(", ignored by Chaos Toolkit")
    }

    /// The validation error under strict validation: `unknown key 'tolerence' in an
    /// activity (strict validation); did you mean 'tolerance'?`
    pub fn error_message(&self) -> String {
        self.sentence(" (strict validation)")
    }

    fn sentence(&self, verdict: &str) -> String {
        let suggestion = self
            .suggestion
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
        format!(
            "unknown key '{}' in {}{verdict}{suggestion}",
            self.key, self.place
        )
    }
}

const TOP: &[&str] = &[
    "version",
    "title",
    "description",
    "tags",
    "contributions",
    "configuration",
    "secrets",
    "extensions",
    "controls",
    "steady-state-hypothesis",
    "method",
    "rollbacks",
    "runtime",
    // Set by `chaos run` itself; an experiment taken from a journal carries it.
    "dry",
];
const HYPOTHESIS: &[&str] = &["title", "probes", "controls"];
const ACTIVITY: &[&str] = &[
    "type",
    "name",
    "provider",
    "ref",
    "pauses",
    "background",
    "controls",
    "tolerance",
    "timeout",
    "dry",
];
const PAUSES: &[&str] = &["before", "after"];
const PYTHON: &[&str] = &["type", "module", "func", "arguments", "secrets"];
const PROCESS: &[&str] = &["type", "path", "arguments", "timeout", "secrets"];
const HTTP: &[&str] = &[
    "type",
    "url",
    "method",
    "headers",
    "arguments",
    "timeout",
    "verify_tls",
    "max_retries",
    "secrets",
];
const CONTROL: &[&str] = &["name", "provider", "scope", "ref", "automatic"];
const CONTROL_PROVIDER: &[&str] = &["type", "module", "arguments", "secrets"];
const TOLERANCE: &[&str] = &[
    "type", "pattern", "path", "expect", "target", "count", "range",
];
const CONFIG_ENV: &[&str] = &["type", "key", "default", "env_var_type"];
const SECRET_ENV: &[&str] = &["type", "key"];
const SECRET_VAULT: &[&str] = &["type", "path", "key"];

/// Every key of `experiment` the reference would ignore, in document order (top level
/// first, then the hypothesis, method, rollbacks, controls, configuration and secrets).
/// Nothing for a document that is not a mapping.
pub fn unknown_keys(experiment: &Value) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    let Value::Object(exp) = experiment else {
        return out;
    };
    check(&mut out, exp, "", "the experiment", TOP);
    if let Some(Value::Object(h)) = exp.get("steady-state-hypothesis") {
        let base = "steady-state-hypothesis";
        check(&mut out, h, base, "the steady-state hypothesis", HYPOTHESIS);
        activities(&mut out, h.get("probes"), &key_path(base, "probes"));
        controls(&mut out, h.get("controls"), &key_path(base, "controls"));
    }
    activities(&mut out, exp.get("method"), "method");
    activities(&mut out, exp.get("rollbacks"), "rollbacks");
    controls(&mut out, exp.get("controls"), "controls");
    if let Some(Value::Object(config)) = exp.get("configuration") {
        for (name, value) in config {
            let path = key_path("configuration", name);
            let Value::Object(entry) = value else {
                continue;
            };
            match entry.get("type").and_then(Value::as_str) {
                Some("env") => check(
                    &mut out,
                    entry,
                    &path,
                    "an env configuration entry",
                    CONFIG_ENV,
                ),
                Some("probe") => activity(&mut out, entry, &path),
                // Any other mapping is a value of the user's.
                _ => {}
            }
        }
    }
    if let Some(Value::Object(scopes)) = exp.get("secrets") {
        for (scope, keys) in scopes {
            let Value::Object(keys) = keys else { continue };
            let scope_path = key_path("secrets", scope);
            for (name, value) in keys {
                let Value::Object(entry) = value else {
                    continue;
                };
                let path = key_path(&scope_path, name);
                match entry.get("type").and_then(Value::as_str) {
                    Some("env") => check(&mut out, entry, &path, "an env secret", SECRET_ENV),
                    Some("vault") => check(&mut out, entry, &path, "a vault secret", SECRET_VAULT),
                    _ => {}
                }
            }
        }
    }
    out
}

fn check(
    out: &mut Vec<UnknownKey>,
    map: &Map,
    base: &str,
    place: &'static str,
    known: &'static [&'static str],
) {
    for key in map.keys() {
        if known.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        out.push(UnknownKey {
            key: key.clone(),
            path: key_path(base, key),
            place,
            suggestion: suggest(key, known),
        });
    }
}

fn activities(out: &mut Vec<UnknownKey>, list: Option<&Value>, base: &str) {
    let Some(Value::Array(items)) = list else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        if let Value::Object(a) = item {
            activity(out, a, &index_path(base, i));
        }
    }
}

fn activity(out: &mut Vec<UnknownKey>, a: &Map, path: &str) {
    check(out, a, path, "an activity", ACTIVITY);
    if let Some(Value::Object(provider)) = a.get("provider") {
        let ppath = key_path(path, "provider");
        match ProviderKind::of(provider) {
            Some(ProviderKind::Python) => check(out, provider, &ppath, "a python provider", PYTHON),
            Some(ProviderKind::Process) => {
                check(out, provider, &ppath, "a process provider", PROCESS)
            }
            Some(ProviderKind::Http) => check(out, provider, &ppath, "an http provider", HTTP),
            None => {}
        }
    }
    if let Some(Value::Object(pauses)) = a.get("pauses") {
        check(out, pauses, &key_path(path, "pauses"), "pauses", PAUSES);
    }
    if let Some(Value::Object(t)) = a.get("tolerance") {
        let tpath = key_path(path, "tolerance");
        if t.get("type").and_then(Value::as_str) == Some("probe") {
            activity(out, t, &tpath);
        } else {
            check(out, t, &tpath, "a tolerance", TOLERANCE);
        }
    }
    controls(out, a.get("controls"), &key_path(path, "controls"));
}

fn controls(out: &mut Vec<UnknownKey>, list: Option<&Value>, base: &str) {
    let Some(Value::Array(items)) = list else {
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let Value::Object(c) = item else { continue };
        let path = index_path(base, i);
        check(out, c, &path, "a control", CONTROL);
        if let Some(Value::Object(p)) = c.get("provider") {
            check(
                out,
                p,
                &key_path(&path, "provider"),
                "a control provider",
                CONTROL_PROVIDER,
            );
        }
    }
}

/// The known key nearest to `key`: the same up to case and `_`/`-`, within an edit
/// distance of a third of the known key's length (at least 1, at most 3), or one that
/// starts the other (`function` → `func`, at least 3 characters).
fn suggest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let norm = |s: &str| -> Vec<char> {
        s.chars()
            .map(|c| {
                if c == '_' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let key_n = norm(key);
    known
        .iter()
        .map(|k| {
            let k_n = norm(k);
            // The distance is at least the difference in length: past 3 only the prefix
            // rule can match, and a huge key costs nothing (no length × length table).
            let d = if key_n.len().abs_diff(k_n.len()) > 3 {
                usize::MAX
            } else {
                edit_distance(&key_n, &k_n)
            };
            (d, k_n.len(), k_n, *k)
        })
        .filter(|(d, len, k_n, _)| {
            *d <= (len / 3).clamp(1, 3)
                || (key_n.len().min(k_n.len()) >= 3
                    && (key_n.starts_with(k_n) || k_n.starts_with(&key_n[..])))
        })
        .min_by_key(|(d, _, _, _)| *d)
        .map(|(_, _, _, k)| k)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// two neighbours, each costing 1.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn found(v: Value) -> Vec<(String, Option<&'static str>)> {
        unknown_keys(&v)
            .into_iter()
            .map(|u| (u.path, u.suggestion))
            .collect()
    }

    #[test]
    fn a_misspelt_hypothesis_is_found_with_its_suggestion() {
        let v = json!({"title": "t", "description": "d", "steady-state-hypotesis": {"title": "h"}, "method": []});
        let keys = unknown_keys(&v);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].path, "steady-state-hypotesis");
        assert_eq!(keys[0].suggestion, Some("steady-state-hypothesis"));
        assert_eq!(
            keys[0].message(),
            "unknown key 'steady-state-hypotesis' in the experiment, ignored by Chaos Toolkit; did you mean 'steady-state-hypothesis'?"
        );
        assert_eq!(
            keys[0].error_message(),
            "unknown key 'steady-state-hypotesis' in the experiment (strict validation); did you mean 'steady-state-hypothesis'?"
        );
    }

    #[test]
    fn a_valid_experiment_has_no_unknown_keys() {
        let v = json!({
            "version": "1.0.0", "title": "t", "description": "d", "tags": ["a"],
            "contributions": {"anything": "goes"},
            "configuration": {"u": {"type": "env", "key": "U", "default": "x", "env_var_type": "str"},
                              "lit": {"whatever": 1, "type": "weird"},
                              "dyn": {"type": "probe", "name": "p", "provider": {"type": "process", "path": "true"}}},
            "secrets": {"k8s": {"tok": {"type": "env", "key": "T"}, "v": {"type": "vault", "path": "p", "key": "k"}, "inline": {"free": 1}}},
            "extensions": [{"name": "e", "any": {"thing": 1}}],
            "runtime": {"hypothesis": {"strategy": "default"}, "custom": 1},
            "controls": [{"name": "c", "scope": "before", "automatic": false, "provider": {"type": "python", "module": "m", "arguments": {"free": 1}}}],
            "steady-state-hypothesis": {"title": "h", "probes": [
                {"type": "probe", "name": "p", "tolerance": {"type": "jsonpath", "path": "$.a", "expect": 1, "target": "body", "count": 1},
                 "provider": {"type": "http", "url": "u", "method": "GET", "headers": {"X-Any": "1"}, "arguments": {"q": 1}, "timeout": 1, "verify_tls": false, "max_retries": 1}},
                {"type": "probe", "name": "q", "tolerance": {"type": "probe", "name": "t", "provider": {"type": "python", "module": "m", "func": "f", "arguments": {"value": 1}}}, "provider": {"type": "process", "path": "true"}}
            ]},
            "method": [{"type": "action", "name": "a", "background": true, "pauses": {"before": 1, "after": "${p}"}, "timeout": 1,
                        "controls": [{"ref": "c"}], "x-owner": "team",
                        "provider": {"type": "process", "path": "true", "arguments": ["x"], "timeout": 2}},
                       {"ref": "a"}],
            "rollbacks": [{"type": "action", "name": "r", "provider": {"type": "python", "module": "m", "func": "f", "secrets": ["k8s"]}}],
            "dry": null
        });
        assert_eq!(found(v), vec![]);
    }

    #[test]
    fn every_fixed_place_is_checked() {
        let v = json!({
            "title": "t", "Description": "d",
            "configuration": {"u": {"type": "env", "kye": "U"}},
            "secrets": {"s": {"a": {"type": "env", "key": "A", "default": "x"}, "v": {"type": "vault", "pth": "p"}}},
            "controls": [{"name": "c", "scop": "before", "provider": {"type": "python", "modul": "m"}}],
            "steady-state-hypothesis": {"title": "h", "probe": [], "probes": [
                {"type": "probe", "name": "p", "tolerence": 1, "provider": {"type": "http", "url": "u", "verify-tls": false}}
            ]},
            "method": [{"type": "action", "name": "a", "pauses": {"afer": 1}, "provider": {"type": "process", "path": "true", "argments": []}},
                       {"type": "probe", "name": "b", "tolerance": {"type": "regex", "patern": "x"}, "provider": {"type": "python", "module": "m", "function": "f"}}],
            "rollbacks": [{"type": "action", "nme": "r", "provider": {"type": "http", "url": "u"}}]
        });
        assert_eq!(
            found(v),
            vec![
                ("Description".into(), Some("description")),
                ("steady-state-hypothesis.probe".into(), Some("probes")),
                (
                    "steady-state-hypothesis.probes[0].tolerence".into(),
                    Some("tolerance")
                ),
                (
                    "steady-state-hypothesis.probes[0].provider.verify-tls".into(),
                    Some("verify_tls")
                ),
                ("method[0].provider.argments".into(), Some("arguments")),
                ("method[0].pauses.afer".into(), Some("after")),
                ("method[1].provider.function".into(), Some("func")),
                ("method[1].tolerance.patern".into(), Some("pattern")),
                ("rollbacks[0].nme".into(), Some("name")),
                ("controls[0].scop".into(), Some("scope")),
                ("controls[0].provider.modul".into(), Some("module")),
                ("configuration.u.kye".into(), Some("key")),
                ("secrets.s.a.default".into(), None),
                ("secrets.s.v.pth".into(), Some("path")),
            ]
        );
    }

    #[test]
    fn suggestions_need_to_be_close() {
        assert_eq!(
            suggest("steady_state_hypothesis", TOP),
            Some("steady-state-hypothesis")
        );
        assert_eq!(suggest("METHOD", TOP), Some("method"));
        assert_eq!(suggest("rollback", TOP), Some("rollbacks"));
        assert_eq!(suggest("tolerance", TOLERANCE), None);
        assert_eq!(suggest("nmae", ACTIVITY), Some("name"));
        assert_eq!(suggest("owner", ACTIVITY), None);
        assert_eq!(suggest("zzz", PAUSES), None);
        assert_eq!(suggest("functionality", PYTHON), Some("func"));
        // A huge key is cheap: no edit-distance table is built for it.
        assert_eq!(suggest(&"q".repeat(1 << 20), TOP), None);
        assert_eq!(
            suggest(&format!("method{}", "s".repeat(1 << 20)), TOP),
            Some("method")
        );
    }

    #[test]
    fn edit_distances() {
        let d = |a: &str, b: &str| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("same", "same"), 0);
    }

    #[test]
    fn not_a_mapping_has_no_keys() {
        assert_eq!(found(json!([1])), vec![]);
        assert_eq!(found(json!(null)), vec![]);
    }
}
