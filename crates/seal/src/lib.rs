//! PowerfulSeal 3.3 policies, natively: the policy file's schema as types
//! ([`policy`]), its strict validation with the path and line of every mistake
//! ([`schema`]), and the commands `chaos seal …` and the `powerfulseal` drop-in run
//! ([`command`]).
//!
//! Why here: PowerfulSeal has been unmaintained since 2021, its schema and code disagree
//! on defaults, and its validation answers a typo with one `jsonschema` error that names
//! neither the line nor the fix. The book's policies (`powerfulseal autonomous
//! --policy-file experiment1b.yml`) should keep working from the one `chaos` binary.
//! This crate owns the policy language and its runner ([`run`]: `autonomous` mode),
//! which reads [`policy::Policy`] and reuses `drivers-k8s`'s client plumbing rather than
//! duplicate it. docs/seal.md is the user's page; docs/compatibility.md lists every
//! difference from upstream.

pub mod command;
pub mod policy;
pub mod run;
pub mod schema;

use std::path::Path;

use experiment::Value;

pub use schema::{Checked, Notice, PolicyError};

/// The upstream release whose schema this follows.
pub const UPSTREAM_VERSION: &str = "3.3.0";

/// Why a policy file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read the policy file: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the policy file is not UTF-8 text")]
    NotText { path: String },
    #[error("{path}{}: not valid YAML: {message}", at(*.line, *.column))]
    Yaml {
        path: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error("{0}")]
    Invalid(#[source] PolicyError),
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Reads, parses and checks the policy file at `path` (at most 32 MiB, as experiments).
pub fn load_file(path: &Path) -> Result<Checked, LoadError> {
    let shown = path.display().to_string();
    let bytes = experiment::load::read_document(path, experiment::load::MAX_DOCUMENT_BYTES)
        .map_err(|source| LoadError::Read {
            path: shown.clone(),
            source,
        })?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotText {
        path: shown.clone(),
    })?;
    load_str(&text, &shown)
}

/// Parses and checks a policy's text; `origin` names it in messages.
pub fn load_str(text: &str, origin: &str) -> Result<Checked, LoadError> {
    load_str_with(text, origin, Vec::new())
}

/// [`load_str`] with `extra` scenarios appended to the file's (the `spec`s of the
/// cluster's `Scenario` resources, as upstream's `read_policy` extends the file's list),
/// checked together.
pub fn load_str_with(text: &str, origin: &str, extra: Vec<Value>) -> Result<Checked, LoadError> {
    let (mut document, positions) =
        experiment::yaml::parse_yaml(text).map_err(|e| LoadError::Yaml {
            path: origin.to_string(),
            line: e.line,
            column: e.column,
            message: e
                .message
                .strip_prefix(experiment::yaml::YAML_ERROR_PREFIX)
                .unwrap_or(&e.message)
                .to_string(),
        })?;
    if !extra.is_empty() {
        if let Value::Object(map) = &mut document {
            let list = map
                .entry("scenarios")
                .or_insert_with(|| Value::Array(Vec::new()));
            if list.is_null() {
                *list = Value::Array(Vec::new());
            }
            if let Value::Array(items) = list {
                items.extend(extra);
            }
        }
    }
    schema::check(&document, &positions).map_err(|mut e| {
        e.origin = origin.to_string();
        LoadError::Invalid(e)
    })
}
