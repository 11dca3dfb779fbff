//! The seal's metric events, counted once for the whole run and, at debug level, logged
//! as upstream's stdout collector does.
//!
//! Upstream passes its collector to scenarios but not to their actions, which fall back
//! to the stdout collector: with `--prometheus-collector` only the scenario counter ever
//! reached Prometheus. Here every event goes to the one [`Metrics`] the runner holds, so
//! pod kills, empty matches and filters are counted wherever they happen; the series
//! are upstream's (`seal_pod_kills_total{status,namespace,name}`, …) in the Prometheus
//! text format ([`Metrics::render`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::log::Log;
use super::pods::Pod;

const LOGGER: &str = "stdout_collector";

pub struct Metrics {
    log: Arc<Log>,
    counters: Mutex<BTreeMap<(String, String), u64>>,
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn new(log: Arc<Log>) -> Self {
        let m = Metrics {
            log,
            counters: Mutex::new(BTreeMap::new()),
        };
        // Upstream pre-initialises these two series.
        for source in ["pods", "nodes"] {
            m.add("seal_empty_match_total", &format!("source=\"{source}\""), 0);
        }
        m
    }

    fn add(&self, name: &str, labels: &str, by: u64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((name.to_string(), labels.to_string())).or_insert(0) += by;
        }
    }

    pub(crate) fn pod_killed(&self, pod: &Pod, success: bool) {
        self.log.debug(
            LOGGER,
            format!(
                "Pod killed - namespace: {} - name: {}",
                pod.namespace, pod.name
            ),
        );
        let status = if success { "success" } else { "failure" };
        self.add(
            "seal_pod_kills_total",
            &format!(
                "status=\"{status}\",namespace=\"{}\",name=\"{}\"",
                label(&pod.namespace),
                label(&pod.name)
            ),
            1,
        );
    }

    pub(crate) fn empty_filter(&self) {
        self.log.debug(LOGGER, "Filtered to empty set");
        self.add("seal_empty_filter_total", "", 1);
    }

    pub(crate) fn probability_filter_passed_none(&self) {
        self.log.debug(LOGGER, "Probability filter passed no nodes");
        self.add("seal_probability_filter_not_passed_total", "", 1);
    }

    pub(crate) fn empty_match(&self, source: &str) {
        self.log
            .debug(LOGGER, format!("Matched to empty set - source: {source}"));
        self.add("seal_empty_match_total", &format!("source=\"{source}\""), 1);
    }

    pub(crate) fn scenario(&self, name: &str, success: bool) {
        self.log.debug(
            LOGGER,
            format!(
                "Scenario {name} result: {}",
                if success { "True" } else { "False" }
            ),
        );
        let result = if success { "success" } else { "fail" };
        self.add(
            "seal_scenario_runs_total",
            &format!("name=\"{}\",result=\"{result}\"", label(name)),
            1,
        );
    }

    /// The current value of one series (`labels` as written in the text format).
    pub fn get(&self, name: &str, labels: &str) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|c| c.get(&(name.to_string(), labels.to_string())).copied())
            .unwrap_or(0)
    }

    /// Every series in the Prometheus text format (0.0.4).
    pub fn render(&self) -> String {
        let Ok(c) = self.counters.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let mut last = "";
        for ((name, labels), value) in c.iter() {
            if name != last {
                out.push_str(&format!("# TYPE {name} counter\n"));
                last = name;
            }
            if labels.is_empty() {
                out.push_str(&format!("{name} {value}\n"));
            } else {
                out.push_str(&format!("{name}{{{labels}}} {value}\n"));
            }
        }
        out
    }
}
