//! `chaosk8s.networking.actions`: create, patch and delete Ingresses; create and remove
//! NetworkPolicies, including upstream's fixed-name deny-all / allow-DNS helpers.

use experiment::Value;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};
use serde_json::json;

use crate::client::STRATEGIC;
use crate::common::{body, failed, read_manifest, Body, Ctx, Def, Spec, NS, SECRETS};
use crate::generic;

pub const MODULE: &str = "chaosk8s.networking.actions";

pub(crate) const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses";
const POLICIES: &str = "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies";

const DENY_INGRESS: &str = "chaostoolkit-deny-all-ingress";
const DENY_EGRESS: &str = "chaostoolkit-deny-all-egress";
const ALLOW_DNS: &str = "chaostoolkit-allow-dns";

/// The table row of a fixed-name policy's creator: all three take the same arguments
/// (`label_selectors`, `ns`) and return nothing, so a row states only name, doc and body.
const fn creator(name: &'static str, doc: &'static str, body: Body) -> Spec {
    Spec {
        name,
        kind: Kind::Action,
        doc,
        params: &[("label_selectors", Def::None, Some("mapping")), NS, SECRETS],
        return_type: None,
        body,
    }
}

/// The table row of a fixed-name policy's `remove_*` twin: `ns` only, returns nothing.
const fn remover(name: &'static str, doc: &'static str, body: Body) -> Spec {
    Spec {
        name,
        kind: Kind::Action,
        doc,
        params: &[NS, SECRETS],
        return_type: None,
        body,
    }
}

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "create_ingress",
        kind: Kind::Action,
        doc: "Create an Ingress in `ns` from the manifest at `spec_path` (JSON or YAML).",
        params: &[("spec_path", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(create_ingress),
    },
    Spec {
        name: "delete_ingress",
        kind: Kind::Action,
        doc: "Delete Ingress `name` from `ns`.",
        params: &[("name", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(delete_ingress),
    },
    Spec {
        name: "update_ingress",
        kind: Kind::Action,
        doc: "Patch Ingress `name` with `spec` (a strategic merge patch).",
        params: &[
            ("name", Def::Required, Some("string")),
            ("spec", Def::Required, Some("mapping")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(update_ingress),
    },
    Spec {
        name: "create_network_policy",
        kind: Kind::Action,
        doc: "Create a NetworkPolicy in `ns` from `spec`, or from the manifest at `spec_path` \
when that file exists.",
        params: &[
            ("spec", Def::None, Some("mapping")),
            ("spec_path", Def::None, Some("string")),
            NS,
            SECRETS,
        ],
        return_type: None,
        body: body!(create_network_policy),
    },
    Spec {
        name: "remove_network_policy",
        kind: Kind::Action,
        doc: "Delete NetworkPolicy `name` from `ns`.",
        params: &[("name", Def::Required, Some("string")), NS, SECRETS],
        return_type: None,
        body: body!(remove_network_policy),
    },
    creator(
        "deny_all_ingress",
        "Create NetworkPolicy `chaostoolkit-deny-all-ingress`: no ingress to the pods of \
`ns` (only those matching the `label_selectors` mapping, if given).",
        body!(deny_all_ingress),
    ),
    remover(
        "remove_deny_all_ingress",
        "Delete the policy `deny_all_ingress` created.",
        body!(remove_deny_all_ingress),
    ),
    creator(
        "deny_all_egress",
        "Create NetworkPolicy `chaostoolkit-deny-all-egress`: no egress from the pods of \
`ns` (only those matching the `label_selectors` mapping, if given).",
        body!(deny_all_egress),
    ),
    remover(
        "remove_deny_all_egress",
        "Delete the policy `deny_all_egress` created.",
        body!(remove_deny_all_egress),
    ),
    creator(
        "allow_dns_access",
        "Create NetworkPolicy `chaostoolkit-allow-dns`: egress to port 53 (UDP and TCP) in \
any namespace from the pods of `ns` (only those matching `label_selectors`, if given).",
        body!(allow_dns_access),
    ),
    remover(
        "remove_allow_dns_access",
        "Delete the policy `allow_dns_access` created.",
        body!(remove_allow_dns_access),
    ),
];

async fn create_ingress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let manifest = read_manifest(&ctx.text("spec_path"))?;
    generic::create(&ctx, INGRESSES, &manifest).await?;
    Ok(Value::Null)
}

async fn delete_ingress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_named(&ctx, INGRESSES, &ctx.text("name")).await?;
    Ok(Value::Null)
}

async fn update_ingress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let name = ctx.text("name");
    let api = ctx.kube().await?;
    let url = format!("{}/{name}", generic::path(INGRESSES, &ctx.ns()));
    api.patch(&url, STRATEGIC, ctx.arg("spec"))
        .await?
        .map_err(|e| {
            // Upstream's message says "daemon set" here too (copied from update_daemon_set).
            failed(format!(
                "failed to update daemon set '{name}': ({})\nReason: {}\nHTTP response body: {}",
                e.code,
                e.reason(),
                e.body.trim_end()
            ))
        })?;
    Ok(Value::Null)
}

/// POSTs a NetworkPolicy; a missing body fails like the Python client's own check.
async fn create_policy(ctx: &Ctx<'_>, spec: &Value) -> Result<Value, ProviderError> {
    if spec.is_null() {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            "ValueError: Missing the required parameter `body` when calling \
`create_namespaced_network_policy`",
        ));
    }
    generic::create(ctx, POLICIES, spec).await?;
    Ok(Value::Null)
}

async fn create_network_policy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    // Upstream reads `spec_path` only when it names an existing file, else uses `spec`.
    let spec = match ctx.opt_str("spec_path") {
        Some(path) if std::path::Path::new(&path).is_file() => read_manifest(&path)?,
        _ => ctx.arg("spec").clone(),
    };
    create_policy(&ctx, &spec).await
}

async fn remove_network_policy(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    generic::delete_named(&ctx, POLICIES, &ctx.text("name")).await?;
    Ok(Value::Null)
}

/// Creates upstream's fixed-name policy `name`. `rules` builds its spec from the pod
/// selector (`{}`, or `{"matchLabels": label_selectors}` when that mapping is truthy), so
/// each creator states only what its policy allows.
async fn create_fixed(
    ctx: Ctx<'_>,
    name: &str,
    rules: impl FnOnce(Value) -> Value,
) -> Result<Value, ProviderError> {
    let pods = if ctx.flag("label_selectors") {
        json!({"matchLabels": ctx.arg("label_selectors")})
    } else {
        json!({})
    };
    let policy = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": rules(pods),
    });
    create_policy(&ctx, &policy).await
}

async fn deny_all_ingress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fixed(
        ctx,
        DENY_INGRESS,
        |pods| json!({"podSelector": pods, "policyTypes": ["Ingress"], "ingress": []}),
    )
    .await
}

async fn deny_all_egress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fixed(
        ctx,
        DENY_EGRESS,
        |pods| json!({"podSelector": pods, "policyTypes": ["Egress"]}),
    )
    .await
}

async fn allow_dns_access(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    create_fixed(ctx, ALLOW_DNS, |pods| {
        json!({
            "podSelector": pods,
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }],
        })
    })
    .await
}

/// Deletes upstream's fixed-name policy `name` (the `remove_*` twins of the creators).
async fn remove_named(ctx: Ctx<'_>, name: &str) -> Result<Value, ProviderError> {
    generic::delete_named(&ctx, POLICIES, name).await?;
    Ok(Value::Null)
}

async fn remove_deny_all_ingress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    remove_named(ctx, DENY_INGRESS).await
}

async fn remove_deny_all_egress(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    remove_named(ctx, DENY_EGRESS).await
}

async fn remove_allow_dns_access(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    remove_named(ctx, ALLOW_DNS).await
}
