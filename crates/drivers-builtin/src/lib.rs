//! Native stand-ins for Python standard-library functions that experiments call directly as
//! `python` providers, such as `{module: os, func: rename}` in *Learning Chaos Engineering*.
//!
//! Errors read like the Python exceptions the reference would wrap
//! (`FileNotFoundError: [Errno 2] No such file or directory: 'x' -> 'y'`).

pub mod os;

use providers::registry::Registry;

/// Registers every built-in module.
pub fn register(registry: &mut Registry) {
    os::register(registry);
}
