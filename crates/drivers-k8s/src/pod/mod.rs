//! `chaosk8s.pod`: terminate pods and probe their phases, conditions, counts and logs.

pub mod actions;
pub mod probes;
