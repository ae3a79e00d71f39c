//! The instructors' suite: every lab × implementation, non-interactively, with
//! one outcome per run and a summary table (`lab check`).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::impls::Impl;
use crate::lab::Lab;
use crate::report::Report;
use crate::run::{run_lab, RunError, RunOptions};

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
        let outcome = match run_lab(lab, *imp, opts, |_| Ok(())) {
            Ok(report) => Outcome::Ran(Box::new(report)),
            Err(e @ RunError::MissingTool { .. }) if skip_missing => {
                Outcome::Skipped(e.to_string())
            }
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

/// The summary table, then the details of every failed check and error.
pub fn table(runs: &[SuiteRun]) -> String {
    let w = runs.iter().map(|r| r.lab.len()).max().unwrap_or(0).max(10);
    let mut out = format!(
        "{:<w$} {:<8} {:>7}  {:<6} {:>8}\n",
        "lab", "impl", "checks", "result", "time"
    );
    for r in runs {
        out += &format!(
            "{:<w$} {:<8} {:>7}  {:<6} {:>6.2} s\n",
            r.lab,
            r.imp.as_str(),
            r.checks(),
            r.verdict(),
            r.elapsed.as_secs_f64()
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
                    for c in s.checks.iter().filter(|c| !c.passed) {
                        out += &format!(
                            "\n{name}, step {} ({}): {}\n  expected {}; observed {}\n",
                            s.index, s.title, c.description, c.expected, c.observed
                        );
                    }
                }
            }
            Outcome::Skipped(why) => out += &format!("\n{name} skipped: {why}\n"),
            Outcome::Error(why) => out += &format!("\n{name}: {why}\n"),
        }
    }
    out
}

/// The suite as JSON (`lab check --json`).
pub fn to_json(runs: &[SuiteRun]) -> Value {
    let runs_json: Vec<Value> = runs
        .iter()
        .map(|r| {
            let mut v = json!({
                "lab": r.lab,
                "impl": r.imp,
                "result": r.verdict().to_lowercase(),
                "passed": r.passed(),
                "seconds": r.elapsed.as_secs_f64(),
            });
            match &r.outcome {
                Outcome::Ran(report) => {
                    let (p, t) = report.checks_passed();
                    v["checks_passed"] = json!(p);
                    v["checks_total"] = json!(t);
                    v["runtime"] = json!(report.runtime);
                    v["failed_checks"] = report
                        .steps
                        .iter()
                        .flat_map(|s| {
                            s.checks
                                .iter()
                                .filter(|c| !c.passed)
                                .map(move |c| (s.index, c))
                        })
                        .map(|(step, c)| json!({"step": step, "check": c}))
                        .collect();
                }
                Outcome::Skipped(why) | Outcome::Error(why) => v["message"] = json!(why),
            }
            v
        })
        .collect();
    json!({ "passed": runs.iter().all(SuiteRun::passed), "runs": runs_json })
}
