//! DNS proxies (`"protocol": "dns"`; Toxiproxy has no DNS): a forwarder that answers,
//! drops, delays or redirects queries by name, for experiments on service discovery.
//!
//! A DNS proxy listens on one address over UDP *and* TCP (DNS over TCP, RFC 7766, for
//! answers too large for a datagram: the upstream's truncated (TC) answer is relayed as
//! is, the client retries over TCP, and that query goes to the upstream over TCP too).
//! UDP queries share one socket connected to the upstream; each gets a fresh random id
//! there, and the answer is relayed by that id, with the client's id put back, to the
//! client that asked. A TCP client gets its own upstream TCP connection, on which ids
//! stay the client's. Answers are relayed byte for byte: the proxy reads only headers
//! and the first question (`wire`).
//!
//! Why a family of its own and not `Stage`s or UDP sessions: a stage sees a byte stream
//! and a UDP session a datagram; a DNS fault is decided per *query*, by its name and
//! type, and may answer the client itself (NXDOMAIN, SERVFAIL, chosen addresses) without
//! any upstream traffic. So the `dns_*` toxics (`toxics/dns_*.rs`) are pure attribute
//! types; [`decide`] applies the set of them to one query:
//!
//! * every DNS toxic counts the query in `queries_seen`, and in `queries_matched` when
//!   its `names` match (`dns_address`: and the type is A or AAAA);
//! * the answering toxics (`dns_nxdomain`, `dns_servfail`, `dns_drop`, `dns_address`)
//!   that match are tried from the most specific pattern to the least (exact name, then
//!   longer wildcard suffixes, then `*`; ties in the order they were added); each draws
//!   its `toxicity`, and the first that fires decides the query (`queries_faulted`);
//!   the rest leave it alone;
//! * unless the query is dropped, every matching `dns_delay` that fires its draw adds
//!   its delay, so the answer (the upstream's or the toxic's) leaves that much later.
//!
//! Bad input never reaches the upstream as a fault: a datagram shorter than a header or
//! a response sent to the proxy is dropped, a query whose question cannot be read
//! (truncated, a label over 63 bytes, a name over 255, a compression-pointer loop) gets
//! FORMERR; both are counted in the proxy's `malformed`. An upstream that refuses
//! (ICMP port unreachable), cannot be reached, or does not answer within
//! [`UPSTREAM_TIMEOUT`] gets the client a SERVFAIL (`upstream_failures`).
//!
//! Bounded: at most [`MAX_PENDING`] UDP queries wait for the upstream or a delay (past
//! that new ones are dropped, `overflow`), a TCP client at most [`MAX_TCP_INFLIGHT`]
//! (then its connection is not read until some finish), a TCP message is at most 65,535
//! bytes by its length prefix, TCP clients count against the proxy's connection budget
//! (`guard`) and are closed after [`TCP_IDLE`] without a query.

pub mod wire;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};

use crate::link::ToxicEntry;
use crate::proxy::{admit, dial_with, lock, ConnGuard, Shared, CONNECT_TIMEOUT};
use crate::rng::Rng;
use crate::stats::ToxicStats;
use crate::toxics::dns_address::DnsAddress;
use crate::toxics::dns_match::Specificity;
use crate::toxics::{ms, ToxicKind};
use wire::{Query, Rcode, WireError};

/// How long a forwarded query waits for the upstream before the client gets SERVFAIL
/// (stub resolvers retry after 5 s by default; answering first keeps them from waiting).
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(4);
/// UDP queries waiting for the upstream or for a delay, per proxy.
pub const MAX_PENDING: usize = 4096;
/// Queries one TCP client may have waiting before the proxy stops reading it.
pub const MAX_TCP_INFLIGHT: usize = 256;
/// A TCP client with nothing in flight and no query for this long is closed.
pub const TCP_IDLE: Duration = Duration::from_secs(30);
/// The largest datagram.
const MAX_DATAGRAM: usize = 65_536;
/// Fresh upstream ids tried before a query is dropped as overflow.
const ID_TRIES: usize = 64;

/// What a DNS proxy did, beyond its toxics' counters: shown as the proxy's `dns_stats`
/// in the API and as `shakedown_dns_*_total` on `/metrics`.
#[derive(Debug, Default)]
pub struct DnsCounters {
    /// Queries received (UDP and TCP).
    pub queries: AtomicU64,
    /// Queries sent on to the upstream.
    pub forwarded: AtomicU64,
    /// Upstream answers relayed to a client.
    pub relayed: AtomicU64,
    /// Answers the proxy wrote itself (toxics, FORMERR, SERVFAIL for a failed upstream).
    pub answered: AtomicU64,
    /// Packets that were not a readable query: dropped, or answered FORMERR.
    pub malformed: AtomicU64,
    /// Clients answered SERVFAIL because the upstream refused, failed or timed out.
    pub upstream_failures: AtomicU64,
    /// Queries dropped because too many were waiting.
    pub overflow: AtomicU64,
}

impl DnsCounters {
    /// `(key, value)` in display order.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("queries", g(&self.queries)),
            ("forwarded", g(&self.forwarded)),
            ("relayed", g(&self.relayed)),
            ("answered", g(&self.answered)),
            ("malformed", g(&self.malformed)),
            ("upstream_failures", g(&self.upstream_failures)),
            ("overflow", g(&self.overflow)),
        ]
    }

    pub fn snapshot(&self) -> Map<String, Value> {
        self.counters()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect()
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What happens to one query.
#[derive(Debug, PartialEq)]
pub enum Action {
    /// Send it to the upstream.
    Forward,
    /// Answer the client with these bytes (a whole DNS message).
    Reply(Vec<u8>),
    /// Nothing: no upstream, no answer.
    Drop,
}

/// The DNS toxics' verdict on one query: an action, after a delay.
#[derive(Debug, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub action: Action,
}

/// Apply the proxy's DNS toxics to `q` (see the module doc for the precedence), counting
/// in each toxic's stats what it saw and did.
pub fn decide(q: &Query, toxics: &[ToxicEntry], rng: &mut Rng) -> Decision {
    let question = q.question.as_ref().filter(|_| q.opcode() == 0);
    let name = question.map(|qn| qn.name());
    let mut answering: Vec<(Specificity, usize, &ToxicEntry)> = Vec::new();
    let mut delays: Vec<&ToxicEntry> = Vec::new();
    for (i, t) in toxics.iter().enumerate().filter(|(_, t)| t.kind.is_dns()) {
        ToxicStats::count(&t.stats.queries_seen);
        let (Some(qn), Some(name)) = (question, name.as_deref()) else {
            continue;
        };
        let spec = match &t.kind {
            ToxicKind::DnsNxdomain(x) => x.matcher.matches(name),
            ToxicKind::DnsServfail(x) => x.matcher.matches(name),
            ToxicKind::DnsDrop(x) => x.matcher.matches(name),
            ToxicKind::DnsDelay(x) => x.matcher.matches(name),
            ToxicKind::DnsAddress(x) => x
                .matcher
                .matches(name)
                .filter(|_| DnsAddress::answers(qn.qtype) && qn.qclass == wire::CLASS_IN),
            _ => None,
        };
        let Some(spec) = spec else { continue };
        ToxicStats::count(&t.stats.queries_matched);
        if matches!(t.kind, ToxicKind::DnsDelay(_)) {
            delays.push(t);
        } else {
            answering.push((spec, i, t));
        }
    }
    answering.sort_by_key(|(spec, i, _)| (Reverse(*spec), *i));
    let mut action = Action::Forward;
    for (_, _, t) in answering {
        if rng.next_f64() >= f64::from(t.toxicity) {
            continue;
        }
        ToxicStats::count(&t.stats.queries_faulted);
        action = match &t.kind {
            ToxicKind::DnsNxdomain(_) => Action::Reply(wire::answer_rcode(q, Rcode::NxDomain)),
            ToxicKind::DnsServfail(_) => Action::Reply(wire::answer_rcode(q, Rcode::ServFail)),
            ToxicKind::DnsAddress(a) => Action::Reply(wire::answer_addresses(
                q,
                &a.addresses,
                u32::try_from(a.ttl).unwrap_or(0),
            )),
            _ => Action::Drop,
        };
        break;
    }
    let mut delay = Duration::ZERO;
    if action != Action::Drop {
        for t in delays {
            let ToxicKind::DnsDelay(d) = &t.kind else {
                continue;
            };
            if rng.next_f64() >= f64::from(t.toxicity) {
                continue;
            }
            let this = ms(d.delay.delay(rng));
            ToxicStats::count(&t.stats.queries_faulted);
            t.stats.add_delay(this);
            delay += this;
        }
    }
    Decision { delay, action }
}

/// The sockets of a DNS proxy: UDP and TCP on the same address.
pub struct Listeners {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Listeners {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// Bind UDP and TCP on the first address of `authority` where both bind. With port 0 the
/// UDP port is ephemeral and TCP takes the same number (another try if it is taken).
pub async fn bind(authority: &str) -> std::io::Result<Listeners> {
    let mut last = None;
    for addr in dns::lookup_host(authority).await? {
        let tries = if addr.port() == 0 { 16 } else { 1 };
        for _ in 0..tries {
            let udp = match UdpSocket::bind(addr).await {
                Ok(s) => s,
                Err(e) => {
                    last = Some(e);
                    break;
                }
            };
            let bound = udp.local_addr()?;
            match TcpListener::bind(bound).await {
                Ok(tcp) => return Ok(Listeners { udp, tcp }),
                Err(e) => last = Some(e),
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other(format!("{authority}: no address"))))
}

/// Serve a DNS proxy until `stop` changes: the UDP loop here, TCP clients on their own
/// tasks (ended with it).
pub async fn serve(
    l: Listeners,
    upstream: String,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let upstream: Arc<str> = upstream.into();
    let tcp = tokio::spawn(tcp_accept(
        l.tcp,
        upstream.clone(),
        shared.clone(),
        stop.clone(),
    ));
    udp_loop(l.udp, upstream, shared, stop).await;
    tcp.abort();
    let _ = tcp.await;
}

/// Forwarded queries waiting for their answer, keyed by the id they carry upstream, with
/// their deadlines.
struct Pending<C> {
    map: HashMap<u16, (C, Query, Instant)>,
    deadlines: BinaryHeap<Reverse<(Instant, u16)>>,
}

impl<C> Pending<C> {
    fn new() -> Self {
        Pending {
            map: HashMap::new(),
            deadlines: BinaryHeap::new(),
        }
    }
    fn len(&self) -> usize {
        self.map.len()
    }
    fn insert(&mut self, id: u16, client: C, q: Query, now: Instant) {
        let at = now + UPSTREAM_TIMEOUT;
        self.map.insert(id, (client, q, at));
        self.deadlines.push(Reverse((at, id)));
    }
    fn take(&mut self, id: u16) -> Option<(C, Query)> {
        self.map.remove(&id).map(|(c, q, _)| (c, q))
    }
    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }
    /// Entries whose deadline has passed (stale heap entries are skipped).
    fn expired(&mut self, now: Instant) -> Vec<(C, Query)> {
        let mut out = Vec::new();
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            if self.map.get(&id).is_some_and(|(_, _, d)| *d == at) {
                out.extend(self.take(id));
            }
        }
        if self.map.is_empty() {
            self.deadlines.clear();
        }
        out
    }
    fn drain(&mut self) -> Vec<(C, Query)> {
        self.deadlines.clear();
        self.map.drain().map(|(_, (c, q, _))| (c, q)).collect()
    }
}

async fn sleep_opt(at: Option<Instant>) {
    match at {
        Some(t) => sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// A client's query that went through a delay and now takes its action.
struct Delayed<C> {
    client: C,
    query: Query,
    packet: Vec<u8>,
    action: Action,
}

/// Classify one received query: `Err(Some(bytes))` is a FORMERR to send back,
/// `Err(None)` a packet to drop; both counted as malformed.
fn read_query(packet: &[u8], counters: &DnsCounters) -> Result<Query, Option<Vec<u8>>> {
    bump(&counters.queries);
    match wire::parse_query(packet) {
        Ok(q) => Ok(q),
        Err(e) => {
            bump(&counters.malformed);
            match e {
                WireError::ShortHeader(_) | WireError::NotAQuery => Err(None),
                _ => Err(wire::formerr(packet)),
            }
        }
    }
}

struct Udp {
    listener: UdpSocket,
    upstream_name: Arc<str>,
    upstream: Option<UdpSocket>,
    shared: Arc<Shared>,
    pending: Pending<SocketAddr>,
    rng: Rng,
}

impl Udp {
    fn counters(&self) -> &DnsCounters {
        &self.shared.dns
    }

    async fn reply(&self, client: SocketAddr, bytes: &[u8]) {
        bump(&self.counters().answered);
        if let Ok(n) = self.listener.send_to(bytes, client).await {
            self.shared.down.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    async fn servfail(&self, client: SocketAddr, q: &Query) {
        bump(&self.counters().upstream_failures);
        self.reply(client, &wire::answer_rcode(q, Rcode::ServFail))
            .await;
    }

    async fn act(&mut self, client: SocketAddr, q: Query, mut packet: Vec<u8>, action: Action) {
        match action {
            Action::Drop => {}
            Action::Reply(bytes) => self.reply(client, &bytes).await,
            Action::Forward => {
                if self.upstream.is_none() {
                    match crate::udp::dial(&self.upstream_name, &self.shared).await {
                        Ok(s) => self.upstream = Some(s),
                        Err(e) => {
                            log::warn!(
                                "dns proxy {}: cannot reach upstream {}: {e}",
                                self.shared.name,
                                self.upstream_name
                            );
                            return self.servfail(client, &q).await;
                        }
                    }
                }
                let Some(id) = (0..ID_TRIES)
                    .map(|_| self.rng.next_u64() as u16)
                    .find(|id| !self.pending.map.contains_key(id))
                else {
                    bump(&self.counters().overflow);
                    return;
                };
                wire::set_id(&mut packet, id);
                let sent = match &self.upstream {
                    Some(up) => up.send(&packet).await,
                    None => Err(std::io::Error::other("no upstream socket")),
                };
                match sent {
                    Ok(n) => {
                        self.shared.up.sent.fetch_add(n as u64, Ordering::Relaxed);
                        bump(&self.counters().forwarded);
                        self.pending.insert(id, client, q, Instant::now());
                    }
                    Err(_) => self.servfail(client, &q).await,
                }
            }
        }
    }

    /// An answer from the upstream: back to its client with the client's id.
    async fn relay(&mut self, mut answer: Vec<u8>) {
        let Some(id) = wire::id(&answer) else { return };
        if answer.len() < wire::HEADER_LEN {
            return;
        }
        // A late, duplicate or foreign answer matches nothing and is dropped.
        let Some((client, q)) = self.pending.take(id) else {
            return;
        };
        wire::set_id(&mut answer, q.id);
        bump(&self.counters().relayed);
        if let Ok(n) = self.listener.send_to(&answer, client).await {
            self.shared.down.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    }
}

async fn udp_loop(
    listener: UdpSocket,
    upstream: Arc<str>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let rng = lock(&shared.rng).fork();
    let mut u = Udp {
        listener,
        upstream_name: upstream,
        upstream: None,
        shared,
        pending: Pending::new(),
        rng,
    };
    let mut delayed: JoinSet<Delayed<SocketAddr>> = JoinSet::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut up_buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let next = u.pending.next_deadline();
        tokio::select! {
            _ = stop.changed() => return,
            r = u.listener.recv_from(&mut buf) => match r {
                Ok((n, client)) => {
                    u.shared.up.received.fetch_add(n as u64, Ordering::Relaxed);
                    let q = match read_query(&buf[..n], u.counters()) {
                        Ok(q) => q,
                        Err(Some(formerr)) => {
                            u.reply(client, &formerr).await;
                            continue;
                        }
                        Err(None) => continue,
                    };
                    if u.pending.len() + delayed.len() >= MAX_PENDING {
                        bump(&u.counters().overflow);
                        continue;
                    }
                    let set = u.shared.toxics_tx.borrow().clone();
                    let d = decide(&q, &set, &mut u.rng);
                    let packet = buf[..n].to_vec();
                    if d.delay.is_zero() {
                        u.act(client, q, packet, d.action).await;
                    } else {
                        let item = Delayed { client, query: q, packet, action: d.action };
                        delayed.spawn(later(d.delay, item));
                    }
                }
                Err(e) => {
                    log::debug!("dns proxy {}: receive failed: {e}", u.shared.name);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            },
            Some(Ok(d)) = delayed.join_next(), if !delayed.is_empty() => {
                u.act(d.client, d.query, d.packet, d.action).await;
            }
            r = recv_opt(u.upstream.as_ref(), &mut up_buf) => match r {
                Ok(n) => {
                    u.shared.down.received.fetch_add(n as u64, Ordering::Relaxed);
                    let answer = up_buf[..n].to_vec();
                    u.relay(answer).await;
                }
                Err(e) => {
                    // ICMP port unreachable: nothing listens there, so nothing will
                    // answer what is waiting.
                    if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        let (name, up) = (&u.shared.name, &u.upstream_name);
                        log::warn!("dns proxy {name}: upstream {up} refused");
                        for (client, q) in u.pending.drain() {
                            u.servfail(client, &q).await;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            },
            _ = sleep_opt(next) => {
                for (client, q) in u.pending.expired(Instant::now()) {
                    u.servfail(client, &q).await;
                }
            }
        }
    }
}

async fn later<C>(delay: Duration, d: Delayed<C>) -> Delayed<C> {
    tokio::time::sleep(delay).await;
    d
}

async fn recv_opt(s: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<usize> {
    match s {
        Some(s) => s.recv(buf).await,
        None => std::future::pending().await,
    }
}

async fn tcp_accept(
    listener: TcpListener,
    upstream: Arc<str>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((client, _)) => {
                    let Some(permits) = admit(&shared) else {
                        let _ = client.set_zero_linger();
                        continue;
                    };
                    let rng = lock(&shared.rng).fork();
                    let (up, sh, st) = (upstream.clone(), shared.clone(), stop.clone());
                    clients.spawn(tcp_client(client, up, sh, st, rng, permits));
                }
                Err(e) => {
                    log::warn!("dns proxy {}: accept failed: {e}", shared.name);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
}

/// Read length-prefixed DNS messages (RFC 1035 §4.2.2) into `tx` until EOF or error.
async fn read_frames<T>(mut r: OwnedReadHalf, tx: mpsc::Sender<T>, wrap: impl Fn(Vec<u8>) -> T) {
    loop {
        let mut len = [0u8; 2];
        if r.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut frame = vec![0u8; u16::from_be_bytes(len) as usize];
        if r.read_exact(&mut frame).await.is_err() || tx.send(wrap(frame)).await.is_err() {
            return;
        }
    }
}

async fn write_frame(w: &mut OwnedWriteHalf, frame: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(frame.len()).map_err(|_| std::io::Error::other("too long"))?;
    let mut out = Vec::with_capacity(frame.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame);
    w.write_all(&out).await
}

/// What a TCP client's upstream connection reports, tagged with the connection's number
/// so a late report of a replaced connection changes nothing.
enum UpMsg {
    Answer(u64, Vec<u8>),
    Closed(u64),
}

/// A TCP client's upstream side: its connection (opened on the first forwarded query),
/// the queries it owes answers to, and the tasks reading it.
struct TcpUp {
    name: Arc<str>,
    shared: Arc<Shared>,
    writer: Option<OwnedWriteHalf>,
    generation: u64,
    tx: mpsc::Sender<UpMsg>,
    tasks: JoinSet<()>,
    pending: Pending<()>,
}

impl TcpUp {
    fn servfail(&self, q: &Query) -> Vec<u8> {
        bump(&self.shared.dns.upstream_failures);
        bump(&self.shared.dns.answered);
        wire::answer_rcode(q, Rcode::ServFail)
    }

    /// The upstream connection is gone: SERVFAIL for everything it owed.
    fn lost(&mut self) -> Vec<Vec<u8>> {
        self.writer = None;
        self.generation += 1;
        self.tasks.abort_all();
        let owed = self.pending.drain();
        owed.iter().map(|((), q)| self.servfail(q)).collect()
    }

    /// Take a query's action; returns answers for the client.
    async fn act(&mut self, item: Delayed<()>) -> Vec<Vec<u8>> {
        let counters = &self.shared.dns;
        match item.action {
            Action::Drop => Vec::new(),
            Action::Reply(bytes) => {
                bump(&counters.answered);
                vec![bytes]
            }
            Action::Forward => {
                if self.writer.is_none() {
                    while self.tasks.try_join_next().is_some() {}
                    let dial = dial_with(&self.name, &self.shared, TcpStream::connect);
                    match tokio::time::timeout(CONNECT_TIMEOUT, dial).await {
                        Ok(Ok(s)) => {
                            let _ = s.set_nodelay(true);
                            let (r, w) = s.into_split();
                            self.generation += 1;
                            let g = self.generation;
                            let tx = self.tx.clone();
                            self.tasks.spawn(async move {
                                read_frames(r, tx.clone(), move |f| UpMsg::Answer(g, f)).await;
                                let _ = tx.send(UpMsg::Closed(g)).await;
                            });
                            self.writer = Some(w);
                        }
                        Ok(Err(e)) => {
                            log::warn!(
                                "dns proxy {}: cannot connect to upstream {}: {e}",
                                self.shared.name,
                                self.name
                            );
                            return vec![self.servfail(&item.query)];
                        }
                        Err(_) => return vec![self.servfail(&item.query)],
                    }
                }
                let written = match self.writer.as_mut() {
                    Some(w) => write_frame(w, &item.packet).await.is_ok(),
                    None => false,
                };
                if !written {
                    let mut out = self.lost();
                    out.push(self.servfail(&item.query));
                    return out;
                }
                self.shared
                    .up
                    .sent
                    .fetch_add(item.packet.len() as u64, Ordering::Relaxed);
                bump(&counters.forwarded);
                self.pending
                    .insert(item.query.id, (), item.query, Instant::now());
                Vec::new()
            }
        }
    }
}

/// One DNS-over-TCP client, with its own upstream TCP connection.
async fn tcp_client(
    client: TcpStream,
    upstream: Arc<str>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut rng: Rng,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let _guard = ConnGuard(shared.clone());
    let (cr, mut cw) = client.into_split();
    let (client_tx, mut client_rx) = mpsc::channel(16);
    // The reader tasks end with this function (a JoinSet aborts its tasks on drop).
    let mut readers = JoinSet::new();
    readers.spawn(read_frames(cr, client_tx, |f| f));
    let (up_tx, mut up_rx) = mpsc::channel(16);
    let mut up = TcpUp {
        name: upstream,
        shared: shared.clone(),
        writer: None,
        generation: 0,
        tx: up_tx,
        tasks: JoinSet::new(),
        pending: Pending::new(),
    };
    let counters = &shared.dns;
    let mut delayed: JoinSet<Delayed<()>> = JoinSet::new();
    let mut last = Instant::now();
    let mut client_open = true;
    loop {
        let inflight = up.pending.len() + delayed.len();
        if !client_open && inflight == 0 {
            return;
        }
        let mut out: Vec<Vec<u8>> = Vec::new();
        tokio::select! {
            _ = stop.changed() => return,
            f = client_rx.recv(), if client_open && inflight < MAX_TCP_INFLIGHT => {
                let Some(frame) = f else {
                    client_open = false;
                    continue;
                };
                last = Instant::now();
                shared.up.received.fetch_add(frame.len() as u64, Ordering::Relaxed);
                match read_query(&frame, counters) {
                    Ok(q) => {
                        let set = shared.toxics_tx.borrow().clone();
                        let d = decide(&q, &set, &mut rng);
                        let action = d.action;
                        let item = Delayed { client: (), query: q, packet: frame, action };
                        if d.delay.is_zero() {
                            out = up.act(item).await;
                        } else {
                            delayed.spawn(later(d.delay, item));
                        }
                    }
                    Err(Some(formerr)) => {
                        bump(&counters.answered);
                        out.push(formerr);
                    }
                    Err(None) => {}
                }
            }
            Some(Ok(item)) = delayed.join_next(), if !delayed.is_empty() => {
                out = up.act(item).await;
            }
            Some(m) = up_rx.recv() => match m {
                UpMsg::Answer(g, answer) if g == up.generation => {
                    shared.down.received.fetch_add(answer.len() as u64, Ordering::Relaxed);
                    // An answer to nothing asked (or already timed out) is dropped.
                    if wire::id(&answer).and_then(|id| up.pending.take(id)).is_some() {
                        bump(&counters.relayed);
                        out.push(answer);
                    }
                }
                UpMsg::Closed(g) if g == up.generation => out = up.lost(),
                _ => {}
            },
            _ = sleep_opt(up.pending.next_deadline()) => {
                let expired = up.pending.expired(Instant::now());
                out = expired.iter().map(|((), q)| up.servfail(q)).collect();
            }
            // Idle, or gone (EOF) with queries still held: bounded either way.
            _ = sleep_until(last + TCP_IDLE), if inflight == 0 || !client_open => return,
        }
        for a in out {
            if write_frame(&mut cw, &a).await.is_err() {
                return;
            }
            shared
                .down
                .sent
                .fetch_add(a.len() as u64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toxics::Direction;
    use serde_json::json;

    fn toxic(name: &str, type_name: &str, attrs: Value, toxicity: f32) -> ToxicEntry {
        let mut kind = ToxicKind::new(type_name).expect("type");
        kind.merge_attributes(&attrs).expect("attributes");
        ToxicEntry {
            name: name.into(),
            stream: "downstream".into(),
            direction: Direction::Downstream,
            toxicity,
            kind,
            revision: 1,
            stats: Arc::default(),
        }
    }

    fn query(name: &str, qtype: u16) -> Query {
        let mut p = vec![0, 42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            p.push(l.len() as u8);
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, qtype as u8, 0, 1]);
        wire::parse_query(&p).expect("query")
    }

    fn rcode(a: &Action) -> Option<u8> {
        match a {
            Action::Reply(b) => Some(b[3] & 0xf),
            _ => None,
        }
    }

    fn stat(t: &ToxicEntry, key: &str) -> u64 {
        t.stats.snapshot(&t.kind)[key].as_u64().expect("counter")
    }

    #[test]
    fn the_most_specific_match_wins_whatever_the_order() {
        let set = vec![
            toxic("all", "dns_servfail", json!({"names": "*"}), 1.0),
            toxic(
                "zone",
                "dns_nxdomain",
                json!({"names": "*.example.com"}),
                1.0,
            ),
            toxic(
                "api",
                "dns_address",
                json!({"names": "api.example.com", "addresses": "10.9.9.9"}),
                1.0,
            ),
        ];
        let mut rng = Rng::new(1);
        let d = decide(&query("API.example.com", wire::TYPE_A), &set, &mut rng);
        assert_eq!(rcode(&d.action), Some(0));
        let d = decide(&query("www.example.com", wire::TYPE_A), &set, &mut rng);
        assert_eq!(rcode(&d.action), Some(3));
        let d = decide(&query("other.org", wire::TYPE_A), &set, &mut rng);
        assert_eq!(rcode(&d.action), Some(2));
        // api.example.com MX: dns_address does not match it, the wildcard does.
        let d = decide(&query("api.example.com", 15), &set, &mut rng);
        assert_eq!(rcode(&d.action), Some(3));
        assert_eq!(stat(&set[2], "queries_seen"), 4);
        assert_eq!(stat(&set[2], "queries_matched"), 1);
        assert_eq!(stat(&set[1], "queries_matched"), 3);
        assert_eq!(stat(&set[1], "queries_faulted"), 2);
        assert_eq!(stat(&set[0], "queries_matched"), 4);
        assert_eq!(stat(&set[0], "queries_faulted"), 1);
    }

    #[test]
    fn a_toxic_whose_draw_fails_passes_to_the_next_and_ties_go_to_the_first_added() {
        let set = vec![
            toxic("never", "dns_nxdomain", json!({"names": "a.test"}), 0.0),
            toxic("first", "dns_drop", json!({"names": "*.test"}), 1.0),
            toxic("second", "dns_servfail", json!({"names": "*.test"}), 1.0),
        ];
        let d = decide(&query("a.test", wire::TYPE_A), &set, &mut Rng::new(3));
        assert_eq!(d.action, Action::Drop);
        assert_eq!(stat(&set[0], "queries_matched"), 1);
        assert_eq!(stat(&set[0], "queries_faulted"), 0);
        assert_eq!(stat(&set[1], "queries_faulted"), 1);
        assert_eq!(stat(&set[2], "queries_faulted"), 0);
    }

    #[test]
    fn delays_add_up_and_apply_to_answers_but_not_to_drops() {
        let set = vec![
            toxic("d1", "dns_delay", json!({"latency": 100}), 1.0),
            toxic(
                "d2",
                "dns_delay",
                json!({"names": "slow.test", "latency": 50}),
                1.0,
            ),
            toxic("nx", "dns_nxdomain", json!({"names": "gone.test"}), 1.0),
            toxic("drop", "dns_drop", json!({"names": "lost.test"}), 1.0),
        ];
        let mut rng = Rng::new(1);
        let d = decide(&query("slow.test", wire::TYPE_A), &set, &mut rng);
        assert_eq!(
            (d.delay, d.action),
            (Duration::from_millis(150), Action::Forward)
        );
        let d = decide(&query("gone.test", wire::TYPE_A), &set, &mut rng);
        assert_eq!(d.delay, Duration::from_millis(100));
        assert_eq!(rcode(&d.action), Some(3));
        let d = decide(&query("lost.test", wire::TYPE_A), &set, &mut rng);
        assert_eq!((d.delay, d.action), (Duration::ZERO, Action::Drop));
        assert_eq!(stat(&set[0], "queries_faulted"), 2);
        assert_eq!(
            set[0].stats.snapshot(&set[0].kind)["delay_injected_ms"],
            200
        );
    }

    #[test]
    fn toxicity_is_drawn_per_query() {
        let set = vec![toxic("half", "dns_nxdomain", json!({}), 0.5)];
        let mut rng = Rng::new(9);
        let faulted = (0..2000)
            .filter(|_| {
                decide(&query("x.test", wire::TYPE_A), &set, &mut rng).action != Action::Forward
            })
            .count();
        assert!((850..1150).contains(&faulted), "{faulted}");
        assert_eq!(stat(&set[0], "queries_faulted"), faulted as u64);
    }

    #[test]
    fn an_address_answer_carries_only_the_asked_family() {
        let set = vec![toxic(
            "a",
            "dns_address",
            json!({"addresses": "10.1.1.1, fd00::7", "ttl": 9}),
            1.0,
        )];
        let mut rng = Rng::new(1);
        let Action::Reply(a) = decide(&query("h.test", wire::TYPE_A), &set, &mut rng).action else {
            panic!("no answer")
        };
        assert_eq!(&a[6..8], &[0, 1]);
        assert_eq!(&a[a.len() - 4..], &[10, 1, 1, 1]);
        let Action::Reply(a) = decide(&query("h.test", wire::TYPE_AAAA), &set, &mut rng).action
        else {
            panic!("no answer")
        };
        assert_eq!(&a[a.len() - 2..], &[0, 7]);
    }

    #[tokio::test(start_paused = true)]
    async fn pending_queries_expire_at_their_deadline() {
        let mut p: Pending<u8> = Pending::new();
        let t0 = Instant::now();
        p.insert(1, 7, query("a.test", 1), t0);
        p.insert(2, 8, query("b.test", 1), t0 + Duration::from_secs(1));
        assert!(p.take(2).is_some());
        assert!(p
            .expired(t0 + UPSTREAM_TIMEOUT - Duration::from_millis(1))
            .is_empty());
        let gone = p.expired(t0 + UPSTREAM_TIMEOUT);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].0, 7);
        assert_eq!(p.len(), 0);
        assert_eq!(p.next_deadline(), None);
    }
}
