//! Native load generation: background traffic ("pretend users") and denial-of-service
//! actions, with results an experiment's tolerances can test and a report can chart.
//!
//! | module | here | what |
//! |---|---|---|
//! | `shakedown.load.actions` | [`actions`] | `run_load` (returns the results), `start_load` / `stop_load` (a named load beside the rest of the run) |
//! | `shakedown.load.probes` | [`actions::PROBE_SPECS`] | `load_results(name)` |
//! | `load` | [`actions::SINGLE`] | `single(url, duration, frequency=1.0)` of the talk's user module, only when Python cannot import a `load` module of the user's |
//! | — | [`plan`] | the arguments, checked (also by `chaos validate`), with their limits |
//! | — | [`runner`] | threads, connections (HTTP/1.1 keep-alive, h2c), pacing (closed or open model), clean stops |
//! | — | [`histogram`] | the latency histogram (log-linear, HDR-style) |
//! | — | [`results`] | the results mapping |
//!
//! Why native: the book simulates a denial of service by shelling out to `kubectl run …
//! siege` (E13), whose output lands unparsed in the log, and the talk's pretend users are a
//! Python module every team rewrites. Here the load is one action whose results are data
//! (availability, percentiles) a hypothesis can hold to, it sends traffic only to the URL
//! the experiment names, and it stops with the run (interrupted or ended), reporting what
//! it did. Why the `shakedown.` namespace: no Chaos Toolkit package has these functions,
//! and a `chaos…` name would suggest a Python package that does not exist (docs/load.md).

pub mod actions;
pub mod histogram;
pub mod plan;
pub mod results;
pub mod runner;

use experiment::Map;
use providers::registry::{Package, Registry};

/// The name `chaos discover` answers to.
pub const PACKAGE: &str = "shakedown-load";

fn check(func: &str, arguments: &Map) -> Result<(), (String, String)> {
    actions::check(func, arguments).map_err(|e| (e.argument.to_string(), e.message))
}

/// Registers the actions, the probe, the talk's `load.single` (as a fallback) and the
/// `shakedown-load` package.
pub fn register(registry: &mut Registry) {
    for spec in actions::SPECS {
        registry.register(spec.function(actions::MODULE));
        registry.register_arguments_check(actions::MODULE, spec.name, check);
    }
    for spec in actions::PROBE_SPECS {
        registry.register(spec.function(actions::PROBES));
    }
    registry.register_fallback(actions::SINGLE.function(actions::SINGLE_MODULE));
    registry.register_arguments_check(actions::SINGLE_MODULE, actions::SINGLE.name, check);
    registry.register_package(Package {
        name: PACKAGE,
        version: env!("CARGO_PKG_VERSION"),
        target: "http",
        modules: vec![actions::MODULE, actions::PROBES],
    });
}
