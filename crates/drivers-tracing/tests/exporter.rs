//! The exporter against real local HTTP servers: batches and headers as a collector
//! receives them, and a collector that answers 500 or never answers costs one WARNING
//! (captured from the `log` facade) while `flush` still returns.

use drivers_tracing::config::Config;
use drivers_tracing::export::Exporter;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

#[path = "support/settings.rs"]
mod settings;
#[path = "support/warnings.rs"]
mod warnings;
use settings::{config_from, ended};
use warnings::{warnings, warnings_about};

/// A collector stand-in: answers every request with `status` (or never, with `None`),
/// recording each request's head and body.
/// What a collector stand-in received: each request's head and body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

fn collector(status: Option<u16>) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let n = stream.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        let length: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        while buf.len() < end + 4 + length {
                            let n = stream.read(&mut chunk).unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break (head, buf[end + 4..].to_vec());
                    }
                };
                record.lock().unwrap().push((head, body));
                match status {
                    Some(code) => {
                        let _ = stream.write_all(
                            format!("HTTP/1.1 {code} X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope")
                                .as_bytes(),
                        );
                    }
                    None => std::thread::sleep(std::time::Duration::from_secs(60)),
                }
            });
        }
    });
    (url, seen)
}

fn config(url: &str, extra: &[(&str, &str)]) -> Config {
    let base = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ];
    config_from(&base, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_go_in_batches_with_the_configured_headers() {
    warnings();
    let (url, seen) = collector(Some(200));
    let cfg = config(
        &url,
        &[
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=k3y"),
            ("OTEL_SERVICE_NAME", "batches"),
        ],
    );
    let exporter = Exporter::new("batches", "chaostracing.oltp", cfg);
    for i in 0..5 {
        exporter.push(ended(&format!("s{i}")));
    }
    exporter.flush().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "2 + 2 + 1 spans");
    let mut names = Vec::new();
    for (head, body) in seen.iter() {
        assert!(head.starts_with("POST /v1/traces "), "{head}");
        assert!(head.to_ascii_lowercase().contains("api-key: k3y"), "{head}");
        assert!(head
            .to_ascii_lowercase()
            .contains("content-type: application/json"));
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        let rs = &v["resourceSpans"][0];
        assert_eq!(
            rs["resource"]["attributes"][0]["value"]["stringValue"],
            "batches"
        );
        for s in rs["scopeSpans"][0]["spans"].as_array().unwrap() {
            names.push(s["name"].as_str().unwrap().to_string());
        }
    }
    names.sort();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4"]);
    assert!(warnings_about("batches").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_answering_500_is_one_warning() {
    warnings();
    let (url, seen) = collector(Some(500));
    let cfg = config(&url, &[("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1")]);
    let exporter = Exporter::new("five-hundred", "chaostracing.oltp", cfg);
    exporter.push(ended("a"));
    exporter.push(ended("b"));
    exporter.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 2, "both batches were tried");
    let w = warnings_about("five-hundred");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(&format!("{url}/v1/traces answered 500: nope")),
        "{}",
        w[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_is_bounded_and_one_warning() {
    warnings();
    let (url, seen) = collector(None);
    let cfg = config(&url, &[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300")]);
    let exporter = Exporter::new("silent", "chaostracing.control", cfg);
    exporter.push(ended("a"));
    // Returns although the collector never answers: the export timeout bounds it.
    exporter.flush().await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    let w = warnings_about("silent");
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("Control 'silent' (chaostracing.control) could not export spans")
            && w[0].contains("did not answer within 0.3s"),
        "{}",
        w[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_spans_and_says_so_once() {
    warnings();
    let (url, _seen) = collector(None);
    let cfg = config(
        &url,
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "2"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300"),
        ],
    );
    let exporter = Exporter::new("full", "chaostracing.oltp", cfg);
    for i in 0..5 {
        exporter.push(ended(&format!("s{i}")));
    }
    exporter.flush().await;
    let w = warnings_about("full");
    assert!(w.iter().any(|w| w.contains("dropped 3 spans")), "{w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_sdk_disabled_sends_nothing() {
    let (url, seen) = collector(Some(200));
    let cfg = config(&url, &[("OTEL_SDK_DISABLED", "true")]);
    let exporter = Exporter::new("disabled", "chaostracing.oltp", cfg);
    exporter.push(ended("a"));
    exporter.flush().await;
    assert!(seen.lock().unwrap().is_empty());
}
