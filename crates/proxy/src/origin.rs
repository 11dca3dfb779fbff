//! DNS-rebinding and cross-origin protection for an API on loopback.
//!
//! A web page can make a browser send requests to `http://127.0.0.1:8474` (cross-origin,
//! with an `Origin` header) or, through DNS rebinding, to a name of its own that now
//! resolves to 127.0.0.1 (same-origin for the browser, with that name in `Host`). When the
//! API listens on loopback, a request is refused with 403 unless its `Host` (when present)
//! and its `Origin` (when present) name a loopback host (`localhost`, `*.localhost`, a
//! loopback address) or a host in the allow-list (`--allow-host`; `*` allows any).
//! Toxiproxy only refuses `Mozilla/` user agents.

use std::net::IpAddr;

use crate::error::ApiError;

/// Which `Host` and `Origin` values the API accepts.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// Off when the API listens on a non-loopback address (any name may reach it then).
    pub enforce: bool,
    /// Extra host names or addresses (lower case, no port); `*` allows everything.
    pub allowed: Vec<String>,
}

impl HostPolicy {
    /// The policy for an API bound to `ip`, allowing `allowed` besides loopback.
    pub fn for_bind(ip: IpAddr, allowed: &[String]) -> HostPolicy {
        HostPolicy {
            enforce: ip.to_canonical().is_loopback(),
            allowed: allowed
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// `Ok` when a request with these `Host` and `Origin` header values may proceed.
    pub fn check(&self, host: Option<&[u8]>, origin: Option<&[u8]>) -> Result<(), ApiError> {
        if !self.enforce || self.allowed.iter().any(|h| h == "*") {
            return Ok(());
        }
        if let Some(h) = host {
            let text = String::from_utf8_lossy(h);
            if !self.host_allowed(&text) {
                return Err(refused("Host", &text));
            }
        }
        if let Some(o) = origin {
            let text = String::from_utf8_lossy(o);
            let authority = text
                .split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(""));
            if !authority.is_some_and(|a| self.host_allowed(a)) {
                return Err(refused("Origin", &text));
            }
        }
        Ok(())
    }

    /// Whether `authority` (`host`, `host:port`, `[v6]:port`) names an allowed host.
    fn host_allowed(&self, authority: &str) -> bool {
        let name = host_of(authority)
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        name == "localhost"
            || name.ends_with(".localhost")
            || name
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback())
            || self.allowed.contains(&name)
    }
}

/// The host part of an authority, without port or IPv6 brackets.
fn host_of(authority: &str) -> &str {
    let a = authority.trim();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match a.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => a,
    }
}

fn refused(header: &str, value: &str) -> ApiError {
    let shown: String = value.chars().take(200).collect();
    ApiError::new(
        format!(
            "{header} not allowed: {shown:?} (the API listens on loopback; \
             allow more hosts with --allow-host)"
        ),
        403,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> HostPolicy {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        HostPolicy::for_bind(IpAddr::from([127, 0, 0, 1]), &allowed)
    }

    fn ok(p: &HostPolicy, host: Option<&str>, origin: Option<&str>) -> bool {
        p.check(host.map(str::as_bytes), origin.map(str::as_bytes))
            .is_ok()
    }

    #[test]
    fn loopback_hosts_pass() {
        let p = policy(&[]);
        for h in [
            "localhost",
            "LOCALHOST:8474",
            "localhost.",
            "api.localhost:1",
            "127.0.0.1",
            "127.0.0.1:8474",
            "127.1.2.3:80",
            "[::1]:8474",
            "[::ffff:127.0.0.1]:1",
        ] {
            assert!(ok(&p, Some(h), None), "{h}");
        }
        assert!(ok(&p, None, None));
        assert!(ok(&p, Some("localhost"), Some("http://localhost:3000")));
        assert!(ok(&p, Some("localhost"), Some("https://[::1]")));
    }

    #[test]
    fn foreign_hosts_and_origins_are_refused() {
        let p = policy(&[]);
        for h in [
            "evil.example",
            "evil.example:8474",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "192.0.2.1:8474",
            "",
        ] {
            let e = p.check(Some(h.as_bytes()), None).expect_err(h);
            assert_eq!(e.status, 403);
            assert!(e.error.starts_with("Host not allowed: "), "{}", e.error);
        }
        for o in [
            "http://evil.example",
            "null",
            "http://192.0.2.1:8474",
            "garbage",
        ] {
            let e = p
                .check(Some(b"localhost"), Some(o.as_bytes()))
                .expect_err(o);
            assert!(e.error.starts_with("Origin not allowed: "), "{}", e.error);
        }
    }

    #[test]
    fn allow_list_and_non_loopback_bind() {
        let p = policy(&["Toxi.Internal.", "192.0.2.1"]);
        assert!(ok(&p, Some("toxi.internal:8474"), None));
        assert!(ok(&p, Some("192.0.2.1"), Some("http://toxi.internal")));
        assert!(!ok(&p, Some("other.internal"), None));
        assert!(ok(&policy(&["*"]), Some("anything"), Some("null")));
        let open = HostPolicy::for_bind(IpAddr::from([0, 0, 0, 0]), &[]);
        assert!(ok(&open, Some("evil.example"), Some("http://evil.example")));
    }
}
