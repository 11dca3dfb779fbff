//! Whether a hypothesis probe's output meets its tolerance (§3), with Python semantics:
//! `bool` is an `int` (and is checked first), `42.0 == 42`, maps with a `status` key are
//! compared by status, a 2-item list is an inclusive range for non-map values, and the
//! `regex`, `jsonpath`, `range` and `probe` map forms.
//!
//! Where the reference crashes (a traceback, exit 1, no journal) we return
//! [`Outcome::Error`] and the engine fails the probe; see docs/compatibility-tolerance.md.

use std::cmp::Ordering;

use crate::jsonpath;
use crate::pyrepr::{py_contains, py_eq, py_le, py_num, py_repr, py_str, py_truthy, PyNum};
use crate::substitute::{substitute, substitute_str, Lookup};
use crate::Value;

/// The verdict on one probe output.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Met(bool),
    /// A `{"type": "probe"}` tolerance: the engine must run this activity (a copy of the
    /// tolerance with provider.arguments.value set to the probe output) and treat a truthy
    /// output as met.
    RunProbe(Value),
    /// Where the reference would crash: a clear message, and the engine treats the probe
    /// as failed.
    Error(String),
}

/// Evaluate `tolerance` against a probe's `value` (its output).
pub fn evaluate(tolerance: &Value, value: &Value, lookup: &Lookup) -> Outcome {
    match tolerance {
        // A string tolerance is substituted first, then dispatched on its new type.
        Value::String(s) => evaluate_typed(&substitute_str(s, lookup), value, lookup),
        other => evaluate_typed(other, value, lookup),
    }
}

fn status_of(value: &Value) -> Option<&Value> {
    value.as_object().and_then(|m| m.get("status"))
}

fn evaluate_typed(tolerance: &Value, value: &Value, lookup: &Lookup) -> Outcome {
    match tolerance {
        Value::Bool(_) => Outcome::Met(py_eq(value, tolerance)),
        Value::Number(n) if n.is_f64() => Outcome::Met(false),
        Value::Number(_) => match status_of(value) {
            Some(status) => Outcome::Met(py_eq(status, tolerance)),
            None => Outcome::Met(py_eq(value, tolerance)),
        },
        Value::String(_) => Outcome::Met(py_eq(value, tolerance)),
        Value::Array(items) => {
            if let Some(status) = status_of(value) {
                return Outcome::Met(py_contains(items, status));
            }
            if let [lo, hi] = items.as_slice() {
                // Python's chained `lo <= value <= hi`: the second comparison only runs
                // when the first holds.
                return match py_le(lo, value) {
                    Ok(false) => Outcome::Met(false),
                    Ok(true) => match py_le(value, hi) {
                        Ok(b) => Outcome::Met(b),
                        Err(e) => Outcome::Error(range_error(tolerance, value, &e)),
                    },
                    Err(e) => Outcome::Error(range_error(tolerance, value, &e)),
                };
            }
            Outcome::Met(py_contains(items, value))
        }
        Value::Null => Outcome::Met(false),
        Value::Object(map) => match map.get("type").and_then(Value::as_str) {
            Some("probe") => probe(tolerance, value),
            Some("regex") => regex(map, value, lookup),
            Some("jsonpath") => json_path(map, value, lookup),
            Some("range") => range(map, value),
            // The reference returns None (falsy) for any other map.
            _ => Outcome::Met(false),
        },
    }
}

fn range_error(tolerance: &Value, value: &Value, e: &str) -> String {
    format!(
        "cannot check whether {} is between the bounds of tolerance {}: {e}",
        py_repr(value),
        py_repr(tolerance)
    )
}

fn probe(tolerance: &Value, value: &Value) -> Outcome {
    let mut copy = tolerance.clone();
    let args = copy
        .get_mut("provider")
        .and_then(Value::as_object_mut)
        .and_then(|p| p.get_mut("arguments"))
        .and_then(Value::as_object_mut);
    match args {
        Some(args) => {
            args.insert("value".to_string(), value.clone());
            Outcome::RunProbe(copy)
        }
        None => Outcome::Error(
            "a probe tolerance needs a `provider` with an `arguments` mapping, where the \
             probe output is passed as `value`"
                .to_string(),
        ),
    }
}

/// `value.get(target, value)` when `target` is truthy; an error where Python raises.
fn apply_target<'v>(map: &crate::Map, value: &'v Value, kind: &str) -> Result<&'v Value, String> {
    let Some(target) = map.get("target").filter(|t| py_truthy(t)) else {
        return Ok(value);
    };
    let Some(obj) = value.as_object() else {
        return Err(format!(
            "{kind} tolerance has target {} but the probe output is not a mapping: {}",
            py_repr(target),
            short(value)
        ));
    };
    match target {
        Value::String(t) => Ok(obj.get(t).unwrap_or(value)),
        Value::Array(_) | Value::Object(_) => Err(format!(
            "{kind} tolerance target {} must be a string",
            py_repr(target)
        )),
        _ => Ok(value),
    }
}

fn short(v: &Value) -> String {
    let s = py_repr(v);
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn regex(map: &crate::Map, value: &Value, lookup: &Lookup) -> Outcome {
    let pattern = substitute(map.get("pattern").unwrap_or(&Value::Null), lookup);
    let Value::String(pattern) = pattern else {
        return Outcome::Error(format!(
            "regex tolerance pattern {} is not a string",
            py_repr(&pattern)
        ));
    };
    let rx = match compile_py_regex(&pattern) {
        Ok(rx) => rx,
        Err(e) => {
            return Outcome::Error(format!(
                "regex tolerance pattern {pattern:?} is invalid: {e}"
            ))
        }
    };
    let value = match apply_target(map, value, "regex") {
        Ok(v) => v,
        Err(e) => return Outcome::Error(e),
    };
    let Value::String(text) = value else {
        let hint = if value.is_object() {
            " (set `target`, e.g. `stdout` or `body`)"
        } else {
            ""
        };
        return Outcome::Error(format!(
            "regex tolerance needs a string to search, got {}{hint}",
            short(value)
        ));
    };
    match rx.is_match(text) {
        Ok(b) => Outcome::Met(b),
        Err(e) => Outcome::Error(format!("regex tolerance {pattern:?} failed: {e}")),
    }
}

fn json_path(map: &crate::Map, value: &Value, lookup: &Lookup) -> Outcome {
    let path = substitute(map.get("path").unwrap_or(&Value::Null), lookup);
    let Value::String(path) = path else {
        return Outcome::Error(format!(
            "jsonpath tolerance path {} is not a string",
            py_repr(&path)
        ));
    };
    let px = match jsonpath::compile(&path) {
        Ok(px) => px,
        Err(e) => {
            return Outcome::Error(format!("jsonpath tolerance path {path:?} is invalid: {e}"))
        }
    };
    let value = match apply_target(map, value, "jsonpath") {
        Ok(v) => v,
        Err(e) => return Outcome::Error(e),
    };
    let parsed;
    let doc = match value {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => value,
        },
        other => other,
    };
    let found = match px.try_find(doc) {
        Ok(f) => f,
        Err(e) => return Outcome::Error(format!("jsonpath tolerance path {path:?} failed: {e}")),
    };
    let mut result = !found.is_empty();
    if let Some(count) = map.get("count").filter(|c| !c.is_null()) {
        result = py_eq(&Value::from(found.len()), count);
    }
    if let Some(expect) = map.get("expect") {
        let expect = substitute(expect, lookup);
        result = match &expect {
            Value::Array(items) => {
                items.len() == found.len() && items.iter().zip(&found).all(|(e, f)| py_eq(f, e))
            }
            single => found.len() == 1 && py_eq(&found[0], single),
        };
    }
    Outcome::Met(result)
}

// ------------------------------------------------------------------ Python `re`

/// Compile a Python `re` pattern with fancy_regex, translating the constructs whose meaning
/// differs: `\Z` (absolute end), `$` (end or before a final newline), `[` inside a class,
/// class set operators, `\b` in a class, octal and `\u`/`\U` escapes, and inline flags
/// `a`/`u`/`L`.
pub fn compile_py_regex(pattern: &str) -> Result<fancy_regex::Regex, String> {
    let translated = translate_py_regex(pattern)?;
    fancy_regex::RegexBuilder::new(&translated)
        .backtrack_limit(1_000_000)
        .build()
        .map_err(|e| e.to_string())
}

fn has_flag(pattern: &str, flag: u8) -> bool {
    // Any inline flag group that turns `flag` on: `(?m)`, `(?im)`, `(?m:...)`.
    let b = pattern.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        if b[i] == b'(' && b[i + 1] == b'?' {
            let mut j = i + 2;
            while j < b.len() && b"aiLmsux".contains(&b[j]) {
                if b[j] == flag {
                    return true;
                }
                j += 1;
            }
        }
        i += 1;
    }
    false
}

fn translate_py_regex(p: &str) -> Result<String, String> {
    let multi = has_flag(p, b'm');
    // `(?a)`: fancy_regex cannot switch Unicode off, so spell the ASCII classes out.
    let ascii = has_flag(p, b'a');
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&n) = chars.get(i + 1) else {
                return Err("bad escape (end of pattern)".to_string());
            };
            i += 2;
            match n {
                'Z' if !in_class => out.push_str(r"\z"),
                'b' if in_class => out.push_str(r"\x08"),
                'A' | 'Z' | 'B' if in_class => return Err(format!("bad escape \\{n}")),
                'd' | 'D' | 's' | 'S' | 'w' | 'W' if ascii => {
                    let set = match n.to_ascii_lowercase() {
                        'd' => "0-9",
                        's' => r"\t\n\x0B\x0C\r ",
                        _ => "0-9A-Za-z_",
                    };
                    let neg = if n.is_ascii_uppercase() { "^" } else { "" };
                    out.push_str(&format!("[{neg}{set}]"));
                }
                'A' | 'b' | 'B' | 'd' | 'D' | 's' | 'S' | 'w' | 'W' | 'a' | 'f' | 'n' | 'r'
                | 't' | 'v' => {
                    out.push('\\');
                    out.push(n);
                }
                'x' => {
                    let hex: String = chars.iter().skip(i).take(2).collect();
                    if hex.len() != 2 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err("incomplete escape \\x".to_string());
                    }
                    i += 2;
                    out.push_str(&format!("\\x{{{hex}}}"));
                }
                'u' | 'U' => {
                    let n_digits = if n == 'u' { 4 } else { 8 };
                    let hex: String = chars.iter().skip(i).take(n_digits).collect();
                    if hex.chars().count() != n_digits
                        || !hex.chars().all(|c| c.is_ascii_hexdigit())
                    {
                        return Err(format!("incomplete escape \\{n}"));
                    }
                    let cp = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                    if char::from_u32(cp).is_none() {
                        return Err(format!("bad escape \\{n}{hex}"));
                    }
                    i += n_digits;
                    out.push_str(&format!("\\x{{{cp:X}}}"));
                }
                '0'..='7' if n == '0' || in_class => {
                    // Octal escape: up to 3 digits in total.
                    let mut v = n.to_digit(8).unwrap_or(0);
                    let mut k = 0;
                    while k < 2 && chars.get(i).is_some_and(|d| ('0'..='7').contains(d)) {
                        v = v * 8 + chars[i].to_digit(8).unwrap_or(0);
                        i += 1;
                        k += 1;
                    }
                    out.push_str(&format!("\\x{{{v:X}}}"));
                }
                '1'..='9' => {
                    // Backreference (fancy_regex understands \N).
                    out.push('\\');
                    out.push(n);
                }
                n if n.is_ascii_alphanumeric() => return Err(format!("bad escape \\{n}")),
                n => out.push_str(&format!("\\x{{{:X}}}", n as u32)),
            }
            class_start = false;
            continue;
        }
        if in_class {
            match c {
                ']' if !class_start => {
                    in_class = false;
                    out.push(']');
                }
                ']' => out.push_str(r"\]"),
                '[' => out.push_str(r"\["),
                '&' => out.push_str(r"\&"),
                '~' => out.push_str(r"\~"),
                '-' if chars.get(i + 1) == Some(&'-') => out.push_str(r"\-"),
                '^' if class_start && out.ends_with('[') => {
                    out.push('^');
                    i += 1;
                    continue;
                }
                c => out.push(c),
            }
            class_start = false;
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
                out.push('[');
            }
            '$' if !multi => out.push_str(r"(?=\n?\z)"),
            '(' if chars.get(i + 1) == Some(&'?') => {
                // Inline flags: drop the ones Rust does not know (a, u, L).
                let mut j = i + 2;
                let mut flags = String::new();
                while j < chars.len() && (chars[j].is_ascii_alphabetic() || chars[j] == '-') {
                    flags.push(chars[j]);
                    j += 1;
                }
                let is_flags = !flags.is_empty()
                    && flags.chars().all(|f| "aiLmsux-".contains(f))
                    && matches!(chars.get(j), Some(')' | ':'));
                if is_flags {
                    // `a` is handled by spelling classes out, `u` is the default, `L` is
                    // bytes-only.
                    let kept: String = flags.chars().filter(|f| !"auL".contains(*f)).collect();
                    let kept = kept.trim_end_matches('-').to_string();
                    if kept.is_empty() || kept == "-" {
                        if chars[j] == ':' {
                            out.push_str("(?:");
                        }
                        // A bare `(?a)` vanishes.
                    } else {
                        out.push_str("(?");
                        out.push_str(&kept);
                        out.push(chars[j]);
                    }
                    i = j + 1;
                    continue;
                }
                out.push('(');
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

// ------------------------------------------------------------------ range / Decimal

/// An exact decimal: `(-1)^neg * digits * 10^exp`, digits without leading or trailing zeros
/// (empty = zero); or an infinity; or NaN.
#[derive(Debug, Clone, PartialEq)]
enum Dec {
    Finite {
        neg: bool,
        digits: Vec<u8>,
        exp: i64,
    },
    Inf {
        neg: bool,
    },
    NaN,
}

fn dec_finite(neg: bool, mut digits: Vec<u8>, mut exp: i64) -> Dec {
    let lead = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..lead);
    while digits.last() == Some(&0) {
        digits.pop();
        exp = exp.saturating_add(1);
    }
    if digits.is_empty() {
        return Dec::Finite {
            neg: false,
            digits,
            exp: 0,
        };
    }
    Dec::Finite { neg, digits, exp }
}

fn dec_from_i128(i: i128) -> Dec {
    let digits = i
        .unsigned_abs()
        .to_string()
        .bytes()
        .map(|b| b - b'0')
        .collect();
    dec_finite(i < 0, digits, 0)
}

/// The exact value of a float, as Python's `Decimal(float)`.
fn dec_from_f64(f: f64) -> Dec {
    if f.is_nan() {
        return Dec::NaN;
    }
    if f.is_infinite() {
        return Dec::Inf { neg: f < 0.0 };
    }
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, e2) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    // Little-endian base-10 digits of the mantissa.
    let mut digits: Vec<u8> = mant.to_string().bytes().rev().map(|b| b - b'0').collect();
    let mul = |digits: &mut Vec<u8>, k: u8| {
        let mut carry = 0u8;
        for d in digits.iter_mut() {
            let v = *d * k + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push(carry % 10);
            carry /= 10;
        }
    };
    let exp10 = if e2 >= 0 {
        for _ in 0..e2 {
            mul(&mut digits, 2);
        }
        0
    } else {
        // m * 2^-k = m * 5^k / 10^k
        for _ in 0..(-e2) {
            mul(&mut digits, 5);
        }
        e2
    };
    digits.reverse();
    dec_finite(neg, digits, exp10)
}

/// Python `Decimal(str)`: surrounding whitespace, underscores (all removed), `inf`/`infinity`,
/// `nan`/`snan`, case-insensitive. `None` = `InvalidOperation`.
fn dec_from_str(s: &str) -> Option<Dec> {
    let t = s.trim();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(Dec::Inf { neg });
    }
    if let Some(rest) = lower
        .strip_prefix("nan")
        .or_else(|| lower.strip_prefix("snan"))
    {
        return rest.bytes().all(|b| b.is_ascii_digit()).then_some(Dec::NaN);
    }
    // Python drops every underscore before parsing (even a leading one).
    let body: String = body.chars().filter(|c| *c != '_').collect();
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(k) => (&body[..k], Some(&body[k + 1..])),
        None => (body.as_str(), None),
    };
    let (int_part, frac_part) = match mant.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut e: i64 = 0;
    if let Some(exp) = exp {
        let (eneg, edigits) = match exp.as_bytes().first() {
            Some(b'-') => (true, &exp[1..]),
            Some(b'+') => (false, &exp[1..]),
            _ => (false, exp),
        };
        if edigits.is_empty() || !edigits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        // Saturate: such magnitudes compare the same way.
        e = edigits
            .parse::<i64>()
            .unwrap_or(i64::MAX / 4)
            .min(i64::MAX / 4);
        if eneg {
            e = -e;
        }
    }
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|c| c - b'0')
        .collect();
    Some(dec_finite(neg, digits, e - frac_part.len() as i64))
}

/// `Decimal(value)`: `Ok(None)` = InvalidOperation (caught by the reference: not met),
/// `Err` = any other exception (a crash in the reference).
fn to_decimal(v: &Value) -> Result<Option<Dec>, String> {
    match v {
        Value::String(s) => Ok(dec_from_str(s)),
        Value::Bool(_) | Value::Number(_) => Ok(Some(match py_num(v) {
            Some(PyNum::Int(i)) => dec_from_i128(i),
            Some(PyNum::Float(f)) => dec_from_f64(f),
            None => Dec::NaN,
        })),
        Value::Array(items) => dec_from_tuple(items).map(Some),
        Value::Null => Err("conversion from NoneType to Decimal is not supported".to_string()),
        Value::Object(_) => Err("conversion from dict to Decimal is not supported".to_string()),
    }
}

/// `Decimal([sign, [digits...], exponent])`, the tuple form Python also accepts as a list.
fn dec_from_tuple(items: &[Value]) -> Result<Dec, String> {
    let bad = || "argument must be a sequence of length 3".to_string();
    let [sign, digits, exp] = items else {
        return Err(bad());
    };
    let neg = match py_num(sign) {
        Some(PyNum::Int(0)) => false,
        Some(PyNum::Int(1)) => true,
        _ => return Err("sign must be an integer with the value 0 or 1".to_string()),
    };
    let Value::Array(ds) = digits else {
        return Err("coefficient must be a tuple of digits".to_string());
    };
    let mut out = Vec::with_capacity(ds.len());
    for d in ds {
        match py_num(d) {
            Some(PyNum::Int(k)) if (0..=9).contains(&k) => out.push(k as u8),
            _ => return Err("coefficient must be a tuple of digits".to_string()),
        }
    }
    match (exp, py_num(exp)) {
        (Value::String(s), _) if s == "F" => Ok(Dec::Inf { neg }),
        (Value::String(s), _) if s == "n" || s == "N" => Ok(Dec::NaN),
        (_, Some(PyNum::Int(e))) => {
            let e = e.clamp(i64::MIN as i128 / 4, i64::MAX as i128 / 4) as i64;
            Ok(dec_finite(neg, out, e))
        }
        _ => Err("exponent must be an integer".to_string()),
    }
}

fn dec_cmp(a: &Dec, b: &Dec) -> Option<Ordering> {
    use Dec::*;
    match (a, b) {
        (NaN, _) | (_, NaN) => None,
        (Inf { neg: x }, Inf { neg: y }) => Some(y.cmp(x)),
        (Inf { neg }, _) => Some(if *neg {
            Ordering::Less
        } else {
            Ordering::Greater
        }),
        (_, Inf { neg }) => Some(if *neg {
            Ordering::Greater
        } else {
            Ordering::Less
        }),
        (
            Finite {
                neg: n1,
                digits: d1,
                exp: e1,
            },
            Finite {
                neg: n2,
                digits: d2,
                exp: e2,
            },
        ) => {
            let sign = |neg: bool, d: &Vec<u8>| -> i8 {
                if d.is_empty() {
                    0
                } else if neg {
                    -1
                } else {
                    1
                }
            };
            let (s1, s2) = (sign(*n1, d1), sign(*n2, d2));
            if s1 != s2 || s1 == 0 {
                return Some(s1.cmp(&s2));
            }
            let adj1 = i128::from(*e1) + d1.len() as i128;
            let adj2 = i128::from(*e2) + d2.len() as i128;
            let mag = adj1.cmp(&adj2).then_with(|| d1.cmp(d2));
            Some(if s1 < 0 { mag.reverse() } else { mag })
        }
    }
}

fn range(map: &crate::Map, value: &Value) -> Outcome {
    let value = match apply_target(map, value, "range") {
        Ok(v) => v,
        Err(e) => return Outcome::Error(e),
    };
    let v = match to_decimal(value) {
        Ok(Some(d)) => d,
        Ok(None) => return Outcome::Met(false),
        Err(e) => {
            return Outcome::Error(format!(
                "range tolerance needs a number, got {}: {e}",
                short(value)
            ))
        }
    };
    let bounds = match map.get("range") {
        Some(Value::Array(b)) if b.len() >= 2 => b,
        other => {
            return Outcome::Error(format!(
                "range tolerance needs a `range` of two numbers, got {}",
                py_repr(other.unwrap_or(&Value::Null))
            ))
        }
    };
    let bound = |b: &Value| -> Result<Dec, String> {
        match to_decimal(b) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Err(format!("range bound {} is not a number", py_repr(b))),
            Err(e) => Err(format!("range bound {} is not a number: {e}", py_repr(b))),
        }
    };
    let lo = match bound(&bounds[0]) {
        Ok(d) => d,
        Err(e) => return Outcome::Error(e),
    };
    let hi = match bound(&bounds[1]) {
        Ok(d) => d,
        Err(e) => return Outcome::Error(e),
    };
    let nan = || {
        Outcome::Error(format!(
            "range tolerance cannot compare NaN ({})",
            short(value)
        ))
    };
    match dec_cmp(&lo, &v) {
        None => nan(),
        Some(Ordering::Greater) => Outcome::Met(false),
        Some(_) => match dec_cmp(&v, &hi) {
            None => nan(),
            Some(o) => Outcome::Met(o != Ordering::Greater),
        },
    }
}

// ------------------------------------------------------------------ describe

/// A short human rendering of the tolerance for "observed X, expected Y" lines.
pub fn describe(tolerance: &Value) -> String {
    match tolerance {
        Value::String(s) => py_repr(&Value::String(s.clone())),
        Value::Number(n) if n.is_f64() => {
            format!("{} (a float tolerance is never met)", py_str(tolerance))
        }
        Value::Array(items) if items.len() == 2 => {
            format!("between {} and {}", py_repr(&items[0]), py_repr(&items[1]))
        }
        Value::Array(_) => format!("one of {}", py_repr(tolerance)),
        Value::Object(map) => {
            let target = map
                .get("target")
                .filter(|t| py_truthy(t))
                .map(|t| format!(" on {}", py_str(t)))
                .unwrap_or_default();
            match map.get("type").and_then(Value::as_str) {
                Some("probe") => match map.get("name").and_then(Value::as_str) {
                    Some(name) => format!("probe '{name}' to succeed"),
                    None => "probe to succeed".to_string(),
                },
                Some("regex") => format!(
                    "regex {}{target}",
                    py_repr(map.get("pattern").unwrap_or(&Value::Null))
                ),
                Some("jsonpath") => {
                    let mut s = format!(
                        "jsonpath {}{target}",
                        py_str(map.get("path").unwrap_or(&Value::Null))
                    );
                    if let Some(c) = map.get("count").filter(|c| !c.is_null()) {
                        s.push_str(&format!(" (count {})", py_str(c)));
                    }
                    if let Some(e) = map.get("expect") {
                        s.push_str(&format!(" expecting {}", py_repr(e)));
                    }
                    s
                }
                Some("range") => match map.get("range") {
                    Some(Value::Array(b)) if b.len() == 2 => {
                        format!("between {} and {}{target}", py_str(&b[0]), py_str(&b[1]))
                    }
                    other => format!("range {}{target}", py_repr(other.unwrap_or(&Value::Null))),
                },
                Some(other) => format!("unsupported tolerance type '{other}'"),
                None => format!("unsupported tolerance {}", short(tolerance)),
            }
        }
        other => py_str(other),
    }
}

/// Like [`describe`], but phrased for the actual output: a 2-item list against a map with
/// a `status` is a membership test, not a range.
pub fn describe_for(tolerance: &Value, value: &Value) -> String {
    match tolerance {
        Value::Array(_) if status_of(value).is_some() => {
            format!("status one of {}", py_repr(tolerance))
        }
        Value::Number(n) if !n.is_f64() && status_of(value).is_some() => {
            format!("status {}", py_str(tolerance))
        }
        other => describe(other),
    }
}
