//! The settings file: `~/.chaostoolkit/settings.yaml`, or the path given with `--settings`.
//!
//! [`default_path`] is where the reference looks for it; [`load`] reads it for `chaos run`,
//! `validate` and `discover` (a missing or malformed file is `{}`),
//! [`runtime_strategy`] reads the strategies it may set, and [`runtime_strict`] whether
//! validation is strict (`runtime.validation.strict`, Shakedown's own key). For `chaos settings
//! show|get|set|remove`, [`read_file`] reads it strictly (a missing file is an error, a
//! document Python finds falsy is `{}`), [`locate`] finds the entry a key names with the
//! reference's addressing (chaoslib's `locate_settings_entry`: dotted mapping keys, a dot
//! inside a key escaped with a backslash, one list index per part as in `controls[0]`),
//! [`set_entry`] and [`remove_entry`] change it, [`parse_value`] reads a new value as
//! JSON, and [`write_atomically`] writes the file back through a temporary file renamed
//! over it, so the file is never left half-written. The text to write is the reference's
//! PyYAML dump, [`experiment::pyyaml::to_yaml`].

use experiment::pyrepr::{py_eq, py_truthy};
use experiment::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// The default settings path, made absolute like the reference does.
pub fn default_path() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".chaostoolkit").join("settings.yaml")
}

/// The settings file's bytes, at most [`MAX_SETTINGS_BYTES`].
fn read_settings(path: &Path) -> std::io::Result<Vec<u8>> {
    experiment::load::read_document(path, MAX_SETTINGS_BYTES)
}

/// The most read from a settings file: settings are a few keys, and one that is bigger is
/// not a settings file.
pub const MAX_SETTINGS_BYTES: u64 = 4 * 1024 * 1024;

/// Loads settings; a missing file is `{}`, a malformed (or oversized) one is logged and
/// treated as missing.
pub fn load(path: &Path) -> Value {
    let empty = Value::Object(Default::default());
    let bytes = match read_settings(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            log::error!("Failed parsing YAML settings: {}: {e}", path.display());
            return empty;
        }
        Err(_) => {
            log::debug!("The settings file '{}' does not exist", path.display());
            return empty;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    match experiment::yaml::parse_yaml(&text) {
        Ok((Value::Object(map), _)) => Value::Object(map),
        Ok((Value::Null, _)) => empty,
        Ok(_) => {
            log::error!(
                "Failed parsing YAML settings: {}: the settings must be a mapping",
                path.display()
            );
            empty
        }
        Err(e) => {
            let mut e = e;
            e.origin = path.display().to_string();
            log::error!("Failed parsing YAML settings: {e}");
            empty
        }
    }
}

/// `settings.runtime.<section>.strategy`, if set.
pub fn runtime_strategy(settings: &Value, section: &str) -> Option<String> {
    settings
        .get("runtime")?
        .get(section)?
        .get("strategy")?
        .as_str()
        .map(str::to_string)
}

/// `settings.runtime.validation.strict`: `Ok(None)` when absent (or `null`), the value
/// when it is a boolean, else `Err` with the value as written (the caller warns and
/// ignores it).
pub fn runtime_strict(settings: &Value) -> Result<Option<bool>, String> {
    match settings
        .get("runtime")
        .and_then(|r| r.get("validation"))
        .and_then(|v| v.get("strict"))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(experiment::pyrepr::py_str(other)),
    }
}

// ---------------------------------------------------------------------------------------
// `chaos settings show|get|set|remove`: reading the file, addressing an entry by its dotted
// key, changing it, and writing the file back the way the reference (chaostoolkit 1.19.0,
// PyYAML 6) does.
// ---------------------------------------------------------------------------------------

/// Why `chaos settings` could not read the settings file.
#[derive(Debug)]
pub enum FileError {
    /// No regular file at the path (the reference's `os.path.isfile` check).
    Missing(PathBuf),
    Unreadable(PathBuf, std::io::Error),
    NotUtf8(PathBuf),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Missing(p) => write!(f, "No settings file found at {}", p.display()),
            FileError::Unreadable(p, e) => {
                write!(f, "cannot read the settings file {}: {e}", p.display())
            }
            FileError::NotUtf8(p) => {
                write!(f, "the settings file {} is not UTF-8 text", p.display())
            }
        }
    }
}

/// The settings as `chaos settings` sees them.
#[derive(Debug)]
pub struct Loaded {
    /// The document; `{}` when it is empty, falsy or malformed (the reference's
    /// `load_settings(path) or {}`).
    pub settings: Value,
    /// The parse error of a malformed file, worded for the log; the reference logs it and
    /// goes on with `{}`.
    pub parse_error: Option<String>,
}

/// Reads the settings file for `chaos settings`. Unlike [`load`], a missing or unreadable
/// file is an error, and a document that is not a mapping is kept as it is (`show` prints
/// it; a key path into it fails).
pub fn read_file(path: &Path) -> Result<Loaded, FileError> {
    if !path.is_file() {
        return Err(FileError::Missing(path.to_path_buf()));
    }
    let bytes = read_settings(path).map_err(|e| FileError::Unreadable(path.to_path_buf(), e))?;
    let text = String::from_utf8(bytes).map_err(|_| FileError::NotUtf8(path.to_path_buf()))?;
    Ok(parse_document(&text, &path.display().to_string()))
}

/// Parses settings text: see [`Loaded`]. `origin` names the file in the parse error.
pub fn parse_document(text: &str, origin: &str) -> Loaded {
    match experiment::yaml::parse_yaml(text) {
        Ok((v, _)) => Loaded {
            settings: if py_truthy(&v) {
                v
            } else {
                Value::Object(Default::default())
            },
            parse_error: None,
        },
        Err(mut e) => {
            if let Some(detail) = e.message.strip_prefix(experiment::yaml::YAML_ERROR_PREFIX) {
                e.message = detail.to_string();
            }
            e.origin = origin.to_string();
            Loaded {
                settings: Value::Object(Default::default()),
                parse_error: Some(format!("Failed parsing YAML settings: {e}")),
            }
        }
    }
}

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    /// A list (or string) index; `usize::MAX` stands for one too large to hold.
    Index(usize),
}

/// Why a key path names no entry. The reference exits 1 on each, silently or with a
/// traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    NotFound {
        key: String,
    },
    /// The path goes through a value that is not a mapping.
    NotAMapping {
        key: String,
        at: String,
        kind: &'static str,
    },
    /// An index into a value that is not a list.
    NotAList {
        key: String,
        at: String,
        kind: &'static str,
    },
    /// `name[]`.
    EmptyIndex {
        key: String,
        part: String,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotFound { key } if key.is_empty() => f.write_str(
                "the key is empty: give the dotted path of an entry, e.g. runtime.rollbacks.strategy",
            ),
            KeyError::NotFound { key } => write!(f, "no settings entry at '{key}'"),
            KeyError::NotAMapping { key, at, kind } if at.is_empty() => write!(
                f,
                "cannot look up '{key}': the settings are {kind}, not a mapping"
            ),
            KeyError::NotAMapping { key, at, kind } => write!(
                f,
                "cannot look up '{key}': '{at}' is {kind}, not a mapping"
            ),
            KeyError::NotAList { key, at, kind } => write!(
                f,
                "cannot look up '{key}': '{at}' is {kind}, not a list"
            ),
            KeyError::EmptyIndex { key, part } => write!(
                f,
                "cannot look up '{key}': '{part}' has an empty list index (write e.g. controls[0])"
            ),
        }
    }
}

/// The entry a key path names.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// From the root to the entry; never empty.
    pub steps: Vec<Step>,
    pub entry: Value,
}

/// Splits a key as chaoslib's `locate_settings_entry` does: on every `.` not preceded by a
/// backslash (so `example\.com` is one part), then drops every backslash.
fn key_parts(key: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut prev = None;
    for c in key.chars() {
        if c == '.' && prev != Some('\\') {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
        prev = Some(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.replace('\\', "")).collect()
}

/// `name[digits]` at the end of a part (the reference's `\[([0-9]*)\]$`): the name and the
/// digits.
fn split_index(part: &str) -> Option<(&str, &str)> {
    let body = part.strip_suffix(']')?;
    let open = body.rfind('[')?;
    let digits = &body[open + 1..];
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then_some((&body[..open], digits))
}

use experiment::validate::kind;

/// How a path reads in messages: `auths.example\.com.type`, `controls[0].name`.
fn display_steps(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&k.replace('.', "\\."));
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// Finds the entry at a dotted key, as chaoslib's `locate_settings_entry`: parts are
/// mapping keys, a part may end with one list index (`controls[0]`), a dot inside a key is
/// escaped with a backslash. Only existing entries are found.
pub fn locate(settings: &Value, key: &str) -> Result<Located, KeyError> {
    let mut steps = Vec::new();
    let mut current = settings;
    let parts = key_parts(key);
    let last = parts.len() - 1;
    for (n, part) in parts.into_iter().enumerate() {
        let (name, index) = match split_index(&part) {
            Some((name, digits)) => (name.to_string(), Some(digits)),
            None => (part.clone(), None),
        };
        let Value::Object(map) = current else {
            return Err(KeyError::NotAMapping {
                key: key.to_string(),
                at: display_steps(&steps),
                kind: kind(current),
            });
        };
        let Some(child) = map.get(&name) else {
            return Err(KeyError::NotFound {
                key: key.to_string(),
            });
        };
        steps.push(Step::Key(name));
        current = child;
        let Some(digits) = index else { continue };
        if digits.is_empty() {
            return Err(KeyError::EmptyIndex {
                key: key.to_string(),
                part,
            });
        }
        let i = digits.parse::<usize>().unwrap_or(usize::MAX);
        steps.push(Step::Index(i));
        match current {
            Value::Array(items) => match items.get(i) {
                Some(item) => current = item,
                None => {
                    return Err(KeyError::NotFound {
                        key: key.to_string(),
                    })
                }
            },
            // Python indexes a string by code point: `alpha[0]` is its first character.
            Value::String(s) => {
                return match s.chars().nth(i) {
                    Some(c) if n == last => Ok(Located {
                        steps,
                        entry: Value::String(c.to_string()),
                    }),
                    Some(c) => Err(KeyError::NotAMapping {
                        key: key.to_string(),
                        at: display_steps(&steps),
                        kind: kind(&Value::String(c.to_string())),
                    }),
                    None => Err(KeyError::NotFound {
                        key: key.to_string(),
                    }),
                }
            }
            // A mapping has no integer keys here (YAML keys are read as strings).
            Value::Object(_) => {
                return Err(KeyError::NotFound {
                    key: key.to_string(),
                })
            }
            other => {
                return Err(KeyError::NotAList {
                    key: key.to_string(),
                    at: display_steps(&steps[..steps.len() - 1]),
                    kind: kind(other),
                })
            }
        }
    }
    Ok(Located {
        steps,
        entry: current.clone(),
    })
}

/// Why a located entry could not be changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parent of the entry at `steps` and the last step.
fn parent_mut<'a>(
    settings: &'a mut Value,
    steps: &'a [Step],
) -> Result<(&'a mut Value, &'a Step), EditError> {
    let lost = || EditError(format!("no settings entry at '{}'", display_steps(steps)));
    let (last, path) = steps.split_last().ok_or_else(lost)?;
    let mut node = settings;
    for step in path {
        node = match (node, step) {
            (Value::Object(m), Step::Key(k)) => m.get_mut(k).ok_or_else(lost)?,
            (Value::Array(a), Step::Index(i)) => a.get_mut(*i).ok_or_else(lost)?,
            _ => return Err(lost()),
        };
    }
    Ok((node, last))
}

/// Replaces the entry that [`locate`] found (`set` changes existing entries only).
pub fn set_entry(settings: &mut Value, steps: &[Step], value: Value) -> Result<(), EditError> {
    let shown = display_steps(steps);
    match parent_mut(settings, steps)? {
        (Value::Object(m), Step::Key(k)) => {
            m.insert(k.clone(), value);
            Ok(())
        }
        (Value::Array(a), Step::Index(i)) if *i < a.len() => {
            a[*i] = value;
            Ok(())
        }
        (Value::String(_), Step::Index(_)) => Err(EditError(format!(
            "cannot set '{shown}': the characters of a string cannot be set one by one"
        ))),
        _ => Err(EditError(format!("no settings entry at '{shown}'"))),
    }
}

/// Removes the entry that [`locate`] found, as the reference does: a mapping key is
/// dropped; for a list index, the first item *equal* to the one at that index (Python's
/// `list.remove(list[i])`) is removed.
pub fn remove_entry(settings: &mut Value, steps: &[Step]) -> Result<(), EditError> {
    let shown = display_steps(steps);
    match parent_mut(settings, steps)? {
        (Value::Object(m), Step::Key(k)) => {
            m.shift_remove(k);
            Ok(())
        }
        (Value::Array(a), Step::Index(i)) if *i < a.len() => {
            let target = a[*i].clone();
            let first = a.iter().position(|x| py_eq(x, &target)).unwrap_or(*i);
            a.remove(first);
            Ok(())
        }
        (Value::String(_), Step::Index(_)) => Err(EditError(format!(
            "cannot remove '{shown}': the characters of a string cannot be removed one by one"
        ))),
        _ => Err(EditError(format!("no settings entry at '{shown}'"))),
    }
}

/// The `VALUE` of `chaos settings set`: JSON, as the reference's `json.loads`, so a string
/// needs its quotes.
pub fn parse_value(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        let hint = match text.trim() {
            "NaN" | "Infinity" | "-Infinity" => {
                " (NaN and Infinity cannot be stored: JSON numbers only)".to_string()
            }
            t if t.starts_with(|c: char| c.is_alphabetic()) => {
                format!(" (a string needs JSON quotes: '\"{t}\"')")
            }
            _ => String::new(),
        };
        format!("the value must be JSON: {e}{hint}")
    })
}

/// Writes `text` to the existing file at `path` without ever leaving it half-written: a
/// temporary file next to it (mode 0600 while it is written), flushed to disk, given the
/// original's permissions (and owner, where allowed), then renamed over it. A symbolic link
/// is followed, so the file it points to is replaced, not the link.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    // An error when the file does not exist: `set` and `remove` only edit a file.
    let target = std::fs::canonicalize(path)?;
    journal::write_atomically(&target, text.as_bytes(), journal::Durability { sync: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        let text = "\
runtime:
  rollbacks:
    strategy: always
auths:
  example.com:
    type: bearer
controls:
  - name: a
  - name: b
alpha: hello
zeta: 1
nothing:
";
        parse_document(text, "s.yaml").settings
    }

    #[test]
    fn keys_split_on_unescaped_dots_and_lose_their_backslashes() {
        assert_eq!(key_parts("a.b"), ["a", "b"]);
        assert_eq!(
            key_parts("auths.example\\.com.type"),
            ["auths", "example.com", "type"]
        );
        assert_eq!(key_parts(""), [""]);
        assert_eq!(key_parts("a..b"), ["a", "", "b"]);
        assert_eq!(split_index("controls[10]"), Some(("controls", "10")));
        assert_eq!(split_index("a[1][2]"), Some(("a[1]", "2")));
        assert_eq!(split_index("a[]"), Some(("a", "")));
        assert_eq!(split_index("a[x]"), None);
        assert_eq!(split_index("a[-1]"), None);
    }

    #[test]
    fn locate_finds_scalars_mappings_list_items_and_escaped_keys() {
        let s = sample();
        let at = |k: &str| locate(&s, k).map(|l| l.entry);
        assert_eq!(at("runtime.rollbacks.strategy"), Ok(json!("always")));
        assert_eq!(
            at("runtime"),
            Ok(json!({"rollbacks": {"strategy": "always"}}))
        );
        assert_eq!(at("auths.example\\.com.type"), Ok(json!("bearer")));
        assert_eq!(at("controls[1].name"), Ok(json!("b")));
        assert_eq!(at("controls[0]"), Ok(json!({"name": "a"})));
        assert_eq!(at("nothing"), Ok(Value::Null));
        // Python indexes a string by character.
        assert_eq!(at("alpha[1]"), Ok(json!("e")));
        let found = locate(&s, "controls[1].name").expect("found");
        assert_eq!(
            found.steps,
            [
                Step::Key("controls".into()),
                Step::Index(1),
                Step::Key("name".into())
            ]
        );
    }

    #[test]
    fn locate_explains_what_it_cannot_find() {
        let s = sample();
        let err = |k: &str| locate(&s, k).map(|_| ()).unwrap_err().to_string();
        assert_eq!(err("nope"), "no settings entry at 'nope'");
        assert_eq!(
            err("runtime.nope.x"),
            "no settings entry at 'runtime.nope.x'"
        );
        assert_eq!(err("controls[5]"), "no settings entry at 'controls[5]'");
        assert_eq!(err("alpha[9]"), "no settings entry at 'alpha[9]'");
        assert_eq!(err("runtime[0]"), "no settings entry at 'runtime[0]'");
        assert!(err("").starts_with("the key is empty"));
        assert_eq!(
            err("zeta.x"),
            "cannot look up 'zeta.x': 'zeta' is a number, not a mapping"
        );
        assert_eq!(
            err("alpha.x"),
            "cannot look up 'alpha.x': 'alpha' is a string, not a mapping"
        );
        assert_eq!(
            err("controls.x"),
            "cannot look up 'controls.x': 'controls' is a list, not a mapping"
        );
        assert_eq!(
            err("alpha[0].x"),
            "cannot look up 'alpha[0].x': 'alpha[0]' is a string, not a mapping"
        );
        assert_eq!(
            err("zeta[0]"),
            "cannot look up 'zeta[0]': 'zeta' is a number, not a list"
        );
        assert_eq!(
            err("controls[]"),
            "cannot look up 'controls[]': 'controls[]' has an empty list index (write e.g. controls[0])"
        );
        let list = json!(["a"]);
        assert_eq!(
            locate(&list, "a").map(|_| ()).unwrap_err().to_string(),
            "cannot look up 'a': the settings are a list, not a mapping"
        );
    }

    #[test]
    fn set_replaces_existing_entries_only() {
        let mut s = sample();
        let steps = locate(&s, "runtime.rollbacks.strategy")
            .expect("found")
            .steps;
        set_entry(&mut s, &steps, json!({"b": 1})).expect("set");
        assert_eq!(s["runtime"]["rollbacks"]["strategy"], json!({"b": 1}));
        let steps = locate(&s, "controls[1]").expect("found").steps;
        set_entry(&mut s, &steps, json!("c")).expect("set");
        assert_eq!(s["controls"], json!([{"name": "a"}, "c"]));
        let steps = locate(&s, "alpha[0]").expect("found").steps;
        assert!(set_entry(&mut s, &steps, json!("x")).is_err());
        assert_eq!(s["alpha"], json!("hello"));
    }

    #[test]
    fn remove_drops_a_key_or_the_first_equal_list_item() {
        let mut s = sample();
        let steps = locate(&s, "runtime.rollbacks").expect("found").steps;
        remove_entry(&mut s, &steps).expect("removed");
        assert_eq!(s["runtime"], json!({}));
        // Python's `list.remove(list[i])` removes the first equal item (1 == 1.0 == True).
        let mut l = json!({"l": [true, 2, 1.0, 1]});
        let steps = locate(&l, "l[3]").expect("found").steps;
        remove_entry(&mut l, &steps).expect("removed");
        assert_eq!(l["l"], json!([2, 1.0, 1]));
        let steps = locate(&s, "alpha[0]").expect("found").steps;
        assert!(remove_entry(&mut s, &steps).is_err());
    }

    #[test]
    fn values_are_json_and_errors_say_how_to_quote_a_string() {
        assert_eq!(parse_value("1"), Ok(json!(1)));
        assert_eq!(parse_value(" 1.5 "), Ok(json!(1.5)));
        assert_eq!(parse_value("\"1\""), Ok(json!("1")));
        assert_eq!(
            parse_value("[1, {\"a\": null}]"),
            Ok(json!([1, {"a": null}]))
        );
        let e = parse_value("hello").unwrap_err();
        assert!(e.starts_with("the value must be JSON: "), "{e}");
        assert!(
            e.ends_with("(a string needs JSON quotes: '\"hello\"')"),
            "{e}"
        );
        assert!(parse_value("NaN").unwrap_err().contains("NaN and Infinity"));
        assert!(parse_value("").is_err());
    }

    #[test]
    fn documents_that_python_finds_falsy_read_as_an_empty_mapping() {
        for text in ["", "null\n", "false\n", "0\n", "''\n", "[]\n", "{}\n"] {
            let l = parse_document(text, "s.yaml");
            assert_eq!(l.settings, json!({}), "{text:?}");
            assert_eq!(l.parse_error, None);
        }
        assert_eq!(parse_document("- a\n", "s.yaml").settings, json!(["a"]));
        let l = parse_document("a: [1, 2\nb: c\n", "/x/s.yaml");
        assert_eq!(l.settings, json!({}));
        let e = l.parse_error.expect("a parse error");
        assert!(
            e.starts_with("Failed parsing YAML settings: /x/s.yaml:"),
            "{e}"
        );
        assert!(!e.contains("experiment"), "{e}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = scratch("missing");
        let e = read_file(&dir.join("nope.yaml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "No settings file found at {}",
                dir.join("nope.yaml").display()
            )
        );
        // A directory is not a settings file either (the reference's `os.path.isfile`).
        assert!(matches!(read_file(&dir), Err(FileError::Missing(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("shakedown-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[cfg(unix)]
    #[test]
    fn writing_replaces_the_file_keeps_its_mode_and_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("write");
        let real = dir.join("real.yaml");
        std::fs::write(&real, "a: 1\n").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.join("link.yaml");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        write_atomically(&link, "a: 2\n").expect("written");
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "a: 2\n");
        assert!(std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink());
        let mode = std::fs::metadata(&real).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file left behind: {left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
