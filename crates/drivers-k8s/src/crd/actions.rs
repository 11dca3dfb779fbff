//! `chaosk8s.crd.actions`.

use experiment::Value;
use http::Method;
use providers::registry::Kind;
use providers::{FailureKind, ProviderError};

use crate::common::{body, failed, parse_document, Ctx, Def, Spec, NS, SECRETS};
use crate::crd::{call, path, refused};

pub const MODULE: &str = "chaosk8s.crd.actions";

type P = crate::common::P;
const GROUP: P = ("group", Def::Required, Some("string"));
const VERSION: P = ("version", Def::Required, Some("string"));
const PLURAL: P = ("plural", Def::Required, Some("string"));
const NAME: P = ("name", Def::Required, Some("string"));
const FORCE: P = ("force", Def::Bool(false), Some("boolean"));
const RESOURCE: P = ("resource", Def::None, Some("mapping"));
const YAML_FILE: P = ("resource_as_yaml_file", Def::None, Some("string"));
const JSON_PATCH: &str = "application/json-patch+json";

pub(crate) const SPECS: &[Spec] = &[
    Spec {
        name: "apply_from_json",
        kind: Kind::Action,
        doc: "Create the custom object given as a JSON string `resource` (namespace from its \
metadata, else `default`; plural guessed from its kind).",
        params: &[("resource", Def::None, Some("string")), SECRETS],
        return_type: Some("mapping"),
        body: body!(apply_from_json),
    },
    Spec {
        name: "apply_from_yaml",
        kind: Kind::Action,
        doc: "Create the custom object given as a YAML string `resource` (namespace from its \
metadata, else `default`; plural guessed from its kind).",
        params: &[("resource", Def::None, Some("string")), SECRETS],
        return_type: Some("mapping"),
        body: body!(apply_from_yaml),
    },
    Spec {
        name: "create_custom_object",
        kind: Kind::Action,
        doc: "Create a custom object in `ns` from `resource` or the YAML file \
`resource_as_yaml_file`; an existing one answers the API's conflict Status.",
        params: &[GROUP, VERSION, PLURAL, NS, RESOURCE, YAML_FILE, SECRETS],
        return_type: Some("mapping"),
        body: body!(create_custom_object),
    },
    Spec {
        name: "delete_custom_object",
        kind: Kind::Action,
        doc: "Delete custom object `name` from `ns`.",
        params: &[GROUP, VERSION, PLURAL, NAME, NS, SECRETS],
        return_type: Some("mapping"),
        body: body!(delete_custom_object),
    },
    Spec {
        name: "create_cluster_custom_object",
        kind: Kind::Action,
        doc: "Create a cluster-scoped custom object from `resource` or the YAML file \
`resource_as_yaml_file`.",
        params: &[GROUP, VERSION, PLURAL, RESOURCE, YAML_FILE, SECRETS],
        return_type: Some("mapping"),
        body: body!(create_cluster_custom_object),
    },
    Spec {
        name: "delete_cluster_custom_object",
        kind: Kind::Action,
        doc: "Delete cluster-scoped custom object `name`.",
        params: &[GROUP, VERSION, PLURAL, NAME, SECRETS],
        return_type: Some("mapping"),
        body: body!(delete_cluster_custom_object),
    },
    Spec {
        name: "patch_custom_object",
        kind: Kind::Action,
        doc: "Apply the JSON Patch `resource` (or from `resource_as_yaml_file`) to custom object \
`name` in `ns`. `force` is accepted and ignored, as upstream.",
        params: &[
            GROUP, VERSION, PLURAL, NAME, NS, FORCE, RESOURCE, YAML_FILE, SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(patch_custom_object),
    },
    Spec {
        name: "replace_custom_object",
        kind: Kind::Action,
        doc: "Replace custom object `name` in `ns` with `resource` (or `resource_as_yaml_file`).",
        params: &[
            GROUP, VERSION, PLURAL, NAME, NS, FORCE, RESOURCE, YAML_FILE, SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(replace_custom_object),
    },
    Spec {
        name: "patch_cluster_custom_object",
        kind: Kind::Action,
        doc: "Apply the JSON Patch `resource` (or from `resource_as_yaml_file`) to cluster-scoped \
custom object `name`. `force` is accepted and ignored, as upstream.",
        params: &[
            GROUP, VERSION, PLURAL, NAME, FORCE, RESOURCE, YAML_FILE, SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(patch_cluster_custom_object),
    },
    Spec {
        name: "replace_cluster_custom_object",
        kind: Kind::Action,
        doc: "Replace cluster-scoped custom object `name` with `resource` (or \
`resource_as_yaml_file`).",
        params: &[
            GROUP, VERSION, PLURAL, NAME, FORCE, RESOURCE, YAML_FILE, SECRETS,
        ],
        return_type: Some("mapping"),
        body: body!(replace_cluster_custom_object),
    },
];

/// Upstream's `load_body`: the object if given, else the YAML file.
fn load_body(ctx: &Ctx<'_>) -> Result<Value, ProviderError> {
    let resource = ctx.arg("resource");
    if !resource.is_null() {
        return Ok(resource.clone());
    }
    let Some(file) = ctx.opt_str("resource_as_yaml_file") else {
        return Err(failed(
            "Either `body_as_object` or `body_as_yaml_file` must be set",
        ));
    };
    if !std::path::Path::new(&file).is_file() {
        return Err(failed(format!(
            "Path '{file}' is not a valid resource file"
        )));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| {
        ProviderError::failed(
            FailureKind::Environment,
            format!("OSError: cannot read '{file}': {e}"),
        )
    })?;
    parse_document(&text, false).map_err(|e| {
        ProviderError::failed(
            FailureKind::Declaration,
            format!("yaml.YAMLError: '{file}' is not valid YAML: {e}"),
        )
    })
}

/// Upstream's `get_plural` (Kubernetes' RESTMapper guess, lowercase).
pub(crate) fn plural_of(kind: &str) -> String {
    let singular = kind.to_lowercase();
    if singular == "endpoints" {
        return singular;
    }
    if let Some(stem) = singular.strip_suffix('y') {
        return format!("{stem}ies");
    }
    if singular.ends_with('s') {
        return format!("{singular}es");
    }
    format!("{singular}s")
}

/// POST `body` to `url`; upstream's answer for a conflict (the `409` Status) and its
/// failure wording (shared with `chaosk8s.chaosmesh`, which creates through this).
pub(crate) async fn create(
    ctx: &Ctx<'_>,
    namespaced: bool,
    url: &str,
    body: &Value,
) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    match api.post(url, body).await? {
        Ok(v) => Ok(v),
        // Already there: upstream answers the API's Status instead of failing.
        Err(e) if e.code == 409 => serde_json::from_str(&e.body).map_err(|_| refused("create", &e)),
        // Upstream forgot the `f` of this f-string: the braces are printed as is.
        Err(_) if !namespaced => Err(failed(
            "Failed to create custom resource object: '{x.reason}' {x.body}",
        )),
        Err(e) => Err(refused("create", &e)),
    }
}

/// `apply_from_json` / `apply_from_yaml`: the parsed `resource` created where its
/// apiVersion, kind and namespace say.
async fn apply(ctx: Ctx<'_>, json: bool) -> Result<Value, ProviderError> {
    let Value::String(text) = ctx.arg("resource") else {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            format!(
                "TypeError: resource must be a {} string",
                if json { "JSON" } else { "YAML" }
            ),
        ));
    };
    let obj = parse_document(text, json).map_err(|e| {
        ProviderError::failed(
            FailureKind::Declaration,
            if json {
                format!("json.decoder.JSONDecodeError: {e}")
            } else {
                format!("yaml.YAMLError: {e}")
            },
        )
    })?;
    let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version.is_empty() {
        return Err(failed("missing apiVersion in resource"));
    }
    if kind.is_empty() {
        return Err(failed("missing kind in resource"));
    }
    let Some((group, version)) = api_version.rsplit_once('/') else {
        return Err(ProviderError::failed(
            FailureKind::Declaration,
            "ValueError: not enough values to unpack (expected 2, got 1)",
        ));
    };
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let url = format!(
        "/apis/{group}/{version}/namespaces/{ns}/{}",
        plural_of(&kind)
    );
    create(&ctx, true, &url, &obj).await
}

async fn apply_from_json(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    apply(ctx, true).await
}

async fn apply_from_yaml(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    apply(ctx, false).await
}

async fn create_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let body = load_body(&ctx)?;
    create(&ctx, true, &path(&ctx, true, false), &body).await
}

async fn create_cluster_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    let body = load_body(&ctx)?;
    create(&ctx, false, &path(&ctx, false, false), &body).await
}

async fn delete_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(
        &ctx,
        Method::DELETE,
        &path(&ctx, true, true),
        None,
        "delete",
    )
    .await
}

async fn delete_cluster_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    call(
        &ctx,
        Method::DELETE,
        &path(&ctx, false, true),
        None,
        "delete",
    )
    .await
}

async fn patch(ctx: Ctx<'_>, namespaced: bool) -> Result<Value, ProviderError> {
    let body = load_body(&ctx)?;
    let url = path(&ctx, namespaced, true);
    call(
        &ctx,
        Method::PATCH,
        &url,
        Some((JSON_PATCH, &body)),
        "patch",
    )
    .await
}

async fn replace(ctx: Ctx<'_>, namespaced: bool) -> Result<Value, ProviderError> {
    let body = load_body(&ctx)?;
    let url = path(&ctx, namespaced, true);
    call(
        &ctx,
        Method::PUT,
        &url,
        Some(("application/json", &body)),
        "replace",
    )
    .await
}

async fn patch_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    patch(ctx, true).await
}

async fn patch_cluster_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    patch(ctx, false).await
}

async fn replace_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    replace(ctx, true).await
}

async fn replace_cluster_custom_object(ctx: Ctx<'_>) -> Result<Value, ProviderError> {
    replace(ctx, false).await
}

#[cfg(test)]
mod tests {
    use super::plural_of;

    #[test]
    fn plurals_follow_upstream() {
        assert_eq!(plural_of("Widget"), "widgets");
        assert_eq!(plural_of("NetworkChaos"), "networkchaoses");
        assert_eq!(plural_of("Policy"), "policies");
        assert_eq!(plural_of("Endpoints"), "endpoints");
    }
}
