//! Any bytes as a settings file, and any key for `chaos settings get/set/remove`: a value or
//! a clear error, never a panic.
#![no_main]

use engine::settings::{locate, parse_document, parse_value, remove_entry, set_entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The first line is the key (and a value), the rest the settings document.
    let (key, document) = text.split_once('\n').unwrap_or((&text, ""));
    let loaded = parse_document(document, "fuzz.yaml");
    let _ = parse_value(key);
    if let Ok(found) = locate(&loaded.settings, key) {
        let mut settings = loaded.settings.clone();
        let _ = set_entry(&mut settings, &found.steps, found.entry.clone());
        let _ = remove_entry(&mut settings, &found.steps);
    }
});
