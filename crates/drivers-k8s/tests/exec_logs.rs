//! `pod.actions.exec_in_pods`, `pod.probes.read_pod_logs` and `should_be_found_in_logs` on
//! real (kwok) pods: kwok's server plays the kubelet, running exec'd commands on this host
//! (`ClusterExec` with `local`) and serving local files as container logs (`ClusterLogs`),
//! scoped to each test's namespace. Each test then runs the same calls through the reference
//! chaostoolkit-kubernetes 0.39.0 and compares (`scripts/reference-venv-k8s`).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const POD_A: &str = "chaosk8s.pod.actions";
const POD_P: &str = "chaosk8s.pod.probes";

/// Cluster-scoped objects of one test (kwok's `ClusterExec` / `ClusterLogs`, a node), deleted
/// on drop.
struct KwokRules(Vec<String>);

impl KwokRules {
    fn apply(manifest: &str, names: &[&str]) -> KwokRules {
        let rules = KwokRules(names.iter().map(|n| n.to_string()).collect());
        let served = Command::new(kubectl_bin())
            .args(["--kubeconfig", kubeconfig(), "get", "crd"])
            .args(["clusterexecs.kwok.x-k8s.io", "clusterlogs.kwok.x-k8s.io"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            served,
            "this control plane has no ClusterExec/ClusterLogs CRDs: it was started by an older \
             scripts/testenv; restart it (scripts/testenv down; scripts/testenv up)"
        );
        kubectl(&["apply", "-f", "-"], Some(manifest));
        rules
    }
}

impl Drop for KwokRules {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new(kubectl_bin())
                .args(["--kubeconfig", kubeconfig(), "delete", "--ignore-not-found"])
                .arg(name)
                .output();
        }
    }
}

/// A bare pod with the given containers, labels (`k: v, …`) and optional default container.
fn pod(name: &str, labels: &str, containers: &[&str], default: Option<&str>) -> String {
    let containers: Vec<String> = containers
        .iter()
        .map(|c| format!("{{name: {c}, image: fake}}"))
        .collect();
    let annotations = default
        .map(|d| format!(", annotations: {{kubectl.kubernetes.io/default-container: {d}}}"))
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{{labels}}}{annotations}}}\n\
         spec:\n  containers: [{}]\n---\n",
        containers.join(", ")
    )
}

/// Polls until kwok serves `kubectl <args>` for a pod (it learns new rules by a watch of
/// its own, which tests cannot observe), at most 60 s.
fn until_kwok_serves(args: &[&str]) {
    let mut last = String::new();
    for _ in 0..120 {
        let out = Command::new(kubectl_bin())
            .arg("--kubeconfig")
            .arg(kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl");
        if out.status.success() {
            return;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("kwok never served kubectl {args:?}: {last}");
}

/// Runs the steps through both sides; `None` (after saying so) when the reference venv
/// cannot be had.
fn both(steps: &[(&str, &str, Value)]) -> (Vec<Value>, Option<Vec<Value>>) {
    let ours = ours(steps);
    let theirs = match reference_python() {
        Some(python) => Some(reference(&python, steps)),
        None => {
            eprintln!(
                "SKIPPED the differential half: the reference venv (scripts/reference-venv-k8s) \
                 is not available"
            );
            None
        }
    };
    (ours, theirs)
}

/// `defaults` with the keys of `args` set over them.
fn merged(mut defaults: Value, args: Value) -> Value {
    if let (Some(into), Value::Object(args)) = (defaults.as_object_mut(), args) {
        into.extend(args);
    }
    defaults
}

fn ok(v: Value) -> Value {
    json!({ "ok": v })
}

fn err(v: &Value) -> &str {
    v["err"]
        .as_str()
        .unwrap_or_else(|| panic!("expected a failure, got {v}"))
}

fn run(pod: &str, cmd: Value, stdout: &str) -> Value {
    json!({"pod_name": pod, "exit_code": 0, "cmd": cmd, "stdout": stdout, "stderr": ""})
}

#[test]
fn exec_in_pods_runs_commands_like_upstream() {
    let ns = Ns::new("exec");
    let n = ns.0.as_str();
    // Each container's exec runs on this host with WHICH=<container>, so the output names
    // the container the command ran in.
    let _rules = KwokRules::apply(
        &format!(
            "apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {{name: {n}}}
spec:
  selector: {{matchNamespaces: [{n}]}}
  execs:
  - {{containers: [main], local: {{envs: [{{name: WHICH, value: main}}]}}}}
  - {{containers: [side], local: {{envs: [{{name: WHICH, value: side}}]}}}}
  - {{containers: [other], local: {{envs: [{{name: WHICH, value: other}}]}}}}
"
        ),
        &[&format!("clusterexec/{n}")],
    );
    ns.apply(
        &[
            pod("p-a", "app: exec", &["main", "side"], Some("side")),
            pod("p-b", "app: exec", &["main"], None),
            pod("p-c", "app: exec", &["other", "main"], None),
        ]
        .concat(),
    );
    ns.wait_ready("app=exec", 3);
    until_kwok_serves(&["-n", n, "exec", "p-c", "-c", "other", "--", "true"]);

    let sel = |args: Value| {
        let defaults = json!({"ns": n, "label_selector": "app=exec"});
        (POD_A, "exec_in_pods", merged(defaults, args))
    };
    let which = json!(["sh", "-c", "echo $WHICH"]);
    let steps = vec![
        // 0: a string is split with shell rules (the quoted double space survives)
        sel(
            json!({"cmd": "echo hello 'big  world'", "name_pattern": "p-b", "container_name": "main"}),
        ),
        // 1: a list runs as given; only stdout is captured
        sel(
            json!({"cmd": ["sh", "-c", "printf 'a\\nb'; echo oops >&2"], "name_pattern": "p-b", "container_name": "main"}),
        ),
        // 2: a non-zero exit: the exit code as a string, stderr the status message
        sel(
            json!({"cmd": ["sh", "-c", "echo out; exit 3"], "name_pattern": "p-b", "container_name": "main"}),
        ),
        // 3: container_name picks the container in every pod
        sel(json!({"cmd": which, "all": true, "container_name": "main"})),
        // 4: pods without that container are skipped
        sel(json!({"cmd": which, "all": true, "container_name": "side"})),
        // 5: selection as terminate_pods: the first qty pods by name, a percentage rounded up
        sel(json!({"cmd": which, "qty": 2, "container_name": "main"})),
        sel(json!({"cmd": which, "mode": "percentage", "qty": 34, "container_name": "main"})),
        // 7: no pod selected is not an error
        sel(json!({"cmd": which, "label_selector": "app=none", "container_name": "main"})),
        // 8..: failures
        sel(json!({"cmd": which, "qty": -1})),
        sel(json!({"cmd": which, "mode": "random"})),
        sel(json!({"cmd": which, "order": "newest"})),
        sel(json!({"cmd": ""})),
        sel(json!({"cmd": []})),
        sel(json!({"cmd": "echo 'unterminated", "container_name": "main"})),
        // 14..: deliberate differences
        // 14: no container_name: each pod's default container (upstream skips every pod)
        sel(json!({"cmd": which, "all": true})),
        // 15: no selected pod has the container (upstream: [])
        sel(json!({"cmd": which, "all": true, "container_name": "nope"})),
        // 16: the command outlives request_timeout: exit code 1 as upstream, and why (kwok
        // lets the command run on when the stream closes, as container runtimes do)
        sel(
            json!({"cmd": ["sleep", "15"], "name_pattern": "p-b", "container_name": "main", "request_timeout": 3}),
        ),
        // 17: an executable that does not exist: the command could not run at all
        sel(
            json!({"cmd": ["no-such-program-here"], "name_pattern": "p-b", "container_name": "main"}),
        ),
    ];
    let (ours, theirs) = both(&steps);

    let as_string = json!("echo hello 'big  world'");
    assert_eq!(
        ours[0],
        ok(json!([run("p-b", as_string, "hello big  world\n")]))
    );
    assert_eq!(
        ours[1],
        ok(json!([run("p-b", steps[1].2["cmd"].clone(), "a\nb")]))
    );
    let nonzero = &ours[2]["ok"][0];
    assert_eq!(nonzero["exit_code"], json!("3"), "{nonzero}");
    assert_eq!(nonzero["stdout"], json!("out\n"), "{nonzero}");
    let stderr = nonzero["stderr"].as_str().unwrap_or_default();
    assert!(stderr.ends_with("exit status 3"), "{stderr}");
    assert_eq!(
        ours[3],
        ok(json!([
            run("p-a", which.clone(), "main\n"),
            run("p-b", which.clone(), "main\n"),
            run("p-c", which.clone(), "main\n")
        ]))
    );
    assert_eq!(ours[4], ok(json!([run("p-a", which.clone(), "side\n")])));
    let first_two = ok(json!([
        run("p-a", which.clone(), "main\n"),
        run("p-b", which.clone(), "main\n")
    ]));
    assert_eq!(ours[5], first_two);
    assert_eq!(ours[6], first_two);
    assert_eq!(ours[7], ok(json!([])));
    let failed = "chaoslib.exceptions.ActivityFailed: ";
    assert_eq!(
        err(&ours[8]),
        format!("{failed}Cannot select pods. Quantity '-1' is negative.")
    );
    assert_eq!(
        err(&ours[9]),
        format!("{failed}Cannot select pods. Mode 'random' is invalid.")
    );
    assert_eq!(
        err(&ours[10]),
        format!("{failed}Cannot select pods. Order 'newest' is invalid.")
    );
    let no_cmd = format!("{failed}A command must be set to run a container");
    assert_eq!(err(&ours[11]), no_cmd);
    assert_eq!(err(&ours[12]), no_cmd);
    assert_eq!(err(&ours[13]), "ValueError: No closing quotation");
    assert_eq!(
        ours[14],
        ok(json!([
            run("p-a", which.clone(), "side\n"),
            run("p-b", which.clone(), "main\n"),
            run("p-c", which.clone(), "other\n")
        ]))
    );
    assert_eq!(
        err(&ours[15]),
        format!("{failed}no selected pod has a container named 'nope' (pods: p-a, p-b, p-c)")
    );
    let timed_out = &ours[16]["ok"][0];
    assert_eq!(timed_out["exit_code"], json!(1), "{timed_out}");
    assert_eq!(
        timed_out["stderr"],
        json!("the command did not finish within 3 seconds (request_timeout)")
    );
    let e = err(&ours[17]);
    assert!(
        e.starts_with(&format!(
            "{failed}cannot run ['no-such-program-here'] in pod '{n}/p-b' (container 'main'): "
        )) && e.contains("executable file not found"),
        "{e}"
    );
    // The CLI runs activities on a current-thread runtime: the exec stream's task runs there.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let args = merged(steps[0].2.clone(), json!({"cmd": ["echo", "one thread"]}));
    assert_eq!(
        call_on(&current, POD_A, "exec_in_pods", args),
        Ok(json!([run(
            "p-b",
            json!(["echo", "one thread"]),
            "one thread\n"
        )]))
    );
    // A whitespace-only string is no command either (upstream sends none and the API refuses).
    let e = failure(call(
        POD_A,
        "exec_in_pods",
        json!({"ns": n, "cmd": "   ", "container_name": "main"}),
    ));
    assert_eq!(e, no_cmd);

    let Some(theirs) = theirs else { return };
    for i in 0..14 {
        if i == 2 {
            continue;
        }
        assert_eq!(ours[i], theirs[i], "step {i}: {:?}", steps[i]);
    }
    // kwok reports a non-zero exit as an internal error; upstream takes its first cause's
    // message for the exit code (a kubelet's NonZeroExitCode gives "3", as here).
    let theirs_nonzero = &theirs[2]["ok"][0];
    assert_eq!(theirs_nonzero["stdout"], nonzero["stdout"]);
    assert_eq!(theirs_nonzero["stderr"], nonzero["stderr"]);
    assert!(
        theirs_nonzero["exit_code"]
            .as_str()
            .is_some_and(|c| c.ends_with("exit status 3")),
        "{theirs_nonzero}"
    );
    assert_eq!(theirs[14], ok(json!([])), "upstream skips every pod");
    assert_eq!(theirs[15], ok(json!([])), "upstream skips every pod");
    let theirs_timeout = &theirs[16]["ok"][0];
    assert_eq!(theirs_timeout["exit_code"], json!(1));
    assert_eq!(theirs_timeout["stderr"], json!(""));
    assert_eq!(theirs_timeout["stdout"], timed_out["stdout"]);
    let theirs_missing = &theirs[17]["ok"][0]["exit_code"];
    assert!(
        theirs_missing
            .as_str()
            .is_some_and(|c| c.contains("executable file not found")),
        "upstream reports the error as the exit code: {theirs_missing}"
    );
}

#[test]
fn exec_where_the_command_cannot_run_fails_clearly() {
    let ns = Ns::new("exec-dead");
    let n = ns.0.as_str();
    let node = format!("{n}-node");
    // A kwok node whose kubelet address is 127.0.0.2, where nothing listens.
    let _rules = KwokRules::apply(
        &format!(
            "apiVersion: v1
kind: Node
metadata:
  name: {node}
  annotations: {{kwok.x-k8s.io/node: fake}}
  labels: {{type: kwok, pool: {n}, kubernetes.io/hostname: {node}}}
spec:
  taints: [{{key: pool, value: {n}, effect: NoSchedule}}]
status:
  addresses: [{{type: InternalIP, address: 127.0.0.2}}]
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {{name: {n}}}
spec:
  selector: {{matchNamespaces: [{n}]}}
  execs: [{{local: {{}}}}]
"
        ),
        &[&format!("clusterexec/{n}"), &format!("node/{node}")],
    );
    kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            &format!("node/{node}"),
            "--timeout=60s",
        ],
        None,
    );
    ns.apply(&format!(
        "apiVersion: v1
kind: Pod
metadata: {{name: lost, labels: {{app: lost}}}}
spec:
  nodeName: {node}
  tolerations: [{{key: pool, value: {n}, effect: NoSchedule}}]
  containers: [{{name: main, image: fake}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: waiting, labels: {{app: waiting}}}}
spec:
  nodeSelector: {{nowhere: \"true\"}}
  containers: [{{name: main, image: fake}}]
"
    ));
    ns.wait_ready("app=lost", 1);
    let steps = [
        (
            POD_A,
            "exec_in_pods",
            json!({"ns": n, "cmd": "echo hi", "label_selector": "app=lost", "container_name": "main"}),
        ),
        // A pod no node runs: the API refuses before any stream opens.
        (
            POD_A,
            "exec_in_pods",
            json!({"ns": n, "cmd": "echo hi", "label_selector": "app=waiting"}),
        ),
    ];
    let (ours, theirs) = both(&steps);
    let e = err(&ours[0]);
    assert!(
        e.starts_with(&format!(
            "chaoslib.exceptions.ActivityFailed: cannot run ['echo', 'hi'] in pod '{n}/lost' \
             (container 'main'): "
        )) && e.contains("127.0.0.2")
            && e.contains("connection refused"),
        "{e}"
    );
    assert_eq!(
        err(&ours[1]),
        format!(
            "chaoslib.exceptions.ActivityFailed: cannot run ['echo', 'hi'] in pod '{n}/waiting' \
             (container 'main'): pod waiting does not have a host assigned"
        )
    );
    kubectl(&["-n", n, "delete", "pod", "lost", "--wait=false"], None);
    if let Some(theirs) = theirs {
        // upstream reports the apiserver's error as the exit code, and succeeds
        let exit_code = &theirs[0]["ok"][0]["exit_code"];
        assert!(
            exit_code
                .as_str()
                .is_some_and(|c| c.contains("127.0.0.2") && c.contains("connection refused")),
            "{}",
            theirs[0]
        );
        // upstream skips the pod (no container_name) and returns []
        assert_eq!(theirs[1], ok(json!([])));
    }
}

/// A timestamp as the kubelet (and kwok) print log lines: RFC 3339, UTC, 9 digits.
fn stamp(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    at.format(&format).expect("a log timestamp")
}

/// A CRI log file (what kwok's ClusterLogs serves): `<timestamp> <stream> F <text>` lines.
fn cri_log(lines: &[(time::OffsetDateTime, &str, &str)]) -> String {
    lines
        .iter()
        .map(|(at, stream, text)| format!("{} {stream} F {text}\n", stamp(*at)))
        .collect()
}

/// Temporary log files, removed on drop.
struct LogDir(PathBuf);

impl Drop for LogDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn pod_logs_probes_read_what_kwok_serves() {
    let ns = Ns::new("logs");
    let n = ns.0.as_str();
    let dir = LogDir(std::env::temp_dir().join(format!("shakedown-{n}")));
    std::fs::create_dir_all(&dir.0).expect("log dir");
    let now = time::OffsetDateTime::now_utc();
    let two_hours_ago = now - time::Duration::hours(2);
    let write = |name: &str, text: String| {
        let path = dir.0.join(name);
        std::fs::write(&path, text).expect("write log file");
        path.display().to_string()
    };
    let main_log = write(
        "main.log",
        cri_log(&[
            (two_hours_ago, "stdout", "booting"),
            (now, "stdout", "GET /health 200"),
            (now, "stderr", "warning: cache cold"),
        ]),
    );
    let side_log = write("side.log", cri_log(&[(now, "stdout", "sidecar ready")]));
    let previous_log = write(
        "previous.log",
        cri_log(&[(two_hours_ago, "stdout", "panic: out of memory")]),
    );
    let _rules = KwokRules::apply(
        &format!(
            "apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {{name: {n}}}
spec:
  selector: {{matchNamespaces: [{n}]}}
  logs:
  - {{containers: [side], logsFile: {side_log}}}
  - {{logsFile: {main_log}, previousLogsFile: {previous_log}}}
"
        ),
        &[&format!("clusterlogs/{n}")],
    );
    ns.apply(
        &[
            pod("web-1", "app: logs, name: web-1", &["main", "side"], None),
            pod("web-2", "app: logs, name: web-2", &["main"], None),
        ]
        .concat(),
    );
    ns.wait_ready("app=logs", 2);
    until_kwok_serves(&["-n", n, "logs", "web-2"]);

    let logs = |args: Value| (POD_P, "read_pod_logs", merged(json!({ "ns": n }), args));
    let (old, new) = (stamp(two_hours_ago), stamp(now));
    let main_all = format!("{old} booting\n{new} GET /health 200\n{new} warning: cache cold\n");
    let main_recent = format!("{new} GET /health 200\n{new} warning: cache cold\n");
    let steps = vec![
        // 0: the default selector `name in ({name})`, one container: the whole log, stamped
        logs(json!({"name": "web-2"})),
        // 1: container_name picks the container's log
        logs(json!({"name": "web-1", "container_name": "side"})),
        // 2, 3: last: only what was logged since then
        logs(json!({"name": "web-2", "last": "1 hour"})),
        logs(json!({"name": "web-2", "last": "3 hours ago"})),
        // 4: last 0 seconds: upstream leaves sinceSeconds out (the API refuses 0)
        logs(json!({"name": "web-2", "last": "0s"})),
        // 5: the previous incarnation's log
        logs(json!({"name": "web-2", "from_previous": true})),
        // 6: any selector, every pod
        logs(json!({"label_selector": "app=logs", "container_name": "main"})),
        // 7: nothing selected
        logs(json!({"name": "nobody"})),
        // 8: two containers and no container_name: the API's refusal
        logs(json!({"name": "web-1"})),
        // 9: a container the pod does not have
        logs(json!({"name": "web-2", "container_name": "nope"})),
        // 10..: should_be_found_in_logs on what read_pod_logs returned
        (
            POD_P,
            "should_be_found_in_logs",
            json!({"pattern": "GET /health 2\\d\\d", "value": {"web-1": main_all, "web-2": main_all}}),
        ),
        (
            POD_P,
            "should_be_found_in_logs",
            json!({"pattern": "sidecar", "value": {"web-1": "sidecar ready", "web-2": main_all}}),
        ),
        (
            POD_P,
            "should_be_found_in_logs",
            json!({"pattern": "sidecar", "all_containers": false, "value": {"web-1": "sidecar ready", "web-2": main_all}}),
        ),
        (
            POD_P,
            "should_be_found_in_logs",
            json!({"pattern": "panic", "all_containers": false, "value": {"web-2": main_all}}),
        ),
        (
            POD_P,
            "should_be_found_in_logs",
            json!({"pattern": "x", "value": {}}),
        ),
    ];
    let (ours, theirs) = both(&steps);

    assert_eq!(ours[0], ok(json!({ "web-2": main_all })));
    assert_eq!(
        ours[1],
        ok(json!({ "web-1": format!("{new} sidecar ready\n") }))
    );
    assert_eq!(ours[2], ok(json!({ "web-2": main_recent })));
    assert_eq!(ours[3], ok(json!({ "web-2": main_all })));
    assert_eq!(ours[4], ok(json!({ "web-2": main_all })));
    assert_eq!(
        ours[5],
        ok(json!({ "web-2": format!("{old} panic: out of memory\n") }))
    );
    assert_eq!(ours[6], ok(json!({ "web-1": main_all, "web-2": main_all })));
    assert_eq!(ours[7], ok(json!({})));
    let e = err(&ours[8]);
    assert!(
        e.starts_with("kubernetes.client.exceptions.ApiException: (400)")
            && e.contains(
                "a container name must be specified for pod web-1, choose one of: [main side]"
            ),
        "{e}"
    );
    let e = err(&ours[9]);
    assert!(
        e.contains("container nope is not valid for pod web-2"),
        "{e}"
    );
    assert_eq!(ours[10], ok(json!(true)));
    assert_eq!(ours[11], ok(json!(false)));
    assert_eq!(ours[12], ok(json!(true)));
    assert_eq!(ours[13], ok(json!(false)));
    assert_eq!(
        err(&ours[14]),
        "chaoslib.exceptions.ActivityFailed: no logs to search from"
    );

    let Some(theirs) = theirs else { return };
    for i in (0..8).chain(10..15) {
        assert_eq!(ours[i], theirs[i], "step {i}: {:?}", steps[i]);
    }
    // The API's refusals: the same status body (upstream's exception also prints the
    // response headers and names the BadRequestException subclass).
    for i in [8, 9] {
        let body = |v: &Value| {
            let e = err(v);
            e[e.find("HTTP response body: ").unwrap_or(0)..]
                .trim()
                .to_string()
        };
        assert_eq!(body(&ours[i]), body(&theirs[i]), "step {i}");
    }
}
