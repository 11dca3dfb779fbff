//! Loads that outlive their call stop with the run: a detached load (`start_load`, the
//! talk's `load.single`) stops when the run ends, and a background `run_load` stops on an
//! interruption with its partial results. In-process runs through the engine, so the
//! load's threads outlive the run unless the run's scope stops them (a `chaos` process
//! would exit and hide it; a long-lived host of runs, the operator, would not).

mod support;

use engine::interrupt::{Interrupter, Interruption};
use engine::run::{run_experiment, RunOptions};
use engine::strategy::{HypothesisStrategy, RollbackStrategy};
use providers::registry::Registry;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn options() -> RunOptions {
    RunOptions {
        dry: None,
        hypothesis_strategy: HypothesisStrategy::Default,
        rollback_strategy: RollbackStrategy::Default,
        hypothesis_frequency: 1.0,
        fail_fast: false,
        overrides: Default::default(),
        resolved: None,
    }
}

fn registry() -> Arc<Registry> {
    let mut registry = Registry::new();
    drivers_load::register(&mut registry);
    Arc::new(registry)
}

fn action(module: &str, func: &str, arguments: Value) -> Value {
    json!({"type": "action", "name": func, "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_loads_stop_when_the_run_ends() {
    let (port, seen) = support::serve(false).await;
    let url = format!("http://127.0.0.1:{port}/");
    let experiment = json!({"title": "t", "description": "d", "dry": null, "method": [
        action("shakedown.load.actions", "start_load", json!({"name": "users", "url": url, "duration": 120, "rate": 100, "concurrency": 2})),
        action("load", "single", json!({"url": url, "duration": 120, "frequency": 0.01})),
        {"type": "action", "name": "meanwhile", "provider": {"type": "process", "path": "sleep", "arguments": "0.3"}},
    ]});
    let journal = run_experiment(
        experiment,
        options(),
        registry(),
        &json!({}),
        Arc::new(Interrupter::new()),
        Default::default(),
    )
    .await
    .expect("the run starts");
    assert_eq!(journal.run[0].output["name"], "users");
    assert!(journal.run[1].output.is_null());
    let at_end = seen.requests.load(Ordering::SeqCst);
    assert!(at_end >= 20, "both loads ran during the method: {at_end}");
    // In flight at the end: at most one request per worker (2 + 1) may still land.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let settled = seen.requests.load(Ordering::SeqCst);
    assert!(settled <= at_end + 3, "{at_end} -> {settled}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        settled,
        "no request after the run ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_load_returns_partial_results_when_the_run_is_interrupted() {
    let (port, seen) = support::serve(false).await;
    let mut load = action(
        "shakedown.load.actions",
        "run_load",
        json!({"url": format!("http://127.0.0.1:{port}/bg"), "duration": 120, "rate": 200, "concurrency": 2}),
    );
    load["background"] = json!(true);
    let experiment = json!({"title": "t", "description": "d", "dry": null, "method": [
        load,
        {"type": "action", "name": "meanwhile", "provider": {"type": "process", "path": "sleep", "arguments": "120"}},
    ]});
    let interrupter = Arc::new(Interrupter::new());
    let trigger = interrupter.clone();
    let counted = seen.clone();
    tokio::spawn(async move {
        while counted.requests.load(Ordering::SeqCst) < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        trigger.signal(Interruption::Int);
    });
    let journal = run_experiment(
        experiment,
        options(),
        registry(),
        &json!({}),
        interrupter,
        Default::default(),
    )
    .await
    .expect("the run starts");
    let results = &journal.run[0].output;
    assert_eq!(results["stopped"], "interrupted", "{results}");
    let requests = results["requests"].as_u64().unwrap();
    assert!(requests >= 10, "{results}");
    assert_eq!(requests, seen.requests.load(Ordering::SeqCst), "{results}");
    assert_eq!(results["status"]["200"].as_u64(), Some(requests));
}
