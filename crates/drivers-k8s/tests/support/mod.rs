//! Test harness: the real control plane from `scripts/testenv`, one runtime and registry
//! per test binary, a namespace per test, and kubectl for arranging state.

#![allow(dead_code)]

#[path = "cluster.rs"]
mod cluster;
pub use cluster::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use experiment::{Map, Value};
use providers::registry::{Invocation, Registry};
use providers::ProviderError;

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub fn registry() -> &'static Arc<Registry> {
    static R: OnceLock<Arc<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        let mut r = Registry::new();
        drivers_k8s::register(&mut r);
        Arc::new(r)
    })
}

/// Calls `module.func(**args)` like a `python` provider would.
pub fn call(module: &str, func: &str, args: Value) -> Result<Value, ProviderError> {
    call_on(runtime(), module, func, args)
}

/// [`call`] on the given runtime (the CLI drives activities on a current-thread one).
pub fn call_on(
    rt: &tokio::runtime::Runtime,
    module: &str,
    func: &str,
    args: Value,
) -> Result<Value, ProviderError> {
    kubeconfig();
    let f = registry()
        .function(module, func)
        .unwrap_or_else(|| panic!("{module}.{func} is not registered"));
    let arguments = match args {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let configuration = Map::new();
    rt.block_on(f.driver.call(Invocation {
        arguments,
        configuration: &configuration,
        secrets: Map::new(),
    }))
}

/// A namespace for one test, deleted (without waiting) when dropped.
pub struct Ns(pub String);

impl Ns {
    pub fn new(test: &str) -> Ns {
        let name = format!("t-{test}-{}", std::process::id()).replace('_', "-");
        let _ = Command::new(kubectl_bin())
            .args([
                "--kubeconfig",
                kubeconfig(),
                "delete",
                "ns",
                &name,
                "--wait=true",
            ])
            .output();
        kubectl(&["create", "ns", &name], None);
        // The service account admission needs the default SA for pods. `kubectl wait` fails
        // at once while the controller has not created it yet, so apply it (idempotent).
        kubectl(
            &["-n", &name, "apply", "-f", "-"],
            Some("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\n"),
        );
        Ns(name)
    }

    pub fn apply(&self, manifest: &str) {
        kubectl(&["-n", &self.0, "apply", "-f", "-"], Some(manifest));
    }

    /// Waits until `n` pods matching `selector` are Ready.
    pub fn wait_ready(&self, selector: &str, n: usize) {
        for _ in 0..120 {
            let out = kubectl(
                &[
                    "-n", &self.0, "get", "pods", "-l", selector, "-o",
                    "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
                ],
                None,
            );
            if out.lines().filter(|l| *l == "True").count() >= n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("{n} pods '{selector}' in {} never became Ready", self.0);
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new(kubectl_bin())
            .args([
                "--kubeconfig",
                kubeconfig(),
                "delete",
                "ns",
                &self.0,
                "--wait=false",
            ])
            .output();
    }
}

/// A Deployment of `replicas` pods labelled `app=<name>`, optionally pinned to nodes with
/// label `pool=<pool>` (and tolerating that pool's taint).
pub fn deployment(name: &str, replicas: u32, pool: Option<&str>) -> String {
    let placement = match pool {
        Some(p) => format!(
            "      nodeSelector: {{pool: {p}}}\n      tolerations: [{{key: pool, value: {p}, effect: NoSchedule}}]\n"
        ),
        None => String::new(),
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
{placement}      containers: [{{name: c, image: fake}}]
"
    )
}

/// Fake (kwok) nodes `<prefix>-0..n`, labelled and tainted `pool=<prefix>` so only this
/// test's pods land there.
pub fn nodes(prefix: &str, n: usize) -> Vec<String> {
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("{prefix}-{i}");
        let _ = Command::new(kubectl_bin())
            .args([
                "--kubeconfig",
                kubeconfig(),
                "delete",
                "node",
                &name,
                "--ignore-not-found",
            ])
            .output();
        kubectl(
            &["create", "-f", "-"],
            Some(&format!(
                "apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations: {{kwok.x-k8s.io/node: fake}}
  labels: {{type: kwok, pool: {prefix}, kubernetes.io/hostname: {name}}}
spec:
  taints: [{{key: pool, value: {prefix}, effect: NoSchedule}}]
"
            )),
        );
        names.push(name);
    }
    kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            "nodes",
            "-l",
            &format!("pool={prefix}"),
            "--timeout=60s",
        ],
        None,
    );
    names
}

pub fn delete_nodes(prefix: &str) {
    let _ = Command::new(kubectl_bin())
        .args([
            "--kubeconfig",
            kubeconfig(),
            "delete",
            "nodes",
            "-l",
            &format!("pool={prefix}"),
        ])
        .output();
}

pub fn failure(r: Result<Value, ProviderError>) -> String {
    match r {
        Err(ProviderError::Failed(m)) | Err(ProviderError::Fatal(m)) => m.into_message(),
        Err(e @ ProviderError::Interrupted(_)) => panic!("expected a failure, got {e}"),
        Ok(v) => panic!("expected a failure, got {v}"),
    }
}

// ---------------------------------------------------------------------------------------
// The reference, chaostoolkit-kubernetes 0.39.0, on the same cluster
// ---------------------------------------------------------------------------------------

/// The reference venv's python (installed by `scripts/reference-venv-k8s` when missing), or
/// `None` when it cannot be had. When peers are required (`SHAKEDOWN_REQUIRE_PEERS`, set by
/// `scripts/test`, or `CI`), a venv that cannot be had fails the test instead: a differential
/// half must never be skipped silently in CI.
pub fn reference_python() -> Option<PathBuf> {
    let python = reference_python_or_none();
    let required = ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"));
    if python.is_none() && required {
        panic!(
            "the reference venv (scripts/reference-venv-k8s) could not be had, and peers are \
             required (SHAKEDOWN_REQUIRE_PEERS or CI is set)"
        );
    }
    python
}

fn reference_python_or_none() -> Option<PathBuf> {
    let out = Command::new(root().join("scripts/reference-venv-k8s"))
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let chaos = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))?;
    Some(chaos.with_file_name("python")).filter(|p| p.is_file())
}

/// Runs `[module, function, arguments]` steps in one Python process, each outcome as
/// `{"ok": <return value>}` or `{"err": <message>}` worded as chaoslib words an exception
/// (`traceback.format_exception_only(...)[0].strip()`); `bytes` in a return value (an API
/// refusal's body, in chaostoolkit-istio) as text.
const RUNNER: &str = r#"
import importlib, json, sys, traceback
out = []
for module, func, args in json.load(sys.stdin):
    try:
        out.append({"ok": getattr(importlib.import_module(module), func)(**args)})
    except Exception as x:
        out.append({"err": traceback.format_exception_only(type(x), x)[0].strip()})
json.dump(out, sys.stdout, default=lambda b: b.decode("utf-8", "replace"))
"#;

/// The reference's outcomes of `steps` (see [`RUNNER`]) against the test cluster.
pub fn reference(python: &Path, steps: &[(&str, &str, Value)]) -> Vec<Value> {
    let mut child = Command::new(python)
        .args(["-c", RUNNER])
        .env("KUBECONFIG", kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the reference python");
    let input = serde_json::to_vec(&steps).expect("steps as JSON");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&input).expect("write steps");
    }
    let out = child.wait_with_output().expect("reference output");
    assert!(out.status.success(), "the reference runner failed");
    serde_json::from_slice(&out.stdout).expect("the reference answers JSON")
}

/// Shakedown's outcomes of the same steps, shaped as [`reference`]'s.
pub fn ours(steps: &[(&str, &str, Value)]) -> Vec<Value> {
    steps
        .iter()
        .map(|(m, f, args)| match call(m, f, args.clone()) {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(e) => serde_json::json!({ "err": failure(Err(e)) }),
        })
        .collect()
}
