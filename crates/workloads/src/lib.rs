//! The Rust ports of the pmap lab demos.
//!
//! Each workload does the same system-level work as its C or Python original,
//! one action per step, and waits at a prompt before and after every action:
//! it prints one prompt line and reads one line from stdin. The observer (or a
//! person with `pmap -x PID` in another terminal) captures the memory map while
//! the workload waits. `lab workload NAME` runs one by itself.
//!
//! In each source file a step starts at a `// step N: …` comment and ends at the
//! next blank line; the lab shows those lines as "what the program just did".

use std::io::{self, BufRead, Write};

pub mod filemap;
pub mod fragmentation;
pub mod heap;
pub mod leak;
pub mod mmap;
pub mod pylist;
pub mod shared;
pub mod threads;
pub mod zeropage;

/// A Rust port: its name, its own source text (for showing steps) and its body.
pub struct Workload {
    pub name: &'static str,
    pub source_file: &'static str,
    pub source: &'static str,
    pub run: fn(&mut Prompter, &[String]) -> Result<(), Error>,
}

/// A port's entry: its name is its module's and its file's.
macro_rules! workload {
    ($name:ident) => {
        Workload {
            name: stringify!($name),
            source_file: concat!("crates/workloads/src/", stringify!($name), ".rs"),
            source: include_str!(concat!(stringify!($name), ".rs")),
            run: $name::run,
        }
    };
}

/// The ports, by lab name.
pub const ALL: &[Workload] = &[
    workload!(heap),
    workload!(mmap),
    workload!(pylist),
    workload!(zeropage),
    workload!(threads),
    workload!(fragmentation),
    workload!(leak),
    workload!(shared),
    workload!(filemap),
];

pub fn find(name: &str) -> Option<&'static Workload> {
    ALL.iter().find(|w| w.name == name)
}

/// Why a workload stopped early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// stdin closed or failed while waiting at a prompt.
    #[error("reading stdin at a prompt: {0}")]
    Input(#[source] io::Error),
    /// Another operation failed; `what` says which.
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    /// The allocator refused memory (a `ulimit -v` or a cgroup limit, say).
    #[error("out of memory: {what} failed")]
    OutOfMemory { what: &'static str },
}

impl Error {
    /// An I/O error, with what was being done (no blanket conversion: every
    /// failure says what failed, not "reading stdin").
    pub fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Prints a prompt line and waits for a line on stdin, as the C demos do with
/// `printf` and `getchar`.
pub struct Prompter {
    stdin: io::StdinLock<'static>,
    line: String,
}

impl Default for Prompter {
    fn default() -> Self {
        Self::new()
    }
}

impl Prompter {
    pub fn new() -> Self {
        Prompter {
            stdin: io::stdin().lock(),
            line: String::new(),
        }
    }

    /// Print the PID line every demo starts with.
    pub fn announce_pid(&mut self) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "pid {}", std::process::id())?;
        out.flush()
    }

    /// Print `prompt` on its own line, then block until a line (or EOF) arrives.
    pub fn wait(&mut self, prompt: &str) -> Result<(), Error> {
        let mut out = io::stdout().lock();
        writeln!(out, "{prompt}")
            .and_then(|()| out.flush())
            .map_err(|e| Error::io("writing a prompt", e))?;
        self.line.clear();
        if self.stdin.read_line(&mut self.line).map_err(Error::Input)? == 0 {
            return Err(Error::Input(io::ErrorKind::UnexpectedEof.into()));
        }
        Ok(())
    }
}

/// Run a workload with the real stdin/stdout: what `lab workload NAME [ARGS]` does.
pub fn run_standalone(workload: &Workload, args: &[String]) -> Result<(), Error> {
    fault_in_own_code();
    let mut prompter = Prompter::new();
    prompter
        .announce_pid()
        .map_err(|e| Error::io("writing the pid", e))?;
    (workload.run)(&mut prompter, args)
}

/// Map every page of this executable's read-only segments (its code, r-x, and
/// its read-only data, r--) into the page tables now, before the first prompt,
/// so that no step of a port moves the program's own rows.
///
/// Why: a page fault on a file mapping maps not only the faulting page but,
/// when they are in the page cache, its neighbours too ("fault-around":
/// `fault_around_bytes` in debugfs, 64 KiB by default). A step that runs code
/// or reads constants the program has not used yet (a prompt's format string,
/// say) then shows a `lab` row gaining 64 KiB of RSS (and half that in PSS:
/// the observer is the same binary and maps the same page-cache pages), noise
/// beside the step's own page or two. With every page mapped at the start,
/// step 0 holds the whole text and read-only data (a few MiB of RSS, page
/// cache the kernel shares with every process running this binary), and
/// later steps show only what the step itself did.
///
/// How: the segments come from the program headers of the main program (the
/// first object `dl_iterate_phdr` reports), so no file name is parsed.
/// `MADV_POPULATE_READ` (Linux 5.14+) faults them in as reads; where it is
/// refused (older kernels: EINVAL), one byte of every page is read instead.
/// Best effort: nothing here can fail a port.
pub fn fault_in_own_code() {
    let page = page_size();
    for (first, end) in own_read_only_segments() {
        // SAFETY: [first, end) is a mapped, readable segment of this program.
        let populated = unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                end - first,
                libc::MADV_POPULATE_READ,
            )
        } == 0;
        if !populated {
            read_every_page(first, end, page);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// The fallback of [`fault_in_own_code`]: a read of one byte per page.
fn read_every_page(first: usize, end: usize, page: usize) {
    for addr in (first..end).step_by(page) {
        // SAFETY: the caller's range is mapped and readable; a volatile read
        // is not optimised away.
        unsafe { std::ptr::read_volatile(addr as *const u8) };
    }
}

/// The page-aligned `[start, end)` of each loadable segment of the main
/// program that is not writable: its code and read-only data.
fn own_read_only_segments() -> Vec<(usize, usize)> {
    unsafe extern "C" fn first_object(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        out: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `out` is the `Vec` passed below; `info` and its program
        // headers are valid for the duration of the callback.
        let (out, info) = unsafe { (&mut *out.cast::<Vec<(usize, usize)>>(), &*info) };
        for k in 0..usize::from(info.dlpi_phnum) {
            let ph = unsafe { &*info.dlpi_phdr.add(k) };
            if ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_W == 0 {
                let start = info.dlpi_addr as usize + ph.p_vaddr as usize;
                out.push((start, start + ph.p_memsz as usize));
            }
        }
        1 // the main program is the first object: stop there
    }
    let mut segments: Vec<(usize, usize)> = Vec::new();
    // SAFETY: the callback only reads what dl_iterate_phdr hands it.
    unsafe { libc::dl_iterate_phdr(Some(first_object), (&raw mut segments).cast()) };
    let page = page_size();
    segments
        .into_iter()
        .map(|(start, end)| (start & !(page - 1), end.div_ceil(page) * page))
        .collect()
}

/// Allocate exactly `len` bytes with the system allocator (glibc `malloc`), as
/// the C demo's `malloc(len)` does; report refusal instead of aborting.
pub fn malloc_bytes(len: usize, what: &'static str) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory { what })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// Pages of [first, end) whose page-table entry is present (pagemap bit 63).
    fn present_pages(first: usize, end: usize) -> usize {
        let page = page_size();
        let pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut buf = vec![0u8; (end - first) / page * 8];
        pagemap
            .read_exact_at(&mut buf, (first / page * 8) as u64)
            .unwrap();
        buf.chunks_exact(8)
            .filter(|e| u64::from_ne_bytes((*e).try_into().unwrap()) >> 63 == 1)
            .count()
    }

    /// Drop the page-table entries of the segments (their pages stay in the
    /// page cache; the next access maps them again). Read-only segments only:
    /// they hold no private copies that this would lose.
    fn unmap_from_page_tables(segments: &[(usize, usize)]) {
        for &(first, end) in segments {
            let r = unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_DONTNEED)
            };
            assert_eq!(r, 0, "madvise(MADV_DONTNEED)");
        }
    }

    fn all_present(segments: &[(usize, usize)]) -> bool {
        segments
            .iter()
            .all(|&(first, end)| present_pages(first, end) == (end - first) / page_size())
    }

    #[test]
    fn own_code_and_rodata_are_mapped_whole() {
        let segments = own_read_only_segments();
        // The code (r-x) and at least one read-only segment (r--).
        assert!(segments.len() >= 2, "{segments:x?}");
        let page = page_size();
        let pages: usize = segments.iter().map(|&(s, e)| (e - s) / page).sum();
        assert!(
            pages > 64,
            "a test binary has more than 64 pages of code: {pages}"
        );

        unmap_from_page_tables(&segments);
        assert!(
            !all_present(&segments),
            "MADV_DONTNEED left every page mapped"
        );
        fault_in_own_code();
        assert!(
            all_present(&segments),
            "fault_in_own_code left pages unmapped"
        );

        // The fallback alone, as on kernels without MADV_POPULATE_READ.
        unmap_from_page_tables(&segments);
        assert!(!all_present(&segments));
        for &(first, end) in &segments {
            read_every_page(first, end, page);
        }
        assert!(
            all_present(&segments),
            "reading every page left pages unmapped"
        );
    }
}
