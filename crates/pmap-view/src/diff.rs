//! Compare two snapshots of one process region by region.
//!
//! Regions are matched by identity, not by line order: an old and a new region
//! are the same region when their address ranges overlap and they have the same
//! kind and name. So a mapping that grew downwards (a new allocation merged in
//! below it) is reported as grown, not as one region vanished and one appeared.

use crate::region::Region;
use crate::snapshot::Snapshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Appeared,
    Vanished,
    Grew,
    Shrank,
    /// Same size, different counters (RSS, Dirty, PSS, swap) or permissions.
    Changed,
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
/// sweep finds the overlapping candidates: O(n + m) for the usual case.
pub fn diff<'a>(before: &'a Snapshot, after: &'a Snapshot) -> Diff<'a> {
    let old = &before.regions;
    let new = &after.regions;
    let mut old_matched = vec![false; old.len()];
    let mut changes = Vec::with_capacity(new.len().max(old.len()));
    let mut first_candidate = 0;
    for n in new {
        // Old regions ending at or before this one starts can match no later region either.
        while first_candidate < old.len() && old[first_candidate].end <= n.start {
            first_candidate += 1;
        }
        let mut best: Option<(usize, u64)> = None;
        for (i, o) in old.iter().enumerate().skip(first_candidate) {
            if o.start >= n.end {
                break;
            }
            // (A file's regions may overlap one another: skip those ending early.)
            if old_matched[i] || o.end <= n.start || o.kind != n.kind || o.name != n.name {
                continue;
            }
            let overlap = o.end.min(n.end) - o.start.max(n.start);
            if best.is_none_or(|(_, b)| overlap > b) {
                best = Some((i, overlap));
            }
        }
        let before = best.map(|(i, _)| {
            old_matched[i] = true;
            &old[i]
        });
        changes.push(RegionChange {
            change: classify(before, n),
            before,
            after: Some(n),
        });
    }
    for (o, _) in old.iter().zip(&old_matched).filter(|(_, &m)| !m) {
        changes.push(RegionChange {
            change: Change::Vanished,
            before: Some(o),
            after: None,
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
