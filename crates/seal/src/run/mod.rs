//! The scenario runner: `chaos seal autonomous` (PowerfulSeal's `autonomous` mode).
//!
//! A policy runs `config.runStrategy.runs` loops (forever when absent), each running every
//! scenario (in file order, or shuffled with `strategy: random`, still all of them), then
//! sleeping a whole number of seconds drawn between `minSecondsBetweenRuns` and
//! `maxSecondsBetweenRuns` (the code's defaults 0 and 300) — not after the last loop. A
//! scenario runs its steps in order; the first failing step ends it; its cleanup (what
//! `kubectl apply` with `autoDelete` created, a `clone`'s deployment and retargeted
//! Services, an Alertmanager silence) always runs, also when a signal stopped the run.
//! Before every loop the policy file and the cluster's `Scenario` resources are read
//! again (`scenarios.rs`). The steps live beside this file, one module each: `pods.rs`,
//! `nodes.rs`, `kubectl.rs`, `probe.rs`, `clone.rs`, `alertmanager.rs`. `exitStrategy: fail-fast` stops at the first failed scenario with exit 1;
//! `report` logs it and carries on (exit 0 at the end). These are upstream's
//! `policy_runner.py` and `scenario.py` (3.3), with its log lines.
//!
//! Every random choice (the order, samples, probabilities, kill coin flips, the waits
//! between loops) comes from one generator, seeded by `--seed` when given, so a run is
//! reproducible. Every scenario run leaves a Chaos Toolkit journal (`record.rs`,
//! docs/seal.md).

mod alertmanager;
mod clone;
mod kubectl;
mod label;
pub mod log;
pub mod metrics;
mod nodes;
mod pods;
mod probe;
mod record;
mod scenarios;
pub mod shutdown;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use drivers_k8s::api::Kube;
use experiment::Value;

use crate::policy::{ExitStrategy, KubectlAction, Order, Policy, Retries, Step, Weekday};
use log::Log;
use metrics::Metrics;
pub use shutdown::{Shutdown, Stop};

/// What `autonomous` needs besides the policy.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--kubeconfig`; `None`: `$KUBECONFIG`, `~/.kube/config`, in-cluster, as `chaosk8s`.
    pub kubeconfig: Option<PathBuf>,
    /// `--seed`; `None`: a random seed (logged, so a run can be replayed).
    pub seed: Option<u64>,
    /// Where the journals go (`--journal-dir`, default the working directory).
    pub journal_dir: PathBuf,
    /// The policy file's name, recorded in each journal.
    pub origin: String,
    /// Re-read this policy file, plus the cluster's `Scenario` resources, before every
    /// loop, as upstream does (`None`: run the policy given, as it is).
    pub reload: Option<PathBuf>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every loop ran (failed scenarios, if any, were reported): exit 0.
    Done,
    /// `fail-fast` and a scenario failed: exit 1.
    FailedFast,
    /// A signal stopped the run (after the current scenario's cleanup).
    Stopped(Stop),
    /// The policy re-read before a loop (the file and the `Scenario` resources) was not
    /// valid: exit 1, as upstream.
    Invalid,
}

impl Ending {
    /// PowerfulSeal's exit codes, and 128 + the signal's number after a stop.
    pub fn exit_code(self) -> u8 {
        match self {
            Ending::Done => 0,
            Ending::FailedFast | Ending::Invalid => 1,
            Ending::Stopped(s) => s.exit_code(),
        }
    }
}

/// What a step did: success, its output for the journal, and why it failed.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub ok: bool,
    pub output: Value,
    pub error: Option<String>,
}

impl Outcome {
    pub(crate) fn ok(output: Value) -> Self {
        Outcome {
            ok: true,
            output,
            error: None,
        }
    }
    pub(crate) fn failed(output: Value, error: String) -> Self {
        Outcome {
            ok: false,
            output,
            error: Some(error),
        }
    }
}

/// What a scenario's cleanup will do.
#[derive(Debug, Clone)]
pub(crate) enum Cleanup {
    /// `kubectl delete` of an applied payload.
    Delete {
        payload: String,
        binary: Option<String>,
    },
    /// Delete the clone deployment this run created (its token annotation says so).
    DeleteClone {
        namespace: String,
        name: String,
        token: String,
    },
    /// Delete an Alertmanager silence (`autoUnmute`).
    Unmute {
        url: String,
        id: String,
        proxy_http: String,
        proxy_https: String,
    },
    /// Put a retargeted Service's `chaos` selector back as it was.
    RestoreService {
        service: crate::policy::ServiceRef,
        previous: Option<String>,
    },
}

/// One run of a policy.
pub struct Runner<'a> {
    policy: Policy,
    document: Value,
    options: &'a Options,
    log: Arc<Log>,
    metrics: Arc<Metrics>,
    rng: fastrand::Rng,
    shutdown: Shutdown,
    local_offset: time::UtcOffset,
    kube: Option<Kube>,
    discovery: HashMap<String, HashMap<String, kubectl::Resource>>,
    /// The scenario running (for the loggers' names).
    scenario: String,
    cleanups: Vec<Cleanup>,
}

const RUNNER: &str = "policy_runner";

impl<'a> Runner<'a> {
    /// `local_offset`: the time zone `dayTime` filters read (read it before starting a
    /// multi-threaded runtime; UTC when unknown).
    pub fn new(
        policy: &Policy,
        document: &Value,
        options: &'a Options,
        log: Arc<Log>,
        metrics: Arc<Metrics>,
        shutdown: Shutdown,
        local_offset: time::UtcOffset,
    ) -> Self {
        let seed = options.seed.unwrap_or_else(|| fastrand::u64(..));
        log.info(
            RUNNER,
            format!("Random seed: {seed} (replay with --seed {seed})"),
        );
        Runner {
            policy: policy.clone(),
            document: document.clone(),
            options,
            log,
            metrics,
            rng: fastrand::Rng::with_seed(seed),
            shutdown,
            local_offset,
            kube: None,
            discovery: HashMap::new(),
            scenario: String::new(),
            cleanups: Vec::new(),
        }
    }

    /// The client, built on first use (a policy of waits and URL probes needs none).
    pub(crate) async fn kube(&mut self) -> Result<Kube, String> {
        if let Some(k) = &self.kube {
            return Ok(k.clone());
        }
        let k = drivers_k8s::api::client_for_kubeconfig(self.options.kubeconfig.as_deref())
            .await
            .map_err(api_error)?;
        self.kube = Some(k.clone());
        Ok(k)
    }

    /// Sleeps `seconds` (returns early on a stop; the caller checks).
    pub(crate) async fn sleep(&mut self, seconds: f64) {
        let d = std::time::Duration::try_from_secs_f64(seconds.max(0.0))
            .unwrap_or(std::time::Duration::MAX);
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = shutdown.wait() => {}
        }
    }

    /// Runs the policy to its end.
    pub async fn run(mut self) -> Ending {
        let mut loops_left = self.policy.config.run_strategy.runs;
        let mut loop_number = 0u64;
        loop {
            loop_number += 1;
            if !self.reload().await {
                return Ending::Invalid;
            }
            let rs = self.policy.config.run_strategy.clone();
            let mut order: Vec<usize> = (0..self.policy.scenarios.len()).collect();
            if rs.order == Order::Random {
                self.rng.shuffle(&mut order);
            }
            for index in order {
                let ok = self.scenario(index, loop_number).await;
                if let Some(stop) = self.shutdown.stopped() {
                    self.log.error(
                        RUNNER,
                        format!("Stopped by {}; cleanup done", stop.signal_name()),
                    );
                    return Ending::Stopped(stop);
                }
                if !ok {
                    if self.policy.config.exit_strategy == ExitStrategy::FailFast {
                        self.log.error(RUNNER, "Exiting early");
                        self.log
                            .error(RUNNER, "Policy runner finishes with an error");
                        return Ending::FailedFast;
                    }
                    self.log
                        .error(RUNNER, "Scenario failed, reporting and carrying on");
                }
            }
            let (lo, hi) = (rs.min_seconds_between_runs, rs.max_seconds_between_runs);
            let sleep = (lo + self.rng.f64() * (hi - lo)).trunc().max(0.0);
            if let Some(left) = loops_left.as_mut() {
                *left = left.saturating_sub(1);
                if *left < 1 {
                    break;
                }
            }
            self.log
                .info(RUNNER, format!("Sleeping for {} seconds", sleep as u64));
            self.sleep(sleep).await;
            if let Some(stop) = self.shutdown.stopped() {
                return Ending::Stopped(stop);
            }
        }
        self.log.info(RUNNER, "All done here!");
        Ending::Done
    }

    /// One scenario: its steps, its cleanup, its journal. True when it succeeded.
    async fn scenario(&mut self, index: usize, loop_number: u64) -> bool {
        let scenario = self.policy.scenarios[index].clone();
        let scenario = &scenario;
        self.scenario = scenario.name.clone();
        self.cleanups.clear();
        let logger = log::logger("scenario", &scenario.name);
        self.log.info(
            &logger,
            format!(
                "Starting scenario '{}' ({} steps)",
                scenario.name,
                scenario.steps.len()
            ),
        );
        let mut record = record::Record::new(
            &scenario.name,
            scenario.description.as_deref().unwrap_or(""),
            &self.options.origin,
            loop_number,
        );
        let mut ok = true;
        let mut stopped = None;
        for (i, step) in scenario.steps.iter().enumerate() {
            let raw = self
                .document
                .pointer(&format!("/scenarios/{index}/steps/{i}"))
                .cloned()
                .unwrap_or(Value::Null);
            let arguments = raw.get(step.kind()).cloned().unwrap_or(Value::Null);
            let started = record::Record::start(
                format!("{}. {}", i + 1, step.kind()),
                step.kind(),
                matches!(step, Step::ProbeHttp(_)),
                arguments.clone(),
            );
            let mut shutdown = self.shutdown.clone();
            // A stop wins over a step that ended because of it (a wait cut short).
            let outcome = tokio::select! {
                biased;
                _ = shutdown.wait() => None,
                o = self.step_with_retries(step, &arguments) => Some(o),
            };
            record.step(record::Record::finish(started, outcome.as_ref()));
            match outcome {
                None => {
                    stopped = self.shutdown.stopped();
                    self.log.warning(
                        &logger,
                        format!(
                            "Stopped by {} during step {}. Finishing scenario early",
                            stopped.map_or("a signal", Stop::signal_name),
                            i + 1
                        ),
                    );
                    ok = false;
                    break;
                }
                Some(o) if !o.ok => {
                    self.log.warning(
                        &logger,
                        format!(
                            "Step returned failure {}. Finishing scenario early",
                            experiment::pyrepr::py_repr(&raw)
                        ),
                    );
                    ok = false;
                    break;
                }
                Some(_) => {}
            }
        }
        if ok {
            self.log.info(&logger, "Scenario finished");
        }
        self.metrics.scenario(&scenario.name, ok);
        self.cleanup(&logger, &mut record).await;
        let path = record::path(&self.options.journal_dir, &scenario.name, loop_number);
        let journal = record.journal(ok, stopped);
        match ::journal::write_file(&path, &journal) {
            Ok(()) => self
                .log
                .info(&logger, format!("Journal written to {}", path.display())),
            Err(e) => self.log.error(
                &logger,
                format!("cannot write the journal {}: {e}", path.display()),
            ),
        }
        ok
    }

    /// The step, rerun as its `retries` say (pod and node steps): `retriesCount` runs it
    /// up to `count` times, `retriesTimeout` until the sleeps add up to `timeout`.
    async fn step_with_retries(&mut self, step: &Step, raw: &Value) -> Outcome {
        let retries = match step {
            Step::PodAction(p) => p.retries.clone(),
            Step::NodeAction(n) => n.retries.clone(),
            Step::AlertManager(a) => a.retries.clone(),
            _ => None,
        };
        let logger = log::logger("scenario", &self.scenario);
        let Some(retries) = retries else {
            return self.one_step(step, raw).await;
        };
        let (sleep, mut more): (f64, Box<dyn FnMut() -> bool + Send>) = match retries {
            Retries::Count { count, sleep } => {
                let mut n = 0.0;
                (
                    sleep,
                    Box::new(move || {
                        n += 1.0;
                        n < count
                    }),
                )
            }
            Retries::Timeout { timeout, sleep } => {
                let mut t = 0.0;
                (
                    sleep,
                    Box::new(move || {
                        t += sleep;
                        t < timeout
                    }),
                )
            }
        };
        loop {
            let outcome = self.one_step(step, raw).await;
            if outcome.ok {
                return outcome;
            }
            if !more() {
                self.log
                    .error(&logger, "No more retries allowed. Failing step");
                return outcome;
            }
            self.log.warning(
                &logger,
                format!(
                    "Failure in action. Sleeping {} and retrying",
                    pods::py_num(sleep)
                ),
            );
            self.sleep(sleep).await;
        }
    }

    async fn one_step(&mut self, step: &Step, raw: &Value) -> Outcome {
        match step {
            Step::PodAction(p) => self.pod_action(p, raw).await,
            Step::Kubectl(k) => self.kubectl(k).await,
            Step::ProbeHttp(p) => self.probe_http(p).await,
            Step::Wait(w) => {
                let logger = log::logger("scenario", &self.scenario);
                self.log.info(
                    &logger,
                    format!("Sleeping for {} seconds", py_float_repr(w.seconds)),
                );
                self.sleep(w.seconds).await;
                Outcome::ok(Value::Null)
            }
            Step::Clone(c) => self.clone_step(c).await,
            Step::NodeAction(n) => self.node_action(n, raw).await,
            Step::AlertManager(a) => self.alert_manager(a).await,
        }
    }

    /// Upstream's cleanup: each registered action in order, its failure logged only.
    async fn cleanup(&mut self, logger: &str, record: &mut record::Record) {
        let cleanups = std::mem::take(&mut self.cleanups);
        if cleanups.is_empty() {
            self.log.debug(logger, "No cleanup needed");
            return;
        }
        self.log.info(
            logger,
            format!("Cleanup started ({} items)", cleanups.len()),
        );
        let kubectl_logger = log::logger("action_kubectl", &self.scenario);
        for (i, c) in cleanups.iter().enumerate() {
            let (what, kind, arguments) = match c {
                Cleanup::Delete { payload, .. } => (
                    "kubectl delete",
                    "kubectl",
                    serde_json::json!({"action": "delete", "payload": payload}),
                ),
                Cleanup::DeleteClone {
                    namespace, name, ..
                } => (
                    "delete clone",
                    "clone",
                    serde_json::json!({"deployment": {"name": name, "namespace": namespace}}),
                ),
                Cleanup::Unmute { url, id, .. } => (
                    "unmute",
                    "alertManagerAction",
                    serde_json::json!({"url": url, "silenceID": id}),
                ),
                Cleanup::RestoreService { service, .. } => (
                    "restore service",
                    "clone",
                    serde_json::json!({"service": {"name": service.name, "namespace": service.namespace}}),
                ),
            };
            let started =
                record::Record::start(format!("cleanup {}. {what}", i + 1), kind, false, arguments);
            let outcome = match c {
                Cleanup::Delete { payload, binary } => {
                    let result = self
                        .kubectl_run(
                            KubectlAction::Delete,
                            payload,
                            binary.as_deref(),
                            "",
                            &kubectl_logger,
                        )
                        .await;
                    match result {
                        Ok(done) => Outcome::ok(serde_json::json!({"objects": done})),
                        Err((done, e)) => Outcome::failed(serde_json::json!({"objects": done}), e),
                    }
                }
                Cleanup::DeleteClone {
                    namespace,
                    name,
                    token,
                } => self.delete_clone(namespace, name, token).await,
                Cleanup::Unmute {
                    url,
                    id,
                    proxy_http,
                    proxy_https,
                } => self.unmute(url, id, proxy_http, proxy_https).await,
                Cleanup::RestoreService { service, previous } => {
                    self.restore_service(service, previous.as_deref()).await
                }
            };
            record.rollback(record::Record::finish(started, Some(&outcome)));
        }
        self.log.info(logger, "Cleanup done");
    }
}

/// Python's `%r` of a YAML number: `5` for an integer, `5.0` for a float.
fn py_float_repr(x: f64) -> String {
    pods::py_num(x)
}

/// A transport or configuration failure of the Kubernetes client, without the Python
/// exception name `chaosk8s` prefixes (a seal user never saw those).
pub(crate) fn api_error(e: providers::ProviderError) -> String {
    let text = e.to_string();
    [
        "urllib3.exceptions.MaxRetryError: ",
        "kubernetes.config.config_exception.ConfigException: ",
    ]
    .iter()
    .find_map(|p| text.strip_prefix(p))
    .map(String::from)
    .unwrap_or(text)
}

pub(crate) fn weekday_of(w: Weekday) -> time::Weekday {
    match w {
        Weekday::Monday => time::Weekday::Monday,
        Weekday::Tuesday => time::Weekday::Tuesday,
        Weekday::Wednesday => time::Weekday::Wednesday,
        Weekday::Thursday => time::Weekday::Thursday,
        Weekday::Friday => time::Weekday::Friday,
        Weekday::Saturday => time::Weekday::Saturday,
        Weekday::Sunday => time::Weekday::Sunday,
    }
}

/// The path a scenario run's journal is written to.
pub fn journal_path(dir: &Path, scenario: &str, loop_number: u64) -> PathBuf {
    record::path(dir, scenario, loop_number)
}

#[cfg(test)]
mod tests;
