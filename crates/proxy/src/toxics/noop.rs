//! `noop`: passes data unchanged. Toxiproxy registers it, so it can be created too.

use super::{Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Noop;

/// Pass-through stage, also used for toxics that act outside the data path.
pub struct NoopStage(pub ToxicKind);

impl Stage for NoopStage {
    fn chunk(&mut self, chunk: Chunk, _rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        out.push(chunk);
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        if std::mem::discriminant(kind) == std::mem::discriminant(&self.0) {
            self.0 = kind.clone();
            true
        } else {
            false
        }
    }
}
