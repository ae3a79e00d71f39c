//! Run one lab with one implementation: start the demo, capture at every
//! prompt, evaluate the step's checks, hand each step to the caller as it is
//! captured (so a terminal can show it while the demo waits), finish the demo.

use std::time::Duration;

use pmap_view::Snapshot;

use crate::drive::confine::Confinement;
use crate::drive::demo::{describe_status, Demo, WaitError};
use crate::drive::impls::{prepare, Toolchain};
use crate::drive::report::{Report, StepReport};
use crate::measure::machine::Facts;
use crate::measure::pagecache::{residency, Residency};
use crate::spec::check::{Check, CheckResult, StepSnapshots};
use crate::spec::lab::Applies;
use crate::spec::lab::{step_source, Impl, Lab};

pub use crate::drive::error::RunError;

/// A file deleted when this goes out of scope.
struct RemoveOnDrop(std::path::PathBuf);

impl RemoveOnDrop {
    /// Also removed by the signal handlers (Ctrl-C, SIGHUP…), which do not unwind.
    fn new(path: std::path::PathBuf) -> RemoveOnDrop {
        crate::drive::cleanup::register_file(&path);
        RemoveOnDrop(path)
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        crate::drive::cleanup::unregister_file(&self.0);
    }
}

/// Snapshots of the demo's child processes (a demo that forks), in pid order.
/// A child that exits meanwhile is simply not there.
fn capture_children(pid: i32) -> Vec<Snapshot> {
    let list =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let mut pids: Vec<i32> = list
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter()
        .filter_map(|p| Snapshot::capture(p).ok())
        .collect()
}

/// Words for a student when a demo died the way programs die of memory limits.
fn memory_hint(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if status.signal() == Some(libc::SIGKILL) {
        return " (SIGKILL usually means the kernel's out-of-memory killer or a memory cgroup \
                limit ended it: the machine or the container ran out of memory)"
            .into();
    }
    if let Some(kib) = crate::drive::impls::address_space_limit_kib() {
        if status.code().is_some_and(|c| c != 0) {
            return format!(
                " (its address space is limited to {kib} KiB by `ulimit -v`, so an allocation may have been refused)"
            );
        }
    }
    String::new()
}

/// The memory `lab` declares its demo holds (its `memory`), in KiB: the
/// limit of a demo that is others' code (a lab folder's, a student's) where
/// a memory cgroup can be made. lab's own demos are not limited: a student
/// may build one differently (`CC` with flags) and see a check fail.
pub fn memory_kib(lab: &Lab, facts: &Facts) -> Option<u64> {
    if !lab.runs_others_code() {
        return None;
    }
    let e = lab.spec.memory.as_deref()?;
    crate::spec::check::size_expr(e, facts)
        .ok()
        .and_then(|k| u64::try_from(k).ok())
}

/// Why `lab` cannot start on a machine with `facts`, or None: its demo holds
/// more memory than the cgroup allows or the machine has available. (A
/// lab-wide `requires` that does not hold is not this: the run is n/a,
/// [`lab_requires_unmet`].)
pub fn before_start(lab: &Lab, facts: &Facts) -> Option<String> {
    // (KiB, as the lab writes it)
    let size = |expr: &Option<String>| {
        let e = expr.as_deref()?;
        Some((crate::spec::check::size_expr(e, facts).ok()?, e.to_string()))
    };
    let memory = size(&lab.spec.memory);
    let commit = size(&lab.spec.commit).or(memory.clone());
    let limits = [
        ("memory_limit", "the memory cgroup limit", &memory),
        (
            "memory_available",
            "the memory this machine has available (MemAvailable)",
            &memory,
        ),
        (
            "commit_available",
            "what is left to commit under strict overcommit (vm.overcommit_memory = 2: \
             CommitLimit - Committed_AS)",
            &commit,
        ),
    ];
    for (fact, words, need) in limits {
        let Some((kib, text)) = need else { continue };
        let requires =
            std::collections::BTreeMap::from([(fact.to_string(), vec![format!(">= {kib} KiB")])]);
        if facts.get(fact).is_some() && facts.unmet(&requires).is_some() {
            let what = if fact == "commit_available" {
                "reserves"
            } else {
                "holds"
            };
            return Some(format!(
                "{words} is {} and its demo {what} up to {text} at once (it would be killed, \
                 refused memory, or stall)",
                facts.get(fact).unwrap_or("?")
            ));
        }
    }
    None
}

/// The lab-wide `requires` of `lab` that do not hold under `facts`, in
/// words; `known_only`: only those on facts `facts` has (before the demo
/// starts, the facts of its C library and allocator are not known yet:
/// those are judged with every check, which all say n/a then).
pub fn lab_requires_unmet(lab: &Lab, facts: &Facts, known_only: bool) -> Option<String> {
    let known: std::collections::BTreeMap<String, Vec<String>> = lab
        .spec
        .requires
        .iter()
        .filter(|(fact, _)| !known_only || facts.get(fact).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    facts.unmet(&known)
}

/// The run of `imp` of `lab` that a lab-wide requirement ends before it
/// checks anything: every check of the implementation, n/a.
fn not_started(
    lab: &Lab,
    imp: Impl,
    facts: &Facts,
    why: String,
    runtime: String,
    cleared_env: Vec<String>,
) -> RunError {
    let checks = lab
        .spec
        .steps
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.checks.iter().map(move |c| (i, c)))
        .filter_map(|(i, c)| match c.applies(imp, facts, &lab.spec.requires) {
            Applies::NotHere(why) => Some((i, CheckResult::not_applicable(c, why))),
            Applies::No | Applies::Yes => None,
        })
        .collect();
    RunError::NothingToCheck(Box::new(crate::drive::error::NotStarted {
        lab: lab.name().to_string(),
        imp,
        why,
        runtime,
        facts: facts.clone(),
        cleared_env,
        checks,
    }))
}

/// Why a demo did not start. With `--no-aslr` the child asks the kernel for
/// `personality(ADDR_NO_RANDOMIZE)` before its exec: a container's seccomp
/// profile (podman's and docker's default allow only a few personality
/// values) answers ENOSYS or EPERM, which alone would read as a mystery.
fn spawn_error(e: std::io::Error, no_aslr: bool) -> RunError {
    let refused = matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM));
    if no_aslr && refused {
        return RunError::Usage(format!(
            "--no-aslr: the kernel refused personality(ADDR_NO_RANDOMIZE) ({e}); a container's \
             seccomp profile does that (podman and docker's default): run without --no-aslr, or \
             start the container with --security-opt seccomp=unconfined"
        ));
    }
    RunError::Io("starting the demo".into(), e)
}

/// Knobs of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long one step may take before the demo is declared hung.
    pub step_timeout: Duration,
    pub tools: Toolchain,
}

impl Default for RunOptions {
    fn default() -> Self {
        // The slowest step (building a 10M-element list in CPython) takes ~1 s
        // here; 60 s leaves room for slow machines without hanging CI forever.
        RunOptions {
            step_timeout: Duration::from_secs(60),
            tools: Toolchain::default(),
        }
    }
}

/// Every step's checks for `imp` under `facts`: compiled, or the result of a
/// check that does not apply here.
fn compile_checks(lab: &Lab, imp: Impl, facts: &Facts) -> Vec<Vec<Result<Check, CheckResult>>> {
    lab.spec
        .steps
        .iter()
        .map(|s| {
            s.checks
                .iter()
                .filter_map(|c| match c.applies(imp, facts, &lab.spec.requires) {
                    Applies::No => None,
                    Applies::NotHere(why) => Some(Err(CheckResult::not_applicable(c, why))),
                    // Labs are validated when loaded; a bound that this
                    // run's facts cannot evaluate is a failed check, not a panic.
                    Applies::Yes => Some(Check::compile(c, facts).map_err(|e| {
                        let mut r = CheckResult::not_applicable(c, String::new());
                        r.status = crate::spec::check::Status::Fail;
                        r.not_applicable = None;
                        r.observed = format!("the check does not compile: {e}");
                        r
                    })),
                })
                .collect()
        })
        .collect()
}

/// What the caller of [`run_lab`] wants after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Answer the demo and go on to the next step.
    Continue,
    /// End the run here (a student's `q`): the demo is stopped, nothing failed.
    Stop,
}

/// How a run that met no error ended.
#[derive(Debug)]
pub enum Ended {
    /// Every step ran and the demo exited.
    Completed(Report),
    /// The caller stopped it after the report's last step.
    Stopped(Report),
}

impl Ended {
    /// The report of a run to its end; None when it was stopped.
    pub fn completed(self) -> Option<Report> {
        match self {
            Ended::Completed(r) => Some(r),
            Ended::Stopped(_) => None,
        }
    }
}

/// Run `lab` with `imp` to its end, with no one in between (the suite, tests).
pub fn run_through(lab: &Lab, imp: Impl, opts: &RunOptions) -> Result<Report, RunError> {
    match run_lab(lab, imp, opts, |_| Ok(Next::Continue))? {
        Ended::Completed(report) => Ok(report),
        Ended::Stopped(_) => unreachable!("nothing asked to stop"),
    }
}

/// Run `lab` with `imp`; `on_step` sees the report after each captured step
/// and says whether to go on ([`Next::Continue`]) or end the run there
/// ([`Next::Stop`], a student's `q`); an error it returns ends the run with
/// that error. It is where a student's terminal pauses for Enter while the
/// demo waits.
pub fn run_lab(
    lab: &Lab,
    imp: Impl,
    opts: &RunOptions,
    mut on_step: impl FnMut(&Report) -> Result<Next, RunError>,
) -> Result<Ended, RunError> {
    let launch = prepare(lab, imp, &opts.tools)?;
    let source = lab
        .source_of(imp)
        .expect("prepare checked the implementation exists");
    let mut facts = Facts::of_machine(Some(&launch.workdir));
    for (name, value) in &launch.facts {
        facts.set(name, value.clone());
    }
    if let Some(why) = before_start(lab, &facts) {
        return Err(RunError::NotApplicable {
            lab: lab.name().to_string(),
            why,
        });
    }
    // A lab-wide requirement on a fact known now: the demo is not run.
    if let Some(why) = lab_requires_unmet(lab, &facts, true) {
        return Err(not_started(
            lab,
            imp,
            &facts,
            why,
            launch.runtime,
            launch.cleared_env,
        ));
    }
    // The checks are compiled once the start-up map says which C library and
    // allocator the demo runs with (step 0).
    let mut checks: Vec<Vec<Result<Check, CheckResult>>> = Vec::new();
    let confinement = Confinement::for_run(Some(&launch.workdir), memory_kib(lab, &facts));
    let mut demo = Demo::spawn_confined(launch.command, confinement)
        .map_err(|e| spawn_error(e, opts.tools.no_aslr))?;
    // The lab's file, removed when the run ends however it ends.
    let cache_guard = lab.spec.cache_file.as_ref().map(|f| {
        RemoveOnDrop::new(
            launch
                .workdir
                .join(f.replace("{pid}", &demo.pid().to_string())),
        )
    });
    let cache_file = cache_guard.as_ref().map(|f| f.0.as_path());
    let mut report = Report {
        lab: lab.name().to_string(),
        imp,
        runtime: launch.runtime,
        how: launch.how,
        confinement: demo.confinement().describe(),
        source_file: source.file.clone(),
        pid: demo.pid(),
        facts: Facts::default(),
        cleared_env: launch.cleared_env,
        intro: lab.spec.intro.trim().to_string(),
        last_step: Some(lab.spec.steps.len().saturating_sub(1)),
        steps: Vec::with_capacity(lab.spec.steps.len()),
    };
    let demo_error = |step: usize, e: WaitError, demo: &Demo| match e {
        WaitError::Exited { status, output } => RunError::Demo {
            step,
            what: match demo.memory_exceeded() {
                Some((kib, how)) => format!(
                    "{} for exceeding the memory its lab declares ({}; {how})",
                    describe_status(status),
                    pmap_view::render::size(kib)
                ),
                None => format!("{}{}", describe_status(status), memory_hint(status)),
            },
            output,
        },
        WaitError::Timeout { waited, output } => RunError::Demo {
            step,
            what: format!(
                "did not reach its next prompt within {:.1} s (it was killed)",
                waited.as_secs_f64()
            ),
            output,
        },
        WaitError::Io(e) => RunError::Io(format!("talking to the demo at step {step}"), e),
    };
    for (index, spec) in lab.spec.steps.iter().enumerate() {
        if index > 0 {
            demo.answer()
                .map_err(|e| RunError::Io(format!("answering the demo at step {index}"), e))?;
        }
        let output = demo
            .wait_for_prompt(opts.step_timeout)
            .map_err(|e| demo_error(index, e, &demo))?;
        let snapshot = Snapshot::capture(demo.pid()).map_err(|source| RunError::Capture {
            step: index,
            source,
        })?;
        if index == 0 {
            let libraries: Vec<&str> = snapshot
                .regions
                .iter()
                .filter(|r| r.kind == pmap_view::Kind::File)
                .map(|r| r.name.as_str())
                .collect();
            facts.add_allocator(&launch.alloc_env, &libraries, Some(demo.pid()));
            checks = compile_checks(lab, imp, &facts);
            report.facts = facts.clone();
        }
        let children = capture_children(demo.pid());
        let page_maps = crate::measure::residency::capture(
            demo.pid(),
            report.steps.last().map(|s| &s.snapshot),
            &snapshot,
        );
        let cache = cache_file.and_then(residency);
        let results = {
            // The demo's series of snapshots, and its (first) child's, with an
            // empty map for the steps where there was no child.
            let none = Snapshot::from_smaps(0, b"").expect("empty smaps parses");
            let mine: Vec<&Snapshot> = report
                .steps
                .iter()
                .map(|s| &s.snapshot)
                .chain([&snapshot])
                .collect();
            let theirs: Vec<&Snapshot> = report
                .steps
                .iter()
                .map(|s| s.children.first().unwrap_or(&none))
                .chain([children.first().unwrap_or(&none)])
                .collect();
            let caches: Vec<Option<&Residency>> = report
                .steps
                .iter()
                .map(|s| s.cache.as_ref())
                .chain([cache.as_ref()])
                .collect();
            let demo_view = StepSnapshots::of(&mine, &caches);
            let child_view = StepSnapshots::of(&theirs, &caches);
            checks[index]
                .iter()
                .map(|c| match c {
                    Ok(c) => c.evaluate(if c.on_child() {
                        &child_view
                    } else {
                        &demo_view
                    }),
                    Err(not_applicable) => not_applicable.clone(),
                })
                .collect()
        };
        report.steps.push(StepReport {
            index,
            title: spec.title.clone(),
            prompt: output
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_string(),
            output,
            source: if index == 0 {
                Vec::new()
            } else {
                step_source(&source.source, index)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            },
            annotation: spec.annotation.trim().to_string(),
            note: spec.note_for(imp, &facts),
            snapshot,
            residency: page_maps,
            children,
            cache,
            checks: results,
        });
        if on_step(&report)? == Next::Stop {
            // The demo is killed as it is dropped, the lab's file removed.
            return Ok(Ended::Stopped(report));
        }
    }
    let last = lab.spec.steps.len();
    demo.answer()
        .map_err(|e| RunError::Io("answering the demo's last prompt".into(), e))?;
    let (status, output) = demo
        .wait_for_exit(opts.step_timeout)
        .map_err(|e| demo_error(last, e, &demo))?;
    if !status.success() {
        return Err(demo_error(
            last,
            WaitError::Exited { status, output },
            &demo,
        ));
    }
    Ok(Ended::Completed(report))
}

/// How a demo went through its prompts when answered with Enter every
/// time (`lab validate`): how many it made, and how it ended.
#[derive(Debug)]
pub struct Prompts {
    pub count: usize,
    /// None: it exited with status 0 after its last prompt.
    pub trouble: Option<String>,
    /// The end of what it printed last, in a line.
    pub last_words: String,
}

/// Run `imp` of `lab` answering every prompt, with no capture and no check,
/// to count its prompts (a lab has one per step). Stops (killing the demo)
/// after `limit` prompts, or when a prompt does not come within `timeout`.
pub fn count_prompts(
    lab: &Lab,
    imp: Impl,
    opts: &RunOptions,
    limit: usize,
) -> Result<Prompts, RunError> {
    let launch = prepare(lab, imp, &opts.tools)?;
    let facts = Facts::of_machine(Some(&launch.workdir));
    let confinement = Confinement::for_run(Some(&launch.workdir), memory_kib(lab, &facts));
    let mut demo = Demo::spawn_confined(launch.command, confinement)
        .map_err(|e| spawn_error(e, opts.tools.no_aslr))?;
    let mut count = 0;
    // Escaped: a demo's output reaches lab's terminal as text.
    let last_words = |output: &str| {
        let tail: Vec<_> = output
            .lines()
            .rev()
            .take(3)
            .map(pmap_view::region::escape_controls)
            .collect();
        match tail.len() {
            0 => "it printed nothing".to_string(),
            _ => format!(
                "its last output: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ),
        }
    };
    loop {
        match demo.wait_for_prompt(opts.step_timeout) {
            Ok(_) => count += 1,
            Err(WaitError::Exited { status, output }) => {
                let words = last_words(&output);
                let trouble =
                    (!status.success()).then(|| format!("{}; {words}", describe_status(status)));
                return Ok(Prompts {
                    count,
                    trouble,
                    last_words: words,
                });
            }
            Err(WaitError::Timeout { waited, output }) => {
                let what = if count == 0 {
                    "did not reach a prompt"
                } else {
                    "neither prompted again nor exited"
                };
                let words = last_words(&output);
                return Ok(Prompts {
                    count,
                    trouble: Some(format!(
                        "{what} within {:.1} s (it was killed; a prompt is a line printed, then \
                         a read of stdin); {words}",
                        waited.as_secs_f64(),
                    )),
                    last_words: words,
                });
            }
            Err(WaitError::Io(e)) => return Err(RunError::Io("talking to the demo".into(), e)),
        }
        if count > limit {
            return Ok(Prompts {
                count,
                trouble: Some(format!(
                    "still prompting after {limit} prompts (it was killed)"
                )),
                last_words: String::new(),
            });
        }
        demo.answer()
            .map_err(|e| RunError::Io("answering the demo".into(), e))?;
    }
}
