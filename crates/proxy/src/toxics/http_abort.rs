//! `http_abort` (Shakedown extension): answer a percentage of matching HTTP/1.1 requests
//! with `status` instead of forwarding them, then close the connection.
//!
//! Attributes: `status` (default 503), `percentage` (0–100, default 100), `method`
//! ("" = any), `path_prefix` ("" = any), `body` (response body; default `"<status> <reason>"`).
//! Always inspects the client → server direction, whatever `stream` says.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::http::{matches, reason, Piece, RequestTracker};
use super::{num_f64, Attrs, Chunk, Stage, ToxicKind, Verdict};
use crate::rng::Rng;
use crate::stats::ToxicStats;

#[derive(Debug, Clone, PartialEq)]
pub struct HttpAbort {
    pub status: i64,
    pub percentage: f64,
    pub method: String,
    pub path_prefix: String,
    pub body: String,
}

impl Default for HttpAbort {
    fn default() -> Self {
        HttpAbort {
            status: 503,
            percentage: 100.0,
            method: String::new(),
            path_prefix: String::new(),
            body: String::new(),
        }
    }
}

impl HttpAbort {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        a.int("status", &mut self.status)?;
        a.float("percentage", &mut self.percentage)?;
        a.string("method", &mut self.method)?;
        a.string("path_prefix", &mut self.path_prefix)?;
        a.string("body", &mut self.body)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("status".into(), self.status.into());
        m.insert("percentage".into(), num_f64(self.percentage));
        m.insert("method".into(), self.method.clone().into());
        m.insert("path_prefix".into(), self.path_prefix.clone().into());
        m.insert("body".into(), self.body.clone().into());
    }
    /// The full HTTP/1.1 response sent instead of the upstream's.
    pub fn response(&self) -> Vec<u8> {
        let status = self.status.clamp(100, 999);
        let body = if self.body.is_empty() {
            format!("{status} {}\n", reason(status))
        } else {
            self.body.clone()
        };
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nX-Shakedown-Fault: http_abort\r\n\r\n{body}",
            reason(status),
            body.len()
        )
        .into_bytes()
    }
}

pub struct HttpAbortStage {
    cfg: HttpAbort,
    stats: Arc<ToxicStats>,
    tracker: RequestTracker,
    aborted: bool,
    pieces: Vec<Piece>,
}

impl HttpAbortStage {
    pub fn new(cfg: HttpAbort, stats: Arc<ToxicStats>) -> Self {
        HttpAbortStage {
            cfg,
            stats,
            tracker: RequestTracker::default(),
            aborted: false,
            pieces: Vec::new(),
        }
    }
}

impl Stage for HttpAbortStage {
    fn chunk(&mut self, chunk: Chunk, rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict {
        if self.aborted {
            return Verdict::Continue;
        }
        self.tracker.feed(&chunk.data, &mut self.pieces);
        let mut verdict = Verdict::Continue;
        for piece in self.pieces.drain(..) {
            if self.aborted {
                break;
            }
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
                        self.aborted = true;
                        self.stats.aborted(self.cfg.status.clamp(100, 999));
                        verdict = Verdict::Respond(self.cfg.response());
                    } else {
                        out.push(Chunk {
                            data: bytes,
                            at: chunk.at,
                        });
                    }
                }
            }
        }
        verdict
    }
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool {
        match kind {
            ToxicKind::HttpAbort(t) => {
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
        if held.is_empty() || self.aborted {
            return Vec::new();
        }
        vec![Chunk {
            data: held,
            at: std::time::Instant::now(),
        }]
    }
}
