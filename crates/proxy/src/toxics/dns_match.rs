//! What every DNS toxic (`dns_*`, on `"protocol": "dns"` proxies) shares: the `names`
//! attribute, a comma-separated list of name patterns, and how a query's name matches it.
//!
//! A pattern is an exact name (`api.example.com`) or a wildcard (`*.example.com`, every
//! name *under* example.com at any depth, not example.com itself); `*` alone, or an empty
//! `names`, matches every name. Matching ignores ASCII case and a trailing dot on either
//! side, as DNS does. Only the query's first question is matched (stub resolvers send
//! one).
//!
//! Several toxics may match one query; the proxy ranks them by [`Specificity`] (an exact
//! name beats a wildcard, a longer wildcard suffix beats a shorter one, `*` comes last,
//! ties go to the toxic added first). See `crate::dns` for how the ranking is used.

use serde_json::{Map, Value};

use super::Attrs;

/// One pattern of `names`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Every name.
    Any,
    /// Exactly this name (lower case, no trailing dot).
    Exact(String),
    /// Names ending in `.suffix` (the suffix in lower case, no trailing dot).
    Under(String),
}

/// How closely a pattern matched a name: higher is more specific.
pub type Specificity = u32;

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
        if t.is_empty() || t == "*" {
            return Ok(Pattern::Any);
        }
        let (wild, body) = match t.strip_prefix("*.") {
            Some(rest) => (true, rest.to_string()),
            None => (false, t.clone()),
        };
        let valid = !body.is_empty()
            && body.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'*' && b != b',')
            })
            && body.len() <= 253;
        if !valid {
            return Err(format!(
                "invalid name pattern {text:?} in attribute names: use a name \
                 (api.example.com), a wildcard (*.example.com) or * for every name"
            ));
        }
        Ok(if wild {
            Pattern::Under(body)
        } else {
            Pattern::Exact(body)
        })
    }

    /// Whether `name` (lower case, no trailing dot) matches, and how specifically.
    pub fn matches(&self, name: &str) -> Option<Specificity> {
        match self {
            Pattern::Any => Some(0),
            Pattern::Exact(n) => (n == name).then_some(u32::MAX),
            Pattern::Under(suffix) => {
                let under = name.len() > suffix.len() + 1
                    && name.ends_with(suffix.as_str())
                    && name.as_bytes()[name.len() - suffix.len() - 1] == b'.';
                // More labels in the suffix: more specific (1 + label count, below exact).
                under.then(|| 1 + suffix.split('.').count() as u32)
            }
        }
    }
}

/// The `names` attribute: the text as given (echoed back by the API) and its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMatch {
    pub names: String,
    pub patterns: Vec<Pattern>,
}

impl Default for DnsMatch {
    fn default() -> Self {
        DnsMatch {
            names: String::new(),
            patterns: vec![Pattern::Any],
        }
    }
}

impl DnsMatch {
    pub fn merge(&mut self, a: &Attrs) -> Result<(), String> {
        let mut names = self.names.clone();
        a.string("names", &mut names)?;
        if names != self.names {
            let patterns = if names.trim().is_empty() {
                vec![Pattern::Any]
            } else {
                names
                    .split(',')
                    .map(|p| match p.trim() {
                        "" => Err(format!(
                            "empty name pattern in attribute names {names:?}: separate \
                             patterns with single commas"
                        )),
                        p => Pattern::parse(p),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            self.names = names;
            self.patterns = patterns;
        }
        Ok(())
    }

    pub fn write(&self, m: &mut Map<String, Value>) {
        m.insert("names".into(), self.names.clone().into());
    }

    /// The best specificity among the patterns matching `name`, if any does. `name` is
    /// as `wire::Question::name` gives it (lower case, no trailing dot).
    pub fn matches(&self, name: &str) -> Option<Specificity> {
        let name = name.trim_end_matches('.');
        self.patterns.iter().filter_map(|p| p.matches(name)).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(text: &str) -> Result<DnsMatch, String> {
        let mut m = DnsMatch::default();
        let obj = json!({ "names": text });
        let map = obj.as_object().expect("object");
        m.merge(&Attrs(map)).map(|()| m)
    }

    #[test]
    fn exact_is_case_insensitive_and_trailing_dot_tolerant() {
        let m = names("API.Example.com.").expect("names");
        assert!(m.matches("api.example.com").is_some());
        assert!(m.matches("api.example.com.").is_some());
        assert!(m.matches("www.api.example.com").is_none());
        assert!(m.matches("example.com").is_none());
    }

    #[test]
    fn wildcard_matches_below_only_at_any_depth() {
        let m = names("*.example.com").expect("names");
        assert!(m.matches("a.example.com").is_some());
        assert!(m.matches("a.b.example.com").is_some());
        assert!(m.matches("example.com").is_none());
        assert!(m.matches("badexample.com").is_none());
        assert!(m.matches("example.com.evil").is_none());
    }

    #[test]
    fn empty_and_star_match_everything_least_specifically() {
        assert_eq!(DnsMatch::default().matches("anything.at.all"), Some(0));
        assert_eq!(names("*").expect("names").matches(""), Some(0));
        assert_eq!(names(" ").expect("names").matches("x"), Some(0));
    }

    #[test]
    fn specificity_orders_exact_long_suffix_short_suffix_any() {
        let exact = names("a.b.example.com")
            .expect("n")
            .matches("a.b.example.com");
        let long = names("*.b.example.com")
            .expect("n")
            .matches("a.b.example.com");
        let short = names("*.com").expect("n").matches("a.b.example.com");
        let any = names("*").expect("n").matches("a.b.example.com");
        assert!(
            exact > long && long > short && short > any,
            "{exact:?} {long:?} {short:?} {any:?}"
        );
        // A list takes its best match.
        let list = names("*.com, a.b.example.com").expect("n");
        assert_eq!(list.matches("a.b.example.com"), exact);
    }

    #[test]
    fn bad_patterns_are_refused_naming_the_attribute() {
        for bad in [
            "a*.example.com",
            "*.x*y",
            "a..b",
            "*.*.com",
            "x,,y",
            &"a".repeat(64),
        ] {
            let e = names(bad).expect_err(bad);
            assert!(e.contains("attribute names"), "{e}");
        }
        let e = names("ok.test").map(|_| ()).and_then(|_| {
            let mut m = DnsMatch::default();
            let v = json!({"names": 5});
            m.merge(&Attrs(v.as_object().expect("o")))
        });
        assert!(e.is_err());
    }
}
