//! `http_delay` (Shakedown extension): hold a percentage of matching HTTP/1.1 requests for
//! `delay` ms before forwarding them (later bytes on the connection queue behind).
//!
//! Attributes: `delay` (ms), `percentage` (0–100, default 100), `method` ("" = any),
//! `path_prefix` ("" = any). Always inspects the client → server direction.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::http::{matches, Piece, RequestTracker};
use super::{ms, num_f64, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;
use crate::stats::ToxicStats;

#[derive(Debug, Clone, PartialEq)]
pub struct HttpDelay {
    pub delay: i64,
    pub percentage: f64,
    pub method: String,
    pub path_prefix: String,
}

impl Default for HttpDelay {
    fn default() -> Self {
        HttpDelay {
            delay: 0,
            percentage: 100.0,
            method: String::new(),
            path_prefix: String::new(),
        }
    }
}

impl HttpDelay {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("delay", &mut self.delay)?;
        a.float("percentage", &mut self.percentage)?;
        a.string("method", &mut self.method)?;
        a.string("path_prefix", &mut self.path_prefix)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("delay".into(), self.delay.into());
        m.insert("percentage".into(), num_f64(self.percentage));
        m.insert("method".into(), self.method.clone().into());
        m.insert("path_prefix".into(), self.path_prefix.clone().into());
    }
}

pub struct HttpDelayStage {
    cfg: HttpDelay,
    stats: Arc<ToxicStats>,
    tracker: RequestTracker,
    pieces: Vec<Piece>,
}

impl HttpDelayStage {
    pub fn new(cfg: HttpDelay, stats: Arc<ToxicStats>) -> Self {
        HttpDelayStage {
            cfg,
            stats,
            tracker: RequestTracker::default(),
            pieces: Vec::new(),
        }
    }
}

impl Stage for HttpDelayStage {
    fn chunk(&mut self, chunk: Chunk, rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        self.tracker.feed(&chunk.data, &mut self.pieces);
        for piece in self.pieces.drain(..) {
            match piece {
                Piece::Bytes(data) => out.push(Chunk { data, at: chunk.at }),
                Piece::Head {
                    bytes,
                    method,
                    path,
                } => {
                    ToxicStats::count(&self.stats.requests_seen);
                    let hit = matches(&self.cfg.method, &self.cfg.path_prefix, &method, &path)
                        && rng.next_f64() * 100.0 < self.cfg.percentage;
                    if hit {
                        ToxicStats::count(&self.stats.requests_delayed);
                    }
                    let at = if hit {
                        chunk.at + ms(self.cfg.delay)
                    } else {
                        chunk.at
                    };
                    out.push(Chunk { data: bytes, at });
                }
            }
        }
        Verdict::Continue
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::HttpDelay(t) => {
                self.cfg = t.clone();
                true
            }
            _ => false,
        }
    }
    fn held(&self) -> usize {
        self.tracker.held()
    }
    fn drain(&mut self) -> Vec<Chunk> {
        let held = self.tracker.take_held();
        if held.is_empty() {
            return Vec::new();
        }
        vec![Chunk {
            data: held,
            at: Instant::now(),
        }]
    }
}
