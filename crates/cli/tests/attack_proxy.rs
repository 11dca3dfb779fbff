//! The attack suite's proxy row (issue #15): a real `chaos proxy serve` process attacked as
//! a hostile API client would: proxy loops, a connection flood, slowloris API clients and
//! a foreign Host. The server refuses what it must, keeps serving its other proxies and
//! its API, and its descriptors (`/proc/<pid>/fd`) come back to where they were.

#[path = "support/proxy_server.rs"]
mod proxy_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use proxy_server::{free_port, Server};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};

/// An upstream on loopback echoing every byte, one thread per connection.
fn echo_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind echo");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// Whether one byte written to `addr` comes back (the proxy serves this client).
fn echoes(s: &mut TcpStream) -> bool {
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut b = [0u8; 1];
    s.write_all(b"x").is_ok() && matches!(s.read(&mut b), Ok(1))
}

#[test]
fn a_hostile_api_client_cannot_exhaust_or_loop_the_proxy_server() {
    const CAP: usize = 50;
    let dir = run::scratch("attack-proxy", "serve");
    let srv = Server::start(&dir, &["--max-connections", &CAP.to_string()]);
    let up = echo_upstream();
    let flooded = srv.create("flooded", up);
    let calm = srv.create("calm", up);
    let mut warm = TcpStream::connect(calm).expect("connect calm");
    assert!(echoes(&mut warm));
    drop(warm);
    // The server's descriptors settle (the warm connection's close) before the baseline.
    let mut baseline = srv.fds();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        baseline = baseline.min(srv.fds());
    }

    // Loops: refused with Toxiproxy's error shape, at create and at update.
    let port = free_port();
    let own = format!("127.0.0.1:{port}");
    let body = json!({"name": "self", "listen": own, "upstream": own}).to_string();
    let (status, text) = srv.request("POST", "/proxies", &body, "");
    let expected = json!({"error": format!("proxy loop: upstream {own} is the listen address of proxy self itself"), "status": 400});
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).ok()),
        (400, Some(expected))
    );
    let body = json!({"upstream": flooded.to_string()}).to_string();
    let (status, text) = srv.request("PATCH", "/proxies/calm", &body, "");
    assert_eq!(status, 400, "{text}");

    // A flood on one proxy: CAP clients served, the rest reset; the other proxy and the
    // API keep answering.
    let clients: Vec<TcpStream> = (0..CAP * 4)
        .filter_map(|_| TcpStream::connect(flooded).ok())
        .collect();
    let served = clients
        .into_iter()
        .map(|mut c| (echoes(&mut c), c))
        .collect::<Vec<_>>();
    assert_eq!(served.iter().filter(|(ok, _)| *ok).count(), CAP);
    let mut other = TcpStream::connect(calm).expect("connect calm");
    assert!(echoes(&mut other), "the other proxy still serves");

    // Slowloris on the API while it is flooded: others are still answered.
    let slow: Vec<TcpStream> = (0..50)
        .filter_map(|_| {
            let mut s = TcpStream::connect(srv.api).ok()?;
            s.write_all(b"GET /proxies HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                .ok()?;
            Some(s)
        })
        .collect();
    assert_eq!(srv.request("GET", "/version", "", "").0, 200);

    // DNS rebinding: a foreign Host is refused, nothing changes.
    let body = json!({"name": "rebound", "upstream": up.to_string()}).to_string();
    let (status, text) = srv.request("POST", "/proxies", &body, "Host: evil.example:8474\r\n");
    assert_eq!(status, 403, "{text}");
    let (_, list) = srv.request("GET", "/proxies", "", "");
    let list: Value = serde_json::from_str(&list).expect("proxies json");
    let names: Vec<&String> = list
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(names, ["calm", "flooded"]);

    drop(served);
    drop(other);
    drop(slow);
    let mut now = srv.fds();
    for _ in 0..300 {
        if now <= baseline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        now = srv.fds();
    }
    assert!(
        now <= baseline,
        "server descriptors {now} > baseline {baseline}"
    );
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(
        log.contains("proxy flooded: connection limit reached"),
        "no log line for the refused clients:\n{log}"
    );
}

#[test]
fn an_endless_config_file_is_refused_and_the_server_serves() {
    let dir = run::scratch("attack-proxy", "endless-config");
    let server = Server::start(&dir, &["--config", "/dev/zero"]);
    assert_eq!(server.request("GET", "/proxies", "", "").0, 200);
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert!(
        log.contains("error reading config file /dev/zero: the file is larger than 1048576 bytes"),
        "{log}"
    );
}
