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

/// Serves [`Metrics::render`] at `GET /metrics` (anything else: 404) on `listener` until
/// the runtime ends: `--prometheus-collector` on `--prometheus-host`:`--prometheus-port`.
/// One small HTTP/1.1 exchange per connection; the request head is read up to 8 KiB.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Arc<Metrics>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&head);
            let mut parts = line.split_whitespace();
            let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let path = target.split('?').next().unwrap_or("");
            let (status, content_type, body) = if method == "GET" && path == "/metrics" {
                (
                    "200 OK",
                    "text/plain; version=0.0.4; charset=utf-8",
                    metrics.render(),
                )
            } else {
                ("404 Not Found", "text/plain", "not found\n".to_string())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}
