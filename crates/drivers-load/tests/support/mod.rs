//! A counting HTTP server on 127.0.0.1 for the load tests (hyper: HTTP/1.1 keep-alive,
//! or HTTP/2 only with prior knowledge).
#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Seen {
    pub connections: AtomicU64,
    pub requests: AtomicU64,
    /// `METHOD path header-x-load body` of the first request.
    pub first: Mutex<Option<String>>,
}

/// A server speaking HTTP/1.1 (keep-alive) or, with `h2`, HTTP/2 only (h2c prior knowledge).
pub async fn serve(h2: bool) -> (u16, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let counted = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            counted.connections.fetch_add(1, Ordering::SeqCst);
            let seen = counted.clone();
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let seen = seen.clone();
                async move {
                    let method = req.method().to_string();
                    let path = req.uri().path().to_string();
                    let header = req
                        .headers()
                        .get("x-load")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_string();
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    seen.first.lock().unwrap().get_or_insert(format!(
                        "{method} {path} {header} {}",
                        String::from_utf8_lossy(&body)
                    ));
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"hello",
                    ))))
                }
            });
            tokio::spawn(async move {
                let io = TokioIo::new(tcp);
                if h2 {
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                } else {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(io, service)
                        .await;
                }
            });
        }
    });
    (port, seen)
}
