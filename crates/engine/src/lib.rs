//! The experiment run loop, as the reference engine (chaostoolkit-lib 1.44.0) plays it.
//!
//! [`api::run`] is the Run API: source, settings and overrides in; run events out to
//! subscribers ([`events`]: the journal file, the notification channels); journal and exit
//! code back. [`source`] loads an experiment from a file or URL. [`run::run_experiment`]
//! takes a loaded experiment and returns its journal. Around it:
//! [`activity`] runs one activity (pauses, dry mode, run record), [`hypothesis`] runs the
//! steady-state hypothesis and its tolerances, [`strategy`] holds the hypothesis and
//! rollback strategies, [`interrupt`] turns signals into the reference's interruptions,
//! [`journal`] owns the journal's shape and timestamps, [`notifications`] sends run events,
//! [`logging`] prints the reference's log lines, and [`settings`] reads and edits the settings
//! file. Two more subscribers follow a run for programs: [`events_file`] streams its
//! progress as newline-delimited JSON (`--events-file`) and [`agent`] writes one JSON report
//! at the end (`--output agent`), both as chaostoolkit 1.21.4 does. No driver is known here
//! by name.
//!
//! The experiment is played live: controls may rewrite it between steps, so the engine
//! reads each entry through `experiment::view` when it plays it rather than from a copy
//! typed once. A failed activity's record keeps the typed `providers::Failure` (kind and
//! cause) that subscribers see in `RunEvent::ActivityCompleted`; the journal shows only its
//! message, as the reference does.

pub mod activity;
pub mod agent;
pub mod api;
pub mod controls;
pub mod events;
pub mod events_file;
pub mod guardian;
pub mod hypothesis;
pub mod interrupt;
pub mod journal;
pub mod kill_switch;
pub mod logging;
pub mod notifications;
pub mod redact;
pub mod run;
pub mod settings;
pub mod source;
pub mod strategy;

/// The engine version written into journals as `chaoslib-version`.
///
/// Journal consumers (chaostoolkit-reporting among them) branch on this value, so it stays
/// the version of the reference whose behaviour we reproduce.
pub const CHAOSLIB_COMPAT_VERSION: &str = "1.44.0";
