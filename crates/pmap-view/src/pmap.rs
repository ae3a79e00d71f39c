//! The formats of procps-ng `pmap` (3.3.17 and 4.0.0 to 4.0.7), row for row
//! and column for column, for `lab pmap`: the default format, `-x`, `-d`, `-X`
//! and `-XX`, with `-q`, `-p`, `-k` and `-A`. Where the releases differ
//! ([`Release`]), [`Options::release`] chooses; [`Options::exact`] also
//! reproduces procps's mistakes, for `lab` run as `pmap` (a drop-in).
//!
//! Each format is one function writing to any `io::Write`. They follow the
//! rules procps follows (read from its source and checked against its output
//! by the differential tests in `tests/integration/pmap.rs`), except where
//! procps is wrong, as docs/pmap.md's "lab pmap versus procps pmap" lists:
//! - mappings are named as the kernel names them (`[heap]`, `[stack]`,
//!   `[vdso]`, `[vvar]`, `[anon:NAME]`…) where procps writes `[ anon ]`
//!   ([`Labels::Procps`] gives procps's names back);
//! - totals count only the mappings shown (procps adds the RSS and Dirty of
//!   mappings below an `-A` range into the `-x` totals, and ignores `-A` with
//!   `-X`), and each process has its own (procps accumulates `-X` totals and
//!   column widths over the PIDs of one call);
//! - names are never cut (procps cuts `-X` names at 127 bytes).
//!
//! Rows are assembled as bytes in a buffer, numbers written digit by digit:
//! `fmt` costs more than the kernel's own work on a 60,000-mapping process.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;

use crate::region::{Field, Key, Region};
use crate::smaps::Parser;
use crate::snapshot::{feed_proc_file, proc_error, read_proc_file, CaptureError, Snapshot};

/// Which pmap format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Address, Kbytes, Mode, Mapping and ` total NNNK`.
    Default,
    /// `-x`: Address, Kbytes, RSS, Dirty, Mode, Mapping and `total kB`.
    Extended,
    /// `-d`: Address, Kbytes, Mode, Offset, Device, Mapping and `mapped: …`.
    Device,
    /// `-X`: the smaps counters procps deems important, one column each.
    More,
    /// `-XX`: every smaps counter, and VmFlags.
    Everything,
}

/// How to name mappings that are not files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Labels {
    /// The kernel's names (`[heap]`, `[stack]`, `[vdso]`…); `  [ anon ]` for
    /// a mapping the kernel leaves unnamed.
    #[default]
    Kernel,
    /// procps's: `  [ stack ]` for the mapping holding the process's start of
    /// stack, `  [ anon ]` for every other one.
    Procps,
    /// procps's `-k` (4.0.6): a name with a `/` as a file's (so `[anon:a/b]`
    /// shows as `b]`), then the kernel's bracketed name, then `  [ anon ]` or
    /// `  [ stack ]` as [`Labels::Procps`].
    ProcpsKernel,
}

/// A procps-ng release, where their pmap output differs (read from their
/// sources and checked against builds of each, see docs/pmap.md):
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Release {
    /// 3.3.17 (Debian 11, Ubuntu 22.04): as 4.0.2 but for the command line,
    /// which it escapes argument by argument with the C library (a character
    /// `iswprint` refuses is one `?`), cuts at 511 bytes, and shows without
    /// ` <defunct>` for a zombie.
    V3_3_17,
    /// 4.0.2 (and 4.0.0, 4.0.1 and 4.0.3, the same pmap; Debian 12): `-X`
    /// adds each process's totals into the next one's; a command line with a
    /// byte that is not UTF-8 shows every later non-ASCII byte as `?` and
    /// control as `.`; names in the default, `-x` and `-d` formats keep
    /// printable ASCII only.
    V4_0_2,
    /// 4.0.4 (Debian 13, Ubuntu 24.04): `-X` totals are each process's own;
    /// a command line's bad bytes and C1 controls become `?` one by one.
    V4_0_4,
    /// 4.0.5: names keep their UTF-8 characters; command lines are checked
    /// strictly (overlong forms and surrogates are `?`, and so are the
    /// private use characters).
    V4_0_5,
    /// 4.0.6: `-k` (`--use-kernel-name`); a command line of NUL bytes only
    /// shows as `-` (`?` before).
    V4_0_6,
    /// 4.0.7 (Debian unstable in 2026): `-X` and `-XX` honour `-A`.
    #[default]
    V4_0_7,
}

/// What `--procps-compat VERSION` (or an installed `pmap -V`) comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Follow {
    /// A release lab knows.
    Known(Release),
    /// A release newer than the newest lab knows: lab follows the newest,
    /// and says so (the text of the note).
    Newer(Release, String),
}

impl Follow {
    pub fn release(&self) -> Release {
        match self {
            Follow::Known(r) | Follow::Newer(r, _) => *r,
        }
    }
}

impl Release {
    /// Every release, oldest first.
    pub const ALL: [Release; 6] = [
        Release::V3_3_17,
        Release::V4_0_2,
        Release::V4_0_4,
        Release::V4_0_5,
        Release::V4_0_6,
        Release::V4_0_7,
    ];
    /// The release followed unless asked otherwise.
    pub const NEWEST: Release = Release::V4_0_7;

    /// What lab knows, for messages.
    pub const KNOWN: &'static str = "3.3.17 and 4.0.0 to 4.0.7";

    /// `3.3.17`, `4.0.0` … `4.0.7` (4.0.0, 4.0.1 and 4.0.3 are 4.0.2's
    /// pmap).
    pub fn parse(version: &str) -> Option<Release> {
        let version = version.trim().trim_start_matches('v');
        Some(match version {
            "3.3.17" => Release::V3_3_17,
            "4.0.0" | "4.0.1" | "4.0.2" | "4.0.3" => Release::V4_0_2,
            "4.0.4" => Release::V4_0_4,
            "4.0.5" => Release::V4_0_5,
            "4.0.6" => Release::V4_0_6,
            "4.0.7" => Release::V4_0_7,
            _ => return None,
        })
    }

    /// The release to follow for `version`: a known one, or the newest for
    /// a version newer than every one lab knows (with a note saying so);
    /// `None` for an older or unreadable one.
    pub fn follow(version: &str) -> Option<Follow> {
        if let Some(release) = Release::parse(version) {
            return Some(Follow::Known(release));
        }
        let numbers = |v: &str| -> Option<Vec<u64>> {
            v.trim()
                .trim_start_matches('v')
                .split('.')
                .map(|n| n.parse().ok())
                .collect()
        };
        let asked = numbers(version)?;
        let newest = numbers(Release::NEWEST.version())?;
        (asked > newest).then(|| {
            Follow::Newer(
                Release::NEWEST,
                format!(
                    "procps-ng {} is newer than the releases lab knows ({}): following {}",
                    version.trim(),
                    Release::KNOWN,
                    Release::NEWEST.version()
                ),
            )
        })
    }

    /// The version number, `4.0.4`.
    pub fn version(self) -> &'static str {
        match self {
            Release::V3_3_17 => "3.3.17",
            Release::V4_0_2 => "4.0.2",
            Release::V4_0_4 => "4.0.4",
            Release::V4_0_5 => "4.0.5",
            Release::V4_0_6 => "4.0.6",
            Release::V4_0_7 => "4.0.7",
        }
    }

    /// The version in `pmap -V`'s line (`pmap from procps-ng 4.0.2`), if it
    /// is procps-ng's.
    pub fn version_in(line: &str) -> Option<&str> {
        let rest = line.split("procps-ng ").nth(1)?;
        let version = rest.split_whitespace().next()?;
        version
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then_some(version)
    }

    /// Whether it has `-k` / `--use-kernel-name`.
    pub fn has_kernel_names(self) -> bool {
        self >= Release::V4_0_6
    }

    /// Whether its `-X` and `-XX` show only the mappings `-A` names.
    pub fn has_ranged_smaps(self) -> bool {
        self >= Release::V4_0_7
    }
}

/// An address range, as `-A` gives it: a mapping is shown when it overlaps
/// `low..=high`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub low: u64,
    pub high: u64,
}

impl Default for Range {
    fn default() -> Range {
        Range {
            low: 0,
            high: u64::MAX,
        }
    }
}

/// Why `-A`'s argument is not an address range (the message names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("`{0}` is not an address range (LOW,HIGH in hexadecimal)")]
    NotARange(String),
    #[error("`{0}`: an address has at most 16 hexadecimal digits")]
    TooLong(String),
}

impl Range {
    /// Parse `-A`'s argument as procps does: `low,high`, `low,` (to the end),
    /// `,high` (from 0) or `low` alone (the mappings holding that address);
    /// hexadecimal, with or without `0x`.
    pub fn parse(arg: &str) -> Result<Range, RangeError> {
        let (low, high) = match arg.split_once(',') {
            Some((low, high)) => (low, high),
            None => (arg, arg),
        };
        let number = |s: &str, default: u64| -> Result<u64, RangeError> {
            if s.is_empty() {
                return Ok(default);
            }
            let digits = s
                .strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(RangeError::NotARange(arg.to_string()));
            }
            u64::from_str_radix(digits, 16).map_err(|_| RangeError::TooLong(arg.to_string()))
        };
        Ok(Range {
            low: number(low, 0)?,
            high: number(high, u64::MAX)?,
        })
    }

    /// Whether `region` overlaps the range.
    pub fn contains(&self, region: &Region) -> bool {
        self.overlaps(region.start, region.end)
    }

    /// Whether `start..end` overlaps the range.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        end.saturating_sub(1) >= self.low && start <= self.high
    }
}

/// What the command line asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    /// `-q`: no header and no footer.
    pub quiet: bool,
    /// `-p`: a file's full path instead of its name.
    pub show_path: bool,
    /// `-A`: only the mappings overlapping this range.
    pub range: Range,
    pub labels: Labels,
    /// Whose escaping of names and command lines, and whose `-X` over
    /// several processes.
    pub release: Release,
    /// procps's output exactly, its mistakes included (docs/pmap.md, "lab
    /// pmap versus procps pmap"): `-x -A` totals count the RSS and Dirty of the
    /// mappings below the range, `-X` keeps its column widths (and before
    /// 4.0.4 its totals) from one process to the next and cuts names at 127
    /// bytes. (procps's `-X` ignores `-A`: the caller passes no range then.)
    pub exact: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            format: Format::Default,
            quiet: false,
            show_path: false,
            range: Range::default(),
            labels: Labels::default(),
            release: Release::default(),
            exact: false,
        }
    }
}

/// The process facts pmap prints besides its mappings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// The thread-group ID: `lab pmap TID` shows the process TID belongs to
    /// (as procps 3.3.17 does, the TID itself).
    pub pid: i32,
    /// The command line as procps prints it (see [`command_text`]).
    pub command: String,
    /// Where the main thread's stack starts (`startstack` of /proc/PID/stat):
    /// procps's `[ stack ]` is the mapping holding it.
    pub start_stack: u64,
}

impl Process {
    /// Read the process (or the process of thread) `pid`.
    pub fn read(pid: i32) -> Result<Process, CaptureError> {
        Process::read_as(pid, Release::NEWEST)
    }

    /// [`Process::read`], the command line escaped as `release` does.
    pub fn read_as(pid: i32, release: Release) -> Result<Process, CaptureError> {
        let status = read_proc_file(pid, Path::new(&format!("/proc/{pid}/status")))?;
        let tgid = String::from_utf8_lossy(&status)
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:"))
            .and_then(|v| v.trim().parse::<i32>().ok())
            .unwrap_or(pid);
        let stat_path = format!("/proc/{tgid}/stat");
        let stat = read_proc_file(tgid, Path::new(&stat_path))?;
        let malformed = || CaptureError::Io {
            path: stat_path.clone().into(),
            source: io::Error::new(io::ErrorKind::InvalidData, "unexpected format"),
        };
        let stat = crate::stat::ProcStat::parse(&stat).ok_or_else(malformed)?;
        let cmdline_path = format!("/proc/{tgid}/cmdline");
        let cmdline = match std::fs::read(&cmdline_path) {
            Ok(bytes) => bytes,
            Err(e) => return Err(proc_error(tgid, Path::new(&cmdline_path), e)),
        };
        Ok(Process {
            // procps 3.3.17 heads the map of a thread with the thread's own
            // ID (measured: Debian 11's pmap); 4.0 with its process's.
            pid: if release == Release::V3_3_17 {
                pid
            } else {
                tgid
            },
            command: command_text_as(&cmdline, &stat.comm, stat.is_zombie(), release),
            start_stack: stat.start_stack,
        })
    }
}

/// The command line as procps shows it: the arguments joined by spaces,
/// newlines as spaces, control characters and bytes that are not UTF-8 as
/// `?` ([`escape`]); `[COMM]` (and ` <defunct>` for a zombie) when there are
/// none, as for a kernel thread. As the newest release does.
pub fn command_text(cmdline: &[u8], comm: &[u8], zombie: bool) -> String {
    command_text_as(cmdline, comm, zombie, Release::NEWEST)
}

/// [`command_text`] as `release` escapes it.
pub fn command_text_as(cmdline: &[u8], comm: &[u8], zombie: bool, release: Release) -> String {
    if release == Release::V3_3_17 {
        return command_text_3_3_17(cmdline, comm);
    }
    // procps reads at most 128 KiB of it.
    let cmdline = &cmdline[..cmdline.len().min(128 * 1024 - 1)];
    if cmdline.is_empty() {
        let mut text = format!("[{}]", escape(comm, release));
        if zombie {
            text.push_str(" <defunct>");
        }
        return text;
    }
    let mut args = match cmdline.iter().rposition(|&b| b != 0) {
        Some(last) => &cmdline[..=last],
        // Only NUL bytes: the library's text is empty, and shows as this.
        None => return if release >= Release::V4_0_6 { "-" } else { "?" }.to_string(),
    };
    // The library drops the last byte read when it is a space (one that was
    // a newline included): a command line not ending in NUL.
    if matches!(cmdline.last(), Some(b' ' | b'\n')) {
        args = &args[..args.len() - 1];
    }
    let joined: Vec<u8> = args
        .iter()
        .map(|&b| if b == 0 || b == b'\n' { b' ' } else { b })
        .collect();
    escape(&joined, release)
}

/// 3.3.17's command line: the arguments as its library splits them (at
/// every NUL and newline; a last one without NUL counts), each escaped by
/// [`escape_3_3_17`] into what is left of a 512-byte buffer and joined by
/// spaces while 3 bytes are left; `[COMM]` when there are none (a zombie
/// too, without ` <defunct>`).
fn command_text_3_3_17(cmdline: &[u8], comm: &[u8]) -> String {
    const BUF: usize = 512;
    let mut out = Vec::with_capacity(BUF);
    if cmdline.is_empty() {
        out.push(b'[');
        escape_3_3_17(comm, BUF - 2, &mut out);
        out.push(b']');
    } else {
        let body = cmdline.strip_suffix(&[0]).unwrap_or(cmdline);
        let mut args = body.split(|&b| b == 0 || b == b'\n').peekable();
        while let Some(arg) = args.next() {
            escape_3_3_17(arg, BUF - out.len(), &mut out);
            if BUF - out.len() < 3 || args.peek().is_none() {
                break;
            }
            out.push(b' ');
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// procps 3.3.17's `escape_str` in a UTF-8 locale, as glibc decodes and
/// classifies: into at most `room - 1` bytes of `out`, a byte that does not
/// start a character glibc decodes (overlong forms, surrogates, a bad or
/// missing continuation) is `?`; an ASCII control or DEL is `?`; a character
/// `iswprint` refuses (C1 controls, U+2028 and U+2029, noncharacters, code
/// points unassigned in glibc 2.31's Unicode, and the 4- to 6-byte forms past
/// U+10FFFF glibc still decodes) is one `?`; any other is kept, if it fits
/// with a byte to spare.
fn escape_3_3_17(s: &[u8], room: usize, out: &mut Vec<u8>) {
    let mut written = 0;
    let mut i = 0;
    while i < s.len() && written + 1 < room {
        let b = s[i];
        if b < 0x80 {
            out.push(if (0x20..0x7f).contains(&b) { b } else { b'?' });
            written += 1;
            i += 1;
            continue;
        }
        let (len, min, first) = match b {
            0xc2..=0xdf => (2, 0x80, u32::from(b & 0x1f)),
            0xe0..=0xef => (3, 0x800, u32::from(b & 0x0f)),
            0xf0..=0xf7 => (4, 0x1_0000, u32::from(b & 0x07)),
            0xf8..=0xfb => (5, 0x20_0000, u32::from(b & 0x03)),
            0xfc..=0xfd => (6, 0x400_0000, u32::from(b & 0x01)),
            _ => (0, 0, 0),
        };
        let decoded = (len > 0 && i + len <= s.len())
            .then(|| {
                s[i + 1..i + len].iter().try_fold(first, |c, &t| {
                    (t & 0xc0 == 0x80).then_some((c << 6) | u32::from(t & 0x3f))
                })
            })
            .flatten()
            .filter(|&c| c >= min && !(0xd800..=0xdfff).contains(&c));
        match decoded {
            None => {
                out.push(b'?');
                written += 1;
                i += 1;
            }
            Some(c) if !glibc_2_31_printable(c) => {
                out.push(b'?');
                written += 1;
                i += len;
            }
            Some(_) => {
                if len >= room - (written + 1) {
                    break;
                }
                out.extend_from_slice(&s[i..i + len]);
                written += len;
                i += len;
            }
        }
    }
}

/// glibc 2.31's `iswprint` for a code point from U+0080.
fn glibc_2_31_printable(c: u32) -> bool {
    use crate::glibc_2_31_print::NOT_PRINTABLE;
    if c > 0x10_ffff {
        return false;
    }
    let i = NOT_PRINTABLE.partition_point(|&(_, end)| end < c);
    NOT_PRINTABLE.get(i).is_none_or(|&(start, _)| start > c)
}

/// How procps's library escapes a command line in a UTF-8 locale, by
/// release (its `escape_str`). Each rule is the release's, written anew:
/// - 4.0.2: C0 controls and DEL become `?`, until the first byte that does
///   not start a UTF-8 sequence (or one cut by the end): from there on,
///   every byte from 0x80 is `?` and every control `.`. Continuation bytes
///   are not checked, nor C1 controls.
/// - 4.0.4: byte by byte: a byte that does not start a sequence, a sequence
///   cut short or with a bad continuation byte, and the two bytes of a C1
///   control, are `?` each; C0 controls and DEL too.
/// - 4.0.5 and 4.0.6: as 4.0.4, but only well-formed UTF-8 (no overlong
///   forms, surrogates or code points past U+10FFFF) is kept, and the
///   private use characters (U+E000-U+F8FF, planes 15 and 16 but for their
///   last two) are `?` byte by byte too.
///
/// Bytes the release keeps that are not UTF-8 (4.0.2 and 4.0.4 pass some
/// through) print as `?` here: this is a `String`.
pub fn escape(bytes: &[u8], release: Release) -> String {
    let mut out = bytes.to_vec();
    match release {
        Release::V3_3_17 => {
            let mut kept = Vec::with_capacity(bytes.len());
            escape_3_3_17(bytes, usize::MAX, &mut kept);
            out = kept;
        }
        Release::V4_0_2 => escape_4_0_2(&mut out),
        Release::V4_0_4 => escape_4_0_4(&mut out),
        Release::V4_0_5 | Release::V4_0_6 | Release::V4_0_7 => escape_4_0_5(&mut out),
    }
    crate::smaps::name_text(&out)
}

/// The length of the UTF-8 sequence a byte starts, as procps's table has
/// it (no check of what follows); `None` for a byte that starts none.
fn lead_len(b: u8) -> Option<usize> {
    match b {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn escape_4_0_2(s: &mut [u8]) {
    let mut i = 0;
    while i < s.len() {
        match lead_len(s[i]) {
            Some(n) if i + n <= s.len() => {
                if is_control(s[i]) {
                    s[i] = b'?';
                }
                i += n;
            }
            _ => {
                for b in &mut s[i..] {
                    if *b >= 0x80 {
                        *b = b'?';
                    } else if is_control(*b) {
                        *b = b'.';
                    }
                }
                return;
            }
        }
    }
}

fn escape_4_0_4(s: &mut [u8]) {
    let mut i = 0;
    while i < s.len() {
        let good = match lead_len(s[i]) {
            Some(n) if i + n <= s.len() => {
                let c1 = s[i] == 0xc2 && (0x80..=0x9f).contains(&s[i + 1]);
                let tail_ok = s[i + 1..i + n].iter().all(|&b| b & 0xc0 == 0x80);
                (!c1 && tail_ok).then_some(n)
            }
            _ => None,
        };
        match good {
            Some(n) => {
                if is_control(s[i]) {
                    s[i] = b'?';
                }
                i += n;
            }
            None => {
                s[i] = b'?';
                i += 1;
            }
        }
    }
}

fn escape_4_0_5(s: &mut [u8]) {
    let mut i = 0;
    while i < s.len() {
        // A well-formed sequence, by Rust's own check.
        let n = lead_len(s[i])
            .filter(|&n| i + n <= s.len() && std::str::from_utf8(&s[i..i + n]).is_ok());
        let keep = match n {
            Some(1) => !is_control(s[i]),
            Some(n) => {
                let c = std::str::from_utf8(&s[i..i + n])
                    .ok()
                    .and_then(|t| t.chars().next())
                    .map_or(0, u32::from);
                let private = (0xe000..=0xf8ff).contains(&c)
                    || (0xf0000..=0xffffd).contains(&c)
                    || (0x100000..=0x10fffd).contains(&c);
                !(0x80..=0x9f).contains(&c) && !private
            }
            None => false,
        };
        if keep {
            i += n.unwrap_or(1);
        } else {
            s[i] = b'?';
            i += 1;
        }
    }
}

/// A mapping's name as the default, `-x` and `-d` formats print it: before
/// 4.0.5 procps keeps printable ASCII only (every other byte is `?`); from
/// 4.0.5 a UTF-8 character stays whole. (Bytes that are not UTF-8 are
/// already `?` in the name.)
pub fn name_as<'a>(name: Cow<'a, str>, release: Release) -> Cow<'a, str> {
    if release >= Release::V4_0_5 || name.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return name;
    }
    Cow::Owned(
        name.chars()
            .flat_map(|c| {
                let printable = (' '..='~').contains(&c);
                let n = if printable { 1 } else { c.len_utf8() };
                std::iter::repeat_n(if printable { c } else { '?' }, n)
            })
            .collect(),
    )
}

/// A mapping's name as the pmap formats print it: procps's `?` for each byte
/// of a character that must not reach a terminal as it is (a control
/// character, C0, DEL, C1, or a bidi override, separator or zero-width
/// character: [`crate::region::is_unsafe_char`]), so that a mapping named
/// `\e]0;title\a` cannot drive the terminal nor one with U+202E reverse
/// what follows it. Borrowed when there is none (every name but a hostile
/// one: the hot path stays a scan).
pub fn printable(name: &str) -> Cow<'_, str> {
    // C1 controls are U+0080..U+009F: 0xC2 then 0x80..0x9F in UTF-8; the
    // others of is_unsafe_char start with 0xD8 (U+061C), 0xE2 (U+2xxx) or
    // 0xEF (U+FEFF): those names take the slow path.
    let suspect = |b: u8| b < 0x20 || b == 0x7f || matches!(b, 0xc2 | 0xd8 | 0xe2 | 0xef);
    if !name.bytes().any(suspect) || !name.chars().any(crate::region::is_unsafe_char) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if crate::region::is_unsafe_char(c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A mapping as the default, `-x` and `-d` formats show it: a [`Region`]
/// without the smaps counters, but with the two `-x` shows (zero for the
/// others). 80 bytes where a Region takes 336: on 60,000 mappings that is
/// 15 MiB less memory to fault in, a fifth of the time of `lab pmap -x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub inode: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// `rwxp` / `rw-s` as in maps.
    pub perms: [u8; 4],
    /// The pathname column, as in [`Region::name`].
    pub name: Box<str>,
    /// smaps's `Rss`, KiB.
    pub rss_kib: u64,
    /// smaps's `Shared_Dirty + Private_Dirty`, KiB.
    pub dirty_kib: u64,
}

impl Mapping {
    /// A region's mapping, with its Rss and Dirty.
    pub fn of(r: &Region) -> Mapping {
        Mapping {
            start: r.start,
            end: r.end,
            offset: r.offset,
            inode: r.inode,
            dev_major: r.dev_major,
            dev_minor: r.dev_minor,
            perms: r.perms,
            name: r.name.as_str().into(),
            rss_kib: r.fields.rss,
            dirty_kib: r.fields.dirty(),
        }
    }

    /// Size in KiB.
    pub fn kib(&self) -> u64 {
        (self.end - self.start) >> 10
    }
}

/// The mappings of `/proc/PID/maps` (Rss and Dirty zero): all the default
/// and `-d` formats need, and what procps reads for them too.
pub fn read_maps(pid: i32) -> Result<Vec<Mapping>, CaptureError> {
    let mut mappings = Vec::new();
    let path = format!("/proc/{pid}/maps");
    let mut parser = Parser::streaming(|region, _| mappings.push(Mapping::of(&region)));
    feed_proc_file(pid, Path::new(&path), &mut parser)?;
    parser.finish().map_err(|source| CaptureError::Parse {
        path: path.into(),
        source,
    })?;
    Ok(mappings)
}

/// The first line of every format: `PID:   COMMAND`. procps's escaping
/// keeps bidi overrides, separators and zero-width characters; lab's own
/// view shows them as `?` too ([`printable`]), its exact copy does not.
pub fn write_process(out: &mut impl Write, process: &Process, opts: &Options) -> io::Result<()> {
    if opts.exact {
        writeln!(out, "{}:   {}", process.pid, process.command)
    } else {
        writeln!(out, "{}:   {}", process.pid, printable(&process.command))
    }
}

/// Whether a mapping is a System V shared memory segment (named
/// `/SYSVKEY (deleted)` by the kernel, on its internal shm mount).
fn is_sysv_shm(r: &Mapping) -> bool {
    r.dev_major == 0 && r.name.starts_with("/SYSV")
}

/// A name the kernel gives a mapping that is not a file: `[heap]`, `[vdso]`…
fn is_kernel_name(name: &str) -> bool {
    name.starts_with('[') && name.ends_with(']')
}

/// The Mapping column of the default, `-x` and `-d` formats.
pub fn mapping_label<'a>(r: &'a Mapping, process: &Process, opts: &Options) -> Cow<'a, str> {
    name_as(raw_label(r, process, opts), opts.release)
}

fn raw_label<'a>(r: &'a Mapping, process: &Process, opts: &Options) -> Cow<'a, str> {
    if is_sysv_shm(r) {
        return Cow::Owned(format!("  [ shmid=0x{:x} ]", r.inode));
    }
    if opts.labels == Labels::Kernel && is_kernel_name(&r.name) {
        return Cow::Borrowed(&r.name);
    }
    if let Some(last) = r.name.rfind('/') {
        if opts.show_path {
            let first = r.name.find('/').unwrap_or(0);
            return Cow::Borrowed(&r.name[first..]);
        }
        // A name ending in '/' shows as "/", as procps prints it.
        let base = &r.name[last + 1..];
        return Cow::Borrowed(if base.is_empty() {
            &r.name[last..]
        } else {
            base
        });
    }
    if opts.labels == Labels::ProcpsKernel && r.name.ends_with(']') {
        if let Some(open) = r.name.find('[') {
            return Cow::Borrowed(&r.name[open..]);
        }
    }
    // procps's rule: the start of stack within [start, end], ends included.
    let size = r.end - r.start;
    if opts.labels != Labels::Kernel
        && process.start_stack >= r.start
        && process.start_stack <= r.start + size
    {
        return Cow::Borrowed("  [ stack ]");
    }
    Cow::Borrowed("  [ anon ]")
}

/// The Mapping column of the default, `-x` and `-d` rows as printed: lab
/// shows a control character as `?` ([`printable`]); so did procps before
/// 4.0.5 (it kept printable ASCII only), but from 4.0.5 (commit 1cf67c39)
/// it prints every character `mblen` takes, controls included, and its
/// exact copy does the same.
fn row_label<'a>(r: &'a Mapping, process: &Process, opts: &Options) -> Cow<'a, str> {
    let label = mapping_label(r, process, opts);
    if opts.exact && opts.release >= Release::V4_0_5 {
        return label;
    }
    match printable(&label) {
        Cow::Borrowed(_) => label,
        Cow::Owned(shown) => Cow::Owned(shown),
    }
}

/// The Mapping column of `-X` and `-XX`: the name as the kernel prints it,
/// a file's base name unless `-p`.
pub fn extended_label<'a>(r: &'a Region, opts: &Options) -> &'a str {
    let mut name = r.name.as_str();
    if opts.exact && name.len() > 127 {
        // procps reads 127 bytes of it (at a character's start here).
        let mut cut = 127;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = &name[..cut];
    }
    if opts.show_path || (!opts.exact && is_kernel_name(name)) {
        return name;
    }
    match name.rfind('/') {
        Some(last) => &name[last + 1..],
        None => name,
    }
}

/// pmap's five-character mode: `rwx`, then `s` for a shared mapping or `-`,
/// then `-` (Solaris's "swap not reserved" flag, never set on Linux).
pub fn mode(perms: [u8; 4]) -> [u8; 5] {
    let p = perms;
    [
        p[0],
        p[1],
        p[2],
        if p[3] == b's' { b's' } else { b'-' },
        b'-',
    ]
}

/// Rows are built here and handed to the writer in large pieces.
struct Buf<'w, W: Write> {
    out: &'w mut W,
    bytes: Vec<u8>,
}

impl<'w, W: Write> Buf<'w, W> {
    fn new(out: &'w mut W) -> Self {
        Buf {
            out,
            bytes: Vec::with_capacity(128 * 1024),
        }
    }

    fn push(&mut self, s: &[u8]) {
        self.bytes.extend_from_slice(s);
    }

    fn spaces(&mut self, n: usize) {
        self.bytes.resize(self.bytes.len() + n, b' ');
    }

    /// `n` right-aligned in `width` columns (wider if it needs to be): the
    /// commonest thing `-X` does (over a million cells for 60,000 mappings),
    /// so the cell is built in a fixed array copied whole (a fixed-size copy
    /// compiles to two moves; a variable one is a call) and then cut.
    #[inline]
    fn num(&mut self, mut n: u64, width: usize) {
        const CELL: usize = 24;
        let size = width.max(dec_len(n));
        if size > CELL {
            self.spaces(size - dec_len(n));
            self.push(itoa::Buffer::new().format(n).as_bytes());
            return;
        }
        let mut cell = [b' '; CELL];
        let mut i = size;
        loop {
            i -= 1;
            cell[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let len = self.bytes.len();
        self.bytes.extend_from_slice(&cell);
        self.bytes.truncate(len + size);
    }

    /// `text` right-aligned in `width` columns.
    fn right(&mut self, text: &[u8], width: usize) {
        self.spaces(width.saturating_sub(text.len()));
        self.push(text);
    }

    /// `n` in lowercase hex, zero-padded to `width` digits.
    fn hex(&mut self, n: u64, width: usize) {
        let mut digits = [0u8; 16];
        let len = hex_digits(n, &mut digits);
        self.bytes
            .resize(self.bytes.len() + width.saturating_sub(len), b'0');
        self.push(&digits[16 - len..]);
    }

    fn end_row(&mut self) -> io::Result<()> {
        self.bytes.push(b'\n');
        if self.bytes.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.bytes)?;
        self.bytes.clear();
        Ok(())
    }
}

/// Writes the hex digits of `n` at the end of `out`; returns how many.
fn hex_digits(mut n: u64, out: &mut [u8; 16]) -> usize {
    let mut len = 0;
    loop {
        out[15 - len] = b"0123456789abcdef"[(n & 0xf) as usize];
        len += 1;
        n >>= 4;
        if n == 0 {
            return len;
        }
    }
}

fn hex_len(n: u64, min: usize) -> usize {
    let digits = (64 - n.leading_zeros() as usize).div_ceil(4).max(1);
    digits.max(min)
}

#[inline]
fn dec_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// The mappings `opts.range` shows.
fn shown<'a>(mappings: &'a [Mapping], opts: &Options) -> impl Iterator<Item = &'a Mapping> {
    let range = opts.range;
    mappings
        .iter()
        .filter(move |m| range.overlaps(m.start, m.end))
}

/// The default format: one `ADDRESS  SIZEK MODE MAPPING` row per mapping and
/// ` total SIZEK`.
pub fn write_default(
    out: &mut impl Write,
    process: &Process,
    mappings: &[Mapping],
    opts: &Options,
) -> io::Result<()> {
    write_process(out, process, opts)?;
    let mut b = Buf::new(out);
    let mut total = 0;
    for r in shown(mappings, opts) {
        let size = r.kib();
        total += size;
        b.hex(r.start, 16);
        b.push(b" ");
        b.num(size, 6);
        b.push(b"K ");
        b.push(&mode(r.perms));
        b.push(b" ");
        b.push(row_label(r, process, opts).as_bytes());
        b.end_row()?;
    }
    if !opts.quiet {
        b.push(b" total ");
        b.num(total, 16);
        b.push(b"K");
        b.end_row()?;
    }
    b.flush()
}

/// `-x`: Address, Kbytes, RSS, Dirty, Mode, Mapping, then `total kB`.
pub fn write_extended(
    out: &mut impl Write,
    process: &Process,
    mappings: &[Mapping],
    opts: &Options,
) -> io::Result<()> {
    write_process(out, process, opts)?;
    let mut b = Buf::new(out);
    if !opts.quiet {
        b.push(b"Address           Kbytes     RSS   Dirty Mode  Mapping");
        b.end_row()?;
    }
    let (mut size, mut rss, mut dirty) = (0, 0, 0);
    for r in shown(mappings, opts) {
        let kbytes = r.kib();
        size += kbytes;
        rss += r.rss_kib;
        dirty += r.dirty_kib;
        b.hex(r.start, 16);
        b.push(b" ");
        b.num(kbytes, 7);
        b.push(b" ");
        b.num(r.rss_kib, 7);
        b.push(b" ");
        b.num(r.dirty_kib, 7);
        b.push(b" ");
        b.push(&mode(r.perms));
        b.push(b" ");
        b.push(row_label(r, process, opts).as_bytes());
        b.end_row()?;
    }
    if opts.exact {
        // procps skips the rows below the range but still adds their
        // counters into its totals.
        for r in mappings
            .iter()
            .filter(|m| m.end.saturating_sub(1) < opts.range.low)
        {
            rss += r.rss_kib;
            dirty += r.dirty_kib;
        }
    }
    if !opts.quiet {
        b.push(b"---------------- ------- ------- ------- ");
        b.end_row()?;
        b.push(b"total kB         ");
        b.num(size, 7);
        b.push(b" ");
        b.num(rss, 7);
        b.push(b" ");
        b.num(dirty, 7);
        b.end_row()?;
    }
    b.flush()
}

/// `-d`: Address, Kbytes, Mode, Offset, Device, Mapping, then the mapped,
/// writeable/private and shared sizes.
pub fn write_device(
    out: &mut impl Write,
    process: &Process,
    mappings: &[Mapping],
    opts: &Options,
) -> io::Result<()> {
    write_process(out, process, opts)?;
    let mut b = Buf::new(out);
    if !opts.quiet {
        b.push(b"Address           Kbytes Mode  Offset           Device    Mapping");
        b.end_row()?;
    }
    let (mut mapped, mut writeable, mut shared) = (0, 0, 0);
    for r in shown(mappings, opts) {
        let size = r.kib();
        mapped += size;
        if r.perms[3] == b's' {
            shared += size;
        } else if r.perms[1] == b'w' {
            writeable += size;
        }
        b.hex(r.start, 16);
        b.push(b" ");
        b.num(size, 7);
        b.push(b" ");
        b.push(&mode(r.perms));
        b.push(b" ");
        b.hex(r.offset, 16);
        b.push(b" ");
        b.hex(u64::from(r.dev_major), 3);
        b.push(b":");
        b.hex(u64::from(r.dev_minor), 5);
        b.push(b" ");
        b.push(row_label(r, process, opts).as_bytes());
        b.end_row()?;
    }
    if !opts.quiet {
        b.push(
            format!("mapped: {mapped}K    writeable/private: {writeable}K    shared: {shared}K")
                .as_bytes(),
        );
        b.end_row()?;
    }
    b.flush()
}

/// The counters procps leaves out of `-X` (it shows them with `-XX`).
fn is_unimportant(key: &Key) -> bool {
    matches!(
        key,
        Key::Known(
            Field::AnonHugePages
                | Field::KernelPageSize
                | Field::MmuPageSize
                | Field::SharedDirty
                | Field::PrivateDirty
                | Field::SharedClean
                | Field::PrivateClean
        )
    )
}

/// What `-X` and `-XX` show, compact: the shown counters of each mapping in
/// one flat array, not a whole [`Region`] each. [`Table::capture`] fills it
/// straight from the streaming parser; on 60,000 mappings that halves the
/// memory touched (each new page is a page fault) and the copying.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// The counter columns, in the kernel's order.
    pub keys: Vec<Key>,
    rows: Vec<Row>,
    /// `keys.len()` counters per row.
    values: Values,
    /// The widths of every mapping, in `-A`'s range or not.
    all: Outline,
}

/// What procps 4.0.7's `-X -A` measures over every mapping, shown or not:
/// how many there are, and the widest Address, Offset, Device, Inode and
/// VmFlags (its columns are that wide, its header is printed if there is
/// any mapping).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Outline {
    mappings: usize,
    addr: usize,
    offset: usize,
    dev: usize,
    inode: usize,
    flags: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    start: u64,
    offset: u64,
    inode: u64,
    dev_major: u32,
    dev_minor: u32,
    perms: [u8; 4],
    /// Where `text` splits into the Mapping column and VmFlags.
    split: u32,
    /// The Mapping column, then VmFlags (`-XX` only).
    text: Box<str>,
}

impl Row {
    fn label(&self) -> &str {
        &self.text[..self.split as usize]
    }

    fn vm_flags(&self) -> &str {
        &self.text[self.split as usize..]
    }
}

/// The counters of every row. Counters are KiB, which 32 bits hold up to
/// 4 TiB: narrow until a wider value comes (a huge reservation's Size).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Values {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Default for Values {
    fn default() -> Values {
        Values::Narrow(Vec::new())
    }
}

impl Values {
    fn push(&mut self, value: u64) {
        match self {
            Values::Narrow(narrow) => match u32::try_from(value) {
                Ok(v) => narrow.push(v),
                Err(_) => {
                    let mut wide: Vec<u64> = narrow.iter().map(|&v| u64::from(v)).collect();
                    wide.push(value);
                    *self = Values::Wide(wide);
                }
            },
            Values::Wide(wide) => wide.push(value),
        }
    }

    /// The counters of row `row`, `width` per row.
    fn row(&self, row: usize, width: usize) -> impl Iterator<Item = u64> + '_ {
        let range = row * width..(row + 1) * width;
        let (narrow, wide) = match self {
            Values::Narrow(v) => (&v[range], &[][..]),
            Values::Wide(v) => (&[][..], &v[range]),
        };
        narrow
            .iter()
            .map(|&v| u64::from(v))
            .chain(wide.iter().copied())
    }
}

impl Table {
    /// Read `/proc/PID/smaps` into the table `opts` asks for.
    pub fn capture(pid: i32, opts: &Options) -> Result<Table, CaptureError> {
        let mut table = Table::default();
        let path = format!("/proc/{pid}/smaps");
        let mut parser = Parser::streaming(|region, keys| table.add(&region, keys, opts));
        if opts.format != Format::Everything {
            parser = parser.without_vm_flags();
        }
        feed_proc_file(pid, Path::new(&path), &mut parser)?;
        parser.finish().map_err(|source| CaptureError::Parse {
            path: path.into(),
            source,
        })?;
        Ok(table)
    }

    /// The table of a snapshot (a recorded capture, say).
    pub fn of(snapshot: &Snapshot, opts: &Options) -> Table {
        let mut table = Table::default();
        for region in &snapshot.regions {
            table.add(region, &snapshot.keys, opts);
        }
        table
    }

    fn add(&mut self, r: &Region, keys: &[Key], opts: &Options) {
        if self.rows.is_empty() {
            let everything = opts.format == Format::Everything;
            self.keys = keys
                .iter()
                .filter(|k| everything || !is_unimportant(k))
                .cloned()
                .collect();
        }
        let flags = if opts.format == Format::Everything {
            r.vm_flags.as_str()
        } else {
            ""
        };
        let all = &mut self.all;
        all.mappings += 1;
        all.addr = all.addr.max(hex_len(r.start, 8));
        all.offset = all.offset.max(hex_len(r.offset, 8));
        all.dev = all
            .dev
            .max(hex_len(u64::from(r.dev_major), 2) + 1 + hex_len(u64::from(r.dev_minor), 2));
        all.inode = all.inode.max(dec_len(r.inode));
        all.flags = all.flags.max(flags.len());
        if !opts.range.contains(r) {
            return;
        }
        for k in &self.keys {
            self.values.push(k.value(r));
        }
        // procps prints -X names raw, terminal escapes included: so does
        // its exact copy; lab's own view shows them as `?`.
        let label = if opts.exact {
            Cow::Borrowed(extended_label(r, opts))
        } else {
            printable(extended_label(r, opts))
        };
        let label = label.as_ref();
        self.rows.push(Row {
            start: r.start,
            offset: r.offset,
            inode: r.inode,
            dev_major: r.dev_major,
            dev_minor: r.dev_minor,
            perms: r.perms,
            split: u32::try_from(label.len()).unwrap_or(u32::MAX),
            text: if flags.is_empty() {
                label.into()
            } else {
                [label, flags].concat().into_boxed_str()
            },
        });
    }

    fn row_values(&self) -> impl Iterator<Item = impl Iterator<Item = u64> + '_> + '_ {
        (0..self.rows.len()).map(|i| self.values.row(i, self.keys.len()))
    }
}

/// `-X` and `-XX`: Address, Perm, Offset, Device, Inode, one column per smaps
/// counter in the kernel's order (VmFlags too with `-XX`), Mapping; then a
/// rule and the total of each counter. Columns are as wide as their widest
/// cell (header and total included, unless `-q`).
pub fn write_smaps(
    out: &mut impl Write,
    process: &Process,
    table: &Table,
    opts: &Options,
) -> io::Result<()> {
    write_smaps_after(out, process, table, opts, &mut Carried::default())
}

/// What procps's `-X` keeps from one process to the next of the same call
/// (used with [`Options::exact`]): its counter columns, their widths, and
/// before 4.0.4 their totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Carried {
    keys: Vec<Key>,
    widths: Vec<usize>,
    totals: Vec<u64>,
}

/// [`write_smaps`] for one of several processes: with [`Options::exact`],
/// as procps prints it after the processes `carried` has seen.
pub fn write_smaps_after(
    out: &mut impl Write,
    process: &Process,
    table: &Table,
    opts: &Options,
    carried: &mut Carried,
) -> io::Result<()> {
    write_process(out, process, opts)?;
    let keys = &table.keys;
    // procps 4.0.7 honours -A, but measures its columns over every mapping.
    let whole = opts.exact && opts.release.has_ranged_smaps();
    let no_mappings = if whole {
        table.all.mappings == 0
    } else {
        table.rows.is_empty()
    };
    // procps prints nothing more for a process without mappings (a kernel
    // thread, a zombie), nor when smaps has no counters; but after another
    // process of the same call it prints that one's rule and totals again.
    if no_mappings || keys.is_empty() {
        if opts.exact && !opts.quiet && !carried.keys.is_empty() {
            let mut b = Buf::new(out);
            b.spaces(5);
            for &w in &carried.widths {
                b.bytes.resize(b.bytes.len() + w, b'=');
                b.push(b" ");
            }
            b.end_row()?;
            b.spaces(5);
            for (&t, &w) in carried.totals.iter().zip(&carried.widths) {
                b.num(t, w);
                b.push(b" ");
            }
            b.push(b"KB ");
            b.end_row()?;
            b.flush()?;
            if opts.release >= Release::V4_0_4 {
                carried.totals.iter_mut().for_each(|t| *t = 0);
            }
        }
        return Ok(());
    }
    let carry = opts.exact && carried.keys == *keys;
    let mut totals = vec![0u64; keys.len()];
    let mut widest_value = vec![0usize; keys.len()];
    for values in table.row_values() {
        for (i, v) in values.enumerate() {
            totals[i] += v;
            widest_value[i] = widest_value[i].max(dec_len(v));
        }
    }
    let vm_flags = if whole {
        table.all.flags > 0
    } else {
        table.rows.iter().any(|r| !r.vm_flags().is_empty())
    };

    // Widths: the widest cell of each column (of every mapping for 4.0.7).
    let header = |w: usize, name: &str| if opts.quiet { w } else { w.max(name.len()) };
    let widest = |all: usize, f: &dyn Fn(&Row) -> usize| {
        if whole {
            all
        } else {
            table.rows.iter().map(f).max().unwrap_or(0)
        }
    };
    let addr_w = header(widest(table.all.addr, &|r| hex_len(r.start, 8)), "Address");
    let perm_w = header(4, "Perm");
    let offset_w = header(
        widest(table.all.offset, &|r| hex_len(r.offset, 8)),
        "Offset",
    );
    let dev_w = header(
        widest(table.all.dev, &|r| {
            hex_len(u64::from(r.dev_major), 2) + 1 + hex_len(u64::from(r.dev_minor), 2)
        }),
        "Device",
    );
    let inode_w = header(widest(table.all.inode, &|r| dec_len(r.inode)), "Inode");
    if carry {
        for (t, &before) in totals.iter_mut().zip(&carried.totals) {
            *t += before;
        }
    }
    let value_w: Vec<usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let w = if opts.quiet {
                widest_value[i]
            } else {
                k.name().len().max(dec_len(totals[i]))
            };
            if carry {
                w.max(carried.widths[i])
            } else {
                w
            }
        })
        .collect();
    if opts.exact {
        carried.keys = keys.clone();
        carried.widths = value_w.clone();
        // 4.0.4 sets its totals back to 0 once it has printed them.
        let reset = opts.release >= Release::V4_0_4 && !opts.quiet;
        carried.totals = if reset {
            vec![0; keys.len()]
        } else {
            totals.clone()
        };
    }
    let flags_w = header(widest(table.all.flags, &|r| r.vm_flags().len()), "VmFlags");

    let mut b = Buf::new(out);
    if !opts.quiet {
        for (name, w) in [
            ("Address", addr_w),
            ("Perm", perm_w),
            ("Offset", offset_w),
            ("Device", dev_w),
            ("Inode", inode_w),
        ] {
            b.right(name.as_bytes(), w);
            b.push(b" ");
        }
        for (k, &w) in keys.iter().zip(&value_w) {
            b.right(k.name().as_bytes(), w);
            b.push(b" ");
        }
        if vm_flags {
            b.right(b"VmFlags", flags_w);
            b.push(b" ");
        }
        b.push(b"Mapping");
        b.end_row()?;
    }
    // zero_tails[i]: the cells of columns i.. when they are all 0.
    let zero_tails: Vec<Vec<u8>> = (0..=keys.len())
        .map(|i| {
            let mut sink = io::sink();
            let mut tail = Buf::new(&mut sink);
            for &w in &value_w[i..] {
                tail.push(b" ");
                tail.num(0, w);
            }
            tail.bytes
        })
        .collect();
    let mut cells = vec![0u64; keys.len()];
    for (r, values) in table.rows.iter().zip(table.row_values()) {
        b.spaces(addr_w.saturating_sub(hex_len(r.start, 8)));
        b.hex(r.start, 8);
        b.push(b" ");
        b.right(&r.perms, perm_w);
        b.push(b" ");
        b.spaces(offset_w.saturating_sub(hex_len(r.offset, 8)));
        b.hex(r.offset, 8);
        b.push(b" ");
        let dev_len = hex_len(u64::from(r.dev_major), 2) + 1 + hex_len(u64::from(r.dev_minor), 2);
        b.spaces(dev_w.saturating_sub(dev_len));
        b.hex(u64::from(r.dev_major), 2);
        b.push(b":");
        b.hex(u64::from(r.dev_minor), 2);
        b.push(b" ");
        b.num(r.inode, inode_w);
        // Most counters of most rows are 0 (KSM, LazyFree, hugetlb, Swap…):
        // past a row's last non-zero counter, a prepared run of zero cells.
        let mut last = 0;
        for (i, v) in values.enumerate() {
            cells[i] = v;
            if v != 0 {
                last = i + 1;
            }
        }
        for (&v, &w) in cells[..last].iter().zip(&value_w) {
            b.push(b" ");
            b.num(v, w);
        }
        b.push(&zero_tails[last]);
        if vm_flags {
            b.push(b" ");
            b.right(r.vm_flags().as_bytes(), flags_w);
        }
        b.push(b" ");
        b.push(r.label().as_bytes());
        b.end_row()?;
    }
    if !opts.quiet {
        let gap = addr_w + perm_w + offset_w + dev_w + inode_w + 5;
        b.spaces(gap);
        for &w in &value_w {
            b.bytes.resize(b.bytes.len() + w, b'=');
            b.push(b" ");
        }
        b.end_row()?;
        b.spaces(gap);
        for (&t, &w) in totals.iter().zip(&value_w) {
            b.num(t, w);
            b.push(b" ");
        }
        b.push(b"KB ");
        b.end_row()?;
    }
    b.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_take_procps_forms() {
        let r = |s| Range::parse(s).unwrap();
        assert_eq!(
            r("1000,2000"),
            Range {
                low: 0x1000,
                high: 0x2000
            }
        );
        assert_eq!(
            r("0x1000,"),
            Range {
                low: 0x1000,
                high: u64::MAX
            }
        );
        assert_eq!(
            r(",7fff"),
            Range {
                low: 0,
                high: 0x7fff
            }
        );
        assert_eq!(
            r("abc"),
            Range {
                low: 0xabc,
                high: 0xabc
            }
        );
        assert_eq!(r(""), Range::default());
        for bad in ["zz", "1,2,3", "0x", "12345678901234567", "-1"] {
            assert!(Range::parse(bad).is_err(), "{bad}");
        }
    }

    /// Each release's escaping, as builds of procps-ng 4.0.2, 4.0.4, 4.0.5
    /// and 4.0.6 print these command lines in a UTF-8 locale (bytes they
    /// print raw though not UTF-8 are `?` here, the one difference).
    #[test]
    fn command_lines_are_escaped_as_each_release_does() {
        use Release::*;
        let cases: &[(&[u8], [&str; 3])] = &[
            // input, then 4.0.2, 4.0.4, 4.0.5 and 4.0.6
            (b"a\x01b\x7fc", ["a?b?c", "a?b?c", "a?b?c"]),
            (b"c1\xc2\x85x", ["c1\u{85}x", "c1??x", "c1??x"]),
            (
                b"bad\xffbyte\x01\xc3\xa9",
                ["bad?byte.??", "bad?byte?\u{e9}", "bad?byte?\u{e9}"],
            ),
            (b"trunc\xe2\x82", ["trunc??", "trunc??", "trunc??"]),
            (
                b"pua\xee\x80\x80x",
                ["pua\u{e000}x", "pua\u{e000}x", "pua???x"],
            ),
            (b"\xf3\xb0\x80\x80a", ["\u{f0000}a", "\u{f0000}a", "????a"]),
            (
                b"\xf3\xbf\xbf\xbek",
                ["\u{ffffe}k", "\u{ffffe}k", "\u{ffffe}k"],
            ),
            (b"tab\there", ["tab?here", "tab?here", "tab?here"]),
            (
                b"late\x01\xc3\xa9\x80\x01\xe9z",
                ["late?\u{e9}?.?z", "late?\u{e9}???z", "late?\u{e9}???z"],
            ),
        ];
        for (input, [v2, v4, v5]) in cases {
            for (release, want) in [
                (V4_0_2, v2),
                (V4_0_4, v4),
                (V4_0_5, v5),
                (V4_0_6, v5),
                (V4_0_7, v5),
            ] {
                assert_eq!(escape(input, release), *want, "{release:?} {input:?}");
            }
        }
    }

    #[test]
    fn names_keep_utf8_from_4_0_5() {
        let name = || Cow::Borrowed("h\u{e4}llo\tx");
        assert_eq!(name_as(name(), Release::V4_0_2), "h??llo?x");
        assert_eq!(name_as(name(), Release::V4_0_4), "h??llo?x");
        assert_eq!(name_as(name(), Release::V4_0_5), "h\u{e4}llo\tx");
    }

    #[test]
    fn releases_are_named_by_their_version() {
        assert_eq!(Release::parse("4.0.3"), Some(Release::V4_0_2));
        assert_eq!(Release::parse("4.0.4"), Some(Release::V4_0_4));
        assert_eq!(Release::parse("3.3.17"), Some(Release::V3_3_17));
        assert_eq!(Release::parse("4.0.0"), Some(Release::V4_0_2));
        assert_eq!(Release::parse("4.0.1"), Some(Release::V4_0_2));
        assert_eq!(Release::parse("4.0.7"), Some(Release::V4_0_7));
        assert_eq!(Release::parse("3.3.16"), None);
        assert_eq!(Release::parse("4.0.8"), None);
        assert_eq!(
            Release::version_in("pmap from procps-ng 4.0.2\n"),
            Some("4.0.2")
        );
        assert_eq!(Release::version_in("pmap (procps) 3.2.8"), None);
        for r in Release::ALL {
            assert_eq!(Release::parse(r.version()), Some(r));
        }
        assert!(Release::V4_0_6.has_kernel_names() && !Release::V4_0_5.has_kernel_names());
        assert!(Release::V4_0_7.has_ranged_smaps() && !Release::V4_0_6.has_ranged_smaps());
    }

    #[test]
    fn a_newer_version_is_followed_as_the_newest_with_a_note() {
        assert_eq!(
            Release::follow("4.0.4"),
            Some(Follow::Known(Release::V4_0_4))
        );
        for newer in ["4.0.8", "4.1", "4.0.10", "5.0.0"] {
            match Release::follow(newer) {
                Some(Follow::Newer(Release::V4_0_7, note)) => {
                    assert!(note.contains(newer) && note.contains("4.0.7"), "{note}");
                    assert!(!note.contains('\n'), "{note}");
                }
                other => panic!("{newer}: {other:?}"),
            }
        }
        for older_or_not in ["3.3.16", "3.3.15", "4.0.2.x", "", "4.0.7rc1"] {
            assert_eq!(Release::follow(older_or_not), None, "{older_or_not:?}");
        }
    }

    /// As procps 3.3.17 printed them, measured in a Debian 11 root (glibc
    /// 2.31, C.UTF-8) on processes with these command lines.
    #[test]
    fn command_lines_of_3_3_17_as_measured() {
        let v3 = |cmdline: &[u8]| command_text_as(cmdline, b"cat", false, Release::V3_3_17);
        assert_eq!(v3(b"a\xc2\x85b\0-c\0read x\0x\0"), "a?b -c read x x");
        assert_eq!(v3(b"a\xed\xa0\x80b\0"), "a???b");
        assert_eq!(v3(b"a\xc0\xafb\xe0\x80\xafc\0"), "a??b???c");
        assert_eq!(v3(b"a\xf4\x90\x80\x80b\0"), "a?b");
        assert_eq!(v3(b"a\xe2\x80\xa8b\xe2\x80\xa9c\0"), "a?b?c");
        assert_eq!(
            v3(b"a\xee\x80\x80b\xf3\xb0\x80\x80c\0"),
            "a\u{e000}b\u{f0000}c"
        );
        // U+0378 unassigned; U+1FAF9 assigned only in Unicode 14.
        assert_eq!(v3(b"a\xcd\xb8b\xf0\x9f\xab\xb9c\0"), "a?b?c");
        assert_eq!(
            v3(b"a\x01b\x7fc\0-c\0read x\0d\ne\0\0f\tg\0"),
            "a?b?c -c read x d e  f?g"
        );
        assert_eq!(v3(b"\0"), "");
        assert_eq!(v3(b"a\0-c\0read x\0\0\0"), "a -c read x  ");
        assert_eq!(v3(b"\xffx\xc3\xa9\xe2\x82\0"), "?x\u{e9}??");
        // 5- and 6-byte forms and F5-F7 leads: decoded, not printable.
        assert_eq!(
            v3(b"|\xf5\x80\x80\x80|\xf8\x88\x80\x80\x80|\xfc\x84\x80\x80\x80\x80|\0"),
            "|?|?|?|"
        );
        // Cut at 511 bytes, a space only with 3 bytes left.
        let long = |n: usize| [vec![b'y'; n], b"\0-c\0read x\0".to_vec()].concat();
        assert_eq!(v3(&long(509)), format!("{} -", "y".repeat(509)));
        assert_eq!(v3(&long(508)), format!("{} -c", "y".repeat(508)));
        let wide = [
            vec![b'x'; 300],
            b"\0-c\0read x\0".to_vec(),
            "\u{e9}".repeat(200).into_bytes(),
        ]
        .concat();
        let shown = v3(&wide);
        // 311 bytes before the last argument, 201 left for it: a 2-byte
        // character fits while 2 bytes are left after it: 99 of them.
        assert_eq!(shown.len(), 509, "{shown}");
        assert!(shown.ends_with(&format!("read x {}", "\u{e9}".repeat(99))));
        // No command line: [comm], and no <defunct> for a zombie.
        assert_eq!(command_text_as(b"", b"sh", true, Release::V3_3_17), "[sh]");
        assert_eq!(
            command_text_as(b"", b"sh", true, Release::V4_0_2),
            "[sh] <defunct>"
        );
    }

    #[test]
    fn a_command_line_of_nuls_is_a_mark_from_4_0() {
        for (release, want) in [
            (Release::V3_3_17, ""),
            (Release::V4_0_2, "?"),
            (Release::V4_0_5, "?"),
            (Release::V4_0_6, "-"),
            (Release::V4_0_7, "-"),
        ] {
            assert_eq!(command_text_as(b"\0", b"x", false, release), want);
        }
        // A command line not ending in NUL loses a last space or newline.
        assert_eq!(
            command_text_as(b"a\0b ", b"x", false, Release::V4_0_7),
            "a b"
        );
        assert_eq!(
            command_text_as(b"a\0b\n", b"x", false, Release::V4_0_2),
            "a b"
        );
    }

    #[test]
    fn the_kernel_rule_of_procps_k_takes_a_slash_first() {
        let p = Process {
            pid: 1,
            command: String::new(),
            start_stack: 0,
        };
        let k = Options {
            labels: Labels::ProcpsKernel,
            ..Options::default()
        };
        for (line, want) in [
            ("1000-2000 rw-p 0 00:00 0 [heap]", "[heap]"),
            ("1000-2000 rw-p 0 00:00 0 [anon:a/b]", "b]"),
            ("1000-2000 rw-p 0 00:00 0 ", "  [ anon ]"),
            ("0-2000 rw-p 0 00:00 0 ", "  [ stack ]"),
        ] {
            let r = Mapping::of(&region(line));
            assert_eq!(mapping_label(&r, &p, &k), want, "{line}");
        }
    }

    #[test]
    fn commands_are_escaped_as_procps_does() {
        assert_eq!(
            command_text(b"python3\0-c\0a\tb\0new\nline\0\0", b"x", false),
            "python3 -c a?b new line"
        );
        assert_eq!(
            command_text(b"\xc3\xbc\x01\x7f\xff", b"x", false),
            "\u{fc}???"
        );
        assert_eq!(command_text(b"a\xc2\x85b", b"x", false), "a??b");
        assert_eq!(command_text(b"", b"kthreadd", false), "[kthreadd]");
        assert_eq!(command_text(b"", b"sh", true), "[sh] <defunct>");
        assert_eq!(command_text(b"\0\0", b"a\nb", false), "-");
        assert_eq!(command_text(b"", b"a\nb", false), "[a?b]");
    }

    fn region(line: &str) -> Region {
        crate::smaps::parse(line.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn labels_follow_procps_rules_and_kernel_names() {
        let p = Process {
            pid: 1,
            command: String::new(),
            start_stack: 0x7ffc_0000_1000,
        };
        let kernel = Options::default();
        let procps = Options {
            labels: Labels::Procps,
            ..kernel
        };
        let path = Options {
            show_path: true,
            ..kernel
        };
        let cases = [
            (
                "1000-2000 r--p 0 fe:00 5 /usr/lib/libc.so.6",
                "libc.so.6",
                "libc.so.6",
                "/usr/lib/libc.so.6",
            ),
            (
                "1000-2000 rw-p 0 00:00 0 [heap]",
                "[heap]",
                "  [ anon ]",
                "[heap]",
            ),
            (
                "7ffc00000000-7ffc00001000 rw-p 0 00:00 0 [stack]",
                "[stack]",
                "  [ stack ]",
                "[stack]",
            ),
            (
                "1000-2000 rw-p 0 00:00 0 ",
                "  [ anon ]",
                "  [ anon ]",
                "  [ anon ]",
            ),
            (
                "1000-2000 rw-s 0 00:01 32820 /SYSV00000000 (deleted)",
                "  [ shmid=0x8034 ]",
                "  [ shmid=0x8034 ]",
                "  [ shmid=0x8034 ]",
            ),
            (
                "1000-2000 r--p 0 fe:00 5 /tmp/x/gone (deleted)",
                "gone (deleted)",
                "gone (deleted)",
                "/tmp/x/gone (deleted)",
            ),
            (
                "1000-2000 rw-p 0 00:00 0 [anon:a/b]",
                "[anon:a/b]",
                "b]",
                "[anon:a/b]",
            ),
        ];
        for (line, ours, theirs, full) in cases {
            let r = Mapping::of(&region(line));
            assert_eq!(mapping_label(&r, &p, &kernel), ours, "{line}");
            assert_eq!(mapping_label(&r, &p, &procps), theirs, "{line}");
            assert_eq!(mapping_label(&r, &p, &path), full, "{line}");
        }
    }

    #[test]
    fn a_range_keeps_the_mappings_it_overlaps() {
        let r = region("1000-3000 r--p 0 00:00 0");
        let range = |s| Range::parse(s).unwrap();
        assert!(range("2fff").contains(&r));
        assert!(!range("3000").contains(&r));
        assert!(range("0,1000").contains(&r));
        assert!(!range("0,fff").contains(&r));
    }
}
