//! What validation learns from the bridge: which non-native modules import, which
//! functions they expose, and their signatures, asked once per `module.func` before the
//! (synchronous) validation walks the experiment.

use super::{Bridge, BridgeError, RemoteKind};
use crate::registry::{forced_to_python, Registry};
use experiment::provider::{providers, ProviderKind};
use experiment::{FunctionCatalog, FunctionLookup, Map, Param, Signature, Value};
use std::collections::{BTreeSet, HashMap};

/// The native registry first, then what the bridge answered for the other modules.
pub struct BridgedCatalog<'a> {
    native: &'a Registry,
    functions: HashMap<(String, String), FunctionLookup>,
    modules: HashMap<String, bool>,
    unavailable: Option<String>,
}

impl<'a> BridgedCatalog<'a> {
    /// Asks `bridge` about every `python` provider and control in `experiment` that no
    /// native driver answers. Without a bridge, or when no interpreter starts, those
    /// modules are unknown and [`BridgedCatalog::unavailable`] says why.
    pub async fn resolve(
        native: &'a Registry,
        bridge: Option<&Bridge>,
        experiment: &Value,
    ) -> Self {
        let mut catalog = Self {
            native,
            functions: HashMap::new(),
            modules: HashMap::new(),
            unavailable: None,
        };
        let wanted: Vec<_> = python_references(experiment)
            .into_iter()
            .filter(|(module, _)| !native.module_exists(module) || forced_to_python(module))
            .collect();
        let Some(bridge) = bridge else {
            return catalog;
        };
        for (module, func) in wanted {
            if catalog.unavailable.is_some() {
                break;
            }
            let mut body = Map::new();
            body.insert("module".into(), Value::String(module.clone()));
            body.insert("func".into(), Value::String(func.clone()));
            match bridge.request("lookup", body, false).await {
                Ok(answer) => {
                    let lookup = parse_lookup(&answer);
                    catalog
                        .modules
                        .insert(module.clone(), lookup != FunctionLookup::ModuleNotFound);
                    catalog.functions.insert((module, func), lookup);
                }
                Err(e @ BridgeError::NoInterpreter { .. }) => {
                    catalog.unavailable = Some(e.to_string());
                }
                Err(BridgeError::Remote(r)) if r.kind == RemoteKind::ModuleNotFound => {
                    catalog.modules.insert(module, false);
                }
                Err(e) => {
                    log::debug!("the Python bridge could not look up '{module}.{func}': {e}");
                    catalog.unavailable = Some(e.to_string());
                }
            }
        }
        catalog
    }

    /// Why non-native modules could not be looked up, if they could not.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }
}

impl FunctionCatalog for BridgedCatalog<'_> {
    fn lookup(&self, module: &str, func: &str) -> FunctionLookup {
        if self.native.module_exists(module) && !forced_to_python(module) {
            return self.native.lookup(module, func);
        }
        let bridged = self
            .functions
            .get(&(module.to_string(), func.to_string()))
            .cloned()
            .unwrap_or(FunctionLookup::ModuleNotFound);
        // A fallback answers for a module Python does not have (or without Python).
        match bridged {
            FunctionLookup::ModuleNotFound if !forced_to_python(module) => {
                self.native.fallback_lookup(module, func)
            }
            other => other,
        }
    }

    fn module_exists(&self, module: &str) -> bool {
        match self.modules.get(module) {
            Some(true) => true,
            Some(false) => self.native.has_fallback_module(module) && !forced_to_python(module),
            None => self.native.module_exists(module) || self.native.has_fallback_module(module),
        }
    }

    fn check_arguments(
        &self,
        module: &str,
        func: &str,
        arguments: &Map,
    ) -> Result<(), (String, String)> {
        // Only for what runs natively: a Python module of that name checks its own.
        if self.modules.get(module) == Some(&true) {
            return Ok(());
        }
        self.native.check_native_arguments(module, func, arguments)
    }

    fn validate_control(
        &self,
        module: &str,
        control: &Value,
    ) -> Result<(), experiment::validate::ValidationError> {
        self.native.validate_native_control(module, control, self)
    }
}

fn parse_lookup(answer: &Value) -> FunctionLookup {
    match answer.get("found").and_then(Value::as_str) {
        Some("function") => {
            let signature = answer.get("signature");
            let params = signature
                .and_then(|s| s.get("params"))
                .and_then(Value::as_array)
                .map(|params| {
                    params
                        .iter()
                        .filter_map(|p| {
                            Some(Param {
                                name: p.get("name")?.as_str()?.to_string(),
                                default: p.get("default").cloned(),
                                type_name: None,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let var_keyword = signature
                .and_then(|s| s.get("var_keyword"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            FunctionLookup::Found(Signature {
                params,
                var_keyword,
            })
        }
        Some("no-function") => FunctionLookup::FunctionNotFound,
        _ => FunctionLookup::ModuleNotFound,
    }
}

/// Every `python` provider's `(module, func)` in a document (activities, tolerance probes,
/// dynamic configuration, controls; a control's `func` is empty), each once, in order.
pub fn python_references(document: &Value) -> Vec<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (kind, provider) in providers(document) {
        if kind != Some(ProviderKind::Python) {
            continue;
        }
        let Some(module) = provider.get("module").and_then(Value::as_str) else {
            continue;
        };
        let func = provider.get("func").and_then(Value::as_str).unwrap_or("");
        if !module.is_empty() && seen.insert((module.to_string(), func.to_string())) {
            out.push((module.to_string(), func.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_cover_activities_tolerances_and_controls_once() {
        let doc = json!({
            "controls": [{"name": "c", "provider": {"type": "python", "module": "ctl"}}],
            "steady-state-hypothesis": {"probes": [{"provider": {"type": "python", "module": "m", "func": "f"},
                "tolerance": {"type": "probe", "provider": {"type": "python", "module": "t", "func": "g"}}}]},
            "method": [{"provider": {"type": "python", "module": "m", "func": "f"}},
                       {"provider": {"type": "process", "path": "true"}}]
        });
        assert_eq!(
            python_references(&doc),
            [("ctl", ""), ("m", "f"), ("t", "g")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn lookup_answers_parse_into_signatures() {
        let answer = json!({"found": "function", "signature": {"params": [{"name": "a"}, {"name": "b", "default": 3}], "var_keyword": true}});
        let FunctionLookup::Found(sig) = parse_lookup(&answer) else {
            panic!("not found")
        };
        assert_eq!(sig.params.len(), 2);
        assert_eq!(sig.params[0].default, None);
        assert_eq!(sig.params[1].default, Some(json!(3)));
        assert!(sig.var_keyword);
        assert_eq!(
            parse_lookup(&json!({"found": "no-function"})),
            FunctionLookup::FunctionNotFound
        );
        assert_eq!(
            parse_lookup(&json!({"found": "no-module"})),
            FunctionLookup::ModuleNotFound
        );
    }
}
