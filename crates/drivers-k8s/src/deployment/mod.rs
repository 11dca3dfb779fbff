//! `chaosk8s.deployment`: create, scale, restart and delete Deployments, and their health;
//! plus, callable but not discovered, the talk's rollout functions (`rollout.rs`).

pub mod actions;
pub mod probes;
pub(crate) mod rollout;
