//! `lab diff A.json B.json`: compare two captures of a process (`lab pmap
//! --json PID` at two moments) region by region, matched by identity, not by
//! line order as a plain `diff` of two pmap outputs would.

use std::fmt::Write as _;

use pmap_view::json::ReadError;
use pmap_view::render::{x_row, X_HEADER};
use pmap_view::{diff, Change, Snapshot};

use crate::render::change_words;

/// Read the first JSON document of `text` as a snapshot.
pub fn load(text: &str) -> Result<Snapshot, ReadError> {
    pmap_view::json::snapshot_from_reader(text.as_bytes())
}

/// Read the first JSON document of `file` as a snapshot, as it streams in.
pub fn load_file(file: &std::path::Path) -> Result<Snapshot, ReadError> {
    let f = std::fs::File::open(file)?;
    pmap_view::json::snapshot_from_reader(f)
}

/// The regions that appeared, vanished, grew, shrank or changed, then the totals.
pub fn render(before: &Snapshot, after: &Snapshot) -> String {
    let d = diff(before, after);
    let mut out = format!("  {X_HEADER:<68} Change\n");
    let mut unchanged = 0;
    for c in &d.changes {
        if c.change == Change::Unchanged {
            unchanged += 1;
            continue;
        }
        // The same row as a lab step's view.
        let _ = writeln!(
            out,
            "{} {:<66} {}",
            c.change.mark(),
            x_row(c.region()),
            change_words(c)
        );
    }
    let (a, b) = (&before.totals, &after.totals);
    let delta = |x: u64, y: u64| y as i64 - x as i64;
    let _ = writeln!(
        out,
        "  {unchanged} regions unchanged\n  total: virt {:+} K ({} -> {} K), RSS {:+} K ({} -> {} K), Dirty {:+} K",
        delta(a.size_kib, b.size_kib),
        a.size_kib,
        b.size_kib,
        delta(a.rss_kib, b.rss_kib),
        a.rss_kib,
        b.rss_kib,
        delta(a.dirty_kib, b.dirty_kib)
    );
    out
}
