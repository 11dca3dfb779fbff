//! `chaosk8s.deployment`: create, scale, restart and delete Deployments, and their health.

pub mod actions;
pub mod probes;
