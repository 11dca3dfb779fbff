//! The attack suite (issue #15): `chaos` against hostile input and hostile targets, run as a
//! user would run it. Each test reproduces an attack and asserts what the run does now:
//! exit code, a clear message, no panic, the journal.

#[path = "support/hostile_server.rs"]
mod hostile_server;
#[path = "support/http_server.rs"]
mod http_server;
#[allow(dead_code)]
#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use hostile_server::{http_response, Behaviour, HostileServer};
use run::{assert_clean_exit, assert_stderr_has, chaos, read_json, record_names, scratch, stderr};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

fn write_experiment(dir: &Path, name: &str, experiment: &Value) {
    std::fs::write(dir.join(name), experiment.to_string()).expect("write experiment");
}

fn echo(name: &str) -> Value {
    json!({"type": "action", "name": name,
           "provider": {"type": "process", "path": "echo", "arguments": name}})
}

/// An experiment whose method is `method` and whose one rollback echoes `rb`.
fn with_rollback(method: Vec<Value>) -> Value {
    json!({"title": "attack", "description": "d", "method": method, "rollbacks": [echo("rb")]})
}

/// Waits (and sleeps) the reference could not: the run is `aborted`, the rollbacks run, the
/// journal is written, exit 1, as chaostoolkit 1.19.0 does after its `OverflowError`.
fn assert_aborted_with_rollback(dir: &Path, needle: &str) -> Value {
    let out = chaos(dir, &["run", "e.json"], &[]);
    assert_clean_exit(&out, 1, needle);
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "aborted", "{journal:#}");
    assert_eq!(record_names(&journal, "rollbacks"), ["rb"]);
    assert_eq!(journal["rollbacks"][0]["status"], "succeeded");
    assert_stderr_has(
        &out,
        "Experiment ran into an un expected fatal error, aborting now.",
    );
    journal
}

#[test]
fn a_pause_after_longer_than_the_reference_can_sleep_aborts_and_rolls_back() {
    let dir = scratch("attack", "pause-after");
    let mut action = echo("a1");
    action["pauses"] = json!({"after": 1e20});
    write_experiment(&dir, "e.json", &with_rollback(vec![action, echo("a2")]));
    let journal =
        assert_aborted_with_rollback(&dir, "the after pause of 1e+20 seconds is out of range");
    // as the reference: the activity itself succeeded, the next one never ran
    assert_eq!(record_names(&journal, "run"), ["a1"]);
    assert_eq!(journal["run"][0]["status"], "succeeded");
}

#[test]
fn a_pause_before_longer_than_the_reference_can_sleep_aborts_before_the_activity() {
    let dir = scratch("attack", "pause-before");
    let mut action = echo("a2");
    action["pauses"] = json!({"before": 9.3e9});
    write_experiment(&dir, "e.json", &with_rollback(vec![echo("a1"), action]));
    let journal = assert_aborted_with_rollback(
        &dir,
        "the before pause of 9300000000.0 seconds is out of range",
    );
    assert_eq!(record_names(&journal, "run"), ["a1"]);
}

#[test]
fn a_process_timeout_out_of_range_aborts_and_rolls_back() {
    let dir = scratch("attack", "process-timeout");
    let mut action = echo("a1");
    action["provider"]["timeout"] = json!(1e20);
    write_experiment(&dir, "e.json", &with_rollback(vec![action]));
    let journal = assert_aborted_with_rollback(
        &dir,
        "the activity's timeout of 1e+20 seconds is out of range",
    );
    // the reference's record of an activity that raised: no status
    assert_eq!(record_names(&journal, "run"), ["a1"]);
    assert!(journal["run"][0].get("status").is_none(), "{journal:#}");
}

#[test]
fn an_http_timeout_out_of_range_aborts_and_rolls_back() {
    let dir = scratch("attack", "http-timeout");
    let probe = json!({"type": "probe", "name": "h1",
        "provider": {"type": "http", "url": "http://127.0.0.1:9/", "timeout": [1, 1e20]}});
    write_experiment(&dir, "e.json", &with_rollback(vec![probe]));
    assert_aborted_with_rollback(
        &dir,
        "the activity's timeout of 1e+20 seconds is out of range",
    );
}

#[test]
fn a_hypothesis_frequency_out_of_range_is_a_usage_error_before_anything_runs() {
    let dir = scratch("attack", "frequency");
    write_experiment(&dir, "e.json", &with_rollback(vec![echo("a1")]));
    let out = chaos(
        &dir,
        &[
            "run",
            "--hypothesis-strategy",
            "continuously",
            "--hypothesis-frequency",
            "1e20",
            "e.json",
        ],
        &[],
    );
    assert_clean_exit(&out, 2, "--hypothesis-frequency");
    assert_stderr_has(&out, "at most 9223372036 seconds");
    assert!(!dir.join("journal.json").exists(), "nothing ran");
}

#[test]
fn a_dotenv_line_without_a_name_is_named_by_line_and_its_value_never_shown() {
    let dir = scratch("attack", "dotenv");
    std::fs::write(dir.join("vars.env"), "GOOD=1\n=s3cr3t-token-value\n").expect("write");
    write_experiment(&dir, "e.json", &with_rollback(vec![echo("a1")]));
    let out = chaos(&dir, &["run", "--var-file", "vars.env", "e.json"], &[]);
    // as for any var file that cannot be read: logged, skipped, the run goes on
    assert_clean_exit(&out, 0, "Invalid line 2 in var file 'vars.env'");
    let journal = std::fs::read_to_string(dir.join("journal.json")).expect("journal");
    for (what, text) in [
        ("stderr", stderr(&out)),
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
        ("journal", journal),
    ] {
        assert!(
            !text.contains("s3cr3t"),
            "the value leaked into {what}:\n{text}"
        );
    }
}

/// A YAML document with a 1 MiB anchored string and 4,000 aliases of it: 4 GiB expanded.
fn alias_bomb(prefix: &str) -> String {
    let mut doc = format!("{prefix}big: &big {}\nmany:\n", "x".repeat(1 << 20));
    for _ in 0..4000 {
        doc.push_str("  - *big\n");
    }
    doc
}

#[test]
fn yaml_aliases_are_bounded_by_expanded_size_in_experiments_var_files_and_settings() {
    let dir = scratch("attack", "alias-bomb");
    std::fs::write(dir.join("bomb.yaml"), alias_bomb("title: t\nmethod: []\n")).expect("write");
    let out = chaos(&dir, &["validate", "bomb.yaml"], &[]);
    assert_clean_exit(&out, 1, "aliases expand to more than 32 MiB");
    assert_stderr_has(&out, "bomb.yaml:");

    // a var file: logged and skipped, as any var file that cannot be parsed
    std::fs::write(dir.join("vars.yaml"), alias_bomb("")).expect("write");
    write_experiment(&dir, "e.json", &with_rollback(vec![echo("a1")]));
    let out = chaos(&dir, &["run", "--var-file", "vars.yaml", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Failed to parse variable file 'vars.yaml'");
    assert_stderr_has(&out, "aliases expand to more than 32 MiB");

    // the settings file: logged and read as empty, as any malformed settings file
    std::fs::write(dir.join("settings.yaml"), alias_bomb("")).expect("write");
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Failed parsing YAML settings");
    assert_stderr_has(&out, "aliases expand to more than 32 MiB");
}

/// A sparse file of `mib` MiB (no disk space used): a document too large to read.
fn huge_file(path: &Path, mib: u64) {
    let file = std::fs::File::create(path).expect("create");
    file.set_len(mib * 1024 * 1024).expect("set_len");
}

#[test]
fn local_documents_are_size_capped_and_an_endless_one_is_not_read_forever() {
    let dir = scratch("attack", "huge-files");
    write_experiment(&dir, "e.json", &with_rollback(vec![echo("a1")]));
    // An experiment: a validation error naming the file.
    huge_file(&dir.join("big.json"), 40);
    let out = chaos(&dir, &["validate", "big.json"], &[]);
    assert_clean_exit(&out, 1, "big.json");
    assert_stderr_has(&out, "larger than 32 MiB");

    // A control file: the run does not start.
    huge_file(&dir.join("controls.yaml"), 40);
    let out = chaos(
        &dir,
        &["run", "--control-file", "controls.yaml", "e.json"],
        &[],
    );
    assert_clean_exit(&out, 1, "controls.yaml: cannot read the control file");
    assert_stderr_has(&out, "larger than 32 MiB");
    assert!(!dir.join("journal.json").exists());

    // A var file: logged and skipped, as any var file that cannot be read.
    huge_file(&dir.join("vars.json"), 40);
    let out = chaos(&dir, &["run", "--var-file", "vars.json", "e.json"], &[]);
    assert_clean_exit(&out, 0, "Cannot read var file 'vars.json'");
    assert_stderr_has(&out, "larger than 32 MiB");

    // The settings, even an endless device: logged and read as empty, bounded.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"));
    cmd.args(["--settings", "/dev/zero", "validate", "e.json"])
        .current_dir(&dir)
        .env("CHAOS_COLOR", "never")
        .stdin(std::process::Stdio::null());
    reference::remove_proxy_env(&mut cmd);
    let out = cmd.output().expect("run chaos");
    assert_clean_exit(&out, 0, "Failed parsing YAML settings: /dev/zero");
    assert_stderr_has(&out, "larger than 4 MiB");
    assert_stderr_has(&out, "Experiment looks valid");
}

#[test]
fn yaml_aliases_are_bounded_in_an_experiment_served_by_url() {
    let dir = scratch("attack", "alias-bomb-url");
    let body = alias_bomb("title: t\nmethod: []\n");
    let server = HostileServer::start(Behaviour::Drip {
        response: http_response("application/x-yaml", &body),
        every: Duration::ZERO,
    });
    let out = chaos(&dir, &["validate", &server.url("/e.yaml")], &[]);
    assert_clean_exit(&out, 1, "aliases expand to more than 32 MiB");
}

#[test]
fn an_http_timeout_bounds_the_whole_exchange_not_each_read() {
    let dir = scratch("attack", "http-drip");
    // 40 bytes of answer, one every 0.3 s: 12 s in all, never 2 s without a byte.
    let server = HostileServer::start(Behaviour::Drip {
        response: http_response("text/plain", "ok"),
        every: Duration::from_millis(300),
    });
    let probe = json!({"type": "probe", "name": "slow",
        "provider": {"type": "http", "url": server.url("/"), "timeout": 2}});
    write_experiment(&dir, "e.json", &with_rollback(vec![probe]));
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let journal = read_json(&dir.join("journal.json"));
    let record = &journal["run"][0];
    assert_eq!(record["status"], "failed", "{journal:#}");
    assert_eq!(
        record["exception"][0],
        "chaoslib.exceptions.ActivityFailed: activity took too long to complete\n"
    );
}

#[test]
fn a_url_source_that_never_answers_times_out() {
    let dir = scratch("attack", "url-silent");
    let server = HostileServer::start(Behaviour::Silent);
    let out = chaos(
        &dir,
        &["run", &server.url("/e.json")],
        &[("CHAOS_SOURCE_TIMEOUT", "1")],
    );
    assert_clean_exit(
        &out,
        1,
        "no complete answer within 1 seconds (set CHAOS_SOURCE_TIMEOUT",
    );
    assert!(!dir.join("journal.json").exists());
}

#[test]
fn a_url_source_that_drips_forever_times_out() {
    let dir = scratch("attack", "url-drip");
    let server = HostileServer::start(Behaviour::Drip {
        response: http_response("application/json", &" ".repeat(1000)),
        every: Duration::from_millis(100),
    });
    let out = chaos(
        &dir,
        &["validate", &server.url("/e.json")],
        &[("CHAOS_SOURCE_TIMEOUT", "1")],
    );
    assert_clean_exit(&out, 1, "no complete answer within 1 seconds");
}

#[test]
fn a_url_source_that_never_ends_is_cut_at_the_size_cap() {
    let dir = scratch("attack", "url-endless");
    let server = HostileServer::start(Behaviour::Endless {
        content_type: "application/json",
        prefix: b"{\"title\": \"",
    });
    let out = chaos(&dir, &["validate", &server.url("/e.json")], &[]);
    assert_clean_exit(&out, 1, "the answer is larger than 32 MiB");
}

#[test]
fn a_journal_path_that_cannot_be_written_stops_the_run_before_any_activity() {
    let dir = scratch("attack", "journal-path");
    let marker = dir.join("ran");
    let touch = json!({"type": "action", "name": "touch",
        "provider": {"type": "process", "path": "touch", "arguments": [marker.to_str()]}});
    write_experiment(&dir, "e.json", &with_rollback(vec![touch]));
    let out = chaos(
        &dir,
        &["run", "--journal-path", "/nonexistent/d/j.json", "e.json"],
        &[],
    );
    assert_clean_exit(
        &out,
        1,
        "cannot write the journal to '/nonexistent/d/j.json'",
    );
    assert!(!marker.exists(), "no activity ran");
    // a directory is not a journal either
    let out = chaos(&dir, &["run", "--journal-path", ".", "e.json"], &[]);
    assert_clean_exit(
        &out,
        1,
        "cannot write the journal to '.': it is a directory",
    );
    assert!(!marker.exists(), "no activity ran");
}

#[test]
fn a_journal_that_cannot_be_written_at_the_end_exits_1() {
    let dir = scratch("attack", "journal-lost");
    let doomed = dir.join("doomed");
    std::fs::create_dir_all(&doomed).expect("mkdir");
    // The run itself removes the journal's directory.
    let remove = json!({"type": "action", "name": "rm",
        "provider": {"type": "process", "path": "rm", "arguments": ["-rf", doomed.to_str()]}});
    write_experiment(&dir, "e.json", &with_rollback(vec![remove]));
    let journal_path = doomed.join("j.json");
    let out = chaos(
        &dir,
        &[
            "run",
            "--journal-path",
            journal_path.to_str().expect("utf-8"),
            "e.json",
        ],
        &[],
    );
    assert_clean_exit(
        &out,
        1,
        &format!("cannot write the journal to '{}'", journal_path.display()),
    );
    assert_stderr_has(&out, "Experiment ended with status: completed");
}

#[test]
fn a_run_killed_mid_action_leaves_a_valid_journal_of_what_ran() {
    let dir = scratch("attack", "sigkill");
    let probe = json!({"type": "probe", "name": "up", "tolerance": 0,
        "provider": {"type": "process", "path": "true"}});
    let long = json!({"type": "action", "name": "long",
        "provider": {"type": "process", "path": "sleep", "arguments": ["30"]}});
    let mut experiment = with_rollback(vec![echo("first"), long]);
    experiment["steady-state-hypothesis"] = json!({"title": "h", "probes": [probe]});
    write_experiment(&dir, "e.json", &experiment);
    let mut child = run::chaos_command(&dir, &["run", "--journal-path", "j.json", "e.json"], &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start chaos");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    // Wait (bounded) until the journal shows the long action running.
    let path = dir.join("j.json");
    let running = |journal: &Value| record_names(journal, "run") == ["first", "long"];
    let seen = run::wait_for_journal(&path, running);
    let orphans = run::children(child.id());
    child.kill().expect("SIGKILL chaos");
    let _ = child.wait();
    // The run's guardian shares its standard error: its end is the guardian's end.
    let stderr = reader.join().expect("stderr reader");

    // While the run went on, the journal was whole and up to date.
    let Some(live) = seen else {
        panic!("the journal never showed the long action running:\n{stderr}");
    };
    assert_eq!(live["status"], Value::Null, "{live:#}");
    assert!(live.get("end").is_none(), "{live:#}");
    assert_eq!(live["steady_states"]["before"]["steady_state_met"], true);
    assert_eq!(live["run"][0]["status"], "succeeded");
    assert_eq!(live["run"][0]["output"]["stdout"], "first\n");
    let long = &live["run"][1];
    assert!(
        long.get("status").is_none() && long.get("end").is_none(),
        "{long:#}"
    );
    assert!(
        journal::from_value(live.clone()).is_ok(),
        "a journal the typed reader reads"
    );

    // After the kill, the guardian (docs/guardian.md) ended the action's process, played
    // the rollback and closed the journal.
    // The run's children: the action's `sleep` and the guardian. The guardian closes the
    // standard error as it exits, a moment before it is gone: a bounded wait.
    for pid in orphans {
        let gone = || {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            (state.is_empty() || state.contains(") Z "))
                .then_some(())
                .ok_or(state)
        };
        let mut last = gone();
        for _ in 0..200 {
            if last.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
            last = gone();
        }
        if let Err(state) = last {
            panic!("the run's child {pid} is still there: {state}");
        }
    }
    let journal = read_json(&path);
    assert_eq!(journal["status"], "aborted", "{journal:#}\n{stderr}");
    assert_eq!(journal["run"][1]["status"], "failed");
    assert_eq!(record_names(&journal, "rollbacks"), ["rb"]);
    assert_eq!(journal["guardian"]["rollbacks"]["played"], 1);
    assert!(
        journal::from_value(journal.clone()).is_ok(),
        "a journal the typed reader reads"
    );
    let temporaries: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
}

/// `chaos ARGS` started in `dir` with its output discarded, for tests that signal it.
fn spawn_quiet(dir: &Path, args: &[&str]) -> std::process::Child {
    run::chaos_command(dir, args, &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chaos")
}

/// Live (not zombie) processes whose command line contains `marker`.
fn alive_with(marker: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state follows the parenthesised command name.
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, s)| s.starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .collect()
}

/// Polls (bounded) until `done` holds; false when it never did.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// A unique `sleep` duration, so the test can find its own processes.
fn marker(n: u32) -> String {
    format!("3{n}.{}", std::process::id())
}

/// `sh -c 'sleep A & sleep B & wait'`: a process tree, as a shell script action makes one.
fn tree_action(a: &str, b: &str, timeout: Option<u32>) -> Value {
    let mut action = json!({"type": "action", "name": "tree", "provider": {
        "type": "process", "path": "sh",
        "arguments": ["-c", format!("sleep {a} & sleep {b} & wait")]}});
    if let Some(t) = timeout {
        action["provider"]["timeout"] = json!(t);
    }
    action
}

#[test]
fn a_timed_out_action_takes_its_whole_process_tree_with_it() {
    let dir = scratch("attack", "timeout-tree");
    let (a, b) = (marker(11), marker(12));
    write_experiment(
        &dir,
        "e.json",
        &with_rollback(vec![tree_action(&a, &b, Some(1))]),
    );
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_stderr_has(&out, "process activity took too long to complete");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["run"][0]["status"], "failed", "{journal:#}");
    assert!(
        eventually(|| alive_with(&a).is_empty() && alive_with(&b).is_empty()),
        "the shell's children outlived the activity: {:?} {:?}",
        alive_with(&a),
        alive_with(&b)
    );
}

#[test]
fn an_interrupted_run_takes_the_action_process_tree_with_it() {
    let dir = scratch("attack", "sigint-tree");
    let (a, b) = (marker(21), marker(22));
    write_experiment(
        &dir,
        "e.json",
        &with_rollback(vec![tree_action(&a, &b, None)]),
    );
    let args = ["run", "--rollback-strategy", "always", "e.json"];
    let mut child = spawn_quiet(&dir, &args);
    let started = eventually(|| !alive_with(&a).is_empty() && !alive_with(&b).is_empty());
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().expect("wait for chaos");
    let gone = eventually(|| alive_with(&a).is_empty() && alive_with(&b).is_empty());
    for pid in alive_with(&a).into_iter().chain(alive_with(&b)) {
        // SAFETY: as above; cleans up after a failing assertion only.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert!(started, "the action's processes never appeared");
    assert_eq!(status.code(), Some(1), "an interrupted run exits 1");
    assert!(gone, "the shell's children outlived the interrupted run");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "interrupted", "{journal:#}");
    assert_eq!(record_names(&journal, "rollbacks"), ["rb"]);
}

#[test]
fn a_run_killed_with_sigkill_takes_its_action_process_tree_with_it() {
    let dir = scratch("attack", "sigkill-tree");
    let (a, b) = (marker(31), marker(32));
    write_experiment(
        &dir,
        "e.json",
        &with_rollback(vec![tree_action(&a, &b, None)]),
    );
    let mut child = spawn_quiet(&dir, &["run", "e.json"]);
    let started = eventually(|| !alive_with(&a).is_empty() && !alive_with(&b).is_empty());
    child.kill().expect("SIGKILL chaos");
    let _ = child.wait();
    // The run's reaper notices its runner is gone and kills the registered groups.
    let gone = eventually(|| alive_with(&a).is_empty() && alive_with(&b).is_empty());
    for pid in alive_with(&a).into_iter().chain(alive_with(&b)) {
        // SAFETY: kill has no memory-safety preconditions; cleanup after a failure only.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert!(started, "the action's processes never appeared");
    assert!(
        gone,
        "the shell and its children outlived the killed runner"
    );
}

/// Every value declared as a secret (inline, from the environment), and one derived from
/// it by substitution into a URL, is absent from every byte the run wrote: console, log
/// file, journal, events file, agent report and notification bodies.
#[test]
fn secrets_never_leave_the_run() {
    let dir = scratch("attack", "secrets");
    let server = http_server::TestServer::start(None);
    let closed = http_server::closed_port();
    let (inline, from_env) = ("inline-s3cret-value", "env-s3cret-value");
    let experiment = json!({
        "title": format!("uses {inline}"),
        "description": "d",
        "secrets": {"app": {"token": inline, "other": {"type": "env", "key": "ATTACK_SECRET"}}},
        "steady-state-hypothesis": {"title": "h", "probes": [{
            "type": "probe", "name": "echo-secret", "tolerance": 0,
            "provider": {"type": "process", "path": "echo", "arguments": "${token} ${other}",
                         "secrets": ["app"]}}]},
        "method": [{
            "type": "action", "name": "secret-in-url",
            "provider": {"type": "http", "secrets": ["app"],
                "url": format!("http://127.0.0.1:{closed}/?token=${{token}}&other=${{other}}")}
        }],
        "rollbacks": [{
            "type": "action", "name": "rb",
            "provider": {"type": "process", "path": "sh", "secrets": ["app"],
                         "arguments": ["-c", "echo ${other} >&2; exit 3"]}}]
    });
    write_experiment(&dir, "e.json", &experiment);
    std::fs::write(
        dir.join("settings.yaml"),
        format!(
            "notifications:\n- type: http\n  url: {}/marker/notify\n",
            server.base_url()
        ),
    )
    .expect("settings");
    let out = chaos(
        &dir,
        &[
            "--log-file",
            "chaos.log",
            "run",
            "--events-file",
            "events.ndjson",
            "--output",
            "agent",
            "e.json",
        ],
        &[("ATTACK_SECRET", from_env)],
    );
    assert!(
        out.status.code().is_some() && !stderr(&out).contains("panicked"),
        "{}",
        stderr(&out)
    );
    // The run really used the secrets: the probe echoed them (masked) and the URL failed.
    let journal = read_json(&dir.join("journal.json"));
    let probe = &journal["steady_states"]["before"]["probes"][0];
    assert_eq!(probe["output"]["stdout"], "*** ***\n", "{probe:#}");
    assert_eq!(journal["experiment"]["secrets"]["app"]["token"], "***");
    assert_eq!(
        journal["experiment"]["secrets"]["app"]["other"],
        json!({"type": "env", "key": "ATTACK_SECRET"})
    );
    let exception = journal["run"][0]["exception"].to_string();
    assert!(exception.contains("token=***"), "{exception}");
    assert!(server.wait_for_request("/marker/notify", Duration::from_secs(5)));

    let mut written = vec![
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
        ("stderr", stderr(&out)),
    ];
    for file in ["journal.json", "chaos.log", "events.ndjson"] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{file} was not written: {e}"));
        written.push((file, text));
    }
    for body in server.bodies() {
        written.push(("notification", body));
    }
    assert!(written
        .iter()
        .any(|(what, text)| *what == "notification" && text.contains("run-")));
    for (what, text) in &written {
        for secret in [inline, from_env, "inline-s3cret", "s3cret-value"] {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {what}:\n{text}"
            );
        }
    }
}

/// Escape sequences in a title cannot reach the terminal, and a huge title is shortened on
/// the console while the journal keeps it whole.
#[test]
fn the_terminal_is_safe_from_escape_codes_and_huge_titles() {
    let dir = scratch("attack", "terminal");
    let title = format!("evil\u{1b}]0;pwned\u{7}\r{}", "x".repeat(100_000));
    let mut experiment = with_rollback(vec![echo("first")]);
    experiment["title"] = json!(title);
    write_experiment(&dir, "e.json", &experiment);
    let out = chaos(&dir, &["run", "e.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{7}') && !err.contains('\r'),
        "a raw control character reached the console"
    );
    assert!(
        err.contains("evil\\x1b]0;pwned\\x07\\rxxx"),
        "escaped, visibly"
    );
    let longest = err.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 9_000, "a console line of {longest} bytes");
    assert!(err.contains("more characters not shown"));
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(
        journal["experiment"]["title"],
        json!(title),
        "the journal keeps it whole"
    );
}

/// Outputs past the limit are cut, with a marker, in the journal: a process that writes
/// megabytes, and an HTTP body that never ends (read only up to the limit).
#[test]
fn outputs_past_the_limit_are_cut_with_a_marker() {
    let dir = scratch("attack", "output-cap");
    let server = HostileServer::start(Behaviour::Endless {
        content_type: "text/plain",
        prefix: b"start",
    });
    let big = json!({"type": "action", "name": "big", "provider": {
        "type": "process", "path": "sh",
        "arguments": ["-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo done >&2"]}});
    let endless = json!({"type": "probe", "name": "endless", "provider": {
        "type": "http", "url": server.url("/"), "timeout": 30}});
    write_experiment(&dir, "e.json", &with_rollback(vec![big, endless]));
    let out = chaos(
        &dir,
        &["run", "e.json"],
        &[("CHAOS_MAX_OUTPUT_BYTES", "1000")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let journal = read_json(&dir.join("journal.json"));
    let stdout = journal["run"][0]["output"]["stdout"].as_str().unwrap_or("");
    assert!(
        stdout.starts_with(&"a".repeat(1000)),
        "{}",
        &stdout[..50.min(stdout.len())]
    );
    assert!(
        stdout.ends_with("… [2999000 more bytes not kept: outputs are cut at 1000 bytes (CHAOS_MAX_OUTPUT_BYTES)]"),
        "{}",
        &stdout[1000..]
    );
    assert_eq!(journal["run"][0]["output"]["stderr"], "done\n");
    let body = journal["run"][1]["output"]["body"].as_str().unwrap_or("");
    assert!(body.starts_with("start"), "{body:.60}");
    assert!(
        body.ends_with("… [cut at 1000 bytes, the rest not read (CHAOS_MAX_OUTPUT_BYTES)]"),
        "{}",
        &body[body.len().saturating_sub(120)..]
    );
    assert!(std::fs::metadata(dir.join("journal.json")).map_or(0, |m| m.len()) < 100_000);

    // A limit that is not a number of bytes is named in a WARNING; the default applies.
    let out = chaos(
        &dir,
        &["run", "e.json"],
        &[("CHAOS_MAX_OUTPUT_BYTES", "4 MiB")],
    );
    assert_stderr_has(
        &out,
        "WARNING] CHAOS_MAX_OUTPUT_BYTES must be a number of bytes (0 for no limit), not '4 MiB': outputs are cut at 4194304 bytes",
    );
    let journal = read_json(&dir.join("journal.json"));
    let stdout = journal["run"][0]["output"]["stdout"].as_str().unwrap_or("");
    assert_eq!(stdout.len(), 3_000_000, "3 MB is under the default limit");
}

// Typos caught, compatibility kept (item 7): keys Chaos Toolkit ignores warn with their
// place and a suggestion, `--strict` (or the settings' `runtime.validation.strict`) makes
// them validation errors, and a string provider timeout is a validation error.

const TYPO: &str = "title: t
description: d
steady-state-hypotesis:
  title: h
  probes: []
method:
- type: action
  name: a1
  provider:
    type: process
    path: echo
    arguments: a1
";

const TYPO_WARNING: &str = "WARNING] unknown key 'steady-state-hypotesis' in the experiment, ignored by Chaos Toolkit; did you mean 'steady-state-hypothesis'?";
const TYPO_PLACE: &str = "  => at e.yaml:3:1 (steady-state-hypotesis)";

#[test]
fn a_misspelt_key_warns_with_its_place_and_a_suggestion_at_validate_and_run() {
    let dir = scratch("attack", "typo-warns");
    std::fs::write(dir.join("e.yaml"), TYPO).expect("write");
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(&out, 0, TYPO_WARNING);
    assert_stderr_has(&out, &format!("WARNING] {TYPO_PLACE}"));
    let out = chaos(&dir, &["run", "e.yaml"], &[]);
    assert_clean_exit(&out, 0, TYPO_WARNING);
    assert_stderr_has(&out, &format!("WARNING] {TYPO_PLACE}"));
    // The warning comes before the verdict, and the run is the reference's: no hypothesis.
    let err = stderr(&out);
    let warned = err.find(TYPO_WARNING).unwrap_or(usize::MAX);
    let valid = err.find("Experiment looks valid").unwrap_or(0);
    assert!(warned < valid, "{err}");
    assert_stderr_has(&out, "No steady state hypothesis defined");
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "completed");
}

#[test]
fn strict_makes_an_unknown_key_a_validation_error_with_its_place() {
    let dir = scratch("attack", "typo-strict");
    std::fs::write(dir.join("e.yaml"), TYPO).expect("write");
    let error = "ERROR] unknown key 'steady-state-hypotesis' in the experiment (strict validation); did you mean 'steady-state-hypothesis'?";
    let out = chaos(&dir, &["validate", "--strict", "e.yaml"], &[]);
    assert_clean_exit(&out, 1, error);
    assert_stderr_has(&out, &format!("ERROR] {TYPO_PLACE}"));
    let out = chaos(&dir, &["run", "--strict", "e.yaml"], &[]);
    assert_clean_exit(&out, 1, error);
    assert_stderr_has(&out, &format!("ERROR] {TYPO_PLACE}"));
    assert!(!err_has(&out, "Running experiment"), "nothing ran");
    assert!(
        !dir.join("journal.json").exists(),
        "no journal, as any invalid run"
    );
    // The last of --strict / --no-strict wins.
    let out = chaos(
        &dir,
        &["validate", "--strict", "--no-strict", "e.yaml"],
        &[],
    );
    assert_clean_exit(&out, 0, TYPO_WARNING);
}

fn err_has(out: &std::process::Output, needle: &str) -> bool {
    stderr(out).contains(needle)
}

#[test]
fn the_settings_make_validation_strict_and_no_strict_overrides_them() {
    let dir = scratch("attack", "typo-settings");
    std::fs::write(dir.join("e.yaml"), TYPO).expect("write");
    std::fs::write(
        dir.join("settings.yaml"),
        "runtime:\n  validation:\n    strict: true\n",
    )
    .expect("write settings");
    let out = chaos(&dir, &["run", "e.yaml"], &[]);
    assert_clean_exit(
        &out,
        1,
        "(strict validation); did you mean 'steady-state-hypothesis'?",
    );
    assert!(!dir.join("journal.json").exists(), "nothing ran");
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(&out, 1, "(strict validation)");
    let out = chaos(&dir, &["run", "--no-strict", "e.yaml"], &[]);
    assert_clean_exit(&out, 0, TYPO_WARNING);
    assert_eq!(read_json(&dir.join("journal.json"))["status"], "completed");
    // A value that is not a boolean is ignored, with a warning.
    std::fs::write(
        dir.join("settings.yaml"),
        "runtime:\n  validation:\n    strict: 'yes'\n",
    )
    .expect("write settings");
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(&out, 0, TYPO_WARNING);
    assert_stderr_has(
        &out,
        "runtime.validation.strict must be true or false, not 'yes': ignored",
    );
}

#[test]
fn a_string_provider_timeout_is_a_validation_error_naming_the_field() {
    let dir = scratch("attack", "string-timeout");
    let yaml = "title: t
description: d
method:
- type: action
  name: a1
  provider:
    type: process
    path: echo
    timeout: 1s
- type: probe
  name: h1
  provider:
    type: http
    url: http://127.0.0.1:9/
    timeout: 2s
rollbacks:
- type: action
  name: rb
  provider:
    type: process
    path: echo
";
    std::fs::write(dir.join("e.yaml"), yaml).expect("write");
    for command in ["validate", "run"] {
        let out = chaos(&dir, &[command, "e.yaml"], &[]);
        assert_clean_exit(
            &out,
            1,
            "ERROR] a process provider's timeout must be a number of seconds, not the string '1s'",
        );
        assert_stderr_has(&out, "  => at e.yaml:9:5 (method[0].provider.timeout)");
    }
    assert!(!dir.join("journal.json").exists(), "nothing ran");
    let http_only = yaml.replace("    timeout: 1s\n", "");
    std::fs::write(dir.join("e.yaml"), http_only).expect("write");
    let out = chaos(&dir, &["validate", "e.yaml"], &[]);
    assert_clean_exit(
        &out,
        1,
        "an http provider's timeout must be a number of seconds or a ${name} pattern, not the string '2s'",
    );
    assert_stderr_has(&out, "  => at e.yaml:14:5 (method[1].provider.timeout)");
    // Without validation the run aborts when the activity starts, as the reference's does
    // (its `subprocess`/`requests` raise), and the rollbacks run.
    std::fs::write(dir.join("e.yaml"), yaml).expect("write");
    let out = chaos(&dir, &["run", "--no-validation", "e.yaml"], &[]);
    assert_clean_exit(
        &out,
        1,
        "the activity's timeout must be a number of seconds, not the string '1s'",
    );
    let journal = read_json(&dir.join("journal.json"));
    assert_eq!(journal["status"], "aborted", "{journal:#}");
    assert_eq!(record_names(&journal, "run"), ["a1"]);
    assert_eq!(record_names(&journal, "rollbacks"), ["rb"]);
}
