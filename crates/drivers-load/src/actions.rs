//! The functions: `shakedown.load.actions` (`run_load`, `start_load`, `stop_load`),
//! `shakedown.load.probes` (`load_results`) and the talk's `load.single`.
//!
//! | function | returns | when it ends |
//! |---|---|---|
//! | `run_load(url, duration=10, concurrency=10, rate=None, …)` | the results | after `duration`; in the background (`background: true`) also when the run is interrupted, with the partial results |
//! | `start_load(name, url, …)` | `{"name", "url"}` at once | after `duration`, at `stop_load(name)`, or when the run is interrupted or ends |
//! | `stop_load(name)` | the results | stops `name` and waits for its requests in flight |
//! | `load_results(name)` (probe) | the results | waits for `name` to end |
//! | `load.single(url, duration, frequency=1.0)` | `None` at once, as the talk's module | one request every `frequency` seconds for `duration` seconds, stopped with the run |

use crate::plan::{self, ArgumentError, Plan};
use crate::results;
use crate::runner::{self, Detached, LoadError};
use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use providers::registry::Kind;
use providers::scope::RunScope;
use providers::table::{Bound, Def, Spec, P};
use providers::{Failure, FailureKind, ProviderError};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Shakedown's own module for the actions (no upstream Chaos Toolkit package has one).
pub const MODULE: &str = "shakedown.load.actions";
/// ... and for the probe.
pub const PROBES: &str = "shakedown.load.probes";
/// The talk's user module, answered natively only when Python cannot import one of that
/// name (docs/compatibility.md).
pub const SINGLE_MODULE: &str = "load";

const LOAD_DOC: &str = "Sends HTTP requests to `url` for `duration` seconds and returns \
    what happened: requests, successes (status below 400), failures by status and by error \
    kind, availability in %, requests per second and latency percentiles in ms. Closed \
    model by default (`concurrency` connections, each sending its next request when its \
    last one is answered, as siege and wrk do); with `rate`, an open model (that many \
    requests per second, at most `concurrency` in flight, latency counted from when each \
    was due). `http_version` '2' speaks HTTP/2 over cleartext (prior knowledge). Traffic \
    goes only to `url`'s host and port; redirects are not followed.";

/// The parameters every load takes, in order, after `name` for the named ones.
macro_rules! load_params {
    ($($first:expr,)*) => {
        &[
            $($first,)*
            ("url", Def::Required, Some("string")),
            ("duration", Def::Float(plan::defaults::DURATION), Some("number")),
            ("concurrency", Def::Int(plan::defaults::CONCURRENCY), Some("integer")),
            ("rate", Def::None, Some("number")),
            ("method", Def::Str(plan::defaults::METHOD), Some("string")),
            ("headers", Def::None, Some("mapping")),
            ("body", Def::None, None),
            ("timeout", Def::Float(plan::defaults::TIMEOUT), Some("number")),
            ("http_version", Def::Str(plan::defaults::HTTP_VERSION), Some("string")),
            ("keep_alive", Def::Bool(true), Some("boolean")),
            ("threads", Def::Int(plan::defaults::THREADS), Some("integer")),
        ]
    };
}

const RUN_PARAMS: &[P] = load_params!();
const START_PARAMS: &[P] = load_params!(("name", Def::Required, Some("string")),);

/// The rows of `shakedown.load.actions`.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "run_load",
        kind: Kind::Action,
        doc: LOAD_DOC,
        params: RUN_PARAMS,
        return_type: Some("mapping"),
        body: providers::body!(run_load),
    },
    Spec {
        name: "start_load",
        kind: Kind::Action,
        doc: "Starts the load `run_load` describes and returns at once; it runs beside the \
              rest of the experiment until its duration is over, `stop_load(name)` stops \
              it, or the run is interrupted or ends. `load_results(name)` returns what it did.",
        params: START_PARAMS,
        return_type: Some("mapping"),
        body: providers::body!(start_load),
    },
    Spec {
        name: "stop_load",
        kind: Kind::Action,
        doc: "Stops the load `start_load` named `name` (requests in flight finish) and \
              returns its results.",
        params: &[("name", Def::Required, Some("string"))],
        return_type: Some("mapping"),
        body: providers::body!(stop_load),
    },
];

/// The rows of `shakedown.load.probes`.
pub const PROBE_SPECS: &[Spec] = &[Spec {
    name: "load_results",
    kind: Kind::Probe,
    doc: "Waits for the load `start_load` named `name` to end and returns its results \
          (the mapping `run_load` returns).",
    params: &[("name", Def::Required, Some("string"))],
    return_type: Some("mapping"),
    body: providers::body!(load_results),
}];

/// `load.single` of the talk's user module.
pub const SINGLE: Spec = Spec {
    name: "single",
    kind: Kind::Action,
    doc: "Calls `url` every `frequency` seconds for `duration` seconds, in the background, \
          and returns at once (the talk's `load` module). Stopped with the run.",
    params: &[
        ("url", Def::Required, None),
        ("duration", Def::Required, None),
        ("frequency", Def::Float(1.0), None),
    ],
    return_type: None,
    body: providers::body!(single),
};

fn argument_failed(e: ArgumentError) -> ProviderError {
    let message = e.to_string();
    ProviderError::Failed(Failure::new(FailureKind::Declaration, message).with_source(e))
}

fn load_failed(e: LoadError) -> ProviderError {
    let kind = match e {
        LoadError::Resolve { .. } | LoadError::NoAddress { .. } => FailureKind::Unreachable,
        _ => FailureKind::Environment,
    };
    let message = e.to_string();
    ProviderError::Failed(Failure::new(kind, message).with_source(e))
}

fn scope() -> RunScope {
    providers::scope::current().unwrap_or_else(RunScope::never)
}

/// Stops the load when the call's future is dropped (a foreground activity the engine
/// abandons on a signal), so no request starts after the run moved on.
struct StopOnDrop(Arc<tokio::sync::watch::Sender<bool>>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

async fn run_load(call: Bound<'_>) -> Result<Value, ProviderError> {
    let plan = Plan::from_args(&call.args).map_err(argument_failed)?;
    log::info!("Load: {}", plan.describe());
    let running = runner::start(plan.clone(), scope())
        .await
        .map_err(load_failed)?;
    let _stop = StopOnDrop(running.stopper());
    let outcome = running.outcome().await.map_err(load_failed)?;
    let results = results::to_json(&plan, &outcome);
    log::info!("Load: {}", results::summary(&results));
    Ok(results)
}

/// A load started by `start_load` or `load.single`.
struct Entry {
    plan: Plan,
    load: Detached,
    results: Option<Value>,
}

static DETACHED: LazyLock<Mutex<BTreeMap<String, Entry>>> = LazyLock::new(Default::default);

fn detached() -> std::sync::MutexGuard<'static, BTreeMap<String, Entry>> {
    DETACHED.lock().unwrap_or_else(|e| e.into_inner())
}

async fn start_detached(name: String, plan: Plan) -> Result<(), ProviderError> {
    if detached().get(&name).is_some_and(|e| e.results.is_none()) {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!("a load named '{name}' is already running; give each start_load its own name"),
        ));
    }
    let running = runner::start(plan.clone(), scope())
        .await
        .map_err(load_failed)?;
    detached().insert(
        name,
        Entry {
            plan,
            load: running.detach(),
            results: None,
        },
    );
    Ok(())
}

/// Waits for the detached load `name` (stopping it first if `stop`) and returns its results.
async fn finish(name: &str, stop: bool) -> Result<Value, ProviderError> {
    let (receiver, plan) = {
        let map = detached();
        let Some(entry) = map.get(name) else {
            return Err(ProviderError::failed(
                FailureKind::Declaration,
                format!("no load named '{name}' was started in this run (start_load names it)"),
            ));
        };
        if let Some(results) = &entry.results {
            return Ok(results.clone());
        }
        if stop {
            entry.load.stopper.send_replace(true);
        }
        let receiver = entry
            .load
            .outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        (receiver, entry.plan.clone())
    };
    let Some(receiver) = receiver else {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!("another activity is already waiting for the load '{name}'"),
        ));
    };
    let outcome = receiver.await.map_err(|_| load_failed(LoadError::Lost))?;
    let results = results::to_json(&plan, &outcome);
    log::info!("Load '{name}': {}", results::summary(&results));
    if let Some(entry) = detached().get_mut(name) {
        entry.results = Some(results.clone());
    }
    Ok(results)
}

fn name_arg(call: &Bound<'_>) -> Result<String, ProviderError> {
    match call.arg("name") {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        other => Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "argument 'name': must be a non-empty string, not {}",
                experiment::pyrepr::py_repr(other)
            ),
        )),
    }
}

async fn start_load(call: Bound<'_>) -> Result<Value, ProviderError> {
    let name = name_arg(&call)?;
    let mut args = call.args.clone();
    args.remove("name");
    let plan = Plan::from_args(&args).map_err(argument_failed)?;
    log::info!("Load '{name}' started: {}", plan.describe());
    let url = plan.url.to_string();
    start_detached(name.clone(), plan).await?;
    Ok(serde_json::json!({"name": name, "url": url}))
}

async fn stop_load(call: Bound<'_>) -> Result<Value, ProviderError> {
    finish(&name_arg(&call)?, true).await
}

async fn load_results(call: Bound<'_>) -> Result<Value, ProviderError> {
    finish(&name_arg(&call)?, false).await
}

/// The arguments `load.single` amounts to for [`Plan::from_args`].
pub fn single_args(args: &Map) -> Result<Map, ArgumentError> {
    let frequency = match args.get("frequency") {
        None | Some(Value::Null) => 1.0,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
    };
    if !(frequency.is_finite() && frequency > 0.0) {
        return Err(ArgumentError {
            argument: "frequency",
            message: format!(
                "must be a number of seconds more than 0, not {}",
                experiment::pyrepr::py_repr(args.get("frequency").unwrap_or(&Value::Null))
            ),
        });
    }
    let mut plan = Map::new();
    for key in ["url", "duration"] {
        if let Some(v) = args.get(key) {
            plan.insert(key.into(), v.clone());
        }
    }
    plan.insert("rate".into(), serde_json::json!(1.0 / frequency));
    plan.insert("concurrency".into(), serde_json::json!(1));
    // A request may take up to the interval between two; the talk's module waited for each.
    plan.insert(
        "timeout".into(),
        serde_json::json!(frequency.max(plan::defaults::TIMEOUT)),
    );
    Ok(plan)
}

async fn single(call: Bound<'_>) -> Result<Value, ProviderError> {
    let plan = single_args(&call.args)
        .and_then(|args| Plan::from_args(&args))
        .map_err(argument_failed)?;
    log::info!(
        "Calling '{}' for {}s every {}s",
        call.text("url"),
        py_str(call.arg("duration")),
        py_str(call.arg("frequency"))
    );
    let name = format!("load.single {}", plan.url);
    // A second call for the same URL replaces the first's entry once that one has ended.
    start_detached(name, plan).await?;
    Ok(Value::Null)
}

/// Validation's check of a declared call (`chaos validate`): the URL and every other
/// argument that is not a `${...}` placeholder.
pub fn check(func: &str, arguments: &Map) -> Result<(), ArgumentError> {
    match func {
        "run_load" => plan::check_declared(arguments),
        "start_load" => {
            let mut args = arguments.clone();
            args.remove("name");
            plan::check_declared(&args)
        }
        "single" => {
            let concrete: Map = arguments
                .iter()
                .filter(|(_, v)| !plan::is_placeholder(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut args = single_args(&concrete)?;
            if arguments.get("url").is_some_and(plan::is_placeholder) {
                args.insert("url".into(), Value::String("http://placeholder/".into()));
            }
            if !args.contains_key("duration") {
                // Required: the signature check reports it if it is missing altogether.
                args.insert("duration".into(), serde_json::json!(1));
            }
            Plan::from_args(&args).map(drop)
        }
        _ => Ok(()),
    }
}
