//! Which pages of a range are in RAM, swapped out, or neither: a region's
//! residency map, from `/proc/PID/pagemap`.
//!
//! pagemap holds one 64-bit entry per base page of the address space: bit 63
//! says the page is present in RAM, bit 62 that it is in swap. Those two bits
//! are readable by anyone who may read the process's smaps; only the frame
//! numbers (bits 0-54) are hidden from non-root readers, and they are not
//! needed here. smaps gives a region's *amount* of RSS; pagemap says *which*
//! pages, so "10 MiB written at the top of a 60 MiB block" can be drawn.
//!
//! Present means mapped in RAM, as RSS counts it, with one exception: anonymous
//! memory read but never written maps the shared zero page, which pagemap
//! reports present and smaps leaves out of RSS (without root the frame number
//! that would tell it apart reads 0).
//!
//! A map is kept as runs of pages in the same state, in address order: a
//! region of 15,000 pages of which the top 2,560 were written is two runs.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use serde::Serialize;

use crate::snapshot::{proc_error, CaptureError};

/// What one page of a region is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageState {
    /// In RAM (counted in RSS).
    Resident,
    /// Written out to swap.
    Swapped,
    /// Neither: never touched, or dropped (a clean file page).
    NotResident,
}

impl PageState {
    /// The state a pagemap entry describes.
    pub fn of_entry(entry: u64) -> PageState {
        if entry & (1 << 63) != 0 {
            PageState::Resident
        } else if entry & (1 << 62) != 0 {
            PageState::Swapped
        } else {
            PageState::NotResident
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Resident => "resident",
            PageState::Swapped => "swapped",
            PageState::NotResident => "not_resident",
        }
    }
}

/// `pages` consecutive pages in one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    pub state: PageState,
    pub pages: u64,
}

/// The pages of one address range, low addresses first, as runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageMap {
    /// The base page size the runs count in, in KiB.
    pub page_kib: u64,
    pub runs: Vec<Run>,
}

/// The page counts of one cell of a map drawn in a fixed number of cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub resident: u64,
    pub swapped: u64,
    pub not_resident: u64,
}

impl Cell {
    pub fn pages(&self) -> u64 {
        self.resident + self.swapped + self.not_resident
    }
}

impl PageMap {
    /// Build a map from raw pagemap bytes (native-endian 64-bit entries).
    pub fn from_entries(bytes: &[u8], page_kib: u64) -> PageMap {
        let mut map = PageMap {
            page_kib,
            runs: Vec::new(),
        };
        map.extend(bytes);
        map
    }

    fn extend(&mut self, bytes: &[u8]) {
        for e in bytes.chunks_exact(8) {
            let entry = u64::from_ne_bytes(e.try_into().expect("8-byte chunk"));
            self.push(PageState::of_entry(entry), 1);
        }
    }

    /// Append `pages` pages in `state`, merging with the last run.
    pub fn push(&mut self, state: PageState, pages: u64) {
        if pages == 0 {
            return;
        }
        match self.runs.last_mut() {
            Some(last) if last.state == state => last.pages += pages,
            _ => self.runs.push(Run { state, pages }),
        }
    }

    /// Read the map of `start..end` (page-aligned) of process `pid`.
    ///
    /// The kernel fills pagemap by walking the page tables, so reading it
    /// faults nothing in and the process's memory is left as it was. It is
    /// read 64 Ki entries (512 KiB) at a time, so memory stays flat however
    /// large the range.
    pub fn read(pid: i32, start: u64, end: u64) -> Result<PageMap, CaptureError> {
        let path = PathBuf::from(format!("/proc/{pid}/pagemap"));
        let page = crate::resident::base_page_size().unwrap_or(4096);
        let file = File::open(&path).map_err(|e| proc_error(pid, &path, e))?;
        let mut map = PageMap {
            page_kib: page / 1024,
            runs: Vec::new(),
        };
        const CHUNK_PAGES: u64 = 64 * 1024;
        let (first, last) = (start / page, end.div_ceil(page));
        let mut buf = vec![0u8; (CHUNK_PAGES.min(last.saturating_sub(first)) * 8) as usize];
        let mut at = first;
        while at < last {
            let n = CHUNK_PAGES.min(last - at) as usize;
            let chunk = &mut buf[..n * 8];
            file.read_exact_at(chunk, at * 8)
                .map_err(|e| proc_error(pid, &path, e))?;
            map.extend(chunk);
            at += n as u64;
        }
        Ok(map)
    }

    /// How many pages the map covers.
    pub fn pages(&self) -> u64 {
        self.runs.iter().map(|r| r.pages).sum()
    }

    /// How many pages are in `state`.
    pub fn count(&self, state: PageState) -> u64 {
        self.runs
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.pages)
            .sum()
    }

    /// Pages per cell to draw the map in at most `width` cells: every cell
    /// but the last holds this many pages.
    pub fn pages_per_cell(&self, width: usize) -> u64 {
        self.pages().div_ceil(width.max(1) as u64).max(1)
    }

    /// The map squeezed into at most `width` cells of
    /// [`pages_per_cell`](Self::pages_per_cell) pages each, low addresses first.
    pub fn cells(&self, width: usize) -> Vec<Cell> {
        let per = self.pages_per_cell(width);
        let mut cells = Vec::with_capacity(self.pages().div_ceil(per) as usize);
        let mut current = Cell::default();
        for run in &self.runs {
            let mut left = run.pages;
            while left > 0 {
                let take = left.min(per - current.pages());
                match run.state {
                    PageState::Resident => current.resident += take,
                    PageState::Swapped => current.swapped += take,
                    PageState::NotResident => current.not_resident += take,
                }
                left -= take;
                if current.pages() == per {
                    cells.push(std::mem::take(&mut current));
                }
            }
        }
        if current.pages() > 0 {
            cells.push(current);
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(states: &[u64]) -> Vec<u8> {
        states.iter().flat_map(|e| e.to_ne_bytes()).collect()
    }

    #[test]
    fn entries_become_runs_by_the_present_and_swapped_bits() {
        let present = 1u64 << 63 | 0x1234; // a frame number, as root sees it
        let swapped = 1u64 << 62 | 5 << 5; // swap type and offset
        let soft_dirty_only = 1u64 << 55;
        let bytes = entries(&[0, 0, present, present, present, swapped, soft_dirty_only]);
        let map = PageMap::from_entries(&bytes, 4);
        assert_eq!(
            map.runs,
            vec![
                Run {
                    state: PageState::NotResident,
                    pages: 2
                },
                Run {
                    state: PageState::Resident,
                    pages: 3
                },
                Run {
                    state: PageState::Swapped,
                    pages: 1
                },
                Run {
                    state: PageState::NotResident,
                    pages: 1
                },
            ]
        );
        assert_eq!(map.pages(), 7);
        assert_eq!(map.count(PageState::Resident), 3);
    }

    #[test]
    fn cells_split_runs_and_the_last_cell_holds_the_rest() {
        let mut map = PageMap {
            page_kib: 4,
            runs: vec![],
        };
        map.push(PageState::NotResident, 5);
        map.push(PageState::Resident, 5);
        // 10 pages in 4 cells: 3 pages per cell, the last holds 1.
        assert_eq!(map.pages_per_cell(4), 3);
        let cells = map.cells(4);
        let counts: Vec<(u64, u64)> = cells.iter().map(|c| (c.resident, c.pages())).collect();
        assert_eq!(counts, vec![(0, 3), (1, 3), (3, 3), (1, 1)]);
        // Fewer pages than cells: one page per cell.
        assert_eq!(map.cells(100).len(), 10);
        assert!(PageMap::default().cells(10).is_empty());
    }

    #[test]
    fn a_live_map_shows_exactly_the_pages_written() {
        // 64 fresh pages of our own (no huge pages, whatever the THP mode), of
        // which pages 16..32 are written.
        let page = crate::resident::base_page_size().unwrap() as usize;
        let len = 64 * page;
        // SAFETY: a new private anonymous mapping, used only within its length
        // and unmapped at the end.
        let map = unsafe {
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED);
            libc::madvise(addr, len, libc::MADV_NOHUGEPAGE);
            let base = addr.cast::<u8>();
            for i in (16 * page..32 * page).step_by(page) {
                std::ptr::write_volatile(base.add(i), 1);
            }
            let start = addr as u64;
            let map = PageMap::read(std::process::id() as i32, start, start + len as u64);
            libc::munmap(addr, len);
            map.expect("reading our own pagemap")
        };
        assert_eq!(map.pages(), 64);
        assert_eq!(
            map.runs,
            vec![
                Run {
                    state: PageState::NotResident,
                    pages: 16
                },
                Run {
                    state: PageState::Resident,
                    pages: 16
                },
                Run {
                    state: PageState::NotResident,
                    pages: 32
                },
            ],
            "{map:?}"
        );
    }
}
