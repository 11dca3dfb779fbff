//! Go's `flag` package syntax, which both Toxiproxy binaries use (toxiproxy-server
//! directly, toxiproxy-cli through urfave/cli v2, one flag set per command level).
//!
//! Why a parser of our own rather than clap: scripts written for the Go binaries rely on
//! Go's rules, which clap does not follow. One or two dashes are the same (`-host` =
//! `--host`, so urfave's one-letter aliases also work as `--a latency=250`, the form the
//! book uses); a value comes as `-flag=value` or as the next argument; a boolean takes a
//! value only through `=`; parsing stops at the first non-flag argument (flags after a
//! positional argument are positional) or after `--`; `-h`/`-help`, when not defined,
//! ask for help. Errors carry Go's exact messages, which the callers print.

use std::collections::HashMap;

/// What a flag takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string; the last occurrence wins.
    Str,
    /// A boolean: `-flag`, `-flag=true|false|1|0|t|f|…`.
    Bool,
    /// A string that may be repeated (urfave's `StringSliceFlag`).
    Slice,
}

/// One flag: its names (the first is the canonical one) and kind.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    pub names: &'static [&'static str],
    pub kind: Kind,
}

/// Go's `flag` errors, displayed with Go's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("flag provided but not defined: -{0}")]
    Undefined(String),
    #[error("flag needs an argument: -{0}")]
    NeedsArgument(String),
    #[error("bad flag syntax: {0}")]
    BadSyntax(String),
    #[error("invalid boolean value {value:?} for -{name}: parse error")]
    BadBool { value: String, name: String },
    /// `-h` or `-help` given and not defined (Go's `flag.ErrHelp`).
    #[error("flag: help requested")]
    Help,
}

/// The result of parsing one flag set.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// Canonical name → every value given, in order (booleans as `true`/`false`).
    values: HashMap<&'static str, Vec<String>>,
    /// What follows the flags.
    pub args: Vec<String>,
}

impl Parsed {
    /// The last value of a string flag, or "" when absent (urfave's `c.String`).
    pub fn string(&self, name: &str) -> String {
        self.values
            .get(name)
            .and_then(|v| v.last().cloned())
            .unwrap_or_default()
    }

    /// Whether a string flag was given at all.
    pub fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// A boolean flag's last value (false when absent).
    pub fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|v| v == "true")
    }

    /// Every value of a repeatable flag.
    pub fn slice(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parses `args` (without the program or command name) as Go's `FlagSet.Parse` does.
pub fn parse(flags: &[Flag], args: &[String]) -> Result<Parsed, FlagError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let s = &args[i];
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut dashes = 1;
        if s.as_bytes()[1] == b'-' {
            dashes = 2;
            if s.len() == 2 {
                i += 1;
                break;
            }
        }
        let body = &s[dashes..];
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            return Err(FlagError::BadSyntax(s.clone()));
        }
        i += 1;
        // Go looks for '=' from the second character on.
        let (name, value) = match body.char_indices().skip(1).find(|&(_, c)| c == '=') {
            Some((at, _)) => (&body[..at], Some(body[at + 1..].to_string())),
            None => (body, None),
        };
        let Some(flag) = flags.iter().find(|f| f.names.contains(&name)) else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Undefined(name.to_string()));
        };
        let canonical = flag.names[0];
        let value = match flag.kind {
            Kind::Bool => match value {
                None => "true".to_string(),
                Some(v) => match parse_bool(&v) {
                    Some(b) => b.to_string(),
                    None => {
                        return Err(FlagError::BadBool {
                            value: v,
                            name: name.to_string(),
                        })
                    }
                },
            },
            Kind::Str | Kind::Slice => match value {
                Some(v) => v,
                None if i < args.len() => {
                    i += 1;
                    args[i - 1].clone()
                }
                None => return Err(FlagError::NeedsArgument(name.to_string())),
            },
        };
        parsed.values.entry(canonical).or_default().push(value);
    }
    parsed.args = args[i..].to_vec();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        Flag {
            names: &["attribute", "a"],
            kind: Kind::Slice,
        },
        Flag {
            names: &["type", "t"],
            kind: Kind::Str,
        },
        Flag {
            names: &["upstream", "u"],
            kind: Kind::Bool,
        },
    ];

    fn p(args: &[&str]) -> Result<Parsed, FlagError> {
        parse(
            FLAGS,
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn one_or_two_dashes_and_both_value_forms() {
        let r = p(&[
            "--a",
            "latency=250",
            "-a=jitter=5",
            "--type=latency",
            "-u",
            "db",
        ])
        .unwrap();
        assert_eq!(r.slice("attribute"), ["latency=250", "jitter=5"]);
        assert_eq!(r.string("type"), "latency");
        assert!(r.bool("upstream"));
        assert_eq!(r.args, ["db"]);
    }

    #[test]
    fn parsing_stops_at_the_first_positional_and_after_double_dash() {
        let r = p(&["db", "-t", "latency"]).unwrap();
        assert_eq!(r.args, ["db", "-t", "latency"]);
        assert_eq!(r.string("type"), "");
        let r = p(&["--", "-t"]).unwrap();
        assert_eq!(r.args, ["-t"]);
        let r = p(&["-", "x"]).unwrap();
        assert_eq!(r.args, ["-", "x"]);
    }

    #[test]
    fn go_error_messages() {
        let msg = |a: &[&str]| p(a).unwrap_err().to_string();
        assert_eq!(msg(&["--zzz"]), "flag provided but not defined: -zzz");
        assert_eq!(msg(&["-t"]), "flag needs an argument: -t");
        assert_eq!(msg(&["---x"]), "bad flag syntax: ---x");
        assert_eq!(msg(&["-=x"]), "bad flag syntax: -=x");
        assert_eq!(
            msg(&["-u=maybe"]),
            "invalid boolean value \"maybe\" for -u: parse error"
        );
        assert_eq!(p(&["-h"]).unwrap_err(), FlagError::Help);
        assert_eq!(p(&["--help"]).unwrap_err(), FlagError::Help);
        // A boolean never takes the next argument as its value.
        let r = p(&["-u", "false"]).unwrap();
        assert!(r.bool("upstream"));
        assert_eq!(r.args, ["false"]);
        assert!(!p(&["-u=false"]).unwrap().bool("upstream"));
    }
}
