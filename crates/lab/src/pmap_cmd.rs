//! `lab pmap`: procps-ng `pmap` on any process, with the kernel's names and
//! right totals. Only argument handling and the choice of capture live here;
//! the formats are `pmap_view::pmap`.
//!
//! Exit status as procps: 0, 42 when a PID was not found, 1 when a process
//! could not be read (and 43 for both); 1 for a PID or range that is not one
//! (procps prints its usage then), 2 for other usage errors (clap).

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{ArgAction, ArgGroup, Args};
use pmap_view::pmap::{self, Format, Labels, Mapping, Options, Process, Range, Table};
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
    /// Print each process as a JSON document (DESIGN.md's region format).
    #[arg(long)]
    json: bool,
    /// Name mappings as procps does (`[ anon ]`, `[ stack ]`) instead of as
    /// the kernel does (`[heap]`, `[stack]`, `[vdso]`).
    #[arg(long)]
    procps: bool,
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
    let range = match args.range.as_deref().map(Range::parse).transpose() {
        Ok(range) => range.unwrap_or_default(),
        Err(e) => return usage(&e),
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
        labels: if args.procps {
            Labels::Procps
        } else {
            Labels::Kernel
        },
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let (mut missing, mut failed) = (false, false);
    for pid in pids {
        match show(&mut out, pid, &opts, args.json) {
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
    eprintln!("lab pmap: write error: {text}");
    ExitCode::FAILURE
}

fn usage(message: &str) -> ExitCode {
    eprintln!("lab pmap: {message}");
    ExitCode::FAILURE
}

fn show(out: &mut impl Write, pid: i32, opts: &Options, as_json: bool) -> Outcome {
    let process = match Process::read(pid) {
        Ok(process) => process,
        Err(e) => {
            let _ = out.flush(); // what came before goes first
            eprintln!("lab pmap: {e}");
            return match e {
                CaptureError::NotFound(_) => Outcome::NotFound,
                _ => Outcome::Failed,
            };
        }
    };
    match capture_and_write(out, &process, opts, as_json) {
        Ok(Ok(())) => {
            // An empty map is the truth for these, but say why (on stderr: the
            // table itself stays what procps prints).
            if let Some(why) = no_map_reason(pid) {
                let _ = out.flush();
                eprintln!("lab pmap: process {pid} {why}");
            }
            Outcome::Shown
        }
        Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Outcome::Stopped,
        Ok(Err(e)) => Outcome::WriteFailed(e),
        Err(e) => {
            // As procps: the process's line, then the failure (exit 1, even
            // if it has just exited: it was found).
            if !as_json {
                let _ = pmap::write_process(out, &process);
            }
            let _ = out.flush();
            eprintln!("lab pmap: {e}");
            Outcome::Failed
        }
    }
}

/// Why a process has no memory map, if it has none: it has exited and waits
/// to be reaped (a zombie), or it is a kernel thread (no user address space).
pub(crate) fn no_map_reason(pid: i32) -> Option<&'static str> {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, flags field 9 (proc(5)).
    let flags: u64 = fields.get(6)?.parse().ok()?;
    if fields.first() == Some(&"Z") {
        Some("has exited and not been reaped yet (a zombie): it has no memory map any more")
    } else if flags & PF_KTHREAD != 0 {
        Some("is a kernel thread: it has no user-space memory map")
    } else {
        None
    }
}

/// Capture `process` as `opts` needs, and write it.
fn capture_and_write(
    out: &mut impl Write,
    process: &Process,
    opts: &Options,
    as_json: bool,
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
            pmap::write_smaps(out, process, &Table::capture(pid, opts)?, opts)
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
    json::write_process_document(out, process.pid, &process.command, shown)
}
