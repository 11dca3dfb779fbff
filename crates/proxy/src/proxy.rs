//! One proxy: its listener, accept loop and connections (Toxiproxy's proxy.go).
//!
//! The upstream is dialled in each connection's own task with a bounded timeout, so a
//! black-holed upstream never stalls the accept loop. Stopping a proxy drops the
//! listener (new connects are refused) and signals every connection to close.
//!
//! A proxy guards the server (see `guard`): starting one that would loop into itself or
//! another proxy is refused, every dial re-checks its target, and past its share of
//! descriptors a new client is reset at once instead of being served.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::error::ApiError;
use crate::guard::{self, Guards};
use crate::link::{self, Counters, LinkEnd, LinkParams, Sink, Source, ToxicEntry, ToxicSet};
use crate::rng::Rng;
use crate::stats::ToxicStats;
use crate::tls::TlsProxy;
use crate::toxics::{ms, Direction, Protocol, ToxicKind};
use crate::udp;

/// How long a client waits for the upstream TCP connect before it is closed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Lock a std mutex, recovering from poisoning (no panics reach callers).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Listen/upstream/enabled as the API shows them.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
}

struct Running {
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

/// State shared by the accept loop and every connection of one proxy.
pub struct Shared {
    pub name: String,
    pub toxics_tx: watch::Sender<ToxicSet>,
    pub rng: Mutex<Rng>,
    pub up: Arc<Counters>,
    pub down: Arc<Counters>,
    /// Open client connections (for metrics and leak checks).
    pub connections: AtomicI64,
    /// The server's loop registry and connection budgets.
    pub guards: Arc<Guards>,
    /// This proxy's connection slots (`Limits::per_proxy`).
    slots: Arc<Semaphore>,
    /// Clients reset because a budget was spent.
    pub refused: AtomicU64,
    /// What a DNS proxy did (`crate::dns`); zero for other protocols.
    pub dns: crate::dns::DnsCounters,
}

pub struct Proxy {
    pub name: String,
    /// TCP (Toxiproxy's only kind) or UDP (`crate::udp`); fixed at creation.
    pub protocol: Protocol,
    config: Mutex<ProxyConfig>,
    running: Mutex<Option<Running>>,
    toxics: Mutex<(Vec<ToxicEntry>, u64)>,
    pub shared: Arc<Shared>,
    /// TLS termination toward clients and re-encryption toward the upstream (`crate::tls`);
    /// fixed at creation.
    pub tls: Option<Arc<TlsProxy>>,
}

impl Proxy {
    pub fn new(name: &str, listen: &str, upstream: &str, rng: Rng, guards: Arc<Guards>) -> Proxy {
        Self::with_protocol(name, listen, upstream, rng, guards, Protocol::Tcp)
    }

    pub fn with_protocol(
        name: &str,
        listen: &str,
        upstream: &str,
        rng: Rng,
        guards: Arc<Guards>,
        protocol: Protocol,
    ) -> Proxy {
        let (tx, _) = watch::channel(Arc::new(Vec::new()));
        let slots = Arc::new(Semaphore::new(guards.limits.per_proxy));
        Proxy {
            name: name.to_string(),
            protocol,
            config: Mutex::new(ProxyConfig {
                listen: listen.to_string(),
                upstream: upstream.to_string(),
                enabled: false,
            }),
            running: Mutex::new(None),
            toxics: Mutex::new((Vec::new(), 0)),
            shared: Arc::new(Shared {
                name: name.to_string(),
                toxics_tx: tx,
                rng: Mutex::new(rng),
                up: Arc::default(),
                down: Arc::default(),
                connections: AtomicI64::new(0),
                guards,
                slots,
                refused: AtomicU64::new(0),
                dns: Default::default(),
            }),
            tls: None,
        }
    }

    /// This proxy with TLS termination (see `crate::tls`).
    pub fn with_tls(mut self, tls: Option<Arc<TlsProxy>>) -> Proxy {
        self.tls = tls;
        self
    }

    pub fn config(&self) -> ProxyConfig {
        lock(&self.config).clone()
    }

    /// Bind and start accepting; the API returns only after the listener is bound.
    pub async fn start(&self) -> Result<(), ApiError> {
        if lock(&self.running).is_some() {
            return Ok(());
        }
        let (listen, upstream) = {
            let c = lock(&self.config);
            (c.listen.clone(), c.upstream.clone())
        };
        let bind_to = if listen.is_empty() {
            "127.0.0.1:0".to_string()
        } else {
            listen.clone()
        };
        let net = self.protocol.as_str();
        let bind_error = |e: std::io::Error| {
            let msg = match e.kind() {
                std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
                _ => e.to_string(),
            };
            ApiError::internal(format!("listen {net} {bind_to}: bind: {msg}"))
        };
        let listener = match self.protocol {
            Protocol::Tcp => Listener::Tcp(dns::bind(&bind_to).await.map_err(bind_error)?),
            Protocol::Udp => Listener::Udp(udp::bind(&bind_to).await.map_err(bind_error)?),
            Protocol::Dns => Listener::Dns(crate::dns::bind(&bind_to).await.map_err(bind_error)?),
        };
        let local = match &listener {
            Listener::Tcp(l) => l.local_addr(),
            Listener::Udp(s) => s.local_addr(),
            Listener::Dns(l) => l.local_addr(),
        }
        .map_err(|e| ApiError::internal(format!("listen {net} {bind_to}: {e}")))?;
        // Refused before the first accept; dropping the listener closes it.
        let targets = guard::resolve_all(&upstream).await;
        self.shared.guards.loops.claim(&self.name, local, targets)?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = self.shared.clone();
        let accept = match listener {
            Listener::Tcp(l) => {
                tokio::spawn(accept_loop(l, upstream, self.tls.clone(), shared, stop_rx))
            }
            Listener::Udp(s) => tokio::spawn(udp::listen_loop(s, upstream, shared, stop_rx)),
            Listener::Dns(l) => tokio::spawn(crate::dns::serve(l, upstream, shared, stop_rx)),
        };
        {
            let mut c = lock(&self.config);
            c.listen = local.to_string();
            c.enabled = true;
        }
        *lock(&self.running) = Some(Running {
            stop: stop_tx,
            accept,
        });
        log::info!("proxy {} listening on {local}", self.name);
        Ok(())
    }

    /// Close the listener and every connection. Waits only for the accept loop.
    pub async fn stop(&self) {
        let running = lock(&self.running).take();
        lock(&self.config).enabled = false;
        if let Some(r) = running {
            let _ = r.stop.send(true);
            let _ = r.accept.await;
            self.shared.guards.loops.release(&self.name);
            log::info!("proxy {} stopped", self.name);
        }
    }

    /// Toxiproxy's `Update`: restart on a listen/upstream change, then apply `enabled`.
    pub async fn update(&self, input: ProxyConfig) -> Result<(), ApiError> {
        let current = self.config();
        let resolved = resolve(&input.listen).await?;
        if current.listen != resolved || current.upstream != input.upstream {
            // Refuse a loop before stopping anything, when the new listen port is known
            // (port 0 is checked once bound).
            let listen = resolved
                .parse::<SocketAddr>()
                .ok()
                .filter(|a| a.port() != 0);
            let targets = guard::resolve_all(&input.upstream).await;
            self.shared
                .guards
                .loops
                .check(&self.name, listen, &targets)?;
            self.stop().await;
            let mut c = lock(&self.config);
            c.listen = input.listen.clone();
            c.upstream = input.upstream.clone();
        }
        if input.enabled != self.config().enabled {
            if input.enabled {
                return self.start().await;
            }
            self.stop().await;
        }
        Ok(())
    }

    /// Whether a populate entry differs (listen compared after resolution, like 2.12).
    pub async fn differs(&self, listen: &str, upstream: &str) -> Result<bool, ApiError> {
        let c = self.config();
        let resolved = resolve(listen).await?;
        Ok(c.listen != resolved || c.upstream != upstream)
    }

    pub fn toxics(&self) -> Vec<ToxicEntry> {
        let t = lock(&self.toxics);
        // Toxiproxy lists the upstream chain first, then the downstream chain.
        let mut v: Vec<ToxicEntry> =
            t.0.iter()
                .filter(|e| e.direction == Direction::Upstream)
                .cloned()
                .collect();
        v.extend(
            t.0.iter()
                .filter(|e| e.direction == Direction::Downstream)
                .cloned(),
        );
        v
    }

    /// Mutate the toxic list and publish it to live links; never waits on data.
    pub fn with_toxics<R>(&self, f: impl FnOnce(&mut Vec<ToxicEntry>, u64) -> R) -> R {
        let mut t = lock(&self.toxics);
        t.1 += 1;
        let rev = t.1;
        let r = f(&mut t.0, rev);
        self.shared.toxics_tx.send_replace(Arc::new(t.0.clone()));
        r
    }
}

enum Listener {
    Tcp(TcpListener),
    Udp(tokio::net::UdpSocket),
    Dns(crate::dns::Listeners),
}

/// Resolve `host:port` the way Go's `net.ResolveTCPAddr` prints it.
async fn resolve(listen: &str) -> Result<String, ApiError> {
    if listen.is_empty() {
        return Ok(String::new());
    }
    let addrs = dns::lookup_host(listen)
        .await
        .map_err(|e| ApiError::internal(format!("address {listen}: {e}")))?;
    addrs
        .first()
        .map(|a| a.to_string())
        .ok_or_else(|| ApiError::internal(format!("address {listen}: no suitable address found")))
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    tls: Option<Arc<TlsProxy>>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let upstream: Arc<str> = upstream.into();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => match r {
                Ok((client, _)) => {
                    let Some(permits) = admit(&shared) else {
                        // Reset at once: the client sees a refusal, not a served connection.
                        let _ = client.set_zero_linger();
                        continue;
                    };
                    let rng = lock(&shared.rng).fork();
                    tokio::spawn(connection(client, upstream.clone(), tls.clone(), shared.clone(), stop.clone(), rng, permits));
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    log::warn!("proxy {}: accept failed: {e}", shared.name);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// A proxy slot and a server slot for one client, or `None` (logged) when either budget is
/// spent.
pub(crate) fn admit(shared: &Shared) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
    let mine = shared.slots.clone().try_acquire_owned().ok();
    let all = mine.as_ref().and_then(|_| shared.guards.limits.try_take());
    if let (Some(mine), Some(all)) = (mine, all) {
        return Some((mine, all));
    }
    let n = shared.refused.fetch_add(1, Ordering::Relaxed) + 1;
    // The first refusal of a burst and every thousandth after it.
    if n % 1000 == 1 {
        let limits = &shared.guards.limits;
        log::warn!(
            "proxy {}: connection limit reached ({} for this proxy, {} for all proxies); \
             resetting new clients ({n} so far)",
            shared.name,
            limits.per_proxy,
            limits.total
        );
    }
    None
}

/// Dial the first address `upstream` resolves to that is not a proxy of this server
/// (the dial-time loop check), with `connect` (TCP here, UDP in `udp`).
pub(crate) async fn dial_with<T, F, Fut>(
    upstream: &str,
    shared: &Shared,
    mut connect: F,
) -> std::io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<T>>,
{
    let mut last = None;
    for addr in dns::lookup_host(upstream).await? {
        if let Some(p) = shared.guards.loops.proxy_at(addr) {
            last = Some(std::io::Error::other(format!(
                "proxy loop: {addr} is the listen address of proxy {p}"
            )));
            continue;
        }
        match connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address found")))
}

async fn dial(upstream: &str, shared: &Shared) -> std::io::Result<TcpStream> {
    dial_with(upstream, shared, TcpStream::connect).await
}

/// Counts an open client connection (also a DNS proxy's TCP client) until dropped.
pub(crate) struct ConnGuard(pub(crate) Arc<Shared>);
impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    client: TcpStream,
    upstream: Arc<str>,
    tls: Option<Arc<TlsProxy>>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut rng: Rng,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let _guard = ConnGuard(shared.clone());
    let _ = client.set_nodelay(true);
    // Connect-time toxics act before any upstream exists.
    let set = shared.toxics_tx.borrow().clone();
    for e in set.iter().filter(|e| e.kind.is_connect()) {
        if rng.next_f64() >= e.toxicity as f64 {
            continue;
        }
        match &e.kind {
            ToxicKind::ConnectRefuse(_) => {
                ToxicStats::count(&e.stats.connections);
                let _ = client.set_zero_linger();
                return;
            }
            ToxicKind::ConnectDelay(d) => {
                ToxicStats::count(&e.stats.connections);
                e.stats.add_delay(ms(d.delay));
                tokio::select! {
                    _ = tokio::time::sleep(ms(d.delay)) => {}
                    _ = stop.changed() => return,
                }
            }
            _ => {}
        }
    }
    if let Some(tls) = tls {
        // Boxed: a TLS session's state (handshakes, two rustls connections) is ~7 KiB,
        // and inline it would make every plain connection's task that large too, idle or
        // not (see `tests::an_idle_plain_connection_task_stays_small`).
        return Box::pin(tls_connection(client, &upstream, &tls, &shared, stop, rng)).await;
    }
    let up = match dial_upstream(&upstream, &shared, &mut stop).await {
        Some(up) => up,
        None => return,
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = up.into_split();
    let end = pump(&mut cr, &mut cw, &mut ur, &mut uw, &shared, &stop, rng).await;
    if end == LinkEnd::Reset {
        // SO_LINGER 0 only now, so only this connection's close becomes a RST.
        let _ = cr.as_ref().set_zero_linger();
        let _ = ur.as_ref().set_zero_linger();
        cw.forget();
        uw.forget();
    }
}

/// Dial the upstream with the connect timeout (logged and `None` on failure or stop).
async fn dial_upstream(
    upstream: &str,
    shared: &Shared,
    stop: &mut watch::Receiver<bool>,
) -> Option<TcpStream> {
    let up = tokio::select! {
        r = tokio::time::timeout(CONNECT_TIMEOUT, dial(upstream, shared)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                log::warn!("proxy {}: cannot connect to upstream {upstream}: {e}", shared.name);
                return None;
            }
            Err(_) => {
                log::warn!("proxy {}: upstream {upstream} connect timed out", shared.name);
                return None;
            }
        },
        _ = stop.changed() => return None,
    };
    let _ = up.set_nodelay(true);
    Some(up)
}

/// Run both links of one connection until it ends; returns how.
async fn pump<CR: Source, CW: Sink, UR: Source, UW: Sink>(
    cr: &mut CR,
    cw: &mut CW,
    ur: &mut UR,
    uw: &mut UW,
    shared: &Shared,
    stop: &watch::Receiver<bool>,
    mut rng: Rng,
) -> LinkEnd {
    let (itx, irx) = mpsc::channel(1);
    let params = |direction, counters: &Arc<Counters>, rng: Rng| LinkParams {
        direction,
        toxics: shared.toxics_tx.subscribe(),
        stop: stop.clone(),
        rng,
        counters: counters.clone(),
        inject_tx: None,
        inject_rx: None,
        // Every link gets the budget; `link::run` splices only where both of its ends are
        // raw TCP halves (`Source::tcp`, `Sink::tcp`), so TLS links copy (`crate::splice`).
        splice: Some(shared.guards.limits.pipes.clone()),
    };
    let mut up_params = params(Direction::Upstream, &shared.up, rng.fork());
    up_params.inject_tx = Some(itx);
    let mut down_params = params(Direction::Downstream, &shared.down, rng.fork());
    down_params.inject_rx = Some(irx);
    let up_link = link::run(cr, uw, up_params);
    let down_link = link::run(ur, cw, down_params);
    tokio::pin!(up_link, down_link);
    let (mut up_done, mut down_done) = (false, false);
    loop {
        let end = tokio::select! {
            e = &mut up_link, if !up_done => { up_done = true; e }
            e = &mut down_link, if !down_done => { down_done = true; e }
        };
        if end != LinkEnd::Eof || (up_done && down_done) {
            break end;
        }
    }
}

/// A connection of a TLS proxy: handshake with the client (bounded), dial the upstream
/// and open TLS to it for the client's SNI, then pump plaintext through the toxics.
/// An upstream that cannot be reached answers the client's request with 502.
async fn tls_connection(
    client: TcpStream,
    upstream: &str,
    tls: &TlsProxy,
    shared: &Shared,
    mut stop: watch::Receiver<bool>,
    rng: Rng,
) {
    let limit = tls.handshake_timeout();
    let mut client = tokio::select! {
        r = tokio::time::timeout(limit, tls.accept(client)) => match r {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                log::info!("proxy {}: client TLS handshake failed: {e}", shared.name);
                return;
            }
            Err(_) => {
                log::info!("proxy {}: client TLS handshake not done within {limit:?}; closed", shared.name);
                return;
            }
        },
        _ = stop.changed() => return,
    };
    let sni = client.get_ref().1.server_name().map(str::to_string);
    let Some(up) = dial_upstream(upstream, shared, &mut stop).await else {
        let reason = format!("cannot connect to upstream {upstream}");
        crate::tls::bad_gateway(&mut client, &shared.name, &reason, limit).await;
        return;
    };
    let Some(connector) = tls.connector() else {
        run_tls(client, up, shared, &stop, rng).await;
        return;
    };
    let r = tokio::select! {
        r = tokio::time::timeout(limit, tls.connect(connector, sni.as_deref(), up)) => r,
        _ = stop.changed() => return,
    };
    let reason = match r {
        Ok(Ok(up)) => {
            run_tls(client, up, shared, &stop, rng).await;
            return;
        }
        Ok(Err(e)) => format!("TLS handshake with upstream {upstream} failed: {e}"),
        Err(_) => format!("TLS handshake with upstream {upstream} not done within {limit:?}"),
    };
    log::warn!("proxy {}: {reason}", shared.name);
    crate::tls::bad_gateway(&mut client, &shared.name, &reason, limit).await;
}

/// A stream over one TCP connection (TLS or not), for `SO_LINGER` on reset.
trait OverTcp: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {
    fn tcp(&self) -> &TcpStream;
}
impl OverTcp for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}
impl OverTcp for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}
impl OverTcp for tokio_rustls::client::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// Pump a TLS client session and an upstream (TLS or plain), then end both cleanly:
/// close_notify and FIN, or a RST for `reset_peer`.
async fn run_tls<C: OverTcp, U: OverTcp>(
    client: C,
    up: U,
    shared: &Shared,
    stop: &watch::Receiver<bool>,
    rng: Rng,
) {
    let (cr, mut cw) = tokio::io::split(client);
    let (ur, mut uw) = tokio::io::split(up);
    let (mut cr, mut ur) = (link::Buffered::new(cr), link::Buffered::new(ur));
    let end = pump(&mut cr, &mut cw, &mut ur, &mut uw, shared, stop, rng).await;
    let (client, up) = (cr.inner.unsplit(cw), ur.inner.unsplit(uw));
    if end == LinkEnd::Reset {
        let _ = client.tcp().set_zero_linger();
        let _ = up.tcp().set_zero_linger();
        return;
    }
    // Bounded: a peer that stopped reading cannot hold the task.
    let (mut client, mut up) = (client, up);
    let grace = Duration::from_secs(1);
    let _ = tokio::time::timeout(grace, tokio::io::AsyncWriteExt::shutdown(&mut client)).await;
    let _ = tokio::time::timeout(grace, tokio::io::AsyncWriteExt::shutdown(&mut up)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::Limits;
    use tokio::io::AsyncReadExt;

    /// The safety net: when a proxy's upstream comes to lead into a proxy of this server
    /// after it started (a name resolving elsewhere), the connection is closed undialled.
    #[tokio::test]
    async fn a_dial_into_a_proxy_is_refused_at_connect_time() {
        let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target_addr = target.local_addr().expect("addr");
        let guards = Arc::new(Guards::new(Limits::for_descriptors(1024, None)));
        let p = Proxy::new(
            "p",
            "127.0.0.1:0",
            &target_addr.to_string(),
            Rng::new(1),
            guards.clone(),
        );
        p.start().await.expect("start");
        guards.loops.insert_unchecked("other", target_addr);
        let listen: SocketAddr = p.config().listen.parse().expect("listen");
        let mut client = TcpStream::connect(listen).await.expect("connect");
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(30), client.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
        // Polled once: nothing ever dialled the target.
        let dialled = tokio::time::timeout(Duration::ZERO, target.accept()).await;
        assert!(dialled.is_err(), "the proxy dialled into another proxy");
        p.stop().await;
        assert_eq!(guards.loops.proxy_at(listen), None);
    }

    /// What an idle plain connection costs in user memory is mostly its task, i.e. the
    /// size of `connection`'s future, which is the size of its largest state. Inlining
    /// the TLS branch made it 11.6 KiB (idle RSS 0.47x Toxiproxy's); boxed, a plain
    /// connection's task holds only the two links: 4.4 KiB with four timer futures per
    /// link, 3.0 KiB with one alarm each. The bound fails if a large state (a TLS session,
    /// a buffer, another timer per link) is put back inline.
    #[tokio::test]
    async fn an_idle_plain_connection_task_stays_small() {
        let target = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = target.local_addr().expect("addr");
        let guards = Arc::new(Guards::new(Limits::for_descriptors(1024, None)));
        let p = Proxy::new("p", "127.0.0.1:0", &addr.to_string(), Rng::new(1), guards);
        let client = TcpStream::connect(addr).await.expect("connect");
        let (_stop_tx, stop) = watch::channel(false);
        let permits = admit(&p.shared).expect("permits");
        let task = connection(
            client,
            "x".into(),
            None,
            p.shared.clone(),
            stop,
            Rng::new(1),
            permits,
        );
        let size = std::mem::size_of_val(&task);
        assert!(size <= IDLE_TASK_BOUND, "connection future is {size} bytes");
    }

    /// See `an_idle_plain_connection_task_stays_small`.
    const IDLE_TASK_BOUND: usize = 3300;
}
