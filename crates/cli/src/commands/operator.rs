//! `chaos operator`: flags in, `operator::run` out, stopped by SIGTERM or SIGINT.

use super::runtime;
use crate::args::OperatorArgs;

pub fn operator(args: OperatorArgs) -> u8 {
    if args.print_crds {
        let list =
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": ::operator::crds()});
        println!("{list:#}");
        return 0;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let identity = args.identity.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let options = ::operator::Options {
        kubeconfig: args.kubeconfig,
        runner_image: args.runner_image,
        kill_switch: args.kill_switch,
        metrics_addr: args.metrics_addr,
        leader_lease: args.leader_lease,
        identity,
    };
    rt.block_on(async {
        let shutdown = async {
            use tokio::signal::unix::{signal, SignalKind};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => std::future::pending::<()>().await,
            }
            log::info!("stopping: finishing the reconcile passes in progress");
        };
        match ::operator::run(options, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                log::error!("{e}");
                1
            }
        }
    })
}
