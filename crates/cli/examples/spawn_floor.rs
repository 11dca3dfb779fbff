//! The physical floor for `chaos run` of process activities: fork/exec/wait of a program N
//! times with piped output, nothing else. Used by bench/engine.
//!
//! Usage: spawn_floor N PROGRAM — prints the total seconds.

use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(300);
    let program = args.next().unwrap_or_else(|| "true".into());
    let start = Instant::now();
    for _ in 0..n {
        let out = Command::new(&program)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output();
        if let Err(e) = out {
            eprintln!("spawn_floor: cannot run {program}: {e}");
            std::process::exit(1);
        }
    }
    println!("{:.6}", start.elapsed().as_secs_f64());
}
