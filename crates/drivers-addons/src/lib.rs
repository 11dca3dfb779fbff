//! Native `chaosaddons` (chaostoolkit-addons 0.12.0, the reference pins 0.11.0): the
//! controls that teams put around production runs, and one action.
//!
//! | upstream module | here | what |
//! |---|---|---|
//! | `chaosaddons.controls.safeguards` | [`controls::safeguards`] | probes beside the run that interrupt it on their first tolerance miss |
//! | `chaosaddons.controls.bypass` | [`controls::bypass`] | marks activities `dry` |
//! | `chaosaddons.controls.repeat` | [`controls::repeat`] | plays an activity again, right after itself |
//! | `chaosaddons.controls.synchronization` | [`controls::synchronization`] | the "experiment finished" flag safeguards consult |
//! | `chaosaddons.utils.idle.idle_for` | [`utils::idle`] | an interruptible pause, as a `Spec` row |
//!
//! One file per upstream module, under the upstream path, so a reader finds `repeat` in
//! `controls/repeat.rs`. Why native: a safeguard is the one control whose failure to run is
//! an incident; natively it needs no Python interpreter with chaostoolkit-lib installed,
//! it interrupts the run through the engine's [`RunHandle`](providers::control::RunHandle)
//! rather than a signal (so it cannot freeze the run, chaostoolkit#210), and it runs its
//! probes with the engine's own activity runner and tolerance judge. The upstream modules
//! can still be forced to Python with `CHAOS_PYTHON_MODULES=chaosaddons.`
//! (docs/python-bridge.md); docs/controls.md describes what each control does.

pub mod controls;
pub mod utils;

use providers::registry::Registry;
use std::sync::Arc;

/// The upstream version whose behaviour (and journal) this follows.
pub const UPSTREAM_VERSION: &str = "0.12.0";

/// Registers the four controls and `chaosaddons.utils.idle`.
pub fn register(registry: &mut Registry) {
    registry.register_control(
        controls::safeguards::MODULE,
        Arc::new(controls::safeguards::Safeguards::default()),
    );
    registry.register_control(controls::bypass::MODULE, Arc::new(controls::bypass::Bypass));
    registry.register_control(controls::repeat::MODULE, Arc::new(controls::repeat::Repeat));
    registry.register_control(
        controls::synchronization::MODULE,
        Arc::new(controls::synchronization::Synchronization),
    );
    for spec in utils::idle::SPECS {
        registry.register(spec.function(utils::idle::MODULE));
    }
    // No `register_package`: upstream has no `discover()`, so `chaos discover
    // chaostoolkit-addons` has nothing to list in the reference either.
}
