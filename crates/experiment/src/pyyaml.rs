//! PyYAML's `yaml.dump`, byte for byte.
//!
//! [`to_yaml`] writes a value as PyYAML 6's `yaml.dump` / `yaml.safe_dump` do with their
//! defaults: block style, keys sorted, an indent of 2, sequences in a mapping not indented,
//! lines folded at 80 columns, non-ASCII text double-quoted with escapes, and `...` after a
//! plain scalar document. A string that PyYAML would read back as another type (`yes`,
//! `1.5`, `2020-01-01`, …) is quoted, as PyYAML's implicit resolvers decide
//! ([`plain_is_str`]). Python's `json.dumps` is [`crate::pyjson`]; the tests here check
//! both writers on the same values.
//!
//! It exists for documents whose text must match the reference's byte for byte: the
//! settings file the reference rewrites with `save_settings` and prints with `chaos
//! settings show|get`, and any other document a differential test compares as text.
//!
//! Limits: [`to_yaml`] ports PyYAML's emitter (`yaml/emitter.py`) for the nodes a JSON tree
//! holds and for the default options only: no anchors or aliases, no tags, no flow
//! collections but the empty `[]` and `{}`, no literal or folded block scalars, no explicit
//! `---` document start, and none of the options `allow_unicode`, `sort_keys=False`,
//! `width`, `indent`. It does not know the Python types a JSON tree cannot hold
//! (tuples, sets, dates, bytes).

use crate::pyrepr::py_float;
use crate::Value;

/// PyYAML's `yaml.dump(v, default_flow_style=False)` (what the reference writes with
/// `save_settings` and prints with `settings show`/`get`): block style, keys sorted, an
/// indent of 2, sequences in a mapping not indented, lines folded at 80 columns, non-ASCII
/// text double-quoted with escapes, `...` after a plain scalar document.
///
/// A port of PyYAML 6's emitter (`yaml/emitter.py`), limited to the nodes a settings tree
/// holds: no anchors, no tags, no flow collections but the empty ones.
pub fn to_yaml(v: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        indents: Vec::new(),
        indent: None,
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
    };
    // An implicit document start: nothing is written.
    e.node(
        v,
        NodeContext {
            root: true,
            ..NodeContext::default()
        },
    );
    // Document end, then stream end.
    e.write_indent();
    if e.open_ended {
        e.write_indicator("...", true, false, false);
        e.write_indent();
    }
    e.out
}

const BEST_INDENT: usize = 2;
const BEST_WIDTH: usize = 80;

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_break(c: char) -> bool {
    matches!(
        c,
        '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

#[derive(Debug, Clone, Copy, Default)]
struct NodeContext {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarStyle {
    Plain,
    Single,
    Double,
}

/// PyYAML's `ScalarAnalysis`.
#[derive(Debug, Clone, Copy)]
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

/// PyYAML's `Emitter.analyze_scalar`, with `allow_unicode` off.
fn analyze_scalar(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let len = text.len();
    // Only the block-context verdicts are kept: flow context (and so PyYAML's
    // `flow_indicators`) never holds a scalar here.
    let mut block_indicators =
        text.starts_with(&['-', '-', '-']) || text.starts_with(&['.', '.', '.']);
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = len == 1 || is_blank_or_break(text[1]);
    let mut previous_space = false;
    let mut previous_break = false;
    for (index, &ch) in text.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if (ch == '?' || ch == ':' || ch == '-') && followed_by_whitespace {
                block_indicators = true;
            }
        } else if (ch == ':' && followed_by_whitespace) || (ch == '#' && preceded_by_whitespace) {
            block_indicators = true;
        }
        if is_break(ch) {
            line_breaks = true;
        }
        // Without allow_unicode, anything but printable ASCII and '\n' is special.
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            special_characters = true;
        }
        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == len - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == len - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_break(ch);
        followed_by_whitespace = index + 2 >= len || is_blank_or_break(text[index + 2]);
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// Whether PyYAML reads `text`, written plain, back as a string: none of its implicit
/// resolvers (null, bool, int, float, timestamp, merge, value, yaml) matches it.
pub fn plain_is_str(text: &str) -> bool {
    !(resolves_null(text)
        || resolves_bool(text)
        || resolves_int(text)
        || resolves_float(text)
        || resolves_timestamp(text)
        || matches!(text, "<<" | "=" | "!" | "&" | "*"))
}

fn resolves_null(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

fn resolves_bool(t: &str) -> bool {
    matches!(
        t,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A cursor over ASCII bytes for the resolvers' regular expressions.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, pred: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if pred(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_while(&mut self, pred: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&pred) {}
        self.i - start
    }
    /// `[0-9]` then `[0-9]?`, `max` digits at most.
    fn digits(&mut self, min: usize, max: usize) -> bool {
        let mut n = 0;
        while n < max && self.eat(|c| c.is_ascii_digit()) {
            n += 1;
        }
        n >= min
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn sign(&mut self) {
        self.eat(|c| c == b'-' || c == b'+');
    }
    /// `(?::[0-5]?[0-9])+`
    fn sexagesimal_groups(&mut self) -> bool {
        let mut groups = 0;
        while self.peek() == Some(b':') {
            self.i += 1;
            let a = self.peek();
            let b = self.b.get(self.i + 1).copied();
            match (a, b) {
                (Some(x), Some(y)) if (b'0'..=b'5').contains(&x) && y.is_ascii_digit() => {
                    self.i += 2
                }
                (Some(x), _) if x.is_ascii_digit() => self.i += 1,
                _ => return false,
            }
            groups += 1;
        }
        groups > 0
    }
}

fn digit_or_underscore(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

fn resolves_int(t: &str) -> bool {
    let alternatives: [fn(&mut Cursor) -> bool; 5] = [
        |c| {
            c.sign();
            c.eat(|x| x == b'0')
                && c.eat(|x| x == b'b')
                && c.eat_while(|x| x == b'0' || x == b'1' || x == b'_') > 0
        },
        |c| {
            c.sign();
            c.eat(|x| x == b'0') && c.eat_while(|x| (b'0'..=b'7').contains(&x) || x == b'_') > 0
        },
        |c| {
            c.sign();
            c.eat(|x| x == b'0')
                || (c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                    c.eat_while(digit_or_underscore);
                    true
                })
        },
        |c| {
            c.sign();
            c.eat(|x| x == b'0')
                && c.eat(|x| x == b'x')
                && c.eat_while(|x| x.is_ascii_hexdigit() || x == b'_') > 0
        },
        |c| {
            c.sign();
            c.eat(|x| (b'1'..=b'9').contains(&x)) && {
                c.eat_while(digit_or_underscore);
                c.sexagesimal_groups()
            }
        },
    ];
    full_match(t, &alternatives)
}

fn exponent(c: &mut Cursor) -> bool {
    // `(?:[eE][-+][0-9]+)?`
    if c.eat(|x| x == b'e' || x == b'E') {
        return c.eat(|x| x == b'-' || x == b'+') && c.eat_while(|x| x.is_ascii_digit()) > 0;
    }
    true
}

fn resolves_float(t: &str) -> bool {
    let alternatives: [fn(&mut Cursor) -> bool; 5] = [
        |c| {
            c.sign();
            c.eat(|x| x.is_ascii_digit())
                && {
                    c.eat_while(digit_or_underscore);
                    c.eat(|x| x == b'.')
                }
                && {
                    c.eat_while(digit_or_underscore);
                    exponent(c)
                }
        },
        |c| {
            c.eat(|x| x == b'.') && c.eat(|x| x.is_ascii_digit()) && {
                c.eat_while(digit_or_underscore);
                exponent(c)
            }
        },
        |c| {
            c.sign();
            c.eat(|x| x.is_ascii_digit())
                && {
                    c.eat_while(digit_or_underscore);
                    c.sexagesimal_groups()
                }
                && c.eat(|x| x == b'.')
                && {
                    c.eat_while(digit_or_underscore);
                    true
                }
        },
        |c| {
            c.sign();
            let rest = &c.b[c.i..];
            matches!(rest, b".inf" | b".Inf" | b".INF") && {
                c.i = c.b.len();
                true
            }
        },
        |c| {
            matches!(c.b, b".nan" | b".NaN" | b".NAN") && {
                c.i = c.b.len();
                true
            }
        },
    ];
    full_match(t, &alternatives)
}

fn resolves_timestamp(t: &str) -> bool {
    let alternatives: [fn(&mut Cursor) -> bool; 2] = [
        |c| {
            c.digits(4, 4)
                && c.eat(|x| x == b'-')
                && c.digits(2, 2)
                && c.eat(|x| x == b'-')
                && c.digits(2, 2)
        },
        |c| {
            c.digits(4, 4)
                && c.eat(|x| x == b'-')
                && c.digits(1, 2)
                && c.eat(|x| x == b'-')
                && c.digits(1, 2)
                && (c.eat(|x| x == b'T' || x == b't')
                    || c.eat_while(|x| x == b' ' || x == b'\t') > 0)
                && c.digits(1, 2)
                && c.eat(|x| x == b':')
                && c.digits(2, 2)
                && c.eat(|x| x == b':')
                && c.digits(2, 2)
                && {
                    if c.eat(|x| x == b'.') {
                        c.eat_while(|x| x.is_ascii_digit());
                    }
                    // `(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?`
                    let save = c.i;
                    c.eat_while(|x| x == b' ' || x == b'\t');
                    let zone = c.eat(|x| x == b'Z')
                        || (c.eat(|x| x == b'-' || x == b'+')
                            && c.digits(1, 2)
                            && (c.peek() != Some(b':') || {
                                c.i += 1;
                                c.digits(2, 2)
                            }));
                    if !zone {
                        c.i = save;
                    }
                    true
                }
        },
    ];
    full_match(t, &alternatives)
}

fn full_match(t: &str, alternatives: &[fn(&mut Cursor) -> bool]) -> bool {
    alternatives.iter().any(|alt| {
        let mut c = Cursor {
            b: t.as_bytes(),
            i: 0,
        };
        alt(&mut c) && c.done()
    })
}

/// PyYAML's `represent_float`.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let value = py_float(f).to_lowercase();
    if !value.contains('.') && value.contains('e') {
        value.replacen('e', ".0e", 1)
    } else {
        value
    }
}

/// The text of a scalar and whether its plain form reads back as the same type.
fn scalar_text(v: &Value) -> (String, bool) {
    match v {
        Value::Null => ("null".into(), true),
        Value::Bool(b) => ((if *b { "true" } else { "false" }).into(), true),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => (i.to_string(), true),
            (_, Some(u), _) => (u.to_string(), true),
            (_, _, Some(f)) => (yaml_float(f), true),
            _ => (n.to_string(), true),
        },
        Value::String(s) => (s.clone(), plain_is_str(s)),
        Value::Array(_) | Value::Object(_) => (String::new(), false),
    }
}

struct Emitter {
    out: String,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
}

impl Emitter {
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { BEST_INDENT } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + BEST_INDENT),
            Some(_) => {}
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn node(&mut self, v: &Value, ctx: NodeContext) {
        match v {
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) => {
                let indentless = ctx.mapping && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, NodeContext::default());
                }
                self.pop_indent();
            }
            Value::Object(map) => {
                self.increase_indent(false, false);
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let value_ctx = NodeContext {
                    mapping: true,
                    ..NodeContext::default()
                };
                for (k, item) in entries {
                    self.write_indent();
                    let key: Vec<char> = k.chars().collect();
                    let analysis = analyze_scalar(&key);
                    // `check_simple_key` counts the prepared tag too, written or not: `!!str`.
                    let simple =
                        key.len() + "!!str".len() < 128 && !analysis.empty && !analysis.multiline;
                    if simple {
                        let key_ctx = NodeContext {
                            mapping: true,
                            simple_key: true,
                            ..NodeContext::default()
                        };
                        self.scalar(&key, plain_is_str(k), key_ctx);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.scalar(&key, plain_is_str(k), value_ctx);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(item, value_ctx);
                }
                self.pop_indent();
            }
            scalar => {
                let (text, implicit) = scalar_text(scalar);
                let text: Vec<char> = text.chars().collect();
                self.scalar(&text, implicit, ctx);
            }
        }
    }

    /// An empty collection, the only kind written in flow style: `[]`, `{}`.
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    /// `choose_scalar_style` then `process_scalar` (`expect_scalar`).
    fn scalar(&mut self, text: &[char], implicit: bool, ctx: NodeContext) {
        let a = analyze_scalar(text);
        // Block context only: flow context holds nothing but empty collections.
        let style =
            if implicit && !(ctx.simple_key && (a.empty || a.multiline)) && a.allow_block_plain {
                ScalarStyle::Plain
            } else if a.allow_single_quoted && !(ctx.simple_key && a.multiline) {
                ScalarStyle::Single
            } else {
                ScalarStyle::Double
            };
        self.increase_indent(true, false);
        let split = !ctx.simple_key;
        match style {
            ScalarStyle::Plain => self.write_plain(text, split, ctx.root),
            ScalarStyle::Single => self.write_single_quoted(text, split),
            ScalarStyle::Double => self.write_double_quoted(text, split),
        }
        self.pop_indent();
    }

    fn write(&mut self, data: &[char]) {
        self.column += data.len();
        self.out.extend(data.iter());
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            for _ in self.column..indent {
                self.out.push(' ');
            }
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, data: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(data.unwrap_or('\n'));
    }

    fn write_line_breaks(&mut self, breaks: &[char]) {
        for &br in breaks {
            self.write_line_break(if br == '\n' { None } else { Some(br) });
        }
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(&[' ']);
        }
        self.whitespace = false;
        self.indention = false;
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > BEST_WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                // Unreachable in practice: a scalar with line breaks is never plain.
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    self.write_line_breaks(&text[start..end]);
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                self.write(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > BEST_WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    self.write_line_breaks(&text[start..end]);
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c) || c == '\'') && start < end {
                self.write(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write(&['\'', '\'']);
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let len = text.len();
        let (mut start, mut end) = (0usize, 0usize);
        while end <= len {
            let ch = text.get(end).copied();
            let escape = match ch {
                None => true,
                Some(c) => {
                    matches!(
                        c,
                        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
                    ) || !(' '..='~').contains(&c)
                }
            };
            if escape {
                if start < end {
                    self.write(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    let data = match c {
                        '\0' => "\\0".to_string(),
                        '\u{7}' => "\\a".to_string(),
                        '\u{8}' => "\\b".to_string(),
                        '\t' => "\\t".to_string(),
                        '\n' => "\\n".to_string(),
                        '\u{b}' => "\\v".to_string(),
                        '\u{c}' => "\\f".to_string(),
                        '\r' => "\\r".to_string(),
                        '\u{1b}' => "\\e".to_string(),
                        '"' => "\\\"".to_string(),
                        '\\' => "\\\\".to_string(),
                        '\u{85}' => "\\N".to_string(),
                        '\u{a0}' => "\\_".to_string(),
                        '\u{2028}' => "\\L".to_string(),
                        '\u{2029}' => "\\P".to_string(),
                        c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                        c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                        c => format!("\\U{:08X}", c as u32),
                    };
                    let data: Vec<char> = data.chars().collect();
                    self.write(&data);
                    start = end + 1;
                }
            }
            // Python computes `column + (end - start)` with `start` possibly `end + 1`.
            let pending = end as isize - start as isize;
            if 0 < end
                && end + 1 < len
                && (ch == Some(' ') || start >= end)
                && self.column as isize + pending > BEST_WIDTH as isize
                && split
            {
                let mut data: Vec<char> = if start < end {
                    text[start..end].to_vec()
                } else {
                    Vec::new()
                };
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.write(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text[start] == ' ' {
                    self.write(&['\\']);
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyjson::{dumps, Style};
    use serde_json::json;

    /// (input, yaml.dump(input), yaml.dump({'k': input, 'l': [input]}), yaml.dump({input: 1}),
    /// json.dumps(input, indent=2)), as PyYAML 6.0.4 and Python 3.11 write them.
    #[rustfmt::skip]
    const STRING_CASES: &[(&str, &str, &str, &str, &str)] = &[
        ("", "''\n", "k: ''\nl:\n- ''\n", "? ''\n: 1\n", "\"\""),
        ("hello world", "hello world\n...\n", "k: hello world\nl:\n- hello world\n", "hello world: 1\n", "\"hello world\""),
        ("yes", "'yes'\n", "k: 'yes'\nl:\n- 'yes'\n", "'yes': 1\n", "\"yes\""),
        ("no", "'no'\n", "k: 'no'\nl:\n- 'no'\n", "'no': 1\n", "\"no\""),
        ("On", "'On'\n", "k: 'On'\nl:\n- 'On'\n", "'On': 1\n", "\"On\""),
        ("null", "'null'\n", "k: 'null'\nl:\n- 'null'\n", "'null': 1\n", "\"null\""),
        ("~", "'~'\n", "k: '~'\nl:\n- '~'\n", "'~': 1\n", "\"~\""),
        ("1", "'1'\n", "k: '1'\nl:\n- '1'\n", "'1': 1\n", "\"1\""),
        ("1.5", "'1.5'\n", "k: '1.5'\nl:\n- '1.5'\n", "'1.5': 1\n", "\"1.5\""),
        ("0x1F", "'0x1F'\n", "k: '0x1F'\nl:\n- '0x1F'\n", "'0x1F': 1\n", "\"0x1F\""),
        ("1_000", "'1_000'\n", "k: '1_000'\nl:\n- '1_000'\n", "'1_000': 1\n", "\"1_000\""),
        ("1:30", "'1:30'\n", "k: '1:30'\nl:\n- '1:30'\n", "'1:30': 1\n", "\"1:30\""),
        ("2020-01-01", "'2020-01-01'\n", "k: '2020-01-01'\nl:\n- '2020-01-01'\n", "'2020-01-01': 1\n", "\"2020-01-01\""),
        ("2020-1-1 10:00:00", "'2020-1-1 10:00:00'\n", "k: '2020-1-1 10:00:00'\nl:\n- '2020-1-1 10:00:00'\n", "'2020-1-1 10:00:00': 1\n", "\"2020-1-1 10:00:00\""),
        (".inf", "'.inf'\n", "k: '.inf'\nl:\n- '.inf'\n", "'.inf': 1\n", "\".inf\""),
        ("-.Inf", "'-.Inf'\n", "k: '-.Inf'\nl:\n- '-.Inf'\n", "'-.Inf': 1\n", "\"-.Inf\""),
        (".nan", "'.nan'\n", "k: '.nan'\nl:\n- '.nan'\n", "'.nan': 1\n", "\".nan\""),
        ("=", "'='\n", "k: '='\nl:\n- '='\n", "'=': 1\n", "\"=\""),
        ("<<", "'<<'\n", "k: '<<'\nl:\n- '<<'\n", "'<<': 1\n", "\"<<\""),
        ("-", "'-'\n", "k: '-'\nl:\n- '-'\n", "'-': 1\n", "\"-\""),
        ("- a", "'- a'\n", "k: '- a'\nl:\n- '- a'\n", "'- a': 1\n", "\"- a\""),
        ("-a", "-a\n...\n", "k: -a\nl:\n- -a\n", "-a: 1\n", "\"-a\""),
        ("a: b", "'a: b'\n", "k: 'a: b'\nl:\n- 'a: b'\n", "'a: b': 1\n", "\"a: b\""),
        ("a:b", "a:b\n...\n", "k: a:b\nl:\n- a:b\n", "a:b: 1\n", "\"a:b\""),
        ("a:", "'a:'\n", "k: 'a:'\nl:\n- 'a:'\n", "'a:': 1\n", "\"a:\""),
        ("#x", "'#x'\n", "k: '#x'\nl:\n- '#x'\n", "'#x': 1\n", "\"#x\""),
        ("a #b", "'a #b'\n", "k: 'a #b'\nl:\n- 'a #b'\n", "'a #b': 1\n", "\"a #b\""),
        ("a#b", "a#b\n...\n", "k: a#b\nl:\n- a#b\n", "a#b: 1\n", "\"a#b\""),
        (" lead", "' lead'\n", "k: ' lead'\nl:\n- ' lead'\n", "' lead': 1\n", "\" lead\""),
        ("trail ", "'trail '\n", "k: 'trail '\nl:\n- 'trail '\n", "'trail ': 1\n", "\"trail \""),
        ("multi\nline", "'multi\n\n  line'\n", "k: 'multi\n\n  line'\nl:\n- 'multi\n\n  line'\n", "? 'multi\n\n  line'\n: 1\n", "\"multi\\nline\""),
        ("multi \nline", "\"multi \\nline\"\n", "k: \"multi \\nline\"\nl:\n- \"multi \\nline\"\n", "? \"multi \\nline\"\n: 1\n", "\"multi \\nline\""),
        ("a\n b", "\"a\\n b\"\n", "k: \"a\\n b\"\nl:\n- \"a\\n b\"\n", "? \"a\\n b\"\n: 1\n", "\"a\\n b\""),
        ("\ttab", "\"\\ttab\"\n", "k: \"\\ttab\"\nl:\n- \"\\ttab\"\n", "\"\\ttab\": 1\n", "\"\\ttab\""),
        ("caf\u{e9}", "\"caf\\xE9\"\n", "k: \"caf\\xE9\"\nl:\n- \"caf\\xE9\"\n", "\"caf\\xE9\": 1\n", "\"caf\\u00e9\""),
        ("emoji \u{1f600}", "\"emoji \\U0001F600\"\n", "k: \"emoji \\U0001F600\"\nl:\n- \"emoji \\U0001F600\"\n", "\"emoji \\U0001F600\": 1\n", "\"emoji \\ud83d\\ude00\""),
        ("it's", "it's\n...\n", "k: it's\nl:\n- it's\n", "it's: 1\n", "\"it's\""),
        ("\"q\"", "'\"q\"'\n", "k: '\"q\"'\nl:\n- '\"q\"'\n", "'\"q\"': 1\n", "\"\\\"q\\\"\""),
        ("back\\slash", "back\\slash\n...\n", "k: back\\slash\nl:\n- back\\slash\n", "back\\slash: 1\n", "\"back\\\\slash\""),
        ("---x", "'---x'\n", "k: '---x'\nl:\n- '---x'\n", "'---x': 1\n", "\"---x\""),
        ("...", "'...'\n", "k: '...'\nl:\n- '...'\n", "'...': 1\n", "\"...\""),
        ("?", "'?'\n", "k: '?'\nl:\n- '?'\n", "'?': 1\n", "\"?\""),
        ("? x", "'? x'\n", "k: '? x'\nl:\n- '? x'\n", "'? x': 1\n", "\"? x\""),
        ("?x", "?x\n...\n", "k: ?x\nl:\n- ?x\n", "?x: 1\n", "\"?x\""),
        (":x", ":x\n...\n", "k: :x\nl:\n- :x\n", ":x: 1\n", "\":x\""),
        ("@x", "'@x'\n", "k: '@x'\nl:\n- '@x'\n", "'@x': 1\n", "\"@x\""),
        ("`x", "'`x'\n", "k: '`x'\nl:\n- '`x'\n", "'`x': 1\n", "\"`x\""),
        ("%x", "'%x'\n", "k: '%x'\nl:\n- '%x'\n", "'%x': 1\n", "\"%x\""),
        ("a,b", "a,b\n...\n", "k: a,b\nl:\n- a,b\n", "a,b: 1\n", "\"a,b\""),
        ("[x]", "'[x]'\n", "k: '[x]'\nl:\n- '[x]'\n", "'[x]': 1\n", "\"[x]\""),
        ("{x}", "'{x}'\n", "k: '{x}'\nl:\n- '{x}'\n", "'{x}': 1\n", "\"{x}\""),
        ("*x", "'*x'\n", "k: '*x'\nl:\n- '*x'\n", "'*x': 1\n", "\"*x\""),
        ("&x", "'&x'\n", "k: '&x'\nl:\n- '&x'\n", "'&x': 1\n", "\"&x\""),
        ("!x", "'!x'\n", "k: '!x'\nl:\n- '!x'\n", "'!x': 1\n", "\"!x\""),
        ("|x", "'|x'\n", "k: '|x'\nl:\n- '|x'\n", "'|x': 1\n", "\"|x\""),
        (">x", "'>x'\n", "k: '>x'\nl:\n- '>x'\n", "'>x': 1\n", "\">x\""),
        ("'x", "'''x'\n", "k: '''x'\nl:\n- '''x'\n", "'''x': 1\n", "\"'x\""),
        ("x\n", "'x\n\n  '\n", "k: 'x\n\n  '\nl:\n- 'x\n\n  '\n", "? 'x\n\n  '\n: 1\n", "\"x\\n\""),
        ("\nx", "'\n\n  x'\n", "k: '\n\n  x'\nl:\n- '\n\n  x'\n", "? '\n\n  x'\n: 1\n", "\"\\nx\""),
        ("a\n\nb", "'a\n\n\n  b'\n", "k: 'a\n\n\n  b'\nl:\n- 'a\n\n\n  b'\n", "? 'a\n\n\n  b'\n: 1\n", "\"a\\n\\nb\""),
        ("\u{85}", "\"\\N\"\n", "k: \"\\N\"\nl:\n- \"\\N\"\n", "? \"\\N\"\n: 1\n", "\"\\u0085\""),
        ("\u{2028}", "\"\\L\"\n", "k: \"\\L\"\nl:\n- \"\\L\"\n", "? \"\\L\"\n: 1\n", "\"\\u2028\""),
        ("\u{0}", "\"\\0\"\n", "k: \"\\0\"\nl:\n- \"\\0\"\n", "\"\\0\": 1\n", "\"\\u0000\""),
        ("\u{7f}", "\"\\x7F\"\n", "k: \"\\x7F\"\nl:\n- \"\\x7F\"\n", "\"\\x7F\": 1\n", "\"\\u007f\""),
        ("0o17", "0o17\n...\n", "k: 0o17\nl:\n- 0o17\n", "0o17: 1\n", "\"0o17\""),
        ("017", "'017'\n", "k: '017'\nl:\n- '017'\n", "'017': 1\n", "\"017\""),
        ("09", "09\n...\n", "k: 09\nl:\n- 09\n", "09: 1\n", "\"09\""),
        ("+1", "'+1'\n", "k: '+1'\nl:\n- '+1'\n", "'+1': 1\n", "\"+1\""),
        ("1e5", "1e5\n...\n", "k: 1e5\nl:\n- 1e5\n", "1e5: 1\n", "\"1e5\""),
        ("1.0e+5", "'1.0e+5'\n", "k: '1.0e+5'\nl:\n- '1.0e+5'\n", "'1.0e+5': 1\n", "\"1.0e+5\""),
        ("1.e5", "1.e5\n...\n", "k: 1.e5\nl:\n- 1.e5\n", "1.e5: 1\n", "\"1.e5\""),
        ("._", "._\n...\n", "k: ._\nl:\n- ._\n", "._: 1\n", "\"._\""),
        ("0b101", "'0b101'\n", "k: '0b101'\nl:\n- '0b101'\n", "'0b101': 1\n", "\"0b101\""),
        ("Yes please", "Yes please\n...\n", "k: Yes please\nl:\n- Yes please\n", "Yes please: 1\n", "\"Yes please\""),
        ("a\tb", "\"a\\tb\"\n", "k: \"a\\tb\"\nl:\n- \"a\\tb\"\n", "\"a\\tb\": 1\n", "\"a\\tb\""),
        ("\u{feff}", "\"\\uFEFF\"\n", "k: \"\\uFEFF\"\nl:\n- \"\\uFEFF\"\n", "\"\\uFEFF\": 1\n", "\"\\ufeff\""),
        ("word word word word word word word word word word word word word word word word word word word word word word word word word ", "'word word word word word word word word word word word word word word word word word\n  word word word word word word word word '\n", "k: 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word '\nl:\n- 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word '\n", "? 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word '\n: 1\n", "\"word word word word word word word word word word word word word word word word word word word word word word word word word \""),
        ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n...\n", "k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nl:\n- xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: 1\n", "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""),
        ("it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's end\n", "'it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s\n  it''s it''s it''s it''s it''s it''s end\n\n  '\n", "k: 'it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s\n  it''s it''s it''s it''s it''s it''s it''s end\n\n  '\nl:\n- 'it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s\n  it''s it''s it''s it''s it''s it''s end\n\n  '\n", "? 'it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s\n  it''s it''s it''s it''s it''s it''s end\n\n  '\n: 1\n", "\"it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's it's end\\n\""),
        ("caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} ", "\"caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 \"\n", "k: \"caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 \"\nl:\n- \"caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 \"\n", "? \"caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9\\\n  \\ caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 caf\\xE9 \"\n: 1\n", "\"caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 caf\\u00e9 \""),
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb cc", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb\n  cc\n...\n", "k: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  bb cc\nl:\n- aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb\n  cc\n", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb cc: 1\n", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bb cc\""),
        ("\"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" ", "'\"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\"\n  \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" '\n", "k: '\"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\"\n  \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" '\nl:\n- '\"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\"\n  \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" '\n", "'\"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" \"q\" ': 1\n", "\"\\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \\\"q\\\" \""),
    ];

    /// (JSON input, yaml.dump, json.dumps(indent=2), str()), as the reference writes them.
    #[rustfmt::skip]
    const VALUE_CASES: &[(&str, &str, &str, &str)] = &[
        ("1e+17", "1.0e+17\n...\n", "1e+17", "1e+17"),
        ("1e-05", "1.0e-05\n...\n", "1e-05", "1e-05"),
        ("0.1", "0.1\n...\n", "0.1", "0.1"),
        ("-0.0", "-0.0\n...\n", "-0.0", "-0.0"),
        ("1e+16", "1.0e+16\n...\n", "1e+16", "1e+16"),
        ("1.2345678901234568e+17", "1.2345678901234568e+17\n...\n", "1.2345678901234568e+17", "1.2345678901234568e+17"),
        ("3.0", "3.0\n...\n", "3.0", "3.0"),
        ("1.5e+300", "1.5e+300\n...\n", "1.5e+300", "1.5e+300"),
        ("-5", "-5\n...\n", "-5", "-5"),
        ("0", "0\n...\n", "0", "0"),
        ("9223372036854775808", "9223372036854775808\n...\n", "9223372036854775808", "9223372036854775808"),
        ("18446744073709551615", "18446744073709551615\n...\n", "18446744073709551615", "18446744073709551615"),
        ("-9223372036854775808", "-9223372036854775808\n...\n", "-9223372036854775808", "-9223372036854775808"),
        ("true", "true\n...\n", "true", "True"),
        ("false", "false\n...\n", "false", "False"),
        ("null", "null\n...\n", "null", "None"),
        ("1000000000000000.0", "1000000000000000.0\n...\n", "1000000000000000.0", "1000000000000000.0"),
        ("1.25e-07", "1.25e-07\n...\n", "1.25e-07", "1.25e-07"),
        ("5e-324", "5.0e-324\n...\n", "5e-324", "5e-324"),
        ("{\"b\": [], \"a\": {}, \"c\": [[1, 2], [], {\"x\": null}], \"d\": [{\"a\": 1, \"b\": [1]}]}", "a: {}\nb: []\nc:\n- - 1\n  - 2\n- []\n- x: null\nd:\n- a: 1\n  b:\n  - 1\n", "{\n  \"b\": [],\n  \"a\": {},\n  \"c\": [\n    [\n      1,\n      2\n    ],\n    [],\n    {\n      \"x\": null\n    }\n  ],\n  \"d\": [\n    {\n      \"a\": 1,\n      \"b\": [\n        1\n      ]\n    }\n  ]\n}", "{'b': [], 'a': {}, 'c': [[1, 2], [], {'x': None}], 'd': [{'a': 1, 'b': [1]}]}"),
        ("[[1, 2], [3]]", "- - 1\n  - 2\n- - 3\n", "[\n  [\n    1,\n    2\n  ],\n  [\n    3\n  ]\n]", "[[1, 2], [3]]"),
        ("[]", "[]\n", "[]", "[]"),
        ("{}", "{}\n", "{}", "{}"),
        ("[{}]", "- {}\n", "[\n  {}\n]", "[{}]"),
        ("[[]]", "- []\n", "[\n  []\n]", "[[]]"),
        ("{\"z\": {\"y\": {\"x\": [{\"w\": \"v\", \"a\": [{\"q\": 1}]}]}}}", "z:\n  y:\n    x:\n    - a:\n      - q: 1\n      w: v\n", "{\n  \"z\": {\n    \"y\": {\n      \"x\": [\n        {\n          \"w\": \"v\",\n          \"a\": [\n            {\n              \"q\": 1\n            }\n          ]\n        }\n      ]\n    }\n  }\n}", "{'z': {'y': {'x': [{'w': 'v', 'a': [{'q': 1}]}]}}}"),
        ("{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": 1, \"\": 2, \"a\\nb\": 3, \"x\": {\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": [1]}}", "? ''\n: 2\n? 'a\n\n  b'\n: 3\n? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n: 1\nx:\n  ? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n  : - 1\n", "{\n  \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": 1,\n  \"\": 2,\n  \"a\\nb\": 3,\n  \"x\": {\n    \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": [\n      1\n    ]\n  }\n}", "{'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 1, '': 2, 'a\\nb': 3, 'x': {'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': [1]}}"),
        ("[{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": 1}]", "- ? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n  : 1\n", "[\n  {\n    \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\": 1\n  }\n]", "[{'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 1}]"),
        ("[\"a\", {\"b\": \"c\"}]", "- a\n- b: c\n", "[\n  \"a\",\n  {\n    \"b\": \"c\"\n  }\n]", "['a', {'b': 'c'}]"),
        ("{\"list\": [[{\"a\": 1}]]}", "list:\n- - a: 1\n", "{\n  \"list\": [\n    [\n      {\n        \"a\": 1\n      }\n    ]\n  ]\n}", "{'list': [[{'a': 1}]]}"),
    ];

    #[test]
    fn strings_are_written_as_pyyaml_and_json_write_them() {
        for (input, dump, map, key, as_json) in STRING_CASES {
            let v = Value::String(input.to_string());
            assert_eq!(to_yaml(&v), *dump, "yaml.dump({input:?})");
            let m = json!({"k": input, "l": [input]});
            assert_eq!(
                to_yaml(&m),
                *map,
                "yaml.dump({{'k': {input:?}, 'l': [...]}})"
            );
            let mut k = serde_json::Map::new();
            k.insert(input.to_string(), json!(1));
            assert_eq!(
                to_yaml(&Value::Object(k)),
                *key,
                "yaml.dump({{{input:?}: 1}})"
            );
            assert_eq!(
                dumps(&v, Style::PYTHON.indent(2)),
                *as_json,
                "json.dumps({input:?})"
            );
        }
    }

    #[test]
    fn numbers_and_structures_are_written_as_the_reference_writes_them() {
        for (input, dump, as_json, as_str) in VALUE_CASES {
            let v: Value = serde_json::from_str(input).expect("test input is JSON");
            assert_eq!(to_yaml(&v), *dump, "yaml.dump({input})");
            assert_eq!(
                dumps(&v, Style::PYTHON.indent(2)),
                *as_json,
                "json.dumps({input})"
            );
            assert_eq!(crate::pyrepr::py_str(&v), *as_str, "str({input})");
        }
    }

    #[test]
    fn keys_of_123_characters_or_more_are_written_as_complex_keys() {
        // PyYAML counts the (unwritten) `!!str` tag into the 128-character limit.
        let key = |n: usize| json!({ "k".repeat(n): 1 });
        assert_eq!(to_yaml(&key(122)), format!("{}: 1\n", "k".repeat(122)));
        assert_eq!(to_yaml(&key(123)), format!("? {}\n: 1\n", "k".repeat(123)));
    }

    #[test]
    fn plain_scalars_that_pyyaml_would_read_as_another_type_are_quoted() {
        let not_str = [
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2002-12-14",
            "2001-12-14  21:59:43",
            "2001-12-14 21:59:43 Z",
            "1_0",
            "0x_",
            "190:20:30",
            "190:20:30.15",
            "6.8523015e+5",
            "685.230_15e+03",
            "+.inf",
            "-.inf",
            ".NaN",
            "0_",
            "-0",
            "+0x1F",
            "1:5",
            "1:05:59",
            ".5",
            ".5e+3",
            "1.",
            "1.5e-3",
            "1__",
            "00",
            "0.",
            "",
            "~",
            "NULL",
            "off",
            "<<",
            "=",
        ];
        for t in not_str {
            assert!(!plain_is_str(t), "{t:?} resolves to a non-string");
        }
        let str_ = [
            "2002-1-14",
            "2001-12-14 21:59:43+5:3",
            "+.nan",
            "0b",
            "0b2",
            "1:60",
            "+1.5e3",
            "_1",
            "0o7",
            "-.",
            "1e+5",
            "nul",
            "Off!",
        ];
        for t in str_ {
            assert!(plain_is_str(t), "{t:?} resolves to a string");
        }
    }
}
