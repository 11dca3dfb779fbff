//! The API's JSON shapes, shared by the server and `proxy::client`. Field order follows
//! Toxiproxy's Go structs, so responses are byte-for-byte familiar to existing clients.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A toxic as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Toxic {
    #[serde(default)]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub stream: String,
    #[serde(
        serialize_with = "go_float32",
        deserialize_with = "lenient_f32",
        default = "one"
    )]
    pub toxicity: f32,
    /// Shakedown's proof of injection (`crate::stats`): what the toxic did so far.
    /// Absent from Toxiproxy's answers; Toxiproxy clients ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Map<String, Value>>,
}

/// A proxy with its toxics, as returned by every proxy endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    pub name: String,
    #[serde(default)]
    pub listen: String,
    #[serde(default)]
    pub upstream: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub toxics: Vec<Toxic>,
    /// `"udp"` for a UDP proxy (a Shakedown extension); absent for TCP, so TCP proxies
    /// look exactly like Toxiproxy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// TLS termination (a Shakedown extension, `crate::tls`): what it does, the minted CA's
    /// PEM; never the key. Absent without TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Value>,
    /// A DNS proxy's own counters (`crate::dns::DnsCounters`: queries, forwarded,
    /// malformed…); absent for other proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_stats: Option<Map<String, Value>>,
}

fn one() -> f32 {
    1.0
}

/// Print a float32 the way Go's encoder does: shortest form, integers without `.0`.
fn go_float32<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    float32_value(*v).serialize(s)
}

pub fn float32_value(v: f32) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        return Value::from(v as i64);
    }
    // Shortest f32 text, re-read as f64, so 0.1f32 prints as 0.1.
    let text = format!("{v}");
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn lenient_f32<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    Ok(v.map(|f| f as f32).unwrap_or(1.0))
}
