//! The Chaos Toolkit experiment language, as the reference (chaostoolkit-lib 1.44.0) reads it.
//!
//! An experiment stays a [`Value`] tree (a `serde_json::Value` with key order preserved),
//! because the journal must echo the authored document key by key, and the reference treats
//! it as an untyped mapping. This crate adds what the tree lacks: where each node came from
//! ([`load`]), whether the tree is a valid experiment ([`validate`]) and which of its keys
//! the reference would ignore ([`keys`]: typos, with a suggestion), how `${name}`
//! placeholders resolve ([`substitute`]), how configuration and secrets are resolved
//! ([`config`], [`vars`]), and whether a probe's output meets its tolerance ([`tolerance`],
//! [`jsonpath`]). [`duration`] holds pauses and timeouts to the longest wait the reference
//! can make. [`pyyaml`] and [`pyjson`] write values as PyYAML's `yaml.dump` and Python's
//! `json.dumps` do, for documents that must match the reference's text.
//!
//! It does no I/O beyond reading the source text it is handed and the process environment,
//! and knows no driver by name: python functions are looked up through [`FunctionCatalog`].

pub mod config;
pub mod duration;
pub mod jsonpath;
pub mod keys;
pub mod load;
pub mod provider;
pub mod pyjson;
pub mod pyrepr;
pub mod pyyaml;
pub mod substitute;
pub mod tolerance;
pub mod validate;
pub mod vars;
pub mod view;
pub mod yaml;

/// The experiment tree: JSON values with insertion-ordered maps.
pub type Value = serde_json::Value;
/// A JSON object with insertion order preserved.
pub type Map = serde_json::Map<String, Value>;

/// One parameter of a native `module.func` function, as validation binds arguments to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// `None` when the parameter is required.
    pub default: Option<Value>,
    /// Discovery type name (`string`, `integer`, `mapping`, …), if declared.
    pub type_name: Option<&'static str>,
}

/// The signature of a native function, mirroring what the reference learns by introspection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Signature {
    pub params: Vec<Param>,
    /// The function takes `**kwargs`: any extra argument binds.
    pub var_keyword: bool,
}

impl Signature {
    pub fn has(&self, name: &str) -> bool {
        self.params.iter().any(|p| p.name == name)
    }
}

/// What a catalogue knows about a `module` / `func` pair.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionLookup {
    ModuleNotFound,
    FunctionNotFound,
    Found(Signature),
}

/// Answers the questions validation asks about python providers and controls, without this
/// crate knowing any driver.
pub trait FunctionCatalog {
    fn lookup(&self, module: &str, func: &str) -> FunctionLookup;
    fn module_exists(&self, module: &str) -> bool;

    /// A control module's own `validate_control(control)` (chaoslib calls it once the
    /// module imports): an error whose `path` is relative to the control
    /// (`provider.arguments.probes[0].type`). Modules without one accept any control.
    fn validate_control(
        &self,
        _module: &str,
        _control: &Value,
    ) -> Result<(), validate::ValidationError> {
        Ok(())
    }

    /// A native function's own check of the arguments an activity declares (beyond the
    /// signature): `Err((argument, message))` names the argument that cannot work and why.
    /// Functions without one accept any value.
    fn check_arguments(
        &self,
        _module: &str,
        _func: &str,
        _arguments: &Map,
    ) -> Result<(), (String, String)> {
        Ok(())
    }
}

/// A catalogue with no modules at all.
pub struct EmptyCatalog;

impl FunctionCatalog for EmptyCatalog {
    fn lookup(&self, _module: &str, _func: &str) -> FunctionLookup {
        FunctionLookup::ModuleNotFound
    }
    fn module_exists(&self, _module: &str) -> bool {
        false
    }
}
