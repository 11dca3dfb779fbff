//! Name resolution for every outbound connection `chaos` makes: HTTP providers, URL sources,
//! notifications, the kill switch's endpoint, Slack, Prometheus (all through reqwest), the
//! Kubernetes client (hyper-util's connector), and the proxy's upstreams, listen addresses and
//! API client (plain tokio sockets).
//!
//! Why a crate of its own: the shipped binary is linked statically against glibc
//! (`scripts/release`, docs/release.md), and glibc's `getaddrinfo` loads its NSS modules with
//! `dlopen` at run time. A static binary cannot load them reliably (they must come from the
//! very glibc it was linked with, and a scratch image has none), so names would stop resolving
//! in exactly the place the binary is meant for. With the `hickory` feature, which the static
//! build turns on, names go to hickory-resolver instead: pure Rust, reading `/etc/hosts` and
//! `/etc/resolv.conf` (nameservers, `search`, `ndots`, `timeout`, `attempts`) the way a
//! container runtime writes them, answering `localhost` itself (RFC 6761), one resolver and
//! one cache for the whole process. Without the feature (the development build and the test
//! suite) everything resolves through the C library as before, so nothing changes there.
//!
//! IP literals never reach a resolver in either mode.

use std::io;
use std::net::{IpAddr, SocketAddr};

/// True when names are resolved by the pure-Rust resolver (the static build).
pub const PURE_RUST: bool = cfg!(feature = "hickory");

/// The addresses of `host` (a name or an IP literal, IPv6 with or without brackets), each
/// with `port`. An error names the host.
pub async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let ips = imp::lookup(bare)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {bare}: {e}")))?;
    if ips.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve {bare}: no address"),
        ));
    }
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// Like `tokio::net::lookup_host` for a `host:port` string (`[v6]:port` for IPv6 literals).
pub async fn lookup_host(authority: &str) -> io::Result<Vec<SocketAddr>> {
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    let (host, port) = authority.rsplit_once(':').ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{authority}: expected host:port"),
        )
    })?;
    let port = port.parse::<u16>().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{authority}: invalid port {port:?}"),
        )
    })?;
    resolve(host, port).await
}

/// Connects to the first address of `authority` (`host:port`) that accepts, like
/// `TcpStream::connect` does, with the error of the last one tried.
pub async fn connect(authority: &str) -> io::Result<tokio::net::TcpStream> {
    first_of(authority, tokio::net::TcpStream::connect).await
}

/// Binds a listener on the first address of `authority` (`host:port`) that binds, like
/// `TcpListener::bind` does, with the error of the last one tried.
pub async fn bind(authority: &str) -> io::Result<tokio::net::TcpListener> {
    first_of(authority, tokio::net::TcpListener::bind).await
}

async fn first_of<T, F, Fut>(authority: &str, mut attempt: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in lookup_host(authority).await? {
        match attempt(addr).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{authority}: no address"))
    }))
}

/// A reqwest client builder that resolves through this crate (a no-op without `hickory`:
/// reqwest's own resolver is the C library's).
pub fn reqwest(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    #[cfg(feature = "hickory")]
    {
        builder.dns_resolver(std::sync::Arc::new(ReqwestResolver))
    }
    #[cfg(not(feature = "hickory"))]
    {
        builder
    }
}

#[cfg(feature = "hickory")]
struct ReqwestResolver;

#[cfg(feature = "hickory")]
impl reqwest::dns::Resolve for ReqwestResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A resolver for hyper-util's `HttpConnector` (the Kubernetes client's connector): the
/// addresses come with port 0, which the connector replaces with the URL's.
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperResolver;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for HyperResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = io::Result<Self::Response>> + Send + 'static>,
    >;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let host = name.as_str().to_string();
        Box::pin(async move { Ok(resolve(&host, 0).await?.into_iter()) })
    }
}

/// The addresses `/etc/hosts`-format `text` gives `name` (case-insensitive, a trailing dot
/// ignored), IPv4 first, in file order within each family.
///
/// Why the static build reads the file itself: glibc's NSS order (`hosts: files dns`) answers
/// a name the file knows from the file alone, but hickory, asked for both families, sends
/// the AAAA query to the name server when the file has only an IPv4 address, and waits out
/// its timeout when no server answers (a pod with a `hostAliases` entry and no reachable
/// DNS, the test pod runner). Reading the file first behaves as glibc does.
#[cfg_attr(not(feature = "hickory"), allow(dead_code))]
fn hosts_file_addresses(text: &str, name: &str) -> Vec<IpAddr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut found: Vec<IpAddr> = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let Some(ip) = fields.next().and_then(|a| a.parse::<IpAddr>().ok()) else {
            continue;
        };
        if fields.any(|alias| {
            alias
                .strip_suffix('.')
                .unwrap_or(alias)
                .eq_ignore_ascii_case(name)
        }) && !found.contains(&ip)
        {
            found.push(ip);
        }
    }
    found.sort_by_key(|ip| ip.is_ipv6());
    found
}

#[cfg(feature = "hickory")]
mod imp {
    //! hickory-resolver, built once per process on first use.
    use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    use hickory_resolver::TokioResolver;
    use std::io;
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::OnceLock;

    fn resolver() -> io::Result<&'static TokioResolver> {
        static RESOLVER: OnceLock<TokioResolver> = OnceLock::new();
        if let Some(r) = RESOLVER.get() {
            return Ok(r);
        }
        let mut builder = TokioResolver::builder_tokio().unwrap_or_else(|e| {
            // What glibc does without a usable resolv.conf: ask a server on this host.
            // Never a public resolver: queries must not leave for a third party unasked.
            log::warn!("/etc/resolv.conf: {e}; asking the name server on 127.0.0.1");
            let local = NameServerConfig::udp_and_tcp(IpAddr::V4(Ipv4Addr::LOCALHOST));
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, vec![], vec![local]),
                TokioRuntimeProvider::default(),
            )
        });
        // Both families, IPv4 first: containers often have an IPv6 address but no route.
        builder.options_mut().ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
        let built = builder
            .build()
            .map_err(|e| io::Error::other(format!("DNS resolver: {e}")))?;
        Ok(RESOLVER.get_or_init(|| built))
    }

    pub(super) async fn lookup(host: &str) -> io::Result<Vec<IpAddr>> {
        if let Ok(text) = std::fs::read_to_string("/etc/hosts") {
            let from_file = super::hosts_file_addresses(&text, host);
            if !from_file.is_empty() {
                return Ok(from_file);
            }
        }
        let answer = resolver()?
            .lookup_ip(host)
            .await
            .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e.to_string()))?;
        Ok(answer.iter().collect())
    }
}

#[cfg(not(feature = "hickory"))]
mod imp {
    //! The C library's `getaddrinfo`, on tokio's blocking pool.
    use std::io;
    use std::net::IpAddr;

    pub(super) async fn lookup(host: &str) -> io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, 0))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_are_not_looked_up() {
        assert_eq!(
            lookup_host("127.0.0.1:80").await.unwrap(),
            vec!["127.0.0.1:80".parse().unwrap()]
        );
        assert_eq!(
            lookup_host("[::1]:80").await.unwrap(),
            vec!["[::1]:80".parse().unwrap()]
        );
        assert_eq!(
            resolve("[::1]", 5).await.unwrap(),
            vec!["[::1]:5".parse().unwrap()]
        );
    }

    #[tokio::test]
    async fn localhost_resolves_to_loopback() {
        let addrs = lookup_host("localhost:8474").await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs
            .iter()
            .all(|a| a.ip().is_loopback() && a.port() == 8474));
    }

    #[test]
    fn the_hosts_file_answers_a_name_it_knows_with_both_families_ipv4_first() {
        let text = "# comment\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n\
                    10.0.0.7\tgo-demo-8.acme.com  Repeater.acme.com # the ingress\n\
                    fd00::7 go-demo-8.acme.com\n10.0.0.8 go-demo-8.acme.com\n\
                    not-an-ip go-demo-8.acme.com\n10.0.0.7 go-demo-8.acme.com\n";
        let ips = |name| hosts_file_addresses(text, name);
        assert_eq!(
            ips("go-demo-8.acme.com"),
            ["10.0.0.7", "10.0.0.8", "fd00::7"]
                .map(|a| a.parse::<IpAddr>().unwrap())
                .to_vec()
        );
        assert_eq!(
            ips("repeater.ACME.com."),
            vec!["10.0.0.7".parse::<IpAddr>().unwrap()]
        );
        assert!(ips("acme.com").is_empty());
        assert!(ips("the").is_empty(), "a comment's words are no names");
    }

    #[tokio::test]
    async fn bad_input_names_the_problem() {
        let e = lookup_host("no-port").await.unwrap_err();
        assert!(e.to_string().contains("expected host:port"), "{e}");
        let e = lookup_host("h:99999").await.unwrap_err();
        assert!(e.to_string().contains("invalid port"), "{e}");
        let e = resolve("does-not-exist.invalid", 1).await.unwrap_err();
        assert!(e.to_string().contains("does-not-exist.invalid"), "{e}");
    }
}
