//! Python's `json.dumps`, byte for byte, with the options the reference's callers use.
//!
//! Several texts Shakedown writes must be the very bytes the Python reference writes,
//! because users diff them or hash them: `chaos settings show --format json`
//! (`json.dumps(indent=2)`), the agent report and the events file
//! (`json.dumps(ensure_ascii=False)`, with or without `indent=2`), and chaoslib's
//! `experiment_hash` (`json.dumps(sort_keys=True)`, then BLAKE2b). They differ only in
//! three of `json.dumps`' options, so there is one writer here with a [`Style`] for them,
//! rather than one hand-written writer per caller.
//!
//! What Python does, and this does:
//! - separators: `", "` and `": "` on one line; with `indent`, `","` at line ends;
//! - `ensure_ascii=True` (the default): every character outside `' '..='~'` as `\uXXXX`
//!   (UTF-16 code units, lower-case hex), `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`;
//!   `ensure_ascii=False`: only `"`, `\` and the control characters below U+0020 escaped;
//! - `sort_keys`: keys in code-point order (Python compares `str`s by code point, which is
//!   Rust's `str` order, not UTF-16's);
//! - integers as written; floats as `repr` ([`journal::python_float_repr`]: `1.0`,
//!   `5.3e-05`, `1e+16`).

use crate::Value;

/// The `json.dumps` options that change the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `indent=N`: `None` writes one line.
    pub indent: Option<usize>,
    /// `ensure_ascii` (Python's default is `True`).
    pub ensure_ascii: bool,
    /// `sort_keys` (Python's default is `False`).
    pub sort_keys: bool,
}

impl Style {
    /// `json.dumps(v)`.
    pub const PYTHON: Style = Style {
        indent: None,
        ensure_ascii: true,
        sort_keys: false,
    };

    /// The same style with `indent=n`.
    pub const fn indent(self, n: usize) -> Style {
        Style {
            indent: Some(n),
            ..self
        }
    }

    /// The same style with `ensure_ascii=False`.
    pub const fn unicode(self) -> Style {
        Style {
            ensure_ascii: false,
            ..self
        }
    }

    /// The same style with `sort_keys=True`.
    pub const fn sorted(self) -> Style {
        Style {
            sort_keys: true,
            ..self
        }
    }
}

/// `json.dumps(value, **style)`.
pub fn dumps(value: &Value, style: Style) -> String {
    let mut out = String::new();
    write_value(value, style, 0, &mut out);
    out
}

fn write_value(value: &Value, style: Style, depth: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.is_f64(), n.as_f64()) {
            (true, Some(f)) => out.push_str(&journal::python_float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str(s, style.ensure_ascii, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(style, depth, i == 0, out);
                write_value(item, style, depth + 1, out);
            }
            close(style, depth, out);
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                separator(style, depth, i == 0, out);
                write_str(key, style.ensure_ascii, out);
                out.push_str(": ");
                write_value(item, style, depth + 1, out);
            }
            close(style, depth, out);
            out.push('}');
        }
    }
}

/// What goes before an item of a container at `depth`.
fn separator(style: Style, depth: usize, first: bool, out: &mut String) {
    match style.indent {
        None if !first => out.push_str(", "),
        None => {}
        Some(n) => {
            if !first {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * (depth + 1)));
        }
    }
}

/// What goes before the closing bracket of a non-empty container at `depth`.
fn close(style: Style, depth: usize, out: &mut String) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * depth));
    }
}

/// A string as `json.dumps` writes it.
pub fn write_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ if !ensure_ascii && c >= ' ' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Each expected text is what CPython 3.11's json.dumps printed for the same value.
    #[test]
    fn one_line_ascii() {
        let v = json!({"b": [1, 2.5, "é\u{1F600}"], "a": {}, "c": [], "d": null, "e": true});
        assert_eq!(
            dumps(&v, Style::PYTHON),
            r#"{"b": [1, 2.5, "\u00e9\ud83d\ude00"], "a": {}, "c": [], "d": null, "e": true}"#
        );
    }

    #[test]
    fn indented_unicode() {
        let v = json!({"a": [1, {"b": []}], "c": {}, "t": "é\u{7f}\u{1}"});
        assert_eq!(
            dumps(&v, Style::PYTHON.indent(2).unicode()),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {},\n  \
             \"t\": \"é\u{7f}\\u0001\"\n}"
        );
    }

    #[test]
    fn sorted_keys_in_code_point_order() {
        // U+FF01 sorts before U+1F600 by code point (Python), after it in UTF-16.
        let v = json!({"\u{1F600}": 1, "\u{FF01}": 2, "B": 3, "a": 4});
        assert_eq!(
            dumps(&v, Style::PYTHON.sorted()),
            r#"{"B": 3, "a": 4, "\uff01": 2, "\ud83d\ude00": 1}"#
        );
    }

    #[test]
    fn floats_as_repr() {
        let v = json!([1.0, 5.3e-05, 1e16, 0.1, -0.0, 123456789012345680.0]);
        assert_eq!(
            dumps(&v, Style::PYTHON),
            "[1.0, 5.3e-05, 1e+16, 0.1, -0.0, 1.2345678901234568e+17]"
        );
    }

    #[test]
    fn indent_four_and_nested_empties() {
        let v = json!([[], [[]], {"k": [{}]}]);
        assert_eq!(
            dumps(&v, Style::PYTHON.indent(4)),
            "[\n    [],\n    [\n        []\n    ],\n    {\n        \"k\": [\n            {}\n        ]\n    }\n]"
        );
    }
}
