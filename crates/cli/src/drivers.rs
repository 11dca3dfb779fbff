//! The native driver registry the binary ships with.
//!
//! Driver crates register their functions here under their upstream module names; the
//! registry then answers `python` providers, validation and `chaos discover`.

use providers::registry::Registry;
use std::sync::Arc;

pub fn registry() -> Arc<Registry> {
    Arc::new(Registry::new())
}
