//! Experiment validation (spec §2): the reference's checks, in its order, with its
//! messages, plus a field path for every error. Where the reference crashes on a
//! malformed document (a non-list `method`, a non-map `provider`, …) this returns a
//! plain error instead.

use crate::pyrepr::py_truthy;
use std::path::PathBuf;

use crate::load::{index_path, key_path};
use crate::provider::ProviderKind;
use crate::vars::Overrides;
use crate::{FunctionCatalog, FunctionLookup, Map, Value};

/// The first problem found. `message` is the reference's exact text when it has one;
/// `path` is the field path of the offending node (`""` for the whole document).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub message: String,
    pub path: Option<String>,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

impl ValidationError {
    /// The name of the chaoslib exception class the reference raises for this error
    /// (`InvalidExperiment`, `InvalidActivity` or `InvalidControl`), as reports show it.
    /// Errors the reference has no message for take the class of their place.
    pub fn exception_type(&self) -> &'static str {
        let path = self.path.as_deref().unwrap_or("");
        let in_controls = path == "controls"
            || path.ends_with(".controls")
            || path.starts_with("controls[")
            || path.contains(".controls[");
        if in_controls {
            // chaoslib's control/python.py raises InvalidActivity for this one.
            if self.message.ends_with("must have a module path") {
                return "InvalidActivity";
            }
            return "InvalidControl";
        }
        let in_activity = ["method[", "rollbacks[", "steady-state-hypothesis.probes["]
            .iter()
            .any(|prefix| path.starts_with(prefix));
        if in_activity {
            "InvalidActivity"
        } else {
            "InvalidExperiment"
        }
    }
}

/// A non-fatal finding, logged at WARNING by the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub message: String,
    pub path: Option<String>,
}

pub const DEPRECATED_DICT_ARGS: &str = "Process arguments should now be a list to keep the ordering of the arguments. Dictionary arguments are deprecated for process activities.";
pub const DEPRECATED_VAULT_KEY: &str = "Vault secrets must now specify the `path` property. The `key` property is now a key of a Vault secret rather than the actual path. For instance: {'my-key': {'type': 'vault', 'key': 'foo'}} now becomes: {'my-key': {'type': 'vault', 'path': 'foo'}}";
pub const TOLERANCE_TYPE_ERROR: &str = "hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries. It can also be a dictionary which is a probe activity definition that takes an argument called `value` with the value of the probe itself to be validated";
const METHOD_MISSING: &str = "an experiment requires a method, which can be empty for only checking steady state hypothesis ";

type VResult<T = ()> = Result<T, ValidationError>;

fn fail<T>(message: impl Into<String>, path: &str) -> VResult<T> {
    Err(ValidationError {
        message: message.into(),
        path: Some(path.to_string()),
    })
}

fn get_truthy<'a>(m: &'a Map, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| py_truthy(v))
}

/// Where to point for a missing/falsy key: the key itself if present, else its mapping.
fn at_key(m: &Map, parent: &str, key: &str) -> String {
    if m.contains_key(key) {
        key_path(parent, key)
    } else {
        parent.to_string()
    }
}

/// How validation messages name a value's type (`a mapping`, `a list`, `null`…).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Python `str()` of a value, as the reference formats values into messages.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                let s = format!("{f}");
                if s.contains(['.', 'e', 'E']) {
                    s
                } else {
                    format!("{s}.0")
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A list-valued field; `None` when absent or null.
fn list_field<'a>(
    m: &'a Map,
    parent: &str,
    key: &str,
    what: &str,
) -> VResult<Option<&'a Vec<Value>>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => fail(
            format!("{what} must be a list, not {}", kind(other)),
            &key_path(parent, key),
        ),
    }
}

/// Validates `experiment` as the reference's `ensure_experiment_is_valid` does, stopping
/// at the first error. Configuration and secrets are resolved (environment lookups) with
/// `overrides` applied; dynamic configuration probes are not run.
pub fn validate(
    experiment: &Value,
    catalog: &dyn FunctionCatalog,
    overrides: &Overrides,
) -> Result<Vec<Warning>, ValidationError> {
    validate_resolved(experiment, catalog, overrides).map(|v| v.warnings)
}

/// What validation found on its way: its warnings, and the configuration and secrets it
/// resolved, which the run takes over rather than resolving them a second time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validated {
    pub warnings: Vec<Warning>,
    /// Static configuration (`env` entries and overrides applied; dynamic probes not run).
    pub configuration: Map,
    pub secrets: Map,
}

/// [`validate`], keeping the resolved configuration and secrets.
pub fn validate_resolved(
    experiment: &Value,
    catalog: &dyn FunctionCatalog,
    overrides: &Overrides,
) -> Result<Validated, ValidationError> {
    if !py_truthy(experiment) {
        return fail("an empty experiment is not an experiment", "");
    }
    let Value::Object(exp) = experiment else {
        return fail(
            format!("an experiment must be a mapping, not {}", kind(experiment)),
            "",
        );
    };

    if get_truthy(exp, "title").is_none() {
        return fail("experiment requires a title", &at_key(exp, "", "title"));
    }
    if get_truthy(exp, "description").is_none() {
        return fail(
            "experiment requires a description",
            &at_key(exp, "", "description"),
        );
    }
    check_tags(exp)?;
    check_extensions(exp)?;

    let configuration =
        crate::config::load_configuration(exp.get("configuration"), &overrides.configuration)
            .map_err(|e| ValidationError {
                path: Some(if e.key.is_empty() {
                    "configuration".to_string()
                } else {
                    key_path("configuration", &e.key)
                }),
                message: e.message,
            })?;
    let secrets =
        crate::config::load_secrets(exp.get("secrets"), &overrides.secrets).map_err(|e| {
            ValidationError {
                path: Some(join_rel("secrets", &e.key)),
                message: e.message,
            }
        })?;

    let hypo = check_hypothesis(exp, catalog)?;

    let method = match exp.get("method") {
        None | Some(Value::Null) => return fail(METHOD_MISSING, "method"),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return fail(
                format!(
                    "an experiment's method must be a list of activities, not {}",
                    kind(other)
                ),
                "method",
            )
        }
    };
    let probes: &[Value] = hypo.map(|v| v.as_slice()).unwrap_or(&[]);
    for (i, activity) in method.iter().enumerate() {
        let path = index_path("method", i);
        check_activity(activity, &path, catalog)?;
        if let Some(r) = activity.get("ref").filter(|r| py_truthy(r)) {
            let r = r.as_str().unwrap_or_default();
            let found = method
                .iter()
                .chain(probes.iter())
                .any(|a| a.get("name").and_then(Value::as_str) == Some(r));
            if !found {
                return fail(
                    format!("referenced activity '{r}' could not be found in the experiment"),
                    &key_path(&path, "ref"),
                );
            }
        }
    }

    if let Some(rollbacks) = list_field(exp, "", "rollbacks", "rollbacks")? {
        for (i, activity) in rollbacks.iter().enumerate() {
            check_activity(activity, &index_path("rollbacks", i), catalog)?;
        }
    }

    let mut warnings = deprecation_warnings(exp);
    check_controls(exp, catalog, &mut warnings)?;
    // Shakedown's own checks come last, so that a document the reference rejects gets the
    // reference's error first.
    check_provider_timeouts(exp)?;
    Ok(Validated {
        warnings,
        configuration,
        secrets,
    })
}

/// `parent` + a relative path produced with [`key_path`] from `""`.
fn join_rel(parent: &str, rel: &str) -> String {
    if rel.is_empty() {
        parent.to_string()
    } else if rel.starts_with('[') {
        format!("{parent}{rel}")
    } else {
        format!("{parent}.{rel}")
    }
}

fn check_tags(exp: &Map) -> VResult {
    const MSG: &str = "experiment tags must be a non-empty string";
    let Some(tags) = get_truthy(exp, "tags") else {
        return Ok(());
    };
    match tags {
        Value::Array(items) => {
            for (i, t) in items.iter().enumerate() {
                if !matches!(t, Value::String(s) if !s.is_empty()) {
                    return fail(MSG, &index_path("tags", i));
                }
            }
            Ok(())
        }
        // The reference iterates a string's characters: always non-empty strings.
        Value::String(_) => Ok(()),
        _ => fail(MSG, "tags"),
    }
}

fn check_extensions(exp: &Map) -> VResult {
    const MSG: &str = "All extensions require a non-empty name";
    let Some(exts) = get_truthy(exp, "extensions") else {
        return Ok(());
    };
    let Value::Array(items) = exts else {
        return fail(
            format!("extensions must be a list, not {}", kind(exts)),
            "extensions",
        );
    };
    for (i, ext) in items.iter().enumerate() {
        let path = index_path("extensions", i);
        let Value::Object(m) = ext else {
            return fail(
                format!("an extension must be a mapping, not {}", kind(ext)),
                &path,
            );
        };
        match m.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => return fail(MSG, &at_key(m, &path, "name")),
        }
    }
    Ok(())
}

/// Returns the hypothesis probes (for ref lookups) when present.
fn check_hypothesis<'a>(
    exp: &'a Map,
    catalog: &dyn FunctionCatalog,
) -> VResult<Option<&'a Vec<Value>>> {
    const KEY: &str = "steady-state-hypothesis";
    let hypo = match exp.get(KEY) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(other) => {
            return fail(
                format!(
                    "the steady state hypothesis must be a mapping, not {}",
                    kind(other)
                ),
                KEY,
            )
        }
    };
    if get_truthy(hypo, "title").is_none() {
        return fail("hypothesis requires a title", &at_key(hypo, KEY, "title"));
    }
    let probes_path = key_path(KEY, "probes");
    let probes = match hypo.get("probes") {
        Some(v) if !py_truthy(v) => return Ok(None),
        None => return Ok(None),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return fail(
                format!("hypothesis probes must be a list, not {}", kind(other)),
                &probes_path,
            )
        }
    };
    for (i, probe) in probes.iter().enumerate() {
        let path = index_path(&probes_path, i);
        check_activity(probe, &path, catalog)?;
        let Some(tolerance) = probe.get("tolerance") else {
            return fail("hypothesis probe must have a tolerance entry", &path);
        };
        check_tolerance(tolerance, &key_path(&path, "tolerance"), catalog)?;
    }
    Ok(Some(probes))
}

fn is_number(v: &Value) -> bool {
    // Python's numbers.Number includes bool.
    matches!(v, Value::Number(_) | Value::Bool(_))
}

/// `ensure_activity_is_valid`.
/// `ensure_activity_is_valid`: the activity at `path` (a field path, used in the error).
pub fn check_activity(activity: &Value, path: &str, catalog: &dyn FunctionCatalog) -> VResult {
    if !py_truthy(activity) {
        return fail("empty activity is no activity", path);
    }
    let Value::Object(a) = activity else {
        return fail(
            format!("an activity must be a mapping, not {}", kind(activity)),
            path,
        );
    };
    if let Some(r) = a.get("ref").filter(|r| !r.is_null()) {
        if !matches!(r, Value::String(s) if !s.is_empty()) {
            return fail(
                "reference to activity must be non-empty strings",
                &key_path(path, "ref"),
            );
        }
        return Ok(());
    }
    let Some(activity_type) = get_truthy(a, "type") else {
        return fail("an activity must have a type", &at_key(a, path, "type"));
    };
    let activity_type_str = activity_type.as_str().unwrap_or_default();
    if !matches!(activity_type_str, "probe" | "action") {
        return fail(
            format!(
                "'{}' is not a supported activity type",
                py_str(activity_type)
            ),
            &key_path(path, "type"),
        );
    }
    let Some(name) = get_truthy(a, "name") else {
        return fail("an activity must have a name", &at_key(a, path, "name"));
    };
    let name = py_str(name);
    let provider_path = key_path(path, "provider");
    let Some(provider) = get_truthy(a, "provider") else {
        return fail(
            "an activity requires a provider",
            &at_key(a, path, "provider"),
        );
    };
    let Value::Object(provider) = provider else {
        return fail(
            format!(
                "an activity provider must be a mapping, not {}",
                kind(provider)
            ),
            &provider_path,
        );
    };
    let Some(provider_type) = get_truthy(provider, "type") else {
        return fail(
            "a provider must have a type",
            &at_key(provider, &provider_path, "type"),
        );
    };
    let Some(provider_kind) = provider_type.as_str().and_then(ProviderKind::parse) else {
        return fail(
            format!("unknown provider type '{}'", py_str(provider_type)),
            &key_path(&provider_path, "type"),
        );
    };
    if let Some(t) = a.get("timeout").filter(|t| !t.is_null()) {
        if !is_number(t) {
            return fail(
                "activity timeout must be a number",
                &key_path(path, "timeout"),
            );
        }
    }
    if let Some(pauses) = a.get("pauses").filter(|p| !p.is_null()) {
        let pauses_path = key_path(path, "pauses");
        let Value::Object(p) = pauses else {
            return fail(
                format!("activity pauses must be a mapping, not {}", kind(pauses)),
                &pauses_path,
            );
        };
        for which in ["before", "after"] {
            let ok = match p.get(which) {
                None | Some(Value::Null) | Some(Value::Number(_)) | Some(Value::Bool(_)) => true,
                Some(Value::String(s)) => s.starts_with("${") && s.ends_with('}'),
                // The reference lets these through and crashes when pausing.
                Some(_) => false,
            };
            if !ok {
                return fail(
                    format!(
                        "activity {which} pause must be a number or a pattern to a variable from the configuration or secrets"
                    ),
                    &key_path(&pauses_path, which),
                );
            }
        }
    }
    if let Some(bg) = a.get("background") {
        if !bg.is_boolean() {
            return fail(
                "activity background must be a boolean",
                &key_path(path, "background"),
            );
        }
    }
    let kind_str = activity_type_str;
    match provider_kind {
        ProviderKind::Python => check_python(provider, &provider_path, kind_str, &name, catalog),
        ProviderKind::Process => check_process(provider, &provider_path, &name),
        ProviderKind::Http => check_http(provider, &provider_path),
    }
}

fn check_python(
    provider: &Map,
    path: &str,
    activity_type: &str,
    name: &str,
    catalog: &dyn FunctionCatalog,
) -> VResult {
    let Some(module) = get_truthy(provider, "module") else {
        return fail(
            "a Python activity must have a module path",
            &at_key(provider, path, "module"),
        );
    };
    let Some(func) = get_truthy(provider, "func") else {
        return fail(
            "a Python activity must have a function name",
            &at_key(provider, path, "func"),
        );
    };
    let (module, func) = (py_str(module), py_str(func));
    let sig = match catalog.lookup(&module, &func) {
        FunctionLookup::ModuleNotFound => {
            return fail(
                format!("could not find Python module '{module}' in activity '{name}'"),
                &key_path(path, "module"),
            )
        }
        FunctionLookup::FunctionNotFound => {
            return fail(
                format!(
                    "The python module '{module}' does not expose a function called '{func}' in {activity_type} '{name}'"
                ),
                &key_path(path, "func"),
            )
        }
        FunctionLookup::Found(sig) => sig,
    };
    let args_path = key_path(path, "arguments");
    let empty = Map::new();
    let arguments = match provider.get("arguments") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(other) => {
            return fail(
                format!(
                    "the arguments of a Python activity must be a mapping, not {}",
                    kind(other)
                ),
                &args_path,
            )
        }
    };
    // `secrets` and `configuration` are injected by the engine: treat them as bound.
    let bound = |p: &str| {
        arguments.contains_key(p) || ((p == "secrets" || p == "configuration") && sig.has(p))
    };
    for p in &sig.params {
        if p.default.is_none() && !bound(&p.name) {
            return fail(
                format!(
                    "required argument '{}' is missing from activity '{func}'",
                    p.name
                ),
                &at_key(provider, path, "arguments"),
            );
        }
    }
    for k in arguments.keys() {
        if !sig.has(k) && !sig.var_keyword {
            return fail(
                format!(
                    "argument {} is not part of the function signature in activity '{func}'",
                    py_repr(&Value::String(k.clone()))
                ),
                &key_path(&args_path, k),
            );
        }
    }
    if let Err((argument, message)) = catalog.check_arguments(&module, &func, arguments) {
        let path = if arguments.contains_key(&argument) {
            key_path(&args_path, &argument)
        } else {
            at_key(provider, path, "arguments")
        };
        return fail(
            format!("invalid argument '{argument}' in activity '{name}': {message}"),
            &path,
        );
    }
    Ok(())
}

fn check_process(provider: &Map, path: &str, name: &str) -> VResult {
    let Some(p) = get_truthy(provider, "path") else {
        return fail(
            "a process activity must have a path",
            &at_key(provider, path, "path"),
        );
    };
    let found = p.as_str().and_then(which);
    if found.is_none() {
        return fail(
            format!("path '{}' cannot be found, in activity '{name}'", py_str(p)),
            &key_path(path, "path"),
        );
    }
    Ok(())
}

fn check_http(provider: &Map, path: &str) -> VResult {
    if get_truthy(provider, "url").is_none() {
        return fail(
            "a HTTP activity must have a URL",
            &at_key(provider, path, "url"),
        );
    }
    if let Some(h) = get_truthy(provider, "headers") {
        if !h.is_object() {
            return fail(
                "a HTTP activities expect headers as a mapping",
                &key_path(path, "headers"),
            );
        }
    }
    Ok(())
}

/// `ensure_hypothesis_tolerance_is_valid`: the tolerance at `path`.
pub fn check_tolerance(t: &Value, path: &str, catalog: &dyn FunctionCatalog) -> VResult {
    let m = match t {
        Value::Bool(_) | Value::String(_) | Value::Array(_) => return Ok(()),
        Value::Number(n) if !n.is_f64() => return Ok(()),
        Value::Object(m) => m,
        _ => return fail(TOLERANCE_TYPE_ERROR, path),
    };
    let ty = m.get("type");
    match ty.and_then(Value::as_str) {
        Some("probe") => check_activity(t, path, catalog),
        Some("regex") => {
            let Some(pattern) = m.get("pattern") else {
                return fail(
                    "hypothesis regex probe tolerance must have a `pattern` key",
                    path,
                );
            };
            let ppath = key_path(path, "pattern");
            let Value::String(p) = pattern else {
                return fail(
                    format!(
                        "hypothesis probe tolerance pattern {} has an invalid type",
                        py_str(pattern)
                    ),
                    &ppath,
                );
            };
            // The same translation from Python `re` that evaluation uses, so both agree.
            if let Err(e) = crate::tolerance::compile_py_regex(p) {
                return fail(
                    format!("hypothesis probe tolerance pattern {p} seems invalid: {e}"),
                    &ppath,
                );
            }
            Ok(())
        }
        Some("jsonpath") => {
            let Some(jp) = m.get("path") else {
                return fail(
                    "hypothesis jsonpath probe tolerance must have a `path` key",
                    path,
                );
            };
            let jpath = key_path(path, "path");
            let Value::String(s) = jp else {
                return fail(
                    format!(
                        "hypothesis probe tolerance JSON path {} has an invalid type",
                        py_str(jp)
                    ),
                    &jpath,
                );
            };
            let s = s.trim();
            if s.is_empty() {
                return fail(
                    "hypothesis probe tolerance JSON path cannot be empty",
                    &jpath,
                );
            }
            if crate::jsonpath::compile(s).is_err() {
                return fail(
                    format!("hypothesis probe tolerance JSON path {s} is invalid"),
                    &jpath,
                );
            }
            Ok(())
        }
        Some("range") => {
            let Some(r) = m.get("range") else {
                return fail(
                    "hypothesis range probe tolerance must have a `range` key",
                    path,
                );
            };
            let rpath = key_path(path, "range");
            let Value::Array(r) = r else {
                return fail("hypothesis range must be a sequence", &rpath);
            };
            if r.len() != 2 {
                return fail(
                    "hypothesis range sequence must be made of two values",
                    &rpath,
                );
            }
            if !is_number(&r[0]) {
                return fail(
                    "hypothesis range lower boundary must be a number",
                    &index_path(&rpath, 0),
                );
            }
            if !is_number(&r[1]) {
                return fail(
                    "hypothesis range upper boundary must be a number",
                    &index_path(&rpath, 1),
                );
            }
            Ok(())
        }
        _ => fail(
            format!(
                "hypothesis probe tolerance type '{}' is unsupported",
                py_str(ty.unwrap_or(&Value::Null))
            ),
            &at_key(m, path, "type"),
        ),
    }
}

/// A `process` or `http` provider's `timeout` that the reference cannot use. chaoslib
/// 1.44.0 does not validate it: it hands it to `subprocess.run` (process, not substituted)
/// or to `requests` (http, after substitution), which raise on a string (`"1s"`, even
/// `"10"`) and the run aborts when the activity starts. Here it is a validation error
/// naming the field. A number, a boolean or `null`, and for http a whole `${name}`
/// pattern (resolved at run time) or a `[connect, read]` pair, pass.
fn check_provider_timeouts(exp: &Map) -> VResult {
    for (path, activity) in all_activities(exp) {
        let Some(Value::Object(provider)) = activity.get("provider") else {
            continue;
        };
        let Some(timeout) = provider.get("timeout") else {
            continue;
        };
        let tpath = key_path(&key_path(&path, "provider"), "timeout");
        let problem = match (ProviderKind::of(provider), timeout) {
            (_, Value::Null | Value::Number(_) | Value::Bool(_)) => None,
            (Some(ProviderKind::Http), Value::String(s))
                if s.starts_with("${") && s.ends_with('}') =>
            {
                None
            }
            (Some(ProviderKind::Http), Value::Array(_)) => None,
            (Some(ProviderKind::Process), Value::String(s)) => Some(format!(
                "a process provider's timeout must be a number of seconds, not the string '{s}' (Chaos Toolkit aborts the run on it; process timeouts take no ${{name}} pattern)"
            )),
            (Some(ProviderKind::Http), Value::String(s)) => Some(format!(
                "an http provider's timeout must be a number of seconds or a ${{name}} pattern, not the string '{s}' (Chaos Toolkit aborts the run on it)"
            )),
            (Some(ProviderKind::Process), other) => Some(format!(
                "a process provider's timeout must be a number of seconds, not {} (Chaos Toolkit aborts the run on it)",
                kind(other)
            )),
            (Some(ProviderKind::Http), other) => Some(format!(
                "an http provider's timeout must be a number of seconds or a ${{name}} pattern, not {} (Chaos Toolkit aborts the run on it)",
                kind(other)
            )),
            (_, _) => None,
        };
        if let Some(message) = problem {
            return fail(message, &tpath);
        }
    }
    Ok(())
}

/// Activities of the hypothesis, method and rollbacks, with their paths.
fn all_activities(exp: &Map) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    if let Some(Value::Object(h)) = exp.get("steady-state-hypothesis") {
        if let Some(Value::Array(p)) = h.get("probes") {
            let base = key_path("steady-state-hypothesis", "probes");
            out.extend(p.iter().enumerate().map(|(i, a)| (index_path(&base, i), a)));
        }
    }
    for key in ["method", "rollbacks"] {
        if let Some(Value::Array(items)) = exp.get(key) {
            out.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (index_path(key, i), a)),
            );
        }
    }
    out
}

fn deprecation_warnings(exp: &Map) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for (path, a) in all_activities(exp) {
        let Some(Value::Object(p)) = a.get("provider") else {
            continue;
        };
        if ProviderKind::of(p) == Some(ProviderKind::Process)
            && p.get("arguments").is_some_and(Value::is_object)
        {
            warnings.push(Warning {
                message: DEPRECATED_DICT_ARGS.into(),
                path: Some(key_path(&key_path(&path, "provider"), "arguments")),
            });
            break;
        }
    }
    if let Some(Value::Object(secrets)) = exp.get("secrets") {
        for (scope, keys) in secrets {
            let Value::Object(keys) = keys else { continue };
            for (k, v) in keys {
                if let Value::Object(v) = v {
                    if v.get("type").and_then(Value::as_str) == Some("vault")
                        && v.contains_key("key")
                        && !v.contains_key("path")
                    {
                        warnings.push(Warning {
                            message: DEPRECATED_VAULT_KEY.into(),
                            path: Some(key_path(&key_path("secrets", scope), k)),
                        });
                    }
                }
            }
        }
    }
    warnings
}

/// Controls at every level, in the reference's order (top level, hypothesis, activities).
fn all_controls(exp: &Map) -> VResult<Vec<(String, &Value)>> {
    fn add<'a>(out: &mut Vec<(String, &'a Value)>, holder: &'a Map, base: &str) -> VResult {
        if let Some(list) = list_field(holder, base, "controls", "controls")? {
            let cpath = key_path(base, "controls");
            out.extend(
                list.iter()
                    .enumerate()
                    .map(|(i, c)| (index_path(&cpath, i), c)),
            );
        }
        Ok(())
    }
    let mut out = Vec::new();
    add(&mut out, exp, "")?;
    if let Some(Value::Object(h)) = exp.get("steady-state-hypothesis") {
        add(&mut out, h, "steady-state-hypothesis")?;
    }
    for (path, a) in all_activities(exp) {
        if let Value::Object(a) = a {
            add(&mut out, a, &path)?;
        }
    }
    Ok(out)
}

fn check_controls(
    exp: &Map,
    catalog: &dyn FunctionCatalog,
    warnings: &mut Vec<Warning>,
) -> VResult {
    let controls = all_controls(exp)?;
    for (path, c) in &controls {
        if !c.is_object() {
            return fail(
                format!("a control must be a mapping, not {}", kind(c)),
                path,
            );
        }
    }
    let names: Vec<&Value> = controls
        .iter()
        .filter_map(|(_, c)| c.as_object())
        .filter(|c| !c.contains_key("ref"))
        .filter_map(|c| c.get("name"))
        .collect();
    for (path, c) in &controls {
        let Some(c) = c.as_object() else { continue };
        if let Some(r) = c.get("ref") {
            if !names.contains(&r) {
                return fail(
                    "Control reference '{}' declaration cannot be found",
                    &key_path(path, "ref"),
                );
            }
        }
        let Some(name) = c.get("name") else {
            return fail("A control must have a `name` property", path);
        };
        let name = py_str(name);
        let Some(provider) = c.get("provider") else {
            return fail(
                format!("Control '{name}' must have a `provider` property"),
                path,
            );
        };
        if let Some(scope) = get_truthy(c, "scope") {
            if !matches!(scope.as_str(), Some("before" | "after")) {
                return fail(
                    format!("Control '{name}' scope property must be 'before' or 'after' only"),
                    &key_path(path, "scope"),
                );
            }
        }
        let ppath = key_path(path, "provider");
        let Value::Object(provider) = provider else {
            return fail(
                format!(
                    "Control '{name}' provider must be a mapping, not {}",
                    kind(provider)
                ),
                &ppath,
            );
        };
        if ProviderKind::of(provider) == Some(ProviderKind::Python) {
            let Some(module) = get_truthy(provider, "module") else {
                return fail(
                    format!("Control '{name}' must have a module path"),
                    &at_key(provider, &ppath, "module"),
                );
            };
            let module = py_str(module);
            if !catalog.module_exists(&module) {
                warnings.push(Warning {
                    message: format!(
                        "Could not find Python module '{module}' in control '{name}'. Did you install the Python module? The experiment will carry on running nonetheless."
                    ),
                    path: Some(key_path(&ppath, "module")),
                });
            }
            // A control can validate itself too (chaoslib's `validate_control`).
            let control = Value::Object(c.clone());
            catalog
                .validate_control(&module, &control)
                .map_err(|e| ValidationError {
                    path: Some(join_rel(path, e.path.as_deref().unwrap_or(""))),
                    message: e.message,
                })?;
        }
    }
    Ok(())
}

/// `shutil.which` as validation uses it: no `~` expansion (a reference quirk we keep).
fn which(path: &str) -> Option<PathBuf> {
    if path.is_empty() {
        return None;
    }
    if path.contains('/') {
        let p = PathBuf::from(path);
        return is_executable(&p).then_some(p);
    }
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|d| d.join(path))
        .find(|p| is_executable(p))
}

fn is_executable(p: &std::path::Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Run-time resolution of a process `path`: `~` expanded, then looked up like `which`.
pub fn resolve_process_path(path: &str) -> Option<PathBuf> {
    let expanded = if path == "~" || path.starts_with("~/") {
        match std::env::var_os("HOME") {
            Some(home) => {
                let mut s = PathBuf::from(home);
                if let Some(rest) = path.strip_prefix("~/") {
                    s.push(rest);
                }
                s.to_string_lossy().into_owned()
            }
            None => path.to_string(),
        }
    } else {
        path.to_string()
    };
    which(&expanded)
}

/// The experiment's `runtime.python` (chaostoolkit 1.21's `get_python_runtime_info`): the
/// dependencies and Python version the reference prepares with `uv run` before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonRuntime {
    /// Package requirements, stripped, in order.
    pub dependencies: Vec<String>,
    /// `isolated: true`, or a `version` (which implies isolation).
    pub isolated: bool,
    pub version: Option<String>,
}

/// Why `runtime.python` is refused; the messages are chaostoolkit 1.21.4's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PythonRuntimeError {
    #[error("runtime.python.dependencies must be a list")]
    DependenciesNotAList,
    #[error("runtime.python.dependencies must contain package names")]
    NotAPackageName,
    #[error("runtime.python.isolated must be a boolean")]
    IsolatedNotABoolean,
    #[error("runtime.python.version must be a Python version")]
    NotAVersion,
}

/// Reads `runtime.python` as chaostoolkit 1.21.4 does, before validation (and also with
/// `--no-validation`). `Ok(None)` when there is nothing to prepare: no `runtime` or
/// `python` mapping (anything else there is ignored), or no dependencies and no version.
pub fn python_runtime(experiment: &Value) -> Result<Option<PythonRuntime>, PythonRuntimeError> {
    let Some(python) = experiment
        .get("runtime")
        .filter(|r| r.is_object())
        .and_then(|r| r.get("python"))
        .and_then(Value::as_object)
    else {
        return Ok(None);
    };
    let dependencies = match python.get("dependencies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) if !py_strip(s).is_empty() => Ok(py_strip(s).to_string()),
                _ => Err(PythonRuntimeError::NotAPackageName),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(PythonRuntimeError::DependenciesNotAList),
    };
    let isolated = match python.get("isolated") {
        None => false,
        Some(Value::Bool(b)) => *b,
        // `isolated: null` is not a boolean either.
        Some(_) => return Err(PythonRuntimeError::IsolatedNotABoolean),
    };
    let version = match python.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !py_strip(s).is_empty() => Some(py_strip(s).to_string()),
        Some(_) => return Err(PythonRuntimeError::NotAVersion),
    };
    if dependencies.is_empty() && version.is_none() {
        return Ok(None);
    }
    Ok(Some(PythonRuntime {
        dependencies,
        isolated: isolated || version.is_some(),
        version,
    }))
}

/// Python's `str.strip()`: the characters `str.isspace` accepts, which are Rust's white
/// space plus the four information separators U+001C..U+001F.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> (String, Option<String>) {
        let e = validate(&v, &crate::EmptyCatalog, &Overrides::default()).unwrap_err();
        (e.message, e.path)
    }

    #[test]
    fn minimal_experiment_is_valid() {
        let v = json!({"title": "t", "description": "d", "method": []});
        assert_eq!(
            validate(&v, &crate::EmptyCatalog, &Overrides::default()),
            Ok(vec![])
        );
    }

    #[test]
    fn non_mapping_documents() {
        assert_eq!(
            err(json!(null)).0,
            "an empty experiment is not an experiment"
        );
        assert_eq!(err(json!([])).0, "an empty experiment is not an experiment");
        assert_eq!(
            err(json!(["a"])).0,
            "an experiment must be a mapping, not a list"
        );
    }

    fn with_provider(provider: Value) -> Value {
        json!({"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": provider}]})
    }

    #[test]
    fn string_provider_timeouts_are_errors_naming_the_field() {
        let (message, path) = err(with_provider(
            json!({"type": "process", "path": "sh", "timeout": "1s"}),
        ));
        assert_eq!(
            message,
            "a process provider's timeout must be a number of seconds, not the string '1s' (Chaos Toolkit aborts the run on it; process timeouts take no ${name} pattern)"
        );
        assert_eq!(path.as_deref(), Some("method[0].provider.timeout"));
        for bad in [json!("10"), json!("${t}"), json!([1, 2]), json!({"s": 1})] {
            let doc = with_provider(json!({"type": "process", "path": "sh", "timeout": bad}));
            assert!(
                err(doc).0.starts_with("a process provider's timeout"),
                "{bad}"
            );
        }
        let (message, path) = err(with_provider(
            json!({"type": "http", "url": "http://x", "timeout": "1s"}),
        ));
        assert!(
            message.starts_with("an http provider's timeout must be a number of seconds or a ${name} pattern, not the string '1s'"),
            "{message}"
        );
        assert_eq!(path.as_deref(), Some("method[0].provider.timeout"));
        let rollback = json!({"title": "t", "description": "d", "method": [],
            "rollbacks": [{"type": "action", "name": "r", "provider": {"type": "http", "url": "u", "timeout": {"a": 1}}}]});
        assert_eq!(
            err(rollback).1.as_deref(),
            Some("rollbacks[0].provider.timeout")
        );
    }

    #[test]
    fn provider_timeouts_the_reference_can_use_pass() {
        for ok in [
            json!({"type": "process", "path": "sh", "timeout": 1}),
            json!({"type": "process", "path": "sh", "timeout": 0.5}),
            json!({"type": "process", "path": "sh", "timeout": true}),
            json!({"type": "process", "path": "sh", "timeout": null}),
            json!({"type": "http", "url": "u", "timeout": "${t}"}),
            json!({"type": "http", "url": "u", "timeout": [1, 2]}),
            json!({"type": "http", "url": "u", "timeout": 3}),
        ] {
            let doc = with_provider(ok.clone());
            assert_eq!(
                validate(&doc, &crate::EmptyCatalog, &Overrides::default()),
                Ok(vec![]),
                "{ok}"
            );
        }
    }

    #[test]
    fn the_references_errors_come_before_the_timeout_check() {
        let doc = json!({"title": "t", "description": "d", "method": [
            {"type": "action", "name": "a", "provider": {"type": "process", "path": "sh", "timeout": "1s"}},
            {"type": "action", "name": "b", "provider": {"type": "process"}}]});
        assert_eq!(err(doc).0, "a process activity must have a path");
    }

    #[test]
    fn which_and_resolve() {
        assert!(which("sh").is_some());
        assert!(which("definitely-not-a-command-xyz").is_none());
        assert!(which("~/nothing").is_none());
        assert!(resolve_process_path("sh").is_some());
        assert!(resolve_process_path("/bin/sh").is_some());
    }

    #[test]
    fn py_str_formats() {
        assert_eq!(
            py_str(&json!([1, "a", null, true, 1.5])),
            "[1, 'a', None, True, 1.5]"
        );
        assert_eq!(py_str(&json!({"a": 1})), "{'a': 1}");
        assert_eq!(py_str(&json!("x")), "x");
    }

    #[test]
    fn join_rel_paths() {
        assert_eq!(join_rel("secrets", "k8s.t"), "secrets.k8s.t");
        assert_eq!(
            join_rel("configuration", "[\"a.b\"]"),
            "configuration[\"a.b\"]"
        );
        assert_eq!(join_rel("configuration", ""), "configuration");
    }

    fn runtime(python: Value) -> Result<Option<PythonRuntime>, PythonRuntimeError> {
        python_runtime(&json!({"title": "t", "runtime": {"python": python}}))
    }

    #[test]
    fn python_runtime_type_checks_and_messages_are_chaostoolkit_1_21s() {
        let message = |python: Value| runtime(python).unwrap_err().to_string();
        assert_eq!(
            message(json!({"dependencies": "requests"})),
            "runtime.python.dependencies must be a list"
        );
        assert_eq!(
            message(json!({"dependencies": [1]})),
            "runtime.python.dependencies must contain package names"
        );
        assert_eq!(
            message(json!({"dependencies": ["ok", "  "]})),
            "runtime.python.dependencies must contain package names"
        );
        assert_eq!(
            message(json!({"dependencies": ["\u{1f}"]})),
            "runtime.python.dependencies must contain package names"
        );
        assert_eq!(
            message(json!({"isolated": "yes"})),
            "runtime.python.isolated must be a boolean"
        );
        assert_eq!(
            message(json!({"isolated": null})),
            "runtime.python.isolated must be a boolean"
        );
        assert_eq!(
            message(json!({"version": 3.12})),
            "runtime.python.version must be a Python version"
        );
        assert_eq!(
            message(json!({"version": " "})),
            "runtime.python.version must be a Python version"
        );
        // The dependencies are checked first.
        assert_eq!(
            message(json!({"dependencies": {}, "isolated": 1})),
            "runtime.python.dependencies must be a list"
        );
    }

    #[test]
    fn python_runtime_without_anything_to_prepare_is_none() {
        for python in [
            json!({}),
            json!({"dependencies": null}),
            json!({"dependencies": []}),
            json!({"isolated": true}),
            json!({"version": null}),
            json!("3.12"),
            json!(["six"]),
        ] {
            assert_eq!(runtime(python.clone()), Ok(None), "{python}");
        }
        for experiment in [
            json!({}),
            json!({"runtime": "x"}),
            json!({"runtime": {"rollbacks": {"strategy": "always"}}}),
            json!([1]),
        ] {
            assert_eq!(python_runtime(&experiment), Ok(None), "{experiment}");
        }
    }

    #[test]
    fn python_runtime_dependencies_and_version_are_stripped_and_a_version_isolates() {
        assert_eq!(
            runtime(json!({"dependencies": [" six==1.16.0 ", "requests"]})),
            Ok(Some(PythonRuntime {
                dependencies: vec!["six==1.16.0".into(), "requests".into()],
                isolated: false,
                version: None,
            }))
        );
        assert_eq!(
            runtime(json!({"version": " 3.12\n", "isolated": false})),
            Ok(Some(PythonRuntime {
                dependencies: vec![],
                isolated: true,
                version: Some("3.12".into()),
            }))
        );
        assert_eq!(
            runtime(json!({"dependencies": ["six"], "isolated": true}))
                .map(|r| r.map(|r| r.isolated)),
            Ok(Some(true))
        );
    }

    #[test]
    fn exception_types_follow_the_place_of_the_error() {
        let t = |message: &str, path: &str| {
            ValidationError {
                message: message.into(),
                path: Some(path.into()),
            }
            .exception_type()
        };
        assert_eq!(t("experiment requires a title", ""), "InvalidExperiment");
        assert_eq!(
            t("hypothesis requires a title", "steady-state-hypothesis"),
            "InvalidExperiment"
        );
        assert_eq!(
            t(
                "path 'x' cannot be found, in activity 'a'",
                "method[0].provider.path"
            ),
            "InvalidActivity"
        );
        assert_eq!(
            t(
                "hypothesis probe must have a tolerance entry",
                "steady-state-hypothesis.probes[0]"
            ),
            "InvalidActivity"
        );
        assert_eq!(t("x", "rollbacks[1].provider"), "InvalidActivity");
        assert_eq!(
            t(
                "Configuration makes reference to an environment key that does not exist: X",
                "configuration.k"
            ),
            "InvalidExperiment"
        );
        assert_eq!(
            t("A control must have a `name` property", "controls[0]"),
            "InvalidControl"
        );
        assert_eq!(t("x", "method[0].controls[1]"), "InvalidControl");
        assert_eq!(
            t(
                "Control 'c' must have a module path",
                "controls[0].provider"
            ),
            "InvalidActivity"
        );
    }
}
