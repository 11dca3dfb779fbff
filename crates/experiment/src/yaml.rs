//! YAML with PyYAML `safe_load` (YAML 1.1) semantics, so that a document means here what
//! it means to the reference, built on yaml-rust2's event parser to keep node positions.
//!
//! Departures from PyYAML (all documented in the compatibility notes): timestamps stay
//! strings (JSON has no dates), `.inf`/`.nan` keep their source text (JSON has no such
//! numbers), the `=` value scalar is a string, integers beyond 64 bits become floats,
//! and alias expansion and nesting depth are bounded.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::load::{index_path, key_path, LoadError, Positions, MAX_DEPTH};
use crate::{Map, Value};

/// Most nodes that alias expansion may add: enough for any real experiment, far below
/// what a "billion laughs" document asks for.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// Most bytes that alias expansion may add (about the JSON text of the copies): a few
/// aliases of a large string would otherwise each copy it whole (PyYAML shares one object
/// instead).
pub const MAX_ALIAS_BYTES: usize = 32 * 1024 * 1024;

/// The reference's prefix for a YAML syntax error.
pub const YAML_ERROR_PREFIX: &str = "Failed parsing YAML experiment: ";

const CORE: &str = "tag:yaml.org,2002:";

/// Parses one YAML document. An empty stream is `Value::Null`. Errors carry a position
/// but no origin (the caller fills it in).
pub fn parse_yaml(text: &str) -> Result<(Value, Positions), LoadError> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0usize;
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| {
            let m = e.marker();
            err(e.info(), m)
        })?;
        match ev {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(err(
                        "expected a single document in the stream, but found another document",
                        &mark,
                    ));
                }
            }
            ev => b.event(ev, &mark)?,
        }
    }
    Ok((b.root.unwrap_or(Value::Null), b.positions))
}

fn err(msg: &str, mark: &Marker) -> LoadError {
    LoadError::new(format!("{YAML_ERROR_PREFIX}{msg}")).at(mark.line().max(1), mark.col() + 1)
}

enum Slot {
    /// The next node is a mapping key.
    Key,
    /// The next node is the value of this key.
    Value(String),
    /// The next node is a `<<` merge source.
    Merge,
}

enum Frame {
    Seq {
        items: Vec<Value>,
        path: String,
        anchor: usize,
        mark: Marker,
    },
    Map {
        map: Map,
        merges: Vec<Map>,
        slot: Slot,
        path: String,
        anchor: usize,
        mark: Marker,
        /// A block mapping's start mark is after its first key, so its position is taken
        /// from whichever comes first: the start mark or the first key.
        pending: Option<String>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    positions: Positions,
    /// anchor id → the anchored value and its size
    anchors: HashMap<usize, (Value, Size)>,
    alias_nodes: usize,
    alias_bytes: usize,
}

/// How much an anchored value weighs when an alias copies it.
#[derive(Clone, Copy)]
struct Size {
    nodes: usize,
    depth: usize,
    /// About the length of its JSON text.
    bytes: usize,
}

fn size_of(v: &Value) -> Size {
    let mut size = Size {
        nodes: 0,
        depth: 0,
        bytes: 0,
    };
    let mut todo = vec![(v, 1usize)];
    while let Some((v, d)) = todo.pop() {
        size.nodes += 1;
        size.depth = size.depth.max(d);
        let bytes = match v {
            Value::String(text) => text.len() + 2,
            Value::Array(a) => {
                todo.extend(a.iter().map(|x| (x, d + 1)));
                2 + a.len()
            }
            Value::Object(m) => {
                todo.extend(m.values().map(|x| (x, d + 1)));
                2 + m.keys().map(|k| k.len() + 4).sum::<usize>()
            }
            _ => 8,
        };
        size.bytes = size.bytes.saturating_add(bytes);
    }
    size
}

impl Builder {
    /// The path a node starting now would get, or None when it is a mapping key.
    fn next_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Seq { items, path, .. }) => Some(index_path(path, items.len())),
            Some(Frame::Map { slot, path, .. }) => match slot {
                Slot::Key => None,
                Slot::Value(k) => Some(key_path(path, k)),
                Slot::Merge => Some(format!("{path}.<<")),
            },
        }
    }

    fn record_item_position(&mut self, path: &str, mark: &Marker) {
        let in_map = matches!(self.stack.last(), Some(Frame::Map { .. }));
        if !in_map {
            self.positions
                .insert(path.to_string(), mark.line(), mark.col() + 1);
        }
    }

    fn event(&mut self, ev: Event, mark: &Marker) -> Result<(), LoadError> {
        let is_seq = matches!(ev, Event::SequenceStart(..));
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let in_key = self.next_path().is_none();
                if in_key
                    && style == TScalarStyle::Plain
                    && tag.is_none()
                    && text == "<<"
                    && anchor == 0
                {
                    if let Some(Frame::Map { slot, .. }) = self.stack.last_mut() {
                        *slot = Slot::Merge;
                    }
                    return Ok(());
                }
                let value = resolve_scalar(&text, style, tag.as_ref(), mark)?;
                self.complete(value, anchor, mark, true)
            }
            Event::Alias(id) => {
                let Some((value, size)) = self.anchors.get(&id) else {
                    return Err(err("found undefined alias", mark));
                };
                self.alias_nodes = self.alias_nodes.saturating_add(size.nodes);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(err(
                        &format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes (a \"billion laughs\" document?)"
                        ),
                        mark,
                    ));
                }
                self.alias_bytes = self.alias_bytes.saturating_add(size.bytes);
                if self.alias_bytes > MAX_ALIAS_BYTES {
                    return Err(err(
                        &format!(
                            "aliases expand to more than {} MiB: each alias copies what its anchor holds; write the value once, or anchor something smaller",
                            MAX_ALIAS_BYTES / (1024 * 1024)
                        ),
                        mark,
                    ));
                }
                if self.stack.len() + size.depth > MAX_DEPTH {
                    return Err(err(
                        &format!("document is nested deeper than {MAX_DEPTH} levels"),
                        mark,
                    ));
                }
                let value = value.clone();
                self.complete(value, 0, mark, true)
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                let Some(path) = self.next_path() else {
                    return Err(err(
                        "while constructing a mapping, found unhashable key",
                        mark,
                    ));
                };
                if let Some(t) = &tag {
                    let full = format!("{}{}", t.handle, t.suffix);
                    let expected = if is_seq { "seq" } else { "map" };
                    let ok = full == "!"
                        || full == format!("{CORE}{expected}")
                        || (!is_seq && (full == format!("{CORE}set")))
                        || (is_seq
                            && (full == format!("{CORE}omap") || full == format!("{CORE}pairs")));
                    if !ok {
                        return Err(err(
                            &format!("could not determine a constructor for the tag '{full}'"),
                            mark,
                        ));
                    }
                }
                if self.stack.len() >= MAX_DEPTH {
                    return Err(err(
                        &format!("document is nested deeper than {MAX_DEPTH} levels"),
                        mark,
                    ));
                }
                let pending = if is_seq {
                    self.record_item_position(&path, mark);
                    None
                } else if matches!(self.stack.last(), Some(Frame::Map { .. })) {
                    None
                } else {
                    Some(path.clone())
                };
                self.stack.push(if is_seq {
                    Frame::Seq {
                        items: Vec::new(),
                        path,
                        anchor,
                        mark: *mark,
                    }
                } else {
                    Frame::Map {
                        map: Map::new(),
                        merges: Vec::new(),
                        slot: Slot::Key,
                        path,
                        anchor,
                        mark: *mark,
                        pending,
                    }
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, anchor, start) = match frame {
                    Frame::Seq {
                        items,
                        anchor,
                        mark,
                        ..
                    } => (Value::Array(items), anchor, mark),
                    Frame::Map {
                        map,
                        merges,
                        anchor,
                        mark,
                        pending,
                        ..
                    } => {
                        if let Some(p) = pending {
                            self.positions.insert(p, mark.line(), mark.col() + 1);
                        }
                        if merges.is_empty() {
                            (Value::Object(map), anchor, mark)
                        } else {
                            let mut out = Map::new();
                            for m in merges {
                                for (k, v) in m {
                                    out.insert(k, v);
                                }
                            }
                            for (k, v) in map {
                                out.insert(k, v);
                            }
                            (Value::Object(out), anchor, mark)
                        }
                    }
                };
                self.complete(value, anchor, &start, false)
            }
            _ => Ok(()),
        }
    }

    /// Places a finished node in its parent. `record` is false for collections, whose
    /// position was recorded when they started.
    fn complete(
        &mut self,
        value: Value,
        anchor: usize,
        mark: &Marker,
        record: bool,
    ) -> Result<(), LoadError> {
        if anchor > 0 {
            let size = size_of(&value);
            self.anchors.insert(anchor, (value.clone(), size));
        }
        if record {
            if let Some(path) = self.next_path() {
                self.record_item_position(&path, mark);
            }
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map,
                merges,
                slot,
                path,
                mark: start,
                pending,
                ..
            }) => match std::mem::replace(slot, Slot::Key) {
                Slot::Key => {
                    let key = match &value {
                        Value::String(s) => s.clone(),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(err(
                                "while constructing a mapping, found unhashable key",
                                mark,
                            ))
                        }
                        other => python_str(other),
                    };
                    if let Some(p) = pending.take() {
                        let first = if start.index() < mark.index() { *start } else { *mark };
                        self.positions.insert(p, first.line(), first.col() + 1);
                    }
                    self.positions
                        .insert(key_path(path, &key), mark.line(), mark.col() + 1);
                    *slot = Slot::Value(key);
                }
                Slot::Value(key) => {
                    map.insert(key, value);
                }
                Slot::Merge => match value {
                    Value::Object(m) => merges.push(m),
                    Value::Array(items) => {
                        // PyYAML: earlier sources win, so apply them last.
                        let mut maps = Vec::new();
                        for it in items {
                            match it {
                                Value::Object(m) => maps.push(m),
                                _ => {
                                    return Err(err(
                                        "while constructing a mapping, expected a mapping for merging",
                                        mark,
                                    ))
                                }
                            }
                        }
                        maps.reverse();
                        merges.extend(maps);
                    }
                    _ => {
                        return Err(err(
                            "while constructing a mapping, expected a mapping or list of mappings for merging",
                            mark,
                        ))
                    }
                },
            },
        }
        Ok(())
    }
}

/// Python's `str()` of a scalar used as a mapping key.
fn python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                python_float_repr(f)
            } else {
                n.to_string()
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form outside 1e-4..1e16.
fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}"); // e.g. "1.5e3", "-1e-7"
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

fn resolve_scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    mark: &Marker,
) -> Result<Value, LoadError> {
    if let Some(t) = tag {
        let full = format!("{}{}", t.handle, t.suffix);
        let Some(kind) = full.strip_prefix(CORE) else {
            if full == "!" {
                return Ok(Value::String(text.to_string()));
            }
            return Err(err(
                &format!("could not determine a constructor for the tag '{full}'"),
                mark,
            ));
        };
        let bad = |what: &str| {
            err(
                &format!("cannot construct a {what} from the scalar '{text}'"),
                mark,
            )
        };
        return match kind {
            "str" | "timestamp" | "binary" => Ok(Value::String(text.to_string())),
            "null" => Ok(Value::Null),
            "bool" => resolve_bool(text).ok_or_else(|| bad("bool")),
            "int" => resolve_int(text).ok_or_else(|| bad("int")),
            "float" => resolve_float(text)
                .or_else(|| resolve_int(text).and_then(|v| v.as_f64()).map(Value::from))
                .ok_or_else(|| bad("float")),
            _ => Err(err(
                &format!("could not determine a constructor for the tag '{full}'"),
                mark,
            )),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

/// PyYAML's implicit resolution of a plain scalar.
pub fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = resolve_bool(text) {
        return b;
    }
    if let Some(i) = resolve_int(text) {
        return i;
    }
    if let Some(f) = resolve_float(text) {
        return f;
    }
    Value::String(text.to_string())
}

fn resolve_bool(text: &str) -> Option<Value> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(Value::Bool(true))
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

fn split_sign(text: &str) -> (bool, &str) {
    if let Some(r) = text.strip_prefix('-') {
        (true, r)
    } else {
        (false, text.strip_prefix('+').unwrap_or(text))
    }
}

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    s.chars().all(f)
}

fn int_value(neg: bool, magnitude: u128) -> Value {
    if neg {
        if magnitude <= i64::MAX as u128 + 1 {
            return Value::from((-(magnitude as i128)) as i64);
        }
        Value::from(-(magnitude as f64))
    } else if magnitude <= u64::MAX as u128 {
        Value::from(magnitude as u64)
    } else {
        Value::from(magnitude as f64)
    }
}

fn radix(digits: &str, base: u32) -> Option<u128> {
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        // PyYAML: "0b_" → int("", 2) raises; treat as not an int
        return None;
    }
    let mut acc: u128 = 0;
    for c in clean.chars() {
        let d = c.to_digit(base)? as u128;
        acc = acc.saturating_mul(base as u128).saturating_add(d);
    }
    Some(acc)
}

fn resolve_int(text: &str) -> Option<Value> {
    let (neg, body) = split_sign(text);
    if body.is_empty() {
        return None;
    }
    if let Some(d) = body.strip_prefix("0b") {
        if !d.is_empty() && all(d, |c| c == '0' || c == '1' || c == '_') {
            return radix(d, 2).map(|m| int_value(neg, m));
        }
        return None;
    }
    if let Some(d) = body.strip_prefix("0x") {
        if !d.is_empty() && all(d, |c| c.is_ascii_hexdigit() || c == '_') {
            return radix(d, 16).map(|m| int_value(neg, m));
        }
        return None;
    }
    if body == "0" {
        return Some(int_value(neg, 0));
    }
    if body.len() > 1 && body.starts_with('0') {
        if all(&body[1..], |c| ('0'..='7').contains(&c) || c == '_') {
            return Some(int_value(neg, radix(&body[1..], 8).unwrap_or(0)));
        }
        return None;
    }
    let first = body.chars().next()?;
    if !('1'..='9').contains(&first) {
        return None;
    }
    if all(body, |c| c.is_ascii_digit() || c == '_') {
        return radix(body, 10).map(|m| int_value(neg, m));
    }
    // sexagesimal: [1-9][0-9_]*(:[0-5]?[0-9])+
    let mut parts = body.split(':');
    let head = parts.next()?;
    if !all(head, |c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    let mut acc = radix(head, 10)?;
    let mut any = false;
    for p in parts {
        if !sexagesimal_part(p) {
            return None;
        }
        any = true;
        acc = acc
            .saturating_mul(60)
            .saturating_add(p.parse::<u128>().ok()?);
    }
    any.then(|| int_value(neg, acc))
}

fn sexagesimal_part(p: &str) -> bool {
    let b = p.as_bytes();
    match b.len() {
        1 => b[0].is_ascii_digit(),
        2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
        _ => false,
    }
}

fn resolve_float(text: &str) -> Option<Value> {
    let (neg, body) = split_sign(text);
    let signed = text.len() != body.len();
    if matches!(body, ".inf" | ".Inf" | ".INF")
        || (!signed && matches!(body, ".nan" | ".NaN" | ".NAN"))
    {
        // JSON cannot hold these: keep the source text.
        return Some(Value::String(text.to_string()));
    }
    let sign = if neg { -1.0 } else { 1.0 };
    // [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
    if body.contains(':') {
        let (int_part, frac) = body.split_once('.')?;
        let mut parts = int_part.split(':');
        let head = parts.next()?;
        if head.is_empty()
            || !head.starts_with(|c: char| c.is_ascii_digit())
            || !all(head, |c| c.is_ascii_digit() || c == '_')
            || !all(frac, |c| c.is_ascii_digit() || c == '_')
        {
            return None;
        }
        let mut acc: f64 = head.replace('_', "").parse().ok()?;
        let mut any = false;
        for p in parts {
            if !sexagesimal_part(p) {
                return None;
            }
            any = true;
            acc = acc * 60.0 + p.parse::<f64>().ok()?;
        }
        let frac_clean = frac.replace('_', "");
        let frac_val: f64 = if frac_clean.is_empty() {
            0.0
        } else {
            format!("0.{frac_clean}").parse().ok()?
        };
        return any.then(|| Value::from(sign * (acc + frac_val)));
    }
    // [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?  |  \.[0-9][0-9_]*([eE][-+][0-9]+)?  (unsigned)
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if let Some(e) = exp {
        let digits = e.strip_prefix(['-', '+'])?;
        if digits.is_empty() || !all(digits, |c| c.is_ascii_digit()) {
            return None;
        }
    }
    let (ip, fp) = mant.split_once('.')?;
    if ip.is_empty() {
        if signed || !fp.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
    } else if !ip.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !all(ip, |c| c.is_ascii_digit() || c == '_') || !all(fp, |c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let clean = format!(
        "{}{}.{}{}",
        if neg { "-" } else { "" },
        if ip.is_empty() {
            "0".to_string()
        } else {
            ip.replace('_', "")
        },
        fp.replace('_', ""),
        exp.map(|e| format!("e{e}")).unwrap_or_default()
    );
    let f: f64 = clean.trim_end_matches('.').parse().ok().or_else(|| {
        // "1." → "1." is accepted by Rust; "1.e+5" needs a zero
        clean.replace(".e", ".0e").parse().ok()
    })?;
    if f.is_finite() {
        Some(Value::from(f))
    } else {
        Some(Value::String(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(s: &str) -> Value {
        parse_yaml(s).unwrap().0
    }

    fn scalar(s: &str) -> Value {
        load(&format!("a: {s}"))["a"].clone()
    }

    #[test]
    fn plain_scalars_resolve_like_pyyaml() {
        let cases: Vec<(&str, Value)> = vec![
            ("~", json!(null)),
            ("null", json!(null)),
            ("NULL", json!(null)),
            ("", json!(null)),
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("TRUE", json!(true)),
            ("tRue", json!("tRue")),
            ("017", json!(15)),
            ("09", json!("09")),
            ("0o17", json!("0o17")),
            ("0x_1F", json!(31)),
            ("-0x1F", json!(-31)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("1:30", json!(90)),
            ("190:20:30", json!(685230)),
            ("1:30.5", json!(90.5)),
            ("1.0e5", json!("1.0e5")),
            ("1.0e+5", json!(100000.0)),
            (".5", json!(0.5)),
            ("1.", json!(1.0)),
            ("-1.5", json!(-1.5)),
            ("+.inf", json!("+.inf")),
            (".nan", json!(".nan")),
            ("2001-12-14", json!("2001-12-14")),
            ("1e5", json!("1e5")),
            ("12abc", json!("12abc")),
            ("'1'", json!("1")),
            ("\"yes\"", json!("yes")),
            ("!!str 1", json!("1")),
            ("!!int \"12\"", json!(12)),
            ("!!float 1", json!(1.0)),
            ("99999999999999999999999", json!(1e23)),
            ("-9223372036854775808", json!(i64::MIN)),
        ];
        for (src, want) in cases {
            assert_eq!(scalar(src), want, "scalar {src:?}");
        }
    }

    #[test]
    fn keys_use_python_str() {
        let v = load("{1: a, true: b, null: c, 1.5: d, 1e+20: e}");
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|s| s.as_str()).collect();
        assert_eq!(keys, ["1", "True", "None", "1.5", "1e+20"]);
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(load("a: 1\nb: 2\na: 3\n"), json!({"a": 3, "b": 2}));
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(load(""), Value::Null);
        assert_eq!(load("# just a comment\n"), Value::Null);
    }

    #[test]
    fn anchors_and_merge_keys() {
        let v = load(
            "base: &b {x: 1, y: 2}\nother: &o {y: 5, z: 6}\nc:\n  <<: [*b, *o]\n  x: 9\nd: *b\n",
        );
        assert_eq!(v["d"], json!({"x": 1, "y": 2}));
        assert_eq!(v["c"], json!({"y": 2, "z": 6, "x": 9}));
        let keys: Vec<&str> = v["c"]
            .as_object()
            .unwrap()
            .keys()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(keys, ["y", "z", "x"]);
    }

    #[test]
    fn billion_laughs_fails_cleanly() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        let e = parse_yaml(&doc).unwrap_err();
        assert!(e.message.contains("billion laughs"), "{e}");
        assert!(e.line.is_some());
    }

    #[test]
    fn aliases_of_a_large_string_are_bounded_by_bytes() {
        // One 1 MiB string and 4,000 aliases of it: few nodes, 4 GiB once expanded.
        let mut doc = format!("big: &big {}\nmany:\n", "x".repeat(1 << 20));
        for _ in 0..4000 {
            doc.push_str("  - *big\n");
        }
        let e = parse_yaml(&doc).unwrap_err();
        assert!(
            e.message.contains("aliases expand to more than 32 MiB"),
            "{e}"
        );
        // the alias that crossed the line: the 32nd
        assert_eq!(e.line, Some(3 + 31));
        // a few aliases of it are fine
        let few = format!("big: &big {}\nmany: [*big, *big]\n", "x".repeat(1 << 20));
        let (v, _) = parse_yaml(&few).unwrap();
        assert_eq!(v["many"][1].as_str().map(str::len), Some(1 << 20));
    }

    #[test]
    fn deep_nesting_fails_cleanly() {
        let e = parse_yaml(&"[".repeat(200_000)).unwrap_err();
        assert!(e.message.starts_with(YAML_ERROR_PREFIX), "{e}");
        let e = parse_yaml(&"- ".repeat(MAX_DEPTH + 5)).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
        let mut block = String::new();
        for i in 0..300 {
            block.push_str(&" ".repeat(i));
            block.push_str("a:\n");
        }
        assert!(parse_yaml(&block).is_err());
    }

    #[test]
    fn syntax_error_has_position_and_prefix() {
        let e = parse_yaml("title: t\ndescription: [d\nmethod: []\n").unwrap_err();
        assert!(e.message.starts_with(YAML_ERROR_PREFIX), "{e}");
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn multiple_documents_rejected() {
        let e = parse_yaml("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("single document"), "{e}");
    }

    #[test]
    fn unhashable_and_unknown_tags() {
        assert!(parse_yaml("? [1, 2]\n: a\n").is_err());
        assert!(parse_yaml("a: !foo x\n").is_err());
        assert!(parse_yaml("a: !!int abc\n").is_err());
        assert_eq!(load("a: !!map {b: 1}\n"), json!({"a": {"b": 1}}));
    }

    #[test]
    fn positions_of_block_and_flow_nodes() {
        let src = "title: t\nmethod:\n  - type: action\n    provider:\n      url: http://x\n  - ref: r\nlist: [a, {b: c}]\n";
        let (_, p) = parse_yaml(src).unwrap();
        assert_eq!(p.get(""), Some((1, 1)));
        assert_eq!(p.get("title"), Some((1, 1)));
        assert_eq!(p.get("method"), Some((2, 1)));
        assert_eq!(p.get("method[0]"), Some((3, 5)));
        assert_eq!(p.get("method[0].type"), Some((3, 5)));
        assert_eq!(p.get("method[0].provider"), Some((4, 5)));
        assert_eq!(p.get("method[0].provider.url"), Some((5, 7)));
        assert_eq!(p.get("method[1].ref"), Some((6, 5)));
        assert_eq!(p.get("list[1].b"), Some((7, 12)));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "\u{0}\u{1}\u{2}",
            "*x",
            "&a",
            "- &a\n- *a",
            "{",
            "]",
            "a: b: c",
            "\t- x",
            "? ? ?",
            "!!",
            "a: |\n  x\n b",
        ] {
            let _ = parse_yaml(s);
        }
    }
}
