//! `chaostoxi` (chaostoolkit-toxiproxy 0.3.1) without Python: the 16 functions of
//! `chaostoxi.proxy.actions`, `chaostoxi.proxy.probes` and `chaostoxi.toxic.actions`,
//! answered natively through [`proxy::client::Client`] so existing experiments run
//! unchanged against Toxiproxy or `chaos proxy serve`.
//!
//! Upstream behaviour is kept, quirks included (see `docs/proxy.md`): the same argument
//! names and defaults, the same return values (`True`, `None`, `bool`), the same
//! exception class at the start of every failure message (`AssertionError`,
//! `TypeError`, `KeyError`, `requests.exceptions.ConnectionError`), with a readable
//! explanation appended where upstream raised a bare exception.
//!
//! One extension: `chaostoxi.toxic.probes.toxic_stats` returns what a toxic actually did
//! (the proxy's proof-of-injection counters), so a probe can assert the fault happened.
//! Outputs that carry toxics (`get_proxy_attribute(…, "toxics")`) include the same
//! counters as an extra `stats` key when the server is `chaos proxy serve`.

mod common;
pub mod proxy_actions;
pub mod proxy_probes;
pub mod toxic_actions;
pub mod toxic_probes;

use providers::registry::{Package, Registry};

/// The distribution name `chaos discover` answers to.
pub const PACKAGE: &str = "chaostoolkit-toxiproxy";
/// The upstream release whose functions and signatures this crate mirrors.
pub const UPSTREAM_VERSION: &str = "0.3.1";

pub use common::base_url;

/// Registers the 16 `chaostoxi` functions, Shakedown's `chaostoxi.toxic.probes.toxic_stats`
/// and the `chaostoolkit-toxiproxy` package.
pub fn register(registry: &mut Registry) {
    let modules = [
        (proxy_actions::MODULE, proxy_actions::SPECS),
        (proxy_probes::MODULE, proxy_probes::SPECS),
        (toxic_actions::MODULE, toxic_actions::SPECS),
        (toxic_probes::MODULE, toxic_probes::SPECS),
    ];
    for (module, specs) in modules {
        for spec in specs {
            registry.register(spec.function(module));
        }
    }
    registry.register_package(Package {
        name: PACKAGE,
        version: UPSTREAM_VERSION,
        target: "toxiproxy",
        modules: vec![
            proxy_actions::MODULE,
            proxy_probes::MODULE,
            toxic_actions::MODULE,
            toxic_probes::MODULE,
        ],
    });
}
