//! One run's spans while they are open, shared by both control generations: the root
//! (`experiment`), the phase open now (a hypothesis, the method, the rollbacks) and the
//! activities running (several at once with background activities).
//!
//! The engine calls an activity's after hook with the activity it handed the before
//! hook, so activities are matched by name, first in first out; two activities of the
//! same name running at once (a background one and a foreground one) may swap spans,
//! which changes nothing but their order under the same parent.

use crate::export::Exporter;
use crate::span::{AttrValue, Context, Span};
use experiment::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// One run of a declared control: its tracer and what the control resolved besides.
pub struct Traced<T> {
    pub tracer: Tracer,
    pub extra: T,
}

/// The runs of a control's declarations, by declared name (two declarations of the same
/// module trace independently).
pub struct Runs<T>(Mutex<HashMap<String, Arc<Traced<T>>>>);

impl<T> Default for Runs<T> {
    fn default() -> Self {
        Runs(Mutex::new(HashMap::new()))
    }
}

impl<T> Runs<T> {
    pub fn get(&self, name: &str) -> Option<Arc<Traced<T>>> {
        lock(&self.0).get(name).cloned()
    }

    /// Starts tracing `name`'s run; a previous run that never reached its cleanup is ended
    /// and sent first.
    pub async fn start(&self, name: &str, run: Traced<T>) {
        let previous = lock(&self.0).insert(name.to_string(), Arc::new(run));
        if let Some(previous) = previous {
            previous.tracer.end_all();
            previous.tracer.flush().await;
        }
    }

    /// No tracing for `name` in this run.
    pub fn forget(&self, name: &str) {
        lock(&self.0).remove(name);
    }

    /// `cleanup_control`: ends what is still open and sends it.
    pub async fn finish(&self, name: &str) {
        let run = lock(&self.0).remove(name);
        if let Some(run) = run {
            run.tracer.end_all();
            run.tracer.flush().await;
        }
    }
}

#[derive(Default)]
struct State {
    root: Option<Span>,
    /// The caller's trace (`TRACEPARENT`), when the root has not started yet.
    remote_parent: Option<Context>,
    phase: Option<Span>,
    activities: HashMap<String, Vec<Span>>,
    /// The method started: a hypothesis now is the `after` one.
    method_started: bool,
}

/// One run of one declared tracing control.
pub struct Tracer {
    exporter: Arc<Exporter>,
    state: Mutex<State>,
    /// Resolved secret values, masked wherever they would reach a span.
    secrets: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every string in the secret scopes (short ones too: a 3-character PIN is a secret).
pub fn secret_values(secrets: &Map) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(o) => o.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    secrets.values().for_each(|v| walk(v, &mut out));
    // Longest first, so a secret containing another is masked whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

impl Tracer {
    pub fn new(exporter: Arc<Exporter>, secrets: &Map, remote_parent: Option<Context>) -> Self {
        Tracer {
            exporter,
            state: Mutex::new(State {
                remote_parent,
                ..State::default()
            }),
            secrets: secret_values(secrets),
        }
    }

    /// `text` with every secret value replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }

    /// Masks the string attributes and event attributes of a span about to be exported.
    fn masked(&self, mut span: Span) -> Span {
        if self.secrets.is_empty() {
            return span;
        }
        let fix = |attrs: &mut Vec<(String, AttrValue)>| {
            for (_, v) in attrs.iter_mut() {
                match v {
                    AttrValue::Str(s) => *s = self.mask(s),
                    AttrValue::StrArray(items) => {
                        items.iter_mut().for_each(|s| *s = self.mask(s));
                    }
                    _ => {}
                }
            }
        };
        fix(&mut span.attributes);
        for e in &mut span.events {
            fix(&mut e.attributes);
        }
        span.name = self.mask(&span.name);
        span
    }

    fn export(&self, mut span: Span) {
        span.end();
        self.exporter.push(self.masked(span));
    }

    /// Starts the root span (once).
    pub fn start_root(&self, name: &str, attributes: Vec<(&str, AttrValue)>) {
        let mut state = lock(&self.state);
        if state.root.is_some() {
            return;
        }
        let mut span = Span::start(name, state.remote_parent.as_ref());
        for (k, v) in attributes {
            span.set(k, v);
        }
        state.root = Some(span);
    }

    /// Changes the root span before it ends.
    pub fn with_root(&self, f: impl FnOnce(&mut Span)) {
        if let Some(root) = lock(&self.state).root.as_mut() {
            f(root);
        }
    }

    /// Ends whatever is still open, the root last.
    pub fn end_all(&self) {
        let (activities, phase, root) = {
            let mut state = lock(&self.state);
            let activities: Vec<Span> = state.activities.drain().flat_map(|(_, v)| v).collect();
            (activities, state.phase.take(), state.root.take())
        };
        for span in activities.into_iter().chain(phase).chain(root) {
            self.export(span);
        }
    }

    pub fn method_started(&self) -> bool {
        lock(&self.state).method_started
    }

    /// Opens a phase span (ending one left open), child of the root.
    pub fn start_phase(&self, name: &str, attributes: Vec<(&str, AttrValue)>, method: bool) {
        let previous = {
            let mut state = lock(&self.state);
            if method {
                state.method_started = true;
            }
            let parent = state
                .root
                .as_ref()
                .map(Span::context)
                .or_else(|| state.remote_parent.clone());
            let mut span = Span::start(name, parent.as_ref());
            for (k, v) in attributes {
                span.set(k, v);
            }
            state.phase.replace(span)
        };
        if let Some(previous) = previous {
            self.export(previous);
        }
    }

    /// Ends the open phase span after `f` has changed it.
    pub fn end_phase(&self, f: impl FnOnce(&mut Span)) {
        let span = lock(&self.state).phase.take();
        if let Some(mut span) = span {
            f(&mut span);
            self.export(span);
        }
    }

    /// Opens an activity span under the open phase (else the root); returns its context
    /// for the headers that carry it.
    pub fn start_activity(&self, key: &str, name: &str, f: impl FnOnce(&mut Span)) -> Context {
        let mut state = lock(&self.state);
        let parent = state
            .phase
            .as_ref()
            .or(state.root.as_ref())
            .map(Span::context)
            .or_else(|| state.remote_parent.clone());
        let mut span = Span::start(name, parent.as_ref());
        f(&mut span);
        let context = span.context();
        state
            .activities
            .entry(key.to_string())
            .or_default()
            .push(span);
        context
    }

    /// Ends the oldest open activity span of that key after `f` has changed it.
    pub fn end_activity(&self, key: &str, f: impl FnOnce(&mut Span)) {
        let span = {
            let mut state = lock(&self.state);
            let list = state.activities.get_mut(key);
            let span = list.and_then(|l| (!l.is_empty()).then(|| l.remove(0)));
            if state.activities.get(key).is_some_and(Vec::is_empty) {
                state.activities.remove(key);
            }
            span
        };
        if let Some(mut span) = span {
            f(&mut span);
            self.export(span);
        }
    }

    pub async fn flush(&self) {
        self.exporter.flush().await;
    }
}

/// A copy of `activity` whose HTTP provider carries `headers`, replacing any header of
/// the same name whatever its case (as upstream's `inject` and `requests`' instrumentation
/// do: the engine keeps a hook's change to the activity, so the header a previous run of
/// the same activity carried must give way to the current span's). `None` for other
/// providers.
pub fn with_headers(activity: &Value, headers: &[(String, String)]) -> Option<Value> {
    let provider = activity.get("provider")?;
    if provider.get("type").and_then(Value::as_str) != Some("http") {
        return None;
    }
    let mut changed = activity.clone();
    let provider = changed.get_mut("provider")?.as_object_mut()?;
    let entry = provider
        .entry("headers")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        // A malformed `headers` is the provider's to report, untouched.
        return None;
    }
    let map = entry.as_object_mut()?;
    for (k, v) in headers {
        map.retain(|existing, _| !existing.eq_ignore_ascii_case(k));
        map.insert(k.clone(), Value::String(v.clone()));
    }
    Some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_found_in_every_scope_longest_first() {
        let secrets = json!({"a": {"token": "abc"}, "b": {"k": ["abcdef", ""], "n": 3}});
        let Value::Object(map) = secrets else {
            panic!()
        };
        assert_eq!(secret_values(&map), vec!["abcdef", "abc"]);
    }

    #[test]
    fn headers_are_added_only_to_http_providers_and_replace_older_ones() {
        let http = json!({"name": "a", "provider": {"type": "http", "url": "u",
            "headers": {"TraceParent": "mine"}}});
        let h = vec![
            ("traceparent".to_string(), "x".to_string()),
            ("tracestate".to_string(), "y".to_string()),
        ];
        let changed = with_headers(&http, &h).unwrap();
        assert_eq!(
            changed["provider"]["headers"],
            json!({"traceparent": "x", "tracestate": "y"})
        );
        let bare = json!({"provider": {"type": "http", "url": "u"}});
        assert_eq!(
            with_headers(&bare, &h).unwrap()["provider"]["headers"]["traceparent"],
            "x"
        );
        let process = json!({"provider": {"type": "process", "path": "p"}});
        assert_eq!(with_headers(&process, &h), None);
        let odd = json!({"provider": {"type": "http", "url": "u", "headers": "nope"}});
        assert_eq!(with_headers(&odd, &h), None);
    }
}
