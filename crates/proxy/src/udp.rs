//! UDP proxies (`"protocol": "udp"`; Toxiproxy has no UDP).
//!
//! One socket listens; each client address is a *session* (UDP's stand-in for a
//! connection) with its own socket connected to the upstream, so replies find their way
//! back and toxicity is drawn once per session as it is once per TCP connection. A
//! session ends after [`IDLE_TIMEOUT`] without a datagram either way, when the proxy stops,
//! or when the toxic set changes nothing about that (toxics never end a session).
//!
//! Why not the TCP `link`/`Stage` chain: a stage sees a byte stream and may split, merge,
//! hold back or close it, and a TCP link writes in order. A datagram must stay whole
//! (bandwidth cannot cut it into pieces), there is no EOF, close or reset to pass on, and
//! real networks reorder under jitter. So a UDP direction keeps the same pieces (the
//! toxic set from the proxy's watch channel, its typed attributes, one toxicity draw per
//! session, the toxics' [`ToxicStats`]) and runs its own small per-datagram scheduler:
//! each datagram gets a release instant or is dropped, and datagrams leave in arrival
//! order (a datagram never overtakes an earlier one, as with Toxiproxy's TCP latency, so
//! live toxic changes and jitter never reorder). Only `latency`, `bandwidth`, `loss`,
//! `blackhole` and `noop` apply (`ToxicKind::allowed_on`).
//!
//! Bounded: at most [`MAX_QUEUED`] bytes wait per session direction (past that, new
//! datagrams are dropped, as a full router queue would), sessions take the proxy's
//! connection slots (`guard`), and a datagram is at most 64 KiB.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tokio::time::sleep_until;

use crate::link::{Counters, ToxicEntry};
use crate::proxy::{admit, dial_with, Shared};
use crate::rng::Rng;
use crate::stats::ToxicStats;
use crate::toxics::{ms, Direction, ToxicKind};

/// A session with no datagram either way for this long is closed (the default of
/// `ServeConfig::udp_idle_timeout`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes one session direction may hold scheduled before it drops new datagrams.
pub const MAX_QUEUED: usize = 4 * 1024 * 1024;
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;
/// Datagrams a session may have waiting between the listener and its task.
const INBOX: usize = 256;
/// How far in the future a stalled (rate ≤ 0) bandwidth toxic parks datagrams.
const STALL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Bind the listen socket: the first address of `authority` that binds.
pub async fn bind(authority: &str) -> std::io::Result<UdpSocket> {
    let mut last = None;
    for addr in dns::lookup_host(authority).await? {
        match UdpSocket::bind(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{authority}: no address"))))
}

/// Receive from clients and hand each datagram to its session until the proxy stops.
pub async fn listen_loop(
    socket: UdpSocket,
    upstream: String,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let socket = Arc::new(socket);
    let upstream: Arc<str> = upstream.into();
    let mut sessions: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<SocketAddr>();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(client) = done_rx.recv() => {
                if sessions.get(&client).is_some_and(|tx| tx.is_closed()) {
                    sessions.remove(&client);
                }
            }
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, client)) => {
                    shared.up.received.fetch_add(n as u64, Ordering::Relaxed);
                    let datagram = buf[..n].to_vec();
                    let tx = match sessions.get(&client).filter(|tx| !tx.is_closed()) {
                        Some(tx) => tx.clone(),
                        None => {
                            let Some(permits) = admit(&shared) else { continue };
                            let (tx, rx) = mpsc::channel(INBOX);
                            let rng = crate::proxy::lock(&shared.rng).fork();
                            tokio::spawn(session(Session {
                                client,
                                listener: socket.clone(),
                                upstream: upstream.clone(),
                                shared: shared.clone(),
                                inbox: rx,
                                stop: stop.clone(),
                                rng,
                                done: done_tx.clone(),
                                _permits: permits,
                            }));
                            sessions.insert(client, tx.clone());
                            tx
                        }
                    };
                    // A session that cannot keep up loses datagrams, as a full queue would.
                    let _ = tx.try_send(datagram);
                }
                Err(e) => {
                    // ICMP errors surface here on some systems; never spin on them.
                    log::debug!("udp proxy {}: receive failed: {e}", shared.name);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
}

struct Session {
    client: SocketAddr,
    listener: Arc<UdpSocket>,
    upstream: Arc<str>,
    shared: Arc<Shared>,
    inbox: mpsc::Receiver<Vec<u8>>,
    stop: watch::Receiver<bool>,
    rng: Rng,
    done: mpsc::UnboundedSender<SocketAddr>,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

/// A socket connected to the first upstream address that is not a proxy of this server
/// (also the DNS proxy's upstream socket).
pub(crate) async fn dial(upstream: &str, shared: &Shared) -> std::io::Result<UdpSocket> {
    dial_with(upstream, shared, |addr| async move {
        let local: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let s = UdpSocket::bind(local).await?;
        s.connect(addr).await?;
        Ok(s)
    })
    .await
}

struct SessionGuard(Arc<Shared>, SocketAddr, mpsc::UnboundedSender<SocketAddr>);
impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        let _ = self.2.send(self.1);
    }
}

async fn session(mut s: Session) {
    s.shared.connections.fetch_add(1, Ordering::Relaxed);
    let _guard = SessionGuard(s.shared.clone(), s.client, s.done.clone());
    let up_sock = match dial(&s.upstream, &s.shared).await {
        Ok(u) => u,
        Err(e) => {
            log::warn!(
                "udp proxy {}: cannot reach upstream {}: {e}",
                s.shared.name,
                s.upstream
            );
            return;
        }
    };
    let mut toxics = s.shared.toxics_tx.subscribe();
    let set = toxics.borrow_and_update().clone();
    let mut up = Dir::new(Direction::Upstream, s.rng.fork());
    let mut down = Dir::new(Direction::Downstream, s.rng.fork());
    up.apply(&set);
    down.apply(&set);
    let idle = s.shared.guards.limits.udp_idle;
    let mut last = Instant::now();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let next = [up.next_release(), down.next_release()]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            biased;
            _ = s.stop.changed() => return,
            r = toxics.changed() => {
                if r.is_err() {
                    return;
                }
                let set = toxics.borrow_and_update().clone();
                up.apply(&set);
                down.apply(&set);
            }
            _ = sleep_opt(next) => {
                let now = Instant::now();
                for d in up.due(now) {
                    if let Ok(n) = up_sock.send(&d).await {
                        s.shared.up.sent.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
                for d in down.due(now) {
                    if let Ok(n) = s.listener.send_to(&d, s.client).await {
                        s.shared.down.sent.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
            _ = sleep_until((last + idle).into()) => return,
            d = s.inbox.recv() => match d {
                Some(d) => {
                    last = Instant::now();
                    up.process(d, last);
                }
                None => return,
            },
            r = up_sock.recv(&mut buf) => match r {
                Ok(n) => {
                    last = Instant::now();
                    count(&s.shared.down, n);
                    down.process(buf[..n].to_vec(), last);
                }
                // ICMP port unreachable from the upstream: UDP carries on.
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            },
        }
    }
}

fn count(c: &Counters, n: usize) {
    c.received.fetch_add(n as u64, Ordering::Relaxed);
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

/// One toxic on one session direction.
struct Slot {
    name: String,
    revision: u64,
    toxicity: f32,
    active: bool,
    counted: bool,
    kind: ToxicKind,
    /// Bandwidth: when everything released so far has been "transmitted".
    next_free: Option<Instant>,
    stats: Arc<ToxicStats>,
}

/// One direction of a session: its toxics and the datagrams waiting for their instant.
struct Dir {
    direction: Direction,
    rng: Rng,
    slots: Vec<Slot>,
    /// (release instant, arrival order) → datagram, earliest first.
    heap: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    seq: u64,
    queued: usize,
    /// The latest release instant queued: later datagrams never leave before it.
    tail: Option<Instant>,
}

impl Dir {
    fn new(direction: Direction, rng: Rng) -> Dir {
        Dir {
            direction,
            rng,
            slots: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            queued: 0,
            tail: None,
        }
    }

    /// Bring the slots in line with a new toxic set; a removed toxic's datagrams go now.
    fn apply(&mut self, set: &[ToxicEntry]) {
        let mut old = std::mem::take(&mut self.slots);
        for e in set.iter().filter(|e| e.direction == self.direction) {
            let slot = match old.iter().position(|s| s.name == e.name) {
                Some(i) => {
                    let mut s = old.swap_remove(i);
                    if s.revision != e.revision {
                        if s.toxicity != e.toxicity {
                            s.toxicity = e.toxicity;
                            s.active = self.rng.next_f64() < e.toxicity as f64;
                        }
                        s.kind = e.kind.clone();
                        s.revision = e.revision;
                    }
                    s
                }
                None => Slot {
                    name: e.name.clone(),
                    revision: e.revision,
                    toxicity: e.toxicity,
                    active: self.rng.next_f64() < e.toxicity as f64,
                    counted: false,
                    kind: e.kind.clone(),
                    next_free: None,
                    stats: e.stats.clone(),
                },
            };
            self.slots.push(slot);
        }
        for s in self.slots.iter_mut() {
            if s.active && !s.counted {
                s.counted = true;
                ToxicStats::count(&s.stats.connections);
            }
        }
        if old.iter().any(|s| s.active) {
            let now = Instant::now();
            let held: Vec<_> = std::mem::take(&mut self.heap).into_vec();
            for Reverse((at, seq, d)) in held {
                self.heap.push(Reverse((at.min(now), seq, d)));
            }
            self.tail = self.tail.map(|t| t.min(now));
        }
    }

    /// Run one datagram through the active toxics: schedule it or drop it.
    fn process(&mut self, datagram: Vec<u8>, now: Instant) {
        let len = datagram.len() as u64;
        let mut at = now;
        for s in self.slots.iter_mut().filter(|s| s.active) {
            let arrived = at;
            let keep = match &s.kind {
                ToxicKind::Latency(l) => {
                    at += ms(l.delay(&mut self.rng));
                    true
                }
                ToxicKind::Bandwidth(b) if b.rate <= 0 => {
                    at += STALL;
                    true
                }
                ToxicKind::Bandwidth(b) => {
                    let start = s.next_free.filter(|t| *t > at).unwrap_or(at);
                    // len / (rate × 1000 B/s) seconds, in nanoseconds.
                    let nanos = (len as u128 * 1_000_000) / b.rate as u128;
                    at = start + Duration::from_nanos(nanos.min(u64::MAX as u128) as u64);
                    s.next_free = Some(at);
                    true
                }
                ToxicKind::Loss(l) => self.rng.next_f64() >= l.probability,
                ToxicKind::Blackhole(_) => false,
                _ => true,
            };
            if !keep {
                if matches!(s.kind, ToxicKind::Loss(_)) {
                    ToxicStats::count(&s.stats.datagrams_dropped);
                }
                s.stats.record(len, 0, len, 0, 0);
                return;
            }
            let (delayed, delay) = if at > arrived {
                (len, ToxicStats::delay_us(at - arrived))
            } else {
                (0, 0)
            };
            s.stats.record(len, len, 0, delayed, delay);
        }
        if self.queued + datagram.len() > MAX_QUEUED {
            return;
        }
        // Keep arrival order: never before the previous datagram.
        let at = self.tail.filter(|t| *t > at).unwrap_or(at);
        self.tail = Some(at);
        self.queued += datagram.len();
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, datagram)));
    }

    fn next_release(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The datagrams whose instant has come, in instant order.
    fn due(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while self
            .heap
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now)
        {
            if let Some(Reverse((_, _, d))) = self.heap.pop() {
                self.queued -= d.len();
                out.push(d);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxics::{bandwidth::Bandwidth, latency::Latency, loss::Loss};

    fn entry(name: &str, kind: ToxicKind) -> ToxicEntry {
        ToxicEntry {
            name: name.into(),
            stream: "downstream".into(),
            direction: Direction::Downstream,
            toxicity: 1.0,
            kind,
            revision: 1,
            stats: Arc::default(),
        }
    }

    #[test]
    fn bandwidth_keeps_datagrams_whole_and_spaces_them() {
        let mut d = Dir::new(Direction::Downstream, Rng::new(1));
        let e = entry("bw", ToxicKind::Bandwidth(Bandwidth { rate: 10 }));
        d.apply(std::slice::from_ref(&e));
        let t0 = Instant::now();
        d.process(vec![1; 1000], t0);
        d.process(vec![2; 1000], t0);
        // 1000 B at 10 KB/s = 100 ms each, one after the other.
        assert_eq!(d.due(t0 + Duration::from_millis(99)).len(), 0);
        assert_eq!(d.due(t0 + Duration::from_millis(100)), vec![vec![1; 1000]]);
        assert_eq!(d.due(t0 + Duration::from_millis(200)), vec![vec![2; 1000]]);
        assert_eq!(e.stats.bytes_delayed.load(Ordering::Relaxed), 2000);
    }

    #[test]
    fn loss_drops_about_its_probability_and_counts_them() {
        let mut d = Dir::new(Direction::Downstream, Rng::new(7));
        let e = entry("l", ToxicKind::Loss(Loss { probability: 0.25 }));
        d.apply(std::slice::from_ref(&e));
        let t0 = Instant::now();
        for _ in 0..4000 {
            d.process(vec![0; 10], t0);
        }
        let kept = d.due(t0).len() as u64;
        let dropped = e.stats.datagrams_dropped.load(Ordering::Relaxed);
        assert_eq!(kept + dropped, 4000);
        assert!((800..1200).contains(&dropped), "{dropped}");
        assert_eq!(e.stats.bytes_dropped.load(Ordering::Relaxed), dropped * 10);
    }

    #[test]
    fn removing_latency_releases_held_datagrams() {
        let mut d = Dir::new(Direction::Downstream, Rng::new(1));
        let lat = entry(
            "lat",
            ToxicKind::Latency(Latency {
                latency: 10_000,
                jitter: 0,
            }),
        );
        d.apply(std::slice::from_ref(&lat));
        d.process(b"held".to_vec(), Instant::now());
        assert!(d.due(Instant::now()).is_empty());
        d.apply(&[]);
        assert_eq!(d.due(Instant::now()), vec![b"held".to_vec()]);
    }
}
