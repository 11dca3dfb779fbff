//! `chaosk8s.pod.actions.exec_in_pods`: run a command in the selected pods' containers over
//! the exec WebSocket and report, per pod, what upstream reports: the exit code read from
//! the error channel, stdout, and the error channel's message as `stderr`.

use std::time::Duration;

use experiment::pyrepr::{py_repr, py_str, py_truthy};
use experiment::Value;
use futures::StreamExt;
use providers::{FailureKind, ProviderError};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

use crate::client::Kube;
use crate::common::{failed, name_of, s, Ctx};
use crate::pod::actions::Selection;

/// How many pods `exec_in_pods` runs the command in at once.
const EXECS_IN_FLIGHT: usize = 8;

/// The annotation naming the container `kubectl exec` / `kubectl logs` pick by default.
const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";

pub(crate) async fn exec_in_pods(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let cmd = ctx.arg("cmd").clone();
    if !py_truthy(&cmd) {
        return Err(failed("A command must be set to run a container"));
    }
    let command = argv(&cmd)?;
    if command.is_empty() {
        return Err(failed("A command must be set to run a container"));
    }
    let ns = ctx.ns();
    let selection = Selection::from_ctx(&ctx)?;
    let container_name = ctx.opt_str("container_name");
    // Upstream: `run_forever(timeout=request_timeout)`, where 0 / None mean no limit.
    let timeout = match ctx.int("request_timeout")? {
        Some(t) if t > 0 => Some(Duration::from_secs(t.unsigned_abs())),
        _ => None,
    };
    let pods = selection.pick(&ctx, &ns).await?;

    let mut targets = Vec::with_capacity(pods.len());
    let mut skipped = Vec::new();
    for pod in &pods {
        match container_for(pod, container_name.as_deref()) {
            Some(container) => targets.push((name_of(pod).to_string(), container)),
            None => skipped.push(name_of(pod).to_string()),
        }
    }
    if let Some(wanted) = &container_name {
        if targets.is_empty() && !skipped.is_empty() {
            return Err(failed(format!(
                "no selected pod has a container named '{wanted}' (pods: {})",
                skipped.join(", ")
            )));
        }
        for pod in &skipped {
            log::warn!("Pod {pod} does not have a container named '{wanted}'; skipped");
        }
    }

    let api = ctx.kube().await?;
    let command = &command;
    let cmd = &cmd;
    let ns = ns.as_str();
    let api = &api;
    let results: Vec<Result<Value, ProviderError>> =
        futures::stream::iter(targets.into_iter().map(|(pod, container)| async move {
            run_in_pod(api, ns, &pod, &container, command, cmd, timeout).await
        }))
        .buffered(EXECS_IN_FLIGHT)
        .collect()
        .await;
    results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The program and its arguments: a string is split with POSIX shell rules (Python's
/// `shlex.split`), a list is taken item by item.
fn argv(cmd: &Value) -> Result<Vec<String>, ProviderError> {
    match cmd {
        Value::String(line) => shell_split(line).map_err(|e| {
            ProviderError::failed(FailureKind::Declaration, format!("ValueError: {e}"))
        }),
        Value::Array(items) => Ok(items.iter().map(py_str).collect()),
        other => Ok(vec![py_str(other)]),
    }
}

/// Python's `shlex.split(text)` (POSIX mode, no comments): whitespace separates words;
/// single quotes keep everything literally; inside double quotes a backslash escapes only
/// `"` and `\`; outside quotes it escapes any character; `''` is an empty word (a quote
/// always leaves the word state, so the word is kept even when empty).
fn shell_split(text: &str) -> Result<Vec<String>, &'static str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    word.push(chars.next().ok_or("No escaped character")?);
                    state = State::Word;
                }
                _ => {
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                _ => word.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let next = chars.next().ok_or("No closing quotation")?;
                    if next != '"' && next != '\\' {
                        word.push('\\');
                    }
                    word.push(next);
                }
                _ => word.push(c),
            },
        }
    }
    match state {
        State::Single | State::Double => return Err("No closing quotation"),
        State::Word => words.push(word),
        State::Between => {}
    }
    Ok(words)
}

/// The container to run in: `container_name` when the pod has it (upstream skips pods
/// without it), else — where upstream skips every pod — the pod's default container as
/// `kubectl exec` picks it (the `kubectl.kubernetes.io/default-container` annotation when it
/// names one of the pod's containers, otherwise the first container).
fn container_for(pod: &Value, wanted: Option<&str>) -> Option<String> {
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().map(|c| s(c, "/name")).collect())
        .unwrap_or_default();
    let pick = match wanted {
        Some(name) => Some(name),
        None => pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(DEFAULT_CONTAINER))
            .and_then(Value::as_str)
            .filter(|d| containers.contains(d))
            .or_else(|| containers.first().copied()),
    };
    pick.filter(|c| containers.contains(c)).map(String::from)
}

/// Runs the command in one pod and answers upstream's `{pod_name, exit_code, cmd, stdout,
/// stderr}`.
async fn run_in_pod(
    api: &Kube,
    ns: &str,
    pod: &str,
    container: &str,
    command: &[String],
    cmd: &Value,
    timeout: Option<Duration>,
) -> Result<Value, ProviderError> {
    log::debug!("Picked pods '{pod}' for command execution {command:?}");
    let cannot_run = |why: &str| {
        let argv = Value::Array(command.iter().cloned().map(Value::String).collect());
        failed(format!(
            "cannot run {} in pod '{ns}/{pod}' (container '{container}'): {why}",
            py_repr(&argv)
        ))
    };
    let seconds = timeout.map_or(0, |t| t.as_secs());
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut process = within(deadline, api.exec(ns, pod, container, command))
        .await
        .ok_or_else(|| {
            cannot_run(&format!(
                "the exec stream did not open within {seconds} seconds (request_timeout)"
            ))
        })??
        .map_err(|refused| cannot_run(&refused.message()))?;

    let stdout_reader = process.stdout();
    let stderr_reader = process.stderr();
    let status = process.take_status();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let run = async {
        let (_, _, status) = tokio::join!(
            drain(stdout_reader, &mut stdout),
            drain(stderr_reader, &mut stderr),
            async {
                match status {
                    Some(status) => status.await,
                    None => None,
                }
            },
        );
        status
    };
    let (exit_code, message) = match within(deadline, run).await {
        Some(Some(status)) => {
            let status = serde_json::to_value(&status).unwrap_or(Value::Null);
            exit_status(&status).map_err(|why| cannot_run(&why))?
        }
        Some(None) => {
            return Err(cannot_run(&match process.join().await {
                Err(e) => format!("the exec stream failed before the command's exit status: {e}"),
                Ok(()) => "the exec stream closed without the command's exit status".into(),
            }));
        }
        // Upstream reports exit code 1 with an empty stderr; the stderr here says why.
        None => {
            let why =
                format!("the command did not finish within {seconds} seconds (request_timeout)");
            log::warn!("Pod {pod}: {why}");
            (Value::from(1), why)
        }
    };
    // Upstream requests stderr but never reads it; it is only logged here.
    if !stderr.is_empty() {
        log::debug!(
            "stderr of {command:?} in pod {pod}: {}",
            String::from_utf8_lossy(&stderr)
        );
    }
    Ok(serde_json::json!({
        "pod_name": pod,
        "exit_code": exit_code,
        "cmd": cmd,
        "stdout": String::from_utf8_lossy(&stdout),
        "stderr": message,
    }))
}

/// `Some(output)`, or `None` once the deadline (if any) has passed.
async fn within<T>(
    deadline: Option<Instant>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, work).await.ok(),
        None => Some(work.await),
    }
}

/// Reads a stream to its end into `into` (what arrived stays there if the read is dropped).
async fn drain(reader: Option<impl AsyncRead + Unpin>, into: &mut Vec<u8>) {
    let Some(mut reader) = reader else { return };
    let mut chunk = [0u8; 8192];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&chunk[..n]);
    }
}

/// What the error channel's `Status` says. The command ran: `Ok((exit_code, stderr))` —
/// `Success` ⇒ `(0, "")`; a kubelet's `NonZeroExitCode` ⇒ its first cause's message as the
/// exit code (a string, `"3"`, as upstream) and the status message as stderr; an internal
/// error ending in Go's `exit status N` (how kwok, among others, reports a command that
/// exited non-zero) ⇒ `("N", message)` likewise. Any other failure means the command could
/// not be run (no such executable, the node's kubelet unreachable, …): `Err(message)`,
/// where upstream would report the message as the exit code.
fn exit_status(status: &Value) -> Result<(Value, String), String> {
    if s(status, "/status") == "Success" {
        return Ok((Value::from(0), String::new()));
    }
    let message = s(status, "/message").to_string();
    if s(status, "/reason") == "NonZeroExitCode" {
        let code = match status.pointer("/details/causes/0/message") {
            Some(Value::String(code)) => Value::String(code.clone()),
            _ => Value::from(1),
        };
        return Ok((code, message));
    }
    match go_exit_status(&message) {
        Some(code) => Ok((Value::String(code), message)),
        None => Err(message),
    }
}

/// `N` of a message ending in Go's `os/exec` error text `exit status N`.
fn go_exit_status(message: &str) -> Option<String> {
    let rest = message.trim_end();
    let digits = rest.len() - rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, code) = rest.split_at(rest.len() - digits);
    let head = head.strip_suffix("exit status ")?;
    (!code.is_empty() && (head.is_empty() || head.ends_with(": "))).then(|| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(text: &str) -> Vec<String> {
        shell_split(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    /// Expected values are Python 3's `shlex.split` of the same text.
    #[test]
    fn shell_split_is_pythons_shlex_split() {
        assert_eq!(split("echo hello world"), ["echo", "hello", "world"]);
        assert_eq!(
            split("  sh  -c 'echo a; exit 3'  "),
            ["sh", "-c", "echo a; exit 3"]
        );
        assert_eq!(
            split(r#"echo "a \"b\" \$c \\ d""#),
            ["echo", r#"a "b" \$c \ d"#]
        );
        assert_eq!(split(r"a\ b c\'d"), ["a b", "c'd"]);
        assert_eq!(split("x '' \"\" y"), ["x", "", "", "y"]);
        assert_eq!(split("echo #not-a-comment"), ["echo", "#not-a-comment"]);
        assert_eq!(split("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(split("a\r\nb\tc"), ["a", "b", "c"]);
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("''"), [""]);
        assert_eq!(shell_split("echo 'open"), Err("No closing quotation"));
        assert_eq!(shell_split("echo \"open"), Err("No closing quotation"));
        assert_eq!(shell_split("echo \\"), Err("No escaped character"));
    }

    #[test]
    fn argv_of_strings_lists_and_scalars() {
        assert_eq!(
            argv(&json!("sh -c 'exit 3'")).ok(),
            Some(vec!["sh".into(), "-c".into(), "exit 3".into()])
        );
        assert_eq!(
            argv(&json!(["echo", 1, "a b"])).ok(),
            Some(vec!["echo".into(), "1".into(), "a b".into()])
        );
        assert!(matches!(
            argv(&json!("echo 'x")),
            Err(ProviderError::Failed(m)) if m.message() == "ValueError: No closing quotation"
        ));
    }

    #[test]
    fn default_container_follows_kubectl() {
        let pod = json!({"metadata": {"annotations": {DEFAULT_CONTAINER: "b"}},
                         "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(container_for(&pod, None).as_deref(), Some("b"));
        assert_eq!(container_for(&pod, Some("a")).as_deref(), Some("a"));
        assert_eq!(container_for(&pod, Some("zz")), None);
        let stale = json!({"metadata": {"annotations": {DEFAULT_CONTAINER: "gone"}},
                           "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(container_for(&stale, None).as_deref(), Some("a"));
        assert_eq!(container_for(&json!({"spec": {}}), None), None);
    }

    /// The statuses a kubelet (through the apiserver) writes on the error channel.
    #[test]
    fn exit_status_reads_the_error_channel_as_upstream() {
        assert_eq!(
            exit_status(&json!({"metadata": {}, "status": "Success"})),
            Ok((json!(0), String::new()))
        );
        let message = "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3";
        let nonzero = json!({"metadata": {}, "status": "Failure", "message": message,
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}});
        assert_eq!(exit_status(&nonzero), Ok((json!("3"), message.into())));
        // kwok: the exit as an internal error, through the apiserver's stream translator
        let message = "Internal error occurred: Internal error occurred: error executing command in container: cmd wait: sh -c exit 3: exit status 3";
        let kwok = json!({"status": "Failure", "message": message, "reason": "InternalError",
            "details": {"causes": [{"message": "Internal error occurred: error executing command in container: cmd wait: sh -c exit 3: exit status 3"}]},
            "code": 500});
        assert_eq!(exit_status(&kwok), Ok((json!("3"), message.into())));
        // could not run at all
        let message = "Internal error occurred: error sending request: Post \"https://127.0.0.2:10250/exec/ns/p/c\": dial tcp 127.0.0.2:10250: connect: connection refused";
        let unreachable = json!({"status": "Failure", "message": message, "reason": "InternalError", "code": 500});
        assert_eq!(exit_status(&unreachable), Err(message.into()));
    }

    #[test]
    fn go_exit_status_is_only_the_trailing_exit_status() {
        assert_eq!(
            go_exit_status("cmd wait: sh -c exit 3: exit status 3").as_deref(),
            Some("3")
        );
        assert_eq!(go_exit_status("exit status 127\n").as_deref(), Some("127"));
        assert_eq!(
            go_exit_status("cmd wait: echo exit status 5: signal: killed"),
            None
        );
        assert_eq!(go_exit_status("not-an-exit status 3"), None);
        assert_eq!(go_exit_status("exit status "), None);
        assert_eq!(go_exit_status("connection refused"), None);
    }
}
