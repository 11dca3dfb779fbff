//! `chaos` started through links named `toxiproxy-cli` and `toxiproxy-server`
//! (`proxy::dropin`), compared with the real Toxiproxy 2.12 binaries
//! (`scripts/toxiproxy-peer` builds them into target/peers/bin as `cli` and `server`).
//!
//! The CLI scenario runs twice, command by command: the real toxiproxy-cli against a real
//! toxiproxy-server, and the symlinked `chaos` against `chaos proxy serve`. Stdout, stderr
//! and the exit status must be equal after masking only what must differ:
//! * the API's port (each side has its own server), written `<api>`;
//! * ephemeral listen ports of proxies (`127.0.0.1:0` binds), written `127.0.0.1:<port>`;
//! * the version (`go install` builds say `git`; the drop-in says `2.12.0`);
//! * the detail after `bad request body: ` (Go's JSON decoder words it, serde words ours:
//!   a documented difference of the server, not of the CLI).
//!
//! The same runs once more with stdout on a pseudo-terminal, where toxiproxy-cli prints
//! coloured tables with headers and hints.
//!
//! The server part starts the real toxiproxy-server and the symlinked one with the same
//! Go-style flags (`-host=…`, `--port N`, `-config FILE`, `-seed`, `-proxy-metrics`) and
//! checks that both serve the config's proxies and `/metrics`, and print the same usage,
//! errors and first log line (masking the program path, the seed's time-based default and
//! the log line's time).
//!
//! Without the peers the test prints a `**** SKIP` line and passes, unless `scripts/test`
//! (`SHAKEDOWN_REQUIRE_PEERS`) or `CI` requires them.

#[path = "support/proxy_server.rs"]
mod proxy_server;
#[path = "support/pty.rs"]
mod pty;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use proxy_server::free_port;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn peers() -> Option<(PathBuf, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/bin");
    let (cli, server) = (dir.join("cli"), dir.join("server"));
    if cli.exists() && server.exists() {
        return Some((cli, server));
    }
    let msg = format!(
        "Toxiproxy peers not built in {} (run scripts/toxiproxy-peer)",
        dir.display()
    );
    reference::skip_or_fail("toxiproxy_dropin", &msg);
    None
}

/// `dir/NAME`, a symbolic link to the `chaos` under test.
fn link(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_chaos"), &path).expect("symlink");
    path
}

/// A server process killed (by its own pid) when dropped.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on `api`: (status, body); (0, "") when nobody answers.
fn get(api: SocketAddr, path: &str) -> (u16, String) {
    proxy_server::request(api, "GET", path, "", "")
}

/// Starts `bin ARGS` as a server on `api`, stdout into `log`, and waits until it answers.
fn start_server(bin: &Path, args: &[&str], api: SocketAddr, log: &Path) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(log).expect("log file"))
        .stderr(Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    let mut p = Proc(cmd.spawn().expect("spawn server"));
    // Readiness wait, not a timing assertion.
    for _ in 0..400 {
        if let Ok(Some(status)) = p.0.try_wait() {
            panic!("{} exited early: {status}", bin.display());
        }
        if get(api, "/version").0 == 200 {
            return p;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} did not answer on {api}", bin.display());
}

/// One invocation's (stdout, stderr, exit status).
type Outcome = (String, String, i32);

fn invoke(bin: &Path, args: &[&str], env_url: &str) -> Outcome {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("TOXIPROXY_URL", env_url)
        .stdin(Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    let out = cmd.output().expect("run cli");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Replaces every `127.0.0.1:<digits>` whose port is not in `keep` with `127.0.0.1:<port>`.
fn mask_ports(text: &str, keep: &[&str]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(before);
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || keep.contains(&digits.as_str()) {
            out.push_str(&digits);
        } else {
            out.push_str("<port>");
        }
        rest = &after[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// The masks listed in the module documentation.
fn mask(text: &str, api: SocketAddr, version: &str) -> String {
    let text = text.replace(&api.to_string(), "<api>");
    let text = mask_ports(&text, &["9", "1"]);
    let text = text
        .replace(
            &format!("toxiproxy-cli version {version}"),
            "toxiproxy-cli version <v>",
        )
        .replace(&format!("VERSION:\n   {version}\n"), "VERSION:\n   <v>\n");
    // Line by line, keeping every newline (a missing or extra one is a difference).
    text.split_inclusive('\n')
        .map(|l| match l.find("bad request body: ") {
            Some(at) => {
                let end = if l.ends_with('\n') { "\n" } else { "" };
                format!("{}bad request body: <detail>{end}", &l[..at])
            }
            None => l.to_string(),
        })
        .collect()
}

/// The scenario: every command, alias and flag form, successes and failures, help screens.
/// `{api}` is replaced by the side's API URL.
const SCENARIO: &[&[&str]] = &[
    &["list"],
    &["create", "-l", "127.0.0.1:0", "-u", "127.0.0.1:9", "db"],
    &[
        "c",
        "--listen=127.0.0.1:0",
        "--upstream",
        "127.0.0.1:9",
        "db",
    ],
    &["create", "db", "-l", "127.0.0.1:0", "-u", "127.0.0.1:9"],
    &["create", "-l", "127.0.0.1:0", "db"],
    &["create"],
    &["new", "-l", "127.0.0.1:0", "-u", "127.0.0.1:9", "cache"],
    &["list"],
    &["ls"],
    // The book's form: urfave/cli takes one-letter aliases with two dashes too.
    &["toxic", "add", "--a", "latency=250", "-t", "latency", "db"],
    &[
        "toxic",
        "add",
        "-t",
        "latency",
        "-n",
        "l2",
        "-a",
        "latency=100",
        "-a",
        "jitter=50",
        "-u",
        "db",
    ],
    &[
        "t",
        "a",
        "--type=bandwidth",
        "--toxicName=bw",
        "-a=rate=1000",
        "--tox",
        "0.5",
        "db",
    ],
    &[
        "toxic",
        "add",
        "-t",
        "slicer",
        "-n",
        "sl",
        "-a",
        "average_size=10.5",
        "-a",
        "size_variation=2",
        "-a",
        "noequals",
        "--toxicity=0",
        "cache",
    ],
    &[
        "toxic",
        "add",
        "-t",
        "latency",
        "-n",
        "bad",
        "-a",
        "jitter=abc",
        "db",
    ],
    &["toxic", "add", "-t", "latency", "db"],
    &["toxic", "add", "-t", "bogus", "db"],
    &["toxic", "add", "-t", "latency", "nope"],
    &["toxic", "add", "-t", "latency", "-u", "-d", "db"],
    &["toxic", "add", "-t", "latency", "--tox", "2", "db"],
    &["toxic", "add", "-t", "latency", "--tox", "x", "db"],
    &["toxic", "add", "db"],
    &["toxic", "add"],
    &["toxic", "add", "-t", "latency", "db", "-n", "after"],
    &["inspect", "db"],
    &["i", "cache"],
    &["toxic", "update", "-n", "l2", "-a", "latency=300", "db"],
    &["toxic", "u", "-n", "bw", "--tox", "0.25", "db"],
    &["toxic", "update", "-n", "nope", "-a", "latency=1", "db"],
    &["toxic", "update", "-n", "l2", "nope"],
    &["toxic", "update", "-n", "l2", "--tox", "-1", "db"],
    &["toxic", "update"],
    &["ins", "db"],
    &["toxic", "remove", "-n", "l2", "db"],
    &["toxic", "r", "-n", "l2", "db"],
    &["toxic", "delete", "-n", "bw", "db"],
    &["toxic", "d", "-n", "x", "nope"],
    &["toxic", "remove"],
    &["inspect", "db"],
    &["toggle", "db"],
    &["list"],
    &["tog", "db"],
    &["toggle", "nope"],
    &["toggle"],
    &["inspect", "nope"],
    &["inspect"],
    &["list"],
    &["delete", "db"],
    &["d", "db"],
    &["delete"],
    &["list"],
    // Global flags and the host.
    &["-h", "{api}", "list"],
    &["--host={api}", "l"],
    &["-host", "{api}", "inspect", "cache"],
    &["-h", "http://127.0.0.1:1", "list"],
    &["--host", "http://127.0.0.1:1", "inspect", "x"],
    &["--host=", "list"],
    &["-h"],
    &["--version"],
    &["-v"],
    &["--zzz"],
    &["foo"],
    // Help, as asked for and as shown by mistakes.
    &[],
    &["--help"],
    &["help"],
    &["h"],
    &["help", "create"],
    &["help", "toxic"],
    &["help", "nope"],
    &["--help", "list"],
    &["toxic"],
    &["toxic", "--help"],
    &["toxic", "help"],
    &["toxic", "help", "add"],
    &["toxic", "help", "nope"],
    &["toxic", "zzz"],
    &["toxic", "-h"],
    &["toxic", "--zzz"],
    &["toxic", "add", "--help"],
    &["toxic", "update", "--help"],
    &["toxic", "remove", "--help"],
    &["toxic", "add", "help"],
    &["toxic", "add", "--zzz", "db"],
    &["toxic", "add", "-u=maybe", "db"],
    &["toxic", "add", "---x", "db"],
    &["toxic", "add", "-t"],
    &["list", "--help"],
    &["list", "help"],
    &["list", "-h"],
    &["inspect", "help"],
    &["inspect", "--help", "db"],
    &["create", "-help"],
    &["create", "--listen"],
    &["toggle", "--help"],
    &["delete", "--help"],
    &["list", "--version"],
];

/// One step's masked outcome with the real toxiproxy-cli, then with the link.
struct Compared {
    step: String,
    real: Outcome,
    ours: Outcome,
}

/// Runs `steps` through `invoke` with the real toxiproxy-cli against a real
/// toxiproxy-server and with a `toxiproxy-cli` link to `chaos` against `chaos proxy serve`
/// (`{api}` in a step is the side's API URL); `None` without the peers.
fn compare(
    name: &str,
    steps: &[&[&str]],
    invoke: fn(&Path, &[&str], &str) -> Outcome,
) -> Option<Vec<Compared>> {
    let (real_cli, real_server) = peers()?;
    let dir = run::scratch("toxiproxy-dropin", name);
    let ours_cli = link(&dir, "toxiproxy-cli");
    let real_api = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let port = real_api.port().to_string();
    let _real = start_server(
        &real_server,
        &["-host", "127.0.0.1", "-port", &port],
        real_api,
        &dir.join("real-server.log"),
    );
    let ours = proxy_server::Server::start(&dir, &[]);
    let mut compared = Vec::new();
    for step in steps {
        let mut outcomes = Vec::new();
        for (cli, api, version) in [
            (&real_cli, real_api, "git"),
            (&ours_cli, ours.api, "2.12.0"),
        ] {
            let url = format!("http://{api}");
            let args: Vec<String> = step.iter().map(|a| a.replace("{api}", &url)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (stdout, stderr, code) = invoke(cli, &args, &url);
            outcomes.push((
                mask(&stdout, api, version),
                mask(&stderr, api, version),
                code,
            ));
        }
        let ours = outcomes.pop().unwrap_or_default();
        let real = outcomes.pop().unwrap_or_default();
        compared.push(Compared {
            step: step.join(" "),
            real,
            ours,
        });
    }
    Some(compared)
}

/// Fails with every step whose outcomes differ.
fn assert_same(compared: &[Compared]) {
    let differences: Vec<String> = compared
        .iter()
        .filter(|c| c.real != c.ours)
        .map(|c| {
            format!(
                "toxiproxy-cli {}\n  real: {:?}\n  ours: {:?}",
                c.step, c.real, c.ours
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} steps differ:\n{}",
        differences.len(),
        compared.len(),
        differences.join("\n")
    );
}

#[test]
fn toxiproxy_cli_link_matches_the_real_one() {
    let Some(compared) = compare("cli", SCENARIO, invoke) else {
        return;
    };
    assert_same(&compared);
}

/// Like [`invoke`], with stdout on a terminal (where toxiproxy-cli colours its output).
fn invoke_tty(bin: &Path, args: &[&str], env_url: &str) -> Outcome {
    use std::io::Read;
    let (mut master, slave) = pty::open_pty();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Ends with EIO once every slave descriptor is closed.
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    });
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("TOXIPROXY_URL", env_url)
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    reference::remove_proxy_env(&mut cmd);
    let out = cmd
        .spawn()
        .expect("run cli")
        .wait_with_output()
        .expect("wait");
    drop(cmd);
    let stdout = reader.join().expect("terminal reader");
    (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn on_a_terminal_the_link_colours_as_the_real_one() {
    let steps: &[&[&str]] = &[
        &["list"],
        &["create", "-l", "127.0.0.1:0", "-u", "127.0.0.1:9", "db"],
        &[
            "create",
            "-l",
            "127.0.0.1:0",
            "-u",
            "127.0.0.1:9",
            "a-much-longer-name",
        ],
        &["inspect", "db"],
        &["toxic", "add", "-t", "latency", "--a", "latency=250", "db"],
        &[
            "toxic",
            "add",
            "-t",
            "bandwidth",
            "-u",
            "-a",
            "rate=10",
            "db",
        ],
        &["list"],
        &["inspect", "db"],
        &[
            "toxic",
            "add",
            "-t",
            "slow_close",
            "-u",
            "a-much-longer-name",
        ],
        &["inspect", "a-much-longer-name"],
        &["toggle", "db"],
        &["list"],
        &["toggle", "db"],
        &["inspect", "nope"],
        &["delete", "db"],
    ];
    let Some(compared) = compare("tty", steps, invoke_tty) else {
        return;
    };
    assert_same(&compared);
    // It was a terminal: the real one coloured its table.
    assert!(
        compared.iter().any(|c| c.real.0.contains("\x1b[32m")),
        "no colours from the real toxiproxy-cli"
    );
}

#[test]
fn the_drop_in_checks_what_it_compares() {
    // The masks hide only what they say they hide.
    let api: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
    assert_eq!(
        mask("db\t127.0.0.1:38257\t127.0.0.1:9\tenabled\t0", api, "git"),
        "db\t127.0.0.1:<port>\t127.0.0.1:9\tenabled\t0"
    );
    assert_eq!(
        mask("Get \"http://127.0.0.1:4000/proxies\"", api, "git"),
        "Get \"http://<api>/proxies\""
    );
    assert_ne!(
        mask("Created new proxy db\n", api, "git"),
        mask("Created new proxy dc\n", api, "git")
    );
}

/// The first line a server logged, parsed.
fn first_log_line(log: &Path) -> serde_json::Value {
    let file = std::fs::File::open(log).expect("log file");
    let mut line = String::new();
    BufReader::new(file)
        .read_line(&mut line)
        .expect("read log line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
}

#[test]
fn toxiproxy_server_link_takes_toxiproxy_servers_flags() {
    let Some((real_cli, real_server)) = peers() else {
        return;
    };
    let dir = run::scratch("toxiproxy-dropin", "server");
    let ours_server = link(&dir, "toxiproxy-server");
    let ours_cli = link(&dir, "toxiproxy-cli");
    let config = dir.join("proxies.json");
    std::fs::write(
        &config,
        r#"[{"name":"web","listen":"127.0.0.1:0","upstream":"127.0.0.1:9"},
            {"name":"off","listen":"127.0.0.1:0","upstream":"127.0.0.1:9","enabled":false}]"#,
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();

    let mut lists = Vec::new();
    for (server, cli, version, log) in [
        (&real_server, &real_cli, "git", dir.join("real.log")),
        (&ours_server, &ours_cli, "2.12.0", dir.join("ours.log")),
    ] {
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let port = api.port().to_string();
        let _server = start_server(
            server,
            &[
                "-host=127.0.0.1",
                "--port",
                &port,
                "-config",
                &config,
                "-seed",
                "7",
                "--proxy-metrics",
            ],
            api,
            &log,
        );
        let (status, body) = get(api, "/metrics");
        assert_eq!(status, 200, "{} /metrics: {body}", server.display());
        let first = first_log_line(&log);
        assert_eq!(first["message"], "Starting Toxiproxy", "{first}");
        assert_eq!(first["level"], "info", "{first}");
        assert_eq!(first["version"], version, "{first}");
        assert_eq!(first["caller"], "server.go:78", "{first}");
        assert!(
            first["time"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{first}"
        );
        let url = format!("http://{api}");
        let (stdout, stderr, code) = invoke(cli, &["list"], &url);
        lists.push((mask(&stdout, api, version), stderr, code));
    }
    assert_eq!(lists[0], lists[1]);
    assert_eq!(
        lists[1].0,
        "off\t127.0.0.1:<port>\t127.0.0.1:9\tdisabled\t0\n\
         web\t127.0.0.1:<port>\t127.0.0.1:9\tenabled\t0\n"
    );

    // Usage, bad flags and -version: same text (program path and the seed's time-based
    // default masked), same exit status.
    let mask_server = |text: &str, program: &Path| -> String {
        let text = text
            .replace(&program.display().to_string(), "<program>")
            .replace(
                "toxiproxy-server version git",
                "toxiproxy-server version <v>",
            )
            .replace(
                "toxiproxy-server version 2.12.0",
                "toxiproxy-server version <v>",
            );
        text.split_inclusive('\n')
            .map(|l| match l.find("(default ") {
                Some(at) if l.contains("Seed for") => format!("{}(default <now>)\n", &l[..at]),
                _ => l.to_string(),
            })
            .collect::<String>()
    };
    for args in [
        &["-h"][..],
        &["--help"][..],
        &["-zzz"][..],
        &["-seed", "soon"][..],
        &["-port"][..],
        &["-version"][..],
        &["--version=true"][..],
    ] {
        let mut seen = Vec::new();
        for server in [&real_server, &ours_server] {
            let mut cmd = Command::new(server);
            cmd.args(args).stdin(Stdio::null());
            let out = cmd.output().expect("run server");
            seen.push((
                mask_server(&String::from_utf8_lossy(&out.stdout), server),
                mask_server(&String::from_utf8_lossy(&out.stderr), server),
                out.status.code(),
            ));
        }
        assert_eq!(seen[0], seen[1], "toxiproxy-server {args:?}");
    }
}
