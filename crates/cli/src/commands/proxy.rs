//! `chaos proxy`: the fault-injection proxy server and toxiproxy-cli's commands.

use super::runtime;
use crate::args::{ProxyArgs, ProxyCommand, ServeArgs, ToxicCommand};
use proxy::client::cli::{self, ToxicAddArgs};
use proxy::client::{Client, DEFAULT_URL};
use proxy::ServeConfig;

pub fn proxy(args: ProxyArgs) -> u8 {
    let command = match args.command {
        ProxyCommand::Serve(serve) => return serve_command(serve),
        client_command => client_command,
    };
    let Ok(rt) = runtime() else { return 1 };
    let url = args.host.unwrap_or_else(|| DEFAULT_URL.to_string());
    let result = rt.block_on(async {
        let c = Client::new(&url)?;
        match command {
            // Answered above, before any client exists.
            ProxyCommand::Serve(_) => Ok(String::new()),
            ProxyCommand::List => cli::list(&c).await,
            ProxyCommand::Inspect { proxy, stats } => cli::inspect_with(&c, &proxy, stats).await,
            ProxyCommand::Create {
                proxy,
                listen,
                upstream,
                protocol,
                tls,
            } => {
                let protocol = protocol.map(|p| p.as_str());
                let tls = cli::TlsFlags {
                    generate: tls.tls_generate,
                    cert: tls.tls_cert,
                    key: tls.tls_key,
                    names: tls.tls_name,
                    upstream_ca: tls.tls_upstream_ca,
                    no_verify_upstream: tls.tls_no_verify_upstream,
                    plain_upstream: tls.tls_plain_upstream,
                }
                .to_json()?;
                cli::create(&c, &proxy, &listen, &upstream, protocol, tls).await
            }
            ProxyCommand::Toggle { proxy } => cli::toggle(&c, &proxy).await,
            ProxyCommand::Delete { proxy } => cli::delete(&c, &proxy).await,
            ProxyCommand::Toxic { command } => match command {
                ToxicCommand::Add {
                    proxy,
                    toxic_type,
                    toxic_name,
                    toxicity,
                    attributes,
                    upstream,
                    downstream,
                } => {
                    let a = ToxicAddArgs {
                        proxy,
                        toxic_name,
                        toxic_type,
                        toxicity,
                        attributes,
                        upstream,
                        downstream,
                    };
                    cli::toxic_add(&c, &a).await
                }
                ToxicCommand::Update {
                    proxy,
                    toxic_name,
                    toxicity,
                    attributes,
                } => {
                    cli::toxic_update(&c, &proxy, &toxic_name, toxicity.as_deref(), &attributes)
                        .await
                }
                ToxicCommand::Remove { proxy, toxic_name } => {
                    cli::toxic_remove(&c, &proxy, &toxic_name).await
                }
            },
        }
    });
    match result {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn serve_command(args: ServeArgs) -> u8 {
    let config = ServeConfig {
        host: args.host,
        port: args.port,
        config_file: args.config,
        seed: args.seed,
        proxy_metrics: args.proxy_metrics,
        runtime_metrics: args.runtime_metrics,
        allowed_hosts: args.allow_hosts,
        max_connections: args.max_connections,
        ..ServeConfig::default()
    };
    match proxy::run_serve_command(config) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    }
}
