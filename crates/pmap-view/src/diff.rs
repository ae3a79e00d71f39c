//! Compare two snapshots of one process region by region.
//!
//! Regions are matched by identity, not by line order: an old and a new region
//! are the same region when their address ranges overlap and they have the same
//! kind and name. So a mapping that grew downwards (a new allocation merged in
//! below it) is reported as grown, not as one region vanished and one appeared.
//! When a region breaks in two (a part in its middle unmapped), the part that
//! overlaps it most keeps its identity and the other *split off* it; when two
//! regions become one, the one that overlaps the result less *merged into* it.

use crate::region::Region;
use crate::snapshot::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Appeared,
    Vanished,
    Grew,
    Shrank,
    /// Same size, different counters (RSS, Dirty, PSS, swap) or permissions.
    Changed,
    /// A region that was part of a larger one at the previous capture
    /// ([`RegionChange::part_of`]): not new address space.
    Split,
    /// A region that is now part of a neighbour ([`RegionChange::part_of`]):
    /// its address space is still mapped.
    Merged,
    Unchanged,
}

impl Change {
    /// One-character mark for tables.
    pub fn mark(self) -> char {
        match self {
            Change::Appeared => '+',
            Change::Vanished => '-',
            Change::Grew => '>',
            Change::Shrank => '<',
            Change::Changed => '~',
            Change::Split => '/',
            Change::Merged => '\\',
            Change::Unchanged => ' ',
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Change::Appeared => "appeared",
            Change::Vanished => "vanished",
            Change::Grew => "grew",
            Change::Shrank => "shrank",
            Change::Changed => "changed",
            Change::Split => "split",
            Change::Merged => "merged",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One region's fate between two snapshots.
#[derive(Clone, Copy, Debug)]
pub struct RegionChange<'a> {
    pub change: Change,
    pub before: Option<&'a Region>,
    pub after: Option<&'a Region>,
    /// For [`Change::Split`], the region it was part of (as that region is
    /// now, the part that kept its identity); for [`Change::Merged`], the
    /// region it is now part of. Both are regions of the later capture.
    pub part_of: Option<&'a Region>,
}

impl<'a> RegionChange<'a> {
    /// The region as it is now, or as it was if it vanished.
    pub fn region(&self) -> &'a Region {
        self.after.or(self.before).expect("a change has a side")
    }

    fn delta(&self, field: impl Fn(&Region) -> u64) -> i64 {
        let side = |r: Option<&Region>| r.map_or(0, |r| field(r) as i64);
        side(self.after) - side(self.before)
    }

    pub fn size_delta(&self) -> i64 {
        self.delta(|r| r.fields.size)
    }
    pub fn rss_delta(&self) -> i64 {
        self.delta(|r| r.fields.rss)
    }
    pub fn dirty_delta(&self) -> i64 {
        self.delta(|r| r.fields.dirty())
    }
    pub fn pss_delta(&self) -> i64 {
        self.delta(|r| r.fields.pss)
    }
    pub fn swap_delta(&self) -> i64 {
        self.delta(|r| r.fields.swap)
    }

    /// Whether a student should see this change: the one rule of every view.
    ///
    /// `rounding`: None when every page counts; Some(KiB) when sizes are
    /// rounded to that many KiB, so that a move under half of it is none.
    /// The region appeared or vanished (at any rounding), split, merged or
    /// changed mode (only when every page counts), or its size, RSS, Dirty,
    /// swap or its own PSS ([`Region::own_pss`]) moved by at least the
    /// threshold.
    pub fn matters(&self, rounding: Option<i64>) -> bool {
        if self.change == Change::Unchanged {
            return false;
        }
        let structural = !matches!(self.change, Change::Grew | Change::Shrank | Change::Changed);
        let mode = self
            .before
            .zip(self.after)
            .is_some_and(|(a, b)| a.perms != b.perms);
        // A region that appeared or vanished counts at any rounding: its
        // virtual size is what the program asked for (a thread's guard page).
        let new_or_gone = matches!(self.change, Change::Appeared | Change::Vanished);
        if new_or_gone || (rounding.is_none() && (structural || mode)) {
            return true;
        }
        let threshold = threshold(rounding);
        let pss = if self.region().own_pss() {
            self.pss_delta()
        } else {
            0
        };
        [
            self.size_delta(),
            self.rss_delta(),
            self.dirty_delta(),
            self.swap_delta(),
            pss,
        ]
        .iter()
        .any(|d| d.abs() >= threshold)
    }
}

/// The smallest move (KiB) that counts as a change when sizes are rounded
/// to `rounding` KiB (None: every page counts): half the rounding, so that
/// a move that rounds to a whole unit counts.
pub fn threshold(rounding: Option<i64>) -> i64 {
    rounding.map_or(1, |r| (r / 2).max(1))
}

/// All regions of two snapshots, paired, in address order.
#[derive(Clone, Debug)]
pub struct Diff<'a> {
    pub changes: Vec<RegionChange<'a>>,
}

impl<'a> Diff<'a> {
    /// Only the regions that changed in some way.
    pub fn changed(&self) -> impl Iterator<Item = &RegionChange<'a>> {
        self.changes
            .iter()
            .filter(|c| c.change != Change::Unchanged)
    }
}

/// Pair the regions of `before` and `after`.
///
/// Both region lists are sorted by address (the kernel lists them so), so one
/// sweep finds the overlapping candidates (O(n + m) for the usual case); the
/// pairs are then taken largest overlap first, so that when a region breaks in
/// two, the larger part keeps its identity whatever its address.
pub fn diff<'a>(before: &'a Snapshot, after: &'a Snapshot) -> Diff<'a> {
    let old = &before.regions;
    let new = &after.regions;
    // (overlap, new index, old index) of every same-kind, same-name overlapping pair.
    let mut pairs: Vec<(u64, usize, usize)> = Vec::new();
    let mut first_candidate = 0;
    for (j, n) in new.iter().enumerate() {
        // Old regions ending at or before this one starts can match no later region either.
        while first_candidate < old.len() && old[first_candidate].end <= n.start {
            first_candidate += 1;
        }
        for (i, o) in old.iter().enumerate().skip(first_candidate) {
            if o.start >= n.end {
                break;
            }
            // (A file's regions may overlap one another: skip those ending early.)
            if o.end <= n.start || o.kind != n.kind || o.name != n.name {
                continue;
            }
            pairs.push((o.end.min(n.end) - o.start.max(n.start), j, i));
        }
    }
    // Largest overlap first; ties in address order (the sort is stable).
    pairs.sort_by_key(|&(overlap, ..)| std::cmp::Reverse(overlap));
    let mut new_match: Vec<Option<usize>> = vec![None; new.len()];
    let mut old_match: Vec<Option<usize>> = vec![None; old.len()];
    for &(_, j, i) in &pairs {
        if new_match[j].is_none() && old_match[i].is_none() {
            new_match[j] = Some(i);
            old_match[i] = Some(j);
        }
    }
    // An unmatched region that overlaps a matched one split off it (new side)
    // or merged into it (old side): the largest such overlap names it, by
    // the region of `after` it is (or became).
    let mut split_from: Vec<Option<usize>> = vec![None; new.len()];
    let mut merged_into: Vec<Option<usize>> = vec![None; old.len()];
    for &(_, j, i) in &pairs {
        if new_match[j].is_none() && split_from[j].is_none() {
            split_from[j] = old_match[i];
        }
        if old_match[i].is_none() && merged_into[i].is_none() {
            merged_into[i] = Some(j);
        }
    }
    let mut changes = Vec::with_capacity(new.len().max(old.len()));
    for (j, n) in new.iter().enumerate() {
        let before = new_match[j].map(|i| &old[i]);
        let part_of = split_from[j].map(|k| &new[k]);
        changes.push(RegionChange {
            change: match (before, part_of) {
                (None, Some(_)) => Change::Split,
                _ => classify(before, n),
            },
            before,
            after: Some(n),
            part_of,
        });
    }
    for (i, o) in old
        .iter()
        .enumerate()
        .filter(|&(i, _)| old_match[i].is_none())
    {
        let part_of = merged_into[i].map(|j| &new[j]);
        changes.push(RegionChange {
            change: if part_of.is_some() {
                Change::Merged
            } else {
                Change::Vanished
            },
            before: Some(o),
            after: None,
            part_of,
        });
    }
    changes.sort_by_key(|c| c.region().start);
    Diff { changes }
}

fn classify(before: Option<&Region>, after: &Region) -> Change {
    let Some(b) = before else {
        return Change::Appeared;
    };
    let (bs, as_) = (b.end - b.start, after.end - after.start);
    if as_ > bs {
        Change::Grew
    } else if as_ < bs {
        Change::Shrank
    } else if counters(b) != counters(after) || b.perms != after.perms || b.start != after.start {
        Change::Changed
    } else {
        Change::Unchanged
    }
}

/// The counters whose change a student should see (not `Referenced`, which
/// every access sets).
fn counters(r: &Region) -> [u64; 6] {
    let f = &r.fields;
    [
        f.rss,
        f.pss,
        f.shared_dirty,
        f.private_dirty,
        f.swap,
        f.anonymous,
    ]
}
