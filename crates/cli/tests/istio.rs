//! `chaosistio` through the `chaos` binary: `chaos discover chaostoolkit-istio` lists what the
//! reference chaostoolkit-istio 0.4.1 lists (`scripts/reference-venv-k8s`), and the book's
//! five Istio experiments validate natively — `all.yaml`'s pre-0.1.3 `percent` included —
//! while malformed fault values are refused at their line. The calls themselves are checked
//! against the reference on the control plane in `crates/drivers-istio/tests/`.

#[path = "support/reference.rs"]
mod reference;
#[path = "support/run.rs"]
mod run;

use reference::{skip_or_fail, workspace_root};
use run::{assert_clean_exit, chaos, scratch, stderr};
use serde_json::Value;
use std::process::Command;

fn book(name: &str) -> String {
    workspace_root()
        .join("../shared/corpus/go-demo-8/chaos")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// `(mod, name, type, [(argument, default, type)])` of every discovered activity, without
/// Shakedown's own extra arguments (`merge`, `percent`: docs/istio.md).
fn activities(discovery: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = discovery["activities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let args: Vec<Value> = a["arguments"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| !["merge", "percent"].contains(&p["name"].as_str().unwrap_or("")))
                .map(|p| serde_json::json!([p["name"], p.get("default"), p.get("type")]))
                .collect();
            serde_json::json!([a["mod"], a["name"], a["type"], args])
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

#[test]
fn discovery_lists_what_the_reference_lists() {
    let dir = scratch("istio", "discover");
    let out = chaos(
        &dir,
        &[
            "--no-log-file",
            "discover",
            "--no-install",
            "--discovery-path",
            "ours.json",
            "chaostoolkit-istio",
        ],
        &[],
    );
    assert_clean_exit(&out, 0, "");
    let ours: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ours.json")).expect("ours.json"))
            .expect("JSON");
    assert_eq!(ours["extension"]["name"], "chaostoolkit-istio");
    assert_eq!(ours["extension"]["version"], "0.4.1");
    assert_eq!(ours["target"], "istio");
    assert_eq!(activities(&ours).len(), 7);

    let venv = workspace_root().join("target/reference-venv-k8s");
    let site = venv.join("istio-site");
    if !site.is_dir() {
        let _ = Command::new(workspace_root().join("scripts/reference-venv-k8s")).output();
    }
    if !site.is_dir() {
        skip_or_fail(
            "discovery_lists_what_the_reference_lists",
            "no reference chaostoolkit-istio (scripts/reference-venv-k8s)",
        );
        return;
    }
    let theirs = Command::new(venv.join("bin/chaos"))
        .args([
            "--no-log-file",
            "discover",
            "--no-install",
            "--discovery-path",
            "theirs.json",
            "chaostoolkit-istio",
        ])
        .env("PYTHONPATH", &site)
        .current_dir(&dir)
        .output()
        .expect("run the reference chaos discover");
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let theirs: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("theirs.json")).expect("theirs.json"),
    )
    .expect("JSON");
    assert_eq!(activities(&ours), activities(&theirs));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_book_istio_experiments_validate_and_bad_values_are_refused_at_their_line() {
    let dir = scratch("istio", "validate");
    for name in [
        "network.yaml",
        "network-delay.yaml",
        "network-abort-100.yaml",
        "network-rollback.yaml",
        "all.yaml",
    ] {
        let path = book(name);
        let out = chaos(&dir, &["validate", &path], &[("INGRESS_HOST", "127.0.0.1")]);
        assert_clean_exit(&out, 0, "Experiment looks valid");
    }
    let delay = std::fs::read_to_string(book("network-delay.yaml")).expect("network-delay.yaml");
    let cases = [
        ("fixed_delay: 15s", "fixed_delay: 15", "invalid argument 'fixed_delay' in activity 'delay'", "e.yaml:62"),
        ("http_status: 500", "http_status: five", "invalid argument 'http_status' in activity 'abort-failure'", "e.yaml:46"),
        ("      percentage: 50\n      version: networking.istio.io/v1alpha3\n      ns: go-demo-8\n- type: action\n  name: delay",
         "      percentage: 500\n      version: networking.istio.io/v1alpha3\n      ns: go-demo-8\n- type: action\n  name: delay",
         "invalid argument 'percentage' in activity 'abort-failure'", "e.yaml:51"),
        ("        - destination:\n            host: go-demo-8\n            subset: primary\n      percentage: 50\n      version: networking.istio.io/v1alpha3\n      ns: go-demo-8\n- type: action\n  name: delay",
         "        - destination:\n            subset: primary\n      percentage: 50\n      version: networking.istio.io/v1alpha3\n      ns: go-demo-8\n- type: action\n  name: delay",
         "invalid argument 'routes' in activity 'abort-failure'", "e.yaml:"),
    ];
    for (from, to, message, line) in cases {
        assert!(
            delay.contains(from),
            "{from:?} not in the book's experiment"
        );
        std::fs::write(dir.join("e.yaml"), delay.replacen(from, to, 1)).expect("write");
        let out = chaos(
            &dir,
            &["validate", "e.yaml"],
            &[("INGRESS_HOST", "127.0.0.1")],
        );
        assert_clean_exit(&out, 1, message);
        assert!(stderr(&out).contains(line), "{line} in:\n{}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
