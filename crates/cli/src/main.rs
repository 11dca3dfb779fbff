//! `chaos`: a drop-in replacement for the Chaos Toolkit CLI.
//!
//! This crate only parses arguments and wires the pieces together; the experiment language
//! lives in `experiment`, the run loop in `engine`, providers and drivers in `providers`.

mod args;
mod commands;
mod drivers;

use std::process::ExitCode;

fn main() -> ExitCode {
    // The first process of a container: a minimal init runs the command in a child, so a
    // run's guardian outlives a killed run (providers::init).
    if let Some(code) = providers::init::run_if_first_process() {
        return ExitCode::from(code);
    }
    // Started again as a run's guardian (engine::guardian), which reaps its process
    // activities (providers::reaper) and takes the run over if it is killed.
    if std::env::var_os(providers::reaper::REAPER_ENV).is_some() {
        return ExitCode::from(engine::guardian::main(&drivers::for_guardian));
    }
    // Started through a link named toxiproxy-cli or toxiproxy-server: be that program,
    // with its flags and output (proxy::dropin).
    let argv0 = std::env::args_os().next().unwrap_or_default();
    if let Some(program) = proxy::dropin::program_for(&argv0) {
        let args: Vec<String> = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return ExitCode::from(proxy::dropin::main(program, &args));
    }
    providers::reaper::enable();
    // Started through a link named powerfulseal: `powerfulseal ARGS` is `chaos seal ARGS`.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if proxy::dropin::program_name(&argv0) == Some(seal::command::DROPIN_NAME) {
        argv.splice(1..1, ["seal".into()]);
    }
    let cli = match args::parse(argv) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    ExitCode::from(commands::dispatch(cli))
}
