//! Teaching features: predictions and hints, progress, colour, completions and
//! the manual page.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{lab, lab_exe};

/// `lab ARGS` with `input` on stdin (not a terminal) and a private data dir.
fn lab_with_input(args: &[&str], input: &str, data: &std::path::Path) -> (String, i32) {
    let mut child = Command::new(lab_exe())
        .args(args)
        .env("XDG_DATA_HOME", data)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pmap-lab-{name}-{}", std::process::id()))
}

#[test]
fn predictions_are_scored_against_the_truth() {
    let data = temp("predict");
    let right = "+10M 0\n+50M 0\n0 +10M\n-60M -10M\n";
    let (out, code) = lab_with_input(&["heap", "--impl", "c", "--predict"], right, &data);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Your predictions: 4 of 4 steps right"),
        "{out}"
    );
    // The classic wrong answer: RSS follows malloc.
    let wrong = "+10M +10M\n+50M +50M\n0 +10M\n-60M -10M\n";
    let (out, _) = lab_with_input(&["heap", "--impl", "c", "--predict"], wrong, &data);
    assert!(
        out.contains("RSS +10240 KiB (off); truth: virtual +10244 KiB, RSS +4 KiB"),
        "{out}"
    );
    assert!(
        out.contains("Your predictions: 2 of 4 steps right"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn hints_come_before_each_guess() {
    let data = temp("hint");
    let (out, _) = lab_with_input(
        &["mmap", "--predict", "--hint"],
        "+100M 0\n0 +100M\n-100M -100M\n",
        &data,
    );
    assert!(
        out.contains("Hint for step 1: mmap reserves address space. Does it put anything in RAM?"),
        "{out}"
    );
    let hint = out.find("Hint for step 2").unwrap();
    let guess = out
        .find("Step 2: write one byte in every page. Your guess")
        .unwrap();
    assert!(hint < guess);
    assert!(
        out.contains("Your predictions: 3 of 3 steps right"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_bad_guess_on_a_pipe_is_an_error_not_a_hang() {
    let (out, code) = lab_with_input(&["heap", "--predict"], "lots\n", &temp("badguess"));
    assert_eq!(code, 2, "{out}");
}

#[test]
fn list_marks_completed_labs_until_reset() {
    let data = temp("progress");
    let run = |args: &[&str]| {
        let out = Command::new(lab_exe())
            .args(args)
            .env("XDG_DATA_HOME", &data)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let line = |text: &str, name: &str| {
        text.lines()
            .find(|l| {
                l.trim_start_matches(['✓', ' '])
                    .starts_with(&format!("{name} "))
            })
            .unwrap()
            .to_string()
    };
    assert!(line(&run(&["list"]), "mmap").starts_with("  mmap"));
    run(&["mmap", "--impl", "c", "--no-pause"]);
    let listed = run(&["list"]);
    assert!(line(&listed, "mmap").starts_with("✓ mmap"), "{listed}");
    assert!(line(&listed, "mmap").contains("[rust, c ✓]"), "{listed}");
    assert!(line(&listed, "heap").starts_with("  heap"), "{listed}");
    assert!(run(&["reset"]).starts_with("progress forgotten"));
    assert!(line(&run(&["list"]), "mmap").starts_with("  mmap"));
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let has_escape = |args: &[&str], no_color: bool| {
        let mut cmd = Command::new(lab_exe());
        cmd.args(args).stdin(Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8(cmd.output().unwrap().stdout)
            .unwrap()
            .contains('\x1b')
    };
    assert!(has_escape(
        &["heap", "--no-pause", "--color", "always"],
        true
    ));
    assert!(!has_escape(
        &["heap", "--no-pause", "--color", "never"],
        false
    ));
    // auto: stdout is a pipe here, so no colour.
    assert!(!has_escape(&["heap", "--no-pause"], false));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let bash = String::from_utf8(lab(&["completions", "bash"]).stdout).unwrap();
    assert!(
        bash.contains("_lab()") && bash.contains("zeropage") && bash.contains("--predict"),
        "bash completions"
    );
    let fish = String::from_utf8(lab(&["completions", "fish"]).stdout).unwrap();
    assert!(fish.contains("complete -c lab"));
    let man = String::from_utf8(lab(&["man"]).stdout).unwrap();
    assert!(
        man.contains(".TH lab 1") && man.contains("observe") && man.contains("explain"),
        "man page"
    );
    assert_eq!(lab(&["completions", "tcsh"]).status.code(), Some(2));
}
