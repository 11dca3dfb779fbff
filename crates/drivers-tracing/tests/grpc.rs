//! The OTLP/gRPC exporter against a real local HTTP/2 server (hyper's, no TLS: h2c), which
//! records each request and answers with the gRPC status a test picks: in the trailers,
//! or trailers-only in the headers, as gRPC servers do. The request must be a unary gRPC
//! call (path, `content-type`, `te`, the 5-byte length prefix); a non-zero status is one
//! WARNING naming the control, the endpoint and the status.

use drivers_tracing::config::{Config, Transport, GRPC_PATH};
use drivers_tracing::export::{grpc_frame, grpc_status, Exporter};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::HeaderMap;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::sync::{Arc, Mutex};

#[path = "support/settings.rs"]
mod settings;
#[path = "support/warnings.rs"]
mod warnings;
use settings::{config_from, ended};
use warnings::{warnings, warnings_about};

/// How the stand-in answers.
#[derive(Clone, Copy)]
enum Answer {
    /// HTTP 200, an empty framed `ExportTraceServiceResponse`, `grpc-status` in the trailers.
    Trailers(u32, &'static str),
    /// HTTP 200 with `grpc-status` in the headers and no body (trailers-only).
    TrailersOnly(u32, &'static str),
}

/// One request as the stand-in received it.
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn server(answer: Answer) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let record = record.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await?.to_bytes().to_vec();
                            record.lock().unwrap().push(Seen {
                                path,
                                headers,
                                body,
                            });
                            let status = |code: u32, message: &str| {
                                let mut h = HeaderMap::new();
                                h.insert("grpc-status", code.to_string().parse().unwrap());
                                if !message.is_empty() {
                                    h.insert("grpc-message", message.parse().unwrap());
                                }
                                h
                            };
                            let response = match answer {
                                Answer::Trailers(code, message) => {
                                    let trailers = status(code, message);
                                    let body = Full::new(Bytes::from(grpc_frame(&[])))
                                        .with_trailers(async move { Some(Ok(trailers)) })
                                        .boxed();
                                    let mut r = Response::new(body);
                                    r.headers_mut().insert(
                                        "content-type",
                                        "application/grpc".parse().unwrap(),
                                    );
                                    r
                                }
                                Answer::TrailersOnly(code, message) => {
                                    let mut r = Response::new(Full::new(Bytes::new()).boxed());
                                    r.headers_mut().extend(status(code, message));
                                    r.headers_mut().insert(
                                        "content-type",
                                        "application/grpc".parse().unwrap(),
                                    );
                                    r
                                }
                            };
                            Ok::<_, hyper::Error>(response)
                        }
                    });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

fn grpc_config(endpoint: &str, extra: &[(&str, &str)]) -> Config {
    let base = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ];
    config_from(&base, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_a_unary_grpc_call() {
    warnings(); // the capture, before anything logs
    let (url, seen) = server(Answer::Trailers(0, "")).await;
    let cfg = grpc_config(&url, &[("OTEL_EXPORTER_OTLP_HEADERS", "X-Api-Key=k3y")]);
    assert_eq!(cfg.transport, Transport::Grpc);
    let exporter = Exporter::new("grpc-ok", "chaostracing.oltp", cfg);
    exporter.push(ended("span-over-grpc"));
    exporter.push(ended("second-span"));
    exporter.flush().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one batch, one call");
    let call = &seen[0];
    assert_eq!(call.path, GRPC_PATH);
    assert_eq!(call.headers["content-type"], "application/grpc");
    assert_eq!(call.headers["te"], "trailers");
    assert_eq!(call.headers["grpc-timeout"], "10000m");
    assert_eq!(call.headers["x-api-key"], "k3y");
    // The 5-byte prefix: not compressed, then the message's length.
    assert_eq!(call.body[0], 0);
    let length = u32::from_be_bytes(call.body[1..5].try_into().unwrap()) as usize;
    assert_eq!(length, call.body.len() - 5);
    let message = String::from_utf8_lossy(&call.body[5..]);
    assert!(message.contains("span-over-grpc") && message.contains("second-span"));
    assert!(warnings_about("grpc-ok").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_zero_status_in_the_trailers_is_one_warning() {
    warnings(); // the capture, before anything logs
    let (url, seen) = server(Answer::Trailers(3, "bad%20spans%3A 2")).await;
    let cfg = grpc_config(&url, &[("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")]);
    let exporter = Exporter::new("grpc-refused", "chaostracing.oltp", cfg);
    for i in 0..3 {
        exporter.push(ended(&format!("s{i}")));
    }
    exporter.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 3);
    let warnings = warnings_about("grpc-refused");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0],
        format!(
            "Control 'grpc-refused' (chaostracing.oltp) could not export spans: {url}{GRPC_PATH} answered gRPC status 3 (INVALID_ARGUMENT): bad spans: 2"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trailers_only_answer_is_read_from_the_headers() {
    warnings(); // the capture, before anything logs
    let (url, _) = server(Answer::TrailersOnly(14, "collector%20overloaded")).await;
    let exporter = Exporter::new("grpc-only", "chaostracing.oltp", grpc_config(&url, &[]));
    exporter.push(ended("s"));
    exporter.flush().await;
    let warnings = warnings_about("grpc-only");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].ends_with("answered gRPC status 14 (UNAVAILABLE): collector overloaded"),
        "{warnings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_server_is_not_a_grpc_receiver() {
    warnings(); // the capture, before anything logs
                // An OTLP/HTTP port named by mistake: HTTP/1.1 only, it cannot speak h2c.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    let exporter = Exporter::new("grpc-http1", "chaostracing.oltp", grpc_config(&url, &[]));
    exporter.push(ended("s"));
    exporter.flush().await;
    let warnings = warnings_about("grpc-http1");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("{url}{GRPC_PATH}")),
        "{warnings:?}"
    );
}

#[test]
fn the_status_is_decoded() {
    let mut h = HeaderMap::new();
    assert_eq!(grpc_status(&h), None);
    h.insert("grpc-status", "0".parse().unwrap());
    assert_eq!(grpc_status(&h), Some((0, String::new())));
    h.insert("grpc-status", "16".parse().unwrap());
    h.insert("grpc-message", "no%20token%20%E2%9C%93".parse().unwrap());
    assert_eq!(grpc_status(&h), Some((16, "no token ✓".into())));
    assert_eq!(grpc_frame(b"abc"), vec![0, 0, 0, 0, 3, b'a', b'b', b'c']);
}
