//! `/proc/PID/stat`, parsed in one place: the command name (raw bytes: procps
//! escapes them its own way, so they cannot go through a lossy string, which
//! is why this is not procfs's `Stat`), the state letter, the flags and where
//! the main thread's stack starts.
//!
//! The command name is between the first `(` and the *last* `)`: it may hold
//! spaces and parentheses itself (`12 (a) b) S …`).

/// The fields of /proc/PID/stat that pmap lab reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcStat {
    /// `comm`, as the kernel has it (up to 15 bytes, any bytes).
    pub comm: Vec<u8>,
    /// `R`, `S`, `D`, `Z`, `T`…
    pub state: char,
    /// The kernel's `PF_*` flags (field 9).
    pub flags: u64,
    /// `startstack` (field 28): an address in the main thread's stack.
    pub start_stack: u64,
    /// `starttime` (field 22): when the process started, in clock ticks
    /// since boot. A PID with another start time is another process.
    pub start_time: u64,
}

/// The kernel's flag of a kernel thread (`PF_KTHREAD`).
const PF_KTHREAD: u64 = 0x0020_0000;
/// The kernel's flag of a process on its way out (`PF_EXITING`).
const PF_EXITING: u64 = 0x0000_0004;

impl ProcStat {
    /// Is the process exiting or dead? Its memory may be gone already, and
    /// with it the ownership of its /proc files by its user (they turn
    /// root's: `task_dump_owner` in the kernel's fs/proc/base.c).
    pub fn exiting(&self) -> bool {
        matches!(self.state, 'Z' | 'X') || self.flags & PF_EXITING != 0
    }

    /// Parse the text of /proc/PID/stat; None when it is not in that format.
    pub fn parse(stat: &[u8]) -> Option<ProcStat> {
        let open = stat.iter().position(|&b| b == b'(')?;
        let close = stat.iter().rposition(|&b| b == b')')?;
        let comm = stat.get(open + 1..close)?.to_vec();
        let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
        // After the command: state is field 3, flags 9, startstack 28 (proc(5)).
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        let state = fields.first()?.chars().next()?;
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        Some(ProcStat {
            comm,
            state,
            flags: number(6).unwrap_or(0),
            start_stack: number(25).unwrap_or(0),
            start_time: number(19).unwrap_or(0),
        })
    }

    /// Read and parse /proc/PID/stat; None when it cannot be read (the
    /// process is gone, or hidden) or parsed.
    pub fn read(pid: i32) -> Option<ProcStat> {
        ProcStat::parse(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
    }

    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Why the process has no memory map, if it has none for good: it has
    /// exited and waits to be reaped (a zombie), or it is a kernel thread.
    pub fn no_map_reason(&self) -> Option<&'static str> {
        if self.is_zombie() {
            Some("has exited and not been reaped yet (a zombie): it has no memory map any more")
        } else if self.is_kernel_thread() {
            Some("is a kernel thread: it has no user-space memory map")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_command_names_and_fields() {
        let line =
            b"12 (a) b) S 1 2 3 4 5 2097152 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 140720 29";
        let s = ProcStat::parse(line).unwrap();
        assert_eq!(s.comm, b"a) b");
        assert_eq!(s.state, 'S');
        assert!(s.is_kernel_thread());
        assert_eq!(s.start_stack, 140720);
        assert_eq!(
            ProcStat::parse(b"12 (sleep) Z 1")
                .unwrap()
                .no_map_reason()
                .map(|r| r.contains("zombie")),
            Some(true)
        );
        assert_eq!(ProcStat::parse(b"garbage"), None);
        assert_eq!(ProcStat::parse(b"1 (x)"), None);
    }

    #[test]
    fn this_process() {
        let me = ProcStat::read(std::process::id() as i32).unwrap();
        assert!("RS".contains(me.state), "{me:?}");
        assert!(!me.is_kernel_thread() && !me.is_zombie());
        assert!(me.start_stack > 0);
    }
}
