//! Any bytes as an experiment served from a URL, with the content types servers send:
//! loading then validating must never panic or overflow.
#![no_main]

use experiment::load::parse_by_content_type;
use experiment::validate::validate;
use experiment::vars::Overrides;
use experiment::EmptyCatalog;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("application/x-yaml"),
    Some("text/yaml"),
    Some("text/plain"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let content_type = CONTENT_TYPES[usize::from(first) % CONTENT_TYPES.len()];
    if let Ok(loaded) = parse_by_content_type(&text, content_type, "http://127.0.0.1/e") {
        let _ = validate(&loaded.value, &EmptyCatalog, &Overrides::default());
    }
});
