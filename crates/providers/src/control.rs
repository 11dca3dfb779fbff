//! Controls: the hooks a Chaos Toolkit control module offers around the loading of the
//! experiment, the experiment itself, the hypothesis, the method, the rollbacks and each
//! activity (chaoslib's `before_*_control` / `after_*_control`, `configure_control` and
//! `cleanup_control`).
//!
//! A control is declared by module path (`provider.module`). Driver crates register their
//! native controls in the [`Registry`](crate::registry::Registry) next to their functions;
//! a module nobody registered goes to the Python bridge. The engine only ever sees a
//! [`Control`] and knows none by name.
//!
//! Hooks are asynchronous because real controls talk to the outside (a tracing collector,
//! Slack, a Prometheus server, the Python worker). A hook may change what it was handed, as
//! a Python control mutates its arguments in place: it says so in its [`Changes`].

use crate::{BoxFuture, Exit};
use experiment::validate::ValidationError;
use experiment::{FunctionCatalog, Map, Value};
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

/// Before or after the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

impl When {
    pub fn name(&self) -> &'static str {
        match self {
            When::Before => "before",
            When::After => "after",
        }
    }
}

/// The Python function chaoslib calls for a hook.
pub fn hook_function(level: Level, when: When) -> String {
    match level {
        Level::Loader => format!("{}_loading_experiment_control", when.name()),
        _ => format!("{}_{}_control", when.name(), level.name()),
    }
}

/// Everything a hook receives (chaoslib's keyword arguments).
#[derive(Debug, Clone, Copy)]
pub struct HookCall<'a> {
    pub level: Level,
    pub when: When,
    /// The control's name as declared.
    pub name: &'a str,
    /// The source (loader), the experiment, the hypothesis map, or the activity.
    pub context: &'a Value,
    /// After hooks only: the experiment (loader), the journal, the hypothesis state, the
    /// list of runs, or the run.
    pub state: Option<&'a Value>,
    /// The control's `provider.arguments`, substituted.
    pub arguments: &'a Map,
    pub configuration: &'a Map,
    /// Every secret scope (controls get all of them, unlike activities).
    pub secrets: &'a Map,
    pub settings: &'a Value,
    /// The experiment being run (`Null` at the loader level).
    pub experiment: &'a Value,
}

/// What `configure_control` receives. The arguments are not substituted, and experiment
/// controls get no settings, as in the reference.
#[derive(Clone, Copy)]
pub struct ConfigureCall<'a> {
    pub name: &'a str,
    pub arguments: &'a Map,
    pub experiment: &'a Value,
    pub configuration: &'a Map,
    pub secrets: &'a Map,
    pub settings: Option<&'a Value>,
    /// The run being configured, for a control that works beside it (keep a clone for the
    /// length of the run). `None` outside a run.
    pub run: Option<&'a Arc<dyn RunHandle>>,
}

/// What the engine lends a control for one run, so that a control working *beside* the
/// run (chaosaddons' safeguards, a kill switch) can do what a Python control does with
/// chaoslib's functions and signals: run a probe the way the run runs its activities, and
/// end the run from a task of its own, outside any hook.
///
/// The handle does not keep the run alive: once the run is over, probes come back as
/// failed runs and interruptions are ignored.
pub trait RunHandle: Send + Sync {
    /// Runs `probe` beside the run, as the run runs a background activity (its `ref`
    /// resolved, the activity-level controls around it, its pauses, the dry mode), without
    /// the console lines of the method's activities, and judges its output by its
    /// `tolerance` as the hypothesis does.
    fn run_probe<'a>(&'a self, probe: &'a Value) -> BoxFuture<'a, ProbeRun>;

    /// Interrupts the run now, as `exit` would from a Python function
    /// (`SystemExit(20)`: chaoslib's `exit_gracefully`, SIGUSR1; `SystemExit(30)`: no
    /// rollbacks): the step in the foreground stops, the run ends `interrupted`, and
    /// rollbacks follow the rollback strategy. Never blocks.
    fn interrupt(&self, exit: Exit);
}

/// A probe a control ran through its [`RunHandle`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRun {
    /// The run record as the journal writes it (`activity`, `output`, `status`, …).
    pub record: Value,
    /// The probe succeeded and its output meets its tolerance (also when the dry mode
    /// skipped it, as the hypothesis counts a skipped probe).
    pub tolerance_met: bool,
}

/// What a hook changed in what it was handed, as a Python control changes its arguments in
/// place. The engine applies a changed context to the step about to run (the activity, the
/// experiment), a changed loader state to the loaded experiment, and a changed experiment
/// to the lists still to play (chaosaddons' `repeat` inserts activities that way).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub context: Option<Value>,
    pub state: Option<Value>,
    pub experiment: Option<Value>,
    /// Before-activity hooks only: headers the activity's own outbound HTTP calls carry
    /// while it runs (a tracing control's span context), see [`crate::outbound`].
    pub outbound_headers: Vec<(String, String)>,
}

/// How a hook can end badly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The reference's `InterruptExecution`: the run stops as `interrupted`.
    #[error("{0}")]
    Interrupt(String),
    /// Any other error: logged at debug level and ignored, as the reference does.
    #[error("{0}")]
    Failed(String),
}

/// A control module. Every hook has a default that does nothing, as a Python module may
/// define only some of the functions.
pub trait Control: Send + Sync {
    /// `validate_control(control)`, when the experiment is validated: the whole control
    /// declaration in, an error with a path relative to it out. `catalog` answers the
    /// checks an activity or tolerance the control carries needs
    /// ([`experiment::validate::check_activity`]).
    fn validate(
        &self,
        _control: &Value,
        _catalog: &dyn FunctionCatalog,
    ) -> Result<(), ValidationError> {
        Ok(())
    }

    /// `configure_control`, once per run (global controls first).
    fn configure<'a>(
        &'a self,
        _call: ConfigureCall<'a>,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async { Ok(()) })
    }

    /// A `before_*` or `after_*` hook.
    fn hook<'a>(&'a self, _call: HookCall<'a>) -> BoxFuture<'a, Result<Changes, ControlError>> {
        Box::pin(async { Ok(Changes::default()) })
    }

    /// `cleanup_control`, once at the end of the run.
    fn cleanup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_functions_are_chaoslibs_names() {
        assert_eq!(
            hook_function(Level::Loader, When::Before),
            "before_loading_experiment_control"
        );
        assert_eq!(
            hook_function(Level::Activity, When::After),
            "after_activity_control"
        );
        assert_eq!(
            hook_function(Level::Rollback, When::Before),
            "before_rollback_control"
        );
    }
}
