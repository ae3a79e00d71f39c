//! `lab report FILE...`: a class's `lab check --json` documents merged into
//! one table (or `--json`), and one HTML page with `--html`. A file that is
//! not such a document is one message on stderr; the others are reported,
//! and the exit status says a file was bad (2) at the end.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use observer::views::class::{merge, read, show};

/// Options of `lab report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The `lab check --json` documents, one per machine (`results/*.json`).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print the merged report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page.
    #[arg(long, value_name = "OUT")]
    html: Option<PathBuf>,
}

pub fn report(args: &ReportArgs) -> ExitCode {
    let mut submissions = Vec::with_capacity(args.files.len());
    let mut bad = Vec::new();
    for file in &args.files {
        match read::read(file) {
            Ok(s) => submissions.push(s),
            Err(b) => {
                say!("lab report: {b}");
                bad.push(b);
            }
        }
    }
    if submissions.is_empty() {
        match args.files.len() {
            1 => say!("lab report: the file could not be read: no report"),
            n => say!("lab report: none of the {n} files could be read: no report"),
        }
        return ExitCode::from(2);
    }
    let class = merge::merge(&submissions, bad);
    let text = if args.json {
        pmap_view::json::pretty(&show::ReportDocument::of(&class))
    } else {
        show::text(&class)
    };
    let mut code = crate::print_or_quit(&text);
    if let Some(out) = &args.html {
        if let Err(e) = observer::views::html::write_page(out, &show::page(&class)) {
            say!(
                "lab report: cannot write the page {}: {e}",
                pmap_view::region::escape_controls(&out.to_string_lossy())
            );
            code = ExitCode::from(2);
        }
    }
    if !class.bad.is_empty() {
        let names: Vec<String> = class
            .bad
            .iter()
            .map(|b| pmap_view::region::escape_controls(&b.file.to_string_lossy()).into_owned())
            .collect();
        say!(
            "lab report: {} of {} files could not be read: {}",
            names.len(),
            args.files.len(),
            names.join(", ")
        );
        code = ExitCode::from(2);
    }
    code
}
