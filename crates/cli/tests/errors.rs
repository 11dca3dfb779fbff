//! Bad input gets a clear error and a defined exit code, never a panic; and the `http`
//! notification channel delivers run events to a real local server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shakedown-errors-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn chaos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaos"))
        .arg("--settings")
        .arg(dir.join("settings.yaml"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run chaos")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run ended through our own error handling: exit 1, no panic message.
fn assert_clean_failure(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code 1; stderr:\n{err}");
    assert!(!err.contains("panicked"), "no panic:\n{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

#[test]
fn binary_garbage_is_a_clear_error() {
    let dir = scratch("garbage");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(dir.join("x.json"), &bytes).expect("write");
    std::fs::write(dir.join("x.yaml"), &bytes).expect("write");
    assert_clean_failure(
        &chaos(&dir, &["validate", "x.json"]),
        "x.json: the file is not UTF-8 text",
    );
    assert_clean_failure(
        &chaos(&dir, &["run", "x.yaml"]),
        "x.yaml: the file is not UTF-8 text",
    );
    assert!(
        !dir.join("journal.json").exists(),
        "no journal for an experiment that never loaded"
    );
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let dir = scratch("syntax");
    std::fs::write(
        dir.join("bad.json"),
        "{\n  \"title\": \"t\",\n  \"method\": [\n}\n",
    )
    .expect("write");
    assert_clean_failure(&chaos(&dir, &["validate", "bad.json"]), "bad.json:4:1");
    std::fs::write(
        dir.join("bad.yaml"),
        "title: t\nmethod:\n  - name: [unclosed\n",
    )
    .expect("write");
    assert_clean_failure(
        &chaos(&dir, &["validate", "bad.yaml"]),
        "Failed parsing YAML experiment: bad.yaml:",
    );
}

#[test]
fn deeply_nested_and_huge_documents_do_not_crash() {
    let dir = scratch("nested");
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    std::fs::write(dir.join("deep.json"), format!("{{\"title\": {nested}}}")).expect("write");
    let out = chaos(&dir, &["validate", "deep.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked") && !stderr(&out).contains("overflow"));

    let many: Vec<String> = (0..50_000)
        .map(|i| format!("{{\"type\": \"action\", \"name\": \"a{i}\", \"provider\": {{\"type\": \"process\", \"path\": \"true\"}}}}"))
        .collect();
    let big = format!(
        "{{\"title\": \"t\", \"description\": \"d\", \"method\": [{}]}}",
        many.join(",")
    );
    std::fs::write(dir.join("big.json"), big).expect("write");
    let out = chaos(&dir, &["validate", "big.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a large valid experiment validates: {}",
        stderr(&out)
    );
}

#[test]
fn validation_errors_point_at_the_line() {
    let dir = scratch("validation");
    std::fs::write(
        dir.join("e.yaml"),
        "title: t\ndescription: d\nmethod:\n  - type: action\n    name: a\n    provider:\n      type: process\n      path: /definitely/not/here\n",
    )
    .expect("write");
    let out = chaos(&dir, &["validate", "e.yaml"]);
    assert_clean_failure(
        &out,
        "path '/definitely/not/here' cannot be found, in activity 'a'",
    );
    assert!(
        stderr(&out).contains("  => at e.yaml:8:"),
        "the line of the path: {}",
        stderr(&out)
    );
}

#[test]
fn a_missing_environment_variable_names_the_variable() {
    let dir = scratch("env");
    std::fs::write(
        dir.join("e.json"),
        r#"{"title": "t", "description": "d", "configuration": {"endpoint": {"type": "env", "key": "SHAKEDOWN_SURELY_UNSET"}}, "method": []}"#,
    )
    .expect("write");
    let out = chaos(&dir, &["run", "e.json"]);
    assert_clean_failure(&out, "SHAKEDOWN_SURELY_UNSET");
    let out = chaos(&dir, &["run", "--no-validation", "e.json"]);
    assert_clean_failure(&out, "SHAKEDOWN_SURELY_UNSET");
}

#[test]
fn usage_errors_exit_2() {
    let dir = scratch("usage");
    let out = chaos(&dir, &["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = chaos(&dir, &["run", "--dry", "everything", "x.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = chaos(&dir, &["run", "--var", "novalue", "x.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not enough values to unpack"));
}

#[test]
fn control_files_must_exist_and_be_maps() {
    let dir = scratch("control-file");
    std::fs::write(
        dir.join("e.json"),
        r#"{"title": "t", "description": "d", "method": []}"#,
    )
    .expect("write");
    let out = chaos(&dir, &["run", "--control-file", "missing.yaml", "e.json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing control file is a usage error"
    );
    std::fs::write(dir.join("list.yaml"), "- not\n- a map\n").expect("write");
    let out = chaos(&dir, &["run", "--control-file", "list.yaml", "e.json"]);
    assert_clean_failure(
        &out,
        "list.yaml: a control file must map control names to their definitions",
    );
    std::fs::write(
        dir.join("ok.yaml"),
        "audit:\n  provider:\n    type: python\n    module: chaosnothing.control\n",
    )
    .expect("write");
    let out = chaos(&dir, &["run", "--control-file", "ok.yaml", "e.json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a control without a native module is skipped: {}",
        stderr(&out)
    );
}

#[test]
fn info_reports_versions_and_settings() {
    let dir = scratch("info");
    let out = chaos(&dir, &["info", "core"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("CLI") && text.contains("Core library") && text.contains("1.44.0"),
        "{text}"
    );
    let out = chaos(&dir, &["info", "settings"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("No settings file found at"));
    std::fs::write(
        dir.join("settings.yaml"),
        "runtime:\n  rollbacks:\n    strategy: always\n",
    )
    .expect("write");
    let out = chaos(&dir, &["info", "settings"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("strategy: always"));
}

/// A one-shot HTTP server recording the bodies it receives.
fn receiver(expected: usize) -> (String, std::thread::JoinHandle<Vec<serde_json::Value>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for stream in listener.incoming().take(expected).flatten() {
            let mut reader = BufReader::new(&stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let mut s = &stream;
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            bodies.push(serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null));
        }
        bodies
    });
    (url, handle)
}

#[test]
fn http_notifications_deliver_the_requested_events() {
    let dir = scratch("notify");
    let (url, server) = receiver(2);
    std::fs::write(
        dir.join("settings.yaml"),
        format!("notifications:\n  - type: http\n    url: {url}\n    events: [run-started, run-completed]\n"),
    )
    .expect("write");
    std::fs::write(
        dir.join("e.json"),
        r#"{"title": "t", "description": "d", "method": []}"#,
    )
    .expect("write");
    let out = chaos(&dir, &["run", "e.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bodies = server.join().expect("receiver");
    let names: Vec<&str> = bodies.iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(names, ["run-started", "run-completed"]);
    assert_eq!(bodies[0]["phase"], "run");
    assert_eq!(bodies[0]["payload"]["title"], "t");
    assert_eq!(bodies[1]["payload"]["status"], "completed");
    assert!(bodies[1]["ts"].is_f64());
}
