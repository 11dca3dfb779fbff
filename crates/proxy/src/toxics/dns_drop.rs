//! `dns_drop` (Shakedown extension, DNS proxies only): no answer at all. The proxy drops
//! matching queries: nothing is forwarded and nothing answers, so the client waits for its
//! own timeout and retries, as with a lost packet or a dead resolver.
//!
//! Attributes: `names` (comma-separated patterns, see [`super::dns_match`]; empty = every
//! name). `toxicity` is the chance, drawn per matching query, that it acts. Counters:
//! `queries_seen`, `queries_matched`, `queries_faulted` (`crate::stats`).

use serde_json::{Map, Value};

use super::dns_match::DnsMatch;
use super::Attrs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsDrop {
    pub matcher: DnsMatch,
}

impl DnsDrop {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        self.matcher.merge(a)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        self.matcher.write(m);
    }
}
