//! `chaos discover PACKAGE`: lists a package's native activities in the reference's
//! `discovery.json` shape. Nothing is installed: Shakedown's drivers are built in.

use crate::args::DiscoverArgs;
use engine::journal::{hostname, Timestamp};
use engine::notifications::{notify, Phase};
use experiment::{Map, Value};
use providers::bridge::Bridge;
use providers::registry::{Kind, Registry};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

pub fn discover(args: DiscoverArgs, settings_path: PathBuf, bridge: Arc<Bridge>) -> u8 {
    let settings = engine::settings::load(&settings_path);
    let Ok(rt) = super::runtime() else { return 1 };
    rt.block_on(async {
        let package_name = Value::String(args.package.clone());
        let mut registry = crate::drivers::native();
        registry.set_bridge(bridge);
        notify(
            &settings,
            &registry,
            Phase::Discovery,
            "discovery-started",
            &package_name,
            None,
        )
        .await;
        let native = discovery(&registry, &args.package, !args.no_system_info);
        if native.is_some() {
            // What every extension's own `discover()` logs first.
            log::info!("Discovering capabilities from {}", args.package);
        }
        let bridged = match native {
            Some(_) => None,
            None => bridged_discovery(&registry, &args.package, !args.no_system_info).await,
        };
        let Some(discovery) = native.or(bridged) else {
            let known: Vec<&str> = registry.packages().iter().map(|p| p.name).collect();
            let hint = if known.is_empty() {
                "this build has no native drivers".to_string()
            } else {
                format!("native packages: {}", known.join(", "))
            };
            engine::critical!("Package {} not found ({hint})", args.package);
            notify(
                &settings,
                &registry,
                Phase::Discovery,
                "discovery-failed",
                &package_name,
                Some("not found"),
            )
            .await;
            // The reference exits 0 when discovery fails.
            return 0;
        };
        let text = match serde_json::to_string_pretty(&discovery) {
            Ok(t) => t,
            Err(e) => {
                log::error!("cannot serialise the discovery: {e}");
                return 0;
            }
        };
        match std::fs::write(&args.discovery_path, text) {
            Ok(()) => log::info!(
                "Discovery outcome saved in {}",
                args.discovery_path.display()
            ),
            Err(e) => log::error!("cannot write '{}': {e}", args.discovery_path.display()),
        }
        notify(
            &settings,
            &registry,
            Phase::Discovery,
            "discovery-completed",
            &discovery,
            None,
        )
        .await;
        0
    })
}

/// The discovery of a package installed for the Python bridge (its own `discover()`).
async fn bridged_discovery(registry: &Registry, package: &str, with_system: bool) -> Option<Value> {
    let bridge = registry.bridge()?;
    let mut body = Map::new();
    body.insert("package".into(), Value::String(package.into()));
    body.insert("discover_system".into(), Value::Bool(with_system));
    match bridge.request("discover", body, false).await {
        Ok(discovery) => Some(discovery),
        Err(e) => {
            log::debug!("the Python bridge did not discover {package}: {e}");
            None
        }
    }
}

/// The discovery document for `package`, or `None` if no such native package exists.
pub fn discovery(registry: &Registry, package: &str, _with_system: bool) -> Option<Value> {
    let pkg = registry.package(package)?;
    let mut activities = Vec::new();
    for module in &pkg.modules {
        for function in registry.module_functions(module) {
            let arguments: Vec<Value> = function
                .signature
                .params
                .iter()
                .map(|p| {
                    let mut a = Map::new();
                    a.insert("name".into(), Value::String(p.name.clone()));
                    if let Some(default) = &p.default {
                        a.insert("default".into(), default.clone());
                    }
                    if let Some(t) = p.type_name {
                        a.insert("type".into(), Value::String(t.into()));
                    }
                    Value::Object(a)
                })
                .collect();
            let mut activity = Map::new();
            let kind = match function.kind {
                Kind::Probe => "probe",
                Kind::Action => "action",
            };
            activity.insert("type".into(), kind.into());
            activity.insert("name".into(), function.name.into());
            activity.insert("mod".into(), function.module.into());
            activity.insert(
                "doc".into(),
                if function.doc.is_empty() {
                    Value::Null
                } else {
                    function.doc.into()
                },
            );
            activity.insert("arguments".into(), Value::Array(arguments));
            if let Some(r) = function.return_type {
                activity.insert("return_type".into(), r.into());
            }
            activities.push(Value::Object(activity));
        }
    }
    let uname = engine::journal::platform();
    let mut parts = uname.splitn(3, '-');
    let (system, release, machine) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    Some(json!({
        "chaoslib_version": engine::CHAOSLIB_COMPAT_VERSION,
        "id": uuid::Uuid::new_v4().to_string(),
        "target": pkg.target,
        "date": Timestamp::now().iso(),
        "platform": {
            "system": system,
            "node": hostname(),
            "release": release,
            "version": "",
            "machine": machine,
            "proc": "",
            "python": "",
        },
        "extension": {"name": pkg.name, "version": pkg.version},
        "activities": activities,
        "system": Value::Null,
    }))
}
