//! `limit_data`: forward at most `bytes` bytes on a link, then close the connection.
//! The count survives attribute updates and restarts when the toxic is re-added.

use serde_json::{Map, Value};

use super::{Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LimitData {
    /// Bytes allowed through before the connection is closed.
    pub bytes: i64,
}

impl LimitData {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("bytes", &mut self.bytes)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("bytes".into(), self.bytes.into());
    }
}

pub struct LimitDataStage {
    cfg: LimitData,
    sent: i64,
}

impl LimitDataStage {
    pub fn new(cfg: LimitData) -> Self {
        LimitDataStage { cfg, sent: 0 }
    }
}

impl Stage for LimitDataStage {
    fn chunk(&mut self, mut chunk: Chunk, _rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        let remaining = (self.cfg.bytes - self.sent).max(0) as usize;
        if chunk.data.len() > remaining {
            chunk.data.truncate(remaining);
        }
        self.sent += chunk.data.len() as i64;
        if !chunk.data.is_empty() {
            out.push(chunk);
        }
        if self.sent >= self.cfg.bytes {
            Verdict::Close
        } else {
            Verdict::Continue
        }
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::LimitData(t) => {
                self.cfg = t.clone();
                true
            }
            _ => false,
        }
    }
}
