//! Native drivers for `python` providers, looked up by their upstream `module` and `func`.
//!
//! An experiment written for the Python toolkit says
//! `{type: python, module: chaosk8s.pod.actions, func: terminate_pods}`; Shakedown keeps
//! that text and answers it with a [`Driver`] registered under the same names. The
//! registry also answers validation ([`FunctionCatalog`]) and `chaos discover`.

use crate::bridge::{Bridge, PythonControl};
use crate::control::Control;
use crate::{BoxFuture, Call, FailureKind, ProviderError};
use experiment::validate::ValidationError;
use experiment::{FunctionCatalog, FunctionLookup, Map, Signature, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Whether a function is listed as a probe or an action by `chaos discover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Probe,
    Action,
}

/// What a driver function receives: its keyword arguments, and the run's configuration and
/// secrets (the merged scopes the activity lists in `provider.secrets`).
pub struct Invocation<'a> {
    pub arguments: Map,
    pub configuration: &'a Map,
    pub secrets: Map,
}

/// One native function.
pub trait Driver: Send + Sync {
    fn call<'a>(
        &'a self,
        invocation: Invocation<'a>,
    ) -> BoxFuture<'a, Result<Value, ProviderError>>;
}

/// A native notification plugin (a `type: plugin` channel of the settings): called with
/// the channel's settings and the event; errors are only logged.
pub trait Notifier: Send + Sync {
    fn notify<'a>(
        &'a self,
        channel: &'a Value,
        event: &'a Value,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// A registered function: its driver plus what discovery and validation need to know.
pub struct Function {
    pub module: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    pub signature: Signature,
    /// Discovery's `return_type` (`mapping`, `integer`, `boolean`, …), if declared.
    pub return_type: Option<&'static str>,
    pub driver: Box<dyn Driver>,
}

/// A named group of modules, as `chaos discover <package>` lists them.
pub struct Package {
    pub name: &'static str,
    pub version: &'static str,
    /// Discovery's `target` (`kubernetes`, `toxiproxy`, …).
    pub target: &'static str,
    pub modules: Vec<&'static str>,
}

/// All native functions, by module then function name.
#[derive(Default)]
pub struct Registry {
    /// Where `python` providers go when no native module answers them.
    bridge: Option<Arc<Bridge>>,
    /// Native control modules by module path.
    controls: BTreeMap<&'static str, Arc<dyn Control>>,
    /// Native notification plugins by module path.
    notifiers: BTreeMap<&'static str, Arc<dyn Notifier>>,
    modules: BTreeMap<&'static str, BTreeMap<&'static str, Function>>,
    /// `(module, name)` of functions that run but are not discovered.
    hidden: BTreeSet<(&'static str, &'static str)>,
    packages: Vec<Package>,
    /// Functions answered natively only when Python cannot import their module: for
    /// module names as common as a user's own (`load` of the talk), which a native module
    /// must not shadow ([`Registry::register_fallback`]).
    fallbacks: BTreeMap<&'static str, BTreeMap<&'static str, Function>>,
    /// Native functions' own checks of declared arguments, for validation.
    checks: BTreeMap<(&'static str, &'static str), ArgumentCheck>,
}

/// A native function's check of the arguments an activity declares, at validation:
/// `Err((argument, message))`. Values still holding `${...}` placeholders are the check's
/// to skip (they are substituted at run time, and the function checks them again).
pub type ArgumentCheck = fn(&str, &Map) -> Result<(), (String, String)>;

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `python` providers whose module no native driver answers to `bridge`.
    pub fn set_bridge(&mut self, bridge: Arc<Bridge>) {
        self.bridge = Some(bridge);
    }

    /// The Python bridge, when the binary wired one.
    pub fn bridge(&self) -> Option<&Bridge> {
        self.bridge.as_deref()
    }

    /// Registers a native control module under its upstream module path.
    pub fn register_control(&mut self, module: &'static str, control: Arc<dyn Control>) {
        self.controls.insert(module, control);
    }

    /// The control answering `module`: the native one, else the Python bridge's (which may
    /// still find the module missing), else none.
    pub fn control(&self, module: &str) -> Option<Arc<dyn Control>> {
        if !forced_to_python(module) {
            if let Some(native) = self.controls.get(module) {
                return Some(native.clone());
            }
        }
        let bridge = self.bridge.clone()?;
        Some(Arc::new(PythonControl::new(bridge, module)))
    }

    /// Whether `module` is a native control.
    pub fn has_native_control(&self, module: &str) -> bool {
        self.controls.contains_key(module) && !forced_to_python(module)
    }

    /// The native control's `validate_control`, with `catalog` for what it carries; `Ok`
    /// for a module no native control answers.
    pub fn validate_native_control(
        &self,
        module: &str,
        control: &Value,
        catalog: &dyn FunctionCatalog,
    ) -> Result<(), ValidationError> {
        match self.controls.get(module) {
            Some(native) if !forced_to_python(module) => native.validate(control, catalog),
            _ => Ok(()),
        }
    }

    /// Registers a native notification plugin under its upstream module path.
    pub fn register_notifier(&mut self, module: &'static str, notifier: Arc<dyn Notifier>) {
        self.notifiers.insert(module, notifier);
    }

    /// The native notification plugin for `module`.
    pub fn notifier(&self, module: &str) -> Option<Arc<dyn Notifier>> {
        if forced_to_python(module) {
            return None;
        }
        self.notifiers.get(module).cloned()
    }

    pub fn register(&mut self, function: Function) {
        self.modules
            .entry(function.module)
            .or_default()
            .insert(function.name, function);
    }

    /// Registers a function that runs but that `chaos discover` leaves out, like an upstream
    /// function missing from its module's `__all__` (Python discovery only lists those).
    pub fn register_hidden(&mut self, function: Function) {
        self.hidden.insert((function.module, function.name));
        self.register(function);
    }

    /// Whether `module.func` was registered with [`Registry::register_hidden`].
    pub fn is_hidden(&self, module: &str, func: &str) -> bool {
        self.hidden.contains(&(module, func))
    }

    /// Registers a function that answers only when the Python bridge cannot import its
    /// module (no such module on the interpreter's path, or no interpreter): a user's own
    /// module of that name always wins.
    pub fn register_fallback(&mut self, function: Function) {
        self.fallbacks
            .entry(function.module)
            .or_default()
            .insert(function.name, function);
    }

    /// The fallback function `module.func`, if one is registered.
    pub fn fallback(&self, module: &str, func: &str) -> Option<&Function> {
        self.fallbacks.get(module)?.get(func)
    }

    /// What the fallback functions answer for `module.func`.
    pub fn fallback_lookup(&self, module: &str, func: &str) -> FunctionLookup {
        match self.fallback(module, func) {
            Some(f) => FunctionLookup::Found(f.signature.clone()),
            None if self.has_fallback_module(module) => FunctionLookup::FunctionNotFound,
            None => FunctionLookup::ModuleNotFound,
        }
    }

    /// Whether `module` has fallback functions.
    pub fn has_fallback_module(&self, module: &str) -> bool {
        self.fallbacks.contains_key(module)
    }

    /// Registers validation's check of `module.func`'s declared arguments.
    pub fn register_arguments_check(
        &mut self,
        module: &'static str,
        func: &'static str,
        check: ArgumentCheck,
    ) {
        self.checks.insert((module, func), check);
    }

    /// Runs `module.func`'s argument check, if it has one and runs natively.
    pub fn check_native_arguments(
        &self,
        module: &str,
        func: &str,
        arguments: &Map,
    ) -> Result<(), (String, String)> {
        if forced_to_python(module) {
            return Ok(());
        }
        match self.checks.get(&(module, func)) {
            Some(check) => check(func, arguments),
            None => Ok(()),
        }
    }

    pub fn register_package(&mut self, package: Package) {
        self.packages.push(package);
    }

    pub fn function(&self, module: &str, func: &str) -> Option<&Function> {
        self.modules.get(module)?.get(func)
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// The discoverable functions of a module, in name order (hidden ones are left out;
    /// [`Registry::function`] still finds them).
    pub fn module_functions(&self, module: &str) -> impl Iterator<Item = &Function> {
        self.modules
            .get(module)
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|f| !self.is_hidden(f.module, f.name))
    }
}

impl FunctionCatalog for Registry {
    fn lookup(&self, module: &str, func: &str) -> FunctionLookup {
        match self.function(module, func) {
            Some(f) => FunctionLookup::Found(f.signature.clone()),
            None if self.module_exists(module) => FunctionLookup::FunctionNotFound,
            None => self.fallback_lookup(module, func),
        }
    }

    fn module_exists(&self, module: &str) -> bool {
        self.modules.contains_key(module) || self.has_native_control(module)
    }

    fn check_arguments(
        &self,
        module: &str,
        func: &str,
        arguments: &Map,
    ) -> Result<(), (String, String)> {
        self.check_native_arguments(module, func, arguments)
    }

    fn validate_control(&self, module: &str, control: &Value) -> Result<(), ValidationError> {
        self.validate_native_control(module, control, self)
    }
}

/// Runs a `python` provider through the registry.
pub(crate) async fn run_python(call: &Call<'_>, provider: &Map) -> Result<Value, ProviderError> {
    let module = provider.get("module").and_then(Value::as_str).unwrap_or("");
    let func = provider.get("func").and_then(Value::as_str).unwrap_or("");
    let lookup = call.lookup();
    let arguments = match provider.get("arguments") {
        Some(a) => match crate::substitute_if_any(a, &lookup) {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    let secrets = merged_secrets(provider.get("secrets"), call.secrets);
    let mut native = call.registry.function(module, func);
    if native.is_none() && !forced_to_python(module) {
        if let Some(fallback) = call.registry.fallback(module, func) {
            // The user's own module of that name wins when the interpreter imports it.
            let python_has_it = match call.registry.bridge() {
                Some(bridge) => bridge.importable(module).await.unwrap_or(false),
                None => false,
            };
            if !python_has_it {
                native = Some(fallback);
            }
        }
    }
    let Some(function) = native.filter(|_| !forced_to_python(module)) else {
        return match call.registry.bridge() {
            Some(bridge) if !call.registry.module_exists(module) || forced_to_python(module) => {
                let secrets = provider.contains_key("secrets").then_some(secrets);
                crate::bridge::call_activity(bridge, call, module, func, arguments, secrets).await
            }
            _ => Err(ProviderError::failed(FailureKind::Environment, format!(
                "could not find Python module '{module}' (Shakedown has no native driver for '{module}.{func}')"
            ))),
        };
    };
    let invocation = Invocation {
        arguments,
        configuration: call.configuration,
        secrets,
    };
    crate::scope::within(call.scope.clone(), function.driver.call(invocation)).await
}

/// Whether `CHAOS_PYTHON_MODULES` asks for `module` to run in Python even though a native
/// driver answers it: a comma-separated list of module names or prefixes ending in `.`
/// (`chaosk8s.` sends every chaosk8s module to Python).
pub fn forced_to_python(module: &str) -> bool {
    std::env::var(FORCE_PYTHON_ENV).is_ok_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|m| !m.is_empty() && (m == module || (m.ends_with('.') && module.starts_with(m))))
    })
}

/// The environment variable that sends native modules to the Python bridge.
pub const FORCE_PYTHON_ENV: &str = "CHAOS_PYTHON_MODULES";

/// The scopes an activity lists, merged into one flat map (later scopes win).
fn merged_secrets(scopes: Option<&Value>, secrets: &Map) -> Map {
    let mut merged = Map::new();
    if let Some(Value::Array(names)) = scopes {
        for name in names.iter().filter_map(Value::as_str) {
            if let Some(Value::Object(scope)) = secrets.get(name) {
                merged.extend(scope.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    merged
}
