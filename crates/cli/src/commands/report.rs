//! `chaos report`: wiring only; the report is made by the `report` crate (docs/report.md).
//!
//! Exit codes: 0 when the report is written; 1 when a journal cannot be read (empty,
//! truncated, not a journal, no match for a glob) or the report cannot be written; 2 for
//! usage errors, including `--export-format pdf`, which is not built yet.

use crate::args::{ReportArgs, ReportFormatArg};
use report::{Format, Options, ReportError};
use std::path::Path;

pub fn report(args: ReportArgs) -> u8 {
    let overrides =
        match super::run::load_overrides(&args.overrides.vars, &args.overrides.var_files) {
            Ok(o) => o,
            Err(code) => return code,
        };
    let Some((target, journals)) = args.paths.split_last() else {
        eprintln!("Error: Missing argument 'JOURNAL... REPORT'.");
        return 2;
    };
    let format = match args.export_format {
        ReportFormatArg::Markdown => Format::Markdown,
        ReportFormatArg::Html | ReportFormatArg::Html5 => Format::Html,
        ReportFormatArg::Pdf => Format::Pdf,
        ReportFormatArg::Json => Format::Json,
        ReportFormatArg::Junit => Format::Junit,
    };
    let options = Options {
        title: args.title,
        overrides,
        date: None,
    };
    match report::report(journals, Path::new(target), format, &options) {
        Ok(n) => {
            log::info!(
                "Report generated from {n} journal{} at {target}",
                if n == 1 { "" } else { "s" }
            );
            0
        }
        Err(e @ ReportError::NotBuilt { .. }) => {
            log::error!("{e}");
            2
        }
        Err(e) => {
            log::error!("{e}");
            1
        }
    }
}
