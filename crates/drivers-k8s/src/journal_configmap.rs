//! The journal kept in a ConfigMap (`chaos run --journal-configmap NAMESPACE/NAME`, or
//! `CHAOS_JOURNAL_CONFIGMAP`): a runner pod's files vanish with it, a ConfigMap stays,
//! and `chaos operator` reads the verdict from it and prunes old ones.
//!
//! The journal goes under the key `journal.json`, with the label `shakedown.dev/journal`.
//! Created with POST; when it exists (a re-run with the same name) its data is replaced
//! with a merge PATCH. The runner's account needs `create` and `patch` on configmaps in
//! that namespace. A ConfigMap holds at most 1 MiB: a larger journal is an error that
//! says so (the journal file is still written). Credentials as for every `chaosk8s`
//! function: the kubeconfig, or in a pod its service account.

use crate::client::client_for;
use experiment::Map;
use providers::journal_store::{JournalStore, StoreError};
use providers::BoxFuture;
use serde_json::json;

/// The key the journal is stored under.
pub const KEY: &str = "journal.json";
/// The label every journal ConfigMap carries.
pub const LABEL: &str = "shakedown.dev/journal";
/// The most a ConfigMap's data may hold (etcd's object limit, with room for metadata).
pub const MAX_BYTES: usize = 1024 * 1024 - 16 * 1024;

pub struct ConfigMapJournal {
    namespace: String,
    name: String,
}

/// `NAMESPACE/NAME` as given to `--journal-configmap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--journal-configmap '{}' is not NAMESPACE/NAME (for example chaos/run-1-journal)",
            self.0
        )
    }
}

impl std::error::Error for NameError {}

impl ConfigMapJournal {
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 253
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        };
        match text.trim().split_once('/') {
            Some((ns, name)) if valid(ns) && valid(name) => Ok(Self {
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            _ => Err(NameError(text.to_string())),
        }
    }
}

impl JournalStore for ConfigMapJournal {
    fn describe(&self) -> String {
        format!("ConfigMap {}/{}", self.namespace, self.name)
    }

    fn store<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if text.len() > MAX_BYTES {
                return Err(StoreError(format!(
                    "the journal is {} bytes, more than a ConfigMap holds ({MAX_BYTES}); keep it with --journal-path on a volume instead",
                    text.len()
                )));
            }
            let kube = client_for(&Map::new())
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            let base = format!("/api/v1/namespaces/{}/configmaps", self.namespace);
            let body = json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": {LABEL: "true", "app.kubernetes.io/managed-by": "shakedown"}},
                "data": {KEY: text},
            });
            let status = match kube
                .post(&base, &body)
                .await
                .map_err(|e| StoreError(e.to_string()))?
            {
                Ok(_) => return Ok(()),
                Err(status) if status.code == 409 => {
                    let patch =
                        json!({"metadata": {"labels": {LABEL: "true"}}, "data": {KEY: text}});
                    match kube
                        .patch(
                            &format!("{base}/{}", self.name),
                            "application/merge-patch+json",
                            &patch,
                        )
                        .await
                        .map_err(|e| StoreError(e.to_string()))?
                    {
                        Ok(_) => return Ok(()),
                        Err(status) => status,
                    }
                }
                Err(status) => status,
            };
            Err(StoreError(format!(
                "HTTP {} {}: {}",
                status.code,
                status.reason(),
                status.message()
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespace_slash_name() {
        let j = ConfigMapJournal::parse("chaos/run-1-journal").unwrap();
        assert_eq!(j.describe(), "ConfigMap chaos/run-1-journal");
        for bad in ["chaos", "/x", "a/", "a/b/c", "A/b", "a/b c"] {
            assert!(ConfigMapJournal::parse(bad).is_err(), "{bad}");
        }
    }
}
