//! `chaosk8s.service`.

pub mod actions;
pub mod probes;
