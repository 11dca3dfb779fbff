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
    /// The Python interpreter that runs the modules Shakedown does not ship natively
    /// (default: $CHAOS_PYTHON, else python3 on PATH).
    #[arg(long, value_name = "PATH", global = true)]
    pub python: Option<PathBuf>,
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
    /// The Toxiproxy-compatible fault-injection proxy: `serve`, and toxiproxy-cli's commands.
    Proxy(ProxyArgs),
    /// Read, write or remove from your settings file.
    Settings(SettingsArgs),
    /// PowerfulSeal policies: `validate`, `autonomous`, `label` (also as a link named `powerfulseal`).
    Seal(SealArgs),
    /// Generate a report from the run journal(s).
    Report(ReportArgs),
    /// The Kubernetes operator: runs ChaosToolkitExperiment and ChaosExperiment resources.
    Operator(OperatorArgs),
}

/// `chaos operator` (docs/operator.md).
#[derive(Debug, Args)]
pub struct OperatorArgs {
    /// The kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in a pod with
    /// CHAOSTOOLKIT_IN_POD=true its service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The image of ChaosExperiment runners that name none.
    #[arg(long, env = "CHAOS_RUNNER_IMAGE", default_value = "shakedown:0.1.0")]
    pub runner_image: String,
    /// The kill switch ConfigMap, NAMESPACE/NAME: runners obey it, and no run starts while it is on.
    #[arg(
        long,
        env = "CHAOS_OPERATOR_KILL_SWITCH",
        value_name = "NAMESPACE/NAME"
    )]
    pub kill_switch: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Elect a leader on this Lease (NAMESPACE/NAME), so several replicas are safe.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub leader_lease: Option<String>,
    /// This replica's name in the Lease (default: $POD_NAME, else the host name and pid).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Print both CustomResourceDefinitions as JSON and exit.
    #[arg(long)]
    pub print_crds: bool,
}

/// `-h` is help here, as everywhere in `chaos`; the API address is `--host` only.
/// toxiproxy-cli's own syntax (`-h URL`, `--a key=value`, flags before the proxy name)
/// is what a link named `toxiproxy-cli` gets (`proxy::dropin`). One-letter flags also
/// take two dashes (`--a latency=250`), as urfave/cli accepts them.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The proxy server's API, as toxiproxy-cli's `--host` (default $TOXIPROXY_URL or
    /// http://localhost:8474). `-h` is help, not the host.
    #[arg(long = "host", env = "TOXIPROXY_URL")]
    pub host: Option<String>,
    #[command(subcommand)]
    pub command: ProxyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Run the proxy server and its HTTP API.
    Serve(ServeArgs),
    /// List all proxies.
    #[command(alias = "l", alias = "li", alias = "ls")]
    List,
    /// Inspect a proxy and its toxics.
    #[command(alias = "i", alias = "ins")]
    Inspect {
        proxy: String,
        /// Also show what each toxic did so far (Shakedown's counters: bytes delayed or
        /// dropped, requests aborted…), on the line after it.
        #[arg(long)]
        stats: bool,
    },
    /// Create a proxy.
    #[command(alias = "c", alias = "new")]
    Create {
        proxy: String,
        /// Address to listen on, e.g. 127.0.0.1:26379.
        #[arg(short = 'l', long, alias = "l")]
        listen: String,
        /// Upstream address, e.g. 127.0.0.1:6379.
        #[arg(short = 'u', long, alias = "u")]
        upstream: String,
        /// tcp (the default), udp (a UDP proxy) or dns (a DNS forwarder for the dns_*
        /// toxics): Shakedown's own (Toxiproxy has only TCP).
        #[arg(long, value_enum)]
        protocol: Option<ProtocolArg>,
        #[command(flatten)]
        tls: TlsArgs,
    },
    /// Enable a disabled proxy, or disable an enabled one.
    #[command(alias = "tog")]
    Toggle { proxy: String },
    /// Delete a proxy.
    #[command(alias = "d")]
    Delete { proxy: String },
    /// Add, update or remove a toxic.
    #[command(alias = "t")]
    Toxic {
        #[command(subcommand)]
        command: ToxicCommand,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the API listens on.
    #[arg(long = "host", default_value = "127.0.0.1", id = "serve_host")]
    pub host: String,
    /// Port the API listens on.
    #[arg(long, default_value_t = 8474)]
    pub port: u16,
    /// JSON file with proxies to create at start-up (the `/populate` format).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed for every random decision (toxicity, jitter, HTTP fault percentages).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Serve per-proxy counters on /metrics.
    #[arg(long)]
    pub proxy_metrics: bool,
    /// Serve process metrics on /metrics.
    #[arg(long)]
    pub runtime_metrics: bool,
    /// Host accepted in Host and Origin headers besides loopback names when the API
    /// listens on loopback (repeatable or comma-separated; `*` accepts any).
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        env = "SHAKEDOWN_PROXY_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,
    /// Most concurrent client connections of one proxy; further clients are reset
    /// (default: a quarter of the descriptor budget).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum ToxicCommand {
    /// Add a toxic to a proxy.
    #[command(alias = "a")]
    Add {
        proxy: String,
        /// Toxic type (latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, http_abort, …).
        #[arg(short = 't', long = "type", alias = "t")]
        toxic_type: String,
        /// Toxic name (default `<type>_<stream>`).
        #[arg(short = 'n', long = "toxicName", alias = "n")]
        toxic_name: Option<String>,
        /// Probability of the toxic applying to a connection, 0 to 1.
        #[arg(long = "toxicity", visible_alias = "tox")]
        toxicity: Option<String>,
        /// Toxic attribute `key=value` (repeatable).
        #[arg(short = 'a', long = "attribute", alias = "a")]
        attributes: Vec<String>,
        /// Apply the toxic to the upstream direction.
        #[arg(short = 'u', long, alias = "u")]
        upstream: bool,
        /// Apply the toxic to the downstream direction (the default).
        #[arg(short = 'd', long, alias = "d")]
        downstream: bool,
    },
    /// Update a toxic's toxicity or attributes.
    #[command(alias = "u")]
    Update {
        proxy: String,
        #[arg(short = 'n', long = "toxicName", alias = "n")]
        toxic_name: String,
        #[arg(long = "toxicity", visible_alias = "tox")]
        toxicity: Option<String>,
        #[arg(short = 'a', long = "attribute", alias = "a")]
        attributes: Vec<String>,
    },
    /// Remove a toxic.
    #[command(alias = "r", alias = "delete", alias = "d")]
    Remove {
        proxy: String,
        #[arg(short = 'n', long = "toxicName", alias = "n")]
        toxic_name: String,
    },
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
    #[command(flatten)]
    pub overrides: VarArgs,
    /// Files of global controls (a map of name to definition, JSON or YAML).
    #[arg(long = "control-file", value_name = "PATH")]
    pub control_files: Vec<PathBuf>,
    /// Strategy to execute the hypothesis during the run.
    #[arg(long, value_enum)]
    pub hypothesis_strategy: Option<HypothesisArg>,
    /// Pace at which to run the continuous hypothesis, in seconds.
    #[arg(long, default_value_t = 1.0, value_parser = frequency)]
    pub hypothesis_frequency: f64,
    /// When running the hypothesis continuously, stop at its first failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Output on stdout. With agent, a single JSON report is written once the run is over.
    /// The exit code is not affected.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputArg,
    /// Stream the run's progress as newline-delimited JSON events to this file, for
    /// instance to follow a long run.
    #[arg(long, value_name = "FILE")]
    pub events_file: Option<PathBuf>,
    #[command(flatten)]
    pub strict: StrictArgs,
    /// The kill switch: a file path, an http(s) URL or configmap:NAMESPACE/NAME. While it
    /// is on, no experiment starts and a running one stops and rolls back (default:
    /// CHAOS_KILL_SWITCH, else the settings' runtime.kill_switch; docs/kill-switch.md).
    #[arg(long, value_name = "SWITCH")]
    pub kill_switch: Option<String>,
    /// Also keep the final journal in this ConfigMap (NAMESPACE/NAME, key journal.json),
    /// where `chaos operator` reads it (docs/operator.md).
    #[arg(long, value_name = "NAMESPACE/NAME", env = "CHAOS_JOURNAL_CONFIGMAP")]
    pub journal_configmap: Option<String>,
    /// The experiment: a JSON or YAML file, or an http(s) URL.
    pub source: String,
}

/// `--strict` / `--no-strict` of `run` and `validate`.
#[derive(Debug, Args)]
pub struct StrictArgs {
    /// Fail validation on keys Chaos Toolkit ignores (typos such as
    /// `steady-state-hypotesis`), instead of warning (default: the settings'
    /// runtime.validation.strict, else off).
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,
    /// Only warn about such keys, whatever the settings say.
    #[arg(long, overrides_with = "strict")]
    pub no_strict: bool,
}

impl StrictArgs {
    /// `Some(true)` for `--strict`, `Some(false)` for `--no-strict` (the last one given
    /// wins), `None` for neither.
    pub fn flag(&self) -> Option<bool> {
        match (self.strict, self.no_strict) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// `--output` of `run` and `validate`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputArg {
    Text,
    Agent,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Do not verify TLS certificates when fetching the experiment.
    #[arg(long)]
    pub no_verify_tls: bool,
    /// Output on stdout. With agent, a single JSON report is written. Only the first error
    /// found is reported.
    #[arg(long, value_enum, default_value = "text")]
    pub output: OutputArg,
    #[command(flatten)]
    pub strict: StrictArgs,
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

// `chaos settings`: the reference's `settings` group (chaostoolkit 1.19.0).

#[derive(Debug, Args)]
#[command(arg_required_else_help = true)]
pub struct SettingsArgs {
    #[command(subcommand)]
    pub command: SettingsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the entire content of the settings file.
    ///
    /// Be aware this will not obfuscate secret data.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: ShowFormat,
    },
    /// Show a settings value.
    ///
    /// The key must be dotted path to its location in the settings file.
    Get {
        /// Output format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: GetFormat,
        /// Dotted path, e.g. `runtime.rollbacks.strategy`, `auths.example\.com`, `controls[0].name`.
        key: String,
    },
    /// Set a settings value.
    ///
    /// The value must be a valid JSON string so that it can be interpreted with the
    /// appropriate type. The key must be dotted path to its location in the settings file;
    /// only existing entries can be set.
    Set {
        /// Dotted path, e.g. `runtime.rollbacks.strategy`, `auths.example\.com`, `controls[0].name`.
        key: String,
        /// A JSON value: 2, true, null, '"text"', '{"a": 1}'.
        value: String,
    },
    /// Remove a settings key and its children.
    ///
    /// The key must be dotted path to its location in the settings file.
    Remove {
        /// Dotted path, e.g. `runtime.rollbacks.strategy`, `auths.example\.com`, `controls[0].name`.
        key: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ShowFormat {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GetFormat {
    String,
    Json,
    Yaml,
}

/// `--hypothesis-frequency`: a number of seconds the reference can wait (a longer one
/// aborts its run after the method; docs/compatibility.md).
fn frequency(text: &str) -> Result<f64, String> {
    let secs: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    experiment::duration::from_secs(secs)
        .map(|_| secs)
        .map_err(|e| e.to_string())
}

/// `chaos seal`: PowerfulSeal 3's command line (docs/seal.md). A link named
/// `powerfulseal` gets these arguments directly (`powerfulseal validate --policy-file F`).
#[derive(Debug, Args)]
pub struct SealArgs {
    /// Verbose logging (repeatable), as PowerfulSeal's `-v`.
    #[arg(short = 'v', long = "verbose", id = "seal_verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Silent logging (repeatable), as PowerfulSeal's `-s`.
    #[arg(short = 's', long = "silent", action = clap::ArgAction::Count, global = true)]
    pub silent: u8,
    #[command(subcommand)]
    pub command: SealCommand,
}

#[derive(Debug, Subcommand)]
pub enum SealCommand {
    /// Run the policy file's scenarios against the cluster.
    Autonomous(SealAutonomousArgs),
    /// Validate a policy file against PowerfulSeal 3.3's schema: `OK`, or why not.
    Validate(SealPolicyArgs),
    /// Kill pods by their `seal/*` labels or annotations, round after round.
    Label(SealLabelArgs),
    /// Run `A… && B… && …` without a shell (the clone sidecar's startup probe).
    #[command(hide = true)]
    Chain(SealChainArgs),
}

#[derive(Debug, Args)]
pub struct SealChainArgs {
    /// Commands separated by `&&` words.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct SealPolicyArgs {
    /// The policy file (YAML).
    #[arg(long, value_name = "PATH", env = "POLICY_FILE")]
    pub policy_file: std::path::PathBuf,
}

/// PowerfulSeal's common, cloud and SSH options: the cloud and SSH ones are accepted so
/// that a command line parses, and refused with a clear message.
#[derive(Debug, Args)]
pub struct SealCommonArgs {
    /// Kubeconfig file (then $KUBECONFIG, ~/.kube/config, in-cluster).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Nodes from Kubernetes (the only inventory here; accepted for compatibility).
    #[arg(long)]
    pub inventory_kubernetes: bool,
    /// No cloud driver (the only choice here; accepted for compatibility).
    #[arg(long)]
    pub no_cloud: bool,
    #[arg(long, hide = true)]
    pub openstack: bool,
    #[arg(long, hide = true)]
    pub aws: bool,
    #[arg(long, hide = true)]
    pub azure: bool,
    #[arg(long, hide = true)]
    pub gcp: bool,
    #[arg(long, hide = true, value_name = "MODE")]
    pub execution_mode: Option<String>,
    #[arg(long, short = 'i', hide = true, value_name = "PATH")]
    pub inventory_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct SealMetricsArgs {
    /// Log metric events (the default).
    #[arg(long)]
    pub stdout_collector: bool,
    /// Serve metrics for Prometheus on --prometheus-host:--prometheus-port.
    #[arg(long)]
    pub prometheus_collector: bool,
    #[arg(long, default_value = "0.0.0.0")]
    pub prometheus_host: String,
    #[arg(long, default_value_t = 9000)]
    pub prometheus_port: u16,
    #[arg(long, hide = true)]
    pub datadog_collector: bool,
}

#[derive(Debug, Args)]
pub struct SealAutonomousArgs {
    #[command(flatten)]
    pub policy: SealPolicyArgs,
    #[command(flatten)]
    pub common: SealCommonArgs,
    #[command(flatten)]
    pub metrics: SealMetricsArgs,
    /// No web UI (Shakedown has none; accepted for compatibility).
    #[arg(long)]
    pub headless: bool,
    #[arg(long, hide = true)]
    pub host: Option<String>,
    #[arg(long, hide = true)]
    pub port: Option<u16>,
    #[arg(long, hide = true)]
    pub accept_proxy_headers: bool,
    /// Seed for every random choice (samples, probabilities, waits), for reproducible runs.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where each scenario run's journal goes (`seal-journal-<scenario>-<loop>.json`).
    #[arg(long, value_name = "DIR")]
    pub journal_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct SealLabelArgs {
    #[command(flatten)]
    pub common: SealCommonArgs,
    #[command(flatten)]
    pub metrics: SealMetricsArgs,
    /// Namespaces to look in (comma-separated; empty: all).
    #[arg(long, default_value = "")]
    pub kubernetes_namespace: String,
    #[arg(long)]
    pub min_seconds_between_runs: Option<f64>,
    #[arg(long)]
    pub max_seconds_between_runs: Option<f64>,
    /// Seed for every random choice, for reproducible runs.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop after this many rounds (default: run until SIGINT/SIGTERM, as PowerfulSeal).
    #[arg(long)]
    pub runs: Option<u64>,
}

/// Parses the command line into [`Cli`].
///
/// One case is refused although clap would accept it: `-h` followed by more arguments after
/// `proxy` (`chaos proxy -h http://host:8474 list`, toxiproxy-cli's way to name the host).
/// In `chaos proxy` `-h` is help, and help with arguments after it would print the help and
/// exit 0, so a script would believe its command ran. It is a usage error naming `--host`.
pub fn parse(argv: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
    match Cli::try_parse_from(&argv) {
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp && proxy_h_with_more(&argv) => {
            use clap::CommandFactory;
            Err(Cli::command().error(
                clap::error::ErrorKind::UnknownArgument,
                "`-h` asks for help in `chaos proxy`; give the API address with `--host URL` \
                 (toxiproxy-cli's `-h URL` works when the binary is started as `toxiproxy-cli`)",
            ))
        }
        parsed => parsed,
    }
}

/// Whether `-h` comes after `proxy` with more arguments behind it.
fn proxy_h_with_more(argv: &[std::ffi::OsString]) -> bool {
    let Some(proxy) = argv.iter().position(|a| a == "proxy") else {
        return false;
    };
    let rest = &argv[proxy + 1..];
    rest.iter()
        .position(|a| a == "-h")
        .is_some_and(|h| h + 1 < rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Clap checks the whole command tree (duplicate flags, bad defaults) only when a
    /// subcommand is parsed; this checks every one up front.
    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_the_command_and_run_options_after_the_source() {
        let cli = Cli::try_parse_from([
            "chaos",
            "--verbose",
            "run",
            "x.yaml",
            "--journal-path",
            "j.json",
            "--var",
            "a:int=1",
        ])
        .expect("the book's invocation parses");
        assert!(cli.verbose);
        match cli.command {
            Command::Run(run) => {
                assert_eq!(run.source, "x.yaml");
                assert_eq!(run.journal_path, PathBuf::from("j.json"));
                assert_eq!(run.overrides.vars, vec!["a:int=1"]);
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn strict_and_no_strict_the_last_one_wins() {
        let strict = |args: &[&str]| -> Option<bool> {
            let mut argv = vec!["chaos", "validate"];
            argv.extend_from_slice(args);
            argv.push("e.json");
            match Cli::try_parse_from(argv).expect("parses").command {
                Command::Validate(v) => v.strict.flag(),
                other => panic!("parsed as {other:?}"),
            }
        };
        assert_eq!(strict(&[]), None);
        assert_eq!(strict(&["--strict"]), Some(true));
        assert_eq!(strict(&["--no-strict"]), Some(false));
        assert_eq!(strict(&["--strict", "--no-strict"]), Some(false));
        assert_eq!(strict(&["--no-strict", "--strict"]), Some(true));
        let run = Cli::try_parse_from(["chaos", "run", "--strict", "e.json"]).expect("parses");
        let Command::Run(run) = run.command else {
            panic!("not run")
        };
        assert_eq!(run.strict.flag(), Some(true));
    }

    #[test]
    fn proxy_h_with_more_arguments_is_a_usage_error_naming_host() {
        let argv = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        for args in [
            &["chaos", "proxy", "-h", "http://x:8474", "list"][..],
            &["chaos", "proxy", "-h", "http://x:8474"][..],
            &["chaos", "proxy", "create", "-h", "x"][..],
        ] {
            let e = parse(argv(args)).expect_err("refused");
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{args:?}"
            );
            assert_eq!(e.exit_code(), 2, "{args:?}");
            assert!(e.to_string().contains("--host URL"), "{e}");
        }
        for args in [
            &["chaos", "proxy", "-h"][..],
            &["chaos", "proxy", "toxic", "add", "-h"][..],
            &["chaos", "run", "-h"][..],
        ] {
            let e = parse(argv(args)).expect_err("help");
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
        }
        assert!(parse(argv(&["chaos", "proxy", "--host", "http://x:1", "list"])).is_ok());
    }

    #[test]
    fn proxy_h_is_help_and_one_letter_flags_take_two_dashes() {
        for args in [
            &["chaos", "proxy", "-h"][..],
            &["chaos", "proxy", "toxic", "add", "-h"][..],
        ] {
            let e = Cli::try_parse_from(args).expect_err("help");
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{args:?}");
        }
        let cli = Cli::try_parse_from([
            "chaos",
            "proxy",
            "toxic",
            "add",
            "db",
            "--t",
            "latency",
            "--a",
            "latency=250",
            "--n",
            "x",
            "--u",
        ])
        .expect("parses");
        let Command::Proxy(ProxyArgs {
            command:
                ProxyCommand::Toxic {
                    command:
                        ToxicCommand::Add {
                            toxic_type,
                            attributes,
                            toxic_name,
                            upstream,
                            ..
                        },
                },
            ..
        }) = cli.command
        else {
            panic!("not toxic add")
        };
        assert_eq!(toxic_type, "latency");
        assert_eq!(attributes, ["latency=250"]);
        assert_eq!(toxic_name.as_deref(), Some("x"));
        assert!(upstream);
    }

    #[test]
    fn proxy_host_and_serve_host_are_distinct() {
        let cli = Cli::try_parse_from(["chaos", "proxy", "--host", "http://x:1", "list"])
            .expect("parses");
        let Command::Proxy(p) = cli.command else {
            panic!("not proxy")
        };
        assert_eq!(p.host.as_deref(), Some("http://x:1"));
        let cli =
            Cli::try_parse_from(["chaos", "proxy", "serve", "--host", "0.0.0.0"]).expect("parses");
        let Command::Proxy(ProxyArgs {
            command: ProxyCommand::Serve(s),
            ..
        }) = cli.command
        else {
            panic!("not serve")
        };
        assert_eq!(s.host, "0.0.0.0");
    }

    #[test]
    fn a_hypothesis_frequency_the_reference_cannot_wait_is_a_usage_error() {
        let parse = |f: &str| {
            Cli::try_parse_from([
                "chaos",
                "run",
                &format!("--hypothesis-frequency={f}"),
                "e.json",
            ])
        };
        assert!(parse("0.5").is_ok());
        assert!(parse("-1").is_ok());
        for bad in ["1e20", "inf", "NaN", "soon"] {
            let e = parse(bad).expect_err(bad).to_string();
            assert!(e.contains("--hypothesis-frequency"), "{e}");
        }
        let e = parse("1e20").expect_err("too long").to_string();
        assert!(e.contains("at most 9223372036 seconds"), "{e}");
    }
}

/// `chaos proxy create --protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Tcp,
    Udp,
    Dns,
}

impl ProtocolArg {
    /// The API's `protocol` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolArg::Tcp => "tcp",
            ProtocolArg::Udp => "udp",
            ProtocolArg::Dns => "dns",
        }
    }
}

/// `--var` and `--var-file`, shared by `run` and `report` (the reference's names and help).
#[derive(Debug, Args)]
pub struct VarArgs {
    #[arg(
        long = "var",
        value_name = "TEXT",
        help = "Specify substitution values for configuration only: KEY[:TYPE]=VALUE."
    )]
    pub vars: Vec<String>,
    /// Specify files that contain configuration and secret substitution values.
    #[arg(long = "var-file", value_name = "PATH")]
    pub var_files: Vec<PathBuf>,
}

/// `chaos report`, as chaostoolkit-reporting's: `[OPTIONS] JOURNAL... REPORT`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Format to export the report to (pdf is not built yet: docs/report.md).
    #[arg(long, value_enum, default_value = "markdown")]
    pub export_format: ReportFormatArg,
    /// Title of the report.
    #[arg(long, default_value = "Chaos Engineering Report")]
    pub title: String,
    #[command(flatten)]
    pub overrides: VarArgs,
    /// The journals (a single argument that is not a file is a glob), then the report file.
    #[arg(required = true, num_args = 2.., value_names = ["JOURNAL", "REPORT"])]
    pub paths: Vec<String>,
}

/// `--export-format` of `report`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormatArg {
    Markdown,
    Html,
    Html5,
    Pdf,
    Json,
    Junit,
}

/// `chaos proxy create`'s TLS flags (Shakedown's HTTPS faults; toxiproxy-cli has none): they
/// make the API's `tls` object (docs/proxy.md, HTTPS faults).
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// Terminate TLS with a certificate from a CA minted for this proxy (its PEM:
    /// GET /proxies/NAME/ca.pem).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_generate: bool,
    /// Terminate TLS with this certificate chain (PEM file; needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM file).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Another name for the generated certificate (repeatable).
    #[arg(long, value_name = "NAME", requires = "tls_generate")]
    pub tls_name: Vec<String>,
    /// Verify the upstream's certificate against this CA (PEM file) instead of the
    /// system roots.
    #[arg(long, value_name = "FILE")]
    pub tls_upstream_ca: Option<std::path::PathBuf>,
    /// Do not verify the upstream's certificate (test upstreams only).
    #[arg(long)]
    pub tls_no_verify_upstream: bool,
    /// The upstream speaks plain HTTP: TLS only toward the client.
    #[arg(long)]
    pub tls_plain_upstream: bool,
}
