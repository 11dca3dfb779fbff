//! What `chaos seal <mode>` (and `powerfulseal <mode>`) does and prints, apart from
//! parsing its flags (the CLI's job).
//!
//! The output and exit codes are PowerfulSeal 3's where it has them: `validate` prints
//! `OK` on standard output and exits 0, or logs why and prints `Policy not valid. See log
//! output above.` and exits 1. Where upstream logs a `jsonschema` error and a dump of the
//! policy, Shakedown logs one line naming the file, line, column, path and the fix.
//! `autonomous` runs the policy ([`crate::run`]); `label` kills pods by their `seal/*`
//! labels.

use std::io::Write;
use std::path::Path;

use crate::LoadError;

/// The exit code of `autonomous` for a valid policy that asks for what is out of scope
/// (a cloud driver's `start`/`stop`/`stopHost`, SSH's `execute`): refused before it
/// starts, as the out-of-scope flags are.
pub const OUT_OF_SCOPE: u8 = 2;
/// What upstream prints under an invalid policy.
pub const NOT_VALID: &str = "Policy not valid. See log output above.";

/// `validate --policy-file PATH`.
pub fn validate(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match crate::load_file(path) {
        Ok(checked) => {
            for notice in &checked.notices {
                let _ = writeln!(err, "WARNING {}: {notice}", path.display());
            }
            let _ = writeln!(out, "OK");
            0
        }
        Err(e) => {
            report(&e, err);
            let _ = writeln!(out, "{NOT_VALID}");
            1
        }
    }
}

fn report(e: &LoadError, err: &mut dyn Write) {
    let _ = writeln!(err, "ERROR {e}");
    if let LoadError::Invalid(_) = e {
        let _ = writeln!(
            err,
            "ERROR the policy schema is PowerfulSeal {}'s; docs/seal.md describes every key",
            crate::UPSTREAM_VERSION
        );
    }
}

/// What `autonomous` was asked for (its flags).
#[derive(Debug, Clone, Default)]
pub struct Autonomous {
    pub policy_file: std::path::PathBuf,
    pub kubeconfig: Option<std::path::PathBuf>,
    pub seed: Option<u64>,
    /// `None`: the working directory.
    pub journal_dir: Option<std::path::PathBuf>,
    pub verbose: u8,
    pub silent: u8,
    /// `--prometheus-collector`: serve the metrics on this host and port.
    pub prometheus: Option<(String, u16)>,
}

/// `autonomous --policy-file PATH …`: checks the policy (invalid: exit 1, as upstream),
/// then runs it against the cluster until its `runs` are done, a `fail-fast` scenario
/// fails (exit 1) or SIGINT/SIGTERM stops it (after the cleanup; exit 130/143). The run's
/// log goes to standard error.
pub fn autonomous(args: &Autonomous, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let checked = match crate::load_file(&args.policy_file) {
        Ok(checked) => checked,
        Err(e) => {
            report(&e, err);
            let _ = writeln!(out, "{NOT_VALID}");
            return 1;
        }
    };
    if !checked.notices.is_empty() {
        for notice in &checked.notices {
            let _ = writeln!(err, "ERROR {}: {notice}", args.policy_file.display());
        }
        let _ = writeln!(
            err,
            "ERROR {}: this policy asks for what Shakedown does not do (cloud drivers, SSH); remove those actions to run it (docs/seal.md, \"Out of scope\")",
            args.policy_file.display()
        );
        return OUT_OF_SCOPE;
    }
    let journal_dir = args
        .journal_dir
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    if let Err(e) = std::fs::create_dir_all(&journal_dir) {
        let _ = writeln!(
            err,
            "ERROR --journal-dir {}: cannot create the directory: {e}",
            journal_dir.display()
        );
        return 1;
    }
    let options = crate::run::Options {
        kubeconfig: args.kubeconfig.clone(),
        seed: args.seed,
        journal_dir,
        origin: args.policy_file.display().to_string(),
        reload: Some(args.policy_file.clone()),
    };
    let how = How {
        verbose: args.verbose,
        silent: args.silent,
        prometheus: &args.prometheus,
    };
    start(
        &checked.policy,
        &checked.document,
        &options,
        &how,
        Mode::Autonomous,
        err,
    )
}

/// Which loop [`start`] runs.
enum Mode<'m> {
    Autonomous,
    Label {
        namespace: &'m str,
        runs: Option<u64>,
        min: f64,
        max: f64,
    },
}

/// The flags both modes share.
struct How<'h> {
    verbose: u8,
    silent: u8,
    prometheus: &'h Option<(String, u16)>,
}

/// What both modes share: the runtime, the log, the metrics (served with
/// `--prometheus-collector`), the signal handling; then the mode's loop. The exit code.
fn start(
    policy: &crate::policy::Policy,
    document: &experiment::Value,
    options: &crate::run::Options,
    how: &How<'_>,
    mode: Mode<'_>,
    err: &mut dyn Write,
) -> u8 {
    // Read while the process has one thread (the `time` crate refuses later).
    let local_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "ERROR cannot start the async runtime: {e}");
            return 1;
        }
    };
    let level = crate::run::log::Level::from_flags(how.verbose, how.silent);
    let log = std::sync::Arc::new(crate::run::log::Log::new(
        level,
        Box::new(std::io::stderr()),
    ));
    let metrics = std::sync::Arc::new(crate::run::metrics::Metrics::new(log.clone()));
    runtime.block_on(async {
        if let Some((host, port)) = how.prometheus {
            match tokio::net::TcpListener::bind((host.as_str(), *port)).await {
                Ok(listener) => {
                    log.info(
                        "policy_runner",
                        format!("Serving metrics at http://{host}:{port}/metrics"),
                    );
                    tokio::spawn(crate::run::metrics::serve(listener, metrics.clone()));
                }
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "ERROR --prometheus-host/--prometheus-port {host}:{port}: cannot listen: {e}"
                    );
                    return 1;
                }
            }
        }
        let shutdown = match crate::run::Shutdown::on_signals() {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(err, "ERROR cannot listen for SIGINT/SIGTERM: {e}");
                return 1;
            }
        };
        let runner = crate::run::Runner::new(
            policy,
            document,
            options,
            log,
            metrics,
            shutdown,
            local_offset,
        );
        match mode {
            Mode::Autonomous => runner.run().await,
            Mode::Label {
                namespace,
                runs,
                min,
                max,
            } => runner.label(namespace, runs, min, max).await,
        }
        .exit_code()
    })
}

/// What `label` was asked for (its flags).
#[derive(Debug, Clone, Default)]
pub struct Label {
    pub kubeconfig: Option<std::path::PathBuf>,
    /// `--kubernetes-namespace` (comma-separated; empty: every namespace).
    pub namespace: String,
    pub min_seconds_between_runs: f64,
    pub max_seconds_between_runs: f64,
    pub seed: Option<u64>,
    /// `--runs N` (ours): stop after N rounds; `None`: forever, as upstream.
    pub runs: Option<u64>,
    pub verbose: u8,
    pub silent: u8,
    pub prometheus: Option<(String, u16)>,
}

/// `label …`: kills the pods whose `seal/*` labels or annotations say so, round after
/// round ([`crate::run`]'s `label.rs`); exit 0 after `--runs`, 130/143 after a signal.
pub fn label(args: &Label, err: &mut dyn Write) -> u8 {
    let options = crate::run::Options {
        kubeconfig: args.kubeconfig.clone(),
        seed: args.seed,
        journal_dir: std::path::PathBuf::from("."),
        origin: String::new(),
        reload: None,
    };
    let policy = crate::policy::Policy {
        config: crate::policy::Config {
            run_strategy: crate::policy::RunStrategy {
                order: crate::policy::Order::RoundRobin,
                runs: args.runs,
                min_seconds_between_runs: args.min_seconds_between_runs,
                max_seconds_between_runs: args.max_seconds_between_runs,
            },
            exit_strategy: crate::policy::ExitStrategy::Report,
        },
        scenarios: Vec::new(),
    };
    let how = How {
        verbose: args.verbose,
        silent: args.silent,
        prometheus: &args.prometheus,
    };
    let mode = Mode::Label {
        namespace: &args.namespace,
        runs: args.runs,
        min: args.min_seconds_between_runs,
        max: args.max_seconds_between_runs,
    };
    start(&policy, &experiment::Value::Null, &options, &how, mode, err)
}

/// Flags of upstream's that ask for what is out of scope (a cloud driver, SSH): the
/// message for the first one given, if any.
pub fn out_of_scope(flags: &[(&str, bool)]) -> Option<String> {
    flags.iter().find(|(_, given)| *given).map(|(flag, _)| {
        format!(
            "{flag}: PowerfulSeal's cloud drivers and SSH execution are out of scope in Shakedown (Kubernetes only); drop the flag"
        )
    })
}

/// `chain -- A… && B… && …`: runs each command in turn, as `/bin/sh -c "A && B"` would,
/// stopping at the first that fails and exiting with its code (127 when it cannot be
/// started, 128 + the signal when one killed it); 0 when all succeeded (or none given).
///
/// Why: the clone's Toxiproxy sidecar is Shakedown's image, which has no shell, and its
/// startup probe must run several `toxiproxy-cli` commands (upstream chains them with
/// `sh -c`). One exec probe runs one program; this is that program.
pub fn chain(argv: &[std::ffi::OsString], err: &mut dyn Write) -> u8 {
    for command in argv.split(|a| a == "&&") {
        let Some((program, args)) = command.split_first() else {
            continue;
        };
        match std::process::Command::new(program).args(args).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                let code = status
                    .code()
                    .or_else(|| status.signal().map(|s| 128 + s))
                    .unwrap_or(1);
                return u8::try_from(code).unwrap_or(1);
            }
            Err(e) => {
                let _ = writeln!(
                    err,
                    "ERROR chain: cannot run {}: {e}",
                    std::path::Path::new(program).display()
                );
                return 127;
            }
        }
    }
    0
}

/// The program name that makes `chaos` behave as `chaos seal` (a link named so).
pub const DROPIN_NAME: &str = "powerfulseal";

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<std::ffi::OsString> {
        s.split_whitespace().map(Into::into).collect()
    }

    #[test]
    fn chain_runs_commands_in_order_and_stops_at_the_first_failure() {
        let dir = std::env::temp_dir().join(format!("seal-chain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        let mut err = Vec::new();
        let argv: Vec<std::ffi::OsString> = vec![
            "touch".into(),
            a.clone().into(),
            "&&".into(),
            "sh".into(),
            "-c".into(),
            "exit 3".into(),
            "&&".into(),
            "touch".into(),
            b.clone().into(),
        ];
        assert_eq!(chain(&argv, &mut err), 3);
        assert!(a.exists() && !b.exists());
        assert_eq!(chain(&words("true && true"), &mut err), 0);
        assert_eq!(chain(&[], &mut err), 0);
        assert_eq!(chain(&words("/no/such/program"), &mut err), 127);
        assert!(String::from_utf8_lossy(&err).contains("cannot run /no/such/program"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
