//! `latency`: delay every chunk by `latency` ms ± `jitter` ms.
//!
//! The delay counts from the chunk's arrival, so back-to-back chunks are delayed in
//! parallel rather than one after another (Toxiproxy PR #67); order is kept.

use serde_json::{Map, Value};

use super::{ms, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latency {
    /// Milliseconds added to every chunk.
    pub latency: i64,
    /// Milliseconds of uniform random variation, in [-jitter, +jitter).
    pub jitter: i64,
}

impl Latency {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("latency", &mut self.latency)?;
        a.int("jitter", &mut self.jitter)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("latency".into(), self.latency.into());
        m.insert("jitter".into(), self.jitter.into());
    }
    /// One draw of latency ± jitter, in ms.
    pub fn delay(&self, rng: &mut Rng) -> i64 {
        let mut d = self.latency;
        if self.jitter > 0 {
            d = d.saturating_add(rng.range_i64(-self.jitter, self.jitter));
        }
        d
    }
}

pub struct LatencyStage(pub Latency);

impl Stage for LatencyStage {
    fn chunk(&mut self, mut chunk: Chunk, rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        chunk.at += ms(self.0.delay(rng));
        out.push(chunk);
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::Latency(t) => {
                self.0 = t.clone();
                true
            }
            _ => false,
        }
    }
}
