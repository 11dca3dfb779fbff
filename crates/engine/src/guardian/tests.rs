//! The guardian's decisions and the journal it writes; the whole take-over (a real run
//! killed at random points) is tested in `crates/cli/tests/guardian.rs`.

use super::*;

fn plan(strategy: &str, rollbacks: usize) -> Plan {
    let rollbacks: Vec<Value> = (0..rollbacks)
        .map(|i| json!({"type": "action", "name": format!("r{i}")}))
        .collect();
    Plan {
        experiment: json!({"title": "t", "rollbacks": rollbacks}),
        configuration: Map::new(),
        secrets: Map::new(),
        strategy: RollbackStrategy::parse(strategy),
        journal_path: None,
        python: "python3".into(),
        runner: 42,
        log: None,
        controls: Vec::new(),
    }
}

fn watch(messages: &[Value]) -> Watch {
    let mut watch = Watch::default();
    for m in messages {
        watch.apply(m);
    }
    watch
}

fn play(indices: &[usize]) -> Decision {
    Decision::Play(indices.to_vec())
}

#[test]
fn a_run_killed_in_its_method_is_rolled_back_by_default_as_an_aborted_run_would_be() {
    let w = watch(&[json!({"method": true})]);
    assert_eq!(decide(&w, &plan("default", 2)), play(&[0, 1]));
    assert_eq!(decide(&w, &plan("always", 2)), play(&[0, 1]));
    assert!(matches!(decide(&w, &plan("never", 2)), Decision::Skip(_)));
    assert!(matches!(
        decide(&w, &plan("deviated", 2)),
        Decision::Skip(_)
    ));
    assert!(matches!(decide(&w, &plan("bogus", 2)), Decision::Skip(_)));
}

#[test]
fn before_the_method_nothing_is_played_unless_the_strategy_is_always() {
    let w = watch(&[]);
    let Decision::Skip(reason) = decide(&w, &plan("default", 1)) else {
        panic!("played");
    };
    assert!(reason.contains("no activity of the method"), "{reason}");
    assert_eq!(decide(&w, &plan("always", 1)), play(&[0]));
}

#[test]
fn a_missed_hypothesis_before_decides_as_the_run_does() {
    // Missed by tolerance: the run's status is completed, and the default plays them.
    let tolerance = watch(&[json!({"before_missed": {"failed_probe": false}})]);
    assert_eq!(decide(&tolerance, &plan("default", 1)), play(&[0]));
    // Missed because a probe failed: failed, and the default does not.
    let failed = watch(&[json!({"before_missed": {"failed_probe": true}})]);
    assert!(matches!(
        decide(&failed, &plan("default", 1)),
        Decision::Skip(_)
    ));
    assert_eq!(decide(&failed, &plan("always", 1)), play(&[0]));
}

#[test]
fn a_deviated_run_is_rolled_back_under_the_deviated_strategy() {
    let w = watch(&[
        json!({"method": true}),
        json!({"after_missed": {"failed_probe": false}}),
    ]);
    assert!(w.deviated);
    assert_eq!(decide(&w, &plan("deviated", 1)), play(&[0]));
    assert_eq!(decide(&w, &plan("default", 1)), play(&[0]));
}

#[test]
fn an_interrupted_run_follows_the_strategy_and_sigusr2_plays_nothing() {
    let interrupted = watch(&[
        json!({"method": true}),
        json!({"interrupted": {"ungraceful": false}}),
    ]);
    let Decision::Skip(reason) = decide(&interrupted, &plan("default", 1)) else {
        panic!("played");
    };
    assert!(reason.contains("interrupted"), "{reason}");
    assert_eq!(decide(&interrupted, &plan("always", 1)), play(&[0]));
    let usr2 = watch(&[
        json!({"method": true}),
        json!({"interrupted": {"ungraceful": true}}),
        json!({"rollbacks": true}),
    ]);
    assert!(matches!(
        decide(&usr2, &plan("always", 1)),
        Decision::Skip(_)
    ));
}

#[test]
fn rollbacks_the_run_started_are_finished_from_the_first_unfinished_one() {
    let w = watch(&[
        json!({"method": true}),
        json!({"rollbacks": true}),
        json!({"rollback_done": 0}),
        json!({"rollback_done": 2}),
    ]);
    // Even under a strategy that would not have played them: the run had decided.
    assert_eq!(decide(&w, &plan("never", 4)), play(&[1, 3]));
    let all_done = watch(&[json!({"rollbacks": true}), json!({"rollback_done": 0})]);
    assert_eq!(decide(&all_done, &plan("default", 1)), play(&[]));
}

#[test]
fn malformed_messages_change_nothing() {
    let w = watch(&[
        json!("method"),
        json!({"rollback_done": "x"}),
        json!({"plan": {"no": "experiment"}}),
        json!({"unknown": 1}),
    ]);
    assert!(!w.method && w.plan.is_none() && w.rollbacks_done.is_empty());
}

#[test]
fn a_plan_survives_its_message() {
    let mut w = Watch::default();
    w.apply(&json!({"plan": {
        "experiment": {"title": "t", "rollbacks": [{"name": "r"}]},
        "configuration": {"a": 1},
        "secrets": {"s": {"k": "v"}},
        "rollback_strategy": "always",
        "journal_path": "/tmp/j.json",
        "python": "/usr/bin/python3",
        "runner": 7,
        "log": {"verbose": true},
        "controls": ["slack", "metrics"],
    }}));
    let plan = w.plan.expect("a plan");
    assert_eq!(plan.rollbacks().len(), 1);
    assert_eq!(plan.strategy, RollbackStrategy::Always);
    assert_eq!(plan.journal_path.as_deref(), Some(Path::new("/tmp/j.json")));
    assert_eq!((plan.runner, plan.python.as_str()), (7, "/usr/bin/python3"));
    assert_eq!(plan.configuration["a"], 1);
    assert!(plan.log.is_some());
    assert_eq!(plan.controls, ["slack", "metrics"]);
}

#[test]
fn the_journal_is_closed_with_what_happened() {
    // As the run's journal file last had it: one activity done, one running.
    let mut journal = Journal::new(json!({"title": "t"})).to_json();
    journal["run"] = json!([
        {"activity": {"name": "done"}, "output": null, "start": "2026-12-02T08:00:00.100000",
         "status": "succeeded", "end": "2026-12-02T08:00:00.200000", "duration": 0.1},
        {"activity": {"name": "running"}, "output": null, "start": "2026-12-02T08:00:01.000000"},
    ]);
    // The run's first rollback: finished, but the file shows it running.
    journal["rollbacks"] = json!([
        {"activity": {"name": "first-undo"}, "output": null, "start": "2026-12-02T08:00:02.000000"},
    ]);
    let finished = json!({"activity": {"name": "first-undo"}, "output": null,
        "start": "2026-12-02T08:00:02.000000", "status": "succeeded",
        "end": "2026-12-02T08:00:02.100000", "duration": 0.1});
    let mut played = Record::started(json!({"name": "undo"}));
    played.status = Some(crate::journal::ActivityStatus::Succeeded);
    played.end = Some(Timestamp::now());
    let decision = play(&[0]);
    let finished = finalise(
        journal,
        &Finish {
            status: Status::Aborted,
            deviated: false,
            runner: 42,
            taken_over: Timestamp::now(),
            decision: &decision,
            played: std::slice::from_ref(&played),
            already_played: 1,
            finished_by_the_run: std::slice::from_ref(&finished),
        },
    );
    assert_eq!(finished["status"], "aborted");
    assert_eq!(finished["deviated"], false);
    assert!(finished["end"].is_string() && finished["duration"].as_f64() > Some(0.0));
    assert_eq!(finished["run"][0]["status"], "succeeded");
    assert_eq!(finished["run"][1]["status"], "failed");
    let exception = finished["run"][1]["exception"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        exception.contains("(42) ended while this activity ran"),
        "{exception}"
    );
    assert_eq!(
        finished["rollbacks"][0]["status"], "succeeded",
        "as the run sent it"
    );
    assert_eq!(finished["rollbacks"][1]["activity"]["name"], "undo");
    assert_eq!(finished["guardian"]["runner_pid"], 42);
    assert_eq!(finished["guardian"]["rollbacks"]["played"], 1);
    // The typed journal reads it back.
    if let Err(e) = journal::from_value(finished) {
        panic!("not a journal: {e}");
    }
}

#[test]
fn a_final_journal_is_left_alone() {
    let dir = std::env::temp_dir().join(format!("guardian-final-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let path = dir.join("journal.json");
    let is_final_on_disk = |path: Option<&Path>| last_journal(path).as_ref().is_some_and(is_final);
    std::fs::write(&path, r#"{"status": null}"#).expect("written");
    assert!(!is_final_on_disk(Some(&path)));
    std::fs::write(&path, r#"{"status": "completed"}"#).expect("written");
    assert!(is_final_on_disk(Some(&path)));
    std::fs::write(&path, "{\"status\": \"compl").expect("written");
    assert!(!is_final_on_disk(Some(&path)));
    assert!(!is_final_on_disk(None));
    // The temporaries of the dead runner go, others stay.
    std::fs::write(dir.join(".journal.json.42.0.tmp"), "x").expect("written");
    std::fs::write(dir.join(".journal.json.43.0.tmp"), "x").expect("written");
    remove_temporaries(&path, 42);
    assert!(!dir.join(".journal.json.42.0.tmp").exists());
    assert!(dir.join(".journal.json.43.0.tmp").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_run_the_kill_switch_stopped_is_rolled_back_unless_the_strategy_is_never() {
    let w = watch(&[
        json!({"method": true}),
        json!({"interrupted": {"ungraceful": false, "kill_switch": true}}),
    ]);
    assert_eq!(decide(&w, &plan("default", 2)), play(&[0, 1]));
    assert_eq!(decide(&w, &plan("deviated", 2)), play(&[0, 1]));
    assert!(matches!(decide(&w, &plan("never", 2)), Decision::Skip(_)));
}
