//! A [`Snapshot`]: every region of one process at one moment, with totals,
//! and the I/O that captures it from `/proc/PID/smaps`.

use std::io::{self, Read};
use std::path::PathBuf;

use serde::Serialize;

use crate::region::{Kind, Region};
use crate::smaps::{self, ParseError};

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
        let mut t = Totals::default();
        for r in regions {
            t.size_kib += r.fields.size;
            t.rss_kib += r.fields.rss;
            t.pss_kib += r.fields.pss;
            t.dirty_kib += r.fields.dirty();
            t.swap_kib += r.fields.swap;
            t.anonymous_kib += r.fields.anonymous;
            t.anon_huge_pages_kib += r.fields.anon_huge_pages;
        }
        t
    }
}

/// Every region of a process at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub pid: i32,
    pub regions: Vec<Region>,
    pub totals: Totals,
}

impl Snapshot {
    /// Build a snapshot from smaps text (a live read or a recorded fixture).
    pub fn from_smaps(pid: i32, text: &[u8]) -> Result<Snapshot, ParseError> {
        let regions = smaps::parse(text)?;
        let totals = Totals::of(&regions);
        Ok(Snapshot {
            pid,
            regions,
            totals,
        })
    }

    /// Read and parse `/proc/PID/smaps`.
    pub fn capture(pid: i32) -> Result<Snapshot, CaptureError> {
        let path = PathBuf::from(format!("/proc/{pid}/smaps"));
        let text = read_proc_file(pid, &path)?;
        Snapshot::from_smaps(pid, &text).map_err(|source| CaptureError::Parse { path, source })
    }

    /// Totals of the regions of one kind.
    pub fn totals_of(&self, kind: Kind) -> Totals {
        Totals::of(self.regions.iter().filter(|r| r.kind == kind))
    }
}

/// Read a whole /proc file, mapping errors to what they mean for a process.
pub(crate) fn read_proc_file(pid: i32, path: &PathBuf) -> Result<Vec<u8>, CaptureError> {
    let mut text = Vec::with_capacity(64 * 1024);
    let result = std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut text));
    match result {
        Ok(_) => Ok(text),
        // ESRCH comes from a read of a process that exited after the open.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc_esrch()) => {
            Err(CaptureError::NotFound(pid))
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            Err(CaptureError::PermissionDenied(path.clone()))
        }
        Err(source) => Err(CaptureError::Io {
            path: path.clone(),
            source,
        }),
    }
}

const fn libc_esrch() -> i32 {
    3 // ESRCH on every Linux architecture
}
