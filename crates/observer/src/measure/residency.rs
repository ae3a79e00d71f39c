//! Residency maps of the regions that changed in a step: which of their pages
//! are in RAM, and how to draw that in a line of text.
//!
//! RSS says how much of a region is resident; the map says which part, so
//! "10 MiB written at the top of a 60 MiB block" is seen at a glance. Maps are
//! read only for the regions that changed since the previous step (a step
//! changes a handful of regions out of ~30), while the demo waits at its
//! prompt, right after its smaps: the two describe the same moment.

use pmap_view::{diff, Change, PageMap, PageState, Region, Snapshot};

/// The residency map of one region as it was at a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionResidency {
    pub start: u64,
    pub end: u64,
    pub map: PageMap,
}

/// Regions larger than this (16 GiB of 4 KiB pages) get no map: the kernel
/// writes 8 bytes of pagemap per page, 32 MiB for such a region, and no lab
/// maps anything that large (a sanitizer's shadow reservation might).
const MAX_PAGES: u64 = 1 << 22;

/// The maps of the regions of `now` that changed since `previous` by the
/// views' rule (`RegionChange::matters`) (none at the first step, when nothing has
/// changed yet). A region whose
/// pagemap cannot be read gets no map: the map illustrates, the counters of
/// smaps are the measurement.
pub fn capture(pid: i32, previous: Option<&Snapshot>, now: &Snapshot) -> Vec<RegionResidency> {
    let Some(previous) = previous else {
        return Vec::new();
    };
    diff(previous, now)
        .changed()
        // The regions every view shows (vanished and merged ones have no pages).
        .filter(|c| c.matters(None) && !matches!(c.change, Change::Vanished | Change::Merged))
        .map(|c| c.region())
        .filter(|r| (r.end - r.start) / crate::measure::machine::page_bytes() as u64 <= MAX_PAGES)
        .filter_map(|r| {
            let map = PageMap::read(pid, r.start, r.end).ok()?;
            Some(RegionResidency {
                start: r.start,
                end: r.end,
                map,
            })
        })
        .collect()
}

/// The map of region `r` among a step's maps.
pub fn of<'a>(maps: &'a [RegionResidency], r: &Region) -> Option<&'a PageMap> {
    maps.iter()
        .find(|m| m.start == r.start && m.end == r.end)
        .map(|m| &m.map)
}

/// How finely a bar's cells are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// A cell with some resident pages shows as partly resident (the live view).
    Exact,
    /// A cell shows its majority state only: a page more or less does not
    /// change the bar (the normalised view, which must read the same on
    /// every run).
    Majority,
}

/// The legend of [`bar`]'s glyphs.
pub fn legend(detail: Detail) -> &'static str {
    match detail {
        Detail::Exact => "█ resident, ▒ partly resident, · not resident, s swapped",
        Detail::Majority => "█ mostly resident, · mostly not resident, s mostly swapped",
    }
}

/// The map in at most `width` cells, low addresses on the left.
pub fn bar(map: &PageMap, width: usize, detail: Detail) -> String {
    map.cells(width)
        .iter()
        .map(|c| match detail {
            Detail::Exact if c.swapped > 0 && c.swapped >= c.resident => 's',
            Detail::Exact if c.resident == c.pages() => '█',
            Detail::Exact if c.resident > 0 => '▒',
            Detail::Exact => '·',
            Detail::Majority if 2 * c.resident >= c.pages() => '█',
            Detail::Majority if 2 * c.swapped >= c.pages() => 's',
            Detail::Majority => '·',
        })
        .collect()
}

/// "2564 of 15365 pages resident (1 cell = 241 pages, 964 KiB)", with the
/// swapped pages when there are some.
pub fn caption(map: &PageMap, width: usize) -> String {
    let per = map.pages_per_cell(width);
    let swapped = match map.count(PageState::Swapped) {
        0 => String::new(),
        n => format!(", {n} swapped"),
    };
    let scale = if per == 1 {
        "1 cell = 1 page".to_string()
    } else {
        format!("1 cell = {per} pages, {}", kib_words(per * map.page_kib))
    };
    format!(
        "{} of {} pages resident{swapped} ({scale})",
        map.count(PageState::Resident),
        map.pages()
    )
}

fn kib_words(kib: u64) -> String {
    if kib >= 10 * 1024 {
        format!("{:.0} MiB", kib as f64 / 1024.0)
    } else if kib >= 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{kib} KiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(runs: &[(PageState, u64)]) -> PageMap {
        let mut m = PageMap {
            page_kib: 4,
            runs: Vec::new(),
        };
        for &(s, n) in runs {
            m.push(s, n);
        }
        m
    }

    #[test]
    fn ten_mib_written_out_of_sixty_is_a_sixth_of_the_bar() {
        use PageState::*;
        // The heap lab's block after step 3: 50 MiB untouched but one header
        // page, then 10 MiB written (and the TLS pages above).
        let m = map(&[
            (Resident, 1),
            (NotResident, 12800),
            (Resident, 2561),
            (NotResident, 1),
            (Resident, 2),
        ]);
        let exact = bar(&m, 60, Detail::Exact);
        assert_eq!(exact.chars().count(), 60);
        assert!(exact.starts_with("▒·"), "{exact}");
        assert!(exact.ends_with("█████████▒"), "{exact}");
        assert_eq!(exact.matches('█').count(), 9, "{exact}"); // 2561 / 257 per cell
        let coarse = bar(&m, 32, Detail::Majority);
        assert_eq!(coarse, format!("{}{}", "·".repeat(27), "█".repeat(5)));
        assert_eq!(
            caption(&m, 60),
            "2564 of 15365 pages resident (1 cell = 257 pages, 1.0 MiB)"
        );
    }

    #[test]
    fn swapped_pages_show_and_are_counted() {
        use PageState::*;
        let m = map(&[(Swapped, 3), (Resident, 1)]);
        assert_eq!(bar(&m, 10, Detail::Exact), "sss█");
        assert_eq!(
            caption(&m, 10),
            "1 of 4 pages resident, 3 swapped (1 cell = 1 page)"
        );
        assert_eq!(bar(&m, 2, Detail::Majority), "s█");
    }
}
