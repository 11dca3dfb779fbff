//! `dns_servfail` (Shakedown extension, DNS proxies only): SERVFAIL (the server failed).
//! The proxy answers matching queries itself with SERVFAIL (rcode 2), without asking the
//! upstream, as a broken or unreachable resolver would look; stub resolvers then try their
//! next nameserver or give up (getaddrinfo's EAI_AGAIN).
//!
//! Attributes: `names` (comma-separated patterns, see [`super::dns_match`]; empty = every
//! name). `toxicity` is the chance, drawn per matching query, that it acts. Counters:
//! `queries_seen`, `queries_matched`, `queries_faulted` (`crate::stats`).

use serde_json::{Map, Value};

use super::dns_match::DnsMatch;
use super::Attrs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsServfail {
    pub matcher: DnsMatch,
}

impl DnsServfail {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        self.matcher.merge(a)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        self.matcher.write(m);
    }
}
