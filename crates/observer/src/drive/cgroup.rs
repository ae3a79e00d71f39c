//! A memory cgroup of one's own for one program: the memory a lab declares
//! becomes the program's limit, enforced by the kernel (the cgroup's OOM
//! killer ends it there, and the run says so). Made where lab may: as root,
//! in cgroup v2 (`memory.max`, `memory.swap.max`) or in the v1 memory
//! hierarchy (`memory.limit_in_bytes`); elsewhere (a user without a
//! delegated cgroup, a container's read-only /sys/fs/cgroup) there is none,
//! and the run watches the program's RSS instead (see `drive::run`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Which cgroup hierarchy the limit lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V2,
    V1,
}

/// A cgroup made for one program, removed when dropped.
pub struct MemoryCgroup {
    dir: PathBuf,
    version: Version,
    limit_kib: u64,
    procs: OwnedFd,
}

impl MemoryCgroup {
    /// A new cgroup limited to `limit_kib`; None where none can be made.
    pub fn create(limit_kib: u64) -> Option<MemoryCgroup> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pmap-lab.{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let bytes = (limit_kib * 1024).to_string();
        let v2 = Path::new("/sys/fs/cgroup");
        let v2_has_memory = std::fs::read_to_string(v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "memory"));
        let (dir, version) = if v2_has_memory {
            (v2.join(&name), Version::V2)
        } else {
            let v1 = Path::new("/sys/fs/cgroup/memory");
            if !v1.join("memory.limit_in_bytes").exists() {
                return None;
            }
            (v1.join(&name), Version::V1)
        };
        std::fs::create_dir(&dir).ok()?;
        let made = MemoryCgroup {
            procs: std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map(OwnedFd::from)
                .ok()
                .or_else(|| {
                    let _ = std::fs::remove_dir(&dir);
                    None
                })?,
            dir,
            version,
            limit_kib,
        };
        let set = |file: &str, value: &str| std::fs::write(made.dir.join(file), value);
        let limited = match version {
            Version::V2 => set("memory.max", &bytes).and_then(|()| {
                // No swapping instead of the limit (absent without swap accounting).
                match set("memory.swap.max", "0") {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            }),
            Version::V1 => set("memory.limit_in_bytes", &bytes).and_then(|()| {
                match set("memory.memsw.limit_in_bytes", &bytes) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    other => other,
                }
            }),
        };
        // `made` is dropped (and the folder removed) when it cannot limit.
        limited.ok().map(|()| made)
    }

    /// The descriptor of its `cgroup.procs`: writing "0" moves the writer in.
    pub(crate) fn procs_fd(&self) -> RawFd {
        self.procs.as_raw_fd()
    }

    /// "a memory cgroup (v2) of 16 MiB".
    pub fn describe(&self) -> String {
        let v = match self.version {
            Version::V2 => "v2",
            Version::V1 => "v1",
        };
        format!(
            "memory at most {} (a cgroup {v})",
            pmap_view::render::size(self.limit_kib)
        )
    }

    pub fn limit_kib(&self) -> u64 {
        self.limit_kib
    }

    /// Did the cgroup's OOM killer end a process of it?
    pub fn oom_killed(&self) -> bool {
        let (file, key) = match self.version {
            Version::V2 => ("memory.events", "oom_kill"),
            Version::V1 => ("memory.oom_control", "oom_kill"),
        };
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once(' '))
            .any(|(k, v)| k == key && v.trim().parse::<u64>().is_ok_and(|n| n > 0))
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // The keeper has ended every process by now; a cgroup empties only
        // once they are reaped, so try for a while.
        if self.version == Version::V2 {
            let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
        }
        for _ in 0..200 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
