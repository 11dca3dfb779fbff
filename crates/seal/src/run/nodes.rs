//! `nodeAction` on the cluster's Kubernetes nodes: the nodes matching any `property`
//! criterion (a union, in the API's order), the seal's own node dropped, the filters in
//! order (the same code as the pods'), then each action on every node left.
//!
//! Upstream (`action_nodes.py`, 3.3) matches nodes of its cloud driver's inventory; with
//! `--inventory-kubernetes --no-cloud` (the only inventory Shakedown has) its nodes are
//! stand-ins built from the Kubernetes nodes' IPs, named `local-<ip>`, in availability
//! zone `nope`, state `UNKNOWN`, and `stop`/`start` log an error and do nothing. Here a
//! node's attributes come from the Kubernetes node itself (docs/compatibility.md):
//! `name` its name, `ip` its InternalIP (`extIp` its ExternalIP, else the same), `group`
//! the values of its labels (upstream's Kubernetes inventory groups nodes by label
//! value), `az` its `topology.kubernetes.io/zone` label, `state` `UP` when its Ready
//! condition is True, `DOWN` when False, else `UNKNOWN`. The actions that need a cloud
//! driver or SSH (`start`, `stop`, `execute`) make `autonomous` refuse the policy before
//! it starts ([`crate::command::OUT_OF_SCOPE`]); `wait` is the one that runs.

use std::fmt;

use super::pods::{items, list, matches_values, Candidate, Own};
use super::{Outcome, Runner};
use crate::policy::{NodeAction, NodeActionKind, PropertyName};
use experiment::Value;

const MODULE: &str = "action_nodes";

/// A Kubernetes node as the filters see it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    no: usize,
    id: String,
    pub name: String,
    ip: String,
    ext_ip: String,
    az: String,
    groups: Vec<String>,
    state: &'static str,
}

impl Node {
    fn from_json(no: usize, v: &Value) -> Node {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(String::from);
        let address = |kind: &str| {
            v.pointer("/status/addresses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| a.get("type").and_then(Value::as_str) == Some(kind))
                .and_then(|a| a.get("address").and_then(Value::as_str))
                .map(String::from)
        };
        let ip = address("InternalIP").unwrap_or_else(|| "None".into());
        let mut groups: Vec<String> = v
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(_, v)| v.as_str().map(String::from))
            .collect();
        groups.sort();
        groups.dedup();
        let ready = v
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"))
            .and_then(|c| c.get("status").and_then(Value::as_str));
        Node {
            no,
            id: s("/metadata/uid").unwrap_or_default(),
            name: s("/metadata/name").unwrap_or_default(),
            ext_ip: address("ExternalIP").unwrap_or_else(|| ip.clone()),
            ip,
            az: s("/metadata/labels/topology.kubernetes.io~1zone")
                .or_else(|| s("/metadata/labels/failure-domain.beta.kubernetes.io~1zone"))
                .unwrap_or_else(|| "None".into()),
            groups,
            state: match ready {
                Some("True") => "UP",
                Some("False") => "DOWN",
                _ => "UNKNOWN",
            },
        }
    }
}

impl fmt::Display for Node {
    /// Upstream's `Node.__str__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self.groups.iter().map(|g| format!("'{g}'")).collect();
        write!(
            f,
            "[node no={} id={} ip={} extIp={} az={} groups=[{}] name={} state={}]",
            self.no,
            self.id,
            self.ip,
            self.ext_ip,
            self.az,
            groups.join(", "),
            self.name,
            self.state
        )
    }
}

impl Candidate for Node {
    const KIND: &'static str = "nodes";
    const ATTRIBUTES: &'static str = "name, ip, group, az, state";
    fn attribute(&self, name: PropertyName) -> Option<Vec<String>> {
        Some(match name {
            PropertyName::Name => vec![self.name.clone()],
            PropertyName::Ip => vec![self.ip.clone()],
            PropertyName::Group => self.groups.clone(),
            PropertyName::Az => vec![self.az.clone()],
            PropertyName::State => vec![self.state.to_string()],
        })
    }
    /// Upstream's test (its IP or external IP is `HOST_IP`), and Shakedown's: the node
    /// named `NODE_NAME`.
    fn is_self(&self, own: &Own) -> bool {
        own.host_ip
            .as_deref()
            .is_some_and(|ip| ip == self.ip || ip == self.ext_ip)
            || own.node_name.as_deref() == Some(self.name.as_str())
    }
    fn shown(&self) -> String {
        self.name.clone()
    }
}

impl Runner<'_> {
    pub(crate) async fn node_action(&mut self, step: &NodeAction, raw: &Value) -> Outcome {
        let logger = super::log::logger(MODULE, &self.scenario);
        let initial = match self.match_nodes(step, &logger).await {
            Ok(nodes) => nodes,
            Err(e) => {
                self.log.error(&logger, &e);
                return Outcome::failed(Value::Null, e);
            }
        };
        let (filtered, output) = match self.narrow(initial, &step.filters, raw, &logger) {
            Ok(narrowed) => narrowed,
            Err(done) => return done,
        };
        self.log
            .debug(&logger, format!("Acting on these: {}", list(&filtered)));
        let mut failures = Vec::new();
        for action in &step.actions {
            match action {
                NodeActionKind::Wait(w) => {
                    self.log.info(
                        &logger,
                        format!(
                            "Action sleep for {} seconds",
                            super::pods::py_num(w.seconds)
                        ),
                    );
                    self.sleep(w.seconds).await;
                }
                // Refused before the run starts (`command::autonomous`); reached only
                // through the library without that check.
                NodeActionKind::Start
                | NodeActionKind::Stop { .. }
                | NodeActionKind::Execute { .. } => {
                    let message = "start, stop and execute need a cloud driver or SSH, which Shakedown does not have: out of scope".to_string();
                    self.log.error(&logger, &message);
                    failures.push(message);
                }
            }
        }
        if failures.is_empty() {
            self.log.debug(&logger, "Done");
            Outcome::ok(output)
        } else {
            Outcome::failed(output, failures.join("\n"))
        }
    }

    /// Nodes matching any criterion, de-duplicated, in the API's order.
    async fn match_nodes(&mut self, step: &NodeAction, logger: &str) -> Result<Vec<Node>, String> {
        let kube = self.kube().await?;
        let list = kube
            .get("/api/v1/nodes")
            .await
            .map_err(super::api_error)?
            .map_err(|s| format!("cannot list nodes: ({}) {}", s.code, s.message()))?;
        let mut selected = Vec::new();
        for (no, v) in items(&list).iter().enumerate() {
            let node = Node::from_json(no, v);
            let mut hit = false;
            for criterion in &step.matches {
                let values = node.attribute(criterion.name).unwrap_or_default();
                if matches_values(&values, criterion)? {
                    hit = true;
                }
            }
            if hit {
                self.log.debug(logger, format!("Matching {node}"));
                selected.push(node);
            }
        }
        if selected.is_empty() {
            self.metrics.empty_match("nodes");
        }
        Ok(selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Property;
    use serde_json::json;

    fn kwok(name: &str, zone: &str, ready: &str) -> Value {
        json!({
            "metadata": {"name": name, "uid": format!("uid-{name}"),
                "labels": {"type": "kwok", "topology.kubernetes.io/zone": zone, "kubernetes.io/hostname": name}},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
            }
        })
    }

    #[test]
    fn a_kubernetes_node_as_the_filters_see_it() {
        let n = Node::from_json(3, &kwok("kwok-a1", "zone-a", "True"));
        assert_eq!(
            n.to_string(),
            "[node no=3 id=uid-kwok-a1 ip=10.0.0.7 extIp=10.0.0.7 az=zone-a groups=['kwok', 'kwok-a1', 'zone-a'] name=kwok-a1 state=UP]"
        );
        assert_eq!(Node::from_json(0, &kwok("x", "z", "False")).state, "DOWN");
        assert_eq!(
            Node::from_json(0, &kwok("x", "z", "Unknown")).state,
            "UNKNOWN"
        );
        let p = |name, value: &str, negative| Property {
            name,
            value: value.into(),
            negative,
        };
        let has = |prop: Property| matches_values(&n.attribute(prop.name).unwrap(), &prop).unwrap();
        assert!(has(p(PropertyName::Group, "zone-a", false)));
        assert!(!has(p(PropertyName::Group, "zone-a", true)));
        assert!(has(p(PropertyName::Group, "zone-b", true)));
        assert!(has(p(PropertyName::Az, "ZONE", false)));
        assert!(has(p(PropertyName::State, "up", false)));
        assert!(has(p(PropertyName::Ip, "10\\.0", false)));
        let own = |host_ip: Option<&str>, node: Option<&str>| Own {
            pod_name: None,
            host_ip: host_ip.map(String::from),
            node_name: node.map(String::from),
        };
        assert!(n.is_self(&own(Some("10.0.0.7"), None)));
        assert!(n.is_self(&own(None, Some("kwok-a1"))));
        assert!(!n.is_self(&own(Some("10.0.0.8"), Some("kwok-a2"))));
    }
}
