//! Prometheus metrics of the operator, in the text exposition format, served on
//! `--metrics-addr` at `/metrics`.
//!
//! Counters only grow, labelled by kind (`ctk`: `ChaosToolkitExperiment`, `cex`:
//! `ChaosExperiment`): `shakedown_operator_runs_started_total`,
//! `shakedown_operator_verdicts_total{verdict}` (each run counted once, when its verdict is
//! first seen), `shakedown_operator_reconciles_total`,
//! `shakedown_operator_reconcile_errors_total`; and the gauge `shakedown_operator_leader`
//! (1 on the replica holding the Lease). Hand-written rather than `prometheus-client`: six
//! series do not pay for a dependency.

use crate::plan::Kind;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    leader: AtomicBool,
}

const HELP: [(&str, &str); 4] = [
    (
        "shakedown_operator_reconcile_errors_total",
        "Reconcile passes that failed and were retried.",
    ),
    ("shakedown_operator_reconciles_total", "Reconcile passes."),
    (
        "shakedown_operator_runs_started_total",
        "Runner pods created.",
    ),
    (
        "shakedown_operator_verdicts_total",
        "Runs ended, by verdict.",
    ),
];

impl Metrics {
    fn add(&self, name: &'static str, labels: String) {
        if let Ok(mut map) = self.counters.lock() {
            *map.entry((name, labels)).or_insert(0) += 1;
        }
    }

    pub fn reconcile(&self, kind: Kind) {
        self.add(
            "shakedown_operator_reconciles_total",
            format!("kind=\"{}\"", kind.label()),
        );
    }

    pub fn reconcile_error(&self, kind: Kind) {
        self.add(
            "shakedown_operator_reconcile_errors_total",
            format!("kind=\"{}\"", kind.label()),
        );
    }

    pub fn run_started(&self, kind: Kind) {
        self.add(
            "shakedown_operator_runs_started_total",
            format!("kind=\"{}\"", kind.label()),
        );
    }

    pub fn verdict(&self, kind: Kind, verdict: &str) {
        self.add(
            "shakedown_operator_verdicts_total",
            format!("kind=\"{}\",verdict=\"{verdict}\"", kind.label()),
        );
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let map = self.counters.lock().map(|m| m.clone()).unwrap_or_default();
        for (name, help) in HELP {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for ((n, labels), value) in &map {
                if *n == name {
                    out.push_str(&format!("{name}{{{labels}}} {value}\n"));
                }
            }
        }
        out.push_str(
            "# HELP shakedown_operator_leader 1 while this replica holds the leader Lease.\n",
        );
        out.push_str("# TYPE shakedown_operator_leader gauge\n");
        out.push_str(&format!(
            "shakedown_operator_leader {}\n",
            u8::from(self.is_leader())
        ));
        out
    }
}

/// Serves `/metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_with_their_labels() {
        let m = Metrics::default();
        m.run_started(Kind::Upstream);
        m.verdict(Kind::Shakedown, "deviated");
        m.verdict(Kind::Shakedown, "deviated");
        m.reconcile_error(Kind::Upstream);
        m.set_leader(true);
        let text = m.render();
        assert!(
            text.contains("shakedown_operator_runs_started_total{kind=\"ctk\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "shakedown_operator_verdicts_total{kind=\"cex\",verdict=\"deviated\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("shakedown_operator_reconcile_errors_total{kind=\"ctk\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("shakedown_operator_leader 1\n"), "{text}");
    }
}
