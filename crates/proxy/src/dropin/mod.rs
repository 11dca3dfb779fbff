//! Toxiproxy's own binaries, reproduced: `chaos` started through a link named
//! `toxiproxy-cli` or `toxiproxy-server` behaves as that program (2.12), so scripts,
//! container entry points and PowerfulSeal's clone sidecar that call them work unchanged.
//! The CLI crate only looks at its program name and hands over (`program_for`).
//!
//! `goflag` is Go's flag syntax, which both use; `cli` the toxiproxy-cli front end (its
//! commands, help screens, output and errors); `server` the toxiproxy-server front end
//! (flags, usage, zerolog-style log lines) over `chaos proxy serve`'s server.

pub mod cli;
pub mod goflag;
pub mod server;

/// A program `chaos` can stand in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    ToxiproxyCli,
    ToxiproxyServer,
}

/// The program name `chaos` was started as: the file name of `argv0`, without `.exe`
/// (`/usr/local/bin/powerfulseal` → `powerfulseal`). The one place every drop-in (these
/// two, and the CLI's `powerfulseal`) reads it.
pub fn program_name(argv0: &std::ffi::OsStr) -> Option<&str> {
    let name = std::path::Path::new(argv0).file_name()?.to_str()?;
    Some(name.strip_suffix(".exe").unwrap_or(name))
}

/// Which program a path's file name names (`/usr/local/bin/toxiproxy-cli` →
/// `ToxiproxyCli`); `None` for anything else, `chaos` included.
pub fn program_for(argv0: &std::ffi::OsStr) -> Option<Program> {
    match program_name(argv0)? {
        "toxiproxy-cli" => Some(Program::ToxiproxyCli),
        "toxiproxy-server" => Some(Program::ToxiproxyServer),
        _ => None,
    }
}

/// Runs `program` with `args` (the full argument list, program name first) and returns
/// its exit status.
pub fn main(program: Program, args: &[String]) -> u8 {
    let (argv0, rest) = match args.split_first() {
        Some((first, rest)) => (first.as_str(), rest),
        None => ("", args),
    };
    match program {
        Program::ToxiproxyCli => cli::main(rest),
        Program::ToxiproxyServer => server::main(argv0, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn the_file_name_picks_the_program() {
        assert_eq!(
            program_for(OsStr::new("/usr/bin/toxiproxy-cli")),
            Some(Program::ToxiproxyCli)
        );
        assert_eq!(
            program_for(OsStr::new("toxiproxy-server")),
            Some(Program::ToxiproxyServer)
        );
        assert_eq!(program_for(OsStr::new("/usr/bin/chaos")), None);
        assert_eq!(program_for(OsStr::new("toxiproxy-cli-old")), None);
        assert_eq!(
            program_name(OsStr::new("/usr/local/bin/powerfulseal.exe")),
            Some("powerfulseal")
        );
    }
}
