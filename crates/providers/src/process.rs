//! The `process` provider: run a program, capture its exit status and output.
//!
//! Reference rules kept on purpose: a non-zero exit is not a failure (only a warning when the
//! activity declares no tolerance); list arguments run the program directly while a string
//! runs `"<path> <arguments>"` through `/bin/sh -c`; `null` and `""` list items are dropped.
//!
//! What Shakedown adds: the process runs in a process group of its own, and when the
//! activity times out or the run is interrupted the whole group is killed (the reference
//! kills only the process it started, so `sh -c 'a & b'` leaves `a` and `b` running). The
//! group is registered with the run's reaper ([`crate::reaper`]), so it dies with `chaos`
//! even when `chaos` is killed with SIGKILL, children included. A process the action leaves behind on purpose (`nohup
//! load >/dev/null &`) keeps running after the activity ends normally, as in the reference:
//! a rollback is what stops it. docs/compatibility.md records the differences.

use crate::{capture, substitute_if_any, Call, Failure, FailureKind, ProviderError};
use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The reference's warning for a non-zero exit when no tolerance is declared.
pub const NON_ZERO_WARNING: &str = "This process returned a non-zero exit code. This may indicate some error and not what you expected. Please have a look at the logs.";

pub async fn run(call: &Call<'_>, provider: &Map) -> Result<Value, ProviderError> {
    let raw_path = provider.get("path").and_then(Value::as_str).unwrap_or("");
    let path = experiment::validate::resolve_process_path(raw_path).ok_or_else(|| {
        ProviderError::failed(
            FailureKind::Environment,
            format!("path '{raw_path}' cannot be found"),
        )
    })?;
    let lookup = call.lookup();
    let arguments = provider
        .get("arguments")
        .map(|a| substitute_if_any(a, &lookup))
        .unwrap_or(Value::Null);

    let mut command = match &arguments {
        Value::String(line) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(format!("{} {}", path.display(), line));
            c
        }
        other => {
            let mut c = Command::new(&path);
            c.args(list_arguments(other));
            c
        }
    };
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);

    let timeout = match provider.get("timeout") {
        Some(t) => seconds(t)?,
        None => None,
    };
    let mut child = command.spawn().map_err(|e| {
        let message = format!("failed to start '{}': {e}", path.display());
        ProviderError::Failed(Failure::new(FailureKind::Environment, message).with_source(e))
    })?;
    // Kills the whole group if this future is dropped (interrupt) or times out, and
    // registers it with the reaper, which kills it if `chaos` itself dies meanwhile.
    let mut group = child.id().map(GroupGuard::new);
    let limit = capture::limit();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    // As `communicate()`: both pipes read to their end, and the exit status.
    let finished = async {
        tokio::try_join!(
            capture::read_all(stdout, limit),
            capture::read_all(stderr, limit),
            child.wait()
        )
    };
    let (stdout, stderr, exit) = match timeout {
        Some(limit) => match tokio::time::timeout(limit, finished).await {
            Ok(done) => done,
            Err(_) => {
                // The group guard kills the process and its children; kill_on_drop the
                // process itself, again.
                return Err(ProviderError::failed(
                    FailureKind::Timeout,
                    "process activity took too long to complete",
                ));
            }
        },
        None => finished.await,
    }
    .map_err(|e| {
        let message = format!("failed to run '{}': {e}", path.display());
        ProviderError::Failed(Failure::new(FailureKind::Environment, message).with_source(e))
    })?;

    if let Some(group) = group.take() {
        group.disarm();
    }
    let status = exit_status(&exit);
    if status > 0 && !call.has_tolerance() {
        log::warn!("{NON_ZERO_WARNING}");
    }
    let mut result = Map::new();
    result.insert("status".into(), Value::from(status));
    result.insert("stdout".into(), Value::String(text(&stdout)));
    result.insert("stderr".into(), Value::String(text(&stderr)));
    Ok(Value::Object(result))
}

/// The process group of a running activity, killed with SIGKILL when the guard is dropped
/// before the activity ended by itself (the reference sends SIGKILL on timeout and
/// interrupt too, to the one process it started).
struct GroupGuard(u32);

impl GroupGuard {
    fn new(pgid: u32) -> Self {
        crate::reaper::register(pgid);
        Self(pgid)
    }

    /// The activity ended by itself: whatever it left behind is not ours to stop.
    fn disarm(self) {
        crate::reaper::unregister(self.0);
        std::mem::forget(self);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Ok(pgid) = libc::pid_t::try_from(self.0) {
            // SAFETY: killpg has no memory-safety preconditions. The group id cannot have
            // been reused: its leader is our child, and tokio reaps it (even once killed)
            // only when the runtime next runs, after this synchronous drop.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        crate::reaper::unregister(self.0);
    }
}

/// Flattens list or (deprecated) map arguments into argv items, as the reference does.
fn list_arguments(arguments: &Value) -> Vec<String> {
    let items: Vec<Value> = match arguments {
        Value::Array(items) => items.clone(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| [Value::String(k.clone()), v.clone()])
            .collect(),
        Value::Null => Vec::new(),
        scalar => vec![scalar.clone()],
    };
    items
        .iter()
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .map(py_str)
        .collect()
}

/// Exit code, or the negated signal number when the child was killed (Python's convention).
fn exit_status(status: &std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => -i64::from(signal),
        (None, None) => -1,
    }
}

/// UTF-8 when possible; otherwise Latin-1, which maps every byte (the reference guesses a
/// charset instead; see docs/compatibility.md).
/// The text of a captured output, with the truncation marker when it was cut.
fn text(captured: &capture::Captured) -> String {
    match captured.truncation() {
        Some((kept, marker)) => decode(kept) + &marker,
        None => decode(&captured.bytes),
    }
}

fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A number of seconds from a JSON number (ints, floats, bools as Python would): `None`
/// for no limit (`null`, negative, infinite), an error for a finite number beyond what the
/// reference can wait ([`experiment::duration::MAX_SECONDS`]), on which it aborts the run
/// with an `OverflowError`. A string (`"1s"`, even `"10"`), a list or a mapping is a fatal
/// error too: the reference hands it to `subprocess`/`requests`, which raise, and the run
/// aborts (validation refuses it beforehand; this is for `--no-validation` and for an http
/// `${name}` that resolves to one).
pub fn seconds(value: &Value) -> Result<Option<Duration>, ProviderError> {
    let secs = match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Null => None,
        other => {
            let what = match other {
                Value::String(s) => format!("the string '{s}'"),
                other => experiment::validate::kind(other).to_string(),
            };
            return Err(ProviderError::fatal(
                FailureKind::Declaration,
                format!("the activity's timeout must be a number of seconds, not {what}"),
            ));
        }
    };
    let Some(secs) = secs.filter(|s| s.is_finite() && *s >= 0.0) else {
        return Ok(None);
    };
    experiment::duration::from_secs(secs)
        .map(Some)
        .map_err(|e| {
            ProviderError::fatal(
                FailureKind::Declaration,
                format!("the activity's timeout of {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_arguments_drop_null_and_empty_and_use_python_str() {
        let args = json!(["a", null, "", 1, true, 1.5, {"k": "v"}]);
        assert_eq!(
            list_arguments(&args),
            vec!["a", "1", "True", "1.5", "{'k': 'v'}"]
        );
    }

    #[test]
    fn map_arguments_flatten_in_order() {
        let args = json!({"-c": "3", "--flag": null, "-n": 2});
        assert_eq!(list_arguments(&args), vec!["-c", "3", "--flag", "-n", "2"]);
    }

    #[test]
    fn latin1_fallback_never_fails() {
        assert_eq!(decode(&[0x66, 0xff]), "f\u{ff}");
    }
}
