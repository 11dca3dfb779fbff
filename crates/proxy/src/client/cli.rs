//! `chaos proxy list|inspect|create|toggle|delete|toxic add|update|remove`: each function
//! takes already-parsed arguments and returns the text to print, in toxiproxy-cli's
//! non-TTY format. Errors carry toxiproxy-cli's messages; the caller exits with 1.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::{Client, NewToxic, ProxySpec};
use crate::error::ProxyError;
use crate::model::Toxic;

fn fail(msg: String) -> ProxyError {
    ProxyError::Client(msg)
}

/// `list`: one line per proxy: name, listen, upstream, enabled|disabled, toxic count.
pub async fn list(c: &Client) -> Result<String, ProxyError> {
    let proxies = c
        .proxies()
        .await
        .map_err(|e| fail(format!("Failed to retrieve proxies: {e}")))?;
    let mut out = String::new();
    for p in proxies.values() {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            p.name,
            p.listen,
            p.upstream,
            if p.enabled { "enabled" } else { "disabled" },
            p.toxics.len()
        ));
    }
    Ok(out)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One toxic per line, attributes sorted by key (toxiproxy-cli `listToxics`).
pub fn format_toxics(toxics: &[Toxic]) -> String {
    let mut out = String::new();
    for t in toxics {
        out.push_str(&format!(
            "{}\ttype={}\tstream={}\ttoxicity={:.2}\tattributes=[",
            t.name, t.kind, t.stream, t.toxicity
        ));
        let mut attrs: Vec<_> = t.attributes.iter().collect();
        attrs.sort_by(|a, b| a.0.cmp(b.0));
        for (k, v) in attrs {
            out.push_str(&format!("\t{k}={}", value_text(v)));
        }
        out.push_str("\t]\n");
    }
    out
}

pub async fn inspect(c: &Client, proxy: &str) -> Result<String, ProxyError> {
    inspect_with(c, proxy, false).await
}

/// `inspect`; with `stats`, each toxic's line is followed by what it did so far (Shakedown's
/// proof of injection, `stats=[\tkey=value…\t]`, keys sorted), or `stats=none` when the
/// server does not count (real Toxiproxy).
pub async fn inspect_with(c: &Client, proxy: &str, stats: bool) -> Result<String, ProxyError> {
    let p = c
        .proxy(proxy)
        .await
        .map_err(|e| fail(format!("Failed to retrieve proxy {proxy}: {e}")))?;
    if !stats {
        return Ok(format_toxics(&p.toxics));
    }
    let mut out = String::new();
    for t in &p.toxics {
        out.push_str(&format_toxics(std::slice::from_ref(t)));
        match &t.stats {
            Some(counters) => {
                out.push_str("\tstats=[");
                let mut counters: Vec<_> = counters.iter().collect();
                counters.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in counters {
                    out.push_str(&format!("\t{k}={}", value_text(v)));
                }
                out.push_str("\t]\n");
            }
            None => out.push_str("\tstats=none\n"),
        }
    }
    Ok(out)
}

/// `chaos proxy create`'s TLS flags: what maps onto the API's `tls` object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsFlags {
    /// `--tls-generate`: mint a CA for the proxy (`"generate": true`).
    pub generate: bool,
    /// `--tls-cert FILE`: the certificate chain shown to clients (PEM).
    pub cert: Option<PathBuf>,
    /// `--tls-key FILE`: its private key (PEM).
    pub key: Option<PathBuf>,
    /// `--tls-name NAME`: extra names for a generated certificate (`names`).
    pub names: Vec<String>,
    /// `--tls-upstream-ca FILE`: the CA the upstream's certificate is verified against.
    pub upstream_ca: Option<PathBuf>,
    /// `--tls-no-verify-upstream`: `"verify_upstream": false` (test upstreams only).
    pub no_verify_upstream: bool,
    /// `--tls-plain-upstream`: the upstream speaks plain HTTP (`"upstream_tls": false`).
    pub plain_upstream: bool,
}

impl TlsFlags {
    /// The `tls` object these flags stand for, `None` when none was given. Files are read
    /// here and sent as PEM text, so a server on another machine need not see them; which
    /// combinations make sense (cert with key, or generate) is the server's to say, with
    /// the same messages as for any API client.
    pub fn to_json(&self) -> Result<Option<Value>, ProxyError> {
        let mut m = Map::new();
        if self.generate {
            m.insert("generate".into(), true.into());
        }
        for (key, flag, path) in [
            ("cert", "--tls-cert", &self.cert),
            ("key", "--tls-key", &self.key),
            ("upstream_ca", "--tls-upstream-ca", &self.upstream_ca),
        ] {
            if let Some(path) = path {
                let pem = std::fs::read_to_string(path).map_err(|e| {
                    fail(format!(
                        "{flag} {}: cannot read it: {e} (give a readable PEM file)",
                        path.display()
                    ))
                })?;
                // The API reads text without a PEM header as a path on the server's
                // machine: never send a file's contents that could be taken for one.
                if !pem.contains("-----BEGIN") {
                    return Err(fail(format!(
                        "{flag} {}: not PEM (no -----BEGIN line; give a PEM file)",
                        path.display()
                    )));
                }
                m.insert(key.into(), pem.into());
            }
        }
        if !self.names.is_empty() {
            m.insert("names".into(), self.names.clone().into());
        }
        if self.no_verify_upstream {
            m.insert("verify_upstream".into(), false.into());
        }
        if self.plain_upstream {
            m.insert("upstream_tls".into(), false.into());
        }
        Ok((!m.is_empty()).then_some(Value::Object(m)))
    }
}

/// `create`; `protocol` is `chaos proxy create --protocol` and `tls` its TLS flags' object
/// (both `None` for toxiproxy-cli, which has no such flags).
pub async fn create(
    c: &Client,
    proxy: &str,
    listen: &str,
    upstream: &str,
    protocol: Option<&str>,
    tls: Option<Value>,
) -> Result<String, ProxyError> {
    if listen.is_empty() {
        return Err(fail("Required argument 'listen' was empty.".into()));
    }
    if upstream.is_empty() {
        return Err(fail("Required argument 'upstream' was empty.".into()));
    }
    let spec = ProxySpec {
        name: proxy.into(),
        listen: listen.into(),
        upstream: upstream.into(),
        enabled: true,
        protocol: protocol.map(str::to_string),
        tls,
    };
    c.create_proxy(&spec)
        .await
        .map_err(|e| fail(format!("Failed to create proxy: {e}")))?;
    Ok(format!("Created new proxy {proxy}\n"))
}

pub async fn toggle(c: &Client, proxy: &str) -> Result<String, ProxyError> {
    let p = c
        .proxy(proxy)
        .await
        .map_err(|e| fail(format!("Failed to retrieve proxy {proxy}: {e}")))?;
    let p = c
        .update_proxy(proxy, None, None, Some(!p.enabled))
        .await
        .map_err(|e| fail(format!("Failed to toggle proxy {proxy}: {e}")))?;
    Ok(format!(
        "Proxy {proxy} is now {}\n",
        if p.enabled { "enabled" } else { "disabled" }
    ))
}

pub async fn delete(c: &Client, proxy: &str) -> Result<String, ProxyError> {
    c.proxy(proxy)
        .await
        .map_err(|e| fail(format!("Failed to retrieve proxy {proxy}: {e}")))?;
    c.delete_proxy(proxy)
        .await
        .map_err(|e| fail(format!("Failed to delete proxy: {e}")))?;
    Ok(format!("Deleted proxy {proxy}\n"))
}

/// `key=value` pairs; numeric-looking values become numbers, like toxiproxy-cli.
/// Items without `=` are skipped, as toxiproxy-cli does.
pub fn parse_attributes(items: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    for raw in items {
        let Some((k, v)) = raw.split_once('=') else {
            continue;
        };
        let value = match v.parse::<f64>() {
            Ok(f) if f.is_finite() => crate::toxics::num_f64(f),
            _ => Value::String(v.to_string()),
        };
        m.insert(k.to_string(), value);
    }
    m
}

/// `--toxicity` text → float in [0, 1].
pub fn parse_toxicity(s: Option<&str>) -> Result<Option<f32>, ProxyError> {
    match s {
        None | Some("") => Ok(None),
        Some(t) => match t.parse::<f32>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Some(x)),
            _ => Err(fail("toxicity should be a float between 0 and 1.".into())),
        },
    }
}

/// Arguments of `toxic add`, as toxiproxy-cli names them.
#[derive(Debug, Clone, Default)]
pub struct ToxicAddArgs {
    pub proxy: String,
    /// `--toxicName/-n`; empty = server default `<type>_<stream>`.
    pub toxic_name: Option<String>,
    /// `--type/-t` (required).
    pub toxic_type: String,
    /// `--toxicity/--tox`, default 1.0.
    pub toxicity: Option<String>,
    /// `--attribute/-a key=value`, repeatable.
    pub attributes: Vec<String>,
    pub upstream: bool,
    pub downstream: bool,
}

pub async fn toxic_add(c: &Client, a: &ToxicAddArgs) -> Result<String, ProxyError> {
    if a.toxic_type.is_empty() {
        return Err(fail("Required argument 'type' was empty.".into()));
    }
    if a.upstream && a.downstream {
        return Err(fail(
            "Only one should be specified: upstream or downstream.".into(),
        ));
    }
    let stream = if a.upstream { "upstream" } else { "downstream" };
    let t = NewToxic {
        name: a.toxic_name.clone().filter(|n| !n.is_empty()),
        kind: a.toxic_type.clone(),
        stream: stream.into(),
        toxicity: parse_toxicity(a.toxicity.as_deref())?.unwrap_or(1.0),
        attributes: parse_attributes(&a.attributes),
    };
    let added = c
        .add_toxic(&a.proxy, &t)
        .await
        .map_err(|e| fail(format!("Failed to add toxic: {e}")))?;
    Ok(format!(
        "Added {} {} toxic '{}' on proxy '{}'\n",
        added.stream, added.kind, added.name, a.proxy
    ))
}

/// `toxic update`: unlike toxiproxy-cli, an omitted `--toxicity` keeps the current value
/// instead of resetting it to 1.0.
pub async fn toxic_update(
    c: &Client,
    proxy: &str,
    toxic: &str,
    toxicity: Option<&str>,
    attributes: &[String],
) -> Result<String, ProxyError> {
    let tox = parse_toxicity(toxicity)?;
    let t = c
        .update_toxic(proxy, toxic, tox, &parse_attributes(attributes))
        .await
        .map_err(|e| fail(format!("Failed to update toxic: {e}")))?;
    Ok(format!("Updated toxic '{}' on proxy '{proxy}'\n", t.name))
}

pub async fn toxic_remove(c: &Client, proxy: &str, toxic: &str) -> Result<String, ProxyError> {
    c.remove_toxic(proxy, toxic)
        .await
        .map_err(|e| fail(format!("Failed to remove toxic: {e}")))?;
    Ok(format!("Removed toxic '{toxic}' on proxy '{proxy}'\n"))
}
