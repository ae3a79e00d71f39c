//! The pause between two steps of a lab: one key, read as it is pressed.
//!
//! While `lab` waits at a pause, the terminal is switched to non-canonical
//! mode without echo and without signal keys, so that every key arrives at
//! once as a byte, Ctrl-C and Ctrl-D included: Ctrl-C then stops the run as
//! `q` does (with "stopped at step N of M" and the same exit status), instead
//! of killing `lab` while the student reads. The terminal's own settings are
//! put back before anything else runs, and by the signal handlers chained in
//! front of the observer's (a SIGTERM from elsewhere must not leave the shell
//! without echo). A Ctrl-C while a step runs is a signal as before: the demo
//! is killed, and `lab` says where it stopped, then dies of the signal.
//! Ctrl-Z at a pause still suspends `lab` (the terminal restored first).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What a key at the pause asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Enter: run the next step.
    Next,
    /// `b`: show the previous step's view again.
    Back,
    /// `g`: the glossary.
    Glossary,
    /// `e`: the step shown again, every region of a group on its own row.
    Expand,
    /// `p`: the picture of the whole address space at the step shown.
    Picture,
    /// `?` or `h`: the keys.
    Help,
    /// `q`, Ctrl-C, Ctrl-D, Ctrl-\, or the end of the input.
    Quit,
    /// Ctrl-Z: suspend `lab` as the shell's job control expects.
    Suspend,
    /// Anything else (shown the keys, does not advance).
    Unknown,
}

/// The keys, for `?` (and any unknown key). Short lines: they must fit 60 columns.
pub const HELP: &str = "\
Keys at a pause (no Enter needed after them):
  Enter   run the next step
  b       show the previous step's view again
          (again: one step further back)
  e       the step again, each of N alike regions (xN)
          on its own row
  p       the picture of the whole address space
          (high addresses on top, this step's change marked)
  g       the glossary: RSS, PSS, Dirty, Mode, THP...
  ? or h  this list
  q       stop here (Ctrl-C and Ctrl-D too)
";

/// Which key `bytes` (one read from the terminal) is. An escape sequence (an
/// arrow key) is one unknown key, not three.
pub fn key_of(bytes: &[u8]) -> Key {
    match bytes.first() {
        None => Key::Quit,
        Some(b'\n' | b'\r') => Key::Next,
        Some(b'b' | b'B') => Key::Back,
        Some(b'g' | b'G') => Key::Glossary,
        Some(b'e' | b'E') => Key::Expand,
        Some(b'p' | b'P') => Key::Picture,
        Some(b'?' | b'h' | b'H') => Key::Help,
        // Ctrl-C, Ctrl-D, Ctrl-\.
        Some(b'q' | b'Q' | 0x03 | 0x04 | 0x1c) => Key::Quit,
        Some(0x1a) => Key::Suspend,
        Some(_) => Key::Unknown,
    }
}

/// The terminal's settings before the first pause, for the signal handlers.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
/// True while the terminal is in the pause's mode.
static RAW: AtomicBool = AtomicBool::new(false);

/// Read one key from the terminal on stdin. Falls back to a line when stdin's
/// settings cannot be changed (then only its first character counts).
pub fn read_key() -> std::io::Result<Key> {
    // SAFETY: tcgetattr fills the struct we own.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(0, &mut saved) } != 0 {
        let mut line = String::new();
        let n = std::io::stdin().read_line(&mut line)?;
        return Ok(if n == 0 {
            Key::Quit
        } else {
            key_of(line.as_bytes())
        });
    }
    let _ = SAVED.set(saved);
    let mut raw = saved;
    raw.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
    raw.c_cc[libc::VMIN] = 1;
    raw.c_cc[libc::VTIME] = 0;
    RAW.store(true, Ordering::SeqCst);
    // SAFETY: tcsetattr with a termios derived from the terminal's own.
    unsafe { libc::tcsetattr(0, libc::TCSANOW, &raw) };
    let mut buf = [0u8; 32];
    let got = loop {
        // SAFETY: read into our buffer, at most its length.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            break Ok(n as usize);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            break Err(e);
        }
    };
    // SAFETY: as above, the settings read at the start.
    unsafe { libc::tcsetattr(0, libc::TCSANOW, &saved) };
    RAW.store(false, Ordering::SeqCst);
    Ok(key_of(&buf[..got?]))
}

/// Stop `lab` as Ctrl-Z does when the terminal's signal keys are on (the
/// terminal has its settings back by now); returns once the shell resumes it.
pub fn suspend() {
    // SAFETY: raise(3) of a stop signal; its default action stops us.
    unsafe { libc::raise(libc::SIGTSTP) };
}

/// The step last shown (`usize::MAX`: none yet) and the last step's number,
/// for the message of a signal that ends an interactive run.
static SHOWN: AtomicUsize = AtomicUsize::new(usize::MAX);
static LAST: AtomicUsize = AtomicUsize::new(0);

/// Say "stopped at step N of M" if a signal ends the run after step `shown`.
pub fn set_shown(shown: usize, last: usize) {
    LAST.store(last, Ordering::SeqCst);
    SHOWN.store(shown, Ordering::SeqCst);
}

/// The words `lab` ends an interrupted run with.
pub fn stopped_message(shown: usize, last: usize) -> String {
    format!("stopped at step {shown} of {last}")
}

/// The handlers that were installed before ours (the observer's), by signal.
static PREVIOUS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
const SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Put our handler in front of the ones installed (the observer's, which kill
/// the demo and die of the signal): it gives the terminal its settings back
/// and, for SIGINT, says where the run stopped. Call after
/// `observer::drive::cleanup::install_signal_handlers`.
pub fn chain_signal_handlers() {
    for (i, sig) in SIGNALS.into_iter().enumerate() {
        // SAFETY: the handler only calls async-signal-safe functions.
        let old = unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        PREVIOUS[i].store(old, Ordering::SeqCst);
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if RAW.load(Ordering::SeqCst) {
        if let Some(saved) = SAVED.get() {
            // SAFETY: tcsetattr is async-signal-safe.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
    let shown = SHOWN.load(Ordering::SeqCst);
    if sig == libc::SIGINT && shown != usize::MAX {
        // "\nstopped at step N of M\n", built without allocating.
        let mut buf = [0u8; 64];
        let mut len = 0;
        let mut put = |bytes: &[u8]| {
            for &b in bytes {
                if len < buf.len() {
                    buf[len] = b;
                    len += 1;
                }
            }
        };
        put(b"\nstopped at step ");
        put_number(&mut put, shown);
        put(b" of ");
        put_number(&mut put, LAST.load(Ordering::SeqCst));
        put(b"\n");
        // SAFETY: write(2) is async-signal-safe.
        unsafe { libc::write(1, buf.as_ptr().cast(), len) };
    }
    let index = SIGNALS.iter().position(|&s| s == sig).unwrap_or(0);
    let previous = PREVIOUS[index].load(Ordering::SeqCst);
    if previous != libc::SIG_DFL && previous != libc::SIG_IGN && previous != libc::SIG_ERR {
        // SAFETY: a handler installed with signal(2), of this signature.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
        f(sig);
    } else {
        // SAFETY: signal(2) and raise(3) are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

/// A number without allocating (itoa formats on the stack): for signal handlers.
fn put_number(put: &mut impl FnMut(&[u8]), n: usize) {
    put(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(key_of(b"\n"), Key::Next);
        assert_eq!(key_of(b"\r"), Key::Next);
        assert_eq!(key_of(b"b"), Key::Back);
        assert_eq!(key_of(b"g"), Key::Glossary);
        assert_eq!(key_of(b"e"), Key::Expand);
        assert_eq!(key_of(b"p"), Key::Picture);
        assert_eq!(key_of(b"?"), Key::Help);
        assert_eq!(key_of(b"h"), Key::Help);
        for quit in [&b"q"[..], b"\x03", b"\x04", b""] {
            assert_eq!(key_of(quit), Key::Quit, "{quit:?}");
        }
        assert_eq!(key_of(b"\x1a"), Key::Suspend);
        assert_eq!(key_of(b"x"), Key::Unknown);
        assert_eq!(key_of(b"\x1b[A"), Key::Unknown);
        assert_eq!(key_of(b" "), Key::Unknown);
    }

    #[test]
    fn the_help_fits_60_columns() {
        assert!(HELP.lines().all(|l| l.chars().count() <= 60));
    }

    #[test]
    fn numbers_without_allocation() {
        let mut out = Vec::new();
        put_number(&mut |b: &[u8]| out.extend_from_slice(b), 1204);
        put_number(&mut |b: &[u8]| out.extend_from_slice(b), 0);
        assert_eq!(out, b"12040");
    }
}
