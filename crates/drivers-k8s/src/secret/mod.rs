//! `chaosk8s.secret`.

pub mod actions;
pub mod probes;
