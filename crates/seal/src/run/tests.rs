//! The run loop without a cluster (waits, and a `probeHTTP` to a closed loopback port,
//! which fails at once), on a paused clock: the waits between loops, the
//! order, the exit strategies, a stop during a step, and the journals.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::log::{Level, Log};
use super::metrics::Metrics;
use super::*;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

struct Ran {
    ending: Ending,
    log: String,
    dir: PathBuf,
    metrics: Arc<Metrics>,
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seal-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn run(name: &str, policy: &str, seed: u64, shutdown: Shutdown) -> Ran {
    let checked = crate::load_str(policy, "test.yml").unwrap();
    let dir = scratch(name);
    let options = Options {
        kubeconfig: None,
        seed: Some(seed),
        journal_dir: dir.clone(),
        origin: "test.yml".into(),
        reload: None,
    };
    let buf = Buf::default();
    let log = Arc::new(Log::new(Level::Info, Box::new(buf.clone())));
    let metrics = Arc::new(Metrics::new(log.clone()));
    let ending = Runner::new(
        &checked.policy,
        &checked.document,
        &options,
        log,
        metrics.clone(),
        shutdown,
        time::UtcOffset::UTC,
    )
    .run()
    .await;
    Ran {
        ending,
        log: buf.text(),
        dir,
        metrics,
    }
}

fn never() -> Shutdown {
    let (tx, rx) = Shutdown::channel();
    std::mem::forget(tx);
    rx
}

/// The message part of each line with `needle` (the time stamp dropped).
fn lines_with(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").to_string())
        .collect()
}

const WAITS: &str = "
config:
  runStrategy: {runs: 4, minSecondsBetweenRuns: 10, maxSecondsBetweenRuns: 20, strategy: random}
scenarios:
- name: first one
  steps: [{wait: {seconds: 1}}]
- name: second one
  steps: [{wait: {seconds: 2}}]
- name: third one
  steps: [{wait: {seconds: 0.5}}]
";

#[tokio::test(start_paused = true)]
async fn a_seed_replays_the_order_and_the_waits_between_loops() {
    let a = run("seed-a", WAITS, 42, never()).await;
    let b = run("seed-b", WAITS, 42, never()).await;
    assert_eq!(a.ending, Ending::Done);
    let sleeps = lines_with(&a.log, "policy_runner Sleeping for");
    // Between loops, not after the last one; whole seconds within the bounds.
    assert_eq!(sleeps.len(), 3, "{}", a.log);
    for s in &sleeps {
        let n: u64 = s
            .trim_start_matches("INFO policy_runner Sleeping for ")
            .trim_end_matches(" seconds")
            .parse()
            .unwrap();
        assert!((10..=20).contains(&n), "{s}");
    }
    let starts = lines_with(&a.log, "Starting scenario");
    assert_eq!(starts.len(), 12);
    // `random` shuffles, and still runs every scenario in every loop.
    for round in starts.chunks(3) {
        let mut names: Vec<&str> = round
            .iter()
            .map(|l| l.split('\'').nth(1).unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["first one", "second one", "third one"]);
    }
    assert_eq!(sleeps, lines_with(&b.log, "policy_runner Sleeping for"));
    assert_eq!(starts, lines_with(&b.log, "Starting scenario"));
    assert!(
        a.log.ends_with("INFO policy_runner All done here!\n"),
        "{}",
        a.log
    );
    // Every scenario run left its journal.
    for n in 1..=4 {
        for s in ["first-one", "second-one", "third-one"] {
            let j = journal::read_file(a.dir.join(format!("seal-journal-{s}-{n}.json"))).unwrap();
            assert_eq!(j.status(), Some(&journal::Status::Completed));
        }
    }
    assert_eq!(
        a.metrics.get(
            "seal_scenario_runs_total",
            "name=\"first one\",result=\"success\""
        ),
        4
    );
}

#[tokio::test(start_paused = true)]
async fn round_robin_keeps_the_file_order() {
    let policy = WAITS.replace("strategy: random", "strategy: round-robin");
    let r = run("round-robin", &policy, 1, never()).await;
    let names: Vec<String> = lines_with(&r.log, "Starting scenario")
        .iter()
        .map(|l| l.split('\'').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(names[..3], ["first one", "second one", "third one"]);
    assert_eq!(names[3..6], names[..3]);
}

const FAILING: &str = "
config:
  runStrategy: {runs: 2, maxSecondsBetweenRuns: 1}
  exitStrategy: {strategy: STRATEGY}
scenarios:
- name: fails at step two
  steps:
  - wait: {seconds: 1}
  - probeHTTP: {target: {url: 'http://127.0.0.1:1'}}
  - wait: {seconds: 1}
- name: passes
  steps: [{wait: {seconds: 1}}]
";

#[tokio::test(start_paused = true)]
async fn fail_fast_stops_at_the_first_failed_scenario_with_exit_1() {
    let r = run(
        "fail-fast",
        &FAILING.replace("STRATEGY", "fail-fast"),
        3,
        never(),
    )
    .await;
    assert_eq!(r.ending, Ending::FailedFast);
    assert_eq!(r.ending.exit_code(), 1);
    assert_eq!(
        lines_with(&r.log, "Starting scenario").len(),
        1,
        "{}",
        r.log
    );
    assert!(
        r.log.contains("Step returned failure {'probeHTTP': "),
        "{}",
        r.log
    );
    assert!(r.log.contains("ERROR policy_runner Exiting early"));
    assert!(!r.log.contains("All done here!"));
    let j = journal::read_file(r.dir.join("seal-journal-fails-at-step-two-1.json")).unwrap();
    assert_eq!(j.status(), Some(&journal::Status::Failed));
    // The first failing step ended the scenario: the third never ran.
    let runs = j.method_runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status(), Some(&journal::ActivityStatus::Succeeded));
    assert_eq!(runs[1].status(), Some(&journal::ActivityStatus::Failed));
    assert!(runs[1]
        .failure_message()
        .unwrap()
        .contains("http://127.0.0.1:1/"));
    assert!(!r.dir.join("seal-journal-passes-1.json").exists());
}

#[tokio::test(start_paused = true)]
async fn report_logs_the_failure_and_carries_on_with_exit_0() {
    let r = run("report", &FAILING.replace("STRATEGY", "report"), 3, never()).await;
    assert_eq!(r.ending, Ending::Done);
    assert_eq!(r.ending.exit_code(), 0);
    assert_eq!(lines_with(&r.log, "Starting scenario").len(), 4);
    assert_eq!(
        lines_with(&r.log, "Scenario failed, reporting and carrying on").len(),
        2
    );
    assert!(r.log.contains("All done here!"));
    assert!(r.dir.join("seal-journal-passes-2.json").exists());
    assert_eq!(
        r.metrics.get(
            "seal_scenario_runs_total",
            "name=\"fails at step two\",result=\"fail\""
        ),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_a_step_ends_the_run_with_an_interrupted_journal() {
    let policy = "
config: {runStrategy: {runs: 3}}
scenarios:
- name: long wait
  steps: [{wait: {seconds: 1}}, {wait: {seconds: 3600}}, {wait: {seconds: 1}}]
";
    let (tx, rx) = Shutdown::channel();
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        tx.send(Some(Stop::Terminate)).unwrap();
        tx
    });
    let r = run("stop", policy, 5, rx).await;
    drop(stopper.await);
    assert_eq!(r.ending, Ending::Stopped(Stop::Terminate));
    assert_eq!(r.ending.exit_code(), 143);
    assert!(
        r.log
            .contains("Stopped by SIGTERM during step 2. Finishing scenario early"),
        "{}",
        r.log
    );
    let j = journal::read_file(r.dir.join("seal-journal-long-wait-1.json")).unwrap();
    assert_eq!(j.status(), Some(&journal::Status::Interrupted));
    let runs = j.method_runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1].status(), None, "an interrupted step has no status");
    assert!(!r.dir.join("seal-journal-long-wait-2.json").exists());
}
