//! `bandwidth`: limit a link to `rate` KB/s (1 KB = 1000 bytes, as in Toxiproxy).
//!
//! Chunks bigger than 100 ms worth of data are cut into `rate × 100`-byte pieces, each
//! released when the link's budget allows. A `rate` of 0 or less stalls the link, which
//! is what Toxiproxy effectively does and what users rely on to fake a dead peer.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bandwidth {
    /// Kilobytes (1000 bytes) per second.
    pub rate: i64,
}

impl Bandwidth {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("rate", &mut self.rate)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("rate".into(), self.rate.into());
    }
}

pub struct BandwidthStage {
    cfg: Bandwidth,
    /// When the link has finished "transmitting" everything released so far.
    next_free: Option<Instant>,
}

impl BandwidthStage {
    pub fn new(cfg: Bandwidth) -> Self {
        BandwidthStage {
            cfg,
            next_free: None,
        }
    }
}

/// How far in the future a stalled (rate ≤ 0) link parks its data.
const STALL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Stage for BandwidthStage {
    fn chunk(&mut self, chunk: Chunk, _rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        let rate = self.cfg.rate;
        if rate <= 0 {
            out.push(Chunk {
                at: chunk.at + STALL,
                data: chunk.data,
            });
            return Verdict::Continue;
        }
        let piece = (rate as u64).saturating_mul(100).max(1) as usize;
        let mut data = chunk.data;
        while !data.is_empty() {
            let rest = if data.len() > piece {
                data.split_off(piece)
            } else {
                Vec::new()
            };
            let start = match self.next_free {
                Some(t) if t > chunk.at => t,
                _ => chunk.at,
            };
            // len / (rate × 1000 B/s) seconds, in nanoseconds.
            let nanos = (data.len() as u128 * 1_000_000) / rate as u128;
            let done = start + Duration::from_nanos(nanos.min(u64::MAX as u128) as u64);
            self.next_free = Some(done);
            out.push(Chunk { data, at: done });
            data = rest;
        }
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::Bandwidth(t) => {
                self.cfg = t.clone();
                true
            }
            _ => false,
        }
    }
}
