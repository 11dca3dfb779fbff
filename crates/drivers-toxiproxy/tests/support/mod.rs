#![allow(dead_code)]
//! What the `chaostoxi` function tests share: the registry with the driver in it, a real
//! `proxy::start` server on port 0 with the configuration that reaches it, and calls
//! through the registry (as a `python` provider makes them) with checks of their results.

use std::net::SocketAddr;

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};
use providers::ProviderError;
use proxy::{ServeConfig, ServerHandle};
use serde_json::json;

pub const PA: &str = "chaostoxi.proxy.actions";
pub const PP: &str = "chaostoxi.proxy.probes";
pub const TA: &str = "chaostoxi.toxic.actions";
/// Shakedown's extension module (proof of injection).
pub const TP: &str = "chaostoxi.toxic.probes";

pub fn registry() -> Registry {
    let mut r = Registry::new();
    drivers_toxiproxy::register(&mut r);
    r
}

pub fn obj(v: Value) -> Map {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

pub struct Env {
    pub reg: Registry,
    pub srv: ServerHandle,
    pub cfg: Map,
}

impl Env {
    pub async fn new() -> Env {
        let srv = proxy::start(ServeConfig {
            port: 0,
            ..Default::default()
        })
        .await
        .expect("proxy server starts");
        let cfg = obj(json!({"toxiproxy_host": "127.0.0.1", "toxiproxy_port": srv.addr().port()}));
        Env {
            reg: registry(),
            srv,
            cfg,
        }
    }

    pub async fn call(
        &self,
        module: &str,
        func: &str,
        args: Value,
    ) -> Result<Value, ProviderError> {
        call_with(&self.reg, &self.cfg, module, func, args).await
    }

    /// The result of a call that must succeed.
    pub async fn ok(&self, module: &str, func: &str, args: Value) -> Value {
        self.call(module, func, args)
            .await
            .unwrap_or_else(|e| panic!("{module}.{func} failed: {e}"))
    }

    /// The message of a call that must fail as an activity failure.
    pub async fn failure(&self, module: &str, func: &str, args: Value) -> String {
        failed(self.call(module, func, args).await)
    }

    /// Checks that a call succeeds and returns `expected`.
    pub async fn assert_returns(&self, module: &str, func: &str, args: Value, expected: Value) {
        assert_eq!(
            self.ok(module, func, args).await,
            expected,
            "{module}.{func}"
        );
    }

    /// `get_proxy_attribute` of `proxy`.
    pub async fn attribute(&self, proxy: &str, attribute: &str) -> Value {
        self.ok(
            PP,
            "get_proxy_attribute",
            json!({"proxy_name": proxy, "attribute": attribute}),
        )
        .await
    }

    /// Checks `get_proxy_attribute` of `proxy` returns `expected`.
    pub async fn assert_attribute(&self, proxy: &str, attribute: &str, expected: Value) {
        assert_eq!(
            self.attribute(proxy, attribute).await,
            expected,
            "{attribute} of {proxy}"
        );
    }

    /// Checks `proxy_exist` of `proxy` answers `exists`.
    pub async fn assert_exists(&self, proxy: &str, exists: bool) {
        self.assert_returns(
            PP,
            "proxy_exist",
            json!({"proxy_name": proxy}),
            json!(exists),
        )
        .await;
    }

    /// Checks that `func` of the proxy actions, called with just `proxy_name`, returns
    /// `expected`.
    pub async fn assert_proxy_action(&self, func: &str, proxy: &str, expected: Value) {
        self.assert_returns(PA, func, json!({"proxy_name": proxy}), expected)
            .await;
    }

    /// Checks that `delete_toxic` of `toxic` on `proxy` answers `deleted`.
    pub async fn assert_deletes_toxic(&self, proxy: &str, toxic: &str, deleted: bool) {
        self.assert_returns(
            TA,
            "delete_toxic",
            json!({"for_proxy": proxy, "toxic_name": toxic}),
            json!(deleted),
        )
        .await;
    }

    pub async fn listen_addr(&self, proxy: &str) -> SocketAddr {
        let listen = self.attribute(proxy, "listen").await;
        listen
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("listen address of {proxy}: {listen}"))
    }

    /// Creates `name` on 127.0.0.1 (ephemeral port) in front of `upstream`.
    pub async fn create(&self, name: &str, upstream: SocketAddr) {
        self.assert_returns(
            PA,
            "create_proxy",
            json!({"proxy_name": name, "upstream_host": "127.0.0.1",
                   "upstream_port": upstream.port(), "listen_host": "127.0.0.1"}),
            json!(true),
        )
        .await;
    }
}

pub async fn call_with(
    reg: &Registry,
    cfg: &Map,
    module: &str,
    func: &str,
    args: Value,
) -> Result<Value, ProviderError> {
    let f = reg
        .function(module, func)
        .unwrap_or_else(|| panic!("{module}.{func} is registered"));
    f.driver
        .call(Invocation {
            arguments: obj(args),
            configuration: cfg,
            secrets: Map::new(),
        })
        .await
}

pub fn failed(r: Result<Value, ProviderError>) -> String {
    match r {
        Err(ProviderError::Failed(m)) => m.into_message(),
        other => panic!("expected an activity failure, got {other:?}"),
    }
}
