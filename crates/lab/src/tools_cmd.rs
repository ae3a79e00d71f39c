//! The commands that work on captures rather than on labs: `lab diff`.

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
        std::fs::read_to_string(p)
            .map_err(|e| format!("{}: {e}", p.display()))
            .and_then(|t| observer::compare::load(&t).map_err(|e| format!("{}: {e}", p.display())))
    };
    let (before, after) = match (load(&args.before), load(&args.after)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("lab: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        serde_json::to_string_pretty(&observer::compare::to_json(&before, &after))
            .unwrap_or_default()
            + "\n"
    } else {
        observer::compare::render(&before, &after)
    };
    crate::print_or_quit(&text)
}
