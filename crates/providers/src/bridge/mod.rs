//! The Python bridge: runs the Python modules Shakedown does not ship natively.
//!
//! Every Chaos Toolkit shop has home-grown probes, actions, controls and notification
//! plugins written in Python, and PyPI has a long tail of extensions Shakedown will never
//! all ship. When an experiment names a `module` that no native driver answers, the bridge
//! runs it in Python, with the reference's semantics: argument binding, `configuration` and
//! `secrets` injection, exceptions turned into the reference's failure messages, and
//! `KeyboardInterrupt` / `SystemExit` interrupting the run.
//!
//! # Shape
//! One worker process per run, started on first use (a run that names no Python module
//! never starts an interpreter), speaking newline-delimited JSON over two pipes of its own,
//! requests on file descriptor 4 and answers on 3 (`worker.py`, embedded in the binary and
//! passed with `python -c`), so the extensions keep the user's stdin, stdout and stderr:
//! an interactive control reads the terminal as it does under the reference. Requests carry an id;
//! answers come back by id, so background activities and the continuous hypothesis can call
//! the worker while a foreground activity runs. Records of the extensions' `chaostoolkit`
//! logger come back as frames and are logged here, so they land in the console and the log
//! file like Shakedown's own lines.
//!
//! Foreground calls run on the worker's main thread; when the run is interrupted while one
//! is in flight, the waiting future is dropped, which sends the worker SIGINT (the function
//! sees `KeyboardInterrupt`, as in the reference) and cancels the request if it had not
//! started yet.
//!
//! # Which interpreter
//! `--python PATH` or `CHAOS_PYTHON`, else `python3` on `PATH`, with the user's environment
//! (`PYTHONPATH`, a virtualenv's `VIRTUAL_ENV` do what they do for Python). Extensions import
//! `chaoslib`; where the interpreter has none, the worker serves a small stand-in with
//! chaoslib's exceptions, types, discovery and exit helpers (`chaoslib/` beside this file).
//! Native modules always win; see docs/python-bridge.md for how to force the Python one.

mod catalog;
mod control;

pub use catalog::{python_references, BridgedCatalog};
pub use control::PythonControl;

use experiment::{Map, Value};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::pipe;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, Mutex};

const WORKER: &str = include_str!("worker.py");

/// The chaoslib stand-in, module name → source.
const SHIM: &[(&str, &str)] = &[
    ("chaoslib", include_str!("chaoslib/__init__.py")),
    (
        "chaoslib.exceptions",
        include_str!("chaoslib/exceptions.py"),
    ),
    ("chaoslib.types", include_str!("chaoslib/types.py")),
    ("chaoslib.exit", include_str!("chaoslib/exit.py")),
    ("chaoslib.secret", include_str!("chaoslib/secret.py")),
    (
        "chaoslib.discovery",
        include_str!("chaoslib/discovery/__init__.py"),
    ),
    (
        "chaoslib.discovery.discover",
        include_str!("chaoslib/discovery/discover.py"),
    ),
];

/// The largest frame read from the worker; the worker refuses to send larger answers.
const MAX_FRAME: usize = 64 * 1024 * 1024 + 1024;

/// The worker's file descriptor for answers.
const ANSWER_FD: libc::c_int = 3;
/// The worker's file descriptor for requests.
const REQUEST_FD: libc::c_int = 4;

/// A pipe as two owned descriptors (read, write), both close-on-exec.
fn pipe_fds() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills two descriptors we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe {
        use std::os::fd::FromRawFd;
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    })
}

/// Puts `answers` at fd 3 and `requests` at fd 4 in the child, without close-on-exec.
/// Runs between fork and exec: async-signal-safe calls only.
fn place_fds(answers: libc::c_int, requests: libc::c_int) -> std::io::Result<()> {
    // SAFETY: fcntl/dup2 on descriptors this process owns; the temporaries above 10 are
    // close-on-exec, so whichever of 3 and 4 the originals occupy cannot be clobbered
    // before both are copied.
    unsafe {
        let a = libc::fcntl(answers, libc::F_DUPFD_CLOEXEC, 10);
        let r = libc::fcntl(requests, libc::F_DUPFD_CLOEXEC, 10);
        if a < 0 || r < 0 || libc::dup2(a, ANSWER_FD) < 0 || libc::dup2(r, REQUEST_FD) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// How long the interpreter may take to start and answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable naming the interpreter when `--python` is not given.
pub const PYTHON_ENV: &str = "CHAOS_PYTHON";

/// Why a bridged call did not return a value.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No interpreter could be started.
    #[error("no Python interpreter could run it ({python}: {reason}); Shakedown runs the Python modules it does not ship natively with Python 3: install python3, or point --python or {PYTHON_ENV} at an interpreter that can import the module")]
    NoInterpreter {
        python: String,
        reason: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// The worker ended while requests were in flight.
    #[error("the Python bridge worker ({python}) exited while running the call")]
    WorkerExited { python: String },
    /// The worker answered something that is not the protocol.
    #[error("the Python bridge worker answered something unexpected: {0}")]
    Protocol(String),
    /// The Python side raised or refused.
    #[error("{}", .0.message)]
    Remote(RemoteError),
}

/// An error raised on the Python side.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteError {
    pub kind: RemoteKind,
    /// The reference's one-line form (`ValueError: oops`), or the message proper.
    pub message: String,
    /// Python's formatted traceback, when there is one.
    pub traceback: Option<String>,
    /// `SystemExit`'s code.
    pub code: Option<i64>,
}

/// What went wrong on the Python side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteKind {
    ModuleNotFound,
    FunctionNotFound,
    /// The function raised an `Exception`: the activity failed.
    ActivityFailed,
    /// A control raised `InterruptExecution`.
    Interrupt,
    /// A control raised another exception.
    ControlFailed,
    KeyboardInterrupt,
    SystemExit,
    TooLarge,
    Other(String),
}

impl RemoteKind {
    fn parse(kind: &str) -> Self {
        match kind {
            "module_not_found" => Self::ModuleNotFound,
            "function_not_found" => Self::FunctionNotFound,
            "activity_failed" => Self::ActivityFailed,
            "interrupt" => Self::Interrupt,
            "control_failed" => Self::ControlFailed,
            "keyboard_interrupt" => Self::KeyboardInterrupt,
            "system_exit" => Self::SystemExit,
            "too_large" => Self::TooLarge,
            other => Self::Other(other.to_string()),
        }
    }
}

type Reply = Result<Value, BridgeError>;

/// Runs a `python` activity in the bridge, as chaoslib's `run_python_activity` does after
/// substitution: `secrets` is the merged scopes the provider lists (`None` when it lists
/// none), `configuration` the whole resolved configuration.
pub async fn call_activity(
    bridge: &Bridge,
    call: &crate::Call<'_>,
    module: &str,
    func: &str,
    arguments: Map,
    secrets: Option<Map>,
) -> Result<Value, crate::ProviderError> {
    use crate::{Exit, Failure, FailureKind, ProviderError};
    let mut body = Map::new();
    body.insert("module".into(), Value::String(module.into()));
    body.insert("func".into(), Value::String(func.into()));
    body.insert(
        "name".into(),
        call.activity.get("name").cloned().unwrap_or(Value::Null),
    );
    body.insert("arguments".into(), Value::Object(arguments));
    body.insert(
        "configuration".into(),
        Value::Object(call.configuration.clone()),
    );
    body.insert(
        "secrets".into(),
        secrets.map(Value::Object).unwrap_or(Value::Null),
    );
    match bridge.request("call", body, call.background).await {
        Ok(output) => Ok(output),
        Err(BridgeError::Remote(remote)) => Err(match remote.kind {
            RemoteKind::KeyboardInterrupt => ProviderError::Interrupted(Exit::KeyboardInterrupt),
            RemoteKind::SystemExit => ProviderError::Interrupted(Exit::SystemExit(remote.code)),
            RemoteKind::ActivityFailed => {
                if let Some(traceback) = &remote.traceback {
                    log::debug!(target: "chaos::python", "{}", traceback.trim_end());
                }
                let kind = if remote
                    .message
                    .starts_with("chaoslib.exceptions.ActivityFailed")
                {
                    FailureKind::Check
                } else {
                    FailureKind::Extension
                };
                ProviderError::failed(kind, remote.message)
            }
            RemoteKind::ModuleNotFound => {
                ProviderError::failed(FailureKind::Environment, remote.message)
            }
            RemoteKind::FunctionNotFound => {
                ProviderError::failed(FailureKind::Declaration, remote.message)
            }
            _ => ProviderError::failed(FailureKind::Extension, remote.message),
        }),
        Err(e @ BridgeError::NoInterpreter { .. }) => {
            let message = format!("could not find Python module '{module}': {e}");
            Err(ProviderError::Failed(
                Failure::new(FailureKind::Environment, message).with_source(e),
            ))
        }
        Err(e) => {
            let message = e.to_string();
            Err(ProviderError::Failed(
                Failure::new(FailureKind::Extension, message).with_source(e),
            ))
        }
    }
}
type PendingMap = Arc<StdMutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// One run's bridge. Cheap to create: the interpreter starts on the first request.
pub struct Bridge {
    python: OsString,
    worker: Mutex<Option<Arc<Worker>>>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("python", &self.python)
            .finish_non_exhaustive()
    }
}

/// A running worker.
struct Worker {
    python: String,
    pid: Option<u32>,
    lines: mpsc::UnboundedSender<String>,
    pending: PendingMap,
    alive: Arc<AtomicBool>,
}

impl Bridge {
    /// A bridge using `python` (`--python`), else `$CHAOS_PYTHON`, else `python3`.
    pub fn new(python: Option<OsString>) -> Self {
        let python = python
            .or_else(|| std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()))
            .unwrap_or_else(|| OsString::from("python3"));
        Self {
            python,
            worker: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    /// The interpreter this bridge starts.
    pub fn python(&self) -> String {
        self.python.to_string_lossy().into_owned()
    }

    /// Sends one request and waits for its answer. `background` requests run in their own
    /// thread on the Python side and are not interrupted by signals.
    pub async fn request(&self, op: &str, mut body: Map, background: bool) -> Reply {
        let worker = self.worker().await?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        body.insert("id".into(), Value::from(id));
        body.insert("op".into(), Value::String(op.into()));
        if background {
            body.insert("background".into(), Value::Bool(true));
        }
        let (tx, rx) = oneshot::channel();
        lock(&worker.pending).insert(id, tx);
        let mut guard = InFlight {
            worker: &worker,
            id,
            foreground: !background,
            done: false,
        };
        worker.send(&Value::Object(body))?;
        let reply = rx.await.unwrap_or_else(|_| {
            Err(BridgeError::WorkerExited {
                python: worker.python.clone(),
            })
        });
        guard.done = true;
        reply
    }

    async fn worker(&self) -> Result<Arc<Worker>, BridgeError> {
        let mut slot = self.worker.lock().await;
        if let Some(worker) = slot.as_ref().filter(|w| w.alive.load(Ordering::Acquire)) {
            return Ok(worker.clone());
        }
        let worker = Arc::new(self.spawn().await?);
        *slot = Some(worker.clone());
        Ok(worker)
    }

    async fn spawn(&self) -> Result<Worker, BridgeError> {
        let python = self.python();
        let no_interpreter =
            |reason: String, source: Option<std::io::Error>| BridgeError::NoInterpreter {
                python: python.clone(),
                reason,
                source,
            };
        let pipes = pipe_fds().and_then(|answers| Ok((answers, pipe_fds()?)));
        let ((answers_read, answers_write), (requests_read, requests_write)) =
            pipes.map_err(|e| no_interpreter(format!("cannot create a pipe: {e}"), Some(e)))?;
        let (answer_fd, request_fd) = (answers_write.as_raw_fd(), requests_read.as_raw_fd());
        let mut command = Command::new(&self.python);
        command
            .arg("-c")
            .arg(WORKER)
            .stdin(std::process::Stdio::inherit())
            .stdout(std::process::Stdio::inherit())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        // SAFETY: the closure only calls async-signal-safe functions (fcntl, dup2).
        unsafe {
            command.pre_exec(move || place_fds(answer_fd, request_fd));
        }
        let spawned = command.spawn();
        // The worker holds the only copies of its ends now.
        drop(answers_write);
        drop(requests_read);
        let child = spawned.map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::NotFound => "not found".to_string(),
                _ => e.to_string(),
            };
            no_interpreter(reason, Some(e))
        })?;
        let answers = pipe::Receiver::from_owned_fd(answers_read)
            .map_err(|e| no_interpreter(format!("cannot read its answers: {e}"), Some(e)))?;
        let mut requests = pipe::Sender::from_owned_fd(requests_write)
            .map_err(|e| no_interpreter(format!("cannot send it requests: {e}"), Some(e)))?;
        let pid = child.id();
        log::debug!(
            "Started the Python bridge worker: {python} (pid {})",
            pid.unwrap_or(0)
        );
        let pending: PendingMap = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let (lines, mut outgoing) = mpsc::unbounded_channel::<String>();

        // The init request carries the stand-in modules; its answer says the worker is up.
        let (ready_tx, ready_rx) = oneshot::channel();
        lock(&pending).insert(0, ready_tx);
        let shim: Map = SHIM
            .iter()
            .map(|(name, source)| (name.to_string(), Value::String(source.to_string())))
            .collect();
        let init = serde_json::json!({"id": 0, "shim": shim, "log_level": python_level()});
        lines
            .send(init.to_string())
            .map_err(|_| no_interpreter("it did not start".into(), None))?;

        tokio::spawn(async move {
            while let Some(mut line) = outgoing.recv().await {
                line.push('\n');
                if requests.write_all(line.as_bytes()).await.is_err()
                    || requests.flush().await.is_err()
                {
                    break;
                }
            }
            // Dropping the request pipe closes it: the worker finishes and exits.
        });
        tokio::spawn(read_frames(
            answers,
            pending.clone(),
            alive.clone(),
            python.clone(),
            child,
        ));

        let ready = tokio::time::timeout(START_TIMEOUT, ready_rx).await;
        match ready {
            Ok(Ok(Ok(info))) => {
                log::debug!(
                    "Python bridge ready: Python {} at {}, chaoslib: {}",
                    info.get("python").and_then(Value::as_str).unwrap_or("?"),
                    info.get("executable")
                        .and_then(Value::as_str)
                        .unwrap_or("?"),
                    info.get("chaoslib").and_then(Value::as_str).unwrap_or("?"),
                );
            }
            Ok(Ok(Err(e))) => return Err(no_interpreter(e.to_string(), None)),
            Ok(Err(_)) => {
                return Err(no_interpreter(
                    "it exited during start-up (is it Python 3?)".into(),
                    None,
                ))
            }
            Err(_) => {
                return Err(no_interpreter(
                    format!("it did not answer within {}s", START_TIMEOUT.as_secs()),
                    None,
                ))
            }
        }
        Ok(Worker {
            python,
            pid,
            lines,
            pending,
            alive,
        })
    }
}

impl Worker {
    fn send(&self, frame: &Value) -> Result<(), BridgeError> {
        self.lines
            .send(frame.to_string())
            .map_err(|_| BridgeError::WorkerExited {
                python: self.python.clone(),
            })
    }

    fn interrupt(&self) {
        if let Some(pid) = self.pid.and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: kill(2) with a pid we started and still own (kill_on_drop reaps it).
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
    }
}

/// A request in flight: dropping it before the answer came cancels it on the Python side.
struct InFlight<'a> {
    worker: &'a Worker,
    id: u64,
    foreground: bool,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        lock(&self.worker.pending).remove(&self.id);
        let _ = self
            .worker
            .send(&serde_json::json!({"op": "cancel", "target": self.id}));
        if self.foreground {
            self.worker.interrupt();
        }
    }
}

/// Reads the worker's frames until it closes its stdout, then fails whatever is pending.
async fn read_frames(
    answers: pipe::Receiver,
    pending: PendingMap,
    alive: Arc<AtomicBool>,
    python: String,
    mut child: tokio::process::Child,
) {
    let mut reader = BufReader::new(answers);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_FRAME as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.last() != Some(&b'\n') {
            log::error!(
                "the Python bridge worker sent a frame over {MAX_FRAME} bytes; stopping it"
            );
            break;
        }
        match serde_json::from_slice::<Value>(&line) {
            Ok(frame) => dispatch(frame, &pending),
            Err(e) => log::debug!("the Python bridge worker sent a line that is not JSON: {e}"),
        }
    }
    alive.store(false, Ordering::Release);
    let waiting: Vec<_> = lock(&pending).drain().collect();
    for (_, tx) in waiting {
        let _ = tx.send(Err(BridgeError::WorkerExited {
            python: python.clone(),
        }));
    }
    let _ = child.start_kill();
    match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(Ok(status)) if !status.success() => {
            log::debug!("the Python bridge worker exited: {status}")
        }
        _ => {}
    }
}

fn dispatch(frame: Value, pending: &PendingMap) {
    if let Some(record) = frame.get("log") {
        forward_log(record);
        return;
    }
    let Some(id) = frame.get("id").and_then(Value::as_u64) else {
        log::debug!("the Python bridge worker sent a frame without an id");
        return;
    };
    let Some(tx) = lock(pending).remove(&id) else {
        return; // cancelled: nobody waits for it any more
    };
    let reply = if let Some(ok) = frame.get("ok") {
        Ok(ok.clone())
    } else if let Some(error) = frame.get("error") {
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_string);
        Err(BridgeError::Remote(RemoteError {
            kind: RemoteKind::parse(&text("kind").unwrap_or_default()),
            message: text("message").unwrap_or_default(),
            traceback: text("traceback"),
            code: error.get("code").and_then(Value::as_i64),
        }))
    } else {
        Err(BridgeError::Protocol(
            "an answer with neither `ok` nor `error`".into(),
        ))
    };
    let _ = tx.send(reply);
}

/// A record of the extensions' `chaostoolkit` logger, logged at its level.
fn forward_log(record: &Value) {
    let level = record.get("level").and_then(Value::as_u64).unwrap_or(20);
    let message = record.get("message").and_then(Value::as_str).unwrap_or("");
    match level {
        0..=10 => log::debug!(target: "chaos::python", "{message}"),
        11..=20 => log::info!(target: "chaos::python", "{message}"),
        21..=30 => log::warn!(target: "chaos::python", "{message}"),
        31..=40 => log::error!(target: "chaos::python", "{message}"),
        _ => log::error!(target: crate::CRITICAL_TARGET, "{message}"),
    }
}

/// The Python logging level matching what Shakedown logs at all.
fn python_level() -> u64 {
    match log::max_level() {
        log::LevelFilter::Trace | log::LevelFilter::Debug => 10,
        log::LevelFilter::Info => 20,
        log::LevelFilter::Warn => 30,
        _ => 40,
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
