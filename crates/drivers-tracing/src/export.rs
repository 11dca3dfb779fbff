//! The exporter: spans are queued as they end and sent over OTLP/HTTP in batches, and
//! whatever is left is flushed when the run ends, within a bounded time.
//!
//! Why this shape: a chaos run must never wait on its observability. A span that ends
//! only joins a bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048 by default; beyond it spans
//! are dropped and counted); a full batch (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512) is sent
//! by a task of its own; the end of the run waits for the last sends at most
//! `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (10 s). A collector that is down, refuses or never
//! answers costs one WARNING per run naming the control and the endpoint, never the run.

use crate::config::Config;
use crate::otlp::{self, Origin};
use crate::span::Span;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Why one export failed (shown in the run's single WARNING).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot reach {endpoint}: {source}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{endpoint} did not answer within {}s", .timeout.as_secs_f64())]
    Timeout { endpoint: String, timeout: Duration },
    #[error("{endpoint} answered {status}: {body}")]
    Refused {
        endpoint: String,
        status: u16,
        body: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One run's exporter, shared by the control's hooks.
pub struct Exporter {
    control: String,
    module: &'static str,
    config: Config,
    origin: Origin,
    client: Option<reqwest::Client>,
    queue: Mutex<Vec<Span>>,
    sending: Mutex<Vec<JoinHandle<()>>>,
    in_flight: AtomicU64,
    dropped: AtomicU64,
    warned: Arc<AtomicBool>,
}

impl Exporter {
    pub fn new(control: &str, module: &'static str, config: Config) -> Arc<Self> {
        let client = providers::http::client_builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .timeout(config.timeout)
            .build();
        let warned = Arc::new(AtomicBool::new(false));
        let client = match client {
            Ok(c) => Some(c),
            Err(e) => {
                warn_once(&warned, control, module, &ExportError::Client(e));
                None
            }
        };
        Arc::new(Exporter {
            control: control.to_string(),
            module,
            origin: Origin {
                service_name: config.service_name.clone(),
                scope: crate::SCOPE,
                scope_version: crate::UPSTREAM_VERSION,
            },
            config,
            client,
            queue: Mutex::new(Vec::new()),
            sending: Mutex::new(Vec::new()),
            in_flight: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            warned,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Queues an ended span; sends a batch once one is full. Never waits.
    pub fn push(self: &Arc<Self>, span: Span) {
        if self.config.disabled {
            return;
        }
        let batch = {
            let mut queue = lock(&self.queue);
            let held = queue.len() as u64 + self.in_flight.load(Ordering::SeqCst);
            if held >= self.config.max_queue as u64 {
                self.dropped.fetch_add(1, Ordering::SeqCst);
                return;
            }
            queue.push(span);
            if queue.len() >= self.config.max_batch {
                std::mem::take(&mut *queue)
            } else {
                return;
            }
        };
        self.spawn(batch);
    }

    fn spawn(self: &Arc<Self>, batch: Vec<Span>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.in_flight
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        let me = self.clone();
        let handle = runtime.spawn(async move {
            let n = batch.len() as u64;
            me.send(&batch).await;
            me.in_flight.fetch_sub(n, Ordering::SeqCst);
        });
        let mut sending = lock(&self.sending);
        sending.retain(|h| !h.is_finished());
        sending.push(handle);
    }

    /// Sends what is queued and waits for every send, at most the export timeout.
    pub async fn flush(self: &Arc<Self>) {
        let batch = std::mem::take(&mut *lock(&self.queue));
        if !batch.is_empty() {
            self.spawn(batch);
        }
        let handles = std::mem::take(&mut *lock(&self.sending));
        let all = async {
            for h in handles {
                let _ = h.await;
            }
        };
        // Each send is bounded by the client's timeout already; this bounds them together.
        if tokio::time::timeout(self.config.timeout + Duration::from_secs(1), all)
            .await
            .is_err()
        {
            log::debug!("tracing: the last spans were still being sent when the run ended");
        }
        let dropped = self.dropped.swap(0, Ordering::SeqCst);
        if dropped > 0 {
            log::warn!(
                "Control '{}' ({}) dropped {dropped} spans: more than {} were waiting for {} (OTEL_BSP_MAX_QUEUE_SIZE)",
                self.control,
                self.module,
                self.config.max_queue,
                self.config.shown_endpoint()
            );
        }
    }

    async fn send(&self, spans: &[Span]) {
        let Some(client) = &self.client else { return };
        let body = otlp::encode(self.config.encoding, &self.origin, spans);
        let endpoint = self.config.shown_endpoint();
        let mut request = client
            .post(&self.config.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                self.config.encoding.content_type(),
            )
            .body(body);
        for (k, v) in &self.config.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let outcome = match request.send().await {
            Ok(answer) if answer.status().is_success() => return,
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body = answer.text().await.unwrap_or_default();
                let body: String = body.trim().chars().take(200).collect();
                ExportError::Refused {
                    endpoint,
                    status,
                    body,
                }
            }
            Err(e) if e.is_timeout() => ExportError::Timeout {
                endpoint,
                timeout: self.config.timeout,
            },
            Err(e) => ExportError::Unreachable {
                endpoint,
                source: e.without_url(),
            },
        };
        warn_once(&self.warned, &self.control, self.module, &outcome);
    }
}

fn warn_once(warned: &AtomicBool, control: &str, module: &str, e: &ExportError) {
    let mut message = format!("Control '{control}' ({module}) could not export spans: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    if warned.swap(true, Ordering::SeqCst) {
        log::debug!("{message}");
    } else {
        log::warn!("{message}");
    }
}
