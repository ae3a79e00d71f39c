//! `lab pmap` against procps-ng `pmap` (issue 4), on the same live processes:
//! many small mappings, threads, file mappings (a deleted file, /dev/shm,
//! memfd, shared anonymous, SysV shm), an interpreter (CPython), a zombie.
//!
//! Every process is blocked in `read(0)` while both tools read it, and built
//! so that no other process maps its pages (a static helper, a private copy of
//! the interpreter and its libraries): Pss and Shared/Private_Clean count the
//! processes that map a page, so pages shared with the tools themselves would
//! make them differ from one reading to the next.
//!
//! Two comparisons per format, of every row and total:
//! - `lab pmap --procps` must print exactly what `pmap` prints;
//! - `lab pmap` too, once its kernel names (`[heap]`, `[stack]`, `[vdso]`…)
//!   are turned back into procps's `[ anon ]` / `[ stack ]`, and nothing else.
//!
//! Where procps is wrong (docs/pmap.md, "lab pmap versus procps pmap") the tests
//! check lab's numbers against procps's own rows: `-A` with `-x` or `-X`, and
//! `-X` over several PIDs.
//!
//! procps-ng releases print some things differently (docs/pmap.md): every
//! `lab pmap` here follows the release installed (`pmap -V`, so 4.0.2 on
//! Debian 12, 4.0.4 on Debian 13) with `--procps-compat`, and lab run as
//! `pmap` (a link) with `$LAB_PMAP_PROCPS`; that one must print what procps
//! prints, mistakes, usage errors and exit codes included.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use pmap_view::pmap::Release;

use crate::util::{alive, gone_within, lab_exe};

/// Every format and modifier the differential tests run.
const FORMATS: &[&[&str]] = &[
    &[],
    &["-x"],
    &["-d"],
    &["-X"],
    &["-XX"],
    &["-q"],
    &["-x", "-q"],
    &["-d", "-q"],
    &["-X", "-q"],
    &["-XX", "-q"],
    &["-p"],
    &["-x", "-p"],
    &["-d", "-p"],
    &["-X", "-p"],
    &["-XX", "-p"],
];

// ---------------------------------------------------------------- helpers

/// A process of a chosen shape, killed and reaped when dropped.
struct Helper {
    child: Child,
    stdin: Option<ChildStdin>,
    /// What it printed before "ready".
    said: Vec<String>,
    _dir: Option<TempDir>,
}

impl Helper {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Start `command` and wait for its "ready" line.
    fn start(mut command: Command, dir: Option<TempDir>) -> Helper {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child =
            retry_busy(|| command.spawn()).unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut said = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line == "ready" => break,
                Some(Ok(line)) => said.push(line),
                other => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{command:?} did not get ready: {other:?}")
                }
            }
        }
        Helper {
            child,
            stdin,
            said,
            _dir: dir,
        }
    }

    /// The C helper `tests/helpers/shapes.c` with these arguments (`DIR`
    /// stands for a directory of its own), run from a copy of its own: the
    /// pages of a binary that two helpers ran would be shared, and their Pss
    /// would depend on how many helpers the other tests are running.
    fn shapes(args: &[&str]) -> Helper {
        let dir = TempDir::new();
        let exe = dir.0.join("shapes");
        std::fs::copy(shapes_exe(), &exe).unwrap();
        sync(&exe);
        let mut command = Command::new(&exe);
        for arg in args {
            command.arg(if *arg == "DIR" {
                dir.0.as_os_str()
            } else {
                arg.as_ref()
            });
        }
        Helper::start(command, Some(dir))
    }

    /// `shapes files DIR`.
    fn files() -> Helper {
        Helper::shapes(&["files", "DIR"])
    }

    /// CPython, from a private copy of the interpreter and of every library
    /// it maps, loaded by a private copy of the dynamic loader.
    fn python() -> Helper {
        let dir = TempDir::new();
        let copy = python_copy(&dir.0);
        let mut command = Command::new(dir.0.join(&copy.loader));
        command
            .arg("--library-path")
            .arg(&dir.0)
            .arg(dir.0.join(&copy.exe))
            .args(["-I", "-S", "-c"])
            .arg("import sys; print('ready', flush=True); sys.stdin.read()")
            .env_clear()
            // No locale or gconv files mapped: they would be shared.
            .env("LC_ALL", "C")
            .env("PYTHONCOERCECLOCALE", "0")
            .env("PYTHONHOME", &copy.prefix);
        Helper::start(command, Some(dir))
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.stdin.take()); // EOF: it exits by itself
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run `start` again while it fails with ETXTBSY (26): a binary just copied can
/// be "busy" for a moment, when another test thread forked while the copy's
/// file was open for writing (the child holds it until it execs).
fn retry_busy<T>(mut start: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    for _ in 0..100 {
        match start() {
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(Duration::from_millis(10)),
            other => return other,
        }
    }
    start()
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    /// A new directory in /tmp: a short path, so that the helper's file
    /// names stay within the 127 bytes procps keeps of a `-X` name.
    /// Created anew, private (0700), never an existing one: a name taken
    /// (by anyone, a link included) is skipped, not removed or entered.
    fn new() -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        loop {
            let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("pmap-lab-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return TempDir(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("creating {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Write `path` to disk: its page-cache pages become clean, so no writeback
/// turns Dirty into clean between two readings.
fn sync(path: &Path) {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .unwrap();
}

/// `tests/helpers/shapes.c`, compiled once per test run, statically.
pub(crate) fn shapes_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/shapes.c");
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let exe = tmp.join("pmap-shapes");
        let building = tmp.join(format!("pmap-shapes.{}", std::process::id()));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let out = Command::new(&cc)
            .args(["-O1", "-static", "-pthread", "-o"])
            .arg(&building)
            .arg(&source)
            .output()
            .unwrap_or_else(|e| panic!("`{cc}` not found ({e}): install a C compiler"));
        assert!(
            out.status.success(),
            "{cc} -static {}: {} (static linking needs libc6-dev)",
            source.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&building, &exe).unwrap();
        exe
    })
}

struct PythonCopy {
    loader: String,
    exe: String,
    prefix: String,
}

/// Copy the interpreter and the files it maps into `dir`.
fn python_copy(dir: &Path) -> PythonCopy {
    let script = "import sys\nprint(sys.prefix)\nprint(sys.executable)\n\
                  print(open('/proc/self/maps').read())";
    let out = Command::new("python3")
        .args(["-I", "-S", "-c", script])
        .env("LC_ALL", "C")
        .env("PYTHONCOERCECLOCALE", "0")
        .output()
        .expect("python3 not found: install python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let prefix = lines.next().unwrap().to_string();
    let exe = std::fs::canonicalize(lines.next().unwrap()).unwrap();
    let mut files: Vec<PathBuf> = lines
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect();
    files.push(exe.clone());
    files.sort();
    files.dedup();
    let mut loader = None;
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("ld-") {
            loader = Some(name.clone());
        }
        std::fs::copy(&file, dir.join(&name)).unwrap();
        sync(&dir.join(&name));
    }
    PythonCopy {
        loader: loader.expect("python3 maps no dynamic loader"),
        exe: exe.file_name().unwrap().to_string_lossy().into_owned(),
        prefix,
    }
}

// ---------------------------------------------------------------- running

/// A procps `pmap` to compare with: the one in `$PATH`, or the one of a
/// root directory (a debootstrap root with procps, run inside it with its
/// own /proc mounted: the processes of the host are visible there), and
/// the release lab follows for it.
struct Procps {
    root: Option<PathBuf>,
    release: Release,
}

impl Procps {
    /// `pmap -V`'s release, if lab knows it; why not, if not.
    fn found(root: Option<PathBuf>) -> Result<Procps, String> {
        let mut procps = Procps {
            root,
            release: Release::NEWEST,
        };
        let where_ = procps.describe();
        let out = procps.command(&["-V"]).output().map_err(|e| {
            format!("no procps pmap ({where_}: {e}): install procps (.ci/run does)")
        })?;
        let line = String::from_utf8_lossy(&out.stdout);
        if line.contains("pmap lab") {
            return Err(format!(
                "the pmap of {where_} is lab itself: the tests need procps's"
            ));
        }
        let Some(version) = Release::version_in(&line) else {
            return Err(format!(
                "{where_}: pmap -V says {:?}{}: no procps-ng version",
                line.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        };
        procps.release = Release::parse(version).ok_or_else(|| {
            format!(
                "{where_} has procps-ng {version}, which lab does not know (it knows {}: docs/pmap.md)",
                Release::KNOWN
            )
        })?;
        Ok(procps)
    }

    fn describe(&self) -> String {
        match &self.root {
            None => "$PATH".into(),
            Some(root) => root.display().to_string(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = match &self.root {
            None => Command::new("pmap"),
            Some(root) => {
                let mut c = Command::new("unshare");
                c.args([
                    "-m",
                    "sh",
                    "-c",
                    r#"mount -t proc proc "$0/proc" && exec chroot "$0" pmap "$@""#,
                ])
                .arg(root);
                c
            }
        };
        command.args(args).env("LC_ALL", "C.UTF-8");
        command
    }

    /// procps `pmap ARGS`, in a UTF-8 locale (lab escapes command lines as
    /// procps does in one).
    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("running the pmap of {}: {e}", self.describe()))
    }

    /// `lab pmap ARGS`, following this procps's release.
    fn lab(&self, args: &[&str]) -> Output {
        Command::new(lab_exe())
            .arg("pmap")
            .args(["--procps-compat", self.release.version()])
            .args(args)
            .output()
            .expect("running lab")
    }
}

/// The procps `pmap` in `$PATH`, if lab knows its release.
fn host() -> &'static Result<Procps, String> {
    static HOST: OnceLock<Result<Procps, String>> = OnceLock::new();
    HOST.get_or_init(|| Procps::found(None))
}

/// Whether a test that compares with the installed procps can run. When it
/// cannot (no procps, or a release lab does not know), the test says so on
/// the terminal (cargo shows it, unlike printed output) and passes; with
/// `$CI` set it fails instead: CI must run every comparison.
fn skip_without_procps(test: &str) -> bool {
    let Err(why) = host() else {
        return false;
    };
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}; CI must run it");
    }
    use std::io::Write;
    // Straight to the terminal: the test harness captures eprintln!.
    let _ = writeln!(std::io::stderr(), "SKIPPED pmap::{test}: {why}");
    true
}

/// procps `pmap ARGS` (the tests that call it checked that there is one).
fn procps(args: &[&str]) -> Output {
    match host() {
        Ok(procps) => procps.run(args),
        Err(why) => panic!("{why}"),
    }
}

/// The release of the procps installed, else the newest.
fn installed() -> Release {
    host().as_ref().map_or(Release::NEWEST, |p| p.release)
}

/// `lab pmap ARGS`, following the installed procps's release.
fn lab_pmap(args: &[&str]) -> Output {
    Command::new(lab_exe())
        .arg("pmap")
        .args(["--procps-compat", installed().version()])
        .args(args)
        .output()
        .expect("running lab")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn with_pids<'a>(format: &[&'a str], pids: &'a [String]) -> Vec<&'a str> {
    format
        .iter()
        .copied()
        .chain(pids.iter().map(String::as_str))
        .collect()
}

/// The first line where two outputs differ, with the lines around it.
fn first_difference(ours: &str, theirs: &str) -> Option<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
    let context = |lines: &[&str]| {
        lines[i.saturating_sub(2)..(i + 2).min(lines.len())]
            .iter()
            .map(|l| format!("    |{l}|\n"))
            .collect::<String>()
    };
    Some(format!(
        "line {}:\n  lab pmap:\n{}  procps pmap:\n{}",
        i + 1,
        context(&a),
        context(&b)
    ))
}

fn assert_same(what: &str, ours: &str, theirs: &str) {
    if let Some(diff) = first_difference(ours, theirs) {
        panic!("{what}: lab pmap and procps pmap differ at {diff}");
    }
    // Same lines; the final newline too.
    assert_eq!(ours, theirs, "{what}");
}

/// lab's output with its kernel names put back to procps's labels, and
/// nothing else changed: in the default, `-x` and `-d` rows, a Mapping that
/// is a kernel name (`[heap]`, `[stack]`, `[vdso]`, `[vvar]`, `[vsyscall]`,
/// `[anon:…]`…) becomes `  [ stack ]` for `[stack]`, `  [ anon ]` otherwise.
fn procps_labels(lab: &str) -> String {
    static ROW: OnceLock<regex::Regex> = OnceLock::new();
    let row = ROW.get_or_init(|| {
        // A row (default, -x, -d) ending in a space and a kernel name: `[`
        // then no space (procps's own labels are `  [ anon ]`, `  [ stack ]`).
        regex::Regex::new(r"^([0-9a-f]{16} .* [r-][w-][x-][s-]- .*?)(\[[^\] ][^\]]*\])$").unwrap()
    });
    lab.lines()
        .map(|line| match row.captures(line) {
            Some(c) if &c[2] == "[stack]" => format!("{}  [ stack ]\n", &c[1]),
            Some(c) => format!("{}  [ anon ]\n", &c[1]),
            None => format!("{line}\n"),
        })
        .collect()
}

/// Both comparisons, for every format, on the processes `pids`.
fn matches_procps_in_every_format(pids: &[String]) {
    match host() {
        Ok(procps) => matches_in_every_format(procps, pids),
        Err(why) => panic!("{why}"),
    }
}

/// Both comparisons, for every format, with `procps`.
fn matches_in_every_format(procps: &Procps, pids: &[String]) {
    for format in FORMATS {
        let args = with_pids(format, pids);
        // The PSS of pages every process shares (the vDSO, libc) moves when
        // any process on the machine starts or ends (the other tests do, all
        // the time, in bursts), even between two reads a millisecond apart:
        // the outputs must agree on one try within 15 s (a real difference
        // never does), and the last try's difference is what a failure shows.
        let attempt = || {
            let theirs = procps.run(&args);
            let exact = procps.lab(&[&["--procps"], &args[..]].concat());
            let ours = procps.lab(&args);
            (theirs, exact, ours)
        };
        let agree = |(theirs, exact, ours): &(Output, Output, Output)| {
            exact.stdout == theirs.stdout
                && procps_labels(&text(ours)) == text(theirs)
                && exact.status.code() == theirs.status.code()
                && ours.status.code() == theirs.status.code()
        };
        let start = std::time::Instant::now();
        let (theirs, exact, ours) = loop {
            let outputs = attempt();
            if agree(&outputs) || start.elapsed() > std::time::Duration::from_secs(15) {
                break outputs;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(
            exact.status.code(),
            theirs.status.code(),
            "lab pmap --procps {args:?}"
        );
        assert_eq!(
            ours.status.code(),
            theirs.status.code(),
            "lab pmap {args:?}"
        );
        assert_same(&format!("--procps {args:?}"), &text(&exact), &text(&theirs));
        assert_same(
            &format!("{args:?}"),
            &procps_labels(&text(&ours)),
            &text(&theirs),
        );
    }
}

// ---------------------------------------------------------------- shapes

#[test]
fn every_format_matches_procps_on_many_small_mappings() {
    if skip_without_procps("every_format_matches_procps_on_many_small_mappings") {
        return;
    }
    let helper = Helper::shapes(&["many", "2000"]);
    matches_procps_in_every_format(&[helper.pid()]);
}

#[test]
fn every_format_matches_procps_on_threads() {
    if skip_without_procps("every_format_matches_procps_on_threads") {
        return;
    }
    let helper = Helper::shapes(&["threads", "24"]);
    let threads = std::fs::read_dir(format!("/proc/{}/task", helper.pid()))
        .unwrap()
        .count();
    assert_eq!(threads, 25);
    matches_procps_in_every_format(&[helper.pid()]);
}

#[test]
fn every_format_matches_procps_on_file_and_shared_mappings() {
    if skip_without_procps("every_format_matches_procps_on_file_and_shared_mappings") {
        return;
    }
    let helper = Helper::files();
    // The shapes the test is about are really there.
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", helper.pid())).unwrap();
    for name in [
        "gone.bin (deleted)",
        "/dev/zero (deleted)",
        "/memfd:pmap lab",
        "/SYSV",
        "with some spaces.bin",
    ] {
        assert!(maps.contains(name), "no {name} in\n{maps}");
    }
    assert!(maps.contains("/dev/shm/pmap-lab-shapes-"), "{maps}");
    matches_procps_in_every_format(&[helper.pid()]);
    // The names procps gives: a SysV segment by its id, a file by its name.
    let x = text(&lab_pmap(&["-x", &helper.pid()]));
    assert!(x.contains("  [ shmid=0x"), "{x}");
    assert!(x.contains(" gone.bin (deleted)\n"), "{x}");
}

#[test]
fn every_format_matches_procps_on_an_interpreter() {
    if skip_without_procps("every_format_matches_procps_on_an_interpreter") {
        return;
    }
    let helper = Helper::python();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", helper.pid())).unwrap();
    assert!(
        maps.contains("libpython") || maps.contains("python3"),
        "{maps}"
    );
    matches_procps_in_every_format(&[helper.pid()]);
}

#[test]
fn a_zombie_and_a_kernel_thread_match_procps() {
    if skip_without_procps("a_zombie_and_a_kernel_thread_match_procps") {
        return;
    }
    let helper = Helper::shapes(&["zombie"]);
    let zombie = helper.said[0].strip_prefix("zombie ").unwrap().to_string();
    matches_procps_in_every_format(std::slice::from_ref(&zombie));
    let shown = text(&lab_pmap(&[&zombie]));
    // 3.3.17 does not say <defunct>.
    let defunct = if installed() >= Release::V4_0_2 {
        " <defunct>"
    } else {
        ""
    };
    assert_eq!(
        shown,
        format!("{zombie}:   [shapes]{defunct}\n total                0K\n")
    );
    assert_eq!(
        text(&lab_pmap(&["-X", &zombie])),
        format!("{zombie}:   [shapes]{defunct}\n")
    );
    // A kernel thread, where /proc shows them (not in every container).
    let kthread = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let flags: u64 = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.split(' ').nth(6)?.parse().ok())
                .unwrap_or(0);
            flags & 0x0020_0000 != 0 // PF_KTHREAD
        });
    match kthread {
        Some(pid) => matches_procps_in_every_format(&[pid.to_string()]),
        None => crate::util::skip(
            "a_zombie_and_a_kernel_thread_match_procps",
            "no kernel thread visible in /proc (a PID namespace?): that part",
        ),
    }
}

// ------------------------------------------------------- where procps is wrong

/// The numeric columns of a row, and its first field.
fn fields(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Sums of the numeric columns `columns` over `rows`.
fn column_sums(rows: &[&str], columns: std::ops::Range<usize>) -> Vec<u64> {
    columns
        .map(|c| {
            rows.iter()
                .map(|r| fields(r)[c].trim_end_matches('K').parse::<u64>().unwrap())
                .sum()
        })
        .collect()
}

/// Rows of a pmap output: the lines that start with an address (8 hex
/// digits or more; no total of these processes is that long).
fn rows(output: &str) -> Vec<&str> {
    let address = |a: &str| a.len() >= 8 && a.bytes().all(|b| b.is_ascii_hexdigit());
    output
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(address))
        .filter(|l| !l.trim_end().ends_with("KB"))
        .collect()
}

#[test]
fn ranges_show_the_same_rows_as_procps_and_totals_of_those_rows() {
    if skip_without_procps("ranges_show_the_same_rows_as_procps_and_totals_of_those_rows") {
        return;
    }
    let helper = Helper::files();
    let pid = helper.pid();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let starts: Vec<&str> = maps.lines().map(|l| l.split('-').next().unwrap()).collect();
    let inside = format!("{:x}", u64::from_str_radix(starts[5], 16).unwrap() + 0x10);
    let ranges = [
        format!("{},{}", starts[3], starts[12]),
        format!("{},", starts[8]),
        format!(",{}", starts[6]),
        inside,
        format!("0x{},0x{}", starts[1], starts[2]),
    ];
    for range in &ranges {
        for format in [&[][..], &["-d"], &["-x"], &["-q"], &["-x", "-q"]] {
            let args = [format, &["-A", range, &pid]].concat();
            let theirs = text(&procps(&args));
            let ours = procps_labels(&text(&lab_pmap(&args)));
            assert!(!rows(&theirs).is_empty(), "{args:?} shows nothing");
            assert_eq!(rows(&ours), rows(&theirs), "{args:?}");
            if format == ["-x"] {
                // procps 4.0.x adds the RSS and Dirty of the mappings below the
                // range into its totals; lab's total is that of the rows shown.
                let total = ours.lines().last().unwrap();
                let sums = column_sums(&rows(&theirs), 1..4);
                assert_eq!(
                    fields(total)[2..],
                    sums.iter().map(u64::to_string).collect::<Vec<_>>()[..],
                    "{args:?}:\n{ours}"
                );
            } else {
                assert_same(&format!("{args:?}"), &ours, &theirs);
            }
        }
        // procps before 4.0.7 ignores -A with -X (4.0.7 honours it): lab shows
        // the rows in range, with procps's numbers, and their totals.
        let all = text(&procps(&["-X", &pid]));
        let ours = text(&lab_pmap(&["-X", "-A", range, &pid]));
        let parsed = pmap_view::pmap::Range::parse(range).unwrap();
        let expected: Vec<Vec<&str>> = rows(&all)
            .into_iter()
            .filter(|r| {
                let start = u64::from_str_radix(fields(r)[0], 16).unwrap();
                let kib: u64 = fields(r)[5].parse().unwrap();
                parsed.overlaps(start, start + kib * 1024)
            })
            .map(fields)
            .collect();
        let got: Vec<Vec<&str>> = rows(&ours).into_iter().map(fields).collect();
        assert_eq!(got, expected, "-X -A {range}");
        let columns = fields(all.lines().nth(1).unwrap()).len() - 6; // counters
        let sums = column_sums(&rows(&ours), 5..5 + columns);
        let total: Vec<u64> = fields(ours.lines().last().unwrap())[..columns]
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(total, sums, "-X -A {range}:\n{ours}");
    }
}

#[test]
fn several_pids_print_what_each_prints_alone() {
    if skip_without_procps("several_pids_print_what_each_prints_alone") {
        return;
    }
    let (a, b) = (Helper::files(), Helper::shapes(&["threads", "3"]));
    let pids = [a.pid(), b.pid(), a.pid()];
    for format in FORMATS {
        let alone: String = pids
            .iter()
            .map(|pid| text(&procps(&with_pids(format, std::slice::from_ref(pid)))))
            .collect();
        let together = lab_pmap(&[&["--procps"], &with_pids(format, &pids)[..]].concat());
        assert!(together.status.success());
        assert_same(&format!("{format:?} on 3 PIDs"), &text(&together), &alone);
        // procps agrees, except that it widens -X columns (and before 4.0.4
        // sums -X totals) over the PIDs of one call.
        if !format.contains(&"-X") && !format.contains(&"-XX") {
            assert_same(
                &format!("{format:?}"),
                &text(&together),
                &text(&procps(&with_pids(format, &pids))),
            );
        }
    }
}

#[test]
fn a_thread_id_shows_its_process() {
    if skip_without_procps("a_thread_id_shows_its_process") {
        return;
    }
    let helper = Helper::shapes(&["threads", "2"]);
    let tid = std::fs::read_dir(format!("/proc/{}/task", helper.pid()))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|t| *t != helper.pid())
        .unwrap();
    let ours = lab_pmap(&["--procps", "-x", &tid]);
    // procps 3.3.17 heads it with the thread's ID, 4.0 with the process's.
    let head = if installed().version() == "3.3.17" {
        tid.clone()
    } else {
        helper.pid().to_string()
    };
    assert!(text(&ours).starts_with(&format!("{head}:   ")));
    assert_same("a thread", &text(&ours), &text(&procps(&["-x", &tid])));
}

// ------------------------------------------------------------ errors and pipes

#[test]
fn a_missing_pid_exits_42_like_procps_and_says_which() {
    if skip_without_procps("a_missing_pid_exits_42_like_procps_and_says_which") {
        return;
    }
    let helper = Helper::shapes(&["threads", "1"]);
    let missing = i32::MAX.to_string(); // above any pid_max
    let pids = [missing.clone(), helper.pid()];
    for format in [&[][..], &["-x"], &["-X"], &["-d"]] {
        let args = with_pids(format, &pids);
        let (ours, theirs) = (lab_pmap(&args), procps(&args));
        assert_eq!(ours.status.code(), Some(42));
        assert_eq!(theirs.status.code(), Some(42));
        assert_same(
            &format!("{args:?}"),
            &procps_labels(&text(&ours)),
            &text(&theirs),
        );
        let err = String::from_utf8_lossy(&ours.stderr);
        assert_eq!(
            err,
            format!("lab pmap: process {missing} not found (it may have exited)\n")
        );
    }
}

#[test]
fn a_pid_that_is_not_one_is_one_line_and_exit_1() {
    if skip_without_procps("a_pid_that_is_not_one_is_one_line_and_exit_1") {
        return;
    }
    for bad in [
        "abc",
        "0",
        "-5",
        "99999999999",
        "12x",
        "",
        "/proc/self",
        "+3",
    ] {
        let ours = lab_pmap(&[bad]);
        let theirs = procps(&[bad]);
        // procps 3.3.17 prints nothing for `/proc/self` alone and exits 0
        // (docs/pmap.md); `lab pmap` says it is no process ID, as 4.0 does.
        if !(bad == "/proc/self" && installed().version() == "3.3.17") {
            assert_eq!(ours.status.code(), theirs.status.code(), "{bad:?}");
        }
        assert_eq!(ours.status.code(), Some(1), "{bad:?}");
        assert!(ours.stdout.is_empty(), "{bad:?}");
        let err = String::from_utf8_lossy(&ours.stderr);
        assert_eq!(err.lines().count(), 1, "{bad:?}: {err}");
        assert!(err.starts_with("lab pmap: "), "{bad:?}: {err}");
    }
    // procps's forms of -A errors too.
    for bad in ["zz", "1,2,3", "0x"] {
        let ours = lab_pmap(&["-A", bad, "1"]);
        assert_eq!(
            ours.status.code(),
            procps(&["-A", bad, "1"]).status.code(),
            "{bad}"
        );
        assert_eq!(String::from_utf8_lossy(&ours.stderr).lines().count(), 1);
    }
}

#[test]
fn a_process_it_may_not_read_is_its_line_then_why_and_exit_1() {
    if skip_without_procps("a_process_it_may_not_read_is_its_line_then_why_and_exit_1") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    if euid.split_whitespace().nth(1) != Some("0") {
        crate::util::skip(
            "pmap: as another user",
            "not root: cannot run as another user",
        );
        return;
    }
    let helper = Helper::shapes(&["threads", "1"]); // root's
                                                    // A copy of lab that user nobody may run.
    let dir = TempDir::new();
    let lab = dir.0.join("lab");
    std::fs::copy(lab_exe(), &lab).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |program: &Path, args: &[&str]| {
        retry_busy(|| {
            Command::new(program)
                .args(args)
                .uid(65534)
                .gid(65534)
                .output()
        })
        .unwrap()
    };
    for format in ["-x", "-X", "-d"] {
        let ours = as_nobody(&lab, &["pmap", format, &helper.pid()]);
        let theirs = as_nobody(Path::new("pmap"), &[format, &helper.pid()]);
        assert_eq!(ours.status.code(), Some(1), "{format}");
        assert_eq!(theirs.status.code(), Some(1), "{format}");
        assert_same(format, &text(&ours), &text(&theirs));
        let err = String::from_utf8_lossy(&ours.stderr);
        assert!(
            err.starts_with("lab pmap: permission denied reading /proc/"),
            "{err}"
        );
        // It says what to check: the user, ptrace rights and their settings.
        for words in [
            "its own user",
            "ptrace rights",
            "kernel.yama.ptrace_scope",
            "hidepid",
        ] {
            assert!(err.contains(words), "{words}: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn a_closed_pipe_ends_lab_pmap_quietly() {
    let helper = Helper::shapes(&["many", "2000"]);
    for format in ["-x", "-X", "-d"] {
        let mut child = Command::new(lab_exe())
            .args(["pmap", format, &helper.pid()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap(); // the reader is dropped here: `| head -1`
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(first.starts_with(&format!("{}:", helper.pid())));
        assert_eq!((status.code(), err.as_str()), (Some(0), ""), "{format}");
    }
}

#[test]
fn long_names_are_not_cut() {
    if skip_without_procps("long_names_are_not_cut") {
        return;
    }
    let helper = Helper::shapes(&["long", "DIR"]);
    let pid = helper.pid();
    let name = format!("long-{}", "n".repeat(195));
    for format in [&["-X"][..], &["-XX"], &["-x"], &[], &["-d"]] {
        let args = with_pids(format, std::slice::from_ref(&pid));
        let ours = text(&lab_pmap(&args));
        let row = ours.lines().find(|l| l.contains("long-")).unwrap();
        assert!(row.ends_with(&format!(" {name}")), "{args:?}: {row}");
    }
    // procps (3.3.17 to 4.0.7) keeps the first 127 bytes of the path in -X.
    let theirs = text(&procps(&["-X", &pid]));
    let row = theirs.lines().find(|l| l.contains("long-")).unwrap();
    let shown = row.rsplit(' ').next().unwrap();
    assert!(name.starts_with(shown), "{row}");
}

// ------------------------------------------------------------------- JSON

#[test]
fn json_is_the_region_format_with_procps_numbers() {
    if skip_without_procps("json_is_the_region_format_with_procps_numbers") {
        return;
    }
    let helper = Helper::files();
    let pid = helper.pid();
    let out = lab_pmap(&["--json", &pid, &pid]);
    assert!(out.status.success());
    let docs = crate::util::json_docs(crate::util::Doc::Pmap, &out.stdout);
    assert_eq!(docs.len(), 2, "one document per PID");
    let doc = &docs[0];
    assert_eq!(doc["pid"].as_i64().unwrap().to_string(), pid);
    let regions = doc["regions"].as_array().unwrap();
    // The same regions and numbers as procps -X (Size, Rss, Pss).
    let theirs = text(&procps(&["-X", &pid]));
    let rows = rows(&theirs);
    assert_eq!(regions.len(), rows.len());
    for (r, row) in regions.iter().zip(&rows) {
        let f = fields(row);
        assert_eq!(r["start"], format!("0x{}", f[0].trim_start_matches('0')));
        assert_eq!(r["perms"], f[1]);
        for (key, column) in [("size_kib", 5), ("rss_kib", 6), ("pss_kib", 7)] {
            assert_eq!(
                r[key].as_u64().unwrap().to_string(),
                f[column],
                "{key} of {row}"
            );
        }
        for key in ["end", "kind", "name", "dirty_kib", "swap_kib"] {
            assert!(!r[key].is_null(), "{key}");
        }
    }
    let total: u64 = regions.iter().map(|r| r["rss_kib"].as_u64().unwrap()).sum();
    assert_eq!(doc["totals"]["rss_kib"].as_u64(), Some(total));
    let kinds: Vec<&str> = regions
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for kind in ["heap", "stack", "file", "anon", "vdso"] {
        assert!(kinds.contains(&kind), "no {kind} region");
    }
}

// ------------------------------------------------------------ lab as `pmap`

/// A link named `pmap` to lab, in a private directory of the test's own.
struct AsPmap {
    _dir: TempDir,
    link: PathBuf,
    release: Release,
}

impl AsPmap {
    fn following(release: Release) -> AsPmap {
        let dir = TempDir::new();
        let link = dir.0.join("pmap");
        std::os::unix::fs::symlink(lab_exe(), &link).unwrap();
        AsPmap {
            _dir: dir,
            link,
            release,
        }
    }

    /// `pmap ARGS` through the link, with argv[0] `pmap` as a shell gives
    /// it, following the release installed.
    fn run(&self, args: &[&str]) -> Output {
        use std::os::unix::process::CommandExt;
        Command::new(&self.link)
            .arg0("pmap")
            .args(args)
            .env("LAB_PMAP_PROCPS", self.release.version())
            .env("LC_ALL", "C.UTF-8")
            .output()
            .expect("running lab as pmap")
    }
}

/// Both outputs, exit statuses and first lines of stderr are the same.
fn assert_same_run(what: &str, ours: &Output, theirs: &Output) {
    assert_eq!(
        ours.status.code(),
        theirs.status.code(),
        "{what}: exit status"
    );
    assert_same(what, &text(ours), &text(theirs));
    let first = |o: &Output| {
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .map(str::to_owned)
    };
    assert_eq!(first(ours), first(theirs), "{what}: stderr");
}

#[test]
fn as_pmap_it_prints_what_procps_prints_mistakes_included() {
    if skip_without_procps("as_pmap_it_prints_what_procps_prints_mistakes_included") {
        return;
    }
    match host() {
        Ok(procps) => as_pmap_matches(procps),
        Err(why) => panic!("{why}"),
    }
}

/// lab as `pmap` against `procps`: every format, with and without ranges,
/// on several sets of PIDs (a zombie and a missing one among them).
fn as_pmap_matches(procps: &Procps) {
    let pmap = AsPmap::following(procps.release);
    let (a, b, z) = (
        Helper::files(),
        Helper::shapes(&["many", "50"]),
        Helper::shapes(&["zombie"]),
    );
    let zombie = z.said[0].strip_prefix("zombie ").unwrap().to_string();
    let missing = i32::MAX.to_string();
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", a.pid())).unwrap();
    let starts: Vec<&str> = maps.lines().map(|l| l.split('-').next().unwrap()).collect();
    let pid_sets: Vec<Vec<String>> = vec![
        vec![a.pid()],
        vec![a.pid(), b.pid(), a.pid()],
        vec![a.pid(), zombie.clone(), b.pid()],
        vec![zombie.clone(), a.pid()],
        vec![missing, b.pid()],
    ];
    let ranges = [
        None,
        Some(format!("{},", starts[6])),
        Some(format!("{},{}", starts[2], starts[9])),
    ];
    let mut formats: Vec<Vec<&str>> = FORMATS.iter().map(|f| f.to_vec()).collect();
    // -k is an option from 4.0.6 (an invalid one before: both must say so).
    formats.extend([
        vec!["-k"],
        vec!["-x", "-k"],
        vec!["-d", "-k", "-p"],
        vec!["-X", "-k"],
    ]);
    for format in &formats {
        for pids in &pid_sets {
            for range in &ranges {
                let mut args: Vec<&str> = format.clone();
                if let Some(range) = range {
                    args.extend(["-A", range.as_str()]);
                }
                args.extend(pids.iter().map(String::as_str));
                assert_same_run(
                    &format!("pmap {args:?}"),
                    &pmap.run(&args),
                    &procps.run(&args),
                );
            }
        }
    }
}

#[test]
fn as_pmap_its_usage_errors_and_exit_codes_are_procps() {
    if skip_without_procps("as_pmap_its_usage_errors_and_exit_codes_are_procps") {
        return;
    }
    match host() {
        Ok(procps) => usage_as(procps),
        Err(why) => panic!("{why}"),
    }
}

/// lab as `pmap`: usage errors, messages and exit codes as `procps`.
fn usage_as(procps: &Procps) {
    let pmap = AsPmap::following(procps.release);
    let helper = Helper::shapes(&["threads", "1"]);
    let pid = helper.pid();
    let octal = format!("0{:o}", helper.child.id());
    let hex = format!("0x{:x}", helper.child.id());
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["-z", &pid],
        vec!["--foo=3", &pid],
        vec!["--re=1"],
        vec!["--c"],
        vec!["--range"],
        vec!["-A"],
        vec!["--ext=1", &pid],
        vec!["--ext", &pid],
        vec!["-x"],
        vec!["-x", "-d", &pid],
        vec!["-XX", "-x", &pid],
        vec!["-n", "-q"],
        vec!["-n", &pid],
        vec!["-N", "somewhere", &pid],
        vec!["abc"],
        vec!["0"],
        vec!["-5"],
        vec!["--", "-5"],
        vec!["-", &pid],
        vec!["/proc/abc"],
        vec!["/proc/self", &pid],
        vec!["99999999999"],
        vec!["12x"],
        vec!["+3"],
        vec!["2147483647"],
        vec!["-A", "zz", &pid],
        vec!["-A", "1,2,3", &pid],
        vec!["-A", "0x", &pid],
        vec!["-A", "-1", &pid],
        vec!["-A", " 0x0,", &pid],
        vec!["-A", "1000,2000", "-A", ",ffffffffffffffff", &pid],
        vec!["-r", &pid],
        vec!["-k", &pid],
        vec!["--use-kernel-name", &pid],
        vec![&pid, "-x"],
        vec![&octal],
        vec![&hex],
        vec!["-xq", &pid],
        vec!["-A0,ffffffffffff", "-x", &pid],
        vec!["--range=0,ffffffffffff", &pid],
    ];
    for args in &cases {
        assert_same_run(
            &format!("pmap {args:?}"),
            &pmap.run(args),
            &procps.run(args),
        );
        // procps's usage, where it prints it (the line its own tests match).
        let usage = |o: &Output| {
            String::from_utf8_lossy(&o.stderr).contains("\nUsage:\n pmap [options] PID [PID ...]\n")
        };
        assert_eq!(
            usage(&pmap.run(args)),
            usage(&procps.run(args)),
            "usage of pmap {args:?}"
        );
    }
    for help in ["-h", "--help", "--he"] {
        let (ours, theirs) = (pmap.run(&[help]), procps.run(&[help]));
        assert_eq!(ours.status.code(), Some(0));
        assert_eq!(theirs.status.code(), Some(0));
        let head = |o: &Output| {
            text(o)
                .lines()
                .take(5)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(head(&ours), head(&theirs), "{help}");
        // The same options, described in lab's own words.
        let options = |o: &Output| {
            text(o)
                .lines()
                .filter_map(|l| {
                    l.strip_prefix(" -")
                        .map(|o| o.split("  ").next().unwrap().to_owned())
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(options(&ours), options(&theirs), "{help}");
    }
    for version in ["-V", "--version", "-xV"] {
        let (ours, theirs) = (pmap.run(&[version]), procps.run(&[version]));
        assert_eq!(ours.status.code(), Some(0));
        let theirs = text(&theirs);
        let ours = text(&ours);
        assert!(
            ours.starts_with(theirs.trim_end()),
            "{ours:?} vs {theirs:?}"
        );
        assert!(ours.contains("(pmap lab "), "{ours}");
    }
}

#[test]
fn names_and_command_lines_are_escaped_as_the_installed_release_does() {
    if skip_without_procps("names_and_command_lines_are_escaped_as_the_installed_release_does") {
        return;
    }
    match host() {
        Ok(procps) => escapes_as(procps),
        Err(why) => panic!("{why}"),
    }
}

/// Names and a command line with controls, a C1 control, a bad byte and
/// UTF-8, as `procps` escapes them.
fn escapes_as(procps: &Procps) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let pmap = AsPmap::following(procps.release);
    // A helper whose file is named in UTF-8 with a tab, and whose argv[0]
    // holds a control, a C1 control, a byte that is not UTF-8 and UTF-8.
    let dir = TempDir::new();
    let exe = dir.0.join("sh\u{e4}pes\tdir-\u{e9}");
    std::fs::copy(shapes_exe(), &exe).unwrap();
    sync(&exe);
    let mut command = Command::new(&exe);
    command
        .arg0(std::ffi::OsStr::from_bytes(
            b"sh\xc3\xa4pes \x01\xc2\x85 \xff-\xc3\xa9",
        ))
        .args(["many", "5"]);
    let helper = Helper::start(command, Some(dir));
    let pid = helper.pid();
    for format in [&[][..], &["-x"], &["-d"], &["-X"], &["-p"]] {
        let args = with_pids(format, std::slice::from_ref(&pid));
        let theirs = procps.run(&args);
        assert_same_run(&format!("pmap {args:?}"), &pmap.run(&args), &theirs);
        let exact = procps.lab(&[&["--procps"], &args[..]].concat());
        // procps prints -X mapping names raw, controls included (and from
        // 4.0.5 the names of every format); lab's own view shows each control
        // as `?` (a name must not drive the terminal). The first line, the
        // command line, is procps's text with what its escaping keeps of
        // those (a C1 control, before 4.0.4) as `?` too (issue 19).
        let raw_names = format == ["-X"] || procps.release >= Release::V4_0_5;
        let lab_view = |text: &str| -> String {
            text.chars()
                .map(|c| match c as u32 {
                    0x0a => c.to_string(),
                    0..=0x1f | 0x7f => "?".to_string(),
                    _ if pmap_view::region::is_unsafe_char(c) => "?".repeat(c.len_utf8()),
                    _ => c.to_string(),
                })
                .collect()
        };
        let all = text(&theirs);
        let (first, rest) = all.split_at(all.find('\n').map_or(all.len(), |i| i + 1));
        let theirs = if raw_names {
            format!("{}{}", lab_view(first), lab_view(rest))
        } else {
            format!("{}{rest}", lab_view(first))
        };
        assert_same(
            &format!("lab pmap --procps {args:?}"),
            &text(&exact),
            &theirs,
        );
    }
    // The default release keeps UTF-8 names (4.0.5 on); lab's own view shows
    // the tab, a control, as `?`.
    let newest = Command::new(lab_exe())
        .args(["pmap", &pid])
        .output()
        .unwrap();
    assert!(
        text(&newest).contains("sh\u{e4}pes?dir-\u{e9}"),
        "{}",
        text(&newest)
    );
}

// ------------------------------------------- other releases, in their roots

/// The procps of each root `$PMAP_LAB_PROCPS_ROOTS` names: a root (a
/// debootstrap root with procps), or a directory of roots (each of its
/// entries with a `usr/bin/pmap`), or several, separated by `:`. Each is
/// followed as its `pmap -V` says.
fn roots() -> Vec<Procps> {
    let var = std::env::var_os("PMAP_LAB_PROCPS_ROOTS").unwrap_or_else(|| {
        panic!(
            "PMAP_LAB_PROCPS_ROOTS is not set: name debootstrap roots with procps \
             (a root, a directory of roots, or ROOT:ROOT), e.g. target/matrix"
        )
    });
    let has_pmap = |d: &Path| d.join("usr/bin/pmap").exists();
    let mut dirs = Vec::new();
    for dir in std::env::split_paths(&var) {
        if has_pmap(&dir) {
            dirs.push(dir);
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("PMAP_LAB_PROCPS_ROOTS: {}: {e}", dir.display()))
            .filter_map(|e| Some(e.ok()?.path()))
            .filter(|d| has_pmap(d))
            .collect();
        inside.sort();
        dirs.extend(inside);
    }
    assert!(
        !dirs.is_empty(),
        "PMAP_LAB_PROCPS_ROOTS={}: no root with usr/bin/pmap",
        var.to_string_lossy()
    );
    dirs.into_iter()
        .map(|dir| {
            Procps::found(Some(dir)).unwrap_or_else(|e| {
                panic!("{e} (running a root's pmap needs root: unshare -m, chroot)")
            })
        })
        .collect()
}

#[test]
#[ignore = "compares with the procps of other releases' roots: run as root with PMAP_LAB_PROCPS_ROOTS set (docs/pmap.md) and --ignored"]
fn every_format_matches_the_procps_of_each_root() {
    let roots = roots();
    let (many, threads, files, zombie) = (
        Helper::shapes(&["many", "500"]),
        Helper::shapes(&["threads", "8"]),
        Helper::files(),
        Helper::shapes(&["zombie"]),
    );
    let zombie = zombie.said[0].strip_prefix("zombie ").unwrap().to_string();
    for procps in &roots {
        // Shown with the failure, if any.
        eprintln!(
            "procps-ng {} of {}",
            procps.release.version(),
            procps.describe()
        );
        for pid in [many.pid(), threads.pid(), files.pid(), zombie.clone()] {
            matches_in_every_format(procps, &[pid]);
        }
        as_pmap_matches(procps);
        usage_as(procps);
        escapes_as(procps);
    }
}

// --------------------------------------------------------- the tests themselves

/// The comparison fails on one changed number, and the label normalisation
/// hides nothing but labels.
#[test]
fn the_comparison_catches_a_changed_row() {
    if skip_without_procps("the_comparison_catches_a_changed_row") {
        return;
    }
    let helper = Helper::shapes(&["many", "50"]);
    let pid = helper.pid();
    let theirs = text(&procps(&["-x", &pid]));
    let ours = procps_labels(&text(&lab_pmap(&["-x", &pid])));
    assert_eq!(first_difference(&ours, &theirs), None);
    // One RSS one kB off, in the middle of the table.
    let lines: Vec<&str> = ours.lines().collect();
    let row = lines.len() / 2;
    let changed = lines[row].replacen("       4 ", "       5 ", 1);
    assert_ne!(changed, lines[row], "no 4 kB RSS in row {}", lines[row]);
    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[row] = changed;
    let edited = edited.join("\n") + "\n";
    let diff = first_difference(&edited, &theirs).expect("a changed row is a difference");
    assert!(diff.starts_with(&format!("line {}:", row + 1)), "{diff}");
    let caught = std::panic::catch_unwind(|| assert_same("edited", &edited, &theirs));
    assert!(caught.is_err());
    // A wrong number next to a kernel name is not hidden by the normalisation.
    let heap_row = text(&lab_pmap(&["-x", &pid]))
        .lines()
        .find(|l| l.ends_with(" [heap]"))
        .unwrap()
        .to_string();
    let wrong = heap_row.replacen(" rw--- ", "9 rw--- ", 1);
    assert!(procps_labels(&wrong).ends_with("9 rw---   [ anon ]\n"));
}

#[test]
fn helpers_do_not_outlive_their_test() {
    // Dropped: killed and reaped.
    let helper = Helper::shapes(&["threads", "2"]);
    let pid: i32 = helper.pid().parse().unwrap();
    assert!(alive(pid));
    drop(helper);
    assert!(
        std::fs::metadata(format!("/proc/{pid}")).is_err(),
        "{pid} left behind"
    );
    // Its stdin closed: it exits by itself.
    let mut helper = Helper::shapes(&["threads", "1"]);
    let pid: i32 = helper.pid().parse().unwrap();
    drop(helper.stdin.take());
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "EOF on stdin ends the helper"
    );
}
