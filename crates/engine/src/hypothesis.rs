//! The steady-state hypothesis: its probes in order, each judged by its tolerance, stopping
//! at the first probe that errors or is out of tolerance.

use crate::activity::{self, LiveList, Mode, RunContext, Stop};
use crate::controls::Level;
use crate::events::{ActivityPhase, HypothesisPhase, RunEvent};
use crate::journal::{ActivityStatus, HypothesisState, Record, Timestamp};
use experiment::pyrepr::py_truthy;
use experiment::tolerance::{self, Outcome};
use experiment::view::{ActivityView, ExperimentView};
use experiment::Value;
use providers::{Call, Failure, FailureKind};

/// Longest rendering of an observed value in the "observed … expected …" line.
const OBSERVED_LIMIT: usize = 300;

/// True when the experiment has a hypothesis with at least one probe.
pub fn has_probes(experiment: &Value) -> bool {
    !ExperimentView::new(experiment).probes().is_empty()
}

/// Runs the hypothesis once. Probes in the foreground can be interrupted by signals; the
/// continuous hypothesis runs them in the background, where signals do not reach them.
pub async fn run(
    ctx: &RunContext,
    experiment: &Value,
    mode: Mode,
    phase: HypothesisPhase,
) -> Result<HypothesisState, Stop> {
    let hypothesis = ExperimentView::new(experiment).hypothesis();
    let title = hypothesis
        .and_then(|h| h.title())
        .map(experiment::pyrepr::py_str)
        .unwrap_or_else(|| "None".into());
    log::info!("Steady state hypothesis: {title}");
    ctx.events.emit(RunEvent::HypothesisStarted { phase }).await;
    let context = hypothesis.map_or(Value::Null, |h| Value::Object(h.map().clone()));
    let local_controls = context.get("controls");
    ctx.before_hooks(Level::Hypothesis, &context, local_controls, mode)
        .await?;
    let state = probe_all(ctx, mode).await;
    // As chaoslib's `with controls(...)`, the after hooks run however the probes ended.
    if ctx.controls.any(local_controls) {
        let json = state.as_ref().map_or(Value::Null, HypothesisState::to_json);
        let after = ctx
            .after_hooks(Level::Hypothesis, &context, &json, local_controls, mode)
            .await;
        if state.is_ok() {
            after?;
        }
    }
    let state = state?;
    ctx.events
        .emit(RunEvent::HypothesisCompleted {
            phase,
            state: &state,
        })
        .await;
    Ok(state)
}

/// The probes in order, stopping at the first one that errors or is out of tolerance.
async fn probe_all(ctx: &RunContext, mode: Mode) -> Result<HypothesisState, Stop> {
    let mut state = HypothesisState::default();
    let dry_skips_tolerance = ctx.dry.is_some_and(|d| d.skips("probe"));

    // One probe at a time from the live list, which controls may change as the run goes.
    let mut next = 0;
    while let Some(entry) = ctx.live_entry(LiveList::Probes, next) {
        let (index, entry) = (next, &entry);
        next += 1;
        let mut record =
            match activity::execute(ctx, entry, mode, None, ActivityPhase::Hypothesis).await {
                Ok(record) => record,
                Err(Stop::Interrupted) => return Err(Stop::Interrupted),
                // The reference crashes here (no journal); a failed probe is the sensible reading.
                Err(Stop::Fatal(failure)) => failed_record(ctx, entry, failure),
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
        let tolerance = ActivityView::new(entry)
            .tolerance()
            .cloned()
            .unwrap_or(Value::Null);
        match judge(ctx, Some(index), &tolerance, &record.output).await {
            Judgement::Met => state.probes.push(record),
            Judgement::NotMet => {
                log::error!(
                    "  => observed {}, expected {}",
                    observed(&record.output),
                    tolerance::describe_for(&tolerance, &record.output)
                );
                record.tolerance_met = Some(false);
                state.probes.push(record);
                state.met = Some(false);
                return Ok(state);
            }
            Judgement::Error(message) => {
                log::error!("  => failed: {message}");
                record.status = Some(ActivityStatus::Failed);
                record.failure = Some(Failure::new(FailureKind::Declaration, message));
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

/// Judges `output` by `tolerance`. `index`: the hypothesis probe's, whose tolerance keeps
/// the value a `probe` tolerance was called with (the journal shows it); `None` for a probe
/// outside the hypothesis.
async fn judge(
    ctx: &RunContext,
    index: Option<usize>,
    tolerance: &Value,
    output: &Value,
) -> Judgement {
    match tolerance::evaluate(tolerance, output, &ctx.lookup()) {
        Outcome::Met(true) => Judgement::Met,
        Outcome::Met(false) => Judgement::NotMet,
        Outcome::Error(message) => Judgement::Error(message),
        Outcome::RunProbe(probe) => {
            if let Some(index) = index {
                ctx.tolerance_values
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(index, output.clone());
            }
            let call = Call {
                activity: &probe,
                configuration: &ctx.configuration,
                secrets: &ctx.secrets,
                registry: &ctx.registry,
                // Never raced against signals, and free to run beside the method.
                background: true,
                scope: Some(ctx.interrupter.run_scope()),
            };
            match providers::run(&call).await {
                Ok(value) if py_truthy(&value) => Judgement::Met,
                Ok(_) | Err(_) => Judgement::NotMet,
            }
        }
    }
}

/// Runs `probe` for a control beside the run (its [`RunHandle`](crate::controls::RunHandle)):
/// in the background, announced only to subscribers, judged by its tolerance as a
/// hypothesis probe is (a probe the dry mode skips counts as met).
pub async fn probe_for_control(ctx: &RunContext, probe: &Value) -> crate::controls::ProbeRun {
    let record =
        match activity::execute(ctx, probe, Mode::Background, None, ActivityPhase::Control).await {
            Ok(record) => record,
            Err(stop) => {
                let mut record =
                    Record::started(activity::resolve(ctx, probe).unwrap_or(probe).clone());
                if let Stop::Fatal(failure) = stop {
                    log::debug!("  => failed: {failure}");
                    record.status = Some(ActivityStatus::Failed);
                    record.failure = Some(failure);
                }
                record.end = Some(Timestamp::now());
                record
            }
        };
    let tolerance_met = if !record.succeeded() {
        false
    } else if ctx.dry.is_some_and(|d| d.skips("probe")) {
        true
    } else {
        let declared = activity::resolve(ctx, probe).unwrap_or(probe);
        let tolerance = ActivityView::new(declared)
            .tolerance()
            .cloned()
            .unwrap_or(Value::Null);
        matches!(
            judge(ctx, None, &tolerance, &record.output).await,
            Judgement::Met
        )
    };
    crate::controls::ProbeRun {
        record: record.to_json(),
        tolerance_met,
    }
}

/// A record for a probe that could not even start (e.g. a dangling `ref`).
fn failed_record(ctx: &RunContext, entry: &Value, failure: Failure) -> Record {
    log::error!("  => failed: {failure}");
    let activity = activity::resolve(ctx, entry).unwrap_or(entry).clone();
    let mut record = Record::started(activity);
    record.status = Some(ActivityStatus::Failed);
    record.failure = Some(failure);
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

/// Writes each probe tolerance's last input where the reference's in-place mutation leaves
/// it: the experiment copy and every hypothesis record of that probe (records share the
/// tolerance with the experiment in the reference).
pub fn record_tolerance_values(ctx: &RunContext, journal: &mut crate::journal::Journal) {
    let values = ctx
        .tolerance_values
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    for (&index, value) in values.iter() {
        let set = |tolerance: Option<&mut Value>| {
            if let Some(Value::Object(arguments)) = tolerance
                .and_then(|t| t.get_mut("provider"))
                .and_then(|p| p.get_mut("arguments"))
            {
                arguments.insert("value".into(), value.clone());
            }
        };
        let probes = journal
            .experiment
            .get_mut("steady-state-hypothesis")
            .and_then(|h| h.get_mut("probes"))
            .and_then(Value::as_array_mut);
        let is_ref = probes
            .as_ref()
            .and_then(|p| p.get(index))
            .is_some_and(|p| p.get("ref").is_some());
        if let Some(probe) = probes.and_then(|p| p.get_mut(index)) {
            set(probe.get_mut("tolerance"));
        }
        if is_ref {
            continue;
        }
        let states = journal
            .before
            .iter_mut()
            .chain(journal.after.iter_mut())
            .chain(journal.during.iter_mut());
        for state in states {
            if let Some(record) = state.probes.get_mut(index) {
                set(record.activity.get_mut("tolerance"));
            }
        }
    }
}
