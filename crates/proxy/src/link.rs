//! The data path of one direction of one connection (Toxiproxy's `ToxicLink`).
//!
//! A link reads chunks from its source, runs them through the active toxic stages for
//! its direction, and writes each chunk once its release instant (`Chunk::at`) has come.
//! Everything happens in one future: the toxic set arrives through a `watch` channel and
//! is applied between reads, so the API only swaps a pointer and never waits for data —
//! a stuck peer cannot freeze the control plane. Reading pauses while `MAX_QUEUED`
//! bytes wait to be written, which keeps memory bounded and gives real TCP backpressure.
//!
//! While no toxic is active on the link, bytes take the zero-copy fast path instead
//! (`crate::splice`): spliced from the source socket into a pipe and from the pipe into the
//! destination, never entering user space. The moment a toxic becomes active, whatever
//! sits in the pipe is read out and enters the chain ahead of anything read later, so the
//! switch loses and reorders nothing; when the last toxic goes, the link splices again.
//! Release instants are waited for with `crate::timer`, not tokio's millisecond wheel.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};

use crate::rng::Rng;
use crate::splice::{Pipe, PipeBudget, SpliceError, Step};
use crate::stats::ToxicStats;
use crate::timer::sleep_until_std as sleep_until;
use crate::toxics::{Chunk, Direction, Stage, ToxicKind, Verdict};

/// Bytes a link may hold scheduled but unwritten before it stops reading its source.
pub const MAX_QUEUED: usize = 4 * 1024 * 1024;
/// Largest single read, the same as Go's `io.Copy` buffer.
const READ_SIZE: usize = 32 * 1024;

/// One toxic as the links see it.
#[derive(Debug, Clone)]
pub struct ToxicEntry {
    pub name: String,
    /// The `stream` string exactly as the client sent it (Toxiproxy echoes it back).
    pub stream: String,
    pub direction: Direction,
    pub toxicity: f32,
    pub kind: ToxicKind,
    /// Bumped on every update so links know to reconfigure.
    pub revision: u64,
    /// What the toxic did, on every link (kept across updates, dropped with the toxic).
    pub stats: Arc<ToxicStats>,
}

pub type ToxicSet = Arc<Vec<ToxicEntry>>;

/// Byte counters for `/metrics`, updated as data moves (not only when links end).
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    /// Of `sent`, the bytes that took the zero-copy fast path (`crate::splice`).
    pub spliced: AtomicU64,
}

/// How a link finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkEnd {
    /// The source reached EOF and the destination was half-closed; the other way goes on.
    Eof,
    /// Close the whole connection.
    Close,
    /// Reset the whole connection (RST).
    Reset,
    /// The proxy was stopped.
    Stopped,
}

pub struct LinkParams {
    pub direction: Direction,
    pub toxics: watch::Receiver<ToxicSet>,
    pub stop: watch::Receiver<bool>,
    pub rng: Rng,
    pub counters: Arc<Counters>,
    /// Upstream link: where HTTP fault responses are sent for the client.
    pub inject_tx: Option<mpsc::Sender<Vec<u8>>>,
    /// Downstream link: HTTP fault responses to write to the client before closing.
    pub inject_rx: Option<mpsc::Receiver<Vec<u8>>>,
    /// The server's pipe budget when both ends are plain TCP sockets, which allows the
    /// zero-copy fast path; `None` (e.g. TLS-wrapped streams) always copies.
    pub splice: Option<Arc<PipeBudget>>,
}

struct Slot {
    name: String,
    revision: u64,
    toxicity: f32,
    active: bool,
    /// Whether this link was counted in the toxic's `connections`.
    counted: bool,
    stage: Box<dyn Stage>,
    stats: Arc<ToxicStats>,
}

impl Slot {
    fn count_connection(&mut self) {
        if self.active && !self.counted {
            self.counted = true;
            ToxicStats::count(&self.stats.connections);
        }
    }

    /// Count a verdict the stage returned.
    fn count_verdict(&self, v: &Verdict) {
        match v {
            Verdict::Close => ToxicStats::count(&self.stats.closes),
            Verdict::Reset(_) => ToxicStats::count(&self.stats.resets),
            // HTTP stages count their own requests (by status).
            Verdict::Respond(_) | Verdict::Continue => {}
        }
    }
}

struct Link {
    direction: Direction,
    rng: Rng,
    slots: Vec<Slot>,
    queue: VecDeque<Chunk>,
    queued: usize,
    reading: bool,
    eof_at: Option<Instant>,
    close_after_flush: bool,
    reset_at: Option<Instant>,
    inject_tx: Option<mpsc::Sender<Vec<u8>>>,
}

impl Link {
    /// Whether any toxic acts on this link (else its bytes may be spliced).
    fn has_active(&self) -> bool {
        self.slots.iter().any(|s| s.active)
    }

    /// Whether bytes read now may bypass the chain: no active toxic, nothing queued and
    /// no verdict pending.
    fn clear(&self) -> bool {
        !self.has_active()
            && self.queue.is_empty()
            && !self.close_after_flush
            && self.reset_at.is_none()
            && self.eof_at.is_none()
    }

    fn belongs(&self, e: &ToxicEntry) -> bool {
        if e.kind.is_connect() {
            false
        } else if e.kind.is_http() {
            self.direction == Direction::Upstream
        } else {
            e.direction == self.direction
        }
    }

    /// Bring the stages in line with a new toxic set, keeping per-link state.
    fn apply(&mut self, set: &[ToxicEntry]) {
        let now = Instant::now();
        let mut old: Vec<Slot> = std::mem::take(&mut self.slots);
        let mut released = false;
        let mut slots = Vec::new();
        let wanted: Vec<&ToxicEntry> = set.iter().filter(|e| self.belongs(e)).collect();
        for e in wanted {
            let reuse = old.iter().position(|s| s.name == e.name);
            let mut slot = match reuse.map(|i| old.swap_remove(i)) {
                Some(s) if s.revision == e.revision => Some(s),
                Some(mut s) => s.stage.reconfigure(&e.kind).then(|| {
                    if s.toxicity != e.toxicity {
                        s.toxicity = e.toxicity;
                        s.active = self.rng.next_f64() < e.toxicity as f64;
                    }
                    s.revision = e.revision;
                    s
                }),
                None => None,
            };
            let mut slot = slot.take().unwrap_or_else(|| Slot {
                name: e.name.clone(),
                revision: e.revision,
                toxicity: e.toxicity,
                active: self.rng.next_f64() < e.toxicity as f64,
                counted: false,
                stage: e.kind.stage(now, &e.stats),
                stats: e.stats.clone(),
            });
            slot.count_connection();
            slots.push(slot);
        }
        for mut gone in old {
            if !gone.active {
                continue;
            }
            released = true;
            if gone.stage.closes_on_removal() {
                self.close_after_flush = true;
            }
            let held = gone.stage.held() as u64;
            let mut passed = 0u64;
            for c in gone.stage.drain() {
                passed += c.data.len() as u64;
                self.push(c);
            }
            gone.stats
                .record(0, passed, held.saturating_sub(passed), 0, 0);
        }
        if released {
            // Like an interrupted Toxiproxy stub: data a removed toxic was holding goes now.
            for c in self.queue.iter_mut() {
                c.at = c.at.min(now);
            }
        }
        self.slots = slots;
    }

    fn push(&mut self, c: Chunk) {
        if !c.data.is_empty() {
            self.queued += c.data.len();
            self.queue.push_back(c);
        }
    }

    fn verdict(&mut self, v: Verdict) {
        match v {
            Verdict::Continue => {}
            Verdict::Close => {
                self.close_after_flush = true;
                self.reading = false;
            }
            Verdict::Reset(at) => {
                self.reset_at = Some(self.reset_at.map_or(at, |r| r.min(at)));
                self.reading = false;
            }
            Verdict::Respond(bytes) => {
                self.reading = false;
                match self.inject_tx.take() {
                    Some(tx) => {
                        if tx.try_send(bytes).is_err() {
                            self.close_after_flush = true;
                        }
                    }
                    None => self.close_after_flush = true,
                }
            }
        }
    }

    /// Run one chunk through every active stage into the write queue.
    fn process(&mut self, chunk: Chunk) {
        let mut cur = vec![chunk];
        let mut next = Vec::new();
        let mut verdicts = Vec::new();
        for slot in self.slots.iter_mut().filter(|s| s.active) {
            let held_before = slot.stage.held() as u64;
            let (mut bytes_in, mut bytes_out, mut delayed, mut delay_us) = (0u64, 0u64, 0, 0);
            for c in cur.drain(..) {
                let (len, at) = (c.data.len() as u64, c.at);
                let first = next.len();
                let v = slot.stage.chunk(c, &mut self.rng, &mut next);
                bytes_in += len;
                for o in &next[first..] {
                    bytes_out += o.data.len() as u64;
                    if o.at > at {
                        delayed += o.data.len() as u64;
                        delay_us += ToxicStats::delay_us(o.at - at);
                    }
                }
                if v != Verdict::Continue {
                    slot.count_verdict(&v);
                    verdicts.push(v);
                }
            }
            // What neither left the stage nor stays held in it was dropped.
            let held_after = slot.stage.held() as u64;
            let dropped = (bytes_in + held_before).saturating_sub(bytes_out + held_after);
            slot.stats
                .record(bytes_in, bytes_out, dropped, delayed, delay_us);
            std::mem::swap(&mut cur, &mut next);
        }
        for c in cur {
            self.push(c);
        }
        for v in verdicts {
            self.verdict(v);
        }
    }

    fn source_eof(&mut self) {
        self.reading = false;
        let mut at = Instant::now();
        for i in 0..self.slots.len() {
            if !self.slots[i].active {
                continue;
            }
            match self.slots[i].stage.eof(at) {
                Ok(t) => {
                    if t > at {
                        let stats = &self.slots[i].stats;
                        ToxicStats::count(&stats.eofs_delayed);
                        stats.add_delay(t - at);
                    }
                    at = t
                }
                Err(v) => {
                    self.slots[i].count_verdict(&v);
                    self.verdict(v);
                    return;
                }
            }
        }
        self.eof_at = Some(at);
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter(|s| s.active)
            .filter_map(|s| s.stage.deadline())
            .min()
    }

    fn fire(&mut self, now: Instant) {
        let mut verdicts = Vec::new();
        for s in self.slots.iter_mut().filter(|s| s.active) {
            if s.stage.deadline().is_some_and(|d| d <= now) {
                let v = s.stage.fire(now);
                s.count_verdict(&v);
                verdicts.push(v);
            }
        }
        for v in verdicts {
            self.verdict(v);
        }
    }
}

/// A link's zero-copy state: the budget it may take a pipe from and the pipe it holds.
struct Fast {
    /// `None` once splicing is impossible for this link (or was never allowed).
    budget: Option<Arc<PipeBudget>>,
    pipe: Option<Pipe>,
}

impl Fast {
    /// Bytes spliced in and not yet out.
    fn pending(&self) -> usize {
        self.pipe.as_ref().map_or(0, Pipe::len)
    }

    /// Whether a pipe is held or could be taken now.
    fn available(&self) -> bool {
        self.pipe.is_some() || self.budget.as_ref().is_some_and(|b| b.has_room())
    }

    /// The pipe to splice through, opened on first use; `None` means copy this time
    /// (budget spent) or from now on (no pipe could be made).
    fn pipe(&mut self) -> Option<&mut Pipe> {
        if self.pipe.is_none() {
            match Pipe::open(self.budget.as_ref()?) {
                Ok(p) => self.pipe = p,
                Err(e) => {
                    log::debug!("zero-copy path off for a link: {e}");
                    self.budget = None;
                }
            }
        }
        self.pipe.as_mut()
    }

    /// Splicing was refused for these descriptors: copy from now on.
    fn disable(&mut self) {
        self.budget = None;
        if self.pending() == 0 {
            self.pipe = None;
        }
    }

    /// Leave the fast path: the bytes still in the pipe enter the chain first (they were
    /// read before anything the chain will see), then the pipe is closed.
    fn leave(&mut self, link: &mut Link) -> Result<(), SpliceError> {
        if let Some(mut p) = self.pipe.take() {
            if !p.is_empty() {
                let data = p.drain()?;
                link.process(Chunk {
                    data,
                    at: Instant::now(),
                });
            }
        }
        Ok(())
    }
}

async fn recv_opt(rx: &mut Option<mpsc::Receiver<Vec<u8>>>) -> Option<Vec<u8>> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn write_front(
    writer: &OwnedWriteHalf,
    chunk: Option<&Chunk>,
    off: usize,
) -> std::io::Result<usize> {
    let Some(c) = chunk else {
        return std::future::pending().await;
    };
    if c.at > Instant::now() {
        sleep_until(c.at).await;
    }
    // Through readiness (not `&mut` writes), so the pipe's flush can share the writer.
    loop {
        writer.writable().await?;
        match writer.try_write(&c.data[off..]) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            r => return r,
        }
    }
}

/// Pump `reader` → toxics → `writer` until EOF, a fault, or the proxy stops.
pub async fn run(
    reader: &mut OwnedReadHalf,
    writer: &mut OwnedWriteHalf,
    p: LinkParams,
) -> LinkEnd {
    let LinkParams {
        direction,
        mut toxics,
        mut stop,
        rng,
        counters,
        inject_tx,
        mut inject_rx,
        splice,
    } = p;
    let mut fast = Fast {
        budget: splice,
        pipe: None,
    };
    let mut link = Link {
        direction,
        rng,
        slots: Vec::new(),
        queue: VecDeque::new(),
        queued: 0,
        reading: true,
        eof_at: None,
        close_after_flush: false,
        reset_at: None,
        inject_tx,
    };
    let initial = toxics.borrow_and_update().clone();
    link.apply(&initial);
    let mut off = 0usize;
    loop {
        if *stop.borrow() {
            return LinkEnd::Stopped;
        }
        let in_pipe = fast.pending();
        if link.queue.is_empty() && in_pipe == 0 && link.close_after_flush {
            return LinkEnd::Close;
        }
        let deadline = link.next_deadline();
        let eof_at = if link.queue.is_empty() && in_pipe == 0 {
            link.eof_at
        } else {
            None
        };
        // Back from the chain to the pipe: what the chain queued goes out first, and reading
        // waits for it (else a stream whose destination is the bottleneck would keep the
        // queue full and never return to the fast path).
        let rejoin = !link.queue.is_empty() && !link.has_active() && fast.available();
        // The pipe is filled only when empty (see `crate::splice`).
        let can_read = link.reading && link.queued < MAX_QUEUED && in_pipe == 0 && !rejoin;
        let splicing = fast.budget.is_some() && link.clear();
        tokio::select! {
            biased;
            r = stop.changed() => {
                let _ = r;
                return LinkEnd::Stopped;
            }
            r = toxics.changed() => {
                if r.is_err() {
                    return LinkEnd::Stopped;
                }
                let set = toxics.borrow_and_update().clone();
                link.apply(&set);
                if link.has_active() && fast.leave(&mut link).is_err() {
                    return LinkEnd::Close;
                }
            }
            _ = sleep_opt(link.reset_at) => return LinkEnd::Reset,
            // The precise timer may return up to its slack early: the stage is due at its
            // deadline, not re-polled until then (which would spin for that slack).
            _ = sleep_opt(deadline) => link.fire(deadline.map_or_else(Instant::now, |d| d.max(Instant::now()))),
            msg = recv_opt(&mut inject_rx) => match msg {
                Some(bytes) => {
                    // An HTTP fault answered the client: drop the upstream's reply.
                    link.queue.clear();
                    link.queued = 0;
                    off = 0;
                    fast.pipe = None;
                    link.push(Chunk { data: bytes, at: Instant::now() });
                    link.close_after_flush = true;
                    link.reading = false;
                }
                None => inject_rx = None,
            },
            r = write_front(&*writer, link.queue.front(), off) => match r {
                Ok(0) | Err(_) => return LinkEnd::Close,
                Ok(n) => {
                    counters.sent.fetch_add(n as u64, Ordering::Relaxed);
                    off += n;
                    if link.queue.front().is_some_and(|c| off >= c.data.len()) {
                        if let Some(c) = link.queue.pop_front() {
                            link.queued -= c.data.len();
                        }
                        off = 0;
                    }
                }
            },
            r = writer.writable(), if in_pipe > 0 => {
                if r.is_err() {
                    return LinkEnd::Close;
                }
                let Some(pipe) = fast.pipe.as_mut() else { continue };
                match pipe.flush(writer.as_ref()) {
                    Ok(Step::Moved(n)) => {
                        counters.sent.fetch_add(n as u64, Ordering::Relaxed);
                        counters.spliced.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Ok(Step::Eof | Step::WouldBlock) => {}
                    Err(SpliceError::Unsupported(_)) => {
                        fast.disable();
                        if fast.leave(&mut link).is_err() {
                            return LinkEnd::Close;
                        }
                    }
                    Err(_) => return LinkEnd::Close,
                }
            }
            _ = sleep_opt(eof_at) => {
                let _ = writer.shutdown().await;
                return LinkEnd::Eof;
            }
            r = reader.readable(), if can_read => {
                if r.is_err() {
                    return LinkEnd::Close;
                }
                if splicing {
                    if let Some(pipe) = fast.pipe() {
                        match pipe.fill(reader.as_ref()) {
                            Ok(Step::Moved(n)) => {
                                counters.received.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            Ok(Step::Eof) => link.source_eof(),
                            Ok(Step::WouldBlock) => {}
                            Err(SpliceError::Unsupported(_)) => fast.disable(),
                            Err(SpliceError::Reset(_)) => return LinkEnd::Reset,
                            Err(SpliceError::Io(_)) => return LinkEnd::Close,
                        }
                        continue;
                    }
                }
                let mut buf = vec![0u8; READ_SIZE];
                match reader.try_read(&mut buf) {
                    Ok(0) => link.source_eof(),
                    Ok(n) => {
                        counters.received.fetch_add(n as u64, Ordering::Relaxed);
                        buf.truncate(n);
                        if n < READ_SIZE / 4 {
                            buf.shrink_to_fit();
                        }
                        link.process(Chunk { data: buf, at: Instant::now() });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return LinkEnd::Reset,
                    Err(_) => return LinkEnd::Close,
                }
            }
        }
    }
}
