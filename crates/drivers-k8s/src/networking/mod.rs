//! `chaosk8s.networking`: Ingresses and NetworkPolicies (deny-all and DNS helpers).

pub mod actions;
pub mod probes;
