//! `chaos report` end to end: real journals (written by the reference chaostoolkit 1.19.0
//! with chaostoolkit-lib 1.44.0, by the newest reference (lib 1.45.1), by Shakedown, and
//! an older 0.x shape, all in `crates/report/tests/journals/`) rendered to every format
//! and read back with real tools: the JUnit XML validated by `xmllint --schema` against
//! the Windy Road schema, the HTML loaded by headless Chromium and its DOM text read,
//! the PDF read back with poppler (`pdftotext`, `pdfinfo`, `pdffonts`) and qpdf (all
//! from `scripts/report-peers`). Bad input (empty, truncated, not a journal, a
//! journal of 100,000 activities, a 100 MB output, a binary output) gives a clear error
//! or a report, never a panic.
//!
//! A test that needs Chromium, xmllint, poppler or qpdf fails when `CI` is set or
//! `scripts/report-peers` was run (target/peers/report.requested), and says so otherwise.

#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const TITLE: &str = "Payments survive a restart of the ledger";

fn fixtures() -> PathBuf {
    reference::workspace_root().join("crates/report/tests/journals")
}

/// A scratch directory holding the four fixture journals under `journals/`.
fn setup(name: &str) -> PathBuf {
    let dir = run::scratch("report", name);
    std::fs::create_dir_all(dir.join("journals")).unwrap();
    for f in [
        "ref.json",
        "ref-latest.json",
        "shakedown.json",
        "old-0.14.json",
    ] {
        std::fs::copy(fixtures().join(f), dir.join("journals").join(f)).unwrap();
    }
    dir
}

const JOURNALS: [&str; 4] = [
    "journals/old-0.14.json",
    "journals/ref.json",
    "journals/ref-latest.json",
    "journals/shakedown.json",
];

fn report(dir: &Path, format: &str, journals: &[&str], out: &str) -> std::process::Output {
    let mut args = vec!["--no-log-file", "report", "--export-format", format];
    args.extend_from_slice(journals);
    args.push(out);
    run::chaos(dir, &args, &[])
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A program the tests need: its path, or `None` (and a note) when it is missing and
/// missing peers are allowed.
fn peer(program: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let requested = reference::workspace_root()
            .join("target/peers/report.requested")
            .exists();
        if std::env::var_os("CI").is_some() || requested {
            panic!("{program} is missing: run scripts/report-peers");
        }
        eprintln!("note: {program} is missing (scripts/report-peers installs it); not checked");
    }
    found
}

#[test]
fn markdown_follows_the_reference_structure_and_adds_rollbacks_and_verdicts() {
    let dir = setup("markdown");
    let out = report(&dir, "markdown", &JOURNALS, "report.md");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    run::assert_stderr_has(&out, "Report generated from 4 journals at report.md");
    let md = read(&dir.join("report.md"));
    // The reference's headings, at the reference's depths, in its order.
    let mut at = 0;
    for heading in [
        "# Summary\n",
        "## Contributions\n",
        "### Experiment Contributions Breakdown\n",
        "### Areas Contributions Breakdown\n",
        "# Experiments\n",
        &format!("## {TITLE}\n"),
        "### Summary\n",
        "### Definition\n",
        "#### Organization Contributions\n",
        "#### Steady State Hypothesis\n",
        "##### Before Run\n",
        "##### After Run\n",
        "#### Method\n",
        "### Result\n",
        "#### Action - restart-ledger\n",
        "#### Action - load-in-background\n",
        "#### Probe - parse-broken-json\n",
        "### Appendix\n",
    ] {
        let found = md[at..]
            .find(&format!("\n{heading}"))
            .unwrap_or_else(|| panic!("heading {heading:?} after byte {at}"));
        at += found + 1;
    }
    // What the reference leaves out: rollbacks, what deviated, verdicts.
    assert!(md.contains("#### Rollback - scale-ledger-back\n"));
    assert!(md.contains("#### What Deviated\n"));
    assert!(md.contains("Weaknesses found: 4 experiments, 4 deviated."));
    assert!(md.contains("observed \"broken\\\\n\" against tolerance"));
    assert_eq!(md.matches("#### Rollbacks\n").count(), 4);
    // Arguments after substitution, the secret masked (the reference's journal has it in
    // clear in the output; the report does not).
    assert!(md.contains("echo restart eu-west-1 with ***\""), "{md}");
    assert!(
        md.contains("\"stdout\": \"restart eu-west-1 with ***\\n\""),
        "{md}"
    );
    assert!(!md.contains("s3cr3t"));
    // Every journal shape says who wrote it.
    for v in ["0.14.0", "1.44.0", "1.45.1"] {
        assert!(md.contains(&format!("chaostoolkit-lib {v}")), "{v}");
    }
}

#[test]
fn json_summarises_verdicts_deviations_rollbacks_and_trends() {
    let dir = setup("json");
    let out = report(&dir, "json", &JOURNALS, "report.json");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let v = run::read_json(&dir.join("report.json"));
    assert_eq!(v["schema"], 1);
    assert_eq!(v["verdict"], "deviated");
    assert_eq!(
        v["counts"],
        json!({"experiments": 4, "held": 0, "deviated": 4, "failed": 0, "aborted": 0, "interrupted": 0, "unknown": 0})
    );
    let exps = v["experiments"].as_array().unwrap();
    assert_eq!(exps.len(), 4);
    for e in exps {
        assert_eq!(e["title"], TITLE);
        assert_eq!(e["deviated"], true, "{}", e["journal"]);
        assert_eq!(e["hypothesis"]["before"]["met"], true);
        assert_eq!(e["hypothesis"]["after"]["met"], false);
        let d = &e["deviations"][0];
        assert_eq!(d["phase"], "after");
        assert_eq!(d["probe"], "ledger-state-is-ok");
        assert_eq!(d["observed"], "\"broken\\n\"");
        assert_eq!(e["rollbacks"][0]["name"], "scale-ledger-back");
        assert_eq!(e["rollbacks"][0]["status"], "succeeded");
        assert_eq!(e["counts"]["activities"], 11);
        assert_eq!(e["counts"]["background"], 1);
        assert_eq!(e["counts"]["actions_in_method"], 2);
        assert_eq!(e["counts"]["probes_in_method"], 3);
        let failed: Vec<&Value> = e["activities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["status"] == "failed")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["name"], "parse-broken-json");
        assert!(failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("JSONDecodeError"));
    }
    assert_eq!(v["trends"][0]["runs"].as_array().unwrap().len(), 4);
    assert_eq!(
        v["contributions"]["names"],
        json!(["availability", "latency", "reliability", "security"])
    );
    assert_eq!(v["contributions"]["distribution"], json!([4, 4, 4, 4]));
}

#[test]
fn junit_is_valid_against_the_schema_with_a_testcase_per_experiment_and_probe() {
    let dir = setup("junit");
    let out = report(&dir, "junit", &JOURNALS, "report.xml");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let xml = read(&dir.join("report.xml"));
    // 4 experiments × (the experiment + 3 probes before + 2 after).
    assert_eq!(xml.matches("<testcase ").count(), 24);
    assert_eq!(xml.matches("<testsuite ").count(), 4);
    // Per suite: the experiment and the after probe fail.
    assert_eq!(xml.matches("failures=\"2\"").count(), 4);
    assert!(xml.contains("name=\"hypothesis after: ledger-state-is-ok\""));
    assert!(xml.contains("type=\"ToleranceNotMet\""));
    let Some(xmllint) = peer("xmllint") else {
        return;
    };
    let xsd = reference::workspace_root().join("crates/report/tests/junit.xsd");
    let check = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(dir.join("report.xml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stderr).contains("validates"));
}

/// Headless Chromium's DOM of `html` (network off, a fresh profile).
fn chromium_dom(html: &Path) -> Option<String> {
    let chromium = peer("chromium")?;
    let profile = html.with_extension("profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The text of a DOM, tags dropped and entities of `<`, `>`, `&`, `"` decoded.
fn dom_text(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[test]
fn html_is_self_contained_and_chromium_shows_experiments_statuses_rollbacks_and_verdicts() {
    let dir = setup("html");
    let out = report(&dir, "html5", &JOURNALS, "report.html");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let html = read(&dir.join("report.html"));
    // Self-contained: no script, nothing fetched.
    assert!(!html.contains("<script"));
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(attr), "{attr} in the HTML");
    }
    assert!(html.contains("<svg") && html.contains("<style>"));
    assert!(html.contains("@media print"));
    let Some(dom) = chromium_dom(&dir.join("report.html")) else {
        return;
    };
    let text = dom_text(&dom);
    for needle in [
        TITLE,
        "Weaknesses found: 4 experiments, 4 deviated.",
        "Deviated: the steady state was not met after the method.",
        "Rollback - scale-ledger-back",
        "Action - load-in-background",
        "succeeded",
        "failed",
        "The steady state was not verified",
        "What Deviated",
        "Timeline of the run",
        "Query - query-error-rate",
        "Contents",
    ] {
        assert!(text.contains(needle), "{needle:?} in the DOM text");
    }
    // The table of contents links to sections that exist.
    assert!(dom.contains("<a href=\"#summary\">Summary</a>"));
    assert!(dom.contains("id=\"summary\""));
    assert!(!text.contains("s3cr3t"));
}

/// Runs a poppler/qpdf program on `args` in `dir`: its standard output, after checking
/// it succeeded and printed no error (poppler prints "Syntax Error" for a broken file).
fn read_back(program: &str, dir: &Path, args: &[&str]) -> Option<String> {
    let path = peer(program)?;
    let out = Command::new(path)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("rror"),
        "{program} {args:?}: {stderr}"
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whitespace runs as one space: how wrapped text compares with the one-line original.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of a PDF as one string with the wrapping undone: lines joined, without the
/// page footers (the title and "Page N of M") that interrupt text broken across pages.
fn unwrapped(text: &str, title: &str) -> String {
    text.split(['\n', '\u{c}'])
        .filter(|l| {
            let page_no = l
                .strip_prefix("Page ")
                .and_then(|r| r.split_once(" of "))
                .is_some_and(|(a, b)| {
                    a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
                });
            *l != title && !page_no
        })
        .collect()
}

/// A journal whose first activity's output holds one 12,000-character line (no spaces; longer than a page)
/// and a secret-looking argument: what the PDF must wrap, never cut, and mask.
fn long_line_journal(dir: &Path) -> String {
    let mut j = run::read_json(&fixtures().join("ref.json"));
    let line: String = (0..12_000)
        .map(|i| char::from(b"0123456789abcdefghijklmnopqrstuvwxyz{}[]:,"[i * 7 % 42]))
        .collect();
    j["run"][0]["output"] = json!({"status": 0, "stdout": line.clone(), "stderr": ""});
    std::fs::write(
        dir.join("journals/long.json"),
        serde_json::to_vec_pretty(&j).unwrap(),
    )
    .unwrap();
    line
}

#[test]
fn pdf_reads_back_with_poppler_headings_verdicts_whole_lines_fonts_links_and_outline() {
    let dir = setup("pdf");
    let long = long_line_journal(&dir);
    let mut journals = JOURNALS.to_vec();
    journals.push("journals/long.json");
    let mut args = vec![
        "--no-log-file",
        "report",
        "--export-format",
        "pdf",
        "--title",
        TITLE,
    ];
    args.extend_from_slice(&journals);
    args.push("report.pdf");
    let out = run::chaos(&dir, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let pdf = std::fs::read(dir.join("report.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    // The same journals to Markdown: the headings the PDF must show, in order.
    let mut md_args = vec!["--no-log-file", "report"];
    md_args.extend_from_slice(&journals);
    md_args.push("report.md");
    let out = run::chaos(&dir, &md_args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let headings = headings(&read(&dir.join("report.md")));
    assert!(headings.len() > 100, "{}", headings.len());

    let Some(info) = read_back("pdfinfo", &dir, &["report.pdf"]) else {
        return;
    };
    let field = |k: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}:")))
            .map(str::trim)
            .unwrap_or_else(|| panic!("{k} in {info}"))
            .to_string()
    };
    assert_eq!(field("Title"), TITLE);
    assert_eq!(field("Creator"), "Shakedown chaos report");
    assert_eq!(field("Page size"), "595.28 x 841.89 pts (A4)");
    let pages: usize = field("Pages").parse().unwrap();
    assert!((20..200).contains(&pages), "{pages} pages");

    // Every font embedded, subset, with a Unicode map (text extractable).
    let fonts = read_back("pdffonts", &dir, &["report.pdf"]).unwrap();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(cols[0].contains('+'), "a subset tag: {row}");
        assert_eq!(
            cols[cols.len() - 5..cols.len() - 2],
            ["yes", "yes", "yes"],
            "{row}"
        );
    }

    // The text: after the contents, every heading of the Markdown in its order; the
    // verdicts; the 3,000-character line whole once the wrapping is undone; no secret.
    let text = read_back("pdftotext", &dir, &["-enc", "UTF-8", "report.pdf", "-"]).unwrap();
    let body_from = text
        .find("Summary\nThis report aggregates")
        .expect("the summary");
    let body = squash(&text[body_from..]);
    let mut at = 0;
    for (_, h) in &headings {
        let h = squash(h);
        let found = body[at..]
            .find(&h)
            .unwrap_or_else(|| panic!("heading {h:?} after byte {at} of the PDF text"));
        at += found + h.len();
    }
    for needle in [
        "Weaknesses found: 5 experiments, 5 deviated.",
        "Deviated: the steady state was not met after the method.",
        "Rollback - scale-ledger-back",
        "Timeline of the run",
        "Query - query-error-rate",
    ] {
        assert!(body.contains(needle), "{needle:?} in the PDF text");
    }
    assert!(
        unwrapped(&text, TITLE).contains(&long),
        "the long line, unwrapped"
    );
    assert!(
        text.lines().all(|l| l.chars().count() < 140),
        "a line of the PDF text is longer than a page line"
    );
    assert!(!text.contains("s3cr3t"));
    // Nothing is drawn past the right margin: every word's box ends inside the text area.
    let boxes = read_back("pdftotext", &dir, &["-bbox", "report.pdf", "-"]).unwrap();
    let mut words = 0;
    for l in boxes
        .lines()
        .filter(|l| l.trim_start().starts_with("<word "))
    {
        let x_max: f64 = l
            .split("xMax=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{l}"));
        assert!(x_max <= 595.28 - 50.0 + 0.5, "past the margin: {l}");
        words += 1;
    }
    assert!(words > 1000, "{words} words");

    // Named destinations for every section; the contents and in-text links point at
    // them; the outline has the contents' entries.
    let dests = read_back("pdfinfo", &dir, &["-dests", "report.pdf"]).unwrap();
    let names: Vec<&str> = dests
        .lines()
        .filter_map(|l| {
            l.rsplit_once('"')
                .and_then(|(a, _)| a.rsplit_once('"'))
                .map(|(_, n)| n)
        })
        .collect();
    for id in ["summary", "contributions", "experiments"] {
        assert!(names.contains(&id), "{id} in {dests}");
    }
    assert!(names.len() > 50, "{} destinations", names.len());
    let Some(json_text) = read_back("qpdf", &dir, &["--json", "report.pdf"]) else {
        return;
    };
    let j: Value = serde_json::from_str(&json_text).unwrap();
    let objects = j["qpdf"][1].as_object().unwrap();
    let links: Vec<&str> = objects
        .values()
        .filter_map(|o| {
            let v = &o["value"];
            (v["/Subtype"] == "/Link").then(|| v["/A"]["/D"].as_str().unwrap())
        })
        .collect();
    assert!(links.len() > 30, "{} links", links.len());
    for l in &links {
        assert!(names.contains(&l.trim_start_matches('/')), "link to {l}");
    }
    fn titles(items: &Value, out: &mut Vec<String>) {
        for i in items.as_array().unwrap() {
            out.push(i["title"].as_str().unwrap().to_string());
            titles(&i["kids"], out);
        }
    }
    let mut outline = Vec::new();
    titles(&j["outlines"], &mut outline);
    assert_eq!(outline[0], "Summary");
    assert!(outline.contains(&"Experiments".to_string()));
    assert_eq!(outline.iter().filter(|t| *t == "Appendix").count(), 5);
    let check = read_back("qpdf", &dir, &["--check", "report.pdf"]).unwrap();
    assert!(
        check.contains("No syntax or stream encoding errors"),
        "{check}"
    );
}

#[test]
fn a_single_non_file_argument_is_a_glob() {
    let dir = setup("glob");
    let out = report(&dir, "json", &["journals/*.json"], "report.json");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let v = run::read_json(&dir.join("report.json"));
    let files: Vec<&str> = v["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["journal"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "journals/old-0.14.json",
            "journals/ref-latest.json",
            "journals/ref.json",
            "journals/shakedown.json"
        ]
    );
    let out = report(&dir, "json", &["nothing/*.json"], "r.json");
    run::assert_clean_exit(&out, 1, "no journal matches `nothing/*.json`");
}

#[test]
fn bad_journals_are_named_with_what_is_wrong() {
    let dir = setup("bad");
    let full = read(&fixtures().join("ref.json"));
    std::fs::write(dir.join("empty.json"), "").unwrap();
    std::fs::write(dir.join("truncated.json"), &full[..full.len() / 2]).unwrap();
    std::fs::write(dir.join("other.json"), "{\"apiVersion\": \"v1\"}").unwrap();
    std::fs::write(dir.join("text.json"), "hello\n").unwrap();
    for (file, needle) in [
        ("empty.json", "empty.json: the file is empty, not a journal"),
        (
            "truncated.json",
            "truncated.json: cannot read the journal: line ",
        ),
        (
            "other.json",
            "other.json: cannot read the journal: not a journal: missing key `experiment`",
        ),
        (
            "text.json",
            "text.json: cannot read the journal: line 1 column 1",
        ),
        (
            "missing.json",
            "missing.json: cannot read: No such file or directory",
        ),
    ] {
        let out = report(&dir, "markdown", &[file], "out.md");
        run::assert_clean_exit(&out, 1, needle);
        assert!(!dir.join("out.md").exists(), "{file}: no report");
    }
    // One bad journal among good ones fails the report, naming the bad one.
    let out = report(
        &dir,
        "html",
        &["journals/ref.json", "empty.json"],
        "out.html",
    );
    run::assert_clean_exit(&out, 1, "empty.json: the file is empty");
}

fn record(name: &str, i: usize, output: Value) -> Value {
    let t = |us: usize| {
        format!(
            "2026-11-26T00:{:02}:{:02}.{:06}+00:00",
            us / 60_000_000 % 60,
            us / 1_000_000 % 60,
            us % 1_000_000
        )
    };
    json!({
        "activity": {"type": "action", "name": name, "provider": {"type": "process", "path": "echo", "arguments": [i.to_string()]}},
        "output": output,
        "start": t(i * 10),
        "status": "succeeded",
        "end": t(i * 10 + 5),
        "duration": 5e-06
    })
}

#[test]
fn a_journal_of_100000_activities_renders_in_bounded_size() {
    let dir = run::scratch("report", "huge-run");
    let runs: Vec<Value> = (0..100_000)
        .map(|i| {
            record(
                &format!("a{i}"),
                i,
                json!({"status": 0, "stdout": "ok\n", "stderr": ""}),
            )
        })
        .collect();
    let j = json!({
        "chaoslib-version": "1.44.0",
        "experiment": {"title": "many", "method": []},
        "start": "2026-11-26T00:00:00+00:00",
        "status": "completed",
        "deviated": false,
        "run": runs,
        "rollbacks": [],
        "end": "2026-11-26T00:00:01+00:00",
        "duration": 1.0
    });
    std::fs::write(dir.join("j.json"), serde_json::to_vec(&j).unwrap()).unwrap();
    for (format, file) in [
        ("html", "r.html"),
        ("markdown", "r.md"),
        ("json", "r.json"),
        ("junit", "r.xml"),
        ("pdf", "r.pdf"),
    ] {
        let out = report(&dir, format, &["j.json"], file);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            run::stderr(&out)
        );
        let size = std::fs::metadata(dir.join(file)).unwrap().len();
        // Details for the first 1,000 activities only; the JSON lists every activity
        // (about 440 bytes each): linear, never quadratic.
        let limit = if format == "json" {
            60_000_000
        } else {
            40_000_000
        };
        assert!(size < limit, "{format}: {size} bytes");
    }
    let html = read(&dir.join("r.html"));
    assert!(html.contains("99000 more activities are not detailed here"));
    assert!(html.contains("The first 400 of 100000 activities are drawn."));
    let v = run::read_json(&dir.join("r.json"));
    assert_eq!(v["experiments"][0]["counts"]["activities"], 100_000);
    assert_eq!(v["experiments"][0]["activities"][99_999]["name"], "a99999");
    assert_eq!(v["verdict"], "held");
    if let Some(text) = read_back("pdftotext", &dir, &["r.pdf", "-"]) {
        assert!(text.contains("99000 more activities are not detailed here"));
        assert!(text.contains("The first 400 of 100000 activities are drawn."));
    }
}

#[test]
fn a_100_mb_output_is_cut_and_a_binary_output_is_described() {
    let dir = run::scratch("report", "huge-output");
    let big = "x".repeat(100 * 1024 * 1024);
    let binary: String = (0u8..=255).cycle().take(4096).map(char::from).collect();
    let j = json!({
        "chaoslib-version": "1.44.0",
        "experiment": {"title": "outputs", "method": []},
        "start": "2026-11-26T00:00:00+00:00",
        "status": "completed",
        "deviated": false,
        "run": [record("big", 0, Value::String(big)), record("bin", 1, Value::String(binary)),
                record("nested", 2, json!({"status": 0, "stdout": "y".repeat(200_000), "stderr": ""}))],
        "rollbacks": [],
        "end": "2026-11-26T00:00:01+00:00",
        "duration": 1.0
    });
    std::fs::write(dir.join("j.json"), serde_json::to_vec(&j).unwrap()).unwrap();
    drop(j);
    for (format, file) in [("markdown", "r.md"), ("html", "r.html")] {
        let out = report(&dir, format, &["j.json"], file);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            run::stderr(&out)
        );
        let text = read(&dir.join(file));
        assert!(text.len() < 1_000_000, "{format}: {} bytes", text.len());
        assert_eq!(
            text.matches("Truncated: the report keeps the first 64 KiB")
                .count(),
            2,
            "{format}"
        );
        assert!(
            text.contains("returned 6144 bytes of binary data, not shown"),
            "{format}"
        );
    }
    let out = report(&dir, "pdf", &["j.json"], "r.pdf");
    assert_eq!(out.status.code(), Some(0), "pdf: {}", run::stderr(&out));
    let size = std::fs::metadata(dir.join("r.pdf")).unwrap().len();
    assert!(size < 8_000_000, "pdf: {size} bytes");
    if let Some(text) = read_back("pdftotext", &dir, &["-enc", "UTF-8", "r.pdf", "-"]) {
        assert_eq!(
            squash(&text)
                .matches("Truncated: the report keeps the first 64 KiB")
                .count(),
            2
        );
        assert!(squash(&text).contains("returned 6144 bytes of binary data, not shown"));
        // The 64 KiB kept of the 100 MB line, whole once unwrapped.
        let kept = unwrapped(&text, "Chaos Engineering Report");
        assert!(kept.contains(&"x".repeat(60_000)));
    }
}

/// The ATX headings of a Markdown text: (level, text), outside fenced code.
fn headings(md: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            let ticks: String = t.chars().take_while(|&c| c == '`').collect();
            match &fence {
                Some(f) if ticks.len() >= f.len() => fence = None,
                None => fence = Some(ticks),
                _ => {}
            }
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&level) && line[level..].starts_with(' ') {
            out.push((level, line[level..].trim().replace('\\', "")));
        }
    }
    out
}

#[test]
fn markdown_has_every_heading_of_the_reference_renderer_at_its_level_and_in_its_order() {
    // chaostoolkit-reporting 0.18.0 with pandoc (scripts/reporting-reference) on the
    // same journal: the same headings at the same levels, in the same order; ours may add
    // sections between them (rollbacks, what deviated, timeline, hypothesis probes).
    let Some(reference) = reference_renderer() else {
        return;
    };
    let dir = setup("versus-reference");
    let out = report(&dir, "markdown", &["journals/ref.json"], "ours.md");
    assert_eq!(out.status.code(), Some(0), "{}", run::stderr(&out));
    let theirs = Command::new(&reference)
        .args([
            "--no-log-file",
            "report",
            "--export-format",
            "markdown",
            "journals/ref.json",
            "theirs.md",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        theirs.status.success(),
        "reference: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let ours = headings(&read(&dir.join("ours.md")));
    let theirs = headings(&read(&dir.join("theirs.md")));
    assert!(theirs.len() >= 20, "{theirs:?}");
    let mut at = 0;
    for (level, text) in &theirs {
        // The reference's pandoc run glues a paragraph into one heading
        // ("### Experiment Contributions Breakdown The breakdown of ..."): a prefix matches.
        let found = ours[at..]
            .iter()
            .position(|(l, t)| l == level && (text == t || text.starts_with(&format!("{t} "))))
            .unwrap_or_else(|| {
                panic!(
                    "reference heading {level} {text:?} not found after {:?}",
                    ours.get(at)
                )
            });
        at += found + 1;
    }
}

#[test]
fn shakedown_journals_render_in_the_reference_renderer_without_error() {
    // The cross test the other way: chaostoolkit-reporting 0.18.0 (with pandoc, and
    // pdflatex for PDF, `scripts/reporting-reference --latex`) reads the journal
    // Shakedown's `chaos run` wrote, to Markdown, to HTML and to PDF.
    let Some(reference) = reference_renderer() else {
        return;
    };
    let dir = setup("shakedown-in-reference");
    for (format, file) in [
        ("markdown", "theirs.md"),
        ("html", "theirs.html"),
        ("pdf", "theirs.pdf"),
    ] {
        let out = Command::new(&reference)
            .args([
                "--no-log-file",
                "report",
                "--export-format",
                format,
                "journals/shakedown.json",
                file,
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format}: {err}");
        assert!(!err.contains("Traceback"), "{format}: {err}");
        let text = if format == "pdf" {
            let Some(pdftotext) = peer("pdftotext") else {
                continue;
            };
            let out = Command::new(pdftotext)
                .arg(dir.join(file))
                .arg("-")
                .output()
                .unwrap();
            assert!(out.status.success(), "pdftotext {file}");
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            read(&dir.join(file))
        };
        assert!(text.contains(TITLE), "{format}");
        assert!(text.contains("restart-ledger"), "{format}");
    }
}

/// chaostoolkit-reporting's `chaos` (scripts/reporting-reference), or `None` (and a note)
/// when it is missing and `CI` is not set.
fn reference_renderer() -> Option<PathBuf> {
    let reference = reference::workspace_root().join("target/reporting-venv/bin/chaos");
    if reference.is_file() {
        return Some(reference);
    }
    if std::env::var_os("CI").is_some() {
        panic!("the reference renderer is missing: run scripts/reporting-reference");
    }
    eprintln!("note: scripts/reporting-reference not run; the reference renderer is not compared");
    None
}

/// `text` (whitespace flattened) cut into one part per experiment: from the last place
/// `prefix` + its title stands (an earlier one is in a table of contents or a summary
/// table) to the next experiment's.
fn sections(text: &str, prefix: &str, titles: &[String]) -> Vec<String> {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let starts: Vec<usize> = titles
        .iter()
        .map(|t| {
            flat.rfind(&format!("{prefix}{t}"))
                .unwrap_or_else(|| panic!("no section for '{t}'"))
        })
        .collect();
    (0..starts.len())
        .map(|i| flat[starts[i]..starts.get(i + 1).copied().unwrap_or(flat.len())].to_string())
        .collect()
}

/// The four journals of the talk's rollout experiments, run on the control plane
/// (`crates/cli/tests/k8s_book/talk_rollouts.rs`, kept in `tests/fixtures/talk-rollouts/`),
/// make a report that shows what the seed report shows, section by section: the same
/// experiments in the same order with the same hypothesis outcomes before and after, the
/// same method activities, contributions and appendix entries, and the stalled v3 rollout.
#[test]
fn the_talks_four_rollout_journals_show_everything_the_seed_report_shows() {
    let fixtures = reference::workspace_root().join("tests/fixtures/talk-rollouts");
    let dir = run::scratch("report", "talk-rollouts");
    let journals: Vec<String> = (1..=4)
        .map(|v| {
            fixtures
                .join(format!("rollout-v{v}-service2.journal.json"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut args: Vec<&str> = vec!["--no-log-file", "report", "--export-format", "markdown"];
    args.extend(journals.iter().map(String::as_str));
    args.push("report.md");
    let out = run::chaos(&dir, &args, &[]);
    assert!(out.status.success(), "{}", run::stderr(&out));
    let md = read(&dir.join("report.md"));
    let flat_md = md.split_whitespace().collect::<Vec<_>>().join(" ");
    // The seed is the text of a LaTeX-made PDF: some labels kept their markup.
    let seed = read(Path::new(
        "/work/shared/seeds/report-four-rollout-experiments.txt",
    ))
    .replace("\\text{-}", "-")
    .replace("${\\bf ", "")
    .replace("}$", "");
    let flat_seed = seed.split_whitespace().collect::<Vec<_>>().join(" ");

    // The report's summary and contributions, as the seed words them.
    for line in [
        "This report aggregates 4 experiments spanning over the following subjects:",
        "The aggregated 4 experiments cover 3 distinct contributions",
    ] {
        assert!(flat_seed.contains(line), "seed: {line}");
        assert!(flat_md.contains(line), "ours lacks: {line}");
    }
    for subject in ["service1", "service2"] {
        assert!(flat_md.contains(subject));
    }
    let h: Vec<String> = headings(&md).into_iter().map(|(_, t)| t).collect();
    let position = |t: &str| h.iter().position(|x| x == t);
    for pair in [
        ["Summary", "Contributions"],
        ["Contributions", "Areas Contributions Breakdown"],
        ["Areas Contributions Breakdown", "Experiments"],
    ] {
        assert!(position(pair[0]) < position(pair[1]), "{pair:?} in {h:?}");
    }

    // Per experiment, in the seed's order.
    let titles: Vec<String> = journals
        .iter()
        .map(|j| {
            run::read_json(Path::new(j))["experiment"]["title"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let seeds = sections(&seed, "", &titles);
    let ours = sections(&md, "## ", &titles);
    for (i, ((title, seed), ours)) in titles.iter().zip(&seeds).zip(&ours).enumerate() {
        let v = i + 1;
        // The hypothesis outcomes before and after the method, in order.
        let verdicts = |text: &str| -> Vec<bool> {
            text.match_indices("The steady state was ")
                .map(|(at, m)| !text[at + m.len()..].starts_with("not"))
                .collect()
        };
        assert_eq!(verdicts(seed), verdicts(ours), "{title}");
        assert_eq!(verdicts(ours), vec![true, v != 4], "{title}");
        // The method's activities and the appendix entries the seed lists.
        for entry in [
            format!("action initiate-rollout-v{v}-of-service2"),
            "action pretend-users-in-background".into(),
            "probe read-deployment-status".into(),
            "probe read-counter-for-the-past-30-seconds".into(),
        ] {
            assert!(seed.contains(&entry), "seed {title}: {entry}");
            let (kind, name) = entry.split_once(' ').unwrap_or_default();
            assert!(
                ours.contains(&format!("| {kind} | {name} |")),
                "{title}: method row {entry}"
            );
        }
        // Every result or appendix entry the seed shows for this experiment (its text lost
        // some of them to page breaks) is in ours.
        let labels: Vec<String> = ["Action - ", "Probe - "]
            .iter()
            .flat_map(|kind| seed.match_indices(kind))
            .map(|(at, _)| seed[at..].split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect();
        assert!(labels.len() >= 3, "{title}: {labels:?}");
        for label in &labels {
            assert!(ours.contains(label.as_str()), "{title}: {label}");
        }
        for contribution in [
            "availability-near-100%",
            "availability-near-99%",
            "performability",
        ] {
            let impact = |text: &str| {
                let at = text.find(contribution)? + contribution.len();
                text[at..]
                    .split_whitespace()
                    .find(|w| ["high", "medium", "low", "none"].contains(&w.trim_matches('|')))
                    .map(|w| w.trim_matches('|').to_string())
            };
            assert_eq!(impact(seed), impact(ours), "{title}: {contribution}");
        }
        // The stalled rollout: only v3's status samples end past the progress deadline.
        assert_eq!(
            seed.contains("ProgressDeadlineExceeded"),
            ours.contains("ProgressDeadlineExceeded"),
            "{title}"
        );
        assert_eq!(ours.contains("ProgressDeadlineExceeded"), v == 3, "{title}");
    }
}
