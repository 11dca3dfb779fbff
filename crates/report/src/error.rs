//! The one error type of the crate: every way a report can fail, each naming the file and
//! what to do, so `chaos report` prints one clear line and exits with a defined code.

use std::path::PathBuf;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// No journal was given, or a glob matched no file.
    #[error("no journal matches `{pattern}`: give one or more journal files, or a glob such as `runs/*.json`")]
    NoJournal {
        /// The argument as given.
        pattern: String,
    },

    /// The glob itself is malformed.
    #[error("`{pattern}` is not a valid glob: {reason}")]
    BadGlob {
        /// The argument as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The file is empty.
    #[error("{}: the file is empty, not a journal: give the journal.json `chaos run` wrote", .file.display())]
    Empty {
        /// The journal file.
        file: PathBuf,
    },

    /// The file could not be read, is not JSON (for instance truncated), or is JSON but
    /// not a journal.
    #[error("{}: cannot read the journal: {source}", .file.display())]
    Journal {
        /// The journal file.
        file: PathBuf,
        /// What the journal reader says (it names the line and column, or the key).
        #[source]
        source: journal::JournalError,
    },

    /// The file is larger than a journal this report reads.
    #[error("{}: the file is {size} bytes, more than the {limit} bytes a journal may have here", .file.display())]
    TooLarge {
        /// The journal file.
        file: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The export format is known but not built yet.
    #[error("the `{format}` export format is not available yet in Shakedown; use one of: markdown, html, html5, json, junit")]
    NotBuilt {
        /// The format asked for.
        format: String,
    },

    /// The PDF could not be made (an embedded font could not be used).
    #[error("cannot make the PDF report: {source}")]
    Pdf {
        /// What the PDF writer says.
        #[from]
        source: crate::render::pdf::PdfError,
    },

    /// The report could not be written.
    #[error("{}: cannot write the report: {source}", .file.display())]
    Write {
        /// The report file.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file or directory could not be listed.
    #[error("{}: cannot read: {source}", .file.display())]
    Io {
        /// The path.
        file: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
