//! `toxiproxy-server` 2.12 as a drop-in: what `chaos` does when started through a link
//! named `toxiproxy-server`.
//!
//! Why: Docker images, CI scripts and PowerfulSeal's clone sidecar start
//! `toxiproxy-server -host=0.0.0.0 -port 8474 -config proxies.json` with Go's flag syntax
//! and read its JSON log lines. This front end accepts exactly those flags (Go's `flag`
//! rules: `-flag value`, `-flag=value`, one or two dashes), prints Go's usage and errors
//! (usage on stderr; exit 0 for `-h`, 2 for a bad flag), `-version`'s line, and logs as
//! zerolog does: one JSON object per line on stdout with `level`, `caller`, a UTC `time`
//! and `message`, filtered by `LOG_LEVEL`. The server behind it is `chaos proxy serve`'s,
//! with Toxiproxy's default API host (`localhost`); Shakedown's own options
//! (`--allow-host`, `--max-connections`) stay on `chaos proxy serve`.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};
use serde_json::{Map, Value};

use super::cli::VERSION;
use super::goflag::{self, Flag, FlagError, Kind};
use crate::ServeConfig;

const FLAGS: &[Flag] = &[
    Flag {
        names: &["host"],
        kind: Kind::Str,
    },
    Flag {
        names: &["port"],
        kind: Kind::Str,
    },
    Flag {
        names: &["config"],
        kind: Kind::Str,
    },
    Flag {
        names: &["seed"],
        kind: Kind::Str,
    },
    Flag {
        names: &["runtime-metrics"],
        kind: Kind::Bool,
    },
    Flag {
        names: &["proxy-metrics"],
        kind: Kind::Bool,
    },
    Flag {
        names: &["version"],
        kind: Kind::Bool,
    },
];

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Request {
    /// Serve with this configuration.
    Serve(ServeConfig),
    /// Print this text on stdout and exit 0 (`-version`).
    Print(String),
    /// Print this text on stderr and exit with this status (usage, bad flags).
    Usage(String, u8),
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Go's `flag.PrintDefaults` for toxiproxy-server (flags sorted by name).
pub fn usage(program: &str) -> String {
    format!(
        "Usage of {program}:\n\
         \x20 -config string\n\
         \x20   \tJSON file containing proxies to create on startup\n\
         \x20 -host string\n\
         \x20   \tHost for toxiproxy's API to listen on (default \"localhost\")\n\
         \x20 -port string\n\
         \x20   \tPort for toxiproxy's API to listen on (default \"8474\")\n\
         \x20 -proxy-metrics\n\
         \x20   \tenable toxiproxy-specific prometheus metrics (default \"false\")\n\
         \x20 -runtime-metrics\n\
         \x20   \tenable runtime-related prometheus metrics (default \"false\")\n\
         \x20 -seed int\n\
         \x20   \tSeed for randomizing toxics with (default {})\n\
         \x20 -version\n\
         \x20   \tprint the version (default \"false\")\n",
        now_nanos()
    )
}

/// Parses toxiproxy-server's command line (`args` without the program name).
pub fn parse(program: &str, args: &[String]) -> Request {
    let parsed = match goflag::parse(FLAGS, args) {
        Ok(p) => p,
        Err(FlagError::Help) => return Request::Usage(usage(program), 0),
        Err(e) => return Request::Usage(format!("{e}\n{}", usage(program)), 2),
    };
    if parsed.bool("version") {
        return Request::Print(format!("toxiproxy-server version {VERSION}\n"));
    }
    let seed = if parsed.is_set("seed") {
        let text = parsed.string("seed");
        match text.parse::<i64>() {
            // Go's int64, reinterpreted: every value still picks its own sequence.
            Ok(s) => Some(s as u64),
            Err(_) => {
                return Request::Usage(
                    format!(
                        "invalid value {text:?} for flag -seed: parse error\n{}",
                        usage(program)
                    ),
                    2,
                )
            }
        }
    } else {
        None
    };
    let host = if parsed.is_set("host") {
        parsed.string("host")
    } else {
        "localhost".to_string()
    };
    let port_text = if parsed.is_set("port") {
        parsed.string("port")
    } else {
        "8474".to_string()
    };
    let Ok(port) = port_text.parse::<u16>() else {
        return Request::Usage(
            format!("listen tcp: lookup port {port_text}: unknown port\n"),
            1,
        );
    };
    let config = parsed.string("config");
    Request::Serve(ServeConfig {
        host,
        port,
        config_file: (!config.is_empty()).then(|| config.into()),
        seed,
        proxy_metrics: parsed.bool("proxy-metrics"),
        runtime_metrics: parsed.bool("runtime-metrics"),
        ..ServeConfig::default()
    })
}

/// zerolog's JSON lines on stdout.
struct JsonLog;

static JSON_LOG: JsonLog = JsonLog;

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (zerolog's default time format, UTC).
pub fn rfc3339(secs: i64) -> String {
    let text = journal::Timestamp::from_unix_micros(secs.saturating_mul(1_000_000)).into_string();
    match text.strip_suffix("+00:00") {
        Some(utc) => format!("{utc}Z"),
        None => text,
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug => "debug",
        Level::Trace => "trace",
    }
}

/// One log line: `level`, the extra fields, `caller`, `time`, `message` (zerolog's order).
pub fn json_line(level: Level, fields: &[(&str, &str)], caller: &str, message: &str) -> String {
    let mut m = Map::new();
    m.insert("level".into(), level_name(level).into());
    for (k, v) in fields {
        m.insert((*k).into(), (*v).into());
    }
    m.insert("caller".into(), caller.into());
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    m.insert("time".into(), rfc3339(secs).into());
    m.insert("message".into(), message.into());
    format!("{}\n", Value::Object(m))
}

impl Log for JsonLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }
    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let file = record.file().unwrap_or("?");
        let short = file.rsplit('/').next().unwrap_or(file);
        let caller = format!("{short}:{}", record.line().unwrap_or(0));
        let line = json_line(record.level(), &[], &caller, &record.args().to_string());
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// `LOG_LEVEL` as zerolog reads it; `Err` for an unknown value (logged, then ignored).
pub fn level_filter(value: Option<&str>) -> Result<LevelFilter, String> {
    match value {
        None => Ok(LevelFilter::Trace),
        Some(v) => match v {
            "trace" => Ok(LevelFilter::Trace),
            "debug" => Ok(LevelFilter::Debug),
            "info" => Ok(LevelFilter::Info),
            "warn" => Ok(LevelFilter::Warn),
            "error" | "fatal" | "panic" => Ok(LevelFilter::Error),
            "disabled" => Ok(LevelFilter::Off),
            other => Err(format!("unknown LOG_LEVEL value: \"{other}\"")),
        },
    }
}

/// The whole program: parses, logs as Toxiproxy, serves until SIGINT/SIGTERM; returns the
/// exit status.
pub fn main(program: &str, args: &[String]) -> u8 {
    let config = match parse(program, args) {
        Request::Print(text) => {
            print!("{text}");
            return 0;
        }
        Request::Usage(text, code) => {
            eprint!("{text}");
            return code;
        }
        Request::Serve(config) => config,
    };
    let level = level_filter(std::env::var("LOG_LEVEL").ok().as_deref());
    // Another logger already installed (never in the binary) leaves that one in place.
    let _ = log::set_logger(&JSON_LOG);
    log::set_max_level(*level.as_ref().unwrap_or(&LevelFilter::Trace));
    if let Err(message) = level {
        log::error!("{message}");
    }
    if log::max_level() >= LevelFilter::Info {
        let line = json_line(
            Level::Info,
            &[("version", VERSION)],
            "server.go:78",
            "Starting Toxiproxy",
        );
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }
    match crate::run_serve_command(config) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("Server finished with error: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Request {
        parse(
            "toxiproxy-server",
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn go_flags_in_every_form() {
        let Request::Serve(c) = p(&[
            "-host=0.0.0.0",
            "--port",
            "9000",
            "-config",
            "p.json",
            "--seed=-3",
            "-proxy-metrics",
            "--runtime-metrics=true",
        ]) else {
            panic!("not serve")
        };
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 9000);
        assert_eq!(
            c.config_file.as_deref(),
            Some(std::path::Path::new("p.json"))
        );
        assert_eq!(c.seed, Some((-3i64) as u64));
        assert!(c.proxy_metrics && c.runtime_metrics);
        let Request::Serve(d) = p(&[]) else {
            panic!("not serve")
        };
        assert_eq!((d.host.as_str(), d.port, d.seed), ("localhost", 8474, None));
    }

    #[test]
    fn usage_version_and_errors() {
        let Request::Usage(text, 0) = p(&["-h"]) else {
            panic!("-h")
        };
        assert!(text.starts_with("Usage of toxiproxy-server:\n  -config string\n"));
        let Request::Usage(text, 2) = p(&["-zzz"]) else {
            panic!("-zzz")
        };
        assert!(text.starts_with("flag provided but not defined: -zzz\nUsage of"));
        let Request::Usage(text, 2) = p(&["-seed", "x"]) else {
            panic!("-seed x")
        };
        assert!(text.starts_with("invalid value \"x\" for flag -seed: parse error\n"));
        let Request::Print(text) = p(&["-version"]) else {
            panic!("-version")
        };
        assert_eq!(text, "toxiproxy-server version 2.12.0\n");
    }

    #[test]
    fn zerolog_lines() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_199_160), "2026-12-02T08:12:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let line = json_line(
            Level::Info,
            &[("version", "2.12.0")],
            "server.go:78",
            "Starting Toxiproxy",
        );
        let v: Value = serde_json::from_str(&line).expect("json");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["level", "version", "caller", "time", "message"]);
        assert_eq!(level_filter(Some("warn")), Ok(LevelFilter::Warn));
        assert!(level_filter(Some("loud")).is_err());
    }
}
