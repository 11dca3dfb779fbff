//! `chaosk8s.daemonset`: create, update and delete DaemonSets, and their readiness.

pub mod actions;
pub mod probes;
