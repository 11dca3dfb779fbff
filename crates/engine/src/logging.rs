//! The reference's log lines: `[YYYY-MM-DD HH:MM:SS LEVEL] message` on stderr, a DEBUG log
//! file in the verbose format, or one JSON object per line with `--log-format json`.
//!
//! Anything in Shakedown logs through the `log` facade; this logger keeps only our own
//! records (HTTP and TLS libraries log too, and the reference shows none of that).
//!
//! The terminal is safe from what a run logs: control characters that come from outside
//! (titles, names, outputs, remote bodies) are shown escaped (`\x1b`, `\r`) in the string
//! format, so they cannot move the cursor, rewrite earlier lines or retitle the terminal;
//! and a console line longer than [`CONSOLE_LIMIT`] characters (a 20 MiB title) is
//! shortened with a marker. The log file keeps the whole line (escaped), the journal the
//! whole value. Secrets are masked first (crate::redact).

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleFormat {
    String,
    Json,
}

/// When to colour console lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Only when stderr is a terminal (and `NO_COLOR` is unset).
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub verbose: bool,
    pub format: ConsoleFormat,
    pub colour: Colour,
    pub file: Option<PathBuf>,
    pub file_level: LevelFilter,
    /// A UUID per invocation, in JSON records.
    pub context_id: String,
}

struct Logger {
    console_level: LevelFilter,
    verbose: bool,
    format: ConsoleFormat,
    colour: bool,
    file: Option<Mutex<File>>,
    file_level: LevelFilter,
    context_id: String,
}

/// Crate prefixes whose records are ours to show.
const OWN_TARGETS: &[&str] = &[
    "chaos",
    "engine",
    "providers",
    "experiment",
    "proxy",
    "drivers",
    "shakedown",
    "operator",
];

fn is_own(target: &str) -> bool {
    OWN_TARGETS.iter().any(|p| {
        target == *p
            || target
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// The configuration [`init`] installed, for a helper process that logs as the run does
/// (the [`guardian`](crate::guardian)).
static INSTALLED: std::sync::OnceLock<LogConfig> = std::sync::OnceLock::new();

/// The logger's configuration, when [`init`] installed one.
pub fn installed() -> Option<&'static LogConfig> {
    INSTALLED.get()
}

impl LogConfig {
    /// As a JSON object, to hand to another process ([`LogConfig::from_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verbose": self.verbose,
            "json": self.format == ConsoleFormat::Json,
            "colour": match self.colour {
                Colour::Auto => "auto",
                Colour::Always => "always",
                Colour::Never => "never",
            },
            "file": self.file.as_ref().map(|f| f.to_string_lossy().into_owned()),
            "file_level": self.file_level.as_str(),
            "context_id": self.context_id,
        })
    }

    /// Reads what [`LogConfig::to_json`] wrote; anything missing takes the default.
    pub fn from_json(value: &serde_json::Value) -> Self {
        let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str);
        LogConfig {
            verbose: value.get("verbose").and_then(serde_json::Value::as_bool) == Some(true),
            format: if value.get("json").and_then(serde_json::Value::as_bool) == Some(true) {
                ConsoleFormat::Json
            } else {
                ConsoleFormat::String
            },
            colour: match text("colour") {
                Some("always") => Colour::Always,
                Some("never") => Colour::Never,
                _ => Colour::Auto,
            },
            file: text("file").map(PathBuf::from),
            file_level: text("file_level")
                .and_then(|l| l.parse().ok())
                .unwrap_or(LevelFilter::Debug),
            context_id: text("context_id").unwrap_or_default().to_string(),
        }
    }
}

/// Installs the logger. The file is opened for appending, as the reference does.
pub fn init(config: LogConfig) -> Result<(), String> {
    let _ = INSTALLED.set(config.clone());
    let file = match &config.file {
        Some(path) => Some(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open log file '{}': {e}", path.display()))?,
        )),
        None => None,
    };
    let colour = match config.colour {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let console_level = if config.verbose {
        LevelFilter::Debug
    } else {
        LevelFilter::Info
    };
    let file_level = if file.is_some() {
        config.file_level
    } else {
        LevelFilter::Off
    };
    let logger = Logger {
        console_level,
        verbose: config.verbose,
        format: config.format,
        colour,
        file,
        file_level,
        context_id: config.context_id,
    };
    log::set_max_level(console_level.max(file_level));
    log::set_boxed_logger(Box::new(logger)).map_err(|e| e.to_string())
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

fn colour_code(level: Level) -> &'static str {
    match level {
        Level::Error => "\x1b[31m",
        Level::Warn => "\x1b[33m",
        Level::Info => "\x1b[32m",
        Level::Debug | Level::Trace => "\x1b[36m",
    }
}

/// The reference has no CRITICAL in Rust's `log`; we mark critical records with this target.
pub const CRITICAL: &str = providers::CRITICAL_TARGET;

/// Logs at the reference's CRITICAL level.
#[macro_export]
macro_rules! critical {
    ($($arg:tt)+) => { log::error!(target: $crate::logging::CRITICAL, $($arg)+) };
}

fn display_level(record: &Record) -> &'static str {
    if record.target() == CRITICAL {
        "CRITICAL"
    } else {
        level_name(record.level())
    }
}

/// The module name shown in verbose lines (`run`, `activity`, …).
fn module_name(record: &Record) -> String {
    record
        .module_path()
        .and_then(|m| m.rsplit("::").next())
        .unwrap_or("chaos")
        .to_string()
}

/// The longest message shown on the console, in characters.
pub const CONSOLE_LIMIT: usize = 8192;

/// `text` with every control character but newline and tab escaped as `\xNN`, `\r`, `\x1b`…
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            c if unsafe_char(c) => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `text` cut at `limit` characters, with a marker saying how much was left out.
pub fn shorten(text: &str, limit: usize) -> Cow<'_, str> {
    match text.char_indices().nth(limit) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let left = text[cut..].chars().count();
            Cow::Owned(format!(
                "{}… [{left} more characters not shown; the journal and the log file have them]",
                &text[..cut]
            ))
        }
    }
}

fn string_line(record: &Record, message: &str, verbose: bool, colour: bool) -> String {
    let (start, end) = if colour {
        (colour_code(record.level()), "\x1b[39m")
    } else {
        ("", "")
    };
    let when = local_time(false);
    let message = message.replace('\n', "\n    ");
    if verbose {
        format!(
            "{start}[{when} {}] [{}:{}]{end} {message}",
            display_level(record),
            module_name(record),
            record.line().unwrap_or(0)
        )
    } else {
        format!("{start}[{when} {}]{end} {message}", display_level(record))
    }
}

impl Logger {
    fn json_line(&self, record: &Record, message: &str) -> String {
        let mut m = serde_json::Map::new();
        m.insert("process".into(), std::process::id().into());
        m.insert("asctime".into(), local_time(true).into());
        m.insert("levelname".into(), display_level(record).into());
        m.insert("module".into(), module_name(record).into());
        m.insert("lineno".into(), record.line().unwrap_or(0).into());
        m.insert("message".into(), message.into());
        m.insert("context_id".into(), self.context_id.clone().into());
        m.insert(
            "timestamp".into(),
            crate::journal::Timestamp::now().iso().into(),
        );
        serde_json::Value::Object(m).to_string()
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        is_own(metadata.target())
            && (metadata.level() <= self.console_level || metadata.level() <= self.file_level)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Every line, console and file, with the run's secrets masked (crate::redact).
        let text = record.args().to_string();
        let message = crate::redact::text(&text);
        if record.level() <= self.console_level {
            let line = match self.format {
                ConsoleFormat::String => {
                    let safe = terminal_safe(&message);
                    let shown = shorten(&safe, CONSOLE_LIMIT);
                    string_line(record, &shown, self.verbose, self.colour)
                }
                ConsoleFormat::Json => self.json_line(record, &message),
            };
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
        }
        if record.level() <= self.file_level {
            if let Some(file) = &self.file {
                let line = string_line(record, &terminal_safe(&message), true, false);
                if let Ok(mut f) = file.lock() {
                    let _ = writeln!(f, "{line}");
                }
            }
        }
    }

    fn flush(&self) {
        if let Some(file) = &self.file {
            if let Ok(mut f) = file.lock() {
                let _ = f.flush();
            }
        }
    }
}

/// Local wall-clock time, `YYYY-MM-DD HH:MM:SS` (with `,mmm` milliseconds for JSON records).
pub fn local_time(with_millis: bool) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: `tm` is plain old data; `localtime_r` is the thread-safe variant and fills it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = !unsafe { libc::localtime_r(&secs, &mut tm) }.is_null();
    if !ok {
        return String::from("1970-01-01 00:00:00");
    }
    let base = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    );
    if with_millis {
        format!("{base},{:03}", now.subsec_millis())
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_configuration_survives_its_json_form() {
        let config = LogConfig {
            verbose: true,
            format: ConsoleFormat::Json,
            colour: Colour::Never,
            file: Some(PathBuf::from("/tmp/x.log")),
            file_level: LevelFilter::Warn,
            context_id: "c-1".into(),
        };
        let back = LogConfig::from_json(&config.to_json());
        assert_eq!(format!("{back:?}"), format!("{config:?}"));
        let defaults = LogConfig::from_json(&serde_json::json!({}));
        assert!(!defaults.verbose && defaults.file.is_none());
        assert_eq!(defaults.file_level, LevelFilter::Debug);
    }

    #[test]
    fn control_characters_are_escaped_and_newlines_kept() {
        assert_eq!(
            terminal_safe("a\x1b]0;pwned\x07b\rc\n\td\u{9b}"),
            "a\\x1b]0;pwned\\x07b\\rc\n\td\\x9b"
        );
        assert!(matches!(terminal_safe("plain\ttext\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_console_messages_are_shortened_with_a_marker() {
        let long = "é".repeat(10);
        assert_eq!(
            shorten(&long, 4),
            "éééé… [6 more characters not shown; the journal and the log file have them]"
        );
        assert_eq!(shorten("short", 5), "short");
    }

    #[test]
    fn only_our_crates_are_logged() {
        assert!(is_own("engine::run"));
        assert!(is_own("chaos::critical"));
        assert!(is_own("drivers_k8s::pod"));
        assert!(!is_own("hyper_util::client"));
        assert!(!is_own("reqwest::connect"));
        assert!(!is_own("chaosx"));
    }
}
