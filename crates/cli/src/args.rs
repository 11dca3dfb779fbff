//! The command line, shaped like the reference's click groups: global options before the
//! command, the reference's option names and choices after it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "chaos",
    about = "Shakedown: run Chaos Toolkit experiments natively.",
    version = crate::commands::VERSION_LINE,
    disable_version_flag = true
)]
pub struct Cli {
    /// Show the version and exit.
    #[arg(long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Display debug level traces.
    #[arg(long)]
    pub verbose: bool,
    /// Accepted for compatibility; Shakedown never calls home.
    #[arg(long)]
    pub no_version_check: bool,
    /// Change directory before running the command.
    #[arg(long, value_name = "DIR")]
    pub change_dir: Option<PathBuf>,
    /// Disable logging to file entirely.
    #[arg(long)]
    pub no_log_file: bool,
    /// File path where to write the command's log.
    #[arg(long, default_value = "chaostoolkit.log", value_name = "PATH")]
    pub log_file: PathBuf,
    /// File logging level.
    #[arg(long, value_enum, default_value = "debug")]
    pub log_file_level: FileLevel,
    /// Console logging format.
    #[arg(long, value_enum, default_value = "string")]
    pub log_format: LogFormat,
    /// Colour console lines: auto (a terminal only), always, never.
    #[arg(long, value_enum, default_value = "auto", env = "CHAOS_COLOR")]
    pub color: ColorChoice,
    /// Path to the settings file.
    #[arg(long, value_name = "PATH")]
    pub settings: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileLevel {
    Debug,
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LogFormat {
    String,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the experiment loaded from SOURCE, either a local file or a HTTP resource.
    Run(RunArgs),
    /// Validate the experiment at SOURCE.
    Validate(ValidateArgs),
    /// Discover the native activities of a package and write them to a discovery file.
    Discover(DiscoverArgs),
    /// Initialize a new experiment from discovered capabilities.
    Init(InitArgs),
    /// Display information about the Chaos Toolkit environment.
    Info(InfoArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DryArg {
    Probes,
    Actions,
    Activities,
    Pause,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum RollbackArg {
    Default,
    Always,
    Never,
    Deviated,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum HypothesisArg {
    Default,
    BeforeMethodOnly,
    AfterMethodOnly,
    DuringMethodOnly,
    Continuously,
    Continously,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Path where to save the journal from the execution.
    #[arg(long, default_value = "./journal.json")]
    pub journal_path: PathBuf,
    /// Run the experiment without executing the chosen strategy.
    #[arg(long, value_enum)]
    pub dry: Option<DryArg>,
    /// Do not validate the experiment before running.
    #[arg(long)]
    pub no_validation: bool,
    /// Do not verify TLS certificates when fetching the experiment.
    #[arg(long)]
    pub no_verify_tls: bool,
    /// Rollback runtime strategy.
    #[arg(long, value_enum)]
    pub rollback_strategy: Option<RollbackArg>,
    /// Specify substitution values for configuration only: KEY[:TYPE]=VALUE.
    #[arg(long = "var", value_name = "TEXT")]
    pub vars: Vec<String>,
    /// Specify files that contain configuration and secret substitution values.
    #[arg(long = "var-file", value_name = "PATH")]
    pub var_files: Vec<PathBuf>,
    /// Files with global controls (accepted; native controls come with their drivers).
    #[arg(long = "control-file", value_name = "PATH")]
    pub control_files: Vec<PathBuf>,
    /// Strategy to execute the hypothesis during the run.
    #[arg(long, value_enum)]
    pub hypothesis_strategy: Option<HypothesisArg>,
    /// Pace at which to run the continuous hypothesis, in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub hypothesis_frequency: f64,
    /// When running the hypothesis continuously, stop at its first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// The experiment: a JSON or YAML file, or an http(s) URL.
    pub source: String,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Do not verify TLS certificates when fetching the experiment.
    #[arg(long)]
    pub no_verify_tls: bool,
    pub source: String,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Accepted for compatibility: Shakedown's drivers are built in.
    #[arg(long)]
    pub no_system_info: bool,
    /// Accepted for compatibility: nothing is ever installed.
    #[arg(long)]
    pub no_install: bool,
    /// Path where to save the discovery outcome.
    #[arg(long, default_value = "./discovery.json")]
    pub discovery_path: PathBuf,
    /// The extension package, e.g. chaostoolkit-kubernetes.
    pub package: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Path to the discovery outcome.
    #[arg(long, default_value = "./discovery.json")]
    pub discovery_path: PathBuf,
    /// Path where to save the experiment (.json, .yaml or .yml).
    #[arg(long, default_value = "./experiment.json")]
    pub experiment_path: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InfoTarget {
    Core,
    Settings,
    Extensions,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[arg(value_enum)]
    pub target: InfoTarget,
}
