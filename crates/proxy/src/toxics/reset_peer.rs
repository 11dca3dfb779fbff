//! `reset_peer`: on the next data (or EOF) after activation, drop it, wait `timeout` ms,
//! then reset the connection (SO_LINGER 0, so the peers see a TCP RST).
//!
//! Unlike Toxiproxy, linger is set only at the moment of the reset, so a toxic added to a
//! live connection also resets it, and toxicity 0 leaves ordinary closes alone (#603).

use std::time::Instant;

use serde_json::{Map, Value};

use super::{ms, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResetPeer {
    /// Milliseconds to wait after the triggering data before the reset.
    pub timeout: i64,
}

impl ResetPeer {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("timeout", &mut self.timeout)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("timeout".into(), self.timeout.into());
    }
}

pub struct ResetPeerStage {
    cfg: ResetPeer,
    triggered: bool,
}

impl ResetPeerStage {
    pub fn new(cfg: ResetPeer) -> Self {
        ResetPeerStage {
            cfg,
            triggered: false,
        }
    }
    fn trigger(&mut self) -> Verdict {
        if self.triggered {
            return Verdict::Continue;
        }
        self.triggered = true;
        Verdict::Reset(Instant::now() + ms(self.cfg.timeout))
    }
}

impl Stage for ResetPeerStage {
    fn chunk(&mut self, _chunk: Chunk, _rng: &mut Rng, _out: &mut Vec<Chunk>) -> Verdict {
        self.trigger()
    }
    fn eof(&mut self, _at: Instant) -> Result<Instant, Verdict> {
        Err(self.trigger())
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::ResetPeer(t) => {
                self.cfg = t.clone();
                true
            }
            _ => false,
        }
    }
}
