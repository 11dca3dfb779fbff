//! The server guarding itself: proxy loops and descriptor budgets.
//!
//! * **Loops.** A proxy whose upstream is its own listen address, or another proxy's on
//!   this server, would dial itself once per connection until descriptors run out.
//!   [`Loops`] records every running proxy's listen address and resolved upstream; a start
//!   (create, populate, update, enable) that would close a loop is refused with 400, and
//!   each connection checks the addresses it is about to dial again (a hostname can
//!   resolve to a listen address later).
//! * **Descriptors.** Each proxied connection holds two descriptors. [`Limits`] caps the
//!   connections of one proxy and of all proxies together, so a flooded proxy cannot
//!   starve the others, and keeps a reserve for the API and listeners. An eighth of the
//!   reserve's pipes (two descriptors each) is lent to links on the zero-copy path
//!   (`crate::splice`); a link that finds none free copies instead.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::proxy::lock;

/// How long a start waits for the upstream's name to resolve before accepting it
/// unchecked (the per-connection check still applies).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);
/// Descriptors kept out of the proxies' budget, at most (a quarter of the limit when the
/// limit is small, never fewer than 64).
pub const MAX_RESERVE: usize = 1024;

/// What one running proxy occupies: where it listens and where it dials.
#[derive(Debug, Clone)]
struct Entry {
    listen: SocketAddr,
    upstream: Vec<SocketAddr>,
}

/// Listen and upstream addresses of every running proxy of one server.
#[derive(Debug, Default)]
pub struct Loops {
    entries: Mutex<BTreeMap<String, Entry>>,
}

/// The error a loop is refused with (Toxiproxy's error shape, 400 like its other
/// refusals of a bad proxy).
pub fn loop_error(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(format!("proxy loop: {detail}"), 400)
}

impl Loops {
    /// Refuse `name` listening on `listen` (when known) and dialling `upstream` if that
    /// closes a loop with itself or any other running proxy.
    pub fn check(
        &self,
        name: &str,
        listen: Option<SocketAddr>,
        upstream: &[SocketAddr],
    ) -> Result<(), ApiError> {
        let entries = lock(&self.entries);
        check_in(&entries, name, listen, upstream)
    }

    /// [`Loops::check`], then record `name` as running, atomically.
    pub fn claim(
        &self,
        name: &str,
        listen: SocketAddr,
        upstream: Vec<SocketAddr>,
    ) -> Result<(), ApiError> {
        let mut entries = lock(&self.entries);
        check_in(&entries, name, Some(listen), &upstream)?;
        entries.insert(name.to_string(), Entry { listen, upstream });
        Ok(())
    }

    /// Record a listener without any check (tests of the per-connection check).
    #[cfg(test)]
    pub(crate) fn insert_unchecked(&self, name: &str, listen: SocketAddr) {
        let entry = Entry {
            listen,
            upstream: Vec::new(),
        };
        lock(&self.entries).insert(name.to_string(), entry);
    }

    /// Forget a stopped proxy.
    pub fn release(&self, name: &str) {
        lock(&self.entries).remove(name);
    }

    /// The proxy listening where `target` leads, if any: the per-connection check.
    pub fn proxy_at(&self, target: SocketAddr) -> Option<String> {
        lock(&self.entries)
            .iter()
            .find(|(_, e)| reaches(e.listen, target))
            .map(|(n, _)| n.clone())
    }
}

fn check_in(
    entries: &BTreeMap<String, Entry>,
    name: &str,
    listen: Option<SocketAddr>,
    upstream: &[SocketAddr],
) -> Result<(), ApiError> {
    for &u in upstream {
        if listen.is_some_and(|l| reaches(l, u)) {
            return Err(loop_error(format!(
                "upstream {u} is the listen address of proxy {name} itself"
            )));
        }
        if let Some((other, _)) = entries
            .iter()
            .find(|(n, e)| n.as_str() != name && reaches(e.listen, u))
        {
            return Err(loop_error(format!(
                "upstream {u} is the listen address of proxy {other} on this server"
            )));
        }
    }
    if let Some(l) = listen {
        if let Some((other, _)) = entries
            .iter()
            .find(|(n, e)| n.as_str() != name && e.upstream.iter().any(|&u| reaches(l, u)))
        {
            return Err(loop_error(format!(
                "listen address {l} is the upstream of proxy {other} on this server"
            )));
        }
    }
    Ok(())
}

/// Whether a connection to `target` would be accepted by a socket listening on `listen`.
pub fn reaches(listen: SocketAddr, target: SocketAddr) -> bool {
    if listen.port() != target.port() {
        return false;
    }
    let (l, t) = (listen.ip().to_canonical(), target.ip().to_canonical());
    // Dialling 0.0.0.0 or :: reaches this host; a wildcard listener takes any local address.
    l == t || t.is_unspecified() || (l.is_unspecified() && is_local(t))
}

/// Whether `ip` belongs to this host (loopback, or an address a socket can bind to).
pub fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// Every address `upstream` resolves to now; empty when it does not resolve in time
/// (Toxiproxy accepts such upstreams and fails at connect time, and so do we).
pub async fn resolve_all(upstream: &str) -> Vec<SocketAddr> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, dns::lookup_host(upstream)).await {
        Ok(Ok(addrs)) => addrs,
        _ => Vec::new(),
    }
}

/// Everything one server guards itself with, shared by its proxies.
#[derive(Debug)]
pub struct Guards {
    pub loops: Loops,
    pub limits: Limits,
}

impl Guards {
    pub fn new(limits: Limits) -> Guards {
        Guards {
            loops: Loops::default(),
            limits,
        }
    }
}

impl Default for Guards {
    /// Budgets for this process's descriptor limit and the default per-proxy share.
    fn default() -> Self {
        Guards::new(Limits::from_rlimit(None))
    }
}

/// Concurrent-connection caps, shared by every proxy of one server.
#[derive(Debug)]
pub struct Limits {
    /// Most client connections one proxy holds at once.
    pub per_proxy: usize,
    /// Most client connections all proxies hold at once.
    pub total: usize,
    /// Most API connections at once.
    pub api: usize,
    /// A UDP session without a datagram for this long is closed (its socket returned).
    pub udp_idle: std::time::Duration,
    /// Pipes the zero-copy fast path may hold at once (`crate::splice`).
    pub pipes: Arc<crate::splice::PipeBudget>,
    all: Arc<Semaphore>,
}

impl Limits {
    /// Budgets for a descriptor limit of `nofile`: a reserve (a quarter of the limit,
    /// between 64 and [`MAX_RESERVE`]) for the API and listeners, half of it for API
    /// connections, a quarter of it (an eighth in pipes) for zero-copy links; the rest at
    /// two descriptors per proxied connection; one proxy gets `per_proxy`, else a quarter
    /// of that (at least one).
    pub fn for_descriptors(nofile: usize, per_proxy: Option<usize>) -> Limits {
        let reserve = (nofile / 4).clamp(64, MAX_RESERVE);
        let total = (nofile.saturating_sub(reserve) / 2).max(1);
        let per_proxy = per_proxy.unwrap_or(total / 4).clamp(1, total);
        Limits {
            per_proxy,
            total,
            api: (reserve / 2).max(16),
            udp_idle: crate::udp::IDLE_TIMEOUT,
            pipes: Arc::new(crate::splice::PipeBudget::new(reserve / 8)),
            all: Arc::new(Semaphore::new(total)),
        }
    }

    /// Budgets for this process's descriptor limit.
    pub fn from_rlimit(per_proxy: Option<usize>) -> Limits {
        Self::for_descriptors(open_files_limit(), per_proxy)
    }

    /// A slot in the server-wide budget, if one is free.
    pub fn try_take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.all.clone().try_acquire_owned().ok()
    }
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (1024 when unknown).
pub fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| parse_open_files(&text))
        .unwrap_or(1024)
}

fn parse_open_files(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(1 << 20),
        n => n.parse().ok(),
    }
}

/// Raise the soft descriptor limit to the hard one, as every Go program (Toxiproxy
/// included) does at start-up. Best effort; returns the soft limit in force.
pub fn raise_open_files_limit() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
                let wanted = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                    log::debug!("cannot raise the open files limit");
                }
            }
        }
    }
    open_files_limit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn reaches_matches_port_and_address() {
        assert!(reaches(a("127.0.0.1:5000"), a("127.0.0.1:5000")));
        assert!(!reaches(a("127.0.0.1:5000"), a("127.0.0.1:5001")));
        assert!(!reaches(a("127.0.0.1:5000"), a("127.0.0.2:5000")));
        // Wildcards both ways, and IPv4-mapped IPv6.
        assert!(reaches(a("0.0.0.0:5000"), a("127.0.0.1:5000")));
        assert!(reaches(a("[::]:5000"), a("127.0.0.1:5000")));
        assert!(reaches(a("127.0.0.1:5000"), a("0.0.0.0:5000")));
        assert!(reaches(a("127.0.0.1:5000"), a("[::ffff:127.0.0.1]:5000")));
        // A wildcard listener is not reached through another host's address.
        assert!(!reaches(a("0.0.0.0:5000"), a("192.0.2.1:5000")));
    }

    #[test]
    fn self_loop_and_loops_through_other_proxies_are_refused() {
        let loops = Loops::default();
        let err = loops
            .claim("a", a("127.0.0.1:5000"), vec![a("127.0.0.1:5000")])
            .expect_err("self loop");
        assert_eq!(err.status, 400);
        assert_eq!(
            err.error,
            "proxy loop: upstream 127.0.0.1:5000 is the listen address of proxy a itself"
        );
        loops
            .claim("a", a("127.0.0.1:5000"), vec![a("127.0.0.1:6000")])
            .expect("no loop");
        // b dials a.
        let err = loops
            .claim("b", a("127.0.0.1:5001"), vec![a("127.0.0.1:5000")])
            .expect_err("b into a");
        assert!(err.error.contains("listen address of proxy a on"), "{err}");
        // b listens where a dials.
        let err = loops
            .claim("b", a("127.0.0.1:6000"), vec![a("127.0.0.1:7000")])
            .expect_err("a into b");
        assert!(err.error.contains("is the upstream of proxy a"), "{err}");
        // Re-claiming a's own entry (an update) is judged without its old entry.
        loops
            .claim("a", a("127.0.0.1:5000"), vec![a("127.0.0.1:6001")])
            .expect("update a");
        assert_eq!(loops.proxy_at(a("127.0.0.1:5000")).as_deref(), Some("a"));
        loops.release("a");
        assert_eq!(loops.proxy_at(a("127.0.0.1:5000")), None);
    }

    #[test]
    fn budgets_keep_a_reserve_and_a_fair_share() {
        let l = Limits::for_descriptors(20_000, None);
        assert_eq!((l.total, l.per_proxy, l.api), (9_488, 2_372, 512));
        assert_eq!(l.pipes.capacity(), 128);
        let l = Limits::for_descriptors(1024, None);
        assert_eq!((l.total, l.per_proxy, l.api), (384, 96, 128));
        assert_eq!(l.pipes.capacity(), 32);
        let l = Limits::for_descriptors(100, Some(1_000_000));
        assert_eq!((l.total, l.per_proxy), (18, 18));
        assert_eq!(Limits::for_descriptors(0, None).per_proxy, 1);
    }

    #[test]
    fn reads_the_soft_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max open files            20000                20000                files\n";
        assert_eq!(parse_open_files(text), Some(20_000));
        assert!(open_files_limit() > 0);
    }
}
