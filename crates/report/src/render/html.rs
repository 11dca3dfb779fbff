//! One self-contained HTML file: inline CSS and inline SVG, no script, no font, image or
//! stylesheet fetched from anywhere, readable in any browser (or none: the text is all in
//! the DOM) and printable (print CSS: no shadows, page breaks before each experiment,
//! links shown as text). A table of contents with links to every section that is `in_toc`.
//!
//! Everything from a journal is escaped ([`crate::svg::escape`]); nothing is inserted as
//! markup, so an output holding `<script>` is shown, never run.

use crate::document::{Block, Chart, CodeBlock, Document, Section, Span, Table, Text, Tone};
use crate::svg::{self, escape};
use std::fmt::Write;

const CSS: &str = r#"
:root{--ink:#0f172a;--muted:#475569;--line:#e2e8f0;--soft:#f8fafc;--accent:#2563eb;
--good:#16a34a;--good-bg:#dcfce7;--bad:#dc2626;--bad-bg:#fee2e2;--warn:#b45309;--warn-bg:#fef3c7;--neutral:#475569;--neutral-bg:#f1f5f9}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#fff;line-height:1.55;font-size:15px}
body{margin:0}
.page{max-width:1040px;margin:0 auto;padding:2.5rem 2rem 4rem}
header.cover{border-bottom:3px solid var(--ink);padding-bottom:1rem;margin-bottom:1.5rem}
header.cover h1{font-size:2.1rem;margin:0 0 .25rem;letter-spacing:-.02em}
header.cover .subtitle{color:var(--muted);margin:0}
nav.toc{background:var(--soft);border:1px solid var(--line);border-radius:10px;padding:1rem 1.5rem;margin:1.5rem 0 2rem}
nav.toc h2{margin:0 0 .5rem;font-size:1rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);border:0}
nav.toc ol{margin:0;padding-left:1.2rem}nav.toc li{margin:.1rem 0}
nav.toc a{color:var(--ink);text-decoration:none}nav.toc a:hover{color:var(--accent);text-decoration:underline}
h2,h3,h4,h5,h6{line-height:1.25;margin:2rem 0 .75rem;scroll-margin-top:1rem}
h2{font-size:1.6rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
h3{font-size:1.3rem}h4{font-size:1.1rem}h5{font-size:1rem}h6{font-size:.95rem;color:var(--muted)}
#experiments>section.depth-2>h3{font-size:1.45rem;border-left:5px solid var(--accent);padding-left:.6rem}
a{color:var(--accent)}
p{margin:.5rem 0 .9rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem;font-size:.92rem}
th,td{border-bottom:1px solid var(--line);padding:.4rem .6rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:var(--soft);font-weight:600;color:var(--muted);font-size:.8rem;text-transform:uppercase;letter-spacing:.04em}
table.kv th{width:14rem;text-transform:none;font-size:.9rem;letter-spacing:0;color:var(--ink);background:transparent}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.86em;background:var(--neutral-bg);padding:.05rem .3rem;border-radius:4px;overflow-wrap:anywhere}
pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.82rem;background:#0f172a;color:#e2e8f0;padding:.8rem 1rem;border-radius:8px;overflow-x:auto;max-height:32rem;line-height:1.45}
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}
pre code{background:none;padding:0;color:inherit;font-size:inherit;border-radius:0}
.note{color:var(--muted);font-size:.85rem;font-style:italic}
.status{display:inline-block;padding:.05rem .5rem;border-radius:999px;font-weight:600;font-size:.85em}
.tone-good{color:var(--good);background:var(--good-bg)}.tone-bad{color:var(--bad);background:var(--bad-bg)}
.tone-warn{color:var(--warn);background:var(--warn-bg)}.tone-neutral{color:var(--neutral);background:var(--neutral-bg)}
.badge{margin-left:.6rem;vertical-align:middle;font-size:.8rem;text-transform:uppercase;letter-spacing:.05em}
.callout{border-left:5px solid;border-radius:6px;padding:.7rem 1rem;margin:.8rem 0 1.2rem;font-weight:500}
.callout.tone-good{border-color:var(--good)}.callout.tone-bad{border-color:var(--bad)}.callout.tone-warn{border-color:var(--warn)}.callout.tone-neutral{border-color:var(--neutral)}
figure{margin:1rem 0 1.5rem;border:1px solid var(--line);border-radius:10px;padding:.5rem;background:#fff}
figure svg{width:100%;max-width:760px;height:auto;display:block;margin:0 auto}
figcaption{color:var(--muted);font-size:.85rem;padding:.3rem .5rem 0}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);padding-top:1rem}
@media print{
 html{font-size:11pt}.page{max-width:none;padding:0}
 nav.toc{break-after:page;background:none}
 section.depth-2{break-before:page}
 pre{max-height:none;background:#f8fafc;color:#0f172a;border:1px solid var(--line);white-space:pre-wrap;overflow-wrap:anywhere}
 figure,table,pre{break-inside:avoid}
 h2,h3,h4,h5,h6{break-after:avoid}
 a{color:inherit;text-decoration:none}
 .status,.callout,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
@page{margin:1.6cm}
"#;

/// The document as one HTML file.
pub fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"Shakedown chaos report\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<div class=\"page\">\n<header class=\"cover\"><h1>{}</h1>",
        escape(&doc.title),
        escape(&doc.title)
    );
    if let Some(s) = &doc.subtitle {
        let _ = write!(out, "<p class=\"subtitle\">{}</p>", escape(s));
    }
    out.push_str("</header>\n<nav class=\"toc\" aria-label=\"Contents\"><h2>Contents</h2>");
    toc(&mut out, &doc.sections);
    out.push_str("</nav>\n<main>\n");
    for s in &doc.sections {
        section(&mut out, s, 1);
    }
    out.push_str("</main>\n<footer>Made by Shakedown <code>chaos report</code>: one self-contained file, no script, no network.</footer>\n</div>\n</body>\n</html>\n");
    out
}

fn toc(out: &mut String, sections: &[Section]) {
    let listed: Vec<&Section> = sections.iter().filter(|s| s.in_toc).collect();
    if listed.is_empty() {
        return;
    }
    out.push_str("<ol>");
    for s in listed {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a>",
            escape(&s.id),
            escape(&s.title)
        );
        if let Some((tone, word)) = &s.badge {
            let _ = write!(
                out,
                " <span class=\"status tone-{}\">{}</span>",
                tone.as_str(),
                escape(word)
            );
        }
        let children: Vec<Section> = s
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section(c) if c.in_toc => Some(Section {
                    blocks: c
                        .blocks
                        .iter()
                        .filter(|b| matches!(b, Block::Section(cc) if cc.in_toc))
                        .cloned()
                        .collect(),
                    badge: c.badge.clone(),
                    ..Section::new(c.id.clone(), c.title.clone())
                }),
                _ => None,
            })
            .collect();
        toc(out, &children);
        out.push_str("</li>");
    }
    out.push_str("</ol>");
}

fn section(out: &mut String, s: &Section, depth: usize) {
    let h = (depth + 1).min(6);
    let _ = write!(
        out,
        "<section id=\"{}\" class=\"depth-{depth}\">\n<h{h}>{}",
        escape(&s.id),
        escape(&s.title)
    );
    if let Some((tone, word)) = &s.badge {
        let _ = write!(
            out,
            "<span class=\"status badge tone-{}\">{}</span>",
            tone.as_str(),
            escape(word)
        );
    }
    let _ = writeln!(out, "</h{h}>");
    for b in &s.blocks {
        block(out, b, depth);
    }
    out.push_str("</section>\n");
}

fn block(out: &mut String, b: &Block, depth: usize) {
    match b {
        Block::Section(s) => section(out, s, depth + 1),
        Block::Paragraph(t) => {
            let _ = writeln!(out, "<p>{}</p>", inline(t));
        }
        Block::Callout(tone, t) => {
            let _ = writeln!(
                out,
                "<div class=\"callout tone-{}\" role=\"note\">{}</div>",
                tone.as_str(),
                inline(t)
            );
        }
        Block::Table(t) => table(out, t),
        Block::KeyValue(kv) => {
            out.push_str("<table class=\"kv\"><tbody>");
            for (k, v) in kv {
                let _ = write!(
                    out,
                    "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                    escape(k),
                    inline(v)
                );
            }
            out.push_str("</tbody></table>\n");
        }
        Block::Code(c) => code(out, c),
        Block::Chart(c) => chart(out, c),
        Block::List(items) => {
            out.push_str("<ul>");
            for i in items {
                let _ = write!(out, "<li>{}</li>", inline(i));
            }
            out.push_str("</ul>\n");
        }
    }
}

fn table(out: &mut String, t: &Table) {
    out.push_str("<table><thead><tr>");
    for h in &t.headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", inline(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

fn code(out: &mut String, c: &CodeBlock) {
    let _ = writeln!(
        out,
        "<pre class=\"lang-{}{}\"><code>{}</code></pre>",
        c.language,
        if c.wrap { " wrap" } else { "" },
        escape(&c.text)
    );
    if let Some(n) = &c.note {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(n));
    }
}

fn chart(out: &mut String, c: &Chart) {
    let _ = write!(out, "<figure>{}", svg::chart(c));
    match &c.note {
        Some(n) => {
            let _ = write!(
                out,
                "<figcaption>{} — {}</figcaption>",
                escape(&c.title),
                escape(n)
            );
        }
        None => {
            let _ = write!(out, "<figcaption>{}</figcaption>", escape(&c.title));
        }
    }
    out.push_str("</figure>\n");
}

fn inline(t: &Text) -> String {
    let mut out = String::new();
    for s in t {
        match s {
            Span::Text(x) => out.push_str(&escape(x)),
            Span::Strong(x) => {
                let _ = write!(out, "<strong>{}</strong>", escape(x));
            }
            Span::Code(x) => {
                let _ = write!(out, "<code>{}</code>", escape(x));
            }
            Span::Status(tone, x) => {
                let _ = write!(
                    out,
                    "<span class=\"status tone-{}\">{}</span>",
                    tone_class(*tone),
                    escape(x)
                );
            }
            Span::Link { target, text } => {
                let _ = write!(out, "<a href=\"#{}\">{}</a>", escape(target), escape(text));
            }
        }
    }
    out
}

fn tone_class(t: Tone) -> &'static str {
    t.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::text;

    #[test]
    fn journal_text_is_never_markup() {
        let mut s = Section::new("x", "<script>alert(1)</script>");
        s.push(Block::Paragraph(text("<img src=x onerror=y>")));
        let doc = Document {
            title: "t".into(),
            subtitle: None,
            sections: vec![s],
        };
        let html = render(&doc);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<a href=\"#x\">"));
    }
}
