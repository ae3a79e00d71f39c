//! Issue 19, items 2 and 4: folders are trusted the way OpenSSH trusts key
//! files (the cache folder and every folder above it, `--labs` folders and
//! their files: root's or the user's, writable by nobody else), and input is
//! bounded (lab.toml and demo files have a size limit checked before they
//! are read; commands that do not use the labs never read them).
//!
//! The attacks need another user's files: as root the tests make them with
//! an unused uid (`chown 12345`); otherwise they skip visibly (and fail on CI).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::hostile::scratch_dir;
use crate::util::{data_home, lab_exe, skip};

/// A uid no account has here: "another user".
const STRANGER: u32 = 12345;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32) {
    nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
}

/// What a run of `lab` gave, with its peak resident memory.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The child's own `ru_maxrss` (wait4(2)), KiB.
    max_rss_kib: i64,
}

/// Starts its arguments and writes their `ru_maxrss` (KiB) to the file named
/// first. Measured from a small process: Linux keeps the high-water mark of
/// the address space a process had before execve(2) (fs/exec.c,
/// `exec_mmap()`: `setmax_mm_hiwater_rss(&tsk->signal->maxrss, old_mm)`), and
/// a child of this test process reports this process's peak: `lab pmap`
/// spawned from here read 264,288 KiB in a full `cargo test`, 14,024 KiB
/// from python3.
const MEASURE: &str = "import os, sys\n\
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)\n\
_, status, usage = os.wait4(pid, 0)\n\
open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n\
sys.exit(os.waitstatus_to_exitcode(status) % 256)\n";

/// Run `lab ARGS` with `env` (and without PMAP_LAB_LABS, PMAP_LAB_TRUST_LABS
/// unless given), and measure its peak RSS (by wait4(2) in [`MEASURE`]).
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out_dir = scratch_dir("trust-out");
    let (o, e, m) = (
        out_dir.join("stdout"),
        out_dir.join("stderr"),
        out_dir.join("maxrss"),
    );
    let mut cmd = Command::new("python3");
    cmd.arg("-c")
        .arg(MEASURE)
        .arg(&m)
        .arg(lab_exe())
        .args(args)
        .env("XDG_DATA_HOME", data_home())
        .env_remove("PMAP_LAB_LABS")
        .env_remove("PMAP_LAB_TRUST_LABS")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().expect("running python3 (the tests need it)");
    let stderr = std::fs::read_to_string(&e).unwrap();
    let max_rss_kib = std::fs::read_to_string(&m)
        .unwrap_or_else(|_| panic!("no peak RSS measured: {stderr}"))
        .trim()
        .parse()
        .unwrap();
    Run {
        code: status.code(),
        stdout: std::fs::read_to_string(&o).unwrap(),
        stderr,
        max_rss_kib,
    }
}

/// `lab new NAME --dir DIR`: a lab that runs and passes at once.
fn new_lab(dir: &Path, name: &str) {
    let r = run(&["new", name, "--dir", dir.to_str().unwrap()], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

fn compiled(cache: &Path) -> usize {
    std::fs::read_dir(cache)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("c-"))
                .count()
        })
        .unwrap_or(0)
}

/// The cache folder's parents are checked from `/`: a parent others can
/// write (not sticky) is refused, naming it; a sticky one (/tmp) is fine.
/// Before, only the last component was checked, and a user who could write
/// a parent swapped folders (renameat2 RENAME_EXCHANGE) while root ran lab.
#[test]
fn a_cache_folder_under_a_parent_others_can_write_is_refused_naming_the_parent() {
    let base = scratch_dir("trust-cache");
    let shared = base.join("course");
    let cache = shared.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    chmod(&cache, 0o700);
    chmod(&shared, 0o777);
    let r = run(
        &[
            "heap",
            "--impl",
            "c",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "refusing the cache directory {}: {} is writable by its group and others (mode 0777) and not sticky",
            cache.display(),
            shared.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(compiled(&cache), 0, "nothing is built there");

    // Sticky, as /tmp: nobody else can rename what is not theirs there.
    chmod(&shared, 0o1777);
    let r = run(
        &["mmap", "--json", "--cache-dir", cache.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    // A link to a folder of one's own, in a folder that passes, is followed
    // and what it leads to is checked; the same link in a folder others can
    // write is not followed.
    let link = base.join("link");
    std::os::unix::fs::symlink(&cache, &link).unwrap();
    let r = run(
        &["mmap", "--json", "--cache-dir", link.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    chmod(&shared, 0o777);
    let r = run(
        &["mmap", "--json", "--cache-dir", link.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} is writable by its group and others",
            shared.display()
        )),
        "{}",
        r.stderr
    );
    let open_link = shared.join("link");
    std::os::unix::fs::symlink(&cache, &open_link).unwrap();
    let r = run(
        &["mmap", "--json", "--cache-dir", open_link.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} is writable by its group and others",
            shared.display()
        )),
        "{}",
        r.stderr
    );
}

/// As root, with another user's parent folder: the attack of issue 19 (the
/// parent's owner swaps the cache with a folder of theirs) is closed by
/// refusing the folder, which the old check (last component only) accepted.
#[test]
fn a_cache_folder_under_another_users_folder_is_refused() {
    if !is_root() {
        return skip(
            "a_cache_folder_under_another_users_folder_is_refused",
            "needs root to give a folder to another uid",
        );
    }
    let base = scratch_dir("trust-cache-theirs");
    let theirs = base.join("student");
    let cache = theirs.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    chmod(&cache, 0o700);
    chmod(&theirs, 0o755);
    chown(&theirs, STRANGER);
    let r = run(
        &[
            "heap",
            "--impl",
            "c",
            "--cache-dir",
            cache.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} belongs to uid {STRANGER}, neither root nor you (uid 0)",
            theirs.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(compiled(&cache), 0, "nothing is built there");
    // Their link in a folder of root's is not followed either.
    let mine = base.join("mine");
    std::fs::create_dir(&mine).unwrap();
    chmod(&mine, 0o700);
    let link = base.join("their-link");
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    nix::unistd::fchownat(
        None,
        &link,
        Some(nix::unistd::Uid::from_raw(STRANGER)),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
    let r = run(
        &["mmap", "--json", "--cache-dir", link.to_str().unwrap()],
        &[],
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "{} is a symbolic link of uid {STRANGER}",
            link.display()
        )),
        "{}",
        r.stderr
    );
}

/// A `--labs` folder others can write, or a lab file they can, is refused
/// with the reason, and runs with `--trust-labs` or PMAP_LAB_TRUST_LABS=1.
#[test]
fn a_labs_folder_others_can_write_is_refused_unless_trusted() {
    let base = scratch_dir("trust-labs");
    let labs = base.join("labs");
    std::fs::create_dir(&labs).unwrap();
    new_lab(&labs, "trustme");
    let dir = labs.to_str().unwrap();
    let r = run(&["--labs", dir, "list"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("trustme"), "{}", r.stdout);

    chmod(&labs, 0o777);
    let r = run(&["--labs", dir, "list"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "lab: refusing the labs in {dir}: {dir} is writable by its group and others (mode 0777)"
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--trust-labs"), "{}", r.stderr);
    let r = run(&["--labs", dir, "--trust-labs", "list"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("trustme"), "{}", r.stdout);
    let r = run(
        &["list"],
        &[("PMAP_LAB_LABS", dir), ("PMAP_LAB_TRUST_LABS", "1")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = run(&["list"], &[("PMAP_LAB_LABS", dir)]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    chmod(&labs, 0o755);

    // Sticky is not enough for the folder named: others could add labs.
    chmod(&labs, 0o1777);
    let r = run(&["--labs", dir, "list"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("(mode 1777)"), "{}", r.stderr);
    chmod(&labs, 0o755);

    // A lab's folder, its lab.toml, its demo.
    let lab = labs.join("trustme");
    for (path, what) in [
        (lab.clone(), "the lab's folder"),
        (lab.join("lab.toml"), "lab.toml"),
        (lab.join("trustme.c"), "the demo"),
    ] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        chmod(&path, mode | 0o002);
        let r = run(&["--labs", dir, "list"], &[]);
        assert_eq!(r.code, Some(2), "{what}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("{} is writable by others", path.display())),
            "{what}: {}",
            r.stderr
        );
        let r = run(&["--labs", dir, "--trust-labs", "list"], &[]);
        assert_eq!(r.code, Some(0), "{what}: {}", r.stderr);
        chmod(&path, mode);
    }
    // `lab validate DIR` reads the folder it is given the same way.
    chmod(&lab.join("lab.toml"), 0o666);
    let r = run(&["validate", lab.to_str().unwrap()], &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stdout.starts_with(&format!(
            "refusing the labs in {}: {} is writable by its group and others (mode 0666)",
            lab.display(),
            lab.join("lab.toml").display()
        )),
        "{}",
        r.stdout
    );
    chmod(&lab.join("lab.toml"), 0o644);

    // Links: the folder named may be one (in a folder that passes); a
    // lab.toml may not (a lab's files are plain files in its folder).
    let link = base.join("labs-link");
    std::os::unix::fs::symlink(&labs, &link).unwrap();
    let r = run(&["--labs", link.to_str().unwrap(), "list"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    std::fs::rename(lab.join("lab.toml"), base.join("lab.toml")).unwrap();
    std::os::unix::fs::symlink(base.join("lab.toml"), lab.join("lab.toml")).unwrap();
    let r = run(&["--labs", lab.to_str().unwrap(), "list"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("lab.toml is a symbolic link"),
        "{}",
        r.stderr
    );
}

/// Root's `lab check --labs DIR` on a world-writable DIR of another user
/// refuses before running anything (before, it ran the demos as root), and
/// runs them with `--trust-labs`.
#[test]
fn root_refuses_the_labs_of_another_user_unless_trusted() {
    if !is_root() {
        return skip(
            "root_refuses_the_labs_of_another_user_unless_trusted",
            "needs root to give a folder to another uid",
        );
    }
    let base = scratch_dir("trust-labs-theirs");
    let labs = base.join("labs");
    std::fs::create_dir(&labs).unwrap();
    new_lab(&labs, "theirlab");
    let cache = base.join("cache");
    let (dir, cache_dir) = (labs.to_str().unwrap(), cache.to_str().unwrap());
    chown(&labs, STRANGER);
    chmod(&labs, 0o777);
    let check = ["--labs", dir, "check", "theirlab", "--cache-dir", cache_dir];
    let r = run(&check, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.starts_with(&format!(
            "lab: refusing the labs in {dir}: {dir} belongs to uid {STRANGER}, neither root nor you (uid 0)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(compiled(&cache), 0, "no demo was built");
    // Theirs but not writable by others: still theirs.
    chmod(&labs, 0o755);
    let r = run(&check, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    // A lab.toml of theirs in a folder of root's.
    chown(&labs, 0);
    chown(&labs.join("theirlab/lab.toml"), STRANGER);
    let r = run(&check, &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "theirlab/lab.toml belongs to uid {STRANGER}, neither root nor you"
        )),
        "{}",
        r.stderr
    );
    // Trusted as the user says.
    chown(&labs, STRANGER);
    chmod(&labs, 0o777);
    let mut trusted = check.to_vec();
    trusted.push("--trust-labs");
    let r = run(&trusted, &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    // Kept in the cache only where no demo can write it (docs/confinement.md).
    let kept = usize::from(observer::drive::confine::protects(&cache));
    assert_eq!(compiled(&cache), kept, "the demo was built");
}

/// The size limits: a lab.toml over 1 MiB, or a demo, is refused before it
/// is read (a 300 MB sparse file costs no memory), in one line naming the
/// file, its size and the limit.
#[test]
fn a_huge_lab_toml_or_demo_is_refused_before_it_is_read() {
    let base = scratch_dir("trust-big");
    let labs = base.join("labs");
    std::fs::create_dir(&labs).unwrap();
    new_lab(&labs, "big");
    let toml = labs.join("big/lab.toml");
    let f = std::fs::OpenOptions::new().write(true).open(&toml).unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    let dir = labs.to_str().unwrap();
    let r = run(&["--labs", dir, "list"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "lab: {} is 300000000 bytes, over the limit of 1048576 bytes (1 MiB) for a lab.toml (docs/writing-labs.md)\n",
            toml.display()
        )
    );
    assert!(r.max_rss_kib < 64 * 1024, "peak RSS {} KiB", r.max_rss_kib);

    // A demo just over the limit.
    f_truncate(&toml, 0);
    std::fs::remove_dir_all(labs.join("big")).unwrap();
    new_lab(&labs, "big");
    let demo = labs.join("big/big.c");
    let mut text = std::fs::read_to_string(&demo).unwrap();
    text += &"/* padding */\n".repeat((1 << 20) / 14 + 1);
    std::fs::write(&demo, &text).unwrap();
    let r = run(&["--labs", dir, "list"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "lab: {} is {} bytes, over the limit of 1048576 bytes (1 MiB) for a demo (docs/writing-labs.md)\n",
            demo.display(),
            text.len()
        )
    );
}

fn f_truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// With PMAP_LAB_LABS naming a folder with a 300 MB lab.toml (and one that
/// is not trusted), the commands that do not use labs run as without it,
/// in little memory: they never read it. Before, `lab pmap PID` parsed every
/// lab first, took 1.2 GB and failed.
#[test]
fn commands_that_do_not_use_the_labs_never_read_them() {
    let base = scratch_dir("trust-unused");
    let labs = base.join("labs");
    std::fs::create_dir_all(labs.join("huge")).unwrap();
    let f = std::fs::File::create(labs.join("huge/lab.toml")).unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    let open = base.join("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    let env_labs = format!("{}:{}", labs.display(), open.display());
    let env = [("PMAP_LAB_LABS", env_labs.as_str())];

    // A check document for `lab report`, made without the labs.
    let check = base.join("check.json");
    let r = run(&["check", "mmap", "--json"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    std::fs::write(&check, &r.stdout).unwrap();
    let mut sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let a = base.join("a.json");
    let a_path = a.to_str().unwrap();
    let r = run(&["pmap", "--json", &pid], &env);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    std::fs::write(&a, &r.stdout).unwrap();
    let runs: Vec<(Vec<&str>, Run)> = [
        vec!["pmap", &pid],
        vec!["pmap", "-x", &pid],
        vec!["watch", &pid, "--count", "2", "--interval", "0.1"],
        vec!["explain", &pid],
        vec!["diff", a_path, a_path],
        vec!["report", check.to_str().unwrap()],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["glossary", "rss"],
        vec!["--labs", labs.to_str().unwrap(), "pmap", &pid],
    ]
    .into_iter()
    .map(|args| {
        let r = run(&args, &env);
        (args, r)
    })
    .collect();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    for (args, r) in &runs {
        assert_eq!(r.code, Some(0), "lab {args:?}: {}", r.stderr);
        assert!(
            r.max_rss_kib < 64 * 1024,
            "lab {args:?}: peak RSS {} KiB",
            r.max_rss_kib
        );
    }
    // The labs are still read by the commands that use them.
    let r = run(&["list"], &env);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("over the limit"), "{}", r.stderr);
}
