//! The Kubernetes client, with names resolved by `providers::dns`.
//!
//! kube's `Client::try_from(config)` dials through hyper-util's `HttpConnector::new()`, whose
//! resolver is the C library's `getaddrinfo`; the static release binary cannot rely on that
//! (see the `dns` crate). So when `dns::PURE_RUST` is set, this builds the same stack kube
//! builds (kube-client 5.0's `make_generic_builder`: rustls from the config, connect/read/write
//! timeouts, base URI, retries, authentication, extra headers) around a connector that asks
//! `dns::HyperResolver`. Left out: kube's tracing spans (we do not use `tracing`), gzip (a
//! feature we do not enable) and `valid_until` (kube keeps the expiry of exec-plugin client
//! certificates to itself; our cache does not read it). A configured `proxy_url` goes to kube's
//! own builder, which rejects it exactly as before (the proxy features are off). Without the
//! pure-Rust resolver (development builds, the test suite) the client is kube's own, unchanged.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::ConfigExt;
use kube::Config;
use providers::dns;
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

/// A client for `config`: kube's own, or with `dns::PURE_RUST` the same stack resolving
/// through `dns`.
pub fn client(config: Config) -> Result<kube::Client, kube::Error> {
    if !dns::PURE_RUST || config.proxy_url.is_some() {
        return kube::Client::try_from(config);
    }
    let default_ns = config.default_namespace.clone();
    let mut http = HttpConnector::new_with_resolver(dns::HyperResolver);
    http.enforce_http(false);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let retry = config
        .default_retry
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(kube::Client::new(service, default_ns))
}
