//! The three rollout functions of the "From local to automated Chaos Toolkit" talk
//! (`set_deployment_image`, `rollback_deployment`, `collect_deployment_status`). They only
//! ever existed on a `rollout-rollback` branch of chaostoolkit-kubernetes, never in a
//! release, yet the talk's and the report seed's four rollout experiments call them. They
//! are callable under those module paths but not discovered (no released `__all__` lists
//! them), so `chaos discover` still answers like chaostoolkit-kubernetes 0.39.0.
//!
//! Why not a literal port: the branch talked to `apps/v1beta1`, removed in Kubernetes 1.16.
//! Its rollback posted a `DeploymentRollback` object, which no current apiserver serves;
//! here a rollback does what `kubectl rollout undo` does (the pod template of the wanted
//! ReplicaSet revision put back with a JSON patch), which is what the branch meant and what
//! the talk's audience would type by hand. Signatures, defaults, `None` returns and failure
//! texts are the branch's; differences are in `docs/compatibility.md`.

use std::time::Duration;

use experiment::pyrepr::py_str;
use experiment::{Map, Value};
use providers::registry::Kind;
use providers::ProviderError;

use crate::client::{Kube, STRATEGIC};
use crate::common::{body, failed, items, Ctx, Def, Spec, CONFIGURATION, NS, SECRETS};

/// Hidden rows of `chaosk8s.deployment.actions`.
pub(crate) const ACTIONS: &[Spec] = &[
    Spec {
        name: "set_deployment_image",
        kind: Kind::Action,
        doc: "Set the image of a container of Deployment `deployment_name`, which rolls it \
out (the talk's branch of chaostoolkit-kubernetes; not discovered). Without \
`container_name`, the Deployment must have exactly one container.",
        params: &[
            ("deployment_name", Def::Required, Some("string")),
            ("image", Def::Required, Some("string")),
            ("container_name", Def::None, Some("string")),
            NS,
            CONFIGURATION,
            SECRETS,
        ],
        return_type: None,
        body: body!(set_deployment_image),
    },
    Spec {
        name: "rollback_deployment",
        kind: Kind::Action,
        doc: "Undo the rollout of Deployment `deployment_name` like `kubectl rollout undo`: \
back to the previous revision, or to `to_revision` (the talk's branch of \
chaostoolkit-kubernetes; not discovered).",
        params: &[
            ("deployment_name", Def::Required, Some("string")),
            ("to_revision", Def::None, Some("integer")),
            NS,
            CONFIGURATION,
            SECRETS,
        ],
        return_type: None,
        body: body!(rollback_deployment),
    },
];

/// Hidden rows of `chaosk8s.deployment.probes`.
pub(crate) const PROBES: &[Spec] = &[Spec {
    name: "collect_deployment_status",
    kind: Kind::Probe,
    doc: "Every `every` seconds for `duration` seconds, the conditions of Deployment \
`deployment_name` as `[type, status, reason]` triples, one list per sample (the talk's \
branch of chaostoolkit-kubernetes; not discovered).",
    params: &[
        ("deployment_name", Def::Required, Some("string")),
        NS,
        ("duration", Def::Int(60), Some("integer")),
        ("every", Def::Int(1), Some("integer")),
        CONFIGURATION,
        SECRETS,
    ],
    return_type: Some("list"),
    body: body!(collect_deployment_status),
}];

fn deployment_path(ns: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}")
}

/// The branch's failure text: `Deployment '<ns>/<name>' <what> <API body>`.
fn refused(ns: &str, name: &str, what: &str, detail: &str) -> ProviderError {
    failed(format!("Deployment '{ns}/{name}' {what} {detail}"))
}

async fn set_deployment_image(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let (ns, name) = (ctx.ns(), ctx.text("deployment_name"));
    let image = ctx.text("image");
    let api = ctx.kube().await?;
    let what = format!(
        "image of container '{}' could not be set",
        py_str(ctx.arg("container_name"))
    );
    let container = match ctx.opt_str("container_name") {
        Some(c) => c,
        // The branch sent a container without a name, which a strategic merge cannot
        // place (the apiserver refuses it); one container is unambiguous, so name it.
        None => {
            let d = api
                .get(&deployment_path(&ns, &name))
                .await?
                .map_err(|e| refused(&ns, &name, &what, &e.body))?;
            let names: Vec<&str> = containers(&d)
                .iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            match names.as_slice() {
                [one] => one.to_string(),
                _ => {
                    return Err(refused(
                        &ns,
                        &name,
                        &what,
                        &format!(
                            "(it has {} containers: {}; name one with container_name)",
                            names.len(),
                            names.join(", ")
                        ),
                    ))
                }
            }
        }
    };
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": container, "image": image}
    ]}}}});
    api.patch(&deployment_path(&ns, &name), STRATEGIC, &patch)
        .await?
        .map_err(|e| refused(&ns, &name, &what, &e.body))?;
    Ok(Value::Null)
}

fn containers(deployment: &Value) -> &[Value] {
    deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `deployment.kubernetes.io/revision` of a Deployment or ReplicaSet.
fn revision(object: &Value) -> Option<i64> {
    object
        .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
}

/// Annotations a rollback never copies from the ReplicaSet (kubectl's skip list).
const NOT_COPIED: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// A pod template without the `pod-template-hash` label the ReplicaSet controller adds.
fn template_of(rs: &Value) -> Value {
    let mut template = rs.pointer("/spec/template").cloned().unwrap_or_default();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    template
}

/// The ReplicaSets the Deployment with this uid controls, with their revisions.
async fn history(api: &Kube, ns: &str, uid: &str) -> Result<Vec<(i64, Value)>, ProviderError> {
    let list = api
        .get_ok(&format!("/apis/apps/v1/namespaces/{ns}/replicasets"))
        .await?;
    Ok(items(&list)
        .iter()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|owners| {
                    owners.iter().any(|o| {
                        o.get("uid").and_then(Value::as_str) == Some(uid)
                            && o.get("controller") == Some(&Value::Bool(true))
                    })
                })
        })
        .filter_map(|rs| revision(rs).map(|r| (r, rs.clone())))
        .collect())
}

async fn rollback_deployment(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let (ns, name) = (ctx.ns(), ctx.text("deployment_name"));
    let what = "rollback failed";
    let api = ctx.kube().await?;
    let path = deployment_path(&ns, &name);
    let deployment = api
        .get(&path)
        .await?
        .map_err(|e| refused(&ns, &name, what, &e.body))?;
    if deployment.pointer("/spec/paused") == Some(&Value::Bool(true)) {
        return Err(refused(
            &ns,
            &name,
            what,
            "(it is paused: resume it first, as kubectl rollout undo asks)",
        ));
    }
    let uid = deployment
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut revisions = history(&api, &ns, uid).await?;
    revisions.sort_by_key(|(r, _)| *r);
    let wanted = ctx.int("to_revision")?.filter(|r| *r != 0);
    let target = match wanted {
        Some(to) => revisions.iter().find(|(r, _)| *r == to).ok_or_else(|| {
            refused(
                &ns,
                &name,
                what,
                &format!("(unable to find specified revision {to} in history)"),
            )
        })?,
        // The newest revision is the current one; undo goes to the one before it.
        None => match revisions.len() {
            0 | 1 => {
                return Err(refused(
                    &ns,
                    &name,
                    what,
                    "(no rollout history found: it was never rolled out)",
                ))
            }
            n => &revisions[n - 2],
        },
    };
    let template = template_of(&target.1);
    if deployment.pointer("/spec/template") == Some(&template) {
        log::info!(
            "Deployment '{ns}/{name}': rollback skipped, the current template already matches \
             revision {}",
            target.0
        );
        return Ok(Value::Null);
    }
    // kubectl keeps the Deployment's annotations it does not copy, and takes the others
    // from the ReplicaSet (a change-cause, for instance, comes back with its template).
    let mut annotations: Map = deployment
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    annotations.retain(|k, _| NOT_COPIED.contains(&k.as_str()));
    if let Some(from_rs) = target
        .1
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        for (k, v) in from_rs {
            if !NOT_COPIED.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    let patch = serde_json::json!([
        {"op": "test", "path": "/metadata/resourceVersion",
         "value": deployment.pointer("/metadata/resourceVersion")},
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    api.patch(&path, "application/json-patch+json", &patch)
        .await?
        .map_err(|e| refused(&ns, &name, what, &e.body))?;
    log::info!(
        "Deployment '{ns}/{name}' rolled back to revision {}",
        target.0
    );
    Ok(Value::Null)
}

/// One sample: the Deployment's conditions as `[type, status, reason]` (none yet: empty).
fn conditions(status: &Value) -> Value {
    let triples = status
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let field = |k: &str| c.get(k).cloned().unwrap_or(Value::Null);
                    Value::Array(vec![field("type"), field("status"), field("reason")])
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(triples)
}

async fn collect_deployment_status(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let (ns, name) = (ctx.ns(), ctx.text("deployment_name"));
    let duration = Duration::from_secs(ctx.int("duration")?.unwrap_or(60).max(0) as u64);
    let every = Duration::from_secs(ctx.int("every")?.unwrap_or(1).max(0) as u64);
    let api = ctx.kube().await?;
    let path = format!("{}/status", deployment_path(&ns, &name));
    let end = tokio::time::Instant::now() + duration;
    let mut samples = Vec::new();
    // As the branch: wait first, then read, until the duration is over.
    while tokio::time::Instant::now() < end {
        tokio::time::sleep(every).await;
        let status = api.get_ok(&path).await?;
        samples.push(conditions(&status));
    }
    Ok(Value::Array(samples))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn template_loses_only_the_pod_template_hash() {
        let rs = json!({"spec": {"template": {"metadata": {"labels": {
            "app": "web", "pod-template-hash": "abc"}}, "spec": {"containers": []}}}});
        assert_eq!(
            template_of(&rs),
            json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}})
        );
    }

    #[test]
    fn conditions_are_triples_and_none_is_an_empty_sample() {
        let d = json!({"status": {"conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}});
        assert_eq!(
            conditions(&d),
            json!([
                ["Available", "True", "MinimumReplicasAvailable"],
                ["Progressing", "False", "ProgressDeadlineExceeded"]
            ])
        );
        assert_eq!(conditions(&json!({"status": {}})), json!([]));
    }

    #[test]
    fn revision_reads_the_annotation() {
        let rs = json!({"metadata": {"annotations": {"deployment.kubernetes.io/revision": "3"}}});
        assert_eq!(revision(&rs), Some(3));
        assert_eq!(revision(&json!({})), None);
    }
}
