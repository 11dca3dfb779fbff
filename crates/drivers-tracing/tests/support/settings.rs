//! What the exporter tests share: settings from a list of variables, and ended spans.

use drivers_tracing::config::Config;
use drivers_tracing::span::Span;

/// The exporter's settings from `base` and then `extra` variables (the first of a name
/// wins, so `extra` cannot override `base`).
pub fn config_from(base: &[(&str, &str)], extra: &[(&str, &str)]) -> Config {
    let vars: Vec<(String, String)> = base
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
}

/// A span named `name`, started and ended now.
pub fn ended(name: &str) -> Span {
    let mut s = Span::start(name, None);
    s.end();
    s
}
