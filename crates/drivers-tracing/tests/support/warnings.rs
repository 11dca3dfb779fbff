//! Every WARNING the test process logs (through the `log` facade), for the exporter
//! tests to read: installed once per test binary, before anything logs.

use std::sync::{Mutex, OnceLock};

pub struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            self.0.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

/// The process's capture, installed on first use: call it before the code under test logs.
pub fn warnings() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(c).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
        c
    })
}

/// The WARNINGs that name control `control` (`'control'`).
pub fn warnings_about(control: &str) -> Vec<String> {
    warnings()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|w| w.contains(&format!("'{control}'")))
        .cloned()
        .collect()
}
