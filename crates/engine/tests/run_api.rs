//! The Run API end to end on real `process` activities: the events a subscriber hears, in
//! order, the journal file subscriber, and the exit codes.

use engine::api::{self, JournalFile, RunRequest};
use engine::events::{ActivityPhase, HypothesisPhase, RunEvent, Subscriber};
use engine::interrupt::Interrupter;
use experiment::Value;
use providers::registry::Registry;
use providers::BoxFuture;
use serde_json::json;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Subscriber for Recorder {
    fn on_event<'a>(&'a self, event: RunEvent<'a>) -> BoxFuture<'a, ()> {
        let line = match event {
            RunEvent::Started { experiment } => format!("started {}", experiment["title"]),
            RunEvent::Invalid { error } => format!("invalid {}", error.message),
            RunEvent::StartFailed { error } => format!("not started: {}", error.kind()),
            RunEvent::ExperimentStarted { experiment, .. } => {
                format!("running {}", experiment["title"])
            }
            RunEvent::ContinuousHypothesisStarted { frequency } => {
                format!("continuous every {frequency}")
            }
            RunEvent::Interrupted => "interrupted".into(),
            RunEvent::SignalExit => "signal exit".into(),
            RunEvent::HypothesisStarted { phase } => format!("hypothesis {}", name(phase)),
            RunEvent::HypothesisCompleted { phase, state } => {
                format!("hypothesis {} met={:?}", name(phase), state.met)
            }
            RunEvent::MethodStarted => "method".into(),
            RunEvent::MethodCompleted { runs } => format!("method done {}", runs.len()),
            RunEvent::ActivityStarted { phase, activity } => {
                format!("{phase:?} {}", activity["name"].as_str().unwrap_or("?"))
            }
            RunEvent::ActivityCompleted { phase, record } => {
                format!("{phase:?} {} done {:?}", record.name(), record.status)
            }
            RunEvent::RollbacksStarted => "rollbacks".into(),
            RunEvent::RollbacksCompleted { runs } => format!("rollbacks done {}", runs.len()),
            RunEvent::Finished {
                json, exit_code, ..
            } => {
                format!("finished {} exit={exit_code}", json["status"])
            }
        };
        self.0.lock().expect("lock").push(line);
        Box::pin(async {})
    }
}

fn name(phase: HypothesisPhase) -> String {
    match phase {
        HypothesisPhase::Before => "before".into(),
        HypothesisPhase::During(i) => format!("during#{i}"),
        HypothesisPhase::After => "after".into(),
    }
}

fn process(kind: &str, name: &str, path: &str) -> Value {
    json!({"type": kind, "name": name, "provider": {"type": "process", "path": path}})
}

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("shakedown-run-api-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn request(source: &std::path::Path) -> RunRequest {
    RunRequest {
        source: source.display().to_string(),
        settings: json!({}),
        overrides: Default::default(),
        hypothesis_strategy: None,
        rollback_strategy: None,
        dry: None,
        hypothesis_frequency: 1.0,
        fail_fast: false,
        validate: true,
        verify_tls: true,
        control_files: Vec::new(),
        strict: None,
        handle_signals: false,
        kill_switch: None,
    }
}

fn run(request: RunRequest, subscribers: Vec<Arc<dyn Subscriber>>) -> api::RunOutcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let registry_for = |_: &Value| Arc::new(Registry::new());
    rt.block_on(api::run(
        request,
        &registry_for,
        Arc::new(Interrupter::new()),
        subscribers,
    ))
}

#[test]
fn a_subscriber_hears_the_run_in_order_and_the_journal_file_is_written() {
    let dir = Dir::new("order");
    let mut probe = process("probe", "p", "true");
    probe["tolerance"] = json!(0);
    let experiment = json!({
        "title": "t", "description": "d",
        "steady-state-hypothesis": {"title": "h", "probes": [probe]},
        "method": [process("action", "a", "true"), process("action", "b", "false")],
        "rollbacks": [process("action", "r", "true")]
    });
    let source = dir.0.join("experiment.json");
    std::fs::write(&source, experiment.to_string()).expect("write");
    let journal_path = dir.0.join("journal.json");
    let recorder = Arc::new(Recorder::default());
    let mut req = request(&source);
    req.rollback_strategy = Some("always".into());
    let outcome = run(
        req,
        vec![
            Arc::new(JournalFile::new(journal_path.clone())),
            recorder.clone(),
        ],
    );
    assert_eq!(outcome.exit_code, 0);
    let events = recorder.0.lock().expect("lock").clone();
    let p = ActivityPhase::Hypothesis;
    let m = ActivityPhase::Method;
    let r = ActivityPhase::Rollback;
    let expected = vec![
        "started \"t\"".to_string(),
        "running \"t\"".into(),
        "hypothesis before".into(),
        format!("{p:?} p"),
        format!("{p:?} p done Some(Succeeded)"),
        "hypothesis before met=Some(true)".into(),
        "method".into(),
        format!("{m:?} a"),
        format!("{m:?} a done Some(Succeeded)"),
        format!("{m:?} b"),
        // A process that exits 1 is not a failed activity in the reference: its status is in the output.
        format!("{m:?} b done Some(Succeeded)"),
        "method done 2".into(),
        "hypothesis after".into(),
        format!("{p:?} p"),
        format!("{p:?} p done Some(Succeeded)"),
        "hypothesis after met=Some(true)".into(),
        "rollbacks".into(),
        format!("{r:?} r"),
        format!("{r:?} r done Some(Succeeded)"),
        "rollbacks done 1".into(),
        "finished \"completed\" exit=0".into(),
    ];
    assert_eq!(events, expected);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&journal_path).expect("journal written"))
            .expect("journal is JSON");
    assert_eq!(written["status"], "completed");
    assert_eq!(written["run"].as_array().map(Vec::len), Some(2));
    let journal = outcome.journal.expect("a journal");
    assert_eq!(journal.to_json()["rollbacks"], written["rollbacks"]);
}

#[test]
fn an_invalid_experiment_is_an_event_and_exit_code_one_without_a_journal() {
    let dir = Dir::new("invalid");
    let source = dir.0.join("experiment.json");
    std::fs::write(&source, json!({"title": "t"}).to_string()).expect("write");
    let recorder = Arc::new(Recorder::default());
    let outcome = run(request(&source), vec![recorder.clone()]);
    assert_eq!(outcome.exit_code, 1);
    assert!(outcome.journal.is_none());
    let events = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        events,
        [
            "started \"t\"",
            "invalid experiment requires a description",
            "not started: validation"
        ]
    );
}

#[test]
fn a_missing_source_names_it_and_exits_one() {
    let recorder = Arc::new(Recorder::default());
    let outcome = run(
        request(std::path::Path::new("/nonexistent/x.json")),
        vec![recorder.clone()],
    );
    assert_eq!(outcome.exit_code, 1);
    assert_eq!(*recorder.0.lock().expect("lock"), ["not started: source"]);
}

#[test]
fn a_deviated_run_exits_one() {
    let dir = Dir::new("deviated");
    let mut probe = process("probe", "p", "test");
    // The probe checks a file exists; the method removes it, so the after hypothesis fails.
    let marker = dir.0.join("marker");
    std::fs::write(&marker, "").expect("marker");
    probe["provider"]["arguments"] = json!(["-f", marker.display().to_string()]);
    probe["tolerance"] = json!(0);
    let mut remove = process("action", "remove", "rm");
    remove["provider"]["arguments"] = json!([marker.display().to_string()]);
    let experiment = json!({
        "title": "t", "description": "d",
        "steady-state-hypothesis": {"title": "h", "probes": [probe]},
        "method": [remove]
    });
    let source = dir.0.join("experiment.json");
    std::fs::write(&source, experiment.to_string()).expect("write");
    let outcome = run(request(&source), Vec::new());
    let journal = outcome.journal.expect("a journal");
    assert!(journal.deviated);
    assert_eq!(outcome.exit_code, 1);
}

/// A subscriber that cannot get ready (as an events file in a missing directory).
struct NeverReady;

impl Subscriber for NeverReady {
    fn ready(&self) -> Result<(), engine::events::NotReady> {
        Err(engine::events::NotReady(
            "cannot create the events file 'x': no".into(),
        ))
    }

    fn on_event<'a>(&'a self, _: RunEvent<'a>) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[test]
fn a_subscriber_that_is_not_ready_stops_a_valid_run_before_the_engine_starts() {
    let dir = Dir::new("not-ready");
    let experiment =
        json!({"title": "t", "description": "d", "method": [process("action", "a", "true")]});
    let source = dir.0.join("experiment.json");
    std::fs::write(&source, experiment.to_string()).expect("write");
    let journal_path = dir.0.join("journal.json");
    let recorder = Arc::new(Recorder::default());
    let outcome = run(
        request(&source),
        vec![
            recorder.clone(),
            Arc::new(NeverReady),
            Arc::new(JournalFile::new(journal_path.clone())),
        ],
    );
    assert_eq!(outcome.exit_code, 1);
    assert!(outcome.journal.is_none());
    assert!(!journal_path.exists());
    assert_eq!(
        *recorder.0.lock().expect("lock"),
        ["started \"t\"", "not started: subscriber"]
    );
}

#[test]
fn the_run_takes_over_the_configuration_validation_resolved() {
    use engine::run::{run_experiment, RunOptions};
    use engine::strategy::{HypothesisStrategy, RollbackStrategy};
    // Resolving this configuration again would fail: the variable is not set. The run uses
    // what validation resolved instead, and the action sees it.
    let mut echo = process("action", "echo", "echo");
    echo["provider"]["arguments"] = json!("${greeting}");
    let experiment = json!({
        "title": "t", "description": "d", "dry": null,
        "configuration": {"greeting": {"type": "env", "key": "SHAKEDOWN_TEST_NEVER_SET_VARIABLE"}},
        "method": [echo]
    });
    let mut resolved = experiment::Map::new();
    resolved.insert("greeting".into(), json!("resolved once"));
    let options = RunOptions {
        dry: None,
        hypothesis_strategy: HypothesisStrategy::Default,
        rollback_strategy: RollbackStrategy::Default,
        hypothesis_frequency: 1.0,
        fail_fast: false,
        overrides: Default::default(),
        resolved: Some((resolved, experiment::Map::new())),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let journal = rt
        .block_on(run_experiment(
            experiment,
            options,
            Arc::new(Registry::new()),
            &json!({}),
            Arc::new(Interrupter::new()),
            Default::default(),
        ))
        .expect("the run starts without resolving the configuration again");
    let output = &journal.to_json()["run"][0]["output"];
    assert_eq!(output["stdout"], "resolved once\n", "{output}");
}
