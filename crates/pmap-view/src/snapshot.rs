//! A [`Snapshot`]: every region of one process at one moment, with totals,
//! and the I/O that captures it from `/proc/PID/smaps`.
//!
//! The capture streams: it parses the text chunk by chunk as the kernel
//! produces it, so it costs little more than the kernel's own time to print
//! the text (see `bench/pmap.sh`).

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::region::{Key, Kind, Region};
use crate::smaps::{ParseError, Parsed, Parser};

/// Why a capture failed, in the words a user needs.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("process {0} not found (it may have exited)")]
    NotFound(i32),
    #[error(
        "permission denied reading {0}: a process's memory map can be read only by its own user \
         or with ptrace rights (see kernel.yama.ptrace_scope and the hidepid mount option of /proc)"
    )]
    PermissionDenied(PathBuf),
    /// The process exited while its map was read: the kernel ends the file
    /// early then, without an error, so what was read is only a part.
    #[error("process {0} exited while its memory map was being read")]
    Exited(i32),
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: ParseError },
}

/// Sums over all regions, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub size_kib: u64,
    pub rss_kib: u64,
    pub pss_kib: u64,
    pub dirty_kib: u64,
    pub swap_kib: u64,
    pub anonymous_kib: u64,
    pub anon_huge_pages_kib: u64,
}

impl Totals {
    pub fn of<'a>(regions: impl IntoIterator<Item = &'a Region>) -> Totals {
        regions.into_iter().fold(Totals::default(), Totals::plus)
    }

    /// These totals and `r`'s counters. Saturating: counters read back from
    /// a file may be anything (the JSON loader bounds them, and refuses totals
    /// past an address space).
    pub fn plus(self, r: &Region) -> Totals {
        let t = self;
        Totals {
            size_kib: t.size_kib.saturating_add(r.fields.size),
            rss_kib: t.rss_kib.saturating_add(r.fields.rss),
            pss_kib: t.pss_kib.saturating_add(r.fields.pss),
            dirty_kib: t.dirty_kib.saturating_add(r.fields.dirty()),
            swap_kib: t.swap_kib.saturating_add(r.fields.swap),
            anonymous_kib: t.anonymous_kib.saturating_add(r.fields.anonymous),
            anon_huge_pages_kib: t
                .anon_huge_pages_kib
                .saturating_add(r.fields.anon_huge_pages),
        }
    }
}

/// Every region of a process at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub pid: i32,
    pub regions: Vec<Region>,
    pub totals: Totals,
    /// The counter keys of smaps in the kernel's order (the columns of `pmap -X`).
    pub keys: Vec<Key>,
    /// The process's page tables, KiB (`VmPTE` of `/proc/PID/status`): memory
    /// the kernel spends on mapping the regions, which no region counts.
    /// `None` when not known (a snapshot built from text, or no such line).
    pub page_tables_kib: Option<u64>,
}

impl Snapshot {
    /// Build a snapshot from smaps text (a live read or a recorded fixture).
    pub fn from_smaps(pid: i32, text: &[u8]) -> Result<Snapshot, ParseError> {
        let mut parser = Parser::new();
        parser.feed(text)?;
        Ok(Snapshot::from_parsed(pid, parser.finish()?))
    }

    fn from_parsed(pid: i32, parsed: Parsed) -> Snapshot {
        let totals = Totals::of(&parsed.regions);
        Snapshot {
            pid,
            regions: parsed.regions,
            totals,
            keys: parsed.keys,
            page_tables_kib: None,
        }
    }

    /// Read and parse `/proc/PID/smaps`, and the page tables' size from
    /// `/proc/PID/status` (read after the map: for a process blocked at a
    /// prompt, as every lab step is, both describe the same moment).
    pub fn capture(pid: i32) -> Result<Snapshot, CaptureError> {
        let path = PathBuf::from(format!("/proc/{pid}/smaps"));
        let mut parsed = parse_proc_file(pid, &path)?;
        drop_stale_entries(&mut parsed.regions);
        let mut snapshot = Snapshot::from_parsed(pid, parsed);
        let status = PathBuf::from(format!("/proc/{pid}/status"));
        snapshot.page_tables_kib = page_tables_kib(&read_proc_file(pid, &status)?);
        Ok(snapshot)
    }

    /// Totals of the regions of one kind.
    pub fn totals_of(&self, kind: Kind) -> Totals {
        Totals::of(self.regions.iter().filter(|r| r.kind == kind))
    }
}

/// `VmPTE` of a `/proc/PID/status` text, KiB: the page tables of every level
/// below the top one (kernels count PTE, PMD and PUD tables there, and the
/// table the kernel keeps in reserve for each transparent huge page). A
/// kernel thread or a zombie has no such line.
pub fn page_tables_kib(status: &[u8]) -> Option<u64> {
    status.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(b"VmPTE:")?;
        let text = std::str::from_utf8(rest).ok()?.trim();
        text.strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Repair a capture torn by a process that changed its map while the kernel
/// printed it: the file is printed in chunks, each resuming at the address
/// where the last ended, so a region that grew in between is listed twice
/// (the old and the new extent, overlapping). The later entry is the fresher
/// one; earlier entries it overlaps are dropped. A blocked process (every lab
/// step) is never torn; `lab watch` samples running ones.
pub fn drop_stale_entries(regions: &mut Vec<Region>) {
    // The hot path: a capture is almost never torn, so look before rebuilding.
    if regions.windows(2).all(|w| w[0].end <= w[1].start) {
        return;
    }
    let mut kept: Vec<Region> = Vec::with_capacity(regions.len());
    for r in regions.drain(..) {
        while kept.last().is_some_and(|last| last.end > r.start) {
            kept.pop();
        }
        kept.push(r);
    }
    *regions = kept;
}

/// The mappings of `/proc/PID/maps`: smaps without the counters, a quarter
/// of the kernel's work. Every region's `fields` are zero.
pub fn capture_maps(pid: i32) -> Result<Vec<Region>, CaptureError> {
    let path = PathBuf::from(format!("/proc/{pid}/maps"));
    Ok(parse_proc_file(pid, &path)?.regions)
}

/// Bytes per read of a /proc file: small enough to stay in cache while it is
/// parsed, large enough that the syscalls cost nothing.
const CHUNK: usize = 256 * 1024;

/// Read a map file of `/proc` (smaps or maps) and parse it as it streams in.
pub(crate) fn parse_proc_file(pid: i32, path: &Path) -> Result<Parsed, CaptureError> {
    let mut parser = Parser::new();
    feed_proc_file(pid, path, &mut parser)?;
    parser.finish().map_err(|source| CaptureError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Feed a map file of `/proc` to `parser` as the kernel prints it.
///
/// Chunk by chunk, never the whole text: that keeps memory flat (the smaps of
/// a process with 60,000 mappings is 43 MB) and the buffer hot in cache, which
/// makes read-and-parse as fast as reading the whole file into memory. A reader
/// thread overlapping the kernel's work with the parsing was measured and
/// dropped: on a 2-vCPU machine both threads slowed down and nothing was won.
///
/// A process that exits during the read ends the file early (the kernel finds
/// no address space to go on with and reports the end of the file): a map
/// that was not empty but whose address space is gone at the end is refused
/// ([`CaptureError::Exited`]), never taken for the whole map.
pub fn feed_proc_file(pid: i32, path: &Path, parser: &mut Parser) -> Result<(), CaptureError> {
    let mut file = File::open(path).map_err(|e| proc_error(pid, path, e))?;
    let mut buf = vec![0u8; CHUNK];
    let mut read_any = false;
    loop {
        let n = read_some(&mut file, &mut buf).map_err(|e| proc_error(pid, path, e))?;
        if n == 0 {
            // No address space at the end: what was read may be cut short,
            // and an empty map is the truth only for a zombie or a kernel
            // thread, not for a process on its way out.
            if !has_address_space(pid) && (read_any || !has_no_map(pid)) {
                return Err(CaptureError::Exited(pid));
            }
            return Ok(());
        }
        read_any = true;
        parser
            .feed(&buf[..n])
            .map_err(|source| CaptureError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
    }
}

/// Whether `pid` still has its address space: `/proc/PID/statm` gives the
/// size of the process's memory, 0 once it has exited (a zombie's, a kernel
/// thread's) and nothing once it has been reaped.
fn has_address_space(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/statm")).is_ok_and(|statm| !statm.starts_with(b"0 "))
}

/// Whether `pid` is a zombie or a kernel thread (`/proc/PID/stat`): a
/// process whose map is empty for good.
fn has_no_map(pid: i32) -> bool {
    crate::stat::ProcStat::read(pid).is_some_and(|s| s.no_map_reason().is_some())
}

/// One read, retried when a signal interrupts it.
fn read_some(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// What an error reading a process's /proc file means for the user.
pub(crate) fn proc_error(pid: i32, path: &Path, e: io::Error) -> CaptureError {
    match e {
        // ESRCH comes from a read of a process that exited after the open.
        e if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc_esrch()) => {
            CaptureError::NotFound(pid)
        }
        e if e.kind() == io::ErrorKind::PermissionDenied => {
            CaptureError::PermissionDenied(path.to_path_buf())
        }
        source => CaptureError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Read a whole small /proc file (stat, cmdline, status).
pub(crate) fn read_proc_file(pid: i32, path: &Path) -> Result<Vec<u8>, CaptureError> {
    let mut text = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut text))
        .map_err(|e| proc_error(pid, path, e))?;
    Ok(text)
}

const fn libc_esrch() -> i32 {
    3 // ESRCH on every Linux architecture
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tables_come_from_vmpte() {
        let status =
            b"Name:\tcat\nVmRSS:\t    1944 kB\nVmPTE:\t      52 kB\nVmSwap:\t       0 kB\n";
        assert_eq!(page_tables_kib(status), Some(52));
        // A kernel thread's status has no Vm lines at all.
        assert_eq!(
            page_tables_kib(b"Name:\tkthreadd\nState:\tS (sleeping)\n"),
            None
        );
        assert_eq!(page_tables_kib(b"VmPTE:\tmany kB\n"), None);
    }

    /// A live process has page tables: its own code is mapped through them.
    /// (How they grow with memory written is the heap and mmap labs' check
    /// `process.page_tables`, on demos that nothing else runs in.)
    #[test]
    fn a_capture_reads_this_process_page_tables() {
        let snap = Snapshot::capture(std::process::id() as i32).unwrap();
        assert!(
            snap.page_tables_kib.is_some_and(|kib| kib > 0),
            "{:?}",
            snap.page_tables_kib
        );
    }
}
