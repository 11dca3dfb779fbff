//! `timeout`: swallow all data; close the connection after `timeout` ms without data
//! (0 = never close). Removing it closes the connections it was active on, because the
//! dropped bytes would otherwise leave a corrupt stream (Toxiproxy PR #168).

use std::time::Instant;

use serde_json::{Map, Value};

use super::{ms, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeout {
    /// Milliseconds of silence before the connection is closed; 0 = hold forever.
    pub timeout: i64,
}

impl Timeout {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("timeout", &mut self.timeout)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("timeout".into(), self.timeout.into());
    }
}

pub struct TimeoutStage {
    cfg: Timeout,
    /// Last time data arrived (or the toxic became active).
    last: Instant,
}

impl TimeoutStage {
    pub fn new(cfg: Timeout, now: Instant) -> Self {
        TimeoutStage { cfg, last: now }
    }
}

impl Stage for TimeoutStage {
    fn chunk(&mut self, _chunk: Chunk, _rng: &mut Rng, _out: &mut Vec<Chunk>) -> Verdict {
        // Data is dropped; Toxiproxy re-arms its timer on every chunk.
        self.last = Instant::now();
        Verdict::Continue
    }
    fn deadline(&self) -> Option<Instant> {
        (self.cfg.timeout > 0).then(|| self.last + ms(self.cfg.timeout))
    }
    fn fire(&mut self, now: Instant) -> Verdict {
        match self.deadline() {
            Some(d) if now >= d => Verdict::Close,
            _ => Verdict::Continue,
        }
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::Timeout(t) => {
                self.cfg = t.clone();
                // Toxiproxy restarts the stub on update, which restarts the timer.
                self.last = Instant::now();
                true
            }
            _ => false,
        }
    }
    fn closes_on_removal(&self) -> bool {
        true
    }
}
