//! `kubectl` apply/delete: through the Kubernetes API, each document of the payload on
//! its own (server-side apply, or DELETE), with `kubectl` itself only when the policy
//! names a `kubectlBinary`.
//!
//! Why not the binary: a seal in a container should not need `kubectl` in its image,
//! and the API's answers are clearer than a child's exit code. What kubectl does that
//! this does too: multi-document YAML or JSON, every kind the server serves (found
//! through discovery, custom resources included), a namespace defaulting to `default`,
//! each document tried and the step failing if any failed. With `autoDelete` (the
//! default) an `apply` registers a delete of the same payload as the scenario's cleanup,
//! even when the apply failed (as upstream), through the same path as the apply
//! (upstream's cleanup always runs `kubectl`, whatever the step named).

use std::collections::HashMap;
use std::process::Stdio;

use experiment::Value;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::{Cleanup, Outcome, Runner};
use crate::policy::{Kubectl, KubectlAction};

const MODULE: &str = "action_kubectl";
/// The field manager of server-side applies.
const FIELD_MANAGER: &str = "powerfulseal";

/// Where the API serves one kind.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    plural: String,
    namespaced: bool,
}

impl Runner<'_> {
    pub(crate) async fn kubectl(&mut self, step: &Kubectl) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        let result = self
            .kubectl_run(
                step.action,
                &step.payload,
                step.kubectl_binary.as_deref(),
                &step.proxy,
                &logger,
            )
            .await;
        if step.action == KubectlAction::Apply && step.auto_delete {
            self.cleanups.push(Cleanup::Delete {
                payload: step.payload.clone(),
                binary: step.kubectl_binary.clone(),
            });
        }
        match result {
            Ok(done) => Outcome::ok(json!({"objects": done})),
            Err((done, e)) => Outcome::failed(json!({"objects": done}), e),
        }
    }

    /// Runs one apply or delete; `Ok` with what was done, or `Err` with that and why not.
    pub(crate) async fn kubectl_run(
        &mut self,
        action: KubectlAction,
        payload: &str,
        binary: Option<&str>,
        proxy: &str,
        logger: &str,
    ) -> Result<Vec<String>, (Vec<String>, String)> {
        if let Some(binary) = binary {
            return self
                .kubectl_binary(binary, action, payload, proxy, logger)
                .await;
        }
        if !proxy.is_empty() {
            self.log.warning(
                logger,
                format!("proxy {proxy:?} is used only with kubectlBinary; the Kubernetes API is reached directly"),
            );
        }
        let documents = match parse_payload(payload) {
            Ok(d) => d,
            Err(e) => {
                self.log.error(logger, &e);
                self.log.info(logger, "Return code: 1");
                return Err((Vec::new(), e));
            }
        };
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for doc in &documents {
            match self.one_document(action, doc).await {
                Ok(line) => {
                    self.log.info(logger, &line);
                    done.push(line);
                }
                Err(e) => {
                    self.log.info(logger, &e);
                    errors.push(e);
                }
            }
        }
        let code = i32::from(!errors.is_empty());
        self.log.info(logger, format!("Return code: {code}"));
        if errors.is_empty() {
            Ok(done)
        } else {
            Err((done, errors.join("\n")))
        }
    }

    async fn one_document(&mut self, action: KubectlAction, doc: &Value) -> Result<String, String> {
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(format!(
                "error: a document of the payload lacks apiVersion, kind or metadata.name (apiVersion={api_version:?}, kind={kind:?}, name={name:?})"
            ));
        }
        let resource = self.resource(api_version, kind).await?;
        let base = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let path = if resource.namespaced {
            let ns = doc
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("default");
            format!("{base}/namespaces/{ns}/{}/{name}", resource.plural)
        } else {
            format!("{base}/{}/{name}", resource.plural)
        };
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
        let shown = if group.is_empty() {
            format!("{}/{name}", kind.to_lowercase())
        } else {
            format!("{}.{group}/{name}", kind.to_lowercase())
        };
        let kube = self.kube().await?;
        let answer = match action {
            KubectlAction::Apply => {
                let url = format!("{path}?fieldManager={FIELD_MANAGER}&force=true");
                kube.patch(&url, "application/apply-patch+yaml", doc).await
            }
            KubectlAction::Delete => {
                kube.delete(&path, Some(&json!({"propagationPolicy": "Background"})))
                    .await
            }
        }
        .map_err(super::api_error)?;
        match answer {
            Ok(_) => Ok(match action {
                KubectlAction::Apply => format!("{shown} serverside-applied"),
                KubectlAction::Delete => format!("{shown} deleted"),
            }),
            Err(status) => Err(format!(
                "Error from server ({}): {}",
                status.reason().replace(' ', ""),
                status.message()
            )),
        }
    }

    /// The resource serving `kind` in `api_version`, from the API's discovery (cached).
    async fn resource(&mut self, api_version: &str, kind: &str) -> Result<Resource, String> {
        if !self.discovery.contains_key(api_version) {
            let kube = self.kube().await?;
            let path = if api_version.contains('/') {
                format!("/apis/{api_version}")
            } else {
                format!("/api/{api_version}")
            };
            let list = kube
                .get(&path)
                .await
                .map_err(super::api_error)?
                .map_err(|s| {
                    format!(
                        "error: the server does not serve apiVersion {api_version:?} ({}): {}",
                        s.code,
                        s.message()
                    )
                })?;
            let mut kinds = HashMap::new();
            for r in list
                .get("resources")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let plural = r.get("name").and_then(Value::as_str).unwrap_or("");
                if plural.contains('/') {
                    continue;
                }
                if let Some(k) = r.get("kind").and_then(Value::as_str) {
                    kinds.insert(
                        k.to_string(),
                        Resource {
                            plural: plural.to_string(),
                            namespaced: r
                                .get("namespaced")
                                .and_then(Value::as_bool)
                                .unwrap_or(true),
                        },
                    );
                }
            }
            self.discovery.insert(api_version.to_string(), kinds);
        }
        self.discovery
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
            .cloned()
            .ok_or_else(|| {
                format!("error: resource mapping not found for kind {kind:?} in version {api_version:?}: ensure CRDs are installed first")
            })
    }

    /// Upstream's way: `<binary> [--kubeconfig K] <action> -f -`, the payload on stdin,
    /// `http(s)_proxy` set to `proxy`; its output logged; exit 0 is success.
    async fn kubectl_binary(
        &mut self,
        binary: &str,
        action: KubectlAction,
        payload: &str,
        proxy: &str,
        logger: &str,
    ) -> Result<Vec<String>, (Vec<String>, String)> {
        let mut cmd = tokio::process::Command::new(binary);
        if let Some(k) = self.options.kubeconfig.as_deref() {
            cmd.arg("--kubeconfig").arg(k);
        }
        cmd.arg(match action {
            KubectlAction::Apply => "apply",
            KubectlAction::Delete => "delete",
        })
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        for var in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"] {
            cmd.env(var, proxy);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let message = format!("cannot run kubectlBinary {binary:?}: {e}");
                self.log.error(logger, &message);
                return Err((Vec::new(), message));
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(payload.as_bytes()).await;
        }
        let out = match child.wait_with_output().await {
            Ok(o) => o,
            Err(e) => {
                let message = format!("kubectlBinary {binary:?}: {e}");
                self.log.error(logger, &message);
                return Err((Vec::new(), message));
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        if !stdout.is_empty() {
            self.log.info(logger, &stdout);
        }
        if !stderr.is_empty() {
            self.log.info(logger, &stderr);
        }
        let code = out.status.code().unwrap_or(-1);
        self.log.info(logger, format!("Return code: {code}"));
        let done: Vec<String> = stdout.lines().map(String::from).collect();
        if out.status.success() {
            Ok(done)
        } else {
            Err((done, format!("{binary} exited with {code}: {stderr}")))
        }
    }
}

/// The payload's documents (YAML, several separated by `---`, or JSON), empty ones
/// skipped; a `List` contributes its items.
fn parse_payload(payload: &str) -> Result<Vec<Value>, String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(payload)
        .map_err(|e| format!("error: the kubectl payload is not valid YAML: {e}"))?;
    let mut out = Vec::new();
    for d in docs.iter().map(drivers_k8s::api::yaml_to_json) {
        match d {
            Value::Null => {}
            Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(
                    m.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            Value::Object(_) => out.push(d),
            other => {
                return Err(format!(
                    "error: a document of the kubectl payload is not a mapping: {other}"
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_split_into_documents_and_lists_into_items() {
        let docs = parse_payload(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\n{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"kind\": \"Secret\"}]}\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["metadata"]["name"], "a");
        assert_eq!(docs[1]["kind"], "Secret");
        assert!(parse_payload("- a\n")
            .unwrap_err()
            .contains("not a mapping"));
        assert!(parse_payload("a: [\n")
            .unwrap_err()
            .contains("not valid YAML"));
    }
}
