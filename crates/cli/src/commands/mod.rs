//! One module per command; this one sets up logging, the working directory and the async
//! runtime, then hands over.

mod discover;
mod info;
mod init;
mod operator;
mod proxy;
mod report;
mod run;
mod seal;
mod settings;
mod validate;

use crate::args::{Cli, ColorChoice, Command, FileLevel, LogFormat};
use engine::logging::{self, Colour, ConsoleFormat, LogConfig};

/// What `--version` prints.
pub const VERSION_LINE: &str = concat!("version ", env!("CARGO_PKG_VERSION"), " (Shakedown)");

/// Runs the command and returns the process exit code.
pub fn dispatch(cli: Cli) -> u8 {
    // PowerfulSeal's modes print and log as PowerfulSeal does, without chaostoolkit.log.
    if let Command::Seal(args) = cli.command {
        return seal::seal(args);
    }
    let context_id = uuid::Uuid::new_v4().to_string();
    let log_config = LogConfig {
        verbose: cli.verbose,
        format: match cli.log_format {
            LogFormat::String => ConsoleFormat::String,
            LogFormat::Json => ConsoleFormat::Json,
        },
        colour: match cli.color {
            ColorChoice::Auto => Colour::Auto,
            ColorChoice::Always => Colour::Always,
            ColorChoice::Never => Colour::Never,
        },
        file: (!cli.no_log_file).then(|| cli.log_file.clone()),
        file_level: match cli.log_file_level {
            FileLevel::Debug => log::LevelFilter::Debug,
            FileLevel::Info => log::LevelFilter::Info,
            FileLevel::Warning => log::LevelFilter::Warn,
            FileLevel::Error => log::LevelFilter::Error,
        },
        context_id,
    };
    if let Err(e) = logging::init(log_config) {
        eprintln!("chaos: {e}");
        return 1;
    }
    let settings_path = cli
        .settings
        .clone()
        .unwrap_or_else(engine::settings::default_path);
    let settings_path = std::path::absolute(&settings_path).unwrap_or(settings_path);
    log::debug!("{}", "#".repeat(79));
    log::debug!("Running command '{}'", command_name(&cli.command));
    log::debug!("Using settings file '{}'", settings_path.display());

    if let Some(dir) = &cli.change_dir {
        log::warn!("Moving to {}", dir.display());
        if let Err(e) = std::env::set_current_dir(dir) {
            log::error!("cannot move to '{}': {e}", dir.display());
            return 1;
        }
    }

    match cli.command {
        Command::Run(args) => run::run(args, settings_path, bridge(&cli.python)),
        Command::Validate(args) => validate::validate(args, settings_path, bridge(&cli.python)),
        Command::Discover(args) => discover::discover(args, settings_path, bridge(&cli.python)),
        Command::Init(args) => init::init(args),
        Command::Info(args) => info::info(args, &settings_path, bridge(&cli.python)),
        Command::Proxy(args) => proxy::proxy(args),
        Command::Settings(args) => settings::settings(args, &settings_path),
        Command::Seal(args) => seal::seal(args),
        Command::Report(args) => report::report(args),
        Command::Operator(args) => operator::operator(args),
    }
}

/// The run's Python bridge; it starts an interpreter only when a module needs one.
fn bridge(python: &Option<std::path::PathBuf>) -> std::sync::Arc<providers::bridge::Bridge> {
    std::sync::Arc::new(providers::bridge::Bridge::new(
        python.as_ref().map(|p| p.clone().into_os_string()),
    ))
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Run(_) => "run",
        Command::Validate(_) => "validate",
        Command::Discover(_) => "discover",
        Command::Init(_) => "init",
        Command::Info(_) => "info",
        Command::Proxy(_) => "proxy",
        Command::Settings(_) => "settings",
        Command::Seal(_) => "seal",
        Command::Report(_) => "report",
        Command::Operator(_) => "operator",
    }
}

/// A single-threaded runtime. Everything the engine waits on is asynchronous (processes,
/// HTTP, Kubernetes watches, timers, signals), so background activities and the continuous
/// hypothesis interleave on one thread; no worker threads keeps `chaos` small enough for the
/// tight pods experiments run in, and saves cross-thread wake-ups on every activity.
pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            log::error!("cannot start the async runtime: {e}");
            1
        })
}
