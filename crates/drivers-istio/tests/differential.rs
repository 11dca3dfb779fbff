//! `chaosistio.fault.*` against the real control plane of `scripts/testenv` with Istio's real
//! CRDs (istio.io/api v1.32.0, cached by `scripts/testenv build`), on the book's own
//! VirtualServices (`shared/corpus/go-demo-8/k8s/network/`), call by call against the
//! reference chaostoolkit-istio 0.4.1 (`scripts/reference-venv-k8s`) on the same cluster:
//! the same objects after every call, the same answers (status, body, header names) and the
//! same failures, except where docs/compatibility.md ("chaosistio") says Shakedown differs.

#[path = "../../drivers-k8s/tests/support/mod.rs"]
mod k8s;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use experiment::Map;
use k8s::{failure, kubeconfig, kubectl, root, runtime, Ns};
use providers::registry::{Invocation, Registry};
use serde_json::{json, Value};

const ACTIONS: &str = "chaosistio.fault.actions";
const PROBES: &str = "chaosistio.fault.probes";

fn registry() -> &'static Arc<Registry> {
    static R: OnceLock<Arc<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        let mut r = Registry::new();
        drivers_istio::register(&mut r);
        Arc::new(r)
    })
}

/// `module.func(**args)` through Shakedown, shaped `{"ok": …}` / `{"err": …}`.
fn ours(module: &str, func: &str, args: &Value) -> Value {
    kubeconfig();
    let f = registry()
        .function(module, func)
        .unwrap_or_else(|| panic!("{module}.{func} is not registered"));
    let arguments = args.as_object().cloned().unwrap_or_default();
    let configuration = Map::new();
    let out = runtime().block_on(f.driver.call(Invocation {
        arguments,
        configuration: &configuration,
        secrets: Map::new(),
    }));
    match out {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "err": failure(Err(e)) }),
    }
}

/// Applies Istio's CRDs (server-side, idempotent) once per test binary.
fn crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        kubeconfig();
        let file = root().join("target/testenv/share/istio/crds.yaml");
        if !file.is_file() {
            let _ = Command::new(root().join("scripts/testenv"))
                .arg("build")
                .stdout(Stdio::null())
                .status();
        }
        assert!(
            file.is_file(),
            "{} is missing: scripts/testenv build installs it from the Go module proxy",
            file.display()
        );
        let path = file.to_str().expect("utf-8 path");
        kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", path],
            None,
        );
        kubectl(
            &[
                "wait",
                "--for=condition=Established",
                "crd/virtualservices.networking.istio.io",
                "crd/destinationrules.networking.istio.io",
                "--timeout=60s",
            ],
            None,
        );
    });
}

/// A book manifest from `shared/corpus/go-demo-8/k8s/`.
fn book(path: &str) -> String {
    let file = root().join("../shared/corpus/go-demo-8/k8s").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The reference's `site` directory (chaostoolkit-istio and the kubernetes client it works
/// with) and its python; `None` when it cannot be had and peers are not required.
fn reference() -> Option<(PathBuf, PathBuf)> {
    let python = k8s::reference_python()?;
    let site = python
        .parent()
        .and_then(Path::parent)
        .map(|venv| venv.join("istio-site"))
        .filter(|s| s.is_dir());
    match site {
        Some(site) => Some((python, site)),
        None => panic!("the reference venv has no istio-site: rerun scripts/reference-venv-k8s"),
    }
}

/// The reference's outcomes of `steps`, with chaostoolkit-istio's `site` first on the path
/// (drivers-k8s's runner; the child inherits `PYTHONPATH`).
fn theirs(python: &Path, site: &Path, steps: &[(&str, &str, Value)]) -> Vec<Value> {
    // Only this test spawns Python in this binary; set once, before the child starts.
    std::env::set_var("PYTHONPATH", site);
    k8s::reference(python, steps)
}

/// An answer reduced to what both sides must agree on: the status; for an object its kind,
/// apiVersion, name and spec (not uid, resourceVersion, timestamps or the field manager);
/// a refusal's body whole; the header names, less the framing ones.
fn comparable(outcome: &Value) -> Value {
    let Some(ok) = outcome.get("ok") else {
        return outcome.clone();
    };
    let body = &ok["body"];
    let body = if body.get("spec").is_some() {
        json!({"kind": body["kind"], "apiVersion": body["apiVersion"],
            "name": body["metadata"]["name"], "spec": body["spec"]})
    } else {
        body.clone()
    };
    let mut names: Vec<&str> = ok["headers"]
        .as_object()
        .map(|h| h.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.retain(|n| !["Content-Length", "Transfer-Encoding"].contains(n));
    names.sort_unstable();
    json!({"ok": {"status": ok["status"], "body": body, "headers": names}})
}

/// The VirtualService's spec as the API has it now.
fn spec(ns: &str, name: &str) -> Value {
    let out = kubectl(
        &["-n", ns, "get", "virtualservice", name, "-o", "json"],
        None,
    );
    let v: Value = serde_json::from_str(&out).expect("JSON");
    v["spec"].clone()
}

fn primary() -> Value {
    json!([{"destination": {"host": "go-demo-8", "subset": "primary"}}])
}

/// The book's network chapter, call by call (network-delay.yaml's abort then delay, and
/// its rollbacks), with every error case the issue names, on both sides.
#[test]
fn the_book_steps_and_their_failures_match_the_reference() {
    crds();
    let Some((python, site)) = reference() else {
        eprintln!("SKIPPED: no reference venv (scripts/reference-venv-k8s)");
        return;
    };
    let a = Ns::new("istio-ours");
    let b = Ns::new("istio-ref");
    for ns in [&a, &b] {
        ns.apply(&book("network/istio.yaml"));
        ns.apply(&book("network/istio-repeater.yaml"));
    }
    let original = spec(&a.0, "go-demo-8");
    assert_eq!(original, spec(&b.0, "go-demo-8"));

    let vs = |extra: Value| {
        let mut args = json!({"virtual_service_name": "go-demo-8", "routes": primary(),
            "version": "networking.istio.io/v1alpha3"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            args[k] = v.clone();
        }
        args
    };
    // (module, function, arguments without `ns`, whether both sides must agree exactly)
    let steps: Vec<(&str, &str, Value)> = vec![
        (
            PROBES,
            "get_virtual_service",
            vs(json!({}))
                .as_object()
                .map(|m| {
                    let mut m = m.clone();
                    m.remove("routes");
                    Value::Object(m)
                })
                .unwrap_or_default(),
        ),
        (
            ACTIONS,
            "add_abort_fault",
            vs(json!({"http_status": 500, "percentage": 50})),
        ),
        (
            ACTIONS,
            "add_delay_fault",
            vs(json!({"fixed_delay": "15s", "percentage": 50})),
        ),
        (ACTIONS, "remove_abort_fault", vs(json!({}))),
        (ACTIONS, "add_abort_fault", vs(json!({"http_status": 500}))),
        (ACTIONS, "remove_delay_fault", vs(json!({}))),
        // v1 of the same object, and the retries of the repeater kept by the patch.
        (
            ACTIONS,
            "add_abort_fault",
            json!({"virtual_service_name": "repeater", "http_status": 503,
            "routes": [{"destination": {"host": "repeater", "subset": "primary"}}],
            "percentage": 100.0, "version": "networking.istio.io/v1"}),
        ),
        (
            ACTIONS,
            "unset_fault",
            json!({"virtual_service_name": "repeater",
            "routes": [{"destination": {"host": "repeater", "subset": "primary"}}],
            "version": "networking.istio.io/v1beta1"}),
        ),
        (
            ACTIONS,
            "set_fault",
            vs(json!({"fault": {"abort": {"httpStatus": 418}}})),
        ),
        // A route that matches nothing: the unchanged list is PATCHed, 200.
        (
            ACTIONS,
            "add_abort_fault",
            vs(json!({"http_status": 503,
            "routes": [{"destination": {"host": "go-demo-8"}}]})),
        ),
        (ACTIONS, "remove_abort_fault", vs(json!({}))),
        // Missing VirtualService: the probe returns the 404, the actions fail.
        (
            PROBES,
            "get_virtual_service",
            json!({"virtual_service_name": "nope"}),
        ),
        (
            ACTIONS,
            "add_delay_fault",
            json!({"virtual_service_name": "nope", "fixed_delay": "1s",
            "routes": primary()}),
        ),
        (
            ACTIONS,
            "remove_delay_fault",
            json!({"virtual_service_name": "nope", "routes": primary()}),
        ),
        // Bad arguments the API refuses: the 422 is returned, not raised.
        (
            ACTIONS,
            "add_abort_fault",
            vs(json!({"http_status": "abc"})),
        ),
        (ACTIONS, "add_delay_fault", vs(json!({"fixed_delay": "15"}))),
        (ACTIONS, "add_delay_fault", vs(json!({"fixed_delay": 15}))),
        // A version the API does not serve: the probe returns the text 404.
        (
            PROBES,
            "get_virtual_service",
            json!({"virtual_service_name": "go-demo-8",
            "version": "networking.istio.io/v9"}),
        ),
        (
            ACTIONS,
            "set_fault",
            vs(json!({"fault": {"abort": {"httpStatus": 500}},
            "version": "networking.istio.io/v9"})),
        ),
        // Upstream's bugs (differences asserted below).
        (
            ACTIONS,
            "add_abort_fault",
            vs(json!({"http_status": 500, "percentage": {"value": 100}})),
        ),
        (
            ACTIONS,
            "add_abort_fault",
            vs(json!({"http_status": 500,
            "routes": [{"destination": {"subset": "primary"}}]})),
        ),
        (ACTIONS, "remove_abort_fault", vs(json!({}))),
    ];
    let with_ns = |ns: &str| -> Vec<(&str, &str, Value)> {
        steps
            .iter()
            .map(|(m, f, args)| {
                let mut args = args.clone();
                args["ns"] = json!(ns);
                (*m, *f, args)
            })
            .collect()
    };
    let got: Vec<Value> = with_ns(&a.0)
        .iter()
        .map(|(m, f, args)| ours(m, f, args))
        .collect();
    let want = theirs(&python, &site, &with_ns(&b.0));
    assert_eq!(got.len(), want.len());

    // Where Shakedown differs on purpose (docs/compatibility.md, "chaosistio").
    let differs = [18, 19, 20];
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        if differs.contains(&i) {
            continue;
        }
        assert_eq!(
            comparable(g),
            comparable(w),
            "step {i} {}.{} differs",
            steps[i].0,
            steps[i].1
        );
    }
    // The book's steps did what the book reports: abort at 50 %, then the delay replacing it.
    assert_eq!(
        got[1]["ok"]["body"]["spec"]["http"][0]["fault"],
        json!({"abort": {"httpStatus": 500, "percentage": {"value": 50}}})
    );
    assert_eq!(
        got[2]["ok"]["body"]["spec"]["http"][0]["fault"],
        json!({"delay": {"fixedDelay": "15s", "percentage": {"value": 50}}})
    );
    assert_eq!(got[3]["ok"]["body"]["spec"], original);
    assert_eq!(got[14]["ok"]["status"], 422);
    assert_eq!(
        got[12]["err"],
        "chaoslib.exceptions.ActivityFailed: Virtual Service 'nope' does not exist: \
{'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': \
'virtualservices.networking.istio.io \"nope\" not found', 'reason': 'NotFound', 'details': \
{'name': 'nope', 'group': 'networking.istio.io', 'kind': 'virtualservices'}, 'code': 404}"
    );

    // A version the API does not serve: upstream shows the bytes' repr and nothing more.
    assert_eq!(
        want[18]["err"],
        "chaoslib.exceptions.ActivityFailed: Virtual Service 'go-demo-8' does not exist: \
b'404 page not found\\n'"
    );
    assert_eq!(
        got[18]["err"],
        "chaoslib.exceptions.ActivityFailed: Virtual Service 'go-demo-8' does not exist: 404 \
page not found (the Kubernetes API serves no virtualservices under 'networking.istio.io/v9': \
is Istio installed, with its CRDs, and is the `version` argument right? e.g. \
networking.istio.io/v1alpha3, v1beta1 or v1)"
    );
    // `percentage: {value: 100}`: upstream nests it twice and the API refuses the PATCH.
    assert_eq!(want[19]["ok"]["status"], 422);
    assert_eq!(got[19]["ok"]["status"], 200);
    assert_eq!(
        got[19]["ok"]["body"]["spec"]["http"][0]["fault"],
        json!({"abort": {"httpStatus": 500, "percentage": {"value": 100}}})
    );
    // A route without `host`: upstream's bare KeyError, Shakedown's message.
    assert_eq!(want[20]["err"], "KeyError: 'host'");
    assert_eq!(
        got[20]["err"],
        "ValueError: routes[0].destination has no `host`: name the destination's host as the \
VirtualService does, e.g. {host: reviews, subset: v2}"
    );

    // The rollbacks restored both objects exactly, the repeater's retries included.
    assert_eq!(spec(&a.0, "go-demo-8"), original);
    assert_eq!(spec(&b.0, "go-demo-8"), original);
    assert_eq!(spec(&a.0, "repeater"), spec(&b.0, "repeater"));
    assert!(spec(&a.0, "repeater")["http"][0].get("fault").is_none());
    assert_eq!(spec(&a.0, "repeater")["http"][0]["retries"]["attempts"], 10);
}

/// Shakedown's `merge: true`: abort and delay side by side, each removed alone; and the old
/// `percent` spelling.
#[test]
fn merged_faults_are_removed_one_at_a_time() {
    crds();
    let ns = Ns::new("istio-merge");
    ns.apply(&book("network/istio.yaml"));
    let original = spec(&ns.0, "go-demo-8");
    let args = |extra: Value| {
        let mut a = json!({"virtual_service_name": "go-demo-8", "routes": primary(),
            "ns": ns.0, "merge": true});
        for (k, v) in extra.as_object().into_iter().flatten() {
            a[k] = v.clone();
        }
        a
    };
    let fault = |ns: &str| spec(ns, "go-demo-8")["http"][0]["fault"].clone();

    let out = ours(
        ACTIONS,
        "add_abort_fault",
        &args(json!({"http_status": 500, "percent": 50})),
    );
    assert_eq!(out["ok"]["status"], 200, "{out}");
    let out = ours(
        ACTIONS,
        "add_delay_fault",
        &args(json!({"fixed_delay": "2s", "percentage": "25"})),
    );
    assert_eq!(out["ok"]["status"], 200, "{out}");
    assert_eq!(
        fault(&ns.0),
        json!({"abort": {"httpStatus": 500, "percentage": {"value": 50}},
            "delay": {"fixedDelay": "2s", "percentage": {"value": 25}}})
    );
    ours(ACTIONS, "remove_abort_fault", &args(json!({})));
    assert_eq!(
        fault(&ns.0),
        json!({"delay": {"fixedDelay": "2s", "percentage": {"value": 25}}})
    );
    ours(ACTIONS, "remove_delay_fault", &args(json!({})));
    assert_eq!(spec(&ns.0, "go-demo-8"), original);

    // Without `merge`, the reference's replacement: the delay drops the abort.
    let plain = |extra: Value| {
        let mut a = args(extra);
        a["merge"] = json!(false);
        a
    };
    ours(
        ACTIONS,
        "add_abort_fault",
        &plain(json!({"http_status": 500})),
    );
    ours(
        ACTIONS,
        "add_delay_fault",
        &plain(json!({"fixed_delay": "1s"})),
    );
    assert_eq!(fault(&ns.0), json!({"delay": {"fixedDelay": "1s"}}));
    ours(ACTIONS, "remove_abort_fault", &plain(json!({})));
    assert_eq!(spec(&ns.0, "go-demo-8"), original);

    // Both spellings at once, and a bad merge flag: refused before any request.
    let both = ours(
        ACTIONS,
        "add_abort_fault",
        &args(json!({"http_status": 500, "percent": 1, "percentage": 2})),
    );
    assert_eq!(
        both["err"],
        "ValueError: give either `percentage` or the older `percent`, not both"
    );
    let bad = ours(
        ACTIONS,
        "remove_abort_fault",
        &args(json!({"merge": "yes"})),
    );
    assert_eq!(
        bad["err"],
        "ValueError: `merge` must be true or false, not 'yes'"
    );
}
