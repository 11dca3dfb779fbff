//! The two custom resources the operator serves.
//!
//! - [`ChaosToolkitExperiment`] (`chaostoolkit.org/v1`): upstream's
//!   (`chaostoolkit-incubator/kubernetes-crd`), whose `spec` is free-form. Its spec stays
//!   a JSON value here and is read field by field in [`crate::plan`], so a malformed CR
//!   becomes a status condition on that CR instead of a watch that cannot decode it.
//! - [`ChaosExperiment`] (`shakedown.dev/v1alpha1`): Shakedown's own, with a schema the
//!   apiserver enforces (generated from these types by `kube-derive`/`schemars`;
//!   `deploy/operator/crd-chaosexperiment.yaml` is that output, checked by a test).
//!
//! Both carry the same [`RunStatus`], which upstream never writes.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Upstream's experiment. `spec` is whatever the user wrote; [`crate::plan::upstream`]
/// reads the fields upstream honours, with upstream's defaults.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default)]
#[kube(
    group = "chaostoolkit.org",
    version = "v1",
    kind = "ChaosToolkitExperiment",
    plural = "chaosexperiments",
    singular = "chaosexperiment",
    shortname = "ctk",
    shortname = "ctks",
    namespaced,
    status = "RunStatus",
    schema = "disabled"
)]
pub struct ChaosToolkitExperimentSpec(pub Value);

/// Shakedown's experiment: run an experiment kept in a ConfigMap, once or on a schedule,
/// and keep every journal.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[kube(
    group = "shakedown.dev",
    version = "v1alpha1",
    kind = "ChaosExperiment",
    plural = "chaosexperiments",
    singular = "chaosexperiment",
    shortname = "cex",
    namespaced,
    status = "RunStatus",
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Verdict","type":"string","jsonPath":".status.verdict"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ChaosExperimentSpec {
    /// The experiment: a key of a ConfigMap in the run namespace.
    pub experiment: ExperimentSource,
    /// Where the runner pod, its ServiceAccount and its journals go (default: the
    /// namespace of this resource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub namespace: Option<String>,
    /// The runner image (default: the operator's `--runner-image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
    /// Use this existing ServiceAccount instead of creating one with upstream's Role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// A Secret holding `settings.yaml`, mounted as the runner's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_secret_name: Option<String>,
    /// Extra `chaos run` arguments, before the experiment path (`--var`, `--rollback-strategy`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub args: Vec<String>,
    /// Run on a schedule instead of once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// How many journals to keep (oldest deleted first).
    #[serde(default = "default_journal_history")]
    #[schemars(range(min = 1, max = 100))]
    pub journal_history_limit: u32,
}

fn default_journal_history() -> u32 {
    10
}

/// Where the experiment file is.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentSource {
    #[schemars(length(min = 1, max = 253))]
    pub config_map_name: String,
    /// The key holding the experiment (default `experiment.json`).
    #[serde(default = "default_key")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

fn default_key() -> String {
    "experiment.json".into()
}

/// A cron schedule, run by a `batch/v1` CronJob.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Standard five-field cron (`*/5 * * * *`), or a macro (`@hourly`).
    #[schemars(length(min = 1, max = 100))]
    pub cron: String,
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    #[serde(default = "default_success_history")]
    #[schemars(range(min = 0, max = 100))]
    pub successful_runs_history_limit: i32,
    #[serde(default = "default_failed_history")]
    #[schemars(range(min = 0, max = 100))]
    pub failed_runs_history_limit: i32,
}

fn default_success_history() -> i32 {
    3
}

fn default_failed_history() -> i32 {
    1
}

/// What a due run does while the previous one still runs (the CronJob's own policy).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    /// Start it anyway.
    Allow,
    /// Skip it (the default: two runs of one experiment would disturb each other).
    #[default]
    Forbid,
    /// Stop the running one (its rollbacks run: SIGTERM) and start the new one.
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// What the operator knows of the runs of one resource.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Scheduled`, `Refused` (kill switch)
    /// or `Invalid` (bad input: see the conditions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The last run's verdict: `completed`, `deviated`, `failed` or `interrupted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// The runner pod of the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Where the last run's journal is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalRef>,
    /// The `metadata.generation` the status is about (a new one re-runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A journal kept in a ConfigMap.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JournalRef {
    pub namespace: String,
    pub config_map: String,
    pub key: String,
}

/// A standard Kubernetes condition.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}
