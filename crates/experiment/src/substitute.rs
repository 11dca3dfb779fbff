//! `${name}` substitution (§4.3): Python `string.Template.safe_substitute` semantics over
//! the configuration, then each secret scope's entries, with a typed result when the whole
//! string is exactly one braced placeholder.
//!
//! - `${name}` and `$name` (name = `[A-Za-z_][A-Za-z0-9_]*`, ASCII) are placeholders; `$$`
//!   is a literal `$`; anything else after a `$` leaves the `$` alone.
//! - Unknown names are left untouched.
//! - `"${name}"` alone yields the value with its type; otherwise values are rendered with
//!   Python `str()` (see [`crate::pyrepr::py_str`]).

use crate::pyrepr::py_str;
use crate::{Map, Value};

/// The chained view the reference builds: configuration first, then each secret scope's
/// entries (scopes in declaration order; scope names are not visible).
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    configuration: &'a Map,
    secrets: &'a Map,
}

impl<'a> Lookup<'a> {
    /// `secrets` maps scope → map of entries.
    pub fn new(configuration: &'a Map, secrets: &'a Map) -> Self {
        Lookup {
            configuration,
            secrets,
        }
    }

    /// The first value found for `name`.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        if let Some(v) = self.configuration.get(name) {
            return Some(v);
        }
        self.secrets
            .values()
            .filter_map(Value::as_object)
            .find_map(|scope| scope.get(name))
    }

    /// True when configuration and secrets are both empty (the reference then skips
    /// argument substitution entirely, so `$$` survives).
    pub fn is_empty(&self) -> bool {
        self.configuration.is_empty() && self.secrets.is_empty()
    }
}

/// Substitute recursively: strings, list items and map values (never map keys).
/// Empty strings, lists and maps and non-string scalars are returned unchanged.
pub fn substitute(value: &Value, lookup: &Lookup) -> Value {
    match value {
        Value::String(s) => substitute_str(s, lookup),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, lookup)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One token of a template.
enum Piece<'s> {
    Text(&'s str),
    /// `$$`
    Dollar,
    /// `$name` or `${name}`; `raw` is the source text.
    Name {
        name: &'s str,
        raw: &'s str,
    },
}

fn ident_len(s: &[u8]) -> usize {
    match s.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => s
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count(),
        _ => 0,
    }
}

fn pieces(s: &str) -> Vec<Piece<'_>> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        let (piece, len) = if rest.first() == Some(&b'$') {
            (Some(Piece::Dollar), 2)
        } else {
            let n = ident_len(rest);
            if n > 0 {
                let name = &s[i + 1..i + 1 + n];
                (
                    Some(Piece::Name {
                        name,
                        raw: &s[i..i + 1 + n],
                    }),
                    1 + n,
                )
            } else if rest.first() == Some(&b'{') {
                let n = ident_len(&rest[1..]);
                if n > 0 && rest.get(1 + n) == Some(&b'}') {
                    let name = &s[i + 2..i + 2 + n];
                    (
                        Some(Piece::Name {
                            name,
                            raw: &s[i..i + 3 + n],
                        }),
                        3 + n,
                    )
                } else {
                    (None, 1)
                }
            } else {
                (None, 1)
            }
        };
        match piece {
            Some(p) => {
                if text_start < i {
                    out.push(Piece::Text(&s[text_start..i]));
                }
                out.push(p);
                i += len;
                text_start = i;
            }
            // An invalid `$` stays as written.
            None => i += len,
        }
    }
    if text_start < bytes.len() {
        out.push(Piece::Text(&s[text_start..]));
    }
    out
}

/// The name when `s` is exactly `${name}`.
fn whole_braced(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (ident_len(inner.as_bytes()) == inner.len() && !inner.is_empty()).then_some(inner)
}

/// Substitute one string. Typed when the string is exactly one known `${name}`.
pub fn substitute_str(s: &str, lookup: &Lookup) -> Value {
    if let Some(name) = whole_braced(s) {
        if let Some(v) = lookup.get(name) {
            return v.clone();
        }
    }
    if !s.contains('$') {
        return Value::String(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    for piece in pieces(s) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Dollar => out.push('$'),
            Piece::Name { name, raw } => match lookup.get(name) {
                Some(v) => out.push_str(&py_str(v)),
                None => out.push_str(raw),
            },
        }
    }
    Value::String(out)
}

/// The names a string refers to (`$name` and `${name}`), in order of first appearance.
pub fn placeholders(s: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for piece in pieces(s) {
        if let Piece::Name { name, .. } = piece {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn maps() -> (Map, Map) {
        let c = json!({"n": 3, "s": "text", "b": true, "z": null, "m": {"a": 1}, "l": ["x", 2], "f": 1.5, "HOME": "/h"});
        let s =
            json!({"one": {"tok": "secret", "n": "shadowed"}, "two": {"pw": "p", "tok": "later"}});
        (
            c.as_object().unwrap().clone(),
            s.as_object().unwrap().clone(),
        )
    }

    #[test]
    fn typed_and_rendered() {
        let (c, s) = maps();
        let l = Lookup::new(&c, &s);
        let cases: &[(&str, Value)] = &[
            ("${n}", json!(3)),
            ("${b}", json!(true)),
            ("${z}", json!(null)),
            ("${m}", json!({"a": 1})),
            ("${l}", json!(["x", 2])),
            ("${f}", json!(1.5)),
            ("$n", json!("3")),
            ("x${n}", json!("x3")),
            ("${b} ${z}", json!("True None")),
            ("m=${m}", json!("m={'a': 1}")),
            ("l=$l", json!("l=['x', 2]")),
            ("${tok}", json!("secret")),
            ("$pw!", json!("p!")),
            ("${missing}", json!("${missing}")),
            ("$HOME/x", json!("/h/x")),
            ("$USER/x", json!("$USER/x")),
            ("$$n", json!("$n")),
            ("$$", json!("$")),
            ("$", json!("$")),
            ("${my-key}", json!("${my-key}")),
            ("${ n}", json!("${ n}")),
            ("$1", json!("$1")),
            ("${n", json!("${n")),
            ("$n-$s.$f", json!("3-text.1.5")),
            ("${n}${n}", json!("33")),
            ("é$s€", json!("étext€")),
            ("", json!("")),
        ];
        for (input, want) in cases {
            assert_eq!(&substitute_str(input, &l), want, "{input}");
        }
    }

    #[test]
    fn recursive_and_placeholders() {
        let (c, s) = maps();
        let l = Lookup::new(&c, &s);
        let v = json!({"${n}": ["${n}", {"k": "$s"}, 1, null], "x": "${b}"});
        assert_eq!(
            substitute(&v, &l),
            json!({"${n}": [3, {"k": "text"}, 1, null], "x": true})
        );
        assert_eq!(
            placeholders("${a} $b $$c ${a} ${d-e} $_f1"),
            vec!["a", "b", "_f1"]
        );
        let empty = Map::new();
        let le = Lookup::new(&empty, &empty);
        assert!(le.is_empty());
        assert!(!l.is_empty());
        assert_eq!(substitute_str("$$", &le), json!("$"));
    }
}
