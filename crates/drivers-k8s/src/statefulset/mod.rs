//! `chaosk8s.statefulset`.

pub mod actions;
pub mod probes;
