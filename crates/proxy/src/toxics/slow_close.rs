//! `slow_close`: pass data unchanged but hold the EOF back for `delay` ms.

use std::time::Instant;

use serde_json::{Map, Value};

use super::{ms, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlowClose {
    /// Milliseconds between the source's EOF and closing the destination.
    pub delay: i64,
}

impl SlowClose {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("delay", &mut self.delay)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("delay".into(), self.delay.into());
    }
}

pub struct SlowCloseStage(pub SlowClose);

impl Stage for SlowCloseStage {
    fn chunk(&mut self, chunk: Chunk, _rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        out.push(chunk);
        Verdict::Continue
    }
    fn eof(&mut self, at: Instant) -> Result<Instant, Verdict> {
        Ok(at.max(Instant::now()) + ms(self.0.delay))
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::SlowClose(t) => {
                self.0 = t.clone();
                true
            }
            _ => false,
        }
    }
}
