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
    let (snap, explained) = match observer::explain::explain(args.pid) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("lab: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        let regions: Vec<serde_json::Value> = explained
            .iter()
            .map(|e| {
                let mut v = pmap_view::json::region_json(&e.region);
                v["explanation"] = e.what.clone().into();
                v["certain"] = e.certain.into();
                v
            })
            .collect();
        let doc = serde_json::json!({ "pid": snap.pid, "regions": regions });
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    } else {
        let mut out = format!("{:<72} What it is\n", pmap_view::render::X_HEADER);
        for e in &explained {
            let mark = if e.certain { ' ' } else { '?' };
            out += &format!(
                "{:<70} {mark} {}\n",
                pmap_view::render::x_row(&e.region),
                e.what
            );
        }
        out += "? marks a description of what such a region usually is, not an identification.\n";
        out
    };
    crate::print_or_quit(&text)
}
