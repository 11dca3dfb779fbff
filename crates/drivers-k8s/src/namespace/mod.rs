//! `chaosk8s.namespace`.

pub mod actions;
pub mod probes;
