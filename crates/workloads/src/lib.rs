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
    let mut prompter = Prompter::new();
    prompter
        .announce_pid()
        .map_err(|e| Error::io("writing the pid", e))?;
    (workload.run)(&mut prompter, args)
}

/// Allocate exactly `len` bytes with the system allocator (glibc `malloc`), as
/// the C demo's `malloc(len)` does; report refusal instead of aborting.
pub fn malloc_bytes(len: usize, what: &'static str) -> Result<Vec<u8>, Error> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| Error::OutOfMemory { what })?;
    Ok(v)
}
