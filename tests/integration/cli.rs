//! The command line's contract: listing, usage errors and their exit codes.

use crate::util::lab;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn list_names_every_lab_with_its_implementations() {
    let out = lab(&["list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.trim_start_matches(['✓', ' ']).starts_with("heap ") && l.contains("[rust")),
        "{text}"
    );
}

#[test]
fn a_missing_implementation_is_a_usage_error() {
    let out = lab(&["heap", "--impl", "python"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "lab: lab heap has no python implementation (it has: rust, c)"
    );
}

#[test]
fn bad_arguments_exit_2_with_one_clear_line() {
    for args in [
        &["heap", "--impl", "cobol"][..],
        &["nosuchlab"],
        &["heap", "--step-timeout", "-1"],
    ] {
        let out = lab(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).starts_with("error: "),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_missing_c_compiler_names_what_to_install() {
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["heap", "--impl", "c", "--no-pause"])
        .env("CC", "/nonexistent/cc")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`/nonexistent/cc` not found (or not working): install a C compiler"),
        "{err}"
    );
}

#[test]
fn workload_of_an_unknown_lab_is_an_error() {
    let out = lab(&["workload", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no workload named `nosuch`"));
}

#[test]
fn workload_prints_its_pid_and_waits_at_each_prompt() {
    use std::io::Write;
    let mut child = std::process::Command::new(crate::util::lab_exe())
        .args(["workload", "heap"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Seven prompts, seven Enters: then it exits on its own.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\n\n\n\n\n\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("pid {}", lines[0].trim_start_matches("pid "))
    );
    assert_eq!(lines.len(), 8, "{text}");
    assert!(lines[1].starts_with("start: press Enter"));
}

#[test]
fn help_lists_every_lab_with_its_summary() {
    let help = String::from_utf8(lab(&["--help"]).stdout).unwrap();
    for l in observer::spec::catalog::all() {
        let line = help
            .lines()
            .find(|x| x.trim_start().starts_with(&format!("{} ", l.name())))
            .unwrap_or_else(|| panic!("{help}"));
        assert!(line.contains(&l.spec.summary[..20]), "{line}");
    }
}

/// Issue 19: what the terminal or the shell does to lab is never a panic.
/// A closed stderr (`lab check heap 2>&1 | head -1`), an argument that is not
/// UTF-8, and `ulimit -f` each end with a message or quietly, not exit 101
/// or a silent SIGXFSZ.
#[test]
fn closed_stderr_bad_bytes_and_file_limits_are_not_panics() {
    use std::os::unix::ffi::OsStrExt;
    let lab = crate::util::lab_exe();
    // stderr a pipe whose reader is gone: progress lines go nowhere.
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' check heap 2>&1 >/dev/null | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}",
            lab.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout).trim(), "0");
    // A file name that is not UTF-8: one line, exit 2.
    let bad = std::ffi::OsStr::from_bytes(b"bad\xff.json");
    let out = std::process::Command::new(&lab)
        .arg("report")
        .arg(bad)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Past `ulimit -f`: a message, exit 2, not death by SIGXFSZ (153).
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f 1; '{}' heap --no-pause --json >\"$1\"",
            lab.display()
        ))
        .arg("sh")
        .arg(std::env::temp_dir().join(format!("pmap-lab-fsize-{}", std::process::id())))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(
        std::env::temp_dir().join(format!("pmap-lab-fsize-{}", std::process::id())),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("File too large"), "{err}");
}
