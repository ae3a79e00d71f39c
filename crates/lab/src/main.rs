//! `lab`: the pmap lab command line. Thin by design: argument handling and the
//! choice of output (live terminal view, JSON); the work lives in the
//! `observer` and `pmap-view` crates.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use observer::render::{self, Style};
use observer::{catalog, run_lab, Impl, RunError, RunOptions, Toolchain};

mod pmap_cmd;

/// Watch a Linux process's memory map change, step by step.
///
/// Run a lab by its name (`lab heap`); `lab list` shows them all.
#[derive(Parser)]
#[command(name = "lab", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the labs and their implementations.
    List,
    /// Run a lab's Rust port by itself: it prints its PID and waits for Enter
    /// at every step, so you can watch it with `pmap -x PID` in another terminal.
    Workload {
        /// The lab whose port to run (heap, …).
        name: String,
    },
    /// The memory map of any process, as procps-ng `pmap` prints it (same
    /// formats and options), with the kernel's names and right totals.
    Pmap(pmap_cmd::PmapArgs),
}

/// Options of `lab LAB`.
#[derive(Args, Debug)]
struct LabArgs {
    /// Which implementation of the demo to run.
    #[arg(long = "impl", value_name = "IMPL", default_value = "rust", value_parser = parse_impl)]
    imp: Impl,
    /// Do not wait for Enter between steps (never waits when stdin is not a terminal).
    #[arg(long)]
    no_pause: bool,
    /// Print the whole run as one JSON document (DESIGN.md's contract) instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds a step may take before the demo is declared hung and killed.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = parse_seconds)]
    step_timeout: f64,
    /// The Python interpreter for `--impl python` (default: python3).
    #[arg(long, value_name = "PATH")]
    python: Option<std::path::PathBuf>,
}

fn parse_impl(s: &str) -> Result<Impl, String> {
    s.parse()
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

fn main() -> ExitCode {
    let mut command = Cli::command();
    for lab in catalog::all() {
        let sub = clap::Command::new(lab.name()).about(lab.spec.summary.clone());
        command = command.subcommand(LabArgs::augment_args(sub));
    }
    let matches = command.get_matches();
    if let Some((name, sub)) = matches.subcommand() {
        if let Some(lab) = catalog::find(name) {
            let args = match LabArgs::from_arg_matches(sub) {
                Ok(a) => a,
                Err(e) => e.exit(),
            };
            return run_one(lab, &args);
        }
    }
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match cli.command {
        Command::List => list(),
        Command::Workload { name } => workload(&name),
        Command::Pmap(args) => pmap_cmd::run(&args),
    }
}

fn list() -> ExitCode {
    let mut out = io::stdout().lock();
    for lab in catalog::all() {
        let impls: Vec<&str> = lab.impls.iter().map(|s| s.imp.as_str()).collect();
        if writeln!(
            out,
            "{:<8} [{}]  {}",
            lab.name(),
            impls.join(", "),
            lab.spec.summary
        )
        .is_err()
        {
            break; // closed pipe: nothing more to say
        }
    }
    ExitCode::SUCCESS
}

fn workload(name: &str) -> ExitCode {
    let Some(w) = workloads::find(name) else {
        let names: Vec<&str> = workloads::ALL.iter().map(|w| w.name).collect();
        eprintln!(
            "lab: no workload named `{name}` (there are: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    match workloads::run_standalone(w) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab workload {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_one(lab: &'static observer::lab::Lab, args: &LabArgs) -> ExitCode {
    observer::cleanup::install_signal_handlers();
    let interactive = !args.no_pause && !args.json && io::stdin().is_terminal();
    let style = Style {
        color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let opts = RunOptions {
        step_timeout: Duration::from_secs_f64(args.step_timeout),
        tools: Toolchain {
            python: args.python.clone(),
            ..Toolchain::default()
        },
    };
    let steps = lab.spec.steps.len();
    let result = run_lab(lab, args.imp, &opts, |report| {
        if args.json {
            return Ok(());
        }
        let index = report.steps.len() - 1;
        let mut text = String::new();
        if index == 0 {
            text.push_str(&render::intro(lab, report, style));
            text.push('\n');
        }
        text.push_str(&render::step(report, index, style));
        print(&text)?;
        if interactive && index + 1 < steps {
            pause(&lab.spec.steps[index + 1].title)?;
        }
        Ok(())
    });
    match result {
        Ok(report) => {
            let shown = if args.json {
                serde_json::to_string_pretty(&report.to_json())
                    .map(|j| j + "\n")
                    .unwrap_or_default()
            } else {
                format!("\n{}\n", render::summary(&report, style))
            };
            match print(&shown) {
                Ok(()) | Err(RunError::Stopped) => {}
                Err(e) => return fail(&e),
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(RunError::Stopped) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &RunError) -> ExitCode {
    eprintln!("lab: {e}");
    ExitCode::from(2)
}

/// Write to stdout; a closed pipe (`lab heap | head`) ends the run quietly.
fn print(text: &str) -> Result<(), RunError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(RunError::Stopped),
        Err(e) => Err(RunError::Io("writing the report".into(), e)),
    }
}

/// Wait for Enter (the demo waits at its prompt meanwhile); `q` or EOF stops.
fn pause(next: &str) -> Result<(), RunError> {
    print(&format!(
        "\nPress Enter for the next step ({next}), or q and Enter to quit. "
    ))?;
    let mut line = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| RunError::Io("reading stdin".into(), e))?;
    if n == 0 || line.trim().eq_ignore_ascii_case("q") {
        return Err(RunError::Stopped);
    }
    print("\n")
}
