//! `clone`: a copy of a deployment, `<source>-chaos`, mutated (`environment`, `tc`,
//! `toxiproxy`), relabelled, optionally taking over Services' traffic, and **always**
//! deleted at the scenario's end.
//!
//! The objects are upstream's (`action_clone.py`, 3.3): the clone's metadata
//! (`original_deployment` and `chaos_scenario` annotations, label `chaos=true`), its
//! selector and template labels (`labels` modifiers in order, then `chaos=true`), each
//! `tc` mutation an init container `chaos<N>` with `NET_ADMIN`, each `toxiproxy` mutation
//! a sidecar `chaos-toxiproxy` whose startup probe creates the proxies and toxics with
//! `toxiproxy-cli`, plus an init container `iptables-setup` redirecting every declared
//! container port to its proxy (ports from 10000 up). Differences, on purpose
//! (docs/compatibility.md):
//!
//! - Upstream leaks the clone: its service-retarget helper returns nothing, so the step
//!   reports failure after creating the clone and before registering its deletion (and
//!   the retarget patch names undefined variables). Here the deletion is registered
//!   *before* the create request, so a failure or a signal at any later point still
//!   deletes it; the deletion only removes the deployment this step created (a token
//!   annotation and the API's uid precondition), never one that was there before.
//!   Retargeted Services are restored before the clone is deleted, as upstream meant.
//! - Without `imageToxiproxy` the sidecar is Shakedown's own image running `chaos proxy
//!   serve` (`$SHAKEDOWN_IMAGE`, default `shakedown:<version>`, docs/release.md). That
//!   image has no shell, so the startup probe runs the same `toxiproxy-cli` commands
//!   through `chaos seal chain` (`a && b`, without a shell) with the image's
//!   `toxiproxy-cli` link. Flags come before the proxy name in every command (Toxiproxy
//!   2.1.4's CLI reordered them; 2.2 and later, and the link, ignore flags after it).
//! - A container without `env` or `ports` is handled (upstream crashes on `None`).

use experiment::{Map, Value};
use serde_json::json;

use super::{Cleanup, Outcome, Runner};
use crate::policy::{CloneLabel, Mutation, ServiceRef, ToxiproxyMutation};

const MODULE: &str = "action_clone";
/// The annotation naming the run that created a clone (its deletion checks it).
pub(crate) const TOKEN_ANNOTATION: &str = "seal.shakedown.dev/clone-token";
/// Where Shakedown's image keeps `chaos` (docs/release.md).
pub(crate) const SHAKEDOWN_CHAOS: &str = "/usr/local/bin/chaos";
/// The port of the sidecar's Toxiproxy API (its clients' default).
const TOXIPROXY_API_PORT: u16 = 8474;

/// Shakedown's image for the sidecar: `$SHAKEDOWN_IMAGE`, else `shakedown:<version>`.
pub(crate) fn shakedown_image() -> String {
    std::env::var("SHAKEDOWN_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("shakedown:{}", env!("CARGO_PKG_VERSION")))
}

/// The clone deployment's body, built from the source's (as read from the API).
///
/// `service_selectors` holds, for each `labels: - service:` modifier in order, that
/// Service's selector; `image` is Shakedown's image (used when a toxiproxy mutation names
/// none); `token` marks the clone as this run's.
pub(crate) fn clone_body(
    source: &Value,
    step: &crate::policy::Clone,
    scenario: &str,
    service_selectors: &[Map],
    image: &str,
    token: &str,
) -> Result<Value, String> {
    let name = source
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = source
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut selector = source
        .pointer("/spec/selector")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if selector
        .get("matchExpressions")
        .is_some_and(|m| !m.is_null())
    {
        return Err(format!(
            "deployment '{name}' in namespace '{namespace}' uses matchExpressions in its selector: not supported by clone (as upstream)"
        ));
    }
    let mut template = source
        .pointer("/spec/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut match_labels = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut template_labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut update = |pairs: Option<&Map>| match pairs {
        None => {
            match_labels.clear();
            template_labels.clear();
        }
        Some(pairs) => {
            for (k, v) in pairs {
                match_labels.insert(k.clone(), v.clone());
                template_labels.insert(k.clone(), v.clone());
            }
        }
    };
    let mut selectors = service_selectors.iter();
    for label in &step.labels {
        match label {
            CloneLabel::Service(_) => {
                let sel = selectors.next().cloned().unwrap_or_default();
                update(None);
                update(Some(&sel));
            }
            CloneLabel::Label { key, value } => {
                let mut m = Map::new();
                m.insert(key.clone(), Value::String(value.clone()));
                update(Some(&m));
            }
        }
    }
    let pod_spec = template
        .as_object_mut()
        .ok_or("the source deployment's template is not an object")?
        .entry("spec")
        .or_insert_with(|| json!({}));
    for mutation in &step.mutations {
        match mutation {
            Mutation::Environment { name, value } => {
                for c in containers_mut(pod_spec, "containers") {
                    push(c, "env", json!({"name": name, "value": value}));
                }
            }
            Mutation::Tc {
                command,
                args,
                user,
                image,
            } => {
                let n = pod_spec
                    .get("initContainers")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let mut c = json!({
                    "name": format!("chaos{}", n + 1),
                    "image": image,
                    "command": command,
                    "securityContext": net_admin(*user),
                });
                if !args.is_empty() {
                    c["args"] = json!(args);
                }
                push(pod_spec, "initContainers", c);
            }
            Mutation::Toxiproxy(t) => toxiproxy(pod_spec, t, image),
        }
    }
    let mut chaos = Map::new();
    chaos.insert("chaos".into(), Value::String("true".into()));
    update(Some(&chaos));
    selector["matchLabels"] = Value::Object(match_labels);
    template
        .as_object_mut()
        .ok_or("the source deployment's template is not an object")?
        .entry("metadata")
        .or_insert_with(|| json!({}))["labels"] = Value::Object(template_labels);
    Ok(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": format!("{name}-chaos"),
            "namespace": namespace,
            "annotations": {
                "original_deployment": name,
                "chaos_scenario": scenario,
                TOKEN_ANNOTATION: token,
            },
            "labels": {"chaos": "true"},
        },
        "spec": {
            "replicas": step.replicas,
            "selector": selector,
            "template": template,
        },
    }))
}

fn net_admin(user: u64) -> Value {
    json!({"runAsUser": user, "capabilities": {"add": ["NET_ADMIN"]}})
}

/// Appends `item` to the list at `key` of `object`, creating it when absent or null.
fn push(object: &mut Value, key: &str, item: Value) {
    if let Some(o) = object.as_object_mut() {
        let list = o.entry(key).or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        if let Some(a) = list.as_array_mut() {
            a.push(item);
        }
    }
}

fn containers_mut<'v>(pod_spec: &'v mut Value, key: &str) -> impl Iterator<Item = &'v mut Value> {
    pod_spec
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut())
        .into_iter()
        .flatten()
}

/// A proxy the sidecar creates: the policy's own, then one per container port.
struct ProxySpec {
    name: String,
    listen: String,
    upstream: String,
    ingress_port: Option<u64>,
}

/// Upstream's `mutate_toxiproxy`: the sidecar and the `iptables-setup` init container.
fn toxiproxy(pod_spec: &mut Value, t: &ToxiproxyMutation, shakedown_image: &str) {
    // 1. Every declared container port, mapped to a free port from 10000 up.
    let ports: Vec<u64> = pod_spec
        .get("containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("containerPort").and_then(Value::as_u64))
        })
        .collect();
    let mut mapping: Vec<(u64, u64)> = Vec::new();
    let mut counter = 10000;
    for &port in &ports {
        while ports.contains(&counter) || mapping.iter().any(|&(_, m)| m == counter) {
            counter += 1;
        }
        match mapping.iter_mut().find(|(p, _)| *p == port) {
            Some(entry) => entry.1 = counter,
            None => mapping.push((port, counter)),
        }
    }
    // 2. The proxies: the policy's, then `auto<port>` for each mapped port.
    let mut proxies: Vec<ProxySpec> = t
        .proxies
        .iter()
        .map(|p| ProxySpec {
            name: p.name.clone(),
            listen: p.listen.clone(),
            upstream: p.upstream.clone(),
            ingress_port: None,
        })
        .collect();
    for &(ingress, proxy_port) in &mapping {
        proxies.push(ProxySpec {
            name: format!("auto{ingress}"),
            listen: format!("0.0.0.0:{proxy_port}"),
            upstream: format!("127.0.0.1:{ingress}"),
            ingress_port: Some(ingress),
        });
    }
    // 3. The toxiproxy-cli commands the startup probe runs.
    let ours = t.image_toxiproxy.is_none();
    let cli = t.toxiproxy_cli.clone().unwrap_or_else(|| {
        if ours {
            crate::policy::SHAKEDOWN_TOXIPROXY_CLI.to_string()
        } else {
            crate::policy::DEFAULT_TOXIPROXY_CLI.to_string()
        }
    });
    let mut commands: Vec<Vec<String>> = Vec::new();
    for p in &proxies {
        commands.push(vec![
            cli.clone(),
            "create".into(),
            "-l".into(),
            p.listen.clone(),
            "-u".into(),
            p.upstream.clone(),
            p.name.clone(),
        ]);
    }
    for toxic in &t.toxics {
        let target = if is_python_int(&toxic.target_proxy) {
            format!("auto{}", toxic.target_proxy)
        } else {
            toxic.target_proxy.clone()
        };
        let mut c = vec![
            cli.clone(),
            "toxic".into(),
            "add".into(),
            "-t".into(),
            toxic.toxic_type.clone(),
        ];
        for (name, value) in &toxic.attributes {
            c.push("-a".into());
            c.push(format!("{name}={}", super::pods::py_num(*value)));
        }
        c.push(target);
        commands.push(c);
    }
    let sidecar = if ours {
        let mut probe = vec![
            SHAKEDOWN_CHAOS.to_string(),
            "seal".into(),
            "chain".into(),
            "--".into(),
        ];
        for (i, c) in commands.iter().enumerate() {
            if i > 0 {
                probe.push("&&".into());
            }
            probe.extend(c.iter().cloned());
        }
        json!({
            "name": "chaos-toxiproxy",
            "image": shakedown_image,
            "args": ["proxy", "serve", "--host", "0.0.0.0", "--port", TOXIPROXY_API_PORT.to_string()],
            "startupProbe": {"exec": {"command": probe}},
        })
    } else {
        let mut line = String::from("true");
        for c in &commands {
            line.push_str(" && ");
            line.push_str(&c.iter().map(|a| sh_quote(a)).collect::<Vec<_>>().join(" "));
        }
        json!({
            "name": "chaos-toxiproxy",
            "image": t.image_toxiproxy,
            "startupProbe": {"exec": {"command": ["/bin/sh", "-c", line]}},
        })
    };
    push(pod_spec, "containers", sidecar);
    // 4. The iptables rules, in an init container.
    let port_of = |listen: &str| {
        let parts: Vec<&str> = listen.split(':').collect();
        if parts.len() == 2 {
            parts[1].to_string()
        } else {
            "80".to_string()
        }
    };
    let mut iptables = String::from("iptables -t filter -A INPUT -s 127.0.0.1 -j ACCEPT");
    let mut names = Vec::new();
    for p in &proxies {
        if let Some(ingress) = p.ingress_port {
            let egress = port_of(&p.listen);
            iptables.push_str(&format!(
                " && iptables -t nat -A PREROUTING -i eth0 -p tcp --dport {ingress} -j REDIRECT --to-port {egress} -m comment --comment \"{}\"",
                p.name
            ));
            names.push(format!("{ingress}->{egress}"));
        }
    }
    iptables.push_str(&format!(
        " && echo \"iptables rules setup successfully: {}\"",
        names.join(", ")
    ));
    push(
        pod_spec,
        "initContainers",
        json!({
            "name": "iptables-setup",
            "command": ["/bin/sh", "-c", iptables],
            "args": [],
            "image": t.image_iptables,
            "securityContext": net_admin(t.user),
        }),
    );
}

/// Whether Python's `int()` reads the text (upstream's test for a bare port number).
fn is_python_int(text: &str) -> bool {
    let t = text.trim().replace('_', "");
    let digits = t.strip_prefix(['+', '-']).unwrap_or(&t);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// A word for `/bin/sh`, quoted when it needs to be.
fn sh_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Runner<'_> {
    pub(crate) async fn clone_step(&mut self, step: &crate::policy::Clone) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        let ServiceRef { name, namespace } = &step.source;
        let kube = match self.kube().await {
            Ok(k) => k,
            Err(e) => return self.clone_failed(&logger, Value::Null, e),
        };
        let source = match kube
            .get(&deployment_path(namespace, name))
            .await
            .map_err(super::api_error)
        {
            Ok(Ok(d)) => d,
            Ok(Err(status)) => {
                let e = format!(
                    "cannot read the clone's source, deployment '{name}' in namespace '{namespace}': ({}) {}",
                    status.code,
                    status.message()
                );
                return self.clone_failed(&logger, Value::Null, e);
            }
            Err(e) => return self.clone_failed(&logger, Value::Null, e),
        };
        let mut selectors = Vec::new();
        for label in &step.labels {
            if let CloneLabel::Service(s) = label {
                match self.service(s).await {
                    Ok(svc) => selectors.push(
                        svc.pointer("/spec/selector")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                    ),
                    Err(e) => return self.clone_failed(&logger, Value::Null, e),
                }
            }
        }
        let token = format!("{:016x}", fastrand::u64(..));
        let body = match clone_body(
            &source,
            step,
            &self.scenario,
            &selectors,
            &shakedown_image(),
            &token,
        ) {
            Ok(b) => b,
            Err(e) => return self.clone_failed(&logger, Value::Null, e),
        };
        let clone_name = format!("{name}-chaos");
        self.log.debug(&logger, format!("Body {body}"));
        // Registered before the request: whatever happens next, the clone goes.
        self.cleanups.push(Cleanup::DeleteClone {
            namespace: namespace.clone(),
            name: clone_name.clone(),
            token: token.clone(),
        });
        let output = json!({
            "deployment": format!("{namespace}/{clone_name}"),
            "replicas": step.replicas,
            "containers": names(&body, "containers"),
            "initContainers": names(&body, "initContainers"),
        });
        let path = format!("/apis/apps/v1/namespaces/{namespace}/deployments");
        match kube.post(&path, &body).await.map_err(super::api_error) {
            Ok(Ok(_)) => self
                .log
                .info(&logger, "Clone deployment created successfully"),
            Ok(Err(status)) => {
                let e = format!(
                    "cannot create the clone, deployment '{clone_name}' in namespace '{namespace}': ({}) {}",
                    status.code,
                    status.message()
                );
                return self.clone_failed(&logger, output, e);
            }
            Err(e) => return self.clone_failed(&logger, output, e),
        }
        for svc in &step.services_to_retarget {
            if let Err(e) = self.retarget(svc, &logger).await {
                return self.clone_failed(&logger, output, e);
            }
        }
        Outcome::ok(output)
    }

    fn clone_failed(&self, logger: &str, output: Value, e: String) -> Outcome {
        self.log.error(logger, &e);
        Outcome::failed(output, e)
    }

    async fn service(&mut self, s: &ServiceRef) -> Result<Value, String> {
        let kube = self.kube().await?;
        match kube
            .get(&format!(
                "/api/v1/namespaces/{}/services/{}",
                s.namespace, s.name
            ))
            .await
            .map_err(super::api_error)?
        {
            Ok(v) => Ok(v),
            Err(status) => Err(format!(
                "cannot read service '{}' in namespace '{}': ({}) {}",
                s.name,
                s.namespace,
                status.code,
                status.message()
            )),
        }
    }

    /// Adds `chaos: "true"` to the Service's selector; its restore runs before the
    /// clone's deletion (registered first, so a stop mid-request still restores it).
    async fn retarget(&mut self, s: &ServiceRef, logger: &str) -> Result<(), String> {
        let svc = self.service(s).await?;
        let previous = svc
            .pointer("/spec/selector/chaos")
            .and_then(Value::as_str)
            .map(String::from);
        let at = self
            .cleanups
            .iter()
            .position(|c| matches!(c, Cleanup::DeleteClone { .. }))
            .unwrap_or(self.cleanups.len());
        self.cleanups.insert(
            at,
            Cleanup::RestoreService {
                service: s.clone(),
                previous,
            },
        );
        self.patch_selector(s, Some("true")).await?;
        self.log.info(
            logger,
            format!(
                "Service modified successfully: add {} in {}",
                s.name, s.namespace
            ),
        );
        Ok(())
    }

    async fn patch_selector(&mut self, s: &ServiceRef, value: Option<&str>) -> Result<(), String> {
        let kube = self.kube().await?;
        let path = format!("/api/v1/namespaces/{}/services/{}", s.namespace, s.name);
        let patch = json!({"spec": {"selector": {"chaos": value}}});
        match kube
            .patch(&path, "application/merge-patch+json", &patch)
            .await
            .map_err(super::api_error)?
        {
            Ok(_) => Ok(()),
            Err(status) => Err(format!(
                "cannot modify service '{}' in namespace '{}': ({}) {}",
                s.name,
                s.namespace,
                status.code,
                status.message()
            )),
        }
    }

    /// The cleanup of a retarget: the selector's `chaos` key as it was.
    pub(crate) async fn restore_service(
        &mut self,
        s: &ServiceRef,
        previous: Option<&str>,
    ) -> Outcome {
        let logger = MODULE;
        match self.patch_selector(s, previous).await {
            Ok(()) => {
                self.log.info(
                    logger,
                    format!(
                        "Service modified successfully: remove {} in {}",
                        s.name, s.namespace
                    ),
                );
                Outcome::ok(json!({"service": format!("{}/{}", s.namespace, s.name)}))
            }
            Err(e) => {
                self.log
                    .error(logger, format!("Error modifying service: {e}"));
                Outcome::failed(Value::Null, e)
            }
        }
    }

    /// The cleanup of a clone: deletes the deployment if it is the one this run created
    /// (its token), with the API's uid precondition; absent is fine (never created).
    pub(crate) async fn delete_clone(
        &mut self,
        namespace: &str,
        name: &str,
        token: &str,
    ) -> Outcome {
        let logger = MODULE;
        let done = json!({"deployment": format!("{namespace}/{name}")});
        let kube = match self.kube().await {
            Ok(k) => k,
            Err(e) => {
                self.log.error(
                    logger,
                    format!("Error deleting clone deployment: {name} in {namespace}: {e}"),
                );
                return Outcome::failed(done, e);
            }
        };
        let path = deployment_path(namespace, name);
        let result = async {
            let current = match kube.get(&path).await.map_err(super::api_error)? {
                Ok(d) => d,
                Err(status) if status.code == 404 => return Ok(false),
                Err(status) => return Err(format!("({}) {}", status.code, status.message())),
            };
            let theirs = current
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    TOKEN_ANNOTATION.replace('/', "~1")
                ))
                .and_then(Value::as_str);
            if theirs != Some(token) {
                return Ok(false);
            }
            let uid = current
                .pointer("/metadata/uid")
                .cloned()
                .unwrap_or(Value::Null);
            let options = json!({"propagationPolicy": "Background", "preconditions": {"uid": uid}});
            match kube
                .delete(&path, Some(&options))
                .await
                .map_err(super::api_error)?
            {
                Ok(_) => Ok(true),
                Err(status) if status.code == 404 => Ok(false),
                Err(status) => Err(format!("({}) {}", status.code, status.message())),
            }
        }
        .await;
        match result {
            Ok(true) => {
                self.log.info(
                    logger,
                    format!("Clone deployment deleted successfully: {name} in {namespace}"),
                );
                Outcome::ok(done)
            }
            Ok(false) => {
                self.log.info(
                    logger,
                    format!("Clone deployment {name} in {namespace} was not created by this run: nothing to delete"),
                );
                Outcome::ok(done)
            }
            Err(e) => {
                self.log.error(
                    logger,
                    format!("Error deleting clone deployment: {name} in {namespace}: {e}"),
                );
                Outcome::failed(done, e)
            }
        }
    }
}

fn deployment_path(namespace: &str, name: &str) -> String {
    format!("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
}

fn names(body: &Value, key: &str) -> Value {
    body.pointer(&format!("/spec/template/spec/{key}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").cloned())
        .collect()
}

#[cfg(test)]
mod tests;
