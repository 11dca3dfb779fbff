//! Any bytes: loading as JSON and YAML, then validating and listing unknown keys, must
//! never panic or overflow.
#![no_main]

use experiment::load::{parse, Format};
use experiment::validate::validate;
use experiment::vars::Overrides;
use experiment::EmptyCatalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for format in [Format::Json, Format::Yaml] {
        if let Ok(loaded) = parse(&text, format, "fuzz") {
            let _ = validate(&loaded.value, &EmptyCatalog, &Overrides::default());
            let _ = experiment::keys::unknown_keys(&loaded.value);
            let _ = loaded.positions.get("");
        }
    }
});
