//! [`Field`]: a known key that may be absent, `null`, or a typed value.

use serde::{Serialize, Serializer};

/// The value of one key the journal format defines.
///
/// Journals tell "the key is not there" apart from "the key is `null`": an interrupted
/// activity's record has no `status` key, a background activity abandoned on SIGUSR2 has
/// no `end` and no `duration`, while `steady_states.before` is `null` when no hypothesis
/// ran. `Field` keeps the three cases, so what was read is written back the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Field<T> {
    /// The key is not in the object (it is not written).
    #[default]
    Absent,
    /// The key is present with the value `null`.
    Null,
    /// The key is present with a value.
    Value(T),
}

impl<T> Field<T> {
    /// The value, if there is one (`None` for absent and for `null`).
    pub fn get(&self) -> Option<&T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Absent | Field::Null => None,
        }
    }

    /// The value, mutably, if there is one.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Absent | Field::Null => None,
        }
    }

    /// The value, consuming the field.
    pub fn into_option(self) -> Option<T> {
        match self {
            Field::Value(v) => Some(v),
            Field::Absent | Field::Null => None,
        }
    }

    /// True when the key is not in the object.
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// True when the key is present with `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    /// True when the key is in the object (with `null` or a value).
    pub fn is_present(&self) -> bool {
        !self.is_absent()
    }

    /// `Some(v)` → a value, `None` → `null` (the key is written).
    pub fn or_null(value: Option<T>) -> Self {
        match value {
            Some(v) => Field::Value(v),
            None => Field::Null,
        }
    }

    /// `Some(v)` → a value, `None` → absent (the key is not written).
    pub fn or_absent(value: Option<T>) -> Self {
        match value {
            Some(v) => Field::Value(v),
            None => Field::Absent,
        }
    }

    /// A reference to the value inside.
    pub fn as_ref(&self) -> Field<&T> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(v),
        }
    }
}

impl Field<serde_json::Number> {
    /// A duration in seconds (`null` for NaN or an infinity, which JSON cannot hold).
    pub fn seconds(secs: f64) -> Self {
        Field::or_null(serde_json::Number::from_f64(secs))
    }
}

impl<T> From<T> for Field<T> {
    fn from(value: T) -> Self {
        Field::Value(value)
    }
}

/// `Absent` and `Null` both serialise as `null`; the objects of this crate skip absent
/// keys before they get here.
impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(serializer),
            Field::Absent | Field::Null => serializer.serialize_none(),
        }
    }
}
