//! What a runner pod and its journal say about a run: pure functions over the objects the
//! apiserver returns, so each rule is tested without a cluster.
//!
//! The verdict comes from the journal when there is one (its `status` and `deviated`): the
//! exit code alone cannot tell a deviated run from a failed one (both exit 1). Without a
//! journal (an upstream image, which ignores `CHAOS_JOURNAL_CONFIGMAP`), exit code 0 is
//! `completed` and anything else `failed`, said so in the condition.

use serde_json::Value;

/// A run's state as its pod shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum PodState {
    /// Not started yet (scheduling, pulling).
    Pending,
    /// The image cannot be pulled: the reason and the kubelet's message.
    ImageFailure {
        reason: String,
        message: String,
    },
    Running {
        start: Option<String>,
    },
    Finished {
        exit_code: Option<i32>,
        start: Option<String>,
        end: Option<String>,
    },
}

const IMAGE_REASONS: [&str; 5] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
];

fn first_container(pod: &Value) -> Option<&Value> {
    pod.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

pub fn pod_state(pod: &Value) -> PodState {
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("Pending");
    let container = first_container(pod);
    if let Some(waiting) = container.and_then(|c| c.pointer("/state/waiting")) {
        let reason = waiting.get("reason").and_then(Value::as_str).unwrap_or("");
        if IMAGE_REASONS.contains(&reason) {
            return PodState::ImageFailure {
                reason: reason.to_string(),
                message: text(waiting.get("message")).unwrap_or_default(),
            };
        }
    }
    let terminated = container.and_then(|c| c.pointer("/state/terminated"));
    let start = text(pod.pointer("/status/startTime"))
        .or_else(|| text(terminated.and_then(|t| t.get("startedAt"))));
    match phase {
        "Succeeded" | "Failed" => PodState::Finished {
            exit_code: terminated
                .and_then(|t| t.get("exitCode"))
                .and_then(Value::as_i64)
                .and_then(|c| i32::try_from(c).ok())
                .or(match phase {
                    "Succeeded" => Some(0),
                    _ => None,
                }),
            start,
            end: text(terminated.and_then(|t| t.get("finishedAt"))),
        },
        "Running" => PodState::Running { start },
        _ => PodState::Pending,
    }
}

/// The verdict a journal states: `completed`, `deviated`, `failed` or `interrupted`
/// (`aborted` counts as failed: the run could not carry on).
pub fn journal_verdict(journal: &Value) -> Option<&'static str> {
    let status = journal.get("status").and_then(Value::as_str)?;
    let deviated = journal
        .get("deviated")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(match status {
        "completed" if deviated => "deviated",
        "completed" => "completed",
        "interrupted" => "interrupted",
        _ => "failed",
    })
}

/// The verdict from the exit code when there is no journal.
pub fn exit_verdict(exit_code: Option<i32>) -> &'static str {
    match exit_code {
        Some(0) => "completed",
        _ => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_failures_are_named() {
        let pod = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ErrImagePull", "message": "not found: nope:1"}}}]}});
        assert_eq!(
            pod_state(&pod),
            PodState::ImageFailure {
                reason: "ErrImagePull".into(),
                message: "not found: nope:1".into()
            }
        );
        let creating = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ContainerCreating"}}}]}});
        assert_eq!(pod_state(&creating), PodState::Pending);
    }

    #[test]
    fn finished_pods_give_their_exit_code_and_times() {
        let pod = json!({"status": {"phase": "Failed", "startTime": "2026-12-02T10:00:00Z",
            "containerStatuses": [{"state": {"terminated": {"exitCode": 1,
                "finishedAt": "2026-12-02T10:01:00Z"}}}]}});
        assert_eq!(
            pod_state(&pod),
            PodState::Finished {
                exit_code: Some(1),
                start: Some("2026-12-02T10:00:00Z".into()),
                end: Some("2026-12-02T10:01:00Z".into())
            }
        );
        let ok = json!({"status": {"phase": "Succeeded"}});
        assert!(matches!(
            pod_state(&ok),
            PodState::Finished {
                exit_code: Some(0),
                ..
            }
        ));
        let running = json!({"status": {"phase": "Running", "startTime": "t"}});
        assert_eq!(
            pod_state(&running),
            PodState::Running {
                start: Some("t".into())
            }
        );
    }

    #[test]
    fn the_journal_tells_deviated_from_failed() {
        assert_eq!(
            journal_verdict(&json!({"status": "completed", "deviated": false})),
            Some("completed")
        );
        assert_eq!(
            journal_verdict(&json!({"status": "completed", "deviated": true})),
            Some("deviated")
        );
        assert_eq!(
            journal_verdict(&json!({"status": "failed", "deviated": false})),
            Some("failed")
        );
        assert_eq!(
            journal_verdict(&json!({"status": "aborted"})),
            Some("failed")
        );
        assert_eq!(
            journal_verdict(&json!({"status": "interrupted"})),
            Some("interrupted")
        );
        assert_eq!(journal_verdict(&json!({"title": "no status"})), None);
        assert_eq!(exit_verdict(Some(0)), "completed");
        assert_eq!(exit_verdict(Some(1)), "failed");
        assert_eq!(exit_verdict(None), "failed");
    }
}
