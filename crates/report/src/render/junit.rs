//! JUnit XML, so CI systems show chaos results next to their tests: one `<testsuite>` per
//! experiment holding a testcase for the experiment itself (a `<failure>` unless its
//! steady state held) and one per hypothesis probe run (before, during and after the
//! method; a `<failure>` when its tolerance was not met, an `<error>` when it raised).
//!
//! The shape is the Windy Road schema (`crates/report/tests/junit.xsd`, the one most JUnit
//! readers follow): `<testsuites>` without attributes, each `<testsuite>` with `id`,
//! `package`, `name`, `timestamp` (no zone, no fraction), `hostname`, `tests`,
//! `failures`, `errors`, `time`, then `<properties>`, the testcases, `<system-out>` and
//! `<system-err>`.

use crate::analysis::{Analysis, ExperimentAnalysis};
use crate::svg::escape;
use journal::Phase;
use std::fmt::Write;

/// The analysis as JUnit XML.
pub fn render(a: &Analysis) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (i, e) in a.experiments.iter().enumerate() {
        suite(&mut out, i, e);
    }
    out.push_str("</testsuites>\n");
    out
}

struct Case {
    name: String,
    time: f64,
    outcome: Option<(&'static str, String, String, String)>,
}

fn suite(out: &mut String, id: usize, e: &ExperimentAnalysis) {
    let mut cases = vec![Case {
        name: format!("experiment: {}", e.title),
        time: e.duration.unwrap_or(0.0),
        outcome: e.verdict.is_failure().then(|| {
            (
                "failure",
                e.verdict_line.clone(),
                e.verdict.as_str().to_string(),
                e.deviations
                    .iter()
                    .map(|d| {
                        format!(
                            "{} {}: observed {} against tolerance {}{}",
                            d.phase,
                            d.probe,
                            d.observed,
                            d.tolerance,
                            d.error
                                .as_ref()
                                .map(|x| format!(" ({x})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        }),
    }];
    for a in e
        .activities
        .iter()
        .filter(|a| matches!(a.phase, Phase::Before | Phase::During(_) | Phase::After))
    {
        let when = match a.phase {
            Phase::During(i) => format!("during #{}", i + 1),
            p => p.to_string(),
        };
        let outcome = if a.status.as_deref() == Some("failed") {
            Some((
                "error",
                a.error.clone().unwrap_or_else(|| "the probe failed".into()),
                "ActivityFailed".to_string(),
                a.exception
                    .as_ref()
                    .map(|x| x.text.clone())
                    .unwrap_or_default(),
            ))
        } else if a.tolerance_met == Some(false) {
            let d = e
                .deviations
                .iter()
                .find(|d| d.probe == a.name && d.phase == a.phase);
            let observed = d.map(|d| d.observed.clone()).unwrap_or_default();
            let tol = a.tolerance.clone().unwrap_or_default();
            Some((
                "failure",
                format!("observed {observed} against tolerance {tol}"),
                "ToleranceNotMet".to_string(),
                format!(
                    "probe {} ({when}): observed {observed}\ntolerance: {tol}",
                    a.name
                ),
            ))
        } else {
            None
        };
        cases.push(Case {
            name: format!("hypothesis {when}: {}", a.name),
            time: a.duration.unwrap_or(0.0),
            outcome,
        });
    }
    let failures = cases
        .iter()
        .filter(|c| matches!(c.outcome, Some(("failure", ..))))
        .count();
    let errors = cases
        .iter()
        .filter(|c| matches!(c.outcome, Some(("error", ..))))
        .count();
    let classname = format!("chaos.{}", e.id.replace('-', "_"));
    let _ = writeln!(
        out,
        "  <testsuite id=\"{id}\" package=\"chaos\" name=\"{}\" timestamp=\"{}\" hostname=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\">",
        attr(&e.title),
        timestamp(e.start_unix),
        attr(e.node.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or("localhost")),
        cases.len(),
        secs(e.duration.unwrap_or(0.0)),
    );
    out.push_str("    <properties>\n");
    let props = [
        ("journal", Some(e.file.display().to_string())),
        ("verdict", Some(e.verdict.as_str().to_string())),
        ("status", e.status.clone()),
        ("deviated", Some(e.deviated.to_string())),
        ("chaoslib-version", e.chaoslib_version.clone()),
        ("platform", e.platform.clone()),
    ];
    for (k, v) in props {
        if let Some(v) = v {
            let _ = writeln!(out, "      <property name=\"{k}\" value=\"{}\"/>", attr(&v));
        }
    }
    out.push_str("    </properties>\n");
    for c in &cases {
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"{classname}\" time=\"{}\"",
            attr(&c.name),
            secs(c.time)
        );
        match &c.outcome {
            None => out.push_str("/>\n"),
            Some((tag, message, kind, body)) => {
                let _ = writeln!(
                    out,
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>",
                    attr(message),
                    attr(kind),
                    escape(body)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "    <system-out>{}</system-out>\n    <system-err></system-err>\n  </testsuite>",
        escape(&e.verdict_line)
    );
}

/// An attribute value: escaped, control characters and newlines as spaces.
fn attr(s: &str) -> String {
    escape(&s.replace(['\n', '\r', '\t'], " "))
}

fn secs(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("{v:.3}")
    } else {
        "0.000".into()
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, as the schema wants (no zone, no fraction).
fn timestamp(unix: Option<f64>) -> String {
    let t = unix
        .and_then(|u| time::OffsetDateTime::from_unix_timestamp(u.floor() as i64).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_no_zone() {
        assert_eq!(timestamp(Some(1_558_353_504.9)), "2019-05-20T11:58:24");
        assert_eq!(timestamp(None), "1970-01-01T00:00:00");
        assert_eq!(secs(f64::NAN), "0.000");
        assert_eq!(attr("a\nb\"<"), "a b&quot;&lt;");
    }
}
