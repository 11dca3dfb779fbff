//! The analysis laid out as a [`Document`]: the reference's structure, and what it leaves
//! out.
//!
//! The reference's Markdown (chaostoolkit-reporting's `header.md` and `index.md`) is
//! `# Summary` (with `## Contributions`, `### Experiment Contributions Breakdown`,
//! `### Areas Contributions Breakdown`), then `# Experiments` and per experiment
//! `## title` → `### Summary`, `### Definition` (`#### Organization Contributions`,
//! `#### Steady State Hypothesis` → `##### Before Run` / `##### After Run`,
//! `#### Method`), `### Result` (`#### Action - name` per activity) and `### Appendix`.
//! The same headings appear here at the same depths, so a reader (or a diff) finds them
//! where the reference puts them. Added, at the places they belong: the verdicts, a
//! `Trends` section for repeated experiments, `#### Rollbacks` in the definition,
//! `#### What Deviated`, `#### Timeline` and `#### Probe Outputs Over The Run` in the
//! result, and result entries for hypothesis probes and rollbacks (named by phase).
//!
//! Activity sections stay out of the table of contents (a journal may hold 100,000).

use crate::analysis::{
    Activity, Analysis, Check, ExperimentAnalysis, Output, Series, DETAIL_LIMIT,
};
use crate::document::{
    code, status, text, Block, Chart, ChartKind, CodeBlock, Document, LineSeries, Section, Span,
    Table, Text, TimelineRow, Tone,
};
use crate::Options;
use journal::Phase;

/// The most bars a timeline chart draws; the rest is said in a note.
pub const TIMELINE_ROWS: usize = 400;

/// Lays out the analysis.
pub fn document(a: &Analysis, options: &Options) -> Document {
    let mut summary = Section::new("summary", "Summary");
    let n = a.experiments.len();
    let mut intro = text(format!(
        "This report aggregates {n} experiment{} spanning over the following subjects: ",
        if n == 1 { "" } else { "s" }
    ));
    if a.tags.is_empty() {
        intro.push(Span::Text("none (no tags)".into()));
    } else {
        intro.push(Span::Strong(a.tags.join(", ")));
    }
    summary.push(Block::Paragraph(intro));
    summary.push(Block::Callout(
        a.verdict.tone(),
        text(a.verdict_line.clone()),
    ));
    summary.push(Block::Table(Table {
        headers: vec![
            "Experiment".into(),
            "Verdict".into(),
            "Status".into(),
            "Duration".into(),
            "Journal".into(),
        ],
        rows: a
            .experiments
            .iter()
            .map(|e| {
                vec![
                    vec![Span::Link {
                        target: e.id.clone(),
                        text: e.title.clone(),
                    }],
                    status(e.verdict.tone(), e.verdict.as_str()),
                    text(e.status.clone().unwrap_or_else(|| "unknown".into())),
                    text(
                        e.duration
                            .map(human_duration)
                            .unwrap_or_else(|| "unknown".into()),
                    ),
                    code(
                        e.file
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ),
                ]
            })
            .collect(),
    }));
    if let Some(c) = contributions(a) {
        summary.push(Block::Section(c));
    }
    if !a.trends.is_empty() {
        summary.push(Block::Section(trends(a)));
    }

    // The reference writes "Experiment" for one, "Experiments" for more.
    let heading = if n == 1 { "Experiment" } else { "Experiments" };
    let mut experiments = Section::new("experiments", heading);
    for e in &a.experiments {
        experiments.push(Block::Section(experiment(e)));
    }
    Document {
        title: a.title.clone(),
        subtitle: Some(options.date.clone().unwrap_or_else(today)),
        sections: vec![summary, experiments],
    }
}

fn contributions(a: &Analysis) -> Option<Section> {
    let c = &a.contributions;
    if c.names.is_empty() {
        return None;
    }
    let mut s = Section::new("contributions", "Contributions");
    s.push(Block::Paragraph(text(
        "Contributions surface the properties this collection of experiments target in order to improve the confidence and trust in the system.",
    )));
    s.push(Block::Paragraph(text(format!(
        "The aggregated {} experiments cover {} distinct contributions:",
        a.experiments.len(),
        c.names.len()
    ))));
    s.push(Block::Chart(Chart {
        id: "contributions-distribution".into(),
        title: "Organization Contributions Distribution".into(),
        kind: ChartKind::Bar {
            categories: c.names.clone(),
            series: vec![(
                "experiments".into(),
                c.distribution.iter().map(|&d| d as f64).collect(),
            )],
            y_label: "experiments".into(),
        },
        note: None,
    }));
    let mut per_exp = Section::new(
        "contributions-breakdown",
        "Experiment Contributions Breakdown",
    );
    per_exp.push(Block::Paragraph(text(
        "The breakdown of impacts each experiment contributes to for these system properties (high, medium, low; an empty dot is an explicit \"none\", no dot is no data):",
    )));
    per_exp.push(Block::Chart(Chart {
        id: "contributions-dot".into(),
        title: "Experiment Contributions to Organization Properties".into(),
        kind: ChartKind::Dot {
            columns: c.names.clone(),
            rows: c.per_experiment.clone(),
        },
        note: None,
    }));
    per_exp.push(Block::Paragraph(text("Another view of the same data:")));
    per_exp.push(Block::Chart(Chart {
        id: "contributions-radar".into(),
        title: "Experiment Contributions to Organization Properties".into(),
        kind: ChartKind::Radar {
            axes: c.names.clone(),
            series: c.per_experiment.clone(),
        },
        note: None,
    }));
    s.push(Block::Section(per_exp));
    if !c.per_area.is_empty() {
        let mut areas = Section::new("areas-breakdown", "Areas Contributions Breakdown");
        areas.push(Block::Paragraph(text(
            "The distribution of areas impacted by these contributions (the mean level of the experiments with each tag):",
        )));
        areas.push(Block::Chart(Chart {
            id: "contributions-areas".into(),
            title: "Organization Properties Coverage by Area".into(),
            kind: ChartKind::Dot {
                columns: c.names.clone(),
                rows: c.per_area.clone(),
            },
            note: None,
        }));
        s.push(Block::Section(areas));
    }
    Some(s)
}

fn trends(a: &Analysis) -> Section {
    let mut s = Section::new("trends", "Trends");
    s.push(Block::Paragraph(text(
        "Experiments run more than once in this report: their outcome and duration run after run.",
    )));
    for (i, t) in a.trends.iter().enumerate() {
        s.push(Block::Table(Table {
            headers: vec![
                "Experiment".into(),
                "Run started".into(),
                "Verdict".into(),
                "Duration".into(),
            ],
            rows: t
                .runs
                .iter()
                .map(|(start, v, d)| {
                    vec![
                        text(t.title.clone()),
                        text(pretty_date(*start)),
                        status(v.tone(), v.as_str()),
                        text(d.map(human_duration).unwrap_or_else(|| "unknown".into())),
                    ]
                })
                .collect(),
        }));
        s.push(Block::Chart(Chart {
            id: format!("trend-{i}"),
            title: format!("Duration of \"{}\" run after run", t.title),
            kind: ChartKind::Line {
                series: vec![LineSeries {
                    name: "duration (s)".into(),
                    points: t
                        .runs
                        .iter()
                        .filter_map(|(start, _, d)| Some((*start, (*d)?)))
                        .collect(),
                }],
                x_is_time: true,
                y_label: "seconds".into(),
                log_y: false,
            },
            note: None,
        }));
    }
    s
}

fn experiment(e: &ExperimentAnalysis) -> Section {
    let id = &e.id;
    let mut s = Section::new(id.clone(), e.title.clone());
    s.badge = Some((e.verdict.tone(), e.verdict.as_str().into()));
    if let Some(d) = &e.description {
        s.push(Block::Paragraph(text(d.clone())));
    }
    s.push(Block::Callout(
        e.verdict.tone(),
        text(e.verdict_line.clone()),
    ));

    let mut summary = Section::new(format!("{id}-summary"), "Summary");
    let na = || text("unknown");
    let mut kv = vec![
        (
            "Status".to_string(),
            e.status
                .as_ref()
                .map(|st| status(status_tone(st), st.clone()))
                .unwrap_or_else(na),
        ),
        (
            "Verdict".into(),
            status(e.verdict.tone(), e.verdict.as_str()),
        ),
        (
            "Deviated".into(),
            status(
                if e.deviated { Tone::Bad } else { Tone::Good },
                if e.deviated { "yes" } else { "no" },
            ),
        ),
        ("Tagged".into(), text(e.tags.join(", "))),
        (
            "Executed From".into(),
            e.node.clone().map(text).unwrap_or_else(na),
        ),
        (
            "Platform".into(),
            e.platform.clone().map(text).unwrap_or_else(na),
        ),
        (
            "Started".into(),
            e.start_unix
                .map(|t| text(pretty_date(t)))
                .unwrap_or_else(na),
        ),
        (
            "Completed".into(),
            completed(e).map(text).unwrap_or_else(na),
        ),
        (
            "Duration".into(),
            e.duration
                .map(|d| text(human_duration(d)))
                .unwrap_or_else(na),
        ),
        ("Journal".into(), code(e.file.display().to_string())),
        (
            "Written by".into(),
            text(format!(
                "chaostoolkit-lib {}",
                e.chaoslib_version.as_deref().unwrap_or("(version unknown)")
            )),
        ),
    ];
    if let Some(i) = &e.interruption {
        kv.push(("Interrupted".into(), status(Tone::Warn, i.clone())));
    }
    summary.push(Block::KeyValue(kv));
    s.push(Block::Section(summary));
    s.push(Block::Section(definition(e)));
    s.push(Block::Section(result(e)));
    s.push(Block::Section(appendix(e)));
    s
}

fn completed(e: &ExperimentAnalysis) -> Option<String> {
    let end = e
        .end
        .as_deref()
        .and_then(|t| journal::parse_timestamp(t).ok())?;
    Some(pretty_date(end))
}

fn definition(e: &ExperimentAnalysis) -> Section {
    let id = &e.id;
    let mut s = Section::new(format!("{id}-definition"), "Definition");
    s.push(Block::Paragraph(text(format!(
        "The experiment was made of {} action{}, to vary conditions in your system, and {} probe{}, to collect objective data from your system during the experiment.",
        e.num_actions,
        if e.num_actions == 1 { "" } else { "s" },
        e.num_probes,
        if e.num_probes == 1 { "" } else { "s" },
    ))));
    if !e.contributions.is_empty() {
        let mut c = Section::new(format!("{id}-contributions"), "Organization Contributions");
        c.in_toc = false;
        c.push(Block::Paragraph(text(
            "An estimate of relative system properties this experiment contributes to:",
        )));
        c.push(Block::Table(Table {
            headers: vec!["Contribution".into(), "Impact".into()],
            rows: e
                .contributions
                .iter()
                .map(|(k, v)| vec![text(k.clone()), text(v.clone())])
                .collect(),
        }));
        s.push(Block::Section(c));
    }
    let mut h = Section::new(format!("{id}-hypothesis"), "Steady State Hypothesis");
    h.in_toc = false;
    match &e.hypothesis_title {
        None => {
            h.push(Block::Paragraph(text(
                "The experiment declares no steady state hypothesis: it was exploratory.",
            )));
        }
        Some(title) => {
            h.push(Block::Paragraph(text(format!(
                "The steady state hypothesis this experiment tried was \"{title}\"."
            ))));
            for (suffix, name, check) in [
                ("before", "Before Run", e.before.as_ref()),
                ("after", "After Run", e.after.as_ref()),
            ] {
                let mut sub = Section::new(format!("{id}-hypothesis-{suffix}"), name);
                sub.in_toc = false;
                hypothesis_check(&mut sub, e, check);
                h.push(Block::Section(sub));
            }
            if !e.during.is_empty() {
                let mut sub = Section::new(format!("{id}-hypothesis-during"), "During Run");
                sub.in_toc = false;
                let met = e.during.iter().filter(|c| c.met == Some(true)).count();
                sub.push(Block::Paragraph(text(format!(
                    "The hypothesis was checked {} times while the method ran; it was met {met} times.",
                    e.during.len()
                ))));
                h.push(Block::Section(sub));
            }
        }
    }
    s.push(Block::Section(h));
    let mut m = Section::new(format!("{id}-method"), "Method");
    m.in_toc = false;
    m.push(Block::Paragraph(text(
        "The experiment method defines the sequence of activities that help gathering evidence towards, or against, the hypothesis.",
    )));
    m.push(Block::Paragraph(text(
        "The following activities were conducted as part of the experimental's method:",
    )));
    m.push(Block::Table(type_name_table(&e.method)));
    s.push(Block::Section(m));
    let mut r = Section::new(format!("{id}-rollbacks"), "Rollbacks");
    r.in_toc = false;
    if e.declared_rollbacks.is_empty() {
        r.push(Block::Paragraph(text(
            "The experiment declares no rollback.",
        )));
    } else {
        r.push(Block::Paragraph(text(
            "The following activities were declared to bring the system back after the method:",
        )));
        r.push(Block::Table(type_name_table(&e.declared_rollbacks)));
    }
    s.push(Block::Section(r));
    s
}

fn type_name_table(rows: &[(String, String)]) -> Table {
    Table {
        headers: vec!["Type".into(), "Name".into()],
        rows: rows
            .iter()
            .map(|(t, n)| vec![text(t.clone()), text(n.clone())])
            .collect(),
    }
}

fn hypothesis_check(s: &mut Section, e: &ExperimentAnalysis, check: Option<&Check>) {
    let Some(check) = check else {
        s.push(Block::Paragraph(text(
            "This hypothesis was not run (the run stopped before it).",
        )));
        return;
    };
    s.push(Block::Paragraph(match check.met {
        Some(true) => status(Tone::Good, "The steady state was verified"),
        Some(false) => status(Tone::Bad, "The steady state was not verified"),
        None => status(
            Tone::Warn,
            "The journal does not say whether the steady state was verified",
        ),
    }));
    s.push(Block::Table(Table {
        headers: vec![
            "Probe".into(),
            "Tolerance".into(),
            "Verified".into(),
            "Observed".into(),
        ],
        rows: check
            .probes
            .iter()
            .filter_map(|&i| e.activities.get(i).map(|a| (i, a)))
            .map(|(i, a)| {
                let verified = match (a.tolerance_met, a.status.as_deref()) {
                    (Some(true), _) => status(Tone::Good, "True"),
                    (Some(false), _) => status(Tone::Bad, "False"),
                    (None, Some("failed")) => status(Tone::Bad, "failed"),
                    _ => status(Tone::Neutral, "unknown"),
                };
                let observed = e
                    .deviations
                    .iter()
                    .find(|d| d.activity == i)
                    .map(|d| code(d.error.clone().unwrap_or_else(|| d.observed.clone())))
                    .unwrap_or_else(|| text(""));
                vec![
                    text(a.name.clone()),
                    code(a.tolerance.clone().unwrap_or_default()),
                    verified,
                    observed,
                ]
            })
            .collect(),
    }));
}

fn heading(a: &Activity) -> String {
    let kind = capitalise(&a.kind);
    match a.phase {
        Phase::Method => format!("{kind} - {}", a.name),
        Phase::Before => format!("{kind} - {} (hypothesis before)", a.name),
        Phase::After => format!("{kind} - {} (hypothesis after)", a.name),
        Phase::During(i) => format!("{kind} - {} (hypothesis during, #{})", a.name, i + 1),
        Phase::Rollback => format!("Rollback - {}", a.name),
    }
}

fn result(e: &ExperimentAnalysis) -> Section {
    let id = &e.id;
    let mut s = Section::new(format!("{id}-result"), "Result");
    let when = e
        .start_unix
        .map(pretty_date)
        .unwrap_or_else(|| "an unknown date".into());
    let lasted = e
        .duration
        .map(human_duration)
        .unwrap_or_else(|| "an unknown time".into());
    s.push(Block::Paragraph(text(format!(
        "The experiment was conducted on {when} and lasted roughly {lasted}."
    ))));

    if !e.deviations.is_empty() {
        let mut d = Section::new(format!("{id}-deviated"), "What Deviated");
        d.in_toc = false;
        d.push(Block::Table(Table {
            headers: vec![
                "When".into(),
                "Probe".into(),
                "Tolerance".into(),
                "Observed".into(),
            ],
            rows: e
                .deviations
                .iter()
                .map(|dv| {
                    vec![
                        text(dv.phase.to_string()),
                        vec![Span::Link {
                            target: format!("{id}-act-{}", dv.activity),
                            text: dv.probe.clone(),
                        }],
                        code(dv.tolerance.clone()),
                        match &dv.error {
                            Some(err) => status(Tone::Bad, err.clone()),
                            None => code(dv.observed.clone()),
                        },
                    ]
                })
                .collect(),
        }));
        s.push(Block::Section(d));
    }

    let mut t = Section::new(format!("{id}-timeline"), "Timeline");
    t.in_toc = false;
    t.push(Block::Paragraph(text(
        "Every activity on one time axis, background ones (hatched) and rollbacks included, as a tracing view shows them:",
    )));
    let rows: Vec<TimelineRow> = e
        .activities
        .iter()
        .filter_map(|a| {
            let start = a.start_offset?;
            let end = a
                .end_offset
                .or_else(|| a.duration.map(|d| start + d))
                .unwrap_or(start)
                .max(start);
            Some(TimelineRow {
                label: format!("{} · {}", a.phase, a.name),
                start,
                end,
                tone: activity_tone(a),
                background: a.background,
            })
        })
        .collect();
    let total = rows.len();
    let note = (total > TIMELINE_ROWS)
        .then(|| format!("The first {TIMELINE_ROWS} of {total} activities are drawn."));
    t.push(Block::Chart(Chart {
        id: format!("{id}-timeline-chart"),
        title: "Timeline of the run".into(),
        kind: ChartKind::Timeline {
            rows: rows.into_iter().take(TIMELINE_ROWS).collect(),
        },
        note,
    }));
    s.push(Block::Section(t));

    if !e.numeric_series.is_empty() {
        let mut n = Section::new(format!("{id}-numeric"), "Probe Outputs Over The Run");
        n.in_toc = false;
        n.push(Block::Chart(time_series_chart(
            format!("{id}-numeric-chart"),
            "Numeric probe outputs".into(),
            &e.numeric_series,
        )));
        s.push(Block::Section(n));
    }

    for (i, a) in e.activities.iter().enumerate() {
        if i >= DETAIL_LIMIT {
            s.push(Block::Paragraph(text(format!(
                "{} more activities are not detailed here (a report details the first {DETAIL_LIMIT}); their status and times are in the timeline and the JSON export.",
                e.details_omitted
            ))));
            break;
        }
        s.push(Block::Section(activity_section(e, i, a)));
    }
    s
}

fn activity_tone(a: &Activity) -> Tone {
    if a.failed() {
        Tone::Bad
    } else if a.status.as_deref() == Some("succeeded") {
        Tone::Good
    } else {
        Tone::Warn
    }
}

fn status_tone(s: &str) -> Tone {
    match s {
        "succeeded" | "completed" => Tone::Good,
        "failed" | "deviated" => Tone::Bad,
        _ => Tone::Warn,
    }
}

fn activity_section(e: &ExperimentAnalysis, i: usize, a: &Activity) -> Section {
    let mut s = Section::new(format!("{}-act-{i}", e.id), heading(a));
    s.in_toc = false;
    let na = || text("");
    let secs = |d: Option<f64>| d.map(human_duration).map(text).unwrap_or_else(na);
    let date = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| journal::parse_timestamp(t).ok())
            .map(|t| text(pretty_date(t)))
            .unwrap_or_else(na)
    };
    let mut kv = vec![
        (
            "Status".to_string(),
            match &a.status {
                Some(st) => status(activity_tone(a), st.clone()),
                None => status(Tone::Warn, "interrupted (no status)"),
            },
        ),
        (
            "Background".into(),
            text(if a.background { "True" } else { "False" }),
        ),
        ("Started".into(), date(&a.start)),
        ("Ended".into(), date(&a.end)),
        ("Duration".into(), secs(a.duration)),
    ];
    if let Some(p) = &a.pause_before {
        kv.push(("Paused Before".into(), text(format!("{p}s"))));
    }
    if let Some(p) = &a.pause_after {
        kv.push(("Paused After".into(), text(format!("{p}s"))));
    }
    if let Some(t) = &a.tolerance {
        kv.push(("Tolerance".into(), code(t.clone())));
    }
    if let Some(m) = a.tolerance_met {
        kv.push((
            "Tolerance Met".into(),
            status(
                if m { Tone::Good } else { Tone::Bad },
                if m { "True" } else { "False" },
            ),
        ));
    }
    s.push(Block::KeyValue(kv));
    if !a.provider.is_empty() {
        let kind = if a.phase == Phase::Rollback {
            "rollback"
        } else {
            &a.kind
        };
        s.push(Block::Paragraph(text(format!(
            "The {kind} provider that was executed:"
        ))));
        let mut p: Vec<(String, Text)> = a
            .provider
            .iter()
            .map(|(k, v)| (k.clone(), code(v.clone())))
            .collect();
        if a.arguments.is_none() {
            p.push(("Arguments".into(), text("none")));
        }
        s.push(Block::KeyValue(p));
        if let Some(args) = &a.arguments {
            s.push(Block::Paragraph(text(
                "Arguments, after substitution (secrets masked):",
            )));
            s.push(Block::Code(CodeBlock {
                language: "json",
                text: args.clone(),
                wrap: true,
                note: None,
            }));
        }
    }
    if let Some(ex) = &a.exception {
        s.push(Block::Paragraph(status(
            Tone::Bad,
            format!("The {} raised an exception:", a.kind),
        )));
        s.push(Block::Code(CodeBlock {
            language: "python",
            text: ex.text.clone(),
            wrap: true,
            note: ex.truncated.then(truncated_note),
        }));
    } else if let Some(err) = &a.error {
        s.push(Block::Paragraph(status(Tone::Bad, format!("Error: {err}"))));
    }
    for l in e.loads.iter().filter(|l| l.index == i) {
        s.push(Block::Chart(bar_chart(
            format!("{}-act-{i}-load-latency", e.id),
            format!("HTTP Latency - {}", l.activity),
            &l.latency_ms,
            "ms",
        )));
        if !l.outcomes.is_empty() {
            s.push(Block::Chart(bar_chart(
                format!("{}-act-{i}-load-responses", e.id),
                format!("HTTP Responses - {}", l.activity),
                &l.outcomes,
                "requests",
            )));
        }
    }
    for (k, m) in e.matrices.iter().enumerate().filter(|(_, m)| m.index == i) {
        s.push(Block::Chart(time_series_chart(
            format!("{}-act-{i}-matrix-{k}", e.id),
            format!(
                "Query - {}",
                m.query.clone().unwrap_or_else(|| m.activity.clone())
            ),
            &m.series,
        )));
    }
    s
}

/// One series of bars, a bar per (label, value).
fn bar_chart(id: String, title: String, bars: &[(String, f64)], y_label: &str) -> Chart {
    Chart {
        id,
        title,
        kind: ChartKind::Bar {
            categories: bars.iter().map(|(k, _)| k.clone()).collect(),
            series: vec![(y_label.to_string(), bars.iter().map(|(_, v)| *v).collect())],
            y_label: y_label.into(),
        },
        note: None,
    }
}

/// A line chart over time of series from the analysis.
fn time_series_chart(id: String, title: String, series: &[Series]) -> Chart {
    Chart {
        id,
        title,
        kind: ChartKind::Line {
            series: series
                .iter()
                .map(|s| LineSeries {
                    name: s.name.clone(),
                    points: s.points.clone(),
                })
                .collect(),
            x_is_time: true,
            y_label: "value".into(),
            log_y: false,
        },
        note: None,
    }
}

fn truncated_note() -> String {
    format!(
        "Truncated: the report keeps the first {} KiB; the journal has the whole text.",
        crate::analysis::OUTPUT_LIMIT / 1024
    )
}

fn appendix(e: &ExperimentAnalysis) -> Section {
    let mut s = Section::new(format!("{}-appendix", e.id), "Appendix");
    for (i, a) in e.activities.iter().enumerate().take(DETAIL_LIMIT) {
        let mut sub = Section::new(format!("{}-appendix-{i}", e.id), heading(a));
        sub.in_toc = false;
        let kind = if a.phase == Phase::Rollback {
            "rollback"
        } else {
            &a.kind
        };
        match &a.output {
            Output::Absent => {
                sub.push(Block::Paragraph(text(format!(
                    "The {kind} returned no result{}.",
                    if a.error.is_some() {
                        " (it failed)"
                    } else {
                        ""
                    }
                ))));
            }
            Output::Omitted => {}
            Output::Binary { bytes } => {
                sub.push(Block::Paragraph(text(format!(
                    "The {kind} returned {bytes} bytes of binary data, not shown."
                ))));
            }
            Output::Text(b) => {
                sub.push(Block::Paragraph(text(format!(
                    "The {kind} returned the following result:"
                ))));
                sub.push(Block::Code(CodeBlock {
                    language: "json",
                    text: b.text.clone(),
                    wrap: true,
                    note: b.truncated.then(truncated_note),
                }));
            }
        }
        s.push(Block::Section(sub));
    }
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A Unix time as the reference's `pretty_date` shows it: `Mon, 20 May 2019 11:58:24 GMT`.
pub fn pretty_date(unix: f64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix.floor() as i64) else {
        return format!("{unix}");
    };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[(u8::from(t.month()) - 1) as usize],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A duration in words: `0.214 seconds`, `28 seconds`, `2 minutes 3 seconds`.
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return format!("{secs} seconds");
    }
    if secs < 10.0 {
        let r = (secs * 1000.0).round() / 1000.0;
        return format!("{r} second{}", if r == 1.0 { "" } else { "s" });
    }
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60);
    let unit = |n: u64, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (h, m) {
        (0, 0) => unit(s, "second"),
        (0, _) => format!("{} {}", unit(m, "minute"), unit(s, "second")),
        _ => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
    }
}

fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{} {} {}",
        now.day(),
        MONTHS[(u8::from(now.month()) - 1) as usize],
        now.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_the_reference() {
        assert_eq!(
            pretty_date(1_558_353_504.9),
            "Mon, 20 May 2019 11:58:24 GMT"
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(human_duration(0.2141), "0.214 seconds");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(28.4), "28 seconds");
        assert_eq!(human_duration(123.0), "2 minutes 3 seconds");
        assert_eq!(human_duration(7260.0), "2 hours 1 minute");
    }
}
