//! What a step shows, decided once for every view.
//!
//! The live terminal view, the annotated outputs, the HTML page, the JSON
//! document and `lab diff` all show "what changed" as rows of regions. Which
//! regions make a row, how alike regions are grouped (a hundred thread stacks
//! are one row "x100"), and the deltas of each row and of the totals are built
//! here, by one rule, and the views only format them. The one difference
//! between views is their [`Resolution`]: the annotated outputs round to the
//! lab's resolution (1 MiB by default) so that they read the same on every run,
//! and a change that rounds to nothing is not a row there.

use pmap_view::{diff, Change, Kind, PageMap, Region, RegionChange, Snapshot, Totals};

use crate::drive::report::{Report, StepReport};
use crate::measure::residency::{self, RegionResidency};

/// How finely a view tells changes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Every page counts (the live view, the HTML page, JSON, `lab diff`).
    Page,
    /// Sizes round to this many KiB; a change under half of it is no change.
    Rounded(i64),
}

impl Resolution {
    /// `kib` as this resolution sees it.
    pub fn round(self, kib: i64) -> i64 {
        match self {
            Resolution::Page => kib,
            Resolution::Rounded(step) => {
                let step = step.max(1);
                (kib as f64 / step as f64).round() as i64 * step
            }
        }
    }

    /// The rounding in KiB (None: every page counts).
    fn rounding(self) -> Option<i64> {
        match self {
            Resolution::Page => None,
            Resolution::Rounded(step) => Some(step),
        }
    }

    /// The smallest move that counts as a change.
    fn threshold(self) -> i64 {
        pmap_view::diff::threshold(self.rounding())
    }
}

/// How much a region (or the process) moved, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Delta {
    pub size: i64,
    pub rss: i64,
    pub dirty: i64,
    pub pss: i64,
}

impl Delta {
    pub fn of(c: &RegionChange) -> Delta {
        Delta {
            size: c.size_delta(),
            rss: c.rss_delta(),
            dirty: c.dirty_delta(),
            pss: c.pss_delta(),
        }
    }

    fn between(a: &Totals, b: &Totals) -> Delta {
        let d = |x: u64, y: u64| y as i64 - x as i64;
        Delta {
            size: d(a.size_kib, b.size_kib),
            rss: d(a.rss_kib, b.rss_kib),
            dirty: d(a.dirty_kib, b.dirty_kib),
            pss: d(a.pss_kib, b.pss_kib),
        }
    }

    fn with_size(self, size: i64) -> Delta {
        Delta { size, ..self }
    }

    fn rounded(self, r: Resolution) -> Delta {
        Delta {
            size: r.round(self.size),
            rss: r.round(self.rss),
            dirty: r.round(self.dirty),
            pss: r.round(self.pss),
        }
    }
}

/// One row of a step's table: a region, or several alike regions.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    /// What happened, as the resolution sees it: an anonymous region that
    /// grew from less than the resolution appeared (at 1 MiB, whether a new
    /// mapping merged into the few pages of TLS beside it is not the lesson).
    pub change: Change,
    /// The region as it is now (as it was, for one that vanished or merged).
    pub region: &'a Region,
    /// The region it split off (was part of) or merged into.
    pub part_of: Option<&'a Region>,
    /// The change of each member.
    pub delta: Delta,
    /// The PSS delta says something RSS does not: shown beside it.
    pub pss_shown: bool,
    /// The regions this row stands for, in address order: one, or several
    /// alike (same change, kind, name, mode, size and deltas).
    pub members: Vec<RegionChange<'a>>,
    /// Which pages of the (first) region are resident, when read.
    pub residency: Option<&'a PageMap>,
    /// An unchanged `[heap]` or `[stack]`, kept in the page-resolution
    /// views to orient the reader.
    pub landmark: bool,
}

impl<'a> Row<'a> {
    /// A region shown as it is (step 0), or as a landmark.
    fn unchanged(region: &'a Region, residency: Option<&'a PageMap>, landmark: bool) -> Row<'a> {
        Row {
            change: Change::Unchanged,
            region,
            part_of: None,
            delta: Delta::default(),
            pss_shown: false,
            members: Vec::new(),
            residency,
            landmark,
        }
    }

    /// How many regions the row stands for.
    pub fn count(&self) -> usize {
        self.members.len().max(1)
    }
}

/// The rows of a step (or of any two captures), and what they leave out.
#[derive(Clone, Debug)]
pub struct Changes<'a> {
    /// Every region when there is nothing to compare with (step 0); else
    /// the regions that changed, by [`RegionChange::matters`], alike ones grouped.
    pub rows: Vec<Row<'a>>,
    /// Regions compared and not in a row (unchanged, or below the resolution).
    pub hidden: usize,
    /// The process total's move (None at step 0).
    pub totals: Option<Delta>,
    /// The process's page tables (VmPTE) in KiB, and their move: memory the
    /// kernel spends on mapping the pages, which no row shows. None when the
    /// capture did not read them.
    pub page_tables: Option<(u64, Option<i64>)>,
}

/// The rows between two captures (`before` None: the first, all its regions).
pub fn changes<'a>(
    before: Option<&'a Snapshot>,
    after: &'a Snapshot,
    maps: &'a [RegionResidency],
    res: Resolution,
) -> Changes<'a> {
    let Some(before) = before else {
        let rows = after
            .regions
            .iter()
            .map(|r| Row::unchanged(r, residency::of(maps, r), false))
            .collect();
        return Changes {
            rows,
            hidden: 0,
            totals: None,
            page_tables: after.page_tables_kib.map(|k| (k, None)),
        };
    };
    let d = diff(before, after);
    let threshold = res.threshold();
    let mut rows: Vec<Row<'a>> = Vec::new();
    // Row index by the key that makes regions alike.
    type Key = (Change, Kind, String, [u8; 4], i64, Delta, bool, i64);
    let mut groups: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut hidden = 0;
    for c in &d.changes {
        if !c.matters(res.rounding()) {
            let r = c.region();
            if res == Resolution::Page && matches!(r.kind, Kind::Heap | Kind::Stack) {
                rows.push(Row::unchanged(r, None, true));
            } else {
                hidden += 1;
            }
            continue;
        }
        let tiny = |r: Option<&Region>| {
            res != Resolution::Page
                && r.is_some_and(|r| r.kind == Kind::Anon && (r.fields.size as i64) < threshold)
        };
        let (change, region) = match c.change {
            Change::Grew if tiny(c.before) => (Change::Appeared, c.region()),
            Change::Shrank if tiny(c.after) => (Change::Vanished, c.before.unwrap_or(c.region())),
            other => (other, c.region()),
        };
        let delta = Delta::of(c);
        let pss_shown = region.own_pss() && (delta.pss - delta.rss).abs() >= threshold;
        let key: Key = (
            change,
            region.kind,
            region.label(),
            region.perms,
            res.round(region.fields.size as i64),
            // Virtual size exactly: alike regions got the same request.
            Delta {
                pss: if pss_shown { delta.pss } else { 0 },
                ..delta
            }
            .rounded(res)
            .with_size(delta.size),
            c.part_of.is_some(),
            res.round(region.fields.anon_huge_pages as i64),
        );
        let shown_map = !matches!(change, Change::Vanished | Change::Merged);
        match groups.get(&key) {
            Some(&i) => rows[i].members.push(*c),
            None => {
                groups.insert(key, rows.len());
                rows.push(Row {
                    change,
                    region,
                    part_of: c.part_of,
                    delta,
                    pss_shown,
                    members: vec![*c],
                    residency: residency::of(maps, region).filter(|_| shown_map),
                    landmark: false,
                });
            }
        }
    }
    Changes {
        rows,
        hidden,
        totals: Some(Delta::between(&before.totals, &after.totals)),
        page_tables: after.page_tables_kib.map(|k| {
            let moved = before.page_tables_kib.map(|b| k as i64 - b as i64);
            (k, moved)
        }),
    }
}

/// A process in a step's process table: the demo or one of its children,
/// counting its anonymous and shared memory only ([`Region::own_pss`]): the
/// pages of its program and libraries are the page cache's, and their PSS
/// and USS move whenever another process maps the same file (the `lab`
/// binary runs many times at once in the tests).
#[derive(Clone, Debug)]
pub struct Process {
    /// "demo" or "child".
    pub who: &'static str,
    pub pid: i32,
    pub rss: u64,
    pub pss: u64,
    pub uss: u64,
    /// Since the previous step (None: it did not exist then).
    pub delta: Option<(i64, i64, i64)>,
}

/// RSS, PSS and USS of the demo and its children, at the steps where it has
/// children and at the first step after its last child exited (where the
/// parent's PSS and USS jump back up: the shared lab's last lesson). Empty
/// at other steps.
pub fn processes(report: &Report, index: usize) -> Vec<Process> {
    let s = &report.steps[index];
    let previous = index.checked_sub(1).map(|i| &report.steps[i]);
    if s.children.is_empty() && previous.is_none_or(|p| p.children.is_empty()) {
        return Vec::new();
    }
    let before = |pid: i32| -> Option<&Snapshot> {
        let p = previous?;
        std::iter::once(&p.snapshot)
            .chain(&p.children)
            .find(|snap| snap.pid == pid)
    };
    std::iter::once(("demo", &s.snapshot))
        .chain(s.children.iter().map(|c| ("child", c)))
        .map(|(who, snap)| {
            let (rss, pss, uss) = own(snap);
            let delta = before(snap.pid).map(|b| {
                let (r, p, u) = own(b);
                let d = |x: u64, y: u64| y as i64 - x as i64;
                (d(r, rss), d(p, pss), d(u, uss))
            });
            Process {
                who,
                pid: snap.pid,
                rss,
                pss,
                uss,
                delta,
            }
        })
        .collect()
}

/// RSS, PSS and USS of the anonymous and shared memory of a capture.
fn own(snap: &Snapshot) -> (u64, u64, u64) {
    snap.regions
        .iter()
        .filter(|r| r.own_pss())
        .fold((0, 0, 0), |(rss, pss, uss), r| {
            let f = &r.fields;
            (
                rss + f.rss,
                pss + f.pss,
                uss + f.private_clean + f.private_dirty,
            )
        })
}

/// A step as every view shows it.
#[derive(Clone, Debug)]
pub struct StepView<'a> {
    pub step: &'a StepReport,
    pub changes: Changes<'a>,
    pub processes: Vec<Process>,
}

impl<'a> StepView<'a> {
    pub fn of(report: &'a Report, index: usize, res: Resolution) -> StepView<'a> {
        let step = &report.steps[index];
        let previous = index.checked_sub(1).map(|i| &report.steps[i].snapshot);
        StepView {
            step,
            changes: changes(previous, &step.snapshot, &step.residency, res),
            processes: processes(report, index),
        }
    }
}
