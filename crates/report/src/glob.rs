//! The journal argument as a glob, as the reference's `glob.glob(journal)`: wildcards
//! (`*`, `?`, `[abc]`, `[!abc]`) in the last path component. A small matcher rather than
//! a dependency: one directory listing and a backtracking match.

use crate::ReportError;
use std::path::{Path, PathBuf};

/// Whether `s` holds a wildcard.
pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files matching `pattern`, sorted.
pub fn expand(pattern: &str) -> Result<Vec<PathBuf>, ReportError> {
    let path = Path::new(pattern);
    let (dir, name) = match (path.parent(), path.file_name().and_then(|n| n.to_str())) {
        (Some(d), Some(n)) => (d, n),
        _ => {
            return Err(ReportError::BadGlob {
                pattern: pattern.into(),
                reason: "it names no file".into(),
            })
        }
    };
    if dir.to_str().is_some_and(is_glob) {
        return Err(ReportError::BadGlob {
            pattern: pattern.into(),
            reason: "wildcards are supported in the file name only, not in directories".into(),
        });
    }
    let pat: Vec<char> = name.chars().collect();
    check(&pat).map_err(|reason| ReportError::BadGlob {
        pattern: pattern.into(),
        reason: reason.into(),
    })?;
    let listed = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let entries = match std::fs::read_dir(listed) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(ReportError::Io {
                file: listed.to_path_buf(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(n) = file_name.to_str() else {
            continue;
        };
        // As Python's glob: hidden files only match a pattern starting with a dot.
        if n.starts_with('.') && !name.starts_with('.') {
            continue;
        }
        let chars: Vec<char> = n.chars().collect();
        if matches(&pat, &chars) && entry.path().is_file() {
            out.push(dir.join(n));
        }
    }
    out.sort();
    Ok(out)
}

fn check(pat: &[char]) -> Result<(), &'static str> {
    let mut i = 0;
    while i < pat.len() {
        if pat[i] == '[' {
            match pat[i + 1..].iter().position(|&c| c == ']') {
                Some(p) if p > 0 => i += p + 1,
                _ => return Err("a `[` has no closing `]`"),
            }
        }
        i += 1;
    }
    Ok(())
}

/// Whether `name` matches `pat` (iterative, with one backtrack point for `*`: linear-ish).
fn matches(pat: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(pat, p, name[n]) {
                        if ok {
                            p = next;
                            n += 1;
                            continue;
                        }
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `pat[p] == '['`: (matched, index after `]`).
fn class(pat: &[char], p: usize, c: char) -> Option<(bool, usize)> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut found = false;
    while i < pat.len() && (pat[i] != ']' || i == start) {
        if pat.get(i + 1) == Some(&'-') && pat.get(i + 2).is_some_and(|&e| e != ']') {
            if pat[i] <= c && c <= pat[i + 2] {
                found = true;
            }
            i += 3;
        } else {
            if pat[i] == c {
                found = true;
            }
            i += 1;
        }
    }
    (i < pat.len()).then_some((found != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        matches(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards_match_as_python_fnmatch() {
        assert!(m("*.json", "journal.json"));
        assert!(!m("*.json", "journal.json.bak"));
        assert!(m("j?.json", "j1.json"));
        assert!(m("j[0-9].json", "j7.json"));
        assert!(!m("j[!0-9].json", "j7.json"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b", "xxaxxbxxc"));
        assert!(m("*", ""));
    }

    #[test]
    fn bad_classes_are_errors() {
        assert!(expand("dir/j[.json").is_err());
        assert!(expand("d*/j.json").is_err());
    }
}
