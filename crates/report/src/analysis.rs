//! Everything a report shows, computed once from the journals, whatever the format.
//!
//! The renderers only lay out what this module found, so every format says the same
//! thing: the verdict of each experiment and of the whole report, whether the steady state
//! deviated and *what* deviated (the observed value against the tolerance), every activity
//! of every phase (hypothesis before, method, continuous hypothesis, hypothesis after,
//! rollbacks; background activities included) with its times, arguments after
//! substitution and with secrets masked, its output bounded in size, numeric probe outputs
//! and Prometheus `matrix` outputs as series, trends for many journals of one experiment,
//! and the contributions' distribution and breakdowns.
//!
//! Secrets are masked with the engine's own [`engine::redact`]: the inline secrets of the
//! experiment, every resolved secret value (also found inside outputs and exceptions,
//! where the reference leaves them), and any argument whose key looks secret
//! (`password`, `token`, ...).
//!
//! Cost is linear in the journals: each record is visited once, outputs are cut at
//! [`OUTPUT_LIMIT`] bytes *before* they are copied or masked (a 100 MB output costs one
//! bounded prefix), and only the first [`DETAIL_LIMIT`] activities of an experiment keep
//! their text (the rest stay in the timeline and counts).

use crate::Options;
use engine::redact::{self, Redactor};
use experiment::pyrepr::py_str;
use experiment::substitute::{substitute, Lookup};
use experiment::view::{ActivityView, ExperimentView};
use experiment::Value;
use journal::{Journal, Phase, Run};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The most bytes of one output, exception or argument text a report keeps.
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// The most activities of one experiment whose texts (arguments, output, exception) a
/// report keeps; later ones keep their status, times and deviation only.
pub const DETAIL_LIMIT: usize = 1_000;
/// The most characters of an observed value shown next to a tolerance.
const OBSERVED_LIMIT: usize = 200;

/// A journal read from a file.
#[derive(Debug)]
pub struct Loaded {
    /// Where it was read from.
    pub path: PathBuf,
    /// The journal.
    pub journal: Journal,
}

/// The verdict of one experiment, or of a whole report (the worst of its experiments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// The steady state held before and after the method.
    Held,
    /// The run completed, but the steady state deviated after the method.
    Deviated,
    /// The steady state was not met before the method, or a hypothesis probe failed.
    Failed,
    /// The run was aborted by an unexpected error.
    Aborted,
    /// A signal or a control interrupted the run.
    Interrupted,
    /// The journal does not say how the run ended.
    Unknown,
}

impl Verdict {
    /// The word shown (`held`, `deviated`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Deviated => "deviated",
            Verdict::Failed => "failed",
            Verdict::Aborted => "aborted",
            Verdict::Interrupted => "interrupted",
            Verdict::Unknown => "unknown",
        }
    }

    /// The verdict's tone.
    pub fn tone(&self) -> crate::document::Tone {
        use crate::document::Tone;
        match self {
            Verdict::Held => Tone::Good,
            Verdict::Deviated | Verdict::Failed => Tone::Bad,
            Verdict::Aborted | Verdict::Interrupted | Verdict::Unknown => Tone::Warn,
        }
    }

    /// Whether it counts as a failure for CI (JUnit).
    pub fn is_failure(&self) -> bool {
        !matches!(self, Verdict::Held)
    }

    fn rank(&self) -> u8 {
        match self {
            Verdict::Held => 0,
            Verdict::Unknown => 1,
            Verdict::Interrupted => 2,
            Verdict::Deviated => 3,
            Verdict::Aborted => 4,
            Verdict::Failed => 5,
        }
    }
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The report's title.
    pub title: String,
    /// One entry per journal, in the order given.
    pub experiments: Vec<ExperimentAnalysis>,
    /// The worst verdict of all experiments.
    pub verdict: Verdict,
    /// The one-line verdict of the whole report.
    pub verdict_line: String,
    /// Every tag of every experiment, first appearance first.
    pub tags: Vec<String>,
    /// The contributions of all experiments.
    pub contributions: Contributions,
    /// For each experiment title run more than once: its runs in time order.
    pub trends: Vec<Trend>,
}

/// The contributions (`contributions: {availability: high, ...}`) of all experiments.
#[derive(Debug, Clone, Default)]
pub struct Contributions {
    /// Every contribution named, sorted.
    pub names: Vec<String>,
    /// How many experiments declare each contribution (same order as `names`).
    pub distribution: Vec<usize>,
    /// Per experiment title: the level of each contribution as a number (high .75, medium
    /// .5, low .25, none −0.1; `None` when not declared), the reference's scale.
    pub per_experiment: Vec<(String, Vec<Option<f64>>)>,
    /// Per tag: the mean level of each contribution over the experiments with that tag.
    pub per_area: Vec<(String, Vec<Option<f64>>)>,
}

/// The runs of one experiment over time.
#[derive(Debug, Clone)]
pub struct Trend {
    /// The experiment's title.
    pub title: String,
    /// Each run: start (Unix seconds), its verdict, its duration in seconds.
    pub runs: Vec<(f64, Verdict, Option<f64>)>,
}

/// Everything about one journal.
#[derive(Debug, Clone)]
pub struct ExperimentAnalysis {
    /// An anchor id unique in the report.
    pub id: String,
    /// The journal file.
    pub file: PathBuf,
    /// The experiment's title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its contributions, as declared (name, level).
    pub contributions: Vec<(String, String)>,
    /// The journal's `status` (`completed`, ...), when present.
    pub status: Option<String>,
    /// Whether the steady state deviated (the journal's `deviated`, or, for journals
    /// older than that key, whether the hypothesis after the method was not met).
    pub deviated: bool,
    /// The verdict.
    pub verdict: Verdict,
    /// The one-line verdict.
    pub verdict_line: String,
    /// `chaoslib-version`.
    pub chaoslib_version: Option<String>,
    /// `node`.
    pub node: Option<String>,
    /// `platform`.
    pub platform: Option<String>,
    /// `start`, as written.
    pub start: Option<String>,
    /// `start`, Unix seconds.
    pub start_unix: Option<f64>,
    /// `end`, as written.
    pub end: Option<String>,
    /// `duration` in seconds.
    pub duration: Option<f64>,
    /// How the run was interrupted, when it was: `kind name: reason`.
    pub interruption: Option<String>,
    /// The hypothesis's title, when the experiment has one.
    pub hypothesis_title: Option<String>,
    /// The hypothesis before the method: met, and the indexes of its probes in `activities`.
    pub before: Option<Check>,
    /// The hypothesis after the method.
    pub after: Option<Check>,
    /// Each iteration of the continuous hypothesis.
    pub during: Vec<Check>,
    /// The method as declared: (type, name), `ref`s resolved.
    pub method: Vec<(String, String)>,
    /// The rollbacks as declared: (type, name).
    pub declared_rollbacks: Vec<(String, String)>,
    /// Actions in the method (`ref`s resolved).
    pub num_actions: usize,
    /// Probes in the method (`ref`s resolved).
    pub num_probes: usize,
    /// Every run record, in report order (before, method, during, after, rollbacks).
    pub activities: Vec<Activity>,
    /// What deviated or failed in the hypothesis.
    pub deviations: Vec<Deviation>,
    /// Numeric probe outputs over the run, one series per probe name.
    pub numeric_series: Vec<Series>,
    /// Prometheus `matrix` outputs: one chart per activity.
    pub matrices: Vec<MatrixChart>,
    /// Load-test results (Shakedown's native load, vegeta's JSON report): one per activity.
    pub loads: Vec<LoadChart>,
    /// How many activities lost their texts to [`DETAIL_LIMIT`].
    pub details_omitted: usize,
}

/// One iteration of the hypothesis.
#[derive(Debug, Clone)]
pub struct Check {
    /// `steady_state_met`.
    pub met: Option<bool>,
    /// Indexes in [`ExperimentAnalysis::activities`].
    pub probes: Vec<usize>,
}

/// One run record.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Its phase.
    pub phase: Phase,
    /// `action` or `probe`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its status (`succeeded`, `failed`); `None` for an interrupted activity.
    pub status: Option<String>,
    /// Whether it ran in the background.
    pub background: bool,
    /// `start` as written.
    pub start: Option<String>,
    /// `end` as written.
    pub end: Option<String>,
    /// Seconds from the experiment's start.
    pub start_offset: Option<f64>,
    /// Seconds from the experiment's start.
    pub end_offset: Option<f64>,
    /// `start`, Unix seconds.
    pub start_unix: Option<f64>,
    /// `duration` in seconds.
    pub duration: Option<f64>,
    /// Pause before, as declared.
    pub pause_before: Option<String>,
    /// Pause after, as declared.
    pub pause_after: Option<String>,
    /// The provider: (field, value) pairs (Type, Module, Function, Path, URL, ...).
    pub provider: Vec<(String, String)>,
    /// The arguments after substitution, secrets masked, as JSON.
    pub arguments: Option<String>,
    /// The tolerance, as JSON.
    pub tolerance: Option<String>,
    /// `tolerance_met` (hypothesis probes).
    pub tolerance_met: Option<bool>,
    /// The exception's last line.
    pub error: Option<String>,
    /// The whole exception, bounded.
    pub exception: Option<Bounded>,
    /// The output.
    pub output: Output,
}

impl Activity {
    /// Whether the activity failed (status `failed`, or a tolerance not met).
    pub fn failed(&self) -> bool {
        self.status.as_deref() == Some("failed") || self.tolerance_met == Some(false)
    }
}

/// A text cut at [`OUTPUT_LIMIT`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bounded {
    /// The text kept.
    pub text: String,
    /// Whether the text was cut.
    pub truncated: bool,
}

/// An activity's output, as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// The record has no `output` (a failed or interrupted activity).
    Absent,
    /// The texts were dropped ([`DETAIL_LIMIT`]).
    Omitted,
    /// The output as pretty JSON (a string output as itself), bounded, secrets masked.
    Text(Bounded),
    /// A string that is not text (NUL bytes, control characters): its size only.
    Binary {
        /// Its length in bytes.
        bytes: usize,
    },
}

/// What deviated or failed in the hypothesis.
#[derive(Debug, Clone)]
pub struct Deviation {
    /// Where (`before`, `during`, `after`).
    pub phase: Phase,
    /// The probe's name.
    pub probe: String,
    /// The tolerance as JSON.
    pub tolerance: String,
    /// What was observed (the value the tolerance looked at), short.
    pub observed: String,
    /// The probe's error, when it failed rather than missed its tolerance.
    pub error: Option<String>,
    /// Its index in [`ExperimentAnalysis::activities`].
    pub activity: usize,
}

/// A numeric series.
#[derive(Debug, Clone)]
pub struct Series {
    /// The probe's or the metric's name.
    pub name: String,
    /// (Unix seconds, value), sorted by time.
    pub points: Vec<(f64, f64)>,
}

/// A load test's results, from an activity's output: Shakedown's native load
/// (`shakedown.load`: `latency_ms` in ms, `status`, `errors`) or vegeta's JSON report
/// (`latencies` in ns, `status_codes`), as the output itself or a process's JSON stdout.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadChart {
    /// The activity's index in [`ExperimentAnalysis::activities`].
    pub index: usize,
    /// The activity's name.
    pub activity: String,
    /// Latency statistics in milliseconds, in the order of [`LOAD_LATENCIES`] (those present).
    pub latency_ms: Vec<(String, f64)>,
    /// Responses by status code, then requests without an answer by error kind.
    pub outcomes: Vec<(String, f64)>,
}

/// The latency statistics a load chart shows: (label, native key, vegeta key).
pub const LOAD_LATENCIES: [(&str, &str, &str); 6] = [
    ("min", "min", "min"),
    ("mean", "mean", "mean"),
    ("p50", "p50", "50th"),
    ("p90", "p90", "90th"),
    ("p99", "p99", "99th"),
    ("max", "max", "max"),
];

/// A Prometheus `matrix` output.
#[derive(Debug, Clone)]
pub struct MatrixChart {
    /// The activity's index in [`ExperimentAnalysis::activities`].
    pub index: usize,
    /// The activity's name.
    pub activity: String,
    /// The query, when the arguments name one.
    pub query: Option<String>,
    /// One series per result.
    pub series: Vec<Series>,
}

/// Analyses the journals.
pub fn analyse(journals: &[Loaded], options: &Options) -> Analysis {
    let mut experiments = Vec::with_capacity(journals.len());
    let mut ids = BTreeMap::<String, usize>::new();
    for loaded in journals {
        let mut e = analyse_one(loaded, options);
        let n = ids.entry(e.id.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            e.id = format!("{}-{}", e.id, n);
        }
        experiments.push(e);
    }
    let verdict = experiments
        .iter()
        .map(|e| e.verdict)
        .max_by_key(Verdict::rank)
        .unwrap_or(Verdict::Unknown);
    let mut tags = Vec::new();
    for tag in experiments.iter().flat_map(|e| &e.tags) {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    Analysis {
        title: options.title.clone(),
        verdict_line: report_verdict_line(&experiments),
        contributions: contributions(&experiments, &tags),
        trends: trends(&experiments),
        experiments,
        verdict,
        tags,
    }
}

fn report_verdict_line(experiments: &[ExperimentAnalysis]) -> String {
    if experiments.is_empty() {
        return "No experiment.".into();
    }
    let mut counts = BTreeMap::<u8, (Verdict, usize)>::new();
    for e in experiments {
        counts.entry(e.verdict.rank()).or_insert((e.verdict, 0)).1 += 1;
    }
    let parts: Vec<String> = counts
        .values()
        .map(|(v, n)| format!("{n} {}", v.as_str()))
        .collect();
    let noun = if experiments.len() == 1 {
        "experiment"
    } else {
        "experiments"
    };
    let all_held = counts.len() == 1 && counts.contains_key(&Verdict::Held.rank());
    let lead = if all_held {
        "Every steady state held"
    } else {
        "Weaknesses found"
    };
    format!(
        "{lead}: {} {noun}, {}.",
        experiments.len(),
        parts.join(", ")
    )
}

/// The reference's numeric scale for contribution levels.
fn level_value(level: &str) -> Option<f64> {
    match level {
        "high" => Some(0.75),
        "medium" => Some(0.5),
        "low" => Some(0.25),
        "none" => Some(-0.1),
        _ => None,
    }
}

fn contributions(experiments: &[ExperimentAnalysis], tags: &[String]) -> Contributions {
    let mut names: Vec<String> = experiments
        .iter()
        .flat_map(|e| e.contributions.iter().map(|(k, _)| k.clone()))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Contributions::default();
    }
    let row = |e: &ExperimentAnalysis| -> Vec<Option<f64>> {
        names
            .iter()
            .map(|n| {
                e.contributions
                    .iter()
                    .find(|(k, _)| k == n)
                    .and_then(|(_, l)| level_value(l))
            })
            .collect()
    };
    let distribution = names
        .iter()
        .map(|n| {
            experiments
                .iter()
                .filter(|e| e.contributions.iter().any(|(k, _)| k == n))
                .count()
        })
        .collect();
    let per_experiment = experiments
        .iter()
        .filter(|e| !e.contributions.is_empty())
        .map(|e| (e.title.clone(), row(e)))
        .collect();
    let per_area = tags
        .iter()
        .map(|tag| {
            let rows: Vec<Vec<Option<f64>>> = experiments
                .iter()
                .filter(|e| e.tags.contains(tag) && !e.contributions.is_empty())
                .map(row)
                .collect();
            let means = (0..names.len())
                .map(|i| {
                    let vals: Vec<f64> = rows.iter().filter_map(|r| r[i]).collect();
                    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
                })
                .collect();
            (tag.clone(), means)
        })
        .filter(|(_, means): &(String, Vec<Option<f64>>)| means.iter().any(Option::is_some))
        .collect();
    Contributions {
        names,
        distribution,
        per_experiment,
        per_area,
    }
}

fn trends(experiments: &[ExperimentAnalysis]) -> Vec<Trend> {
    let mut by_title: Vec<Trend> = Vec::new();
    for e in experiments {
        let Some(start) = e.start_unix else { continue };
        let point = (start, e.verdict, e.duration);
        match by_title.iter_mut().find(|t| t.title == e.title) {
            Some(t) => t.runs.push(point),
            None => by_title.push(Trend {
                title: e.title.clone(),
                runs: vec![point],
            }),
        }
    }
    by_title.retain(|t| t.runs.len() > 1);
    for t in &mut by_title {
        t.runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    by_title
}

/// The masking of one experiment: the engine's redactor over its resolved secrets, and
/// the names of secret-looking keys.
struct Masking {
    redactor: Redactor,
}

impl Masking {
    fn text(&self, s: &str) -> String {
        self.redactor.text(s).into_owned()
    }

    /// Masks a JSON value in place: secret values anywhere, and the whole value of any
    /// key that looks secret.
    fn value(&self, v: &mut Value) {
        self.redactor.value(v);
        mask_secret_keys(v);
    }
}

/// Whether an argument's key names a secret (its value is masked whatever it is).
pub fn key_looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('-', "_");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "credential",
        "private_key",
        "authorization",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn mask_secret_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if key_looks_secret(k) && !item.is_null() {
                    *item = Value::String(redact::MASK.into());
                } else {
                    mask_secret_keys(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secret_keys),
        _ => {}
    }
}

fn analyse_one(loaded: &Loaded, options: &Options) -> ExperimentAnalysis {
    let j = &loaded.journal;
    let declared = &j.experiment;
    let view = ExperimentView::new(declared);
    let overrides = &options.overrides;
    let configuration = experiment::config::load_configuration(
        declared.get("configuration"),
        &overrides.configuration,
    )
    .unwrap_or_default();
    let secrets = experiment::config::load_secrets(declared.get("secrets"), &overrides.secrets)
        .unwrap_or_default();
    let masking = Masking {
        redactor: Redactor::for_secrets(&secrets),
    };
    let lookup = Lookup::new(&configuration, &secrets);

    let title = j
        .title()
        .map(|t| masking.text(t))
        .unwrap_or_else(|| "Untitled experiment".into());
    let description = declared
        .get("description")
        .and_then(Value::as_str)
        .map(|d| masking.text(d));
    let tags: Vec<String> = declared
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(py_str).collect())
        .unwrap_or_default();
    let contributions: Vec<(String, String)> = declared
        .get("contributions")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), py_str(v))).collect())
        .unwrap_or_default();
    let start_unix = j.start.get().and_then(|t| t.unix_seconds().ok());

    let mut activities = Vec::new();
    let mut before = None;
    let mut after = None;
    let mut during: Vec<Check> = Vec::new();
    let mut details_omitted = 0;
    for entry in j.runs() {
        let index = activities.len();
        let detailed = index < DETAIL_LIMIT;
        if !detailed {
            details_omitted += 1;
        }
        activities.push(activity(
            entry.phase,
            entry.run,
            start_unix,
            detailed,
            &masking,
            &lookup,
        ));
        let check = match entry.phase {
            Phase::Before => Some((&mut before, j.before())),
            Phase::After => Some((&mut after, j.after())),
            _ => None,
        };
        if let Some((slot, state)) = check {
            slot.get_or_insert_with(|| Check {
                met: state.and_then(|s| s.met()),
                probes: Vec::new(),
            })
            .probes
            .push(index);
        }
        if let Phase::During(i) = entry.phase {
            while during.len() <= i {
                let met = j.during().get(during.len()).and_then(|s| s.met());
                during.push(Check {
                    met,
                    probes: Vec::new(),
                });
            }
            during[i].probes.push(index);
        }
    }
    // A hypothesis with no probe record still has a verdict.
    if before.is_none() {
        before = j.before().map(|s| Check {
            met: s.met(),
            probes: Vec::new(),
        });
    }
    if after.is_none() {
        after = j.after().map(|s| Check {
            met: s.met(),
            probes: Vec::new(),
        });
    }

    let deviated = j
        .deviated()
        .unwrap_or_else(|| after.as_ref().and_then(|c| c.met) == Some(false));
    let deviations = deviations(&activities, j);
    let status = j.status().map(|s| s.as_str().to_string());
    let verdict = verdict(status.as_deref(), deviated, before.as_ref());
    let verdict_line = verdict_line(verdict, &activities, &deviations, j);

    let (method, num_actions, num_probes) = declared_method(&view);
    let declared_rollbacks = view
        .rollbacks()
        .iter()
        .map(|a| declared_entry(&view, a))
        .collect();

    let numeric_series = numeric_series(j);
    let matrices = matrices(&activities, j);
    let loads = loads(&activities, j);

    let interruption = j.interruption.get().map(|i| {
        let part = |f: &journal::Field<String>| f.get().cloned().unwrap_or_default();
        format!("{} {}: {}", part(&i.kind), part(&i.name), part(&i.reason))
            .trim()
            .to_string()
    });

    ExperimentAnalysis {
        id: crate::document::slug(&title),
        file: loaded.path.clone(),
        description,
        tags,
        contributions,
        status,
        deviated,
        verdict,
        verdict_line,
        chaoslib_version: j.chaoslib_version.get().cloned(),
        node: j.node.get().cloned(),
        platform: j.platform.get().cloned(),
        start: j.start.get().map(|t| t.as_str().to_string()),
        start_unix,
        end: j.end.get().map(|t| t.as_str().to_string()),
        duration: j.duration_secs(),
        interruption,
        hypothesis_title: view
            .hypothesis()
            .and_then(|h| h.map().get("title"))
            .map(py_str),
        before,
        after,
        during,
        method,
        declared_rollbacks,
        num_actions,
        num_probes,
        activities,
        deviations,
        numeric_series,
        matrices,
        loads,
        details_omitted,
        title,
    }
}

fn verdict(status: Option<&str>, deviated: bool, before: Option<&Check>) -> Verdict {
    match status {
        Some("interrupted") => Verdict::Interrupted,
        Some("aborted") => Verdict::Aborted,
        _ if deviated => Verdict::Deviated,
        Some("failed") => Verdict::Failed,
        // Older engines wrote `deviated` as a status.
        Some("deviated") => Verdict::Deviated,
        Some("completed") if before.and_then(|b| b.met) == Some(false) => Verdict::Failed,
        Some("completed") => Verdict::Held,
        _ => Verdict::Unknown,
    }
}

fn verdict_line(
    verdict: Verdict,
    activities: &[Activity],
    deviations: &[Deviation],
    j: &Journal,
) -> String {
    let failed = activities
        .iter()
        .filter(|a| !matches!(a.phase, Phase::Before | Phase::After | Phase::During(_)))
        .filter(|a| a.status.as_deref() == Some("failed"))
        .count();
    let rollbacks = j.rollback_runs().len();
    let mut tail = format!(
        "{} activit{} ran, {failed} failed outside the hypothesis, {rollbacks} rollback{} ran",
        activities.len(),
        if activities.len() == 1 { "y" } else { "ies" },
        if rollbacks == 1 { "" } else { "s" }
    );
    if let Some(d) = deviations.first() {
        let what = match &d.error {
            Some(e) => format!("probe `{}` failed: {e}", d.probe),
            None => format!(
                "probe `{}` observed {} against tolerance {}",
                d.probe, d.observed, d.tolerance
            ),
        };
        tail = format!("{} {what}; {tail}", phase_phrase(d.phase));
    }
    let lead = match verdict {
        Verdict::Held => "Held: the steady state was met before and after the method",
        Verdict::Deviated if matches!(deviations.first(), Some(d) if matches!(d.phase, Phase::During(_))) => {
            "Deviated: the steady state was not met while the method ran"
        }
        Verdict::Deviated => "Deviated: the steady state was not met after the method",
        Verdict::Failed => "Failed: the steady state could not be verified",
        Verdict::Aborted => "Aborted: the run stopped on an unexpected error",
        Verdict::Interrupted => "Interrupted: the run was stopped before its end",
        Verdict::Unknown => "Unknown: the journal does not say how the run ended",
    };
    format!("{lead}. {}.", capitalise(&tail))
}

fn phase_phrase(phase: Phase) -> &'static str {
    match phase {
        Phase::Before => "Before the method,",
        Phase::After => "After the method,",
        Phase::During(_) => "During the method,",
        Phase::Method => "In the method,",
        Phase::Rollback => "In the rollbacks,",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn deviations(activities: &[Activity], j: &Journal) -> Vec<Deviation> {
    // Observed values come from the journal's records (the activities' texts may be
    // omitted past DETAIL_LIMIT); hypothesis records are visited in the same order.
    let runs: Vec<&Run> = j.runs().map(|e| e.run).collect();
    activities
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.phase, Phase::Before | Phase::After | Phase::During(_)))
        .filter(|(_, a)| a.failed())
        .map(|(i, a)| {
            let run = runs.get(i).copied();
            let tolerance_value = run
                .and_then(|r| r.activity.as_ref())
                .and_then(|v| v.get("tolerance"));
            Deviation {
                phase: a.phase,
                probe: a.name.clone(),
                tolerance: a.tolerance.clone().unwrap_or_else(|| "(none)".into()),
                observed: observed(run.and_then(|r| r.output.as_ref()), tolerance_value),
                error: a.error.clone(),
                activity: i,
            }
        })
        .collect()
}

/// The value a tolerance looked at: the output's `target` key when the tolerance names
/// one (`stdout`, `status`), else the whole output; compact JSON, short.
fn observed(output: Option<&Value>, tolerance: Option<&Value>) -> String {
    let Some(output) = output else {
        return "no output".into();
    };
    let target = tolerance
        .and_then(|t| t.get("target"))
        .and_then(Value::as_str)
        .and_then(|t| output.get(t));
    let value = target.unwrap_or(output);
    let text = match value {
        Value::String(s) => format!("{:?}", cut(s, OBSERVED_LIMIT).0),
        other => {
            let t = bounded_json(other, OBSERVED_LIMIT, false);
            t.text
        }
    };
    let chars: Vec<char> = text.chars().collect();
    if chars.len() > OBSERVED_LIMIT {
        format!("{}…", chars[..OBSERVED_LIMIT].iter().collect::<String>())
    } else {
        text
    }
}

fn activity(
    phase: Phase,
    run: &Run,
    start_unix: Option<f64>,
    detailed: bool,
    masking: &Masking,
    lookup: &Lookup,
) -> Activity {
    let declared = run.activity.as_ref();
    let get = |k: &str| declared.and_then(|a| a.get(k));
    let offset = |t: &journal::Field<journal::Timestamp>| {
        let t = t.get()?.unix_seconds().ok()?;
        Some(t - start_unix?)
    };
    let pause = |k: &str| get("pauses").and_then(|p| p.get(k)).map(py_str);
    let provider = get("provider");
    let mut provider_fields = Vec::new();
    let mut arguments = None;
    if let Some(p) = provider.and_then(Value::as_object) {
        let kind = p.get("type").map(py_str).unwrap_or_default();
        provider_fields.push(("Type".to_string(), kind.clone()));
        let fields: &[(&str, &str)] = match kind.as_str() {
            "python" => &[("module", "Module"), ("func", "Function")],
            "process" => &[("path", "Path"), ("timeout", "Timeout")],
            "http" => &[("url", "URL"), ("method", "Method"), ("timeout", "Timeout")],
            _ => &[],
        };
        for (key, label) in fields {
            if let Some(v) = p.get(*key) {
                let mut v = substitute(v, lookup);
                masking.value(&mut v);
                provider_fields.push((label.to_string(), py_str(&v)));
            }
        }
        if detailed {
            arguments = p.get("arguments").map(|a| {
                let mut a = substitute(a, lookup);
                masking.value(&mut a);
                bounded_json(&a, OUTPUT_LIMIT, true).text
            });
        }
    }
    let exception = run.exception.get();
    let output = if !detailed {
        Output::Omitted
    } else {
        match &run.output {
            None => Output::Absent,
            Some(v) => output(v, masking),
        }
    };
    Activity {
        phase,
        kind: run.activity_type().unwrap_or("activity").to_string(),
        name: run
            .name()
            .map(|n| masking.text(n))
            .unwrap_or_else(|| "(unnamed)".into()),
        status: run.status().map(|s| s.as_str().to_string()),
        background: run.is_background(),
        start: run.start.get().map(|t| t.as_str().to_string()),
        end: run.end.get().map(|t| t.as_str().to_string()),
        start_offset: offset(&run.start),
        end_offset: offset(&run.end),
        start_unix: run.start.get().and_then(|t| t.unix_seconds().ok()),
        duration: run.duration_secs(),
        pause_before: pause("before"),
        pause_after: pause("after"),
        provider: provider_fields,
        arguments,
        tolerance: get("tolerance").map(|t| bounded_json(t, OBSERVED_LIMIT * 4, false).text),
        tolerance_met: run.tolerance_met(),
        error: exception
            .and_then(|e| e.last_line())
            .map(|l| masking.text(cut(l, OBSERVED_LIMIT * 4).0)),
        exception: exception.filter(|_| detailed).map(|e| {
            let text = e.text();
            let (kept, truncated) = cut(&text, OUTPUT_LIMIT);
            Bounded {
                text: masking.text(kept),
                truncated,
            }
        }),
        output,
    }
}

fn output(v: &Value, masking: &Masking) -> Output {
    if let Value::String(s) = v {
        if looks_binary(s) {
            return Output::Binary { bytes: s.len() };
        }
        let (kept, truncated) = cut(s, OUTPUT_LIMIT);
        return Output::Text(Bounded {
            text: masking.text(kept),
            truncated,
        });
    }
    // Strings inside (a process's stdout) may be binary too: show them by size.
    let mut b = bounded_json(v, OUTPUT_LIMIT, true);
    b.text = masking.text(&b.text);
    Output::Text(b)
}

/// Whether a string holds bytes rather than text: a NUL, or many control characters in
/// its first 4 KiB.
pub fn looks_binary(s: &str) -> bool {
    let head = cut(s, 4096).0;
    let mut control = 0usize;
    let mut total = 0usize;
    for c in head.chars() {
        total += 1;
        if c == '\0' {
            return true;
        }
        if (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || c == '\u{FFFD}' {
            control += 1;
        }
    }
    total > 0 && control * 10 > total
}

/// The longest prefix of `s` of at most `limit` bytes, on a character boundary, and
/// whether it was cut.
pub fn cut(s: &str, limit: usize) -> (&str, bool) {
    if s.len() <= limit {
        return (s, false);
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// A writer that keeps at most `limit` bytes and then refuses, so serialising a huge
/// value stops early instead of building the whole text.
struct LimitedWriter {
    buf: Vec<u8>,
    limit: usize,
    full: bool,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.limit.saturating_sub(self.buf.len());
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.full = true;
            return Err(std::io::Error::other("limit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `value` as JSON text of at most `limit` bytes (pretty when asked).
fn bounded_json(value: &Value, limit: usize, pretty: bool) -> Bounded {
    let mut w = LimitedWriter {
        buf: Vec::new(),
        limit,
        full: false,
    };
    let _ = if pretty {
        serde_json::to_writer_pretty(&mut w, value)
    } else {
        serde_json::to_writer(&mut w, value)
    };
    let text = match String::from_utf8(w.buf) {
        Ok(s) => s,
        Err(e) => {
            // Cut inside a multi-byte character: keep the valid prefix.
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    };
    Bounded {
        text,
        truncated: w.full,
    }
}

/// The method as declared (`ref`s resolved) and its counts of actions and probes.
fn declared_method(view: &ExperimentView) -> (Vec<(String, String)>, usize, usize) {
    let method: Vec<(String, String)> = view
        .method()
        .iter()
        .map(|a| declared_entry(view, a))
        .collect();
    let actions = method.iter().filter(|(t, _)| t == "action").count();
    let probes = method.iter().filter(|(t, _)| t == "probe").count();
    (method, actions, probes)
}

/// (type, name) of a declared entry, following a `ref` to the activity it names (the
/// reference's report crashes on a `ref` in the method).
fn declared_entry(view: &ExperimentView, value: &Value) -> (String, String) {
    let a = ActivityView::new(value);
    if let Some(target) = a.reference() {
        let found = view
            .referable()
            .filter(|r| r.name().as_deref() == Some(target.as_str()))
            .last();
        return match found {
            Some(r) => (r.type_name().to_string(), target),
            None => ("ref".to_string(), target),
        };
    }
    (
        a.type_name().to_string(),
        a.name().unwrap_or_else(|| "(unnamed)".into()),
    )
}

/// A number read from an output: a JSON number, or a process's stdout that is one.
fn numeric(output: &Value) -> Option<f64> {
    match output {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::Object(m) => match (m.get("stdout"), m.get("status")) {
            (Some(Value::String(s)), Some(_)) if s.len() < 64 => {
                s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
            }
            _ => None,
        },
        _ => None,
    }
}

fn numeric_series(j: &Journal) -> Vec<Series> {
    let mut series: Vec<Series> = Vec::new();
    for entry in j.runs() {
        let run = entry.run;
        if run.activity_type() != Some("probe") {
            continue;
        }
        let (Some(v), Some(t)) = (
            run.output.as_ref().and_then(numeric),
            run.end
                .get()
                .or(run.start.get())
                .and_then(|t| t.unix_seconds().ok()),
        ) else {
            continue;
        };
        let name = run.name().unwrap_or("(unnamed)");
        match series.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push((t, v)),
            None => series.push(Series {
                name: name.to_string(),
                points: vec![(t, v)],
            }),
        }
    }
    for s in &mut series {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    series.retain(|s| s.points.len() > 1);
    series
}

/// A Prometheus value: `[time, "value"]`; the value is a string, possibly non-integer,
/// `NaN` or `+Inf` (those are skipped), or a number.
fn prom_point(p: &Value) -> Option<(f64, f64)> {
    let pair = p.as_array()?;
    let t = pair.first()?.as_f64()?;
    let v = match pair.get(1)? {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (t.is_finite() && v.is_finite()).then_some((t, v))
}

fn metric_label(metric: Option<&Value>) -> String {
    let Some(m) = metric.and_then(Value::as_object) else {
        return "series".into();
    };
    let name = m.get("__name__").and_then(Value::as_str).unwrap_or("");
    let labels: Vec<String> = m
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .take(4)
        .map(|(k, v)| format!("{k}=\"{}\"", py_str(v)))
        .collect();
    if labels.is_empty() {
        if name.is_empty() {
            "series".into()
        } else {
            name.to_string()
        }
    } else {
        format!("{name}{{{}}}", labels.join(","))
    }
}

fn loads(activities: &[Activity], j: &Journal) -> Vec<LoadChart> {
    j.runs()
        .zip(activities)
        .enumerate()
        .filter_map(|(index, (entry, a))| {
            let output = entry.run.output.as_ref()?;
            let (latency_ms, outcomes) = load_results(output).or_else(|| {
                // A process that printed a JSON report (`vegeta report -type json`); other
                // outputs (up to 100 MB) are not parsed just to find out.
                let stdout = output.get("stdout").and_then(Value::as_str)?;
                if !stdout.trim_start().starts_with('{') || !stdout.contains("\"latencies\"") {
                    return None;
                }
                load_results(&serde_json::from_str(stdout).ok()?)
            })?;
            Some(LoadChart {
                index,
                activity: a.name.clone(),
                latency_ms,
                outcomes,
            })
        })
        .collect()
}

/// Labelled values, in order.
type Bars = Vec<(String, f64)>;

/// (latencies in ms, outcomes) when `v` is a load test's results.
fn load_results(v: &Value) -> Option<(Bars, Bars)> {
    let counts = |key: &str| -> Bars {
        v.get(key)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, n)| Some((k.clone(), n.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Native: milliseconds under `latency_ms`; vegeta: nanoseconds under `latencies`.
    let (latencies, scale, vegeta) =
        if let Some(l) = v.get("latency_ms").filter(|_| v.get("requests").is_some()) {
            (l, 1.0, false)
        } else if let Some(l) = v
            .get("latencies")
            .filter(|_| v.get("status_codes").is_some())
        {
            (l, 1e-6, true)
        } else {
            return None;
        };
    let latency_ms: Vec<(String, f64)> = LOAD_LATENCIES
        .iter()
        .filter_map(|(label, native, vegeta_key)| {
            let key = if vegeta { vegeta_key } else { native };
            let ms = latencies.get(*key)?.as_f64()? * scale;
            ms.is_finite().then(|| (label.to_string(), ms))
        })
        .collect();
    if latency_ms.is_empty() {
        return None;
    }
    let mut outcomes = counts("status");
    outcomes.extend(counts("status_codes"));
    outcomes.extend(counts("errors"));
    Some((latency_ms, outcomes))
}

fn matrices(activities: &[Activity], j: &Journal) -> Vec<MatrixChart> {
    let mut out = Vec::new();
    for (index, (entry, a)) in j.runs().zip(activities).enumerate() {
        let Some(data) = entry.run.output.as_ref().and_then(|o| o.get("data")) else {
            continue;
        };
        if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
            continue;
        }
        let results = data.get("result").and_then(Value::as_array);
        let series: Vec<Series> = results
            .into_iter()
            .flatten()
            .map(|r| Series {
                name: metric_label(r.get("metric")),
                points: r
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| vs.iter().filter_map(prom_point).collect())
                    .unwrap_or_default(),
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        if series.is_empty() {
            continue;
        }
        let query = entry
            .run
            .activity
            .as_ref()
            .and_then(|act| act.pointer("/provider/arguments/query"))
            .map(py_str);
        out.push(MatrixChart {
            index,
            activity: a.name.clone(),
            query,
            series,
        });
    }
    out
}

/// Lets the masking helpers be tested without a journal.
#[cfg(test)]
pub(crate) fn mask_for_test(secrets: &experiment::Map, v: &mut Value) {
    Masking {
        redactor: Redactor::for_secrets(secrets),
    }
    .value(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_and_values_are_masked() {
        let secrets = json!({"s": {"t": "hunter22"}});
        let mut v =
            json!({"url": "http://x/?k=hunter22", "api-key": "abc", "n": [{"password": 1}]});
        mask_for_test(secrets.as_object().unwrap(), &mut v);
        assert_eq!(
            v,
            json!({"url": "http://x/?k=***", "api-key": "***", "n": [{"password": "***"}]})
        );
    }

    #[test]
    fn prometheus_values_may_be_non_integer_or_not_numbers() {
        assert_eq!(prom_point(&json!([1.5, "2.25"])), Some((1.5, 2.25)));
        assert_eq!(prom_point(&json!([1, "NaN"])), None);
        assert_eq!(prom_point(&json!([1, "+Inf"])), None);
        assert_eq!(prom_point(&json!([1, 3])), Some((1.0, 3.0)));
        assert_eq!(prom_point(&json!(["x", "1"])), None);
    }

    #[test]
    fn binary_and_text_are_told_apart() {
        assert!(looks_binary("ab\0cd"));
        assert!(looks_binary("\u{1}\u{2}\u{3}\u{4}xyz"));
        assert!(!looks_binary("line one\nline two\ttabbed"));
        assert!(!looks_binary(""));
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("héllo", 2), ("h", true));
        assert_eq!(cut("abc", 3), ("abc", false));
    }

    #[test]
    fn bounded_json_stops_at_the_limit() {
        let big = json!({"k": "x".repeat(10_000)});
        let b = bounded_json(&big, 100, true);
        assert!(b.truncated);
        assert_eq!(b.text.len(), 100);
        let b = bounded_json(&json!([1]), 100, false);
        assert_eq!(
            b,
            Bounded {
                text: "[1]".into(),
                truncated: false
            }
        );
    }

    #[test]
    fn observed_uses_the_tolerance_target() {
        let out = json!({"status": 0, "stdout": "broken\n", "stderr": ""});
        let tol = json!({"type": "regex", "target": "stdout", "pattern": "^ok"});
        assert_eq!(observed(Some(&out), Some(&tol)), "\"broken\\n\"");
        assert_eq!(observed(Some(&json!(0.25)), Some(&json!([0, 0.1]))), "0.25");
        assert_eq!(observed(None, None), "no output");
    }

    #[test]
    fn verdicts_follow_status_and_deviation() {
        let met = |m| Check {
            met: Some(m),
            probes: vec![],
        };
        assert_eq!(
            verdict(Some("completed"), false, Some(&met(true))),
            Verdict::Held
        );
        assert_eq!(verdict(Some("completed"), true, None), Verdict::Deviated);
        assert_eq!(
            verdict(Some("failed"), false, Some(&met(false))),
            Verdict::Failed
        );
        assert_eq!(
            verdict(Some("completed"), false, Some(&met(false))),
            Verdict::Failed
        );
        assert_eq!(
            verdict(Some("interrupted"), true, None),
            Verdict::Interrupted
        );
        assert_eq!(verdict(None, false, None), Verdict::Unknown);
    }
}
