//! `dns_nxdomain` (Shakedown extension, DNS proxies only): NXDOMAIN (the name does not
//! exist). The proxy answers matching queries itself with NXDOMAIN (rcode 3) and no
//! records, without asking the upstream, as a deleted record or a typo in a service name
//! would look.
//!
//! Attributes: `names` (comma-separated patterns, see [`super::dns_match`]; empty = every
//! name). `toxicity` is the chance, drawn per matching query, that it acts. Counters:
//! `queries_seen`, `queries_matched`, `queries_faulted` (`crate::stats`).

use serde_json::{Map, Value};

use super::dns_match::DnsMatch;
use super::Attrs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsNxdomain {
    pub matcher: DnsMatch,
}

impl DnsNxdomain {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        self.matcher.merge(a)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        self.matcher.write(m);
    }
}
