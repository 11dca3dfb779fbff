//! `chaos init` driven through a real pseudo-terminal, as a person at a keyboard would:
//! each answer is typed only after its prompt has appeared on the terminal.

#[path = "support/pty.rs"]
mod pty;

use pty::open_pty;
use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Reads the terminal in the background, so the test can wait for a prompt.
struct Screen {
    chunks: mpsc::Receiver<String>,
    seen: String,
}

impl Screen {
    fn new(mut master: File) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0
                    || tx
                        .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Self {
            chunks: rx,
            seen: String::new(),
        }
    }

    /// Waits until `text` has been shown since the last call, and consumes it.
    fn expect(&mut self, text: &str) {
        while !self.seen.contains(text) {
            match self.chunks.recv_timeout(Duration::from_secs(30)) {
                Ok(chunk) => self.seen.push_str(&chunk),
                Err(_) => panic!(
                    "the prompt {text:?} never appeared; the screen shows:\n{}",
                    self.seen
                ),
            }
        }
        let at = self.seen.find(text).unwrap_or(0) + text.len();
        self.seen.drain(..at);
    }
}

#[test]
fn init_builds_a_valid_experiment_from_a_discovery_at_the_keyboard() {
    let dir = std::env::temp_dir().join(format!("shakedown-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let discovery = serde_json::json!({
        "chaoslib_version": "1.44.0", "id": "x", "target": "os", "date": "2026-11-21T00:00:00+00:00",
        "platform": {}, "extension": {"name": "os", "version": "0"},
        "activities": [{
            "type": "action", "name": "rename", "mod": "os", "doc": "Rename the file or directory src to dst.",
            "arguments": [{"name": "src"}, {"name": "dst"}, {"name": "src_dir_fd", "default": null}]
        }],
        "system": null
    });
    std::fs::write(dir.join("discovery.json"), discovery.to_string()).expect("discovery");

    let (master, slave) = open_pty();
    let writer = master.try_clone().expect("clone the master side");
    let slave_out = slave.try_clone().expect("clone the slave side");
    let slave_err = slave.try_clone().expect("clone the slave side");
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args([
            "--no-log-file",
            "init",
            "--experiment-path",
            "experiment.yaml",
        ])
        .current_dir(&dir)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::from(slave_out))
        .stderr(Stdio::from(slave_err))
        .spawn()
        .expect("start chaos init");
    let mut screen = Screen::new(master);
    let mut keyboard = writer;
    let mut answer = |screen: &mut Screen, prompt: &str, text: &str| {
        screen.expect(prompt);
        keyboard
            .write_all(format!("{text}\r").as_bytes())
            .expect("type an answer");
    };

    answer(
        &mut screen,
        "Experiment's title: ",
        "Losing the exchange file",
    );
    answer(&mut screen, "steady state hypothesis now? [y/N]", "n");
    answer(&mut screen, "define an experimental method? [y/N]", "y");
    answer(&mut screen, "Activity (0 to escape): ", "1");
    answer(&mut screen, "Do you want to use this action? [y/N]", "y");
    answer(
        &mut screen,
        "Argument's value for 'src': ",
        "./exchange.dat",
    );
    answer(
        &mut screen,
        "Argument's value for 'dst': ",
        "./exchange.dat.old",
    );
    answer(&mut screen, "Argument's value for 'src_dir_fd' []: ", "");
    answer(&mut screen, "select another activity? [y/N]", "n");
    answer(&mut screen, "add some rollbacks now? [y/N]", "");
    screen.expect("Experiment created and saved in 'experiment.yaml'");
    let status = child.wait().expect("chaos init ends");
    assert!(status.success(), "chaos init exits 0");

    let written = dir.join("experiment.yaml");
    let text = std::fs::read_to_string(&written).expect("the experiment was written");
    let (value, _) = experiment::yaml::parse_yaml(&text).expect("the experiment is YAML");
    assert_eq!(value["title"], "Losing the exchange file");
    assert_eq!(value["method"][0]["provider"]["module"], "os");
    assert_eq!(
        value["method"][0]["provider"]["arguments"]["dst"],
        "./exchange.dat.old"
    );
    assert!(value["method"][0]["provider"]["arguments"]["src_dir_fd"].is_null());
    assert!(
        value.get("rollbacks").is_none(),
        "no rollbacks were asked for"
    );

    let validate = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["--no-log-file", "validate"])
        .arg(PathBuf::from(&written))
        .output()
        .expect("run chaos validate");
    assert!(
        validate.status.success(),
        "the scaffold is a valid experiment: {}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_reports_input_that_ends_early() {
    let dir = std::env::temp_dir().join(format!("shakedown-init-eof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let out = Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["--no-log-file", "init"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .expect("run chaos init");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("input ended before the experiment was complete"));
    assert!(
        !dir.join("experiment.json").exists(),
        "nothing half-written"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
