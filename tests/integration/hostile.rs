//! Hostile processes and unlucky users (issue 11): mapping names that hold
//! terminal escapes, output that cannot be written, targets that exit while
//! they are read, and what a run leaves behind when it is interrupted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::Duration;

use crate::util::{gone_within, lab_exe};

/// A name that would recolour the terminal, retitle its window and ring its
/// bell, with a tab and a C1 control (NEL, U+0085) besides.
const HOSTILE: &str = "\x1b[31mRED\x1b[0m\x1b]0;title\x07\t\u{85}x";
/// How procps prints it in its formats: `?` per byte of a control character.
const PROCPS_SHOWS: &str = "?[31mRED?[0m?]0;title????x";
/// How lab's own views print it.
const LAB_SHOWS: &str = "\\x1b[31mRED\\x1b[0m\\x1b]0;title\\x07\\x09\\u{85}x";

/// A Python process that maps a 64-page file named [`HOSTILE`] (in a
/// directory of its own), prints "ready" and then: `wait`, blocks until its
/// stdin closes; `grow`, maps its first page once more every 20 ms;
/// `prompt`, asks for one line with `input()` and exits.
const SCRIPT: &str = r#"
import mmap, os, sys, time
path = os.path.join(sys.argv[1], sys.argv[2])
f = open(path, "wb+")
f.write(b"x" * 65536 * 4)
f.flush()
m = mmap.mmap(f.fileno(), 65536 * 4)
print("ready", flush=True)
if sys.argv[3] == "wait":
    sys.stdin.read()
elif sys.argv[3] == "grow":
    more = []
    for page in range(100):
        more.append(mmap.mmap(f.fileno(), 4096))
        time.sleep(0.02)
    sys.stdin.read()
else:
    input("go on? ")
"#;

/// A process of [`SCRIPT`], killed and reaped (and its directory removed) when
/// dropped.
pub struct Hostile {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// Where its file is: removed with it.
    _dir: Scratch,
}

impl Hostile {
    fn start(mode: &str) -> Hostile {
        let dir = scratch_dir("hostile");
        let (mut child, line) = spawn_until_ready(
            Command::new("python3")
                .args(["-c", SCRIPT])
                .arg(&dir)
                .arg(HOSTILE)
                .arg(mode),
        );
        assert_eq!(line, "ready\n");
        Hostile {
            _stdin: child.stdin.take(),
            child,
            _dir: dir,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new empty directory of this test process, removed when dropped (also
/// when an assertion fails).
pub fn scratch_dir(what: &str) -> Scratch {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("pmap-lab-{what}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// See [`scratch_dir`].
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lab(args: &[&str]) -> Output {
    crate::util::lab(args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The control characters of `text` but newline (what a terminal obeys).
fn controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c.is_control() && c != '\n')
        .collect()
}

/// No control character reaches the terminal, and the name shows as `shown`.
fn assert_escaped(what: &str, out: &Output, shown: &str) {
    let text = stdout(out);
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(controls(&text), Vec::<char>::new(), "{what}: {text}");
    assert!(text.contains(shown), "{what}: no {shown} in {text}");
}

// ------------------------------------------------- 1. control bytes escaped

#[test]
fn pmap_formats_print_control_bytes_as_procps_does() {
    let h = Hostile::start("wait");
    let pid = h.pid();
    for format in [&[][..], &["-x"], &["-d"], &["-X"], &["-XX"], &["-p", "-x"]] {
        let mut args = vec!["pmap"];
        args.extend_from_slice(format);
        args.push(&pid);
        assert_escaped(&format!("{args:?}"), &lab(&args), PROCPS_SHOWS);
    }
    // procps itself, where it escapes (it prints -X names raw).
    if let Ok(theirs) = Command::new("pmap").args(["-x", &pid]).output() {
        assert!(
            stdout(&theirs).contains(PROCPS_SHOWS),
            "{}",
            stdout(&theirs)
        );
    }
}

#[test]
fn json_keeps_the_true_name_and_stays_valid() {
    let h = Hostile::start("wait");
    let pid = h.pid();
    for args in [
        vec!["pmap", "--json", &pid],
        vec!["explain", "--json", &pid],
    ] {
        let out = lab(&args);
        assert!(out.status.success(), "{args:?}");
        let doc = crate::util::json_doc(crate::util::Doc::of_args(&args), &out.stdout);
        let names: Vec<&str> = doc["regions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(
            names.iter().any(|n| n.ends_with(&format!("/{HOSTILE}"))),
            "{args:?}: {names:?}"
        );
        // serde escapes control characters: one line per line of JSON.
        assert_eq!(controls(&stdout(&out)), Vec::<char>::new(), "{args:?}");
    }
}

#[test]
fn lab_views_escape_control_bytes() {
    let h = Hostile::start("wait");
    let pid = h.pid();
    assert_escaped("explain", &lab(&["explain", &pid]), LAB_SHOWS);

    // diff: the region appears between two captures.
    let dir = scratch_dir("hostile-diff");
    let after = lab(&["pmap", "--json", &pid]);
    let mut before = crate::util::json_doc(crate::util::Doc::Pmap, &after.stdout);
    before["regions"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["name"].as_str().unwrap().contains("RED"));
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&a, before.to_string()).unwrap();
    std::fs::write(&b, &after.stdout).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    assert_escaped("diff", &lab(&["diff", a, b]), LAB_SHOWS);
    let json = lab(&["diff", "--json", a, b]);
    assert_eq!(controls(&stdout(&json)), Vec::<char>::new());
    let doc = crate::util::json_doc(crate::util::Doc::Diff, &json.stdout);
    assert!(doc["changes"][0]["name"]
        .as_str()
        .unwrap()
        .ends_with(HOSTILE));
}

#[test]
fn watch_escapes_control_bytes() {
    let h = Hostile::start("grow");
    let out = lab(&["watch", &h.pid(), "--interval", "0.2", "--count", "4"]);
    assert_escaped("watch", &out, LAB_SHOWS);
}

#[test]
fn observe_escapes_control_bytes() {
    let dir = scratch_dir("hostile-observe");
    let out = Command::new(lab_exe())
        .args(["observe", "--no-pause", "--", "python3", "-c", SCRIPT])
        .arg(&dir)
        .arg(HOSTILE)
        .arg("prompt")
        .env("XDG_DATA_HOME", crate::util::data_home())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Step 0 shows every region; the escaped name is among them.
    assert_escaped("observe", &out, LAB_SHOWS);
}

// ------------------------------------------------------ 2. nothing lost

/// `cmd > /dev/full`.
fn to_full_disk(args: &[&str]) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    Command::new(lab_exe())
        .args(args)
        .env("XDG_DATA_HOME", crate::util::data_home())
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_is_a_write_error_not_silence() {
    let h = Hostile::start("wait");
    let pid = h.pid();
    // lab pmap as procps: `write error: …`, exit 1, whatever the format.
    for format in ["-x", "-X", "-d", "-q", "--json"] {
        let out = to_full_disk(&["pmap", format, &pid]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            (out.status.code(), err.as_ref()),
            (Some(1), "lab pmap: write error: No space left on device\n"),
            "lab pmap {format}"
        );
    }
    // Elsewhere the project's error status, 2, and one line.
    for args in [
        &["explain", &pid][..],
        &["explain", "--json", &pid],
        &["completions", "bash"],
        &["man"],
        &["list"],
    ] {
        let out = to_full_disk(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

/// Start `command` with piped stdin and stdout and wait for the first line it
/// prints (its "ready": the state the test needs is in place).
fn spawn_until_ready(command: &mut Command) -> (Child, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {command:?}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// A process of `shapes many N` that exits when its stdin closes.
fn many_mappings(n: usize) -> (Child, ChildStdin) {
    let (mut child, line) =
        spawn_until_ready(Command::new(crate::pmap::shapes_exe()).args(["many", &n.to_string()]));
    assert_eq!(line, "ready\n");
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

/// A target that exits while it is read: never a part of its map shown as
/// the whole with exit 0 (the kernel just ends the file early).
#[test]
fn a_target_exiting_mid_read_is_an_error_not_a_short_map() {
    const MAPPINGS: usize = 20_000;
    let commands: [&[&str]; 5] = [
        &["pmap", "-X"],
        &["pmap", "--json"],
        &["pmap"],
        &["pmap", "-d"],
        &["explain"],
    ];
    let mut raced = 0;
    for round in 0..12u64 {
        for args in commands {
            let (mut target, stdin) = many_mappings(MAPPINGS);
            let pid = target.id().to_string();
            let lab = Command::new(lab_exe())
                .args(args)
                .arg(&pid)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Let the target exit a little later every round.
            std::thread::sleep(Duration::from_millis(2 + round * 6));
            drop(stdin);
            let out = lab.wait_with_output().unwrap();
            let _ = target.wait();
            let text = stdout(&out);
            let rows = if args.contains(&"--json") {
                serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|d| d["regions"].as_array().map(Vec::len))
                    .unwrap_or(0)
            } else {
                text.lines().count()
            };
            if out.status.success() && args.contains(&"--json") {
                crate::util::json_doc(crate::util::Doc::Pmap, &out.stdout);
            }
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.success() && err.contains("(a zombie)") {
                // It had exited before the read began: no map, and lab says so.
                raced += 1;
            } else if out.status.success() {
                assert!(rows >= MAPPINGS, "{args:?}: exit 0 with {rows} rows");
            } else {
                raced += 1;
                assert!(err.contains(&pid), "{args:?}: {err}");
            }
        }
    }
    // The race was really run: some reads lost it.
    assert!(raced > 0, "no read was caught by the exit");
}

/// `lab observe`: a process the program started, which ignores the hangup of
/// the terminal, does not outlive the run.
#[test]
fn observe_leaves_no_grandchild_behind() {
    let dir = scratch_dir("hostile-grandchild");
    let pid_file = dir.join("pid");
    // The child writes its pid once it ignores SIGHUP; the program waits
    // for that before its prompt.
    let script = format!(
        "sh -c 'trap \"\" HUP; echo $$ > {0}; exec sleep 300' & \
         while [ ! -s {0} ]; do sleep 0.01; done; read answer",
        pid_file.display()
    );
    let out = Command::new(lab_exe())
        .args(["observe", "--no-pause", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gone = gone_within(pid, Duration::from_secs(5));
    if !gone {
        // SAFETY: kill(2) of the sleep this test started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(gone, "the program's child {pid} outlived lab observe");
}

/// Ctrl-C or a hangup during `lab filemap` removes its 100 MiB file, as the
/// end of a run does.
fn signal_removes_the_filemap_file(sig: i32) {
    let cache = scratch_dir("hostile-cache");
    let mut cmd = Command::new(lab_exe());
    cmd.arg("filemap")
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", &cache)
        .env_remove("PMAP_LAB_CACHE_DIR")
        .env("XDG_DATA_HOME", crate::util::data_home());
    // On a pty, so that it pauses for Enter after the first step, the file made.
    let mut lab = observer::drive::demo::Demo::spawn(cmd).unwrap();
    let out = lab.wait_for_prompt(Duration::from_secs(60)).unwrap();
    assert!(out.contains("Press Enter for the next step"), "{out}");
    let files = data_files(&cache);
    assert_eq!(files.len(), 1, "the lab's file is there: {files:?}");
    lab.signal(sig).unwrap();
    lab.wait_for_exit(Duration::from_secs(10)).unwrap();
    let left = data_files(&cache);
    assert_eq!(left, Vec::<PathBuf>::new(), "left behind by signal {sig}");
}

/// The `*.dat` files under `dir`, at any depth.
fn data_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(data_files(&path));
        } else if path.extension().is_some_and(|e| e == "dat") {
            found.push(path);
        }
    }
    found
}

#[test]
fn ctrl_c_during_filemap_removes_its_file() {
    signal_removes_the_filemap_file(libc::SIGINT);
}

#[test]
fn sighup_during_filemap_removes_its_file() {
    signal_removes_the_filemap_file(libc::SIGHUP);
}

// ------------------------------------------------------ 3. lab explain, lab diff

/// Run `lab ARGS`, killed if it takes over a minute (it was caught looping).
fn lab_within_a_minute(args: &[&str]) -> Output {
    let mut child = Command::new(lab_exe())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("lab {args:?} ran for a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A malloc chunk header is the target's data: one whose size wraps the
/// walk's arithmetic must not send `lab explain` round for ever.
#[test]
fn explain_survives_a_chunk_size_that_overflows() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // SAFETY: a private mapping of our own, written within its bounds.
    let base = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4 * page,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        // Two read-write pages between two no-access ones: a region of its own.
        let region = p.cast::<u8>().add(page);
        assert_eq!(
            libc::mprotect(region.cast(), 2 * page, libc::PROT_READ | libc::PROT_WRITE),
            0
        );
        let words = region.cast::<u64>();
        // A one-page chunk with IS_MMAPPED, then one whose size wraps to 0.
        words.add(1).write_volatile(page as u64 | 2);
        words
            .add(page / 8 + 1)
            .write_volatile(0xffff_ffff_ffff_f000 | 2);
        p
    };
    let region = base as usize + page;
    let out = lab_within_a_minute(&["explain", &std::process::id().to_string()]);
    // SAFETY: unmapping what we mapped above.
    unsafe { libc::munmap(base, 4 * page) };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = stdout(&out)
        .lines()
        .find(|l| l.starts_with(&format!("{region:016x} ")))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no row for {region:x}"));
    assert!(row.contains("1 large malloc block"), "{row}");
}

/// A live file whose name ends in " (deleted)" is not a deleted file; a
/// deleted one is.
#[test]
fn explain_tells_a_deleted_file_from_one_named_so() {
    const SCRIPT: &str = r#"
import mmap, os, sys
maps = []
for name in ("live (deleted)", "gone"):
    f = open(os.path.join(sys.argv[1], name), "wb+")
    f.write(b"x" * 4096)
    f.flush()
    maps.append(mmap.mmap(f.fileno(), 4096))
os.unlink(os.path.join(sys.argv[1], "gone"))
print("ready", flush=True)
sys.stdin.read()
"#;
    let dir = scratch_dir("hostile-deleted");
    let (mut child, _) = spawn_until_ready(Command::new("python3").args(["-c", SCRIPT]).arg(&dir));
    let out = lab(&["explain", &child.id().to_string()]);
    let _ = child.kill();
    let _ = child.wait();
    let text = stdout(&out);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("{}/{name}", dir.display())))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    let live = row("live (deleted)");
    assert!(
        live.contains(&format!(
            "mapping of the file {}/live (deleted),",
            dir.display()
        )),
        "{live}"
    );
    let gone = row("gone");
    assert!(
        gone.contains(&format!(
            "mapping of the deleted file {}/gone,",
            dir.display()
        )),
        "{gone}"
    );
}

/// A zombie or a kernel thread has no map to explain: say so, exit 2.
#[test]
fn explain_says_why_there_is_no_map() {
    let mut zombie_parent = Command::new(crate::pmap::shapes_exe())
        .arg("zombie")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(zombie_parent.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let zombie = line.trim().strip_prefix("zombie ").unwrap().to_string();
    let out = lab(&["explain", &zombie]);
    let _ = zombie_parent.kill();
    let _ = zombie_parent.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(a zombie)"), "{err}");
    assert_eq!(stdout(&out), "");
    // kthreadd, where this process can see it (not in a PID namespace).
    let kthreadd = std::fs::read_to_string("/proc/2/stat").unwrap_or_default();
    if kthreadd.starts_with("2 (kthreadd)") {
        let out = lab(&["explain", "2"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("kernel thread"), "{err}");
    }
}

/// Counters out of range are refused with the field named; none overflows.
#[test]
fn diff_refuses_counters_out_of_range() {
    let dir = scratch_dir("hostile-counters");
    let region = |start: u64, rss: &str| {
        format!(
            r#"{{"start":"{start:#x}","end":"{:#x}","perms":"rw-p","name":"","kind":"anon","size_kib":4,"rss_kib":{rss},"dirty_kib":4}}"#,
            start + 4096
        )
    };
    let doc = |regions: &[String]| format!(r#"{{"pid":1,"regions":[{}]}}"#, regions.join(","));
    let good = dir.join("good.json");
    std::fs::write(&good, doc(&[region(0x1000, "4")])).unwrap();
    let huge = (u64::MAX >> 10).to_string();
    for (what, rss, words) in [
        (
            "u64::MAX",
            u64::MAX.to_string(),
            "`rss_kib` is 18446744073709551615",
        ),
        ("negative", "-4".to_string(), "`rss_kib` is -4"),
        ("fraction", "1.5".to_string(), "`rss_kib` is 1.5"),
        // Each in range, their sum not.
        ("sum", huge.clone(), "`rss_kib` add up to more than"),
    ] {
        let bad = dir.join(format!("{what}.json"));
        let regions: Vec<String> = (0..4u64)
            .map(|i| region(0x1000 + i * 0x10000, &rss))
            .collect();
        std::fs::write(&bad, doc(&regions)).unwrap();
        for pair in [[&good, &bad], [&bad, &good]] {
            let out = lab(&["diff", pair[0].to_str().unwrap(), pair[1].to_str().unwrap()]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{what}: {err}");
            assert!(err.contains(words), "{what}: {err}");
            assert!(err.contains(bad.to_str().unwrap()), "{what}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: {err}");
        }
    }
    // The largest counters accepted, and overlapping regions, compare fine.
    let big = dir.join("big.json");
    std::fs::write(
        &big,
        doc(&[
            region(0x1000, &huge),
            region(0x1000, "0"),
            region(0x1800, "0"),
        ]),
    )
    .unwrap();
    for pair in [[&good, &big], [&big, &good], [&big, &big]] {
        let out = lab(&["diff", pair[0].to_str().unwrap(), pair[1].to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ------------------------------------------------- 4. messages that say what failed

/// `--html` into a place it cannot be written fails before the run, not
/// after every step has run.
#[test]
fn an_unwritable_html_page_fails_before_the_run() {
    let dir = scratch_dir("hostile-html");
    let missing = dir.join("no-such-dir").join("page.html");
    let missing = missing.to_str().unwrap();
    let a_dir = dir.to_str().unwrap();
    for args in [
        &["heap", "--no-pause", "--html", missing][..],
        &["check", "heap", "--html", a_dir],
    ] {
        let out = lab(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}: nothing ran");
        assert!(
            err.starts_with(&format!("lab: cannot write the page {}", dir.display())),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // The check leaves nothing behind where the page could be written.
    let page = dir.join("page.html");
    let out = lab(&["heap", "--no-pause", "--html", page.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(std::fs::read_to_string(&page).unwrap().contains("<html"));
}

/// Run `sh -c SCRIPT` (which runs `$LAB`), with XDG_CACHE_HOME in `cache`.
fn lab_in_shell(script: &str, cache: &std::path::Path) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .env("LAB", lab_exe())
        .env("XDG_CACHE_HOME", cache)
        .env_remove("PMAP_LAB_CACHE_DIR")
        .env("XDG_DATA_HOME", crate::util::data_home())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A compiler that cannot be started for want of file descriptors is not
/// "not found"; a Rust port's failed write is not "reading stdin".
#[test]
fn resource_limits_are_named_not_taken_for_missing_tools() {
    let cache = scratch_dir("hostile-limits");
    let out = lab_in_shell(
        "ulimit -n 8; exec \"$LAB\" heap --impl c --no-pause",
        &cache,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("not found"), "{err}");
    assert!(err.contains("Too many open files"), "{err}");

    // A process limit, for a user it applies to (not root).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0
        && Command::new("setpriv").arg("--help").output().is_ok()
        && Command::new("prlimit").arg("--help").output().is_ok()
    {
        let theirs = scratch_dir("hostile-nproc");
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let out = lab_in_shell(
            "exec prlimit --nproc=1 setpriv --reuid=65534 --regid=65534 --clear-groups \
             \"$LAB\" heap --impl c --no-pause",
            &theirs,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("not found"), "{err}");
        assert!(
            err.contains("no more processes allowed (ulimit -u"),
            "{err}"
        );
    }

    // A file size limit (its signal ignored): the port's write fails.
    let out = lab_in_shell(
        "trap '' XFSZ; ulimit -f 1024; exec \"$LAB\" filemap --no-pause",
        &cache,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("reading stdin"), "{err}");
    assert!(err.contains(".dat: File too large"), "{err}");
    assert!(err.contains("writing filemap-"), "{err}");
    assert_eq!(data_files(&cache), Vec::<PathBuf>::new());
}

/// A program waiting for input where the kernel check cannot see it
/// (select, here) times out with a pointer to `--prompt`.
#[test]
fn observe_timing_out_mentions_prompt() {
    let out = lab(&[
        "observe",
        "--no-pause",
        "--step-timeout",
        "1",
        "--",
        "python3",
        "-c",
        "import select, sys\nprint('> ', end='', flush=True)\nselect.select([sys.stdin], [], [])",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--prompt REGEX"), "{err}");
}

/// /proc/PID/io and syscall unreadable (here: a program that makes itself
/// non-dumpable, observed by an unprivileged user): an error naming the file
/// at once, not a timeout blaming the program.
#[test]
fn unreadable_proc_files_are_named_at_once() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || Command::new("setpriv").arg("--help").output().is_err() {
        crate::util::skip(
            "hostile::unreadable_proc_files_are_named_at_once",
            "needs root and setpriv to run lab as another user",
        );
        return;
    }
    let start = std::time::Instant::now();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(lab_exe())
        .args(["observe", "--no-pause", "--step-timeout", "30", "--"])
        .args(["/usr/bin/python3", "-c"])
        .arg("import ctypes; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); input('> ')")
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot read /proc/"), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "{err}");
}

// ------------------------------------------------------ 5. memory stays bounded

/// Under a 100 MB address-space limit (`ulimit -v`), the commands whose input
/// has no bound finish (they stream, or keep what they need), and where the
/// input itself is too big, running out of memory is one line and exit 2,
/// not SIGABRT. (bench/memory.sh measures the peaks.)
#[test]
fn memory_limits_are_met_or_are_one_line_errors() {
    const LIMIT: &str = "ulimit -v 100000";
    let cache = scratch_dir("hostile-memory");
    let (mut target, stdin) = many_mappings(30_000);
    let pid = target.id();
    let run = |command: &str| lab_in_shell(&format!("{LIMIT}; exec \"$LAB\" {command}"), &cache);

    // A program that prints without end: its output is not kept.
    let out = run("observe --no-pause --step-timeout 1 -- yes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("lab: the demo did not reach a prompt"),
        "{err}"
    );

    // 30,000 mappings as JSON, and explained: streamed.
    let out = run(&format!("pmap --json {pid}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc = crate::util::json_doc(crate::util::Doc::Pmap, &out.stdout);
    assert!(doc["regions"].as_array().unwrap().len() >= 30_000);

    let out = run(&format!("explain --json {pid}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc = crate::util::json_doc(crate::util::Doc::Explain, &out.stdout);
    assert!(doc["regions"].as_array().unwrap().len() >= 30_000);

    // 40 samples of them: two captures kept, not forty.
    let out = run(&format!("watch {pid} --interval 0.01 --count 40"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    drop(stdin);
    let _ = target.wait();

    // A capture too big for the limit: one line, exit 2.
    let big = cache.join("big.json");
    let mut text = String::from(r#"{"pid":1,"regions":["#);
    for i in 1..400_000u64 {
        if i > 1 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"start":"{:#x}","end":"{:#x}","perms":"rw-p","name":"/a/file","rss_kib":4}}"#,
            i << 12,
            (i + 1) << 12
        ));
    }
    text.push_str("]}");
    std::fs::write(&big, text).unwrap();
    let out = run(&format!("diff {0} {0}", big.display()));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("lab: out of memory: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
