//! Hypothesis and rollback strategies, and dry-run modes.

/// When the steady-state hypothesis runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HypothesisStrategy {
    Default,
    BeforeMethodOnly,
    AfterMethodOnly,
    DuringMethodOnly,
    Continuous,
    Skip,
}

impl HypothesisStrategy {
    /// Parses a strategy name; the misspelling `continously` is accepted like the reference.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "default" => Self::Default,
            "before-method-only" => Self::BeforeMethodOnly,
            "after-method-only" => Self::AfterMethodOnly,
            "during-method-only" => Self::DuringMethodOnly,
            "continuously" | "continously" => Self::Continuous,
            "skip" => Self::Skip,
            _ => return None,
        })
    }

    /// The name the reference logs (`continuous` for the continuously strategy).
    pub fn log_name(&self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::BeforeMethodOnly => "before-method-only",
            Self::AfterMethodOnly => "after-method-only",
            Self::DuringMethodOnly => "during-method-only",
            Self::Continuous => "continuous",
            Self::Skip => "skip",
        }
    }

    pub fn before(&self) -> bool {
        matches!(
            self,
            Self::Default | Self::BeforeMethodOnly | Self::Continuous
        )
    }

    pub fn during(&self) -> bool {
        matches!(self, Self::DuringMethodOnly | Self::Continuous)
    }

    pub fn after(&self) -> bool {
        matches!(
            self,
            Self::Default | Self::AfterMethodOnly | Self::Continuous
        )
    }
}

/// When rollbacks are played. Any other name means "never, silently", as in the reference;
/// that case keeps its name so `Rollbacks strategy: <name>` prints what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackStrategy {
    Default,
    Always,
    Never,
    Deviated,
    Unknown(String),
}

impl RollbackStrategy {
    pub fn parse(s: &str) -> Self {
        match s {
            "default" => Self::Default,
            "always" => Self::Always,
            "never" => Self::Never,
            "deviated" => Self::Deviated,
            other => Self::Unknown(other.to_string()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Default => "default",
            Self::Always => "always",
            Self::Never => "never",
            Self::Deviated => "deviated",
            Self::Unknown(s) => s,
        }
    }
}

/// `--dry` modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dry {
    Probes,
    Actions,
    Activities,
    Pause,
}

impl Dry {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "probes" => Self::Probes,
            "actions" => Self::Actions,
            "activities" => Self::Activities,
            "pause" => Self::Pause,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Probes => "probes",
            Self::Actions => "actions",
            Self::Activities => "activities",
            Self::Pause => "pause",
        }
    }

    /// Whether an activity of this type is skipped (not executed) under this mode.
    pub fn skips(&self, activity_type: &str) -> bool {
        match self {
            Self::Probes => activity_type == "probe",
            Self::Actions => activity_type == "action",
            Self::Activities => true,
            Self::Pause => false,
        }
    }
}
