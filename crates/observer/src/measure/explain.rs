//! `lab explain PID`: every region of any process named in plain words.
//!
//! What can be known is found out, not guessed: the program and its libraries
//! by their files and segment permissions; the main stack by the start-of-stack
//! address in /proc/PID/stat; each thread's stack by the stack pointer its
//! blocked thread shows in /proc/PID/task/TID/syscall, and its guard page below
//! it; glibc malloc arenas by the `heap_info` header at the start of their
//! 64 MiB-aligned reservation; large malloc blocks by walking their chunk
//! headers (size with the IS_MMAPPED bit) through /proc/PID/mem; the main
//! thread's thread-local storage by glibc's thread control block in it (see
//! `thread_control_block`). What is still
//! unknown is marked as such (`?`), with what it usually is.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use pmap_view::{CaptureError, Kind, Region, Snapshot};

/// One region and what it is.
pub struct Explained {
    pub region: Region,
    pub what: String,
    /// False when `what` is a description of possibilities, not an identification.
    pub certain: bool,
}

/// glibc's HEAP_MAX_SIZE on 64-bit: every non-main arena reserves this much, aligned to it.
const ARENA_RESERVATION: u64 = 64 << 20;

/// Capture `pid` and explain each of its regions.
pub fn explain(pid: i32) -> Result<(Snapshot, Vec<Explained>), CaptureError> {
    let snap = Snapshot::capture(pid)?;
    // The kernel adds " (deleted)" to the link of a deleted program; a
    // program may also be named so (see `unlinked`).
    let exe_link = format!("/proc/{pid}/exe");
    let exe = std::fs::read_link(&exe_link).ok().map(|p| {
        let p = p.to_string_lossy().into_owned();
        let gone = std::fs::metadata(&exe_link).is_ok_and(|m| m.nlink() == 0);
        match p.strip_suffix(DELETED) {
            Some(path) if gone => path.to_string(),
            _ => p,
        }
    });
    let mem = File::open(format!("/proc/{pid}/mem")).ok();
    let sps = thread_stack_pointers(pid);
    let regions = &snap.regions;
    let mut out: Vec<Explained> = Vec::with_capacity(regions.len());
    for (i, r) in regions.iter().enumerate() {
        let (what, certain) = identify(pid, r, i, regions, exe.as_deref(), mem.as_ref(), &sps);
        out.push(Explained {
            region: r.clone(),
            what,
            certain,
        });
    }
    Ok((snap, out))
}

/// Thread id -> stack pointer, for every thread blocked in a system call. A
/// thread caught running is looked at again a few times over ~20 ms: threads
/// of a program at rest are usually only passing from one wait to the next.
fn thread_stack_pointers(pid: i32) -> HashMap<i32, u64> {
    let mut sps = HashMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return sps;
    };
    for t in tasks.flatten() {
        let Some(tid) = t.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        for attempt in 0..20 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let text = std::fs::read_to_string(t.path().join("syscall")).unwrap_or_default();
            // "NR arg1..arg6 SP PC" while blocked; "running" otherwise.
            let fields: Vec<&str> = text.split_whitespace().collect();
            if fields.len() >= 3 {
                if let Ok(sp) =
                    u64::from_str_radix(fields[fields.len() - 2].trim_start_matches("0x"), 16)
                {
                    sps.insert(tid, sp);
                }
                break;
            }
            if text.trim() != "running" {
                break; // gone, or not readable: no use asking again
            }
        }
    }
    sps
}

fn read_u64s<const N: usize>(mem: &File, addr: u64) -> Option<[u64; N]> {
    let mut buf = [0u8; 64];
    let bytes = &mut buf[..N * 8];
    mem.read_exact_at(bytes, addr).ok()?;
    let mut out = [0u64; N];
    for (k, chunk) in bytes.chunks_exact(8).enumerate() {
        out[k] = u64::from_ne_bytes(chunk.try_into().ok()?);
    }
    Some(out)
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn identify(
    pid: i32,
    r: &Region,
    i: usize,
    all: &[Region],
    exe: Option<&str>,
    mem: Option<&File>,
    sps: &HashMap<i32, u64>,
) -> (String, bool) {
    let perms = r.perms_str();
    let certain = |s: String| (s, true);
    match r.kind {
        Kind::Heap => return certain("[heap]: the brk area, where glibc's main malloc arena keeps small blocks".into()),
        Kind::Stack => return certain("[stack]: the main thread's stack (grows down on demand)".into()),
        Kind::Vdso => return certain("[vdso]: kernel code mapped into every process, so that calls like clock_gettime need no system call".into()),
        Kind::Vvar => return certain(format!("{}: kernel data (clocks) that the vDSO reads", r.name)),
        Kind::Vsyscall => return certain("[vsyscall]: the legacy fixed-address system-call page, for very old binaries".into()),
        _ => {}
    }
    if r.kind == Kind::File || r.kind == Kind::Other {
        return file_region(pid, r, i, all, exe);
    }
    // Anonymous memory.
    let mut here: Vec<i32> = sps
        .iter()
        .filter(|(_, &sp)| sp >= r.start && sp < r.end)
        .map(|(&tid, _)| tid)
        .collect();
    here.sort_unstable();
    // glibc 2.42 on installs a thread stack's guard inside its mapping with
    // madvise(MADV_GUARD_INSTALL) (VmFlags `gu`): no ---p region parts two
    // stacks, and neighbouring stacks merge into one region.
    let guards = r.vm_flags.split_whitespace().any(|f| f == "gu");
    let guard_words = if guards {
        ", each with its guard page inside the region (installed with madvise: no ---p line)"
    } else {
        ""
    };
    match here.as_slice() {
        [] => {}
        [tid] => {
            return certain(format!(
                "stack of thread {tid} (its stack pointer is here){}",
                if guards {
                    ", with its guard page inside the region (installed with madvise: no ---p line)"
                } else {
                    ""
                }
            ))
        }
        [first, .., last] => {
            return certain(format!(
            "stacks of {} threads ({first} to {last}: their stack pointers are here){guard_words}",
            here.len()
        ))
        }
    }
    if perms.starts_with("---") {
        if let Some(above) = all.get(i + 1).filter(|a| a.start == r.end) {
            if let Some((tid, _)) = sps
                .iter()
                .find(|(_, &sp)| sp >= above.start && sp < above.end)
            {
                return certain(format!(
                    "guard page of thread {tid}'s stack: no access, so an overflow faults"
                ));
            }
        }
        if let Some(below) = i
            .checked_sub(1)
            .map(|k| &all[k])
            .filter(|b| b.end == r.start)
        {
            if let Some(mem) = mem {
                if is_arena_start(below, mem) {
                    return certain("rest of a malloc arena's 64 MiB reservation (no access until the arena grows)".into());
                }
            }
        }
        return (
            "no-access reservation (PROT_NONE): a guard page or address space kept for later"
                .into(),
            false,
        );
    }
    if perms.starts_with("rw") && r.end - r.start <= TLS_SCAN_MAX {
        match mem {
            Some(mem) => {
                if let Some(tcb) = thread_control_block(pid, mem, r.start, r.end) {
                    return tcb.describe();
                }
            }
            None if below_libc(r, i, all) => {
                return (
                    "probably the main thread's thread-local storage (TLS and its thread control block), \
                     which the dynamic loader maps right below libc at start-up; not confirmed: \
                     /proc/PID/mem is not readable"
                        .into(),
                    false,
                );
            }
            None => {}
        }
    }
    if let Some(mem) = mem {
        if is_arena_start(r, mem) {
            return certain(
                "glibc malloc arena: a thread's heap, the usable start of a 64 MiB reservation"
                    .into(),
            );
        }
        if let Some(text) = malloc_blocks(pid, r, mem) {
            return text;
        }
    }
    if let Some(file) = i
        .checked_sub(1)
        .map(|k| &all[k])
        .filter(|b| b.end == r.start && b.kind == Kind::File && b.perms_str() == "rw-p")
    {
        return (
            format!(
                "probably the bss (zero-initialised data) of {}, right after its data",
                base(&file.name)
            ),
            false,
        );
    }
    ("anonymous memory, not identified: the program's own mmap, a runtime's allocator (pymalloc, jemalloc…), thread-local storage…".into(), false)
}

/// Is `r` the first, usable part of a non-main malloc arena? Its start is
/// 64 MiB-aligned and holds glibc's `heap_info`: a pointer to the arena's
/// state just after it, no previous heap, and the usable size.
fn is_arena_start(r: &Region, mem: &File) -> bool {
    if r.start % ARENA_RESERVATION != 0 || !r.perms_str().starts_with("rw") {
        return false;
    }
    let Some([ar_ptr, prev, size, mprotect_size]) = read_u64s::<4>(mem, r.start) else {
        return false;
    };
    ar_ptr > r.start
        && ar_ptr < r.start + 4096
        && prev == 0
        && size > 0
        && size <= ARENA_RESERVATION
        && mprotect_size >= size
}

/// The length of the mapping behind an mmapped chunk's header (`prev_size`,
/// `size`), or None when it is not one. Before glibc 2.43 the size field is
/// the mapping's length, whole pages, with IS_MMAPPED (2) set; since 2.43
/// (malloc.c `mmap_set_chunk`) it is the length less the 16-byte header and
/// the chunk's offset in the mapping, which `prev_size` holds (0x2 | 0xa00ff2
/// for malloc(10 MiB): 0xa00ff0 + 16 = 0xa01000).
fn mmapped_chunk_len(prev_size: u64, size: u64) -> Option<u64> {
    let page = crate::measure::machine::page_bytes() as u64;
    let field = size & !7;
    if size & 2 == 0 || field == 0 {
        return None;
    }
    if field % page == 0 {
        return Some(field);
    }
    let whole = field.checked_add(16)?.checked_add(prev_size & !1)?;
    (whole % page == 0).then_some(whole)
}

/// Walk glibc chunk headers from the start of `r`: a block malloc got with
/// mmap starts with a header whose size has the IS_MMAPPED bit (2) set and
/// spans whole pages. Adjacent blocks merge into one region; walk them all.
fn malloc_blocks(pid: i32, r: &Region, mem: &File) -> Option<(String, bool)> {
    let len = r.end - r.start;
    let (mut offset, mut blocks, mut largest) = (0u64, 0u32, 0u64);
    while offset < len {
        let Some([prev_size, size]) = read_u64s::<2>(mem, r.start + offset) else {
            break;
        };
        let Some(chunk) = mmapped_chunk_len(prev_size, size) else {
            break;
        };
        // `chunk > len - offset`, not `offset + chunk > len`: the size is the
        // target's data, and a huge one would wrap the sum (offset < len here).
        if chunk > len - offset {
            break;
        }
        blocks += 1;
        largest = largest.max(chunk);
        offset += chunk;
    }
    if blocks == 0 {
        return None;
    }
    let what = format!(
        "{blocks} large malloc block{} (mmap'd by malloc), the largest {} KiB",
        if blocks > 1 { "s" } else { "" },
        largest / 1024
    );
    let rest = len - offset;
    let tail = || {
        let tcb = (rest <= TLS_SCAN_MAX)
            .then(|| thread_control_block(pid, mem, r.start + offset, r.end))
            .flatten()?;
        let (text, certain) = tcb.describe();
        certain.then(|| format!("{what}; the last {} KiB: {text}", rest / 1024))
    };
    Some(if offset == len {
        (what, true)
    } else if let Some(text) = tail() {
        (text, true)
    } else {
        (
            format!(
                "{what}; the last {} KiB not identified (an adjacent mapping merged into this one)",
                rest / 1024
            ),
            true,
        )
    })
}

/// The largest anonymous region (or unidentified end of one) searched for a
/// thread control block: the main thread's static TLS block and TCB take a
/// few pages (3 with glibc 2.36 and 2.41 for a small C program).
const TLS_SCAN_MAX: u64 = 64 << 10;

/// A thread control block found in memory, and whose it is.
struct Tcb {
    addr: u64,
    /// The thread it belongs to: the process id for the main thread.
    tid: Option<i32>,
    main: bool,
}

impl Tcb {
    fn describe(&self) -> (String, bool) {
        let addr = self.addr;
        match self.tid {
            Some(_) if self.main => (
                format!(
                    "thread-local storage of the main thread and its thread control block \
                     (TCB at {addr:#x}, where the thread pointer points): mapped by the \
                     dynamic loader at start-up"
                ),
                true,
            ),
            Some(tid) => (
                format!(
                    "thread-local storage of thread {tid} and its thread control block (TCB at {addr:#x})"
                ),
                true,
            ),
            None => (
                format!(
                    "probably thread-local storage and a thread control block: the words at \
                     {addr:#x} point to themselves as glibc's TCB does, but name no thread of this process"
                ),
                false,
            ),
        }
    }
}

/// Find glibc's thread control block (`struct pthread`) in [start, end) of
/// the process's memory. On x86-64 the thread pointer (%fs base) points to
/// it, and its header `tcbhead_t` starts with `tcb` and, two words on,
/// `self`: both hold the block's own address. The thread's id (`tid`) is at
/// offset 0x2d0. Checked on real processes with glibc 2.36 and 2.41 (a C
/// program comparing `__builtin_thread_pointer()`, `gettid()` and
/// /proc/self/maps): the main thread's TCB lies in a small anonymous mapping
/// right below libc, which the dynamic loader makes for the static TLS. The
/// thread pointer itself (fs_base) can be read only with ptrace, which would
/// stop the process: the self-pointers and the tid find it without that.
/// Other architectures lay the TCB out otherwise: nothing is found there.
fn thread_control_block(pid: i32, mem: &File, start: u64, end: u64) -> Option<Tcb> {
    const TID_OFFSET: usize = 0x2d0;
    if !cfg!(all(target_arch = "x86_64", target_env = "gnu")) || end <= start {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(end - start).ok()?];
    mem.read_exact_at(&mut buf, start).ok()?;
    let word = |o: usize| u64::from_ne_bytes(buf[o..o + 8].try_into().unwrap());
    let mut shaped = None;
    for o in (0..buf.len().saturating_sub(TID_OFFSET + 4)).step_by(8) {
        let addr = start + o as u64;
        if word(o) != addr || word(o + 16) != addr {
            continue;
        }
        let tid = i32::from_ne_bytes(buf[o + TID_OFFSET..o + TID_OFFSET + 4].try_into().unwrap());
        if tid == pid {
            return Some(Tcb {
                addr,
                tid: Some(tid),
                main: true,
            });
        }
        if tid > 0 && std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists() {
            return Some(Tcb {
                addr,
                tid: Some(tid),
                main: false,
            });
        }
        shaped.get_or_insert(Tcb {
            addr,
            tid: None,
            main: false,
        });
    }
    shaped
}

/// Is `r` a small region right below the first mapping of libc? Where the
/// dynamic loader puts the main thread's TLS (when it cannot be confirmed).
fn below_libc(r: &Region, i: usize, all: &[Region]) -> bool {
    all.get(i + 1).is_some_and(|next| {
        next.start == r.end
            && next.offset == 0
            && base(&next.name).starts_with("libc.so")
            && r.end - r.start <= 4 * 4096
    })
}

/// What the kernel appends to the name of a mapped file that was deleted.
const DELETED: &str = " (deleted)";

/// Whether the file `r` maps was really deleted: its name ends in
/// " (deleted)", and the file has no link left (`/proc/PID/map_files`, root
/// or the process's own user with ptrace rights), or else no file of that
/// very name and inode exists. A live file may be named "x (deleted)" too.
fn unlinked(pid: i32, r: &Region) -> bool {
    if !r.name.ends_with(DELETED) {
        return false;
    }
    let link = format!("/proc/{pid}/map_files/{:x}-{:x}", r.start, r.end);
    if let Ok(m) = std::fs::metadata(link) {
        return m.nlink() == 0;
    }
    !std::fs::metadata(&r.name).is_ok_and(|m| m.ino() == r.inode && m.nlink() > 0)
}

fn file_region(
    pid: i32,
    r: &Region,
    i: usize,
    all: &[Region],
    exe: Option<&str>,
) -> (String, bool) {
    let name = r.name.as_str();
    let shared = r.is_shared();
    if name.starts_with("/dev/zero") || name.starts_with("/SYSV") || name.starts_with("/memfd:") {
        let what = match name {
            n if n.starts_with("/SYSV") => "System V shared memory segment (shmget)",
            n if n.starts_with("/memfd:") => "memfd: memory with a file descriptor (memfd_create)",
            _ if shared => "shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS; the kernel backs it with a deleted /dev/zero)",
            _ => "private mapping of /dev/zero: anonymous memory",
        };
        return (what.into(), true);
    }
    let deleted = unlinked(pid, r);
    let path = match name.strip_suffix(DELETED) {
        Some(path) if deleted => path,
        _ => name,
    };
    let owner = if exe == Some(path) {
        format!("the program ({})", base(path))
    } else if base(path).contains(".so") {
        format!("library {}", base(path))
    } else {
        let how = if shared {
            "shared"
        } else {
            "private (copy-on-write)"
        };
        let gone = if deleted { "deleted file " } else { "file " };
        return (
            format!(
                "{how} mapping of the {gone}{path}, at offset {:#x}",
                r.offset
            ),
            true,
        );
    };
    let first_of_file = i == 0 || all[i - 1].name != r.name;
    let segment = match (&r.perms[..3], first_of_file) {
        (b"r-x", _) => "code (.text)",
        (b"r--", true) => "ELF headers and read-only data",
        (b"r--", false) => "read-only data (.rodata, or relocated data made read-only: RELRO)",
        (b"rw-", _) => "data (.data: initialised globals; .got)",
        (b"---", _) => "alignment gap between segments (no access)",
        _ => "segment",
    };
    let gone = if deleted {
        " (its file was deleted since)"
    } else {
        ""
    };
    (format!("{segment} of {owner}{gone}"), true)
}

#[cfg(test)]
mod tests {
    use super::mmapped_chunk_len;

    #[test]
    fn mmapped_chunk_headers_of_both_layouts_give_the_mapping_length() {
        let page = crate::measure::machine::page_bytes() as u64;
        // Measured: malloc(10 MiB) on glibc 2.36 (0xa01002) and 2.43 (0xa00ff2).
        if page == 4096 {
            assert_eq!(mmapped_chunk_len(0, 0xa01002), Some(0xa01000));
            assert_eq!(mmapped_chunk_len(0, 0xa00ff2), Some(0xa01000));
            assert_eq!(mmapped_chunk_len(0, 0x3200ff2), Some(0x3201000));
        }
        // Not mmapped (no bit 2), or no whole page either way.
        assert_eq!(mmapped_chunk_len(0, 0xa01000), None);
        assert_eq!(mmapped_chunk_len(0, 0x1232), None);
        assert_eq!(mmapped_chunk_len(0, 2), None);
    }
}
