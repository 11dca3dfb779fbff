//! Hot reload: before every loop the policy file is read again and the cluster's
//! `Scenario` resources (`powerfulseal.io/v1`, any namespace; CRD in
//! `deploy/powerfulseal-scenario-crd.yaml`) are appended to its scenarios, then the whole
//! is checked, as upstream's `PolicyRunner.read_policy` does each loop. An invalid result
//! ends the run with exit 1 (upstream's `sys.exit(1)`), after logging why.
//!
//! When no cluster is configured (a policy of waits and URL probes) or the resource type
//! is not installed (404), there are no cluster scenarios, as upstream finds none without
//! the CRD. Other failures to list them are logged as a warning and the file's scenarios
//! run (upstream logs the exception and carries on with the file's).

use experiment::Value;

use super::pods::items;
use super::Runner;

const RUNNER: &str = "policy_runner";
const SCENARIOS: &str = "/apis/powerfulseal.io/v1/scenarios";

impl Runner<'_> {
    /// Re-reads the policy (when asked to); false when it is no longer valid.
    pub(crate) async fn reload(&mut self) -> bool {
        let Some(path) = self.options.reload.clone() else {
            return true;
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                self.log.error(
                    RUNNER,
                    format!("{}: cannot read the policy file: {e}", path.display()),
                );
                self.log
                    .error(RUNNER, "Policy not valid. See log output above.");
                return false;
            }
        };
        let extra = self.cluster_scenarios().await;
        match crate::load_str_with(&text, &path.display().to_string(), extra) {
            Ok(checked) => {
                self.policy = checked.policy;
                self.document = checked.document;
                true
            }
            Err(e) => {
                self.log.error(RUNNER, e.to_string());
                self.log
                    .error(RUNNER, "Policy not valid. See log output above.");
                false
            }
        }
    }

    /// The `spec` of every `Scenario` resource, in the API's order.
    async fn cluster_scenarios(&mut self) -> Vec<Value> {
        let kube = match self.kube().await {
            Ok(k) => k,
            Err(e) => {
                self.log
                    .debug(RUNNER, format!("No cluster, so no Scenario resources: {e}"));
                return Vec::new();
            }
        };
        match kube.get(SCENARIOS).await.map_err(super::api_error) {
            Ok(Ok(list)) => {
                let specs: Vec<Value> = items(&list)
                    .iter()
                    .filter_map(|s| s.get("spec").cloned())
                    .collect();
                self.log
                    .debug(RUNNER, format!("Read {} scenarios from CRDS", specs.len()));
                specs
            }
            Ok(Err(status)) if status.code == 404 => Vec::new(),
            Ok(Err(status)) => {
                self.log.warning(
                    RUNNER,
                    format!(
                        "cannot list Scenario resources: ({}) {}",
                        status.code,
                        status.message()
                    ),
                );
                Vec::new()
            }
            Err(e) => {
                self.log
                    .warning(RUNNER, format!("cannot list Scenario resources: {e}"));
                Vec::new()
            }
        }
    }
}
