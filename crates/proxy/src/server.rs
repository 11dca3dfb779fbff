//! Starting and stopping the API server (Toxiproxy's cmd/server).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{router, App};
use crate::collection::Collection;
use crate::error::ProxyError;

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

/// Bind the API, load `config_file`, and serve in the background.
pub async fn start(config: ServeConfig) -> Result<ServerHandle, ProxyError> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| ProxyError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let bound = listener.local_addr()?;
    let app = Arc::new(App {
        collection: Collection::new(config.seed),
        proxy_metrics: config.proxy_metrics,
        runtime_metrics: config.runtime_metrics,
    });
    if let Some(path) = &config.config_file {
        // Like toxiproxy-server: problems with the file are logged, not fatal.
        match tokio::fs::read(path).await {
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
    let task = tokio::spawn(async move {
        axum::serve(listener, svc)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await
    });
    log::info!("Starting Shakedown proxy API on {bound}");
    Ok(ServerHandle {
        addr: bound,
        app,
        stop: Some(tx),
        task,
    })
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
