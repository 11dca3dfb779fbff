//! `dns_delay` (Shakedown extension, DNS proxies only): hold matching queries for
//! `latency` ms ± `jitter` ms before they go on, so the answer (the upstream's, or another
//! DNS toxic's) arrives that much later, as a slow or overloaded resolver would answer.
//!
//! Attributes: `names` (see [`super::dns_match`]), `latency` ms, `jitter` ms (uniform in
//! [-jitter, +jitter), as the `latency` toxic). Several matching delay toxics add up.
//! `toxicity` is the chance, drawn per matching query, that it acts. Counters:
//! `queries_seen`, `queries_matched`, `queries_faulted` (queries delayed) and
//! `delay_injected_ms`.

use serde_json::{Map, Value};

use super::dns_match::DnsMatch;
use super::latency::Latency;
use super::Attrs;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsDelay {
    pub matcher: DnsMatch,
    pub delay: Latency,
}

impl DnsDelay {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        self.matcher.merge(a)?;
        self.delay.merge(a)
    }
    pub fn write(&self, m: &mut Map<String, Value>) {
        self.matcher.write(m);
        self.delay.write(m);
    }
}
