//! A finished load as the journal shows it: one flat mapping a tolerance can test
//! (`$.availability`, `$.latency_ms.p99`) and a report can chart.

use crate::plan::{Model, Plan};
use crate::runner::Outcome;
use serde_json::{json, Map, Value};

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn ms(micros: Option<u64>) -> Value {
    micros.map_or(Value::Null, |m| json!(round(m as f64 / 1000.0, 3)))
}

/// The results mapping.
///
/// | key | what |
/// |---|---|
/// | `url`, `method`, `http_version`, `model`, `concurrency`, `rate`, `threads`, `duration` | the plan |
/// | `elapsed` | seconds from the first request to the last answer |
/// | `stopped` | `duration`, `interrupted` (the run was), `experiment-end` (detached loads), `stopped` (`stop_load`) |
/// | `requests` | requests sent and answered or failed (`successes + failures`) |
/// | `successes` | answers with a status below 400 |
/// | `failures` | answers of 400 and above, plus requests without an answer |
/// | `availability` | `successes / requests` in %, 0 without requests |
/// | `rps` | `requests / elapsed` |
/// | `status` | answers by status code (`{"200": 95, "500": 5}`) |
/// | `errors` | requests without an answer by kind: `connect`, `timeout`, `closed`, `protocol`, `io` |
/// | `error_messages` | the first message of each error kind |
/// | `latency_ms` | `min`, `mean`, `p50`, `p90`, `p99`, `max` in milliseconds, from when a request was due (open model) or sent (closed model) to its last byte |
/// | `bytes_received` | answer body bytes |
pub fn to_json(plan: &Plan, outcome: &Outcome) -> Value {
    let s = &outcome.stats;
    let requests = s.requests();
    let elapsed = outcome.elapsed.as_secs_f64();
    let availability = if requests == 0 {
        0.0
    } else {
        round(s.successes as f64 * 100.0 / requests as f64, 3)
    };
    let rps = if elapsed > 0.0 {
        round(requests as f64 / elapsed, 2)
    } else {
        0.0
    };
    let status: Map<String, Value> = s
        .status
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let errors: Map<String, Value> = s
        .errors
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), json!(v)))
        .collect();
    let messages: Map<String, Value> = s
        .error_messages
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), json!(v)))
        .collect();
    let h = &s.latency;
    json!({
        "url": plan.url.as_str(),
        "method": plan.method.as_str(),
        "http_version": plan.protocol.as_str(),
        "model": match plan.model { Model::Closed => "closed", Model::Open { .. } => "open" },
        "concurrency": plan.concurrency,
        "rate": match plan.model { Model::Closed => Value::Null, Model::Open { rate } => json!(rate) },
        "threads": plan.threads,
        "duration": plan.duration.as_secs_f64(),
        "elapsed": round(elapsed, 3),
        "stopped": outcome.stopped,
        "requests": requests,
        "successes": s.successes,
        "failures": s.failures,
        "availability": availability,
        "rps": rps,
        "status": status,
        "errors": errors,
        "error_messages": messages,
        "latency_ms": {
            "min": ms(h.min()),
            "mean": h.mean().map_or(Value::Null, |m| json!(round(m / 1000.0, 3))),
            "p50": ms(h.percentile(50.0)),
            "p90": ms(h.percentile(90.0)),
            "p99": ms(h.percentile(99.0)),
            "max": ms(h.max()),
        },
        "bytes_received": s.bytes_received,
    })
}

/// One line for the log.
pub fn summary(results: &Value) -> String {
    format!(
        "{} requests in {}s ({} req/s), availability {}%, p50 {} ms, p99 {} ms, stopped by {}",
        results["requests"],
        results["elapsed"],
        results["rps"],
        results["availability"],
        results["latency_ms"]["p50"],
        results["latency_ms"]["p99"],
        results["stopped"].as_str().unwrap_or("")
    )
}
