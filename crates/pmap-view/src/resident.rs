//! Rss and Dirty of every mapping without reading smaps: what `pmap -x` shows,
//! at a third of the kernel's cost.
//!
//! smaps makes the kernel print 25 counters per mapping; `pmap -x` needs two.
//! `/proc/PID/numa_maps` walks the same page tables and prints, per mapping,
//! the pages mapped and the pages dirty, in one short line; `/proc/PID/maps`
//! gives the rest of the row. On a process with 60,000 mappings the kernel
//! takes ~40 ms and ~50 ms to print those two, against ~160 ms for smaps
//! (measured by `bench/pmap.sh`).
//!
//! The two counts agree with smaps's `Rss` and `Shared_Dirty + Private_Dirty`
//! because both files count the same present, normal pages (the kernel's
//! `vm_normal_page`), with these exceptions, each handled here:
//! - numa_maps skips pages the kernel reserved for itself: the `[vdso]` image.
//!   smaps counts them, so the vdso's present pages are counted from
//!   `/proc/PID/pagemap` (it is never dirty).
//! - numa_maps counts hugetlb pages; smaps reports them apart, not in `Rss`,
//!   so a `huge` mapping counts 0 here too.
//! - numa_maps does not list the `[vsyscall]` gate page, which smaps shows
//!   with `Rss` 0.
//!
//! When numa_maps is missing (a kernel without `CONFIG_NUMA`) or does not list
//! the same mappings as maps (the process changed between the two reads),
//! [`capture`] says so and the caller reads smaps instead. A test checks this
//! path against smaps field by field on live processes.

use std::io::Read;
use std::path::PathBuf;

use crate::region::Region;
use crate::snapshot::{parse_proc_file, proc_error, CaptureError};

/// What `pmap -x` shows of one mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resident {
    /// The mapping (its counters in `fields` are not filled in).
    pub region: Region,
    /// Resident memory, KiB: smaps's `Rss`.
    pub rss_kib: u64,
    /// Dirty memory, KiB: smaps's `Shared_Dirty + Private_Dirty`.
    pub dirty_kib: u64,
}

impl Resident {
    /// The same numbers taken from a full smaps region.
    pub fn of(region: Region) -> Resident {
        Resident {
            rss_kib: region.fields.rss,
            dirty_kib: region.fields.dirty(),
            region,
        }
    }
}

/// One line of numa_maps, reduced to what Rss and Dirty need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct NumaLine {
    start: u64,
    /// Pages mapped (base pages, or huge pages for hugetlb).
    pages: u64,
    dirty: u64,
    page_kib: u64,
    hugetlb: bool,
}

/// The mappings of `pid` with their Rss and Dirty, from maps and numa_maps.
/// `Ok(None)` when those cannot give smaps's numbers: read smaps instead.
pub fn capture(pid: i32) -> Result<Option<Vec<Resident>>, CaptureError> {
    let numa_path = PathBuf::from(format!("/proc/{pid}/numa_maps"));
    let numa_text = match read_all(pid, &numa_path) {
        Ok(text) => text,
        // No CONFIG_NUMA: no such file in a live process's directory.
        Err(CaptureError::NotFound(_)) if std::fs::metadata(format!("/proc/{pid}")).is_ok() => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let regions = parse_proc_file(pid, &PathBuf::from(format!("/proc/{pid}/maps")))?.regions;
    let Some(numa) = parse_numa_maps(&numa_text) else {
        return Ok(None);
    };
    let mut rows = Vec::with_capacity(regions.len());
    let mut lines = numa.iter().peekable();
    for region in regions {
        let line = match lines.peek() {
            Some(line) if line.start == region.start => lines.next().copied(),
            _ if region.name == "[vsyscall]" => None,
            // A mapping that came or went between the two reads.
            _ => return Ok(None),
        };
        let (rss_kib, dirty_kib) = match line {
            None => (0, 0),
            Some(l) if l.hugetlb => (0, 0),
            Some(_) if is_kernel_image(&region) => match present_kib(pid, &region) {
                Some(kib) => (kib, 0),
                None => return Ok(None),
            },
            Some(l) => (l.pages * l.page_kib, l.dirty * l.page_kib),
        };
        rows.push(Resident {
            region,
            rss_kib,
            dirty_kib,
        });
    }
    if lines.next().is_some() {
        return Ok(None);
    }
    Ok(Some(rows))
}

/// Mappings of pages that belong to the kernel image, which numa_maps skips.
fn is_kernel_image(region: &Region) -> bool {
    matches!(region.name.as_str(), "[vdso]" | "[vectors]" | "[sigpage]")
}

/// KiB of `region` present in memory, from `/proc/PID/pagemap` (bit 63 of
/// each base page's 64-bit entry). None if pagemap cannot be read.
fn present_kib(pid: i32, region: &Region) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let page = base_page_size()?;
    let count = usize::try_from((region.end - region.start) / page).ok()?;
    let mut entries = vec![0u8; count.checked_mul(8)?];
    let file = std::fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    file.read_exact_at(&mut entries, region.start / page * 8)
        .ok()?;
    let present = entries.chunks_exact(8).filter(|e| e[7] & 0x80 != 0);
    Some(present.count() as u64 * (page / 1024))
}

/// The base page size, what pagemap counts in: `AT_PAGESZ` of the auxiliary
/// vector (numa_maps gives no page size for a mapping with no pages counted,
/// as the vdso's always is).
fn base_page_size() -> Option<u64> {
    static PAGE: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        const AT_PAGESZ: u64 = 6;
        let auxv = std::fs::read("/proc/self/auxv").ok()?;
        auxv.chunks_exact(16).find_map(|pair| {
            let (key, value) = pair.split_at(8);
            let key = u64::from_ne_bytes(key.try_into().ok()?);
            let value = u64::from_ne_bytes(value.try_into().ok()?);
            (key == AT_PAGESZ && value >= 1024).then_some(value)
        })
    })
}

fn read_all(pid: i32, path: &PathBuf) -> Result<Vec<u8>, CaptureError> {
    let mut text = Vec::with_capacity(256 * 1024);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut text))
        .map_err(|e| proc_error(pid, path, e))?;
    Ok(text)
}

/// Parse numa_maps text; None if a line is not in the expected format.
///
/// A line: `START POLICY [file=PATH|heap|stack] [huge] [anon=N] [dirty=N]
/// [mapped=N] … kernelpagesize_kB=N`, without the counters and page size
/// when no page is mapped. The kernel escapes spaces in the path
/// (as `\040`), so the line splits on spaces. `mapped=` is left out when it
/// equals `anon=` or `dirty=`, so pages = mapped, else the larger of the two.
fn parse_numa_maps(text: &[u8]) -> Option<Vec<NumaLine>> {
    let mut lines = Vec::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut words = line.split(|&b| b == b' ');
        let start = parse_hex(words.next()?)?;
        let mut l = NumaLine {
            start,
            ..NumaLine::default()
        };
        let (mut anon, mut mapped) = (0, None);
        for word in words {
            if word == b"huge" {
                l.hugetlb = true;
                continue;
            }
            let Some(eq) = word.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = (&word[..eq], &word[eq + 1..]);
            let number = || parse_dec(value);
            match key {
                b"anon" => anon = number()?,
                b"dirty" => l.dirty = number()?,
                b"mapped" => mapped = Some(number()?),
                b"kernelpagesize_kB" => l.page_kib = number()?,
                _ => {}
            }
        }
        l.pages = mapped.unwrap_or(anon.max(l.dirty));
        // The kernel leaves the page size out of a line with no pages.
        if l.page_kib == 0 && l.pages != 0 {
            return None;
        }
        lines.push(l);
    }
    Some(lines)
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok()
}

fn parse_dec(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numa_lines_give_pages_even_when_mapped_is_left_out() {
        let text =
            b"00400000 default file=/usr/bin/with\\040space mapped=3 N0=3 kernelpagesize_kB=4\n\
            7f0000000000 default anon=5 dirty=5 active=0 N0=5 kernelpagesize_kB=4\n\
            7f0000100000 default anon=2 dirty=7 N0=7 kernelpagesize_kB=4\n\
            7f0000200000 default file=/dev/hugepages/x huge dirty=1 N0=1 kernelpagesize_kB=2048\n\
            7f0000400000 default kernelpagesize_kB=4\n\
            7f0000500000 default\n";
        let lines = parse_numa_maps(text).unwrap();
        let pages: Vec<(u64, u64, bool)> = lines
            .iter()
            .map(|l| (l.pages, l.dirty, l.hugetlb))
            .collect();
        assert_eq!(
            pages,
            vec![
                (3, 0, false),
                (5, 5, false),
                (7, 7, false),
                (1, 1, true),
                (0, 0, false),
                (0, 0, false)
            ]
        );
        assert_eq!(lines[0].start, 0x400000);
        assert!(parse_numa_maps(b"zz default kernelpagesize_kB=4\n").is_none());
        assert!(parse_numa_maps(b"1000 default anon=1\n").is_none());
        assert!(parse_numa_maps(b"1000 default\n").is_some());
    }
}
