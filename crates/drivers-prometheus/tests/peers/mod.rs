#![allow(dead_code)]
//! Real Prometheus and Pushgateway peers for the `chaosprometheus` tests, started once per
//! test binary on loopback ports: Prometheus (from Debian's `prometheus` package,
//! installed into target/peers/bin by `scripts/prometheus-peer`) scrapes a small HTTP
//! target this module serves, every second; the Pushgateway (Debian's
//! `prometheus-pushgateway`) receives what the metrics control pushes.
//!
//! Policy for a missing binary, as the toxiproxy-python peer's (crates/cli/tests/
//! e2e_toxiproxy.rs): if `scripts/prometheus-peer` ever ran here (it leaves
//! target/peers/prometheus.requested) or `SHAKEDOWN_REQUIRE_PEERS` (set by scripts/test)
//! or `CI` is set, the test FAILS naming the script;
//! otherwise it prints a loud SKIP line naming the script and passes.
//!
//! The processes are started from one parked thread with a parent-death signal, so they
//! end with the test binary whichever test started them. Included by path from the CLI's
//! tests too (`crates/cli/tests/prometheus_control.rs`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The series the target exposes, with their constant values.
pub const SERIES_A: f64 = 42.0;
pub const SERIES_B: f64 = 0.5;
/// The job name Prometheus scrapes the target under.
pub const JOB: &str = "shakedown-target";
/// The basic-auth user of the secured Prometheus, its password and the password's bcrypt
/// hash (made with `crypt.crypt('s3cret-pw', crypt.mksalt(crypt.METHOD_BLOWFISH,
/// rounds=16))`; cost 4 keeps each request cheap).
pub const USER: &str = "chaos";
pub const PASSWORD: &str = "s3cret-pw";
const PASSWORD_BCRYPT: &str = "$2b$04$t54N99QaHdotu3kfg8hlue7i7j5WALAQbVvfbNNeswLpgU9C.qxB2";
/// The bearer token the target's stand-in API (an auth proxy in front of Prometheus)
/// accepts.
pub const TOKEN: &str = "t0ken-that-must-not-leak";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("Cargo.lock").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

fn peer_bin(name: &str) -> Option<PathBuf> {
    let peers = workspace_root().join("target/peers");
    let bin = peers.join("bin").join(name);
    if bin.exists() {
        return Some(bin);
    }
    let required = peers.join("prometheus.requested").exists()
        || ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"));
    if required {
        panic!(
            "{} is missing although scripts/prometheus-peer was supposed to install it \
             (it ran here before, or SHAKEDOWN_REQUIRE_PEERS or CI is set): run scripts/prometheus-peer",
            bin.display()
        );
    }
    eprintln!(
        "\n**** SKIP: {} not found; run scripts/prometheus-peer to install Prometheus and \
         the Pushgateway from Debian's packages ****\n",
        bin.display()
    );
    None
}

/// The peers of this test binary.
pub struct Peers {
    /// `http://127.0.0.1:<port>` of Prometheus (no authentication).
    pub prometheus: String,
    /// `http://127.0.0.1:<port>` of the Pushgateway.
    pub pushgateway: String,
    /// `http://127.0.0.1:<port>` of the scrape target (also a bearer-checking stand-in API).
    pub target: String,
    /// The requests the target received, as `METHOD path authorization`.
    pub target_log: Arc<Mutex<Vec<String>>>,
}

/// The peers, started on first use; `None` when they are not installed (see the policy).
pub fn peers() -> Option<&'static Peers> {
    static PEERS: OnceLock<Option<Peers>> = OnceLock::new();
    PEERS.get_or_init(start_peers).as_ref()
}

/// A second Prometheus that requires basic authentication (`USER`/`PASSWORD`), started
/// on first use.
pub fn secured_prometheus() -> Option<&'static String> {
    static SECURED: OnceLock<Option<String>> = OnceLock::new();
    SECURED
        .get_or_init(|| {
            let target = peers()?.target.clone();
            let bin = peer_bin("prometheus")?;
            Some(start_prometheus(&bin, &target, true))
        })
        .as_ref()
}

/// A listener that accepts connections and never answers.
pub fn silent_server() -> SocketAddr {
    static SILENT: OnceLock<SocketAddr> = OnceLock::new();
    *SILENT.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        addr
    })
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    free_port()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_peers() -> Option<Peers> {
    let prometheus_bin = peer_bin("prometheus")?;
    let pushgateway_bin = peer_bin("prometheus-pushgateway")?;
    let (target, target_log) = start_target();
    let pushgateway = spawn_peer(
        &pushgateway_bin,
        |port| {
            vec![
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=error".into(),
            ]
        },
        None,
    );
    let prometheus = start_prometheus(&prometheus_bin, &target, false);
    Some(Peers {
        prometheus,
        pushgateway,
        target,
        target_log,
    })
}

/// A Prometheus of its own scraping `target` (`http://host:port`, its `/metrics`) every
/// second under the job [`JOB`], ready once it has scraped it; `None` when Prometheus is
/// not installed (see the policy). `name` keeps its data apart from other instances.
pub fn prometheus_scraping(target: &str, name: &str) -> Option<String> {
    let bin = peer_bin("prometheus")?;
    Some(start_prometheus_in(&bin, target, false, name))
}

fn start_prometheus(bin: &Path, target: &str, secured: bool) -> String {
    start_prometheus_in(
        bin,
        target,
        secured,
        if secured { "secured" } else { "plain" },
    )
}

fn start_prometheus_in(bin: &Path, target: &str, secured: bool, name: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("prometheus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("prometheus dir");
    let target_host = target.trim_start_matches("http://");
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  \
             - job_name: {JOB}\n    static_configs:\n      - targets: ['{target_host}']\n"
        ),
    )
    .expect("prometheus.yml");
    let mut args_dir = vec![
        format!("--config.file={}", dir.join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", dir.join("data").display()),
        "--log.level=error".into(),
    ];
    let auth = if secured {
        std::fs::write(
            dir.join("web.yml"),
            format!("basic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n"),
        )
        .expect("web.yml");
        args_dir.push(format!(
            "--web.config.file={}",
            dir.join("web.yml").display()
        ));
        Some(format!("Basic {}", basic(USER, PASSWORD)))
    } else {
        None
    };
    let url = spawn_peer(
        bin,
        |port| {
            let mut args = args_dir.clone();
            args.push(format!("--web.listen-address=127.0.0.1:{port}"));
            args
        },
        auth.as_deref(),
    );
    // Ready once the target has been scraped: the probes then see the series.
    let query = format!("/api/v1/query?query=up%7Bjob%3D%22{JOB}%22%7D");
    wait_for(&format!("{url} to scrape {target}"), || {
        get(&url, &query, auth.as_deref())
            .is_some_and(|(status, body)| status == 200 && body.contains("\"1\"]"))
    });
    url
}

fn basic(user: &str, password: &str) -> String {
    drivers_prometheus::client::base64(format!("{user}:{password}").as_bytes())
}

/// Starts `bin` on a free port from the keeper thread and waits for its `/-/ready`.
fn spawn_peer(bin: &Path, args: impl Fn(u16) -> Vec<String>, auth: Option<&str>) -> String {
    let port = free_port();
    let mut command = Command::new(bin);
    command
        .args(args(port))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    keeper().spawn(command);
    let url = format!("http://127.0.0.1:{port}");
    wait_for(&format!("{} on {url}", bin.display()), || {
        get(&url, "/-/ready", auth).is_some_and(|(status, _)| status == 200)
    });
    url
}

/// The thread that starts the peers and lives as long as the test binary: a child's
/// parent-death signal fires when the thread that forked it ends.
struct Keeper {
    requests: Mutex<mpsc::Sender<(Command, mpsc::Sender<()>)>>,
}

impl Keeper {
    fn spawn(&self, command: Command) {
        let (reply, answer) = mpsc::channel();
        self.requests
            .lock()
            .expect("keeper")
            .send((command, reply))
            .expect("keeper thread alive");
        answer.recv().expect("peer started");
    }
}

fn keeper() -> &'static Keeper {
    static KEEPER: OnceLock<Keeper> = OnceLock::new();
    KEEPER.get_or_init(|| {
        let (requests, incoming) = mpsc::channel::<(Command, mpsc::Sender<()>)>();
        std::thread::spawn(move || {
            // Held, never waited: they live as long as the test binary.
            let mut children: Vec<Child> = Vec::new();
            for (mut command, reply) in incoming {
                // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                unsafe {
                    command.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                children.push(command.spawn().expect("peer spawns"));
                let _ = reply.send(());
            }
        });
        Keeper {
            requests: Mutex::new(requests),
        }
    })
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} not ready within 60 s");
}

/// A blocking HTTP/1.0 GET: the status and the body; `None` when the server is not there.
pub fn get(base: &str, path: &str, authorization: Option<&str>) -> Option<(u16, String)> {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// The scrape target: `/metrics` with two constant gauges and an idle-CPU counter that
/// grows at 0.75 s per second (so `nodes_cpu_usage_mean` reads about 25 %); `/api/v1/*`
/// is a stand-in for Prometheus behind an auth proxy that wants `Bearer TOKEN`.
fn start_target() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind target");
    let addr = listener.local_addr().expect("target addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let born = Instant::now();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || serve(stream, born, &seen));
        }
    });
    (format!("http://{addr}"), log)
}

fn serve(mut stream: TcpStream, born: Instant, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let path = target.split('?').next().unwrap_or_default().to_string();
    if path != "/metrics" {
        if let Ok(mut seen) = seen.lock() {
            seen.push(format!("{method} {target} {authorization}"));
        }
    }
    let (status, content_type, body) = match path.as_str() {
        "/metrics" => {
            let idle = born.elapsed().as_secs_f64() * 0.75;
            (
                "200 OK",
                "text/plain; version=0.0.4",
                format!(
                    "# TYPE shakedown_probe_value gauge\n\
                     shakedown_probe_value{{series=\"a\"}} {SERIES_A}\n\
                     shakedown_probe_value{{series=\"b\"}} {SERIES_B}\n\
                     # TYPE node_cpu_seconds_total counter\n\
                     node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} {idle}\n"
                ),
            )
        }
        p if p.starts_with("/api/v1/") && authorization == format!("Bearer {TOKEN}") => (
            "200 OK",
            "application/json",
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}}"#
                .to_string(),
        ),
        p if p.starts_with("/api/v1/") => (
            "401 Unauthorized",
            "text/plain",
            "Unauthorized\n".to_string(),
        ),
        _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
