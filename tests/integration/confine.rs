//! Programs lab runs that the user did not write (issue 19), tried as an
//! attacker would: a graded program that leaves its session, reaches for lab
//! with ptrace, /proc and signals, overwrites the cache's binaries, takes far
//! more memory than its exercise declares, or includes a file only root may
//! read; and two labs whose demos share a file name. Each test fails on a
//! `lab` without the confinement (`LAB_EXE=old-lab cargo test confine::`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::{alive, lab_exe, skip};

/// A folder of the test's own, removed when dropped; writable by anyone
/// (sticky, like /tmp), as the programs graded here may run as another user.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("pmap-lab-confine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A solution of the `resident` exercise (50 MiB, resident at once) that
/// first runs `attack`, C statements with `out` (a FILE * on `report`) open.
fn resident_with(attack: &str, report: &Path) -> String {
    format!(
        r#"#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <unistd.h>

static int parent_of(int pid)
{{
    char path[64], comm[64], state;
    int self, parent = -1;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f) {{ if (fscanf(f, "%d %63s %c %d", &self, comm, &state, &parent) != 4) parent = -1; fclose(f); }}
    return parent;
}}

/* The nearest ancestor whose command is `lab`. */
static int find_lab(void)
{{
    for (int pid = getppid(); pid > 1; pid = parent_of(pid)) {{
        char path[64], comm[64] = "";
        snprintf(path, sizeof path, "/proc/%d/comm", pid);
        FILE *f = fopen(path, "r");
        if (f) {{ if (!fgets(comm, sizeof comm, f)) comm[0] = 0; fclose(f); }}
        if (strcmp(comm, "lab\n") == 0) return pid;
    }}
    return -1;
}}

int main(void)
{{
    FILE *out = fopen("{report}", "w");
    (void)find_lab;
    {attack}
    fclose(out);

    printf("start: press Enter to get 50 MiB, resident\n");
    getchar();
    char *p = mmap(NULL, 50 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {{ perror("mmap"); return 1; }}
    printf("50 MiB at %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}}
"#,
        report = report.display()
    )
}

/// `lab grade resident FILE ARGS…` with a cache of the test's own.
fn grade(file: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(lab_exe())
        .arg("grade")
        .arg("resident")
        .arg(file)
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("PMAP_LAB_CACHE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("running lab grade")
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn a_graded_program_that_leaves_its_session_does_not_outlive_lab() {
    let dir = Scratch::new("session");
    let report = dir.path("pids");
    let attack = r#"
    if (fork() == 0) {            /* a daemon: new session, double fork */
        setsid();
        if (fork() == 0) { fprintf(out, "%d\n", getpid()); fflush(out); for (;;) pause(); }
        _exit(0);
    }
    if (fork() == 0) {            /* a process group of its own */
        setpgid(0, 0);
        fprintf(out, "%d\n", getpid()); fflush(out);
        for (;;) pause();
    }
    usleep(200000);
    "#;
    let file = dir.path("escape.c");
    std::fs::write(&file, resident_with(attack, &report)).unwrap();
    let out = grade(&file, &dir.path("cache"), &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let pids: Vec<i32> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "both escapees started: {pids:?}");
    let survivors: Vec<i32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    for &p in &survivors {
        // SAFETY: ending what the test started.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    assert!(
        survivors.is_empty(),
        "still running after lab grade returned: {survivors:?}"
    );
}

#[test]
fn a_graded_program_cannot_reach_lab() {
    let dir = Scratch::new("reach");
    let report = dir.path("attempts");
    let attack = r#"
    int lab = find_lab();
    fprintf(out, "lab %d\n", lab);
    long r = ptrace(PTRACE_ATTACH, lab, 0, 0);
    fprintf(out, "ptrace %s\n", r == 0 ? "allowed" : "denied");
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", lab);
    int fd = open(path, O_RDWR);
    fprintf(out, "mem %s\n", fd >= 0 ? "allowed" : "denied");
    snprintf(path, sizeof path, "/proc/%d/fd/1", lab);
    fd = open(path, O_WRONLY);
    if (fd >= 0) dprintf(fd, "{\"passed\": true, \"forged\": true}\n");
    fprintf(out, "stdout %s\n", fd >= 0 ? "allowed" : "denied");
    fprintf(out, "signal %s\n", kill(lab, 0) == 0 ? "allowed" : "denied");
    "#;
    let file = dir.path("reach.c");
    std::fs::write(&file, resident_with(attack, &report)).unwrap();
    let out = grade(&file, &dir.path("cache"), &["--json"]);
    let attempts = std::fs::read_to_string(&report).unwrap();
    assert!(
        attempts.lines().next().is_some_and(|l| l != "lab -1"),
        "the program found lab: {attempts}"
    );
    for what in ["ptrace", "mem", "stdout"] {
        assert!(
            attempts.contains(&format!("{what} denied")),
            "{what}: {attempts}"
        );
    }
    // Signals are scoped from Landlock ABI 6 (Linux 6.12).
    if observer::drive::confine::landlock_abi() >= 6 {
        assert!(attempts.contains("signal denied"), "{attempts}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("forged"), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    crate::util::json_doc(crate::util::Doc::Grade, &out.stdout);
}

#[test]
fn a_graded_program_cannot_change_what_another_run_executes() {
    let dir = Scratch::new("cache");
    // Out of /tmp if the build is (target/tmp): a cache Landlock protects.
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("confine-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache).unwrap();
    struct Gone(PathBuf);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _gone = Gone(cache.clone());
    let heap = || {
        Command::new(lab_exe())
            .args(["heap", "--impl", "c", "--no-pause"])
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("PMAP_LAB_CACHE_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let first = heap();
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    // Overwrite every cached demo with a script that pretends.
    let attack = format!(
        r##"
    char top[512];
    snprintf(top, sizeof top, "%s/pmap-lab", "{cache}");
    DIR *d = opendir(top);
    struct dirent *e, *f;
    int written = 0, refused = 0;
    while (d && (e = readdir(d))) {{
        if (strncmp(e->d_name, "c-", 2) != 0) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", top, e->d_name);
        DIR *s = opendir(sub);
        while (s && (f = readdir(s))) {{
            if (strncmp(f->d_name, "demo-", 5) != 0) continue;
            char path[1536];
            snprintf(path, sizeof path, "%s/%s", sub, f->d_name);
            unlink(path);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
            if (fd >= 0) {{ dprintf(fd, "#!/bin/sh\necho pwned\n"); close(fd); written++; }} else refused++;
        }}
        if (s) closedir(s);
    }}
    fprintf(out, "written %d refused %d\n", written, refused);
    "##,
        cache = cache.display()
    );
    let file = dir.path("overwrite.c");
    std::fs::write(&file, resident_with(&attack, &dir.path("overwrites"))).unwrap();
    let graded = grade(&file, &cache, &[]);
    assert_eq!(graded.status.code(), Some(0), "{graded:?}");
    let overwrites = std::fs::read_to_string(dir.path("overwrites")).unwrap();
    // Where Landlock keeps programs out of the cache, none was written (the
    // cache is reused); elsewhere lab builds afresh each run.
    if observer::drive::confine::protects(&cache) {
        assert!(overwrites.starts_with("written 0 "), "{overwrites}");
    }
    // Whatever it managed, the next run runs the real demo.
    let again = heap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{overwrites}\n{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(!String::from_utf8_lossy(&again.stdout).contains("pwned"));
}

/// 1.5 GiB made resident by a solution of an exercise that declares 64 MiB.
const HOG: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
int main(void)
{
    printf("start: press Enter to get 50 MiB, resident\n");
    getchar();
    char *p = mmap(NULL, 1536L << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    printf("at %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}
"#;

#[test]
fn a_graded_program_is_held_to_the_memory_its_exercise_declares() {
    let dir = Scratch::new("memory");
    let file = dir.path("hog.c");
    std::fs::write(&file, HOG).unwrap();
    let said = "for exceeding the memory its lab declares (64.0 MiB";
    let out = grade(&file, &dir.path("cache"), &["--json"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(said), "{err}");
    // Without a cgroup (a user without privileges): lab's watch of its RSS.
    // A uid of this test's own: others here run as 65534 under a process limit.
    if !is_root() {
        return skip(
            "a_graded_program_is_held_to_the_memory_its_exercise_declares",
            "its second half runs lab as another user (setpriv), which takes root",
        );
    }
    let home = dir.path("nobody");
    std::fs::create_dir(&home).unwrap();
    std::os::unix::fs::chown(&home, Some(23456), Some(23456)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=23456", "--regid=23456", "--clear-groups"])
        .arg(lab_exe())
        .args(["grade", "resident"])
        .arg(&file)
        .env("XDG_CACHE_HOME", &home)
        .env("HOME", &home)
        .env_remove("PMAP_LAB_CACHE_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(said) && err.contains("lab ended it when its own memory went over"),
        "{err}"
    );
}

#[test]
fn compiling_as_root_reads_no_file_a_user_could_not() {
    if !is_root() {
        return skip(
            "compiling_as_root_reads_no_file_a_user_could_not",
            "the attack is on lab run as root",
        );
    }
    let dir = Scratch::new("include");
    let secret = dir.path("secret");
    let token = format!("pmap-lab-secret-{}", std::process::id());
    std::fs::write(&secret, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let file = dir.path("include.c");
    std::fs::write(
        &file,
        format!(
            "#include \"{}\"\nint main(void) {{ return 0; }}\n",
            secret.display()
        ),
    )
    .unwrap();
    let out = grade(&file, &dir.path("cache"), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("does not compile"), "{err}");
    assert!(!err.contains(&token), "the secret leaked: {err}");
}

/// `lab new NAME --impl python` in `dir`, its demo renamed to `demo`, its
/// 16 MiB turned into `mib` MiB.
fn python_lab(dir: &Path, name: &str, demo: &str, mib: u32) {
    let made = Command::new(lab_exe())
        .args(["new", name, "--impl", "python", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let folder = dir.join(name);
    let toml = std::fs::read_to_string(folder.join("lab.toml"))
        .unwrap()
        .replace(&format!("\"{name}.py\""), &format!("\"{demo}\""))
        .replace("16 MiB", &format!("{mib} MiB"));
    std::fs::write(folder.join("lab.toml"), toml).unwrap();
    let script = std::fs::read_to_string(folder.join(format!("{name}.py")))
        .unwrap()
        .replace("16 * 1024 * 1024", &format!("{mib} * 1024 * 1024"))
        .replace("16 MiB", &format!("{mib} MiB"));
    std::fs::remove_file(folder.join(format!("{name}.py"))).unwrap();
    std::fs::write(folder.join(demo), script).unwrap();
}

#[test]
fn demos_of_one_name_never_meet_and_none_is_imported_by_another() {
    let dir = Scratch::new("runs");
    let labs = dir.path("labs");
    std::fs::create_dir(&labs).unwrap();
    // Two labs whose demos are both demo.py, of 8 and 24 MiB.
    python_lab(&labs, "small", "demo.py", 8);
    python_lab(&labs, "large", "demo.py", 24);
    // A demo named like the module every demo here imports.
    python_lab(&labs, "shadow", "mmap.py", 16);
    let cache = dir.path("cache");
    let run = |name: &str| {
        Command::new(lab_exe())
            .arg("--labs")
            .arg(&labs)
            .args([name, "--impl", "python", "--no-pause"])
            .env("XDG_CACHE_HOME", &cache)
            .env_remove("PMAP_LAB_CACHE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let shadow = run("shadow").wait_with_output().unwrap();
    assert!(
        shadow.status.success(),
        "{}",
        String::from_utf8_lossy(&shadow.stderr)
    );
    for round in 0..4 {
        let (a, b) = (run("small"), run("large"));
        for (name, child) in [("small", a), ("large", b)] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}, {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let left: Vec<String> = std::fs::read_dir(cache.join("pmap-lab"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py") || n.starts_with("run-"))
        .collect();
    assert!(left.is_empty(), "left in the cache: {left:?}");
}

/// Every lab, with every implementation, still holds when its demo is held
/// to the memory the lab declares, as a lab folder's demo is (a memory
/// cgroup as root, lab's watch of its RSS otherwise): the declarations are
/// true, and the lessons do not change inside the confinement.
#[test]
fn every_lab_holds_within_the_memory_it_declares() {
    let mut failed = Vec::new();
    for builtin in observer::spec::catalog::built_in() {
        let mut lab = builtin.clone();
        // As if read from a folder: others' code, limited.
        lab.dir = Some(PathBuf::from(format!("labs/{}", lab.name())));
        assert!(lab.runs_others_code());
        for source in &lab.impls {
            match observer::run_through(&lab, source.imp, &crate::util::run_options()) {
                Ok(report) => {
                    let (held, total) = report.checks_passed();
                    if held != total {
                        failed.push(format!("{} {}: {held} of {total}", lab.name(), source.imp));
                    }
                }
                Err(e) => failed.push(format!("{} {}: {e}", lab.name(), source.imp)),
            }
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

/// lab killed outright (SIGKILL: no handler runs) while it pauses: the
/// keeper, told by its parent-death signal, still ends what the observed
/// program left running in sessions of their own.
#[test]
fn lab_killed_outright_leaves_no_escaped_descendant() {
    let dir = Scratch::new("sigkill");
    let pids = dir.path("pids");
    let source = dir.path("escape.c");
    std::fs::write(
        &source,
        format!(
            r#"#include <stdio.h>
#include <unistd.h>
int main(void)
{{
    FILE *out = fopen("{pids}", "w");
    if (fork() == 0) {{
        setsid();
        if (fork() == 0) {{ fprintf(out, "%d\n", getpid()); fclose(out); for (;;) pause(); }}
        _exit(0);
    }}
    usleep(100000);
    printf("escaped: press Enter\n");
    getchar();
    return 0;
}}
"#,
            pids = pids.display()
        ),
    )
    .unwrap();
    let exe = dir.path("escape");
    let built = Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(&source)
        .status()
        .unwrap();
    assert!(built.success());
    // lab on a terminal of its own (so that it pauses), by script(1): not
    // under the tests' own pty driver, whose keeper would end the escapee.
    let mut script = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!(
            "{} observe -- {}",
            lab_exe().display(),
            exe.display()
        ))
        .arg("/dev/null")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux)");
    let start = std::time::Instant::now();
    let escapee: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pids)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(start.elapsed().as_secs() < 60, "the program never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert!(alive(escapee), "the escapee runs while lab pauses");
    // lab: the process running lab_exe() below script (script runs it
    // through $SHELL, which may or may not exec it).
    let parent_of = |pid: i32| -> Option<i32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let below_script = |mut pid: i32| {
        for _ in 0..8 {
            match parent_of(pid) {
                Some(p) if p == script.id() as i32 => return true,
                Some(p) if p > 1 => pid = p,
                _ => return false,
            }
        }
        false
    };
    let lab = loop {
        let found = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let exe_link = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            (exe_link == lab_exe() && below_script(pid)).then_some(pid)
        });
        if let Some(pid) = found {
            break pid;
        }
        assert!(start.elapsed().as_secs() < 60, "no lab under script");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // SAFETY: signalling the lab this test started.
    unsafe { libc::kill(lab, libc::SIGKILL) };
    let _ = script.kill();
    let _ = script.wait();
    let gone = crate::util::gone_within(escapee, std::time::Duration::from_secs(5));
    if !gone {
        // SAFETY: ending what the test started.
        unsafe { libc::kill(escapee, libc::SIGKILL) };
    }
    assert!(gone, "escapee {escapee} outlived lab's SIGKILL");
}
