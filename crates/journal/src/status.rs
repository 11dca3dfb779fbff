//! The run's status and an activity's status.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// How a run ended: the journal's top-level `status`.
///
/// A value this crate does not know is kept as [`Status::Other`], so reading a journal
/// from a newer or different engine never fails on it and writes it back unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// `"completed"`: everything ran (failed method activities allowed); see also `deviated`.
    Completed,
    /// `"failed"`: a hypothesis probe errored, or the continuous hypothesis failed fast.
    Failed,
    /// `"aborted"`: an unexpected error in the method.
    Aborted,
    /// `"interrupted"`: a signal or a control interrupted the run.
    Interrupted,
    /// Any other string.
    Other(String),
}

impl Status {
    /// The text written in the journal.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::Interrupted => "interrupted",
            Status::Other(s) => s,
        }
    }
}

impl From<&str> for Status {
    fn from(s: &str) -> Self {
        match s {
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            "aborted" => Status::Aborted,
            "interrupted" => Status::Interrupted,
            other => Status::Other(other.to_string()),
        }
    }
}

impl From<String> for Status {
    fn from(s: String) -> Self {
        match Status::from(s.as_str()) {
            Status::Other(_) => Status::Other(s),
            known => known,
        }
    }
}

/// The outcome of one activity: a run record's `status`.
///
/// An interrupted activity's record has no `status` key at all (see
/// [`Run::status`](crate::Run::status)); unknown values are kept as
/// [`ActivityStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActivityStatus {
    /// `"succeeded"`: the provider returned (whatever its output, e.g. a non-zero exit code).
    Succeeded,
    /// `"failed"`: the provider raised `ActivityFailed`; the record has an `exception`.
    Failed,
    /// Any other string.
    Other(String),
}

impl ActivityStatus {
    /// The text written in the journal.
    pub fn as_str(&self) -> &str {
        match self {
            ActivityStatus::Succeeded => "succeeded",
            ActivityStatus::Failed => "failed",
            ActivityStatus::Other(s) => s,
        }
    }
}

impl From<&str> for ActivityStatus {
    fn from(s: &str) -> Self {
        match s {
            "succeeded" => ActivityStatus::Succeeded,
            "failed" => ActivityStatus::Failed,
            other => ActivityStatus::Other(other.to_string()),
        }
    }
}

impl From<String> for ActivityStatus {
    fn from(s: String) -> Self {
        match ActivityStatus::from(s.as_str()) {
            ActivityStatus::Other(_) => ActivityStatus::Other(s),
            known => known,
        }
    }
}

macro_rules! string_enum_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(<$t>::from)
            }
        }
    };
}

string_enum_impls!(Status);
string_enum_impls!(ActivityStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_other_values() {
        for s in ["completed", "failed", "aborted", "interrupted"] {
            assert_eq!(Status::from(s).as_str(), s);
            assert!(!matches!(Status::from(s), Status::Other(_)));
        }
        assert_eq!(Status::from("deviated"), Status::Other("deviated".into()));
        assert_eq!(Status::from("Completed"), Status::Other("Completed".into()));
        assert_eq!(
            ActivityStatus::from(String::from("skipped")).to_string(),
            "skipped"
        );
        assert_eq!(ActivityStatus::from("failed"), ActivityStatus::Failed);
    }
}
