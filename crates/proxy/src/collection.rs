//! The proxy collection and every API operation, independent of HTTP, with Toxiproxy's
//! validation order, messages and status codes (proxy_collection.go, toxic_collection.go,
//! api.go). Request bodies are decoded like Go's `encoding/json`: the first JSON value
//! only, unknown keys ignored, keys matched case-insensitively, nulls keep defaults.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::guard::Guards;
use crate::link::ToxicEntry;
use crate::model;
use crate::proxy::{Proxy, ProxyConfig};
use crate::rng::{hash_str, Rng};
use crate::tls::{TlsProxy, TlsSpec};
use crate::toxics::{Direction, Protocol, ToxicKind};

pub struct Collection {
    proxies: Mutex<BTreeMap<String, Arc<Proxy>>>,
    seed: Option<u64>,
    guards: Arc<Guards>,
}

/// Decode the first JSON value of a body; an empty body is Go's `EOF`.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let mut it = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    match it.next() {
        None => Err(ApiError::bad_body("EOF")),
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) if e.is_eof() => Err(ApiError::bad_body("unexpected EOF")),
        Some(Err(e)) => Err(ApiError::bad_body(e)),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A JSON object (None for `null`), else Go's "cannot unmarshal" error.
fn object<'a>(v: &'a Value, go_type: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        other => Err(ApiError::bad_body(format!(
            "json: cannot unmarshal {} into Go value of type {go_type}",
            kind(other)
        ))),
    }
}

/// Case-insensitive key lookup, last match wins (Go's decoder behaviour).
fn field<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .next_back()
        .filter(|v| !v.is_null())
}

fn type_err(go_struct: &str, key: &str, v: &Value, go_type: &str) -> ApiError {
    ApiError::bad_body(format!(
        "json: cannot unmarshal {} into Go struct field {go_struct}.{key} of type {go_type}",
        kind(v)
    ))
}

fn str_field(
    m: &Map<String, Value>,
    key: &str,
    go_struct: &str,
) -> Result<Option<String>, ApiError> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(type_err(go_struct, key, v, "string")),
    }
}

fn bool_field(
    m: &Map<String, Value>,
    key: &str,
    go_struct: &str,
) -> Result<Option<bool>, ApiError> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(type_err(go_struct, key, v, "bool")),
    }
}

fn f32_field(m: &Map<String, Value>, key: &str, go_struct: &str) -> Result<Option<f32>, ApiError> {
    match field(m, key) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|f| Some(f as f32))
            .ok_or_else(|| type_err(go_struct, key, &Value::Null, "float32")),
        Some(v) => Err(type_err(go_struct, key, v, "float32")),
    }
}

pub fn toxic_json(t: &ToxicEntry) -> model::Toxic {
    model::Toxic {
        attributes: t.kind.attributes(),
        name: t.name.clone(),
        kind: t.kind.type_name().to_string(),
        stream: t.stream.clone(),
        toxicity: t.toxicity,
        stats: Some(t.stats.snapshot(&t.kind)),
    }
}

pub fn proxy_json(p: &Proxy) -> model::Proxy {
    let c = p.config();
    model::Proxy {
        name: p.name.clone(),
        listen: c.listen,
        upstream: c.upstream,
        enabled: c.enabled,
        toxics: p.toxics().iter().map(toxic_json).collect(),
        protocol: (p.protocol != Protocol::Tcp).then(|| p.protocol.as_str().to_string()),
        tls: p.tls.as_ref().map(|t| t.json()),
        dns_stats: (p.protocol == Protocol::Dns).then(|| p.shared.dns.snapshot()),
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// One entry of a create or populate body.
struct ProxyInput {
    name: String,
    listen: String,
    upstream: String,
    enabled: Option<bool>,
    protocol: Protocol,
    tls: Option<TlsSpec>,
}

fn proxy_input(v: &Value, go_type: &str) -> Result<ProxyInput, ApiError> {
    let empty = Map::new();
    let m = object(v, go_type)?.unwrap_or(&empty);
    Ok(ProxyInput {
        name: str_field(m, "name", "Proxy")?.unwrap_or_default(),
        listen: str_field(m, "listen", "Proxy")?.unwrap_or_default(),
        upstream: str_field(m, "upstream", "Proxy")?.unwrap_or_default(),
        enabled: bool_field(m, "enabled", "Proxy")?,
        protocol: match str_field(m, "protocol", "Proxy")? {
            None => Protocol::Tcp,
            Some(p) => Protocol::parse(&p).ok_or_else(|| {
                ApiError::new(
                    format!(
                        "invalid protocol {p:?}: a proxy is \"tcp\" (the default), \"udp\" \
                         or \"dns\""
                    ),
                    400,
                )
            })?,
        },
        tls: field(m, "tls").map(TlsSpec::parse).transpose()?.flatten(),
    })
}

impl ProxyInput {
    /// The proxy this input describes, with its TLS set up (certificates loaded or
    /// minted; every failure a 400 naming the `tls` field).
    fn build(&self, rng: Rng, guards: Arc<Guards>) -> Result<Proxy, ApiError> {
        let tls = match &self.tls {
            None => None,
            Some(_) if self.protocol != Protocol::Tcp => {
                return Err(ApiError::new(
                    format!(
                        "tls applies to tcp proxies only (proxy {} is {})",
                        self.name,
                        self.protocol.as_str()
                    ),
                    400,
                ))
            }
            Some(spec) => Some(Arc::new(TlsProxy::build(
                spec.clone(),
                &self.listen,
                &self.upstream,
            )?)),
        };
        Ok(Proxy::with_protocol(
            &self.name,
            &self.listen,
            &self.upstream,
            rng,
            guards,
            self.protocol,
        )
        .with_tls(tls))
    }
}

impl Collection {
    /// A collection with budgets for this process's descriptor limit.
    pub fn new(seed: Option<u64>) -> Self {
        Self::with_guards(seed, Arc::new(Guards::default()))
    }

    /// A collection whose proxies share `guards` (loop registry, connection budgets).
    pub fn with_guards(seed: Option<u64>, guards: Arc<Guards>) -> Self {
        Collection {
            proxies: Mutex::new(BTreeMap::new()),
            seed,
            guards,
        }
    }

    /// Each proxy gets its own generator, derived from the seed and its name, so one
    /// proxy's traffic does not change another's random decisions.
    fn rng_for(&self, name: &str) -> Rng {
        match self.seed {
            Some(s) => Rng::new(s ^ hash_str(name)),
            None => Rng::from_entropy(),
        }
    }

    pub async fn all(&self) -> Vec<Arc<Proxy>> {
        self.proxies.lock().await.values().cloned().collect()
    }

    async fn get_proxy(&self, name: &str) -> Result<Arc<Proxy>, ApiError> {
        self.proxies
            .lock()
            .await
            .get(name)
            .cloned()
            .ok_or_else(ApiError::proxy_not_found)
    }

    /// GET /proxies — an object keyed by name, sorted like Go's map encoding.
    pub async fn list(&self) -> Value {
        let mut m = Map::new();
        for p in self.all().await {
            m.insert(p.name.clone(), to_value(&proxy_json(&p)));
        }
        Value::Object(m)
    }

    /// POST /proxies
    pub async fn create(&self, body: &[u8]) -> Result<Value, ApiError> {
        let input = proxy_input(&decode(body)?, "toxiproxy.Proxy")?;
        if input.name.is_empty() {
            return Err(ApiError::missing_field("name"));
        }
        if input.upstream.is_empty() {
            return Err(ApiError::missing_field("upstream"));
        }
        let mut proxies = self.proxies.lock().await;
        if proxies.contains_key(&input.name) {
            return Err(ApiError::proxy_exists());
        }
        let p = Arc::new(input.build(self.rng_for(&input.name), self.guards.clone())?);
        if input.enabled.unwrap_or(true) {
            p.start().await?;
        }
        proxies.insert(input.name.clone(), p.clone());
        Ok(to_value(&proxy_json(&p)))
    }

    /// POST /populate — returns the status and the `{[error, status,] proxies}` body.
    pub async fn populate(&self, body: &[u8]) -> (u16, Value) {
        let (done, err) = self.populate_inner(body).await;
        let proxies = if done.is_empty() {
            // Go encodes the empty (nil) slice as null.
            Value::Null
        } else {
            Value::Array(done.iter().map(|p| to_value(&proxy_json(p))).collect())
        };
        let mut m = Map::new();
        let status = match err {
            Some(e) => {
                m.insert("error".into(), e.error.into());
                m.insert("status".into(), e.status.into());
                e.status
            }
            None => 201,
        };
        m.insert("proxies".into(), proxies);
        (status, Value::Object(m))
    }

    async fn populate_inner(&self, body: &[u8]) -> (Vec<Arc<Proxy>>, Option<ApiError>) {
        let go_type = "[]struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }";
        let parsed = decode(body).and_then(|v| match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .map(|i| proxy_input(i, "toxiproxy.Proxy"))
                .collect(),
            other => Err(ApiError::bad_body(format!(
                "json: cannot unmarshal {} into Go value of type {go_type}",
                kind(&other)
            ))),
        });
        let inputs = match parsed {
            Ok(i) => i,
            Err(e) => return (Vec::new(), Some(e)),
        };
        for (i, input) in inputs.iter().enumerate() {
            if input.name.is_empty() {
                return (
                    Vec::new(),
                    Some(ApiError::missing_field(&format!("name at proxy {}", i + 1))),
                );
            }
            if input.upstream.is_empty() {
                return (
                    Vec::new(),
                    Some(ApiError::missing_field(&format!(
                        "upstream at proxy {}",
                        i + 1
                    ))),
                );
            }
        }
        let mut done = Vec::new();
        let mut proxies = self.proxies.lock().await;
        for input in inputs {
            if let Some(existing) = proxies.get(&input.name).cloned() {
                match existing.differs(&input.listen, &input.upstream).await {
                    Err(e) => return (done, Some(e)),
                    Ok(false)
                        if existing.protocol == input.protocol
                            && existing.tls.as_ref().map(|t| &t.spec) == input.tls.as_ref() =>
                    {
                        done.push(existing);
                        continue;
                    }
                    Ok(_) => existing.stop().await,
                }
            }
            let p = match input.build(self.rng_for(&input.name), self.guards.clone()) {
                Ok(p) => Arc::new(p),
                Err(e) => return (done, Some(e)),
            };
            if input.enabled.unwrap_or(true) {
                if let Err(e) = p.start().await {
                    return (done, Some(e));
                }
            }
            proxies.insert(input.name.clone(), p.clone());
            done.push(p);
        }
        (done, None)
    }

    /// GET /proxies/{proxy}/ca.pem — the CA a `"generate": true` TLS proxy minted.
    pub async fn ca_pem(&self, name: &str) -> Result<String, ApiError> {
        let p = self.get_proxy(name).await?;
        let Some(tls) = &p.tls else {
            return Err(ApiError::new(
                format!("proxy {name} has no tls (create it with \"tls\": {{\"generate\": true}})"),
                404,
            ));
        };
        tls.ca_pem.clone().ok_or_else(|| {
            ApiError::new(
                format!("proxy {name} was given its certificate (tls.cert), so it has no CA of its own; trust that certificate's issuer"),
                404,
            )
        })
    }

    /// GET /proxies/{proxy}
    pub async fn get(&self, name: &str) -> Result<Value, ApiError> {
        Ok(to_value(&proxy_json(&*self.get_proxy(name).await?)))
    }

    /// POST|PATCH /proxies/{proxy}: missing fields keep their current values.
    pub async fn update(&self, name: &str, body: &[u8]) -> Result<Value, ApiError> {
        let proxies = self.proxies.lock().await;
        let p = proxies
            .get(name)
            .cloned()
            .ok_or_else(ApiError::proxy_not_found)?;
        let cur = p.config();
        let v = decode(body)?;
        let empty = Map::new();
        let m = object(&v, "toxiproxy.Proxy")?.unwrap_or(&empty);
        let input = ProxyConfig {
            listen: str_field(m, "listen", "Proxy")?.unwrap_or(cur.listen),
            upstream: str_field(m, "upstream", "Proxy")?.unwrap_or(cur.upstream),
            enabled: bool_field(m, "enabled", "Proxy")?.unwrap_or(cur.enabled),
        };
        p.update(input).await?;
        drop(proxies);
        Ok(to_value(&proxy_json(&p)))
    }

    /// DELETE /proxies/{proxy}
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut proxies = self.proxies.lock().await;
        let p = proxies
            .get(name)
            .cloned()
            .ok_or_else(ApiError::proxy_not_found)?;
        p.stop().await;
        proxies.remove(name);
        Ok(())
    }

    /// POST /reset — re-enable every proxy and drop every toxic.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let proxies = self.proxies.lock().await;
        for p in proxies.values() {
            if !p.config().enabled {
                p.start().await?;
            }
            p.with_toxics(|t, _| t.clear());
        }
        Ok(())
    }

    /// Stop every proxy (server shutdown).
    pub async fn stop_all(&self) {
        let proxies = self.proxies.lock().await;
        for p in proxies.values() {
            p.stop().await;
        }
    }

    /// GET /proxies/{proxy}/toxics
    pub async fn toxics(&self, proxy: &str) -> Result<Value, ApiError> {
        let p = self.get_proxy(proxy).await?;
        Ok(to_value(
            &p.toxics().iter().map(toxic_json).collect::<Vec<_>>(),
        ))
    }

    /// GET /proxies/{proxy}/toxics/{toxic}
    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Value, ApiError> {
        let p = self.get_proxy(proxy).await?;
        let t = p
            .toxics()
            .into_iter()
            .find(|t| t.name == toxic)
            .ok_or_else(ApiError::toxic_not_found)?;
        Ok(to_value(&toxic_json(&t)))
    }

    /// POST /proxies/{proxy}/toxics — checks in Toxiproxy's order: body, stream, type,
    /// duplicate name, then the type's attributes.
    pub async fn add_toxic(&self, proxy: &str, body: &[u8]) -> Result<Value, ApiError> {
        let p = self.get_proxy(proxy).await?;
        let v = decode(body)?;
        let empty = Map::new();
        let m = object(&v, "toxics.ToxicWrapper")?.unwrap_or(&empty);
        let name = str_field(m, "name", "ToxicWrapper")?.unwrap_or_default();
        let type_name = str_field(m, "type", "ToxicWrapper")?.unwrap_or_default();
        let stream = str_field(m, "stream", "ToxicWrapper")?.unwrap_or_else(|| "downstream".into());
        let toxicity = f32_field(m, "toxicity", "ToxicWrapper")?.unwrap_or(1.0);
        let attrs = field(m, "attributes").cloned().unwrap_or(Value::Null);
        if !matches!(attrs, Value::Null | Value::Object(_)) {
            return Err(type_err(
                "ToxicWrapper",
                "attributes",
                &attrs,
                "toxics.Toxic",
            ));
        }
        let direction = Direction::parse(&stream).ok_or_else(ApiError::invalid_stream)?;
        let name = if name.is_empty() {
            format!("{type_name}_{stream}")
        } else {
            name
        };
        let mut kind = ToxicKind::new(&type_name).ok_or_else(ApiError::invalid_toxic_type)?;
        kind.allowed_on(p.protocol)
            .map_err(|e| ApiError::new(e, 400))?;
        p.with_toxics(|list, rev| {
            if list.iter().any(|t| t.name == name) {
                return Err(ApiError::toxic_exists());
            }
            kind.merge_attributes(&attrs).map_err(ApiError::bad_body)?;
            let entry = ToxicEntry {
                name,
                stream,
                direction,
                toxicity,
                kind,
                revision: rev,
                stats: Default::default(),
            };
            let out = to_value(&toxic_json(&entry));
            list.push(entry);
            Ok(out)
        })
    }

    /// POST|PATCH /proxies/{proxy}/toxics/{toxic} — merges attributes into the current ones.
    pub async fn update_toxic(
        &self,
        proxy: &str,
        toxic: &str,
        body: &[u8],
    ) -> Result<Value, ApiError> {
        let p = self.get_proxy(proxy).await?;
        if !p.toxics().iter().any(|t| t.name == toxic) {
            return Err(ApiError::toxic_not_found());
        }
        let v = decode(body)?;
        let empty = Map::new();
        let m = object(&v, "struct { Attributes interface {} \"json:\\\"attributes\\\"\"; Toxicity float32 \"json:\\\"toxicity\\\"\" }")?
            .unwrap_or(&empty);
        let toxicity = f32_field(m, "toxicity", "")?;
        let attrs = field(m, "attributes").cloned().unwrap_or(Value::Null);
        p.with_toxics(|list, rev| {
            let t = list
                .iter_mut()
                .find(|t| t.name == toxic)
                .ok_or_else(ApiError::toxic_not_found)?;
            let mut kind = t.kind.clone();
            kind.merge_attributes(&attrs).map_err(ApiError::bad_body)?;
            t.kind = kind;
            if let Some(x) = toxicity {
                t.toxicity = x;
            }
            t.revision = rev;
            Ok(to_value(&toxic_json(t)))
        })
    }

    /// DELETE /proxies/{proxy}/toxics/{toxic}
    pub async fn remove_toxic(&self, proxy: &str, toxic: &str) -> Result<(), ApiError> {
        let p = self.get_proxy(proxy).await?;
        p.with_toxics(|list, _| {
            let before = list.len();
            list.retain(|t| t.name != toxic);
            if list.len() == before {
                Err(ApiError::toxic_not_found())
            } else {
                Ok(())
            }
        })
    }
}
