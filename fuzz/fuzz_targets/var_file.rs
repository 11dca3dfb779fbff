//! Any bytes as a `--var-file` (`.env`, YAML, JSON or another name) and as a `--var`: an
//! error or overrides, never a panic; `.env` pairs can always be set in the environment.
#![no_main]

use experiment::vars::{parse_var, parse_var_file, VarFile};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const NAMES: [&str; 5] = ["vars.env", "vars.yaml", "vars.json", ".env", "vars.txt"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let name = NAMES[usize::from(first) % NAMES.len()];
    if let Ok(VarFile::DotEnv(pairs)) = parse_var_file(Path::new(name), &text) {
        for (key, value) in pairs {
            // What `std::env::set_var` refuses (and panics on).
            assert!(!key.is_empty() && !key.contains(['=', '\0']), "bad key");
            assert!(!value.contains('\0'), "bad value");
        }
    }
    let _ = parse_var(&text);
});
