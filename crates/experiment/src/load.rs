//! Reading an experiment's source text into a [`Value`] tree, remembering where each node
//! came from so that errors can point at a line and column (the reference cannot).

use std::collections::HashMap;
use std::fmt;

use crate::Value;

/// Deepest nesting accepted in a document. serde_json stops at 128 levels; YAML uses the
/// same bound so that neither parsing nor dropping a tree can overflow the stack.
pub const MAX_DEPTH: usize = 128;

/// The two source syntaxes the reference accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

/// A parsed document and the positions of its nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub value: Value,
    pub positions: Positions,
}

/// Line/column (1-based) of every node, keyed by field path (`method[0].provider.url`,
/// `title`, `""` for the root). A mapping entry is located at its key (where a reader
/// looks); a sequence item and the root at the start of the node. Nodes reached through
/// YAML aliases or merge keys have no position of their own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    map: HashMap<String, (usize, usize)>,
}

impl Positions {
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.map.get(path).copied()
    }

    /// The position of `path`, or of its nearest ancestor that has one: a missing key is
    /// reported on the mapping that lacks it.
    pub fn nearest(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.get(p) {
                return Some(pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// Records the first position seen for `path` (a duplicate key keeps the first place,
    /// as Python's dict keeps the first insertion slot).
    pub fn insert(&mut self, path: String, line: usize, column: usize) {
        self.map.entry(path).or_insert((line, column));
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// The path of `key` inside the mapping at `parent`. Keys that would make the path
/// ambiguous (dots, brackets, spaces, empty) are written `parent["key"]`.
pub fn key_path(parent: &str, key: &str) -> String {
    if is_plain_key(key) {
        if parent.is_empty() {
            key.to_string()
        } else {
            format!("{parent}.{key}")
        }
    } else {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("\"{key}\""));
        format!("{parent}[{quoted}]")
    }
}

/// The path of item `index` inside the sequence at `parent`.
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The enclosing node's path (`""` for top-level keys).
pub fn parent_path(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                last = i;
                i += 1;
            }
            b'[' => {
                last = i;
                i += 1;
                if bytes.get(i) == Some(&b'"') {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
                while i < bytes.len() && bytes[i] != b']' {
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    path.get(..last).unwrap_or("")
}

/// An experiment that could not be read. `origin` (the file name or URL) is filled in by
/// the caller when the parser does not know it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct LoadError {
    pub origin: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl LoadError {
    pub fn new(message: impl Into<String>) -> Self {
        LoadError {
            origin: String::new(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub fn with_origin(mut self, origin: &str) -> Self {
        self.origin = origin.to_string();
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if !self.origin.is_empty() {
            parts.push(self.origin.clone());
        }
        if let Some(line) = self.line {
            parts.push(line.to_string());
            if let Some(col) = self.column {
                parts.push(col.to_string());
            }
        }
        if parts.is_empty() {
            return f.write_str(&self.message);
        }
        // Keep the reference's wording first, so scripts matching it still work.
        match self.message.strip_prefix(crate::yaml::YAML_ERROR_PREFIX) {
            Some(detail) => write!(
                f,
                "{}{}: {detail}",
                crate::yaml::YAML_ERROR_PREFIX,
                parts.join(":")
            ),
            None => write!(f, "{}: {}", parts.join(":"), self.message),
        }
    }
}

/// The reference's message for a source it does not know how to parse.
/// The most Shakedown reads from a local document: an experiment, a settings file, a var
/// file, a control file (32 MiB, the cap of a URL source and of YAML alias expansion). A
/// bigger file is almost surely not the one meant (a log, a disk image, `/dev/zero`), and
/// reading it whole would take the machine's memory.
pub const MAX_DOCUMENT_BYTES: u64 = 32 * 1024 * 1024;

/// Reads a local document, at most `limit` bytes: a larger file (or an endless one, such as
/// a device or a FIFO) is an `InvalidData` error that says so, without reading it all.
pub fn read_document(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is larger than {} MiB, the most Shakedown reads from one document (is it the right file?)",
                limit / (1024 * 1024)
            ),
        )
    };
    let file = std::fs::File::open(path)?;
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > limit)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

pub const UNSUPPORTED_SOURCE: &str = "only files with json, yaml or yml extensions are supported";

/// By extension, as Python's `os.path.splitext` sees it (case-sensitive; a leading dot
/// of the file name is not an extension).
pub fn format_from_path(path: &str) -> Result<Format, LoadError> {
    let name = path
        .rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(path);
    let stem = name.trim_start_matches('.');
    let ext = stem.rfind('.').map(|i| &stem[i..]).unwrap_or("");
    match ext {
        ".json" => Ok(Format::Json),
        ".yaml" | ".yml" => Ok(Format::Yaml),
        _ => Err(LoadError::new(UNSUPPORTED_SOURCE).with_origin(path)),
    }
}

/// Parses `text` as `format`. A top-level value that is not a mapping is returned as is:
/// validation reports it.
pub fn parse(text: &str, format: Format, origin: &str) -> Result<Loaded, LoadError> {
    match format {
        Format::Yaml => match crate::yaml::parse_yaml(text) {
            Ok((value, positions)) => Ok(Loaded { value, positions }),
            Err(e) => Err(e.with_origin(origin)),
        },
        Format::Json => parse_json(text).map_err(|e| e.with_origin(origin)),
    }
}

/// For experiments fetched over HTTP: JSON when the content type mentions
/// `application/json`, YAML for `application/x-yaml` / `text/yaml`, and for `text/plain`
/// JSON then YAML; anything else is the reference's "unsupported" error.
pub fn parse_by_content_type(
    text: &str,
    content_type: Option<&str>,
    origin: &str,
) -> Result<Loaded, LoadError> {
    let ct = content_type.unwrap_or("");
    if ct.contains("application/json") {
        parse(text, Format::Json, origin)
    } else if ct.contains("application/x-yaml") || ct.contains("text/yaml") {
        parse(text, Format::Yaml, origin)
    } else if ct.contains("text/plain") {
        parse(text, Format::Json, origin)
            .or_else(|_| parse(text, Format::Yaml, origin))
            .map_err(|_| LoadError::new(UNSUPPORTED_SOURCE).with_origin(origin))
    } else {
        Err(LoadError::new(UNSUPPORTED_SOURCE).with_origin(origin))
    }
}

fn parse_json(text: &str) -> Result<Loaded, LoadError> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let positions = json_positions(text);
            Ok(Loaded { value, positions })
        }
        Err(e) => {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            let mut err = LoadError::new(message);
            if e.line() > 0 {
                err = err.at(e.line(), e.column().max(1));
            }
            Err(err)
        }
    }
}

enum JCtx {
    Object { path: String, key: Option<String> },
    Array { path: String, index: usize },
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    col: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) {
        if let Some(c) = self.text[self.pos..].chars().next() {
            self.pos += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.col = 1;
            } else {
                self.col += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// Consumes a string literal and returns its decoded content.
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        self.bump(); // opening quote
        loop {
            match self.peek()? {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        serde_json::from_str::<String>(&self.text[start..self.pos]).ok()
    }

    /// Consumes a number, `true`, `false` or `null`.
    fn scalar(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.bump();
        }
    }
}

/// Positions of a JSON text that serde_json already accepted. Best effort: it stops
/// quietly at anything it does not expect.
fn json_positions(text: &str) -> Positions {
    let mut positions = Positions::default();
    let mut cur = Cursor {
        text,
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut stack: Vec<JCtx> = Vec::new();
    // Expecting a value whose path is `next_path` (None: expecting a key or a closer).
    let mut next_path: Option<String> = Some(String::new());
    loop {
        cur.skip_ws();
        let Some(c) = cur.peek() else { break };
        if let Some(path) = next_path.take() {
            if path.is_empty() && stack.is_empty() {
                positions.insert(String::new(), cur.line, cur.col);
            } else if let Some(JCtx::Array { .. }) = stack.last() {
                positions.insert(path.clone(), cur.line, cur.col);
            }
            match c {
                b'{' => {
                    cur.bump();
                    stack.push(JCtx::Object { path, key: None });
                }
                b'[' => {
                    cur.bump();
                    stack.push(JCtx::Array { path, index: 0 });
                    cur.skip_ws();
                    if cur.peek() == Some(b']') {
                        continue;
                    }
                    if let Some(JCtx::Array { path, .. }) = stack.last() {
                        next_path = Some(index_path(path, 0));
                    }
                }
                b'"' => {
                    if cur.string().is_none() {
                        break;
                    }
                }
                _ => cur.scalar(),
            }
            continue;
        }
        match (c, stack.last_mut()) {
            (b'"', Some(JCtx::Object { path, key })) if key.is_none() => {
                let (line, col) = (cur.line, cur.col);
                let Some(k) = cur.string() else { break };
                let p = key_path(path, &k);
                positions.insert(p.clone(), line, col);
                *key = Some(k);
                cur.skip_ws();
                if cur.peek() != Some(b':') {
                    break;
                }
                cur.bump();
                next_path = Some(p);
            }
            (b',', Some(JCtx::Object { key, .. })) => {
                cur.bump();
                *key = None;
            }
            (b',', Some(JCtx::Array { path, index })) => {
                cur.bump();
                *index += 1;
                next_path = Some(index_path(path, *index));
            }
            (b'}', Some(JCtx::Object { .. })) | (b']', Some(JCtx::Array { .. })) => {
                cur.bump();
                stack.pop();
            }
            _ => break,
        }
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_extension() {
        assert_eq!(format_from_path("a/b.json").unwrap(), Format::Json);
        assert_eq!(format_from_path("b.yml").unwrap(), Format::Yaml);
        assert_eq!(format_from_path("x.y/b.yaml").unwrap(), Format::Yaml);
        let e = format_from_path("b.YAML").unwrap_err();
        assert_eq!(e.message, UNSUPPORTED_SOURCE);
        assert!(format_from_path(".yaml").is_err());
        assert!(format_from_path("yaml").is_err());
        assert!(format_from_path("x.yaml/b").is_err());
    }

    #[test]
    fn json_positions_are_recorded() {
        let text = "{\n  \"title\": \"t\",\n  \"method\": [\n    {\"name\": \"a\", \"provider\": {\"url\": \"u\"}},\n    7\n  ],\n  \"a.b\": {\"x\": [1, [2, 3]]}\n}";
        let l = parse(text, Format::Json, "e.json").unwrap();
        let p = &l.positions;
        assert_eq!(p.get(""), Some((1, 1)));
        assert_eq!(p.get("title"), Some((2, 3)));
        assert_eq!(p.get("method"), Some((3, 3)));
        assert_eq!(p.get("method[0]"), Some((4, 5)));
        assert_eq!(p.get("method[0].name"), Some((4, 6)));
        assert_eq!(p.get("method[0].provider.url"), Some((4, 32)));
        assert_eq!(p.get("method[1]"), Some((5, 5)));
        assert_eq!(p.get("[\"a.b\"].x[1][1]"), Some((7, 24)));
    }

    #[test]
    fn json_error_has_position() {
        let e = parse(
            "{\"title\": \"t\",\n \"description\": }",
            Format::Json,
            "e.json",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.column, Some(17));
        assert_eq!(e.to_string(), "e.json:2:17: expected value");
    }

    #[test]
    fn json_depth_is_bounded() {
        let deep = "[".repeat(100_000);
        let e = parse(&deep, Format::Json, "x.json").unwrap_err();
        assert!(e.message.contains("recursion limit"), "{e}");
    }

    #[test]
    fn display_omits_missing_parts() {
        assert_eq!(LoadError::new("boom").to_string(), "boom");
        assert_eq!(
            LoadError::new("boom").with_origin("f").to_string(),
            "f: boom"
        );
        assert_eq!(LoadError::new("boom").at(3, 4).to_string(), "3:4: boom");
    }

    #[test]
    fn paths() {
        assert_eq!(key_path("", "title"), "title");
        assert_eq!(key_path("method[0]", "provider"), "method[0].provider");
        assert_eq!(key_path("configuration", "a.b"), "configuration[\"a.b\"]");
        assert_eq!(parent_path("method[0].provider.url"), "method[0].provider");
        assert_eq!(parent_path("method[0].provider"), "method[0]");
        assert_eq!(parent_path("method[0]"), "method");
        assert_eq!(parent_path("method"), "");
        assert_eq!(parent_path("configuration[\"a.b\"]"), "configuration");
        assert_eq!(
            parent_path("configuration[\"a.b\"].x"),
            "configuration[\"a.b\"]"
        );
    }

    #[test]
    fn content_type_rules() {
        let j = "{\"a\": 1}";
        let y = "a: 1";
        assert!(parse_by_content_type(j, Some("application/json; charset=utf-8"), "u").is_ok());
        assert!(parse_by_content_type(y, Some("application/json"), "u").is_err());
        assert!(parse_by_content_type(y, Some("text/yaml"), "u").is_ok());
        assert!(parse_by_content_type(y, Some("text/plain"), "u").is_ok());
        let e = parse_by_content_type(y, Some("text/html"), "u").unwrap_err();
        assert_eq!(e.message, UNSUPPORTED_SOURCE);
        assert!(parse_by_content_type(y, None, "u").is_err());
    }
}
