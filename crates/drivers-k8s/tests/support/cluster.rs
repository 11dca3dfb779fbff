//! The real control plane from `scripts/testenv`, found or started once per test binary,
//! and kubectl against it. Standard library only, so the CLI's tests include it too
//! (`#[path = "../../drivers-k8s/tests/support/cluster.rs"]`) rather than keep a copy.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn kubectl_bin() -> PathBuf {
    root().join("target/testenv/bin/kubectl")
}

/// The kubeconfig of a running control plane, starting one if needed; panics with the
/// reason when it cannot (tests must fail, never pass silently).
pub fn kubeconfig() -> &'static str {
    static KC: OnceLock<String> = OnceLock::new();
    KC.get_or_init(|| {
        let kc = running_plane(None).unwrap_or_else(|| start_plane(None));
        assert!(reachable(&kc), "the control plane at {kc} does not answer");
        // Tests set it once, before any driver call reads it.
        std::env::set_var("KUBECONFIG", &kc);
        kc
    })
}

fn last_kubeconfig(stdout: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("KUBECONFIG=").map(|s| s.trim().to_string()))
        .filter(|p| Path::new(p).is_file())
}

fn reachable(kc: &str) -> bool {
    Command::new(kubectl_bin())
        .args(["--kubeconfig", kc, "get", "--raw", "/readyz"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs kubectl against the test cluster; panics with its stderr on failure.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> String {
    kubectl_at(kubeconfig(), args, stdin)
}

/// Runs kubectl with the kubeconfig `kc` (a second control plane's, say); panics with its
/// stderr on failure.
pub fn kubectl_at(kc: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::new(kubectl_bin());
    cmd.arg("--kubeconfig").arg(kc).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn kubectl");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("kubectl output");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl ARGS` with the kubeconfig `kc`, its failure ignored: its standard output when
/// it succeeded.
pub fn try_kubectl_at(kc: &str, args: &[&str]) -> Option<String> {
    Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kc)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The kubeconfig of the control plane `scripts/testenv` runs in `run_dir`
/// (`TESTENV_RUN_DIR`; the default one for `None`), if one is up and answers.
pub fn running_plane(run_dir: Option<&Path>) -> Option<String> {
    let mut cmd = Command::new(root().join("scripts/testenv"));
    cmd.arg("env");
    if let Some(dir) = run_dir {
        cmd.env("TESTENV_RUN_DIR", dir);
    }
    let out = cmd.output().ok()?;
    last_kubeconfig(&out.stdout).filter(|kc| reachable(kc))
}

/// Starts the control plane of `run_dir` (`TESTENV_RUN_DIR`; the default one for `None`)
/// and gives its kubeconfig; panics with the reason when it cannot.
pub fn start_plane(run_dir: Option<&Path>) -> String {
    let mut cmd = Command::new(root().join("scripts/testenv"));
    cmd.arg("up").stderr(Stdio::inherit());
    if let Some(dir) = run_dir {
        cmd.env("TESTENV_RUN_DIR", dir);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/testenv up: {e}"));
    assert!(
        out.status.success(),
        "scripts/testenv up failed ({})",
        out.status
    );
    last_kubeconfig(&out.stdout)
        .unwrap_or_else(|| panic!("scripts/testenv up printed no KUBECONFIG= line"))
}

/// Stops the control plane of `run_dir` (`TESTENV_RUN_DIR`), ignoring failures.
pub fn stop_plane(run_dir: &Path) {
    let _ = Command::new(root().join("scripts/testenv"))
        .arg("down")
        .env("TESTENV_RUN_DIR", run_dir)
        .output();
}

/// A kubeconfig file in `dir` holding a token of the ServiceAccount `ns`/`sa` from the
/// TokenRequest API (what the kubelet projects into a pod), for the same apiserver and CA
/// as the admin's: to act as that account, with RBAC enforced.
pub fn token_kubeconfig(dir: &Path, ns: &str, sa: &str) -> PathBuf {
    let token = kubectl(&["-n", ns, "create", "token", sa, "--duration=30m"], None);
    let view = |path: &str| {
        kubectl(
            &[
                "config",
                "view",
                "--raw",
                "--minify",
                "-o",
                &format!("jsonpath={path}"),
            ],
            None,
        )
    };
    let file = dir.join(format!("{ns}-{sa}.kubeconfig"));
    std::fs::write(
        &file,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    \
             certificate-authority-data: {}\nusers:\n- name: sa\n  user:\n    token: {}\n\
             contexts:\n- name: sa\n  context: {{cluster: c, user: sa, namespace: {ns}}}\n\
             current-context: sa\n",
            view("{.clusters[0].cluster.server}"),
            view("{.clusters[0].cluster.certificate-authority-data}"),
            token.trim()
        ),
    )
    .expect("kubeconfig");
    file
}
