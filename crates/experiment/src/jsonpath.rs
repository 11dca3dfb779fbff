//! The jsonpath2 (0.4.5) dialect used by the reference's `jsonpath` tolerance. This is
//! not RFC 9535. What matters:
//!
//! - Only double-quoted strings (`$["a b"]`), and their escapes are **not** decoded
//!   (`"a\"b"` names the key `a\"b`, backslash included).
//! - A filter `[?(expr)]` tests the **current** node, not its children:
//!   `$.items[?(@.x = 1)]` tests the list itself; `$.items.*[?(@.x = 1)]` tests each item.
//! - Equality is `=` (`==` is a syntax error), `!=`; `< <= > >=` hold only between numbers.
//!   A comparison holds when **any** pair of matched values satisfies it (so a missing
//!   field makes both `=` and `!=` false).
//! - `and` binds **looser** than `or` (`a or b and c` is `(a or b) and c`); `not`; parens.
//! - `and`, `or`, `not`, `true`, `false`, `null` are keywords and cannot be bare names.
//! - Functions: `length()`, `keys()`, `values()`, `entries()`, `charAt(i)`,
//!   `substring(i[, j])`, as `.f()` or `[f()]`, computed on the current node.
//! - `[$.x]` / `[@.x]` index by the matched value (an int indexes a list, a string a map).
//! - Recursive descent `..` visits the node itself, then its children depth-first.

use std::borrow::Cow;

use crate::pyrepr::{is_py_int, py_eq, py_num, py_num_cmp, py_truthy, PyNum};
use crate::Value;

/// How deep parsing and matching may nest before giving up (the reference would hit
/// Python's recursion limit somewhere around there).
const MAX_DEPTH: usize = 256;

/// A compiled jsonpath2 expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    next: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Terminal,
    Subscript(Vec<Sub>, Box<Node>),
    /// `..` : wraps a `Subscript` node.
    Recursive(Box<Node>),
}

/// `$...` or `@...` inside a filter, an index or a function argument.
#[derive(Debug, Clone, PartialEq)]
struct SubPath {
    root: bool,
    next: Node,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    CharAt,
    Entries,
    Keys,
    Length,
    Substring,
    Values,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Path(SubPath),
    Lit(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Sub {
    Key(String),
    Index(i128),
    Slice(Option<i128>, Option<i128>, Option<i128>),
    Wildcard,
    Filter(Expr),
    ByPath(SubPath),
    Call(Func, Vec<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Op, Operand, Operand),
    Some(Operand),
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    At,
    DotDot,
    Dollar,
    Dot,
    Star,
    And,
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
    Ne,
    Not,
    Or,
    True,
    False,
    Null,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Colon,
    Comma,
    LParen,
    RParen,
    Question,
    Id(String),
    Str(String),
    Num(String),
}

fn tok_name(t: &Tok) -> String {
    match t {
        Tok::Id(s) | Tok::Num(s) => s.clone(),
        Tok::Str(s) => format!("\"{s}\""),
        other => {
            let s = match other {
                Tok::At => "@",
                Tok::DotDot => "..",
                Tok::Dollar => "$",
                Tok::Dot => ".",
                Tok::Star => "*",
                Tok::And => "and",
                Tok::Eq => "=",
                Tok::Ge => ">=",
                Tok::Gt => ">",
                Tok::Le => "<=",
                Tok::Lt => "<",
                Tok::Ne => "!=",
                Tok::Not => "not",
                Tok::Or => "or",
                Tok::True => "true",
                Tok::False => "false",
                Tok::Null => "null",
                Tok::LBrace => "{",
                Tok::RBrace => "}",
                Tok::LBracket => "[",
                Tok::RBracket => "]",
                Tok::Colon => ":",
                Tok::Comma => ",",
                Tok::LParen => "(",
                Tok::RParen => ")",
                _ => "?",
            };
            s.to_string()
        }
    }
}

/// Length of a NUMBER token at the start of `s` (ANTLR longest match), 0 if none.
fn number_len(s: &[char]) -> usize {
    let mut i = 0;
    if s.first() == Some(&'-') {
        i += 1;
    }
    match s.get(i) {
        Some('0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            while s.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        _ => return 0,
    }
    if s.get(i) == Some(&'.') && s.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i += 1;
        while s.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
    }
    if matches!(s.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some('+' | '-')) {
            j += 1;
        }
        match s.get(j) {
            Some('0') => i = j + 1,
            Some(c) if c.is_ascii_digit() => {
                while s.get(j).is_some_and(|c| c.is_ascii_digit()) {
                    j += 1;
                }
                i = j;
            }
            _ => {}
        }
    }
    i
}

/// Length of a STRING token (including quotes), or an error text.
fn string_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    loop {
        match s.get(i)? {
            '"' => return Some(i + 1),
            '\\' => match s.get(i + 1)? {
                '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => i += 2,
                'u' if (2..6).all(|k| s.get(i + k).is_some_and(|c| c.is_ascii_hexdigit())) => {
                    i += 6
                }
                _ => return None,
            },
            c if (*c as u32) < 0x20 => return None,
            _ => i += 1,
        }
    }
}

fn lex(path: &str) -> Result<Vec<(Tok, usize)>, String> {
    let chars: Vec<char> = path.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let rest = &chars[i..];
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            i += 1;
            continue;
        }
        let two: String = rest.iter().take(2).collect();
        let (tok, len) = match (c, two.as_str()) {
            (_, "..") => (Tok::DotDot, 2),
            (_, ">=") => (Tok::Ge, 2),
            (_, "<=") => (Tok::Le, 2),
            (_, "!=") => (Tok::Ne, 2),
            ('@', _) => (Tok::At, 1),
            ('$', _) => (Tok::Dollar, 1),
            ('.', _) => (Tok::Dot, 1),
            ('*', _) => (Tok::Star, 1),
            ('=', _) => (Tok::Eq, 1),
            ('>', _) => (Tok::Gt, 1),
            ('<', _) => (Tok::Lt, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (':', _) => (Tok::Colon, 1),
            (',', _) => (Tok::Comma, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('?', _) => (Tok::Question, 1),
            ('"', _) => match string_len(rest) {
                Some(n) => (Tok::Str(rest[1..n - 1].iter().collect()), n),
                None => return Err(format!("line 1:{i} token recognition error at: '{c}'")),
            },
            (c, _) if c.is_ascii_alphabetic() || c == '_' => {
                let n = rest
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .count();
                let word: String = rest[..n].iter().collect();
                let tok = match word.as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    _ => Tok::Id(word),
                };
                (tok, n)
            }
            _ => match number_len(rest) {
                0 => return Err(format!("line 1:{i} token recognition error at: '{c}'")),
                n => (Tok::Num(rest[..n].iter().collect()), n),
            },
        };
        out.push((tok, i));
        i += len;
    }
    Ok(out)
}

// ---------------------------------------------------------------- parser

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

type PResult<T> = Result<T, String>;

fn parse_int(text: &str) -> Option<i128> {
    if text.contains(['.', 'e', 'E']) {
        return None;
    }
    // Saturate: indices this large never match anything anyway.
    match text.parse::<i128>() {
        Ok(i) => Some(i.clamp(-(1i128 << 100), 1i128 << 100)),
        Err(_) => Some(if text.starts_with('-') {
            -(1i128 << 100)
        } else {
            1i128 << 100
        }),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn error<T>(&self, what: &str) -> PResult<T> {
        match self.toks.get(self.pos) {
            Some((t, col)) => Err(format!("line 1:{col} {what} at input '{}'", tok_name(t))),
            None => Err(format!("line 1:{} {what} at input '<EOF>'", self.end)),
        }
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: &Tok) -> PResult<()> {
        if self.eat(t) {
            Ok(())
        } else {
            self.error(&format!("missing '{}'", tok_name(t)))
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("JSON path nests too deeply".to_string());
        }
        Ok(())
    }

    fn starts_subscript(&self) -> bool {
        matches!(self.peek(), Some(Tok::DotDot | Tok::Dot | Tok::LBracket))
    }

    /// subscript? — returns Terminal when absent.
    fn opt_subscript(&mut self) -> PResult<Node> {
        if self.starts_subscript() {
            self.subscript()
        } else {
            Ok(Node::Terminal)
        }
    }

    fn subscript(&mut self) -> PResult<Node> {
        self.enter()?;
        let node = match self.peek() {
            Some(Tok::DotDot) => {
                self.pos += 1;
                let subs = if self.peek() == Some(&Tok::LBracket) {
                    self.subscriptables()?
                } else {
                    vec![self.bareword()?]
                };
                let next = self.opt_subscript()?;
                Node::Recursive(Box::new(Node::Subscript(subs, Box::new(next))))
            }
            Some(Tok::Dot) => {
                self.pos += 1;
                let sub = self.bareword()?;
                let next = self.opt_subscript()?;
                Node::Subscript(vec![sub], Box::new(next))
            }
            Some(Tok::LBracket) => {
                let subs = self.subscriptables()?;
                let next = self.opt_subscript()?;
                Node::Subscript(subs, Box::new(next))
            }
            _ => return self.error("mismatched input"),
        };
        self.depth -= 1;
        Ok(node)
    }

    fn bareword(&mut self) -> PResult<Sub> {
        match self.peek().cloned() {
            Some(Tok::Star) => {
                self.pos += 1;
                Ok(Sub::Wildcard)
            }
            Some(Tok::Id(name)) => {
                self.pos += 1;
                if self.peek() == Some(&Tok::LParen) {
                    let args = self.arguments()?;
                    make_call(&name, args)
                } else {
                    Ok(Sub::Key(name))
                }
            }
            _ => self.error("mismatched input"),
        }
    }

    fn arguments(&mut self) -> PResult<Vec<Operand>> {
        self.expect(&Tok::LParen)?;
        let mut args = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.operand()?);
            if self.eat(&Tok::Comma) {
                continue;
            }
            self.expect(&Tok::RParen)?;
            return Ok(args);
        }
    }

    fn subscriptables(&mut self) -> PResult<Vec<Sub>> {
        self.expect(&Tok::LBracket)?;
        let mut subs = vec![self.subscriptable()?];
        while self.eat(&Tok::Comma) {
            subs.push(self.subscriptable()?);
        }
        self.expect(&Tok::RBracket)?;
        Ok(subs)
    }

    fn int_token(&mut self) -> PResult<Option<i128>> {
        if let Some(Tok::Num(text)) = self.peek().cloned() {
            self.pos += 1;
            match parse_int(&text) {
                Some(i) => Ok(Some(i)),
                None => {
                    self.pos -= 1;
                    self.error("rule subscriptable failed predicate")
                }
            }
        } else {
            Ok(None)
        }
    }

    /// sliceable, after an optional start; `self.peek()` is ':'.
    fn slice_rest(&mut self, start: Option<i128>) -> PResult<Sub> {
        self.expect(&Tok::Colon)?;
        let end = self.int_token()?;
        let step = if self.eat(&Tok::Colon) {
            self.int_token()?
        } else {
            None
        };
        Ok(Sub::Slice(start, end, step))
    }

    fn subscriptable(&mut self) -> PResult<Sub> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(Sub::Key(s))
            }
            Some(Tok::Num(_)) => {
                let i = self.int_token()?;
                if self.peek() == Some(&Tok::Colon) {
                    self.slice_rest(i)
                } else {
                    Ok(Sub::Index(i.unwrap_or(0)))
                }
            }
            Some(Tok::Colon) => self.slice_rest(None),
            Some(Tok::Star) => {
                self.pos += 1;
                Ok(Sub::Wildcard)
            }
            Some(Tok::Question) => {
                self.pos += 1;
                self.expect(&Tok::LParen)?;
                let e = self.expression()?;
                self.expect(&Tok::RParen)?;
                Ok(Sub::Filter(e))
            }
            Some(Tok::Dollar | Tok::At) => Ok(Sub::ByPath(self.sub_path()?)),
            Some(Tok::Id(name)) => {
                self.pos += 1;
                let args = self.arguments()?;
                make_call(&name, args)
            }
            _ => self.error("no viable alternative"),
        }
    }

    fn sub_path(&mut self) -> PResult<SubPath> {
        let root = match self.peek() {
            Some(Tok::Dollar) => true,
            Some(Tok::At) => false,
            _ => return self.error("mismatched input"),
        };
        self.pos += 1;
        let next = self.opt_subscript()?;
        Ok(SubPath { root, next })
    }

    fn operand(&mut self) -> PResult<Operand> {
        match self.peek() {
            Some(Tok::Dollar | Tok::At) => Ok(Operand::Path(self.sub_path()?)),
            _ => Ok(Operand::Lit(self.value()?)),
        }
    }

    fn value(&mut self) -> PResult<Value> {
        self.enter()?;
        let v = match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Value::String(s)
            }
            Some(Tok::Num(text)) => {
                self.pos += 1;
                number_value(&text)
            }
            Some(Tok::True) => {
                self.pos += 1;
                Value::Bool(true)
            }
            Some(Tok::False) => {
                self.pos += 1;
                Value::Bool(false)
            }
            Some(Tok::Null) => {
                self.pos += 1;
                Value::Null
            }
            Some(Tok::LBracket) => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat(&Tok::RBracket) {
                    loop {
                        items.push(self.value()?);
                        if self.eat(&Tok::Comma) {
                            continue;
                        }
                        self.expect(&Tok::RBracket)?;
                        break;
                    }
                }
                Value::Array(items)
            }
            Some(Tok::LBrace) => {
                self.pos += 1;
                let mut map = crate::Map::new();
                if !self.eat(&Tok::RBrace) {
                    loop {
                        let key = match self.peek().cloned() {
                            Some(Tok::Str(s)) => {
                                self.pos += 1;
                                s
                            }
                            _ => return self.error("mismatched input"),
                        };
                        self.expect(&Tok::Colon)?;
                        let v = self.value()?;
                        map.insert(key, v);
                        if self.eat(&Tok::Comma) {
                            continue;
                        }
                        self.expect(&Tok::RBrace)?;
                        break;
                    }
                }
                Value::Object(map)
            }
            _ => return self.error("no viable alternative"),
        };
        self.depth -= 1;
        Ok(v)
    }

    fn expression(&mut self) -> PResult<Expr> {
        self.and_expr()
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let mut parts = vec![self.or_expr()?];
        while self.eat(&Tok::And) {
            parts.push(self.or_expr()?);
        }
        self.depth -= 1;
        Ok(flatten(parts, true))
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut parts = vec![self.not_expr()?];
        while self.eat(&Tok::Or) {
            parts.push(self.not_expr()?);
        }
        Ok(flatten(parts, false))
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let e = match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                match self.not_expr()? {
                    Expr::Not(inner) => *inner,
                    other => Expr::Not(Box::new(other)),
                }
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.expression()?;
                self.expect(&Tok::RParen)?;
                e
            }
            _ => {
                let left = self.operand()?;
                let op = match self.peek() {
                    Some(Tok::Eq) => Some(Op::Eq),
                    Some(Tok::Ne) => Some(Op::Ne),
                    Some(Tok::Lt) => Some(Op::Lt),
                    Some(Tok::Le) => Some(Op::Le),
                    Some(Tok::Gt) => Some(Op::Gt),
                    Some(Tok::Ge) => Some(Op::Ge),
                    _ => None,
                };
                match op {
                    Some(op) => {
                        self.pos += 1;
                        let right = self.operand()?;
                        Expr::Cmp(op, left, right)
                    }
                    None => Expr::Some(left),
                }
            }
        };
        self.depth -= 1;
        Ok(e)
    }
}

/// jsonpath2 merges nested `and`s (and nested `or`s) into one variadic expression.
fn flatten(parts: Vec<Expr>, is_and: bool) -> Expr {
    if parts.len() == 1 {
        return parts.into_iter().next().unwrap_or(Expr::And(Vec::new()));
    }
    let mut flat = Vec::new();
    for p in parts {
        match p {
            Expr::And(inner) if is_and => flat.extend(inner),
            Expr::Or(inner) if !is_and => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if is_and {
        Expr::And(flat)
    } else {
        Expr::Or(flat)
    }
}

fn number_value(text: &str) -> Value {
    if text.contains(['.', 'e', 'E']) {
        let f: f64 = text.parse().unwrap_or(0.0);
        // Python would keep inf; JSON numbers cannot, so saturate.
        let f = f.clamp(f64::MIN, f64::MAX);
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    } else if let Ok(i) = text.parse::<i64>() {
        Value::from(i)
    } else if let Ok(u) = text.parse::<u64>() {
        Value::from(u)
    } else {
        // Beyond 64 bits: approximate as a float.
        let f: f64 = text.parse().unwrap_or(0.0);
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

fn make_call(name: &str, args: Vec<Operand>) -> PResult<Sub> {
    let f = match name {
        "charAt" => Func::CharAt,
        "entries" => Func::Entries,
        "keys" => Func::Keys,
        "length" => Func::Length,
        "substring" => Func::Substring,
        "values" => Func::Values,
        _ => {
            return Err(format!(
                "callable subscript '{}' not found",
                name.replace('\'', "\\'")
            ))
        }
    };
    Ok(Sub::Call(f, args))
}

/// Parse a jsonpath2 expression: `$` followed by subscripts.
pub fn compile(path: &str) -> Result<JsonPath, String> {
    let toks = lex(path)?;
    let end = path.chars().count();
    let mut p = Parser {
        toks,
        pos: 0,
        end,
        depth: 0,
    };
    if !p.eat(&Tok::Dollar) {
        return p.error("mismatched input");
    }
    let next = p.opt_subscript()?;
    if p.pos != p.toks.len() {
        return p.error("extraneous input");
    }
    Ok(JsonPath { next })
}

// ---------------------------------------------------------------- matching

type Found<'a> = Vec<Cow<'a, Value>>;

fn child<'a>(
    cur: &Cow<'a, Value>,
    f: impl for<'x> Fn(&'x Value) -> Option<&'x Value>,
) -> Option<Cow<'a, Value>> {
    match cur {
        Cow::Borrowed(v) => f(v).map(Cow::Borrowed),
        Cow::Owned(v) => f(v).cloned().map(Cow::Owned),
    }
}

fn children<'a>(cur: &Cow<'a, Value>) -> Found<'a> {
    match cur {
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Object(m)) => m.values().cloned().map(Cow::Owned).collect(),
        Cow::Owned(Value::Array(a)) => a.iter().cloned().map(Cow::Owned).collect(),
        _ => Vec::new(),
    }
}

fn index<'a>(cur: &Cow<'a, Value>, i: i128) -> Option<Cow<'a, Value>> {
    let len = cur.as_array()?.len() as i128;
    let j = if i < 0 { i + len } else { i };
    if (0..len).contains(&j) {
        child(cur, |v| v.as_array().and_then(|a| a.get(j as usize)))
    } else {
        None
    }
}

/// Python slice semantics on a str (by code point).
fn py_slice_str(s: &str, start: i128, end: Option<i128>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = chars.len() as i128;
    let norm = |i: i128| -> usize {
        let j = if i < 0 { i + len } else { i };
        j.clamp(0, len) as usize
    };
    let a = norm(start);
    let b = end.map_or(len as usize, norm);
    if a >= b {
        String::new()
    } else {
        chars[a..b].iter().collect()
    }
}

struct Matcher<'a> {
    root: &'a Value,
}

impl<'a> Matcher<'a> {
    fn node(
        &self,
        node: &Node,
        cur: Cow<'a, Value>,
        out: &mut Found<'a>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("maximum recursion depth exceeded".to_string());
        }
        match node {
            Node::Terminal => out.push(cur),
            Node::Subscript(subs, next) => {
                for sub in subs {
                    for m in self.sub(sub, &cur, depth)? {
                        self.node(next, m, out, depth + 1)?;
                    }
                }
            }
            Node::Recursive(inner) => {
                self.node(inner, cur.clone(), out, depth + 1)?;
                for c in children(&cur) {
                    self.node(node, c, out, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    fn path(&self, p: &SubPath, cur: &Cow<'a, Value>, depth: usize) -> Result<Found<'a>, String> {
        let start = if p.root {
            Cow::Borrowed(self.root)
        } else {
            cur.clone()
        };
        let mut out = Vec::new();
        self.node(&p.next, start, &mut out, depth + 1)?;
        Ok(out)
    }

    fn operand(
        &self,
        o: &Operand,
        cur: &Cow<'a, Value>,
        depth: usize,
    ) -> Result<Found<'a>, String> {
        match o {
            Operand::Path(p) => self.path(p, cur, depth),
            Operand::Lit(v) => Ok(vec![Cow::Owned(v.clone())]),
        }
    }

    fn sub(&self, sub: &Sub, cur: &Cow<'a, Value>, depth: usize) -> Result<Found<'a>, String> {
        Ok(match sub {
            Sub::Key(k) => child(cur, |v| v.as_object().and_then(|m| m.get(k.as_str())))
                .into_iter()
                .collect(),
            Sub::Index(i) => index(cur, *i).into_iter().collect(),
            Sub::Wildcard => children(cur),
            Sub::Slice(start, end, step) => {
                let Some(arr) = cur.as_array() else {
                    return Ok(Vec::new());
                };
                let len = arr.len() as i128;
                let start = start.map(|s| {
                    if s < 0 {
                        s + if s.abs() < len { len } else { s.abs() }
                    } else {
                        s
                    }
                });
                let end = end.map(|e| if e < 0 { e + len } else { e });
                let step = step.unwrap_or(1);
                if step == 0 {
                    return Err("range() arg 3 must not be zero".to_string());
                }
                let mut i = start.unwrap_or(0);
                let stop = end.unwrap_or(len);
                let mut out = Vec::new();
                if step > 0 {
                    // Indices from `start` (never negative) upwards; beyond len nothing matches.
                    let stop = stop.min(len);
                    while i < stop {
                        out.extend(index(cur, i));
                        i += step;
                    }
                } else {
                    // Skip indices above len - 1 arithmetically, stop below -len.
                    if i > len - 1 {
                        let k = (i - (len - 1) + (-step) - 1) / (-step);
                        i += k * step;
                    }
                    let stop = stop.max(-len - 1);
                    while i > stop {
                        out.extend(index(cur, i));
                        i += step;
                    }
                }
                out
            }
            Sub::Filter(e) => {
                if self.expr(e, cur, depth)? {
                    vec![cur.clone()]
                } else {
                    Vec::new()
                }
            }
            Sub::ByPath(p) => {
                let mut out = Vec::new();
                for m in self.path(p, cur, depth)? {
                    match m.as_ref() {
                        Value::String(k) => out.extend(child(cur, |v| {
                            v.as_object().and_then(|o| o.get(k.as_str()))
                        })),
                        v if is_py_int(v) => {
                            if let Some(PyNum::Int(i)) = py_num(v) {
                                out.extend(index(cur, i));
                            }
                        }
                        _ => {}
                    }
                }
                out
            }
            Sub::Call(f, args) => {
                let mut lists = Vec::new();
                for a in args {
                    lists.push(self.operand(a, cur, depth)?);
                }
                let mut out = Vec::new();
                let mut combo: Vec<&Value> = Vec::new();
                product(&lists, &mut combo, &mut |argv| {
                    if let Some(v) = call(*f, argv, cur) {
                        out.push(Cow::Owned(v));
                    }
                });
                out
            }
        })
    }

    #[allow(clippy::ptr_arg)] // `@` paths inside need the Cow itself
    fn expr(&self, e: &Expr, cur: &Cow<'a, Value>, depth: usize) -> Result<bool, String> {
        if depth > MAX_DEPTH {
            return Err("maximum recursion depth exceeded".to_string());
        }
        Ok(match e {
            Expr::And(parts) => {
                for p in parts {
                    if !self.expr(p, cur, depth + 1)? {
                        return Ok(false);
                    }
                }
                true
            }
            Expr::Or(parts) => {
                for p in parts {
                    if self.expr(p, cur, depth + 1)? {
                        return Ok(true);
                    }
                }
                false
            }
            Expr::Not(inner) => !self.expr(inner, cur, depth + 1)?,
            Expr::Some(Operand::Lit(v)) => py_truthy(v),
            Expr::Some(Operand::Path(p)) => !self.path(p, cur, depth + 1)?.is_empty(),
            Expr::Cmp(op, l, r) => {
                let left = self.operand(l, cur, depth + 1)?;
                if left.is_empty() {
                    return Ok(false);
                }
                let right = self.operand(r, cur, depth + 1)?;
                left.iter()
                    .any(|a| right.iter().any(|b| compare(*op, a, b)))
            }
        })
    }
}

fn product<'v>(lists: &'v [Found<'_>], combo: &mut Vec<&'v Value>, f: &mut dyn FnMut(&[&Value])) {
    match lists.split_first() {
        None => f(combo),
        Some((first, rest)) => {
            for v in first {
                combo.push(v.as_ref());
                product(rest, combo, f);
                combo.pop();
            }
        }
    }
}

fn compare(op: Op, a: &Value, b: &Value) -> bool {
    match op {
        Op::Eq => py_eq(a, b),
        Op::Ne => !py_eq(a, b),
        _ => {
            let (Some(x), Some(y)) = (py_num(a), py_num(b)) else {
                return false;
            };
            let Some(o) = py_num_cmp(x, y) else {
                return false;
            };
            match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
    }
}

fn int_arg(v: &Value) -> Option<i128> {
    match py_num(v) {
        Some(PyNum::Int(i)) => Some(i),
        _ => None,
    }
}

fn call(f: Func, args: &[&Value], cur: &Value) -> Option<Value> {
    match f {
        Func::CharAt => {
            let s = cur.as_str()?;
            let [i] = args else { return None };
            let i = int_arg(i)?;
            let len = s.chars().count() as i128;
            let j = if i < 0 { i + len } else { i };
            if !(0..len).contains(&j) {
                return None;
            }
            s.chars()
                .nth(j as usize)
                .map(|c| Value::String(c.to_string()))
        }
        Func::Substring => {
            let s = cur.as_str()?;
            match args {
                [a] => Some(Value::String(py_slice_str(s, int_arg(a)?, None))),
                [a, b] => Some(Value::String(py_slice_str(
                    s,
                    int_arg(a)?,
                    Some(int_arg(b)?),
                ))),
                _ => None,
            }
        }
        _ if !args.is_empty() => None,
        Func::Length => match cur {
            Value::Array(a) => Some(Value::from(a.len())),
            Value::String(s) => Some(Value::from(s.chars().count())),
            _ => None,
        },
        Func::Keys => match cur {
            Value::Object(m) => Some(Value::Array(
                m.keys().map(|k| Value::String(k.clone())).collect(),
            )),
            Value::Array(a) => Some(Value::Array((0..a.len()).map(Value::from).collect())),
            _ => None,
        },
        Func::Values => match cur {
            Value::Object(m) => Some(Value::Array(m.values().cloned().collect())),
            Value::Array(_) => Some(cur.clone()),
            _ => None,
        },
        Func::Entries => match cur {
            Value::Object(m) => Some(Value::Array(
                m.iter()
                    .map(|(k, v)| Value::Array(vec![Value::String(k.clone()), v.clone()]))
                    .collect(),
            )),
            Value::Array(a) => Some(Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| Value::Array(vec![Value::from(i), v.clone()]))
                    .collect(),
            )),
            _ => None,
        },
    }
}

impl JsonPath {
    /// The matched values, in jsonpath2 order. Values computed by functions (`length()`…)
    /// are owned; the rest borrow from `root`. Empty when matching fails (see [`Self::try_find`]).
    pub fn find<'a>(&self, root: &'a Value) -> Vec<Cow<'a, Value>> {
        self.try_find(root).unwrap_or_default()
    }

    /// Like [`Self::find`], but reports where the reference would raise while matching
    /// (a slice step of 0, nesting beyond the recursion limit).
    pub fn try_find<'a>(&self, root: &'a Value) -> Result<Vec<Cow<'a, Value>>, String> {
        let m = Matcher { root };
        let mut out = Vec::new();
        m.node(&self.next, Cow::Borrowed(root), &mut out, 0)?;
        Ok(out)
    }
}
