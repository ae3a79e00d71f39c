//! `lab exercise` and `lab grade`: exercises judged by the kernel.
//!
//! An exercise is a lab with an `[exercise]` table (exercises/NAME/lab.toml):
//! a task, a starter program with a gap, and checks that define success.
//! `lab exercise NAME` writes the starter into the student's directory;
//! `lab grade NAME [FILE]` compiles the student's program, runs it step by
//! step as the labs run their demos, judges it by the lab's checks (what
//! /proc shows, not what the code says) and prints a score, and for every
//! check that failed what was expected, what was observed and a hint.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;

use crate::fail;
use observer::spec::catalog;
use observer::spec::check::{CheckResult, Status};
use observer::spec::lab::Lab;
use observer::{run_through, Impl, RunError};

/// Options of `lab exercise`.
#[derive(Args, Debug)]
pub struct ExerciseArgs {
    /// The exercise to start (none: list them).
    name: Option<String>,
    /// Where to write the starter program (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

/// Options of `lab grade`.
#[derive(Args, Debug)]
pub struct GradeArgs {
    /// The exercise.
    name: String,
    /// Your program (default: the exercise's file in the current directory,
    /// as `lab exercise NAME` wrote it).
    file: Option<PathBuf>,
    /// Print the result as one JSON document (docs/json.md), for autograders.
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Grade again every time the file changes (until Ctrl-C).
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    run: crate::RunArgs,
}

fn find(name: &str) -> Result<Lab, String> {
    let all = catalog::exercises();
    let names: Vec<String> = all.iter().map(|l| l.name().to_string()).collect();
    all.into_iter().find(|l| l.name() == name).ok_or_else(|| {
        format!(
            "no exercise named `{name}` (there are: {}; `{}` lists them; an exercise of a \
             folder of labs needs it: --labs DIR)",
            names.join(", "),
            crate::labs_cmd::command("exercise")
        )
    })
}

/// `lab exercise [NAME]`.
pub fn exercise(args: &ExerciseArgs) -> ExitCode {
    let width = crate::prose_width();
    let Some(name) = &args.name else {
        let mut text = format!(
            "Exercises (`{}` starts one):\n",
            crate::labs_cmd::command("exercise NAME")
        );
        for e in catalog::exercises() {
            text += &format!("  {:<10} {}\n", e.name(), e.spec.summary);
        }
        return crate::print_or_quit(&text);
    };
    let lab = match find(name) {
        Ok(lab) => lab,
        Err(e) => return fail(&e),
    };
    let ex = lab.spec.exercise.as_ref().expect("an exercise");
    let Some(starter) = catalog::exercise_file(&lab, &ex.starter) else {
        return fail(format!(
            "the exercise {name} has no starter file {}",
            ex.starter
        ));
    };
    let path = args.dir.join(&ex.file);
    // Never over a file of the student's, never through a link.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .and_then(|mut f| f.write_all(starter.as_bytes()));
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return fail(format!(
                "{} is already there: grade it with `{}` (or remove it to start over)",
                path.display(),
                crate::labs_cmd::command(&format!("grade {name}"))
            ))
        }
        Err(e) => return fail(format!("writing {}: {e}", path.display())),
    }
    let text = format!(
        "{}\n\n{}\n\nWrote {}. Edit it, then: {}{}   (--watch: again on every save)\n",
        crate::render::wrap_to(&format!("Exercise {name}: {}", lab.spec.summary), "", width),
        crate::render::wrap_to(ex.task.trim(), "", width),
        path.display(),
        crate::labs_cmd::command(&format!("grade {name}")),
        if args.dir == Path::new(".") {
            String::new()
        } else {
            format!(" {}", path.display())
        }
    );
    crate::print_or_quit(&text)
}

/// `lab grade NAME [FILE]`: exit 0 when every check held, 1 when one failed,
/// 2 when the program could not be graded (it does not compile, say).
pub fn grade(args: &GradeArgs) -> ExitCode {
    let lab = match find(&args.name) {
        Ok(lab) => lab,
        Err(e) => {
            if args.json {
                let file = args.file.as_deref().unwrap_or(Path::new(""));
                let machine = observer::measure::machine::Facts::of_machine(None);
                let _ = crate::print(&pmap_view::json::pretty(
                    &observer::views::json::UngradedDocument::of(
                        &args.name,
                        &file.display().to_string(),
                        "error",
                        &e,
                        &machine,
                    ),
                ));
            }
            return fail(&e);
        }
    };
    let ex = lab.spec.exercise.as_ref().expect("an exercise");
    let file = args.file.clone().unwrap_or_else(|| PathBuf::from(&ex.file));
    if let Some(python) = &args.run.python {
        // lab grade compiles and runs a C program: no Python in it.
        return fail(format!(
            "--python {}: lab grade runs your C program, with no Python (leave --python out)",
            python.display()
        ));
    }
    if !args.watch {
        return once(&lab, &file, args);
    }
    let mut last = None;
    loop {
        let stamp = stamp(&file);
        if stamp != last {
            last = stamp;
            let _ = once(&lab, &file, args);
            let _ = crate::print(&format!(
                "(watching {}: grading again when it changes; Ctrl-C ends)\n",
                file.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// What tells a change of the file: its modification time and size.
fn stamp(file: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(file).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn once(lab: &Lab, file: &Path, args: &GradeArgs) -> ExitCode {
    let shown = file.display().to_string();
    // Not graded: one message on stderr, and with --json one document too.
    let ungraded = |cause: &'static str, reason: String, code: ExitCode| {
        if args.json {
            let machine = observer::measure::machine::Facts::of_machine(None);
            let _ = crate::print(&pmap_view::json::pretty(
                &observer::views::json::UngradedDocument::of(
                    lab.name(),
                    &shown,
                    cause,
                    &reason,
                    &machine,
                ),
            ));
        }
        say!("lab: {reason}");
        code
    };
    let source = match observer::spec::catalog::read_student_file(file) {
        Ok(s) => s,
        Err(e) => return ungraded("unreadable", e.to_string(), ExitCode::from(2)),
    };
    let lab = lab.with_c_source(shown.clone(), source);
    match run_through(&lab, Impl::C, &args.run.options()) {
        Err(RunError::Compile { file: copy, stderr }) => ungraded(
            "compile",
            format!(
                "{shown} does not compile:\n{}",
                crate::labs_cmd::first_errors(&stderr.replace(&copy, &shown))
            ),
            ExitCode::from(2),
        ),
        Err(RunError::NothingToCheck(n)) => ungraded(
            "n/a",
            format!("not graded: {n}"),
            crate::verdict_code(observer::drive::report::Verdict::NothingToCheck),
        ),
        Err(e) => ungraded(
            cause(&e),
            format!("grading {shown}: {e}"),
            ExitCode::from(2),
        ),
        Ok(report) => {
            let results = graded(&lab, &report);
            let text = if args.json {
                pmap_view::json::pretty(&observer::views::json::GradeDocument::of(
                    &lab, &report, &shown, &results,
                ))
            } else {
                text(&lab, &report, file, &results)
            };
            let _ = crate::print(&text);
            crate::verdict_code(report.verdict())
        }
    }
}

/// Why a program could not be graded, in a word (`cause` of the JSON): it
/// hung (did not reach its next prompt in time), ran out of the memory it
/// may use (killed for exceeding the exercise's `memory` in lab's cgroup,
/// by the out-of-memory killer or another cgroup limit, refused by `ulimit
/// -v`), crashed (any other death or failing exit), or lab met another
/// error. Read from the words of `RunError::Demo` (drive::run says them).
fn cause(e: &RunError) -> &'static str {
    match e {
        RunError::Demo { what, .. } if what.starts_with("did not reach") => "hang",
        RunError::Demo { what, .. }
            if what.contains("out-of-memory")
                || what.contains("exceeding the memory")
                || what.contains("memory limit")
                || what.contains("memory cgroup")
                || what.contains("ulimit -v") =>
        {
            "memory"
        }
        RunError::Demo { .. } => "crash",
        RunError::Compile { .. } => "compile",
        // The machine (its cgroup, its free memory) has less than the
        // exercise needs: it was not started.
        RunError::NotApplicable { .. } => "memory",
        RunError::NothingToCheck(_) => "n/a",
        _ => "error",
    }
}

/// Every check of the run with its step and the hint of the exercise.
fn graded<'a>(
    lab: &'a Lab,
    report: &'a observer::Report,
) -> Vec<observer::views::json::GradedCheck<'a>> {
    report
        .steps
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| (s, c)))
        .map(|(s, c)| observer::views::json::GradedCheck {
            step: s.index,
            step_title: &s.title,
            check: c,
            hint: hint(lab, c),
        })
        .collect()
}

fn hint<'a>(lab: &'a Lab, c: &CheckResult) -> Option<&'a str> {
    lab.spec
        .steps
        .iter()
        .flat_map(|s| &s.checks)
        .find(|spec| spec.id == c.id)
        .and_then(|spec| spec.hint.as_deref())
}

fn text(
    lab: &Lab,
    report: &observer::Report,
    file: &Path,
    results: &[observer::views::json::GradedCheck],
) -> String {
    let width = crate::prose_width();
    let indented = |t: &str| crate::render::wrap_to(t, "          ", width);
    let mut out = crate::render::wrap_to(
        &format!("grade: {} ({}, {})", lab.name(), file.display(), report.how),
        "",
        width,
    );
    out.push('\n');
    out += &crate::render::wrap_to(&format!("confined by {}", report.confinement), "  ", width);
    out.push('\n');
    let mut step = None;
    for r in results {
        if step != Some(r.step) {
            step = Some(r.step);
            out += &format!("\nstep {}: {}\n", r.step, r.step_title);
        }
        let c = r.check;
        let mark = match c.status {
            Status::Pass => "✓ pass",
            Status::Fail => "✗ FAIL",
            Status::NotApplicable => "– n/a ",
        };
        out += &format!("  {mark}  {}\n", c.description);
        match c.status {
            Status::NotApplicable => {
                let why = c.not_applicable.as_deref().unwrap_or("");
                out += &format!("{}\n", indented(&format!("not applicable: {why}")));
            }
            Status::Fail => {
                out += &format!(
                    "{}\n",
                    indented(&format!("expected {}; observed {}", c.expected, c.observed))
                );
                if let Some(h) = r.hint {
                    out += &format!("{}\n", indented(&format!("hint: {h}")));
                }
            }
            Status::Pass => {}
        }
    }
    let (held, total) = report.checks_passed();
    if total == 0 {
        out += &format!(
            "\nnot graded: no check applies on this machine ({}).\n",
            report.ruled_out_by().join("; ")
        );
        return out;
    }
    out += &format!("\nscore: {held} of {total} checks held");
    out += if held == total {
        ": done.\n"
    } else {
        " (the kernel judged; see the hints above).\n"
    };
    out
}
