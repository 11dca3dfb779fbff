//! `--var` and `--var-file` overrides (spec §4.4).

use std::path::Path;

use crate::{Map, Value};

/// Configuration and secrets overrides, applied only to declared keys/scopes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub configuration: Map,
    pub secrets: Map,
}

/// `KEY[:TYPE]=VALUE` → (key, typed value). The error is the text the reference's click
/// error shows after `Invalid value for '--var': `.
pub fn parse_var(spec: &str) -> Result<(String, Value), String> {
    let Some((key, raw)) = spec.split_once('=') else {
        return Err("not enough values to unpack (expected 2, got 1)".into());
    };
    match key.rsplit_once(':') {
        Some((k, ty)) => {
            let v = crate::config::convert_env_value(raw, ty)?;
            Ok((k.to_string(), v))
        }
        None => Ok((key.to_string(), Value::String(raw.to_string()))),
    }
}

/// What a var file holds: overrides (`.json`/`.yaml`/`.yml` mappings) or `.env` lines
/// meant for the process environment (the caller sets them).
#[derive(Debug, Clone, PartialEq)]
pub enum VarFile {
    Overrides(Overrides),
    DotEnv(Vec<(String, String)>),
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
    }
}

/// Reads one var file. As in the reference, a structured file that parses to nothing
/// (and any other extension) is read as a `.env` file. Errors are whole messages for the
/// CLI to log (the reference logs and skips such a file).
pub fn load_var_file(path: &Path) -> Result<VarFile, String> {
    let shown = path.display();
    if !path.is_file() {
        return Err(format!("Cannot read var file '{shown}'"));
    }
    let bytes = crate::load::read_document(path, crate::load::MAX_DOCUMENT_BYTES)
        .map_err(|e| format!("Cannot read var file '{shown}': {e}"))?;
    parse_var_file(path, &String::from_utf8_lossy(&bytes))
}

/// What [`load_var_file`] makes of `content`, read from `path` (whose name says the format).
pub fn parse_var_file(path: &Path, content: &str) -> Result<VarFile, String> {
    let shown = path.display();
    if content.is_empty() {
        return Ok(VarFile::Overrides(Overrides::default()));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let name_is_ext = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| n.starts_with('.') && n.matches('.').count() == 1)
        .unwrap_or(false);
    let data = if name_is_ext {
        None
    } else {
        match ext {
            "yaml" | "yml" => Some(
                crate::yaml::parse_yaml(content)
                    .map(|(v, _)| v)
                    .map_err(|e| format!("Failed to parse variable file '{shown}': {e}"))?,
            ),
            "json" => Some(
                serde_json::from_str::<Value>(content)
                    .map_err(|e| format!("Failed to parse variable file '{shown}': {e}"))?,
            ),
            _ => None,
        }
    };
    match data {
        Some(v) if !is_falsy(&v) => {
            let Value::Object(m) = v else {
                return Err(format!(
                    "Variable file '{shown}' must be a mapping with `configuration` and/or `secrets` keys"
                ));
            };
            let section = |name: &str| -> Result<Map, String> {
                match m.get(name) {
                    None | Some(Value::Null) => Ok(Map::new()),
                    Some(Value::Object(s)) => Ok(s.clone()),
                    Some(_) => Err(format!(
                        "Variable file '{shown}': `{name}` must be a mapping"
                    )),
                }
            };
            Ok(VarFile::Overrides(Overrides {
                configuration: section("configuration")?,
                secrets: section("secrets")?,
            }))
        }
        _ => parse_dotenv(content)
            .map(VarFile::DotEnv)
            .map_err(|(line, why)| format!("Invalid line {line} in var file '{shown}': {why}")),
    }
}

/// `K=V` lines; blank lines and `#` comments skipped. Every pair can be set in the process
/// environment. Err((1-based line number, what is wrong)); the message never shows the
/// line, whose value may be a secret.
fn parse_dotenv(content: &str) -> Result<Vec<(String, String)>, (usize, &'static str)> {
    let mut out = Vec::new();
    for (i, line) in content.split('\n').enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why| (i + 1, why);
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=VALUE"))?;
        if k.trim().is_empty() {
            return Err(bad(
                "the variable name before '=' is empty: expected KEY=VALUE",
            ));
        }
        if line.contains('\0') {
            return Err(bad(
                "a NUL byte cannot be part of an environment variable: remove it",
            ));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Files in order (a shallow update per top-level key), then `--var` values, which win
/// for configuration.
pub fn merge(files: Vec<Overrides>, vars: Vec<(String, Value)>) -> Overrides {
    let mut out = Overrides::default();
    for f in files {
        out.configuration.extend(f.configuration);
        out.secrets.extend(f.secrets);
    }
    for (k, v) in vars {
        out.configuration.insert(k, v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_var_forms() {
        assert_eq!(parse_var("a=b=c").unwrap(), ("a".into(), json!("b=c")));
        assert_eq!(parse_var("n:int=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(
            parse_var("a:b:float=1.5").unwrap(),
            ("a:b".into(), json!(1.5))
        );
        assert_eq!(
            parse_var("x").unwrap_err(),
            "not enough values to unpack (expected 2, got 1)"
        );
        assert_eq!(
            parse_var("x:int=abc").unwrap_err(),
            "invalid literal for int() with base 10: 'abc'"
        );
        assert_eq!(
            parse_var("x:foo=1").unwrap_err(),
            "variable type can only be: bool, str, int, float, bytes or json"
        );
        assert_eq!(parse_var("j:json={\"a\": 1}").unwrap().1, json!({"a": 1}));
    }

    fn tmp(name: &str, content: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shakedown-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn var_files() {
        let y = tmp("v.yaml", "configuration:\n  a: 1\nsecrets:\n  s: {k: v}\n");
        assert_eq!(
            load_var_file(&y).unwrap(),
            VarFile::Overrides(Overrides {
                configuration: json!({"a": 1}).as_object().unwrap().clone(),
                secrets: json!({"s": {"k": "v"}}).as_object().unwrap().clone(),
            })
        );
        let e = tmp("x.env", "# c\n\nA=1\nB = two=2\n");
        assert_eq!(
            load_var_file(&e).unwrap(),
            VarFile::DotEnv(vec![
                ("A".into(), "1".into()),
                ("B ".into(), " two=2".into())
            ])
        );
        // a YAML file parsing to nothing is a .env file
        let n = tmp("n.yaml", "# nothing\n");
        assert_eq!(load_var_file(&n).unwrap(), VarFile::DotEnv(vec![]));
        // a YAML scalar is not a mapping (the reference crashes)
        let s = tmp("s.yaml", "K=V\n");
        assert!(load_var_file(&s).is_err());
        let bad = tmp("bad.env", "NOEQUALS\n");
        assert!(load_var_file(&bad).unwrap_err().contains("line 1"));
        // lines the environment cannot hold: named by number, the value never shown
        for (name, content, line) in [
            ("empty-key.env", "A=1\n=s3cr3t-value\n", 2),
            ("blank-key.env", "  = s3cr3t-value\n", 1),
            ("nul.env", "# c\nA=1\nB=s3cr3t-value\0x\n", 3),
            ("nul-key.env", "B\0C=s3cr3t-value\n", 1),
        ] {
            let e = load_var_file(&tmp(name, content)).unwrap_err();
            assert!(
                e.starts_with(&format!("Invalid line {line} in var file '")),
                "{e}"
            );
            assert!(e.contains(name), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
        let bj = tmp("b.json", "{");
        assert!(load_var_file(&bj)
            .unwrap_err()
            .starts_with("Failed to parse variable file"));
        let list = tmp("l.json", "[1]");
        assert!(load_var_file(&list).is_err());
        assert!(load_var_file(Path::new("/nonexistent/zz.yaml")).is_err());
    }

    #[test]
    fn merge_order() {
        let f1 = Overrides {
            configuration: json!({"a": 1, "b": 1}).as_object().unwrap().clone(),
            secrets: json!({"s": {"x": 1}}).as_object().unwrap().clone(),
        };
        let f2 = Overrides {
            configuration: json!({"b": 2}).as_object().unwrap().clone(),
            secrets: json!({"s": {"y": 2}}).as_object().unwrap().clone(),
        };
        let m = merge(vec![f1, f2], vec![("a".into(), json!("cli"))]);
        assert_eq!(Value::Object(m.configuration), json!({"a": "cli", "b": 2}));
        assert_eq!(Value::Object(m.secrets), json!({"s": {"y": 2}}));
    }
}
