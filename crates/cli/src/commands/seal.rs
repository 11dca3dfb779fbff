//! `chaos seal` / `powerfulseal`: flags in, `seal::command` out.

use crate::args::{SealArgs, SealCommand, SealCommonArgs};

pub fn seal(args: SealArgs) -> u8 {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    match args.command {
        SealCommand::Validate(v) => ::seal::command::validate(&v.policy_file, &mut out, &mut err),
        SealCommand::Autonomous(a) => {
            if let Some(code) = refuse_out_of_scope(&a.common, a.metrics.datadog_collector) {
                return code;
            }
            let run = ::seal::command::Autonomous {
                policy_file: a.policy.policy_file,
                kubeconfig: a.common.kubeconfig,
                seed: a.seed,
                journal_dir: a.journal_dir,
                verbose: args.verbose,
                silent: args.silent,
                prometheus: a
                    .metrics
                    .prometheus_collector
                    .then(|| (a.metrics.prometheus_host.clone(), a.metrics.prometheus_port)),
            };
            ::seal::command::autonomous(&run, &mut out, &mut err)
        }
        SealCommand::Label(l) => {
            if let Some(code) = refuse_out_of_scope(&l.common, l.metrics.datadog_collector) {
                return code;
            }
            let run = ::seal::command::Label {
                kubeconfig: l.common.kubeconfig,
                namespace: l.kubernetes_namespace,
                min_seconds_between_runs: l.min_seconds_between_runs.unwrap_or(0.0),
                max_seconds_between_runs: l.max_seconds_between_runs.unwrap_or(300.0),
                seed: l.seed,
                runs: l.runs,
                verbose: args.verbose,
                silent: args.silent,
                prometheus: l
                    .metrics
                    .prometheus_collector
                    .then(|| (l.metrics.prometheus_host.clone(), l.metrics.prometheus_port)),
            };
            ::seal::command::label(&run, &mut err)
        }
        SealCommand::Chain(c) => ::seal::command::chain(&c.argv, &mut err),
    }
}

/// Exit 2 (a usage error) for a flag that asks for a cloud driver, SSH or Datadog.
fn refuse_out_of_scope(common: &SealCommonArgs, datadog: bool) -> Option<u8> {
    let ssh = common.execution_mode.as_deref() == Some("ssh");
    let message = ::seal::command::out_of_scope(&[
        ("--openstack", common.openstack),
        ("--aws", common.aws),
        ("--azure", common.azure),
        ("--gcp", common.gcp),
        ("--execution-mode ssh", ssh),
        ("--inventory-file", common.inventory_file.is_some()),
        ("--datadog-collector", datadog),
    ])?;
    eprintln!("ERROR {message}");
    Some(2)
}
