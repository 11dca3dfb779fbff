//! `chaosk8s.pod`: terminate pods, run commands in them, and probe their phases,
//! conditions, counts and logs.

pub mod actions;
mod exec;
pub mod probes;
mod replacement;
