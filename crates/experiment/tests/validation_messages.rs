//! Table-driven checks of every validation rule in spec §2: the exact message (taken
//! from the reference, chaostoolkit 1.19.0 / chaostoolkit-lib 1.44.0, by running
//! `chaos validate` on the same document) and the field path we add.

use experiment::validate::{validate, ValidationError};
use experiment::vars::Overrides;
use experiment::{FunctionCatalog, FunctionLookup, Param, Signature, Value};

/// Stands in for the Python modules the reference imported: `os.path.exists(path)`.
struct Catalog;

impl FunctionCatalog for Catalog {
    fn lookup(&self, module: &str, func: &str) -> FunctionLookup {
        match (module, func) {
            ("os.path", "exists") => FunctionLookup::Found(Signature {
                params: vec![Param {
                    name: "path".into(),
                    default: None,
                    type_name: None,
                }],
                var_keyword: false,
            }),
            ("os.path", _) => FunctionLookup::FunctionNotFound,
            _ => FunctionLookup::ModuleNotFound,
        }
    }
    fn module_exists(&self, module: &str) -> bool {
        module == "os.path"
    }
}

struct Case {
    name: &'static str,
    doc: &'static str,
    /// Err((message, path)) or Ok(warning messages).
    expect: Result<&'static [&'static str], (&'static str, &'static str)>,
    /// Only the message prefix is compared (the regex engine's own error text differs).
    prefix: bool,
}

#[allow(non_snake_case)]
const fn Err(
    m: &'static str,
    p: &'static str,
) -> Result<&'static [&'static str], (&'static str, &'static str)> {
    Result::Err((m, p))
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "empty", doc: r#"{}"#, expect: Err("an empty experiment is not an experiment", ""), prefix: false },
    Case { name: "no_title", doc: r#"{"description": "d", "method": []}"#, expect: Err("experiment requires a title", ""), prefix: false },
    Case { name: "empty_title", doc: r#"{"title": "", "description": "d", "method": []}"#, expect: Err("experiment requires a title", "title"), prefix: false },
    Case { name: "no_description", doc: r#"{"title": "t", "method": []}"#, expect: Err("experiment requires a description", ""), prefix: false },
    Case { name: "tags_empty_item", doc: r#"{"title": "t", "description": "d", "tags": ["a", ""], "method": []}"#, expect: Err("experiment tags must be a non-empty string", "tags[1]"), prefix: false },
    Case { name: "tags_non_string", doc: r#"{"title": "t", "description": "d", "tags": ["a", 1], "method": []}"#, expect: Err("experiment tags must be a non-empty string", "tags[1]"), prefix: false },
    Case { name: "ext_no_name", doc: r#"{"title": "t", "description": "d", "extensions": [{"name": "x"}, {"foo": 1}], "method": []}"#, expect: Err("All extensions require a non-empty name", "extensions[1]"), prefix: false },
    Case { name: "ext_blank_name", doc: r#"{"title": "t", "description": "d", "extensions": [{"name": "  "}], "method": []}"#, expect: Err("All extensions require a non-empty name", "extensions[0].name"), prefix: false },
    Case { name: "config_env_missing", doc: r#"{"title": "t", "description": "d", "configuration": {"tok": {"type": "env", "key": "SHAKEDOWN_NOPE_1"}}, "method": []}"#, expect: Err("Configuration makes reference to an environment key that does not exist: SHAKEDOWN_NOPE_1", "configuration.tok"), prefix: false },
    Case { name: "secret_env_missing", doc: r#"{"title": "t", "description": "d", "secrets": {"s": {"tok": {"type": "env", "key": "SHAKEDOWN_NOPE_2", "default": "x"}}}, "method": []}"#, expect: Err("Secrets make reference to an environment key that does not exist: SHAKEDOWN_NOPE_2", "secrets.s.tok"), prefix: false },
    Case { name: "hypo_no_title", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {}, "method": []}"#, expect: Err("hypothesis requires a title", "steady-state-hypothesis"), prefix: false },
    Case { name: "hypo_probe_no_tolerance", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "u"}}]}, "method": []}"#, expect: Err("hypothesis probe must have a tolerance entry", "steady-state-hypothesis.probes[0]"), prefix: false },
    Case { name: "hypo_ref_no_tolerance", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"ref": "x"}]}, "method": []}"#, expect: Err("hypothesis probe must have a tolerance entry", "steady-state-hypothesis.probes[0]"), prefix: false },
    Case { name: "tol_float", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": 1.5}]}, "method": []}"#, expect: Err("hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries. It can also be a dictionary which is a probe activity definition that takes an argument called `value` with the value of the probe itself to be validated", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_null", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": null}]}, "method": []}"#, expect: Err("hypothesis probe tolerance must either be an integer, a string, a boolean or a pair of values for boundaries. It can also be a dictionary which is a probe activity definition that takes an argument called `value` with the value of the probe itself to be validated", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_unknown_type", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "nope"}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance type 'nope' is unsupported", "steady-state-hypothesis.probes[0].tolerance.type"), prefix: false },
    Case { name: "tol_no_type", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"a": 1}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance type 'None' is unsupported", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_regex_no_pattern", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "regex"}}]}, "method": []}"#, expect: Err("hypothesis regex probe tolerance must have a `pattern` key", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_regex_bad_type", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "regex", "pattern": 12}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance pattern 12 has an invalid type", "steady-state-hypothesis.probes[0].tolerance.pattern"), prefix: false },
    Case { name: "tol_regex_invalid", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "regex", "pattern": "a("}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance pattern a( seems invalid: ", "steady-state-hypothesis.probes[0].tolerance.pattern"), prefix: true },
    Case { name: "tol_jsonpath_no_path", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "jsonpath"}}]}, "method": []}"#, expect: Err("hypothesis jsonpath probe tolerance must have a `path` key", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_jsonpath_blank", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "jsonpath", "path": "  "}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance JSON path cannot be empty", "steady-state-hypothesis.probes[0].tolerance.path"), prefix: false },
    Case { name: "tol_jsonpath_invalid", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "jsonpath", "path": "foo"}}]}, "method": []}"#, expect: Err("hypothesis probe tolerance JSON path foo is invalid", "steady-state-hypothesis.probes[0].tolerance.path"), prefix: false },
    Case { name: "tol_range_missing", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "range"}}]}, "method": []}"#, expect: Err("hypothesis range probe tolerance must have a `range` key", "steady-state-hypothesis.probes[0].tolerance"), prefix: false },
    Case { name: "tol_range_not_list", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "range", "range": 5}}]}, "method": []}"#, expect: Err("hypothesis range must be a sequence", "steady-state-hypothesis.probes[0].tolerance.range"), prefix: false },
    Case { name: "tol_range_len", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "range", "range": [1, 2, 3]}}]}, "method": []}"#, expect: Err("hypothesis range sequence must be made of two values", "steady-state-hypothesis.probes[0].tolerance.range"), prefix: false },
    Case { name: "tol_range_lower", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "range", "range": ["a", 2]}}]}, "method": []}"#, expect: Err("hypothesis range lower boundary must be a number", "steady-state-hypothesis.probes[0].tolerance.range[0]"), prefix: false },
    Case { name: "tol_range_upper", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "range", "range": [1, "b"]}}]}, "method": []}"#, expect: Err("hypothesis range upper boundary must be a number", "steady-state-hypothesis.probes[0].tolerance.range[1]"), prefix: false },
    Case { name: "tol_probe_invalid", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "p", "provider": {"type": "http", "url": "http://x"}, "tolerance": {"type": "probe", "name": "tp", "provider": {"type": "http"}}}]}, "method": []}"#, expect: Err("a HTTP activity must have a URL", "steady-state-hypothesis.probes[0].tolerance.provider"), prefix: false },
    Case { name: "no_method", doc: r#"{"title": "t", "description": "d"}"#, expect: Err("an experiment requires a method, which can be empty for only checking steady state hypothesis ", "method"), prefix: false },
    Case { name: "empty_activity", doc: r#"{"title": "t", "description": "d", "method": [{}]}"#, expect: Err("empty activity is no activity", "method[0]"), prefix: false },
    Case { name: "ref_empty", doc: r#"{"title": "t", "description": "d", "method": [{"ref": ""}]}"#, expect: Err("reference to activity must be non-empty strings", "method[0].ref"), prefix: false },
    Case { name: "ref_non_string", doc: r#"{"title": "t", "description": "d", "method": [{"ref": 3}]}"#, expect: Err("reference to activity must be non-empty strings", "method[0].ref"), prefix: false },
    Case { name: "ref_not_found", doc: r#"{"title": "t", "description": "d", "method": [{"ref": "ghost"}]}"#, expect: Err("referenced activity 'ghost' could not be found in the experiment", "method[0].ref"), prefix: false },
    Case { name: "ref_found_in_hypo", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [{"type": "probe", "name": "pp", "provider": {"type": "http", "url": "http://x"}, "tolerance": 200}]}, "method": [{"ref": "pp"}]}"#, expect: Ok(&[]), prefix: false },
    Case { name: "no_type", doc: r#"{"title": "t", "description": "d", "method": [{"name": "a", "provider": {"type": "http", "url": "u"}}]}"#, expect: Err("an activity must have a type", "method[0]"), prefix: false },
    Case { name: "bad_type", doc: r#"{"title": "t", "description": "d", "method": [{"type": "thing", "name": "a", "provider": {"type": "http", "url": "http://x"}}]}"#, expect: Err("'thing' is not a supported activity type", "method[0].type"), prefix: false },
    Case { name: "no_name", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "provider": {"type": "http", "url": "u"}}]}"#, expect: Err("an activity must have a name", "method[0]"), prefix: false },
    Case { name: "no_provider", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a"}]}"#, expect: Err("an activity requires a provider", "method[0]"), prefix: false },
    Case { name: "provider_no_type", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"url": "u"}}]}"#, expect: Err("a provider must have a type", "method[0].provider"), prefix: false },
    Case { name: "provider_bad_type", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "ftp"}}]}"#, expect: Err("unknown provider type 'ftp'", "method[0].provider.type"), prefix: false },
    Case { name: "timeout_string", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "timeout": "3"}]}"#, expect: Err("activity timeout must be a number", "method[0].timeout"), prefix: false },
    Case { name: "timeout_bool_ok", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "timeout": true}]}"#, expect: Ok(&[]), prefix: false },
    Case { name: "pause_before_bad", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "pauses": {"before": "3"}}]}"#, expect: Err("activity before pause must be a number or a pattern to a variable from the configuration or secrets", "method[0].pauses.before"), prefix: false },
    Case { name: "pause_after_bad", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "pauses": {"after": "${x"}}]}"#, expect: Err("activity after pause must be a number or a pattern to a variable from the configuration or secrets", "method[0].pauses.after"), prefix: false },
    Case { name: "pause_ok", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "pauses": {"before": "${x}", "after": 2.5}}]}"#, expect: Ok(&[]), prefix: false },
    Case { name: "background_bad", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "background": "yes"}]}"#, expect: Err("activity background must be a boolean", "method[0].background"), prefix: false },
    Case { name: "python_no_module", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "func": "f"}}]}"#, expect: Err("a Python activity must have a module path", "method[0].provider"), prefix: false },
    Case { name: "python_no_func", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path"}}]}"#, expect: Err("a Python activity must have a function name", "method[0].provider"), prefix: false },
    Case { name: "python_module_missing", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "no_such_mod_xyz", "func": "f"}}]}"#, expect: Err("could not find Python module 'no_such_mod_xyz' in activity 'a'", "method[0].provider.module"), prefix: false },
    Case { name: "python_func_missing", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "nope"}}]}"#, expect: Err("The python module 'os.path' does not expose a function called 'nope' in action 'a'", "method[0].provider.func"), prefix: false },
    Case { name: "python_arg_missing", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "exists"}}]}"#, expect: Err("required argument 'path' is missing from activity 'exists'", "method[0].provider"), prefix: false },
    Case { name: "python_arg_unknown", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/", "extra": 1}}}]}"#, expect: Err("argument 'extra' is not part of the function signature in activity 'exists'", "method[0].provider.arguments.extra"), prefix: false },
    Case { name: "python_ok", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]}"#, expect: Ok(&[]), prefix: false },
    Case { name: "process_no_path", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process"}}]}"#, expect: Err("a process activity must have a path", "method[0].provider"), prefix: false },
    Case { name: "process_not_found", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "no-such-binary-xyz"}}]}"#, expect: Err("path 'no-such-binary-xyz' cannot be found, in activity 'a'", "method[0].provider.path"), prefix: false },
    Case { name: "process_tilde", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "~/bin/x"}}]}"#, expect: Err("path '~/bin/x' cannot be found, in activity 'a'", "method[0].provider.path"), prefix: false },
    Case { name: "process_ok", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "sh", "arguments": {"-c": "true"}}}]}"#, expect: Ok(&["Process arguments should now be a list to keep the ordering of the arguments. Dictionary arguments are deprecated for process activities."]), prefix: false },
    Case { name: "http_no_url", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http"}}]}"#, expect: Err("a HTTP activity must have a URL", "method[0].provider"), prefix: false },
    Case { name: "http_headers_list", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "u", "headers": ["a"]}}]}"#, expect: Err("a HTTP activities expect headers as a mapping", "method[0].provider.headers"), prefix: false },
    Case { name: "rollback_bad", doc: r#"{"title": "t", "description": "d", "method": [], "rollbacks": [{"type": "action"}]}"#, expect: Err("an activity must have a name", "rollbacks[0]"), prefix: false },
    Case { name: "rollback_ref_unchecked", doc: r#"{"title": "t", "description": "d", "method": [], "rollbacks": [{"ref": "ghost"}]}"#, expect: Ok(&[]), prefix: false },
    Case { name: "control_ref_missing", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"ref": "x"}]}"#, expect: Err("Control reference '{}' declaration cannot be found", "controls[0].ref"), prefix: false },
    Case { name: "control_pure_ref", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"name": "c", "provider": {"type": "python", "module": "os.path"}}, {"ref": "c"}]}"#, expect: Err("A control must have a `name` property", "controls[1]"), prefix: false },
    Case { name: "control_no_name", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"provider": {"type": "python", "module": "m"}}]}"#, expect: Err("A control must have a `name` property", "controls[0]"), prefix: false },
    Case { name: "control_no_provider", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"name": "c"}]}"#, expect: Err("Control 'c' must have a `provider` property", "controls[0]"), prefix: false },
    Case { name: "control_bad_scope", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"name": "c", "scope": "post", "provider": {"type": "python", "module": "os.path"}}]}"#, expect: Err("Control 'c' scope property must be 'before' or 'after' only", "controls[0].scope"), prefix: false },
    Case { name: "control_no_module", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"name": "c", "provider": {"type": "python"}}]}"#, expect: Err("Control 'c' must have a module path", "controls[0].provider"), prefix: false },
    Case { name: "control_module_missing_warns", doc: r#"{"title": "t", "description": "d", "method": [], "controls": [{"name": "c", "provider": {"type": "python", "module": "no_such_ctl_xyz"}}]}"#, expect: Ok(&["Could not find Python module 'no_such_ctl_xyz' in control 'c'. Did you install the Python module? The experiment will carry on running nonetheless."]), prefix: false },
    Case { name: "activity_control_no_name", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "http://x"}, "controls": [{"provider": {}}]}]}"#, expect: Err("A control must have a `name` property", "method[0].controls[0]"), prefix: false },
    Case { name: "order_title_before_config", doc: r#"{"description": "d", "configuration": {"tok": {"type": "env", "key": "SHAKEDOWN_NOPE_1"}}}"#, expect: Err("experiment requires a title", ""), prefix: false },
    Case { name: "order_config_before_hypo", doc: r#"{"title": "t", "description": "d", "configuration": {"tok": {"type": "env", "key": "SHAKEDOWN_NOPE_1"}}, "steady-state-hypothesis": {}}"#, expect: Err("Configuration makes reference to an environment key that does not exist: SHAKEDOWN_NOPE_1", "configuration.tok"), prefix: false },
    Case { name: "order_hypo_before_method", doc: r#"{"title": "t", "description": "d", "steady-state-hypothesis": {}}"#, expect: Err("hypothesis requires a title", "steady-state-hypothesis"), prefix: false },
    Case { name: "order_rollbacks_before_controls", doc: r#"{"title": "t", "description": "d", "method": [], "rollbacks": [{}], "controls": [{"foo": 1}]}"#, expect: Err("empty activity is no activity", "rollbacks[0]"), prefix: false },
    Case { name: "deprecated_args", doc: r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "process", "path": "sh", "arguments": {"-c": "true"}}}], "secrets": {"s": {"v": {"type": "vault", "key": "k"}}}}"#, expect: Ok(&["Process arguments should now be a list to keep the ordering of the arguments. Dictionary arguments are deprecated for process activities.", "Vault secrets must now specify the `path` property. The `key` property is now a key of a Vault secret rather than the actual path. For instance: {'my-key': {'type': 'vault', 'key': 'foo'}} now becomes: {'my-key': {'type': 'vault', 'path': 'foo'}}"]), prefix: false },
];

fn run(doc: &str) -> Result<Vec<experiment::validate::Warning>, ValidationError> {
    std::env::remove_var("SHAKEDOWN_NOPE_1");
    std::env::remove_var("SHAKEDOWN_NOPE_2");
    let v: Value = serde_json::from_str(doc).unwrap();
    validate(&v, &Catalog, &Overrides::default())
}

#[test]
fn reference_messages_and_paths() {
    let mut failures = Vec::new();
    for c in CASES {
        let got = run(c.doc);
        match (&c.expect, &got) {
            (Result::Err((msg, path)), Result::Err(e)) => {
                let msg_ok = if c.prefix {
                    e.message.starts_with(msg)
                } else {
                    e.message == *msg
                };
                if !msg_ok || e.path.as_deref() != Some(*path) {
                    failures.push(format!("{}: want {msg:?} at {path:?}, got {e:?}", c.name));
                }
            }
            (Ok(warns), Ok(w)) => {
                let got: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
                if got != *warns {
                    failures.push(format!("{}: want warnings {warns:?}, got {got:?}", c.name));
                }
            }
            _ => failures.push(format!("{}: want {:?}, got {got:?}", c.name, c.expect)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Documents on which the reference crashes with a traceback: we report a plain error
/// with a path instead (listed in docs/compatibility-experiment.md).
#[test]
fn crashes_in_the_reference_are_plain_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"["a"]"#, "an experiment must be a mapping, not a list", ""),
        (r#"{"title": "t", "description": "d", "method": "abc"}"#, "an experiment's method must be a list of activities, not a string", "method"),
        (r#"{"title": "t", "description": "d", "method": ["x"]}"#, "an activity must be a mapping, not a string", "method[0]"),
        (r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": "http"}]}"#, "an activity provider must be a mapping, not a string", "method[0].provider"),
        (r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "u"}, "pauses": {"before": [1]}}]}"#, "activity before pause must be a number or a pattern to a variable from the configuration or secrets", "method[0].pauses.before"),
        (r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "http", "url": "u"}, "pauses": 3}]}"#, "activity pauses must be a mapping, not a number", "method[0].pauses"),
        (r#"{"title": "t", "description": "d", "method": [{"type": "action", "name": "a", "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": null}}]}"#, "the arguments of a Python activity must be a mapping, not null", "method[0].provider.arguments"),
        (r#"{"title": "t", "description": "d", "steady-state-hypothesis": [], "method": []}"#, "the steady state hypothesis must be a mapping, not a list", "steady-state-hypothesis"),
        (r#"{"title": "t", "description": "d", "method": [], "rollbacks": {"a": 1}}"#, "rollbacks must be a list, not a mapping", "rollbacks"),
        (r#"{"title": "t", "description": "d", "method": [], "controls": ["c"]}"#, "a control must be a mapping, not a string", "controls[0]"),
        (r#"{"title": "t", "description": "d", "method": [], "configuration": {"a": {"type": "env"}}}"#, "Configuration 'a' is of type env but has no `key` naming the environment variable", "configuration.a"),
        (r#"{"title": "t", "description": "d", "method": [], "configuration": {"a.b": {"type": "env", "key": "SHAKEDOWN_NOPE_1"}}}"#, "Configuration makes reference to an environment key that does not exist: SHAKEDOWN_NOPE_1", "configuration[\"a.b\"]"),
    ];
    for (doc, msg, path) in cases {
        let e = run(doc).unwrap_err();
        assert_eq!(
            (e.message.as_str(), e.path.as_deref()),
            (*msg, Some(*path)),
            "{doc}"
        );
    }
}

#[test]
fn overrides_satisfy_missing_environment() {
    std::env::remove_var("SHAKEDOWN_NOPE_3");
    let v: Value = serde_json::from_str(
        r#"{"title": "t", "description": "d", "method": [], "configuration": {"tok": {"type": "env", "key": "SHAKEDOWN_NOPE_3"}}}"#,
    )
    .unwrap();
    assert!(validate(&v, &Catalog, &Overrides::default()).is_err());
    let (k, val) = experiment::vars::parse_var("tok=abc").unwrap();
    let o = experiment::vars::merge(vec![], vec![(k, val)]);
    assert!(validate(&v, &Catalog, &o).is_ok());
}

/// The CLI prints the error path's position: check that YAML positions line up with
/// validation paths.
#[test]
fn yaml_error_path_has_a_position() {
    let src = "title: t\ndescription: d\nmethod:\n  - type: action\n    name: a\n    provider:\n      type: http\n      headers: [x]\n      url: http://x\n";
    let loaded = experiment::load::parse(src, experiment::load::Format::Yaml, "e.yaml").unwrap();
    let e = validate(&loaded.value, &Catalog, &Overrides::default()).unwrap_err();
    assert_eq!(e.message, "a HTTP activities expect headers as a mapping");
    let path = e.path.unwrap();
    assert_eq!(path, "method[0].provider.headers");
    assert_eq!(loaded.positions.get(&path), Some((8, 7)));
    // a missing key points at the mapping that lacks it
    let src =
        "title: t\ndescription: d\nmethod:\n  - type: action\n    provider: {type: http, url: u}\n";
    let loaded = experiment::load::parse(src, experiment::load::Format::Yaml, "e.yaml").unwrap();
    let e = validate(&loaded.value, &Catalog, &Overrides::default()).unwrap_err();
    assert_eq!(e.message, "an activity must have a name");
    assert_eq!(
        loaded.positions.nearest(e.path.as_deref().unwrap()),
        Some((4, 5))
    );
}
