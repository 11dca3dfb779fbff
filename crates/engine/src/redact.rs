//! Secrets never leave the run: every secret value is masked in what the run writes.
//!
//! The reference copies inline secrets into the journal, and any secret that reaches an
//! activity (a token in a URL, an echoed argument) into outputs, exception texts and the
//! log. Shakedown masks them at the few places where the run's data turns into text or
//! JSON for someone else: the log lines ([`crate::logging`]), the journal and its records
//! (`journal::Journal::to_json`, `Record::to_json`), the notification payloads, the
//! events file and the agent report. Tolerances and later activities still see the real
//! values, and controls the real configuration and secrets (the activity records in their
//! state are the journal's, masked): masking happens on the way out, never in the run. A
//! whole journal is masked once (`Journal::to_json`), not record by record.
//!
//! What is masked, with [`MASK`]:
//! - every string value of the resolved secrets (inline, from the environment, from a
//!   vault, from `--var`/`--var-file`), at least [`MIN_LEN`] characters long (shorter ones
//!   would mask ordinary words), wherever it appears inside a string, and its
//!   percent- and form-encoded forms (a secret put in a URL's query);
//! - in the journal's copy of the experiment, every inline secret value, whatever its length
//!   (an `env` or `vault` reference stays, since it names a variable, not its value).
//!
//! The redactor is process-wide because the logger is: a process running several
//! experiments (the operator) masks the secrets of all of them everywhere, which errs on the
//! safe side.

use experiment::{Map, Value};
use std::borrow::Cow;
use std::sync::{Arc, RwLock};

/// What a secret is replaced with.
pub const MASK: &str = "***";
/// The shortest secret value masked inside text.
pub const MIN_LEN: usize = 4;

/// A set of secret strings to mask.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The secret values themselves (long enough to mask), what a merge starts from.
    values: Vec<String>,
    /// Each value and its encoded forms, longest first, so a secret that contains another
    /// is masked whole.
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for `values` (and their percent- and form-encoded forms, as a URL's
    /// query carries them); short and empty values are ignored.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.as_ref().to_string())
            .filter(|v| v.chars().count() >= MIN_LEN)
            .collect();
        values.sort();
        values.dedup();
        let mut needles = Vec::new();
        for value in &values {
            needles.push(value.clone());
            needles.push(percent_encode(value));
            needles.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Self { values, needles }
    }

    /// A redactor for every string leaf of resolved secrets (scope → key → value).
    pub fn for_secrets(secrets: &Map) -> Self {
        let mut values = Vec::new();
        collect_strings(&Value::Object(secrets.clone()), &mut values);
        Self::new(values)
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret masked.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), MASK));
            }
        }
        out
    }

    /// Masks secrets in every string of `value`, in place (keys are left alone).
    pub fn value(&self, value: &mut Value) {
        if self.is_empty() {
            return;
        }
        match value {
            Value::String(s) => {
                if let Cow::Owned(masked) = self.text(s) {
                    *s = masked;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.value(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.value(v)),
            _ => {}
        }
    }

    fn merge(&self, other: &Redactor) -> Redactor {
        Redactor::new(self.values.iter().chain(&other.values))
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as a query
/// parameter carries a value.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

static CURRENT: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);

/// Adds the secrets of a run to what the process masks from now on.
pub fn install(secrets: &Map) {
    add(Redactor::for_secrets(secrets));
}

fn add(added: Redactor) {
    if added.is_empty() {
        return;
    }
    if let Ok(mut current) = CURRENT.write() {
        let merged = match current.as_deref() {
            Some(existing) => existing.merge(&added),
            None => added,
        };
        *current = Some(Arc::new(merged));
    }
}

/// Adds the inline secret values of `experiment` (known before anything is resolved) to
/// what the process masks, so that even the first event of a run masks them.
pub fn install_inline(experiment: &Value) {
    let Some(secrets) = experiment.get("secrets") else {
        return;
    };
    let mut copy = serde_json::json!({ "secrets": secrets });
    let mut values = Vec::new();
    for_each_inline(&mut copy, &mut |leaf| {
        if let Value::String(s) = leaf {
            values.push(std::mem::take(s));
        }
    });
    add(Redactor::new(values));
}

fn current() -> Option<Arc<Redactor>> {
    CURRENT.read().ok().and_then(|c| c.clone())
}

/// `text` with every installed secret masked.
pub fn text(text: &str) -> Cow<'_, str> {
    match current() {
        Some(r) => r.text(text),
        None => Cow::Borrowed(text),
    }
}

/// Masks every installed secret in the values of `map`, in place.
pub fn map(map: &mut Map) {
    if let Some(r) = current() {
        map.values_mut().for_each(|v| r.value(v));
    }
}

/// Masks every installed secret in `value`, in place.
pub fn value(value: &mut Value) {
    if let Some(r) = current() {
        r.value(value);
    }
}

/// Masks every inline value of an experiment's `secrets` block, whatever its length: a
/// scope's key whose value is not an `env` or `vault` reference (`{"type": …}`).
pub fn mask_inline_secrets(experiment: &mut Value) {
    for_each_inline(experiment, &mut |leaf| *leaf = Value::String(MASK.into()));
}

/// Calls `f` on every inline secret value of `experiment`: the non-null leaves under a
/// scope's keys, except inside an `env`/`vault` reference (a mapping with a string `type`).
fn for_each_inline(experiment: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    fn walk(value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        match value {
            Value::Object(map) if map.get("type").is_some_and(Value::is_string) => {}
            Value::Object(map) => map.values_mut().for_each(|v| walk(v, f)),
            Value::Null => {}
            leaf => f(leaf),
        }
    }
    let scopes = experiment.get_mut("secrets").and_then(Value::as_object_mut);
    for scope in scopes.into_iter().flat_map(|s| s.values_mut()) {
        if let Some(keys) = scope.as_object_mut() {
            keys.values_mut().for_each(|v| walk(v, f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_inside_text_longest_first_and_percent_encoded() {
        let r = Redactor::new(["s3cr3t", "s3cr3t-longer", "a b/c?", "abc", ""]);
        assert_eq!(r.text("x s3cr3t-longer y s3cr3t"), "x *** y ***");
        assert_eq!(r.text("https://h/?k=a%20b%2Fc%3F"), "https://h/?k=***");
        assert_eq!(r.text("https://h/?k=a+b%2Fc%3F"), "https://h/?k=***");
        assert_eq!(r.text("abc stays: too short"), "abc stays: too short");
        assert!(matches!(r.text("nothing"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_string_of_a_value_is_masked_but_not_its_keys() {
        let secrets =
            json!({"s": {"token": "tok-1234", "n": {"deep": "deep-secret"}, "num": 12345}});
        let r = Redactor::for_secrets(secrets.as_object().expect("a map"));
        let mut v = json!({"tok-1234": ["Bearer tok-1234", {"x": "deep-secret!"}], "n": 12345});
        r.value(&mut v);
        assert_eq!(
            v,
            json!({"tok-1234": ["Bearer ***", {"x": "***!"}], "n": 12345})
        );
    }

    #[test]
    fn inline_secrets_are_masked_in_the_experiment_and_references_kept() {
        let mut e = json!({"secrets": {
            "a": {"token": "x", "env": {"type": "env", "key": "TOKEN"},
                  "nested": {"deep": 7, "ref": {"type": "vault", "path": "p"}}, "none": null},
            "b": "not a scope"
        }, "title": "x"});
        mask_inline_secrets(&mut e);
        assert_eq!(
            e,
            json!({"secrets": {
                "a": {"token": "***", "env": {"type": "env", "key": "TOKEN"},
                      "nested": {"deep": "***", "ref": {"type": "vault", "path": "p"}},
                      "none": null},
                "b": "not a scope"
            }, "title": "x"})
        );
    }
}
