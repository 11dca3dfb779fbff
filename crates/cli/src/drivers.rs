//! The native driver registry the binary ships with.
//!
//! Driver crates register their functions here under their upstream module names; the
//! registry then answers `python` providers, validation and `chaos discover`.

use providers::bridge::Bridge;
use providers::registry::Registry;
use std::sync::{Arc, OnceLock};

/// The registries one command needs, each built at most once: the native drivers when
/// some provider in the document (an activity, a tolerance probe, a dynamic configuration
/// entry, a control) or in the settings (global controls, `plugin` channels) is `python`,
/// an empty registry otherwise; both wired to the command's Python bridge. Building the
/// driver table costs about 0.7 MiB and some start-up time that process- and HTTP-only
/// experiments never use, and the loader hooks, the notifications and the run share one.
pub struct Registries {
    settings_use_python: bool,
    bridge: Arc<Bridge>,
    native: OnceLock<Arc<Registry>>,
    empty: OnceLock<Arc<Registry>>,
}

impl Registries {
    pub fn new(settings: &experiment::Value, bridge: Arc<Bridge>) -> Self {
        Self {
            settings_use_python: uses_python_settings(settings),
            bridge,
            native: OnceLock::new(),
            empty: OnceLock::new(),
        }
    }

    /// The registry `document` (the experiment, or `Null` for the settings alone) needs.
    pub fn for_document(&self, document: &experiment::Value) -> Arc<Registry> {
        let wired = |mut registry: Registry| {
            registry.set_bridge(self.bridge.clone());
            Arc::new(registry)
        };
        if self.settings_use_python || experiment::provider::uses_python(document) {
            self.native.get_or_init(|| wired(native())).clone()
        } else {
            self.empty.get_or_init(|| wired(Registry::new())).clone()
        }
    }
}

/// The registry a run's guardian plays the rollbacks of `experiment` with, bridged to the
/// run's Python interpreter.
pub fn for_guardian(experiment: &experiment::Value, python: &str) -> Arc<Registry> {
    let bridge = Arc::new(Bridge::new(Some(python.into())));
    Registries::new(&experiment::Value::Null, bridge).for_document(experiment)
}

/// The source of a kill switch the engine does not know itself (a ConfigMap).
pub fn switch_source(
    spec: &engine::kill_switch::Spec,
) -> Option<Arc<dyn providers::switch::SwitchSource>> {
    match spec {
        engine::kill_switch::Spec::ConfigMap { namespace, name } => Some(Arc::new(
            drivers_k8s::switch::ConfigMapSwitch::new(namespace, name),
        )),
        _ => engine::kill_switch::builtin_source(spec),
    }
}

/// Global controls and `plugin` notification channels are answered by the registry too.
fn uses_python_settings(settings: &experiment::Value) -> bool {
    let plugin = |channel: &experiment::Value| {
        channel.get("type").and_then(|t| t.as_str()) == Some("plugin")
    };
    settings
        .get("controls")
        .and_then(|c| c.as_object())
        .is_some_and(|c| !c.is_empty())
        || settings
            .get("notifications")
            .and_then(|n| n.as_array())
            .is_some_and(|n| n.iter().any(plugin))
}

/// Every native driver.
pub fn registry() -> Arc<Registry> {
    Arc::new(native())
}

/// Every native driver, in a registry the caller may still wire (a bridge).
pub fn native() -> Registry {
    let mut registry = Registry::new();
    drivers_builtin::register(&mut registry);
    drivers_toxiproxy::register(&mut registry);
    drivers_k8s::register(&mut registry);
    drivers_addons::register(&mut registry);
    drivers_slack::register(&mut registry);
    drivers_prometheus::register(&mut registry);
    drivers_gremlin::register(&mut registry);
    drivers_tracing::register(&mut registry);
    drivers_load::register(&mut registry);
    drivers_istio::register(&mut registry);
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use experiment::FunctionCatalog;
    use serde_json::{json, Value};

    #[test]
    fn drivers_are_loaded_only_for_python_providers() {
        let http_only = json!({"method": [{"provider": {"type": "http", "url": "x"}}]});
        assert!(!experiment::provider::uses_python(&http_only));
        let tolerance_probe = json!({"steady-state-hypothesis": {"probes": [
            {"tolerance": {"type": "probe", "provider": {"type": "python", "module": "m", "func": "f"}}}
        ]}});
        assert!(experiment::provider::uses_python(&tolerance_probe));
        let control =
            json!({"controls": [{"name": "c", "provider": {"type": "python", "module": "m"}}]});
        assert!(experiment::provider::uses_python(&control));
        let k8s =
            json!({"method": [{"provider": {"type": "python", "module": "chaosk8s.pod.actions"}}]});
        let for_settings =
            |settings: Value| Registries::new(&settings, Arc::new(Bridge::new(None)));
        let plain = for_settings(json!({}));
        assert!(plain
            .for_document(&k8s)
            .module_exists("chaosk8s.pod.actions"));
        assert!(!plain
            .for_document(&http_only)
            .module_exists("chaosk8s.pod.actions"));
        let plugin = for_settings(json!({"notifications": [{"type": "plugin", "module": "m"}]}));
        assert!(plugin
            .for_document(&http_only)
            .module_exists("chaosk8s.pod.actions"));
        // Built once per command: the loader, the notifications and the run share it.
        assert!(Arc::ptr_eq(
            &plugin.for_document(&Value::Null),
            &plugin.for_document(&k8s)
        ));
        assert!(Arc::ptr_eq(
            &plain.for_document(&Value::Null),
            &plain.for_document(&http_only)
        ));
    }
}
