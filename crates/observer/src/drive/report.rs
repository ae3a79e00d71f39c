//! The report of one lab run: every step's snapshot, checks and annotation.
//! Its JSON form is `crate::views::json::RunDocument` (docs/json.md), which reads
//! it: the report knows nothing of JSON.

use pmap_view::Snapshot;

use crate::drive::impls::Impl;
use crate::spec::check::{CheckResult, Status};

/// One lab run, step by step.
#[derive(Clone, Debug)]
pub struct Report {
    pub lab: String,
    pub imp: Impl,
    /// What ran the demo ("gcc 12.2.0", "Python 3.11.7", …).
    pub runtime: String,
    /// How it came to run, in words ("compiled by gcc … into PATH").
    pub how: String,
    /// What confined it, in words (`drive::confine`).
    pub confinement: String,
    /// The demo's source file, relative to the repository.
    pub source_file: String,
    pub pid: i32,
    /// The facts this run's checks were judged by (machine and demo).
    pub facts: crate::measure::machine::Facts,
    /// The allocator variables removed from the demo's environment
    /// (`MALLOC_ARENA_MAX=2`), which would have changed what it shows.
    pub cleared_env: Vec<String>,
    /// The lab's introduction and its number of the last step (None for a
    /// program `lab observe` drives: it has no plan): what the views show
    /// beside the steps, carried here so that no view looks the lab up again.
    pub intro: String,
    pub last_step: Option<usize>,
    pub steps: Vec<StepReport>,
}

/// One step: the demo's state after one action (step 0: before any).
#[derive(Clone, Debug)]
pub struct StepReport {
    pub index: usize,
    pub title: String,
    /// The demo's prompt line at this step.
    pub prompt: String,
    /// Everything the demo printed since the previous step.
    pub output: String,
    /// The source lines of the action that led here (empty for step 0).
    pub source: Vec<String>,
    pub annotation: String,
    /// A note for this implementation only.
    pub note: Option<String>,
    pub snapshot: Snapshot,
    /// Which pages are resident, for each region new or changed since the
    /// previous step (none at step 0).
    pub residency: Vec<crate::measure::residency::RegionResidency>,
    /// The demo's child processes at this step (a demo that forks).
    pub children: Vec<Snapshot>,
    /// Page-cache residency of the lab's `cache_file` at this step.
    pub cache: Option<crate::measure::pagecache::Residency>,
    pub checks: Vec<CheckResult>,
}

/// What a run's checks came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check that applies here held, and at least one applied.
    Pass,
    /// A check failed.
    Fail,
    /// No check applies on this machine: nothing was verified, which is not
    /// a pass (`lab LAB` exits 3; docs/machine-facts.md).
    NothingToCheck,
}

impl Verdict {
    /// `pass`, `fail`, `n/a`: the JSON's `result`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NothingToCheck => "n/a",
        }
    }
}

impl Report {
    /// Pass, fail, or nothing to check on this machine.
    pub fn verdict(&self) -> Verdict {
        let checks = || self.steps.iter().flat_map(|s| &s.checks);
        if checks().any(|c| c.status == Status::Fail) {
            Verdict::Fail
        } else if checks().any(|c| c.status == Status::Pass) {
            Verdict::Pass
        } else {
            Verdict::NothingToCheck
        }
    }

    /// Every applicable check held, and there was one (see [`Verdict`]).
    pub fn passed(&self) -> bool {
        self.verdict() == Verdict::Pass
    }

    /// Why nothing could be checked: the distinct reasons that ruled the
    /// checks out (the facts that do not hold here).
    pub fn ruled_out_by(&self) -> Vec<String> {
        let mut why: Vec<String> = Vec::new();
        for c in self.steps.iter().flat_map(|s| &s.checks) {
            if let Some(r) = &c.not_applicable {
                if !why.contains(r) {
                    why.push(r.clone());
                }
            }
        }
        why
    }

    /// (held, applicable): checks that held, of those that apply here.
    pub fn checks_passed(&self) -> (usize, usize) {
        let applicable = self
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.status != Status::NotApplicable);
        (
            applicable.clone().filter(|c| c.passed).count(),
            applicable.count(),
        )
    }

    /// How many checks do not apply on this machine.
    pub fn checks_not_applicable(&self) -> usize {
        self.steps
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.status == Status::NotApplicable)
            .count()
    }

    /// The base page size the residency maps count in, in KiB.
    pub fn page_kib(&self) -> u64 {
        crate::measure::machine::page_kib() as u64
    }
}

/// Unique set size: the pages only this process maps (private clean + private dirty).
pub fn uss(snap: &Snapshot) -> u64 {
    snap.regions
        .iter()
        .map(|r| r.fields.private_clean + r.fields.private_dirty)
        .sum()
}
