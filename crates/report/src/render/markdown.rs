//! Markdown, in the reference's structure: a YAML metadata block (`title`, `date`), then
//! the sections as ATX headings at their depth (`# Summary`, `## Contributions`, ...,
//! `# Experiments`, `## title`, `### Summary`, ...), key/value lists as two-column pipe
//! tables with bold keys (as the reference's templates write them), code in fences long
//! enough for their content. Charts cannot be drawn in Markdown: each becomes its title
//! and a table of its data (a line chart: per series its points, first, last, minimum and
//! maximum), so nothing a chart shows is lost.

use crate::document::{Block, Chart, ChartKind, CodeBlock, Document, Section, Span, Table, Text};
use std::fmt::Write;

/// The document as Markdown.
pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "title: {}", yaml_str(&doc.title));
    if let Some(d) = &doc.subtitle {
        let _ = writeln!(out, "date: {}", yaml_str(d));
    }
    let _ = writeln!(out, "---\n");
    for s in &doc.sections {
        section(&mut out, s, 1);
    }
    out
}

fn yaml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn section(out: &mut String, s: &Section, depth: usize) {
    let _ = writeln!(out, "{} {}\n", "#".repeat(depth.min(6)), escape(&s.title));
    for b in &s.blocks {
        block(out, b, depth);
    }
}

fn block(out: &mut String, b: &Block, depth: usize) {
    match b {
        Block::Section(s) => section(out, s, depth + 1),
        Block::Paragraph(t) => {
            let _ = writeln!(out, "{}\n", inline(t));
        }
        Block::Callout(tone, t) => {
            let _ = writeln!(out, "> **{}** {}\n", tone_word(*tone), inline(t));
        }
        Block::Table(t) => table(out, t),
        Block::KeyValue(kv) => {
            let _ = writeln!(out, "|   |   |\n|---|---|");
            for (k, v) in kv {
                let _ = writeln!(out, "| **{}** | {} |", cell(&escape(k)), cell(&inline(v)));
            }
            out.push('\n');
        }
        Block::Code(c) => code(out, c),
        Block::Chart(c) => chart(out, c),
        Block::List(items) => {
            for i in items {
                let _ = writeln!(out, "- {}", inline(i));
            }
            out.push('\n');
        }
    }
}

fn tone_word(t: crate::document::Tone) -> &'static str {
    use crate::document::Tone;
    match t {
        Tone::Good => "Verdict (good):",
        Tone::Bad => "Verdict (bad):",
        Tone::Warn => "Verdict (warning):",
        Tone::Neutral => "Note:",
    }
}

fn table(out: &mut String, t: &Table) {
    let _ = writeln!(
        out,
        "| {} |",
        t.headers
            .iter()
            .map(|h| cell(&escape(h)))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(t.headers.len().max(1)));
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(&inline(c))).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// A table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.replace('\n', " ").replace('|', "\\|")
}

fn code(out: &mut String, c: &CodeBlock) {
    let longest = longest_run(&c.text, '`');
    let fence = "`".repeat((longest + 1).max(3));
    let _ = writeln!(
        out,
        "{fence}{}\n{}\n{fence}\n",
        c.language,
        c.text.trim_end_matches('\n')
    );
    if let Some(n) = &c.note {
        let _ = writeln!(out, "*{}*\n", escape(n));
    }
}

fn longest_run(s: &str, ch: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn chart(out: &mut String, c: &Chart) {
    let _ = writeln!(out, "**Chart: {}**\n", escape(&c.title));
    match &c.kind {
        ChartKind::Bar {
            categories, series, ..
        } => {
            let mut headers = vec!["".to_string()];
            headers.extend(series.iter().map(|(n, _)| n.clone()));
            let rows = categories
                .iter()
                .enumerate()
                .map(|(i, cat)| {
                    let mut r = vec![vec![Span::Text(cat.clone())]];
                    r.extend(series.iter().map(|(_, v)| {
                        vec![Span::Text(v.get(i).map(|x| num(*x)).unwrap_or_default())]
                    }));
                    r
                })
                .collect();
            table(out, &Table { headers, rows });
        }
        ChartKind::Line { series, .. } => {
            let rows = series
                .iter()
                .map(|s| {
                    let ys = s.points.iter().map(|p| p.1);
                    let min = ys.clone().fold(f64::INFINITY, f64::min);
                    let max = ys.fold(f64::NEG_INFINITY, f64::max);
                    let first = s.points.first().map(|p| num(p.1)).unwrap_or_default();
                    let last = s.points.last().map(|p| num(p.1)).unwrap_or_default();
                    [
                        s.name.clone(),
                        s.points.len().to_string(),
                        first,
                        last,
                        if min.is_finite() {
                            num(min)
                        } else {
                            String::new()
                        },
                        if max.is_finite() {
                            num(max)
                        } else {
                            String::new()
                        },
                    ]
                    .into_iter()
                    .map(|x| vec![Span::Text(x)])
                    .collect()
                })
                .collect();
            table(
                out,
                &Table {
                    headers: ["Series", "Points", "First", "Last", "Min", "Max"]
                        .map(String::from)
                        .to_vec(),
                    rows,
                },
            );
        }
        ChartKind::Timeline { rows } => {
            let rows = rows
                .iter()
                .map(|r| {
                    vec![
                        vec![Span::Text(r.label.clone())],
                        vec![Span::Text(num(r.start))],
                        vec![Span::Text(num(r.end))],
                        vec![Span::Text(if r.background { "yes" } else { "" }.into())],
                    ]
                })
                .collect();
            table(
                out,
                &Table {
                    headers: ["Activity", "Start (s)", "End (s)", "Background"]
                        .map(String::from)
                        .to_vec(),
                    rows,
                },
            );
        }
        ChartKind::Radar { axes, series } => matrix(out, axes, series),
        ChartKind::Dot { columns, rows } => matrix(out, columns, rows),
    }
    if let Some(n) = &c.note {
        let _ = writeln!(out, "*{}*\n", escape(n));
    }
}

fn level_word(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v < 0.0 => "none".into(),
        Some(v) if v >= 0.75 => "high".into(),
        Some(v) if v >= 0.5 => "medium".into(),
        Some(v) if v > 0.0 => "low".into(),
        Some(_) => "none".into(),
    }
}

fn matrix(out: &mut String, cols: &[String], rows: &[(String, Vec<Option<f64>>)]) {
    let mut headers = vec!["".to_string()];
    headers.extend(cols.iter().cloned());
    let rows = rows
        .iter()
        .map(|(name, vals)| {
            let mut r = vec![vec![Span::Text(name.clone())]];
            r.extend(vals.iter().map(|v| vec![Span::Text(level_word(*v))]));
            r
        })
        .collect();
    table(out, &Table { headers, rows });
}

/// Inline text as Markdown.
fn inline(t: &Text) -> String {
    let mut out = String::new();
    for s in t {
        match s {
            Span::Text(x) => out.push_str(&escape(x)),
            Span::Strong(x) => {
                let _ = write!(out, "**{}**", escape(x));
            }
            Span::Status(_, x) => {
                let _ = write!(out, "**{}**", escape(x));
            }
            Span::Code(x) => out.push_str(&inline_code(x)),
            Span::Link { target, text } => {
                let _ = write!(out, "[{}](#{target})", escape(text));
            }
        }
    }
    out
}

fn inline_code(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.is_empty() {
        return String::new();
    }
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// Escapes Markdown's inline syntax in plain text.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_fences_outgrow_their_content() {
        let mut out = String::new();
        code(
            &mut out,
            &CodeBlock {
                language: "text",
                text: "a ``` b".into(),
                wrap: true,
                note: None,
            },
        );
        assert!(out.starts_with("````text\n"));
        assert_eq!(inline_code("a`b"), "``a`b``");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a_b*c|d"), "a\\_b\\*c\\|d");
    }
}
