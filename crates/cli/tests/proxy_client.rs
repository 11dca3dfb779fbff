//! `chaos proxy`'s own client commands beyond toxiproxy-cli's, against a real
//! `chaos proxy serve`: `create --protocol udp` makes a UDP proxy that carries datagrams, and
//! a toxic added through the same client acts on them; `create --tls-generate` and
//! `--tls-cert/--tls-key` make proxies that serve HTTPS (checked with curl), and bad TLS
//! flags or files fail with the flag, the file or the server's field named.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/proxy_server.rs"]
mod proxy_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use std::net::UdpSocket;
use std::time::Duration;

/// A UDP echo server on a free loopback port, answering every datagram with itself.
fn udp_echo() -> std::net::SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind echo");
    let addr = socket.local_addr().expect("echo addr");
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(&buf[..n], from);
        }
    });
    addr
}

/// A UDP port nobody uses right now.
fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// `chaos proxy --host API ARGS`: (exit code, stdout, stderr).
fn client(
    dir: &std::path::Path,
    api: std::net::SocketAddr,
    args: &[&str],
) -> (i32, String, String) {
    let host = format!("http://{api}");
    let mut all = vec!["proxy", "--host", host.as_str()];
    all.extend_from_slice(args);
    let out = run::chaos(dir, &all, &[]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        run::stderr(&out),
    )
}

#[test]
fn create_with_protocol_udp_makes_a_udp_proxy_that_toxics_act_on() {
    let dir = run::scratch("proxy-client", "udp");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let server = proxy_server::Server::start(&dir, &[]);
    let echo = udp_echo();
    let listen = format!("127.0.0.1:{}", free_udp_port());
    let (code, out, err) = client(
        &dir,
        server.api,
        &[
            "create",
            "dgram",
            "-l",
            &listen,
            "-u",
            &echo.to_string(),
            "--protocol",
            "udp",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "Created new proxy dgram\n");
    let (status, body) = proxy_server::request(server.api, "GET", "/proxies/dgram", "", "");
    assert_eq!(status, 200, "{body}");
    let proxy: serde_json::Value = serde_json::from_str(&body).expect("proxy JSON");
    assert_eq!(proxy["protocol"], "udp", "{proxy}");

    let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 2048];
    socket.send_to(b"first", &listen).expect("send");
    let (n, _) = socket
        .recv_from(&mut buf)
        .expect("the echo through the proxy");
    assert_eq!(&buf[..n], b"first");

    // A blackhole added through the same client: the next datagram never comes back, and
    // the toxic's own counters say it was dropped.
    let (code, out, err) = client(
        &dir,
        server.api,
        &[
            "toxic",
            "add",
            "dgram",
            "--type",
            "blackhole",
            "--toxicName",
            "hole",
            "--downstream",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    socket.send_to(b"second", &listen).expect("send");
    assert!(
        socket.recv_from(&mut buf).is_err(),
        "the blackhole let a datagram through"
    );
    let (status, body) =
        proxy_server::request(server.api, "GET", "/proxies/dgram/toxics/hole", "", "");
    assert_eq!(status, 200, "{body}");
    let toxic: serde_json::Value = serde_json::from_str(&body).expect("toxic JSON");
    let stats = &toxic["stats"];
    assert!(stats.is_object(), "{toxic}");
    let dropped: u64 = stats
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.contains("dropped"))
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    assert!(dropped >= 1, "no drop counted: {toxic}");

    // The same counters from the command line: `inspect` keeps toxiproxy-cli's line, and
    // `--stats` adds what the toxic did below it.
    let (code, plain, err) = client(&dir, server.api, &["inspect", "dgram"]);
    assert_eq!(code, 0, "{err}");
    assert!(plain.starts_with("hole\ttype=blackhole\t"), "{plain}");
    assert!(!plain.contains("stats="), "{plain}");
    let (code, out, err) = client(&dir, server.api, &["inspect", "dgram", "--stats"]);
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), plain.lines().next(), "{out}");
    let stats_line = lines.next().unwrap_or_default();
    assert!(stats_line.starts_with("\tstats=["), "{out}");
    let counted = stats_line
        .split('\t')
        .filter(|kv| kv.contains("dropped="))
        .filter_map(|kv| kv.split_once('=')?.1.parse::<u64>().ok())
        .sum::<u64>();
    assert_eq!(counted, dropped, "{out}");
}

#[test]
fn protocol_takes_tcp_or_udp_only() {
    let dir = run::scratch("proxy-client", "bad-protocol");
    let out = run::chaos(
        &dir,
        &[
            "proxy",
            "create",
            "x",
            "-l",
            "127.0.0.1:1",
            "-u",
            "127.0.0.1:2",
            "--protocol",
            "sctp",
        ],
        &[],
    );
    run::assert_clean_exit(&out, 2, "invalid value 'sctp'");
}

/// A DNS query for `name` (type A, id 0x5157, RD set), built by hand.
fn dns_query(name: &str) -> Vec<u8> {
    let mut p = vec![0x51, 0x57, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    p
}

#[test]
fn create_with_protocol_dns_makes_a_dns_proxy_that_dns_toxics_act_on() {
    let dir = run::scratch("proxy-client", "dns");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let server = proxy_server::Server::start(&dir, &[]);
    // The upstream: a UDP server that must never be asked (the toxic answers first).
    let upstream = UdpSocket::bind("127.0.0.1:0").expect("bind upstream");
    let up = upstream.local_addr().expect("addr").to_string();
    let (code, out, err) = client(
        &dir,
        server.api,
        &[
            "create",
            "resolver",
            "-l",
            "127.0.0.1:0",
            "-u",
            &up,
            "--protocol",
            "dns",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (status, body) = proxy_server::request(server.api, "GET", "/proxies/resolver", "", "");
    assert_eq!(status, 200, "{body}");
    let proxy: serde_json::Value = serde_json::from_str(&body).expect("proxy JSON");
    assert_eq!(proxy["protocol"], "dns", "{proxy}");
    let listen = proxy["listen"].as_str().expect("listen").to_string();

    let (code, out, err) = client(
        &dir,
        server.api,
        &[
            "toxic",
            "add",
            "resolver",
            "-t",
            "dns_nxdomain",
            "-n",
            "gone",
            "-a",
            "names=*.svc.test",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    socket
        .send_to(&dns_query("web.svc.test"), &listen)
        .expect("send");
    let mut buf = [0u8; 512];
    let (n, _) = socket.recv_from(&mut buf).expect("the toxic's answer");
    // Same id, a response, NXDOMAIN.
    assert!(n >= 12, "{:?}", &buf[..n]);
    assert_eq!(
        (buf[0], buf[1], buf[2] & 0x80, buf[3] & 0x0f),
        (0x51, 0x57, 0x80, 3)
    );
    upstream
        .set_nonblocking(true)
        .expect("nonblocking upstream");
    assert!(
        upstream.recv_from(&mut buf).is_err(),
        "the upstream was asked"
    );

    let (code, out, err) = client(&dir, server.api, &["inspect", "resolver", "--stats"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("queries_faulted=1") && out.contains("queries_matched=1"),
        "{out}"
    );
}

/// `curl --cacert CA URL` with the proxy's address pinned for `localhost`: (exit, body).
fn curl_https(ca: &std::path::Path, url: &str) -> (i32, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .expect("curl runs (part of the base system)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `chaos proxy create web` on a free port in front of a plain HTTP test server, with
/// `tls` flags; it must succeed. (The test server, to keep alive; the proxy's port.)
fn create_https(
    dir: &std::path::Path,
    server: &proxy_server::Server,
    tls: &[&str],
) -> (http_server::TestServer, u16) {
    let web = http_server::TestServer::start(None);
    let port = proxy_server::free_port();
    let (listen, upstream) = (
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{}", web.port()),
    );
    let mut args = vec!["create", "web", "-l", &listen, "-u", &upstream];
    args.extend_from_slice(tls);
    let (code, out, err) = client(dir, server.api, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out, "Created new proxy web\n");
    (web, port)
}

/// `create --tls-generate --tls-plain-upstream`: the proxy's JSON carries the `tls` object
/// the flags stand for, its minted CA is served, and curl trusting that CA gets the plain
/// upstream's answer over HTTPS through the proxy.
#[test]
fn create_with_tls_generate_serves_https_through_the_proxy() {
    let dir = run::scratch("proxy-client", "tls-generate");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let server = proxy_server::Server::start(&dir, &[]);
    let (_web, port) = create_https(
        &dir,
        &server,
        &[
            "--tls-generate",
            "--tls-name",
            "web.test",
            "--tls-plain-upstream",
        ],
    );
    let proxy = server.get_json("/proxies/web");
    let tls = &proxy["tls"];
    assert_eq!(tls["generate"], serde_json::json!(true), "{proxy}");
    assert_eq!(tls["upstream_tls"], serde_json::json!(false), "{proxy}");
    let names = tls["names"].as_array().cloned().unwrap_or_default();
    assert!(names.contains(&serde_json::json!("web.test")), "{proxy}");
    let (status, ca) = server.request("GET", "/proxies/web/ca.pem", "", "");
    assert_eq!(status, 200, "{ca}");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).expect("write CA");
    let (code, body) = curl_https(&ca_file, &format!("https://localhost:{port}/text"));
    assert_eq!((code, body.as_str()), (0, "hello world"));
}

/// `create --tls-cert FILE --tls-key FILE`: the files' PEM is sent (the server never sees
/// the paths), and curl trusting that self-signed certificate gets the upstream's answer.
#[test]
fn create_with_tls_cert_and_key_sends_the_files() {
    let dir = run::scratch("proxy-client", "tls-cert");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs (part of the base system)");
    assert!(made.status.success(), "{}", run::stderr(&made));
    let server = proxy_server::Server::start(&dir, &[]);
    let (cert_path, key_path) = (cert.to_str(), key.to_str());
    let (_web, port) = create_https(
        &dir,
        &server,
        &[
            "--tls-cert",
            cert_path.expect("utf-8 path"),
            "--tls-key",
            key_path.expect("utf-8 path"),
            "--tls-plain-upstream",
        ],
    );
    let (code, body) = curl_https(&cert, &format!("https://localhost:{port}/text"));
    assert_eq!((code, body.as_str()), (0, "hello world"));
}

/// Bad TLS flags: an unreadable file, or one that is not PEM (whose text the server would
/// take for a path on its machine), is named with its flag before any request; PEM that
/// is not a certificate comes back as the server's field error; flags that cannot go
/// together are refused by the parser (exit 2). Nothing is created.
#[test]
fn bad_tls_flags_and_files_fail_clearly() {
    let dir = run::scratch("proxy-client", "tls-bad");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("settings");
    let server = proxy_server::Server::start(&dir, &[]);
    let base = ["create", "web", "-l", "127.0.0.1:0", "-u", "127.0.0.1:1"];
    let with = |extra: &[&str]| -> (i32, String, String) {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        client(&dir, server.api, &args)
    };
    let missing = dir.join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let (code, out, err) = with(&["--tls-cert", missing, "--tls-key", missing]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("--tls-cert") && err.contains(missing), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "/etc/passwd\n").expect("junk");
    let junk = junk.to_str().expect("utf-8 path");
    let (code, out, err) = with(&["--tls-cert", junk, "--tls-key", junk]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("--tls-cert") && err.contains("not PEM"),
        "{err}"
    );

    let bad = dir.join("bad.pem");
    let pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    std::fs::write(&bad, pem).expect("bad PEM");
    let bad = bad.to_str().expect("utf-8 path");
    let (code, out, err) = with(&["--tls-cert", bad, "--tls-key", bad]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.starts_with("Failed to create proxy: tls."), "{err}");

    let (code, out, err) = with(&["--tls-generate", "--tls-cert", junk, "--tls-key", junk]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot be used with"), "{err}");
    let (code, out, err) = with(&["--tls-key", junk]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--tls-cert"), "{err}");

    assert_eq!(server.get_json("/proxies"), serde_json::json!({}));
}
