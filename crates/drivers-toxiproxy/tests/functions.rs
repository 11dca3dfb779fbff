//! The 16 `chaostoxi` functions (and Shakedown's `toxic_stats` probe) through the registry (as a `python` provider reaches
//! them), against a real `proxy::start` server on port 0 and loopback TCP upstreams.

mod support;

use std::net::SocketAddr;

use experiment::Value;
use providers::registry::Kind;
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An upstream that echoes every byte back.
async fn echo() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// An upstream that sends `n` bytes on accept, then waits for the client to close.
async fn talker(n: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind talker");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(&vec![b'x'; n]).await;
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
            });
        }
    });
    addr
}

async fn ping(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"ping").await?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).await?;
    Ok(buf.to_vec())
}

#[test]
fn registers_sixteen_functions_with_upstream_signatures_and_the_stats_probe() {
    let reg = registry();
    let pkg = reg.package("chaostoolkit-toxiproxy").expect("package");
    assert_eq!(pkg.version, "0.3.1");
    assert_eq!(pkg.target, "toxiproxy");
    assert_eq!(pkg.modules, vec![PA, PP, TA, TP]);
    let all: Vec<_> = pkg
        .modules
        .iter()
        .flat_map(|m| reg.module_functions(m))
        .collect();
    assert_eq!(all.len(), 17);
    assert_eq!(all.iter().filter(|f| f.kind == Kind::Probe).count(), 3);
    for f in &all {
        assert_eq!(
            f.kind == Kind::Probe,
            f.module == PP || f.module == TP,
            "{}",
            f.name
        );
        assert!(!f.doc.is_empty(), "{} has a doc", f.name);
        // Upstream's parameters end with `configuration`; Shakedown's only additions,
        // create_proxy's `protocol` and `tls`, come after it so positional calls bind as
        // upstream.
        let params = &f.signature.params;
        let last = match params.last() {
            Some(p) if f.name == "create_proxy" && p.name == "tls" => &params[params.len() - 3],
            other => other.expect("params"),
        };
        assert_eq!(last.name, "configuration", "{}", f.name);
        assert_eq!(last.default, Some(Value::Null));
    }
    let sig = |m: &str, f: &str| -> Vec<(String, Option<Value>)> {
        reg.function(m, f)
            .expect("registered")
            .signature
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect()
    };
    let s = |n: &str, d: Option<Value>| (n.to_string(), d);
    assert_eq!(
        sig(PA, "create_proxy"),
        vec![
            s("proxy_name", None),
            s("upstream_host", None),
            s("upstream_port", None),
            s("listen_host", Some(json!("0.0.0.0"))),
            s("listen_port", Some(json!(0))),
            s("enabled", Some(json!(true))),
            s("configuration", Some(Value::Null)),
            s("protocol", Some(Value::Null)),
            s("tls", Some(Value::Null)),
        ]
    );
    assert_eq!(
        sig(TA, "create_toxic"),
        vec![
            s("for_proxy", None),
            s("toxic_name", None),
            s("toxic_type", None),
            s("stream", Some(json!("downstream"))),
            s("toxicity", Some(json!(1.0))),
            s("attributes", Some(Value::Null)),
            s("configuration", Some(Value::Null)),
        ]
    );
    assert_eq!(
        sig(TA, "create_limiter_toxic"),
        vec![
            s("for_proxy", None),
            s("toxic_name", None),
            s("bytes_limit", None),
            s("configuration", Some(Value::Null)),
        ]
    );
    let names: Vec<&str> = all.iter().map(|f| f.name).collect();
    for n in [
        "create_proxy",
        "modify_proxy",
        "disable_proxy",
        "enable_proxy",
        "delete_proxy",
        "reset",
        "proxy_exist",
        "get_proxy_attribute",
        "create_toxic",
        "create_latency_toxic",
        "create_bandwith_degradation_toxic",
        "create_slow_connection_close_toxic",
        "create_timeout_toxic",
        "create_slicer_toxic",
        "create_limiter_toxic",
        "delete_toxic",
        "toxic_stats",
    ] {
        assert!(names.contains(&n), "{n} missing");
    }
}

#[tokio::test]
async fn proxy_lifecycle() {
    let env = Env::new().await;
    let up = echo().await;
    env.create("toxi_life", up).await;
    let addr = env.listen_addr("toxi_life").await;
    assert_eq!(
        ping(addr).await.expect("traffic through the proxy"),
        b"ping"
    );
    // Upstream exports the listen port for later activities.
    assert_eq!(
        std::env::var("toxi_life_PORT").expect("port exported"),
        addr.port().to_string()
    );

    env.assert_exists("toxi_life", true).await;
    env.assert_attribute(
        "toxi_life",
        "upstream",
        json!(format!("127.0.0.1:{}", up.port())),
    )
    .await;
    env.assert_attribute("toxi_life", "enabled", json!(true))
        .await;
    let e = env
        .failure(
            PP,
            "get_proxy_attribute",
            json!({"proxy_name": "toxi_life", "attribute": "nope"}),
        )
        .await;
    assert!(e.starts_with("KeyError: 'nope'"), "{e}");

    // A second proxy of the same name is refused.
    let e = env
        .failure(
            PA,
            "create_proxy",
            json!({"proxy_name": "toxi_life", "upstream_host": "127.0.0.1",
                   "upstream_port": up.port(), "listen_host": "127.0.0.1"}),
        )
        .await;
    assert_eq!(
        e,
        "AssertionError: Toxiproxy did not create proxy 'toxi_life': proxy already exists (409)"
    );

    // Disabled: nothing listens; enabled again: same port, traffic flows.
    env.assert_proxy_action("disable_proxy", "toxi_life", json!(true))
        .await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "disabled proxy refuses"
    );
    env.assert_attribute("toxi_life", "enabled", json!(false))
        .await;
    env.assert_proxy_action("enable_proxy", "toxi_life", json!(true))
        .await;
    assert_eq!(ping(addr).await.expect("re-enabled"), b"ping");

    // modify_proxy changes only what it is given.
    let up2 = echo().await;
    env.assert_returns(
        PA,
        "modify_proxy",
        json!({"proxy_name": "toxi_life", "upstream_address": up2.to_string()}),
        json!(true),
    )
    .await;
    env.assert_attribute("toxi_life", "upstream", json!(up2.to_string()))
        .await;
    assert_eq!(env.listen_addr("toxi_life").await, addr);
    let e = env
        .failure(
            PA,
            "modify_proxy",
            json!({"proxy_name": "ghost", "enabled": true}),
        )
        .await;
    assert_eq!(
        e,
        "AssertionError: Toxiproxy did not modify proxy 'ghost': proxy not found (404)"
    );
    for f in ["enable_proxy", "disable_proxy"] {
        let e = env.failure(PA, f, json!({"proxy_name": "ghost"})).await;
        assert!(e.starts_with("AssertionError: "), "{f}: {e}");
    }

    // delete_proxy returns None, twice (the second failure is only logged).
    for _ in 0..2 {
        env.assert_proxy_action("delete_proxy", "toxi_life", Value::Null)
            .await;
    }
    env.assert_exists("toxi_life", false).await;
    env.assert_attribute("toxi_life", "listen", Value::Null)
        .await;
    env.srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn upstream_from_environment() {
    let env = Env::new().await;
    let up = echo().await;
    std::env::set_var("TOXI_TEST_UP_HOST", "127.0.0.1");
    std::env::set_var("TOXI_TEST_UP_PORT", up.port().to_string());
    env.assert_returns(
        PA,
        "create_proxy",
        json!({"proxy_name": "toxi_env", "upstream_host": "env:TOXI_TEST_UP_HOST",
               "upstream_port": "env:TOXI_TEST_UP_PORT", "listen_host": "127.0.0.1",
               "enabled": false}),
        json!(true),
    )
    .await;
    env.assert_attribute("toxi_env", "upstream", json!(up.to_string()))
        .await;
    env.assert_attribute("toxi_env", "enabled", json!(false))
        .await;
    let e = env
        .failure(
            PA,
            "create_proxy",
            json!({"proxy_name": "toxi_env2", "upstream_host": "env:TOXI_TEST_NOT_SET",
                   "upstream_port": 1}),
        )
        .await;
    assert!(e.starts_with("KeyError: 'TOXI_TEST_NOT_SET'"), "{e}");
    env.srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn toxics_of_every_helper() {
    let env = Env::new().await;
    let up = echo().await;
    env.create("toxi_tox", up).await;
    let cases = [
        (
            "create_latency_toxic",
            json!({"latency": 100}),
            "latency",
            json!({"latency": 100, "jitter": 0}),
        ),
        (
            "create_bandwith_degradation_toxic",
            json!({"rate": 1000}),
            "bandwidth",
            json!({"rate": 1000}),
        ),
        (
            "create_slow_connection_close_toxic",
            json!({"delay": 50}),
            "slow_close",
            json!({"delay": 50}),
        ),
        (
            "create_timeout_toxic",
            json!({"timeout": 0}),
            "timeout",
            json!({"timeout": 0}),
        ),
        (
            "create_slicer_toxic",
            json!({"average_size": 64, "size_variation": 8, "delay": 10}),
            "slicer",
            json!({"average_size": 64, "size_variation": 8, "delay": 10}),
        ),
        (
            "create_limiter_toxic",
            json!({"bytes_limit": 10}),
            "limit_data",
            json!({"bytes": 10}),
        ),
    ];
    for (i, (func, extra, kind, attrs)) in cases.iter().enumerate() {
        let name = format!("t{i}");
        let mut args = obj(json!({"for_proxy": "toxi_tox", "toxic_name": name}));
        args.extend(obj(extra.clone()));
        env.assert_returns(TA, func, Value::Object(args), json!(true))
            .await;
        let toxics = env.attribute("toxi_tox", "toxics").await;
        let t = toxics
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == json!(name)))
            .unwrap_or_else(|| panic!("{func}: toxic {name} in {toxics}"));
        assert_eq!(t["type"], json!(kind), "{func}");
        assert_eq!(t["stream"], json!("downstream"), "{func}");
        assert_eq!(t["toxicity"], json!(1), "{func}");
        assert_eq!(t["attributes"], *attrs, "{func}");
    }

    // Generic create_toxic, upstream direction, partial toxicity.
    env.assert_returns(
        TA,
        "create_toxic",
        json!({"for_proxy": "toxi_tox", "toxic_name": "generic", "toxic_type": "latency",
               "stream": "upstream", "toxicity": 0.5, "attributes": {"latency": 5}}),
        json!(true),
    )
    .await;
    // Duplicate name: upstream subscripts None.
    let e = env
        .failure(
            TA,
            "create_toxic",
            json!({"for_proxy": "toxi_tox", "toxic_name": "generic", "toxic_type": "latency"}),
        )
        .await;
    assert_eq!(
        e,
        "TypeError: 'NoneType' object is not subscriptable (Toxiproxy did not create toxic \
         'generic' on proxy 'toxi_tox': toxic already exists (409))"
    );
    let e = env
        .failure(
            TA,
            "create_toxic",
            json!({"for_proxy": "toxi_tox", "toxic_name": "bad", "toxic_type": "nonsense"}),
        )
        .await;
    assert!(e.ends_with("invalid toxic type (400))"), "{e}");
    let e = env
        .failure(
            TA,
            "create_latency_toxic",
            json!({"for_proxy": "ghost", "toxic_name": "x", "latency": 1}),
        )
        .await;
    assert!(e.ends_with("proxy not found (404))"), "{e}");
    // No name: the server names it latency_downstream, which is not the requested None.
    env.assert_returns(
        TA,
        "create_toxic",
        json!({"for_proxy": "toxi_tox", "toxic_name": null, "toxic_type": "latency"}),
        json!(false),
    )
    .await;

    // delete_toxic: True, then False once gone.
    env.assert_deletes_toxic("toxi_tox", "generic", true).await;
    env.assert_deletes_toxic("toxi_tox", "generic", false).await;

    // reset: every toxic gone, proxies kept and enabled.
    env.ok(PA, "disable_proxy", json!({"proxy_name": "toxi_tox"}))
        .await;
    env.assert_returns(PA, "reset", json!({}), json!(true))
        .await;
    env.assert_attribute("toxi_tox", "toxics", json!([])).await;
    env.assert_attribute("toxi_tox", "enabled", json!(true))
        .await;
    env.srv.shutdown().await.expect("shutdown");
}

/// The limiter really cuts the stream: the client gets exactly `bytes_limit` bytes.
#[tokio::test]
async fn limiter_toxic_truncates_traffic() {
    let env = Env::new().await;
    let up = talker(1000).await;
    env.create("toxi_limit", up).await;
    let addr = env.listen_addr("toxi_limit").await;
    env.ok(
        TA,
        "create_limiter_toxic",
        json!({"for_proxy": "toxi_limit", "toxic_name": "cap", "bytes_limit": 10}),
    )
    .await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.expect("read until close");
    assert_eq!(got.len(), 10);

    env.ok(
        TA,
        "delete_toxic",
        json!({"for_proxy": "toxi_limit", "toxic_name": "cap"}),
    )
    .await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut got = vec![0u8; 1000];
    s.read_exact(&mut got)
        .await
        .expect("all 1000 bytes once the toxic is gone");
    env.srv.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn configuration_and_argument_errors() {
    let reg = registry();
    // toxiproxy_url wins over host/port.
    let env = Env::new().await;
    let cfg = obj(json!({"toxiproxy_url": env.srv.url(), "toxiproxy_host": "10.255.255.1"}));
    assert_eq!(
        call_with(&reg, &cfg, PP, "proxy_exist", json!({"proxy_name": "none"}))
            .await
            .expect("url config"),
        json!(false)
    );

    // Nothing listening: the probe fails like requests' ConnectionError...
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let cfg = obj(json!({"toxiproxy_host": "127.0.0.1", "toxiproxy_port": dead}));
    let e = failed(call_with(&reg, &cfg, PP, "proxy_exist", json!({"proxy_name": "p"})).await);
    assert!(
        e.starts_with(&format!(
            "requests.exceptions.ConnectionError: cannot reach Toxiproxy at http://127.0.0.1:{dead}"
        )),
        "{e}"
    );
    for (m, f, a) in [
        (PA, "reset", json!({})),
        (
            TA,
            "delete_toxic",
            json!({"for_proxy": "p", "toxic_name": "t"}),
        ),
        (PA, "disable_proxy", json!({"proxy_name": "p"})),
    ] {
        let e = failed(call_with(&reg, &cfg, m, f, a).await);
        assert!(
            e.starts_with("requests.exceptions.ConnectionError"),
            "{f}: {e}"
        );
    }
    // ...except delete_proxy, which upstream never lets fail.
    assert_eq!(
        call_with(&reg, &cfg, PA, "delete_proxy", json!({"proxy_name": "p"}))
            .await
            .expect("delete_proxy swallows errors"),
        Value::Null
    );

    // Python-style binding errors.
    let e = env
        .failure(PA, "create_proxy", json!({"proxy_name": "x"}))
        .await;
    assert_eq!(
        e,
        "TypeError: create_proxy() missing 2 required positional arguments: 'upstream_host' and 'upstream_port'"
    );
    let e = env
        .failure(PP, "proxy_exist", json!({"proxy_name": "x", "bogus": 1}))
        .await;
    assert_eq!(
        e,
        "TypeError: proxy_exist() got an unexpected keyword argument 'bogus'"
    );
    // An explicit `configuration` argument is replaced by the run's configuration.
    env.assert_returns(
        PP,
        "proxy_exist",
        json!({"proxy_name": "x", "configuration": {"toxiproxy_host": "10.255.255.1"}}),
        json!(false),
    )
    .await;
    env.srv.shutdown().await.expect("shutdown");
}

/// `toxic_stats` returns what the toxic did on real traffic, and `get_proxy_attribute`'s
/// toxics carry the same counters as an extra `stats` key.
#[tokio::test]
async fn toxic_stats_proves_the_fault_happened() {
    let env = Env::new().await;
    env.create("toxi_stats", echo().await).await;
    let addr = env.listen_addr("toxi_stats").await;
    env.ok(
        TA,
        "create_latency_toxic",
        json!({"for_proxy": "toxi_stats", "toxic_name": "lag", "latency": 5}),
    )
    .await;
    let args = json!({"for_proxy": "toxi_stats", "toxic_name": "lag"});
    let before = env.ok(TP, "toxic_stats", args.clone()).await;
    assert_eq!(before["bytes_delayed"], json!(0), "{before}");
    for _ in 0..3 {
        assert_eq!(ping(addr).await.expect("ping"), b"ping");
    }
    let s = env.ok(TP, "toxic_stats", args.clone()).await;
    assert_eq!(s["connections"], json!(3), "{s}");
    assert_eq!(s["bytes_in"], json!(12), "{s}");
    assert_eq!(s["bytes_delayed"], json!(12), "{s}");
    assert_eq!(s["bytes_dropped"], json!(0), "{s}");
    let toxics = env.attribute("toxi_stats", "toxics").await;
    assert_eq!(toxics[0]["stats"], s, "{toxics}");

    let e = env
        .failure(
            TP,
            "toxic_stats",
            json!({"for_proxy": "toxi_stats", "toxic_name": "ghost"}),
        )
        .await;
    assert_eq!(
        e,
        "cannot read toxic 'ghost' of proxy 'toxi_stats': toxic not found (404)"
    );
    env.srv.shutdown().await.expect("shutdown");
}
