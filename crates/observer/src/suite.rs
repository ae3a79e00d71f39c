//! The instructors' suite: every lab × implementation, non-interactively, with
//! one outcome per run and a summary table (`lab check`).

use std::time::{Duration, Instant};

use crate::check::Status;
use crate::impls::Impl;
use crate::lab::Lab;
use crate::machine::Facts;
use crate::report::Report;
use crate::run::{run_through, RunError, RunOptions};

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
    pub fn passed(&self) -> bool {
        match &self.outcome {
            Outcome::Ran(r) => r.passed(),
            Outcome::Skipped(_) => true,
            Outcome::Error(_) => false,
        }
    }

    /// `pass`, `FAIL`, `skip` or `ERROR`.
    pub fn verdict(&self) -> &'static str {
        match &self.outcome {
            Outcome::Ran(r) if r.passed() => "pass",
            Outcome::Ran(_) => "FAIL",
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

/// The summary table, then the details of every failed check and error,
/// and the checks that do not apply here with the fact that decides it.
pub fn table(runs: &[SuiteRun]) -> String {
    let w = runs.iter().map(|r| r.lab.len()).max().unwrap_or(0).max(10);
    let mut out = format!(
        "{}\n\n",
        crate::render::wrap(&format!("machine: {}", facts(runs).summary()), "  ").trim_start()
    );
    out += &format!(
        "{:<w$} {:<8} {:>7} {:>4}  {:<6} {:>8}\n",
        "lab", "impl", "checks", "n/a", "result", "time"
    );
    for r in runs {
        out += &format!(
            "{:<w$} {:<8} {:>7} {:>4}  {:<6} {:>6.2} s\n",
            r.lab,
            r.imp.as_str(),
            r.checks(),
            r.not_applicable(),
            r.verdict(),
            r.elapsed.as_secs_f64()
        );
    }
    let cleared: std::collections::BTreeSet<&String> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ran(report) => Some(&report.cleared_env),
            _ => None,
        })
        .flatten()
        .collect();
    if !cleared.is_empty() {
        out += &format!(
            "(the demos ran without {}: --keep-alloc-env keeps them)\n",
            cleared.into_iter().cloned().collect::<Vec<_>>().join(" ")
        );
    }
    let total: Duration = runs.iter().map(|r| r.elapsed).sum();
    let failed = runs.iter().filter(|r| !r.passed()).count();
    let skipped = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    out += &match (failed, skipped) {
        (0, 0) => format!(
            "all {} runs passed in {:.2} s\n",
            runs.len(),
            total.as_secs_f64()
        ),
        (0, s) => format!(
            "{} runs passed, {s} skipped, in {:.2} s\n",
            runs.len() - s,
            total.as_secs_f64()
        ),
        (f, _) => format!(
            "{f} of {} runs did not pass ({:.2} s)\n",
            runs.len(),
            total.as_secs_f64()
        ),
    };
    for r in runs {
        let name = format!("{} ({})", r.lab, r.imp);
        match &r.outcome {
            Outcome::Ran(report) => {
                for s in &report.steps {
                    for c in s.checks.iter().filter(|c| c.status == Status::Fail) {
                        out += &format!(
                            "\n{name}, step {} ({}): {}\n  expected {}; observed {}\n",
                            s.index, s.title, c.description, c.expected, c.observed
                        );
                    }
                }
                // Checks that do not apply, counted by the fact that decides.
                let mut reasons: Vec<(&str, usize)> = Vec::new();
                for why in report
                    .steps
                    .iter()
                    .flat_map(|s| &s.checks)
                    .filter_map(|c| c.not_applicable.as_deref())
                {
                    match reasons.iter_mut().find(|(w, _)| *w == why) {
                        Some((_, n)) => *n += 1,
                        None => reasons.push((why, 1)),
                    }
                }
                for (why, n) in reasons {
                    let checks = if n == 1 { "check" } else { "checks" };
                    out += &format!("\n{name}: {n} {checks} not applicable: {why}\n");
                }
            }
            Outcome::Skipped(why) => out += &format!("\n{name} skipped: {why}\n"),
            Outcome::Error(why) => out += &format!("\n{name}: {why}\n"),
        }
    }
    out
}
