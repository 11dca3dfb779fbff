//! Walking every run record of a journal, with the phase it belongs to.

use crate::{Journal, Run};
use std::fmt;

/// Where in the run an activity's record sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// A probe of the hypothesis before the method (`steady_states.before`).
    Before,
    /// The method (`run`).
    Method,
    /// A probe of the continuous hypothesis, in its `n`th iteration (`steady_states.during[n]`).
    During(usize),
    /// A probe of the hypothesis after the method (`steady_states.after`).
    After,
    /// A rollback (`rollbacks`).
    Rollback,
}

impl Phase {
    /// A short label: `before`, `method`, `during`, `after`, `rollback`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::Method => "method",
            Phase::During(_) => "during",
            Phase::After => "after",
            Phase::Rollback => "rollback",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One run record and its phase, as [`Journal::runs`] yields them.
#[derive(Debug, Clone, Copy)]
pub struct RunEntry<'a> {
    /// Where the record sits.
    pub phase: Phase,
    /// The record.
    pub run: &'a Run,
}

fn tag(phase: Phase, runs: &[Run]) -> impl Iterator<Item = RunEntry<'_>> + '_ {
    runs.iter().map(move |run| RunEntry { phase, run })
}

impl Journal {
    /// Every run record, in the order a report lists them: the hypothesis before, the
    /// method, each iteration of the continuous hypothesis, the hypothesis after, the
    /// rollbacks. (Within each list, the journal's order: start order.)
    pub fn runs(&self) -> impl Iterator<Item = RunEntry<'_>> + '_ {
        let before = self.before().map(|s| s.probe_runs()).unwrap_or_default();
        let after = self.after().map(|s| s.probe_runs()).unwrap_or_default();
        tag(Phase::Before, before)
            .chain(tag(Phase::Method, self.method_runs()))
            .chain(
                self.during()
                    .iter()
                    .enumerate()
                    .flat_map(move |(i, s)| tag(Phase::During(i), s.probe_runs())),
            )
            .chain(tag(Phase::After, after))
            .chain(tag(Phase::Rollback, self.rollback_runs()))
    }
}
