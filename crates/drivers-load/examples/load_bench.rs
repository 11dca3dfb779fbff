//! The benchmark's Shakedown side (bench/load/run): `run_load` called through its registry
//! row, as `chaos run` calls it, printing the results mapping as JSON.
//! Usage: load_bench URL CONCURRENCY SECONDS [THREADS]

use providers::registry::Invocation;
use serde_json::{json, Map, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, concurrency, seconds, rest @ ..] = args.as_slice() else {
        return Err("usage: load_bench URL CONCURRENCY SECONDS [THREADS]".into());
    };
    let threads: u64 = rest.first().map(|t| t.parse()).transpose()?.unwrap_or(1);
    let arguments = json!({
        "url": url,
        "concurrency": concurrency.parse::<u64>()?,
        "duration": seconds.parse::<f64>()?,
        "threads": threads,
    });
    let Value::Object(arguments) = arguments else {
        return Err("arguments".into());
    };
    let spec = drivers_load::actions::SPECS
        .iter()
        .find(|s| s.name == "run_load")
        .ok_or("no run_load row")?;
    let function = spec.function(drivers_load::actions::MODULE);
    // As `chaos`: the engine's runtime is single-threaded; the load runs on threads of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let configuration = Map::new();
    let results = runtime.block_on(function.driver.call(Invocation {
        arguments,
        configuration: &configuration,
        secrets: Map::new(),
    }))?;
    println!("{results}");
    Ok(())
}
