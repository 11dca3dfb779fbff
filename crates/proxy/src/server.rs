//! Starting and stopping the API server (Toxiproxy's cmd/server).
//!
//! The API is served over HTTP/1.1 with hyper directly, so every connection gets a
//! header-read timeout (a client dripping its headers is cut off after
//! [`HEADER_READ_TIMEOUT`]; Toxiproxy: 15 s for headers and body) and the number of API
//! connections is capped by the descriptor reserve (`guard::Limits::api`; past it new
//! connections are closed at once).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use crate::api::{router, App};
use crate::collection::Collection;
use crate::error::ProxyError;
use crate::guard::{self, Guards, Limits};
use crate::origin::HostPolicy;

/// How long an API client has to send a request's headers (also bounds an idle
/// keep-alive connection). The body and handler then have `api::REQUEST_TIMEOUT`.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `chaos proxy serve`; the defaults match toxiproxy-server except that the
/// API binds 127.0.0.1 rather than `localhost`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub host: String,
    pub port: u16,
    /// JSON array of proxies to create at start-up (same semantics as `/populate`).
    pub config_file: Option<PathBuf>,
    /// Seeds every random decision (toxicity, jitter, slicer, HTTP percentages).
    pub seed: Option<u64>,
    /// Serve `toxiproxy_proxy_*` counters on `/metrics`.
    pub proxy_metrics: bool,
    /// Serve process metrics on `/metrics`.
    pub runtime_metrics: bool,
    /// Hosts accepted in `Host`/`Origin` besides loopback when the API listens on
    /// loopback (`*` = any).
    pub allowed_hosts: Vec<String>,
    /// Concurrent client connections of one proxy; `None` = a quarter of the descriptor
    /// budget (see `guard::Limits`).
    pub max_connections: Option<usize>,
    /// See [`HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// How long a UDP session lives without a datagram (see [`crate::udp::IDLE_TIMEOUT`]).
    pub udp_idle_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: "127.0.0.1".into(),
            port: 8474,
            config_file: None,
            seed: None,
            proxy_metrics: false,
            runtime_metrics: false,
            allowed_hosts: Vec::new(),
            max_connections: None,
            header_read_timeout: HEADER_READ_TIMEOUT,
            udp_idle_timeout: crate::udp::IDLE_TIMEOUT,
        }
    }
}

/// A running server; dropping it without `shutdown` leaves the server running.
pub struct ServerHandle {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl ServerHandle {
    /// The bound API address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://<addr>`, ready for `proxy::client::Client::new`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stop the API and every proxy.
    pub async fn shutdown(mut self) -> Result<(), ProxyError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = (&mut self.task).await;
        self.app.collection.stop_all().await;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ProxyError::Io(e)),
            Err(e) => Err(ProxyError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}

/// The config file's bytes: at most [`crate::api::MAX_BODY`], the most a `/populate`
/// request may send (a bigger file, or an endless one such as `/dev/zero`, is an error
/// that says so, read no further).
async fn read_config(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let limit = crate::api::MAX_BODY as u64;
    let mut bytes = Vec::new();
    tokio::fs::File::open(path)
        .await?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .await?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is larger than {limit} bytes, the most a /populate request may send"),
        ));
    }
    Ok(bytes)
}

/// Bind the API, load `config_file`, and serve in the background.
pub async fn start(config: ServeConfig) -> Result<ServerHandle, ProxyError> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = dns::bind(&addr).await.map_err(|source| ProxyError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let bound = listener.local_addr()?;
    let nofile = guard::raise_open_files_limit();
    let mut limits = Limits::for_descriptors(nofile, config.max_connections);
    limits.udp_idle = config.udp_idle_timeout;
    log::debug!(
        "open files limit {nofile}: {} connections per proxy, {} in total, {} API connections",
        limits.per_proxy,
        limits.total,
        limits.api
    );
    let api_slots = Arc::new(Semaphore::new(limits.api));
    let app = Arc::new(App {
        collection: Collection::with_guards(config.seed, Arc::new(Guards::new(limits))),
        proxy_metrics: config.proxy_metrics,
        runtime_metrics: config.runtime_metrics,
        hosts: HostPolicy::for_bind(bound.ip(), &config.allowed_hosts),
    });
    if let Some(path) = &config.config_file {
        // Like toxiproxy-server: problems with the file are logged, not fatal.
        match read_config(path).await {
            Ok(body) => {
                let (status, v) = app.collection.populate(&body).await;
                if status >= 300 {
                    log::error!("failed to populate proxies from {}: {v}", path.display());
                } else {
                    log::info!("populated proxies from {}", path.display());
                }
            }
            Err(e) => log::error!("error reading config file {}: {e}", path.display()),
        }
    }
    let (tx, rx) = oneshot::channel::<()>();
    let svc = router(app.clone());
    let header_timeout = config.header_read_timeout;
    let task = tokio::spawn(serve_api(listener, svc, header_timeout, api_slots, rx));
    log::info!("Starting Shakedown proxy API on {bound}");
    Ok(ServerHandle {
        addr: bound,
        app,
        stop: Some(tx),
        task,
    })
}

/// Accept API connections until `stop`, then let open ones finish their request.
async fn serve_api(
    listener: TcpListener,
    svc: Router,
    header_timeout: Duration,
    slots: Arc<Semaphore>,
    mut stop: oneshot::Receiver<()>,
) -> Result<(), std::io::Error> {
    let (closing_tx, closing) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut refused: u64 = 0;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((io, peer)) => {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        refused += 1;
                        // The first refusal and every thousandth after it.
                        if refused % 1000 == 1 {
                            log::warn!(
                                "API connection from {peer} closed: too many API connections \
                                 ({refused} refused so far)"
                            );
                        }
                        continue;
                    };
                    let (svc, closing) = (svc.clone(), closing.clone());
                    conns.spawn(async move {
                        serve_api_connection(io, svc, header_timeout, closing).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Typically EMFILE: back off instead of spinning.
                    log::warn!("API accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// One API connection: HTTP/1.1 with a header-read timeout; on server shutdown the
/// request in flight finishes and the connection closes.
async fn serve_api_connection<I>(
    io: I,
    svc: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc));
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                log::debug!("API connection closed: {e}");
            }
            return;
        }
        _ = closing.wait_for(|c| *c) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}

/// Serve until SIGINT or SIGTERM, then stop every proxy. What `chaos proxy serve` calls.
pub async fn serve(config: ServeConfig) -> Result<(), ProxyError> {
    let handle = start(config).await?;
    wait_for_signal().await;
    handle.shutdown().await
}

/// Blocking entry for a synchronous `main`: builds a runtime and runs [`serve`].
pub fn run_serve_command(config: ServeConfig) -> Result<(), ProxyError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(config))
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn app() -> Router {
        router(Arc::new(App {
            collection: Collection::new(None),
            proxy_metrics: false,
            runtime_metrics: false,
            hosts: HostPolicy::default(),
        }))
    }

    /// A client dripping its headers is cut off at the header-read timeout, while a
    /// prompt one is answered (virtual time: no real waiting).
    #[tokio::test(start_paused = true)]
    async fn headers_must_arrive_in_time() {
        let (_tx, closing) = watch::channel(false);
        let (mut client, server) = tokio::io::duplex(4096);
        let conn = tokio::spawn(serve_api_connection(
            server,
            app(),
            Duration::from_secs(10),
            closing.clone(),
        ));
        let started = tokio::time::Instant::now();
        client
            .write_all(b"GET /version HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out).await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
            "{waited:?}"
        );
        assert!(!String::from_utf8_lossy(&out).contains("2.12.0"));
        conn.await.expect("connection task");

        let (mut client, server) = tokio::io::duplex(4096);
        tokio::spawn(serve_api_connection(
            server,
            app(),
            Duration::from_secs(10),
            closing,
        ));
        client
            .write_all(b"GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.expect("read");
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    }

    /// Past the API connection cap a new connection is closed at once; a freed slot
    /// serves again.
    #[tokio::test]
    async fn api_connections_are_capped() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop_tx, stop) = oneshot::channel();
        let slots = Arc::new(Semaphore::new(1));
        let server = tokio::spawn(serve_api(
            listener,
            app(),
            Duration::from_secs(60),
            slots,
            stop,
        ));
        let request = b"GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut holder = tokio::net::TcpStream::connect(addr).await.expect("connect");
        holder
            .write_all(b"GET /version HTTP/1.1\r\n")
            .await
            .expect("write");
        let mut extra = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = extra.write_all(request).await;
        let mut out = Vec::new();
        let _ = extra.read_to_end(&mut out).await;
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        drop(holder);
        let mut answered = false;
        for _ in 0..100 {
            let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let _ = c.write_all(request).await;
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out).await;
            if out.starts_with(b"HTTP/1.1 200") {
                answered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(answered, "a freed slot serves again");
        let _ = stop_tx.send(());
        server.await.expect("server task").expect("serve");
    }
}
