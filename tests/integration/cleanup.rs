//! No demo process is ever left running: not after Ctrl-C (or SIGTERM, SIGHUP)
//! while `lab` waits for Enter, not after `lab` is killed outright, not after
//! `q` at the pause, not after a panic in the middle of a run.

use std::time::Duration;

use observer::demo::Demo;

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
    let lab = observer::catalog::find("heap").unwrap();
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

fn run_lab_and_panic(lab: &observer::lab::Lab, demo_pid: &mut i32) {
    let _ = observer::run_lab(lab, observer::Impl::C, &run_options(), |report| {
        *demo_pid = report.pid;
        assert!(alive(report.pid));
        if report.steps.len() == 2 {
            panic!("deliberate panic at step 1");
        }
        Ok(())
    });
}
