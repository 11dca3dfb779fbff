//! Acceptance on real experiments written by others (`../shared/corpus`): every experiment
//! loads and validates, or fails validation with the reference's verdict and message; the
//! ones that need no cluster run, with the reference's status and exit code.
//!
//! Experiments embedded in Kubernetes ConfigMaps (the book's in-cluster runs) are extracted
//! and checked too. The reference used is the plain one (`scripts/reference-venv`), which has
//! no extension installed: where it answers "could not find Python module 'm'" for a module
//! Shakedown provides natively, Shakedown validating the experiment is the expected outcome.

#[path = "support/reference.rs"]
mod reference;

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
