//! The optional scrape endpoint (`listen: "host:port"`, not upstream's): `GET /metrics`
//! answers the latest run's registry in the text format, for a Prometheus that scrapes
//! rather than a Pushgateway, in processes that run many experiments (an operator, an
//! agent). The endpoint stays open for the life of the process and each run of the control
//! replaces what it serves. It answers one request per connection, reads at most 8 KiB of
//! request within 5 s, and never blocks the run: it lives in its own task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{lock, Collector, MODULE};

const MAX_REQUEST: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

type Slot = Arc<Mutex<Arc<Collector>>>;

/// The endpoints opened so far, by the address they were asked for.
#[derive(Default)]
pub struct Endpoints {
    open: tokio::sync::Mutex<HashMap<String, Slot>>,
}

impl Endpoints {
    /// Serves `collector` on `address`, opening the endpoint on first use. A failure to
    /// listen is a WARNING naming the control and the address; the run goes on.
    pub async fn serve(&self, control: &str, address: &str, collector: Arc<Collector>) {
        let mut open = self.open.lock().await;
        if let Some(slot) = open.get(address) {
            *lock(slot) = collector;
            return;
        }
        let listener = match providers::dns::bind(address).await {
            Ok(l) => l,
            Err(e) => {
                log::warn!("Control '{control}' ({MODULE}) cannot serve metrics on {address}: {e}");
                return;
            }
        };
        match listener.local_addr() {
            Ok(a) => log::debug!("Serving the run's metrics on http://{a}/metrics"),
            Err(e) => log::debug!("Serving the run's metrics on {address} ({e})"),
        }
        let slot: Slot = Arc::new(Mutex::new(collector));
        open.insert(address.to_string(), slot.clone());
        tokio::spawn(accept(listener, slot));
    }
}

async fn accept(listener: TcpListener, slot: Slot) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream, slot.clone()));
            }
            Err(e) => {
                log::debug!("metrics endpoint: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream, slot: Slot) {
    let Ok(Some(request_line)) = tokio::time::timeout(REQUEST_TIMEOUT, head(&mut stream))
        .await
        .map(|r| r.ok().flatten())
    else {
        return;
    };
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    let (status, body) = match (method, path) {
        (Some("GET"), "/metrics") => {
            let collector = lock(&slot).clone();
            ("200 OK", collector.render())
        }
        _ => (
            "404 Not Found",
            "Only GET /metrics is served here.\n".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        super::CONTENT_TYPE,
        body.len()
    );
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// The request line, once the whole head has arrived; `None` for a head too large.
async fn head(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text.lines().next().map(str::to_string))
}
