//! Controls: hooks called around the experiment, the hypothesis, the method, the rollbacks
//! and each activity, as the reference calls its control modules' `before_*_control` /
//! `after_*_control` functions.
//!
//! A control names a module (`provider.module`); Shakedown answers it with a native
//! [`Control`] registered under that module path in a [`ControlRegistry`]. A control whose
//! module has no native implementation is skipped, as the reference skips a module it
//! cannot import at run time.
//!
//! Which controls apply at a level follows the reference's documented intent rather than its
//! quirks (docs/compatibility.md): global controls (settings), then the experiment's
//! top-level controls that are `automatic` (unless a local control has the same name), then
//! the local controls of the hypothesis or activity, with `ref` entries resolved to the
//! top-level control they name; each name once. The experiment level also gets the
//! non-automatic top-level controls; method and rollback levels get globals plus automatic
//! top-level controls.

use experiment::substitute::{substitute, Lookup};
use experiment::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Loader,
    Experiment,
    Hypothesis,
    Method,
    Rollback,
    Activity,
}

impl Level {
    pub fn name(&self) -> &'static str {
        match self {
            Level::Loader => "loader",
            Level::Experiment => "experiment",
            Level::Hypothesis => "hypothesis",
            Level::Method => "method",
            Level::Rollback => "rollback",
            Level::Activity => "activity",
        }
    }
}

/// Everything a hook receives (the reference's keyword arguments).
pub struct HookCall<'a> {
    pub level: Level,
    /// The control's name as declared.
    pub name: &'a str,
    /// The experiment, the hypothesis map, or the activity.
    pub context: &'a Value,
    /// After hooks only: the journal, the hypothesis state, the list of runs, or the run.
    pub state: Option<&'a Value>,
    /// The control's `provider.arguments`, substituted.
    pub arguments: &'a Map,
    pub configuration: &'a Map,
    pub secrets: &'a Map,
    pub settings: &'a Value,
}

/// How a hook can end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// The reference's `InterruptExecution`: the run stops as `interrupted`.
    Interrupt(String),
    /// Any other error: logged at debug level and ignored, as the reference does.
    Failed(String),
}

/// A native control module. Every hook has a default that does nothing, as a Python module
/// may define only some of the functions.
pub trait Control: Send + Sync {
    /// `configure_control`, once per run (global controls first).
    fn configure(
        &self,
        _name: &str,
        _arguments: &Map,
        _experiment: &Value,
        _settings: &Value,
    ) -> Result<(), ControlError> {
        Ok(())
    }
    fn before(&self, _call: &HookCall<'_>) -> Result<(), ControlError> {
        Ok(())
    }
    fn after(&self, _call: &HookCall<'_>) -> Result<(), ControlError> {
        Ok(())
    }
    /// `cleanup_control`, once at the end of the run.
    fn cleanup(&self, _name: &str) {}
}

/// Native control modules by module path.
#[derive(Default, Clone)]
pub struct ControlRegistry {
    modules: BTreeMap<String, Arc<dyn Control>>,
}

impl ControlRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, module: &str, control: Arc<dyn Control>) {
        self.modules.insert(module.to_string(), control);
    }

    pub fn get(&self, module: &str) -> Option<Arc<dyn Control>> {
        self.modules.get(module).cloned()
    }

    pub fn contains(&self, module: &str) -> bool {
        self.modules.contains_key(module)
    }
}

/// `scope` limits a control to the before or the after hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Both,
    Before,
    After,
}

/// A declared control resolved to its native implementation.
#[derive(Clone)]
struct Declared {
    name: String,
    arguments: Value,
    scope: Scope,
    automatic: bool,
    control: Arc<dyn Control>,
}

/// The controls of one run: global ones from the settings, top-level ones from the experiment.
#[derive(Clone, Default)]
pub struct Controls {
    registry: ControlRegistry,
    global: Vec<Declared>,
    top: Vec<Declared>,
    settings: Value,
}

impl Controls {
    /// Resolves the settings' `controls` map and the experiment's top-level `controls`.
    pub fn new(registry: ControlRegistry, settings: &Value, experiment: &Value) -> Self {
        let mut controls = Controls {
            registry,
            settings: settings.clone(),
            ..Default::default()
        };
        if let Some(map) = settings.get("controls").and_then(Value::as_object) {
            for (name, definition) in map {
                let mut definition = definition.clone();
                if let Some(d) = definition.as_object_mut() {
                    d.entry("name")
                        .or_insert_with(|| Value::String(name.clone()));
                }
                if let Some(d) = controls.resolve(&definition) {
                    controls.global.push(d);
                }
            }
        }
        if let Some(list) = experiment.get("controls").and_then(Value::as_array) {
            controls.top = list.iter().filter_map(|c| controls.resolve(c)).collect();
        }
        controls
    }

    /// True when no control can apply anywhere: the hooks are then free.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.top.is_empty() && self.registry.modules.is_empty()
    }

    fn resolve(&self, definition: &Value) -> Option<Declared> {
        let name = definition.get("name")?.as_str()?.to_string();
        let provider = definition.get("provider")?;
        let module = provider.get("module")?.as_str()?;
        let Some(control) = self.registry.get(module) else {
            log::debug!("Control '{name}': no native control for module '{module}'; skipped");
            return None;
        };
        let scope = match definition.get("scope").and_then(Value::as_str) {
            Some("before") => Scope::Before,
            Some("after") => Scope::After,
            _ => Scope::Both,
        };
        Some(Declared {
            name,
            arguments: provider
                .get("arguments")
                .cloned()
                .unwrap_or(Value::Object(Map::new())),
            scope,
            automatic: definition
                .get("automatic")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            control,
        })
    }

    /// The controls applying at `level`, given the local `controls` list of the hypothesis
    /// or activity (if any).
    fn applicable(&self, level: Level, local: Option<&Value>) -> Vec<Declared> {
        let local: Vec<Declared> = local
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| match c.get("ref").and_then(Value::as_str) {
                Some(r) => self.top.iter().find(|t| t.name == r).cloned(),
                None => self.resolve(c),
            })
            .collect();
        let mut out: Vec<Declared> = Vec::new();
        let mut push = |d: &Declared| {
            if !out.iter().any(|o| o.name == d.name) {
                out.push(d.clone());
            }
        };
        self.global.iter().for_each(&mut push);
        match level {
            Level::Loader => {}
            Level::Experiment => self.top.iter().for_each(&mut push),
            _ => self
                .top
                .iter()
                .filter(|t| t.automatic && !local.iter().any(|l| l.name == t.name))
                .for_each(&mut push),
        }
        local.iter().for_each(&mut push);
        out
    }

    /// `configure_control` of every global then top-level control.
    pub fn configure(&self, experiment: &Value) {
        for d in self.global.iter().chain(self.top.iter()) {
            let arguments = d.arguments.as_object().cloned().unwrap_or_default();
            if let Err(e) = d
                .control
                .configure(&d.name, &arguments, experiment, &self.settings)
            {
                log::debug!("Control '{}' failed to configure: {e:?}", d.name);
            }
        }
    }

    /// `cleanup_control` of the top-level controls, then the global ones.
    pub fn cleanup(&self) {
        for d in self.top.iter().chain(self.global.iter()) {
            d.control.cleanup(&d.name);
        }
    }

    /// True when a hook could run at a point with these local controls; lets callers skip
    /// building the state of an after hook.
    pub fn any(&self, local: Option<&Value>) -> bool {
        !(self.global.is_empty() && self.top.is_empty() && local.is_none())
    }

    /// Calls the before hooks. An `Interrupt` from any of them is returned (the rest of the
    /// hooks at this point are skipped, as an exception would skip them).
    pub fn before(
        &self,
        level: Level,
        context: &Value,
        local: Option<&Value>,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
    ) -> Result<(), String> {
        self.call(
            level,
            context,
            None,
            local,
            lookup,
            configuration,
            secrets,
            true,
        )
    }

    /// Calls the after hooks with the level's state.
    #[allow(clippy::too_many_arguments)]
    pub fn after(
        &self,
        level: Level,
        context: &Value,
        state: &Value,
        local: Option<&Value>,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
    ) -> Result<(), String> {
        self.call(
            level,
            context,
            Some(state),
            local,
            lookup,
            configuration,
            secrets,
            false,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        level: Level,
        context: &Value,
        state: Option<&Value>,
        local: Option<&Value>,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
        before: bool,
    ) -> Result<(), String> {
        if !self.any(local) {
            return Ok(());
        }
        for d in self.applicable(level, local) {
            let wanted = match d.scope {
                Scope::Both => true,
                Scope::Before => before,
                Scope::After => !before,
            };
            if !wanted {
                continue;
            }
            let arguments = substitute(&d.arguments, lookup);
            let empty = Map::new();
            let call = HookCall {
                level,
                name: &d.name,
                context,
                state,
                arguments: arguments.as_object().unwrap_or(&empty),
                configuration,
                secrets,
                settings: &self.settings,
            };
            let result = if before {
                d.control.before(&call)
            } else {
                d.control.after(&call)
            };
            match result {
                Ok(()) => {}
                Err(ControlError::Failed(e)) => log::debug!(
                    "Control '{}' failed in {}-{}: {e}",
                    d.name,
                    if before { "before" } else { "after" },
                    level.name()
                ),
                Err(ControlError::Interrupt(message)) => return Err(message),
            }
        }
        Ok(())
    }
}
