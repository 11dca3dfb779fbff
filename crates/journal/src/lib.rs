//! Typed, lossless reading and writing of Chaos Toolkit journals.
//!
//! A journal (`journal.json`) is the JSON document `chaos run` writes at the end of a run:
//! the experiment as run, the final status, every hypothesis probe, method activity and
//! rollback with its output, timings and failure. Shakedown writes them, and reports,
//! an operator and other tools need to read them, whoever wrote them: Python
//! chaostoolkit-lib 1.44.0, the newest 1.45.1, or Shakedown. This crate is the one place
//! that knows the format (the reference specification `chaostoolkit-core.md`, §6).
//!
//! # Guarantees
//!
//! - **Lossless.** [`from_str`] then [`to_string_pretty`] gives back a JSON value equal
//!   to the input, **with the keys of every object in the same order**. Keys the format
//!   defines are typed fields; any other key is kept (in an `extra` map) at its place;
//!   the key order read is remembered per object. "Key absent" and "key present with
//!   `null`" stay apart ([`Field`]): an interrupted activity's record has no `status`,
//!   a background activity abandoned on SIGUSR2 has no `end` nor `duration`. Numbers are
//!   kept as `serde_json::Number`s (an integer stays an integer, a float keeps every bit)
//!   and floats are written the way Python's `json` writes them (`repr`: `5.3e-05`,
//!   `1e+16`, `0.24099159240722656`), so a journal the reference wrote comes back from
//!   [`to_string_pretty`] **byte for byte**. Unknown status strings are kept
//!   ([`Status::Other`], [`ActivityStatus::Other`]). Timestamps stay the text they were
//!   ([`Timestamp`]).
//! - **Any version.** Only `experiment` is required; every other key may be absent,
//!   `null`, in another order, or joined by keys of a newer engine (`interruption`,
//!   `extensions`, a control's own keys). A journal built in code, with no order read,
//!   is written in the reference's canonical order (the order of each type's `KEYS`).
//! - **Errors, never panics.** Malformed input gives a [`JournalError`] whose message
//!   says what and where: `line 3 column 5: expected value`,
//!   ``journal.json: not a journal: missing key `experiment` ``,
//!   `` `run[2].duration`: expected a number, found a string ``.
//!   (Python can write `NaN` and `Infinity`, which are not JSON: they are refused with a
//!   syntax error.)
//! - **Small.** serde, serde_json and thiserror only: no async runtime, no I/O beyond
//!   the optional [`read_file`] / [`write_file`]. [`write_file`] replaces the file
//!   atomically ([`write_atomically`]: a temporary file renamed over it), so a journal on
//!   disk is always whole.
//!
//! Equality ([`PartialEq`]) compares content, not key order, like `serde_json::Value`.
//!
//! # Use
//!
//! ```
//! let text = r#"{
//!   "chaoslib-version": "1.44.0",
//!   "experiment": {"title": "Does it hold?", "method": []},
//!   "status": "completed",
//!   "deviated": false,
//!   "run": [{"activity": {"type": "action", "name": "kill"}, "output": null,
//!            "start": "2026-11-26T00:36:54.198563+00:00", "status": "failed",
//!            "exception": ["Traceback...\n", "chaoslib.exceptions.ActivityFailed: boom\n"],
//!            "end": "2026-11-26T00:36:54.2+00:00", "duration": 0.001437}],
//!   "x-reviewed-by": "ops"
//! }"#;
//! let j = journal::from_str(text)?;
//! assert_eq!(j.title(), Some("Does it hold?"));
//! assert_eq!(j.status(), Some(&journal::Status::Completed));
//! for entry in j.runs() {
//!     let run = entry.run;
//!     println!("{} {} {:?} {:?} {:?}", entry.phase, run.name().unwrap_or("?"),
//!              run.status(), run.duration_secs(), run.failure_message());
//! }
//! let start = j.method_runs()[0].start.get().map(|t| t.unix_seconds()).transpose()?;
//! assert_eq!(start, Some(1_795_653_414.198563));
//!
//! // Written back: the same JSON, the same key order, the unknown key kept.
//! let again = journal::to_string_pretty(&j)?;
//! let before: serde_json::Value = serde_json::from_str(text)?;
//! let after: serde_json::Value = serde_json::from_str(&again)?;
//! assert_eq!(serde_json::to_string(&before)?, serde_json::to_string(&after)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Building one in code (as the engine does) starts from [`Journal::new`] and
//! [`Run::new`]:
//!
//! ```
//! use journal::{ActivityStatus, Field, Journal, Run, Status, Timestamp};
//! let mut j = Journal::new(serde_json::json!({"title": "t"}));
//! j.start = Timestamp::from_unix_micros(1_795_653_414_198_563).into();
//! let mut run = Run::new(serde_json::json!({"type": "action", "name": "a"}),
//!                        Timestamp::new("2026-11-26T00:36:54.198600+00:00"));
//! run.status = ActivityStatus::Succeeded.into();
//! if let Some(runs) = j.run.get_mut() { runs.push(run); }
//! j.status = Status::Completed.into();
//! let text = journal::to_string_pretty(&j)?;
//! assert!(text.starts_with("{\n  \"experiment\""));
//! # Ok::<(), journal::JournalError>(())
//! ```

mod atomic;
mod error;
mod field;
mod model;
mod order;
mod read;
mod runs;
mod status;
mod timestamp;
mod write;

#[cfg(test)]
mod tests;

pub use atomic::{check_writable, is_stream, write_atomically, Durability};
pub use error::JournalError;
pub use field::Field;
pub use model::{Exception, HypothesisState, Interruption, Journal, Run, SteadyStates};
pub use read::kind as json_kind;
pub use runs::{Phase, RunEntry};
pub use status::{ActivityStatus, Status};
pub use timestamp::{parse_timestamp, Timestamp};
pub use write::python_float_repr;

use std::path::Path;

/// Reads a journal from JSON text.
pub fn from_str(text: &str) -> Result<Journal, JournalError> {
    let value = serde_json::from_str(text).map_err(JournalError::from_parse)?;
    Journal::from_value(value)
}

/// Reads a journal from JSON bytes (UTF-8).
pub fn from_slice(bytes: &[u8]) -> Result<Journal, JournalError> {
    let value = serde_json::from_slice(bytes).map_err(JournalError::from_parse)?;
    Journal::from_value(value)
}

/// Reads a journal from a reader (buffer it: serde_json reads byte by byte).
pub fn from_reader(reader: impl std::io::Read) -> Result<Journal, JournalError> {
    let value = serde_json::from_reader(reader).map_err(JournalError::from_parse)?;
    Journal::from_value(value)
}

/// Reads a journal from a parsed JSON value.
pub fn from_value(value: serde_json::Value) -> Result<Journal, JournalError> {
    Journal::from_value(value)
}

/// Reads the journal file at `path`; errors start with the path.
pub fn read_file(path: impl AsRef<Path>) -> Result<Journal, JournalError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| JournalError::Io {
        file: Some(path.to_path_buf()),
        source,
    })?;
    from_slice(&bytes).map_err(|e| e.in_file(path))
}

/// The journal as JSON text, indented by 2 spaces like the reference's
/// `json.dump(indent=2, ensure_ascii=False)` (UTF-8, no trailing newline).
pub fn to_string_pretty(journal: &Journal) -> Result<String, JournalError> {
    write::to_string(write::pretty(), journal).map_err(JournalError::from_write)
}

/// Any JSON value as [`to_string_pretty`] writes a journal (two-space indentation, Python's
/// floats), without checking that it is one: for a journal still being built.
pub fn value_to_string_pretty(value: &serde_json::Value) -> Result<String, JournalError> {
    write::to_string(write::pretty(), value).map_err(JournalError::from_write)
}

/// The journal as compact JSON text.
pub fn to_string(journal: &Journal) -> Result<String, JournalError> {
    write::to_string(write::compact(), journal).map_err(JournalError::from_write)
}

/// Writes the journal, indented like [`to_string_pretty`], to `writer`.
pub fn to_writer_pretty(
    writer: impl std::io::Write,
    journal: &Journal,
) -> Result<(), JournalError> {
    write::to_writer(writer, write::pretty(), journal).map_err(JournalError::from_write)
}

/// The journal as a JSON value, keys in the order they are written.
pub fn to_value(journal: &Journal) -> Result<serde_json::Value, JournalError> {
    journal.to_value()
}

/// Writes the journal to the file at `path`, like [`to_string_pretty`], atomically and
/// flushed to disk ([`write_atomically`]): a reader, or a kill at any moment, sees the old
/// file or the new one, never a part. Errors start with the path.
pub fn write_file(path: impl AsRef<Path>, journal: &Journal) -> Result<(), JournalError> {
    let path = path.as_ref();
    let text = to_string_pretty(journal).map_err(|e| e.in_file(path))?;
    write_atomically(path, text.as_bytes(), Durability { sync: true }).map_err(|source| {
        JournalError::Io {
            file: Some(path.to_path_buf()),
            source,
        }
    })
}
