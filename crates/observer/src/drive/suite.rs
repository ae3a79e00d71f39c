//! The instructors' suite: every lab × implementation, non-interactively, with
//! one outcome per run and a summary table (`lab check`).

use crate::drive::report::Verdict;
use std::time::{Duration, Instant};

use crate::drive::impls::Impl;
use crate::drive::report::Report;
use crate::drive::run::{run_through, RunError, RunOptions};
use crate::measure::machine::Facts;
use crate::spec::lab::Lab;

/// How one run of the suite ended.
#[derive(Debug)]
pub enum Outcome {
    /// The run completed; the report says which checks held.
    Ran(Box<Report>),
    /// A toolchain is missing and `--skip-missing` was given.
    Skipped(String),
    /// The run could not complete (missing toolchain, crash, hang…).
    Error(String),
}

/// One lab × implementation of the suite.
#[derive(Debug)]
pub struct SuiteRun {
    pub lab: String,
    pub imp: Impl,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

impl SuiteRun {
    /// The run passed, or was skipped (a lab that cannot start here).
    pub fn passed(&self) -> bool {
        match &self.outcome {
            Outcome::Ran(r) => r.passed(),
            Outcome::Skipped(_) => true,
            Outcome::Error(_) => false,
        }
    }

    /// A check failed or the run broke: the suite does not pass. (A run
    /// with nothing to check here, like a skipped one, is listed as such and
    /// does not fail the suite.)
    pub fn fails_suite(&self) -> bool {
        match &self.outcome {
            Outcome::Ran(r) => r.verdict() == Verdict::Fail,
            Outcome::Skipped(_) => false,
            Outcome::Error(_) => true,
        }
    }

    /// `pass`, `FAIL`, `n/a` (nothing to check here), `skip` or `ERROR`.
    pub fn verdict(&self) -> &'static str {
        match &self.outcome {
            Outcome::Ran(r) => match r.verdict() {
                Verdict::Pass => "pass",
                Verdict::Fail => "FAIL",
                Verdict::NothingToCheck => "n/a",
            },
            Outcome::Skipped(_) => "skip",
            Outcome::Error(_) => "ERROR",
        }
    }

    /// Checks that do not apply on this machine (0 when none ran).
    pub fn not_applicable(&self) -> usize {
        match &self.outcome {
            Outcome::Ran(r) => r.checks_not_applicable(),
            _ => 0,
        }
    }

    /// "12/12", or "-" when no checks ran.
    pub fn checks(&self) -> String {
        match &self.outcome {
            Outcome::Ran(r) => {
                let (p, t) = r.checks_passed();
                format!("{p}/{t}")
            }
            _ => "-".to_string(),
        }
    }
}

/// Run `impl` of every lab in `labs`, in order; `progress` sees each run as it
/// starts (None) and ends (Some).
pub fn run_suite(
    labs: &[&Lab],
    opts: &RunOptions,
    skip_missing: bool,
    mut progress: impl FnMut(usize, usize, &str, Impl, Option<&SuiteRun>),
) -> Vec<SuiteRun> {
    let pairs: Vec<(&Lab, Impl)> = labs
        .iter()
        .flat_map(|l| l.impls.iter().map(move |s| (*l, s.imp)))
        .collect();
    let mut runs = Vec::with_capacity(pairs.len());
    for (i, (lab, imp)) in pairs.iter().enumerate() {
        progress(i + 1, pairs.len(), lab.name(), *imp, None);
        let start = Instant::now();
        let outcome = match run_through(lab, *imp, opts) {
            Ok(report) => Outcome::Ran(Box::new(report)),
            Err(e @ RunError::MissingTool { .. }) if skip_missing => {
                Outcome::Skipped(e.to_string())
            }
            Err(e @ RunError::NotApplicable { .. }) => Outcome::Skipped(e.to_string()),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let run = SuiteRun {
            lab: lab.name().to_string(),
            imp: *imp,
            outcome,
            elapsed: start.elapsed(),
        };
        progress(i + 1, pairs.len(), lab.name(), *imp, Some(&run));
        runs.push(run);
    }
    runs
}

/// The facts the suite's checks were judged by: this machine's, and those of
/// every run that differ (a Python, a C library), from the first run that
/// has them.
pub fn facts(runs: &[SuiteRun]) -> Facts {
    let mut facts = Facts::of_machine(None);
    for r in runs {
        if let Outcome::Ran(report) = &r.outcome {
            for (k, v) in report.facts.iter() {
                if facts.get(k).is_none() {
                    facts.set(k, v);
                }
            }
        }
    }
    facts
}
