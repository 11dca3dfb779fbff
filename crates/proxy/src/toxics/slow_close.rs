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
    /// `at` is when the EOF reaches this stage (the link's clock, never in the past):
    /// reading the clock again here would add scheduling noise to `delay_injected_ms`.
    fn eof(&mut self, at: Instant) -> Result<Instant, Verdict> {
        Ok(at + ms(self.0.delay))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The EOF is held exactly `delay` after it arrived, however late the stage runs:
    /// `delay_injected_ms` reports what the toxic was asked to inject, not scheduler noise.
    #[test]
    fn eof_is_held_exactly_delay_after_it_arrived() {
        let mut stage = SlowCloseStage(SlowClose { delay: 30 });
        let at = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(stage.eof(at), Ok(at + Duration::from_millis(30)));
    }
}
