//! The exporter: spans are queued as they end and sent over OTLP (HTTP, or gRPC) in
//! batches, and whatever is left is flushed when the run ends, within a bounded time.
//!
//! Why this shape: a chaos run must never wait on its observability. A span that ends
//! only joins a bounded queue (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048 by default; beyond it spans
//! are dropped and counted); a full batch (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512) is sent
//! by a task of its own; the end of the run waits for the last sends at most
//! `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` (10 s). A collector that is down, refuses or never
//! answers costs one WARNING per run naming the control and the endpoint, never the run.
//!
//! OTLP/gRPC is written by hand over reqwest's HTTP/2 (already in the tree) rather than
//! with tonic: one unary call is a POST of the protobuf request behind gRPC's 5-byte
//! length prefix, `content-type: application/grpc` and `te: trailers`, and its outcome is
//! the `grpc-status` (and `grpc-message`) of the trailers, or of the headers when the
//! server answers with trailers only. A non-zero status is refused as an HTTP error is.

use crate::config::{Config, Transport};
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
    #[error("{endpoint} answered gRPC status {code} ({}): {message}", grpc_code_name(*.code))]
    GrpcStatus {
        endpoint: String,
        code: u32,
        message: String,
    },
    #[error("{endpoint} did not answer as a gRPC server: {why}")]
    NotGrpc { endpoint: String, why: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// The name of a gRPC status code, as the specification lists them.
pub fn grpc_code_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown code")
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
        let mut builder = providers::http::client_builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .timeout(config.timeout);
        if config.transport == Transport::Grpc {
            // gRPC is HTTP/2 only; `http://` receivers speak it without TLS (h2c).
            builder = builder.http2_prior_knowledge();
        }
        let client = builder.build();
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
        let outcome = match self.config.transport {
            Transport::Http => self.send_http(client, spans).await,
            Transport::Grpc => self.send_grpc(client, spans).await,
        };
        if let Err(e) = outcome {
            warn_once(&self.warned, &self.control, self.module, &e);
        }
    }

    /// One OTLP/gRPC `Export` call: the request framed, the status read from the
    /// trailers (or from the headers of a trailers-only answer).
    async fn send_grpc(&self, client: &reqwest::Client, spans: &[Span]) -> Result<(), ExportError> {
        use http_body_util::BodyExt;
        let message = otlp::encode(otlp::Encoding::Protobuf, &self.origin, spans);
        let endpoint = self.config.shown_endpoint();
        let mut request = client
            .post(&self.config.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/grpc")
            .header(reqwest::header::TE, "trailers")
            .header(
                "grpc-timeout",
                format!("{}m", self.config.timeout.as_millis().max(1)),
            )
            .body(grpc_frame(&message));
        for (k, v) in &self.config.headers {
            // gRPC metadata keys are lower case; HTTP/2 requires it.
            request = request.header(k.to_ascii_lowercase().as_str(), v.as_str());
        }
        let answer = request
            .send()
            .await
            .map_err(|e| transport_error(e, &endpoint, &self.config))?;
        let status = answer.status();
        let headers = answer.headers().clone();
        if !status.is_success() {
            // Not a gRPC answer (a proxy's error page, say): its start tells why.
            let body = answer.text().await.unwrap_or_default();
            return Err(ExportError::Refused {
                endpoint,
                status: status.as_u16(),
                body: body.trim().chars().take(200).collect(),
            });
        }
        // A trailers-only answer (an error, usually) carries the status in its headers.
        let from_headers = grpc_status(&headers);
        // The response message (a partial-success count at most) is not needed: data
        // frames are dropped as they come, so a server sending without end costs no
        // memory, and the client's timeout bounds the time.
        let mut body = reqwest::Body::from(answer);
        let mut trailers = None;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| transport_error(e, &endpoint, &self.config))?;
            if let Ok(t) = frame.into_trailers() {
                trailers = Some(t);
            }
        }
        match from_headers.or_else(|| trailers.as_ref().and_then(grpc_status)) {
            Some((0, _)) => Ok(()),
            Some((code, message)) => Err(ExportError::GrpcStatus {
                endpoint,
                code,
                message,
            }),
            None => Err(ExportError::NotGrpc {
                endpoint,
                why: format!(
                    "HTTP {} with no grpc-status (content-type {:?})",
                    status.as_u16(),
                    headers
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                ),
            }),
        }
    }

    async fn send_http(&self, client: &reqwest::Client, spans: &[Span]) -> Result<(), ExportError> {
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
        match request.send().await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body = answer.text().await.unwrap_or_default();
                let body: String = body.trim().chars().take(200).collect();
                Err(ExportError::Refused {
                    endpoint,
                    status,
                    body,
                })
            }
            Err(e) => Err(transport_error(e, &endpoint, &self.config)),
        }
    }
}

fn transport_error(e: reqwest::Error, endpoint: &str, config: &Config) -> ExportError {
    if e.is_timeout() {
        ExportError::Timeout {
            endpoint: endpoint.to_string(),
            timeout: config.timeout,
        }
    } else {
        ExportError::Unreachable {
            endpoint: endpoint.to_string(),
            source: e.without_url(),
        }
    }
}

/// A gRPC length-prefixed message: not compressed (0), the length (big-endian), the bytes.
pub fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(message);
    framed
}

/// `grpc-status` and its percent-encoded `grpc-message`, when `headers` carry a status.
pub fn grpc_status(headers: &reqwest::header::HeaderMap) -> Option<(u32, String)> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u32>()
        .ok()?;
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(|m| {
            url::form_urlencoded::parse(format!("m={}", m.replace('+', "%2B")).as_bytes())
                .next()
                .map(|(_, v)| v.chars().take(200).collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Some((code, message))
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
