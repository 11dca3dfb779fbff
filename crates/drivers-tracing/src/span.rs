//! The span model: what one traced step is, independent of how it is exported.
//!
//! Small on purpose: a span is ids, a name, two times, attributes, events (an exception,
//! a legacy OpenTracing log) and a status. Ids come from the operating system's generator
//! (`getrandom`), as the W3C trace-context spec asks ("sufficiently random"), so two runs
//! started at the same instant on two machines never share a trace.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A 16-byte trace id (never all zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id (never all zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    loop {
        if getrandom::fill(&mut bytes).is_err() {
            // No OS generator (never seen on Linux): fall back on the clock and a counter,
            // still unique within the process.
            use std::sync::atomic::{AtomicU64, Ordering};
            static COUNTER: AtomicU64 = AtomicU64::new(1);
            let seed = now_nanos() ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = (seed >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
            }
        }
        if bytes.iter().any(|b| *b != 0) {
            return bytes;
        }
    }
}

impl TraceId {
    pub fn random() -> Self {
        TraceId(random())
    }
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl SpanId {
    pub fn random() -> Self {
        SpanId(random())
    }
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// Nanoseconds since the Unix epoch.
pub fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// An attribute value (OTLP's `AnyValue`, the kinds the controls set).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// A list of strings (the traceback lines upstream sets as `chaostoolkit.activity.error`).
    StrArray(Vec<String>),
}

impl From<&str> for AttrValue {
    fn from(v: &str) -> Self {
        AttrValue::Str(v.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(v: String) -> Self {
        AttrValue::Str(v)
    }
}
impl From<bool> for AttrValue {
    fn from(v: bool) -> Self {
        AttrValue::Bool(v)
    }
}
impl From<i64> for AttrValue {
    fn from(v: i64) -> Self {
        AttrValue::Int(v)
    }
}

pub type Attributes = Vec<(String, AttrValue)>;

/// A timed annotation: an `exception` event, or a legacy OpenTracing log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub time: u64,
    pub name: String,
    pub attributes: Attributes,
}

/// OTLP's span status code.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    #[default]
    Unset,
    Ok,
    Error(String),
}

/// OTLP's span kind (only the two the controls use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Internal,
    Client,
}

/// Where a span hangs: its trace, its parent (none for a root), the parent's trace state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: String,
}

/// One span, open until [`Span::end`] stamps its end time.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent: Option<SpanId>,
    pub trace_state: String,
    pub name: String,
    pub kind: Kind,
    pub start: u64,
    pub end: u64,
    pub attributes: Attributes,
    pub events: Vec<Event>,
    pub status: Status,
}

impl Span {
    /// A span starting now, child of `parent` (a new trace without one).
    pub fn start(name: impl Into<String>, parent: Option<&Context>) -> Self {
        let (trace_id, parent_id, trace_state) = match parent {
            Some(p) => (p.trace_id, Some(p.span_id), p.trace_state.clone()),
            None => (TraceId::random(), None, String::new()),
        };
        Span {
            trace_id,
            span_id: SpanId::random(),
            parent: parent_id,
            trace_state,
            name: name.into(),
            kind: Kind::Internal,
            start: now_nanos(),
            end: 0,
            attributes: Vec::new(),
            events: Vec::new(),
            status: Status::Unset,
        }
    }

    /// Where this span's children hang.
    pub fn context(&self) -> Context {
        Context {
            trace_id: self.trace_id,
            span_id: self.span_id,
            trace_state: self.trace_state.clone(),
        }
    }

    /// Sets `key`, replacing an earlier value, as OpenTelemetry's `set_attribute`.
    pub fn set(&mut self, key: &str, value: impl Into<AttrValue>) {
        let value = value.into();
        match self.attributes.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.attributes.push((key.to_string(), value)),
        }
    }

    pub fn event(&mut self, name: &str, attributes: Attributes) {
        self.events.push(Event {
            time: now_nanos(),
            name: name.to_string(),
            attributes,
        });
    }

    /// OpenTelemetry's `record_exception` and an error status.
    pub fn fail(&mut self, kind: &str, message: &str, stacktrace: Option<&str>) {
        let mut attributes = vec![
            ("exception.type".to_string(), AttrValue::from(kind)),
            ("exception.message".to_string(), AttrValue::from(message)),
        ];
        if let Some(stack) = stacktrace {
            attributes.push(("exception.stacktrace".to_string(), AttrValue::from(stack)));
        }
        self.event("exception", attributes);
        self.status = Status::Error(format!("{kind}: {message}"));
    }

    pub fn end(&mut self) {
        self.end = now_nanos().max(self.start);
    }
}

/// A W3C `traceparent` (version 00), and the `tracestate` that came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: bool,
}

impl TraceParent {
    /// Parses `00-<32 hex>-<16 hex>-<2 hex>`; `None` for anything else (the spec says to
    /// ignore an invalid header, and a future version's extra fields).
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let mut parts = header.split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        let version: [u8; 1] = unhex(version)?;
        if version[0] == 0xff || (version[0] == 0 && parts.next().is_some()) {
            return None;
        }
        let trace_id = TraceId(unhex(trace)?);
        let span_id = SpanId(unhex(span)?);
        let flags: [u8; 1] = unhex(flags)?;
        if trace_id.0 == [0; 16] || span_id.0 == [0; 8] {
            return None;
        }
        Some(TraceParent {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    pub fn of(span: &Span) -> Self {
        TraceParent {
            trace_id: span.trace_id,
            span_id: span.span_id,
            sampled: true,
        }
    }

    pub fn header(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_not_zero() {
        let a = TraceId::random();
        let b = TraceId::random();
        assert_ne!(a, b);
        assert_ne!(a.0, [0; 16]);
        assert_eq!(a.hex().len(), 32);
        assert_eq!(SpanId::random().hex().len(), 16);
    }

    #[test]
    fn traceparent_round_trips_and_rejects_bad_headers() {
        let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let p = TraceParent::parse(h).unwrap();
        assert_eq!(p.trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(p.span_id.hex(), "00f067aa0ba902b7");
        assert!(p.sampled);
        assert_eq!(p.header(), h);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        // A later version may carry more fields.
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x")
                .is_some_and(|p| !p.sampled)
        );
    }

    #[test]
    fn children_share_the_trace_and_name_their_parent() {
        let root = Span::start("experiment", None);
        let child = Span::start("method", Some(&root.context()));
        assert_eq!(child.trace_id, root.trace_id);
        assert_eq!(child.parent, Some(root.span_id));
        assert_eq!(root.parent, None);
    }

    #[test]
    fn set_replaces_and_fail_records_an_exception() {
        let mut s = Span::start("a", None);
        s.set("k", "v");
        s.set("k", true);
        assert_eq!(s.attributes, vec![("k".to_string(), AttrValue::Bool(true))]);
        s.fail("ActivityFailed", "boom", None);
        assert_eq!(s.events[0].name, "exception");
        assert_eq!(s.status, Status::Error("ActivityFailed: boom".into()));
        s.end();
        assert!(s.end >= s.start);
    }
}
