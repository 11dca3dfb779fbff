//! The data path of one direction of one connection (Toxiproxy's `ToxicLink`).
//!
//! A link reads chunks from its source, runs them through the active toxic stages for
//! its direction, and writes each chunk once its release instant (`Chunk::at`) has come.
//! Everything happens in one future: the toxic set arrives through a `watch` channel and
//! is applied between reads, so the API only swaps a pointer and never waits for data —
//! a stuck peer cannot freeze the control plane. Reading pauses while `MAX_QUEUED`
//! bytes wait to be written, which keeps memory bounded and gives real TCP backpressure.
//!
//! One loop serves every kind of end, through [`Source`] and [`Sink`]. When both ends are
//! raw TCP halves (`Source::tcp` and `Sink::tcp` give the socket) the loop reads and writes
//! them through readiness, and while no toxic is active on the link bytes take the
//! zero-copy fast path (`crate::splice`): spliced from the source socket into a pipe and
//! from the pipe into the destination, never entering user space. The moment a toxic
//! becomes active, whatever sits in the pipe is read out and enters the chain ahead of
//! anything read later, so the switch loses and reorders nothing; when the last toxic
//! goes, the link splices again. Ends that transform their bytes (TLS sessions: a
//! [`Buffered`] reader, a buffering writer) expose no socket, so their links always copy:
//! `read_chunk`, then `AsyncWrite` with a flush before idling (`Sink::BUFFERS`).
//! Release instants are waited for with one `crate::timer::Alarm` per link, armed for the
//! earliest of them (the front chunk's, a stage's deadline, a delayed EOF or reset), not
//! with tokio's millisecond wheel, and not with one timer future per kind of instant: an
//! idle connection's task is mostly its two links' futures, so what a link holds while it
//! waits is what 10,000 idle connections cost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, watch};

use crate::rng::Rng;
use crate::splice::{Pipe, PipeBudget, SpliceError, Step};
use crate::stats::ToxicStats;
use crate::timer::{self, Alarm};
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

/// Where a link reads from: a TCP read half (woken by readiness, so an idle connection
/// holds no read buffer, and splicable) or any `AsyncRead` wrapped in [`Buffered`] (a TLS
/// session).
pub trait Source: Send {
    /// The next bytes from the source, empty at EOF. Cancel-safe: when the future is
    /// dropped before it completes, no data is lost. The link calls it only when
    /// [`Source::tcp`] is `None`.
    fn read_chunk(&mut self) -> impl std::future::Future<Output = std::io::Result<Vec<u8>>> + Send;

    /// The raw socket under this source, when there is nothing between it and the link.
    /// The link then reads it through readiness and may splice from it
    /// (`crate::splice`); a source that decodes its bytes (TLS) must keep the default.
    fn tcp(&self) -> Option<&OwnedReadHalf> {
        None
    }
}

/// One non-blocking read from a TCP source: `Ok(None)` when it has nothing right now,
/// an empty chunk at EOF.
fn try_read_chunk(reader: &OwnedReadHalf) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; READ_SIZE];
    match reader.try_read(&mut buf) {
        Ok(n) => {
            buf.truncate(n);
            if n < READ_SIZE / 4 {
                buf.shrink_to_fit();
            }
            Ok(Some(buf))
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

impl Source for OwnedReadHalf {
    async fn read_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            self.readable().await?;
            if let Some(buf) = try_read_chunk(self)? {
                return Ok(buf);
            }
        }
    }

    fn tcp(&self) -> Option<&OwnedReadHalf> {
        Some(self)
    }
}

/// A generic reader with its own read buffer (TLS sessions decrypt into it).
pub struct Buffered<R> {
    pub inner: R,
    buf: Box<[u8]>,
}

impl<R> Buffered<R> {
    pub fn new(inner: R) -> Self {
        Buffered {
            inner,
            buf: vec![0u8; READ_SIZE].into_boxed_slice(),
        }
    }
}

impl<R: AsyncRead + Unpin + Send> Source for Buffered<R> {
    async fn read_chunk(&mut self) -> std::io::Result<Vec<u8>> {
        match self.inner.read(&mut self.buf).await {
            Ok(n) => Ok(self.buf[..n].to_vec()),
            // A TLS peer that closes TCP without close_notify: an EOF like any other
            // (HTTP framing, not TLS, tells a truncated body).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

/// Where a link writes to. `BUFFERS`: bytes a write accepted may wait in the writer
/// (TLS records) until flushed, so the link flushes before it idles or closes.
pub trait Sink: AsyncWrite + Unpin + Send {
    const BUFFERS: bool = false;

    /// The raw socket under this sink, when the link's bytes reach it unchanged. The link
    /// then writes it through readiness and may splice into it (`crate::splice`); a sink
    /// that encodes its bytes (TLS) must keep the default.
    fn tcp(&self) -> Option<&OwnedWriteHalf> {
        None
    }
}

impl Sink for OwnedWriteHalf {
    fn tcp(&self) -> Option<&OwnedWriteHalf> {
        Some(self)
    }
}

impl<T: AsyncRead + AsyncWrite + Send> Sink for tokio::io::WriteHalf<T> {
    const BUFFERS: bool = true;
}

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
    /// The server's pipe budget, which allows the zero-copy fast path. `run` uses it only
    /// when both ends expose their raw sockets ([`Source::tcp`], [`Sink::tcp`]), so a TLS
    /// link copies whatever is passed here; `None` always copies.
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

/// What the link's one write arm is ready to do.
enum Wrote {
    /// This many bytes of the queue's front chunk were written.
    Bytes(usize),
    /// A buffering writer was flushed.
    Flushed,
    /// The destination socket can take more of the pipe's bytes.
    PipeWritable,
}

/// The link's write side in one future (so the writer is borrowed once per turn).
///
/// With bytes in the pipe it waits for the raw destination's write readiness (the splice
/// itself happens in the loop, which owns the pipe); the pipe holds bytes only while the
/// queue is empty (see `run`), so nothing queued is overtaken. Otherwise it writes (part
/// of) the queue's front chunk if its instant has come (else it waits for nothing: the
/// link's alarm wakes the loop at that instant): through readiness on a raw socket,
/// through `AsyncWrite` on anything else. A writer that buffers (`Sink::BUFFERS`)
/// and holds unflushed bytes is flushed first whenever nothing can be written right now,
/// so delayed data never strands earlier data in a TLS buffer.
async fn write_front<W: Sink>(
    writer: &mut W,
    chunk: Option<&Chunk>,
    off: usize,
    dirty: bool,
    in_pipe: bool,
) -> std::io::Result<Wrote> {
    if in_pipe {
        return match writer.tcp() {
            Some(tcp) => tcp.writable().await.map(|()| Wrote::PipeWritable),
            // Cannot happen (a pipe is taken only when both ends are raw sockets); if it
            // did, the link closes rather than spin on a pipe it cannot empty.
            None => Err(std::io::Error::other(
                "spliced bytes but no raw destination",
            )),
        };
    }
    let due = chunk.filter(|c| timer::due(c.at, Instant::now()));
    if dirty && due.is_none() {
        writer.flush().await?;
        return Ok(Wrote::Flushed);
    }
    let Some(c) = due else {
        return std::future::pending().await;
    };
    let data = &c.data[off..];
    if let Some(tcp) = writer.tcp() {
        loop {
            tcp.writable().await?;
            match tcp.try_write(data) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                r => return r.map(Wrote::Bytes),
            }
        }
    }
    writer.write(data).await.map(Wrote::Bytes)
}

/// What the link's one read arm found.
enum Incoming {
    /// The raw source socket is readable: the loop splices or reads it without waiting.
    Readable,
    /// A chunk from a non-raw source (empty at EOF).
    Chunk(Vec<u8>),
}

/// Wait for the source: readiness of a raw socket, else its next chunk. Cancel-safe.
async fn incoming<R: Source>(reader: &mut R) -> std::io::Result<Incoming> {
    if let Some(tcp) = reader.tcp() {
        return tcp.readable().await.map(|()| Incoming::Readable);
    }
    reader.read_chunk().await.map(Incoming::Chunk)
}

/// How a link ends when its source failed with `e`.
fn read_failed(e: &std::io::Error) -> LinkEnd {
    if e.kind() == std::io::ErrorKind::ConnectionReset {
        LinkEnd::Reset
    } else {
        LinkEnd::Close
    }
}

/// Pump `reader` → toxics → `writer` until EOF, a fault, or the proxy stops.
///
/// One loop for every kind of end. When both ends are raw TCP sockets ([`Source::tcp`]
/// and [`Sink::tcp`] are `Some`) it reads and writes through readiness and, while no
/// toxic is active, splices (`crate::splice`); otherwise (TLS sessions) it reads with
/// [`Source::read_chunk`] and writes with `AsyncWrite`, always copying.
pub async fn run<R: Source, W: Sink>(reader: &mut R, writer: &mut W, p: LinkParams) -> LinkEnd {
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
    let raw = reader.tcp().is_some() && writer.tcp().is_some();
    let mut fast = Fast {
        budget: splice.filter(|_| raw),
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
    // Written but possibly still buffered in the writer (only for `W::BUFFERS`).
    let mut dirty = false;
    let mut alarm = Alarm::default();
    loop {
        if *stop.borrow() {
            return LinkEnd::Stopped;
        }
        // Bytes are in the pipe only while the queue is empty: the pipe is filled only
        // when the link is `clear`, and everything that queues a chunk while it holds
        // bytes empties or drops it first (`Fast::leave`, an injected response).
        let in_pipe = fast.pending();
        if link.queue.is_empty() && in_pipe == 0 && link.close_after_flush && !dirty {
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
        // The one instant the alarm waits for: the earliest that is still to come of the
        // reset, the stages' deadline, the EOF (not while the writer needs a flush) and
        // the front chunk's release (a due front chunk is the write arm's).
        let now = Instant::now();
        let front = link
            .queue
            .front()
            .map(|c| c.at)
            .filter(|&at| in_pipe == 0 && !timer::due(at, now));
        let wake = [link.reset_at, deadline, eof_at.filter(|_| !dirty), front]
            .into_iter()
            .flatten()
            .min();
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
            () = alarm.wait(wake) => {
                let now = Instant::now();
                if link.reset_at.is_some_and(|t| timer::due(t, now)) {
                    return LinkEnd::Reset;
                }
                // The alarm may ring up to its slack early: the stage is due at its
                // deadline, not re-polled until then (which would spin for that slack).
                if let Some(d) = deadline.filter(|&d| timer::due(d, now)) {
                    link.fire(d.max(now));
                } else if eof_at.is_some_and(|t| !dirty && timer::due(t, now)) {
                    let _ = writer.shutdown().await;
                    return LinkEnd::Eof;
                }
                // Else the front chunk is due: the write arm takes it next turn.
            }
            r = write_front(writer, link.queue.front(), off, dirty, in_pipe > 0) => match r {
                Ok(Wrote::Bytes(0)) | Err(_) => return LinkEnd::Close,
                Ok(Wrote::Flushed) => dirty = false,
                Ok(Wrote::Bytes(n)) => {
                    counters.sent.fetch_add(n as u64, Ordering::Relaxed);
                    dirty = W::BUFFERS;
                    off += n;
                    if link.queue.front().is_some_and(|c| off >= c.data.len()) {
                        if let Some(c) = link.queue.pop_front() {
                            link.queued -= c.data.len();
                        }
                        off = 0;
                    }
                }
                Ok(Wrote::PipeWritable) => {
                    let (Some(pipe), Some(tcp)) = (fast.pipe.as_mut(), writer.tcp()) else {
                        continue;
                    };
                    match pipe.flush(tcp.as_ref()) {
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
            },
            r = incoming(reader), if can_read => {
                let got = match r {
                    Ok(Incoming::Chunk(buf)) => buf,
                    Ok(Incoming::Readable) => {
                        let Some(tcp) = reader.tcp() else { continue };
                        if splicing {
                            if let Some(pipe) = fast.pipe() {
                                match pipe.fill(tcp.as_ref()) {
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
                        match try_read_chunk(tcp) {
                            Ok(Some(buf)) => buf,
                            Ok(None) => continue,
                            Err(e) => return read_failed(&e),
                        }
                    }
                    Err(e) => return read_failed(&e),
                };
                if got.is_empty() {
                    link.source_eof();
                } else {
                    counters.received.fetch_add(got.len() as u64, Ordering::Relaxed);
                    link.process(Chunk { data: got, at: Instant::now() });
                }
            }
        }
    }
}
