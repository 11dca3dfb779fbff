//! CRUD shared by the per-kind modules: create from a manifest, delete by name / label /
//! everything, scale, and existence checks. `collection` is a path with `{ns}`.

use experiment::Value;
use providers::ProviderError;

use crate::client::{query, STRATEGIC};
use crate::common::{failed, items, name_of, Ctx};

pub(crate) fn path(collection: &str, ns: &str) -> String {
    collection.replace("{ns}", ns)
}

/// POST the manifest to the collection; returns the created object.
pub(crate) async fn create(
    ctx: &Ctx<'_>,
    collection: &str,
    manifest: &Value,
) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    api.post(&path(collection, &ctx.ns()), manifest)
        .await?
        .map_err(|e| e.exception())
}

/// The objects selected by `name` (field selector), else `label_selector`, else all.
pub(crate) async fn list_matching(
    ctx: &Ctx<'_>,
    collection: &str,
) -> Result<Vec<Value>, ProviderError> {
    let api = ctx.kube().await?;
    let field = ctx.opt_str("name").map(|n| format!("metadata.name={n}"));
    let label = if field.is_none() {
        ctx.opt_str("label_selector")
    } else {
        None
    };
    let url = query(
        &path(collection, &ctx.ns()),
        &[
            ("fieldSelector", field.as_deref()),
            ("labelSelector", label.as_deref()),
        ],
    );
    Ok(items(&api.get_ok(&url).await?).to_vec())
}

/// Deletes what [`list_matching`] selects; returns the names.
pub(crate) async fn delete_matching(
    ctx: &Ctx<'_>,
    collection: &str,
) -> Result<Vec<String>, ProviderError> {
    let api = ctx.kube().await?;
    let base = path(collection, &ctx.ns());
    let mut names = Vec::new();
    for o in list_matching(ctx, collection).await? {
        let name = name_of(&o).to_string();
        api.delete(&format!("{base}/{name}"), Some(&serde_json::json!({})))
            .await?
            .map_err(|e| e.exception())?;
        names.push(name);
    }
    Ok(names)
}

/// DELETE one named object.
pub(crate) async fn delete_named(
    ctx: &Ctx<'_>,
    collection: &str,
    name: &str,
) -> Result<Value, ProviderError> {
    let api = ctx.kube().await?;
    api.delete(&format!("{}/{name}", path(collection, &ctx.ns())), None)
        .await?
        .map_err(|e| e.exception())
}

/// PATCH `{"spec": {"replicas": N}}` with upstream's failure message.
pub(crate) async fn scale(ctx: &Ctx<'_>, collection: &str) -> Result<Value, ProviderError> {
    let name = ctx.text("name");
    let replicas = ctx.int("replicas")?.unwrap_or(0);
    let api = ctx.kube().await?;
    let url = format!("{}/{name}", path(collection, &ctx.ns()));
    let body = serde_json::json!({"spec": {"replicas": replicas}});
    api.patch(&url, STRATEGIC, &body).await?.map_err(|e| {
        failed(format!(
            "failed to scale '{name}' to {replicas} replicas: {}",
            e.message()
        ))
    })?;
    Ok(Value::Null)
}
