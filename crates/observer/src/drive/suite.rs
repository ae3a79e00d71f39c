//! The instructors' suite: every lab × implementation, non-interactively, with
//! one outcome per run and a summary table (`lab check`).

use crate::drive::report::Verdict;
use std::time::{Duration, Instant};

use crate::drive::error::NotStarted;
use crate::drive::impls::Impl;
use crate::drive::pinned::Pinned;
use crate::drive::report::Report;
use crate::drive::run::{run_through, RunError, RunOptions};
use crate::measure::machine::Facts;
use crate::spec::lab::Lab;

/// How one run of the suite ended.
#[derive(Debug)]
pub enum Outcome {
    /// The run completed; the report says which checks held.
    Ran(Box<Report>),
    /// A lab-wide `requires` does not hold here: every check is n/a, and
    /// the demo was not run (or stopped at its first prompt).
    NotStarted(Box<NotStarted>),
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
    /// A completed run of a lab of one's own with a pinned annotated output
    /// (`lab bless`): how it compared.
    pub pinned: Option<Pinned>,
}

impl SuiteRun {
    /// The run passed (and its annotated output is the pinned one, if one
    /// is pinned), or was skipped (a lab that cannot start here).
    pub fn passed(&self) -> bool {
        match &self.outcome {
            Outcome::Ran(r) => r.passed() && !self.differs(),
            Outcome::Skipped(_) => true,
            Outcome::NotStarted(_) | Outcome::Error(_) => false,
        }
    }

    /// Its annotated output differs from the pinned one.
    pub fn differs(&self) -> bool {
        matches!(self.pinned, Some(Pinned::Differs { .. }))
    }

    /// A check failed, the annotated output differs from the pinned one, or
    /// the run broke: the suite does not pass. (A run with nothing to check
    /// here, like a skipped one, is listed as such and does not fail the
    /// suite.)
    pub fn fails_suite(&self) -> bool {
        matches!(self.verdict(), "FAIL" | "DIFFERS" | "ERROR")
    }

    /// `pass`, `FAIL`, `DIFFERS` (every check that applies held, but the
    /// annotated output is not the pinned one), `n/a` (nothing to check
    /// here), `skip` or `ERROR`. The table shows it; the JSON's `result` is
    /// it in lowercase; the HTML shows it too.
    pub fn verdict(&self) -> &'static str {
        match &self.outcome {
            Outcome::Ran(r) => match r.verdict() {
                Verdict::Fail => "FAIL",
                _ if self.differs() => "DIFFERS",
                Verdict::Pass => "pass",
                Verdict::NothingToCheck => "n/a",
            },
            Outcome::NotStarted(_) => "n/a",
            Outcome::Skipped(_) => "skip",
            Outcome::Error(_) => "ERROR",
        }
    }

    /// Checks that do not apply on this machine (0 when none ran).
    pub fn not_applicable(&self) -> usize {
        match &self.outcome {
            Outcome::Ran(r) => r.checks_not_applicable(),
            Outcome::NotStarted(n) => n.checks.len(),
            _ => 0,
        }
    }

    /// Why nothing could be checked (`n/a`): the facts that ruled it out.
    pub fn ruled_out_by(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Ran(r) if r.verdict() == Verdict::NothingToCheck => {
                Some(r.ruled_out_by().join("; "))
            }
            Outcome::NotStarted(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// "12/12", or "-" when no checks ran.
    pub fn checks(&self) -> String {
        match &self.outcome {
            Outcome::Ran(r) => {
                let (p, t) = r.checks_passed();
                format!("{p}/{t}")
            }
            Outcome::NotStarted(_) => "0/0".to_string(),
            _ => "-".to_string(),
        }
    }
}

/// Run `impl` of every lab in `labs`, in order; `progress` sees each run as it
/// starts (None) and ends (Some); `pinned` compares a completed run with its
/// pinned annotated output, if it has one (`crate::views::pinned::compare`),
/// before its verdict is told.
pub fn run_suite(
    labs: &[&Lab],
    opts: &RunOptions,
    skip_missing: bool,
    pinned: impl Fn(&Lab, &Report) -> Option<Pinned>,
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
            Err(RunError::NothingToCheck(n)) => Outcome::NotStarted(n),
            Err(e @ RunError::MissingTool { .. }) if skip_missing => {
                Outcome::Skipped(e.to_string())
            }
            Err(e @ RunError::NotApplicable { .. }) => Outcome::Skipped(e.to_string()),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let pinned = match &outcome {
            Outcome::Ran(report) => pinned(lab, report),
            _ => None,
        };
        let run = SuiteRun {
            lab: lab.name().to_string(),
            imp: *imp,
            outcome,
            elapsed: start.elapsed(),
            pinned,
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
