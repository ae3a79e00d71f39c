//! How much of a file is in the page cache, as vmtouch reports it: map the
//! file without touching it and ask the kernel with mincore(2) which of its
//! pages are resident. Mapping it here faults nothing in.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A file's size and how much of it is cached, in KiB.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Residency {
    pub path: PathBuf,
    pub size_kib: u64,
    pub resident_kib: u64,
}

impl Residency {
    /// How much is cached, in words every view shows alike: in KiB, exact,
    /// so that a few evicted pages never read as "100.0 MiB of 100.0 MiB"
    /// beside a check that counts them.
    pub fn summary(&self) -> String {
        format!("{} of {} KiB resident", self.resident_kib, self.size_kib)
    }
}

/// The page-cache residency of `path` (None when it does not exist or is empty).
pub fn residency(path: &Path) -> Option<Residency> {
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len() as usize;
    if len == 0 {
        return None;
    }
    let page = pmap_view::page_bytes();
    let pages = len.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: a read-only shared mapping of an open file, never dereferenced;
    // mincore writes one byte per page into `vec`, which has that many.
    let resident = unsafe {
        let addr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        if addr == libc::MAP_FAILED {
            return None;
        }
        let ok = libc::mincore(addr, len, vec.as_mut_ptr()) == 0;
        libc::munmap(addr, len);
        if !ok {
            return None;
        }
        vec.iter().filter(|&&b| b & 1 != 0).count()
    };
    Some(Residency {
        path: path.to_path_buf(),
        size_kib: (len / 1024) as u64,
        resident_kib: (resident * page / 1024) as u64,
    })
}

/// Can a file in `dir` be dropped from the page cache, as the filemap demo
/// does to start cold (`fsync`, then `posix_fadvise(POSIX_FADV_DONTNEED)`)?
/// `yes`, or `no` with the filesystem's reason: tmpfs and ramfs files live
/// in the page cache; an overlayfs file (a container's root) is dropped or
/// not depending on the kernel; a read-only folder cannot be probed.
/// Measured on a small file of our own, removed afterwards.
pub fn can_drop(dir: &Path) -> &'static str {
    use std::io::Write;
    let page = pmap_view::page_bytes();
    let probe = dir.join(format!(".pagecache-probe.{}", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| {
            f.write_all(&vec![1u8; 16 * page])?;
            f.sync_all()?;
            // SAFETY: fadvise on a file we own; it only hints the cache.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            Ok(())
        });
    let answer = match made {
        Err(_) => "unknown (the folder cannot be written)",
        Ok(()) => match residency(&probe) {
            Some(r) if r.resident_kib == 0 => "yes",
            Some(_) => "no",
            None => "unknown",
        },
    };
    let _ = std::fs::remove_file(&probe);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_just_written_is_cached_and_dropping_it_empties_the_cache() {
        let path = std::env::temp_dir().join(format!("pmap-lab-pagecache-{}", std::process::id()));
        std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        let r = residency(&path).unwrap();
        assert_eq!(r.size_kib, 1024);
        assert_eq!(r.resident_kib, 1024, "just written: all in the page cache");
        let file = std::fs::File::open(&path).unwrap();
        file.sync_all().unwrap();
        // SAFETY: advice on our own open file.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let after = residency(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(after.resident_kib < 1024, "{after:?}");
        assert!(residency(&path).is_none());
    }
}
