//! The JSON contract of the lab's documents, as types: what `lab LAB --json`,
//! `lab observe --json`, `lab check --json`, `lab diff --json`, `lab watch
//! --json` and `lab explain --json` print (`lab pmap --json`'s document and
//! the region format are pmap-view's, in `pmap_view::json`). Each document is
//! one struct here, built from the report it shows (which knows nothing of
//! JSON: this module reads the others, none reads it) and written by
//! `pmap_view::json::write_pretty`; docs/schema/ has a JSON Schema for each,
//! docs/json.md explains every field, and the integration tests validate
//! every document they read against its schema.
//!
//! Fields may be added, never renamed or removed.

use crate::drive::report::Verdict;
use pmap_view::json::{Hex, RegionJson, Streamed};
use pmap_view::{Kind, RegionChange, Snapshot, Totals};
use serde::Serialize;

use crate::drive::report::{uss, Report, StepReport};
use crate::drive::suite::{Outcome, SuiteRun};
use crate::measure::growth::{likely_leak, Growth};
use crate::measure::machine::Facts;
use crate::measure::residency::RegionResidency;
use crate::spec::check::{CheckResult, Status};
use crate::views::step::{Changes, Resolution};

/// `lab LAB --json` and `lab observe --json` (docs/schema/run.schema.json).
#[derive(Serialize)]
pub struct RunDocument<'a> {
    /// The lab's name; `observe` for `lab observe`.
    pub lab: &'a str,
    /// The implementation that ran (`rust`, `c`, `python`); for `lab
    /// observe`, the program as it was started (`command[0]`).
    #[serde(rename = "impl")]
    pub imp: &'a str,
    /// `lab observe` only: the program and its arguments, as started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<&'a [String]>,
    /// What ran the demo (`gcc 12.2.0`, `Python 3.11.7`; the command line
    /// for `lab observe`).
    pub runtime: &'a str,
    /// What confined the program (a keeper, Landlock, capabilities, memory).
    pub confinement: &'a str,
    pub source_file: &'a str,
    pub pid: i32,
    /// Every check that applies held, and one did (`lab observe`: no
    /// check failed).
    pub passed: bool,
    /// `pass`, `fail` or `n/a` (no check applies here); not for `lab observe`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// With `n/a`: the facts that ruled every check out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nothing_to_check: Vec<String>,
    /// The base page size residency runs count in, KiB.
    pub page_size_kib: u64,
    /// The facts the checks were judged by.
    pub machine: &'a Facts,
    /// The allocator variables removed from the demo's environment.
    pub cleared_env: &'a [String],
    pub steps: Vec<StepJson<'a>>,
}

/// One step of a run: the state after one action (step 0: before any).
#[derive(Serialize)]
pub struct StepJson<'a> {
    pub index: usize,
    pub title: &'a str,
    pub prompt: &'a str,
    pub source: &'a [String],
    pub annotation: &'a str,
    pub totals: Totals,
    pub regions: Vec<RegionJson<'a>>,
    /// Since the previous step (none at step 0).
    pub changes: Vec<ChangeJson<'a>>,
    pub children: Vec<ChildJson>,
    pub uss_kib: u64,
    /// The process's page tables (VmPTE), when the capture read them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_tables_kib: Option<u64>,
    pub page_cache: Option<&'a crate::measure::pagecache::Residency>,
    pub checks: &'a [CheckResult],
}

/// A region that appeared, vanished, grew, shrank, changed, split off another
/// or merged into one: the one change object of every document (a run's
/// steps, `lab diff`). A document lists the regions of the rows every view
/// shows (`crate::views::step`), each on its own.
#[derive(Serialize)]
pub struct ChangeJson<'a> {
    pub change: pmap_view::Change,
    pub start: Hex,
    pub end: Hex,
    pub kind: Kind,
    pub name: &'a str,
    pub size_delta_kib: i64,
    pub rss_delta_kib: i64,
    pub dirty_delta_kib: i64,
    pub pss_delta_kib: i64,
    /// The start of the region it split off (`split`) or merged into (`merged`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<Hex>,
    /// Changes with the same number are alike (same change, kind, name,
    /// mode, size and deltas): the views show them as one row "xN".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// Which pages are resident, run-length, low addresses first: in a run's
    /// steps, for a region whose size, RSS or Dirty moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residency: Option<&'a [pmap_view::pagemap::Run]>,
}

impl<'a> ChangeJson<'a> {
    pub fn of(c: &RegionChange<'a>) -> ChangeJson<'a> {
        let r = c.region();
        ChangeJson {
            change: c.change,
            start: Hex(r.start),
            end: Hex(r.end),
            kind: r.kind,
            name: &r.name,
            size_delta_kib: c.size_delta(),
            rss_delta_kib: c.rss_delta(),
            dirty_delta_kib: c.dirty_delta(),
            pss_delta_kib: c.pss_delta(),
            part_of: c.part_of.map(|r| Hex(r.start)),
            group: None,
            residency: None,
        }
    }
}

/// The changes of a step's rows (`lab diff`'s too), one per region, with
/// the residency maps of `maps`.
pub fn changes<'a>(rows: &Changes<'a>, maps: &'a [RegionResidency]) -> Vec<ChangeJson<'a>> {
    rows.rows
        .iter()
        .enumerate()
        .filter(|(_, row)| !row.landmark && row.change != pmap_view::Change::Unchanged)
        .flat_map(|(i, row)| {
            let group = (row.count() > 1).then_some(i);
            row.members.iter().map(move |m| ChangeJson {
                group,
                residency: crate::measure::residency::of(maps, m.region()).map(|m| &m.runs[..]),
                ..ChangeJson::of(m)
            })
        })
        .collect()
}

/// A child process of the demo at a step.
#[derive(Serialize)]
pub struct ChildJson {
    pub pid: i32,
    pub totals: Totals,
    pub uss_kib: u64,
}

impl<'a> RunDocument<'a> {
    /// The document of a lab's run.
    pub fn of(report: &'a Report) -> RunDocument<'a> {
        let steps = report
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| step(s, i.checked_sub(1).map(|p| &report.steps[p].snapshot)))
            .collect();
        RunDocument {
            lab: &report.lab,
            imp: report.imp.as_str(),
            command: None,
            runtime: &report.runtime,
            confinement: &report.confinement,
            source_file: &report.source_file,
            pid: report.pid,
            passed: report.passed(),
            result: Some(report.verdict().as_str()),
            nothing_to_check: if report.verdict() == Verdict::NothingToCheck {
                report.ruled_out_by()
            } else {
                Vec::new()
            },
            page_size_kib: report.page_kib(),
            machine: &report.facts,
            cleared_env: &report.cleared_env,
            steps,
        }
    }

    /// The document of `lab observe -- COMMAND…`: what ran is `command`.
    pub fn observed(report: &'a Report, command: &'a [String]) -> RunDocument<'a> {
        RunDocument {
            imp: command.first().map_or("", String::as_str),
            command: Some(command),
            // A program of one's own has no checks: nothing failed.
            passed: report.verdict() != Verdict::Fail,
            result: None,
            nothing_to_check: Vec::new(),
            ..RunDocument::of(report)
        }
    }
}

fn step<'a>(s: &'a StepReport, previous: Option<&'a Snapshot>) -> StepJson<'a> {
    let rows = crate::views::step::changes(previous, &s.snapshot, &s.residency, Resolution::Page);
    let changes = if previous.is_some() {
        changes(&rows, &s.residency)
    } else {
        Vec::new()
    };
    StepJson {
        index: s.index,
        title: &s.title,
        prompt: &s.prompt,
        source: &s.source,
        annotation: &s.annotation,
        totals: s.snapshot.totals,
        regions: s.snapshot.regions.iter().map(RegionJson::of).collect(),
        changes,
        children: s
            .children
            .iter()
            .map(|c| ChildJson {
                pid: c.pid,
                totals: c.totals,
                uss_kib: uss(c),
            })
            .collect(),
        uss_kib: uss(&s.snapshot),
        page_tables_kib: s.snapshot.page_tables_kib,
        page_cache: s.cache.as_ref(),
        checks: &s.checks,
    }
}

/// `lab grade NAME --json` (docs/schema/grade.schema.json): an exercise's
/// result for an autograder.
#[derive(Serialize)]
pub struct GradeDocument<'a> {
    /// The document's version.
    pub schema: u64,
    pub exercise: &'a str,
    /// The student's file, as given.
    pub file: &'a str,
    /// The program was graded: it compiled and ran to its end (else see
    /// [`UngradedDocument`]).
    pub graded: bool,
    /// How it came to run ("compiled by gcc … into PATH").
    pub how: &'a str,
    /// Every check that applies held.
    pub passed: bool,
    /// Checks that held, of those that apply here.
    pub score: Score,
    /// The facts the checks were judged by (machine and program).
    pub machine: &'a Facts,
    pub checks: Vec<GradedCheckJson<'a>>,
}

/// Checks that held, of those that apply.
#[derive(Serialize)]
pub struct Score {
    pub held: usize,
    pub total: usize,
}

/// A check of a graded run, its step and the exercise's hint.
pub struct GradedCheck<'a> {
    pub step: usize,
    pub step_title: &'a str,
    pub check: &'a CheckResult,
    pub hint: Option<&'a str>,
}

#[derive(Serialize)]
pub struct GradedCheckJson<'a> {
    pub step: usize,
    pub step_title: &'a str,
    pub check: &'a CheckResult,
    /// What to think about when it failed (only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
}

impl<'a> GradeDocument<'a> {
    pub fn of(
        lab: &'a crate::spec::lab::Lab,
        report: &'a Report,
        file: &'a str,
        results: &[GradedCheck<'a>],
    ) -> GradeDocument<'a> {
        let (held, total) = report.checks_passed();
        GradeDocument {
            schema: 1,
            exercise: lab.name(),
            file,
            graded: true,
            how: &report.how,
            passed: report.passed(),
            score: Score { held, total },
            machine: &report.facts,
            checks: results
                .iter()
                .map(|r| GradedCheckJson {
                    step: r.step,
                    step_title: r.step_title,
                    check: r.check,
                    hint: r.hint.filter(|_| r.check.status == Status::Fail),
                })
                .collect(),
        }
    }
}

/// `lab grade NAME --json` when the program could not be graded: it does
/// not compile, hangs, crashes, exceeds its memory, cannot be read, or no
/// check applies here. An autograder always gets one document: this one
/// has `graded: false`, the `cause` and the `reason` in words, no checks
/// and a score of 0 of 0 (the exit status is as without --json).
#[derive(Serialize)]
pub struct UngradedDocument<'a> {
    pub schema: u64,
    pub exercise: &'a str,
    pub file: &'a str,
    pub graded: bool,
    pub how: &'a str,
    pub passed: bool,
    /// `compile`, `hang`, `crash`, `memory`, `unreadable`, `n/a` or `error`.
    pub cause: &'static str,
    /// What happened, in words (the compiler's first errors, the end of the
    /// program's output).
    pub reason: &'a str,
    pub score: Score,
    pub machine: &'a Facts,
    pub checks: [(); 0],
}

impl<'a> UngradedDocument<'a> {
    pub fn of(
        exercise: &'a str,
        file: &'a str,
        cause: &'static str,
        reason: &'a str,
        machine: &'a Facts,
    ) -> UngradedDocument<'a> {
        UngradedDocument {
            schema: 1,
            exercise,
            file,
            graded: false,
            how: "",
            passed: false,
            cause,
            reason,
            score: Score { held: 0, total: 0 },
            machine,
            checks: [],
        }
    }
}

/// `lab check --json` (docs/schema/check.schema.json).
#[derive(Serialize)]
pub struct SuiteDocument<'a> {
    /// The document's version (`lab report` reads those up to its own).
    pub schema: u64,
    pub passed: bool,
    /// The machine's facts, with the first run's value of each demo fact.
    pub machine: Facts,
    pub runs: Vec<SuiteRunJson<'a>>,
}

/// One lab × implementation of the suite. The check counts, `runtime`,
/// `facts`, `cleared_env`, `confinement` and the lists of checks are there
/// when it ran;
/// `message` when it was skipped or could not run.
#[derive(Serialize)]
pub struct SuiteRunJson<'a> {
    pub lab: &'a str,
    #[serde(rename = "impl")]
    pub imp: &'a str,
    /// `pass`, `fail`, `differs` (every check that applies held, but the
    /// annotated output is not the pinned one), `n/a`, `skip` or `error`.
    pub result: String,
    pub passed: bool,
    pub seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_passed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks_not_applicable: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<&'a Facts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_env: Option<&'a [String]>,
    /// What confined the demo (docs/confinement.md), as in a run's JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confinement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable_checks: Option<Vec<StepCheck<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_checks: Option<Vec<StepCheck<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
    /// A lab of one's own with a pinned annotated output (`lab bless`):
    /// how this run compared with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned: Option<PinnedJson>,
}

/// A run's comparison with its pinned annotated output.
#[derive(Serialize)]
pub struct PinnedJson {
    /// The pinned file.
    pub file: String,
    /// `same`, `differs`, or `not compared` (pinned for other machine facts only).
    pub status: &'static str,
    /// With `differs`: the first differing lines, as a unified diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl PinnedJson {
    pub fn of(p: &crate::drive::pinned::Pinned) -> PinnedJson {
        PinnedJson {
            file: p.file().display().to_string(),
            status: p.status(),
            diff: match p {
                crate::drive::pinned::Pinned::Differs { diff, .. } => Some(diff.clone()),
                _ => None,
            },
        }
    }
}

/// A check and the step it belongs to.
#[derive(Serialize)]
pub struct StepCheck<'a> {
    pub step: usize,
    pub check: &'a CheckResult,
}

impl<'a> SuiteDocument<'a> {
    pub fn of(runs: &'a [SuiteRun]) -> SuiteDocument<'a> {
        SuiteDocument {
            schema: crate::views::class::read::SCHEMA,
            passed: !runs.iter().any(SuiteRun::fails_suite),
            machine: crate::drive::suite::facts(runs),
            runs: runs.iter().map(suite_run).collect(),
        }
    }
}

fn suite_run(r: &SuiteRun) -> SuiteRunJson<'_> {
    let mut v = SuiteRunJson {
        lab: &r.lab,
        imp: r.imp.as_str(),
        result: r.verdict().to_lowercase(),
        passed: r.passed(),
        seconds: r.elapsed.as_secs_f64(),
        checks_passed: None,
        checks_total: None,
        checks_not_applicable: None,
        runtime: None,
        facts: None,
        cleared_env: None,
        confinement: None,
        not_applicable_checks: None,
        failed_checks: None,
        message: None,
        pinned: r.pinned.as_ref().map(PinnedJson::of),
    };
    match &r.outcome {
        Outcome::Ran(report) => {
            let (p, t) = report.checks_passed();
            let with = |status: Status| {
                report
                    .steps
                    .iter()
                    .flat_map(move |s| {
                        s.checks
                            .iter()
                            .filter(move |c| c.status == status)
                            .map(move |check| StepCheck {
                                step: s.index,
                                check,
                            })
                    })
                    .collect()
            };
            v.checks_passed = Some(p);
            v.checks_total = Some(t);
            v.checks_not_applicable = Some(report.checks_not_applicable());
            v.runtime = Some(&report.runtime);
            v.facts = Some(&report.facts);
            v.cleared_env = Some(&report.cleared_env);
            v.confinement = Some(&report.confinement);
            v.not_applicable_checks = Some(with(Status::NotApplicable));
            v.failed_checks = Some(with(Status::Fail));
        }
        Outcome::NotStarted(n) => {
            v.checks_passed = Some(0);
            v.checks_total = Some(0);
            v.checks_not_applicable = Some(n.checks.len());
            v.runtime = Some(&n.runtime);
            v.facts = Some(&n.facts);
            v.cleared_env = Some(&n.cleared_env);
            v.not_applicable_checks = Some(
                n.checks
                    .iter()
                    .map(|(step, check)| StepCheck { step: *step, check })
                    .collect(),
            );
            v.failed_checks = Some(Vec::new());
        }
        Outcome::Skipped(why) | Outcome::Error(why) => v.message = Some(why),
    }
    v
}

/// `lab diff --json A B` (docs/schema/diff.schema.json).
#[derive(Serialize)]
pub struct DiffDocument<'a> {
    pub changes: Vec<ChangeJson<'a>>,
}

impl<'a> DiffDocument<'a> {
    /// What changed from `before` to `after`.
    pub fn of(before: &'a Snapshot, after: &'a Snapshot) -> DiffDocument<'a> {
        DiffDocument {
            changes: changes(
                &crate::views::step::changes(Some(before), after, &[], Resolution::Page),
                &[],
            ),
        }
    }
}

/// `lab watch --json` (docs/schema/watch.schema.json).
#[derive(Serialize)]
pub struct WatchDocument<'a> {
    pub pid: i32,
    pub samples: Vec<SampleJson>,
    /// The regions whose RSS or size moved, fastest RSS growth first.
    pub growth: Vec<GrowthJson<'a>>,
    /// The region that grew steadily, if one did (else null).
    pub likely_leak: Option<GrowthJson<'a>>,
}

/// One sample: seconds since the first, and the totals.
#[derive(Serialize)]
pub struct SampleJson {
    pub t: f64,
    pub totals: Totals,
}

/// A region followed through the samples, and its growth rates.
#[derive(Serialize)]
pub struct GrowthJson<'a> {
    pub start: Hex,
    pub kind: Kind,
    /// Its label (`[heap]`, `[anon]`, a file name).
    pub name: &'a str,
    pub rss_kib_per_s: f64,
    pub size_kib_per_s: f64,
    /// It grew at every sample.
    pub steady: bool,
}

impl<'a> GrowthJson<'a> {
    pub fn of(g: &'a Growth) -> GrowthJson<'a> {
        GrowthJson {
            start: Hex(g.track.start),
            kind: g.track.kind,
            name: &g.track.label,
            rss_kib_per_s: g.rss_rate,
            size_kib_per_s: g.size_rate,
            steady: g.steady,
        }
    }
}

impl<'a> WatchDocument<'a> {
    pub fn of(
        pid: i32,
        w: &crate::measure::watch::Watch,
        growth: &'a [Growth],
    ) -> WatchDocument<'a> {
        WatchDocument {
            pid,
            samples: w
                .samples
                .iter()
                .map(|s| SampleJson {
                    t: s.at,
                    totals: s.totals,
                })
                .collect(),
            growth: growth
                .iter()
                .filter(|g| g.rss_rate != 0.0 || g.size_rate != 0.0)
                .map(GrowthJson::of)
                .collect(),
            likely_leak: likely_leak(growth).map(GrowthJson::of),
        }
    }
}

/// `lab explain --json PID` (docs/schema/explain.schema.json), its regions
/// written as they come ([`Streamed`]).
#[derive(Serialize)]
#[serde(bound(serialize = "I::Item: Serialize"))]
pub struct ExplainDocument<I: Iterator> {
    pub pid: i32,
    pub regions: Streamed<I>,
}

/// A region and what it is.
#[derive(Serialize)]
pub struct ExplainedJson<'a> {
    #[serde(flatten)]
    pub region: RegionJson<'a>,
    pub explanation: &'a str,
    /// False when the explanation says what such a region usually is.
    pub certain: bool,
}

/// Write `lab explain --json`'s document of `explained`, region by region.
pub fn write_explained(
    out: &mut (impl std::io::Write + ?Sized),
    pid: i32,
    explained: &[crate::measure::explain::Explained],
) -> std::io::Result<()> {
    let regions = explained.iter().map(|e| ExplainedJson {
        region: RegionJson::of(&e.region),
        explanation: &e.what,
        certain: e.certain,
    });
    pmap_view::json::write_pretty(
        out,
        &ExplainDocument {
            pid,
            regions: Streamed::new(regions),
        },
    )
}
