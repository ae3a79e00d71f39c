//! The commands that work on processes and captures rather than on labs:
//! `lab diff`, `lab explain` and `lab observe`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Options of `lab diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier capture (`lab pmap --json PID > before.json`).
    before: PathBuf,
    /// The later capture.
    after: PathBuf,
    /// Print the changes as JSON.
    #[arg(long)]
    json: bool,
}

pub fn diff(args: &DiffArgs) -> ExitCode {
    let load = |p: &PathBuf| {
        observer::views::compare::load_file(p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let (before, after) = match (load(&args.before), load(&args.after)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            say!("lab: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        pmap_view::json::pretty(&observer::views::json::DiffDocument::of(&before, &after))
    } else {
        // Rows as wide as they come when not on a terminal (a file keeps them whole).
        let style = observer::views::render::Style {
            width: observer::views::render::terminal_width().unwrap_or(1000),
            ..Default::default()
        };
        observer::views::compare::render(&before, &after, style)
    };
    crate::print_or_quit(&text)
}

/// Options of `lab explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The process to explain.
    #[arg(value_parser = crate::parse_pid)]
    pid: i32,
    /// Print the regions with their explanations as JSON.
    #[arg(long)]
    json: bool,
}

pub fn explain(args: &ExplainArgs) -> ExitCode {
    let (snap, explained) = match observer::measure::explain::explain(args.pid) {
        Ok(x) => x,
        Err(e) => {
            say!("lab: {e}");
            return ExitCode::from(2);
        }
    };
    // Nothing to explain: say why, as an error (an empty table explains nothing).
    if explained.is_empty() {
        if let Some(why) = crate::pmap_cmd::no_map_reason(args.pid) {
            say!("lab: process {} {why}", args.pid);
            return ExitCode::from(2);
        }
    }
    if args.json {
        // Streamed: 65,000 regions as one tree of JSON values took 444 MB.
        return crate::stream(|out| {
            observer::views::json::write_explained(out, snap.pid, &explained)
        });
    }
    let text = {
        let mut out = format!("{:<72} What it is\n", pmap_view::render::X_HEADER);
        for e in &explained {
            let mark = if e.certain { ' ' } else { '?' };
            out += &format!(
                "{:<70} {mark} {}\n",
                pmap_view::render::x_row(&e.region),
                // It quotes paths: their control characters escaped too.
                pmap_view::region::escape_controls(&e.what)
            );
        }
        out += "? marks a description of what such a region usually is, not an identification.\n";
        out
    };
    crate::print_or_quit(&text)
}

/// Options of `lab observe`.
#[derive(Args, Debug)]
pub struct ObserveArgs {
    /// Take a step when the output matches this pattern, instead of when the
    /// kernel shows the program blocked reading its input.
    #[arg(long, value_name = "REGEX")]
    prompt: Option<String>,
    /// Print the whole run as JSON (the labs' format, without checks).
    #[arg(long)]
    json: bool,
    /// Answer every prompt with an empty line instead of asking you.
    #[arg(long)]
    no_pause: bool,
    /// Seconds to wait for each prompt before giving up on the program.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = crate::parse_seconds)]
    step_timeout: f64,
    /// The program and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<String>,
}

pub fn observe(args: &ObserveArgs) -> ExitCode {
    use observer::drive::observe::{observe, PromptRule};
    use observer::views::render::{self, Style};
    use std::io::{BufRead, IsTerminal};
    observer::drive::cleanup::install_signal_handlers();
    let rule = match &args.prompt {
        Some(p) => match regex::Regex::new(p) {
            Ok(re) => PromptRule::Pattern(re),
            Err(e) => {
                say!(
                    "lab: --prompt: {}",
                    e.to_string().lines().last().unwrap_or("bad pattern")
                );
                return ExitCode::from(2);
            }
        },
        None => PromptRule::Blocked,
    };
    let interactive = !args.no_pause && !args.json && std::io::stdin().is_terminal();
    let style = Style {
        color: crate::use_color(),
        width: render::terminal_width().unwrap_or(80),
        expand: false,
        picture: Default::default(),
    };
    let timeout = std::time::Duration::from_secs_f64(args.step_timeout);
    let answer = |report: &observer::drive::report::Report| -> Result<Option<String>, crate::Halt> {
        if !args.json {
            let i = report.steps.len() - 1;
            if i == 0 {
                crate::print(&format!(
                    "observing `{}` (pid {})\n",
                    pmap_view::region::escape_controls(&args.command.join(" ")),
                    report.pid
                ))?;
            }
            crate::print(&render::step(report, i, style))?;
        }
        if !interactive {
            return Ok(Some(String::new()));
        }
        crate::print("\nInput for the program (Enter sends an empty line, Ctrl-D stops): ")?;
        let mut line = String::new();
        let n = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| observer::RunError::Io("reading stdin".into(), e))?;
        Ok((n > 0).then(|| line.trim_end_matches('\n').to_string()))
    };
    // The reader of our output gone: stop answering, as at the end of input.
    let result = observe(&args.command, &rule, timeout, |report| {
        match answer(report) {
            Ok(line) => Ok(line),
            Err(crate::Halt::Quit) => Ok(None),
            Err(crate::Halt::Fail(e)) => Err(e),
        }
    });
    match result {
        Ok(report) => {
            let text = if args.json {
                // Says what ran: the program and its arguments.
                pmap_view::json::pretty(&observer::views::json::RunDocument::observed(
                    &report,
                    &args.command,
                ))
            } else {
                let timeline = if report.steps.is_empty() {
                    String::new()
                } else {
                    render::timeline(&report, style)
                };
                format!(
                    "{timeline}\n{} exited after {} prompts.\n",
                    pmap_view::region::escape_controls(&args.command[0]),
                    report.steps.len()
                )
            };
            crate::print_or_quit(&text)
        }
        Err(e) => crate::fail(&e),
    }
}
