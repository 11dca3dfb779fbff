//! `chaos operator`: a Kubernetes controller that runs chaos experiments declared as custom
//! resources, and keeps what upstream's operator throws away.
//!
//! Upstream (`chaostoolkit-incubator/kubernetes-crd`, a kopf script) handles create and
//! delete of a `ChaosToolkitExperiment`, never writes a status, and loses every journal
//! with its pod. This crate serves that resource unchanged ([`crd::ChaosToolkitExperiment`],
//! its spec read as upstream reads it in [`plan::upstream`]) and Shakedown's own
//! [`crd::ChaosExperiment`] with a validated schema, and adds: a status with phase,
//! verdict, start, end and the journal's place; journals kept in ConfigMaps (written by
//! `chaos run --journal-configmap`, pruned to a history limit); schedules on `batch/v1`
//! CronJobs (the CronJob controller owns the clock, `concurrencyPolicy` and the job
//! history); re-runs on a spec change; deletion of everything it made (a finalizer); the
//! kill switch (`docs/kill-switch.md`: runners get it as `CHAOS_KILL_SWITCH`, so a running
//! experiment stops and rolls back by itself, and no new run starts while it is on);
//! Prometheus metrics ([`metrics`]); and leader election on a Lease ([`leader`]).
//!
//! Layout: [`plan`] and [`observe`] are pure (spec → manifests, pod/journal → verdict) and
//! unit-tested; [`controller`] is the kube-runtime wiring (`Controller`, `watcher`,
//! `finalizer`); [`run`] starts it all with a shutdown future passed in. The CLI only
//! parses flags into [`Options`].
//!
//! **Dependency cost.** kube's `runtime` (kube-runtime plus async-broadcast, backon,
//! json-patch, educe, ahash/hashbrown, …) and `derive` (kube-derive, schemars, darling)
//! features are enabled in this crate only: `cargo build -p shakedown-drivers-k8s` and the
//! other crates' test builds do not see them. In the `chaos` binary cargo unifies kube's
//! features, so kube-core is built once with `schema`. Measured on this machine (2 shared
//! cores, dev profile): see `docs/operator.md`, "Cost".

pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod observe;
pub mod plan;

use kube::CustomResourceExt;
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What `chaos operator` is told.
#[derive(Debug, Clone)]
pub struct Options {
    /// The kubeconfig; `None`: `$KUBECONFIG`, `~/.kube/config`, or in a pod
    /// (`CHAOSTOOLKIT_IN_POD=true`) the service account.
    pub kubeconfig: Option<PathBuf>,
    /// The image of `ChaosExperiment` runners that name none.
    pub runner_image: String,
    /// `NAMESPACE/NAME` of the kill switch ConfigMap.
    pub kill_switch: Option<String>,
    /// Where `/metrics` is served (`None`: not served).
    pub metrics_addr: Option<SocketAddr>,
    /// `NAMESPACE/NAME` of the leader Lease (`None`: no election, this replica leads).
    pub leader_lease: Option<String>,
    /// This replica's name in the Lease (the pod name).
    pub identity: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("{0}")]
    Client(String),
    #[error("--{flag} '{value}': use NAMESPACE/NAME")]
    Flag { flag: &'static str, value: String },
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Leader(#[from] leader::LeaderError),
}

fn ns_name(flag: &'static str, value: &str) -> Result<(String, String), OperatorError> {
    value
        .split_once('/')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| OperatorError::Flag {
            flag,
            value: value.to_string(),
        })
}

/// Both CRDs, as applied by `deploy/operator/crds.yaml` (`chaos operator --print-crds`).
pub fn crds() -> Vec<Value> {
    let upstream = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "chaosexperiments.chaostoolkit.org"},
        "spec": {
            "group": "chaostoolkit.org",
            "names": {"kind": "ChaosToolkitExperiment", "plural": "chaosexperiments",
                      "singular": "chaosexperiment", "shortNames": ["ctk", "ctks"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    {"name": "Verdict", "type": "string", "jsonPath": ".status.verdict"},
                ],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                }}},
            }],
        },
    });
    let ours = serde_json::to_value(crd::ChaosExperiment::crd()).unwrap_or(Value::Null);
    vec![upstream, ours]
}

/// Runs the operator until `shutdown` completes (or the leader Lease is lost).
pub async fn run(
    options: Options,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), OperatorError> {
    let kill_switch = options
        .kill_switch
        .as_deref()
        .map(|v| ns_name("kill-switch", v))
        .transpose()?;
    let lease = options
        .leader_lease
        .as_deref()
        .map(|v| ns_name("leader-lease", v))
        .transpose()?;
    let kube = drivers_k8s::api::client_for_kubeconfig(options.kubeconfig.as_deref())
        .await
        .map_err(|e| OperatorError::Client(e.to_string()))?;
    let client = kube.client();
    let metrics = Arc::new(metrics::Metrics::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    if let Some(addr) = options.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| OperatorError::Metrics { addr, source })?;
        log::info!(
            "serving metrics at http://{}/metrics",
            listener.local_addr().unwrap_or(addr)
        );
        let m = metrics.clone();
        let stop = stopped();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(listener, m, stop).await {
                log::error!("metrics server: {e}");
            }
        });
    }
    let ctx = Arc::new(controller::Context {
        client: client.clone(),
        defaults: plan::Defaults {
            runner_image: options.runner_image.clone(),
            kill_switch,
        },
        metrics: metrics.clone(),
    });
    let work = {
        let (a, b) = (stopped(), stopped());
        let ctx = ctx.clone();
        async move {
            futures::join!(
                controller::run::<crd::ChaosToolkitExperiment>(ctx.clone(), a),
                controller::run::<crd::ChaosExperiment>(ctx, b),
            );
        }
    };
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    tokio::pin!(shutdown);
    let stop_wait = stopped();
    match lease {
        None => {
            metrics.set_leader(true);
            tokio::pin!(work);
            tokio::select! {
                _ = &mut work => {}
                // Let the controllers finish their passes (graceful shutdown).
                _ = &mut shutdown => work.await,
            }
            Ok(())
        }
        Some((namespace, name)) => {
            let cfg = leader::Config {
                namespace,
                name,
                identity: options.identity.clone(),
                lease_duration: Duration::from_secs(15),
                renew_every: Duration::from_secs(5),
                retry_every: Duration::from_secs(2),
            };
            let election = leader::run(client, cfg, metrics, work, stop_wait);
            tokio::pin!(election);
            tokio::select! {
                result = &mut election => result.map_err(OperatorError::from),
                _ = &mut shutdown => {
                    // Let the controllers finish their passes (graceful shutdown).
                    election.await.map_err(OperatorError::from)
                }
            }
        }
    }
}
