//! Toxic types, their JSON attributes, and the per-link `Stage` each one runs.
//!
//! Unlike Toxiproxy's goroutine-per-toxic chain, a stage here is a plain state machine
//! that stamps each chunk with the instant it may be written (`Chunk::at`). A link runs
//! every stage inline and a single writer honours those instants, so changing the chain
//! never waits for data to move (the root of Toxiproxy's API hangs, #88/#254/#558).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::rng::Rng;
use crate::stats::ToxicStats;

pub mod bandwidth;
pub mod blackhole;
pub mod connect_delay;
pub mod connect_refuse;
pub mod dns_address;
pub mod dns_delay;
pub mod dns_drop;
pub mod dns_match;
pub mod dns_nxdomain;
pub mod dns_servfail;
pub mod http;
pub mod http_abort;
pub mod http_delay;
pub mod latency;
pub mod limit_data;
pub mod loss;
pub mod noop;
pub mod reset_peer;
pub mod slicer;
pub mod slow_close;
pub mod timeout;

/// Bytes read from one side of a connection, with the instant they may be written.
#[derive(Debug)]
pub struct Chunk {
    pub data: Vec<u8>,
    pub at: Instant,
}

/// What a stage asks its link to do after seeing a chunk, an EOF or a timer.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Continue,
    /// Write everything already scheduled, then close the whole connection (FIN).
    Close,
    /// Close the whole connection with a TCP RST at the given instant.
    Reset(Instant),
    /// Send these bytes to the client, then close the connection (HTTP faults).
    Respond(Vec<u8>),
}

/// One toxic's behaviour on one link (one direction of one connection).
pub trait Stage: Send {
    /// Transform one chunk, pushing zero or more chunks to `out`.
    fn chunk(&mut self, chunk: Chunk, rng: &mut Rng, out: &mut Vec<Chunk>) -> Verdict;
    /// The source reached EOF at `at`; return when the EOF should pass on, or a verdict.
    fn eof(&mut self, at: Instant) -> Result<Instant, Verdict> {
        Ok(at)
    }
    /// The next instant `fire` wants to run at, if any.
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn fire(&mut self, _now: Instant) -> Verdict {
        Verdict::Continue
    }
    /// Apply new attributes while keeping per-link state; false if the kind differs.
    fn reconfigure(&mut self, kind: &ToxicKind) -> bool;
    /// Data held inside the stage, handed back when the toxic is removed.
    fn drain(&mut self) -> Vec<Chunk> {
        Vec::new()
    }
    /// Whether removing this toxic must close the connection (Toxiproxy's timeout cleanup).
    fn closes_on_removal(&self) -> bool {
        false
    }
    /// Bytes held inside the stage right now (not yet passed on nor dropped), so the
    /// link's accounting does not count them as dropped (see `stats`).
    fn held(&self) -> usize {
        0
    }
}

/// The transport a proxy forwards (`"protocol"` in the API; Toxiproxy has only TCP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    /// A DNS forwarder with name-based faults (`crate::dns`).
    Dns,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "dns" => Some(Protocol::Dns),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Dns => "dns",
        }
    }
}

/// Which way bytes flow: upstream is client → server, downstream is server → client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upstream,
    Downstream,
}

impl Direction {
    /// Toxiproxy parses the stream name case-insensitively.
    pub fn parse(s: &str) -> Option<Direction> {
        match s.to_ascii_lowercase().as_str() {
            "upstream" => Some(Direction::Upstream),
            "downstream" => Some(Direction::Downstream),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        }
    }
}

/// A toxic's type with its typed attributes.
#[derive(Debug, Clone, PartialEq)]
pub enum ToxicKind {
    Noop(noop::Noop),
    Latency(latency::Latency),
    Bandwidth(bandwidth::Bandwidth),
    SlowClose(slow_close::SlowClose),
    Timeout(timeout::Timeout),
    ResetPeer(reset_peer::ResetPeer),
    Slicer(slicer::Slicer),
    LimitData(limit_data::LimitData),
    HttpAbort(http_abort::HttpAbort),
    HttpDelay(http_delay::HttpDelay),
    ConnectRefuse(connect_refuse::ConnectRefuse),
    ConnectDelay(connect_delay::ConnectDelay),
    Loss(loss::Loss),
    Blackhole(blackhole::Blackhole),
    DnsNxdomain(dns_nxdomain::DnsNxdomain),
    DnsServfail(dns_servfail::DnsServfail),
    DnsDrop(dns_drop::DnsDrop),
    DnsDelay(dns_delay::DnsDelay),
    DnsAddress(dns_address::DnsAddress),
}

/// Every registered type name, Toxiproxy's first.
pub const TYPES: &[&str] = &[
    "noop",
    "latency",
    "bandwidth",
    "slow_close",
    "timeout",
    "reset_peer",
    "slicer",
    "limit_data",
    "http_abort",
    "http_delay",
    "connect_refuse",
    "connect_delay",
    "loss",
    "blackhole",
    "dns_nxdomain",
    "dns_servfail",
    "dns_drop",
    "dns_delay",
    "dns_address",
];

impl ToxicKind {
    /// A toxic of `type_name` with zero-valued attributes, or None if the type is unknown.
    pub fn new(type_name: &str) -> Option<ToxicKind> {
        Some(match type_name {
            "noop" => ToxicKind::Noop(noop::Noop),
            "latency" => ToxicKind::Latency(Default::default()),
            "bandwidth" => ToxicKind::Bandwidth(Default::default()),
            "slow_close" => ToxicKind::SlowClose(Default::default()),
            "timeout" => ToxicKind::Timeout(Default::default()),
            "reset_peer" => ToxicKind::ResetPeer(Default::default()),
            "slicer" => ToxicKind::Slicer(Default::default()),
            "limit_data" => ToxicKind::LimitData(Default::default()),
            "http_abort" => ToxicKind::HttpAbort(Default::default()),
            "http_delay" => ToxicKind::HttpDelay(Default::default()),
            "connect_refuse" => ToxicKind::ConnectRefuse(Default::default()),
            "connect_delay" => ToxicKind::ConnectDelay(Default::default()),
            "loss" => ToxicKind::Loss(Default::default()),
            "blackhole" => ToxicKind::Blackhole(blackhole::Blackhole),
            "dns_nxdomain" => ToxicKind::DnsNxdomain(Default::default()),
            "dns_servfail" => ToxicKind::DnsServfail(Default::default()),
            "dns_drop" => ToxicKind::DnsDrop(Default::default()),
            "dns_delay" => ToxicKind::DnsDelay(Default::default()),
            "dns_address" => ToxicKind::DnsAddress(Default::default()),
            _ => return None,
        })
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            ToxicKind::Noop(_) => "noop",
            ToxicKind::Latency(_) => "latency",
            ToxicKind::Bandwidth(_) => "bandwidth",
            ToxicKind::SlowClose(_) => "slow_close",
            ToxicKind::Timeout(_) => "timeout",
            ToxicKind::ResetPeer(_) => "reset_peer",
            ToxicKind::Slicer(_) => "slicer",
            ToxicKind::LimitData(_) => "limit_data",
            ToxicKind::HttpAbort(_) => "http_abort",
            ToxicKind::HttpDelay(_) => "http_delay",
            ToxicKind::ConnectRefuse(_) => "connect_refuse",
            ToxicKind::ConnectDelay(_) => "connect_delay",
            ToxicKind::Loss(_) => "loss",
            ToxicKind::Blackhole(_) => "blackhole",
            ToxicKind::DnsNxdomain(_) => "dns_nxdomain",
            ToxicKind::DnsServfail(_) => "dns_servfail",
            ToxicKind::DnsDrop(_) => "dns_drop",
            ToxicKind::DnsDelay(_) => "dns_delay",
            ToxicKind::DnsAddress(_) => "dns_address",
        }
    }

    /// Merge a JSON `attributes` value into the current attributes, Go-decoder style:
    /// unknown keys are ignored, missing keys and nulls keep their value, wrong JSON
    /// types are an error.
    pub fn merge_attributes(&mut self, value: &Value) -> Result<(), String> {
        let empty = Map::new();
        let obj = match value {
            // Merged as `{}`, so a type with a required attribute (dns_address) says so.
            Value::Null => &empty,
            Value::Object(o) => o,
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field ToxicWrapper.attributes",
                    json_kind(other)
                ))
            }
        };
        let a = Attrs(obj);
        match self {
            ToxicKind::Noop(_) => Ok(()),
            ToxicKind::Latency(t) => t.merge(&a),
            ToxicKind::Bandwidth(t) => t.merge(&a),
            ToxicKind::SlowClose(t) => t.merge(&a),
            ToxicKind::Timeout(t) => t.merge(&a),
            ToxicKind::ResetPeer(t) => t.merge(&a),
            ToxicKind::Slicer(t) => t.merge(&a),
            ToxicKind::LimitData(t) => t.merge(&a),
            ToxicKind::HttpAbort(t) => t.merge(&a),
            ToxicKind::HttpDelay(t) => t.merge(&a),
            ToxicKind::ConnectRefuse(_) | ToxicKind::Blackhole(_) => Ok(()),
            ToxicKind::ConnectDelay(t) => t.merge(&a),
            ToxicKind::Loss(t) => t.merge(&a),
            ToxicKind::DnsNxdomain(t) => t.merge(&a),
            ToxicKind::DnsServfail(t) => t.merge(&a),
            ToxicKind::DnsDrop(t) => t.merge(&a),
            ToxicKind::DnsDelay(t) => t.merge(&a),
            ToxicKind::DnsAddress(t) => t.merge(&a),
        }
    }

    /// Attributes as JSON, in the field order Toxiproxy's structs use.
    pub fn attributes(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            ToxicKind::Noop(_) | ToxicKind::ConnectRefuse(_) | ToxicKind::Blackhole(_) => {}
            ToxicKind::Loss(t) => t.write(&mut m),
            ToxicKind::Latency(t) => t.write(&mut m),
            ToxicKind::Bandwidth(t) => t.write(&mut m),
            ToxicKind::SlowClose(t) => t.write(&mut m),
            ToxicKind::Timeout(t) => t.write(&mut m),
            ToxicKind::ResetPeer(t) => t.write(&mut m),
            ToxicKind::Slicer(t) => t.write(&mut m),
            ToxicKind::LimitData(t) => t.write(&mut m),
            ToxicKind::HttpAbort(t) => t.write(&mut m),
            ToxicKind::HttpDelay(t) => t.write(&mut m),
            ToxicKind::ConnectDelay(t) => t.write(&mut m),
            ToxicKind::DnsNxdomain(t) => t.write(&mut m),
            ToxicKind::DnsServfail(t) => t.write(&mut m),
            ToxicKind::DnsDrop(t) => t.write(&mut m),
            ToxicKind::DnsDelay(t) => t.write(&mut m),
            ToxicKind::DnsAddress(t) => t.write(&mut m),
        }
        m
    }

    /// HTTP toxics always inspect requests, i.e. the client → server link.
    pub fn is_http(&self) -> bool {
        matches!(self, ToxicKind::HttpAbort(_) | ToxicKind::HttpDelay(_))
    }

    /// Connect-time toxics act once at accept time and never join a link's chain.
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            ToxicKind::ConnectRefuse(_) | ToxicKind::ConnectDelay(_)
        )
    }

    /// DNS toxics act on whole queries of a DNS proxy (`crate::dns`), never on a link.
    pub fn is_dns(&self) -> bool {
        matches!(
            self,
            ToxicKind::DnsNxdomain(_)
                | ToxicKind::DnsServfail(_)
                | ToxicKind::DnsDrop(_)
                | ToxicKind::DnsDelay(_)
                | ToxicKind::DnsAddress(_)
        )
    }

    /// Whether this toxic can run on a proxy of `protocol`: UDP has no stream to slice,
    /// limit, time out, reset or close, no HTTP and no connect; TCP has no datagram to
    /// lose. The error names the toxic and what the protocol takes.
    pub fn allowed_on(&self, protocol: Protocol) -> Result<(), String> {
        let udp_ok = matches!(
            self,
            ToxicKind::Noop(_)
                | ToxicKind::Latency(_)
                | ToxicKind::Bandwidth(_)
                | ToxicKind::Loss(_)
                | ToxicKind::Blackhole(_)
        );
        if self.is_dns() != (protocol == Protocol::Dns) {
            return Err(if protocol == Protocol::Dns {
                format!(
                    "toxic type {} does not apply to dns proxies (they take dns_nxdomain, \
                     dns_servfail, dns_drop, dns_delay and dns_address)",
                    self.type_name()
                )
            } else {
                format!(
                    "toxic type {} applies to dns proxies only (create the proxy with \
                     \"protocol\": \"dns\")",
                    self.type_name()
                )
            });
        }
        match protocol {
            Protocol::Udp if !udp_ok => Err(format!(
                "toxic type {} does not apply to udp proxies (they take latency, bandwidth, \
                 loss, blackhole and noop)",
                self.type_name()
            )),
            Protocol::Tcp if matches!(self, ToxicKind::Loss(_)) => Err(
                "toxic type loss applies to udp proxies only (on tcp use timeout, reset_peer \
                 or bandwidth)"
                    .to_string(),
            ),
            _ => Ok(()),
        }
    }

    /// A fresh per-link stage for this toxic; `stats` are the toxic's counters, for the
    /// stages that count more than the link can see (HTTP requests).
    pub fn stage(&self, now: Instant, stats: &Arc<ToxicStats>) -> Box<dyn Stage> {
        match self {
            // `loss` and the DNS toxics are refused on TCP proxies (`allowed_on`); never
            // reached there.
            ToxicKind::Noop(_)
            | ToxicKind::ConnectRefuse(_)
            | ToxicKind::ConnectDelay(_)
            | ToxicKind::Loss(_)
            | ToxicKind::DnsNxdomain(_)
            | ToxicKind::DnsServfail(_)
            | ToxicKind::DnsDrop(_)
            | ToxicKind::DnsDelay(_)
            | ToxicKind::DnsAddress(_) => Box::new(noop::NoopStage(self.clone())),
            ToxicKind::Blackhole(_) => Box::new(blackhole::BlackholeStage),
            ToxicKind::Latency(t) => Box::new(latency::LatencyStage(t.clone())),
            ToxicKind::Bandwidth(t) => Box::new(bandwidth::BandwidthStage::new(t.clone())),
            ToxicKind::SlowClose(t) => Box::new(slow_close::SlowCloseStage(t.clone())),
            ToxicKind::Timeout(t) => Box::new(timeout::TimeoutStage::new(t.clone(), now)),
            ToxicKind::ResetPeer(t) => Box::new(reset_peer::ResetPeerStage::new(t.clone())),
            ToxicKind::Slicer(t) => Box::new(slicer::SlicerStage(t.clone())),
            ToxicKind::LimitData(t) => Box::new(limit_data::LimitDataStage::new(t.clone())),
            ToxicKind::HttpAbort(t) => {
                Box::new(http_abort::HttpAbortStage::new(t.clone(), stats.clone()))
            }
            ToxicKind::HttpDelay(t) => {
                Box::new(http_delay::HttpDelayStage::new(t.clone(), stats.clone()))
            }
        }
    }
}

/// Milliseconds (possibly negative, as Toxiproxy allows) to a non-negative duration.
pub fn ms(v: i64) -> Duration {
    Duration::from_millis(v.max(0) as u64)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Typed access to an `attributes` object with Go-like decoding errors.
pub struct Attrs<'a>(pub &'a Map<String, Value>);

impl Attrs<'_> {
    fn err(key: &str, v: &Value, go_type: &str) -> String {
        let shown = match v {
            Value::Number(n) => format!("number {n}"),
            other => json_kind(other).to_string(),
        };
        format!("json: cannot unmarshal {shown} into Go struct field .attributes.{key} of type {go_type}")
    }
    /// An integer attribute; floats with a fraction and non-numbers are rejected.
    pub fn int(&self, key: &str, field: &mut i64) -> Result<(), String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v @ Value::Number(n)) => {
                if let Some(i) = n.as_i64() {
                    *field = i;
                    Ok(())
                } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                {
                    // toxiproxy-cli sends every number as a float64 such as 100.
                    *field = f as i64;
                    Ok(())
                } else {
                    Err(Self::err(key, v, "int64"))
                }
            }
            Some(v) => Err(Self::err(key, v, "int64")),
        }
    }
    pub fn float(&self, key: &str, field: &mut f64) -> Result<(), String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v @ Value::Number(n)) => match n.as_f64() {
                Some(f) => {
                    *field = f;
                    Ok(())
                }
                None => Err(Self::err(key, v, "float64")),
            },
            Some(v) => Err(Self::err(key, v, "float64")),
        }
    }
    pub fn string(&self, key: &str, field: &mut String) -> Result<(), String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) => {
                *field = s.clone();
                Ok(())
            }
            Some(v) => Err(Self::err(key, v, "string")),
        }
    }
}

/// A JSON number that prints integers without a fraction, like Go's encoder.
pub fn num_f64(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}
