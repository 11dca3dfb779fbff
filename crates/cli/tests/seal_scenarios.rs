//! Hot reload of `chaos seal autonomous` on the control plane of `scripts/testenv`: the
//! policy file and the cluster's `Scenario` resources (`deploy/powerfulseal-scenario-crd.yaml`)
//! are read again before every loop. The first loop holds on a probe to a local HTTP
//! server while the test changes both; the second loop runs what they say then.
//! One test in its own binary: Scenario resources are read from every namespace, so no
//! other seal test may run beside it.

#[path = "../../drivers-k8s/tests/support/cluster.rs"]
mod cluster;
#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/reference.rs"]
#[allow(dead_code)]
mod reference;
#[path = "support/run.rs"]
mod run;
#[path = "support/seal.rs"]
mod seal;

use std::time::Duration;

use run::{scratch, stderr};
use seal::{autonomous_command, has, journal, namespace};

fn scenario(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: powerfulseal.io/v1
kind: Scenario
metadata: {{name: from-the-cluster, namespace: {ns}}}
spec:
  name: {name}
  steps: [{{wait: {{seconds: 0}}}}]
"
    )
}

/// Deletes the namespace (and its Scenario) however the test ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = cluster::try_kubectl_at(
            cluster::kubeconfig(),
            &[
                "delete",
                "namespace",
                &self.0,
                "--wait=true",
                "--timeout=120s",
            ],
        );
    }
}

#[test]
fn scenarios_and_the_policy_file_are_read_again_before_every_loop() {
    let crd = cluster::root().join("deploy/powerfulseal-scenario-crd.yaml");
    cluster::kubectl(&["apply", "-f", crd.to_str().expect("utf-8")], None);
    cluster::kubectl(
        &[
            "wait",
            "--for=condition=Established",
            "crd/scenarios.powerfulseal.io",
            "--timeout=60s",
        ],
        None,
    );
    let ns = namespace("scenarios");
    let _cleanup = Cleanup(ns.clone());
    cluster::kubectl(&["apply", "-f", "-"], Some(&scenario(&ns, "cluster one")));
    let server = http_server::TestServer::start(None);
    let base = server.base_url();
    let dir = scratch("seal-scenarios", "reload");
    let policy = dir.join("policy.yml");
    let file = |extra: &str| {
        format!(
            "config: {{runStrategy: {{runs: 2, minSecondsBetweenRuns: 0, maxSecondsBetweenRuns: 0}}}}
scenarios:
- name: gate
  steps:
  - probeHTTP: {{target: {{url: '{base}/wait/go'}}, endpoint: '1', timeout: 60000}}
{extra}"
        )
    };
    std::fs::write(&policy, file("")).expect("policy");
    let child = autonomous_command(&dir, &policy, &[], &[])
        .spawn()
        .expect("spawn chaos");
    // Loop 1 holds in its gate: change the Scenario and the file, then let it go.
    assert!(server.wait_for_request("/wait/go/1", Duration::from_secs(60)));
    cluster::kubectl(&["apply", "-f", "-"], Some(&scenario(&ns, "cluster two")));
    std::fs::write(
        &policy,
        file("- name: file two\n  steps: [{wait: {seconds: 0}}]\n"),
    )
    .expect("policy");
    let _ = std::net::TcpStream::connect(("127.0.0.1", server.port())).map(|mut s| {
        use std::io::{Read, Write};
        let _ = s.write_all(b"GET /counter/go HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let exists = |name: &str| {
        dir.join(format!("journals/seal-journal-{name}.json"))
            .exists()
    };
    // Loop 1: the file's gate, then the Scenario as it was when the loop began.
    assert!(exists("gate-1") && exists("cluster-one-1"), "{err}");
    assert!(!exists("file-two-1") && !exists("cluster-two-1"), "{err}");
    // Loop 2: both read again.
    assert!(
        exists("gate-2") && exists("file-two-2") && exists("cluster-two-2"),
        "{err}"
    );
    assert!(!exists("cluster-one-2"), "{err}");
    has(&err, "Starting scenario 'cluster two' (1 steps)");
    assert_eq!(journal(&dir, "cluster-two", 2)["status"], "completed");
    let _ = std::fs::remove_dir_all(&dir);
}
