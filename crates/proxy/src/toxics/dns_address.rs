//! `dns_address` (Shakedown extension, DNS proxies only): answer matching A and AAAA
//! queries with chosen addresses instead of the real ones, as a poisoned cache, a stale
//! record or a failover to the wrong site would.
//!
//! Attributes: `names` (see [`super::dns_match`]), `addresses` (comma-separated IPv4
//! and/or IPv6 addresses; required), `ttl` seconds (default 0, so clients do not cache
//! the fault past the experiment). An A query gets the IPv4 addresses, an AAAA query the
//! IPv6 ones; a query of a family with none configured gets an empty NOERROR answer, so
//! the client sees only the chosen addresses. Other query types (MX, TXT, …) are not
//! matched and go to the upstream. `toxicity` is the chance, drawn per matching query,
//! that it acts. Counters: `queries_seen`, `queries_matched` (A and AAAA only),
//! `queries_faulted`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::dns_match::DnsMatch;
use super::Attrs;
use crate::dns::wire::{TYPE_A, TYPE_AAAA};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsAddress {
    pub matcher: DnsMatch,
    /// As given, echoed by the API.
    pub text: String,
    pub addresses: Vec<IpAddr>,
    pub ttl: i64,
}

impl DnsAddress {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        self.matcher.merge(a)?;
        let mut text = self.text.clone();
        a.string("addresses", &mut text)?;
        let addresses = text
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<IpAddr>().map_err(|_| {
                    format!(
                        "invalid address {t:?} in attribute addresses: use IPv4 or IPv6 \
                         addresses separated by commas, e.g. 10.0.0.1,fd00::1"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if addresses.is_empty() {
            return Err(
                "attribute addresses is required: the IPv4 and/or IPv6 addresses to answer \
                 with, separated by commas (e.g. 10.0.0.1,fd00::1)"
                    .to_string(),
            );
        }
        let mut ttl = self.ttl;
        a.int("ttl", &mut ttl)?;
        if !(0..=i64::from(i32::MAX)).contains(&ttl) {
            return Err(format!(
                "attribute ttl {ttl} is out of range: seconds from 0 to 2147483647"
            ));
        }
        self.text = text;
        self.addresses = addresses;
        self.ttl = ttl;
        Ok(())
    }

    pub fn write(&self, m: &mut Map<String, Value>) {
        self.matcher.write(m);
        m.insert("addresses".into(), self.text.clone().into());
        m.insert("ttl".into(), self.ttl.into());
    }

    /// Whether this toxic answers queries of `qtype` (A and AAAA only).
    pub fn answers(qtype: u16) -> bool {
        qtype == TYPE_A || qtype == TYPE_AAAA
    }
}
