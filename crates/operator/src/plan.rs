//! From a custom resource to the objects that run it: pure functions, no I/O.
//!
//! Both kinds become one [`Plan`]: where the run goes, which ServiceAccount and Role it
//! gets, the runner pod (or the CronJob around it). [`upstream`] reads a
//! `ChaosToolkitExperiment`'s free-form spec the way `chaostoolkit-incubator/kubernetes-crd`
//! does (same fields, same defaults; `../shared/reference/chaostoolkit-extensions.md` §10),
//! and names every field it cannot use. [`shakedown`] maps the typed `ChaosExperiment`.
//! [`Plan`]'s methods then write the manifests, so the reconcile loop only applies them and
//! tests check them without a cluster.
//!
//! Every object carries the label [`RUN_ID`] (10 hex characters of the resource's uid,
//! like upstream's name suffix) so that deletion finds all of them, plus the resource's
//! kind, namespace and name as annotations so pod events map back to it.

use crate::crd::{ChaosExperimentSpec, ConcurrencyPolicy};
use serde_json::{json, Map, Value};

/// The label every created object carries: the run id ([`suffix`]).
pub const RUN_ID: &str = "shakedown.dev/run-id";
/// The label naming the kind that made the object (`ctk` or `cex`).
pub const KIND_LABEL: &str = "shakedown.dev/kind";
/// Annotations: the resource an object belongs to.
pub const OWNER_NS: &str = "shakedown.dev/owner-namespace";
pub const OWNER_NAME: &str = "shakedown.dev/owner-name";
/// The generation a runner pod was made for.
pub const GENERATION: &str = "shakedown.dev/generation";
/// The ConfigMap key a journal is stored under.
pub const JOURNAL_KEY: &str = "journal.json";
/// The label a journal ConfigMap carries (set by `chaos run --journal-configmap`).
pub const JOURNAL_LABEL: &str = "shakedown.dev/journal";

/// A spec the operator cannot run: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec.{field}: {problem}")]
pub struct SpecError {
    pub field: String,
    pub problem: String,
}

fn bad(field: &str, problem: impl Into<String>) -> SpecError {
    SpecError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Which of the two kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `chaostoolkit.org/v1` `ChaosToolkitExperiment`.
    Upstream,
    /// `shakedown.dev/v1alpha1` `ChaosExperiment`.
    Shakedown,
}

impl Kind {
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Upstream => "ctk",
            Kind::Shakedown => "cex",
        }
    }
}

/// The resource being planned: identity and labels.
#[derive(Debug, Clone)]
pub struct Owner {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub labels: Map<String, Value>,
}

/// What the operator itself adds to every runner.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// The image for `ChaosExperiment`s that name none (the operator's own image).
    pub runner_image: String,
    /// `configmap:NS/NAME`: passed to every runner as `CHAOS_KILL_SWITCH`.
    pub kill_switch: Option<(String, String)>,
}

/// The experiment's place, when mounted as a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentFile {
    pub config_map: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PodPlan {
    /// The generated pod.
    Generated {
        image: String,
        command: String,
        args: Vec<String>,
        env_config_map: Option<String>,
        env_secret: Option<String>,
        settings_secret: Option<String>,
        experiment: Option<ExperimentFile>,
    },
    /// `pod.template`: the user's own Pod manifest.
    Template(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CronPlan {
    pub schedule: String,
    pub concurrency: ConcurrencyPolicy,
    pub successful_history: i32,
    pub failed_history: i32,
}

/// Everything needed to run one resource.
#[derive(Debug, Clone)]
pub struct Plan {
    pub owner: Owner,
    pub suffix: String,
    pub run_namespace: String,
    /// An existing ServiceAccount, or `None` to create `chaostoolkit-<suffix>`.
    pub service_account: Option<String>,
    /// An existing Role, or `None` to create upstream's.
    pub role: Option<String>,
    /// Create the RoleBinding (upstream: unless `role.bind` is set).
    pub bind: bool,
    pub binds_to_namespaces: Vec<String>,
    pub pod: PodPlan,
    pub verbose: bool,
    pub schedule: Option<CronPlan>,
    pub journal_history: u32,
    pub keep_resources_on_delete: bool,
    pub defaults: Defaults,
    /// Fields the resource declares that this operator does not read, each with what to do
    /// instead: the controller says so in a WARNING once per generation.
    pub unread: Vec<String>,
}

/// 10 hex characters of the uid: the name suffix of everything made for one resource
/// (upstream hashes the uid with blake2b; a uid is already random, so its own hex serves).
pub fn suffix(uid: &str) -> String {
    uid.chars()
        .filter(char::is_ascii_hexdigit)
        .take(10)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn get<'a>(spec: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(spec, |v, k| v.get(k))
}

fn string(spec: &Value, path: &[&str]) -> Result<Option<String>, SpecError> {
    match get(spec, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            &path.join("."),
            format!("expected a string, found {other}"),
        )),
    }
}

fn boolean(spec: &Value, path: &[&str], default: bool) -> Result<bool, SpecError> {
    match get(spec, path) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        // kopf hands upstream YAML's strings through; Python's truthiness is the rule there.
        Some(Value::String(s)) => Ok(!s.is_empty()),
        Some(other) => Err(bad(
            &path.join("."),
            format!("expected true or false, found {other}"),
        )),
    }
}

fn dns_label(field: &str, value: &str) -> Result<(), SpecError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(bad(
            field,
            format!("'{value}' is not a valid namespace name (lower-case letters, digits and '-', at most 63)"),
        ))
    }
}

/// Reads a `ChaosToolkitExperiment` spec as upstream does.
pub fn upstream(owner: Owner, spec: &Value, defaults: Defaults) -> Result<Plan, SpecError> {
    if !(spec.is_object() || spec.is_null()) {
        return Err(bad("", format!("the spec must be a mapping, found {spec}")));
    }
    let run_namespace =
        string(spec, &["namespace"])?.unwrap_or_else(|| "chaostoolkit-run".to_string());
    dns_label("namespace", &run_namespace)?;
    let binds_to_namespaces = match get(spec, &["role", "binds_to_namespaces"]) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let field = format!("role.binds_to_namespaces[{i}]");
                let ns = v
                    .as_str()
                    .ok_or_else(|| bad(&field, format!("expected a namespace name, found {v}")))?;
                dns_label(&field, ns)?;
                Ok(ns.to_string())
            })
            .collect::<Result<_, SpecError>>()?,
        Some(other) => {
            return Err(bad(
                "role.binds_to_namespaces",
                format!("expected a list of namespaces, found {other}"),
            ))
        }
    };
    let pod = if let Some(template) = string(spec, &["pod", "template"])? {
        let loaded = experiment::load::parse(
            &template,
            experiment::load::Format::Yaml,
            "spec.pod.template",
        )
        .map_err(|e| bad("pod.template", format!("not a Pod manifest: {e}")))?;
        if loaded
            .value
            .get("spec")
            .and_then(|s| s.get("containers"))
            .is_none()
        {
            return Err(bad(
                "pod.template",
                "not a Pod manifest: it has no spec.containers",
            ));
        }
        PodPlan::Template(loaded.value)
    } else {
        let as_file = boolean(spec, &["pod", "experiment", "asFile"], true)?;
        let experiment = as_file
            .then(|| -> Result<ExperimentFile, SpecError> {
                Ok(ExperimentFile {
                    config_map: string(spec, &["pod", "experiment", "configMapName"])?
                        .unwrap_or_else(|| "chaostoolkit-experiment".into()),
                    key: string(spec, &["pod", "experiment", "configMapExperimentFileName"])?
                        .unwrap_or_else(|| "experiment.json".into()),
                })
            })
            .transpose()?;
        let default_args = if as_file {
            vec!["run".to_string(), "$(EXPERIMENT_PATH)".to_string()]
        } else {
            vec!["run".to_string(), "$(EXPERIMENT_URL)".to_string()]
        };
        let args = match get(spec, &["pod", "chaosArgs"]) {
            None | Some(Value::Null) => default_args,
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(bad(
                        &format!("pod.chaosArgs[{i}]"),
                        format!("expected a string, found {other}"),
                    )),
                })
                .filter(|a| a.as_ref().map_or(true, |s| !s.is_empty()))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(bad(
                    "pod.chaosArgs",
                    format!("expected a list of arguments, found {other}"),
                ))
            }
        };
        let env_enabled = boolean(spec, &["pod", "env", "enabled"], true)?;
        PodPlan::Generated {
            image: string(spec, &["pod", "image"])?
                .unwrap_or_else(|| "chaostoolkit/chaostoolkit".into()),
            command: string(spec, &["pod", "chaosCommandPath"])?.unwrap_or_else(|| "chaos".into()),
            args,
            env_config_map: env_enabled
                .then(|| string(spec, &["pod", "env", "configMapName"]))
                .transpose()?
                .map(|name| name.unwrap_or_else(|| "chaostoolkit-env".into())),
            env_secret: env_enabled
                .then(|| string(spec, &["pod", "env", "secretName"]))
                .transpose()?
                .flatten(),
            settings_secret: boolean(spec, &["pod", "settings", "enabled"], false)?
                .then(|| string(spec, &["pod", "settings", "secretName"]))
                .transpose()?
                .map(|name| name.unwrap_or_else(|| "chaostoolkit-settings".into())),
            experiment,
        }
    };
    let schedule = match string(spec, &["schedule", "kind"])?.as_deref() {
        None => None,
        Some("cronJob") => Some(CronPlan {
            schedule: string(spec, &["schedule", "value"])?.unwrap_or_else(|| "* * * * *".into()),
            concurrency: ConcurrencyPolicy::Forbid,
            successful_history: 3,
            failed_history: 1,
        }),
        Some(other) => {
            return Err(bad(
                "schedule.kind",
                format!("'{other}' is not a schedule kind: use cronJob"),
            ))
        }
    };
    if let Some(cron) = &schedule {
        check_cron(&cron.schedule).map_err(|p| bad("schedule.value", p))?;
    }
    Ok(Plan {
        suffix: suffix(&owner.uid),
        run_namespace,
        service_account: string(spec, &["serviceaccount", "name"])?,
        role: string(spec, &["role", "name"])?,
        bind: get(spec, &["role", "bind"]).is_none_or(Value::is_null),
        binds_to_namespaces,
        pod,
        verbose: boolean(spec, &["verbose"], false)?,
        schedule,
        journal_history: 10,
        keep_resources_on_delete: boolean(spec, &["keep_resources_on_delete"], false)?,
        owner,
        defaults,
        unread: unread_upstream_fields(spec),
    })
}

/// Upstream's fields this operator declares unread (docs/operator.md, "Not read").
fn unread_upstream_fields(spec: &Value) -> Vec<String> {
    match get(spec, &["template", "name"]) {
        None | Some(Value::Null) => Vec::new(),
        Some(name) => vec![format!(
            "spec.template.name ({name}) is not read: the objects are built from upstream's \
             default templates; put a custom Pod in spec.pod.template instead"
        )],
    }
}

/// Maps a `ChaosExperiment` (already checked by the apiserver's schema).
pub fn shakedown(
    owner: Owner,
    spec: &ChaosExperimentSpec,
    defaults: Defaults,
) -> Result<Plan, SpecError> {
    let run_namespace = spec
        .namespace
        .clone()
        .unwrap_or_else(|| owner.namespace.clone());
    dns_label("namespace", &run_namespace)?;
    let mut args = vec!["run".to_string()];
    args.extend(spec.args.iter().cloned());
    args.push("$(EXPERIMENT_PATH)".into());
    let schedule = match &spec.schedule {
        None => None,
        Some(s) => {
            check_cron(&s.cron).map_err(|p| bad("schedule.cron", p))?;
            Some(CronPlan {
                schedule: s.cron.clone(),
                concurrency: s.concurrency_policy,
                successful_history: s.successful_runs_history_limit,
                failed_history: s.failed_runs_history_limit,
            })
        }
    };
    Ok(Plan {
        suffix: suffix(&owner.uid),
        run_namespace,
        service_account: spec.service_account_name.clone(),
        role: None,
        bind: true,
        binds_to_namespaces: Vec::new(),
        pod: PodPlan::Generated {
            image: spec
                .image
                .clone()
                .unwrap_or_else(|| defaults.runner_image.clone()),
            command: "chaos".into(),
            args,
            env_config_map: None,
            env_secret: None,
            settings_secret: spec.settings_secret_name.clone(),
            experiment: Some(ExperimentFile {
                config_map: spec.experiment.config_map_name.clone(),
                key: spec.experiment.key.clone(),
            }),
        },
        verbose: false,
        schedule,
        journal_history: spec.journal_history_limit.max(1),
        keep_resources_on_delete: false,
        owner,
        defaults,
        // The schema (enforced by the apiserver) has no field this operator leaves unread.
        unread: Vec::new(),
    })
}

/// A cheap check of a cron expression, so a typo is a condition on the resource rather
/// than a CronJob the apiserver rejects with a less direct message: five fields of
/// `0-9 * , - /` (or names), or one of the `@` macros the CronJob controller knows.
pub fn check_cron(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    const MACROS: [&str; 7] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if expr.starts_with('@') {
        return if MACROS.contains(&expr) {
            Ok(())
        } else {
            Err(format!(
                "'{expr}' is not a cron macro (use one of {})",
                MACROS.join(", ")
            ))
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "'{expr}' has {} fields; a cron schedule has five (minute hour day-of-month month day-of-week)",
            fields.len()
        ));
    }
    for (field, name) in
        fields
            .iter()
            .zip(["minute", "hour", "day of month", "month", "day of week"])
    {
        if !field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '-' | '/' | '?'))
        {
            return Err(format!(
                "the {name} field '{field}' of '{expr}' is not a cron field"
            ));
        }
    }
    Ok(())
}

impl Plan {
    pub fn service_account_name(&self) -> String {
        self.service_account
            .clone()
            .unwrap_or_else(|| format!("chaostoolkit-{}", self.suffix))
    }

    pub fn role_name(&self) -> String {
        self.role
            .clone()
            .unwrap_or_else(|| format!("chaostoolkit-experiment-{}", self.suffix))
    }

    /// The runner pod of `generation` (one-shot runs) or the CronJob's name.
    pub fn pod_name(&self) -> String {
        format!("chaostoolkit-{}-{}", self.suffix, self.owner.generation)
    }

    pub fn cronjob_name(&self) -> String {
        format!("chaostoolkit-{}", self.suffix)
    }

    pub fn env_config_map_name(&self) -> String {
        format!("chaostoolkit-env-{}", self.suffix)
    }

    /// Labels on everything this plan creates.
    pub fn labels(&self) -> Map<String, Value> {
        let mut labels = Map::new();
        labels.insert(RUN_ID.into(), self.suffix.clone().into());
        labels.insert(KIND_LABEL.into(), self.owner.kind.label().into());
        labels.insert(
            "app.kubernetes.io/managed-by".into(),
            "shakedown-operator".into(),
        );
        labels
    }

    fn meta(&self, name: &str, namespace: Option<&str>) -> Value {
        let mut meta = json!({
            "name": name,
            "labels": self.labels(),
            "annotations": {OWNER_NS: self.owner.namespace, OWNER_NAME: self.owner.name},
        });
        if let Some(ns) = namespace {
            meta["namespace"] = ns.into();
        }
        meta
    }

    /// upstream's default Role rules (the template's), plus `configmaps: patch` so the
    /// runner can keep its journal, and `get` on the kill switch when it is in this namespace.
    fn role_rules(&self, namespace: &str) -> Value {
        let mut rules = json!([
            {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "configmaps"],
             "verbs": ["create", "get", "delete", "list"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"],
             "verbs": ["create", "get", "delete", "list"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
        ]);
        if let (Some((ns, name)), Some(list)) = (&self.defaults.kill_switch, rules.as_array_mut()) {
            if ns == namespace {
                list.push(json!({"apiGroups": [""], "resources": ["configmaps"],
                                 "resourceNames": [name], "verbs": ["get"]}));
            }
        }
        rules
    }

    /// The namespaces Roles are made in: the run namespace, the extra ones, and the kill
    /// switch's (a Role that lets the runner read the switch).
    pub fn role_namespaces(&self) -> Vec<String> {
        let mut list = vec![self.run_namespace.clone()];
        for ns in &self.binds_to_namespaces {
            if !list.contains(ns) {
                list.push(ns.clone());
            }
        }
        if let Some((ns, _)) = &self.defaults.kill_switch {
            if !list.contains(ns) {
                list.push(ns.clone());
            }
        }
        list
    }

    /// The ServiceAccount, Roles and RoleBindings, in the order they are applied.
    pub fn rbac_objects(&self) -> Vec<Value> {
        let mut objects = Vec::new();
        let sa = self.service_account_name();
        if self.service_account.is_none() {
            objects.push(json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": self.meta(&sa, Some(&self.run_namespace)),
            }));
        }
        for ns in self.role_namespaces() {
            let primary = ns == self.run_namespace;
            let role = if primary {
                self.role_name()
            } else {
                format!("chaostoolkit-experiment-{}", self.suffix)
            };
            if !primary || self.role.is_none() {
                let rules = if primary || self.binds_to_namespaces.contains(&ns) {
                    self.role_rules(&ns)
                } else {
                    self.kill_switch_rules()
                };
                objects.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": self.meta(&role, Some(&ns)),
                    "rules": rules,
                }));
            }
            if !primary || self.bind {
                objects.push(json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": self.meta(&format!("chaostoolkit-experiment-{}", self.suffix), Some(&ns)),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                    "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": self.run_namespace}],
                }));
            }
        }
        objects
    }

    fn kill_switch_rules(&self) -> Value {
        match &self.defaults.kill_switch {
            Some((_, name)) => json!([{"apiGroups": [""], "resources": ["configmaps"],
                                       "resourceNames": [name], "verbs": ["get"]}]),
            None => json!([]),
        }
    }

    /// The env ConfigMap upstream creates when `chaostoolkit-env` does not exist.
    pub fn env_config_map(&self) -> Value {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": self.meta(&self.env_config_map_name(), Some(&self.run_namespace)),
            "data": {},
        })
    }

    /// The runner pod spec. `env_config_map` is the name actually used (the shared
    /// `chaostoolkit-env` when it exists, else this run's own).
    pub fn pod_spec(&self, env_config_map: Option<&str>) -> Value {
        let journal_env = json!([
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "CHAOS_JOURNAL_CONFIGMAP",
             "value": format!("{}/$(POD_NAME)-journal", self.run_namespace)},
        ]);
        let mut extra_env: Vec<Value> = journal_env.as_array().cloned().unwrap_or_default();
        if let Some((ns, name)) = &self.defaults.kill_switch {
            extra_env.push(
                json!({"name": "CHAOS_KILL_SWITCH", "value": format!("configmap:{ns}/{name}")}),
            );
        }
        match &self.pod {
            PodPlan::Template(template) => {
                let mut spec = template.get("spec").cloned().unwrap_or_else(|| json!({}));
                if let Some(containers) = spec.get_mut("containers").and_then(Value::as_array_mut) {
                    for c in containers {
                        let env = c
                            .as_object_mut()
                            .map(|o| o.entry("env").or_insert_with(|| json!([])));
                        if let Some(Value::Array(env)) = env {
                            env.extend(extra_env.iter().cloned());
                        }
                    }
                }
                spec["serviceAccountName"] = self.service_account_name().into();
                if spec.get("restartPolicy").is_none() {
                    spec["restartPolicy"] = "Never".into();
                }
                spec
            }
            PodPlan::Generated {
                image,
                command,
                args,
                env_secret,
                settings_secret,
                experiment,
                ..
            } => {
                let mut env = vec![json!({"name": "CHAOSTOOLKIT_IN_POD", "value": "true"})];
                let mut volumes = Vec::new();
                let mut mounts = Vec::new();
                if let Some(file) = experiment {
                    env.push(json!({"name": "EXPERIMENT_PATH", "value": format!("/home/svc/{}", file.key)}));
                    volumes.push(json!({"name": "chaostoolkit-experiment",
                                        "configMap": {"name": file.config_map}}));
                    mounts.push(json!({"name": "chaostoolkit-experiment",
                                       "mountPath": format!("/home/svc/{}", file.key),
                                       "subPath": file.key, "readOnly": true}));
                }
                if let Some(secret) = settings_secret {
                    volumes.push(
                        json!({"name": "chaostoolkit-settings", "secret": {"secretName": secret}}),
                    );
                    mounts.push(json!({"name": "chaostoolkit-settings",
                                       "mountPath": "/home/svc/.chaostoolkit/", "readOnly": true}));
                }
                env.extend(extra_env);
                let mut env_from = Vec::new();
                if let Some(cm) = env_config_map {
                    env_from.push(json!({"configMapRef": {"name": cm}}));
                }
                if let Some(secret) = env_secret {
                    env_from.push(json!({"secretRef": {"name": secret}}));
                }
                let mut full_args: Vec<String> = Vec::new();
                if self.verbose {
                    full_args.push("--verbose".into());
                }
                full_args.extend(args.iter().cloned());
                json!({
                    "restartPolicy": "Never",
                    "serviceAccountName": self.service_account_name(),
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532},
                    "containers": [{
                        "name": "chaostoolkit",
                        "image": image,
                        "command": [command],
                        "args": full_args,
                        "workingDir": "/home/svc",
                        "env": env,
                        "envFrom": env_from,
                        "volumeMounts": mounts,
                        "resources": {"limits": {"cpu": "500m", "memory": "512Mi"},
                                      "requests": {"cpu": "10m", "memory": "16Mi"}},
                    }],
                    "volumes": volumes,
                    "topologySpreadConstraints": [{
                        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": {RUN_ID: self.suffix}},
                    }],
                })
            }
        }
    }

    fn pod_labels(&self) -> Map<String, Value> {
        let mut labels = self.owner.labels.clone();
        labels.extend(self.labels());
        labels
    }

    /// The one-shot runner pod for the resource's current generation.
    pub fn pod(&self, env_config_map: Option<&str>) -> Value {
        let mut meta = self.meta(&self.pod_name(), Some(&self.run_namespace));
        meta["labels"] = Value::Object(self.pod_labels());
        meta["annotations"][GENERATION] = self.owner.generation.to_string().into();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": self.pod_spec(env_config_map)})
    }

    /// The CronJob of a scheduled resource.
    pub fn cronjob(&self, env_config_map: Option<&str>, suspend: bool) -> Option<Value> {
        let cron = self.schedule.as_ref()?;
        let mut pod_meta = json!({"labels": self.pod_labels(),
            "annotations": {OWNER_NS: self.owner.namespace, OWNER_NAME: self.owner.name,
                            GENERATION: self.owner.generation.to_string()}});
        if pod_meta["labels"].is_null() {
            pod_meta["labels"] = json!({});
        }
        Some(json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": self.meta(&self.cronjob_name(), Some(&self.run_namespace)),
            "spec": {
                "schedule": cron.schedule,
                "concurrencyPolicy": cron.concurrency.as_str(),
                "successfulJobsHistoryLimit": cron.successful_history,
                "failedJobsHistoryLimit": cron.failed_history,
                "suspend": suspend,
                "jobTemplate": {
                    "metadata": {"labels": self.labels()},
                    "spec": {
                        "backoffLimit": 0,
                        "template": {"metadata": pod_meta, "spec": self.pod_spec(env_config_map)},
                    },
                },
            },
        }))
    }
}

/// The journals to delete so that at most `limit` remain: `(name, creation time)` pairs,
/// oldest first out.
pub fn journals_to_prune(mut journals: Vec<(String, String)>, limit: u32) -> Vec<String> {
    journals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    journals
        .into_iter()
        .skip(limit as usize)
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests;
