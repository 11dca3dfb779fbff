//! The steady-state hypothesis: its probes in order, each judged by its tolerance, stopping
//! at the first probe that errors or is out of tolerance.

use crate::activity::{self, Mode, RunContext, Stop};
use crate::journal::{ActivityStatus, HypothesisState, Record, Timestamp};
use experiment::tolerance::{self, Outcome};
use experiment::Value;
use providers::Call;

/// Longest rendering of an observed value in the "observed … expected …" line.
const OBSERVED_LIMIT: usize = 300;

/// True when the experiment has a hypothesis with at least one probe.
pub fn has_probes(experiment: &Value) -> bool {
    probes(experiment).is_some_and(|p| !p.is_empty())
}

fn probes(experiment: &Value) -> Option<&Vec<Value>> {
    experiment
        .get("steady-state-hypothesis")?
        .get("probes")?
        .as_array()
}

/// Runs the hypothesis once. Probes in the foreground can be interrupted by signals; the
/// continuous hypothesis runs them in the background, where signals do not reach them.
pub async fn run(ctx: &RunContext, experiment: &Value, mode: Mode) -> Result<HypothesisState, Stop> {
    let hypothesis = experiment.get("steady-state-hypothesis");
    let title = hypothesis
        .and_then(|h| h.get("title"))
        .map(experiment::pyrepr::py_str)
        .unwrap_or_else(|| "None".into());
    log::info!("Steady state hypothesis: {title}");
    let mut state = HypothesisState::default();
    let dry_skips_tolerance = ctx
        .dry
        .is_some_and(|d| d.skips("probe"));

    for entry in probes(experiment).into_iter().flatten() {
        let mut record = match activity::execute(ctx, entry, mode, None).await {
            Ok(record) => record,
            Err(Stop::Interrupted) => return Err(Stop::Interrupted),
            // The reference crashes here (no journal); a failed probe is the sensible reading.
            Err(Stop::Fatal(message)) => failed_record(ctx, entry, message),
        };
        if !record.succeeded() {
            record.tolerance_met = Some(false);
            state.probes.push(record);
            state.met = Some(false);
            log::warn!("Probe terminated unexpectedly, so its tolerance could not be validated");
            return Ok(state);
        }
        record.tolerance_met = Some(true);
        if dry_skips_tolerance {
            state.probes.push(record);
            continue;
        }
        let tolerance = entry.get("tolerance").cloned().unwrap_or(Value::Null);
        match judge(ctx, &tolerance, &record.output).await {
            Judgement::Met => state.probes.push(record),
            Judgement::NotMet => {
                log::error!(
                    "  => observed {}, expected {}",
                    observed(&record.output),
                    tolerance::describe(&tolerance)
                );
                record.tolerance_met = Some(false);
                state.probes.push(record);
                state.met = Some(false);
                return Ok(state);
            }
            Judgement::Error(message) => {
                log::error!("  => failed: {message}");
                record.status = Some(ActivityStatus::Failed);
                record.failure = Some(message);
                record.tolerance_met = Some(false);
                state.probes.push(record);
                state.met = Some(false);
                log::warn!(
                    "Probe terminated unexpectedly, so its tolerance could not be validated"
                );
                return Ok(state);
            }
        }
    }
    state.met = Some(true);
    log::info!("Steady state hypothesis is met!");
    Ok(state)
}

enum Judgement {
    Met,
    NotMet,
    Error(String),
}

async fn judge(ctx: &RunContext, tolerance: &Value, output: &Value) -> Judgement {
    match tolerance::evaluate(tolerance, output, &ctx.lookup()) {
        Outcome::Met(true) => Judgement::Met,
        Outcome::Met(false) => Judgement::NotMet,
        Outcome::Error(message) => Judgement::Error(message),
        Outcome::RunProbe(probe) => {
            let call = Call {
                activity: &probe,
                configuration: &ctx.configuration,
                secrets: &ctx.secrets,
                registry: &ctx.registry,
            };
            match providers::run(&call).await {
                Ok(value) if truthy(&value) => Judgement::Met,
                Ok(_) | Err(_) => Judgement::NotMet,
            }
        }
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::Bool(true) => true,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A record for a probe that could not even start (e.g. a dangling `ref`).
fn failed_record(ctx: &RunContext, entry: &Value, message: String) -> Record {
    log::error!("  => failed: {message}");
    let activity = activity::resolve(ctx, entry).unwrap_or(entry).clone();
    let mut record = Record::started(activity);
    record.status = Some(ActivityStatus::Failed);
    record.failure = Some(message);
    record.end = Some(Timestamp::now());
    record
}

fn observed(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > OBSERVED_LIMIT {
        let cut: String = text.chars().take(OBSERVED_LIMIT).collect();
        format!("{cut}…")
    } else {
        text
    }
}
