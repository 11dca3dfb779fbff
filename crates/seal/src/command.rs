//! What `chaos seal <mode>` (and `powerfulseal <mode>`) does and prints, apart from
//! parsing its flags (the CLI's job).
//!
//! The output and exit codes are PowerfulSeal 3's where it has them: `validate` prints
//! `OK` on standard output and exits 0, or logs why and prints `Policy not valid. See log
//! output above.` and exits 1. Where upstream logs a `jsonschema` error and a dump of the
//! policy, Shakedown logs one line naming the file, line, column, path and the fix.
//! `autonomous` and `label` are not built yet: they exit [`NOT_IMPLEMENTED`] (after
//! `autonomous` has checked its policy, so an invalid one still exits 1 as upstream).

use std::io::Write;
use std::path::Path;

use crate::LoadError;

/// The exit code of a mode Shakedown does not run yet (`autonomous`, `label`).
pub const NOT_IMPLEMENTED: u8 = 3;
/// What upstream prints under an invalid policy.
pub const NOT_VALID: &str = "Policy not valid. See log output above.";

/// `validate --policy-file PATH`.
pub fn validate(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match crate::load_file(path) {
        Ok(checked) => {
            for notice in &checked.notices {
                let _ = writeln!(err, "WARNING {}: {notice}", path.display());
            }
            let _ = writeln!(out, "OK");
            0
        }
        Err(e) => {
            report(&e, err);
            let _ = writeln!(out, "{NOT_VALID}");
            1
        }
    }
}

fn report(e: &LoadError, err: &mut dyn Write) {
    let _ = writeln!(err, "ERROR {e}");
    if let LoadError::Invalid(_) = e {
        let _ = writeln!(
            err,
            "ERROR the policy schema is PowerfulSeal {}'s; docs/seal.md describes every key",
            crate::UPSTREAM_VERSION
        );
    }
}

/// `autonomous --policy-file PATH …`: checks the policy, then says the runner is not
/// built yet.
pub fn autonomous(path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match crate::load_file(path) {
        Ok(checked) => {
            for notice in &checked.notices {
                let _ = writeln!(err, "WARNING {}: {notice}", path.display());
            }
            let _ = writeln!(
                err,
                "ERROR the policy is valid ({} scenarios), but Shakedown cannot run PowerfulSeal policies yet (autonomous mode is not implemented); exit code {NOT_IMPLEMENTED}",
                checked.policy.scenarios.len()
            );
            NOT_IMPLEMENTED
        }
        Err(e) => {
            report(&e, err);
            let _ = writeln!(out, "{NOT_VALID}");
            1
        }
    }
}

/// `label …`: not built yet.
pub fn label(err: &mut dyn Write) -> u8 {
    let _ = writeln!(
        err,
        "ERROR Shakedown cannot run PowerfulSeal's label mode yet (not implemented); exit code {NOT_IMPLEMENTED}"
    );
    NOT_IMPLEMENTED
}

/// Flags of upstream's that ask for what is out of scope (a cloud driver, SSH): the
/// message for the first one given, if any.
pub fn out_of_scope(flags: &[(&str, bool)]) -> Option<String> {
    flags.iter().find(|(_, given)| *given).map(|(flag, _)| {
        format!(
            "{flag}: PowerfulSeal's cloud drivers and SSH execution are out of scope in Shakedown (Kubernetes only); drop the flag"
        )
    })
}

/// The program name that makes `chaos` behave as `chaos seal` (a link named so).
pub const DROPIN_NAME: &str = "powerfulseal";
