//! `chaosk8s.pod.probes`: phases, conditions, counts, health and logs of pods.

use experiment::pyrepr::py_repr;
use experiment::Value;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use crate::client::query;
use crate::common::{body, failed, items, name_of, s, Ctx, Def, Spec, NS, SECRETS};
use crate::pod::actions::pods_path;

pub const MODULE: &str = "chaosk8s.pod.probes";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "pods_in_phase",
        kind: Kind::Probe,
        doc:
            "Whether every pod matching `label_selector` in `ns` is in `phase`.\n\nRaises when no \
pod matches, or (unless `raise_on_invalid_phase` is false, then returns false) when one is in \
another phase.",
        params: &[
            ("label_selector", Def::Required, Some("string")),
            ("phase", Def::Str("Running"), Some("string")),
            NS,
            ("raise_on_invalid_phase", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(pods_in_phase),
    },
    Spec {
        name: "pods_in_conditions",
        kind: Kind::Probe,
        doc: "Whether every pod matching `label_selector` in `ns` has all the given \
`conditions` (e.g. `[{type: Ready, status: \"True\"}]`).",
        params: &[
            ("label_selector", Def::Required, Some("string")),
            ("conditions", Def::Required, Some("list")),
            NS,
            (
                "raise_on_invalid_conditions",
                Def::Bool(true),
                Some("boolean"),
            ),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(pods_in_conditions),
    },
    Spec {
        name: "pods_not_in_phase",
        kind: Kind::Probe,
        doc: "Whether no pod matching `label_selector` in `ns` is in `phase`.",
        params: &[
            ("label_selector", Def::Required, Some("string")),
            ("phase", Def::Str("Running"), Some("string")),
            NS,
            ("raise_on_in_phase", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(pods_not_in_phase),
    },
    Spec {
        name: "count_pods",
        kind: Kind::Probe,
        doc: "How many pods match `label_selector` in `ns` (only those in `phase` if given). \
Terminating pods still count.",
        params: &[
            ("label_selector", Def::Required, Some("string")),
            ("phase", Def::None, Some("string")),
            NS,
            SECRETS,
        ],
        return_type: Some("integer"),
        body: body!(count_pods),
    },
    Spec {
        name: "count_min_pods",
        kind: Kind::Probe,
        doc: "Whether at least `min_count` pods match `label_selector` in `ns` and `phase`.",
        params: &[
            ("label_selector", Def::Required, Some("string")),
            ("phase", Def::Str("Running"), Some("string")),
            ("min_count", Def::Int(2), Some("integer")),
            NS,
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(count_min_pods),
    },
    Spec {
        name: "pod_is_not_available",
        kind: Kind::Probe,
        doc: "Whether no pod selected by `label_selector` (default `name in ({name})`) runs.",
        params: &[
            ("name", Def::Required, Some("string")),
            NS,
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            ("raise_on_is_available", Def::Bool(true), Some("boolean")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(pod_is_not_available),
    },
    Spec {
        name: "read_pod_logs",
        kind: Kind::Probe,
        doc: "The logs of the selected pods, `{pod_name: text}`, timestamped; `last` (e.g. \
`60s`, `10 minutes`) limits how far back.",
        params: &[
            ("name", Def::None, Some("string")),
            ("last", Def::None, Some("string")),
            NS,
            ("from_previous", Def::Bool(false), Some("boolean")),
            (
                "label_selector",
                Def::Str("name in ({name})"),
                Some("string"),
            ),
            ("container_name", Def::None, Some("string")),
            SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(read_pod_logs),
    },
    Spec {
        name: "should_be_found_in_logs",
        kind: Kind::Probe,
        doc: "Tolerance helper: whether `pattern` is found in the logs `value` (from \
`read_pod_logs`), in every container's logs unless `all_containers` is false.",
        params: &[
            ("pattern", Def::Required, Some("string")),
            ("all_containers", Def::Bool(true), Some("boolean")),
            ("value", Def::None, Some("mapping")),
            SECRETS,
        ],
        return_type: Some("boolean"),
        body: body!(should_be_found_in_logs),
    },
];

/// Not in upstream's `__all__`, but the target of `chaosk8s.probes.all_microservices_healthy`.
pub(crate) const HIDDEN: &[Spec] = &[Spec {
    name: "all_pods_healthy",
    kind: Kind::Probe,
    doc: "Whether every pod in `ns` is Running or Succeeded (readiness is not checked).",
    params: &[
        NS,
        ("raise_on_any_unhealthy", Def::Bool(true), Some("boolean")),
        SECRETS,
    ],
    return_type: Some("boolean"),
    body: body!(all_pods_healthy),
}];

async fn list_pods(ctx: &Ctx<'_>, label_selector: Option<&str>) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    api.get_ok(&pods_path(&ctx.ns(), label_selector)).await
}

fn phase(pod: &Value) -> &str {
    s(pod, "/status/phase")
}

async fn pods_in_phase(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let selector = ctx.opt_str("label_selector");
    let list = list_pods(&ctx, selector.as_deref()).await?;
    let pods = items(&list);
    let shown = ctx.text("label_selector");
    if pods.is_empty() {
        return Err(failed(format!("no pods '{shown}' were found")));
    }
    let wanted = ctx.text("phase");
    if let Some(pod) = pods.iter().find(|p| phase(p) != wanted) {
        if ctx.flag("raise_on_invalid_phase") {
            return Err(failed(format!(
                "pod '{shown}' is in phase '{}' but should be '{wanted}'",
                phase(pod)
            )));
        }
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(true))
}

async fn pods_not_in_phase(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let selector = ctx.opt_str("label_selector");
    let list = list_pods(&ctx, selector.as_deref()).await?;
    let pods = items(&list);
    let shown = ctx.text("label_selector");
    if pods.is_empty() {
        return Err(failed(format!("no pods '{shown}' were found")));
    }
    let unwanted = ctx.text("phase");
    if pods.iter().any(|p| phase(p) == unwanted) {
        if ctx.flag("raise_on_in_phase") {
            return Err(failed(format!(
                "pod '{shown}' should not be in phase '{unwanted}'"
            )));
        }
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(true))
}

/// Upstream compares each given dict with the pod's `{type, status}` pairs by equality.
fn has_condition(pod: &Value, wanted: &Value) -> bool {
    let Some(w) = wanted.as_object() else {
        return false;
    };
    if w.len() != 2 {
        return false;
    }
    let (Some(Value::String(t)), Some(Value::String(st))) = (w.get("type"), w.get("status")) else {
        return false;
    };
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| s(c, "/type") == t && s(c, "/status") == st)
        })
}

async fn pods_in_conditions(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let selector = ctx.opt_str("label_selector");
    let list = list_pods(&ctx, selector.as_deref()).await?;
    let pods = items(&list);
    if pods.is_empty() {
        return Err(failed(format!(
            "no pods '{}' were found",
            ctx.text("label_selector")
        )));
    }
    let conditions: Vec<Value> = match ctx.arg("conditions") {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    for pod in pods {
        for condition in &conditions {
            if !has_condition(pod, condition) {
                if ctx.flag("raise_on_invalid_conditions") {
                    return Err(failed(format!(
                        "pod {} does not match the following given condition: {}",
                        name_of(pod),
                        py_repr(condition)
                    )));
                }
                return Ok(Value::Bool(false));
            }
        }
    }
    Ok(Value::Bool(true))
}

/// Upstream lists every pod and compares phases client-side; one LIST of metadata only,
/// filtered by phase on the server, gives the same count for a fraction of the work.
async fn count(ctx: &Ctx<'_>) -> Result<usize, ProviderError> {
    let selector = ctx.opt_str("label_selector");
    let field = ctx
        .opt_str("phase")
        .map(|w| format!("status.phase={}", field_value(&w)));
    let path = query(
        &format!("/api/v1/namespaces/{}/pods", ctx.ns()),
        &[
            (
                "labelSelector",
                selector.as_deref().filter(|l| !l.is_empty()),
            ),
            ("fieldSelector", field.as_deref()),
        ],
    );
    let api = ctx.kube().await?;
    Ok(items(&api.list_metadata(&path).await?).len())
}

/// Escapes a field selector value (`\`, `,` and `=` are syntax there).
fn field_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

async fn count_pods(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    Ok(Value::from(count(&ctx).await?))
}

async fn count_min_pods(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let min = ctx.int("min_count")?.unwrap_or(2);
    Ok(Value::Bool(count(&ctx).await? as i64 >= min))
}

/// Upstream formats `label_selector` with `name` (`"name in ({name})"`).
fn formatted_selector(ctx: &Ctx<'_>) -> Option<String> {
    ctx.opt_str("label_selector")
        .map(|l| l.replace("{name}", &ctx.text("name")))
}

async fn pod_is_not_available(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = list_pods(&ctx, formatted_selector(&ctx).as_deref()).await?;
    if items(&list).iter().any(|p| phase(p) == "Running") {
        if ctx.flag("raise_on_is_available") {
            return Err(failed(format!(
                "pod '{}' is actually running",
                ctx.text("name")
            )));
        }
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(true))
}

async fn all_pods_healthy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let list = list_pods(&ctx, None).await?;
    let unhealthy = items(&list)
        .iter()
        .any(|p| !matches!(phase(p), "Running" | "Succeeded"));
    if unhealthy {
        if ctx.flag("raise_on_any_unhealthy") {
            return Err(failed("the system is unhealthy"));
        }
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(true))
}

/// Seconds since an instant given as upstream's `dateparser` reads a relative date: one or
/// more `<number> <unit>` parts (`60s`, `10 minutes`, `1h30m`, `1 hour and 30 minutes`,
/// `an hour`, `2 weeks ago`), units from seconds to weeks.
fn since_seconds(last: &str) -> Result<i64, ProviderError> {
    let bad = |why: &str| {
        ProviderError::failed(FailureKind::Declaration, format!(
            "TypeError: cannot parse last={last:?} as a duration ({why}; e.g. \"60s\", \"10 minutes\", \"1h30m\")"
        ))
    };
    let text = last.to_ascii_lowercase().replace(',', " ");
    let text = text.trim();
    let text = text.strip_suffix("ago").unwrap_or(text);
    let mut rest = text.trim_start();
    let mut total = 0f64;
    let mut parts = 0;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("and ") {
            rest = after.trim_start();
            continue;
        }
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (n, after) = if digits > 0 {
            let n: f64 = rest[..digits].parse().map_err(|_| bad("not a number"))?;
            (n, &rest[digits..])
        } else if let Some(after) = rest.strip_prefix("an ").or_else(|| rest.strip_prefix("a ")) {
            (1.0, after)
        } else {
            return Err(bad("expected a number"));
        };
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let seconds = match unit {
            "" if parts == 0 && after.is_empty() => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
            "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            "w" | "week" | "weeks" => 604800.0,
            _ => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        total += n * seconds;
        parts += 1;
        rest = after[unit_len..].trim_start();
    }
    if parts == 0 {
        return Err(bad("empty"));
    }
    Ok(total as i64)
}

async fn read_pod_logs(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let ns = ctx.ns();
    // Upstream sends `sinceSeconds` only when it is not 0 (the API rejects 0).
    let since = match ctx.opt_str("last") {
        Some(l) => Some(since_seconds(&l)?)
            .filter(|s| *s > 0)
            .map(|s| s.to_string()),
        None => None,
    };
    let list = list_pods(&ctx, formatted_selector(&ctx).as_deref()).await?;
    let api = ctx.kube().await?;
    let previous = if ctx.flag("from_previous") {
        "true"
    } else {
        "false"
    };
    let container = ctx.opt_str("container_name");
    let mut logs = experiment::Map::new();
    for pod in items(&list) {
        let name = name_of(pod);
        let path = query(
            &format!("/api/v1/namespaces/{ns}/pods/{name}/log"),
            &[
                ("follow", Some("false")),
                ("previous", Some(previous)),
                ("timestamps", Some("true")),
                ("container", container.as_deref()),
                ("sinceSeconds", since.as_deref()),
            ],
        );
        let text = api.text(&path).await?.map_err(|e| e.exception())?;
        logs.insert(name.to_string(), Value::String(text));
    }
    Ok(Value::Object(logs))
}

async fn should_be_found_in_logs(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let logs = match ctx.arg("value") {
        Value::Object(m) if !m.is_empty() => m.clone(),
        _ => return Err(failed("no logs to search from")),
    };
    let pattern = ctx.text("pattern");
    let re = regex::Regex::new(&pattern).map_err(|e| {
        ProviderError::failed(
            FailureKind::Declaration,
            format!("re.error: invalid pattern {pattern:?}: {e}"),
        )
    })?;
    let found = |v: &Value| re.is_match(&experiment::pyrepr::py_str(v));
    Ok(Value::Bool(if ctx.flag("all_containers") {
        logs.values().all(found)
    } else {
        logs.values().any(found)
    }))
}

#[cfg(test)]
mod tests {
    use super::since_seconds;

    /// Expected values are what upstream computes with `dateparser.parse(last)`.
    #[test]
    fn since_seconds_reads_dateparser_durations() {
        for (last, seconds) in [
            ("60s", 60),
            ("10 minutes", 600),
            ("10 MINUTES", 600),
            ("10minutes", 600),
            ("2 hours ago", 7200),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            ("1 hour and 30 minutes", 5400),
            ("1 hour, 30 minutes", 5400),
            ("1.5 hours", 5400),
            ("an hour", 3600),
            ("a minute", 60),
            ("5 secs", 5),
            ("2 hrs", 7200),
            ("1 day ago", 86400),
            ("2 weeks", 1_209_600),
            ("0s", 0),
            ("90", 90),
        ] {
            assert_eq!(since_seconds(last).ok(), Some(seconds), "{last}");
        }
        for last in ["", "soon", "10 fortnights", "1 month", "90 10m"] {
            assert!(since_seconds(last).is_err(), "{last}");
        }
    }
}
