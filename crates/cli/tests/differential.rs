//! Differential tests: every case under `tests/differential/cases/` is run
//! through our `chaos` and compared with two Python references, the *oracles*:
//! the pinned one (chaostoolkit 1.19.0 / lib 1.44.0, `target/reference-venv`,
//! `scripts/reference-venv`; golden `reference.json`) and the newest one
//! (chaostoolkit 1.21.4 / lib 1.45.1, `target/reference-venv-latest`,
//! `scripts/reference-venv-latest`; golden `reference-latest.json`). By default
//! the pinned oracle runs live and the newest one is compared through its
//! recorded golden; `SHAKEDOWN_DIFF_ORACLE=latest|both` runs the newest live.
//! The normalised results (exit code, journal, console log) are compared.
//!
//! The case format, the normalisation rules and the environment switches are
//! documented in `tests/differential/README.md`.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/reference.rs"]
mod reference;

use http_server::TestServer;
use reference::{reference_bin, strip_ansi, workspace_root};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const PARALLELISM: usize = 2;

fn cases_dir() -> PathBuf {
    workspace_root().join("tests/differential/cases")
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false)
}

/// A Python reference the results are compared with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Oracle {
    /// chaostoolkit 1.19.0 / chaostoolkit-lib 1.44.0: what Shakedown emulates.
    Pinned,
    /// chaostoolkit 1.21.4 / chaostoolkit-lib 1.45.1 (Python 3.12): the newest on PyPI.
    Latest,
}

const ORACLES: [Oracle; 2] = [Oracle::Pinned, Oracle::Latest];

impl Oracle {
    /// The name used by `SHAKEDOWN_DIFF_ORACLE` and as the key under `differs_from`.
    fn key(self) -> &'static str {
        match self {
            Oracle::Pinned => "pinned",
            Oracle::Latest => "latest",
        }
    }
    fn versions(self) -> &'static str {
        match self {
            Oracle::Pinned => "chaostoolkit 1.19.0 / lib 1.44.0",
            Oracle::Latest => "chaostoolkit 1.21.4 / lib 1.45.1",
        }
    }
    fn bin(self) -> PathBuf {
        match self {
            Oracle::Pinned => reference_bin(),
            Oracle::Latest => workspace_root().join("target/reference-venv-latest/bin/chaos"),
        }
    }
    fn venv_dir(self) -> PathBuf {
        self.bin()
            .parent()
            .and_then(Path::parent)
            .expect("<venv>/bin/chaos")
            .to_path_buf()
    }
    fn script(self) -> &'static str {
        match self {
            Oracle::Pinned => "scripts/reference-venv",
            Oracle::Latest => "scripts/reference-venv-latest",
        }
    }
    fn golden_file(self) -> &'static str {
        match self {
            Oracle::Pinned => "reference.json",
            Oracle::Latest => "reference-latest.json",
        }
    }
}

/// Files of a case directory that are not copied into the run directory.
const CASE_META_FILES: [&str; 3] = ["case.json", "reference.json", "reference-latest.json"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Reference(Oracle),
    Ours,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Reference(Oracle::Pinned) => "reference",
            Side::Reference(Oracle::Latest) => "reference-latest",
            Side::Ours => "ours",
        }
    }
}

struct Case {
    name: String,
    dir: PathBuf,
    spec: Value,
}

impl Case {
    fn str_list(&self, key: &str) -> Vec<String> {
        self.spec
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
    fn flag(&self, key: &str) -> bool {
        self.spec.get(key).and_then(Value::as_bool).unwrap_or(false)
    }
}

fn load_cases() -> Vec<Case> {
    let filter: Vec<String> = std::env::var("SHAKEDOWN_DIFF_CASES")
        .map(|s| {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut cases = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(cases_dir())
        .expect("tests/differential/cases must exist")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for dir in entries {
        let name = dir
            .file_name()
            .expect("a case directory has a name")
            .to_string_lossy()
            .to_string();
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let text = fs::read_to_string(dir.join("case.json"))
            .unwrap_or_else(|e| panic!("{name}: cannot read case.json: {e}"));
        let spec: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: invalid case.json: {e}"));
        cases.push(Case { name, dir, spec });
    }
    cases
}

/// What one side produced, before normalisation.
struct RawRun {
    exit: i64,
    stderr: String,
    journal: Option<String>,
    timed_out: bool,
    signal_note: Option<String>,
}

struct Placeholders {
    base_url: String,
    closed_url: String,
    tmp: String,
    case_dir: String,
    port: u16,
    closed_port: u16,
}

impl Placeholders {
    fn expand(&self, s: &str) -> String {
        s.replace("{base_url}", &self.base_url)
            .replace("{closed_url}", &self.closed_url)
            .replace("{tmp}", &self.tmp)
            .replace("{case}", &self.case_dir)
    }
}

fn copy_case_files(case: &Case, tmp: &Path) {
    fn copy_dir(from: &Path, to: &Path, top: bool) {
        let entries =
            fs::read_dir(from).unwrap_or_else(|e| panic!("read case dir {}: {e}", from.display()));
        for entry in entries.filter_map(Result::ok) {
            let p = entry.path();
            let fname = entry.file_name().to_string_lossy().to_string();
            if top && CASE_META_FILES.contains(&fname.as_str()) {
                continue;
            }
            if p.is_dir() {
                fs::create_dir_all(to.join(&fname))
                    .unwrap_or_else(|e| panic!("create {}: {e}", to.join(&fname).display()));
                copy_dir(&p, &to.join(&fname), false);
            } else {
                fs::copy(&p, to.join(&fname))
                    .unwrap_or_else(|e| panic!("copy {}: {e}", p.display()));
            }
        }
    }
    copy_dir(&case.dir, tmp, true);
}

fn run_side(case: &Case, side: Side, bin: &Path) -> (RawRun, Placeholders) {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("differential")
        .join(&case.name)
        .join(side.name());
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("create {}: {e}", tmp.display()));
    let tmp = tmp.canonicalize().expect("canonical scratch dir");
    copy_case_files(case, &tmp);
    if let Some(settings) = case.spec.get("settings").and_then(Value::as_str) {
        fs::copy(case.dir.join(settings), tmp.join("settings.yaml"))
            .unwrap_or_else(|e| panic!("{}: settings {settings}: {e}", case.name));
    }

    let server = TestServer::start(Some(case.dir.clone()));
    let closed_port = http_server::closed_port();
    let ph = Placeholders {
        base_url: server.base_url(),
        closed_url: format!("http://127.0.0.1:{closed_port}"),
        tmp: tmp.to_string_lossy().to_string(),
        case_dir: case.dir.to_string_lossy().to_string(),
        port: server.port(),
        closed_port,
    };

    let mut cmd = Command::new(bin);
    cmd.current_dir(&tmp);
    cmd.arg("--no-version-check");
    cmd.arg("--settings").arg(tmp.join("settings.yaml"));
    for a in case.str_list("global_args") {
        cmd.arg(ph.expand(&a));
    }
    for a in case.str_list("args") {
        cmd.arg(ph.expand(&a));
    }
    reference::remove_proxy_env(&mut cmd);
    for var in [
        "NO_PROXY",
        "no_proxy",
        "CHAOSTOOLKIT_LOADER_AUTH_BEARER_TOKEN",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SHAKEDOWN_TEST_BASE_URL", &ph.base_url);
    cmd.env("SHAKEDOWN_TEST_CLOSED_URL", &ph.closed_url);
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(env) = case.spec.get("env").and_then(Value::as_object) {
        for (k, v) in env {
            cmd.env(k, ph.expand(v.as_str().unwrap_or_default()));
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    reference::reset_signal_dispositions(&mut cmd);

    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        String::from_utf8_lossy(&s).to_string()
    });

    let signal_note = Arc::new(Mutex::new(None::<String>));
    let done = Arc::new(Mutex::new(false));
    let server = Arc::new(server);
    let sig_t = case.spec.get("signal").cloned().map(|sig| {
        let server = Arc::clone(&server);
        let note = Arc::clone(&signal_note);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let name = sig["name"].as_str().unwrap_or("SIGTERM").to_string();
            if let Some(marker) = sig.get("after_request").and_then(Value::as_str) {
                if !server.wait_for_request(marker, Duration::from_secs(30)) {
                    *note.lock().unwrap() = Some(format!(
                        "marker request {marker} never arrived; signal not sent"
                    ));
                    return;
                }
            }
            thread::sleep(Duration::from_millis(
                sig.get("delay_ms").and_then(Value::as_u64).unwrap_or(0),
            ));
            if *done.lock().unwrap() {
                *note.lock().unwrap() = Some("process ended before the signal was sent".into());
                return;
            }
            let short = name.trim_start_matches("SIG");
            let _ = Command::new("kill")
                .arg("-s")
                .arg(short)
                .arg(pid.to_string())
                .status();
        })
    });

    let timeout = Duration::from_secs(
        case.spec
            .get("timeout_s")
            .and_then(Value::as_u64)
            .unwrap_or(60),
    );
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("poll the child") {
            break st;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("reap the killed child");
        }
        thread::sleep(Duration::from_millis(10));
    };
    *done.lock().unwrap() = true;
    if let Some(t) = sig_t {
        let _ = t.join();
    }
    let _ = out_t.join();
    let stderr = err_t.join().unwrap_or_default();
    let exit = match status.code() {
        Some(c) => c as i64,
        None => {
            use std::os::unix::process::ExitStatusExt;
            -(status.signal().unwrap_or(0) as i64)
        }
    };
    let journal_rel = case
        .spec
        .get("journal")
        .and_then(Value::as_str)
        .unwrap_or("journal.json");
    let journal = fs::read_to_string(tmp.join(ph.expand(journal_rel))).ok();
    let signal_note = signal_note.lock().unwrap().clone();
    (
        RawRun {
            exit,
            stderr,
            journal,
            timed_out,
            signal_note,
        },
        ph,
    )
}

// ---------------------------------------------------------------- normalising

fn normalize_text(s: &str, ph: &Placeholders) -> String {
    let mut s = s
        .replace(&ph.tmp, "{tmp}")
        .replace(&format!("127.0.0.1:{}", ph.port), "127.0.0.1:{port}")
        .replace(
            &format!("127.0.0.1:{}", ph.closed_port),
            "127.0.0.1:{closed_port}",
        )
        .replace(&format!("port={}", ph.port), "port={port}")
        .replace(&format!("port={}", ph.closed_port), "port={closed_port}");
    s = normalize_python_incidentals(&s);
    // Regex engine error texts (Python `re` vs ours) cannot match.
    if let Some(idx) = s.find(" seems invalid: ") {
        if s.starts_with("hypothesis probe tolerance pattern ") {
            s = format!("{} seems invalid: <regex error>", &s[..idx]);
        }
    }
    // The reference attaches a Python traceback to this line, we a one-line
    // error: only the first line is comparable.
    if s.starts_with(ABORT_MESSAGE) {
        s = ABORT_MESSAGE.to_string();
    }
    // YAML parser error texts (PyYAML vs ours) cannot match.
    for prefix in [
        "Failed parsing YAML experiment: ",
        "Failed parsing YAML settings: ",
    ] {
        if let Some(idx) = s.find(prefix) {
            s = format!("{}{prefix}<parser error>", &s[..idx]);
        }
    }
    // The client library's own error text after "failed to connect to <url>:"
    // can never match between requests and our client.
    if let Some(idx) = s.find("failed to connect to ") {
        let rest = &s[idx + "failed to connect to ".len()..];
        if let Some(colon) = rest.find(": ") {
            let keep = idx + "failed to connect to ".len() + colon;
            s = format!("{}: <client error>", &s[..keep]);
        }
    }
    s
}

/// What differs between the two oracles only because they run on different Python
/// installations (3.11 and 3.12 in different virtualenvs): the virtualenv directories
/// become `{venv}` and `python3.<minor>` in a path becomes `python3.X`. (Traceback frames
/// are already dropped: `exception` keeps its last line, log messages stop at
/// `Traceback (most recent call last):`.)
fn normalize_python_incidentals(s: &str) -> String {
    let mut s = s.to_string();
    // The newest's directory first: the pinned one is a prefix of it.
    for oracle in [Oracle::Latest, Oracle::Pinned] {
        let venv = oracle.venv_dir().to_string_lossy().to_string();
        if s.contains(&venv) {
            s = s.replace(&venv, "{venv}");
        }
    }
    const MARK: &str = "/python3.";
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(idx) = rest.find(MARK) {
        let after = &rest[idx + MARK.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        out.push_str(&rest[..idx + MARK.len()]);
        if digits > 0 && after[digits..].starts_with('/') {
            out.push('X');
            rest = &after[digits..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

const ABORT_MESSAGE: &str = "Experiment ran into an un expected fatal error, aborting now.";

/// Messages Shakedown may log in addition to the reference's (diagnostics):
/// lines starting with one of these are dropped on both sides.
/// Lines only Shakedown prints: the observed value next to a failed tolerance, and the
/// file:line:column of a validation error.
const ALLOWED_EXTRA_PREFIXES: [&str; 2] = ["  => observed", "  => at "];

const LEVELS: [&str; 4] = ["INFO", "WARNING", "ERROR", "CRITICAL"];
const ALL_LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

/// Keeps a multi-line message up to (excluding) an embedded Python traceback.
fn cut_traceback(msg: &str) -> String {
    let mut kept = Vec::new();
    for l in msg.lines() {
        if l.trim_start()
            .starts_with("Traceback (most recent call last)")
        {
            break;
        }
        kept.push(l);
    }
    while kept.last().is_some_and(|l| l.trim().is_empty()) && kept.len() > 1 {
        kept.pop();
    }
    kept.join("\n")
}

/// Console log lines at INFO and above as `"LEVEL message"` (multi-line
/// messages keep their continuation lines, joined with `\n`, up to any
/// traceback), plus (for the JSON log format) the set of keys seen on the
/// JSON lines.
fn normalize_log(stderr: &str, ph: &Placeholders) -> (Vec<String>, Option<Vec<String>>) {
    let mut lines: Vec<String> = Vec::new();
    let mut keys: Option<BTreeSet<String>> = None;
    // The message being assembled: (level, text, still accepting continuation lines).
    let mut current: Option<(String, String, bool)> = None;
    let flush = |cur: &mut Option<(String, String, bool)>, lines: &mut Vec<String>| {
        if let Some((level, text, _)) = cur.take() {
            let text = cut_traceback(&text);
            if LEVELS.contains(&level.as_str())
                && !ALLOWED_EXTRA_PREFIXES.iter().any(|p| text.starts_with(p))
            {
                lines.push(format!("{level} {}", normalize_text(&text, ph)));
            }
        }
    };
    for raw in stderr.lines() {
        let line = strip_ansi(raw);
        let line = line.trim_end_matches('\r');
        if line.starts_with('{') {
            if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) {
                flush(&mut current, &mut lines);
                keys.get_or_insert_with(BTreeSet::new)
                    .extend(obj.keys().cloned());
                let level = obj
                    .get("levelname")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                let msg = obj
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                current = Some((level, msg, false));
                flush(&mut current, &mut lines);
                continue;
            }
        }
        // "[YYYY-MM-DD HH:MM:SS LEVEL] message"
        let parsed = (|| {
            if !line.starts_with('[') {
                return None;
            }
            let close = line.find(']')?;
            let head = &line[1..close];
            let level = head.rsplit(' ').next()?;
            if !ALL_LEVELS.contains(&level) || head.len() < 20 {
                return None;
            }
            let msg = line.get(close + 1..).unwrap_or("");
            Some((
                level.to_string(),
                msg.strip_prefix(' ').unwrap_or(msg).to_string(),
            ))
        })();
        match parsed {
            Some((level, msg)) => {
                flush(&mut current, &mut lines);
                current = Some((level, msg, true));
            }
            None => {
                if let Some((_, text, true)) = current.as_mut() {
                    if let Some(cont) = line.strip_prefix("    ") {
                        text.push('\n');
                        text.push_str(cont);
                        continue;
                    }
                }
                flush(&mut current, &mut lines);
            }
        }
    }
    flush(&mut current, &mut lines);
    (lines, keys.map(|k| k.into_iter().collect()))
}

fn normalize_strings(v: &mut Value, ph: &Placeholders) {
    match v {
        Value::String(s) => *s = normalize_text(s, ph),
        Value::Array(a) => a.iter_mut().for_each(|x| normalize_strings(x, ph)),
        Value::Object(o) => o.values_mut().for_each(|x| normalize_strings(x, ph)),
        _ => {}
    }
}

fn normalize_record(rec: &mut Value) {
    let Some(obj) = rec.as_object_mut() else {
        return;
    };
    for k in ["start", "end"] {
        if let Some(v) = obj.get_mut(k) {
            *v = json!("<timestamp>");
        }
    }
    if let Some(v) = obj.get_mut("duration") {
        *v = json!("<duration>");
    }
    if let Some(exc) = obj.get_mut("exception") {
        let text = match &*exc {
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<String>(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        *exc = json!(last);
    }
    if let Some(Value::Object(headers)) = obj.get_mut("output").and_then(|o| o.get_mut("headers")) {
        for (k, v) in headers.iter_mut() {
            if k.eq_ignore_ascii_case("date") || k.eq_ignore_ascii_case("server") {
                *v = json!("<varies>");
            }
        }
    }
}

fn sort_by_activity_name(list: &mut Value) {
    if let Some(a) = list.as_array_mut() {
        a.sort_by_key(|r| r["activity"]["name"].as_str().unwrap_or("").to_string());
    }
}

fn normalize_journal(text: &str, ph: &Placeholders, sort_runs: bool) -> Value {
    let mut j: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({ "<unparsable journal>": e.to_string() }),
    };
    if let Some(obj) = j.as_object_mut() {
        for k in ["chaoslib-version", "platform", "node"] {
            if let Some(v) = obj.get_mut(k) {
                *v = json!("<ignored>");
            }
        }
        for k in ["start", "end"] {
            if let Some(v) = obj.get_mut(k) {
                *v = json!("<timestamp>");
            }
        }
        if let Some(v) = obj.get_mut("duration") {
            *v = json!("<duration>");
        }
        if let Some(ss) = obj.get_mut("steady_states") {
            for k in ["before", "after"] {
                if let Some(probes) = ss
                    .get_mut(k)
                    .and_then(|s| s.get_mut("probes"))
                    .and_then(Value::as_array_mut)
                {
                    probes.iter_mut().for_each(normalize_record);
                }
            }
            if let Some(during) = ss.get_mut("during").and_then(Value::as_array_mut) {
                for st in during {
                    if let Some(probes) = st.get_mut("probes").and_then(Value::as_array_mut) {
                        probes.iter_mut().for_each(normalize_record);
                    }
                }
            }
        }
        for k in ["run", "rollbacks"] {
            if let Some(list) = obj.get_mut(k) {
                if let Some(a) = list.as_array_mut() {
                    a.iter_mut().for_each(normalize_record);
                }
                if sort_runs {
                    sort_by_activity_name(list);
                }
            }
        }
    }
    normalize_strings(&mut j, ph);
    j
}

fn normalize(case: &Case, raw: &RawRun, ph: &Placeholders) -> Value {
    let (mut log, keys) = normalize_log(&raw.stderr, ph);
    if case.spec.get("log_order").and_then(Value::as_str) == Some("unordered") {
        log.sort();
    }
    let journal = raw
        .journal
        .as_deref()
        .map(|t| normalize_journal(t, ph, case.flag("sort_runs")))
        .unwrap_or(Value::Null);
    let mut out = Map::new();
    out.insert("exit".into(), json!(raw.exit));
    out.insert("log".into(), json!(log));
    if let Some(k) = keys {
        out.insert("log_json_keys".into(), json!(k));
    }
    out.insert("journal".into(), journal);
    Value::Object(out)
}

// ---------------------------------------------------------------- comparing

fn show(v: Option<&Value>) -> String {
    match v {
        None => "<absent>".into(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 300 {
                format!(
                    "{}…",
                    &s[..s.char_indices().nth(300).map(|(i, _)| i).unwrap_or(s.len())]
                )
            } else {
                s
            }
        }
    }
}

fn json_diff(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().collect();
            for k in y.keys() {
                if !x.contains_key(k) {
                    keys.push(k);
                }
            }
            for k in keys {
                json_diff(&format!("{path}.{k}"), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            if x.len() != y.len() {
                out.push(format!(
                    "{path}: length reference={} ours={}",
                    x.len(),
                    y.len()
                ));
            }
            for i in 0..x.len().max(y.len()) {
                json_diff(&format!("{path}[{i}]"), x.get(i), y.get(i), out);
            }
        }
        (a, b) => {
            if a != b {
                out.push(format!("{path}: reference={} ours={}", show(a), show(b)));
            }
        }
    }
}

fn log_diff(a: &[String], b: &[String]) -> Vec<String> {
    // LCS table, then a unified listing.
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push(format!("      {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i][j + 1] >= t[i + 1][j]) {
            out.push(format!("    + {}", b[j]));
            j += 1;
        } else {
            out.push(format!("    - {}", a[i]));
            i += 1;
        }
    }
    out
}

/// Compares two normalised results on the given aspects; returns readable diffs.
fn compare(reference: &Value, ours: &Value, aspects: &[String]) -> Vec<String> {
    let mut diffs = Vec::new();
    for aspect in aspects {
        match aspect.as_str() {
            "exit" => {
                if reference["exit"] != ours["exit"] {
                    diffs.push(format!(
                        "  exit code: reference={} ours={}",
                        reference["exit"], ours["exit"]
                    ));
                }
            }
            "log" => {
                let a: Vec<String> =
                    serde_json::from_value(reference["log"].clone()).unwrap_or_default();
                let b: Vec<String> =
                    serde_json::from_value(ours["log"].clone()).unwrap_or_default();
                if a != b {
                    diffs.push("  console log (- reference only, + ours only):".into());
                    diffs.extend(log_diff(&a, &b));
                }
                if reference.get("log_json_keys") != ours.get("log_json_keys") {
                    diffs.push(format!(
                        "  json log keys: reference={} ours={}",
                        show(reference.get("log_json_keys")),
                        show(ours.get("log_json_keys"))
                    ));
                }
            }
            "journal" => {
                let mut d = Vec::new();
                json_diff(
                    "journal",
                    Some(&reference["journal"]),
                    Some(&ours["journal"]),
                    &mut d,
                );
                if !d.is_empty() {
                    let total = d.len();
                    diffs.push(format!("  journal ({total} difference(s)):"));
                    diffs.extend(d.into_iter().take(30).map(|l| format!("    {l}")));
                    if total > 30 {
                        diffs.push(format!("    … {} more", total - 30));
                    }
                }
            }
            other => diffs.push(format!("  unknown aspect in case.json `compare`: {other}")),
        }
    }
    diffs
}

/// A copy of a normalised result with the given journal pointers removed.
fn without(result: &Value, pointers: &[String]) -> Value {
    let mut copy = result.clone();
    for pointer in pointers {
        let Some((parent, key)) = pointer.rsplit_once('/') else {
            continue;
        };
        if let Some(Value::Object(map)) =
            copy.get_mut("journal").and_then(|j| j.pointer_mut(parent))
        {
            map.remove(key);
        }
    }
    copy
}

/// Checks an expectation block (`"reference": {...}` / `"ours": {...}`).
fn check_expectations(side: Side, result: &Value, spec: Option<&Value>) -> Vec<String> {
    let Some(spec) = spec.and_then(Value::as_object) else {
        return vec![];
    };
    let mut errs = Vec::new();
    let who = side.name();
    let log: Vec<String> = serde_json::from_value(result["log"].clone()).unwrap_or_default();
    for (k, want) in spec {
        match k.as_str() {
            "exit" => {
                if &result["exit"] != want {
                    errs.push(format!(
                        "  {who}: exit code {} (expected {want})",
                        result["exit"]
                    ));
                }
            }
            "journal" => {
                let present = !result["journal"].is_null();
                if Some(present) != want.as_bool() {
                    errs.push(format!(
                        "  {who}: journal present={present} (expected {want})"
                    ));
                }
            }
            "status" | "deviated" => {
                let got = result["journal"]
                    .get(k.as_str())
                    .cloned()
                    .unwrap_or(Value::Null);
                if &got != want {
                    errs.push(format!("  {who}: journal {k}={got} (expected {want})"));
                }
            }
            "log_contains" | "log_absent" => {
                for needle in want
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let found = log.iter().any(|l| l.contains(needle));
                    if found != (k == "log_contains") {
                        errs.push(format!(
                            "  {who}: log line containing {needle:?} {}",
                            if found {
                                "is present (expected absent)"
                            } else {
                                "is missing"
                            }
                        ));
                    }
                }
            }
            "journal_pointer" => {
                // {"/run/0/status": "succeeded", ...}
                for (ptr, v) in want.as_object().into_iter().flatten() {
                    let got = result["journal"].pointer(ptr).cloned();
                    if got.as_ref() != Some(v) && !(v.is_null() && got.is_none()) {
                        errs.push(format!(
                            "  {who}: journal{ptr}={} (expected {v})",
                            show(got.as_ref())
                        ));
                    }
                }
            }
            other => errs.push(format!("  unknown expectation key {other:?}")),
        }
    }
    errs
}

// ---------------------------------------------------------------- per-oracle plans

const ALL_ASPECTS: [&str; 3] = ["exit", "journal", "log"];

/// How our result is compared with one oracle's.
struct Plan {
    /// The aspects compared and the journal pointers ignored, `differs_from.<oracle>`
    /// applied.
    aspects: Vec<String>,
    ignored: Vec<String>,
    /// The same without `differs_from.<oracle>` (to tell a stale entry).
    base_aspects: Vec<String>,
    base_ignored: Vec<String>,
    /// `differs_from.<oracle>.why`: the declared difference.
    why: Option<String>,
    /// The expectation block checked on this oracle's live result.
    reference_expect: Option<Value>,
    /// `skip_oracle.<oracle>`: why this oracle cannot run the case at all (it is then
    /// neither run nor recorded nor compared).
    skipped: Option<String>,
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| format!("{what} must be a list of strings"))
}

fn check_aspects(list: &[String], what: &str) -> Result<(), String> {
    match list.iter().find(|a| !ALL_ASPECTS.contains(&a.as_str())) {
        Some(a) => Err(format!(
            "{what}: unknown aspect {a:?} (exit, journal or log)"
        )),
        None => Ok(()),
    }
}

/// The comparison plan of `case` against `oracle`: the top-level `compare`,
/// `expect_difference`, `ignore_journal` and `reference` keys apply to both oracles;
/// `differs_from.<oracle>` (`why`, required; `compare`, replacing the aspects;
/// `ignore_journal`, added pointers; `reference`, replacing the expectations) declares
/// where our binary knowingly differs from that oracle only.
fn plan(case: &Case, oracle: Oracle) -> Result<Plan, String> {
    let base_aspects: Vec<String> = match case.spec.get("compare") {
        Some(v) => string_list(v, "compare")?,
        None if case.spec.get("expect_difference").is_some() => vec![],
        None => ALL_ASPECTS.iter().map(|a| a.to_string()).collect(),
    };
    check_aspects(&base_aspects, "compare")?;
    let base_ignored = match case.spec.get("ignore_journal") {
        Some(v) => string_list(v, "ignore_journal")?,
        None => vec![],
    };
    let mut p = Plan {
        aspects: base_aspects.clone(),
        ignored: base_ignored.clone(),
        base_aspects,
        base_ignored,
        why: None,
        reference_expect: case.spec.get("reference").cloned(),
        skipped: None,
    };
    if let Some(skip) = case.spec.get("skip_oracle") {
        let skip = skip
            .as_object()
            .ok_or("`skip_oracle` must be an object: {\"<oracle>\": \"why\"}")?;
        for (k, v) in skip {
            if !ORACLES.iter().any(|o| o.key() == k.as_str()) {
                return Err(format!(
                    "skip_oracle: unknown oracle {k:?} (`pinned` or `latest`)"
                ));
            }
            if v.as_str().is_none_or(|w| w.trim().is_empty()) {
                return Err(format!(
                    "skip_oracle.{k} must say why that reference cannot run the case"
                ));
            }
        }
        if skip.len() == ORACLES.len() {
            return Err("skip_oracle: a case must run through at least one reference".into());
        }
        p.skipped = skip
            .get(oracle.key())
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let Some(differs) = case.spec.get("differs_from") else {
        return Ok(p);
    };
    let differs = differs
        .as_object()
        .ok_or("`differs_from` must be an object keyed by oracle (`pinned`, `latest`)")?;
    if let Some(k) = differs
        .keys()
        .find(|k| !ORACLES.iter().any(|o| o.key() == k.as_str()))
    {
        return Err(format!(
            "differs_from: unknown oracle {k:?} (`pinned` or `latest`)"
        ));
    }
    let Some(entry) = differs.get(oracle.key()) else {
        return Ok(p);
    };
    let what = format!("differs_from.{}", oracle.key());
    let entry = entry
        .as_object()
        .ok_or_else(|| format!("{what} must be an object with at least `why`"))?;
    for (k, v) in entry {
        match k.as_str() {
            "why" => {
                p.why = v
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_string);
            }
            "compare" => {
                p.aspects = string_list(v, &format!("{what}.compare"))?;
                check_aspects(&p.aspects, &format!("{what}.compare"))?;
            }
            "ignore_journal" => p
                .ignored
                .extend(string_list(v, &format!("{what}.ignore_journal"))?),
            "reference" => p.reference_expect = Some(v.clone()),
            other => {
                return Err(format!(
                    "{what}: unknown key {other:?} (why, compare, ignore_journal, reference)"
                ))
            }
        }
    }
    if p.why.is_none() {
        return Err(format!(
            "{what}.why must say why we differ and what will close the difference"
        ));
    }
    Ok(p)
}

// ---------------------------------------------------------------- driver

struct Outcome {
    name: String,
    ok: bool,
    lines: Vec<String>,
    /// The aspects on which the two oracles' results (live or recorded) differ, when both
    /// were at hand.
    oracle_diff: Option<Vec<String>>,
    /// The declared differences (`differs_from`), by oracle.
    declared: Vec<(Oracle, String)>,
    /// The oracles this case skips (`skip_oracle`), with the reason.
    skipped: Vec<(Oracle, String)>,
}

#[derive(Clone, Copy)]
struct Mode {
    /// Which oracles run live (indexed by `Oracle as usize`); the others are compared
    /// through their recorded golden when our binary runs.
    live: [bool; 2],
    run_ours: bool,
    update_golden: bool,
}

impl Mode {
    fn live(self, o: Oracle) -> bool {
        self.live[o as usize]
    }
}

fn read_golden(path: &Path) -> Option<Value> {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

/// `compare`'s lines, relabelled for `oracle` and indented one more level.
fn labelled(diffs: Vec<String>, oracle: Oracle, ours: &str) -> Vec<String> {
    let key = oracle.key();
    diffs
        .into_iter()
        .map(|l| {
            format!(
                "  {}",
                l.replace("reference=", &format!("{key}="))
                    .replace("ours=", &format!("{ours}="))
                    .replace("- reference only", &format!("- {key} only"))
                    .replace("+ ours only", &format!("+ {ours} only"))
            )
        })
        .collect()
}

/// A reference result with the secrets masked as Shakedown masks them on purpose
/// (docs/compatibility.md, engine::redact): the inline secrets in the journal's copy of the
/// experiment, and the case's `secret_values` everywhere in the journal and the log. Ours
/// is compared as it is, so a secret we fail to mask is a difference.
fn as_shakedown_masks(case: &Case, reference: &Value) -> Value {
    let mut reference = reference.clone();
    if let Some(experiment) = reference.pointer_mut("/journal/experiment") {
        engine::redact::mask_inline_secrets(experiment);
    }
    let redactor = engine::redact::Redactor::new(case.str_list("secret_values"));
    for key in ["journal", "log"] {
        if let Some(v) = reference.get_mut(key) {
            redactor.value(v);
        }
    }
    reference
}

/// Our result against one oracle's under `plan`: the differences, and a stale
/// `differs_from` entry (one that no longer hides any difference) as an error too.
fn compare_with_oracle(
    reference: &Value,
    ours: &Value,
    plan: &Plan,
    oracle: Oracle,
    how: &str,
) -> Vec<String> {
    let mut lines = Vec::new();
    let d = compare(
        &without(reference, &plan.ignored),
        &without(ours, &plan.ignored),
        &plan.aspects,
    );
    if !d.is_empty() {
        lines.push(format!(
            "  ours vs the {} reference ({}, {how}):",
            oracle.key(),
            oracle.versions()
        ));
        lines.extend(labelled(d, oracle, "ours"));
    }
    if plan.why.is_some() && !plan.base_aspects.is_empty() {
        let base = compare(
            &without(reference, &plan.base_ignored),
            &without(ours, &plan.base_ignored),
            &plan.base_aspects,
        );
        if base.is_empty() {
            lines.push(format!(
                "  differs_from.{key} is stale: ours now matches the {key} reference ({}) on every \
                 aspect the case compares; remove the entry (and its row in docs/compatibility.md)",
                oracle.versions(),
                key = oracle.key(),
            ));
        }
    }
    lines
}

fn run_case(case: &Case, mode: Mode, ours_bin: &Path) -> Outcome {
    let mut lines = Vec::new();
    let mut ok = true;
    let mut plans = Vec::new();
    for o in ORACLES {
        match plan(case, o) {
            Ok(p) => plans.push(p),
            Err(e) => {
                return Outcome {
                    name: case.name.clone(),
                    ok: false,
                    lines: vec![format!("  case.json: {e}")],
                    oracle_diff: None,
                    declared: vec![],
                    skipped: vec![],
                }
            }
        }
    }
    let declared: Vec<(Oracle, String)> = ORACLES
        .iter()
        .filter_map(|&o| plans[o as usize].why.clone().map(|w| (o, w)))
        .collect();
    let skipped: Vec<(Oracle, String)> = ORACLES
        .iter()
        .filter_map(|&o| plans[o as usize].skipped.clone().map(|w| (o, w)))
        .collect();

    // Each oracle's result: live, or its recorded golden when our binary runs.
    let mut results: Vec<Option<(Value, &'static str)>> = vec![None, None];
    for o in ORACLES {
        if plans[o as usize].skipped.is_some() {
            continue;
        }
        let golden_path = case.dir.join(o.golden_file());
        let golden = read_golden(&golden_path);
        let key = o.key();
        if mode.live(o) {
            let side = Side::Reference(o);
            let (raw, ph) = run_side(case, side, &o.bin());
            if raw.timed_out {
                ok = false;
                lines.push(format!("  {}: timed out", side.name()));
            }
            if let Some(n) = &raw.signal_note {
                ok = false;
                lines.push(format!("  {}: {n}", side.name()));
            }
            let norm = normalize(case, &raw, &ph);
            let errs = check_expectations(side, &norm, plans[o as usize].reference_expect.as_ref());
            if !errs.is_empty() {
                ok = false;
                lines.extend(errs);
            }
            if mode.update_golden {
                let text = serde_json::to_string_pretty(&norm).expect("journal JSON") + "\n";
                fs::write(&golden_path, text)
                    .unwrap_or_else(|e| panic!("write {}: {e}", golden_path.display()));
            } else if let Some(g) = &golden {
                let d = compare(g, &norm, &ALL_ASPECTS.map(String::from));
                if !d.is_empty() {
                    lines.push(format!(
                        "  note: the {key} reference ({}) no longer matches {} \
                         (SHAKEDOWN_DIFF_ORACLE={key} SHAKEDOWN_UPDATE_GOLDEN=1 refreshes it):",
                        o.versions(),
                        o.golden_file()
                    ));
                    lines.extend(
                        d.into_iter()
                            .map(|l| l.replace("reference=", "golden=").replace("ours=", "now=")),
                    );
                    if !mode.run_ours {
                        ok = false;
                    }
                }
            } else if !mode.run_ours {
                lines.push(format!(
                    "  note: no {} yet (SHAKEDOWN_DIFF_ORACLE={key} SHAKEDOWN_UPDATE_GOLDEN=1 writes it)",
                    o.golden_file()
                ));
            }
            results[o as usize] = Some((norm, "live"));
        } else if mode.run_ours {
            match golden {
                Some(g) => results[o as usize] = Some((g, "recorded")),
                None => {
                    ok = false;
                    lines.push(format!(
                        "  no {} golden for the {key} reference ({}): record it with \
                         SHAKEDOWN_DIFF_ORACLE={key} SHAKEDOWN_UPDATE_GOLDEN=1 SHAKEDOWN_DIFF_CASES={} \
                         (or, if that reference cannot run the case, say why in case.json: \
                         \"skip_oracle\": {{\"{key}\": \"why\"}})",
                        o.golden_file(),
                        o.versions(),
                        case.name
                    ));
                }
            }
        }
    }

    // Where the two references disagree (for the summary).
    let oracle_diff = match (&results[0], &results[1]) {
        (Some((p, _)), Some((l, _))) => Some(
            ALL_ASPECTS
                .iter()
                .filter(|a| !compare(p, l, &[a.to_string()]).is_empty())
                .map(|a| a.to_string())
                .collect(),
        ),
        _ => None,
    };

    if mode.run_ours {
        let (raw, ph) = run_side(case, Side::Ours, ours_bin);
        if raw.timed_out {
            ok = false;
            lines.push("  ours: timed out".into());
        }
        if let Some(n) = &raw.signal_note {
            lines.push(format!("  ours: {n}"));
        }
        let norm = normalize(case, &raw, &ph);
        let errs = check_expectations(Side::Ours, &norm, case.spec.get("ours"));
        if !errs.is_empty() {
            ok = false;
            lines.extend(errs);
        }
        for o in ORACLES {
            let Some((r, how)) = &results[o as usize] else {
                continue;
            };
            let r = as_shakedown_masks(case, r);
            let d = compare_with_oracle(&r, &norm, &plans[o as usize], o, how);
            if !d.is_empty() {
                ok = false;
                lines.extend(d);
            }
        }
    }
    Outcome {
        name: case.name.clone(),
        ok,
        lines,
        oracle_diff,
        declared,
        skipped,
    }
}

/// Fails, with the command that fixes it, when a live oracle's venv is missing or holds
/// another version.
fn check_oracle_installed(o: Oracle, bin: &Path) -> Result<(), String> {
    let fix = format!(
        "run {} first, or set SHAKEDOWN_DIFF_GOLDEN_ONLY=1 to compare with the recorded goldens only",
        o.script()
    );
    if !bin.is_file() {
        return Err(format!(
            "the {} reference ({}) is missing: {} does not exist; {fix}",
            o.key(),
            o.versions(),
            bin.display()
        ));
    }
    let want = o
        .versions()
        .split_whitespace()
        .nth(1)
        .expect("versions() starts with `chaostoolkit X`");
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}; {fix}", bin.display()))?;
    let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if got != format!("chaos, version {want}") {
        return Err(format!(
            "{} reports {got:?}, not chaostoolkit {want}; {fix}",
            bin.display()
        ));
    }
    Ok(())
}

#[test]
fn differential() {
    let started = Instant::now();
    let golden_only = env_flag("SHAKEDOWN_DIFF_GOLDEN_ONLY");
    let only_reference = env_flag("SHAKEDOWN_DIFF_ONLY_REFERENCE");
    let update_golden = env_flag("SHAKEDOWN_UPDATE_GOLDEN");
    let oracle_choice = std::env::var("SHAKEDOWN_DIFF_ORACLE").unwrap_or_default();
    let mut live = match oracle_choice.trim() {
        "" | "pinned" => [true, false],
        "latest" => [false, true],
        "both" => [true, true],
        other => panic!(
            "SHAKEDOWN_DIFF_ORACLE={other:?}: use `pinned` (the default), `latest` or `both`"
        ),
    };
    assert!(
        !(golden_only && only_reference),
        "SHAKEDOWN_DIFF_GOLDEN_ONLY and SHAKEDOWN_DIFF_ONLY_REFERENCE together would run nothing"
    );
    if golden_only {
        live = [false, false];
    }
    let mode = Mode {
        live,
        run_ours: !only_reference,
        update_golden: update_golden && !golden_only,
    };
    let problems: Vec<String> = ORACLES
        .iter()
        .filter(|&&o| mode.live(o))
        .filter_map(|&o| check_oracle_installed(o, &o.bin()).err())
        .collect();
    if !problems.is_empty() {
        panic!("{}", problems.join("\n"));
    }
    let ours_bin = PathBuf::from(env!("CARGO_BIN_EXE_chaos"));
    let cases = load_cases();
    assert!(
        !cases.is_empty(),
        "no differential cases found (check SHAKEDOWN_DIFF_CASES)"
    );
    let describe = |o: Oracle| {
        if mode.live(o) {
            "live"
        } else if mode.run_ours {
            "recorded"
        } else {
            "unused"
        }
    };
    eprintln!(
        "differential: {} case(s); pinned reference ({}): {}; newest reference ({}): {}; ours={} update_golden={}",
        cases.len(),
        Oracle::Pinned.versions(),
        describe(Oracle::Pinned),
        Oracle::Latest.versions(),
        describe(Oracle::Latest),
        mode.run_ours,
        mode.update_golden
    );

    let queue = Arc::new(Mutex::new(
        cases.into_iter().collect::<std::collections::VecDeque<_>>(),
    ));
    let results = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let workers: Vec<_> = (0..PARALLELISM)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let ours_bin = ours_bin.clone();
            thread::spawn(move || loop {
                let Some(case) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let outcome = run_case(&case, mode, &ours_bin);
                {
                    // One block per case, printed as soon as it is known.
                    let mut text = format!(
                        "{} {}\n",
                        if outcome.ok { "ok  " } else { "FAIL" },
                        outcome.name
                    );
                    for l in &outcome.lines {
                        text.push_str(l);
                        text.push('\n');
                    }
                    eprint!("{text}");
                }
                results.lock().unwrap().push(outcome);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let mut results = results.lock().unwrap();
    results.sort_by(|a, b| a.name.cmp(&b.name));

    // Where the two references disagree, and what the cases declare.
    let compared: Vec<&Outcome> = results.iter().filter(|o| o.oracle_diff.is_some()).collect();
    if !compared.is_empty() {
        let differing: Vec<&&Outcome> = compared
            .iter()
            .filter(|o| o.oracle_diff.as_ref().is_some_and(|d| !d.is_empty()))
            .collect();
        eprintln!(
            "\nthe two references differ on {} of {} case(s):",
            differing.len(),
            compared.len()
        );
        for o in differing {
            let declared: Vec<&str> = o.declared.iter().map(|(k, _)| k.key()).collect();
            eprintln!(
                "  {:<48} {:<20} declared: {}",
                o.name,
                o.oracle_diff
                    .as_ref()
                    .map(|d| d.join(","))
                    .unwrap_or_default(),
                if declared.is_empty() {
                    "-".to_string()
                } else {
                    format!("differs_from.{}", declared.join(", differs_from."))
                }
            );
        }
    }
    let declared: Vec<(&str, Oracle, &str)> = results
        .iter()
        .flat_map(|o| {
            o.declared
                .iter()
                .map(|(k, w)| (o.name.as_str(), *k, w.as_str()))
        })
        .collect();
    if !declared.is_empty() {
        eprintln!("\ndeclared differences (differs_from), {}:", declared.len());
        for (name, o, why) in declared {
            eprintln!("  {name} (vs {}): {why}", o.key());
        }
    }

    let skipped: Vec<(&str, Oracle, &str)> = results
        .iter()
        .flat_map(|o| {
            o.skipped
                .iter()
                .map(|(k, w)| (o.name.as_str(), *k, w.as_str()))
        })
        .collect();
    if !skipped.is_empty() {
        eprintln!(
            "\nnot run through one reference (skip_oracle), {}:",
            skipped.len()
        );
        for (name, o, why) in skipped {
            eprintln!("  {name} (not vs {}): {why}", o.key());
        }
    }

    let failed: Vec<&str> = results
        .iter()
        .filter(|o| !o.ok)
        .map(|o| o.name.as_str())
        .collect();
    let passed = results.len() - failed.len();
    eprintln!(
        "\n{passed} passed, {} failed in {:.1} s",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        panic!(
            "{} differential case(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
}

/// A missing virtualenv fails the tier with the script that installs it (never a skip).
#[test]
fn missing_oracle_names_its_install_script() {
    let nowhere = Path::new("/nonexistent/reference-venv-latest/bin/chaos");
    let err = check_oracle_installed(Oracle::Latest, nowhere).unwrap_err();
    assert!(err.contains("scripts/reference-venv-latest"), "{err}");
    assert!(err.contains("chaostoolkit 1.21.4"), "{err}");
    let err = check_oracle_installed(Oracle::Pinned, nowhere).unwrap_err();
    assert!(err.contains("run scripts/reference-venv first"), "{err}");
}

/// What differs only because the oracles run on different Pythons is normalised away.
#[test]
fn python_incidentals_are_normalised() {
    let venv = Oracle::Latest.venv_dir().to_string_lossy().to_string();
    let pinned = Oracle::Pinned.venv_dir().to_string_lossy().to_string();
    assert_eq!(
        normalize_python_incidentals(&format!("{venv}/lib/python3.12/site-packages/x.py")),
        "{venv}/lib/python3.X/site-packages/x.py"
    );
    assert_eq!(
        normalize_python_incidentals(&format!("{pinned}/lib/python3.11/site-packages/x.py")),
        "{venv}/lib/python3.X/site-packages/x.py"
    );
    assert_eq!(
        normalize_python_incidentals("/usr/lib/python3.12/json/decoder.py and python3.12"),
        "/usr/lib/python3.X/json/decoder.py and python3.12"
    );
}

fn test_case(spec: Value) -> Case {
    Case {
        name: "t".into(),
        dir: PathBuf::from("/nonexistent"),
        spec,
    }
}

/// `differs_from.<oracle>` narrows the comparison with that oracle only, needs a `why`,
/// and is reported as stale once it hides nothing.
#[test]
fn differs_from_applies_to_one_oracle() {
    let case = test_case(json!({
        "description": "d",
        "differs_from": {"latest": {"why": "newer key", "ignore_journal": ["/interruption"]}}
    }));
    let pinned = plan(&case, Oracle::Pinned).unwrap();
    let latest = plan(&case, Oracle::Latest).unwrap();
    assert!(pinned.why.is_none() && pinned.ignored.is_empty());
    assert_eq!(latest.ignored, vec!["/interruption".to_string()]);
    assert_eq!(latest.aspects, ALL_ASPECTS.map(String::from).to_vec());

    let ours = json!({"exit": 1, "log": [], "journal": {"status": "interrupted"}});
    let newest = json!({"exit": 1, "log": [], "journal": {"status": "interrupted",
        "interruption": {"kind": "signal", "name": "SIGINT", "reason": "received SIGINT"}}});
    assert!(compare_with_oracle(&newest, &ours, &latest, Oracle::Latest, "live").is_empty());
    // The same difference, undeclared against the pinned oracle, fails.
    let d = compare_with_oracle(&newest, &ours, &pinned, Oracle::Pinned, "live");
    assert!(
        d.iter().any(|l| l.contains("journal.interruption")),
        "{d:?}"
    );
    // Once ours matches, the declaration is stale.
    let d = compare_with_oracle(&ours, &ours, &latest, Oracle::Latest, "live");
    assert!(d.iter().any(|l| l.contains("is stale")), "{d:?}");
    // Any other difference still shows.
    let other = json!({"exit": 0, "log": [], "journal": {"status": "interrupted"}});
    let d = compare_with_oracle(&other, &ours, &latest, Oracle::Latest, "recorded");
    assert!(
        d.iter().any(|l| l.contains("exit code: latest=0 ours=1")),
        "{d:?}"
    );
}

#[test]
fn malformed_oracle_keys_are_errors() {
    for spec in [
        json!({"differs_from": {"latest": {"ignore_journal": ["/x"]}}}),
        json!({"differs_from": {"latest": {"why": "w", "compare": ["stdout"]}}}),
        json!({"differs_from": {"latest": {"why": "w", "extra": 1}}}),
        json!({"differs_from": {"newest": {"why": "w"}}}),
        json!({"differs_from": {"latest": "just text"}}),
        json!({"skip_oracle": {"latest": ""}}),
        json!({"skip_oracle": {"pinned": "a", "latest": "b"}}),
    ] {
        let case = test_case(spec.clone());
        assert!(plan(&case, Oracle::Latest).is_err(), "accepted: {spec}");
    }
    let case = test_case(json!({"skip_oracle": {"latest": "extension not installed there"}}));
    assert!(plan(&case, Oracle::Latest).unwrap().skipped.is_some());
    assert!(plan(&case, Oracle::Pinned).unwrap().skipped.is_none());
}
