//! `lab pmap`: procps-ng `pmap` on any process, with the kernel's names and
//! right totals. Only argument handling and the choice of capture live here;
//! the formats are `pmap_view::pmap`.
//!
//! Exit status as procps: 0, 42 when a PID was not found, 1 when a process
//! could not be read (and 43 for both); 1 for a PID or range that is not one
//! (procps prints its usage then), 2 for other usage errors (clap).
//!
//! Which procps: where procps-ng releases print differently (3.3.17
//! escapes command lines argument by argument; 4.0.2 and 4.0.4 differ in
//! `-X` over several processes and in escaping command lines; 4.0.5 keeps
//! UTF-8 names; 4.0.6 adds `-k`; 4.0.7 honours `-A` with `-X`; see
//! docs/pmap.md), `lab pmap` follows the newest, 4.0.7, unless
//! `--procps-compat VERSION` names another, or `auto`: the version of the
//! procps `pmap` installed (its `pmap -V`), asked only then. A version newer
//! than 4.0.7 is followed as 4.0.7, with a note on stderr.
//!
//! Run as `pmap` (a link named `pmap` to `lab`), it is procps's `pmap`
//! itself: [`run_as_pmap`] takes procps's options the way procps does
//! (GNU getopt's rules and messages), prints its usage, messages and exit
//! codes, and its output byte for byte, its mistakes included
//! ([`Options::exact`]), with procps's names. The release it follows is
//! `$LAB_PMAP_PROCPS` (a version, or `auto`), else the newest.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use clap::{ArgAction, ArgGroup, Args};
use pmap_view::pmap::{
    self, Carried, Follow, Format, Labels, Mapping, Options, Process, Range, Release, Table,
};
use pmap_view::resident;
use pmap_view::{json, CaptureError, Snapshot};

/// Options of `lab pmap`, spelled as procps spells them.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("format").args(["extended", "more", "device", "json"])))]
pub struct PmapArgs {
    /// Show Kbytes, RSS and Dirty of each mapping.
    #[arg(short = 'x', long)]
    extended: bool,
    /// Show smaps counters: -X the main ones, -XX all of them and VmFlags.
    #[arg(short = 'X', action = ArgAction::Count)]
    more: u8,
    /// Show the offset and device of each mapping, and the mapped,
    /// writeable/private and shared sizes.
    #[arg(short = 'd', long)]
    device: bool,
    /// Print no header and no footer.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Show a file's full path instead of its name.
    #[arg(short = 'p', long)]
    show_path: bool,
    /// Show only the mappings overlapping LOW,HIGH (hexadecimal; `LOW,`,
    /// `,HIGH`, or one address).
    #[arg(
        short = 'A',
        long,
        value_name = "LOW[,HIGH]",
        allow_hyphen_values = true
    )]
    range: Option<String>,
    /// Print each process as a JSON document (its fields: docs/json.md).
    #[arg(long)]
    json: bool,
    /// Name mappings as procps does (`[ anon ]`, `[ stack ]`) instead of as
    /// the kernel does (`[heap]`, `[stack]`, `[vdso]`).
    #[arg(long)]
    procps: bool,
    /// The kernel's names (procps 4.0.6's option; lab's default). With
    /// --procps: procps's own -k rule (a name with a `/` shows its last part).
    #[arg(short = 'k', long)]
    use_kernel_name: bool,
    /// Print as this procps-ng release does where releases differ (3.3.17,
    /// 4.0.0 to 4.0.7; default the newest, 4.0.7; a newer one as 4.0.7, with
    /// a note), or `auto`: as the installed procps `pmap` (asked with `pmap
    /// -V`). See docs/pmap.md for what differs.
    #[arg(long, value_name = "VERSION|auto")]
    procps_compat: Option<String>,
    /// Processes (or threads, shown as their process), as numbers or /proc/PID.
    #[arg(required = true, value_name = "PID", allow_negative_numbers = true)]
    pids: Vec<String>,
}

/// What became of one process.
enum Outcome {
    Shown,
    NotFound,
    Failed,
    /// stdout was closed (`lab pmap -x PID | head -1`).
    Stopped,
    /// stdout could not be written (a full disk, /dev/full).
    WriteFailed(io::Error),
}

pub fn run(args: &PmapArgs) -> ExitCode {
    let release = match args.procps_compat.as_deref().map(choose_release) {
        None => Release::NEWEST,
        Some(Ok(follow)) => {
            if let Follow::Newer(_, note) = &follow {
                say!("lab pmap: note: {note}");
            }
            follow.release()
        }
        Some(Err(e)) => return usage(&e),
    };
    let range = match args.range.as_deref().map(Range::parse).transpose() {
        Ok(range) => range.unwrap_or_default(),
        Err(e) => return usage(&e.to_string()),
    };
    let mut pids = Vec::with_capacity(args.pids.len());
    for arg in &args.pids {
        match parse_pid(arg) {
            Some(pid) => pids.push(pid),
            None => {
                return usage(&format!(
                    "`{arg}` is not a process ID (a number from 1 to {})",
                    i32::MAX
                ))
            }
        }
    }
    let opts = Options {
        format: match (args.extended, args.more, args.device) {
            (true, _, _) => Format::Extended,
            (_, 1, _) => Format::More,
            (_, 2.., _) => Format::Everything,
            (_, _, true) => Format::Device,
            _ => Format::Default,
        },
        quiet: args.quiet,
        show_path: args.show_path,
        range,
        labels: match (args.procps, args.use_kernel_name) {
            (true, true) => Labels::ProcpsKernel,
            (true, false) => Labels::Procps,
            (false, _) => Labels::Kernel,
        },
        release,
        exact: false,
    };
    show_all(&pids, &opts, args.json, Voice::Lab)
}

/// `--procps-compat`'s (or `$LAB_PMAP_PROCPS`'s) release: a release lab
/// knows, or the newest for a newer one (the caller prints the note).
fn choose_release(asked: &str) -> Result<Follow, String> {
    if asked == "auto" {
        return installed_release();
    }
    Release::follow(asked).ok_or_else(|| {
        format!(
            "procps-ng `{asked}`: lab follows {} (a newer version as {}), or `auto`",
            Release::KNOWN,
            Release::NEWEST.version()
        )
    })
}

/// The release of the procps `pmap` first in `$PATH` that is not lab
/// itself, from its `pmap -V`.
fn installed_release() -> Result<Follow, String> {
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("pmap");
        let Ok(real) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if Some(&real) == me.as_ref() || !is_executable(&real) {
            continue;
        }
        let Ok(out) = std::process::Command::new(&candidate)
            .arg("-V")
            .env("LC_ALL", "C")
            .output()
        else {
            continue;
        };
        let line = String::from_utf8_lossy(&out.stdout);
        if line.contains("pmap lab") {
            continue; // another copy of lab
        }
        let Some(version) = Release::version_in(&line) else {
            return Err(format!(
                "{} -V does not say which procps-ng it is ({:?}): name the release with --procps-compat",
                candidate.display(),
                line.trim()
            ));
        };
        return Release::follow(version).ok_or_else(|| {
            format!(
                "{} is procps-ng {version}, whose output lab does not know (it knows {}): name the release to follow with --procps-compat",
                candidate.display(),
                Release::KNOWN
            )
        });
    }
    Err("no procps `pmap` in $PATH to follow (--procps-compat auto): install procps, or name the release".into())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Who speaks: `lab pmap` explains on stderr; procps's `pmap` says nothing
/// of a process it did not find or could not read (only its exit status).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Voice {
    Lab,
    Procps,
}

fn show_all(pids: &[i32], opts: &Options, as_json: bool, voice: Voice) -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (mut missing, mut failed) = (false, false);
    let mut carried = Carried::default();
    for &pid in pids {
        match show(&mut out, pid, opts, as_json, voice, &mut carried) {
            Outcome::Shown => {}
            Outcome::NotFound => missing = true,
            Outcome::Failed => failed = true,
            Outcome::Stopped => break,
            Outcome::WriteFailed(e) => return write_error(&e),
        }
    }
    // The last rows are still in the buffer: a full disk shows only here.
    match out.flush() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return write_error(&e),
        _ => {}
    }
    // procps ORs 1 (a process it could not read) with 42 (not all found).
    ExitCode::from(u8::from(failed) | if missing { 42 } else { 0 })
}

/// A PID as procps takes it: a decimal number from 1 to 2^31-1, or /proc/PID.
fn parse_pid(arg: &str) -> Option<i32> {
    let digits = arg.strip_prefix("/proc/").unwrap_or(arg);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i32>().ok().filter(|&pid| pid > 0)
}

/// As procps: `write error: No space left on device`, exit 1.
fn write_error(e: &io::Error) -> ExitCode {
    let text = e.to_string();
    let text = text.split(" (os error ").next().unwrap_or(&text);
    say!("lab pmap: write error: {text}");
    ExitCode::FAILURE
}

fn usage(message: &str) -> ExitCode {
    say!("lab pmap: {message}");
    ExitCode::FAILURE
}

fn show(
    out: &mut impl Write,
    pid: i32,
    opts: &Options,
    as_json: bool,
    voice: Voice,
    carried: &mut Carried,
) -> Outcome {
    let lab = voice == Voice::Lab;
    let process = match Process::read_as(pid, opts.release) {
        Ok(process) => process,
        Err(e) => {
            let _ = out.flush(); // what came before goes first
            if lab {
                say!("lab pmap: {e}");
            }
            return match e {
                CaptureError::NotFound(_) => Outcome::NotFound,
                _ => Outcome::Failed,
            };
        }
    };
    match capture_and_write(out, &process, opts, as_json, carried) {
        Ok(Ok(())) => {
            // An empty map is the truth for these, but say why (on stderr: the
            // table itself stays what procps prints).
            if let Some(why) = no_map_reason(pid).filter(|_| lab) {
                let _ = out.flush();
                say!("lab pmap: process {pid} {why}");
            }
            Outcome::Shown
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Outcome::Stopped,
        Ok(Err(e)) => Outcome::WriteFailed(e),
        Err(e) => {
            // As procps: the process's line, then the failure (exit 1, even
            // if it has just exited: it was found).
            if !as_json {
                let _ = pmap::write_process(out, &process, opts);
            }
            let _ = out.flush();
            if lab {
                say!("lab pmap: {e}");
            }
            Outcome::Failed
        }
    }
}

/// Why a process has no memory map, if it has none: it has exited and waits
/// to be reaped (a zombie), or it is a kernel thread (no user address space).
pub(crate) fn no_map_reason(pid: i32) -> Option<&'static str> {
    pmap_view::stat::ProcStat::read(pid)?.no_map_reason()
}

/// Capture `process` as `opts` needs, and write it.
fn capture_and_write(
    out: &mut impl Write,
    process: &Process,
    opts: &Options,
    as_json: bool,
    carried: &mut Carried,
) -> Result<io::Result<()>, CaptureError> {
    let pid = process.pid;
    if as_json {
        let snapshot = Snapshot::capture(pid)?;
        return Ok(write_json(out, process, &snapshot, opts));
    }
    Ok(match opts.format {
        Format::Default => pmap::write_default(out, process, &pmap::read_maps(pid)?, opts),
        Format::Device => pmap::write_device(out, process, &pmap::read_maps(pid)?, opts),
        Format::Extended => {
            let mappings = match resident::capture(pid)? {
                Some(mappings) => mappings,
                // No numa_maps, or the process changed between reads: smaps.
                None => {
                    let snapshot = Snapshot::capture(pid)?;
                    snapshot.regions.iter().map(Mapping::of).collect()
                }
            };
            pmap::write_extended(out, process, &mappings, opts)
        }
        Format::More | Format::Everything => {
            pmap::write_smaps_after(out, process, &Table::capture(pid, opts)?, opts, carried)
        }
    })
}

/// One JSON document per process: its pid, command, totals and regions.
fn write_json(
    out: &mut impl Write,
    process: &Process,
    snapshot: &Snapshot,
    opts: &Options,
) -> io::Result<()> {
    let shown = snapshot.regions.iter().filter(|r| opts.range.contains(r));
    json::write_process_document(
        out,
        process.pid,
        &process.command,
        shown,
        snapshot.page_tables_kib,
    )
}

// ------------------------------------------------------------ run as `pmap`

/// The name lab was started by, when it is `pmap` (`argv[0]`'s last part):
/// then lab is procps's `pmap` ([`run_as_pmap`]).
pub fn invoked_as_pmap() -> bool {
    std::env::args_os()
        .next()
        .is_some_and(|arg0| Path::new(&arg0).file_name() == Some("pmap".as_ref()))
}

/// Whether an option takes an argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HasArg {
    No,
    Required,
}

/// procps pmap's long options, in its order (getopt lists the candidates of
/// an ambiguous abbreviation in this order).
const LONG_OPTIONS: &[(&str, HasArg, u8)] = &[
    ("extended", HasArg::No, b'x'),
    ("device", HasArg::No, b'd'),
    ("quiet", HasArg::No, b'q'),
    ("range", HasArg::Required, b'A'),
    ("help", HasArg::No, b'h'),
    ("version", HasArg::No, b'V'),
    ("read-rc", HasArg::No, b'c'),
    ("read-rc-from", HasArg::Required, b'C'),
    ("create-rc", HasArg::No, b'n'),
    ("create-rc-to", HasArg::Required, b'N'),
    ("show-path", HasArg::No, b'p'),
    ("use-kernel-name", HasArg::No, b'k'),
];

/// What procps's command line set.
#[derive(Default)]
struct PmapFlags {
    c: bool,
    big_c: bool,
    d: bool,
    n: bool,
    big_n: bool,
    q: bool,
    x: bool,
    big_x: u32,
    p: bool,
    k: bool,
    low: Option<u64>,
    high: Option<u64>,
}

/// One step of GNU getopt_long over procps's options.
enum Got {
    Option(u8, Option<Vec<u8>>),
    /// getopt's message is printed; procps then prints its usage (exit 1).
    Bad,
}

/// `lab` run as `pmap`: procps-ng's pmap (the release of `$LAB_PMAP_PROCPS`,
/// else the newest lab knows), options, messages, exit codes and output.
pub fn run_as_pmap() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let arg0 = argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = Path::new(&arg0)
        .file_name()
        .map_or("pmap".into(), |n| n.to_string_lossy().into_owned());
    let release = match std::env::var("LAB_PMAP_PROCPS") {
        Ok(asked) if !asked.is_empty() => match choose_release(&asked) {
            Ok(follow) => {
                if let Follow::Newer(_, note) = &follow {
                    say!("{name}: LAB_PMAP_PROCPS: note: {note}");
                }
                follow.release()
            }
            Err(e) => {
                say!("{name}: LAB_PMAP_PROCPS: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => Release::NEWEST,
    };
    let args: Vec<Vec<u8>> = argv.iter().skip(1).map(|a| a.as_bytes().to_vec()).collect();
    if args.is_empty() {
        return pmap_usage(&name, release, true);
    }
    let (steps, operands) = getopt(&arg0, &args, release);
    let mut f = PmapFlags::default();
    for step in steps {
        match step {
            Got::Bad => return pmap_usage(&name, release, true),
            Got::Option(c, arg) => match c {
                b'x' => f.x = true,
                b'X' => f.big_x += 1,
                b'r' => say!("{name}: option -r is ignored as SunOS compatibility"),
                b'd' => f.d = true,
                b'q' => f.q = true,
                b'A' => {
                    let arg = arg.unwrap_or_default();
                    if let Err(()) = procps_range(&arg, &mut f.low, &mut f.high) {
                        say!(
                            "{name}: failed to parse argument: '{}'",
                            String::from_utf8_lossy(&arg)
                        );
                        return ExitCode::FAILURE;
                    }
                }
                b'h' => return pmap_usage(&name, release, false),
                b'V' => {
                    println!(
                        "{name} from procps-ng {} (pmap lab {})",
                        release.version(),
                        env!("CARGO_PKG_VERSION")
                    );
                    return ExitCode::SUCCESS;
                }
                b'c' => f.c = true,
                b'C' => f.big_c = true,
                b'n' => f.n = true,
                b'N' => f.big_n = true,
                b'p' => f.p = true,
                b'k' => f.k = true,
                _ => return pmap_usage(&name, release, true),
            },
        }
    }
    let fail = |message: &str| {
        say!("{name}: {message}");
        ExitCode::FAILURE
    };
    let formats = [f.c, f.big_c, f.d, f.n, f.big_n, f.x, f.big_x > 0];
    if formats.iter().filter(|&&b| b).count() > 1 {
        return fail("options -c, -C, -d, -n, -N, -x, -X are mutually exclusive");
    }
    let rc_create = f.n || f.big_n;
    if rc_create && (f.q || f.p) {
        return fail("options -p, -q are mutually exclusive with -n, -N");
    }
    if rc_create && !operands.is_empty() {
        return fail("too many arguments");
    }
    if rc_create {
        return fail("rc files (-n, -N) are not supported by lab's pmap");
    }
    if operands.is_empty() {
        return fail("argument missing");
    }
    if f.c || f.big_c {
        return fail("rc files (-c, -C) are not supported by lab's pmap");
    }
    let mut pids = Vec::new();
    for operand in &operands {
        let mut walk = &operand[..];
        if let Some(rest) = walk.strip_prefix(b"/proc/") {
            walk = rest;
            if !walk.first().is_some_and(u8::is_ascii_digit) {
                continue; // procps skips `/proc/self` and the like
            }
        }
        if !walk.first().is_some_and(u8::is_ascii_digit) {
            return pmap_usage(&name, release, true);
        }
        match strtoul_base0(walk) {
            Some(pid @ 1..=0x7fff_ffff) => pids.push(pid as i32),
            _ => return pmap_usage(&name, release, true),
        }
    }
    if pids.is_empty() {
        // Only `/proc/NAME`s that are no PID: 4.0's library refuses an empty
        // list; 3.3.17's reads no process and has not missed any.
        if release == Release::V3_3_17 {
            return ExitCode::SUCCESS;
        }
        return fail("library failed pids statistics");
    }
    let format = match (f.x, f.big_x, f.d) {
        (true, _, _) => Format::Extended,
        (_, 1, _) => Format::More,
        (_, 2.., _) => Format::Everything,
        (_, _, true) => Format::Device,
        _ => Format::Default,
    };
    let range = Range {
        low: f.low.unwrap_or(0),
        high: f.high.unwrap_or(u64::MAX),
    };
    let opts = Options {
        format,
        quiet: f.q,
        show_path: f.p,
        // Every release up to 4.0.6 ignores -A with -X.
        range: if matches!(format, Format::More | Format::Everything) && !release.has_ranged_smaps()
        {
            Range::default()
        } else {
            range
        },
        labels: if f.k {
            Labels::ProcpsKernel
        } else {
            Labels::Procps
        },
        release,
        exact: true,
    };
    show_all(&pids, &opts, false, Voice::Procps)
}

/// GNU getopt_long over procps's options (`xXrdqA:hVcC:nN:p`, and `k` from
/// 4.0.6), permuting (options may follow PIDs) unless `$POSIXLY_CORRECT`:
/// the options in order (stopping at the first error, whose message getopt
/// prints as glibc words it) and the operands.
fn getopt(arg0: &str, args: &[Vec<u8>], release: Release) -> (Vec<Got>, Vec<Vec<u8>>) {
    let with_arg = |c: u8| matches!(c, b'A' | b'C' | b'N');
    let known = |c: u8| b"xXrdqAhVcCnNp".contains(&c) || (c == b'k' && release.has_kernel_names());
    let longs: Vec<&(&str, HasArg, u8)> = LONG_OPTIONS
        .iter()
        .filter(|(_, _, c)| *c != b'k' || release.has_kernel_names())
        .collect();
    let posix = std::env::var_os("POSIXLY_CORRECT").is_some();
    let (mut steps, mut operands) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == b"--" {
            operands.extend(args[i..].iter().cloned());
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            operands.push(arg.clone());
            if posix {
                operands.extend(args[i..].iter().cloned());
                break;
            }
            continue;
        }
        if let Some(body) = arg.strip_prefix(b"--") {
            let (name, value) = match body.iter().position(|&b| b == b'=') {
                Some(eq) => (&body[..eq], Some(body[eq + 1..].to_vec())),
                None => (body, None),
            };
            let typed = String::from_utf8_lossy(body);
            let exact = longs.iter().find(|(n, _, _)| n.as_bytes() == name);
            let candidates: Vec<&&(&str, HasArg, u8)> = longs
                .iter()
                .filter(|(n, _, _)| n.as_bytes().starts_with(name))
                .collect();
            let found = match (exact, candidates.len()) {
                (Some(o), _) => *o,
                (None, 1) => *candidates[0],
                (None, 0) => {
                    say!("{arg0}: unrecognized option '--{typed}'");
                    steps.push(Got::Bad);
                    return (steps, operands);
                }
                (None, _) => {
                    let names: Vec<String> = candidates
                        .iter()
                        .map(|(n, _, _)| format!(" '--{n}'"))
                        .collect();
                    say!(
                        "{arg0}: option '--{typed}' is ambiguous; possibilities:{}",
                        names.concat()
                    );
                    steps.push(Got::Bad);
                    return (steps, operands);
                }
            };
            let (long, has_arg, c) = *found;
            match (has_arg, value) {
                (HasArg::No, Some(_)) => {
                    say!("{arg0}: option '--{long}' doesn't allow an argument");
                    steps.push(Got::Bad);
                    return (steps, operands);
                }
                (HasArg::No, None) => steps.push(Got::Option(c, None)),
                (HasArg::Required, Some(v)) => steps.push(Got::Option(c, Some(v))),
                (HasArg::Required, None) => match args.get(i) {
                    Some(v) => {
                        i += 1;
                        steps.push(Got::Option(c, Some(v.clone())));
                    }
                    None => {
                        say!("{arg0}: option '--{long}' requires an argument");
                        steps.push(Got::Bad);
                        return (steps, operands);
                    }
                },
            }
            continue;
        }
        // A cluster of short options: -xq, -A1000, -A 1000.
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            j += 1;
            if !known(c) {
                say!("{arg0}: invalid option -- '{}'", char::from(c));
                steps.push(Got::Bad);
                return (steps, operands);
            }
            if !with_arg(c) {
                steps.push(Got::Option(c, None));
                continue;
            }
            if j < arg.len() {
                steps.push(Got::Option(c, Some(arg[j..].to_vec())));
            } else if let Some(v) = args.get(i) {
                i += 1;
                steps.push(Got::Option(c, Some(v.clone())));
            } else {
                say!("{arg0}: option requires an argument -- '{}'", char::from(c));
                steps.push(Got::Bad);
                return (steps, operands);
            }
            break;
        }
    }
    (steps, operands)
}

/// `strtoul(s, &end, 0)` for a string starting with a digit: the value if
/// all of `s` is the number (hexadecimal after `0x`, octal after `0`),
/// saturated at `u64::MAX` as strtoul does.
fn strtoul_base0(s: &[u8]) -> Option<u64> {
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &s[2..]),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    let mut value: u64 = 0;
    for &b in digits {
        let d = char::from(b).to_digit(radix)?;
        value = value
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(d));
    }
    Some(value)
}

/// `strtoul(s, &end, 16)` as procps's `-A` uses it: the value, or `None`
/// unless the whole part is read (leading spaces, a sign and `0x` allowed; a
/// minus negates, as strtoul does; too large saturates).
fn strtoul_16(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|&b| b == b' ' || (b'\t'..=b'\r').contains(&b))
    {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    for &b in digits {
        let d = u64::from(char::from(b).to_digit(16).unwrap_or(0));
        match value.checked_mul(16).and_then(|v| v.checked_add(d)) {
            Some(v) => value = v,
            None => overflow = true,
        }
    }
    Some(match (overflow, negative) {
        (true, _) => u64::MAX,
        (false, true) => value.wrapping_neg(),
        (false, false) => value,
    })
}

/// procps's `-A LOW[,HIGH]`: each part given replaces that bound (a second
/// `-A` keeps the bound it does not give); one address alone is both.
fn procps_range(arg: &[u8], low: &mut Option<u64>, high: &mut Option<u64>) -> Result<(), ()> {
    let (first, second) = match arg.iter().position(|&b| b == b',') {
        Some(comma) => (&arg[..comma], &arg[comma + 1..]),
        None => (arg, arg),
    };
    if !first.is_empty() {
        *low = Some(strtoul_16(first).ok_or(())?);
    }
    if !second.is_empty() {
        *high = Some(strtoul_16(second).ok_or(())?);
    }
    Ok(())
}

/// procps's usage layout (the first line is what scripts and procps's own
/// tests look for), with lab's words; on stderr and exit 1 for a mistake,
/// on stdout and exit 0 for `--help`.
fn pmap_usage(name: &str, release: Release, mistake: bool) -> ExitCode {
    let kernel = if release.has_kernel_names() {
        " -k, --use-kernel-name       name mappings as the kernel does\n"
    } else {
        ""
    };
    let text = format!(
        "\nUsage:\n {name} [options] PID [PID ...]\n\nOptions:\n\
         \x20-x, --extended              add RSS and Dirty\n\
         \x20-X                          add the main counters of /proc/PID/smaps\n\
         \x20           (the columns are the kernel's, so they vary)\n\
         \x20-XX                         add every counter the kernel gives\n\
         \x20-c, --read-rc               use the rc file ~/.{name}rc\n\
         \x20-C, --read-rc-from=<file>   use this rc file\n\
         \x20-n, --create-rc             write a new ~/.{name}rc\n\
         \x20-N, --create-rc-to=<file>   write a new rc file there\n\
         \x20           (-n and -N take no PID)\n\
         \x20-d, --device                add offsets and devices\n\
         \x20-q, --quiet                 no header and no footer\n\
         \x20-p, --show-path             full paths of mapped files\n\
         {kernel}\
         \x20-A, --range=<low>[,<high>]  only the mappings in this address range\n\
         \n\
         \x20-h, --help     print this help and exit\n\
         \x20-V, --version  print the version and exit\n\
         \nSee pmap(1) for more.\n"
    );
    if mistake {
        say_inline!("{text}");
        ExitCode::FAILURE
    } else {
        print!("{text}");
        ExitCode::SUCCESS
    }
}
