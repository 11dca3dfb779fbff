//! `slicer`: cut each chunk into pieces of about `average_size` ± `size_variation` bytes,
//! sent `delay` **microseconds** apart — simulates TCP segmentation to test framing code.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Slicer {
    /// Target piece size in bytes.
    pub average_size: i64,
    /// Random variation of the piece size in bytes (should be < average_size).
    pub size_variation: i64,
    /// Microseconds between pieces.
    pub delay: i64,
}

impl Slicer {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("average_size", &mut self.average_size)?;
        a.int("size_variation", &mut self.size_variation)?;
        a.int("delay", &mut self.delay)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("average_size".into(), self.average_size.into());
        m.insert("size_variation".into(), self.size_variation.into());
        m.insert("delay".into(), self.delay.into());
    }

    /// Split points for `[start, end)`, halving recursively like Toxiproxy. Iterative and
    /// guaranteed to progress, so odd attributes (0, negative) cannot recurse forever.
    pub fn cuts(&self, len: usize, rng: &mut Rng) -> Vec<usize> {
        let avg = self.average_size.max(1) as usize;
        let var = self.size_variation.max(0) as usize;
        let mut cuts = vec![0, len];
        let mut stack = vec![(0usize, len)];
        while let Some((s, e)) = stack.pop() {
            let size = e - s;
            if size <= 1 || size.saturating_sub(avg) <= var {
                continue;
            }
            let mut mid = s + size / 2;
            if var > 0 {
                let off = rng.range_i64(-(var as i64), var as i64);
                mid = (mid as i64 + off).clamp(s as i64 + 1, e as i64 - 1) as usize;
            }
            cuts.push(mid);
            stack.push((s, mid));
            stack.push((mid, e));
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

pub struct SlicerStage(pub Slicer);

impl Stage for SlicerStage {
    fn chunk(&mut self, chunk: Chunk, rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        let cuts = self.0.cuts(chunk.data.len(), rng);
        let step = Duration::from_micros(self.0.delay.max(0) as u64);
        for (i, w) in cuts.windows(2).enumerate() {
            out.push(Chunk {
                data: chunk.data[w[0]..w[1]].to_vec(),
                at: chunk.at + step * i as u32,
            });
        }
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::Slicer(t) => {
                self.0 = t.clone();
                true
            }
            _ => false,
        }
    }
}
