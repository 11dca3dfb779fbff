//! The Python bridge beyond what the differential tier compares: a worker that dies, an
//! answer too large to send, a background activity beside a foreground one, a bridged
//! tolerance probe, no interpreter at all, forcing a native module to Python, and the
//! bridged extensions `chaos info extensions` lists.

#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;

use reference::{strip_ansi, workspace_root};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn modules() -> PathBuf {
    workspace_root().join("crates/cli/tests/bridge_modules")
}

struct Run {
    code: i32,
    log: String,
    journal: Value,
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("bridge")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn chaos(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    command
        .current_dir(dir)
        .args(["--no-log-file", "--settings", "none.yaml"])
        .args(args)
        .env("PYTHONPATH", modules())
        .env_remove("CHAOS_PYTHON")
        .env_remove("CHAOS_PYTHON_MODULES");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("chaos runs");
    let journal = std::fs::read_to_string(dir.join("journal.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        log: strip_ansi(&String::from_utf8_lossy(&out.stderr)),
        journal,
    }
}

fn python(kind: &str, name: &str, func: &str, arguments: Value) -> Value {
    json!({"type": kind, "name": name,
           "provider": {"type": "python", "module": "bridgetest", "func": func, "arguments": arguments}})
}

fn write_experiment(dir: &Path, experiment: Value) {
    std::fs::write(dir.join("experiment.json"), experiment.to_string()).expect("write");
}

fn experiment(method: Vec<Value>) -> Value {
    json!({"title": "t", "description": "d", "method": method})
}

#[test]
fn a_worker_that_dies_fails_its_call_and_the_next_call_starts_a_new_one() {
    let dir = scratch("dies");
    write_experiment(
        &dir,
        experiment(vec![
            python("probe", "first", "ok", json!({})),
            python("action", "dies", "die", json!({})),
            python("probe", "after", "ok", json!({})),
        ]),
    );
    let run = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(run.code, 0, "{}", run.log);
    let runs = run.journal["run"].as_array().expect("runs");
    assert_eq!(runs[1]["status"], "failed");
    let failure = runs[1]["exception"][0].as_str().unwrap_or("");
    assert!(failure.contains("Python bridge worker"), "{failure}");
    assert!(failure.contains("exited"), "{failure}");
    assert_eq!(runs[2]["status"], "succeeded", "a new worker answers");
    assert_ne!(runs[0]["output"]["pid"], runs[2]["output"]["pid"]);
}

#[test]
fn an_answer_too_large_to_send_fails_the_activity_with_a_clear_message() {
    let dir = scratch("huge");
    write_experiment(
        &dir,
        experiment(vec![python("probe", "huge", "huge", json!({}))]),
    );
    let run = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(run.code, 0, "{}", run.log);
    let record = &run.journal["run"][0];
    assert_eq!(record["status"], "failed");
    assert!(
        record["exception"][0]
            .as_str()
            .unwrap_or("")
            .contains("larger than"),
        "{record}"
    );
}

#[test]
fn a_background_python_activity_runs_beside_a_foreground_one() {
    let dir = scratch("background");
    let marker = dir.join("marker").display().to_string();
    let mut background = python(
        "action",
        "bg",
        "slow",
        json!({"seconds": 1.5, "marker": marker}),
    );
    background["background"] = json!(true);
    write_experiment(
        &dir,
        experiment(vec![
            background,
            python("probe", "fg", "slow", json!({"seconds": 0.2})),
        ]),
    );
    let run = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(run.code, 0, "{}", run.log);
    let runs = run.journal["run"].as_array().expect("runs");
    let named = |n: &str| {
        runs.iter()
            .find(|r| r["activity"]["name"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The foreground probe ended while the background one was still running: they overlap.
    let fg_end = named("fg")["end"].as_str().unwrap_or("").to_string();
    let bg_end = named("bg")["end"].as_str().unwrap_or("").to_string();
    assert!(fg_end < bg_end, "fg ended {fg_end}, bg ended {bg_end}");
    assert_eq!(
        std::fs::read_to_string(dir.join("marker")).unwrap_or_default(),
        "done\n"
    );
}

#[test]
fn a_bridged_tolerance_probe_judges_the_output() {
    let dir = scratch("tolerance");
    let probe = |threshold: i64| {
        let mut p = python("probe", "value", "ok", json!({"value": 5}));
        p["tolerance"] = json!({"type": "probe", "name": "above", "provider": {
            "type": "python", "module": "bridgetest", "func": "above", "arguments": {"threshold": threshold}}});
        p
    };
    let mut exp = experiment(vec![]);
    exp["steady-state-hypothesis"] = json!({"title": "h", "probes": [probe(1)]});
    write_experiment(&dir, exp.clone());
    let met = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(met.code, 0, "{}", met.log);
    assert_eq!(
        met.journal["steady_states"]["before"]["steady_state_met"],
        true
    );
    exp["steady-state-hypothesis"] = json!({"title": "h", "probes": [probe(9)]});
    write_experiment(&dir, exp);
    let not_met = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(
        not_met.journal["steady_states"]["before"]["steady_state_met"],
        false
    );
}

#[test]
fn without_an_interpreter_validation_names_the_module_and_how_to_enable_the_bridge() {
    let dir = scratch("no-python");
    write_experiment(
        &dir,
        experiment(vec![python("probe", "p", "ok", json!({}))]),
    );
    for args in [
        vec![
            "--python",
            "/nonexistent/python3",
            "validate",
            "experiment.json",
        ],
        vec!["run", "--python", "/nonexistent/python3", "experiment.json"],
    ] {
        let run = chaos(&dir, &args, &[]);
        assert_eq!(run.code, 1, "{}", run.log);
        assert!(
            run.log
                .contains("could not find Python module 'bridgetest' in activity 'p'"),
            "{}",
            run.log
        );
        assert!(
            run.log.contains("/nonexistent/python3: not found"),
            "{}",
            run.log
        );
        assert!(run.log.contains("--python or CHAOS_PYTHON"), "{}", run.log);
        assert!(!run.log.contains("panicked"), "{}", run.log);
    }
    // CHAOS_PYTHON is honoured the same way.
    let run = chaos(
        &dir,
        &["validate", "experiment.json"],
        &[("CHAOS_PYTHON", "/nonexistent/py")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.log.contains("/nonexistent/py: not found"),
        "{}",
        run.log
    );
}

#[test]
fn a_python_binding_error_is_the_references_message() {
    let dir = scratch("binding");
    write_experiment(
        &dir,
        experiment(vec![python(
            "action",
            "sum",
            "bad_signature",
            json!({"a": 1}),
        )]),
    );
    let run = chaos(&dir, &["validate", "experiment.json"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.log
            .contains("required argument 'b' is missing from activity 'bad_signature'"),
        "{}",
        run.log
    );
}

#[test]
fn chaos_python_modules_sends_a_native_module_to_python() {
    // `os.makedirs` is native (drivers-builtin); forced to Python, Python's own runs it.
    let dir = scratch("forced");
    let makedirs = |name: &str| {
        json!({"type": "action", "name": "mkdir", "provider": {
            "type": "python", "module": "os", "func": "makedirs", "arguments": {"name": name}}})
    };
    write_experiment(&dir, experiment(vec![makedirs("by-python")]));
    let forced = chaos(
        &dir,
        &["--verbose", "run", "experiment.json"],
        &[("CHAOS_PYTHON_MODULES", "os")],
    );
    assert_eq!(forced.code, 0, "{}", forced.log);
    assert_eq!(
        forced.journal["run"][0]["status"], "succeeded",
        "{}",
        forced.log
    );
    assert!(dir.join("by-python").is_dir());
    assert!(
        forced.log.contains("Started the Python bridge worker"),
        "{}",
        forced.log
    );
    write_experiment(&dir, experiment(vec![makedirs("natively")]));
    let native = chaos(&dir, &["--verbose", "run", "experiment.json"], &[]);
    assert_eq!(
        native.journal["run"][0]["status"], "succeeded",
        "{}",
        native.log
    );
    assert!(dir.join("natively").is_dir());
    assert!(
        !native.log.contains("Started the Python bridge worker"),
        "{}",
        native.log
    );
}

#[test]
fn a_run_with_no_python_module_never_starts_an_interpreter() {
    let dir = scratch("no-bridge");
    write_experiment(
        &dir,
        experiment(vec![
            json!({"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}),
        ]),
    );
    let run = chaos(
        &dir,
        &["--verbose", "run", "experiment.json"],
        &[("CHAOS_PYTHON", "/nonexistent/py")],
    );
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(!run.log.contains("Python bridge"), "{}", run.log);
}

#[test]
fn info_extensions_lists_the_interpreters_chaostoolkit_distributions() {
    let venv_python = workspace_root().join("target/reference-venv/bin/python");
    assert!(
        venv_python.exists(),
        "{} is missing: run scripts/reference-venv",
        venv_python.display()
    );
    let dir = scratch("info");
    // A distribution that declares no licence, as chaostoolkit 1.21.4 shows it: `Unknown`.
    let site = dir.join("site");
    let dist = site.join("chaostoolkit_nolicence-0.1.0.dist-info");
    std::fs::create_dir_all(&dist).expect("dist-info");
    std::fs::write(
        dist.join("METADATA"),
        "Metadata-Version: 2.1\nName: chaostoolkit-nolicence\nVersion: 0.1.0\nSummary: none\n",
    )
    .expect("METADATA");
    let out = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .current_dir(&dir)
        .args(["--no-log-file", "--python"])
        .arg(&venv_python)
        .args(["info", "extensions"])
        .env("PYTHONPATH", &site)
        .output()
        .expect("chaos runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // Native packages first, then what the interpreter has that is not native.
    assert!(stdout.contains("chaostoolkit-kubernetes"), "{stdout}");
    let bridged: Vec<&str> = stdout.lines().filter(|l| l.ends_with("(Python)")).collect();
    assert!(!bridged.is_empty(), "{stdout}");
    assert!(
        bridged.iter().all(|l| l.starts_with("chaostoolkit-")),
        "{stdout}"
    );
    let unlicensed = bridged
        .iter()
        .find(|l| l.starts_with("chaostoolkit-nolicence"))
        .unwrap_or_else(|| panic!("the PYTHONPATH distribution is listed: {stdout}"));
    assert!(unlicensed.contains(" Unknown "), "{unlicensed}");
}

#[test]
fn declared_controls_and_channels_nobody_can_answer_are_warnings_that_name_them() {
    let dir = scratch("unanswered");
    write_experiment(
        &dir,
        experiment(vec![
            json!({"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}),
        ]),
    );
    std::fs::write(
        dir.join("none.yaml"),
        "controls:\n  ghost:\n    provider: {type: python, module: no_such_control_module}\n\
         notifications:\n  - type: slack\n  - {events: [run-started]}\n  - type: plugin\n  - type: plugin\n    module: no_such_plugin_module\n",
    )
    .expect("settings");
    let run = chaos(&dir, &["run", "experiment.json"], &[]);
    assert_eq!(run.code, 0, "{}", run.log);
    for expected in [
        "WARNING] Could not find Python module 'no_such_control_module' in control 'ghost'",
        "WARNING] notification channel type 'slack' is not supported (use http or plugin); run-started was not sent to it",
        "WARNING] a notification channel has no type (use http or plugin); run-started was not sent to it",
        "WARNING] A notification plugin channel has no `module`; run-completed was not sent to it",
        "WARNING] could not find Python plugin 'no_such_plugin_module' for notification; run-completed was not sent to it",
    ] {
        assert!(run.log.contains(expected), "missing {expected:?} in\n{}", run.log);
    }
}

#[test]
fn a_missing_control_module_is_named_once_with_or_without_validation() {
    let dir = scratch("missing-control");
    let mut action =
        json!({"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}});
    action["controls"] = json!([{"name": "local-ghost", "provider": {"type": "python", "module": "no_such_local_control"}}]);
    let mut exp = experiment(vec![action.clone(), action]);
    exp["controls"] = json!([{"name": "ghost", "provider": {"type": "python", "module": "no_such_control_module"}}]);
    write_experiment(&dir, exp);
    let warning = |module: &str, name: &str| {
        format!("WARNING] Could not find Python module '{module}' in control '{name}'")
    };
    // Validation names each declaration, as the reference's does (the local control is
    // declared twice); without validation the run names each control once, not per hook.
    for (args, local_times) in [
        (vec!["run", "experiment.json"], 2),
        (vec!["run", "--no-validation", "experiment.json"], 1),
    ] {
        let run = chaos(&dir, &args, &[]);
        assert_eq!(run.code, 0, "{}", run.log);
        for (module, name, times) in [
            ("no_such_control_module", "ghost", 1),
            ("no_such_local_control", "local-ghost", local_times),
        ] {
            let count = run.log.matches(&warning(module, name)).count();
            assert_eq!(
                count, times,
                "{args:?}: {module} named {count} times in\n{}",
                run.log
            );
        }
    }
}
