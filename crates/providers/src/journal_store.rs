//! Places other than a file where a run keeps its final journal.
//!
//! In a cluster a runner pod's files vanish with it; `chaos run --journal-configmap NS/NAME`
//! (or `CHAOS_JOURNAL_CONFIGMAP`) keeps the journal in a ConfigMap instead, where
//! `chaos operator` finds it. The engine writes through this trait
//! (`engine::api::JournalStoreSubscriber`); a driver crate implements it (the ConfigMap:
//! drivers-k8s), so the engine knows no store by name, as for kill switch sources.

use crate::BoxFuture;

/// Why the journal could not be stored: the message names the store and the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

pub trait JournalStore: Send + Sync {
    /// The store as users name it (`ConfigMap chaos/run-1-journal`).
    fn describe(&self) -> String;

    /// Stores `text`, the final journal as the journal file would hold it.
    fn store<'a>(&'a self, text: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}
