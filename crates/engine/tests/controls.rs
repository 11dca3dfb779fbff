//! Control hooks at every level, observed through a native control that records each call.
//! Activities are real `process` providers (`true`).

use engine::controls::{Changes, ConfigureCall, Control, ControlError, HookCall, When};
use engine::interrupt::Interrupter;
use engine::journal::Status;
use engine::run::{run_experiment, RunOptions};
use engine::strategy::{HypothesisStrategy, RollbackStrategy};
use experiment::Value;
use providers::registry::Registry;
use providers::BoxFuture;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// Records `<hook> <control name>` for every call; interrupts when told to.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<String>>,
    interrupt_before_activity: Option<String>,
}

impl Recorder {
    fn push(&self, entry: String) {
        self.calls.lock().expect("recorder lock").push(entry);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("recorder lock").clone()
    }
}

impl Control for Recorder {
    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        self.push(format!("configure {}", call.name));
        Box::pin(async { Ok(()) })
    }
    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        let result = match call.when {
            When::Before => {
                self.push(format!("before_{} {}", call.level.name(), call.name));
                match (&self.interrupt_before_activity, call.context.get("name")) {
                    (Some(target), Some(name)) if name == target.as_str() => {
                        Err(ControlError::Interrupt(format!("stopped before {target}")))
                    }
                    _ => Ok(Changes::default()),
                }
            }
            When::After => {
                assert!(call.state.is_some(), "after hooks get a state");
                self.push(format!("after_{} {}", call.level.name(), call.name));
                Ok(Changes::default())
            }
        };
        Box::pin(async move { result })
    }
    fn cleanup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, ()> {
        self.push(format!("cleanup {name}"));
        Box::pin(async {})
    }
}

fn process(kind: &str, name: &str) -> Value {
    json!({"type": kind, "name": name, "provider": {"type": "process", "path": "true"}})
}

fn experiment(controls: Value) -> Value {
    let mut probe = process("probe", "p");
    probe["tolerance"] = json!(0);
    json!({
        "title": "t", "description": "d",
        "controls": controls,
        "steady-state-hypothesis": {"title": "h", "probes": [probe]},
        "method": [process("action", "a")],
        "rollbacks": [process("action", "r")],
        "dry": null
    })
}

fn run(experiment: Value, settings: Value, recorder: Arc<Recorder>) -> engine::journal::Journal {
    let mut registry = Registry::new();
    registry.register_control("test.record", recorder);
    let options = RunOptions {
        dry: None,
        hypothesis_strategy: HypothesisStrategy::Default,
        rollback_strategy: RollbackStrategy::Default,
        hypothesis_frequency: 1.0,
        fail_fast: false,
        overrides: Default::default(),
        resolved: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run_experiment(
        experiment,
        options,
        Arc::new(registry),
        &settings,
        Arc::new(Interrupter::new()),
        Default::default(),
    ))
    .expect("the run starts")
}

fn control(name: &str) -> Value {
    json!({"name": name, "provider": {"type": "python", "module": "test.record"}})
}

#[test]
fn global_and_top_level_controls_see_every_level_in_order() {
    let recorder = Arc::new(Recorder::default());
    let settings =
        json!({"controls": {"G": {"provider": {"type": "python", "module": "test.record"}}}});
    let journal = run(
        experiment(json!([control("T")])),
        settings,
        recorder.clone(),
    );
    assert_eq!(journal.status, Some(Status::Completed));
    let pair = |hook: &str| vec![format!("{hook} G"), format!("{hook} T")];
    let hypothesis = [
        pair("before_hypothesis"),
        pair("before_activity"),
        pair("after_activity"),
        pair("after_hypothesis"),
    ]
    .concat();
    let expected = [
        vec!["configure G".to_string(), "configure T".to_string()],
        pair("before_experiment"),
        hypothesis.clone(),
        pair("before_method"),
        pair("before_activity"),
        pair("after_activity"),
        pair("after_method"),
        hypothesis,
        pair("before_rollback"),
        pair("before_activity"),
        pair("after_activity"),
        pair("after_rollback"),
        pair("after_experiment"),
        vec!["cleanup T".to_string(), "cleanup G".to_string()],
    ]
    .concat();
    assert_eq!(recorder.calls(), expected);
}

#[test]
fn scope_automatic_and_local_controls() {
    let recorder = Arc::new(Recorder::default());
    let mut before_only = control("B");
    before_only["scope"] = json!("before");
    let mut manual = control("M");
    manual["automatic"] = json!(false);
    let mut exp = experiment(json!([before_only, manual]));
    // The method action brings its own control and a ref to the manual top-level one.
    exp["method"][0]["controls"] = json!([control("L"), {"ref": "M"}]);
    run(exp, json!({}), recorder.clone());
    let calls = recorder.calls();
    assert!(
        calls.contains(&"before_experiment M".to_string()),
        "manual controls apply to the experiment"
    );
    assert!(
        !calls.contains(&"before_hypothesis M".to_string()),
        "…but not automatically below it"
    );
    assert!(
        calls
            .iter()
            .all(|c| !c.starts_with("after_") || !c.ends_with(" B")),
        "scope before: no after hooks"
    );
    let around_a: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("before_activity"))
        .collect();
    assert!(around_a.contains(&&"before_activity L".to_string()));
    assert!(
        around_a.contains(&&"before_activity M".to_string()),
        "a ref pulls the top-level control in"
    );
}

#[test]
fn a_control_can_interrupt_the_run() {
    let recorder = Arc::new(Recorder {
        interrupt_before_activity: Some("a".into()),
        ..Default::default()
    });
    let journal = run(
        experiment(json!([control("T")])),
        json!({}),
        recorder.clone(),
    );
    assert_eq!(journal.status, Some(Status::Interrupted));
    assert!(
        journal.run.is_empty(),
        "the interrupted action never started"
    );
    assert!(
        journal.rollbacks.is_empty(),
        "the default strategy plays no rollbacks after an interruption"
    );
    assert!(
        recorder.calls().contains(&"cleanup T".to_string()),
        "cleanup still runs"
    );
}

#[test]
fn controls_without_a_native_module_are_skipped() {
    let recorder = Arc::new(Recorder::default());
    let unknown =
        json!([{"name": "x", "provider": {"type": "python", "module": "chaosnothing.control"}}]);
    let journal = run(experiment(unknown), json!({}), recorder.clone());
    assert_eq!(journal.status, Some(Status::Completed));
    assert!(recorder.calls().is_empty());
}
