//! Why a lab run could not be completed (exit status 2): a missing tool, a
//! demo that crashed or hung, a setting that cannot work here. A failed check
//! is not one (it is a verdict in the report), and neither is a student's
//! `q`: that is control flow ([`crate::drive::run::Next::Stop`]).

use pmap_view::CaptureError;

use crate::spec::check::CheckResult;
use crate::spec::lab::Impl;

/// Why a run could not be completed (exit status 2). A failed check is not one.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("no lab named `{0}` (see `lab list`)")]
    NoSuchLab(String),
    #[error("lab {lab} has no {imp} implementation (it has: {available})")]
    NoSuchImpl {
        lab: String,
        imp: Impl,
        available: String,
    },
    #[error("`{tool}` not found (or not working): install {install}")]
    MissingTool { tool: String, install: String },
    #[error("compiling {file} failed:\n{}", pmap_view::region::escape_lines(.stderr))]
    Compile { file: String, stderr: String },
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{}", demo_message(.step, .what, .output))]
    Demo {
        step: usize,
        what: String,
        output: String,
    },
    #[error("capturing the memory map at step {step}: {source}")]
    Capture { step: usize, source: CaptureError },
    /// A setting that cannot work here (a cache directory, a compiler line).
    #[error("{0}")]
    Usage(String),
    /// The lab cannot run on this machine (its memory limit is too small).
    #[error("the {lab} lab does not apply here: {why}")]
    NotApplicable { lab: String, why: String },
    /// A lab-wide `requires` does not hold here: no check applies, and the
    /// demo was not run (or stopped at its first prompt). Not an error of
    /// the run: a verdict, n/a (`lab LAB` exits 3).
    #[error("{0}")]
    NothingToCheck(Box<NotStarted>),
}

/// The end of a demo's output, escaped ([`pmap_view::region::escape_controls`]):
/// what a program printed reaches lab's terminal as text, never as commands
/// (`\e[?1049h`, a bell, a carriage return that hides the line before it).
fn demo_message(step: &usize, what: &str, output: &str) -> String {
    let tail: Vec<std::borrow::Cow<str>> = output
        .lines()
        .rev()
        .take(5)
        .map(pmap_view::region::escape_controls)
        .collect();
    let seen = if tail.is_empty() {
        "it printed nothing".to_string()
    } else {
        let lines: Vec<_> = tail.into_iter().rev().collect();
        format!("its last output:\n  {}", lines.join("\n  "))
    };
    format!("the demo {what} at step {step}; {seen}")
}

/// A run that a lab-wide `requires` ended before it started: the facts it
/// names were known before the demo was (its C library's and allocator's
/// are not: those are judged with every check). Every check is n/a, for
/// the facts in `why`: nothing was verified, which is not a pass (`lab LAB`
/// exits 3, `lab check` shows `n/a`; docs/machine-facts.md).
#[derive(Clone, Debug)]
pub struct NotStarted {
    pub lab: String,
    pub imp: Impl,
    /// The unmet requirements, in words.
    pub why: String,
    /// As in [`Report`]: what would have run the demo, the facts judged by,
    /// the allocator variables removed.
    pub runtime: String,
    pub facts: crate::measure::machine::Facts,
    pub cleared_env: Vec<String>,
    /// Every check of the lab for this implementation, with its step: all
    /// n/a.
    pub checks: Vec<(usize, CheckResult)>,
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "nothing to check on this machine: {} (the {} lab requires it; its demo was not run)",
            self.why, self.lab
        )
    }
}
