//! Proof of injection: what each toxic actually did.
//!
//! A toxic that was added is not a fault that happened: toxicity draws, a `path_prefix`
//! that matches nothing, a stream pointed the wrong way or an idle connection all leave
//! the system untouched while the experiment reports success. So every toxic carries one
//! [`ToxicStats`], shared by all the links it runs on, that counts its effects as they
//! happen; the API shows them as an extra `stats` object on the toxic (Toxiproxy clients
//! ignore unknown keys), `/metrics` exports them, and `chaostoxi.toxic.probes.toxic_stats`
//! hands them to an experiment's probes.
//!
//! Counting is cheap on the hot path: the link adds to relaxed atomics once per chunk and
//! per active stage (no lock per chunk); only an aborted HTTP request takes a small lock,
//! to count it by status. The counters belong to the toxic, not to a connection: an update
//! (new attributes or toxicity) keeps them, removing the toxic (or `/reset`) drops them.
//!
//! Counters (which ones a toxic shows depends on its type, see [`ToxicStats::snapshot`]):
//! `connections` (connection directions the toxic was active on, after its toxicity
//! draw), `bytes_in` (bytes that reached the toxic), `bytes_out` (bytes it passed on),
//! `bytes_delayed` (bytes it released later than they arrived), `bytes_dropped` (bytes it
//! discarded), `delay_injected_ms` (the sum, over delayed chunks, of how much later each
//! was released; a stalled bandwidth toxic's parked data is counted as delayed bytes but
//! adds no delay until it moves), plus per-type counters of closes, resets and HTTP
//! requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::proxy::lock;
use crate::toxics::ToxicKind;

/// A single chunk delay longer than this is a stall, not an injected delay.
const MAX_COUNTED_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The counters of one toxic, shared by every link it runs on.
#[derive(Debug, Default)]
pub struct ToxicStats {
    pub connections: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub bytes_delayed: AtomicU64,
    pub bytes_dropped: AtomicU64,
    /// Injected delay in microseconds.
    pub delay_us: AtomicU64,
    pub closes: AtomicU64,
    pub resets: AtomicU64,
    pub eofs_delayed: AtomicU64,
    pub requests_seen: AtomicU64,
    pub requests_delayed: AtomicU64,
    pub requests_aborted: AtomicU64,
    /// UDP `loss`: whole datagrams dropped.
    pub datagrams_dropped: AtomicU64,
    /// DNS toxics: queries that reached the toxic, whose name (and type) matched it, and
    /// that it acted on (answered, dropped or delayed) after its toxicity draw.
    pub queries_seen: AtomicU64,
    pub queries_matched: AtomicU64,
    pub queries_faulted: AtomicU64,
    aborted_by_status: Mutex<BTreeMap<i64, u64>>,
}

/// One counter as `/metrics` and the API show it.
#[derive(Debug, Clone, PartialEq)]
pub enum Counter {
    Count(&'static str, u64),
    /// Milliseconds, kept in microseconds to be exact.
    Millis(&'static str, u64),
    /// A count per HTTP status.
    ByStatus(&'static str, BTreeMap<i64, u64>),
}

fn add(c: &AtomicU64, n: u64) {
    if n > 0 {
        c.fetch_add(n, Ordering::Relaxed);
    }
}

impl ToxicStats {
    /// One chunk's worth of accounting for a stage (called by the link).
    pub fn record(&self, bytes_in: u64, bytes_out: u64, dropped: u64, delayed: u64, delay: u64) {
        add(&self.bytes_in, bytes_in);
        add(&self.bytes_out, bytes_out);
        add(&self.bytes_dropped, dropped);
        add(&self.bytes_delayed, delayed);
        add(&self.delay_us, delay);
    }

    /// Microseconds to count for one chunk delayed by `d` (0 for a stall).
    pub fn delay_us(d: Duration) -> u64 {
        if d > MAX_COUNTED_DELAY {
            0
        } else {
            d.as_micros() as u64
        }
    }

    pub fn add_delay(&self, d: Duration) {
        add(&self.delay_us, Self::delay_us(d));
    }

    pub fn count(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// An HTTP request answered with `status` instead of being forwarded.
    pub fn aborted(&self, status: i64) {
        Self::count(&self.requests_aborted);
        *lock(&self.aborted_by_status).entry(status).or_insert(0) += 1;
    }

    /// The counters that mean something for this toxic's type, in display order.
    pub fn counters(&self, kind: &ToxicKind) -> Vec<Counter> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let conns = get(&self.connections);
        match kind {
            ToxicKind::ConnectRefuse(_) => {
                return vec![Counter::Count("connections_refused", conns)]
            }
            ToxicKind::ConnectDelay(_) => {
                return vec![
                    Counter::Count("connections_delayed", conns),
                    Counter::Millis("delay_injected_ms", get(&self.delay_us)),
                ]
            }
            k if k.is_dns() => {
                let mut v = vec![
                    Counter::Count("queries_seen", get(&self.queries_seen)),
                    Counter::Count("queries_matched", get(&self.queries_matched)),
                    Counter::Count("queries_faulted", get(&self.queries_faulted)),
                ];
                if matches!(k, ToxicKind::DnsDelay(_)) {
                    v.push(Counter::Millis("delay_injected_ms", get(&self.delay_us)));
                }
                return v;
            }
            _ => {}
        }
        let mut v = vec![
            Counter::Count("connections", conns),
            Counter::Count("bytes_in", get(&self.bytes_in)),
            Counter::Count("bytes_out", get(&self.bytes_out)),
            Counter::Count("bytes_delayed", get(&self.bytes_delayed)),
            Counter::Count("bytes_dropped", get(&self.bytes_dropped)),
            Counter::Millis("delay_injected_ms", get(&self.delay_us)),
        ];
        match kind {
            ToxicKind::Timeout(_) | ToxicKind::LimitData(_) => {
                v.push(Counter::Count("connections_closed", get(&self.closes)))
            }
            ToxicKind::ResetPeer(_) => {
                v.push(Counter::Count("connections_reset", get(&self.resets)))
            }
            ToxicKind::Loss(_) => v.push(Counter::Count(
                "datagrams_dropped",
                get(&self.datagrams_dropped),
            )),
            ToxicKind::SlowClose(_) => {
                v.push(Counter::Count("closes_delayed", get(&self.eofs_delayed)))
            }
            ToxicKind::HttpAbort(_) => {
                v.push(Counter::Count("requests_seen", get(&self.requests_seen)));
                v.push(Counter::Count(
                    "requests_aborted",
                    get(&self.requests_aborted),
                ));
                v.push(Counter::ByStatus(
                    "requests_aborted_by_status",
                    lock(&self.aborted_by_status).clone(),
                ));
            }
            ToxicKind::HttpDelay(_) => {
                v.push(Counter::Count("requests_seen", get(&self.requests_seen)));
                v.push(Counter::Count(
                    "requests_delayed",
                    get(&self.requests_delayed),
                ));
            }
            _ => {}
        }
        v
    }

    /// The `stats` object of the toxic's JSON.
    pub fn snapshot(&self, kind: &ToxicKind) -> Map<String, Value> {
        let mut m = Map::new();
        for c in self.counters(kind) {
            match c {
                Counter::Count(k, n) => {
                    m.insert(k.into(), n.into());
                }
                Counter::Millis(k, us) => {
                    m.insert(k.into(), crate::toxics::num_f64(us as f64 / 1000.0));
                }
                Counter::ByStatus(k, by) => {
                    let inner: Map<String, Value> = by
                        .into_iter()
                        .map(|(s, n)| (s.to_string(), Value::from(n)))
                        .collect();
                    m.insert(k.into(), Value::Object(inner));
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_the_type() {
        let s = ToxicStats::default();
        s.record(10, 4, 6, 4, 1500);
        s.aborted(503);
        s.aborted(503);
        s.aborted(500);
        let abort = ToxicKind::new("http_abort").expect("type");
        let m = s.snapshot(&abort);
        assert_eq!(m["bytes_in"], 10);
        assert_eq!(m["bytes_dropped"], 6);
        assert_eq!(m["delay_injected_ms"], 1.5);
        assert_eq!(m["requests_aborted"], 3);
        assert_eq!(m["requests_aborted_by_status"]["503"], 2);
        assert_eq!(m["requests_aborted_by_status"]["500"], 1);
        let refuse = ToxicKind::new("connect_refuse").expect("type");
        let keys: Vec<_> = s.snapshot(&refuse).keys().cloned().collect();
        assert_eq!(keys, ["connections_refused"]);
        assert!(!s
            .snapshot(&ToxicKind::new("latency").expect("type"))
            .contains_key("requests_seen"));
    }

    #[test]
    fn a_stall_is_not_an_injected_delay() {
        assert_eq!(ToxicStats::delay_us(Duration::from_millis(3)), 3000);
        assert_eq!(
            ToxicStats::delay_us(Duration::from_secs(400 * 24 * 3600)),
            0
        );
    }
}
