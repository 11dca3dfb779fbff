//! `chaosk8s.replicaset`.

pub mod actions;
