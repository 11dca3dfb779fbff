//! Differential tests: every case under `tests/differential/cases/` is run
//! through the Python reference (`target/reference-venv/bin/chaos`, see
//! `scripts/reference-venv`) and through our `chaos`, and the normalised
//! results (exit code, journal, console log) are compared.
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Reference,
    Ours,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Reference => "reference",
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
            if top && (fname == "case.json" || fname == "reference.json") {
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
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
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
    reset_signal_dispositions(&mut cmd);

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

/// A test run from a background job inherits SIGINT (and maybe others) as
/// *ignored*; Python then never installs its KeyboardInterrupt handler and the
/// SIGINT cases would silently test nothing. Give the child default
/// dispositions and an empty signal mask.
fn reset_signal_dispositions(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGUSR1,
                libc::SIGUSR2,
                libc::SIGQUIT,
                libc::SIGHUP,
            ] {
                libc::signal(sig, libc::SIG_DFL);
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
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

/// `ignore_journal`: JSON pointers into the journal where Shakedown differs on purpose
/// (each one is explained by the case's `description` and in docs/compatibility.md).
fn ignored_pointers(spec: &Value) -> Vec<String> {
    spec.get("ignore_journal")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
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

// ---------------------------------------------------------------- driver

struct Outcome {
    name: String,
    ok: bool,
    lines: Vec<String>,
}

#[derive(Clone, Copy)]
struct Mode {
    run_reference: bool,
    run_ours: bool,
    update_golden: bool,
}

fn run_case(case: &Case, mode: Mode, ours_bin: &Path) -> Outcome {
    let mut lines = Vec::new();
    let mut ok = true;
    let golden_path = case.dir.join("reference.json");
    let golden: Option<Value> = fs::read_to_string(&golden_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let expect_difference = case.spec.get("expect_difference").and_then(Value::as_str);
    let default_aspects: Vec<String> = if expect_difference.is_some() {
        vec![]
    } else {
        vec!["exit".into(), "journal".into(), "log".into()]
    };
    let aspects: Vec<String> = case
        .spec
        .get("compare")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or(default_aspects);

    let reference;
    if mode.run_reference {
        let (raw, ph) = run_side(case, Side::Reference, &reference_bin());
        if raw.timed_out {
            ok = false;
            lines.push("  reference: timed out".into());
        }
        if let Some(n) = &raw.signal_note {
            ok = false;
            lines.push(format!("  reference: {n}"));
        }
        let norm = normalize(case, &raw, &ph);
        let errs = check_expectations(Side::Reference, &norm, case.spec.get("reference"));
        if !errs.is_empty() {
            ok = false;
            lines.extend(errs);
        }
        if mode.update_golden {
            let text = serde_json::to_string_pretty(&norm).expect("journal JSON") + "\n";
            fs::write(&golden_path, text)
                .unwrap_or_else(|e| panic!("write {}: {e}", golden_path.display()));
        } else if let Some(g) = &golden {
            let d = compare(g, &norm, &["exit".into(), "journal".into(), "log".into()]);
            if !d.is_empty() {
                lines.push("  note: the reference no longer matches reference.json (run with SHAKEDOWN_UPDATE_GOLDEN=1 to refresh):".into());
                lines.extend(d.into_iter().map(|l| l.replace("ours=", "now=")));
                if !mode.run_ours {
                    ok = false;
                }
            }
        } else if !mode.run_ours {
            lines
                .push("  note: no reference.json yet (SHAKEDOWN_UPDATE_GOLDEN=1 writes it)".into());
        }
        reference = Some(norm);
    } else {
        reference = golden.clone();
        if reference.is_none() {
            ok = false;
            lines.push("  no reference.json golden for this case".into());
        }
    }

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
        if let Some(r) = &reference {
            let ignored = ignored_pointers(&case.spec);
            let d = compare(&without(r, &ignored), &without(&norm, &ignored), &aspects);
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
    }
}

#[test]
fn differential() {
    let golden_only = env_flag("SHAKEDOWN_DIFF_GOLDEN_ONLY");
    let only_reference = env_flag("SHAKEDOWN_DIFF_ONLY_REFERENCE");
    let update_golden = env_flag("SHAKEDOWN_UPDATE_GOLDEN");
    let mode = Mode {
        run_reference: !golden_only,
        run_ours: !only_reference,
        update_golden: update_golden && !golden_only,
    };
    if mode.run_reference && !reference_bin().is_file() {
        panic!(
            "the Python reference is missing ({}): run scripts/reference-venv first \
             (or set SHAKEDOWN_DIFF_GOLDEN_ONLY=1 to compare against the recorded reference.json goldens)",
            reference_bin().display()
        );
    }
    let ours_bin = PathBuf::from(env!("CARGO_BIN_EXE_chaos"));
    let cases = load_cases();
    assert!(
        !cases.is_empty(),
        "no differential cases found (check SHAKEDOWN_DIFF_CASES)"
    );
    eprintln!(
        "differential: {} case(s), reference={} ours={} update_golden={}",
        cases.len(),
        mode.run_reference,
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
    let results = results.lock().unwrap();
    let failed: Vec<&str> = results
        .iter()
        .filter(|o| !o.ok)
        .map(|o| o.name.as_str())
        .collect();
    let passed = results.len() - failed.len();
    eprintln!("{passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        panic!(
            "{} differential case(s) failed: {}",
            failed.len(),
            failed.join(", ")
        );
    }
}
