//! `loss` (Shakedown extension, UDP proxies only): drop each datagram with `probability`.
//!
//! Attributes: `probability` (0–1, default 1). The draw is per datagram, where `toxicity`
//! decides once per session whether the toxic applies at all. Losing bytes out of a TCP
//! stream would corrupt it rather than model loss (TCP retransmits), so a TCP proxy
//! refuses this toxic; use `timeout`, `reset_peer` or `bandwidth` there.

use serde_json::{Map, Value};

use super::{num_f64, Attrs};

#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The chance, from 0 to 1, that one datagram is dropped.
    pub probability: f64,
}

impl Default for Loss {
    fn default() -> Self {
        Loss { probability: 1.0 }
    }
}

impl Loss {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.float("probability", &mut self.probability)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("probability".into(), num_f64(self.probability));
    }
}
