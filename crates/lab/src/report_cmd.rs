//! `lab report FILE...`: a class's `lab check --json` and `lab grade --json`
//! documents merged into one table (or `--json`), and one HTML page with
//! `--html`. Files are read on several threads and merged in their order,
//! one at a time (see `merge::Merger`). A file that is
//! not such a document is one message on stderr; the others are reported,
//! and the exit status says a file was bad (2) at the end.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use clap::Args;
use observer::views::class::{merge, read, show};

/// Options of `lab report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The `lab check --json` documents, one per machine (`results/*.json`),
    /// and `lab grade NAME --json` documents, one per student's program.
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
    let mut merger = merge::Merger::new(&merge::known_labs);
    let mut read_ok = 0;
    read_in_order(&args.files, |result| match result {
        Ok(s) => {
            read_ok += 1;
            merger.add(s);
        }
        Err(b) => {
            say!("lab report: {b}");
            merger.bad(b);
        }
    });
    if read_ok == 0 {
        match args.files.len() {
            1 => say!("lab report: the file could not be read: no report"),
            n => say!("lab report: none of the {n} files could be read: no report"),
        }
        return ExitCode::from(2);
    }
    let class = merger.finish();
    // The JSON of a class of many machines is large (50 MB for 10,000 that
    // all differ): it is written as it is made, never held whole.
    let mut code = if args.json {
        crate::stream(|out| pmap_view::json::write_pretty(out, &show::ReportDocument::of(&class)))
    } else {
        crate::print_or_quit(&show::text(&class))
    };
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

/// Files read (and parsed) per batch by one reader thread.
const BATCH: usize = 64;

/// Read `files` on as many threads as there are CPUs (at most 8), and give
/// each result to `take` in the order of `files`, on this thread. Reader `w`
/// reads batches `w`, `w + n`, …, each sent on its own channel of two
/// batches: the readers run at most two batches ahead of the merge, so
/// memory holds a few hundred documents at most, never the class.
fn read_in_order(files: &[PathBuf], mut take: impl FnMut(Result<read::Submission, read::BadFile>)) {
    let batches: Vec<&[PathBuf]> = files.chunks(BATCH).collect();
    let readers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(batches.len());
    if readers <= 1 {
        files.iter().map(|f| read::read(f)).for_each(take);
        return;
    }
    std::thread::scope(|scope| {
        let mut inboxes = Vec::with_capacity(readers);
        for w in 0..readers {
            let (send, receive) = mpsc::sync_channel::<Vec<_>>(2);
            inboxes.push(receive);
            let batches = &batches;
            scope.spawn(move || {
                for batch in batches.iter().skip(w).step_by(readers) {
                    let read: Vec<_> = batch.iter().map(|f| read::read(Path::new(f))).collect();
                    if send.send(read).is_err() {
                        return;
                    }
                }
            });
        }
        for i in 0..batches.len() {
            match inboxes[i % readers].recv() {
                Ok(batch) => batch.into_iter().for_each(&mut take),
                // The reader panicked: the scope's end says so.
                Err(_) => break,
            }
        }
    });
}
