//! Native load generation (issue #11 part 4) end to end: `chaos run` sends the load to the
//! shared test server, which counts what it received; the journal's results must agree
//! with it request for request and status for status. Also: timeouts and refused
//! connections, availability tolerances, a background load stopped by SIGINT with its
//! partial results, detached loads (`start_load`, the talk's `load.single`) stopped by the
//! end of the run, a user's own `load` module winning over the native one, and validation.

#[path = "support/http_server.rs"]
mod http_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use http_server::{closed_port, TestServer};
use run::{assert_clean_exit, chaos, chaos_command, read_json, scratch, stderr};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn write(dir: &Path, name: &str, experiment: &Value) {
    std::fs::write(dir.join(name), experiment.to_string()).expect("write experiment");
    std::fs::write(dir.join("settings.yaml"), "{}\n").expect("write settings");
}

fn load_action(name: &str, func: &str, arguments: Value) -> Value {
    json!({"type": "action", "name": name, "provider": {
        "type": "python", "module": "shakedown.load.actions", "func": func, "arguments": arguments}})
}

fn experiment(method: Vec<Value>) -> Value {
    json!({"title": "load", "description": "native load generation", "method": method})
}

/// How many requests the server received whose target starts with `prefix`.
fn seen(server: &TestServer, prefix: &str) -> u64 {
    server
        .requests()
        .iter()
        .filter(|r| r.starts_with(prefix))
        .count() as u64
}

fn output(journal: &Value, index: usize) -> &Value {
    &journal["run"][index]["output"]
}

/// Internal consistency every results mapping must have.
fn assert_consistent(results: &Value) {
    let n = |k: &str| {
        results[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {results}"))
    };
    assert_eq!(n("requests"), n("successes") + n("failures"), "{results}");
    let by_status: u64 = results["status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let by_error: u64 = results["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_status + by_error, n("requests"), "{results}");
    let l = &results["latency_ms"];
    if n("requests") > 0 {
        let p = |k: &str| {
            l[k].as_f64()
                .unwrap_or_else(|| panic!("latency {k} in {results}"))
        };
        assert!(
            p("min") <= p("p50")
                && p("p50") <= p("p90")
                && p("p90") <= p("p99")
                && p("p99") <= p("max"),
            "{l}"
        );
        let availability = n("successes") as f64 * 100.0 / n("requests") as f64;
        assert!(
            (results["availability"].as_f64().unwrap() - availability).abs() < 0.001,
            "{results}"
        );
    }
}

#[test]
fn counts_and_statuses_agree_with_what_the_server_saw() {
    let server = TestServer::start(None);
    let dir = scratch("load", "counts");
    // The server answers 500 to its 3rd, 7th and 11th request, 200 to the others.
    let url = format!("{}/counter/c?fail=3,7,11&code=500", server.base_url());
    write(
        &dir,
        "e.json",
        &experiment(vec![load_action(
            "users",
            "run_load",
            json!({
        "url": url, "duration": 1, "concurrency": 3, "headers": {"X-Load": "yes"}}),
        )]),
    );
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Load: GET");
    let journal = read_json(&dir.join("journal.json"));
    let results = output(&journal, 0);
    assert_consistent(results);
    let requests = results["requests"].as_u64().unwrap();
    assert!(
        requests >= 11,
        "too few requests to reach the failing ones: {results}"
    );
    assert_eq!(
        requests,
        seen(&server, "/counter/c"),
        "the server saw every request, once"
    );
    assert_eq!(results["status"]["500"], 3, "{results}");
    assert_eq!(results["status"]["200"].as_u64(), Some(requests - 3));
    assert_eq!(
        (results["failures"].as_u64(), results["errors"].clone()),
        (Some(3), json!({}))
    );
    assert_eq!(results["stopped"], "duration");
    assert_eq!(
        (results["model"].as_str(), results["http_version"].as_str()),
        (Some("closed"), Some("1.1"))
    );
}

#[test]
fn timeouts_and_refused_connections_are_errors_by_kind() {
    let server = TestServer::start(None);
    let dir = scratch("load", "errors");
    let slow = format!("{}/sleep/2000", server.base_url());
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    write(
        &dir,
        "e.json",
        &experiment(vec![
            load_action(
                "slow",
                "run_load",
                json!({"url": slow, "duration": 0.5, "concurrency": 2, "timeout": 0.2}),
            ),
            load_action(
                "refused",
                "run_load",
                json!({"url": refused, "duration": 0.3, "concurrency": 1, "rate": 20}),
            ),
        ]),
    );
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Load: GET");
    let journal = read_json(&dir.join("journal.json"));
    let slow = output(&journal, 0);
    assert_consistent(slow);
    let timeouts = slow["errors"]["timeout"].as_u64().unwrap_or(0);
    assert!(timeouts >= 2, "{slow}");
    assert_eq!(
        (slow["successes"].as_u64(), slow["requests"].as_u64()),
        (Some(0), Some(timeouts))
    );
    assert_eq!(slow["availability"], 0.0);
    assert_eq!(
        seen(&server, "/sleep/2000"),
        timeouts,
        "each timed-out request was sent once"
    );
    assert!(
        slow["error_messages"]["timeout"]
            .as_str()
            .unwrap()
            .contains("0.2s"),
        "{slow}"
    );
    let refused = output(&journal, 1);
    assert_consistent(refused);
    assert!(
        refused["errors"]["connect"].as_u64().unwrap_or(0) >= 1,
        "{refused}"
    );
    assert_eq!(refused["model"], "open");
    assert!(
        refused["error_messages"]["connect"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{refused}"
    );
}

fn hypothesis_experiment(url: &str, tolerance: Value) -> Value {
    json!({"title": "availability", "description": "d",
        "steady-state-hypothesis": {"title": "users are served", "probes": [{
            "type": "probe", "name": "users-are-served", "tolerance": tolerance,
            "provider": {"type": "python", "module": "shakedown.load.actions", "func": "run_load",
                         "arguments": {"url": url, "duration": 0.3, "concurrency": 2}}}]},
        "method": []})
}

#[test]
fn a_tolerance_holds_the_availability_to_99_percent() {
    let server = TestServer::start(None);
    let jsonpath = json!({"type": "jsonpath", "path": "$[?(@.availability >= 99)]", "count": 1});
    let range = json!({"type": "range", "target": "availability", "range": [99, 100]});
    for (tolerance, case) in [(jsonpath, "jsonpath"), (range, "range")] {
        let dir = scratch("load", &format!("tolerance-{case}"));
        write(
            &dir,
            "ok.json",
            &hypothesis_experiment(
                &format!("{}/status/200", server.base_url()),
                tolerance.clone(),
            ),
        );
        let out = chaos(&dir, &["run", "ok.json"], &[]);
        assert_clean_exit(&out, 0, "Steady state hypothesis is met!");
        write(
            &dir,
            "down.json",
            &hypothesis_experiment(&format!("{}/status/503", server.base_url()), tolerance),
        );
        let journal = read_json(&dir.join("journal.json"));
        assert_eq!(
            journal["steady_states"]["before"]["steady_state_met"], true,
            "{case}"
        );
        let out = chaos(&dir, &["run", "down.json"], &[]);
        // Exit code as the reference's for a hypothesis not met before the method.
        assert!(!stderr(&out).contains("panicked"));
        run::assert_stderr_has(
            &out,
            "Steady state probe 'users-are-served' is not in the given tolerance",
        );
        let journal = read_json(&dir.join("journal.json"));
        assert_eq!(
            journal["steady_states"]["before"]["steady_state_met"], false,
            "{case}"
        );
        let results = &journal["steady_states"]["before"]["probes"][0]["output"];
        assert_eq!(
            (
                results["availability"].as_f64(),
                results["status"]["503"].as_u64()
            ),
            (Some(0.0), results["requests"].as_u64()),
            "{case}: {results}"
        );
    }
}

#[test]
fn sigint_stops_a_background_load_with_its_partial_results() {
    let server = TestServer::start(None);
    let dir = scratch("load", "sigint");
    let url = format!("{}/counter/bg", server.base_url());
    let mut background = load_action(
        "users",
        "run_load",
        json!({"url": url, "duration": 120, "concurrency": 2, "rate": 50}),
    );
    background["background"] = json!(true);
    let wait = json!({"type": "action", "name": "meanwhile",
        "provider": {"type": "process", "path": "sleep", "arguments": "120"}});
    write(&dir, "e.json", &experiment(vec![background, wait]));
    let child = chaos_command(&dir, &["run", "e.json"], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn chaos");
    assert!(
        server.wait_for_request("/counter/bg", Duration::from_secs(30)),
        "no load arrived"
    );
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait for chaos");
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "interrupted", "{err}");
    let results = output(&journal, 0);
    assert_consistent(results);
    assert_eq!(results["stopped"], "interrupted", "{results}");
    let sent = results["requests"].as_u64().unwrap();
    assert!(
        sent >= 1 && results["elapsed"].as_f64().unwrap() < 120.0,
        "{results}"
    );
    assert_eq!(
        sent,
        seen(&server, "/counter/bg"),
        "partial results count what was sent"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        sent,
        seen(&server, "/counter/bg"),
        "nothing is sent after the run"
    );
}

#[test]
fn sigint_stops_a_foreground_load_at_once() {
    let server = TestServer::start(None);
    let dir = scratch("load", "sigint-foreground");
    let url = format!("{}/counter/fg", server.base_url());
    write(
        &dir,
        "e.json",
        &experiment(vec![load_action(
            "dos",
            "run_load",
            json!({"url": url, "duration": 120, "concurrency": 4}),
        )]),
    );
    let child = chaos_command(&dir, &["run", "e.json"], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn chaos");
    assert!(
        server.wait_for_request("/counter/fg", Duration::from_secs(30)),
        "no load arrived"
    );
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait for chaos");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "interrupted", "{}", stderr(&out));
    // Requests in flight when the signal came may still land; none starts afterwards.
    std::thread::sleep(Duration::from_millis(200));
    let after_run = seen(&server, "/counter/fg");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        seen(&server, "/counter/fg"),
        after_run,
        "nothing is sent after the run"
    );
}

#[test]
fn a_started_load_runs_beside_the_method_and_its_results_come_later() {
    let server = TestServer::start(None);
    let dir = scratch("load", "detached");
    let base = server.base_url();
    write(
        &dir,
        "e.json",
        &json!({"title": "t", "description": "d", "method": [
            load_action("start", "start_load", json!({"name": "users", "url": format!("{base}/counter/named"), "duration": 0.5, "rate": 40, "concurrency": 2})),
            // Blocks until the server has seen 5 of the load's requests: the load runs beside it.
            {"type": "probe", "name": "meanwhile", "provider": {"type": "http", "url": format!("{base}/wait/named/5"), "timeout": 30}},
            {"type": "probe", "name": "results", "provider": {"type": "python", "module": "shakedown.load.probes", "func": "load_results", "arguments": {"name": "users"}}},
        ]}),
    );
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Load 'users' started");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(output(&journal, 0)["name"], "users");
    let results = output(&journal, 2);
    assert_consistent(results);
    assert_eq!(results["stopped"], "duration");
    assert_eq!(
        results["requests"].as_u64(),
        Some(seen(&server, "/counter/named"))
    );
    // 40/s for 0.5 s: the 20 requests of the schedule, all answered.
    assert_eq!(results["requests"], 20, "{results}");
}

#[test]
fn load_single_of_the_talk_is_native_and_stops_at_the_end_of_the_run() {
    let server = TestServer::start(None);
    let dir = scratch("load", "single");
    let base = server.base_url();
    // The talk's action, word for word but for the URL (a configuration entry, as there).
    write(
        &dir,
        "e.json",
        &json!({"title": "t", "description": "d",
        "configuration": {"counter_service_url": format!("{base}/counter/single")},
        "method": [
            {"type": "action", "name": "pretend-users-in-background", "provider": {
                "type": "python", "module": "load", "func": "single",
                "arguments": {"url": "${counter_service_url}", "duration": 60, "frequency": 0.02}}},
            {"type": "probe", "name": "three-calls-arrived", "provider": {"type": "http", "url": format!("{base}/wait/single/3"), "timeout": 30}},
        ]}),
    );
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_clean_exit(
        &out,
        0,
        &format!("Calling '{base}/counter/single' for 60s every 0.02s"),
    );
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(
        journal["run"][0]["output"],
        Value::Null,
        "returns at once, as the talk's module"
    );
    assert_eq!(journal["run"][0]["status"], "succeeded");
    let after_run = seen(&server, "/counter/single");
    assert!(after_run >= 3);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        seen(&server, "/counter/single"),
        after_run,
        "the load stopped with the run"
    );
}

#[test]
fn a_users_own_load_module_wins_over_the_native_one() {
    let dir = scratch("load", "own-module");
    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(modules.join("load.py"), "def single(url, duration, frequency=1.0):\n    return 'mine: %s %s %s' % (url, duration, frequency)\n").unwrap();
    write(
        &dir,
        "e.json",
        &experiment(vec![
            json!({"type": "action", "name": "pretend", "provider": {
        "type": "python", "module": "load", "func": "single", "arguments": {"url": "not even a URL", "duration": 1}}}),
        ]),
    );
    let has_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        reference::skip_or_fail(
            "a_users_own_load_module_wins_over_the_native_one",
            "python3 is not on PATH",
        );
        return;
    }
    let pythonpath = modules.to_string_lossy().into_owned();
    let out = chaos(
        &dir,
        &["run", "e.json"],
        &[("PYTHONPATH", pythonpath.as_str())],
    );
    assert_clean_exit(&out, 0, "Action: pretend");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["run"][0]["output"], "mine: not even a URL 1 1.0");
}

#[test]
fn validation_refuses_bad_urls_and_absurd_values_naming_the_field() {
    let dir = scratch("load", "validate");
    let cases = [
        (
            json!({"duration": 1}),
            "required argument 'url' is missing",
            "method[0].provider.arguments",
        ),
        (
            json!({"url": "counter.dev/"}),
            "invalid argument 'url' in activity 'users': 'counter.dev/' is not a valid URL",
            "method[0].provider.arguments.url",
        ),
        (
            json!({"url": "https://example.invalid/"}),
            "https is not supported",
            "method[0].provider.arguments.url",
        ),
        (
            json!({"url": "http://127.0.0.1:1/", "concurrency": 1_000_000}),
            "invalid argument 'concurrency'",
            "method[0].provider.arguments.concurrency",
        ),
        (
            json!({"url": "http://127.0.0.1:1/", "rate": 0}),
            "invalid argument 'rate'",
            "method[0].provider.arguments.rate",
        ),
        (
            json!({"url": "http://127.0.0.1:1/", "duration": "soon"}),
            "invalid argument 'duration'",
            "method[0].provider.arguments.duration",
        ),
    ];
    for (arguments, message, path) in cases {
        write(
            &dir,
            "e.json",
            &experiment(vec![load_action("users", "run_load", arguments.clone())]),
        );
        let out = chaos(&dir, &["validate", "e.json"], &[]);
        assert_clean_exit(&out, 1, message);
        assert!(
            stderr(&out).contains(path),
            "{arguments}: expected {path} in:\n{}",
            stderr(&out)
        );
        // `chaos run` refuses it the same way, before any traffic.
        let out = chaos(&dir, &["run", "e.json"], &[]);
        assert_clean_exit(&out, 1, message);
    }
    // The talk's `load.single`, natively: its URL is checked too; placeholders wait for the run.
    std::fs::write(dir.join("e.yaml"), "title: t\ndescription: d\nconfiguration:\n  u: http://127.0.0.1:1/\nmethod:\n- type: action\n  name: pretend\n  provider:\n    type: python\n    module: load\n    func: single\n    arguments:\n      url: 'nope'\n      duration: 20\n").unwrap();
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(&out, 1, "invalid argument 'url' in activity 'pretend'");
    assert!(
        stderr(&out).contains("e.yaml:13"),
        "the line of the URL:\n{}",
        stderr(&out)
    );
    std::fs::write(
        dir.join("e.yaml"),
        std::fs::read_to_string(dir.join("e.yaml"))
            .unwrap()
            .replace("'nope'", "${u}"),
    )
    .unwrap();
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(&out, 0, "Experiment looks valid");
    // The book's E13 rewritten with the native load (docs/load.md) is valid as shipped.
    let e13 = reference::workspace_root().join("examples/load/network-dos.yaml");
    let e13 = e13.to_string_lossy().into_owned();
    let out = chaos(
        &dir,
        &["validate", e13.as_str()],
        &[("INGRESS_HOST", "127.0.0.1")],
    );
    assert_clean_exit(&out, 0, "Experiment looks valid");
}
