//! The machine-readable summary (`--export-format json`): verdicts, what deviated, every
//! activity's status and times, rollbacks, trends and contributions, without outputs.
//! The schema is documented in `docs/report.md` (§ JSON schema); `"schema": 1` names its
//! version and changes only when a key changes meaning or goes away (new keys may appear).

use crate::analysis::{Activity, Analysis, Check, ExperimentAnalysis, Verdict};
use serde_json::{json, Map, Value};

/// The schema's version.
pub const SCHEMA: u32 = 1;

/// The analysis as pretty JSON text.
pub fn render(a: &Analysis) -> String {
    let value = to_value(a);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// The analysis as a JSON value.
pub fn to_value(a: &Analysis) -> Value {
    json!({
        "schema": SCHEMA,
        "generator": "shakedown chaos report",
        "title": a.title,
        "verdict": a.verdict.as_str(),
        "verdict_line": a.verdict_line,
        "tags": a.tags,
        "counts": counts(a),
        "experiments": a.experiments.iter().map(experiment).collect::<Vec<_>>(),
        "contributions": {
            "names": a.contributions.names,
            "distribution": a.contributions.distribution,
            "per_experiment": pairs(&a.contributions.per_experiment),
            "per_area": pairs(&a.contributions.per_area),
        },
        "trends": a.trends.iter().map(|t| json!({
            "title": t.title,
            "runs": t.runs.iter().map(|(s, v, d)| json!({
                "start": s, "verdict": v.as_str(), "duration": d,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn counts(a: &Analysis) -> Value {
    let mut m = Map::new();
    m.insert("experiments".into(), a.experiments.len().into());
    for v in [
        Verdict::Held,
        Verdict::Deviated,
        Verdict::Failed,
        Verdict::Aborted,
        Verdict::Interrupted,
        Verdict::Unknown,
    ] {
        let n = a.experiments.iter().filter(|e| e.verdict == v).count();
        m.insert(v.as_str().into(), n.into());
    }
    Value::Object(m)
}

fn pairs(rows: &[(String, Vec<Option<f64>>)]) -> Value {
    rows.iter()
        .map(|(name, vals)| json!({"name": name, "levels": vals}))
        .collect()
}

fn check(c: &Option<Check>, e: &ExperimentAnalysis) -> Value {
    match c {
        None => Value::Null,
        Some(c) => json!({
            "met": c.met,
            "probes": c.probes.iter().filter_map(|&i| e.activities.get(i)).map(|a| json!({
                "name": a.name, "status": a.status, "tolerance_met": a.tolerance_met,
            })).collect::<Vec<_>>(),
        }),
    }
}

fn activity(a: &Activity) -> Value {
    json!({
        "phase": a.phase.as_str(),
        "iteration": match a.phase { journal::Phase::During(i) => Some(i), _ => None },
        "type": a.kind,
        "name": a.name,
        "status": a.status,
        "background": a.background,
        "start": a.start,
        "end": a.end,
        "start_offset": a.start_offset,
        "duration": a.duration,
        "tolerance_met": a.tolerance_met,
        "error": a.error,
    })
}

fn experiment(e: &ExperimentAnalysis) -> Value {
    let rollbacks: Vec<&Activity> = e
        .activities
        .iter()
        .filter(|a| a.phase == journal::Phase::Rollback)
        .collect();
    json!({
        "id": e.id,
        "journal": e.file.display().to_string(),
        "title": e.title,
        "description": e.description,
        "tags": e.tags,
        "contributions": e.contributions.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>(),
        "status": e.status,
        "deviated": e.deviated,
        "verdict": e.verdict.as_str(),
        "verdict_line": e.verdict_line,
        "chaoslib_version": e.chaoslib_version,
        "node": e.node,
        "platform": e.platform,
        "start": e.start,
        "end": e.end,
        "duration": e.duration,
        "interruption": e.interruption,
        "hypothesis": {
            "title": e.hypothesis_title,
            "before": check(&e.before, e),
            "after": check(&e.after, e),
            "during": e.during.iter().map(|c| c.met).collect::<Vec<_>>(),
        },
        "counts": {
            "activities": e.activities.len(),
            "actions_in_method": e.num_actions,
            "probes_in_method": e.num_probes,
            "failed": e.activities.iter().filter(|a| a.failed()).count(),
            "background": e.activities.iter().filter(|a| a.background).count(),
            "rollbacks": rollbacks.len(),
        },
        "deviations": e.deviations.iter().map(|d| json!({
            "phase": d.phase.as_str(),
            "probe": d.probe,
            "tolerance": d.tolerance,
            "observed": d.observed,
            "error": d.error,
        })).collect::<Vec<_>>(),
        "rollbacks": rollbacks.iter().map(|a| json!({
            "name": a.name, "status": a.status, "duration": a.duration, "error": a.error,
        })).collect::<Vec<_>>(),
        "activities": e.activities.iter().map(activity).collect::<Vec<_>>(),
    })
}
