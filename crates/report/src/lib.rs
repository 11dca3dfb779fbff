//! `chaos report`: reports of Chaos Toolkit journals, from one binary, with nothing else
//! installed.
//!
//! The reference (chaostoolkit-reporting) needs a Python plugin, pandoc, cairo and LaTeX,
//! fails without pandoc, and never renders rollbacks. This crate reads the journals with
//! the typed journal crate ([`journal`]), whoever wrote them (chaostoolkit-lib's current
//! and older shapes, or Shakedown), and writes the report in-process.
//!
//! # Pipeline
//!
//! ```text
//! journal files ──load──▶ [analysis] ──build──▶ [document] ──▶ markdown / html / pdf renderers
//!                              │                                      (html and pdf draw charts with [svg])
//!                              └──────────────▶ json / junit renderers
//! ```
//!
//! - [`analysis`] computes, once, everything the report shows: verdicts, what deviated
//!   (observed value against the tolerance), every activity of every phase (rollbacks and
//!   background activities included), arguments after substitution with secrets masked,
//!   bounded outputs, numeric and Prometheus series, trends, contributions.
//! - [`build`] lays the analysis out as a [`document::Document`]: sections with anchors,
//!   tables, key/value lists, code blocks, charts as data. It follows the reference's
//!   structure (Summary, Contributions, Experiments → Summary, Definition, Result,
//!   Appendix) and adds what the reference leaves out.
//! - Renderers walk the document: [`render::markdown`], [`render::html`] (one
//!   self-contained file: inline CSS and SVG, no script, no network, print CSS),
//!   [`render::pdf`] (A4, fonts embedded and subset, charts as vectors from the same SVG,
//!   a table of contents with links, an outline).
//!   [`render::json`] and [`render::junit`] are machine formats and read the analysis
//!   directly.
//!
//! # Adding a renderer
//!
//! A renderer is a function `fn(&Document) -> Vec<u8>` (or `String`) in `render/`: walk
//! [`document::Document::sections`] recursively (a section's level is its depth), lay out
//! each [`document::Block`], draw each [`document::Chart`] from its data (the SVG code in
//! [`svg`] shows the geometry; a PDF renderer can reuse its scales or embed the SVG), and
//! honour [`document::CodeBlock::wrap`] for long lines. Then add a [`Format`] variant and
//! its arm in [`render_to`]. Nothing in `analysis` or `build` changes. The table of
//! contents comes from the sections with `in_toc` and their `id`s.
//!
//! # Bounds
//!
//! Journals above [`MAX_JOURNAL_BYTES`] are refused; outputs, exceptions and arguments
//! are cut at [`analysis::OUTPUT_LIMIT`] bytes with a note; past
//! [`analysis::DETAIL_LIMIT`] activities an experiment keeps only their status and times;
//! charts thin their points ([`svg`]). Work is linear in the journals' size. Nothing
//! panics on any input: errors are [`ReportError`]s naming the file.

pub mod analysis;
pub mod build;
pub mod document;
mod error;
mod glob;
pub mod render;
pub mod svg;

pub use analysis::{analyse, Analysis, Loaded, Verdict};
pub use error::ReportError;

use experiment::vars::Overrides;
use std::path::{Path, PathBuf};

/// The largest journal file read: 1 GiB (a journal holding a 100 MB output is fine).
pub const MAX_JOURNAL_BYTES: u64 = 1 << 30;

/// The report's default title, as the reference's.
pub const DEFAULT_TITLE: &str = "Chaos Engineering Report";

/// What a report is made with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The report's title.
    pub title: String,
    /// `--var` / `--var-file` values: substituted in arguments (secrets then masked).
    pub overrides: Overrides,
    /// The date shown under the title (`None`: today, UTC).
    pub date: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            title: DEFAULT_TITLE.into(),
            overrides: Overrides::default(),
            date: None,
        }
    }
}

/// The export formats, as `--export-format` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown, the reference's structure (the default).
    Markdown,
    /// One self-contained HTML file (`html` and `html5` are the same here).
    Html,
    /// PDF, made in-process ([`render::pdf`]): fonts embedded, a table of contents.
    Pdf,
    /// A machine-readable JSON summary.
    Json,
    /// JUnit XML: a testcase per experiment and per hypothesis probe.
    Junit,
}

impl Format {
    /// Reads a format name (`markdown`, `html`, `html5`, `pdf`, `json`, `junit`).
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "markdown" | "md" => Format::Markdown,
            "html" | "html5" => Format::Html,
            "pdf" => Format::Pdf,
            "json" => Format::Json,
            "junit" => Format::Junit,
            _ => return None,
        })
    }
}

/// Expands the journal arguments as the reference does: a single argument that is not a
/// file is a glob (`*`, `?`, `[...]` in its last component); otherwise each is a file.
/// The matches of a glob are sorted.
pub fn expand_journals(args: &[String]) -> Result<Vec<PathBuf>, ReportError> {
    match args {
        [] => Err(ReportError::NoJournal {
            pattern: String::new(),
        }),
        [single] if !Path::new(single).is_file() && glob::is_glob(single) => {
            let found = glob::expand(single)?;
            if found.is_empty() {
                return Err(ReportError::NoJournal {
                    pattern: single.clone(),
                });
            }
            Ok(found)
        }
        many => Ok(many.iter().map(PathBuf::from).collect()),
    }
}

/// Reads one journal file: refused when empty, too large, not JSON (truncated) or not a
/// journal, with the file named.
pub fn load(path: &Path) -> Result<Loaded, ReportError> {
    let meta = std::fs::metadata(path).map_err(|source| ReportError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_JOURNAL_BYTES {
        return Err(ReportError::TooLarge {
            file: path.to_path_buf(),
            size: meta.len(),
            limit: MAX_JOURNAL_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| ReportError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ReportError::Empty {
            file: path.to_path_buf(),
        });
    }
    let journal = journal::from_slice(&bytes).map_err(|source| ReportError::Journal {
        file: path.to_path_buf(),
        source,
    })?;
    Ok(Loaded {
        path: path.to_path_buf(),
        journal,
    })
}

/// The report of `journals` in `format`, as bytes.
pub fn render_to(
    journals: &[Loaded],
    format: Format,
    options: &Options,
) -> Result<Vec<u8>, ReportError> {
    let analysis = analyse(journals, options);
    Ok(match format {
        Format::Json => render::json::render(&analysis).into_bytes(),
        Format::Junit => render::junit::render(&analysis).into_bytes(),
        Format::Markdown => {
            render::markdown::render(&build::document(&analysis, options)).into_bytes()
        }
        Format::Html => render::html::render(&build::document(&analysis, options)).into_bytes(),
        Format::Pdf => render::pdf::render(&build::document(&analysis, options))?,
    })
}

/// Reads the journals, renders the report and writes it to `report` (atomically).
pub fn report(
    journal_args: &[String],
    report: &Path,
    format: Format,
    options: &Options,
) -> Result<usize, ReportError> {
    let paths = expand_journals(journal_args)?;
    let journals = paths
        .iter()
        .map(|p| load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = render_to(&journals, format, options)?;
    journal::write_atomically(report, &bytes, journal::Durability { sync: false }).map_err(
        |source| ReportError::Write {
            file: report.to_path_buf(),
            source,
        },
    )?;
    Ok(journals.len())
}
