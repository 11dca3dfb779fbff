//! Sending the load: worker threads, connections, pacing, stopping, counting.
//!
//! Shape (wrk's): `threads` OS threads, each with its own single-threaded tokio runtime,
//! share the `concurrency` workers between them. Why threads of our own: `chaos` runs its
//! engine on one thread (docs: commands/mod.rs), and a load generator that shared it would
//! both slow the run's other activities and be capped at one core; on its own threads the
//! load neither waits for the engine nor makes it wait, and it outlives the call that
//! started it when it must (`start_load`, `load.single`).
//!
//! Each HTTP/1.1 worker owns one connection (kept alive unless the plan or the server says
//! otherwise); HTTP/2 workers of a thread share one h2c connection as concurrent streams.
//! Stopping (duration over, the run interrupted or ended, `stop_load`) never cuts a request
//! in flight: workers stop *starting* requests and the ones in flight finish or time out,
//! so what the results count is exactly what the server was sent, and a stop takes at most
//! one request timeout.

use crate::histogram::Histogram;
use crate::plan::{Model, Plan, Protocol};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use providers::scope::RunScope;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The connection could not be opened (refused, unreachable).
    Connect,
    /// No complete answer within the per-request timeout.
    Timeout,
    /// The server closed or reset the connection before answering.
    Closed,
    /// The answer was not valid HTTP.
    Protocol,
    /// Any other I/O error.
    Io,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Io => "io",
        }
    }
}

/// What a load could not even start for.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot resolve '{host}': {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("'{host}' resolves to no address")]
    NoAddress { host: String },
    #[error("cannot start the load's threads: {0}")]
    Thread(#[source] std::io::Error),
    #[error("the load's threads ended without results (a bug: please report it)")]
    Lost,
}

/// Counts of one worker, one thread, or the whole load.
#[derive(Default, Clone)]
pub struct Stats {
    pub latency: Histogram,
    pub status: BTreeMap<u16, u64>,
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The first message of each error kind, to say what went wrong.
    pub error_messages: BTreeMap<ErrorKind, String>,
    pub successes: u64,
    pub failures: u64,
    pub bytes_received: u64,
}

impl Stats {
    pub fn requests(&self) -> u64 {
        self.successes + self.failures
    }

    fn answered(&mut self, status: u16, bytes: u64, micros: u64) {
        *self.status.entry(status).or_default() += 1;
        if status < 400 {
            self.successes += 1;
        } else {
            self.failures += 1;
        }
        self.bytes_received += bytes;
        self.latency.record(micros);
    }

    fn failed(&mut self, kind: ErrorKind, message: String, micros: u64) {
        *self.errors.entry(kind).or_default() += 1;
        self.error_messages.entry(kind).or_insert(message);
        self.failures += 1;
        self.latency.record(micros);
    }

    pub fn merge(&mut self, other: &Stats) {
        self.latency.merge(&other.latency);
        for (k, v) in &other.status {
            *self.status.entry(*k).or_default() += v;
        }
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        for (k, v) in &other.error_messages {
            self.error_messages.entry(*k).or_insert_with(|| v.clone());
        }
        self.successes += other.successes;
        self.failures += other.failures;
        self.bytes_received += other.bytes_received;
    }
}

/// A finished load.
pub struct Outcome {
    pub stats: Stats,
    pub elapsed: Duration,
    /// `duration`, `interrupted`, `experiment-end` or `stopped`.
    pub stopped: &'static str,
}

/// A load under way.
pub struct Running {
    stop: Arc<watch::Sender<bool>>,
    done: oneshot::Receiver<Outcome>,
}

impl Running {
    /// Stops starting requests (those in flight finish).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// A handle that can stop the load after [`Running::outcome`] took it.
    pub fn stopper(&self) -> Arc<watch::Sender<bool>> {
        self.stop.clone()
    }

    /// Waits for the load to end.
    pub async fn outcome(self) -> Result<Outcome, LoadError> {
        self.done.await.map_err(|_| LoadError::Lost)
    }
}

/// Resolves the plan's host once (every connection goes to that address: the experiment's
/// URL and nothing else) and starts the load; `scope` stops it with the run.
pub async fn start(plan: Plan, scope: RunScope) -> Result<Running, LoadError> {
    let host = plan.host.clone();
    let lookup = tokio::time::timeout(
        plan.timeout,
        tokio::net::lookup_host((plan.host.clone(), plan.port)),
    );
    let addr = match lookup.await {
        Ok(Ok(mut addrs)) => addrs
            .next()
            .ok_or(LoadError::NoAddress { host: host.clone() })?,
        Ok(Err(source)) => return Err(LoadError::Resolve { host, source }),
        Err(_) => {
            return Err(LoadError::Resolve {
                host,
                source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
            })
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop = Arc::new(stop_tx);
    let (done_tx, done) = oneshot::channel();
    let plan = Arc::new(plan);
    let started = Instant::now();
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        addr,
        started,
        end: started + plan.duration,
        tickets: AtomicU64::new(0),
    });
    // Workers per thread, as even as possible.
    let threads = plan.threads.max(1);
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        let workers = plan.concurrency / threads + usize::from(t < plan.concurrency % threads);
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let scope = scope.clone();
        let handle = std::thread::Builder::new()
            .name(format!("load-{t}"))
            .spawn(move || thread_main(shared, workers, stop_rx, scope))
            .map_err(LoadError::Thread)?;
        handles.push(handle);
    }
    let manual = stop.clone();
    std::thread::Builder::new()
        .name("load".into())
        .spawn(move || {
            let mut stats = Stats::default();
            for handle in handles {
                if let Ok(s) = handle.join() {
                    stats.merge(&s);
                }
            }
            let elapsed = started.elapsed();
            let stopped = match scope.cause() {
                Some(cause) => cause.as_str(),
                None if *manual.borrow() => "stopped",
                None => "duration",
            };
            let _ = done_tx.send(Outcome {
                stats,
                elapsed,
                stopped,
            });
        })
        .map_err(LoadError::Thread)?;
    Ok(Running { stop, done })
}

struct Shared {
    plan: Arc<Plan>,
    addr: SocketAddr,
    started: Instant,
    end: Instant,
    /// Open model: the next request's number; request i is due at `started + i / rate`.
    tickets: AtomicU64,
}

impl Shared {
    /// When the worker's next request is due; `None` when the load is over.
    fn next_due(&self) -> Option<Instant> {
        match self.plan.model {
            Model::Closed => {
                let now = Instant::now();
                (now < self.end).then_some(now)
            }
            Model::Open { rate } => {
                let i = self.tickets.fetch_add(1, Ordering::Relaxed);
                let due = self.started + Duration::from_secs_f64(i as f64 / rate);
                (due < self.end).then_some(due)
            }
        }
    }
}

fn thread_main(
    shared: Arc<Shared>,
    workers: usize,
    stop: watch::Receiver<bool>,
    scope: RunScope,
) -> Stats {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let mut stats = Stats::default();
            stats.failed(ErrorKind::Io, format!("cannot start a runtime: {e}"), 0);
            return stats;
        }
    };
    runtime.block_on(async move {
        let h2 = Arc::new(tokio::sync::Mutex::new(None));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            tasks.spawn(worker(
                shared.clone(),
                stop.clone(),
                scope.clone(),
                h2.clone(),
            ));
        }
        let mut stats = Stats::default();
        while let Some(done) = tasks.join_next().await {
            if let Ok(s) = done {
                stats.merge(&s);
            }
        }
        stats
    })
}

type H1 = http1::SendRequest<Full<Bytes>>;
type H2 = http2::SendRequest<Full<Bytes>>;

fn stopping(stop: &watch::Receiver<bool>, scope: &RunScope) -> bool {
    *stop.borrow() || scope.cause().is_some()
}

async fn worker(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut scope: RunScope,
    h2: Arc<tokio::sync::Mutex<Option<H2>>>,
) -> Stats {
    let mut stats = Stats::default();
    let mut h1: Option<H1> = None;
    let plan = shared.plan.clone();
    loop {
        if stopping(&stop, &scope) {
            break;
        }
        let Some(due) = shared.next_due() else { break };
        if due > Instant::now() {
            let sleep = tokio::time::sleep_until(due.into());
            tokio::select! {
                _ = sleep => {}
                _ = stop.wait_for(|s| *s) => break,
                _ = scope.stopped() => break,
            }
        }
        let from = match plan.model {
            Model::Open { .. } => due,
            Model::Closed => Instant::now(),
        };
        let exchange = async {
            match plan.protocol {
                Protocol::Http1 => exchange_h1(&mut h1, &shared).await,
                Protocol::Http2 => exchange_h2(&h2, &shared).await,
            }
        };
        let result = tokio::time::timeout(plan.timeout, exchange).await;
        let micros = u64::try_from(from.elapsed().as_micros()).unwrap_or(u64::MAX);
        match result {
            Ok(Ok((status, bytes))) => stats.answered(status, bytes, micros),
            Ok(Err((kind, message))) => {
                h1 = None;
                stats.failed(kind, message, micros);
            }
            Err(_) => {
                // An HTTP/1.1 connection with an answer pending cannot carry the next
                // request; a timed-out HTTP/2 stream leaves its shared connection usable.
                h1 = None;
                stats.failed(
                    ErrorKind::Timeout,
                    format!(
                        "no complete answer within {}s",
                        experiment::pyrepr::py_float(plan.timeout.as_secs_f64())
                    ),
                    micros,
                );
            }
        }
    }
    stats
}

type Failed = (ErrorKind, String);

async fn connect(addr: SocketAddr) -> Result<TokioIo<tokio::net::TcpStream>, Failed> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| (ErrorKind::Connect, format!("cannot connect to {addr}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    Ok(TokioIo::new(tcp))
}

fn classify(e: &hyper::Error) -> ErrorKind {
    if e.is_parse() || e.is_parse_status() || e.is_user() {
        ErrorKind::Protocol
    } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        ErrorKind::Closed
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Io
    }
}

fn failed(e: hyper::Error) -> Failed {
    let kind = classify(&e);
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    (kind, message)
}

fn request(plan: &Plan, absolute: bool) -> Result<hyper::Request<Full<Bytes>>, Failed> {
    let path = plan.path_and_query();
    let user_host = plan
        .headers
        .iter()
        .find(|(n, _)| n == hyper::header::HOST)
        .and_then(|(_, v)| v.to_str().ok());
    let uri = if absolute {
        format!("http://{}{path}", user_host.unwrap_or(&plan.authority))
    } else {
        path
    };
    let mut builder = hyper::Request::builder()
        .method(plan.method.clone())
        .uri(uri);
    if !absolute && user_host.is_none() {
        builder = builder.header(hyper::header::HOST, plan.authority.as_str());
    }
    for (name, value) in &plan.headers {
        if absolute && name == hyper::header::HOST {
            continue;
        }
        builder = builder.header(name, value);
    }
    if !absolute && !plan.keep_alive {
        builder = builder.header(hyper::header::CONNECTION, "close");
    }
    builder.body(Full::new(plan.body.clone())).map_err(|e| {
        (
            ErrorKind::Protocol,
            format!("cannot build the request: {e}"),
        )
    })
}

/// Reads the whole answer body, counting its bytes without keeping them.
async fn drain(mut body: hyper::body::Incoming) -> Result<u64, Failed> {
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(failed)?;
        if let Some(data) = frame.data_ref() {
            bytes += data.len() as u64;
        }
    }
    Ok(bytes)
}

async fn exchange_h1(conn: &mut Option<H1>, shared: &Shared) -> Result<(u16, u64), Failed> {
    let plan = &shared.plan;
    if conn.as_ref().is_none_or(|c| c.is_closed()) {
        let io = connect(shared.addr).await?;
        let (sender, connection) = http1::handshake(io).await.map_err(failed)?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        *conn = Some(sender);
    }
    let Some(sender) = conn.as_mut() else {
        return Err((ErrorKind::Io, "no connection".into()));
    };
    sender.ready().await.map_err(failed)?;
    let response = sender
        .send_request(request(plan, false)?)
        .await
        .map_err(failed)?;
    let status = response.status().as_u16();
    let closes = response
        .headers()
        .get(hyper::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let bytes = drain(response.into_body()).await?;
    if closes || !plan.keep_alive {
        *conn = None;
    }
    Ok((status, bytes))
}

async fn exchange_h2(
    conn: &tokio::sync::Mutex<Option<H2>>,
    shared: &Shared,
) -> Result<(u16, u64), Failed> {
    let mut sender = {
        let mut slot = conn.lock().await;
        match slot.as_ref().filter(|c| !c.is_closed()) {
            Some(c) => c.clone(),
            None => {
                let io = connect(shared.addr).await?;
                let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(failed)?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                *slot = Some(sender.clone());
                sender
            }
        }
    };
    sender.ready().await.map_err(failed)?;
    let response = sender
        .send_request(request(&shared.plan, true)?)
        .await
        .map_err(failed)?;
    let status = response.status().as_u16();
    let bytes = drain(response.into_body()).await?;
    Ok((status, bytes))
}

/// What a detached load keeps for `load_results` and `stop_load`.
pub struct Detached {
    pub stopper: Arc<watch::Sender<bool>>,
    pub outcome: Arc<Mutex<Option<oneshot::Receiver<Outcome>>>>,
}

impl Running {
    /// Splits the load into what a registry of detached loads keeps.
    pub fn detach(self) -> Detached {
        Detached {
            stopper: self.stop,
            outcome: Arc::new(Mutex::new(Some(self.done))),
        }
    }
}
