//! PowerfulSeal's log lines: `<time> <LEVEL> <logger> <message>` on standard error, the
//! shape its `coloredlogs` format gives (`%(asctime)s %(levelname)s %(name)s %(message)s`),
//! with upstream's logger names (`scenario.<first 15 characters of the name>`,
//! `policy_runner`, `action_nodes_pods.<name>`, …) so scripts that grep a seal's output
//! (`Starting scenario`, `Cleanup started`, `All done here!`) keep working.
//!
//! Why not the `log` crate: the runner is a library that writes to the writer it is given
//! (tests read it), and the levels follow PowerfulSeal's `-v` / `-s` flags, not `chaos`'s.

use std::fmt::Display;
use std::io::Write;
use std::sync::Mutex;

/// A log line's level, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    /// Upstream's mapping of its flags: `-s` WARNING, `-ss` ERROR, `-v` DEBUG, else INFO.
    pub fn from_flags(verbose: u8, silent: u8) -> Level {
        match (silent, verbose) {
            (1, _) => Level::Warning,
            (2.., _) => Level::Error,
            (0, 0) => Level::Info,
            (0, _) => Level::Debug,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

/// Where the runner's lines go.
pub struct Log {
    threshold: Level,
    out: Mutex<Box<dyn Write + Send>>,
}

impl Log {
    pub fn new(threshold: Level, out: Box<dyn Write + Send>) -> Self {
        Log {
            threshold,
            out: Mutex::new(out),
        }
    }

    pub fn log(&self, level: Level, logger: &str, message: impl Display) {
        if level < self.threshold {
            return;
        }
        let format =
            time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let now = time::OffsetDateTime::now_utc()
            .format(format)
            .unwrap_or_default();
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{now} {} {logger} {message}", level.name());
            let _ = out.flush();
        }
    }

    pub fn debug(&self, logger: &str, message: impl Display) {
        self.log(Level::Debug, logger, message)
    }
    pub fn info(&self, logger: &str, message: impl Display) {
        self.log(Level::Info, logger, message)
    }
    pub fn warning(&self, logger: &str, message: impl Display) {
        self.log(Level::Warning, logger, message)
    }
    pub fn error(&self, logger: &str, message: impl Display) {
        self.log(Level::Error, logger, message)
    }
}

/// Upstream's `makeLogger(module, scenario)`: the module, a dot, the scenario name's first
/// 15 characters.
pub fn logger(module: &str, scenario: &str) -> String {
    let short: String = scenario.chars().take(15).collect();
    format!("{module}.{short}")
}
