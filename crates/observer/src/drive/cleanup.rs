//! Last-resort cleanup: the demos alive right now, for signal handlers.
//!
//! Normal paths kill a demo when its [`crate::drive::demo::Demo`] is dropped (errors,
//! panics). Signals (Ctrl-C, SIGTERM, SIGHUP) do not unwind, so the handlers
//! installed by [`install_signal_handlers`] kill every registered demo's process
//! group, remove every registered file (the 100 MiB file of `lab filemap`),
//! then let the signal take its default course. SIGKILL cannot be caught:
//! `PR_SET_PDEATHSIG` in the demo covers it.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};

/// Slots for live pids (0 = free): a positive one is a helper program's
/// process group (the compiler), killed with SIGKILL; a negative one is a
/// demo's keeper, asked with SIGTERM to end the demo and its descendants.
/// Atomics, because a signal handler reads them.
static LIVE: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];

fn register(pid: i32) {
    for slot in &LIVE {
        if slot
            .compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
    // More than 8 demos at once never happens; PDEATHSIG and Drop still apply.
}

/// The signals our handlers catch.
const CAUGHT: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

fn caught_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set we own.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        for sig in CAUGHT {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Spawn `command` and register it, with our signals held off in between: a
/// Ctrl-C that arrives while the child starts is handled once it is
/// registered, so the handler kills it too. The child starts with them unblocked.
pub(crate) fn spawn_registered(command: &mut Command) -> io::Result<Child> {
    spawn_and_register(command, false)
}

/// [`spawn_registered`] for a demo's keeper ([`crate::drive::confine`]).
pub(crate) fn spawn_kept(command: &mut Command) -> io::Result<Child> {
    spawn_and_register(command, true)
}

fn spawn_and_register(command: &mut Command, keeper: bool) -> io::Result<Child> {
    let set = caught_set();
    // SAFETY: pthread_sigmask on our own thread; the pre_exec closure only
    // calls it too, which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            // lab ignores SIGXFSZ (to say "file too large"); a demo runs
            // with the default, as from a shell.
            libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
            Ok(())
        });
        let mut old = std::mem::zeroed::<libc::sigset_t>();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let child = command.spawn();
        if let Ok(c) = &child {
            let pid = c.id() as i32;
            register(if keeper { -pid } else { pid });
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        child
    }
}

pub(crate) fn unregister(pid: i32) {
    for slot in &LIVE {
        let _ = slot.compare_exchange(pid, 0, Ordering::SeqCst, Ordering::SeqCst);
        let _ = slot.compare_exchange(-pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// End every live demo (its keeper ends its descendants) and helper.
/// Async-signal-safe.
pub fn kill_all() {
    for slot in &LIVE {
        let pid = slot.load(Ordering::SeqCst);
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            if pid > 0 {
                // A helper's group id is its pid.
                libc::kill(-pid, libc::SIGKILL);
            } else if pid < 0 {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
    }
}

/// Slots for files to remove on a signal (null = free): C strings, so that
/// the handler needs no allocation.
static FILES: [AtomicPtr<libc::c_char>; 4] = [const { AtomicPtr::new(std::ptr::null_mut()) }; 4];

/// Remove `path` if a signal ends us (see [`unregister_file`]). Its C string
/// is leaked (a few bytes per run): a handler may be reading it at any time.
pub(crate) fn register_file(path: &Path) {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let raw = c.into_raw();
    for slot in &FILES {
        if slot
            .compare_exchange(
                std::ptr::null_mut(),
                raw,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
        {
            return;
        }
    }
}

/// The run removed `path` itself.
pub(crate) fn unregister_file(path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    for slot in &FILES {
        let p = slot.load(Ordering::SeqCst);
        // SAFETY: a non-null slot holds a leaked CString, never freed.
        if !p.is_null() && unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes() == bytes {
            let _ =
                slot.compare_exchange(p, std::ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst);
        }
    }
}

/// Remove the registered files. Async-signal-safe, and allocates nothing.
pub fn remove_files() {
    for slot in &FILES {
        let p = slot.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: unlink(2) is async-signal-safe; p is a valid C string.
            unsafe { libc::unlink(p) };
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    kill_all();
    // After the kill: the demo writes no more into them.
    remove_files();
    // SAFETY: signal(2) and raise(3) are async-signal-safe; re-raising with the
    // default action makes our exit status say which signal ended us.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Kill the demos on SIGINT, SIGTERM, SIGHUP and SIGQUIT, then die of the signal.
pub fn install_signal_handlers() {
    for sig in CAUGHT {
        // SAFETY: the handler only calls async-signal-safe functions.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}
