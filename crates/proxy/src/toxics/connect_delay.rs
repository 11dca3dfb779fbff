//! `connect_delay` (Shakedown extension): wait `delay` ms after accepting a client before
//! dialling the upstream, so no byte flows either way until then (a slow connect,
//! Toxiproxy #72/#123). `toxicity` is the fraction of connections affected.

use serde_json::{Map, Value};

use super::Attrs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectDelay {
    /// Milliseconds to hold each new connection before dialling upstream.
    pub delay: i64,
}

impl ConnectDelay {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("delay", &mut self.delay)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("delay".into(), self.delay.into());
    }
}
