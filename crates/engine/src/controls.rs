//! The controls of one run: which declared controls apply at each point of the flow, and
//! calling their hooks in order.
//!
//! A control names a module (`provider.module`); the [`Registry`] answers it with a native
//! [`Control`] a driver crate registered, or with one that runs in the Python bridge. A
//! control nobody can answer is skipped with a WARNING that names it (see
//! docs/compatibility.md: the reference says so only at validation, and only for the
//! experiment's controls).
//!
//! Which controls apply at a level follows the reference's documented intent rather than its
//! quirks (docs/compatibility.md): global controls (settings and `--control-file`), then the
//! experiment's top-level controls that are `automatic` (unless a local control has the
//! same name), then the local controls of the hypothesis or activity, with `ref` entries
//! resolved to the top-level control they name; each name once. The experiment level also
//! gets the non-automatic top-level controls; the loader level gets the global controls only.

pub use providers::control::{
    Changes, ConfigureCall, Control, ControlError, HookCall, Level, ProbeRun, RunHandle, When,
};

use experiment::substitute::{substitute, Lookup};
use experiment::view::ExperimentView;
use experiment::{Map, Value};
use providers::registry::Registry;
use std::borrow::Cow;
use std::sync::Arc;

/// `scope` limits a control to the before or the after hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Both,
    Before,
    After,
}

/// A declared control resolved to its implementation.
#[derive(Clone)]
struct Declared {
    name: String,
    arguments: Value,
    scope: Scope,
    automatic: bool,
    control: Arc<dyn Control>,
}

/// Where the controls of a run were declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The settings' `controls` or a `--control-file`.
    Global,
    /// The experiment.
    Experiment,
}

/// The controls of one run: global ones from the settings, top-level ones from the experiment.
#[derive(Clone, Default)]
pub struct Controls {
    registry: Option<Arc<Registry>>,
    global: Vec<Declared>,
    top: Vec<Declared>,
    settings: Value,
    /// Validation ran and warned about the experiment's unimportable control modules.
    validated: bool,
    /// Controls already reported missing, so a local control is named once, not per hook.
    reported: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

/// A control's `InterruptExecution` (the reference's exception): the run stops as
/// `interrupted`, and the hooks after it at this point are skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ControlInterrupt {
    /// The declared name of the control that raised it.
    pub control: String,
    /// The exception's message, as the reference logs it.
    pub message: String,
}

/// Where a hook is called from, and what it is handed.
pub struct Point<'a> {
    pub level: Level,
    /// The source, experiment, hypothesis or activity.
    pub context: &'a Value,
    /// The `controls` of the hypothesis or activity.
    pub local: Option<&'a Value>,
    /// The experiment as the run plays it now (controls may have changed it); `Null` at
    /// the loader level.
    pub experiment: &'a Value,
}

impl Controls {
    /// Resolves the settings' `controls` map (global) and the experiment's top-level
    /// `controls`. A control whose module neither a native driver nor the Python bridge
    /// can answer is left out, with a WARNING naming it.
    /// `validated`: validation ran (and named the experiment's missing control modules in
    /// the reference's WARNING); otherwise the run names them.
    pub async fn resolve(
        registry: Arc<Registry>,
        settings: &Value,
        experiment: &Value,
        validated: bool,
    ) -> Self {
        let mut controls = Controls {
            registry: Some(registry),
            settings: settings.clone(),
            validated,
            ..Default::default()
        };
        controls.global = controls.globals(settings).await;
        let mut top = Vec::new();
        for c in ExperimentView::new(experiment).controls() {
            if let Some(d) = controls.declare(c, Origin::Experiment).await {
                top.push(d);
            }
        }
        controls.top = top;
        controls
    }

    /// Only the global controls: what the loader level sees before an experiment exists.
    pub async fn global_only(registry: Arc<Registry>, settings: &Value) -> Self {
        let mut controls = Controls {
            registry: Some(registry),
            settings: settings.clone(),
            ..Default::default()
        };
        controls.global = controls.globals(settings).await;
        controls
    }

    async fn globals(&self, settings: &Value) -> Vec<Declared> {
        let mut out = Vec::new();
        if let Some(map) = settings.get("controls").and_then(Value::as_object) {
            for (name, definition) in map {
                let mut definition = definition.clone();
                if let Some(d) = definition.as_object_mut() {
                    d.entry("name")
                        .or_insert_with(|| Value::String(name.clone()));
                }
                if let Some(d) = self.declare(&definition, Origin::Global).await {
                    out.push(d);
                }
            }
        }
        out
    }

    /// The names of the run's global and top-level controls, in the order they are called.
    pub fn names(&self) -> Vec<String> {
        self.global
            .iter()
            .chain(&self.top)
            .map(|d| d.name.clone())
            .collect()
    }

    /// True when no control applies anywhere: the hooks are then free.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.top.is_empty()
    }

    async fn declare(&self, definition: &Value, origin: Origin) -> Option<Declared> {
        let name = definition.get("name")?.as_str()?.to_string();
        let provider = definition.get("provider")?;
        let module = provider.get("module")?.as_str()?.to_string();
        let registry = self.registry.as_ref()?;
        let missing = |why: &str| {
            let message = format!(
                "Could not find Python module '{module}' in control '{name}'. Did you install the Python module? The experiment will carry on running nonetheless."
            );
            let first = self
                .reported
                .lock()
                .map(|mut r| r.insert(format!("{name}\u{0}{module}")))
                .unwrap_or(true);
            match origin {
                // Validation already said so for the experiment's controls, in the
                // reference's words.
                Origin::Experiment if self.validated => log::debug!("{message}"),
                _ if first => log::warn!("{message}"),
                _ => log::debug!("{message}"),
            }
            if !why.is_empty() {
                log::debug!("Control '{name}': {why}");
            }
        };
        let control = match registry.control(&module) {
            Some(control) if registry.has_native_control(&module) => control,
            Some(control) => {
                let importable = match registry.bridge() {
                    Some(bridge) => bridge.importable(&module).await,
                    None => Ok(false),
                };
                match importable {
                    Ok(true) => control,
                    Ok(false) => {
                        missing("");
                        return None;
                    }
                    Err(e) => {
                        missing(&e.to_string());
                        return None;
                    }
                }
            }
            None => {
                missing("no native control has that name and the Python bridge is off");
                return None;
            }
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
    async fn applicable(&self, level: Level, local: Option<&Value>) -> Vec<Declared> {
        let mut resolved_local: Vec<Declared> = Vec::new();
        for c in local.and_then(Value::as_array).into_iter().flatten() {
            let found = match c.get("ref").and_then(Value::as_str) {
                Some(r) => self.top.iter().find(|t| t.name == r).cloned(),
                None => self.declare(c, Origin::Experiment).await,
            };
            if let Some(d) = found {
                resolved_local.push(d);
            }
        }
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
                .filter(|t| t.automatic && !resolved_local.iter().any(|l| l.name == t.name))
                .for_each(&mut push),
        }
        resolved_local.iter().for_each(&mut push);
        out
    }

    /// `configure_control` of every global then top-level control. Arguments are not
    /// substituted, and only global controls get the settings, as in the reference. `run`
    /// is the run's handle, lent to every control (see [`RunHandle`]).
    pub async fn configure(
        &self,
        experiment: &Value,
        configuration: &Map,
        secrets: &Map,
        run: &Arc<dyn RunHandle>,
    ) {
        let globals = self.global.iter().map(|d| (d, true));
        let tops = self.top.iter().map(|d| (d, false));
        for (d, global) in globals.chain(tops) {
            let arguments = d.arguments.as_object().cloned().unwrap_or_default();
            let call = ConfigureCall {
                name: &d.name,
                arguments: &arguments,
                experiment,
                configuration,
                secrets,
                settings: global.then_some(&self.settings),
                run: Some(run),
            };
            if let Err(e) = d.control.configure(call).await {
                log::debug!("Control '{}' failed to configure: {e}", d.name);
            }
        }
    }

    /// `cleanup_control` of the top-level controls, then the global ones.
    pub async fn cleanup(&self) {
        for d in self.top.iter().chain(self.global.iter()) {
            d.control.cleanup(&d.name).await;
        }
    }

    /// True when a hook could run at a point with these local controls; lets callers skip
    /// building the state of an after hook.
    pub fn any(&self, local: Option<&Value>) -> bool {
        !(self.global.is_empty() && self.top.is_empty() && local.is_none())
    }

    /// Calls the before hooks. An `Interrupt` from any of them is returned as `Err` (the
    /// rest of the hooks at this point are skipped, as an exception would skip them); the
    /// `Ok` carries the context as the hooks changed it, if they did.
    pub async fn before(
        &self,
        point: Point<'_>,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
    ) -> Result<Changes, ControlInterrupt> {
        self.call(point, None, When::Before, lookup, configuration, secrets)
            .await
    }

    /// Calls the after hooks with the level's state.
    pub async fn after(
        &self,
        point: Point<'_>,
        state: &Value,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
    ) -> Result<Changes, ControlInterrupt> {
        self.call(
            point,
            Some(state),
            When::After,
            lookup,
            configuration,
            secrets,
        )
        .await
    }

    async fn call(
        &self,
        point: Point<'_>,
        state: Option<&Value>,
        when: When,
        lookup: &Lookup<'_>,
        configuration: &Map,
        secrets: &Map,
    ) -> Result<Changes, ControlInterrupt> {
        let mut changes = Changes::default();
        if !self.any(point.local) {
            return Ok(changes);
        }
        // Borrowed until a control changes them: a copy per hook of the experiment (and of
        // a list of runs) made every activity's hooks cost as much as the whole document.
        let mut context = Cow::Borrowed(point.context);
        let mut state = state.map(Cow::Borrowed);
        let mut experiment = Cow::Borrowed(point.experiment);
        for d in self.applicable(point.level, point.local).await {
            let wanted = match d.scope {
                Scope::Both => true,
                Scope::Before => when == When::Before,
                Scope::After => when == When::After,
            };
            if !wanted {
                continue;
            }
            let arguments = if lookup.is_empty() {
                d.arguments.clone()
            } else {
                substitute(&d.arguments, lookup)
            };
            let empty = Map::new();
            let call = HookCall {
                level: point.level,
                when,
                name: &d.name,
                context: &context,
                state: state.as_deref(),
                arguments: arguments.as_object().unwrap_or(&empty),
                configuration,
                secrets,
                settings: &self.settings,
                experiment: &experiment,
            };
            match d.control.hook(call).await {
                Ok(changed) => {
                    if let Some(c) = changed.context {
                        context = Cow::Owned(c.clone());
                        changes.context = Some(c);
                    }
                    if let Some(s) = changed.state {
                        state = Some(Cow::Owned(s.clone()));
                        changes.state = Some(s);
                    }
                    if let Some(e) = changed.experiment {
                        experiment = Cow::Owned(e.clone());
                        changes.experiment = Some(e);
                    }
                    changes.outbound_headers.extend(changed.outbound_headers);
                }
                Err(ControlError::Failed(e)) => log::debug!(
                    "Control '{}' failed in {}-{}: {e}",
                    d.name,
                    when.name(),
                    point.level.name()
                ),
                Err(ControlError::Interrupt(message)) => {
                    return Err(ControlInterrupt {
                        control: d.name.clone(),
                        message,
                    })
                }
            }
        }
        Ok(changes)
    }
}
