//! No demo process is ever left running: not after Ctrl-C (or SIGTERM, SIGHUP)
//! while `lab` waits for Enter, not after `lab` is killed outright, not after
//! `q` at the pause, not after a panic in the middle of a run.

use std::time::Duration;

use observer::drive::demo::Demo;

use crate::util::{alive, gone_within, lab_exe, run_options};

/// Start `lab heap` on a pty (so it pauses for Enter), wait at its first pause
/// and return it with the pid of its demo.
fn lab_paused_at_first_step() -> (Demo, i32) {
    let mut cmd = std::process::Command::new(lab_exe());
    cmd.arg("heap").env("NO_COLOR", "1");
    let mut lab = Demo::spawn(cmd).unwrap();
    let out = lab.wait_for_prompt(Duration::from_secs(60)).unwrap();
    assert!(out.contains("Press Enter for the next step"), "{out}");
    let pid = out
        .lines()
        .find_map(|l| l.strip_prefix("demo pid "))
        .and_then(|l| l.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no demo pid in: {out}"));
    assert!(alive(pid), "the demo waits while lab pauses");
    (lab, pid)
}

fn signal_kills_the_demo(sig: i32) {
    let (mut lab, demo) = lab_paused_at_first_step();
    lab.signal(sig).unwrap();
    let (status, _) = lab.wait_for_exit(Duration::from_secs(10)).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(sig), "lab dies of the signal");
    assert!(
        gone_within(demo, Duration::from_secs(5)),
        "demo {demo} survived signal {sig}"
    );
}

#[test]
fn ctrl_c_at_a_pause_kills_the_demo() {
    signal_kills_the_demo(libc::SIGINT);
}

#[test]
fn sigterm_kills_the_demo() {
    signal_kills_the_demo(libc::SIGTERM);
}

#[test]
fn sighup_kills_the_demo() {
    signal_kills_the_demo(libc::SIGHUP);
}

#[test]
fn sigkill_of_lab_kills_the_demo_through_the_parent_death_signal() {
    signal_kills_the_demo(libc::SIGKILL);
}

#[test]
fn quitting_at_a_pause_kills_the_demo() {
    let (mut lab, demo) = lab_paused_at_first_step();
    lab.answer_with("q").unwrap();
    let (status, _) = lab.wait_for_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success());
    assert!(
        gone_within(demo, Duration::from_secs(5)),
        "demo {demo} survived q"
    );
}

#[test]
fn a_panic_mid_run_kills_the_demo() {
    let lab = observer::spec::catalog::find("heap").unwrap();
    let mut demo_pid = 0;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_lab_and_panic(lab, &mut demo_pid);
    }));
    assert!(result.is_err());
    assert!(demo_pid > 0);
    assert!(
        gone_within(demo_pid, Duration::from_secs(5)),
        "demo {demo_pid} survived a panic"
    );
}

fn run_lab_and_panic(lab: &observer::spec::lab::Lab, demo_pid: &mut i32) {
    let _ = observer::run_lab(lab, observer::Impl::C, &run_options(), |report| {
        *demo_pid = report.pid;
        assert!(alive(report.pid));
        if report.steps.len() == 2 {
            panic!("deliberate panic at step 1");
        }
        Ok(observer::Next::Continue)
    });
}

/// SIGTERM while the demo is busy inside a step (building ten million boxes
/// takes ~0.4 s), not at a prompt.
#[test]
fn sigterm_while_the_demo_works_kills_it() {
    let mut cmd = std::process::Command::new(lab_exe());
    cmd.args(["pylist", "--no-pause"]).env("NO_COLOR", "1");
    let mut lab = Demo::spawn(cmd).unwrap();
    // Wait for step 0 to be printed: the demo is then answered and busy.
    let mut seen = String::new();
    let start = std::time::Instant::now();
    let pid = loop {
        if let Some(pid) = seen.lines().find_map(|l| {
            l.strip_prefix("demo pid ")?
                .split(',')
                .next()?
                .parse::<i32>()
                .ok()
        }) {
            if seen.contains("Step 0") {
                break pid;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no step 0 in: {seen}"
        );
        seen += &lab.read_available(Duration::from_millis(5)).unwrap();
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(alive(pid));
    lab.signal(libc::SIGTERM).unwrap();
    lab.wait_for_exit(Duration::from_secs(10)).unwrap();
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "busy demo {pid} survived SIGTERM"
    );
}

/// `lab heap | head -1`: the reader goes away; lab stops quietly (no panic)
/// and takes its demo with it.
#[test]
fn a_closed_output_pipe_ends_the_run_quietly() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(lab_exe())
        .args(["heap", "--no-pause"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    let pid: i32 = second
        .strip_prefix("demo pid ")
        .and_then(|l| l.split(',').next()?.parse().ok())
        .expect("demo pid line");
    drop(out);
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "demo {pid} survived the closed pipe"
    );
}

/// `lab check | head -1` likewise.
#[test]
fn a_closed_pipe_under_lab_check_is_quiet() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(lab_exe())
        .args(["check", "heap"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        output.status.code().is_some(),
        "ended by a signal: {:?}",
        output.status
    );
}

/// SIGTERM while the C demo is still being compiled (a slow compiler): the
/// compiler does not outlive `lab` either.
#[test]
fn sigterm_while_compiling_leaves_no_compiler_running() {
    let dir = std::env::temp_dir().join(format!("pmap-lab-slowcc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = dir.join("slowcc");
    let marker = dir.join("compiling");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = --version ] && exec cc --version\necho $$ > {}\nsleep 30\nexec cc \"$@\"\n",
        marker.display()
    );
    std::fs::write(&cc, script).unwrap();
    std::fs::set_permissions(&cc, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Run as root, lab runs the compiler as `nobody`: it must be able to
    // leave its marker.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let mut lab = std::process::Command::new(lab_exe())
        .args(["heap", "--impl", "c", "--no-pause"])
        .env("CC", &cc)
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env_remove("PMAP_LAB_CACHE_DIR")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let compiler: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the compiler never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // SAFETY: signalling our own child.
    unsafe { libc::kill(lab.id() as i32, libc::SIGTERM) };
    lab.wait().unwrap();
    assert!(
        gone_within(compiler, Duration::from_secs(5)),
        "compiler {compiler} survived SIGTERM to lab"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
