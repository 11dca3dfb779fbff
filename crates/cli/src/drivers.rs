//! The native driver registry the binary ships with.
//!
//! Driver crates register their functions here under their upstream module names; the
//! registry then answers `python` providers, validation and `chaos discover`.

use providers::bridge::Bridge;
use providers::registry::Registry;
use std::sync::Arc;

/// The registry an experiment needs: the native drivers when some provider in it (an
/// activity, a tolerance probe, a dynamic configuration entry, a control) is `python`, an
/// empty one otherwise. Building the driver table costs about 0.7 MiB and some start-up
/// time that process- and HTTP-only experiments never use.
pub fn registry_for(
    experiment: &experiment::Value,
    settings: &experiment::Value,
    bridge: Arc<Bridge>,
) -> Arc<Registry> {
    let mut registry =
        if experiment::provider::uses_python(experiment) || uses_python_settings(settings) {
            native()
        } else {
            Registry::new()
        };
    registry.set_bridge(bridge);
    Arc::new(registry)
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
    registry
}

#[cfg(test)]
mod tests {
    use super::*;
    use experiment::FunctionCatalog;
    use serde_json::json;

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
        let bridge = || Arc::new(Bridge::new(None));
        let none = json!({});
        assert!(registry_for(&k8s, &none, bridge()).module_exists("chaosk8s.pod.actions"));
        assert!(!registry_for(&http_only, &none, bridge()).module_exists("chaosk8s.pod.actions"));
        let plugin = json!({"notifications": [{"type": "plugin", "module": "m"}]});
        assert!(registry_for(&http_only, &plugin, bridge()).module_exists("chaosk8s.pod.actions"));
    }
}
