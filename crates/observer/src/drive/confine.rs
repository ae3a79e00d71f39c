//! Confinement of every program lab runs: its own demos, a lab folder's
//! demos, a student's graded file, an observed program. Any of them may be
//! hostile, and lab may run as root in CI; whatever the program does, it must
//! not outlive the run, reach lab, or change what a later run executes.
//!
//! Layers, each used where the machine allows it (a run says which ran):
//! - **A keeper.** The program is not lab's child but the child of a small
//!   keeper process forked from lab, a *child subreaper*
//!   (`PR_SET_CHILD_SUBREAPER`, prctl(2)): every descendant that leaves its
//!   session or process group (`setsid()`, a double fork) is re-parented to
//!   the keeper, never to init. When the program exits, or lab ends the run,
//!   or lab dies (the keeper's parent-death signal), the keeper kills every
//!   descendant it has, round after round until none is left, and only then
//!   exits, with the program's own status.
//! - **Landlock** (Linux 5.13+, no privilege needed): the program may write
//!   only beneath its run folder, /tmp, /var/tmp, /dev/shm and a few device
//!   files; it cannot ptrace a process outside its domain (lab, the keeper)
//!   and, from ABI 6 (Linux 6.12), cannot signal one either. So it can
//!   neither forge lab's output nor overwrite the cache's binaries.
//! - **lab is not dumpable** (`PR_SET_DUMPABLE` 0): a process of the same user
//!   without `CAP_SYS_PTRACE` can neither ptrace lab nor open its
//!   /proc/PID/mem or /proc/PID/fd, also where Landlock is missing.
//! - **No capabilities**: run as root, the program's bounding and ambient
//!   sets are emptied before its exec, so it runs as uid 0 without
//!   `CAP_SYS_PTRACE`, `CAP_KILL` or `CAP_DAC_OVERRIDE`.
//! - **A memory limit** for others' code (a lab folder's demo, a student's
//!   program): the memory its lab declares. A memory cgroup (root, cgroup v2
//!   or v1) where one can be made: the kernel's OOM killer ends the program
//!   there. Elsewhere a watchdog thread of lab reads the program's own
//!   memory every 10 ms (`RssAnon` + `RssShmem`: what a cgroup would charge
//!   it for; its file pages, the C library's and its program's, were mostly
//!   read before by others and are charged to them) and ends it above the
//!   limit: a program faulting memory in faster than that overshoots by what
//!   it touches in 10 ms, and its children are not counted.
//!
//! Everything done in the child between fork and exec is a raw system call
//! on memory prepared beforehand: lab has threads, and only async-signal-safe
//! calls are allowed there.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, Scope, ABI,
};

/// How the next program runs: built in lab before the spawn.
pub struct Confinement {
    /// A Landlock ruleset to enforce on the program (None: no Landlock here).
    landlock: Option<OwnedFd>,
    landlock_abi: i32,
    /// Running as root: empty the program's capability sets.
    drop_capabilities: bool,
    /// A memory cgroup the program joins.
    cgroup: Option<crate::drive::cgroup::MemoryCgroup>,
    /// The memory limit, in KiB: the cgroup's, or the watchdog's without one.
    memory_kib: Option<u64>,
}

/// Signals the keeper waits for: the end of a child, and lab's (or a
/// terminal's) request to end the run.
const KEEPER_SIGNALS: [libc::c_int; 5] = [
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
];

impl Confinement {
    /// Confinement for a program whose run folder is `run_dir` (the only
    /// folder of lab's where it may write), limited to `memory_kib` when a
    /// memory cgroup can be made.
    pub fn for_run(run_dir: Option<&Path>, memory_kib: Option<u64>) -> Confinement {
        harden_lab();
        let (landlock, landlock_abi) = match landlock_ruleset(run_dir) {
            Some((fd, abi)) => (Some(fd), abi),
            None => (None, 0),
        };
        Confinement {
            landlock,
            landlock_abi,
            drop_capabilities: nix::unistd::geteuid().is_root(),
            cgroup: memory_kib.and_then(crate::drive::cgroup::MemoryCgroup::create),
            memory_kib,
        }
    }

    /// Only the keeper and lab's own hardening (tests of the pty driver).
    pub fn minimal() -> Confinement {
        harden_lab();
        Confinement {
            landlock: None,
            landlock_abi: 0,
            drop_capabilities: nix::unistd::geteuid().is_root(),
            cgroup: None,
            memory_kib: None,
        }
    }

    /// What confines the program, in words for the header of a run and its
    /// JSON ("a keeper that ends all it starts; Landlock 7 (writes only in
    /// its folder and /tmp; no ptrace or signal out); no capabilities").
    pub fn describe(&self) -> String {
        let mut parts = vec!["a keeper that ends all it starts".to_string()];
        if self.landlock.is_some() {
            let signals = if self.landlock_abi >= 6 {
                "no ptrace or signal out"
            } else {
                "no ptrace out; signals need ABI 6, Linux 6.12"
            };
            parts.push(format!(
                "Landlock {} (writes only in its folder and /tmp; {signals})",
                self.landlock_abi
            ));
        } else {
            parts.push("no Landlock in this kernel (it may write where you can)".into());
        }
        if self.drop_capabilities {
            parts.push("no capabilities".into());
        }
        match (&self.cgroup, self.memory_kib) {
            (Some(c), _) => parts.push(c.describe()),
            (None, Some(kib)) => parts.push(format!(
                "ended above {} of its own memory (read every 10 ms; no memory cgroup here)",
                pmap_view::render::size(kib)
            )),
            (None, None) => {}
        }
        parts.join("; ")
    }

    /// The memory cgroup the program runs in, if any.
    pub fn cgroup(&self) -> Option<&crate::drive::cgroup::MemoryCgroup> {
        self.cgroup.as_ref()
    }

    /// The limit a watchdog must hold the program to (no cgroup does), KiB.
    pub(crate) fn watched_limit(&self) -> Option<u64> {
        self.memory_kib.filter(|_| self.cgroup.is_none())
    }

    /// Arrange for `command` to run kept and confined: call before any
    /// other `pre_exec` that must run in the program itself (the keeper
    /// forks in this one; the ones registered after it run in the program).
    /// Returns the pipe on which the keeper reports the program's pid.
    pub(crate) fn apply(&self, command: &mut std::process::Command) -> io::Result<OwnedFd> {
        use std::os::unix::process::CommandExt;
        let (report_read, report_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let report_fd = report_write.as_raw_fd();
        let landlock_fd = self.landlock.as_ref().map(|f| f.as_raw_fd());
        let drop_caps = self.drop_capabilities;
        let cgroup_fd = self.cgroup.as_ref().map(|c| c.procs_fd());
        let parent = std::process::id() as libc::pid_t;
        // The pipe's write end must live until the spawn: the closure holds it.
        let report_write = std::sync::Arc::new(report_write);
        // SAFETY: the closure runs in the forked child and makes only
        // async-signal-safe system calls on values prepared here.
        unsafe {
            command.pre_exec(move || {
                let _keep = &report_write;
                keep_and_fork(parent, report_fd)?;
                // From here on: the program itself, the keeper's child.
                if let Some(fd) = cgroup_fd {
                    // "0" moves the writer itself.
                    if libc::write(fd, b"0".as_ptr().cast(), 1) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if drop_caps {
                    drop_all_capabilities();
                }
                if let Some(fd) = landlock_fd {
                    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
                        || libc::syscall(libc::SYS_landlock_restrict_self, fd, 0) < 0
                    {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        Ok(report_read)
    }
}

/// lab itself: not dumpable, so that a process of the same user (without
/// `CAP_SYS_PTRACE`) can neither ptrace it nor read or write its memory or
/// descriptors through /proc. Once per process.
fn harden_lab() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: prctl on ourselves.
    ONCE.call_once(|| unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    });
}

/// In the forked child: become the keeper, fork the program, and return in
/// the program; the keeper never returns. Async-signal-safe.
unsafe fn keep_and_fork(lab: libc::pid_t, report_fd: libc::c_int) -> io::Result<()> {
    let fail = || Err(io::Error::last_os_error());
    if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0
        || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) < 0
    {
        return fail();
    }
    if libc::getppid() != lab {
        // (No allocation here: an errno, not a message.)
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    // Out of lab's process group: a Ctrl-C on lab's terminal is lab's to
    // handle (it tells the keeper), not a signal that kills the keeper.
    libc::setpgid(0, 0);
    let mut wait_set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut wait_set);
    for sig in KEEPER_SIGNALS {
        libc::sigaddset(&mut wait_set, sig);
    }
    let mut before: libc::sigset_t = std::mem::zeroed();
    libc::pthread_sigmask(libc::SIG_BLOCK, &wait_set, &mut before);
    let keeper = libc::getpid();
    let program = libc::fork();
    if program < 0 {
        return fail();
    }
    if program == 0 {
        libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0 {
            return fail();
        }
        if libc::getppid() != keeper {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        return Ok(());
    }
    // The keeper: tell lab the program's pid, hold nothing of lab's open (the
    // spawn's error pipe included, so that lab hears of the program's exec).
    let bytes = program.to_ne_bytes();
    libc::write(report_fd, bytes.as_ptr().cast(), bytes.len());
    if libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) < 0 {
        // Before Linux 5.9: one by one, as far as the limit of open files.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        for fd in 0..limit.rlim_cur.min(1 << 20) as libc::c_int {
            libc::close(fd);
        }
    }
    keeper_loop(program, &wait_set)
}

/// Wait for the program's end or a request to end it; then end every
/// descendant and exit as the program did.
unsafe fn keeper_loop(program: libc::pid_t, wait_set: &libc::sigset_t) -> ! {
    let mut status: Option<libc::c_int> = None;
    loop {
        let sig = libc::sigwaitinfo(wait_set, std::ptr::null_mut());
        if sig == libc::SIGCHLD {
            loop {
                let mut st = 0;
                let pid = libc::waitpid(-1, &mut st, libc::WNOHANG);
                if pid <= 0 {
                    break;
                }
                if pid == program {
                    status = Some(st);
                }
            }
            if status.is_some() {
                break;
            }
        } else if sig > 0 {
            libc::kill(program, libc::SIGKILL);
            break;
        }
    }
    end_descendants();
    if status.is_none() {
        let mut st = 0;
        if libc::waitpid(program, &mut st, 0) == program {
            status = Some(st);
        }
    }
    let st = status.unwrap_or(libc::SIGKILL);
    if libc::WIFEXITED(st) {
        libc::_exit(libc::WEXITSTATUS(st));
    }
    // Die of the program's signal, so that lab reads the same status; no
    // core file of the keeper (a copy of lab) on the way.
    let sig = if libc::WIFSIGNALED(st) {
        libc::WTERMSIG(st)
    } else {
        libc::SIGKILL
    };
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    libc::setrlimit(libc::RLIMIT_CORE, &no_core);
    libc::signal(sig, libc::SIG_DFL);
    let mut only: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut only);
    libc::sigaddset(&mut only, sig);
    libc::pthread_sigmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
    libc::kill(libc::getpid(), sig);
    libc::_exit(128 + sig)
}

/// Kill every child of the keeper, reap them, and again for the orphans
/// their deaths hand over, until no child is left. Async-signal-safe: the
/// children are read from /proc/self/task/TID/children into a stack buffer.
unsafe fn end_descendants() {
    // A process killed mid-fork either forked (its child is listed next
    // round) or did not; rounds end when none is left.
    for _ in 0..10_000 {
        let mut any = false;
        let mut buf = [0u8; 4096];
        let path = b"/proc/thread-self/children\0";
        let fd = libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            let mut number: libc::pid_t = 0;
            let mut digits = false;
            loop {
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                if n <= 0 {
                    break;
                }
                for &b in &buf[..n as usize] {
                    if b.is_ascii_digit() {
                        number = number * 10 + libc::pid_t::from(b - b'0');
                        digits = true;
                    } else if digits {
                        libc::kill(number, libc::SIGKILL);
                        any = true;
                        number = 0;
                        digits = false;
                    }
                }
            }
            if digits {
                libc::kill(number, libc::SIGKILL);
                any = true;
            }
            libc::close(fd);
        }
        // Reap whatever has died (children just killed become zombies).
        loop {
            let mut st = 0;
            let pid = libc::waitpid(-1, &mut st, libc::WNOHANG);
            if pid > 0 {
                any = true;
                continue;
            }
            if pid < 0 && *libc::__errno_location() == libc::ECHILD {
                return;
            }
            break;
        }
        if !any {
            // Children exist but were neither listed nor reapable yet.
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            libc::nanosleep(&pause, std::ptr::null_mut());
        }
    }
}

/// Empty the bounding and ambient capability sets: the exec that follows
/// gives a uid-0 program no capability. Async-signal-safe.
unsafe fn drop_all_capabilities() {
    libc::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL,
        0,
        0,
        0,
    );
    for cap in 0..64 {
        libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
    }
}

/// The kernel's Landlock ABI version (0: none, or disabled at boot).
pub fn landlock_abi() -> i32 {
    // SAFETY: the documented version query: no attribute, no size.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32, // LANDLOCK_CREATE_RULESET_VERSION
        )
    };
    if v < 0 {
        0
    } else {
        v as i32
    }
}

/// Can no confined program write beneath `dir`? True where the kernel has
/// Landlock and `dir` is outside every place they may write (a cache folder
/// under /tmp is not).
pub fn protects(dir: &Path) -> bool {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    landlock_abi() >= 1
        && !writable_places(None).iter().any(|p| {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            dir.starts_with(p)
        })
}

/// The folders a confined program may write beneath: its run folder and the
/// places every program expects to write (temporary files, shared memory,
/// its terminal, the null device).
fn writable_places(run_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut places: Vec<PathBuf> = run_dir.map(Path::to_path_buf).into_iter().collect();
    for p in [
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        "/dev/pts",
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/tty",
        "/dev/ptmx",
        "/dev/random",
        "/dev/urandom",
    ] {
        places.push(PathBuf::from(p));
    }
    places
}

/// A Landlock ruleset that forbids writing outside [`writable_places`] and,
/// where the kernel has scopes (ABI 6), signalling or connecting to abstract
/// sockets outside the program's domain. None without Landlock.
fn landlock_ruleset(run_dir: Option<&Path>) -> Option<(OwnedFd, i32)> {
    let version = landlock_abi();
    if version < 1 {
        return None;
    }
    let abi = ABI::from(version);
    // Device ioctls are left alone: the program's terminal was opened before
    // the ruleset applies, and a right Landlock handles must be granted.
    let write = AccessFs::from_write(abi) & !AccessFs::IoctlDev;
    let mut ruleset = Ruleset::default().handle_access(write).ok()?;
    if version >= 6 {
        ruleset = ruleset.scope(Scope::from_all(abi)).ok()?;
    }
    let mut created = ruleset.create().ok()?;
    for place in writable_places(run_dir) {
        let Ok(fd) = PathFd::new(&place) else {
            continue;
        };
        // A file gets the rights that apply to files only.
        let is_dir = std::fs::metadata(&place).is_ok_and(|m| m.is_dir());
        let access = if is_dir {
            write
        } else {
            write & AccessFs::from_file(abi)
        };
        created = created.add_rule(PathBeneath::new(fd, access)).ok()?;
    }
    let fd: Option<OwnedFd> = created.into();
    Some((fd?, version))
}

/// lab's watch over a program's memory where no cgroup limits it: a thread
/// that reads its RSS every 10 ms and ends it (through its keeper) above the
/// limit. Stopped when dropped.
pub(crate) struct Watchdog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    exceeded: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    limit_kib: u64,
}

impl Watchdog {
    pub(crate) fn start(program: i32, keeper: i32, limit_kib: u64) -> Watchdog {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let stop = Arc::new(AtomicBool::new(false));
        let exceeded = Arc::new(AtomicBool::new(false));
        let (s, e) = (stop.clone(), exceeded.clone());
        // A pidfd: a signal through it never reaches another process that
        // got the keeper's number after it was reaped.
        // SAFETY: pidfd_open(2) of our own child; the result is checked.
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, keeper, 0) };
        let pidfd = (pidfd >= 0).then(|| {
            // SAFETY: a new descriptor that nothing else owns.
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(pidfd as i32) }
        });
        let thread = std::thread::spawn(move || {
            let status = format!("/proc/{program}/status");
            while !s.load(Ordering::Relaxed) {
                let Ok(text) = std::fs::read_to_string(&status) else {
                    return;
                };
                let kib = |key: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(key))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                let rss_kib = kib("RssAnon:") + kib("RssShmem:");
                if rss_kib > limit_kib {
                    e.store(true, Ordering::SeqCst);
                    if let Some(fd) = &pidfd {
                        // SAFETY: pidfd_send_signal(2) on our own descriptor.
                        unsafe {
                            libc::syscall(
                                libc::SYS_pidfd_send_signal,
                                fd.as_raw_fd(),
                                libc::SIGTERM,
                                std::ptr::null::<libc::siginfo_t>(),
                                0,
                            )
                        };
                    }
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
        Watchdog {
            stop,
            exceeded,
            thread: Some(thread),
            limit_kib,
        }
    }

    /// The limit, if the program went over it.
    pub(crate) fn exceeded(&self) -> Option<u64> {
        self.exceeded
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(self.limit_kib)
    }

    /// Stop watching.
    pub(crate) fn halt(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.halt();
    }
}
