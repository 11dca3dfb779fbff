//! A client for the Toxiproxy API (ours or the original), used by `chaos proxy …` and by
//! the `chaostoxi` experiment functions. `Client` is typed; `cli` turns parsed command
//! line arguments into the text toxiproxy-cli prints (its non-TTY format).

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};

use crate::error::{ApiError, ProxyError};
use crate::model::{float32_value, Proxy, Toxic};

pub mod cli;

/// Default API address, as toxiproxy-cli's `--host` (env `TOXIPROXY_URL`).
pub const DEFAULT_URL: &str = "http://localhost:8474";

/// A proxy definition for `create_proxy` and `populate`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySpec {
    pub name: String,
    pub listen: String,
    pub upstream: String,
    pub enabled: bool,
    /// `"tcp"` or `"udp"` (Shakedown's; Toxiproxy has no UDP). `None` sends no `protocol`
    /// key, which both servers read as TCP.
    pub protocol: Option<String>,
    /// The proxy's `tls` object (Shakedown's [HTTPS faults](crate::tls), e.g.
    /// `{"generate": true}`), sent as given; `None` sends no `tls` key.
    pub tls: Option<Value>,
}

/// A toxic to add. `name: None` lets the server pick `<type>_<stream>`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToxic {
    pub name: Option<String>,
    pub kind: String,
    pub stream: String,
    pub toxicity: f32,
    pub attributes: Map<String, Value>,
}

/// Why an exchange with the API failed before any answer came back. Displays as the
/// underlying error alone, so `Client`'s own messages read as they always did.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The API's host name did not resolve.
    #[error("{source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    /// Every resolved address refused or failed; `addr` is the last one tried.
    #[error("{source}")]
    Connect {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The HTTP exchange itself failed (connection closed, malformed answer).
    #[error("{0}")]
    Http(String),
}

#[derive(Debug, Clone)]
pub struct Client {
    /// `host:port` to connect to.
    authority: String,
    /// Path prefix of the base URL (usually empty).
    prefix: String,
    /// Sent with every request (a caller's trace context: chaostoxi's activity span).
    extra_headers: Vec<(String, String)>,
}

/// Percent-encode one path segment (proxy and toxic names).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// `http://host:port[/prefix]` or bare `host:port`. HTTPS is not supported.
    pub fn new(url: &str) -> Result<Client, ProxyError> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.contains("://") {
            return Err(ProxyError::Client(format!(
                "unsupported URL scheme in {url:?} (only http://)"
            )));
        } else {
            url
        };
        let (authority, prefix) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(ProxyError::Client(format!("no host in URL {url:?}")));
        }
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Client {
            authority,
            prefix: prefix.to_string(),
            extra_headers: Vec::new(),
        })
    }

    /// The same client, sending `headers` with every request too (a name that is not a
    /// valid header name, or a value that is not a valid value, is left out).
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Client {
        self.extra_headers = headers;
        self
    }

    /// One HTTP/1.1 request; returns status and body.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), ProxyError> {
        self.exchange(method.clone(), path, body)
            .await
            .map_err(|e| ProxyError::Client(format!("{method} {path}: {e}")))
    }

    /// One HTTP/1.1 request with its failure kept typed, so a caller can word it its own
    /// way (the toxiproxy-cli drop-in words it as Go's `net/http` does). `path` is sent as
    /// given after the URL's prefix; percent-encode names first.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let http = |e: &dyn std::fmt::Display| TransportError::Http(e.to_string());
        // Through the dns crate: the static build resolves without the C library's NSS.
        let addrs: Vec<std::net::SocketAddr> =
            dns::lookup_host(&self.authority)
                .await
                .map_err(|source| TransportError::Resolve {
                    host: self.authority.clone(),
                    source,
                })?;
        let mut last = None;
        let mut connected = None;
        for addr in addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    connected = Some(s);
                    break;
                }
                Err(source) => last = Some(TransportError::Connect { addr, source }),
            }
        }
        let stream = match (connected, last) {
            (Some(s), _) => s,
            (None, Some(e)) => return Err(e),
            (None, None) => {
                return Err(TransportError::Resolve {
                    host: self.authority.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no addresses to connect to",
                    ),
                })
            }
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| http(&e))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let payload = match body {
            Some(v) => serde_json::to_vec(v).map_err(|e| http(&e))?,
            None => Vec::new(),
        };
        let mut req = Request::builder();
        for (name, value) in &self.extra_headers {
            req = match (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(value),
            ) {
                (Ok(n), Ok(v)) => req.header(n, v),
                _ => req,
            };
        }
        let req = req
            .method(method)
            .uri(format!("{}{path}", self.prefix))
            .header("host", &self.authority)
            .header(
                "user-agent",
                concat!("shakedown-proxy-client/", env!("CARGO_PKG_VERSION")),
            )
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| http(&e))?;
        let resp = sender.send_request(req).await.map_err(|e| http(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| http(&e))?
            .to_bytes();
        Ok((status, bytes.to_vec()))
    }

    /// Like `call`, mapping non-2xx answers to the server's `{"error","status"}`.
    async fn call_ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Vec<u8>, ProxyError> {
        let (status, bytes) = self.call(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(e) => Err(ProxyError::Api(e)),
            Err(_) => Err(ProxyError::Api(ApiError::new(
                String::from_utf8_lossy(&bytes).trim().to_string(),
                status,
            ))),
        }
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ProxyError> {
        let bytes = self.call_ok(method, path, body).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ProxyError::Client(format!("bad response from {path}: {e}")))
    }

    pub async fn version(&self) -> Result<String, ProxyError> {
        let v: Value = self.json(Method::GET, "/version", None).await?;
        Ok(v.get("version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    pub async fn proxies(&self) -> Result<BTreeMap<String, Proxy>, ProxyError> {
        self.json(Method::GET, "/proxies", None).await
    }

    pub async fn proxy(&self, name: &str) -> Result<Proxy, ProxyError> {
        self.json(Method::GET, &format!("/proxies/{}", seg(name)), None)
            .await
    }

    pub async fn create_proxy(&self, spec: &ProxySpec) -> Result<Proxy, ProxyError> {
        let mut body = serde_json::json!({
            "name": spec.name, "listen": spec.listen, "upstream": spec.upstream, "enabled": spec.enabled
        });
        if let Some(protocol) = &spec.protocol {
            body["protocol"] = protocol.as_str().into();
        }
        if let Some(tls) = &spec.tls {
            body["tls"] = tls.clone();
        }
        self.json(Method::POST, "/proxies", Some(&body)).await
    }

    /// PATCH a proxy; `None` fields keep their current values.
    pub async fn update_proxy(
        &self,
        name: &str,
        listen: Option<&str>,
        upstream: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<Proxy, ProxyError> {
        let mut m = Map::new();
        if let Some(l) = listen {
            m.insert("listen".into(), l.into());
        }
        if let Some(u) = upstream {
            m.insert("upstream".into(), u.into());
        }
        if let Some(e) = enabled {
            m.insert("enabled".into(), e.into());
        }
        self.json(
            Method::PATCH,
            &format!("/proxies/{}", seg(name)),
            Some(&Value::Object(m)),
        )
        .await
    }

    pub async fn enable(&self, name: &str) -> Result<Proxy, ProxyError> {
        self.update_proxy(name, None, None, Some(true)).await
    }

    pub async fn disable(&self, name: &str) -> Result<Proxy, ProxyError> {
        self.update_proxy(name, None, None, Some(false)).await
    }

    pub async fn delete_proxy(&self, name: &str) -> Result<(), ProxyError> {
        self.call_ok(Method::DELETE, &format!("/proxies/{}", seg(name)), None)
            .await
            .map(|_| ())
    }

    /// POST /populate. On failure the server may have applied a prefix of the list.
    pub async fn populate(&self, specs: &[ProxySpec]) -> Result<Vec<Proxy>, ProxyError> {
        let body = Value::Array(
            specs
                .iter()
                .map(|s| serde_json::json!({"name": s.name, "listen": s.listen, "upstream": s.upstream, "enabled": s.enabled}))
                .collect(),
        );
        let v: Value = self.json(Method::POST, "/populate", Some(&body)).await?;
        match v.get("proxies") {
            Some(Value::Null) | None => Ok(Vec::new()),
            Some(p) => serde_json::from_value(p.clone())
                .map_err(|e| ProxyError::Client(format!("bad populate response: {e}"))),
        }
    }

    pub async fn reset(&self) -> Result<(), ProxyError> {
        self.call_ok(Method::POST, "/reset", None).await.map(|_| ())
    }

    pub async fn toxics(&self, proxy: &str) -> Result<Vec<Toxic>, ProxyError> {
        self.json(
            Method::GET,
            &format!("/proxies/{}/toxics", seg(proxy)),
            None,
        )
        .await
    }

    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Toxic, ProxyError> {
        self.json(
            Method::GET,
            &format!("/proxies/{}/toxics/{}", seg(proxy), seg(toxic)),
            None,
        )
        .await
    }

    pub async fn add_toxic(&self, proxy: &str, t: &NewToxic) -> Result<Toxic, ProxyError> {
        let mut m = Map::new();
        if let Some(n) = &t.name {
            m.insert("name".into(), n.clone().into());
        }
        m.insert("type".into(), t.kind.clone().into());
        m.insert("stream".into(), t.stream.clone().into());
        m.insert("toxicity".into(), float32_value(t.toxicity));
        m.insert("attributes".into(), Value::Object(t.attributes.clone()));
        self.json(
            Method::POST,
            &format!("/proxies/{}/toxics", seg(proxy)),
            Some(&Value::Object(m)),
        )
        .await
    }

    /// PATCH a toxic: `attributes` are merged into the current ones; `None` keeps toxicity.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        toxicity: Option<f32>,
        attributes: &Map<String, Value>,
    ) -> Result<Toxic, ProxyError> {
        let mut m = Map::new();
        m.insert("attributes".into(), Value::Object(attributes.clone()));
        if let Some(t) = toxicity {
            m.insert("toxicity".into(), float32_value(t));
        }
        self.json(
            Method::PATCH,
            &format!("/proxies/{}/toxics/{}", seg(proxy), seg(toxic)),
            Some(&Value::Object(m)),
        )
        .await
    }

    pub async fn remove_toxic(&self, proxy: &str, toxic: &str) -> Result<(), ProxyError> {
        self.call_ok(
            Method::DELETE,
            &format!("/proxies/{}/toxics/{}", seg(proxy), seg(toxic)),
            None,
        )
        .await
        .map(|_| ())
    }
}
