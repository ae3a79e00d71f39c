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

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::pmap::{read_maps, Mapping};
use crate::snapshot::{proc_error, CaptureError};

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
pub fn capture(pid: i32) -> Result<Option<Vec<Mapping>>, CaptureError> {
    let mut mappings = read_maps(pid)?;
    let numa_path = PathBuf::from(format!("/proc/{pid}/numa_maps"));
    let mut file = match File::open(&numa_path) {
        Ok(file) => file,
        // No CONFIG_NUMA: no such file in a live process's directory.
        Err(e) if e.kind() == io::ErrorKind::NotFound && proc_dir_exists(pid) => return Ok(None),
        Err(e) => return Err(proc_error(pid, &numa_path, e)),
    };
    // Join the two files line by line as numa_maps streams in.
    let mut next = 0;
    let joined = for_each_line(&mut file, |line| {
        let l = parse_numa_line(line)?;
        let m = mappings.get_mut(next).filter(|m| m.start == l.start)?;
        next += 1;
        (m.rss_kib, m.dirty_kib) = if l.hugetlb {
            (0, 0)
        } else if is_kernel_image(&m.name) {
            (present_kib(pid, m.start, m.end)?, 0)
        } else {
            (l.pages * l.page_kib, l.dirty * l.page_kib)
        };
        Some(())
    })
    .map_err(|e| proc_error(pid, &numa_path, e))?;
    // What numa_maps did not list can only be the gate page, Rss 0 in smaps;
    // anything else came or went between the two reads.
    let rest_is_gate = mappings[next.min(mappings.len())..]
        .iter()
        .all(|m| &*m.name == "[vsyscall]");
    Ok((joined.is_some() && rest_is_gate).then_some(mappings))
}

fn proc_dir_exists(pid: i32) -> bool {
    std::fs::metadata(format!("/proc/{pid}")).is_ok()
}

/// Call `f` on every line of `file`, read in chunks; stop at the first None.
fn for_each_line(
    file: &mut File,
    mut f: impl FnMut(&[u8]) -> Option<()>,
) -> io::Result<Option<()>> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut kept = 0; // bytes of an unfinished line at the start of buf
    loop {
        if kept == buf.len() {
            buf.resize(buf.len() * 2, 0); // a line longer than the buffer
        }
        let n = match file.read(&mut buf[kept..]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        let filled = kept + n;
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', &buf[kept..filled]) {
            let end = kept + nl;
            if f(&buf[start..end]).is_none() {
                return Ok(None);
            }
            start = end + 1;
        }
        if n == 0 {
            return Ok(if start < filled {
                f(&buf[start..filled])
            } else {
                Some(())
            });
        }
        buf.copy_within(start..filled, 0);
        kept = filled - start;
    }
}

/// Mappings of pages that belong to the kernel image, which numa_maps skips.
fn is_kernel_image(name: &str) -> bool {
    matches!(name, "[vdso]" | "[vectors]" | "[sigpage]")
}

/// KiB of `start..end` present in memory, from `/proc/PID/pagemap` (bit 63
/// of each base page's 64-bit entry). None if pagemap cannot be read.
fn present_kib(pid: i32, start: u64, end: u64) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let page = base_page_size()?;
    let count = usize::try_from((end - start) / page).ok()?;
    let mut entries = vec![0u8; count.checked_mul(8)?];
    let file = std::fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    file.read_exact_at(&mut entries, start / page * 8).ok()?;
    let present = entries.chunks_exact(8).filter(|e| e[7] & 0x80 != 0);
    Some(present.count() as u64 * (page / 1024))
}

/// The base page size, what pagemap counts in: `AT_PAGESZ` of the auxiliary
/// vector (numa_maps gives no page size for a mapping with no pages counted,
/// as the vdso's always is).
pub(crate) fn base_page_size() -> Option<u64> {
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

/// This machine's page size in bytes, the one definition the workspace
/// uses (4 KiB on x86-64; 4, 16 or 64 KiB on arm64): the auxiliary vector's,
/// else sysconf's.
pub fn page_bytes() -> usize {
    base_page_size()
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or_else(|| {
            // SAFETY: sysconf has no preconditions.
            let b = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            usize::try_from(b).ok().filter(|&b| b > 0).unwrap_or(4096)
        })
}

/// Parse a line of numa_maps; None if it is not in the expected format.
///
/// A line: `START POLICY [file=PATH|heap|stack] [huge] [anon=N] [dirty=N]
/// [mapped=N] … kernelpagesize_kB=N`, without the counters and page size
/// when no page is mapped. The kernel escapes spaces in the path (as
/// `\040`), so the line splits on spaces. `mapped=` is left out when it
/// equals `anon=` or `dirty=`, so pages = mapped, else the larger of the two.
fn parse_numa_line(line: &[u8]) -> Option<NumaLine> {
    let mut words = line.split(|&b| b == b' ');
    let mut l = NumaLine {
        start: parse_hex(words.next()?)?,
        ..NumaLine::default()
    };
    let (mut anon, mut mapped) = (0, None);
    for word in words {
        if word == b"huge" {
            l.hugetlb = true;
            continue;
        }
        let Some(eq) = memchr::memchr(b'=', word) else {
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
    Some(l)
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
        let parse = |text: &[u8]| -> Option<Vec<NumaLine>> {
            text.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(parse_numa_line)
                .collect()
        };
        let lines = parse(text).unwrap();
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
        assert!(parse(b"zz default kernelpagesize_kB=4\n").is_none());
        assert!(parse(b"1000 default anon=1\n").is_none());
        assert!(parse(b"1000 default\n").is_some());
    }
}
