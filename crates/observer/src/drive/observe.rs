//! `lab observe -- CMD ARGS...`: drive any program that prints a prompt and
//! waits for a line (a student's own homework, say) the way the labs drive
//! their demos, capturing the memory map at each prompt. There are no checks:
//! the report shows what changed at each step.

use std::process::Command;
use std::time::{Duration, Instant};

use pmap_view::Snapshot;
use regex::Regex;

use crate::drive::demo::{describe_status, Demo, WaitError};
use crate::drive::impls::Impl;
use crate::drive::report::{Report, StepReport};
use crate::drive::run::RunError;

/// How to recognise a prompt.
pub enum PromptRule {
    /// The kernel says the program sleeps in read(0): works for any prompt.
    Blocked,
    /// The program's output since the last answer matches this pattern (for
    /// programs that read stdin in ways the kernel check cannot see, e.g. from
    /// another thread).
    Pattern(Regex),
}

/// Run `argv`; at each prompt capture a step and ask `answer` what to type
/// (None: stop). Ends when the program exits; its steps are in the report.
pub fn observe(
    argv: &[String],
    rule: &PromptRule,
    step_timeout: Duration,
    mut answer: impl FnMut(&Report) -> Result<Option<String>, RunError>,
) -> Result<Report, RunError> {
    let (program, args) = argv.split_first().ok_or_else(|| {
        RunError::Io(
            "no command to observe".into(),
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    let mut command = Command::new(program);
    command.args(args);
    // It may write only to /tmp and the like, not to the user's files (nor
    // lab's cache); it runs in the folder lab was started in.
    let confinement = crate::drive::confine::Confinement::for_run(None, None);
    let mut demo = Demo::spawn_confined(command, confinement)
        .map_err(|e| RunError::Io(format!("starting {program}"), e))?;
    let mut report = Report {
        lab: "observe".into(),
        imp: Impl::C,
        runtime: argv.join(" "),
        how: format!("run as `{}`", argv.join(" ")),
        confinement: demo.confinement().describe(),
        source_file: program.clone(),
        pid: demo.pid(),
        facts: crate::measure::machine::Facts::of_machine(None),
        cleared_env: Vec::new(),
        intro: String::new(),
        last_step: None,
        steps: Vec::new(),
    };
    loop {
        let index = report.steps.len();
        let output = match wait(&mut demo, rule, step_timeout) {
            Ok(o) => o,
            Err(WaitError::Exited { status, output }) => {
                if !status.success() {
                    return Err(RunError::Demo {
                        step: index,
                        what: describe_status(status),
                        output,
                    });
                }
                return Ok(report);
            }
            Err(WaitError::Timeout { waited, output }) => {
                // The kernel check sees only read(0) on the main thread.
                let hint = match rule {
                    PromptRule::Blocked => {
                        "; if it waits for input otherwise (select or poll, another \
                         thread, /dev/tty), step it by its prompt: --prompt REGEX"
                    }
                    PromptRule::Pattern(_) => "",
                };
                let what = format!(
                    "did not reach a prompt within {:.1} s (it was killed{hint})",
                    waited.as_secs_f64()
                );
                return Err(RunError::Demo {
                    step: index,
                    what,
                    output,
                });
            }
            Err(WaitError::Io(e)) => return Err(RunError::Io("talking to the program".into(), e)),
        };
        let snapshot = Snapshot::capture(demo.pid()).map_err(|source| RunError::Capture {
            step: index,
            source,
        })?;
        // Which pages of the regions that changed are resident, as the labs show.
        let residency = crate::measure::residency::capture(
            demo.pid(),
            report.steps.last().map(|s| &s.snapshot),
            &snapshot,
        );
        let prompt = output
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        report.steps.push(StepReport {
            index,
            title: if prompt.is_empty() {
                "waiting for input".into()
            } else {
                prompt.clone()
            },
            prompt,
            output,
            source: Vec::new(),
            annotation: String::new(),
            note: None,
            snapshot,
            residency,
            children: Vec::new(),
            cache: None,
            checks: Vec::new(),
        });
        match answer(&report)? {
            Some(line) => demo
                .answer_with(&line)
                .map_err(|e| RunError::Io("answering the program".into(), e))?,
            None => return Ok(report),
        }
    }
}

fn wait(demo: &mut Demo, rule: &PromptRule, timeout: Duration) -> Result<String, WaitError> {
    let PromptRule::Pattern(re) = rule else {
        return demo.wait_for_prompt(timeout);
    };
    let start = Instant::now();
    let mut seen = String::new();
    loop {
        seen += &demo.read_available(Duration::from_millis(2))?;
        // The prompt is at the end: keep as much as a step keeps.
        if seen.len() > crate::drive::demo::KEPT_OUTPUT {
            let mut cut = seen.len() - crate::drive::demo::KEPT_OUTPUT;
            while !seen.is_char_boundary(cut) {
                cut += 1;
            }
            seen.drain(..cut);
        }
        if re.is_match(&seen) {
            // The pattern matched; give the program a moment to block reading,
            // so that the capture is of a program at rest when it can be.
            let rest = demo.wait_for_prompt(Duration::from_secs(1));
            return match rest {
                Ok(more) => Ok(seen + &more),
                Err(WaitError::Timeout { output, .. }) => Ok(seen + &output),
                Err(e) => Err(e),
            };
        }
        if let Some(status) = demo.exit_status()? {
            return Err(WaitError::Exited {
                status,
                output: seen,
            });
        }
        if start.elapsed() >= timeout {
            return Err(WaitError::Timeout {
                waited: start.elapsed(),
                output: seen,
            });
        }
    }
}
