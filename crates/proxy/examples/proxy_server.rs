//! Stand-alone server for benchmarks: `proxy_server [--host H] [--port P] [--seed N]
//! [--config FILE] [--proxy-metrics] [--runtime-metrics] [--max-connections N]` (what
//! `chaos proxy serve` runs).

use proxy::ServeConfig;

fn main() {
    let mut cfg = ServeConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_default();
        match a.trim_start_matches('-') {
            "host" => cfg.host = val(),
            "port" => cfg.port = val().parse().unwrap_or(8474),
            "seed" => cfg.seed = val().parse().ok(),
            "config" => cfg.config_file = Some(val().into()),
            "proxy-metrics" => cfg.proxy_metrics = true,
            "runtime-metrics" => cfg.runtime_metrics = true,
            "max-connections" => cfg.max_connections = val().parse().ok(),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = proxy::run_serve_command(cfg) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
