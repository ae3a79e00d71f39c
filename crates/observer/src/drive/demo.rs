//! Run a demo program on a pseudo-terminal and step it from prompt to prompt.
//!
//! Why a pty: a C or Python demo writing to a pipe block-buffers its prompts,
//! so a driver waiting for them would deadlock; on a terminal stdout is
//! line-buffered, exactly as when a student runs it.
//!
//! When is the demo "at a prompt"? Not when some text arrived (prompts may lack
//! a newline or be worded any way), but when the kernel says so: its main thread
//! sleeps (`S` in /proc/PID/stat) inside `read(0, …)` (/proc/PID/syscall), and
//! it has finished the read that consumed our previous answer (the read-syscall
//! counter `syscr` in /proc/PID/io moved past its value when we answered). Then
//! the process is blocked and its memory map is a consistent state.
//!
//! No demo outlives us, nor anything it starts: it runs confined
//! ([`crate::drive::confine`]) under a keeper process that ends every
//! descendant when the demo exits, when we end the run (on drop, or from the
//! signal handlers of [`crate::drive::cleanup`]) or when our thread dies.

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::time::TimeSpec;
use nix::unistd::Pid;
use pmap_view::stat::ProcStat;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::pty::openpty;
use nix::sys::termios::{self, LocalFlags, OutputFlags, SetArg};

use crate::drive::cleanup;
use crate::drive::confine::Confinement;

/// The output kept between two prompts: its end (a prompt, the last words
/// before a crash) is what anyone reads.
pub const KEPT_OUTPUT: usize = 64 * 1024;
/// The most output one drain moves before the caller looks at the clock again.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// A demo running on a pty.
pub struct Demo {
    /// The keeper: the demo's parent, which exits as the demo did once every
    /// descendant is gone.
    child: Child,
    /// The demo itself.
    pid: i32,
    /// What confines it (its memory cgroup lives as long as the demo).
    confinement: Confinement,
    /// Where no cgroup limits its memory but its lab does.
    watchdog: Option<crate::drive::confine::Watchdog>,
    master: std::fs::File,
    /// Output not yet handed out by [`Demo::wait_for_prompt`].
    pending: Vec<u8>,
    /// Bytes of output dropped from the front of `pending` (see [`KEPT_OUTPUT`]).
    dropped: u64,
    /// `syscr` when we last answered: the next prompt is a later read.
    answered_at_reads: Option<u64>,
    exited: Option<ExitStatus>,
}

/// How a wait for the next prompt ended, when it did not end at a prompt.
#[derive(Debug)]
pub enum WaitError {
    /// The demo exited (or was killed by a signal) instead of prompting.
    Exited {
        status: ExitStatus,
        output: String,
    },
    /// The demo neither prompted nor exited in time.
    Timeout {
        waited: Duration,
        output: String,
    },
    Io(io::Error),
}

impl From<io::Error> for WaitError {
    fn from(e: io::Error) -> Self {
        WaitError::Io(e)
    }
}

impl Demo {
    /// Start `command` with stdin, stdout and stderr on a new pty (no echo, no
    /// `\n`→`\r\n` translation), in a new session whose controlling terminal
    /// it is, kept, with lab's minimal confinement (tests of the driver).
    pub fn spawn(command: Command) -> io::Result<Demo> {
        Demo::spawn_confined(command, Confinement::minimal())
    }

    /// [`Demo::spawn`], confined as `confinement` says.
    pub fn spawn_confined(mut command: Command, confinement: Confinement) -> io::Result<Demo> {
        let pty = openpty(None, None).map_err(|e| {
            let e = io::Error::from(e);
            // A minimal chroot or container without devpts has no
            // pseudo-terminals: say what is missing, not just ENODEV.
            match e.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENOENT) => io::Error::new(
                    e.kind(),
                    format!(
                        "no pseudo-terminal for the demo ({e}): /dev/pts is not mounted here \
                         (mount -t devpts devpts /dev/pts)"
                    ),
                ),
                _ => e,
            }
        })?;
        let mut mode = termios::tcgetattr(pty.slave.as_fd()).map_err(io::Error::from)?;
        mode.local_flags
            .remove(LocalFlags::ECHO | LocalFlags::ECHONL);
        mode.output_flags.remove(OutputFlags::OPOST);
        termios::tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &mode).map_err(io::Error::from)?;
        set_cloexec(&pty.master)?;
        set_cloexec(&pty.slave)?;

        command
            .stdin(Stdio::from(pty.slave.try_clone()?))
            .stdout(Stdio::from(pty.slave.try_clone()?))
            .stderr(Stdio::from(pty.slave));
        // The keeper forks here; what follows runs in the demo.
        let report = confinement.apply(&mut command)?;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cleanup::spawn_kept(&mut command).map_err(spawn_error)?;
        // `command` still holds the slave copies and the report pipe's write
        // end; drop them so that the master reads EOF (EIO) once the demo and
        // its children are gone, and the pipe once the keeper has written.
        drop(command);
        let mut pid_bytes = [0u8; 4];
        let mut report = std::fs::File::from(report);
        let pid = match report.read_exact(&mut pid_bytes) {
            Ok(()) => i32::from_ne_bytes(pid_bytes),
            Err(e) => {
                let mut keeper = child;
                let _ = keeper.kill();
                let _ = keeper.wait();
                return Err(io::Error::new(
                    e.kind(),
                    format!("the demo's keeper did not report the demo: {e}"),
                ));
            }
        };
        let master = std::fs::File::from(pty.master);
        set_nonblocking(&master)?;
        let watchdog = confinement
            .watched_limit()
            .map(|kib| crate::drive::confine::Watchdog::start(pid, child.id() as i32, kib));
        Ok(Demo {
            child,
            pid,
            confinement,
            watchdog,
            master,
            pending: Vec::new(),
            dropped: 0,
            answered_at_reads: None,
            exited: None,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// What confines the demo.
    pub fn confinement(&self) -> &Confinement {
        &self.confinement
    }

    /// The memory limit the demo went over and what enforced it, if it did
    /// (a cgroup's OOM killer, or lab's watch of its RSS).
    pub fn memory_exceeded(&self) -> Option<(u64, &'static str)> {
        if let Some(c) = self.confinement.cgroup().filter(|c| c.oom_killed()) {
            return Some((
                c.limit_kib(),
                "the limit of the memory cgroup lab ran it in",
            ));
        }
        self.watchdog
            .as_ref()
            .and_then(|w| w.exceeded())
            .map(|kib| (kib, "lab ended it when its own memory went over"))
    }

    /// Wait until the demo blocks reading stdin after its next prompt; return the
    /// text it printed since the last call.
    pub fn wait_for_prompt(&mut self, timeout: Duration) -> Result<String, WaitError> {
        let start = Instant::now();
        // Polling starts fine-grained (a prompt usually follows within
        // microseconds of an action) and backs off to 2 ms for long actions;
        // output on the pty wakes us at once.
        let mut pause = Duration::from_micros(20);
        loop {
            self.drain()?;
            if let Some(status) = self.try_wait()? {
                self.drain_to_end()?;
                return Err(WaitError::Exited {
                    status,
                    output: self.take_output(),
                });
            }
            if self.blocked_reading_stdin()? {
                self.drain()?;
                return Ok(self.take_output());
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(WaitError::Timeout {
                    waited,
                    output: self.take_output(),
                });
            }
            let woke_by_output = self.poll_output(pause.min(timeout - waited))?;
            pause = if woke_by_output {
                Duration::from_micros(20)
            } else {
                (pause * 2).min(Duration::from_millis(2))
            };
        }
    }

    /// Answer the prompt with Enter.
    pub fn answer(&mut self) -> io::Result<()> {
        self.answer_with("")
    }

    /// Answer the prompt with a line of text (Enter is added).
    pub fn answer_with(&mut self, text: &str) -> io::Result<()> {
        self.answered_at_reads = read_syscalls(self.pid())?;
        self.master.write_all(format!("{text}\n").as_bytes())
    }

    /// Type `bytes` as they are (no Enter added): keys for a program that
    /// reads its terminal a key at a time.
    pub fn send_keys(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.answered_at_reads = read_syscalls(self.pid())?;
        self.master.write_all(bytes)
    }

    /// Send a signal to the demo itself (not its group).
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        let sig = Signal::try_from(sig).map_err(io::Error::from)?;
        kill(Pid::from_raw(self.pid()), sig).map_err(io::Error::from)
    }

    /// After the last answer: wait for the demo to exit, returning its status
    /// and its final output.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Result<(ExitStatus, String), WaitError> {
        let start = Instant::now();
        loop {
            self.drain()?;
            if let Some(status) = self.try_wait()? {
                self.drain_to_end()?;
                return Ok((status, self.take_output()));
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(WaitError::Timeout {
                    waited,
                    output: self.take_output(),
                });
            }
            self.poll_output((timeout - waited).min(Duration::from_millis(2)))?;
        }
    }

    /// Whatever the demo printed within `wait` (it may be nothing), without
    /// waiting for a prompt.
    pub fn read_available(&mut self, wait: Duration) -> io::Result<String> {
        self.poll_output(wait)?;
        self.drain()?;
        Ok(self.take_output())
    }

    /// The demo's exit status if it has exited (its output stays readable).
    pub fn exit_status(&mut self) -> io::Result<Option<ExitStatus>> {
        self.try_wait()
    }

    /// End the demo and everything it started, and reap its keeper.
    pub fn kill(&mut self) {
        let keeper = self.child.id() as i32;
        // The watch ends first: it must not signal a keeper reaped below.
        if let Some(w) = &mut self.watchdog {
            w.halt();
        }
        if self.exited.is_none() {
            // The keeper kills the demo, then every descendant, then exits.
            let _ = kill(Pid::from_raw(keeper), Signal::SIGTERM);
            let start = Instant::now();
            while self.exited.is_none() && start.elapsed() < Duration::from_secs(5) {
                self.exited = self.child.try_wait().ok().flatten();
                if self.exited.is_none() {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            if self.exited.is_none() {
                // Never seen; but a run must end: the demo's group at least.
                let _ = killpg(Pid::from_raw(self.pid), Signal::SIGKILL);
                let _ = self.child.kill();
                self.exited = self.child.wait().ok();
            }
        }
        cleanup::unregister(keeper);
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            // The keeper exits once the demo has and every descendant is
            // gone, with the demo's status.
            self.exited = self.child.try_wait()?;
            if self.exited.is_some() {
                cleanup::unregister(self.child.id() as i32);
            }
        }
        Ok(self.exited)
    }

    /// Is the demo asleep in `read(0, …)`, past the read that took our answer?
    /// An error when the files that say so cannot be read (a strict ptrace
    /// policy, a sandbox): waiting would only time out and blame the demo.
    fn blocked_reading_stdin(&self) -> io::Result<bool> {
        let pid = self.pid();
        let Some(reads) = read_syscalls(pid)? else {
            return Ok(false);
        };
        if self.answered_at_reads.is_some_and(|at| reads <= at) {
            return Ok(false);
        }
        let syscall = proc_file(pid, "syscall", "which system call the demo waits in")?;
        let in_read_of_stdin =
            syscall.is_some_and(|s| s.starts_with(&format!("{} 0x0 ", libc::SYS_read)));
        let sleeping = ProcStat::read(pid).is_some_and(|s| s.state == 'S');
        // If the counter moved while we looked, the read we saw may be over.
        Ok(in_read_of_stdin && sleeping && read_syscalls(pid)? == Some(reads))
    }

    /// Move what the pty has into `pending`, without blocking: at most
    /// [`DRAIN_LIMIT`] bytes, so that a program printing without end (`yes`)
    /// still lets the caller look at the clock; only the last
    /// [`KEPT_OUTPUT`] bytes are kept, so that it cannot fill our memory.
    fn drain(&mut self) -> io::Result<()> {
        self.drain_up_to(DRAIN_LIMIT).map(drop)
    }

    /// The rest of the output of a demo that has exited (bounded all the
    /// same: a process that left its group may still hold the pty).
    fn drain_to_end(&mut self) -> io::Result<()> {
        for _ in 0..16 {
            if !self.drain_up_to(DRAIN_LIMIT)? {
                break;
            }
        }
        Ok(())
    }

    /// Read at most about `limit` bytes; true when it stopped at the limit.
    fn drain_up_to(&mut self, limit: usize) -> io::Result<bool> {
        let mut buf = [0u8; 4096];
        let mut taken = 0;
        while taken < limit {
            if self.pending.len() > 2 * KEPT_OUTPUT {
                let cut = self.pending.len() - KEPT_OUTPUT;
                self.pending.drain(..cut);
                self.dropped += cut as u64;
            }
            match self.master.read(&mut buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    taken += n;
                    self.pending.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // EIO: every slave fd is closed, the demo is gone.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Sleep until output arrives or `timeout` passes; true if output woke us.
    fn poll_output(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None) {
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
            // POLLHUP alone (no data, slave closed) must not spin as "output".
            Ok(n) => Ok(n > 0
                && fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLIN))),
        }
    }

    fn take_output(&mut self) -> String {
        if self.pending.len() > KEPT_OUTPUT {
            let cut = self.pending.len() - KEPT_OUTPUT;
            self.pending.drain(..cut);
            self.dropped += cut as u64;
        }
        let mut text = String::from_utf8_lossy(&self.pending).replace("\r\n", "\n");
        if self.dropped > 0 {
            text.insert_str(
                0,
                &format!("[… {} earlier bytes of output not kept]\n", self.dropped),
            );
            self.dropped = 0;
        }
        self.pending.clear();
        text
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Words for an exit status, to follow "the demo": "exited with status 1",
/// "was killed by SIGSEGV (segmentation fault)".
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with status {code}");
    }
    let sig = status.signal().unwrap_or(0);
    let name = nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str())
        .unwrap_or("an unknown signal");
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let words = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) }
        .to_string_lossy()
        .to_lowercase();
    let core = if status.core_dumped() {
        ", core dumped"
    } else {
        ""
    };
    if words == "killed" && core.is_empty() {
        return format!("was killed by {name}");
    }
    format!("was killed by {name} ({words}{core})")
}

/// A failure to start a process, in words that point to the cause when the
/// system's own ("Resource temporarily unavailable") do not.
pub(crate) fn spawn_error(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EAGAIN) => io::Error::new(
            e.kind(),
            format!("no more processes allowed (ulimit -u, or a cgroup's pids limit): {e}"),
        ),
        Some(libc::EMFILE | libc::ENFILE) => io::Error::new(
            e.kind(),
            format!("no more files can be opened (ulimit -n): {e}"),
        ),
        _ => e,
    }
}

/// The read-syscall counter of a process, from /proc/PID/io (None once it
/// has gone).
fn read_syscalls(pid: i32) -> io::Result<Option<u64>> {
    let io = proc_file(pid, "io", "how many reads the demo has made")?;
    Ok(io.and_then(|io| {
        io.lines()
            .find_map(|l| l.strip_prefix("syscr:"))
            .and_then(|v| v.trim().parse().ok())
    }))
}

/// A file of /proc/PID: None once the process has gone; an error naming the
/// file (and what lab needs it for) when it exists but cannot be read.
fn proc_file(pid: i32, file: &str, tells: &str) -> io::Result<Option<String>> {
    let path = format!("/proc/{pid}/{file}");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
            Ok(None)
        }
        // A process on its way out (its memory gone) has its /proc files
        // owned by root: to a user without privileges it has gone, too.
        Err(e)
            if e.kind() == io::ErrorKind::PermissionDenied
                && ProcStat::read(pid).is_none_or(|s| s.exiting()) =>
        {
            Ok(None)
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "cannot read {path}, which tells lab {tells} (a ptrace policy or a sandbox may forbid it): {e}"
            ),
        )),
    }
}

/// The state letter of /proc/PID/stat (after the parenthesised command name,
/// which may itself hold spaces and parentheses).
pub fn stat_state(stat: &str) -> Option<char> {
    ProcStat::parse(stat.as_bytes()).map(|s| s.state)
}

fn set_cloexec(fd: &OwnedFd) -> io::Result<()> {
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
    Ok(())
}

fn set_nonblocking(file: &std::fs::File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_state_survives_odd_command_names() {
        assert_eq!(stat_state("12 (a) b) S 1 2"), Some('S'));
        assert_eq!(stat_state("12 (sleep) R 1"), Some('R'));
        assert_eq!(stat_state("garbage"), None);
    }

    /// A shell that prompts without a newline and never flushes is still seen
    /// at each prompt, and every answer moves it exactly one step.
    #[test]
    fn steps_a_program_prompt_by_prompt() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "printf 'one> '; read a; printf 'two> '; read b; echo done",
        ]);
        let mut demo = Demo::spawn(cmd).unwrap();
        let t = Duration::from_secs(10);
        assert_eq!(demo.wait_for_prompt(t).unwrap(), "one> ");
        demo.answer().unwrap();
        assert_eq!(demo.wait_for_prompt(t).unwrap(), "two> ");
        demo.answer().unwrap();
        let (status, out) = demo.wait_for_exit(t).unwrap();
        assert!(status.success());
        assert_eq!(out, "done\n");
    }

    #[test]
    fn a_demo_that_exits_instead_of_prompting_is_reported() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo bye; kill -SEGV $$"]);
        let mut demo = Demo::spawn(cmd).unwrap();
        match demo.wait_for_prompt(Duration::from_secs(10)) {
            Err(WaitError::Exited { status, output }) => {
                assert_eq!(output, "bye\n");
                assert!(
                    describe_status(status).starts_with("was killed by SIGSEGV"),
                    "{}",
                    describe_status(status)
                );
            }
            other => panic!("expected an exit, got {other:?}"),
        }
    }

    #[test]
    fn a_demo_that_hangs_times_out_and_is_killed_on_drop() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let mut demo = Demo::spawn(cmd).unwrap();
        let pid = demo.pid();
        assert!(matches!(
            demo.wait_for_prompt(Duration::from_millis(200)),
            Err(WaitError::Timeout { .. })
        ));
        drop(demo);
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "demo {pid} survived"
        );
    }

    /// The pty hangup kills an ordinary demo when its driver dies; one that
    /// ignores SIGHUP is still killed, by the parent-death signal. The test
    /// re-runs itself as the driver and SIGKILLs it.
    #[test]
    fn parent_death_kills_a_demo_that_ignores_hangup() {
        const ROLE: &str = "PMAP_LAB_TEST_DRIVER";
        // libtest's name of this test: its module path without the crate.
        let module = module_path!().split_once("::").map_or("", |(_, m)| m);
        let name = format!("{module}::parent_death_kills_a_demo_that_ignores_hangup");
        if std::env::var_os(ROLE).is_some() {
            let mut cmd = Command::new("sh");
            // After the hangup its read fails; it must live on to be a test.
            cmd.args(["-c", "trap '' HUP; read x; exec sleep 60"]);
            let mut demo = Demo::spawn(cmd).unwrap();
            demo.wait_for_prompt(Duration::from_secs(10)).unwrap();
            println!("demo pid {}", demo.pid());
            io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        let mut driver = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &name, "--nocapture", "--test-threads=1"])
            .env(ROLE, "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = io::BufRead::lines(io::BufReader::new(driver.stdout.take().unwrap()));
        let pid: i32 = lines
            // libtest prints our line after its own "test NAME ... " on the same line.
            .find_map(|l| l.ok()?.split("demo pid ").nth(1)?.trim().parse().ok())
            .expect("the driver reports its demo");
        driver.kill().unwrap();
        driver.wait().unwrap();
        let start = Instant::now();
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| stat_state(&s) != Some('Z'))
        };
        while alive() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!alive(), "demo {pid} survived its driver's SIGKILL");
    }
}
