//! `lab`: the pmap lab command line. Thin by design: argument handling and the
//! choice of output (live terminal view, JSON); the work lives in the
//! `observer` and `pmap-view` crates.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use observer::drive::suite;
use observer::spec::catalog;
use observer::views::render::{self, Style};
use observer::{run_lab, Ended, Impl, Next, RunError, RunOptions, Toolchain};

/// `eprintln!` for messages: a closed stderr (`lab check 2>&1 | head -1`)
/// makes the message go nowhere, never a panic. Every message of the CLI
/// goes through it or [`say_inline!`]. Messages quote paths, names and
/// programs' words: what would command the terminal in them is escaped
/// (`pmap_view::region::escape_lines`), line breaks kept.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let text = format!($($arg)*);
        let _ = writeln!(std::io::stderr(), "{}", pmap_view::region::escape_lines(&text));
    }};
}

/// `eprint!` likewise (a progress line finished later).
macro_rules! say_inline {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut err = std::io::stderr();
        let text = format!($($arg)*);
        let _ = write!(err, "{}", pmap_view::region::escape_lines(&text));
        let _ = err.flush();
    }};
}

mod exercise_cmd;
mod glossary;
mod labs_cmd;
mod oom;
mod pause;
mod pmap_cmd;
mod predict;
mod progress;
mod report_cmd;
mod tools_cmd;

#[global_allocator]
static ALLOCATOR: oom::Allocator = oom::Allocator;

/// Watch a Linux process's memory map change, step by step.
///
/// Run a lab by its name (`lab heap`); `lab list` shows them all.
#[derive(Parser)]
#[command(name = "lab", version, propagate_version = true)]
struct Cli {
    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    /// Add the labs of DIR (a lab folder, or a folder of them) to every
    /// command; also PMAP_LAB_LABS=DIR:DIR. docs/writing-labs.md
    #[arg(long = "labs", global = true, value_name = "DIR")]
    lab_dirs: Vec<std::path::PathBuf>,
    /// Run the labs of --labs even when a folder or file of theirs belongs
    /// to another user or others can write to it (refused otherwise, with
    /// the reason); also PMAP_LAB_TRUST_LABS=1. docs/writing-labs.md
    #[arg(long, global = true)]
    trust_labs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<ColorWhen> = std::sync::OnceLock::new();

#[derive(Subcommand)]
enum Command {
    /// List the labs and their implementations.
    List,
    /// Run every lab with every implementation, without pausing, and print a
    /// table of results. Exit 0 only when every check of every run held.
    Check(CheckArgs),
    /// Sample any process's memory map at an interval, show what grows, and
    /// flag a region that grows steadily (a likely leak) with its rate.
    Watch(WatchArgs),
    /// Forget which labs you have completed (`lab list` marks them).
    Reset,
    /// Print shell completions: `lab completions bash > /etc/bash_completion.d/lab`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `lab man > lab.1; man ./lab.1`.
    Man,
    /// Compare two captures (`lab pmap --json PID > a.json`, later `> b.json`):
    /// regions that appeared, vanished, grew and shrank, matched by identity.
    Diff(tools_cmd::DiffArgs),
    /// Name every region of any process in plain words: the program's and each
    /// library's segments, heap, stacks and guard pages, malloc arenas and large
    /// blocks, vDSO, files; `?` where it can only say what such a region usually is.
    Explain(tools_cmd::ExplainArgs),
    /// Drive any program that prints a prompt and waits for a line (your own,
    /// say) as the labs drive their demos: the pmap view and its changes at
    /// every prompt.
    Observe(tools_cmd::ObserveArgs),
    /// Run a lab's Rust port by itself: it prints its PID and waits for Enter
    /// at every step, so you can watch it with `pmap -x PID` in another terminal.
    Workload {
        /// The lab whose port to run (heap, …).
        name: String,
        /// Arguments for the port (`lab workload leak mmap 100`: leak with mmap every 100 ms).
        args: Vec<String>,
    },
    /// The memory map of any process, as procps-ng `pmap` prints it (same
    /// formats and options), with the kernel's names and right totals.
    Pmap(pmap_cmd::PmapArgs),
    /// Merge a class's `lab check --json` documents (one per machine) into
    /// one table: machines grouped by their facts, what passed where, and
    /// the checks that fail on some machines and pass on others.
    Report(report_cmd::ReportArgs),
    /// The words the labs use (RSS, PSS, USS, Dirty, VMA, Mode, anonymous,
    /// fault-around, zero page, THP, arena, tcache, fastbins...): all of
    /// them, or one (`lab glossary pss`). `g` at a pause shows them too.
    Glossary {
        /// The term to explain (any case; `rw-p`, `zero page` work too).
        term: Vec<String>,
    },
    /// Write a lab of your own that runs and passes at once: DIR/NAME/lab.toml
    /// and a demo (docs/writing-labs.md).
    New(labs_cmd::NewArgs),
    /// Check the labs of DIR: every mistake in a lab.toml with its line and
    /// column, and each demo run to see that it prompts once per step.
    Validate(labs_cmd::ValidateArgs),
    /// Run the labs of DIR and write their annotated expected outputs beside
    /// their lab.toml; `lab check --labs DIR` then compares against them.
    Bless(labs_cmd::BlessArgs),
    /// Start an exercise (none: list them): its task, and its starter
    /// program written into the current directory (docs/exercises.md).
    Exercise(exercise_cmd::ExerciseArgs),
    /// Grade your program for an exercise: compiled, run step by step and
    /// judged by the kernel (what /proc shows); a score, and for each failed
    /// check what was expected, what was seen and a hint. Exit 0 when all held.
    Grade(exercise_cmd::GradeArgs),
}

/// Options of `lab check`.
#[derive(Args, Debug)]
struct CheckArgs {
    /// Only these labs (default: all).
    labs: Vec<String>,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Report runs whose toolchain (cc, python3) is missing as skipped, not failed.
    #[arg(long)]
    skip_missing: bool,
    /// Also write every run as one self-contained HTML page: steps, checks,
    /// charts of virtual size and RSS, residency maps.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

/// Options of `lab watch`.
#[derive(Args, Debug)]
struct WatchArgs {
    /// The process to watch.
    #[arg(value_parser = parse_pid)]
    pid: i32,
    /// Seconds between samples.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, value_parser = parse_seconds)]
    interval: f64,
    /// How many samples to take.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=100_000))]
    count: u32,
    /// Print the samples and the growth analysis as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_pid(s: &str) -> Result<i32, String> {
    match s.parse::<i64>() {
        Ok(p) if p > 0 && p <= i64::from(i32::MAX) => Ok(p as i32),
        Ok(_) => Err(format!(
            "`{s}` is not a process id (a number from 1 to {})",
            i32::MAX
        )),
        Err(_) => Err(format!("`{s}` is not a process id (a positive number)")),
    }
}

/// Options shared by every command that runs demos.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Seconds a step may take before the demo is declared hung and killed.
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = parse_seconds)]
    step_timeout: f64,
    /// The Python interpreter for the Python demos (default: python3).
    #[arg(long, value_name = "PATH")]
    pub(crate) python: Option<std::path::PathBuf>,
    /// Run the demo without address-space randomisation: addresses (and sizes
    /// that depend on alignment) repeat exactly from run to run.
    #[arg(long)]
    no_aslr: bool,
    /// Where compiled demos are kept and demos run (default:
    /// $PMAP_LAB_CACHE_DIR, else ~/.cache/pmap-lab). It must be yours and
    /// writable by nobody else.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<std::path::PathBuf>,
    /// Keep the allocator variables (MALLOC_*, GLIBC_TUNABLES, LD_PRELOAD) in
    /// the demos' environment; checks that depend on them then follow them or
    /// say they do not apply.
    #[arg(long)]
    keep_alloc_env: bool,
}

impl RunArgs {
    pub(crate) fn options(&self) -> RunOptions {
        RunOptions {
            step_timeout: Duration::from_secs_f64(self.step_timeout),
            tools: Toolchain {
                python: self.python.clone(),
                no_aslr: self.no_aslr,
                cache_dir: self.cache_dir.clone(),
                keep_alloc_env: self.keep_alloc_env,
                ..Toolchain::default()
            },
        }
    }
}

/// Options of `lab LAB`.
#[derive(Args, Debug)]
struct LabArgs {
    /// Which implementation of the demo to run (default: the Rust port, or
    /// the lab's first demo when it has none).
    #[arg(long = "impl", value_name = "IMPL", value_parser = parse_impl)]
    imp: Option<Impl>,
    /// Do not wait for Enter between steps (never waits when stdin is not a terminal).
    #[arg(long)]
    no_pause: bool,
    /// Print the whole run as one JSON document (its fields: docs/json.md) instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the run as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// Before each step, guess how virtual size and RSS will change (`+10M 0`);
    /// see the truth and a score at the end.
    #[arg(long, conflicts_with = "json")]
    predict: bool,
    /// With --predict: show a hint before each guess.
    #[arg(long, requires = "predict")]
    hint: bool,
    /// Run up to step N without pausing (earlier steps in one line each),
    /// show step N in full and pause from there.
    #[arg(long, value_name = "N", conflicts_with = "json")]
    step: Option<usize>,
    /// Show every region of a group of alike ones (100 thread stacks: "x100")
    /// on its own row (`e` at a pause does it for one step).
    #[arg(long)]
    expand: bool,
    /// Draw the picture of the whole address space (high addresses on top,
    /// the step's change marked) at every step, not only at step 0 and where
    /// the layout changed (`p` at a pause draws it for one step).
    #[arg(long)]
    picture: bool,
    #[command(flatten)]
    run: RunArgs,
}

fn parse_impl(s: &str) -> Result<Impl, String> {
    s.parse()
        .map_err(|e: observer::spec::lab::UnknownImpl| e.to_string())
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a number of seconds between 0 and 86400"
        )),
    }
}

/// The whole command line: the fixed commands and one command per lab.
fn full_command() -> clap::Command {
    let mut command = Cli::command();
    for lab in catalog::all() {
        let sub = clap::Command::new(lab.name());
        // The lab's summary, not LabArgs's doc comment, is its help line.
        let sub = LabArgs::augment_args(sub).about(lab.spec.summary.clone());
        command = command.subcommand(sub);
    }
    command
}

fn main() -> ExitCode {
    // `lab workload NAME [ARGS]` runs a Rust port: dispatch it before building
    // the command line and parsing every lab's data, so that the port starts
    // with a heap as fresh as the C demo's (start-up allocations that are freed
    // again would leave free space in [heap] for the port's first mallocs).
    // Installed as `pmap` (a link to lab), lab is procps's pmap.
    // Past `ulimit -f` a write fails with EFBIG, which lab reports ("File
    // too large"), instead of SIGXFSZ killing it without a word.
    // SAFETY: signal(2) with SIG_IGN has no preconditions.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    if pmap_cmd::invoked_as_pmap() {
        return pmap_cmd::run_as_pmap();
    }
    // Lossy: an argument that is not UTF-8 reaches clap intact (args_os) and
    // is refused there, or taken as a path, never a panic.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.len() >= 3 && argv[1] == "workload" && !argv[2].starts_with('-') {
        return workload(&argv[2], &argv[3..]);
    }
    oom::exit_on_failure();
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .chain(["help".to_string()])
        .collect();
    labs_cmd::remember_given(&argv);
    // Before any lab folder is read; commands that do not use the labs do
    // not read them (a huge or untrusted lab.toml cannot stop `lab pmap`).
    catalog::set_trust(labs_cmd::trust(&argv));
    let dirs = if labs_cmd::needs_labs(&argv) {
        labs_cmd::extra_dirs(&argv)
    } else {
        Vec::new()
    };
    if let Err(e) = labs_cmd::init(&dirs, &commands) {
        say!("lab: {e}");
        return ExitCode::from(2);
    }
    let matches = match full_command().try_get_matches_from(std::env::args_os()) {
        Ok(m) => m,
        Err(e) if e.kind() == clap::error::ErrorKind::InvalidSubcommand => {
            // `lab mylab` of a folder of labs, without `--labs`.
            let _ = e.print();
            say!(
                "(a lab of your own needs its folder: `lab --labs DIR NAME`, or PMAP_LAB_LABS=DIR; \
                 `{}` lists the labs)",
                labs_cmd::command("list")
            );
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let _ = COLOR.set(
        matches
            .get_one::<ColorWhen>("color")
            .copied()
            .unwrap_or(ColorWhen::Auto),
    );
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
        Command::Reset => match progress::reset() {
            Ok(Some(path)) => print_or_quit(&format!(
                "progress forgotten ({} removed)\n",
                path.display()
            )),
            Ok(None) => print_or_quit("no progress recorded\n"),
            Err(e) => fail(RunError::Io("forgetting progress".into(), e)),
        },
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics on a write error.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut full_command(), "lab", &mut script);
            print_or_quit(&String::from_utf8_lossy(&script))
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(full_command()).render(&mut page) {
                Ok(()) => print_or_quit(&String::from_utf8_lossy(&page)),
                Err(e) => fail(RunError::Io("rendering the manual".into(), e)),
            }
        }
        Command::Check(args) => check(&args),
        Command::Watch(args) => watch(&args),
        Command::Workload { name, args } => workload(&name, &args),
        Command::Pmap(args) => pmap_cmd::run(&args),
        Command::Diff(args) => tools_cmd::diff(&args),
        Command::Explain(args) => tools_cmd::explain(&args),
        Command::Observe(args) => tools_cmd::observe(&args),
        Command::Glossary { term } => glossary_cmd(&term.join(" ")),
        Command::Report(args) => report_cmd::report(&args),
        Command::New(args) => labs_cmd::new(&args, &commands),
        Command::Validate(args) => labs_cmd::validate(&args),
        Command::Bless(args) => labs_cmd::bless(&args),
        Command::Exercise(args) => exercise_cmd::exercise(&args),
        Command::Grade(args) => exercise_cmd::grade(&args),
    }
}

/// `lab glossary [TERM]`.
fn glossary_cmd(term: &str) -> ExitCode {
    let width = prose_width();
    if term.trim().is_empty() {
        return print_or_quit(&glossary::render_all(width));
    }
    match glossary::find(term) {
        Some(entry) => print_or_quit(&glossary::render(&entry, width)),
        None => {
            say!(
                "lab: no glossary entry for `{}` (there are: {})",
                term.trim(),
                glossary::names().join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// The terminal's width (80 when stdout is not a terminal), and the width
/// prose is wrapped to: the terminal's, but no more than 80 columns (longer
/// lines are hard to read).
fn terminal_width() -> usize {
    render::terminal_width().unwrap_or(80).max(1)
}

fn prose_width() -> usize {
    terminal_width().min(80)
}

fn list() -> ExitCode {
    let done = progress::completed();
    let width = catalog::all()
        .iter()
        .map(|l| l.name().len())
        .max()
        .unwrap_or(8);
    let mut text = String::new();
    for lab in catalog::all() {
        // `rust ✓`: completed with that implementation (`lab reset` forgets).
        let impls: Vec<String> = lab
            .impls
            .iter()
            .map(|s| {
                let mark = if done.contains(&(lab.name().to_string(), s.imp.as_str().to_string())) {
                    " ✓"
                } else {
                    ""
                };
                format!("{}{mark}", s.imp)
            })
            .collect();
        let any = if lab
            .impls
            .iter()
            .any(|s| done.contains(&(lab.name().to_string(), s.imp.as_str().to_string())))
        {
            "✓"
        } else {
            " "
        };
        text += &format!(
            "{any} {:<width$} [{}]  {}\n",
            lab.name(),
            impls.join(", "),
            lab.spec.summary
        );
    }
    print_or_quit(&text)
}

fn check(args: &CheckArgs) -> ExitCode {
    observer::drive::cleanup::install_signal_handlers();
    if let Some(Err(e)) = args
        .html
        .as_deref()
        .map(observer::views::html::check_writable)
    {
        return fail(&e);
    }
    let mut labs = Vec::new();
    for name in &args.labs {
        match catalog::find(name) {
            Some(lab) => labs.push(lab),
            None => {
                return fail(format!(
                    "no lab named `{name}` (`{}` lists them; a lab of your own needs its \
                     folder: --labs DIR)",
                    labs_cmd::command("list")
                ))
            }
        }
    }
    if labs.is_empty() {
        labs = catalog::all().iter().collect();
    }
    let runs = suite::run_suite(
        &labs,
        &args.run.options(),
        args.skip_missing,
        observer::views::pinned::compare,
        |i, n, lab, imp, done| {
            // Progress goes to stderr, so that stdout holds only the table or JSON.
            match done {
                None => say_inline!("[{i}/{n}] {lab} ({imp}) … "),
                Some(run) => say!(
                    "{} {} ({:.2} s)",
                    run.verdict(),
                    run.checks(),
                    run.elapsed.as_secs_f64()
                ),
            }
        },
    );
    let text = if args.json {
        pmap_view::json::pretty(&observer::views::json::SuiteDocument::of(&runs))
    } else {
        // Plain text (no colour) quoting demos' words and files' names.
        let table = observer::views::render::suite_table(&runs);
        format!("\n{}", pmap_view::region::escape_lines(&table))
    };
    match print(&text) {
        Ok(()) | Err(Halt::Quit) => {}
        Err(Halt::Fail(e)) => return fail(&e),
    }
    if let Some(path) = &args.html {
        if let Err(e) =
            observer::views::html::write(path, &observer::views::html::suite_page(&runs))
        {
            return fail(&e);
        }
    }
    // Labs of one's own were compared with their pinned outputs (lab
    // bless): a difference is a run's verdict (DIFFERS), in the table and
    // the JSON alike.
    if !runs.iter().any(suite::SuiteRun::fails_suite) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn watch(args: &WatchArgs) -> ExitCode {
    use observer::measure::watch;
    let interval = Duration::from_secs_f64(args.interval);
    let json = args.json;
    let samples = watch::watch(args.pid, interval, args.count as usize, |w| {
        if json {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        writeln!(out, "{}", watch::sample_line(w))?;
        out.flush()
    });
    let samples = match samples {
        Ok(s) => s,
        Err(e) => {
            say!("lab: {e}");
            return ExitCode::from(2);
        }
    };
    // Said on stderr, where it does not break the JSON or the table.
    match samples.ended {
        watch::Ended::Counted => {}
        watch::Ended::Exited => say!("lab watch: process {} exited", args.pid),
        watch::Ended::Reused => say!(
            "lab watch: PID {} now belongs to another process (the watched one exited): \
             stopped before sampling it",
            args.pid
        ),
    }
    let growth = watch::growth(&samples);
    let text = if json {
        pmap_view::json::pretty(&observer::views::json::WatchDocument::of(
            args.pid, &samples, &growth,
        ))
    } else {
        watch::summary(&samples, &growth)
    };
    match print(&text) {
        Ok(()) | Err(Halt::Quit) => ExitCode::SUCCESS,
        Err(Halt::Fail(e)) => fail(&e),
    }
}

fn workload(name: &str, args: &[String]) -> ExitCode {
    let Some(w) = workloads::find(name) else {
        let names: Vec<&str> = workloads::ALL.iter().map(|w| w.name).collect();
        say!(
            "lab: no workload named `{name}` (there are: {})",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    match workloads::run_standalone(w, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("lab workload {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_one(lab: &'static observer::spec::lab::Lab, args: &LabArgs) -> ExitCode {
    observer::drive::cleanup::install_signal_handlers();
    if let Some(Err(e)) = args
        .html
        .as_deref()
        .map(observer::views::html::check_writable)
    {
        return fail(&e);
    }
    let steps = lab.spec.steps.len();
    let last = steps.saturating_sub(1);
    // --step N: steps before N in a line each, N in full, pauses from N on.
    let first_shown = args.step.unwrap_or(0);
    if first_shown > last {
        say!(
            "lab: --step {first_shown}: the {} lab has steps 0 to {last}",
            lab.name()
        );
        return ExitCode::from(2);
    }
    let interactive = !args.no_pause && !args.json && io::stdin().is_terminal();
    if interactive {
        pause::chain_signal_handlers();
    }
    let style = Style {
        color: use_color(),
        width: terminal_width(),
        expand: args.expand,
        picture: if args.picture {
            observer::views::picture::When::Every
        } else {
            observer::views::picture::When::Layout
        },
    };
    let opts = args.run.options();
    let steps = lab.spec.steps.len();
    let mut guess: Option<predict::Guess> = None;
    let mut score = (0, 0);
    let mut show = |report: &observer::drive::report::Report| -> Result<(), Halt> {
        if args.json {
            return Ok(());
        }
        let index = report.steps.len() - 1;
        let mut text = String::new();
        if index == 0 {
            text.push_str(&render::intro(lab, report, style));
            text.push('\n');
        }
        if index < first_shown {
            text.push_str(&step_line(report, index, last));
        } else {
            text.push_str(&render::step(report, index, style));
        }
        if let Some(g) = guess.take() {
            let (a, b) = (
                &report.steps[index - 1].snapshot.totals,
                &report.steps[index].snapshot.totals,
            );
            let delta = |x: u64, y: u64| y as i64 - x as i64;
            let (line, right) = predict::judge(
                g,
                delta(a.size_kib, b.size_kib),
                delta(a.rss_kib, b.rss_kib),
            );
            text.push_str(&format!("\n{line}\n"));
            score = (score.0 + usize::from(right), score.1 + 1);
        }
        print(&text)?;
        if interactive {
            pause::set_shown(index, last);
        }
        if index + 1 < steps && index >= first_shown {
            let next = &lab.spec.steps[index + 1];
            if args.predict {
                guess = Some(ask_guess(index + 1, next, args.hint)?);
            } else if interactive {
                pause_at(report, index, last, &next.title, style)?;
            }
        }
        Ok(())
    };
    let imp = args
        .imp
        .or_else(|| lab.impls.first().map(|s| s.imp))
        .unwrap_or(Impl::Rust);
    // `--python` with a run that uses no Python would be ignored: say which
    // implementation uses it instead.
    if let (Some(python), true) = (&args.run.python, imp != Impl::Python) {
        let available: Vec<&str> = lab.impls.iter().map(|s| s.imp.as_str()).collect();
        let pick = if lab.impls.iter().any(|s| s.imp == Impl::Python) {
            format!(
                "add --impl python to run its Python demo with {}",
                python.display()
            )
        } else {
            format!(
                "the {} lab has no Python demo (it has: {})",
                lab.name(),
                available.join(", ")
            )
        };
        say!(
            "lab: --python {} is for a Python demo, and this run is the {} one{}: {pick}",
            python.display(),
            imp,
            if args.imp.is_none() {
                " (the lab's first implementation)"
            } else {
                ""
            }
        );
        return ExitCode::from(2);
    }
    let result = run_lab(lab, imp, &opts, |report| match show(report) {
        Ok(()) => Ok(Next::Continue),
        Err(Halt::Quit) => Ok(Next::Stop),
        Err(Halt::Fail(e)) => Err(e),
    });
    if args.predict && score.1 > 0 {
        let _ = print(&format!(
            "\nYour predictions: {} of {} steps right (the right sign and within 20%; \
             under 256 KiB counts as no change).\n",
            score.0, score.1
        ));
    }
    match result {
        Ok(Ended::Completed(report)) => {
            progress::record(&report.lab, report.imp.as_str());
            if let Some(path) = &args.html {
                if let Err(e) =
                    observer::views::html::write(path, &observer::views::html::run_page(&report))
                {
                    return fail(&e);
                }
            }
            let shown = if args.json {
                pmap_view::json::pretty(&observer::views::json::RunDocument::of(&report))
            } else {
                format!(
                    "{}\n{}\n",
                    render::timeline(&report, style),
                    render::summary(&report, style)
                )
            };
            match print(&shown) {
                Ok(()) | Err(Halt::Quit) => {}
                Err(Halt::Fail(e)) => return fail(&e),
            }
            verdict_code(report.verdict())
        }
        // Stopped at a pause (q, Ctrl-C, Ctrl-D; the message is out), or the
        // reader of our output went away: nothing failed.
        Ok(Ended::Stopped(_)) => ExitCode::SUCCESS,
        // A lab-wide `requires` does not hold: nothing was verified (as a
        // run whose every check is n/a).
        Err(RunError::NothingToCheck(n)) => {
            say!("lab: {n}");
            verdict_code(observer::drive::report::Verdict::NothingToCheck)
        }
        Err(e) => fail(&e),
    }
}

/// The exit status of a run: 0 when its checks held, 1 when one failed, 3
/// when none applies on this machine (nothing was verified; README).
pub fn verdict_code(verdict: observer::drive::report::Verdict) -> ExitCode {
    use observer::drive::report::Verdict;
    match verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::FAILURE,
        Verdict::NothingToCheck => ExitCode::from(3),
    }
}

/// A step run through by `--step N` before step N: one line, with its changes
/// of the totals and its checks (`b` at the pause shows it whole).
fn step_line(report: &observer::drive::report::Report, index: usize, last: usize) -> String {
    let s = &report.steps[index];
    let mut line = format!("\nStep {index} of {last}: {}", s.title);
    if index > 0 {
        let (a, b) = (&report.steps[index - 1].snapshot.totals, &s.snapshot.totals);
        let d = |x: u64, y: u64| pmap_view::render::signed_size(y as i64 - x as i64);
        line += &format!(
            ": virt {}, RSS {}",
            d(a.size_kib, b.size_kib),
            d(a.rss_kib, b.rss_kib)
        );
    }
    let held = s
        .checks
        .iter()
        .filter(|c| c.status == observer::spec::check::Status::Pass)
        .count();
    let failed: Vec<&str> = s
        .checks
        .iter()
        .filter(|c| c.status == observer::spec::check::Status::Fail)
        .map(|c| c.description.as_str())
        .collect();
    if !s.checks.is_empty() {
        line += &format!("; {held} of {} checks held", s.checks.len());
    }
    let mut out = render::wrap_to(&line, "", prose_width());
    for f in failed {
        out.push('\n');
        out.push_str(&render::wrap_to(
            &format!("✗ FAIL {f}"),
            "  ",
            prose_width(),
        ));
    }
    out.push('\n');
    out
}

/// Wait at a pause for a key (the demo waits at its prompt meanwhile): Enter
/// goes on, `b` shows an earlier step's view, `g` the glossary, `?` the keys;
/// `q`, Ctrl-C or Ctrl-D stop (after "stopped at step N of M").
fn pause_at(
    report: &observer::drive::report::Report,
    index: usize,
    last: usize,
    next: &str,
    style: Style,
) -> Result<(), Halt> {
    let width = prose_width();
    let ask = render::wrap_to(
        &format!("Press Enter for the next step ({next}), ? for the other keys, q to quit."),
        "",
        width,
    );
    print(&format!("\n{ask} "))?;
    let mut back = index;
    loop {
        // The step last shown (this one, or one `b` went back to).
        let key = pause::read_key().map_err(|e| RunError::Io("reading stdin".into(), e))?;
        let shown = match key {
            pause::Key::Next => return print("\n"),
            pause::Key::Quit => {
                print(&format!("\n{}\n", pause::stopped_message(index, last)))?;
                return Err(Halt::Quit);
            }
            pause::Key::Suspend => {
                print("\n")?;
                pause::suspend();
                String::new()
            }
            pause::Key::Help => format!("\n\n{}", pause::HELP),
            pause::Key::Unknown => format!("\n\nThat key does nothing here.\n{}", pause::HELP),
            pause::Key::Glossary => format!("\n\n{}", glossary::render_all(width)),
            pause::Key::Picture => {
                observer::views::picture::text(report, back, style.color, style.width)
            }
            pause::Key::Expand => format!(
                "\n{}",
                render::step(
                    report,
                    back,
                    Style {
                        expand: true,
                        ..style
                    }
                )
            ),
            pause::Key::Back if back == 0 => {
                "\n\nThis is step 0, the first: there is no step before it.\n".to_string()
            }
            pause::Key::Back => {
                back -= 1;
                format!(
                    "\n{}\n{}\n",
                    render::step(report, back, style),
                    render::wrap_to(
                        &format!(
                            "(That was step {back} again; the demo is at step {index}. \
                             b goes further back.)"
                        ),
                        "",
                        width
                    )
                )
            }
        };
        print(&format!("{shown}\n{ask} "))?;
    }
}

/// Colour as `--color` says; `auto`: only on a terminal, and never with NO_COLOR set.
fn use_color() -> bool {
    match COLOR.get().copied().unwrap_or(ColorWhen::Auto) {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Print `text`; exit 0 (also when the reader closed the pipe) or 2.
fn print_or_quit(text: &str) -> ExitCode {
    match print(text) {
        Ok(()) | Err(Halt::Quit) => ExitCode::SUCCESS,
        Err(Halt::Fail(e)) => fail(&e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    say!("lab: {e}");
    ExitCode::from(2)
}

/// Write a long output as it is made (no copy of it all in memory); exit as
/// [`print_or_quit`] does.
fn stream(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> ExitCode {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(RunError::Io("writing the report".into(), e)),
    }
}

/// Why the CLI ends a run or its output early: a student's `q` or a reader
/// that went away (`lab heap | head`) is quitting, not a failure; anything
/// else is an error (exit 2).
enum Halt {
    Quit,
    Fail(RunError),
}

impl From<RunError> for Halt {
    fn from(e: RunError) -> Halt {
        Halt::Fail(e)
    }
}

/// Write to stdout; a closed pipe (`lab heap | head`) ends the run quietly.
fn print(text: &str) -> Result<(), Halt> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Halt::Quit),
        Err(e) => Err(RunError::Io("writing the report".into(), e).into()),
    }
}

/// Ask for a guess of the next step's changes (the demo waits meanwhile);
/// on a terminal a bad answer is asked again, elsewhere it ends the run.
fn ask_guess(
    n: usize,
    step: &observer::spec::lab::StepSpec,
    hint: bool,
) -> Result<predict::Guess, Halt> {
    if hint {
        let text = step.hint.as_deref().unwrap_or("(no hint for this step)");
        print(&format!(
            "\nHint for step {n}: {}\n",
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        ))?;
    }
    loop {
        print(&format!(
            "\nStep {n}: {}. Your guess: change of virtual size and of RSS (like +2M -512K): ",
            step.title
        ))?;
        let mut line = String::new();
        let got = io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| RunError::Io("reading stdin".into(), e))?;
        if got == 0 || line.trim().eq_ignore_ascii_case("q") {
            return Err(Halt::Quit);
        }
        match predict::parse_guess(&line) {
            Ok(g) => return Ok(g),
            Err(e) if io::stdin().is_terminal() => print(&format!("{e}\n"))?,
            Err(e) => {
                return Err(RunError::Io(
                    format!("bad guess `{}`", line.trim()),
                    io::Error::other(e),
                )
                .into())
            }
        }
    }
}
