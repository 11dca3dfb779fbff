//! Acceptance on real experiments written by others (`../shared/corpus`): every experiment
//! loads and validates, or fails validation with the reference's verdict and message; the
//! ones that need no cluster run, with the reference's status and exit code.
//!
//! Experiments embedded in Kubernetes ConfigMaps (the book's in-cluster runs) are extracted
//! and checked too. The reference used is the plain one (`scripts/reference-venv`), which has
//! no `chaosk8s` installed: where it answers "could not find Python module 'm'" for a module
//! Shakedown provides natively, Shakedown validating the experiment is the expected outcome.
//!
//! The experiments that call home-grown Python modules (a talk's load generator, a demo's
//! probes, an article's interactive controls, a fork's unreleased `chaosk8s` functions, the
//! tracing, Humio and Slack plugins of the time) run through Shakedown's Python bridge with
//! `PYTHONPATH` at the stand-ins of `corpus_modules/` (see its README), and through the
//! reference too wherever it can run them. The stand-ins record every call they get in a
//! file the tests read: the arguments, the hooks, the events.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/reference.rs"]
mod reference;

use drivers_slack::stand_in::{Behaviour, JsonCall, StandIn};
use experiment::load::{self, Format};
use experiment::Value;
use reference::{reference_bin, strip_ansi, workspace_root};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    std::env::var_os("SHAKEDOWN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/corpus"))
}

fn ours_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chaos"))
}

/// An experiment found in the corpus: where it came from, and a file holding it.
struct Found {
    label: String,
    file: PathBuf,
}

fn is_experiment(v: &Value) -> bool {
    v.get("method").is_some() || v.get("steady-state-hypothesis").is_some()
}

/// YAML streams of Kubernetes manifests hold several documents; experiments are only read
/// one document at a time, so split on `---` lines.
fn yaml_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

fn collect(dir: &Path, scratch: &Path, out: &mut Vec<Found>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, scratch, out);
            continue;
        }
        let name = path.to_string_lossy().to_string();
        let Ok(format) = load::format_from_path(&name) else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let label = path
            .strip_prefix(corpus_dir())
            .unwrap_or(&path)
            .display()
            .to_string();
        let documents = match format {
            Format::Json => vec![text.clone()],
            Format::Yaml => yaml_documents(&text),
        };
        for doc in documents {
            let Ok(loaded) = load::parse(&doc, format, &name) else {
                continue;
            };
            if is_experiment(&loaded.value) {
                out.push(Found {
                    label: label.clone(),
                    file: path.clone(),
                });
                break;
            }
            // A ConfigMap whose data values are experiments.
            if loaded.value.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
                continue;
            }
            let data = loaded.value.get("data").and_then(Value::as_object);
            for (key, value) in data.into_iter().flatten() {
                let Some(embedded) = value.as_str() else {
                    continue;
                };
                let Ok(inner) = load::format_from_path(key) else {
                    continue;
                };
                let Ok(parsed) = load::parse(embedded, inner, key) else {
                    continue;
                };
                if !is_experiment(&parsed.value) {
                    continue;
                }
                let file = scratch.join(format!("{}-{}", out.len(), key));
                std::fs::write(&file, embedded).expect("write the extracted experiment");
                out.push(Found {
                    label: format!("{label} (ConfigMap data {key})"),
                    file,
                });
            }
        }
    }
}

/// Exit code and the ERROR/CRITICAL lines of `chaos validate`.
fn validate(bin: &Path, reference: bool, file: &Path, cwd: &Path) -> (i32, Vec<String>) {
    let mut cmd = Command::new(bin);
    if reference {
        cmd.arg("--no-version-check");
    }
    let out = cmd
        .args(["--no-log-file", "--settings"])
        .arg(cwd.join("no-settings.yaml"))
        .arg("validate")
        .arg(file)
        .current_dir(cwd)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run chaos validate");
    let errors = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| {
            let l = strip_ansi(l);
            let (_, rest) = l.split_once("] ")?;
            (l.contains(" ERROR]") || l.contains(" CRITICAL]")).then(|| rest.to_string())
        })
        .filter(|l| !l.starts_with("  => at "))
        .collect();
    (out.status.code().unwrap_or(-1), errors)
}

/// The module named by a reference "could not find Python module" error, if that is the error.
fn missing_module(errors: &[String]) -> Option<String> {
    let first = errors.first()?;
    let rest = first.strip_prefix("could not find Python module '")?;
    Some(rest.split('\'').next()?.to_string())
}

/// Modules Shakedown answers natively, from `chaos discover` of every package it knows.
fn native_modules(scratch: &Path) -> Vec<String> {
    let mut modules = vec!["os".to_string()];
    for package in [
        "chaostoolkit-kubernetes",
        "chaostoolkit-toxiproxy",
        "chaostoolkit-istio",
        "chaostoolkit-prometheus",
    ] {
        let path = scratch.join(format!("discovery-{package}.json"));
        let out = Command::new(ours_bin())
            .args(["--no-log-file", "discover", "--discovery-path"])
            .arg(&path)
            .arg(package)
            .current_dir(scratch)
            .output()
            .expect("run chaos discover");
        assert!(
            out.status.success(),
            "chaos discover exits 0 like the reference"
        );
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let discovery: Value = serde_json::from_str(&text).expect("discovery.json is JSON");
        for activity in discovery["activities"].as_array().into_iter().flatten() {
            if let Some(m) = activity["mod"].as_str() {
                modules.push(m.to_string());
            }
        }
    }
    modules.sort();
    modules.dedup();
    modules
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shakedown-corpus-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn require_inputs() {
    assert!(
        corpus_dir().is_dir(),
        "the corpus is missing at {} (set SHAKEDOWN_CORPUS to its path)",
        corpus_dir().display()
    );
    assert!(
        reference_bin().exists(),
        "the reference is missing at {}: run scripts/reference-venv",
        reference_bin().display()
    );
}

#[test]
fn every_corpus_experiment_validates_with_the_reference_verdict() {
    require_inputs();
    let scratch = scratch_dir("validate");
    let mut found = Vec::new();
    collect(&corpus_dir(), &scratch, &mut found);
    assert!(
        found.len() >= 30,
        "expected the corpus's 30+ experiments, found {}",
        found.len()
    );
    let native = native_modules(&scratch);
    let mut failures = Vec::new();
    let mut native_only = 0;
    for f in &found {
        let (ref_code, ref_errors) = validate(&reference_bin(), true, &f.file, &scratch);
        let (our_code, our_errors) = validate(&ours_bin(), false, &f.file, &scratch);
        let verdict = match missing_module(&ref_errors) {
            Some(m) if native.contains(&m) && ref_code == 1 => {
                // The reference lacks the plugin we provide natively. We must at least get
                // past that module; a later error must not be about it.
                let about_it = our_errors.iter().any(|e| e.contains(&format!("'{m}'")));
                if about_it {
                    Err(format!(
                        "ours still cannot find the native module {m}: {our_errors:?}"
                    ))
                } else {
                    native_only += 1;
                    Ok(())
                }
            }
            _ if ref_code == our_code && ref_errors.first() == our_errors.first() => Ok(()),
            _ => Err(format!(
                "reference exit {ref_code} {ref_errors:?}, ours exit {our_code} {our_errors:?}"
            )),
        };
        match verdict {
            Ok(()) => println!("ok   {}", f.label),
            Err(why) => {
                println!("FAIL {}: {why}", f.label);
                failures.push(f.label.clone());
            }
        }
    }
    println!(
        "{} experiments, {} validated natively where the plugin-less reference cannot",
        found.len(),
        native_only
    );
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "verdicts differ for: {failures:?}");
}

/// The service of *Learning Chaos Engineering* chapter 5: 200 while `exchange.dat` exists
/// in `dir`, 503 once it is gone. Serves `requests` connections then stops.
fn exchange_file_service(listener: TcpListener, dir: PathBuf, requests: usize) {
    for stream in listener.incoming().take(requests).flatten() {
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
            line.clear();
        }
        let status = if dir.join("exchange.dat").exists() {
            "200 OK"
        } else {
            "503 Service Unavailable"
        };
        let mut stream = &stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
}

fn run_chapter5(bin: &Path, reference: bool) -> (i32, Value) {
    let source = corpus_dir().join(
        "community-playground/learning-chaos-engineering-book-samples/chapter5/experiment.json",
    );
    let dir = scratch_dir(if reference { "ch5-ref" } else { "ch5-ours" });
    std::fs::write(dir.join("exchange.dat"), b"data").expect("exchange file");
    // The experiment hard-codes http://localhost:8080/.
    let listener = TcpListener::bind("127.0.0.1:8080").expect(
        "port 8080 on 127.0.0.1 is needed by the chapter 5 experiment, which hard-codes it",
    );
    let service_dir = dir.clone();
    // Two hypothesis runs, one probe each.
    let service = std::thread::spawn(move || exchange_file_service(listener, service_dir, 2));
    let mut cmd = Command::new(bin);
    if reference {
        cmd.arg("--no-version-check");
    }
    let out = cmd
        .args(["--no-log-file", "--settings"])
        .arg(dir.join("no-settings.yaml"))
        .arg("run")
        .arg(&source)
        .current_dir(&dir)
        .output()
        .expect("run chaos");
    let _ = service.join();
    let journal: Value = std::fs::read_to_string(dir.join("journal.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    assert!(
        dir.join("exchange.dat.old").exists(),
        "os.rename moved the exchange file ({}): {}",
        if reference { "reference" } else { "ours" },
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code().unwrap_or(-1), journal)
}

/// What matters in a journal for this comparison.
fn summary(journal: &Value) -> Value {
    let records = |list: &Value| -> Vec<Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                serde_json::json!([r["activity"]["name"], r["status"], r.get("tolerance_met")])
            })
            .collect()
    };
    serde_json::json!({
        "status": journal["status"],
        "deviated": journal["deviated"],
        "before": records(&journal["steady_states"]["before"]["probes"]),
        "after": records(&journal["steady_states"]["after"]["probes"]),
        "run": records(&journal["run"]),
        "run_output": journal["run"][0]["output"],
    })
}

#[test]
fn the_experiment_that_needs_no_cluster_runs_like_the_reference() {
    require_inputs();
    let (ref_code, ref_journal) = run_chapter5(&reference_bin(), true);
    let (our_code, our_journal) = run_chapter5(&ours_bin(), false);
    assert_eq!(our_code, ref_code, "exit codes");
    assert_eq!(summary(&our_journal), summary(&ref_journal));
    assert_eq!(our_journal["status"], "completed");
}

// ------------------------------------------------------------------------------------------
// Experiments with home-grown Python modules, through the bridge (stand-ins in corpus_modules)

fn corpus_modules() -> PathBuf {
    workspace_root().join("crates/cli/tests/corpus_modules")
}

/// The reference venv's interpreter: real chaoslib 1.44.0 and chaostoolkit-prometheus.
fn reference_python() -> PathBuf {
    workspace_root().join("target/reference-venv/bin/python")
}

fn playground(path: &str) -> PathBuf {
    corpus_dir().join("community-playground").join(path)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Reference,
    Ours,
}

impl Side {
    fn bin(self) -> PathBuf {
        match self {
            Side::Reference => reference_bin(),
            Side::Ours => ours_bin(),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Side::Reference => "reference",
            Side::Ours => "ours",
        }
    }
}

/// One `chaos` invocation on a corpus experiment with the stand-ins on `PYTHONPATH`.
struct Bridged<'a> {
    label: &'a str,
    command: &'a str,
    source: PathBuf,
    settings: Option<PathBuf>,
    /// `CHAOS_PYTHON`; `None` leaves the bridge on `python3` from `PATH`.
    python: Option<PathBuf>,
    env: Vec<(&'a str, String)>,
    /// Files to create in the working directory before the run.
    files: Vec<(&'a str, String)>,
    /// Put the `vegeta` stand-in on `PATH`.
    vegeta: bool,
}

impl<'a> Bridged<'a> {
    fn new(label: &'a str, command: &'a str, source: PathBuf) -> Self {
        Bridged {
            label,
            command,
            source,
            settings: None,
            python: Some(reference_python()),
            env: Vec::new(),
            files: Vec::new(),
            vegeta: false,
        }
    }
}

/// What a run produced: exit code, journal, the stand-ins' records (in call order, with
/// `replace` applied to their text) and the INFO-and-above console messages.
struct Observed {
    code: i32,
    journal: Value,
    records: Vec<Value>,
    log: Vec<String>,
    stderr: String,
}

impl Observed {
    fn calls(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| {
                format!(
                    "{}.{}",
                    r["module"].as_str().unwrap_or("?"),
                    r["call"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }
    fn records_of(&self, module: &str, call: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["module"] == module && r["call"] == call)
            .collect()
    }
    fn logged(&self, message: &str) -> bool {
        self.log.iter().any(|l| l.ends_with(message))
    }
}

/// A kubeconfig whose API server is a closed port on 127.0.0.1: the native `chaosk8s`
/// functions some of these experiments call fail at once, and never reach a real cluster.
fn unreachable_kubeconfig(dir: &Path) -> PathBuf {
    let port = http_server::closed_port();
    let path = dir.join("kubeconfig-unreachable.yaml");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: nowhere\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\ncurrent-context: nowhere\nusers:\n- name: nobody\n  user: {{}}\n"
    );
    std::fs::write(&path, text).expect("write the kubeconfig");
    path
}

fn run_bridged(side: Side, spec: &Bridged, replace: &[(&str, &str)]) -> Observed {
    let dir = scratch_dir(&format!("{}-{}", spec.label, side.name()));
    let records = dir.join("records.jsonl");
    for (name, text) in &spec.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a file path has a parent"))
            .expect("create the file's directory");
        std::fs::write(&path, text).expect("write a file for the run");
    }
    let mut path_var = std::env::var_os("PATH").unwrap_or_default();
    if spec.vegeta {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        let vegeta = bin.join("vegeta");
        std::fs::copy(corpus_modules().join("bin/vegeta"), &vegeta)
            .expect("copy the vegeta stand-in");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&vegeta, std::fs::Permissions::from_mode(0o755))
            .expect("chmod vegeta");
        let mut paths = vec![bin];
        paths.extend(std::env::split_paths(&path_var));
        path_var = std::env::join_paths(paths).expect("PATH");
    }
    let mut cmd = Command::new(side.bin());
    if side == Side::Reference {
        cmd.arg("--no-version-check");
    }
    cmd.args(["--no-log-file", "--settings"])
        .arg(
            spec.settings
                .clone()
                .unwrap_or_else(|| dir.join("no-settings.yaml")),
        )
        .arg(spec.command)
        .arg(&spec.source)
        .current_dir(&dir)
        .env("PATH", &path_var)
        .env("PYTHONPATH", corpus_modules())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("SHAKEDOWN_CORPUS_RECORD", &records)
        .env("KUBECONFIG", unreachable_kubeconfig(&dir))
        .env_remove("CHAOS_PYTHON_MODULES")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("RUST_LOG");
    reference::remove_proxy_env(&mut cmd);
    match &spec.python {
        Some(python) => cmd.env("CHAOS_PYTHON", python),
        None => cmd.env_remove("CHAOS_PYTHON"),
    };
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run chaos");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let log = stderr
        .lines()
        .filter_map(|l| {
            let l = strip_ansi(l);
            let (head, rest) = l.split_once("] ")?;
            ["INFO", "WARNING", "ERROR", "CRITICAL"]
                .iter()
                .any(|level| head.ends_with(&format!(" {level}")))
                .then(|| rest.to_string())
        })
        .collect();
    let mut text = std::fs::read_to_string(&records).unwrap_or_default();
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    let records = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a record is JSON ({e}): {l}")))
        .collect();
    let journal = std::fs::read_to_string(dir.join("journal.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
    Observed {
        code: out.status.code().unwrap_or(-1),
        journal,
        records,
        log,
        stderr,
    }
}

/// `summary` plus the rollbacks, and the output of every run record.
fn bridged_summary(journal: &Value) -> Value {
    let mut s = summary(journal);
    let rollbacks: Vec<Value> = journal["rollbacks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            serde_json::json!([
                r["activity"]["name"],
                r["status"],
                r.get("exception")
                    .map(|e| e.as_array().and_then(|l| l.last()).cloned())
            ])
        })
        .collect();
    s["rollbacks"] = Value::from(rollbacks);
    s["outputs"] = journal["run"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["output"].clone())
        .collect();
    s
}

/// Runs `spec` through the reference and through ours; both must agree on the exit code,
/// the journal's outcome and everything the stand-ins recorded. Returns ours.
fn run_both(spec: &Bridged, replace: &[(&str, &str)]) -> Observed {
    let reference = run_bridged(Side::Reference, spec, replace);
    let ours = run_bridged(Side::Ours, spec, replace);
    let context = |o: &Observed| format!("\n--- {} stderr:\n{}", spec.label, o.stderr);
    assert_eq!(
        ours.code,
        reference.code,
        "{}: exit codes (reference, then ours){}{}",
        spec.label,
        context(&reference),
        context(&ours)
    );
    if spec.command == "run" {
        assert_eq!(
            bridged_summary(&ours.journal),
            bridged_summary(&reference.journal),
            "{}: journals (left ours, right the reference){}",
            spec.label,
            context(&ours)
        );
    }
    assert_eq!(
        ours.records, reference.records,
        "{}: what the stand-ins observed (left ours, right the reference)",
        spec.label
    );
    ours
}

fn require_bridge_inputs() {
    require_inputs();
    let check = Command::new(reference_python())
        .args(["-c", "import chaosprometheus.probes"])
        .env_remove("PYTHONPATH")
        .output()
        .expect("run the reference venv's python");
    assert!(
        check.status.success(),
        "the reference venv lacks chaostoolkit-prometheus: run scripts/reference-venv ({})",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn interactive_controls_run_through_the_bridge_like_the_reference() {
    require_bridge_inputs();
    let simple = playground("interactive-controls/samples/simple-interactive-experiment.json");
    let yorn = playground("interactive-controls/samples/yorn-interactive-experiment.json");

    // Validation imports the control modules but calls no hook.
    for source in [&simple, &yorn] {
        let valid = run_both(
            &Bridged::new("interactive-validate", "validate", source.clone()),
            &[],
        );
        assert_eq!(valid.code, 0, "{}", valid.stderr);
        assert!(
            valid.records.is_empty(),
            "validation called a hook: {:?}",
            valid.records
        );
    }

    // The "press Enter" control prompts before every activity it is declared on: the
    // hypothesis probe (before and after the method), the method action, the rollback.
    let ours = run_both(&Bridged::new("interactive-simple", "run", simple), &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "completed");
    let prompted: Vec<_> = ours
        .records_of("chaossimpleinteract.control", "before_activity_control")
        .iter()
        .map(|r| r["activity"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        prompted,
        [
            "hypothesis-activity",
            "method-activity",
            "hypothesis-activity",
            "rollback-activity"
        ]
    );
    assert!(ours.logged("Press any key to continue ... (before 'rollback-activity')"));

    // The yes/no control: "yes" lets the dangerous action run.
    let mut yes = Bridged::new("interactive-yorn-yes", "run", yorn.clone());
    yes.env.push(("CHAOSYORN_ANSWER", "y".into()));
    let ours = run_both(&yes, &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "completed");
    assert_eq!(
        ours.journal["run"][0]["activity"]["name"],
        "dangerous-method-activity"
    );
    assert_eq!(ours.records.len(), 1, "{:?}", ours.records);
    assert_eq!(ours.records[0]["activity"], "dangerous-method-activity");
    assert_eq!(ours.records[0]["answer"], "y");
    assert!(ours.logged("Continuing: dangerous-method-activity"));

    // "No": InterruptExecution before the action runs; no rollbacks.
    let mut no = Bridged::new("interactive-yorn-no", "run", yorn);
    no.env.push(("CHAOSYORN_ANSWER", "n".into()));
    let ours = run_both(&no, &[]);
    assert_eq!(ours.code, 1, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "interrupted");
    assert_eq!(ours.journal["run"], serde_json::json!([]));
    assert_eq!(ours.records[0]["answer"], "n");
    assert!(
        ours.logged("Experiment manually interrupted"),
        "{:?}",
        ours.log
    );
}

/// The rollout experiments of "From local to automated Chaos Toolkit" (KubeCon demo), with
/// the real chaostoolkit-prometheus (from the reference venv) and the stand-ins.
fn rollout(
    label: &'static str,
    file: &str,
    prometheus: &str,
    server: &http_server::TestServer,
) -> Bridged<'static> {
    let mut spec = Bridged::new(
        label,
        "run",
        playground(&format!(
            "from-local-to-automated-chaostoolkit/experiments/{file}"
        )),
    );
    spec.env = vec![
        // The stand-in chaostracing.control records what the talk configures: keep it.
        (
            "CHAOS_PYTHON_MODULES",
            "chaosk8s.deployment.,chaostracing.".into(),
        ),
        (
            "COUNTER_URL",
            format!("{}/counter/service1", server.base_url()),
        ),
        // chaosprometheus queries `{base}/api/v1/query`: the `#` makes that a fragment, so
        // the request reaches the test server's Prometheus-like /prometheus/<variant>.
        (
            "PROMETHEUS_URL",
            format!("{}/prometheus/{prometheus}#", server.base_url()),
        ),
        ("JAEGER_HOST", "127.0.0.1".into()),
        ("HUMIO_INGEST_TOKEN", "humio-test-token".into()),
        ("HUMIO_DATASPACE", "chaos-demo".into()),
    ];
    spec
}

#[test]
fn rollout_experiments_run_through_the_bridge_like_the_reference() {
    require_bridge_inputs();
    for version in 1..=4 {
        let server = http_server::TestServer::start(None);
        let base = server.base_url();
        let file = format!("rollout-v{version}-service2.json");
        let label: &'static str = Box::leak(format!("rollout-v{version}").into_boxed_str());
        let spec = rollout(label, &file, "healthy", &server);
        let mut validate = Bridged::new(label, "validate", spec.source.clone());
        validate.env = spec.env.clone();
        let valid = run_bridged(Side::Ours, &validate, &[]);
        assert_eq!(
            valid.code, 0,
            "{label} validates through the bridge: {}",
            valid.stderr
        );
        assert!(
            valid.records.is_empty(),
            "validation called the stand-ins: {:?}",
            valid.records
        );

        let ours = run_both(&spec, &[(base.as_str(), "{base}")]);
        assert_eq!(ours.code, 0, "{label}: {}", ours.stderr);
        assert_eq!(ours.journal["status"], "completed", "{label}");
        let image = format!("lawouach/service2:v{version}");

        // Controls: the automatic tracing control configured from the experiment's
        // `tracing_*` configuration, Humio enabled by the `humio` secrets.
        let tracing = ours.records_of("chaostracing.control", "configure_control");
        assert_eq!(
            tracing[0]["tracer"],
            serde_json::json!({"provider": "jaeger", "host": "127.0.0.1", "port": 6831, "propagation": "b3"})
        );
        let humio = ours.records_of("chaoshumio.control", "configure_control");
        assert_eq!(humio[0]["enabled"], true);
        assert_eq!(humio[0]["scopes"], serde_json::json!(["humio"]));
        let pushed: Vec<_> = ours
            .records_of("chaoshumio", "push_to_humio")
            .iter()
            .map(|r| {
                (
                    r["event"]["name"].as_str().unwrap_or("").to_string(),
                    r["dataspace"].clone(),
                    r["token_length"].clone(),
                )
            })
            .collect();
        assert_eq!(
            pushed.first().map(|p| p.0.as_str()),
            Some("before-experiment")
        );
        assert_eq!(
            pushed.last().map(|p| p.0.as_str()),
            Some("after-experiment")
        );
        assert!(pushed
            .iter()
            .all(|p| p.1 == "chaos-demo" && p.2 == "humio-test-token".len()));
        // One span per activity, opened and closed.
        let spans: Vec<_> = ours
            .records_of("chaostracing.control", "finish_span")
            .iter()
            .filter(|r| r["level"] == "activity")
            .map(|r| r["name"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(spans.len(), 2 + 4 + 1, "{label}: {spans:?}");
        assert_eq!(
            ours.records_of("chaostracing.control", "cleanup_control")[0]["unfinished"],
            serde_json::json!([])
        );

        // Activities: what the demo's modules were called with.
        let set = ours.records_of("chaosk8s.deployment.actions", "set_deployment_image");
        assert_eq!(set[0]["deployment_name"], "service2");
        assert_eq!(set[0]["container_name"], "service2");
        assert_eq!(set[0]["image"], image.as_str());
        let load = ours.records_of("load", "single");
        assert_eq!(load[0]["url"], "{base}/counter/service1");
        assert_eq!(load[0]["duration"], 20);
        assert_eq!(load[0]["statuses"], serde_json::json!([200, 200, 200]));
        let status = ours.records_of("chaosk8s.deployment.probes", "collect_deployment_status");
        assert_eq!(status[0]["duration"], 25);
        assert_eq!(status[0]["image"], image.as_str());
        let rollback = ours.records_of("chaosk8s.deployment.actions", "rollback_deployment");
        assert_eq!(rollback[0]["history"], serde_json::json!([image]));
        // The real chaosprometheus queried the test server's API: in each tool's run, from
        // both hypotheses and the method's range query.
        let queries: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.starts_with("/prometheus/healthy?query="))
            .collect();
        assert_eq!(queries.len(), 2 * (2 + 1), "{label}: {queries:?}");
        assert!(
            queries
                .iter()
                .any(|q| q.contains("&start=") && q.contains("&end=")),
            "{queries:?}"
        );
        assert_eq!(ours.journal["run"][3]["output"]["status"], "success");
        assert_eq!(
            ours.journal["steady_states"]["before"]["probes"][0]["tolerance_met"],
            true
        );
    }

    // The global-settings variant: the tracing control comes from settings.yaml (its
    // arguments name a Jaeger agent at 10.1.1.141, which the stand-in never contacts), and
    // the probe's path `$.data.result.*[?(@.value!="0")]` compares the `[time, value]` pair
    // with "0": every series matches, so with any series at all the hypothesis is not met.
    let settings = playground("from-local-to-automated-chaostoolkit/experiments/settings.yaml");
    for (prometheus, status, runs) in [("healthy", "completed", 0), ("empty", "completed", 4)] {
        let server = http_server::TestServer::start(None);
        let base = server.base_url();
        let label: &'static str =
            Box::leak(format!("rollout-v2-global-{prometheus}").into_boxed_str());
        let mut spec = rollout(
            label,
            "rollout-v2-service2-global-settings.json",
            prometheus,
            &server,
        );
        spec.settings = Some(settings.clone());
        let ours = run_both(&spec, &[(base.as_str(), "{base}")]);
        assert_eq!(ours.code, 0, "{label}: {}", ours.stderr);
        assert_eq!(ours.journal["status"], status);
        assert_eq!(
            ours.journal["run"].as_array().map(Vec::len),
            Some(runs),
            "{label}"
        );
        let tracing = ours.records_of("chaostracing.control", "configure_control");
        assert_eq!(
            tracing[0]["tracer"],
            serde_json::json!({"provider": "jaeger", "host": "10.1.1.141", "port": 6831, "propagation": "b3"})
        );
        assert!(ours
            .records_of("chaoshumio.control", "configure_control")
            .is_empty());
        let met = &ours.journal["steady_states"]["before"]["probes"][0]["tolerance_met"];
        assert_eq!(met, &Value::Bool(prometheus == "empty"), "{label}");
        // Rollbacks run either way (default strategy); with no rollout to undo, the
        // stand-in's rollback fails as `kubectl rollout undo` would.
        let rollback = ours.records_of("chaosk8s.deployment.actions", "rollback_deployment");
        assert_eq!(rollback.len(), 1);
        assert_eq!(
            ours.journal["rollbacks"][0]["status"],
            if runs == 0 { "failed" } else { "succeeded" }
        );
    }
}

#[test]
fn superpower_experiments_run_through_the_bridge() {
    require_bridge_inputs();
    let server = http_server::TestServer::start(None);
    let service_url = format!("{}/json", server.base_url());
    let experiment =
        |name: &str| playground(&format!("superpower/experiments/kubernetes/{name}.json"));
    let spec = |label: &'static str, name: &str| {
        let mut s = Bridged::new(label, "run", experiment(name));
        // The default interpreter (`python3` on PATH), as a user without --python gets.
        s.python = None;
        s.env.push(("SUPERPOWER_URL", service_url.clone()));
        s
    };

    // Invalid as written: its hypothesis declares `controls` as a mapping. (The reference
    // rejects it too, with `A control must have a `name` property`.)
    let mut half = spec("superpower-half", "lose-half-of-powersources");
    half.command = "validate";
    let ours = run_bridged(Side::Ours, &half, &[]);
    assert_eq!(ours.code, 1);
    assert!(
        ours.logged("controls must be a list, not a mapping"),
        "{:?}",
        ours.log
    );
    assert!(ours.records.is_empty());

    // Losing every powersource instance: the pods cannot be terminated here (no cluster),
    // so users keep their superpower; the probes' module keeps the first answer between the
    // hypothesis runs (one Python process per run, as in the reference).
    let ours = run_bridged(
        Side::Ours,
        &spec("superpower-all", "lose-all-of-powersources"),
        &[],
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "completed");
    assert_eq!(
        ours.calls(),
        [
            "chaospower.probes.ask_for_superpower",
            "chaospower.probes.has_kept_superpower",
            "chaospower.probes.ask_for_superpower",
            "chaospower.probes.has_kept_superpower",
        ]
    );
    for (i, r) in ours.records.iter().enumerate() {
        if r["call"] == "ask_for_superpower" {
            assert_eq!(r["service_url"], service_url.as_str());
            assert_eq!(r["timeout"], 3);
            assert_eq!(r["status"], 200);
        } else {
            assert_eq!(r["kept"], true);
            assert_eq!(r["answers"], if i == 1 { 1 } else { 2 });
        }
    }
    let statuses: Vec<_> = ours.journal["run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["activity"]["name"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("terminate-pods".to_string(), "failed".to_string()),
            ("fetch-another-hero".to_string(), "succeeded".to_string()),
            ("fetch-superpower-logs".to_string(), "failed".to_string()),
        ]
    );

    // Latency under load: vegeta (a stand-in on PATH) attacks from the scenario file.
    let mut latency = spec(
        "superpower-latency",
        "latency-should-remain-sane-under-heavy-load",
    );
    latency.vegeta = true;
    latency
        .files
        .push(("experiments/scenario.txt", format!("GET {service_url}\n")));
    let ours = run_bridged(Side::Ours, &latency, &[]);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "completed");
    assert_eq!(
        ours.calls(),
        [
            "chaospower.probes.ask_for_superpower",
            "vegeta.attack",
            "chaospower.probes.ask_for_superpower"
        ]
    );
    assert_eq!(ours.records[0]["timeout"], 1);
    assert_eq!(ours.records[1]["options"]["rate"], "25");
    assert_eq!(ours.records[1]["options"]["output"], "result.bin");
    assert_eq!(
        ours.records[1]["targets"],
        serde_json::json!([format!("GET {service_url}")])
    );
}

/// go-demo-8's chaostoolkit settings (the `settings.yaml` of a ConfigMap) as a file.
fn go_demo_8_settings(name: &str, dir: &Path) -> PathBuf {
    let source = corpus_dir().join(format!("go-demo-8/k8s/chaos/{name}"));
    let text = std::fs::read_to_string(&source).expect("read the ConfigMap");
    let loaded =
        load::parse(&text, Format::Yaml, &source.to_string_lossy()).expect("a YAML ConfigMap");
    let settings = loaded.value["data"]["settings.yaml"]
        .as_str()
        .expect("the ConfigMap holds settings.yaml")
        .to_string();
    let path = dir.join(name);
    std::fs::write(&path, settings).expect("write the settings");
    path
}

/// The book's ingress in front of go-demo-8: `GET /demo/person` with `Host:
/// go-demo-8.acme.com` is 200, anything else 404. Serves until the test process ends.
fn go_demo_8_ingress() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                request.push_str(&line.to_ascii_lowercase());
                line.clear();
            }
            let ok = request.starts_with("get /demo/person ")
                && request.contains("\nhost: go-demo-8.acme.com");
            let (status, body) = if ok {
                ("200 OK", "{\"name\": \"Viktor\"}")
            } else {
                ("404 Not Found", "not found")
            };
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// The book's Slack settings reach Slack through the native `chaosslack.notification`; a
/// recording stand-in for the Slack Web API (`SLACK_API_URL`) checks the requests.
#[test]
fn go_demo_8_slack_notifications_reach_slack_natively() {
    require_inputs();
    let dir = scratch_dir("go-demo-8-settings");
    let experiment = corpus_dir().join("go-demo-8/chaos/health-db.yaml");
    let ingress = go_demo_8_ingress();
    let spec = |label: &'static str, settings: &str, ingress_host: String, slack: &StandIn| {
        let mut s = Bridged::new(label, "run", experiment.clone());
        s.python = None;
        s.settings = Some(go_demo_8_settings(settings, &dir));
        s.env.push(("INGRESS_HOST", ingress_host));
        s.env.push(("SLACK_API_URL", slack.api_url()));
        s
    };
    // The event of each message, after checking it is the book's channel and token.
    let events = |slack: &StandIn| -> Vec<String> {
        slack
            .requests()
            .iter()
            .map(|r| {
                r.assert_json_call("chat.postMessage", "xoxb-REDACTED");
                let body = r.json();
                assert_eq!(body["channel"], "#tests");
                assert_eq!(body["text"], "New Chaos Experiment Event");
                let fields = &body["attachments"][0]["fields"];
                assert_eq!(fields[0]["value"], "run");
                assert_eq!(
                    fields[2]["value"],
                    "What happens if we terminate an instance of the DB?"
                );
                fields[1]["value"].as_str().unwrap_or("").to_string()
            })
            .collect()
    };

    // Every event goes to Slack: the run starts and completes (the DB pod cannot be
    // terminated here, which fails the action, not the run).
    let slack = StandIn::start(Behaviour::Slack);
    let ours = run_bridged(
        Side::Ours,
        &spec(
            "go-demo-8-all-events",
            "settings.yaml",
            format!("127.0.0.1:{ingress}"),
            &slack,
        ),
        &[],
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "completed");
    assert_eq!(events(&slack), ["run-started", "run-completed"]);
    assert!(!ours.stderr.contains("xoxb-REDACTED"), "{}", ours.stderr);

    // settings-failure.yaml only forwards failures: with the app down the run fails, and
    // only `run-failed` reaches Slack; its `discover-failed` is taken as
    // `discovery-failed`, with a WARNING.
    let down = format!("127.0.0.1:{}", http_server::closed_port());
    let slack = StandIn::start(Behaviour::Slack);
    let ours = run_bridged(
        Side::Ours,
        &spec("go-demo-8-failures", "settings-failure.yaml", down, &slack),
        &[],
    );
    assert_eq!(ours.code, 1, "{}", ours.stderr);
    assert_eq!(ours.journal["status"], "failed");
    assert_eq!(events(&slack), ["run-failed"]);
    assert!(
        ours.logged("notification event 'discover-failed' is not a Chaos Toolkit event (the reference never sends it); taken as 'discovery-failed'"),
        "{}",
        ours.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}
