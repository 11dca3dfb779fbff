//! The reconcile loop: kube-runtime `Controller`s (one per kind) that watch the resources
//! and the runner pods they made, and a `finalizer` that deletes everything on delete.
//!
//! Each pass (`apply`) recomputes the [`Plan`] from the spec, applies its objects with
//! server-side apply (so a pass is idempotent and a spec change updates them), starts the
//! run of the current generation if it has none, reads the runner pod and its journal, and
//! writes the status. Bad input never fails the pass: it becomes a condition on the
//! resource and the pass waits for a change ([`Problem`]). Only the apiserver failing
//! (or answering unexpectedly) is an [`Error`], retried with a delay.

use crate::crd::{ChaosExperiment, ChaosToolkitExperiment, Condition, JournalRef, RunStatus};
use crate::metrics::Metrics;
use crate::observe::{self, PodState};
use crate::plan::{self, Defaults, Kind, Owner, Plan, SpecError};
use futures::StreamExt;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{finalizer, Event};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The finalizer that makes deletion wait for the cleanup.
pub const FINALIZER: &str = "shakedown.dev/cleanup";
/// How often a resource with a live runner pod is looked at without an event. The pods
/// are watched, so every change of theirs starts a pass at once; this is only a safety
/// net (a 5 s period made 25 passes a resource in bench/operator, most of them idle).
pub const POD_RECHECK: Duration = Duration::from_secs(60);
/// The field manager of every server-side apply.
pub const MANAGER: &str = "shakedown-operator";

/// The apiserver failed or answered in a way the operator cannot act on: retried later.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action}: {source}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error("the finalizer of {name}: {source}")]
    Finalizer {
        name: String,
        #[source]
        source: Box<kube::runtime::finalizer::Error<Error>>,
    },
    #[error("{0} has no namespace")]
    NoNamespace(String),
}

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

/// Bad input: shown as a condition, never retried until the resource or the cluster changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

/// What the controllers share.
pub struct Context {
    pub client: Client,
    pub defaults: Defaults,
    pub metrics: Arc<Metrics>,
}

/// The two kinds, as the reconcile loop sees them.
pub trait Served:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;
    fn plan(&self, owner: Owner, defaults: Defaults) -> Result<Plan, SpecError>;
    fn run_status(&self) -> Option<&RunStatus>;
}

impl Served for ChaosToolkitExperiment {
    const KIND: Kind = Kind::Upstream;
    fn plan(&self, owner: Owner, defaults: Defaults) -> Result<Plan, SpecError> {
        plan::upstream(owner, &self.spec.0, defaults)
    }
    fn run_status(&self) -> Option<&RunStatus> {
        self.status.as_ref()
    }
}

impl Served for ChaosExperiment {
    const KIND: Kind = Kind::Shakedown;
    fn plan(&self, owner: Owner, defaults: Defaults) -> Result<Plan, SpecError> {
        plan::shakedown(owner, &self.spec, defaults)
    }
    fn run_status(&self) -> Option<&RunStatus> {
        self.status.as_ref()
    }
}

fn owner_of<K: Served>(obj: &K) -> Owner {
    let meta = obj.meta();
    Owner {
        kind: K::KIND,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        uid: meta.uid.clone().unwrap_or_default(),
        generation: meta.generation.unwrap_or(1),
        labels: meta
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    }
}

/// Runs the controller of kind `K` until `shutdown` completes.
pub async fn run<K: Served>(
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let resources: Api<K> = Api::all(ctx.client.clone());
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let selector = format!("{}={}", plan::KIND_LABEL, K::KIND.label());
    Controller::new(resources, watcher::Config::default())
        .watches(
            pods,
            watcher::Config::default().labels(&selector),
            |pod: Pod| {
                let annotations = pod.metadata.annotations.as_ref()?;
                let ns = annotations.get(plan::OWNER_NS)?;
                let name = annotations.get(plan::OWNER_NAME)?;
                Some(ObjectRef::<K>::new(name).within(ns))
            },
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                log::debug!("reconcile: {e}");
            }
        })
        .await;
}

fn error_policy<K: Served>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_error(K::KIND);
    log::warn!(
        "{} {}/{}: {error} (retrying in 10 s)",
        K::KIND.label(),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    );
    Action::requeue(Duration::from_secs(10))
}

async fn reconcile<K: Served>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.metrics.reconcile(K::KIND);
    let ns = obj
        .namespace()
        .ok_or_else(|| Error::NoNamespace(obj.name_any()))?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let name = obj.name_any();
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Event::Apply(obj) => apply(&*obj, &ctx).await,
            Event::Cleanup(obj) => cleanup(&*obj, &ctx).await,
        }
    })
    .await;
    match result {
        // A pass queued before the finalizer came off finds the resource gone: done.
        Err(kube::runtime::finalizer::Error::RemoveFinalizer(e)) if api_code(&e) == Some(404) => {
            Ok(Action::await_change())
        }
        other => other.map_err(|e| Error::Finalizer {
            name,
            source: Box::new(e),
        }),
    }
}

fn condition(type_: &str, ok: bool, reason: &str, message: impl Into<String>) -> Condition {
    Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Some(now()),
    }
}

fn now() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

async fn write_status<K: Served>(ctx: &Context, obj: &K, status: &RunStatus) -> Result<(), Error> {
    if obj.run_status() == Some(status) {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .map_err(kube_err(format!(
        "cannot write the status of {}",
        obj.name_any()
    )))?;
    Ok(())
}

/// Keeps conditions' transition times when nothing else changed, so a status that says the
/// same thing is not rewritten on every pass.
fn keep_times(previous: Option<&RunStatus>, status: &mut RunStatus) {
    let Some(previous) = previous else { return };
    for c in &mut status.conditions {
        if let Some(old) = previous.conditions.iter().find(|o| {
            o.type_ == c.type_
                && o.status == c.status
                && o.reason == c.reason
                && o.message == c.message
        }) {
            c.last_transition_time = old.last_transition_time.clone();
        }
    }
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// An API refusal that is the input's fault (403: a namespace the operator may not write;
/// 422/400: an object the apiserver rejects), as a [`Problem`]; other errors stay errors.
fn as_problem(what: &str, e: kube::Error) -> Result<Problem, Error> {
    match (api_code(&e), &e) {
        (Some(403), kube::Error::Api(s)) => Ok(Problem {
            reason: "Forbidden",
            message: format!("{what}: the operator may not do this: {} (grant it in that namespace, or choose another spec.namespace)", s.message),
        }),
        (Some(400 | 422), kube::Error::Api(s)) => Ok(Problem {
            reason: "Rejected",
            message: format!("{what}: the apiserver rejected it: {}", s.message),
        }),
        _ => Err(Error::Kube { action: what.to_string(), source: e }),
    }
}

async fn apply_object<K>(api: &Api<K>, name: &str, object: &Value) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map(|_| ())
}

/// The kill switch, read with the operator's own credentials: on while its ConfigMap
/// exists unless `data.state` says off; unreadable counts as on (as for `chaos run`).
pub async fn kill_switch_on(client: &Client, switch: &Option<(String, String)>) -> Option<String> {
    let (ns, name) = switch.as_ref()?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    match api.get_opt(name).await {
        Ok(None) => None,
        Ok(Some(cm)) => {
            let state = cm.data.as_ref().and_then(|d| d.get("state"));
            match state.map(|s| providers::switch::parse_state(s)) {
                Some(Ok(false)) => None,
                Some(Err(e)) => Some(format!("the kill switch ConfigMap {ns}/{name} cannot be read, so it counts as on: {e}")),
                _ => Some(format!(
                    "the kill switch (ConfigMap {ns}/{name}) is on: no experiment starts while it is (kubectl -n {ns} delete configmap {name} to let them run)"
                )),
            }
        }
        Err(e) => Some(format!(
            "the kill switch ConfigMap {ns}/{name} cannot be read, so it counts as on: {e}"
        )),
    }
}

async fn apply<K: Served>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let previous = obj.run_status();
    let mut status = previous.cloned().unwrap_or_default();
    let generation = obj.meta().generation.unwrap_or(1);
    let outcome = match obj.plan(owner_of(obj), ctx.defaults.clone()) {
        Err(e) => Err(Problem {
            reason: "InvalidSpec",
            message: e.to_string(),
        }),
        Ok(plan) => {
            // Once per generation, not at every re-check.
            if previous.and_then(|s| s.observed_generation) != Some(generation) {
                for field in &plan.unread {
                    log::warn!(
                        "{} {}/{}: {field}",
                        K::KIND.label(),
                        obj.namespace().unwrap_or_default(),
                        obj.name_any()
                    );
                }
            }
            drive(obj, &plan, ctx, &mut status).await?
        }
    };
    status.observed_generation = Some(generation);
    let action = match outcome {
        Ok((ready, action)) => {
            status.conditions = vec![ready];
            action
        }
        Err(problem) => {
            if problem.reason == "KillSwitch" {
                status.phase = Some("Refused".into());
            } else {
                status.phase = Some("Invalid".into());
            }
            status.conditions = vec![condition("Ready", false, problem.reason, problem.message)];
            // The cluster may change (a ConfigMap created, a right granted): look again later.
            Action::requeue(Duration::from_secs(30))
        }
    };
    keep_times(previous, &mut status);
    write_status(ctx, obj, &status).await?;
    Ok(action)
}

type Driven = Result<(Condition, Action), Problem>;

async fn drive<K: Served>(
    _obj: &K,
    plan: &Plan,
    ctx: &Context,
    status: &mut RunStatus,
) -> Result<Driven, Error> {
    let client = &ctx.client;
    let ns = &plan.run_namespace;
    let switch = kill_switch_on(client, &ctx.defaults.kill_switch).await;
    // The run namespace (upstream creates it; an existing one is fine).
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces.get_opt(ns).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let created = serde_json::from_value::<Namespace>(object)
                .map_err(|e| Error::NoNamespace(format!("{ns}: {e}")))?;
            if let Err(e) = namespaces.create(&PostParams::default(), &created).await {
                if api_code(&e) != Some(409) {
                    return as_problem(&format!("creating namespace {ns}"), e).map(Err);
                }
            }
        }
        Err(e) => return as_problem(&format!("reading namespace {ns}"), e).map(Err),
    }
    // ServiceAccount, Roles, RoleBindings.
    for object in plan.rbac_objects() {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let in_ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(ns)
            .to_string();
        let result = match kind.as_str() {
            "ServiceAccount" => {
                apply_object(
                    &Api::<ServiceAccount>::namespaced(client.clone(), &in_ns),
                    &name,
                    &object,
                )
                .await
            }
            "Role" => {
                apply_object(
                    &Api::<Role>::namespaced(client.clone(), &in_ns),
                    &name,
                    &object,
                )
                .await
            }
            _ => {
                apply_object(
                    &Api::<RoleBinding>::namespaced(client.clone(), &in_ns),
                    &name,
                    &object,
                )
                .await
            }
        };
        if let Err(e) = result {
            return as_problem(&format!("applying {kind} {in_ns}/{name}"), e).map(Err);
        }
    }
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    // The env ConfigMap: upstream's shared `chaostoolkit-env` if it exists, else our own.
    let env_cm = match &plan.pod {
        plan::PodPlan::Generated { env_config_map: Some(name), .. } => {
            match config_maps.get_opt(name).await {
                Ok(Some(_)) => Some(name.clone()),
                Ok(None) if name == "chaostoolkit-env" => {
                    let own = plan.env_config_map_name();
                    if let Err(e) = apply_object(&config_maps, &own, &plan.env_config_map()).await {
                        return as_problem(&format!("applying ConfigMap {ns}/{own}"), e).map(Err);
                    }
                    Some(own)
                }
                Ok(None) => {
                    return Ok(Err(Problem {
                        reason: "ConfigMapMissing",
                        message: format!("spec.pod.env.configMapName: the ConfigMap {ns}/{name} does not exist (create it, or remove the field to use chaostoolkit-env)"),
                    }))
                }
                Err(e) => return as_problem(&format!("reading ConfigMap {ns}/{name}"), e).map(Err),
            }
        }
        _ => None,
    };
    // The experiment: it must exist and parse.
    if let plan::PodPlan::Generated {
        experiment: Some(file),
        ..
    } = &plan.pod
    {
        let field = match K::KIND {
            Kind::Upstream => "spec.pod.experiment.configMapName",
            Kind::Shakedown => "spec.experiment.configMapName",
        };
        let cm = match config_maps.get_opt(&file.config_map).await {
            Ok(Some(cm)) => cm,
            Ok(None) => {
                return Ok(Err(Problem {
                    reason: "ConfigMapMissing",
                    message: format!(
                        "{field}: the experiment ConfigMap {ns}/{} does not exist (kubectl -n {ns} create configmap {} --from-file={}=<your experiment>)",
                        file.config_map, file.config_map, file.key
                    ),
                }))
            }
            Err(e) => return as_problem(&format!("reading ConfigMap {ns}/{}", file.config_map), e).map(Err),
        };
        let Some(text) = cm.data.as_ref().and_then(|d| d.get(&file.key)) else {
            return Ok(Err(Problem {
                reason: "ExperimentMissing",
                message: format!("the ConfigMap {ns}/{} has no key '{}' (the experiment file name the runner reads)", file.config_map, file.key),
            }));
        };
        let format =
            experiment::load::format_from_path(&file.key).unwrap_or(experiment::load::Format::Json);
        let origin = format!("ConfigMap {ns}/{} key {}", file.config_map, file.key);
        match experiment::load::parse(text, format, &origin) {
            Err(e) => {
                return Ok(Err(Problem {
                    reason: "ExperimentMalformed",
                    message: e.to_string(),
                }))
            }
            Ok(loaded) if !loaded.value.is_object() => {
                return Ok(Err(Problem {
                    reason: "ExperimentMalformed",
                    message: format!(
                        "{origin}: an experiment is a mapping with a title and a method, not {}",
                        loaded.value
                    ),
                }))
            }
            Ok(_) => {}
        }
    }
    if plan.schedule.is_some() {
        return scheduled(plan, ctx, env_cm.as_deref(), switch, status).await;
    }
    one_shot(plan, ctx, env_cm.as_deref(), switch, status).await
}

async fn scheduled(
    plan: &Plan,
    ctx: &Context,
    env_cm: Option<&str>,
    switch: Option<String>,
    status: &mut RunStatus,
) -> Result<Driven, Error> {
    let ns = &plan.run_namespace;
    let cronjobs: Api<CronJob> = Api::namespaced(ctx.client.clone(), ns);
    let name = plan.cronjob_name();
    // While the kill switch is on the CronJob is suspended: no new run starts.
    if let Some(object) = plan.cronjob(env_cm, switch.is_some()) {
        if let Err(e) = apply_object(&cronjobs, &name, &object).await {
            return as_problem(&format!("applying CronJob {ns}/{name}"), e).map(Err);
        }
    }
    let pods = run_pods(ctx, plan).await?;
    let latest_finished = pods
        .iter()
        .filter(|p| matches!(observe::pod_state(p), PodState::Finished { .. }))
        .max_by_key(|p| {
            p.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        });
    if let Some(pod) = latest_finished {
        if let Err(problem) = observe_pod(plan, ctx, pod, status).await? {
            return Ok(Err(problem));
        }
    }
    prune_journals(plan, ctx).await?;
    status.phase = Some(
        if switch.is_some() {
            "Refused"
        } else {
            "Scheduled"
        }
        .into(),
    );
    Ok(match switch {
        Some(message) => Err(Problem {
            reason: "KillSwitch",
            message: format!("{message}; the CronJob {ns}/{name} is suspended"),
        }),
        None => Ok((
            condition(
                "Ready",
                true,
                "Scheduled",
                format!(
                    "CronJob {ns}/{name} runs '{}'",
                    plan.schedule
                        .as_ref()
                        .map(|s| s.schedule.as_str())
                        .unwrap_or("")
                ),
            ),
            Action::requeue(Duration::from_secs(60)),
        )),
    })
}

async fn run_pods(ctx: &Context, plan: &Plan) -> Result<Vec<Value>, Error> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &plan.run_namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("{}={}", plan::RUN_ID, plan.suffix)))
        .await
        .map_err(kube_err(format!(
            "listing the runner pods in {}",
            plan.run_namespace
        )))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect())
}

async fn one_shot(
    plan: &Plan,
    ctx: &Context,
    env_cm: Option<&str>,
    switch: Option<String>,
    status: &mut RunStatus,
) -> Result<Driven, Error> {
    let ns = &plan.run_namespace;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let name = plan.pod_name();
    let existing = pods
        .get_opt(&name)
        .await
        .map_err(kube_err(format!("reading pod {ns}/{name}")))?;
    let pod = match existing {
        Some(pod) => serde_json::to_value(pod).unwrap_or(Value::Null),
        None if status.pod.as_deref() == Some(name.as_str()) && status.verdict.is_some() => {
            // This generation ran and its pod was removed since: its verdict stands.
            return Ok(Ok((
                condition(
                    "Ready",
                    true,
                    "Finished",
                    format!("the run of generation {} is over", plan.owner.generation),
                ),
                Action::await_change(),
            )));
        }
        None => {
            if let Some(message) = switch {
                return Ok(Err(Problem {
                    reason: "KillSwitch",
                    message,
                }));
            }
            // A new generation: the previous run's pods go (their rollbacks run on SIGTERM).
            for old in run_pods(ctx, plan).await? {
                if let Some(old_name) = old.pointer("/metadata/name").and_then(Value::as_str) {
                    if old_name != name {
                        pods.delete(old_name, &DeleteParams::default())
                            .await
                            .map_err(kube_err(format!("deleting pod {ns}/{old_name}")))?;
                    }
                }
            }
            let object = plan.pod(env_cm);
            let created: Pod = serde_json::from_value(object)
                .map_err(|e| Error::NoNamespace(format!("pod {name}: {e}")))?;
            match pods.create(&PostParams::default(), &created).await {
                Ok(_) => {}
                Err(e) if api_code(&e) == Some(409) => {}
                Err(e) => return as_problem(&format!("creating pod {ns}/{name}"), e).map(Err),
            }
            ctx.metrics.run_started(plan.owner.kind);
            *status = RunStatus {
                phase: Some("Pending".into()),
                pod: Some(name.clone()),
                start_time: Some(now()),
                ..RunStatus::default()
            };
            return Ok(Ok((
                condition(
                    "Ready",
                    true,
                    "Started",
                    format!("runner pod {ns}/{name} created"),
                ),
                Action::requeue(POD_RECHECK),
            )));
        }
    };
    observe_pod(plan, ctx, &pod, status).await
}

/// Reads one runner pod (and, once it ended, its journal) into the status.
async fn observe_pod(
    plan: &Plan,
    ctx: &Context,
    pod: &Value,
    status: &mut RunStatus,
) -> Result<Driven, Error> {
    let ns = &plan.run_namespace;
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if status.pod.as_deref() != Some(name.as_str()) {
        status.verdict = None;
        status.end_time = None;
        status.journal = None;
    }
    status.pod = Some(name.clone());
    match observe::pod_state(pod) {
        PodState::Pending => {
            status.phase = Some("Pending".into());
            Ok(Ok((
                condition(
                    "Ready",
                    true,
                    "Pending",
                    format!("runner pod {ns}/{name} is pending"),
                ),
                Action::requeue(POD_RECHECK),
            )))
        }
        PodState::ImageFailure { reason, message } => {
            let image = pod
                .pointer("/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or("?");
            status.phase = Some("Pending".into());
            Ok(Err(Problem {
                reason: "ImagePullFailed",
                message: format!("runner pod {ns}/{name}: the image '{image}' cannot be pulled ({reason}: {message}); check spec image"),
            }))
        }
        PodState::Running { start } => {
            status.phase = Some("Running".into());
            if start.is_some() {
                status.start_time = start;
            }
            Ok(Ok((
                condition(
                    "Ready",
                    true,
                    "Running",
                    format!("runner pod {ns}/{name} is running"),
                ),
                Action::requeue(POD_RECHECK),
            )))
        }
        PodState::Finished {
            exit_code,
            start,
            end,
        } => {
            if start.is_some() {
                status.start_time = start;
            }
            status.end_time = end
                .or_else(|| status.end_time.clone())
                .or_else(|| Some(now()));
            let journal_name = format!("{name}-journal");
            let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
            let journal = config_maps
                .get_opt(&journal_name)
                .await
                .map_err(kube_err(format!("reading journal {ns}/{journal_name}")))?;
            let from_journal = journal
                .as_ref()
                .and_then(|cm| cm.data.as_ref()?.get(plan::JOURNAL_KEY).cloned())
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            let (verdict, how) = match from_journal.as_ref().and_then(observe::journal_verdict) {
                Some(v) => (v, format!("journal in ConfigMap {ns}/{journal_name}")),
                None => (
                    observe::exit_verdict(exit_code),
                    format!(
                        "no journal in ConfigMap {ns}/{journal_name}: verdict from exit code {}",
                        exit_code.map_or("unknown".to_string(), |c| c.to_string())
                    ),
                ),
            };
            if status.verdict.is_none() {
                ctx.metrics.verdict(plan.owner.kind, verdict);
            }
            status.verdict = Some(verdict.into());
            status.phase = Some(
                if exit_code == Some(0) {
                    "Succeeded"
                } else {
                    "Failed"
                }
                .into(),
            );
            status.journal = from_journal.map(|_| JournalRef {
                namespace: ns.clone(),
                config_map: journal_name,
                key: plan::JOURNAL_KEY.into(),
            });
            prune_journals(plan, ctx).await?;
            let action = if plan.schedule.is_some() {
                Action::requeue(Duration::from_secs(60))
            } else {
                Action::await_change()
            };
            Ok(Ok((
                condition("Ready", true, "Finished", format!("{verdict} ({how})")),
                action,
            )))
        }
    }
}

/// The journals of this resource's runs: ConfigMaps `chaostoolkit-<suffix>-…-journal`.
async fn journals(plan: &Plan, ctx: &Context) -> Result<Vec<(String, String)>, Error> {
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &plan.run_namespace);
    let list = config_maps
        .list_metadata(&ListParams::default().labels(plan::JOURNAL_LABEL))
        .await
        .map_err(kube_err(format!(
            "listing journals in {}",
            plan.run_namespace
        )))?;
    let prefix = format!("chaostoolkit-{}-", plan.suffix);
    Ok(list
        .items
        .into_iter()
        .filter_map(|m| {
            let name = m.metadata.name?;
            let created = m
                .metadata
                .creation_timestamp
                .map(|t| t.0.to_string())
                .unwrap_or_default();
            (name.starts_with(&prefix) && name.ends_with("-journal")).then_some((name, created))
        })
        .collect())
}

async fn prune_journals(plan: &Plan, ctx: &Context) -> Result<(), Error> {
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &plan.run_namespace);
    for name in plan::journals_to_prune(journals(plan, ctx).await?, plan.journal_history) {
        match config_maps.delete(&name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if api_code(&e) == Some(404) => {}
            Err(e) => return Err(kube_err(format!("pruning journal {name}"))(e)),
        }
    }
    Ok(())
}

async fn delete_ignoring_missing<K>(api: Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(api_code(&e), Some(404 | 403)) => Ok(()),
        Err(e) => Err(kube_err(format!("deleting {name}"))(e)),
    }
}

async fn delete_labelled<K>(api: Api<K>, selector: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    match api
        .delete_collection(
            &DeleteParams::background(),
            &ListParams::default().labels(selector),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if matches!(api_code(&e), Some(404 | 403)) => Ok(()),
        Err(e) => Err(kube_err(format!("deleting objects labelled {selector}"))(e)),
    }
}

/// Deletes everything made for `obj` (not the run namespace, as upstream; journals too
/// unless `keep_resources_on_delete`).
async fn cleanup<K: Served>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let plan = match obj.plan(owner_of(obj), ctx.defaults.clone()) {
        Ok(plan) => plan,
        // Nothing was created for a spec that never planned.
        Err(_) => return Ok(Action::await_change()),
    };
    let client = &ctx.client;
    let ns = &plan.run_namespace;
    let selector = format!("{}={}", plan::RUN_ID, plan.suffix);
    delete_labelled(Api::<CronJob>::namespaced(client.clone(), ns), &selector).await?;
    delete_labelled(
        Api::<k8s_openapi::api::batch::v1::Job>::namespaced(client.clone(), ns),
        &selector,
    )
    .await?;
    delete_labelled(Api::<Pod>::namespaced(client.clone(), ns), &selector).await?;
    delete_labelled(Api::<ConfigMap>::namespaced(client.clone(), ns), &selector).await?;
    if !plan.keep_resources_on_delete {
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        // A namespace the operator may not read holds nothing it made.
        let kept = match journals(&plan, ctx).await {
            Err(Error::Kube { source, .. }) if api_code(&source) == Some(403) => Vec::new(),
            other => other?,
        };
        for (name, _) in kept {
            delete_ignoring_missing(config_maps.clone(), &name).await?;
        }
    }
    for object in plan.rbac_objects().into_iter().rev() {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let in_ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(ns)
            .to_string();
        match object["kind"].as_str() {
            Some("ServiceAccount") => {
                delete_ignoring_missing(
                    Api::<ServiceAccount>::namespaced(client.clone(), &in_ns),
                    &name,
                )
                .await?
            }
            Some("Role") => {
                delete_ignoring_missing(Api::<Role>::namespaced(client.clone(), &in_ns), &name)
                    .await?
            }
            _ => {
                delete_ignoring_missing(
                    Api::<RoleBinding>::namespaced(client.clone(), &in_ns),
                    &name,
                )
                .await?
            }
        }
    }
    Ok(Action::await_change())
}
