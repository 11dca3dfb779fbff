//! The scheduling of safeguard probes, on tokio's paused clock (no wall-clock time).

use super::*;
use experiment::EmptyCatalog;
use providers::control::ProbeRun;
use serde_json::json;
use tokio::time::Instant;

/// A run whose probes answer from a script: `outcomes[name]` says, call after call,
/// whether the probe meets its tolerance (the last answer repeats); each call takes
/// `latency`.
struct Script {
    outcomes: HashMap<String, Vec<bool>>,
    latency: Duration,
    calls: Mutex<Vec<(String, Instant)>>,
    interrupts: Mutex<Vec<(Exit, Instant)>>,
}

impl Script {
    fn new(outcomes: &[(&str, &[bool])], latency: Duration) -> Arc<Self> {
        Arc::new(Self {
            outcomes: outcomes
                .iter()
                .map(|(n, o)| (n.to_string(), o.to_vec()))
                .collect(),
            latency,
            calls: Mutex::new(Vec::new()),
            interrupts: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self, name: &str) -> Vec<Instant> {
        lock(&self.calls)
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .collect()
    }
}

impl RunHandle for Script {
    fn run_probe<'a>(&'a self, probe: &'a Value) -> BoxFuture<'a, ProbeRun> {
        Box::pin(async move {
            let name = name_of(probe);
            let n = {
                let mut calls = lock(&self.calls);
                calls.push((name.clone(), Instant::now()));
                calls.iter().filter(|(c, _)| *c == name).count()
            };
            tokio::time::sleep(self.latency).await;
            let script = self.outcomes.get(&name).cloned().unwrap_or_default();
            let met = script.get(n - 1).or(script.last()).copied().unwrap_or(true);
            ProbeRun {
                record: json!({"activity": probe, "output": met, "status": "succeeded"}),
                tolerance_met: met,
            }
        })
    }

    fn interrupt(&self, exit: Exit) {
        lock(&self.interrupts).push((exit, Instant::now()));
    }
}

fn probe(name: &str, extra: Value) -> Value {
    let mut p = json!({"name": name, "type": "probe", "tolerance": true,
        "provider": {"type": "process", "path": "true"}});
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p
}

#[tokio::test(start_paused = true)]
async fn a_frequency_probe_is_judged_as_soon_as_it_returns() {
    let script = Script::new(
        &[("every-2s", &[true, true, false])],
        Duration::from_millis(100),
    );
    let guardian = Guardian::new(script.clone());
    let t0 = Instant::now();
    guardian
        .start(&[probe("every-2s", json!({"frequency": 2}))])
        .await;
    // The experiment is not held up by a frequency probe.
    assert_eq!(t0.elapsed(), Duration::ZERO);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let calls: Vec<_> = script.calls("every-2s").iter().map(|t| *t - t0).collect();
    // Run, wait 2 s after it returned, run again: three runs, then it stops.
    assert_eq!(
        calls,
        [
            Duration::ZERO,
            Duration::from_millis(2100),
            Duration::from_millis(4200)
        ]
    );
    let interrupts = lock(&script.interrupts).clone();
    assert_eq!(interrupts.len(), 1);
    assert_eq!(interrupts[0].0, Exit::SystemExit(Some(20)));
    // Detected when the failing run returned, not one interval later (upstream: 6.3 s).
    assert_eq!(interrupts[0].1 - t0, Duration::from_millis(4300));
    let trigger = guardian.terminate();
    assert_eq!(trigger.map(|t| t.probe), Some("every-2s".to_string()));
}

#[tokio::test(start_paused = true)]
async fn pre_checks_block_the_experiment_and_are_judged_before_it_goes_on() {
    let script = Script::new(&[("a", &[true]), ("b", &[false])], Duration::from_secs(3));
    let guardian = Guardian::new(script.clone());
    let t0 = Instant::now();
    guardian
        .start(&[probe("a", json!({})), probe("b", json!({}))])
        .await;
    // Both ran at once, and the experiment waited for them.
    assert_eq!(t0.elapsed(), Duration::from_secs(3));
    assert_eq!(script.calls("a"), [t0]);
    assert_eq!(script.calls("b"), [t0]);
    assert_eq!(lock(&script.interrupts).len(), 1);
    let trigger = guardian.triggered();
    assert_eq!(trigger.as_ref().map(|t| t.probe.as_str()), Some("b"));
    assert_eq!(
        trigger.map(|t| t.run["activity"]["name"].clone()),
        Some(json!("b"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_background_probe_runs_once_beside_the_run() {
    let script = Script::new(&[("bg", &[false])], Duration::from_secs(1));
    let guardian = Guardian::new(script.clone());
    let t0 = Instant::now();
    guardian
        .start(&[probe("bg", json!({"background": true}))])
        .await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(lock(&script.interrupts).is_empty());
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(script.calls("bg").len(), 1);
    let interrupts = lock(&script.interrupts).clone();
    assert_eq!(
        interrupts.iter().map(|(_, t)| *t - t0).collect::<Vec<_>>(),
        [Duration::from_secs(1)]
    );
}

#[tokio::test(start_paused = true)]
async fn only_the_first_miss_interrupts() {
    let script = Script::new(
        &[("x", &[false]), ("y", &[false])],
        Duration::from_millis(10),
    );
    let guardian = Guardian::new(script.clone());
    guardian
        .start(&[
            probe("x", json!({"frequency": 1})),
            probe("y", json!({"frequency": 1})),
        ])
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(lock(&script.interrupts).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_run_stops_the_probes_and_nothing_interrupts_it_after() {
    let script = Script::new(&[("slow", &[true, false])], Duration::from_secs(5));
    let guardian = Guardian::new(script.clone());
    guardian
        .start(&[probe("slow", json!({"frequency": 1}))])
        .await;
    // The second run is in flight (started at 6 s, would fail at 11 s) when the run ends.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(guardian.terminate(), None);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(script.calls("slow").len(), 2);
    assert!(lock(&script.interrupts).is_empty());
    // A late trigger is ignored too.
    guardian.trigger(&probe("slow", json!({})), Value::Null);
    assert!(lock(&script.interrupts).is_empty());
}

#[test]
fn schedules_follow_upstreams_tests() {
    assert_eq!(Schedule::of(&json!({})), Schedule::Now);
    assert_eq!(
        Schedule::of(&json!({"background": false, "frequency": 0})),
        Schedule::Now
    );
    assert_eq!(
        Schedule::of(&json!({"background": true})),
        Schedule::Background
    );
    assert_eq!(
        Schedule::of(&json!({"background": true, "frequency": 0.5})),
        Schedule::Every(Duration::from_millis(500))
    );
}

#[test]
fn validation_messages_are_upstreams() {
    let control = |probes: Value| {
        json!({"name": "safeguard", "provider": {"type": "python",
            "module": MODULE, "arguments": {"probes": probes}}})
    };
    let message = |probes: Value| {
        validate(&control(probes), &EmptyCatalog)
            .map_err(|e| (e.message, e.path.unwrap_or_default()))
    };
    assert_eq!(
        message(json!([])),
        Err((
            "safeguard control must have at least one probe".into(),
            "provider.arguments.probes".into()
        ))
    );
    let mut action = probe("p1", json!({}));
    action["type"] = json!("action");
    assert_eq!(
        message(json!([action])),
        Err((
            "safeguard control 'p1' should be of type 'probe' not 'action'".into(),
            "provider.arguments.probes[0].type".into()
        ))
    );
    let mut untolerant = probe("p1", json!({}));
    untolerant.as_object_mut().map(|p| p.remove("tolerance"));
    assert_eq!(
        message(json!([untolerant])),
        Err((
            "safeguard control is invalid as the probe 'p1' is missing a tolerance property".into(),
            "provider.arguments.probes[0]".into()
        ))
    );
    let bad_tolerance = probe("p1", json!({"tolerance": {"type": "nope"}}));
    assert_eq!(
        message(json!([bad_tolerance])).map_err(|e| e.0),
        Err("hypothesis probe tolerance type 'nope' is unsupported".into())
    );
    assert_eq!(message(json!([probe("p1", json!({}))])), Ok(()));
}
