//! Letting a terminated pod's ReplicaSet react before `terminate_pods` returns.
//!
//! Upstream returns right after its DELETE calls. A probe that follows at once (the book's
//! `health.yaml`: terminate a Deployment's pod, then check that all pods are Running) then
//! races the ReplicaSet controller. The Python reference is slow enough to lose that race,
//! so the book sees the replacement pod Pending and the experiment deviates; a native probe
//! can run before the controller has even created the replacement and report a system that
//! has not started healing as healthy. So when a terminated pod belongs to a ReplicaSet
//! that is short of its replicas afterwards, `terminate_pods` waits (by watching, at most
//! [`REACTION_TIMEOUT`]) until that ReplicaSet has created a new pod. Bare pods, and
//! ReplicaSets that are not meant to replace them (scaling down), cost nothing extra.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use experiment::Value;
use providers::ProviderError;

use crate::client::{watch_until, Kube};
use crate::common::{items, s};

/// How long a ReplicaSet gets to create a replacement; past it, terminate_pods returns anyway
/// (a quota or admission webhook may hold the replacement back; that is the probes' business).
pub(crate) const REACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The ReplicaSets expected to replace terminated pods, and every pod uid that existed
/// before the deletions (a replacement is a pod of the ReplicaSet that is not among them).
pub(crate) struct Expected {
    replica_sets: BTreeMap<String, String>,
    known: BTreeSet<String>,
}

/// The controlling ReplicaSet of a pod, as (uid, name).
fn replica_set_of(pod: &Value) -> Option<(String, String)> {
    pod.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|o| o["kind"] == "ReplicaSet" && o["controller"] == Value::Bool(true))
        .map(|o| (s(o, "/uid").to_string(), s(o, "/name").to_string()))
}

fn owned_by(pod: &Value, uid: &str) -> bool {
    replica_set_of(pod).is_some_and(|(owner, _)| owner == uid)
}

impl Expected {
    /// Called before deleting `doomed`; `None` when no ReplicaSet will replace any of them.
    pub(crate) async fn before_deleting(
        api: &Kube,
        ns: &str,
        doomed: &[Value],
    ) -> Result<Option<Expected>, ProviderError> {
        let owners: BTreeMap<String, String> = doomed.iter().filter_map(replica_set_of).collect();
        if owners.is_empty() {
            return Ok(None);
        }
        let doomed_uids: BTreeSet<&str> = doomed.iter().map(|p| s(p, "/metadata/uid")).collect();
        // Metadata only (owners, uids, deletion marks): a fraction of a full list's bytes.
        let pods = api
            .list_metadata(&format!("/api/v1/namespaces/{ns}/pods"))
            .await?;
        let mut replica_sets = BTreeMap::new();
        for (uid, name) in owners {
            let Ok(Ok(rs)) = api
                .get(&format!("/apis/apps/v1/namespaces/{ns}/replicasets/{name}"))
                .await
            else {
                continue; // gone or unreadable: nothing to wait for
            };
            let wanted = rs
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let staying = items(&pods)
                .iter()
                .filter(|p| owned_by(p, &uid))
                .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none())
                .filter(|p| !doomed_uids.contains(s(p, "/metadata/uid")))
                .count() as i64;
            if staying < wanted {
                replica_sets.insert(uid, name);
            }
        }
        if replica_sets.is_empty() {
            return Ok(None);
        }
        let known = items(&pods)
            .iter()
            .map(|p| s(p, "/metadata/uid").to_string())
            .collect();
        Ok(Some(Expected {
            replica_sets,
            known,
        }))
    }

    /// Waits until each expected ReplicaSet has created a pod (bounded; never fails).
    pub(crate) async fn wait(self, api: &Kube, ns: &str) {
        let deadline = tokio::time::Instant::now() + REACTION_TIMEOUT;
        let url = format!("/api/v1/namespaces/{ns}/pods");
        for (uid, name) in &self.replica_sets {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let is_replacement =
                |p: &Value| owned_by(p, uid) && !self.known.contains(s(p, "/metadata/uid"));
            match watch_until(api, &url, left, is_replacement).await {
                Ok(true) => log::debug!("ReplicaSet '{name}' is replacing the terminated pods"),
                Ok(false) => log::debug!(
                    "ReplicaSet '{name}' created no replacement within {}s",
                    REACTION_TIMEOUT.as_secs()
                ),
                Err(e) => log::debug!("could not watch for ReplicaSet '{name}': {e}"),
            }
        }
    }
}
