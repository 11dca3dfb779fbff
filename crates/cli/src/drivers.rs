//! The native driver registry the binary ships with.
//!
//! Driver crates register their functions here under their upstream module names; the
//! registry then answers `python` providers, validation and `chaos discover`.

use providers::registry::Registry;
use std::sync::Arc;

pub fn registry() -> Arc<Registry> {
    let mut registry = Registry::new();
    drivers_builtin::register(&mut registry);
    drivers_toxiproxy::register(&mut registry);
    drivers_k8s::register(&mut registry);
    Arc::new(registry)
}

/// The native control modules the binary ships with (none yet: the reference's control
/// modules, such as chaosaddons' safeguards, come with their drivers).
pub fn controls() -> engine::controls::ControlRegistry {
    engine::controls::ControlRegistry::new()
}
