//! Native `chaosprometheus` (chaostoolkit-prometheus 0.6.0): the probes that query a
//! Prometheus server, and the control that pushes a run's metrics to a Pushgateway.
//!
//! | upstream module | here | what |
//! |---|---|---|
//! | `chaosprometheus.probes` | [`probes`] | `query`, `query_interval`, `compute_mean`, `nodes_cpu_usage_mean`, one `Spec` row each |
//! | `chaosprometheus.metrics` | [`metrics`] | the control: run status, deviation, in-progress and duration metrics, pushed before and after the experiment |
//!
//! Layout: one file per upstream module, plus what they share: [`client`] (one bounded
//! HTTP exchange, credentials, URLs shown without passwords) and [`when`] (the dates the
//! probes accept, parsed by a small hand-written parser instead of upstream's
//! `dateparser`). Why native: the probes are the ones the book's experiments and many
//! safeguards use (`query` in a hypothesis or a `frequency` safeguard), and upstream's
//! need a Python interpreter with `dateparser`, `maya`, `pendulum` and `logzero`
//! installed; natively they start instantly, are bounded in time, and reach a secured
//! Prometheus. `CHAOS_PYTHON_MODULES=chaosprometheus.` still runs the Python package
//! through the bridge (docs/python-bridge.md). docs/prometheus.md describes the probes and
//! docs/controls.md the control; docs/compatibility.md lists every difference.

pub mod client;
pub mod metrics;
pub mod probes;
pub mod when;

use providers::registry::{Package, Registry};
use std::sync::Arc;

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-prometheus";
/// The upstream release whose functions and signatures this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.6.0";

/// Registers the four probes, the metrics control and the `chaostoolkit-prometheus`
/// package.
pub fn register(registry: &mut Registry) {
    for spec in probes::SPECS {
        registry.register(spec.function(probes::MODULE));
    }
    registry.register_control(metrics::MODULE, Arc::new(metrics::Metrics::default()));
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "prometheus",
        modules: vec![probes::MODULE],
    });
}
