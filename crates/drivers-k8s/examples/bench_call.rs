//! Times one in-process call of a `chaosk8s` function, for `bench/k8s/run`: the
//! counterpart of timing the Python function with `perf_counter`, without process
//! start-up. Usage: `bench_call <module> <func> '<json arguments>'`; prints
//! `<seconds> <json result>` (the first call builds the client, as a fresh run does).

use std::process::ExitCode;
use std::time::Instant;

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, module, func, json] = args.as_slice() else {
        eprintln!("usage: bench_call <module> <func> '<json arguments>'");
        return ExitCode::from(2);
    };
    let arguments = match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => m,
        _ => {
            eprintln!("arguments must be a JSON object");
            return ExitCode::from(2);
        }
    };
    providers::http::ensure_tls_provider();
    let mut registry = Registry::new();
    drivers_k8s::register(&mut registry);
    let Some(function) = registry.function(module, func) else {
        eprintln!("{module}.{func} is not registered");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let configuration = Map::new();
    let started = Instant::now();
    let result = runtime.block_on(function.driver.call(Invocation {
        arguments,
        configuration: &configuration,
        secrets: Map::new(),
    }));
    let elapsed = started.elapsed().as_secs_f64();
    match result {
        Ok(v) => {
            let shown = match &v {
                Value::Array(a) if a.len() > 3 => format!("[{} items]", a.len()),
                other => other.to_string(),
            };
            println!("{elapsed:.4} {shown}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{elapsed:.4} FAILED {e}");
            ExitCode::FAILURE
        }
    }
}
