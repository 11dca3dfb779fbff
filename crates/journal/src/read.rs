//! Reading typed values out of `serde_json::Value`s, with the path of the key in errors.

use crate::{Field, JournalError};
use serde_json::{Number, Value};
use std::fmt;

/// Where a value sits in the journal; rendered only when an error is reported.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("(top level)"),
            Path::Key(Path::Root, k) => f.write_str(k),
            Path::Key(parent, k) => write!(f, "{parent}.{k}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// "a string", "an object"... for error messages (also the proxy's, as
/// `journal::json_kind`).
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong(path: Path<'_>, expected: &'static str, found: &Value) -> JournalError {
    JournalError::WrongType {
        file: None,
        path: path.to_string(),
        expected,
        found: kind(found),
    }
}

/// A value of a given type, read from JSON (never `null`: [`Slot`] handles that).
pub(crate) trait ReadJson: Sized {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError>;
}

impl ReadJson for String {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::String(s) => Ok(s),
            other => Err(wrong(path, "a string", &other)),
        }
    }
}

impl ReadJson for bool {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(wrong(path, "a boolean", &other)),
        }
    }
}

impl ReadJson for Number {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::Number(n) => Ok(n),
            other => Err(wrong(path, "a number", &other)),
        }
    }
}

impl<T: ReadJson> ReadJson for Vec<T> {
    fn read_json(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, x)| T::read_json(x, path.index(i)))
                .collect(),
            other => Err(wrong(path, "an array", &other)),
        }
    }
}

/// How one key of an object is read and whether it is written: [`Field`] (absent, `null`
/// or a typed value), `Option<Value>` (absent or any JSON) and `Value` (always there).
pub(crate) trait Slot: Sized {
    fn read_slot(v: Value, path: Path<'_>) -> Result<Self, JournalError>;
    fn present(&self) -> bool;
}

impl<T: ReadJson> Slot for Field<T> {
    fn read_slot(v: Value, path: Path<'_>) -> Result<Self, JournalError> {
        match v {
            Value::Null => Ok(Field::Null),
            v => T::read_json(v, path).map(Field::Value),
        }
    }

    fn present(&self) -> bool {
        self.is_present()
    }
}

impl Slot for Option<Value> {
    fn read_slot(v: Value, _: Path<'_>) -> Result<Self, JournalError> {
        Ok(Some(v))
    }

    fn present(&self) -> bool {
        self.is_some()
    }
}

impl Slot for Value {
    fn read_slot(v: Value, _: Path<'_>) -> Result<Self, JournalError> {
        Ok(v)
    }

    fn present(&self) -> bool {
        true
    }
}
