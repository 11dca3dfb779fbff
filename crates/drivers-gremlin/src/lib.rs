//! Native `chaosgremlin` (chaostoolkit-gremlin): start a Gremlin attack from an experiment,
//! and stop it again.
//!
//! | upstream module | here | what |
//! |---|---|---|
//! | `chaosgremlin.actions` | [`actions`] | `attack` (upstream's arguments, authentication paths, requests and messages) and `halt_attack` / `halt_all_attacks`, which upstream lacks |
//! | — | [`api`] | the Gremlin REST client: base URL, bounded timeouts, credentials that never show |
//! | — | `stand_in` (tests, feature `stand-in`) | a recording Gremlin API on 127.0.0.1 |
//!
//! Why native: the Gremlin sample experiment (`chaos run experiment.json` with
//! `chaosgremlin.actions.attack` in its method) should run from the one `chaos` binary,
//! without a Python interpreter carrying chaostoolkit-lib, requests and logzero; and an
//! attack started by a run should be stoppable by that run's rollbacks, which upstream
//! cannot do. What differs from upstream on purpose is in docs/compatibility.md; the
//! Python package can still be forced with `CHAOS_PYTHON_MODULES=chaosgremlin.`
//! (docs/python-bridge.md). docs/gremlin.md is the user's page.

pub mod actions;
pub mod api;
#[cfg(any(test, feature = "stand-in"))]
pub mod stand_in;

use providers::registry::{Package, Registry};

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-gremlin";
/// The upstream release whose function names and signatures this crate mirrors (its
/// API-key path is from the repository's head, a32cd48, which no release carries).
pub const UPSTREAM_VERSION: &str = "0.3.0";

/// Registers `chaosgremlin.actions` and the `chaostoolkit-gremlin` package.
pub fn register(registry: &mut Registry) {
    for spec in actions::SPECS {
        registry.register(spec.function(actions::MODULE));
    }
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "gremlin",
        modules: vec![actions::MODULE],
    });
}
