//! Static configuration and secrets resolution (spec §4.1, §4.2): overrides, environment
//! lookups and `env_var_type` conversion, with errors naming the key and the variable.

use std::fmt;

use crate::{Map, Value};

/// A configuration or secret entry that cannot be resolved. `message` is the reference's
/// text where it has one; `key` is the configuration key (for secrets, `scope.key`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub message: String,
    pub key: String,
    pub env_var: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const TYPE_ERROR: &str = "variable type can only be: bool, str, int, float, bytes or json";

/// Static configuration: overrides (only for declared keys) replace the declared entry,
/// env entries are resolved (default, `env_var_type`), and dynamic `{"type": "probe"}`
/// entries are left unchanged for the engine to run.
pub fn load_configuration(declared: Option<&Value>, overrides: &Map) -> Result<Map, ConfigError> {
    let mut conf = Map::new();
    let entries = match declared {
        None | Some(Value::Null) => return Ok(conf),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(ConfigError {
                message: "the experiment configuration must be a mapping".into(),
                key: String::new(),
                env_var: None,
            })
        }
    };
    for (key, declared_value) in entries {
        let value = overrides.get(key).unwrap_or(declared_value);
        let resolved = match value {
            Value::Object(m) if m.get("type").and_then(Value::as_str) == Some("env") => {
                resolve_env_configuration(key, m)?
            }
            other => other.clone(),
        };
        conf.insert(key.clone(), resolved);
    }
    Ok(conf)
}

fn resolve_env_configuration(key: &str, entry: &Map) -> Result<Value, ConfigError> {
    let Some(env_key) = entry.get("key").and_then(Value::as_str) else {
        return Err(ConfigError {
            message: format!(
                "Configuration '{key}' is of type env but has no `key` naming the environment variable"
            ),
            key: key.to_string(),
            env_var: None,
        });
    };
    let raw = match std::env::var_os(env_key) {
        Some(v) => Value::String(v.to_string_lossy().into_owned()),
        None => match entry.get("default") {
            Some(d) => d.clone(),
            None => {
                return Err(ConfigError {
                    message: format!(
                        "Configuration makes reference to an environment key that does not exist: {env_key}"
                    ),
                    key: key.to_string(),
                    env_var: Some(env_key.to_string()),
                })
            }
        },
    };
    let ty = match entry.get("env_var_type") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => {
            return Err(ConfigError {
                message: TYPE_ERROR.into(),
                key: key.to_string(),
                env_var: Some(env_key.to_string()),
            })
        }
    };
    convert_value(&raw, ty).map_err(|e| ConfigError {
        message: if e == TYPE_ERROR {
            e
        } else {
            format!(
                "Configuration '{key}' cannot convert the value of environment key {env_key} to {}: {e}",
                ty.unwrap_or("str")
            )
        },
        key: key.to_string(),
        env_var: Some(env_key.to_string()),
    })
}

/// Secrets: scope → map, with nested maps resolved recursively. An override replaces a
/// whole declared scope; vault entries resolve to `{}` for now.
pub fn load_secrets(declared: Option<&Value>, overrides: &Map) -> Result<Map, ConfigError> {
    match declared {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => load_secrets_level(m, Some(overrides), ""),
        Some(_) => Err(ConfigError {
            message: "the experiment secrets must be a mapping".into(),
            key: String::new(),
            env_var: None,
        }),
    }
}

fn load_secrets_level(
    info: &Map,
    overrides: Option<&Map>,
    prefix: &str,
) -> Result<Map, ConfigError> {
    let mut out = Map::new();
    for (key, value) in info {
        let here = crate::load::key_path(prefix, key);
        let resolved = match value {
            Value::Object(m) => {
                let over = overrides.and_then(|o| o.get(key)).filter(|v| !v.is_null());
                if let Some(o) = over {
                    o.clone()
                } else {
                    match m.get("type").and_then(Value::as_str) {
                        Some("env") => secret_from_env(m, &here)?,
                        Some("vault") => {
                            log::warn!(
                                "Vault secrets are not supported yet: secret '{here}' resolves to an empty mapping"
                            );
                            Value::Object(Map::new())
                        }
                        _ => Value::Object(load_secrets_level(m, None, &here)?),
                    }
                }
            }
            other => other.clone(),
        };
        out.insert(key.clone(), resolved);
    }
    Ok(out)
}

fn secret_from_env(entry: &Map, here: &str) -> Result<Value, ConfigError> {
    let Some(env_key) = entry.get("key").and_then(Value::as_str) else {
        return Err(ConfigError {
            message: format!(
                "Secret '{here}' is of type env but has no `key` naming the environment variable"
            ),
            key: here.to_string(),
            env_var: None,
        });
    };
    match std::env::var_os(env_key) {
        Some(v) => Ok(Value::String(v.to_string_lossy().into_owned())),
        None => Err(ConfigError {
            message: format!(
                "Secrets make reference to an environment key that does not exist: {env_key}"
            ),
            key: here.to_string(),
            env_var: Some(env_key.to_string()),
        }),
    }
}

/// Converts a raw string the way the reference's `convert_to_type` does (shared by
/// `env_var_type` and `--var KEY:TYPE=VALUE`). The error is Python's message.
pub fn convert_env_value(raw: &str, env_var_type: &str) -> Result<Value, String> {
    convert_value(&Value::String(raw.to_string()), Some(env_var_type))
}

/// `convert_to_type` over any value (an env `default` need not be a string).
pub fn convert_value(val: &Value, ty: Option<&str>) -> Result<Value, String> {
    let type_name = |v: &Value| match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    };
    match ty {
        None | Some("str") | Some("string") => Ok(val.clone()),
        Some("int") | Some("integer") => match val {
            Value::String(s) => python_int(s)
                .ok_or_else(|| format!("invalid literal for int() with base 10: {}", py_quote(s))),
            Value::Bool(b) => Ok(Value::from(*b as i64)),
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(0.0).trunc();
                if f.abs() < 9.0e15 {
                    Ok(Value::from(f as i64))
                } else {
                    Ok(Value::from(f))
                }
            }
            Value::Number(_) => Ok(val.clone()),
            other => Err(format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                type_name(other)
            )),
        },
        Some("float") | Some("number") => match val {
            Value::String(s) => {
                let f = python_float(s)
                    .ok_or_else(|| format!("could not convert string to float: {}", py_quote(s)))?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the float {s} cannot be represented in JSON"))
            }
            Value::Bool(b) => Ok(Value::from(if *b { 1.0 } else { 0.0 })),
            Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0))),
            other => Err(format!(
                "float() argument must be a string or a real number, not '{}'",
                type_name(other)
            )),
        },
        Some("bytes") => match val {
            Value::String(_) => Ok(val.clone()),
            other => Err(format!(
                "'{}' object has no attribute 'encode'",
                type_name(other)
            )),
        },
        Some("bool") => match val {
            Value::Bool(_) => Ok(val.clone()),
            Value::String(s) => {
                let l = s.to_lowercase();
                Ok(Value::Bool(!matches!(l.as_str(), "false" | "0" | "no")))
            }
            other => Err(format!(
                "'{}' object has no attribute 'lower'",
                type_name(other)
            )),
        },
        Some("json") => match val {
            Value::String(s) if s.is_empty() => Ok(val.clone()),
            Value::String(s) => serde_json::from_str::<Value>(s).map_err(|e| e.to_string()),
            other => Ok(other.clone()),
        },
        Some(_) => Err(TYPE_ERROR.into()),
    }
}

/// Python's `repr()` of a str, as it appears in `int()`/`float()` errors.
fn py_quote(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\'', "\\'"))
    }
}

/// Underscores are allowed only between digits, as in Python literals.
fn strip_underscores(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let ok =
                i > 0 && i + 1 < b.len() && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit();
            if !ok {
                return None;
            }
        }
    }
    Some(s.replace('_', ""))
}

/// Python's `int(str)`: surrounding whitespace, a sign, digits with single underscores.
fn python_int(s: &str) -> Option<Value> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return None;
    }
    let clean = strip_underscores(body)?;
    if let Ok(u) = clean.parse::<u64>() {
        if neg {
            if u <= i64::MAX as u64 + 1 {
                return Some(Value::from((u as i128).wrapping_neg() as i64));
            }
        } else {
            return Some(Value::from(u));
        }
    }
    let f: f64 = clean.parse().ok()?;
    Some(Value::from(if neg { -f } else { f }))
}

/// Python's `float(str)`.
fn python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        return lower.parse().ok().or_else(|| {
            let neg = lower.starts_with('-');
            Some(match unsigned {
                "nan" => f64::NAN,
                _ if neg => f64::NEG_INFINITY,
                _ => f64::INFINITY,
            })
        });
    }
    if !unsigned
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    strip_underscores(t)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn env_configuration_with_default_and_type() {
        std::env::set_var("SHAKEDOWN_CFG_T1", "42");
        std::env::remove_var("SHAKEDOWN_CFG_MISSING");
        let declared = json!({
            "plain": "x",
            "port": {"type": "env", "key": "SHAKEDOWN_CFG_T1", "env_var_type": "int"},
            "host": {"type": "env", "key": "SHAKEDOWN_CFG_MISSING", "default": "localhost"},
            "flag": {"type": "env", "key": "SHAKEDOWN_CFG_MISSING", "default": "No", "env_var_type": "bool"},
            "dyn": {"type": "probe", "name": "p", "provider": {"type": "python"}},
            "other": {"type": "weird", "a": 1},
        });
        let c = load_configuration(Some(&declared), &Map::new()).unwrap();
        assert_eq!(
            Value::Object(c),
            json!({"plain": "x", "port": 42, "host": "localhost", "flag": false,
                   "dyn": {"type": "probe", "name": "p", "provider": {"type": "python"}},
                   "other": {"type": "weird", "a": 1}})
        );
    }

    #[test]
    fn missing_env_names_variable_and_key() {
        std::env::remove_var("SHAKEDOWN_CFG_NOPE");
        let declared = json!({"token": {"type": "env", "key": "SHAKEDOWN_CFG_NOPE"}});
        let e = load_configuration(Some(&declared), &Map::new()).unwrap_err();
        assert_eq!(
            e.message,
            "Configuration makes reference to an environment key that does not exist: SHAKEDOWN_CFG_NOPE"
        );
        assert_eq!(e.key, "token");
        assert_eq!(e.env_var.as_deref(), Some("SHAKEDOWN_CFG_NOPE"));
        // an override wins even when the variable is missing; undeclared overrides drop
        let o = obj(json!({"token": "abc", "new": 1}));
        let c = load_configuration(Some(&declared), &o).unwrap();
        assert_eq!(Value::Object(c), json!({"token": "abc"}));
    }

    #[test]
    fn override_may_be_an_env_declaration() {
        std::env::set_var("SHAKEDOWN_CFG_T2", "v");
        let declared = json!({"a": 1});
        let o = obj(json!({"a": {"type": "env", "key": "SHAKEDOWN_CFG_T2"}}));
        let c = load_configuration(Some(&declared), &o).unwrap();
        assert_eq!(c["a"], json!("v"));
    }

    #[test]
    fn bad_conversion_is_an_error_not_a_crash() {
        std::env::set_var("SHAKEDOWN_CFG_T3", "abc");
        let declared =
            json!({"n": {"type": "env", "key": "SHAKEDOWN_CFG_T3", "env_var_type": "int"}});
        let e = load_configuration(Some(&declared), &Map::new()).unwrap_err();
        assert!(
            e.message
                .contains("invalid literal for int() with base 10: 'abc'"),
            "{}",
            e.message
        );
        let declared =
            json!({"n": {"type": "env", "key": "SHAKEDOWN_CFG_T3", "env_var_type": "blob"}});
        let e = load_configuration(Some(&declared), &Map::new()).unwrap_err();
        assert_eq!(e.message, TYPE_ERROR);
    }

    #[test]
    fn secrets_resolution() {
        std::env::set_var("SHAKEDOWN_SEC_T1", "s3cr3t");
        std::env::remove_var("SHAKEDOWN_SEC_MISSING");
        let declared = json!({
            "k8s": {"token": {"type": "env", "key": "SHAKEDOWN_SEC_T1"}, "lit": 1,
                    "nested": {"deep": {"type": "env", "key": "SHAKEDOWN_SEC_T1"}}},
            "whole": {"type": "env", "key": "SHAKEDOWN_SEC_T1"},
            "v": {"x": {"type": "vault", "path": "p"}},
            "flat": "value",
        });
        let s = load_secrets(Some(&declared), &Map::new()).unwrap();
        assert_eq!(
            Value::Object(s),
            json!({"k8s": {"token": "s3cr3t", "lit": 1, "nested": {"deep": "s3cr3t"}},
                   "whole": "s3cr3t", "v": {"x": {}}, "flat": "value"})
        );
        let bad =
            json!({"k8s": {"t": {"type": "env", "key": "SHAKEDOWN_SEC_MISSING", "default": "d"}}});
        let e = load_secrets(Some(&bad), &Map::new()).unwrap_err();
        assert_eq!(
            e.message,
            "Secrets make reference to an environment key that does not exist: SHAKEDOWN_SEC_MISSING"
        );
        assert_eq!(e.key, "k8s.t");
        // an override scope replaces the whole declared scope; undeclared scopes drop
        let o = obj(json!({"k8s": {"only": "this"}, "undeclared": {"a": 1}}));
        let s = load_secrets(Some(&bad), &o).unwrap();
        assert_eq!(Value::Object(s), json!({"k8s": {"only": "this"}}));
    }

    #[test]
    fn conversions() {
        assert_eq!(convert_env_value(" 4_2 ", "int").unwrap(), json!(42));
        assert_eq!(convert_env_value("-7", "integer").unwrap(), json!(-7));
        assert!(convert_env_value("4__2", "int").is_err());
        assert!(convert_env_value("1.5", "int").is_err());
        assert_eq!(convert_env_value("1.5", "float").unwrap(), json!(1.5));
        assert_eq!(convert_env_value("1e3", "number").unwrap(), json!(1000.0));
        assert_eq!(
            convert_env_value("x", "float").unwrap_err(),
            "could not convert string to float: 'x'"
        );
        assert_eq!(convert_env_value("NO", "bool").unwrap(), json!(false));
        assert_eq!(convert_env_value("0", "bool").unwrap(), json!(false));
        assert_eq!(convert_env_value("nope", "bool").unwrap(), json!(true));
        assert_eq!(convert_env_value("[1, 2]", "json").unwrap(), json!([1, 2]));
        assert_eq!(convert_env_value("", "json").unwrap(), json!(""));
        assert!(convert_env_value("[1", "json").is_err());
        assert_eq!(convert_env_value("abc", "bytes").unwrap(), json!("abc"));
        assert_eq!(convert_env_value("abc", "str").unwrap(), json!("abc"));
        assert_eq!(convert_env_value("abc", "list").unwrap_err(), TYPE_ERROR);
        assert_eq!(
            convert_value(&json!(true), Some("bool")).unwrap(),
            json!(true)
        );
        assert!(convert_value(&json!(null), Some("int")).is_err());
    }
}
