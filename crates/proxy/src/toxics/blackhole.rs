//! `blackhole` (Shakedown extension): silently drop everything, keep the connection or
//! UDP session open. On TCP this is Toxiproxy's `timeout` with `timeout: 0` (no close);
//! on UDP it is the total outage a `timeout` cannot express (datagrams have no close).

use super::{Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blackhole;

pub struct BlackholeStage;

impl Stage for BlackholeStage {
    fn chunk(&mut self, _chunk: Chunk, _rng: &mut Rng, _out: &mut Vec<Chunk>) -> Verdict {
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        matches!(kind, ToxicKind::Blackhole(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn drops_every_chunk() {
        let mut out = Vec::new();
        let mut rng = Rng::new(1);
        let v = BlackholeStage.chunk(
            Chunk {
                data: b"gone".to_vec(),
                at: Instant::now(),
            },
            &mut rng,
            &mut out,
        );
        assert_eq!(v, Verdict::Continue);
        assert!(out.is_empty());
    }
}
