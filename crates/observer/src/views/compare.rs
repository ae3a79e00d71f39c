//! `lab diff A.json B.json`: compare two captures of a process (`lab pmap
//! --json PID` at two moments) region by region, matched by identity, not by
//! line order as a plain `diff` of two pmap outputs would.

use std::fmt::Write as _;

use pmap_view::json::ReadError;
use pmap_view::Snapshot;

use crate::views::render::{table, Style};
use crate::views::step::Resolution;

/// Read the first JSON document of `text` as a snapshot.
pub fn load(text: &str) -> Result<Snapshot, ReadError> {
    pmap_view::json::snapshot_from_reader(text.as_bytes())
}

/// Read the first JSON document of `file` as a snapshot, as it streams in.
pub fn load_file(file: &std::path::Path) -> Result<Snapshot, ReadError> {
    let f = std::fs::File::open(file)?;
    pmap_view::json::snapshot_from_reader(f)
}

/// The regions that changed (the rows of a step's view, by the same rule),
/// then the totals.
pub fn render(before: &Snapshot, after: &Snapshot, style: Style) -> String {
    let changes = crate::views::step::changes(Some(before), after, &[], Resolution::Page);
    let mut out = table(&changes, &after.totals, style);
    let (a, b) = (&before.totals, &after.totals);
    let _ = writeln!(
        out,
        "  before: virt {} K, RSS {} K, Dirty {} K",
        a.size_kib, a.rss_kib, a.dirty_kib
    );
    let _ = b;
    out
}
