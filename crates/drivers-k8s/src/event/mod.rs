//! `chaosk8s.event`.

pub mod probes;
