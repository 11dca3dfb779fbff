//! The one error type of the crate.

use std::path::{Path, PathBuf};

/// Why a journal could not be read or written, or a timestamp parsed.
///
/// The message names what is wrong and where: the file (when the journal came from
/// [`read_file`](crate::read_file)), the line and column of a JSON syntax error, or the
/// path of the offending key inside the journal (`run[2].status`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be read or written.
    #[error("{}{source}", at(.file))]
    Io {
        /// The file, when known.
        file: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The text is not JSON.
    #[error("{}line {line} column {column}: {message}", at(.file))]
    Syntax {
        /// The file, when known.
        file: Option<PathBuf>,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error (0 at the end of the input).
        column: usize,
        /// What the JSON parser says, without its own position suffix.
        message: String,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },

    /// The JSON is not a journal at all: not an object, or no `experiment` key.
    #[error("{}not a journal: {reason}", at(.file))]
    NotAJournal {
        /// The file, when known.
        file: Option<PathBuf>,
        /// For instance ``missing key `experiment` ``.
        reason: String,
    },

    /// A key the journal format defines holds a value of the wrong JSON type.
    #[error("{}`{path}`: expected {expected}, found {found}", at(.file))]
    WrongType {
        /// The file, when known.
        file: Option<PathBuf>,
        /// Where, e.g. `steady_states.before.probes[0].duration`.
        path: String,
        /// What the format wants there, e.g. `a number`.
        expected: &'static str,
        /// What was there, e.g. `a string`.
        found: &'static str,
    },

    /// A timestamp is not in the ISO 8601 shape Python's `isoformat()` writes.
    #[error("malformed timestamp `{value}`: {reason}")]
    Timestamp {
        /// The text that was read.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Serialising the journal failed (only possible through a failing writer).
    #[error("{}cannot write the journal: {source}", at(.file))]
    Write {
        /// The file, when known.
        file: Option<PathBuf>,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}

fn at(file: &Option<PathBuf>) -> String {
    match file {
        Some(f) => format!("{}: ", f.display()),
        None => String::new(),
    }
}

impl JournalError {
    /// The file the error is about, when the journal was read from or written to a file.
    pub fn file(&self) -> Option<&Path> {
        match self {
            JournalError::Io { file, .. }
            | JournalError::Syntax { file, .. }
            | JournalError::NotAJournal { file, .. }
            | JournalError::WrongType { file, .. }
            | JournalError::Write { file, .. } => file.as_deref(),
            JournalError::Timestamp { .. } => None,
        }
    }

    /// The same error, about `path`.
    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        match &mut self {
            JournalError::Io { file, .. }
            | JournalError::Syntax { file, .. }
            | JournalError::NotAJournal { file, .. }
            | JournalError::WrongType { file, .. }
            | JournalError::Write { file, .. } => *file = Some(path.to_path_buf()),
            JournalError::Timestamp { .. } => {}
        }
        self
    }

    /// A serde_json parse error: syntax (with its position) or I/O.
    pub(crate) fn from_parse(e: serde_json::Error) -> Self {
        if e.is_io() {
            return JournalError::Io {
                file: None,
                source: e.into(),
            };
        }
        let (line, column) = (e.line(), e.column());
        let text = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = text.strip_suffix(&suffix).unwrap_or(&text).to_string();
        JournalError::Syntax {
            file: None,
            line,
            column,
            message,
            source: e,
        }
    }

    pub(crate) fn from_write(e: serde_json::Error) -> Self {
        if e.is_io() {
            return JournalError::Io {
                file: None,
                source: e.into(),
            };
        }
        JournalError::Write {
            file: None,
            source: e,
        }
    }
}
