//! `podAction`: match pods (namespace, deployment, labels: a union), drop the seal's own
//! pod, apply the filters in order (property, dayTime, randomSample, probability), then
//! every action on every pod left (kill, wait, checkPodState, checkPodCount).
//!
//! Upstream's semantics, read from `action_pods.py` / `action_nodes_pods.py` (3.3):
//! an empty match or an empty filter result is a *successful* step, and the actions do
//! not run; every action runs even after one failed, and the step fails if any did; a
//! kill deletes the pod with `gracePeriodSeconds=0` whatever `force` says (upstream's
//! Kubernetes executor ignores the signal `force` chooses), once per pod unless the
//! pod "got lucky" (`probability < random()`). Differences (docs/compatibility.md): the
//! `probability` filter reads its number (upstream crashes on it), an API failure while
//! matching fails the step (upstream logs it and matches nothing, so an unreachable
//! cluster passed silently), the union keeps the API's order (upstream's is a set's), so
//! `--seed` picks the same pods every time.

use std::fmt;

use experiment::pyrepr::py_repr;
use experiment::{Map, Value};
use serde_json::json;

use super::{Outcome, Runner};
use crate::policy::{DayTime, Filter, PodAction, PodActionKind, PodMatch, Property, PropertyName};

/// The logger upstream's pod steps use (`ActionNodesPods`' own).
const MODULE: &str = "action_nodes_pods";

/// A pod as upstream's `Pod` sees it.
#[derive(Debug, Clone)]
pub(crate) struct Pod {
    num: usize,
    pub name: String,
    pub namespace: String,
    uid: String,
    ip: Option<String>,
    host_ip: Option<String>,
    containers: usize,
    pub state: String,
    labels: Map,
    annotations: Map,
}

impl Pod {
    fn from_json(num: usize, v: &Value) -> Pod {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(String::from);
        let map = |p: &str| {
            v.pointer(p)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let statuses = v
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array);
        Pod {
            num,
            name: s("/metadata/name").unwrap_or_default(),
            namespace: s("/metadata/namespace").unwrap_or_default(),
            uid: s("/metadata/uid").unwrap_or_default(),
            ip: s("/status/podIP"),
            host_ip: s("/status/hostIP"),
            containers: statuses.map_or(0, Vec::len),
            state: state_of(v),
            labels: map("/metadata/labels"),
            annotations: map("/metadata/annotations"),
        }
    }
}

impl Pod {
    /// Upstream's `get_label_or_annotation`: the label, else the annotation (a non-empty
    /// string), else `None`.
    pub(crate) fn label_or_annotation(&self, key: &str) -> Option<String> {
        [&self.labels, &self.annotations]
            .iter()
            .find_map(|m| m.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()))
            .map(String::from)
    }
}

/// What the filters and self-protection read of a pod or a node.
pub(crate) trait Candidate: fmt::Display {
    /// `pods` or `nodes`, for messages.
    const KIND: &'static str;
    /// The attribute names a `property` filter may read, for messages.
    const ATTRIBUTES: &'static str;
    /// The values of the attribute a `property` filter reads (several for a node's
    /// groups); `None` when this kind has no such attribute.
    fn attribute(&self, name: PropertyName) -> Option<Vec<String>>;
    /// Whether this is the seal's own pod or node (upstream's `dont_self_destruct`).
    fn is_self(&self, own: &Own) -> bool;
    /// How the journal names it.
    fn shown(&self) -> String;
}

/// Who the seal is, from its environment (the downward API in a pod).
pub(crate) struct Own {
    /// `POD_NAME`, else `HOSTNAME`.
    pub pod_name: Option<String>,
    /// `HOST_IP`: the node's IP.
    pub host_ip: Option<String>,
    /// `NODE_NAME` (Shakedown's: `spec.nodeName` through the downward API).
    pub node_name: Option<String>,
}

impl Own {
    pub(crate) fn from_env() -> Own {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Own {
            pod_name: env("POD_NAME").or_else(|| env("HOSTNAME")),
            host_ip: env("HOST_IP"),
            node_name: env("NODE_NAME"),
        }
    }
}

impl Candidate for Pod {
    const KIND: &'static str = "pods";
    const ATTRIBUTES: &'static str = "name, state, ip";
    fn attribute(&self, name: PropertyName) -> Option<Vec<String>> {
        match name {
            PropertyName::Name => Some(vec![self.name.clone()]),
            PropertyName::State => Some(vec![self.state.clone()]),
            PropertyName::Ip => Some(vec![self.ip.clone().unwrap_or_else(|| "None".into())]),
            PropertyName::Group | PropertyName::Az => None,
        }
    }
    fn is_self(&self, own: &Own) -> bool {
        own.pod_name.as_deref() == Some(self.name.as_str())
            || (own.host_ip.is_some() && self.ip.as_deref() == own.host_ip.as_deref())
    }
    fn shown(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl fmt::Display for Pod {
    /// Upstream's `Pod.__str__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = |m: &Map| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(
            f,
            "[pod #{} name={} namespace={} containers={} ip={} host_ip={} state={} labels:{} annotations:{}]",
            self.num,
            self.name,
            self.namespace,
            self.containers,
            self.ip.as_deref().unwrap_or("None"),
            self.host_ip.as_deref().unwrap_or("None"),
            self.state,
            pairs(&self.labels),
            pairs(&self.annotations),
        )
    }
}

/// Upstream's `get_status`: the containers' waiting reasons joined by commas when every
/// container is waiting with a reason, else the pod's phase.
fn state_of(pod: &Value) -> String {
    let phase = || {
        pod.pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("None")
            .to_string()
    };
    let Some(statuses) = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
    else {
        return phase();
    };
    let reasons: Option<Vec<&str>> = statuses
        .iter()
        .map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str))
        .collect();
    match reasons {
        Some(r) => r.join(","),
        None => phase(),
    }
}

/// Upstream's `dict_to_selector`: `key=value`, or `key!=value` for a value written `!value`.
fn dict_to_selector(labels: &Map) -> String {
    labels
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or_default();
            match v.strip_prefix('!') {
                Some(rest) => format!("{k}!={rest}"),
                None => format!("{k}={v}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Upstream's `match_property` over an attribute's values: any matches, or, with
/// `negative`, none does.
pub(crate) fn matches_values(values: &[String], property: &Property) -> Result<bool, String> {
    let plain = Property {
        negative: false,
        ..property.clone()
    };
    let mut any = false;
    for v in values {
        any |= matches_property(v, &plain)?;
    }
    Ok(any != property.negative)
}

/// A case-insensitive match at the start (Python's `re.match`), `negative` inverting it.
fn matches_property(value: &str, property: &Property) -> Result<bool, String> {
    let pattern = format!("(?i)^(?:{})", property.value);
    let re = fancy_regex::Regex::new(&pattern)
        .map_err(|e| format!("invalid regular expression {:?}: {e}", property.value))?;
    let hit = re
        .is_match(value)
        .map_err(|e| format!("regular expression {:?}: {e}", property.value))?;
    Ok(hit != property.negative)
}

impl Runner<'_> {
    pub(crate) async fn pod_action(&mut self, step: &PodAction, raw: &Value) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        let initial = match self.match_pods(step, raw, &logger).await {
            Ok(pods) => pods,
            Err(e) => {
                self.log.error(&logger, &e);
                return Outcome::failed(Value::Null, e);
            }
        };
        let (filtered, mut output) = match self.narrow(initial, &step.filters, raw, &logger) {
            Ok(narrowed) => narrowed,
            Err(done) => return done,
        };
        let mut failures = Vec::new();
        let mut killed = Vec::new();
        for action in &step.actions {
            if let Err(e) = self.pod_act(action, &filtered, &logger, &mut killed).await {
                failures.push(e);
            }
        }
        output["killed"] = killed.into_iter().map(Value::String).collect();
        if failures.is_empty() {
            self.log.debug(&logger, "Done");
            Outcome::ok(output)
        } else {
            Outcome::failed(output, failures.join("\n"))
        }
    }

    /// The union of the matches, de-duplicated by uid, in the API's order.
    async fn match_pods(
        &mut self,
        step: &PodAction,
        raw: &Value,
        logger: &str,
    ) -> Result<Vec<Pod>, String> {
        let mut seen = std::collections::HashSet::new();
        let mut selected = Vec::new();
        for (i, criterion) in step.matches.iter().enumerate() {
            let raw_criterion = raw.pointer(&format!("/matches/{i}"));
            let (key, found) = match criterion {
                PodMatch::Namespace(ns) => {
                    let pods = self.find_pods(ns, None).await?;
                    ("namespace", pods)
                }
                PodMatch::Deployment { name, namespace } => {
                    let selector = self.deployment_selector(namespace, name).await?;
                    (
                        "deployment",
                        self.find_pods(namespace, Some(&selector)).await?,
                    )
                }
                PodMatch::Labels {
                    selector,
                    namespace,
                } => ("labels", self.find_pods(namespace, Some(selector)).await?),
            };
            if let Some(raw_criterion) = raw_criterion {
                self.log.info(
                    logger,
                    format!(
                        "Matching '{key}' {}",
                        py_repr(raw_criterion.get(key).unwrap_or(&Value::Null))
                    ),
                );
            }
            match criterion {
                PodMatch::Namespace(ns) => self.log.info(
                    logger,
                    format!("Matched {} pods in namespace {ns}", found.len()),
                ),
                PodMatch::Deployment { name, namespace } => self.log.info(
                    logger,
                    format!(
                        "Matched {} pods for deploy {name} in namespace {namespace}",
                        found.len()
                    ),
                ),
                PodMatch::Labels {
                    selector,
                    namespace,
                } => self.log.info(
                    logger,
                    format!(
                        "Matched {} pods for selector {selector} in namespace {namespace}",
                        found.len()
                    ),
                ),
            }
            for pod in found {
                let key = if pod.uid.is_empty() {
                    format!("{}/{}", pod.namespace, pod.name)
                } else {
                    pod.uid.clone()
                };
                if seen.insert(key) {
                    selected.push(pod);
                }
            }
        }
        if selected.is_empty() {
            self.metrics.empty_match("pods");
        }
        Ok(selected)
    }

    async fn deployment_selector(&mut self, ns: &str, name: &str) -> Result<String, String> {
        let kube = self.kube().await?;
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        match kube.get(&path).await.map_err(super::api_error)? {
            Ok(d) => Ok(dict_to_selector(
                d.pointer("/spec/selector/matchLabels")
                    .and_then(Value::as_object)
                    .unwrap_or(&Map::new()),
            )),
            Err(status) => Err(format!(
                "cannot read deployment '{name}' in namespace '{ns}': ({}) {}",
                status.code,
                status.message()
            )),
        }
    }

    /// Upstream's `preprocess_namespace` then one list per namespace: `*` is every
    /// namespace, a name with `*` a regular expression searched in the namespaces' names,
    /// commas separate several.
    pub(crate) async fn find_pods(
        &mut self,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Vec<Pod>, String> {
        let kube = self.kube().await?;
        let mut namespaces: Vec<Option<String>> = if namespace == "*" {
            vec![None]
        } else if namespace.contains('*') {
            let re = fancy_regex::Regex::new(&format!("(?i){namespace}"))
                .map_err(|e| format!("namespace pattern {namespace:?}: {e}"))?;
            let list = kube
                .get("/api/v1/namespaces")
                .await
                .map_err(super::api_error)?
                .map_err(|s| format!("cannot list namespaces: ({}) {}", s.code, s.message()))?;
            items(&list)
                .iter()
                .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
                .filter(|n| re.is_match(n).unwrap_or(false))
                .map(|n| Some(n.to_string()))
                .collect()
        } else {
            namespace.split(',').map(|n| Some(n.to_string())).collect()
        };
        namespaces.sort();
        namespaces.dedup();
        let mut raw = Vec::new();
        for ns in namespaces {
            let base = match &ns {
                Some(ns) => format!("/api/v1/namespaces/{ns}/pods"),
                None => "/api/v1/pods".to_string(),
            };
            let url = drivers_k8s::api::query(&base, &[("labelSelector", selector)]);
            let list = kube
                .get(&url)
                .await
                .map_err(super::api_error)?
                .map_err(|s| {
                    format!(
                        "cannot list pods in namespace '{}': ({}) {}",
                        ns.as_deref().unwrap_or("*"),
                        s.code,
                        s.message()
                    )
                })?;
            raw.extend(items(&list).iter().cloned());
        }
        Ok(raw
            .iter()
            .enumerate()
            .map(|(i, p)| Pod::from_json(i, p))
            .collect())
    }

    /// Upstream's `ActionNodesPods.execute` up to the actions (pods and nodes alike): logs
    /// the initial set, filters it, logs what is left. `Err` ends the step with that
    /// outcome (an empty set is a success, as upstream); `Ok` is what to act on and the
    /// output so far (`matched`, `filtered`).
    pub(crate) fn narrow<T: Candidate>(
        &mut self,
        initial: Vec<T>,
        filters: &[Filter],
        raw: &Value,
        logger: &str,
    ) -> Result<(Vec<T>, Value), Outcome> {
        let names = |items: &[T]| -> Value { items.iter().map(|i| json!(i.shown())).collect() };
        self.log
            .debug(logger, format!("Initial set: {}", list(&initial)));
        self.log
            .info(logger, format!("Initial set length: {}", initial.len()));
        let mut output = json!({"matched": names(&initial)});
        if initial.is_empty() {
            self.metrics.empty_filter();
            return Err(Outcome::ok(output));
        }
        let filtered = match self.filter_items(initial, filters, raw, logger) {
            Ok(items) => items,
            Err(e) => {
                self.log.error(logger, &e);
                return Err(Outcome::failed(output, e));
            }
        };
        self.log
            .debug(logger, format!("Filtered set: {}", list(&filtered)));
        self.log
            .info(logger, format!("Filtered set length: {}", filtered.len()));
        output["filtered"] = names(&filtered);
        if filtered.is_empty() {
            return Err(Outcome::ok(output));
        }
        Ok((filtered, output))
    }

    /// Self-protection, then the filters in order (pods and nodes alike).
    pub(crate) fn filter_items<T: Candidate>(
        &mut self,
        pods: Vec<T>,
        filters: &[Filter],
        raw: &Value,
        logger: &str,
    ) -> Result<Vec<T>, String> {
        let mut pods = self.dont_self_destruct(pods, logger);
        for (i, filter) in filters.iter().enumerate() {
            let before = pods.len();
            let (kind, kept) = match filter {
                Filter::Property(p) => {
                    let mut kept = Vec::new();
                    for pod in pods {
                        let values = pod.attribute(p.name).ok_or_else(|| {
                            format!(
                                "filters[{i}].property: {kind} have no attribute '{}' ({kind}: {})",
                                property_name(p.name),
                                T::ATTRIBUTES,
                                kind = T::KIND,
                            )
                        })?;
                        if matches_values(&values, p)? {
                            kept.push(pod);
                        }
                    }
                    ("property", kept)
                }
                Filter::DayTime(d) => ("dayTime", self.day_time(pods, d, logger)),
                Filter::RandomSample { size, ratio } => (
                    "randomSample",
                    self.random_sample(pods, *size, *ratio, logger),
                ),
                Filter::Probability(p) => {
                    let kept = if self.rng.f64() > *p {
                        self.metrics.probability_filter_passed_none();
                        Vec::new()
                    } else {
                        pods
                    };
                    ("probability", kept)
                }
            };
            pods = kept;
            self.log.debug(
                logger,
                format!("Filter {kind}: {before} -> {} items", pods.len()),
            );
            if pods.is_empty() {
                let criterion = raw
                    .pointer(&format!("/filters/{i}"))
                    .map(py_repr)
                    .unwrap_or_default();
                self.log
                    .info(logger, format!("Empty set after {criterion}"));
                break;
            }
        }
        if pods.is_empty() {
            self.metrics.empty_filter();
        }
        Ok(pods)
    }

    /// Never its own pod or node: the pod named `POD_NAME` (else `HOSTNAME`), or whose
    /// IP is `HOST_IP`, as upstream's `dont_self_destruct`; the node whose IP is
    /// `HOST_IP` or named `NODE_NAME`.
    fn dont_self_destruct<T: Candidate>(&self, pods: Vec<T>, logger: &str) -> Vec<T> {
        let own = Own::from_env();
        let (spared, kept): (Vec<T>, Vec<T>) = pods.into_iter().partition(|p| p.is_self(&own));
        if !spared.is_empty() {
            self.log.warning(
                logger,
                format!(
                    "Self-destruction prevention. Filtering out: {}",
                    list(&spared)
                ),
            );
        }
        kept
    }

    fn day_time<T>(&self, pods: Vec<T>, d: &DayTime, logger: &str) -> Vec<T> {
        let now = time::OffsetDateTime::now_utc().to_offset(self.local_offset);
        self.log.debug(logger, format!("Now is {now}"));
        let day = weekday_name(now.weekday());
        if !d.only_days.is_empty()
            && !d
                .only_days
                .iter()
                .any(|w| super::weekday_of(*w) == now.weekday())
        {
            self.log.info(logger, format!("Not allowed on {day}"));
            return Vec::new();
        }
        let t = (now.hour(), now.minute(), now.second());
        if t < (d.start.hour, d.start.minute, d.start.second) {
            self.log.info(logger, "Too early");
            return Vec::new();
        }
        if t > (d.end.hour, d.end.minute, d.end.second) {
            self.log.info(logger, "Too late");
            return Vec::new();
        }
        pods
    }

    fn random_sample<T>(
        &mut self,
        mut pods: Vec<T>,
        size: Option<u64>,
        ratio: Option<f64>,
        logger: &str,
    ) -> Vec<T> {
        let size = match size {
            Some(s) => usize::try_from(s).unwrap_or(usize::MAX),
            None => (pods.len() as f64 * ratio.unwrap_or(1.0)).floor() as usize,
        };
        if size == 0 {
            self.log.debug(logger, "RandomSample size 0");
            return Vec::new();
        }
        if size >= pods.len() {
            return pods;
        }
        // A partial Fisher-Yates shuffle picks `size` indices; the pods keep their order.
        let mut indices: Vec<usize> = (0..pods.len()).collect();
        for i in 0..size {
            let j = self.rng.usize(i..indices.len());
            indices.swap(i, j);
        }
        let mut chosen: Vec<usize> = indices[..size].to_vec();
        chosen.sort_unstable();
        let mut keep = vec![false; pods.len()];
        for i in chosen {
            keep[i] = true;
        }
        let mut flags = keep.into_iter();
        pods.retain(|_| flags.next().unwrap_or(false));
        pods
    }

    async fn pod_act(
        &mut self,
        action: &PodActionKind,
        pods: &[Pod],
        logger: &str,
        killed: &mut Vec<String>,
    ) -> Result<(), String> {
        match action {
            PodActionKind::Kill { probability, .. } => {
                let mut errors = Vec::new();
                for pod in pods {
                    if *probability < self.rng.f64() {
                        self.log.info(logger, "Pod got lucky - not killing");
                        continue;
                    }
                    match self.delete_pod(pod).await {
                        Ok(()) => {
                            self.metrics.pod_killed(pod, true);
                            self.log.info(logger, format!("Pod killed: {pod}"));
                            killed.push(format!("{}/{}", pod.namespace, pod.name));
                        }
                        Err(e) => {
                            self.metrics.pod_killed(pod, false);
                            self.log
                                .error(logger, format!("Exception while killing pod: {e}"));
                            self.log.error(logger, format!("Pod NOT killed: {pod}"));
                            errors.push(format!(
                                "pod {}/{} not killed: {e}",
                                pod.namespace, pod.name
                            ));
                        }
                    }
                }
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors.join("\n"))
                }
            }
            PodActionKind::Wait(w) => {
                self.log.info(
                    logger,
                    format!("Action sleep for {} seconds", py_num(w.seconds)),
                );
                self.sleep(w.seconds).await;
                Ok(())
            }
            PodActionKind::CheckPodCount { count } => {
                let count = count.trunc() as i64;
                if pods.len() as i64 != count {
                    let message = format!("Expected {count} pods, got {}", pods.len());
                    self.log.error(logger, &message);
                    return Err(message);
                }
                Ok(())
            }
            PodActionKind::CheckPodState { state } => {
                let property = Property {
                    name: PropertyName::State,
                    value: state.clone(),
                    negative: false,
                };
                let mut errors = Vec::new();
                for pod in pods {
                    if !matches_property(&pod.state, &property)? {
                        let message = format!(
                            "Expected pod in state '{state}', got '{}' ({pod})",
                            pod.state
                        );
                        self.log.error(logger, &message);
                        errors.push(message);
                    }
                }
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors.join("\n"))
                }
            }
            PodActionKind::StopHost { .. } => {
                let message = "stopHost needs a cloud driver (OpenStack, AWS, Azure, GCP), which Shakedown does not have: out of scope".to_string();
                self.log.error(logger, &message);
                Err(message)
            }
        }
    }

    /// Upstream's Kubernetes executor: DELETE with `gracePeriodSeconds=0`.
    pub(crate) async fn delete_pod(&mut self, pod: &Pod) -> Result<(), String> {
        let kube = self.kube().await?;
        let path = format!(
            "/api/v1/namespaces/{}/pods/{}?gracePeriodSeconds=0",
            pod.namespace, pod.name
        );
        match kube.delete(&path, None).await.map_err(super::api_error)? {
            Ok(_) => Ok(()),
            Err(s) => Err(format!("({}) {}", s.code, s.message())),
        }
    }
}

pub(crate) fn items(list: &Value) -> &[Value] {
    list.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn list<T: fmt::Display>(pods: &[T]) -> String {
    let shown: Vec<String> = pods.iter().map(ToString::to_string).collect();
    format!("[{}]", shown.join(", "))
}

pub(crate) fn property_name(p: PropertyName) -> &'static str {
    match p {
        PropertyName::Name => "name",
        PropertyName::State => "state",
        PropertyName::Ip => "ip",
        PropertyName::Group => "group",
        PropertyName::Az => "az",
    }
}

fn weekday_name(w: time::Weekday) -> &'static str {
    match w {
        time::Weekday::Monday => "monday",
        time::Weekday::Tuesday => "tuesday",
        time::Weekday::Wednesday => "wednesday",
        time::Weekday::Thursday => "thursday",
        time::Weekday::Friday => "friday",
        time::Weekday::Saturday => "saturday",
        time::Weekday::Sunday => "sunday",
    }
}

/// A number as Python prints a YAML number: `5` for an integer, `0.5` otherwise.
pub(crate) fn py_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        experiment::pyrepr::py_float(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_the_waiting_reasons_or_the_phase() {
        let waiting = json!({"status": {"phase": "Pending", "containerStatuses": [
            {"state": {"waiting": {"reason": "ErrImagePull"}}},
            {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(state_of(&waiting), "ErrImagePull,CrashLoopBackOff");
        let running = json!({"status": {"phase": "Running", "containerStatuses": [
            {"state": {"running": {}}}]}});
        assert_eq!(state_of(&running), "Running");
        assert_eq!(
            state_of(&json!({"status": {"phase": "Pending"}})),
            "Pending"
        );
        assert_eq!(state_of(&json!({})), "None");
    }

    #[test]
    fn selectors_follow_upstreams_bang_notation() {
        let m = json!({"app": "web", "tier": "!db"});
        assert_eq!(dict_to_selector(m.as_object().unwrap()), "app=web,tier!=db");
    }

    #[test]
    fn property_matches_at_the_start_ignoring_case_and_can_be_negated() {
        let p = |value: &str, negative| Property {
            name: PropertyName::Name,
            value: value.into(),
            negative,
        };
        assert!(matches_property("Web-1", &p("web", false)).unwrap());
        assert!(!matches_property("my-web", &p("web", false)).unwrap());
        assert!(matches_property("my-web", &p("web", true)).unwrap());
        assert!(matches_property("running", &p("Running|Pending", false)).unwrap());
    }
}
