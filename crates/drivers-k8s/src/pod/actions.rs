//! `chaosk8s.pod.actions`: terminate pods, run commands in them (`exec_in_pods`, in
//! `pod/exec.rs`), and the deprecated `delete_pods`.

use experiment::Value;
use futures::StreamExt;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use crate::client::{query, Kube};
use crate::common::{body, failed, name_of, s, Ctx, Def, Spec, NS, SECRETS};

pub const MODULE: &str = "chaosk8s.pod.actions";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "terminate_pods",
        kind: Kind::Action,
        doc: "Select pods by `label_selector` and/or `name_pattern` (regex search) in `ns` and \
delete them.\n\nUnless `all`, `qty` pods are picked (in `mode` `fixed`, or `percentage` of the \
matches rounded up), the first ones in `order` (`alphabetic` or `oldest`) or at random with \
`rand`. `grace_period` >= 0 overrides the pods' grace period. Returns the names of the \
deleted pods; no match is not an error.",
        params: &[
            ("label_selector", Def::None, Some("string")),
            ("name_pattern", Def::None, Some("string")),
            ("all", Def::Bool(false), Some("boolean")),
            ("rand", Def::Bool(false), Some("boolean")),
            ("mode", Def::Str("fixed"), Some("string")),
            ("qty", Def::Int(1), Some("integer")),
            ("grace_period", Def::Int(-1), Some("integer")),
            NS,
            ("order", Def::Str("alphabetic"), Some("string")),
            SECRETS,
        ],
        return_type: Some("list"),
        body: body!(terminate_pods),
    },
    Spec {
        name: "exec_in_pods",
        kind: Kind::Action,
        doc: "Run `cmd` (a list of arguments, or a string split with shell rules) in the \
container `container_name` of the pods selected as by `terminate_pods` (`label_selector`, \
`name_pattern`, `all`, `rand`, `mode`, `qty`, `order`, in `ns`).\n\nWithout `container_name`, \
each pod's default container (annotation `kubectl.kubernetes.io/default-container`, else the \
first); with it, pods without that container are skipped. Waits up to `request_timeout` \
seconds per pod (0: no limit). Returns one `{pod_name, exit_code, cmd, stdout, stderr}` per \
pod: `exit_code` is 0, or the kubelet's exit code as a string (`stderr` then holds its \
message).",
        params: &[
            ("cmd", Def::Required, Some("object")),
            ("label_selector", Def::None, Some("string")),
            ("name_pattern", Def::None, Some("string")),
            ("all", Def::Bool(false), Some("boolean")),
            ("rand", Def::Bool(false), Some("boolean")),
            ("mode", Def::Str("fixed"), Some("string")),
            ("qty", Def::Int(1), Some("integer")),
            NS,
            ("order", Def::Str("alphabetic"), Some("string")),
            ("container_name", Def::None, Some("string")),
            ("request_timeout", Def::Int(60), Some("integer")),
            SECRETS,
        ],
        return_type: Some("list"),
        body: body!(crate::pod::exec::exec_in_pods),
    },
];

/// Not in upstream's `__all__` (so not discovered) but callable: `delete_pods`.
pub(crate) const HIDDEN: &[Spec] = &[Spec {
    name: "delete_pods",
    kind: Kind::Action,
    doc: "Deprecated: delete the first pod whose name matches `name` (and `label_selector`).",
    params: &[
        ("name", Def::None, Some("string")),
        NS,
        ("label_selector", Def::None, Some("string")),
        SECRETS,
    ],
    return_type: Some("list"),
    body: body!(delete_pods),
}];

/// How `terminate_pods` and `exec_in_pods` pick pods.
pub(crate) struct Selection {
    pub label_selector: Option<String>,
    pub name_pattern: Option<String>,
    pub all: bool,
    pub rand: bool,
    pub mode: String,
    pub qty: i64,
    pub order: String,
}

impl Selection {
    pub fn from_ctx(ctx: &Ctx<'_>) -> Result<Self, ProviderError> {
        Ok(Selection {
            label_selector: ctx.opt_str("label_selector"),
            name_pattern: ctx.opt_str("name_pattern"),
            all: ctx.flag("all"),
            rand: ctx.flag("rand"),
            mode: ctx.text("mode"),
            qty: ctx.int("qty")?.unwrap_or(1),
            order: ctx.text("order"),
        })
    }

    /// Validates, lists and picks pods as upstream's `_select_pods`.
    pub async fn pick(&self, ctx: &Ctx<'_>, ns: &str) -> Result<Vec<Value>, ProviderError> {
        self.pick_listed(ctx, ns, false).await
    }

    /// [`Selection::pick`] over the pods' metadata only (name, uid, creation time, owners):
    /// all that picking and deleting need, from the same one LIST at about half the bytes.
    pub async fn pick_metadata(
        &self,
        ctx: &Ctx<'_>,
        ns: &str,
    ) -> Result<Vec<Value>, ProviderError> {
        self.pick_listed(ctx, ns, true).await
    }

    async fn pick_listed(
        &self,
        ctx: &Ctx<'_>,
        ns: &str,
        metadata_only: bool,
    ) -> Result<Vec<Value>, ProviderError> {
        if self.qty < 0 {
            return Err(failed(format!(
                "Cannot select pods. Quantity '{}' is negative.",
                self.qty
            )));
        }
        if self.mode != "fixed" && self.mode != "percentage" {
            return Err(failed(format!(
                "Cannot select pods. Mode '{}' is invalid.",
                self.mode
            )));
        }
        if self.order != "alphabetic" && self.order != "oldest" {
            return Err(failed(format!(
                "Cannot select pods. Order '{}' is invalid.",
                self.order
            )));
        }
        let pattern = match &self.name_pattern {
            Some(p) => Some(regex::Regex::new(p).map_err(|e| {
                ProviderError::failed(
                    FailureKind::Declaration,
                    format!("re.error: invalid name_pattern {p:?}: {e}"),
                )
            })?),
            None => None,
        };
        let api = ctx.kube().await?;
        let path = pods_path(ns, self.label_selector.as_deref());
        let mut list = if metadata_only {
            api.list_metadata(&path).await?
        } else {
            api.get_ok(&path).await?
        };
        // Taken, not cloned: a list of thousands of pods is tens of megabytes.
        let mut pods: Vec<Value> = match list.get_mut("items") {
            Some(Value::Array(all)) => std::mem::take(all),
            _ => Vec::new(),
        };
        if let Some(re) = &pattern {
            pods.retain(|p| re.is_match(name_of(p)));
        }
        if self.order == "oldest" {
            // RFC 3339 UTC timestamps sort as strings.
            pods.sort_by(|a, b| {
                s(a, "/metadata/creationTimestamp").cmp(s(b, "/metadata/creationTimestamp"))
            });
        }
        if self.all {
            return Ok(pods);
        }
        let n = pods.len() as i64;
        let mut qty = self.qty;
        if self.mode == "percentage" {
            qty = (qty * n + 99) / 100;
        }
        let qty = qty.min(n).max(0) as usize;
        if self.rand {
            let mut picked = Vec::with_capacity(qty);
            for _ in 0..qty {
                picked.push(pods.swap_remove(fastrand::usize(..pods.len())));
            }
            return Ok(picked);
        }
        pods.truncate(qty);
        Ok(pods)
    }
}

/// How many pod deletions `terminate_pods` keeps in flight.
const DELETES_IN_FLIGHT: usize = 8;

/// `/api/v1/namespaces/{ns}/pods[?labelSelector=]`.
pub(crate) fn pods_path(ns: &str, label_selector: Option<&str>) -> String {
    query(
        &format!("/api/v1/namespaces/{ns}/pods"),
        &[("labelSelector", label_selector.filter(|l| !l.is_empty()))],
    )
}

async fn delete_selected(
    ctx: &Ctx<'_>,
    ns: &str,
    pods: Vec<Value>,
    grace_period: i64,
) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    let options = if grace_period >= 0 {
        serde_json::json!({"gracePeriodSeconds": grace_period})
    } else {
        serde_json::json!({})
    };
    // Upstream deletes one by one; a few in flight at once cost the same requests and
    // overlap their round trips. Names come back in selection order.
    let names: Vec<String> = pods.iter().map(|p| name_of(p).to_string()).collect();
    let results: Vec<Result<Option<String>, ProviderError>> = futures::stream::iter(
        names
            .into_iter()
            .map(|name| delete_one(&api, ns, name, &options)),
    )
    .buffered(DELETES_IN_FLIGHT)
    .collect()
    .await;
    let mut deleted = Vec::with_capacity(pods.len());
    for r in results {
        if let Some(name) = r? {
            deleted.push(Value::String(name));
        }
    }
    Ok(Value::Array(deleted))
}

/// Deletes one pod: `Some(name)` when deleted, `None` when it was already gone.
async fn delete_one(
    api: &Kube,
    ns: &str,
    name: String,
    options: &Value,
) -> Result<Option<String>, ProviderError> {
    log::debug!("Picked pod '{name}' for termination");
    match api
        .delete(
            &format!("/api/v1/namespaces/{ns}/pods/{name}"),
            Some(options),
        )
        .await?
    {
        Ok(_) => Ok(Some(name)),
        // Already gone (a terminating pod finished between list and delete): upstream
        // fails the activity on this race; the goal (the pod is gone) is met.
        Err(e) if e.code == 404 => {
            log::debug!("pod '{name}' was already gone");
            Ok(None)
        }
        Err(e) => Err(e.exception()),
    }
}

async fn terminate_pods(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let ns = ctx.ns();
    let selection = Selection::from_ctx(&ctx)?;
    let grace_period = ctx.int("grace_period")?.unwrap_or(-1);
    let pods = selection.pick_metadata(&ctx, &ns).await?;
    let api = ctx.kube().await?;
    let replacing = super::replacement::Expected::before_deleting(&api, &ns, &pods).await?;
    let deleted = delete_selected(&ctx, &ns, pods, grace_period).await?;
    if let Some(expected) = replacing {
        expected.wait(&api, &ns).await;
    }
    Ok(deleted)
}

async fn delete_pods(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let ns = ctx.ns();
    let selection = Selection {
        label_selector: ctx.opt_str("label_selector"),
        name_pattern: ctx.opt_str("name"),
        all: false,
        rand: false,
        mode: "fixed".into(),
        qty: 1,
        order: "alphabetic".into(),
    };
    let pods = selection.pick_metadata(&ctx, &ns).await?;
    delete_selected(&ctx, &ns, pods, -1).await
}
