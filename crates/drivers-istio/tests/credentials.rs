//! Explicit credentials (no kubeconfig anywhere): `KUBERNETES_HOST`, `KUBERNETES_VERIFY_SSL`,
//! `KUBERNETES_CA_CERT_FILE` and a client certificate, against the TLS API server of
//! `scripts/testenv`. chaostoolkit-istio 0.4.1 puts the CA file in the client-certificate
//! slot, so the server cannot be verified and every call fails; Shakedown verifies the server
//! with that CA — and fails when the file is not the server's CA.
//!
//! Its own test binary: it takes `KUBECONFIG` and `HOME` away from the process.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use experiment::Map;
use providers::registry::{Invocation, Registry};
use serde_json::{json, Value};

/// A `*-data` field of the test kubeconfig, decoded into `dir/<name>`.
fn pem(kubeconfig: &str, field: &str, dir: &Path, name: &str) -> PathBuf {
    let b64 = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{field}: ")))
        .unwrap_or_else(|| panic!("no {field} in the test kubeconfig"));
    let out = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b64.trim().as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64 -d");
    let path = dir.join(name);
    std::fs::write(&path, out.stdout).expect("write pem");
    path
}

fn get(secrets: &Value, ns: &str) -> Result<Value, String> {
    let mut registry = Registry::new();
    drivers_istio::register(&mut registry);
    let f = registry
        .function("chaosistio.fault.probes", "get_virtual_service")
        .expect("registered");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let arguments = json!({"virtual_service_name": "go-demo-8", "ns": ns});
    let configuration = Map::new();
    rt.block_on(f.driver.call(Invocation {
        arguments: arguments.as_object().cloned().unwrap_or_default(),
        configuration: &configuration,
        secrets: secrets.as_object().cloned().unwrap_or_default(),
    }))
    .map_err(|e| e.to_string())
}

#[test]
fn the_ca_file_is_the_ca() {
    let kc = cluster::running_plane(None).unwrap_or_else(|| cluster::start_plane(None));
    let crds = cluster::root().join("target/testenv/share/istio/crds.yaml");
    assert!(
        crds.is_file(),
        "{} is missing: run scripts/testenv build",
        crds.display()
    );
    let crds = crds.to_string_lossy().into_owned();
    cluster::kubectl_at(
        &kc,
        &["apply", "--server-side", "--force-conflicts", "-f", &crds],
        None,
    );
    cluster::kubectl_at(
        &kc,
        &[
            "wait",
            "--for=condition=Established",
            "crd/virtualservices.networking.istio.io",
            "--timeout=60s",
        ],
        None,
    );
    let ns = format!("t-istio-creds-{}", std::process::id());
    let _ = cluster::try_kubectl_at(&kc, &["delete", "ns", &ns, "--wait=true"]);
    cluster::kubectl_at(&kc, &["create", "ns", &ns], None);
    let vs = std::fs::read_to_string(
        cluster::root().join("../shared/corpus/go-demo-8/k8s/network/istio.yaml"),
    )
    .expect("the book's VirtualService");
    cluster::kubectl_at(&kc, &["-n", &ns, "apply", "-f", "-"], Some(&vs));

    let dir = std::env::temp_dir().join(format!("shakedown-istio-creds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let text = std::fs::read_to_string(&kc).expect("kubeconfig");
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server")
        .to_string();
    let ca = pem(&text, "certificate-authority-data", &dir, "ca.pem");
    let cert = pem(&text, "client-certificate-data", &dir, "client.pem");
    let key = pem(&text, "client-key-data", &dir, "client-key.pem");
    // No kubeconfig to find: the explicit KUBERNETES_* mode.
    std::env::remove_var("KUBECONFIG");
    std::env::set_var("HOME", &dir);
    let secrets = |ca: &Path| {
        json!({"KUBERNETES_HOST": server, "KUBERNETES_VERIFY_SSL": "true",
            "KUBERNETES_CA_CERT_FILE": ca, "KUBERNETES_CERT_FILE": cert,
            "KUBERNETES_KEY_FILE": key})
    };

    let ok = get(&secrets(&ca), &ns).expect("the call with the server's CA");
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["body"]["metadata"]["name"], "go-demo-8");
    // Not the server's CA: the server cannot be verified.
    let wrong =
        get(&secrets(&cert), &ns).expect_err("verified against a certificate that is no CA");
    assert!(
        wrong.contains("cannot reach the Kubernetes API at"),
        "{wrong}"
    );

    // The reference, with the same secrets: the CA file is taken as a client certificate
    // (then replaced by KUBERNETES_CERT_FILE), so the server's certificate is checked
    // against the system's CAs and fails.
    let python = cluster::root().join("target/reference-venv-k8s/bin/python");
    let site = cluster::root().join("target/reference-venv-k8s/istio-site");
    let required = ["SHAKEDOWN_REQUIRE_PEERS", "CI"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"));
    if !python.is_file() || !site.is_dir() {
        assert!(
            !required,
            "no reference chaostoolkit-istio: run scripts/reference-venv-k8s"
        );
        eprintln!("SKIPPED the reference half: run scripts/reference-venv-k8s");
        return;
    }
    let script = "import json, sys\nfrom chaosistio.fault.probes import get_virtual_service\n\
try:\n    get_virtual_service('go-demo-8', ns=sys.argv[1], secrets=json.loads(sys.argv[2]))\n    print('ok')\n\
except Exception as x:\n    print(type(x).__name__, x)\n";
    let out = Command::new(&python)
        .args(["-c", script, &ns, &secrets(&ca).to_string()])
        .env("PYTHONPATH", &site)
        .env_remove("KUBECONFIG")
        .env("HOME", &dir)
        .output()
        .expect("run the reference");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("CERTIFICATE_VERIFY_FAILED"),
        "the reference said: {said}"
    );

    let _ = cluster::try_kubectl_at(&kc, &["delete", "ns", &ns, "--wait=false"]);
    let _ = std::fs::remove_dir_all(&dir);
}
