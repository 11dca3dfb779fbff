//! `chaosprometheus.metrics`: the control that reports each run to Prometheus.
//!
//! As upstream: `configure_control` builds the run's collector (`pushgateway_url`, `job`,
//! `grouping_key`, `trace_id`, `experiment_ref`, anything else ignored, as upstream's
//! `**kwargs`); `before_experiment_control` counts the run in progress and pushes;
//! `after_experiment_control` records the status, the deviation, the duration and its
//! distribution from the journal and pushes again (HTTP PUT of the whole registry to
//! `<pushgateway>/metrics/job/<job>/<grouping key>`, [`exposition`]).
//!
//! Beyond upstream (docs/compatibility.md):
//! - a push is bounded (`push_timeout`, 10 s) and its failure (unreachable, an error
//!   status, no answer) is one WARNING per run naming the control and the endpoint, the
//!   run going on; upstream's failed push raises in the hook, which chaoslib logs at
//!   DEBUG only, so a broken Pushgateway went unnoticed;
//! - the activities' outcomes are counted too (`chaostoolkit_activity_outcome_total`);
//! - `listen: "host:port"` also serves the latest run's metrics at `/metrics` for
//!   Prometheus to scrape ([`serve`]), for long-running processes that embed the engine;
//! - each declared control name has its own collector (upstream keeps one module-level
//!   collector, so two declarations overwrite each other).

pub mod exposition;
pub mod hash;
pub mod serve;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use experiment::pyrepr::{py_str, py_truthy};
use experiment::{Map, Value};
use providers::control::{Changes, ConfigureCall, Control, ControlError, HookCall, Level, When};
use providers::BoxFuture;

use crate::client::{self, Auth, HttpError, Limits, Request};
use exposition::{Families, Histogram, Labels};

pub const MODULE: &str = "chaosprometheus.metrics";

/// The chaoslib version the labels name (`chaoslib.__version__`): the one Shakedown's
/// journals report (`engine::CHAOSLIB_COMPAT_VERSION`; a test checks they agree).
pub const CHAOSLIB_VERSION: &str = "1.44.0";
pub const DEFAULT_PUSHGATEWAY: &str = "http://localhost:9091";
pub const DEFAULT_JOB: &str = "chaostoolkit";
/// How long one push may take, unless `push_timeout` says otherwise (upstream: 30 s).
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(10);
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The native control: one [`Collector`] per declared control name, for the current run,
/// and the scrape endpoints opened so far.
#[derive(Default)]
pub struct Metrics {
    collectors: Mutex<HashMap<String, Arc<Collector>>>,
    endpoints: serve::Endpoints,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One run's metrics and where they go.
pub struct Collector {
    control: String,
    url: String,
    limits: Limits,
    labels: Labels,
    families: Mutex<Families>,
    /// A push failed already in this run: later failures are DEBUG.
    warned: AtomicBool,
}

impl Collector {
    /// The collector `configure_control` builds from the control's arguments.
    pub fn new(control: &str, arguments: &Map, experiment: &Value) -> Self {
        let text = |k: &str, default: &str| {
            arguments
                .get(k)
                .filter(|v| !v.is_null())
                .map(py_str)
                .unwrap_or_else(|| default.to_string())
        };
        let truthy = |k: &str| arguments.get(k).filter(|v| py_truthy(v)).map(py_str);
        let experiment_ref =
            truthy("experiment_ref").unwrap_or_else(|| hash::experiment_hash(experiment));
        let trace_id =
            truthy("trace_id").unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let grouping_key = match arguments.get("grouping_key") {
            Some(Value::Object(key)) if !key.is_empty() => {
                key.iter().map(|(k, v)| (k.clone(), py_str(v))).collect()
            }
            _ => vec![(
                "chaostoolkit_experiment_ref".to_string(),
                experiment_ref.clone(),
            )],
        };
        let url = exposition::push_url(
            &text("pushgateway_url", DEFAULT_PUSHGATEWAY),
            &text("job", DEFAULT_JOB),
            &grouping_key,
        );
        let total = arguments
            .get("push_timeout")
            .and_then(client::seconds)
            .unwrap_or(DEFAULT_PUSH_TIMEOUT);
        Collector {
            control: control.to_string(),
            url,
            limits: Limits {
                connect: total.min(Duration::from_secs(5)),
                total,
            },
            labels: Labels {
                lib_version: CHAOSLIB_VERSION.into(),
                trace_id,
                experiment_ref,
            },
            families: Mutex::new(Families::default()),
            warned: AtomicBool::new(false),
        }
    }

    /// Where the pushes go (the password of a `user:password@` URL masked).
    pub fn endpoint(&self) -> String {
        client::shown(&self.url)
    }

    /// The registry in the text format.
    pub fn render(&self) -> String {
        exposition::render(&self.labels, &lock(&self.families))
    }

    /// `before_experiment_control`: one more run in progress.
    pub fn started(&self) {
        *lock(&self.families).in_progress.get_or_insert(0.0) += 1.0;
    }

    /// `after_activity_control` (ours): the activity's outcome.
    pub fn activity(&self, run: &Value) {
        let field = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("unknown").to_string();
        let kind = field(run.get("activity").and_then(|a| a.get("type")));
        let status = field(run.get("status"));
        *lock(&self.families)
            .activities
            .entry((kind, status))
            .or_insert(0.0) += 1.0;
    }

    /// `after_experiment_control`: the journal's status, deviation and duration.
    pub fn finished(&self, journal: &Value) {
        let now = unix_now();
        let mut families = lock(&self.families);
        if journal.get("deviated").is_some_and(py_truthy) {
            families.deviated.get_or_insert((0.0, now)).0 += 1.0;
        }
        *families.in_progress.get_or_insert(0.0) -= 1.0;
        match journal.get("status").and_then(Value::as_str) {
            Some(s) if exposition::STATUSES.contains(&s) => families.status = Some(s.into()),
            other => log::debug!("not a run status: {other:?}"),
        }
        let duration = journal
            .get("duration")
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        families.duration = Some(duration);
        families
            .duration_dist
            .get_or_insert_with(|| Histogram::new(now))
            .observe(duration);
    }

    /// PUTs the registry to the Pushgateway. A failure is a WARNING the first time in the
    /// run, DEBUG afterwards; it never fails the run.
    pub async fn push(&self) {
        let body = self.render().into_bytes();
        let outcome = client::send(Request {
            method: reqwest::Method::PUT,
            url: &self.url,
            query: &[],
            auth: &Auth::None,
            verify_tls: true,
            limits: self.limits,
            body: Some((body, CONTENT_TYPE)),
        })
        .await;
        let problem = match outcome {
            Ok(answer) if answer.status < 400 => return,
            Ok(answer) => format!(
                "the Pushgateway at {} answered {}: {}",
                self.endpoint(),
                answer.status,
                answer.text().trim()
            ),
            Err(e @ HttpError::Timeout { .. }) => format!("the Pushgateway at {e}"),
            Err(e) => e.to_string(),
        };
        let message = format!(
            "Control '{}' ({MODULE}) could not push the run's metrics: {problem}",
            self.control
        );
        if self.warned.swap(true, Ordering::SeqCst) {
            log::debug!("{message}");
        } else {
            log::warn!("{message}");
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Metrics {
    /// The collector of the control declared as `name` in the current run.
    pub fn collector(&self, name: &str) -> Option<Arc<Collector>> {
        lock(&self.collectors).get(name).cloned()
    }
}

impl Control for Metrics {
    fn configure<'a>(&'a self, call: ConfigureCall<'a>) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async move {
            let collector = Arc::new(Collector::new(call.name, call.arguments, call.experiment));
            if let Some(listen) = call.arguments.get("listen").filter(|v| py_truthy(v)) {
                self.endpoints
                    .serve(call.name, &py_str(listen), collector.clone())
                    .await;
            }
            lock(&self.collectors).insert(call.name.to_string(), collector);
            Ok(())
        })
    }

    fn hook<'a>(&'a self, call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async move {
            let Some(collector) = self.collector(call.name) else {
                return Ok(Changes::default());
            };
            match (call.level, call.when) {
                (Level::Experiment, When::Before) => {
                    collector.started();
                    collector.push().await;
                }
                (Level::Activity, When::After) => {
                    if let Some(run) = call.state {
                        collector.activity(run);
                    }
                }
                (Level::Experiment, When::After) => {
                    collector.finished(call.state.unwrap_or(&Value::Null));
                    collector.push().await;
                }
                _ => {}
            }
            Ok(Changes::default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn defaults_are_upstreams() {
        let experiment = json!({"title": "t", "method": []});
        let c = Collector::new("m", &Map::new(), &experiment);
        assert_eq!(
            c.url,
            "http://localhost:9091/metrics/job/chaostoolkit/chaostoolkit_experiment_ref/e36976047d9a739accdc8744"
        );
        assert_eq!(c.labels.experiment_ref, "e36976047d9a739accdc8744");
        assert_eq!(c.labels.trace_id.len(), 32);
        assert!(c.labels.trace_id.chars().all(|ch| ch.is_ascii_hexdigit()));
        assert_eq!(c.limits.total, DEFAULT_PUSH_TIMEOUT);
        // Two runs, two trace ids.
        assert_ne!(
            Collector::new("m", &Map::new(), &experiment)
                .labels
                .trace_id,
            c.labels.trace_id
        );
    }

    #[test]
    fn arguments_override_the_defaults() {
        let c = Collector::new(
            "m",
            &args(json!({
                "pushgateway_url": "http://u:s3cret@gw:1/",
                "job": "j",
                "grouping_key": {"team": "sre", "env": "prod"},
                "trace_id": "t1",
                "experiment_ref": "ref1",
                "push_timeout": 0.25,
                "something_else": true
            })),
            &Value::Null,
        );
        assert_eq!(
            c.url,
            "http://u:s3cret@gw:1/metrics/job/j/env/prod/team/sre"
        );
        assert_eq!(
            c.endpoint(),
            "http://u:***@gw:1/metrics/job/j/env/prod/team/sre"
        );
        assert_eq!(
            (c.labels.trace_id.as_str(), c.labels.experiment_ref.as_str()),
            ("t1", "ref1")
        );
        assert_eq!(c.limits.total, Duration::from_millis(250));
    }

    #[test]
    fn a_run_fills_the_families_as_upstream() {
        let c = Collector::new("m", &Map::new(), &Value::Null);
        c.started();
        c.activity(&json!({"activity": {"type": "action"}, "status": "succeeded"}));
        c.activity(&json!({"activity": {"type": "probe"}, "status": "failed"}));
        c.activity(&json!({"activity": {"type": "probe"}, "status": "failed"}));
        c.finished(&json!({"status": "failed", "deviated": true, "duration": 0.3}));
        let f = lock(&c.families).clone();
        assert_eq!(f.in_progress, Some(0.0));
        assert_eq!(f.status.as_deref(), Some("failed"));
        assert_eq!(f.deviated.map(|d| d.0), Some(1.0));
        assert_eq!(f.duration, Some(0.3));
        let dist = f.duration_dist.expect("histogram");
        assert_eq!(dist.counts[7], 1, "0.3 falls in the 0.5 bucket");
        assert_eq!(
            f.activities
                .get(&("probe".to_string(), "failed".to_string())),
            Some(&2.0)
        );
        // Not deviated: no deviated sample at all, as upstream never touches the counter.
        let c = Collector::new("m", &Map::new(), &Value::Null);
        c.finished(&json!({"status": "completed", "deviated": false, "duration": 1}));
        assert_eq!(lock(&c.families).deviated, None);
    }
}
