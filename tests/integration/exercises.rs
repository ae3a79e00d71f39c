//! Exercises judged by the kernel: each built-in exercise fails as given
//! (its starter) and with a plausible wrong solution
//! (tests/exercises/NAME-wrong.c), with a hint, and passes with a correct one
//! (tests/exercises/NAME-right.c), on real runs; `lab exercise` writes the
//! starter and never over a file or through a link; a program that does not
//! compile gets the compiler's message; `--watch` grades again on a change.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{lab, lab_exe, lab_json};

const EXERCISES: [&str; 3] = ["resident", "trim", "leakfix"];

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmap-lab-ex-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_exercise_fails_as_given_and_passes_when_solved() {
    for (name, given) in EXERCISES.iter().flat_map(|n| {
        [
            (*n, format!("exercises/{n}/starter.c")),
            (*n, format!("tests/exercises/{n}-wrong.c")),
        ]
    }) {
        let doc = lab_json(&["grade", name, &repo(&given), "--json"], 1);
        assert_eq!(doc["passed"], false, "{name}: {given} passed");
        let failed: Vec<&serde_json::Value> = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"]["status"] == "fail")
            .collect();
        assert!(!failed.is_empty(), "{name}");
        // Every failed check of an exercise says what to think about.
        for c in &failed {
            assert!(
                c["hint"].as_str().is_some_and(|h| !h.is_empty()),
                "{name}: no hint for {}",
                c["check"]["id"]
            );
        }
    }
    for name in EXERCISES {
        let right = repo(&format!("tests/exercises/{name}-right.c"));
        let doc = lab_json(&["grade", name, &right, "--json"], 0);
        assert_eq!(doc["passed"], true, "{name}: {doc:#}");
        assert_eq!(doc["score"]["held"], doc["score"]["total"]);
        assert!(doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("hint").is_none()));
    }
}

#[test]
fn the_text_names_the_failed_check_with_its_hint_and_a_score() {
    let starter = repo("exercises/resident/starter.c");
    let out = lab(&["grade", "resident", &starter]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("✗ FAIL"), "{text}");
    assert!(text.contains("expected 50 MiB"), "{text}");
    assert!(text.contains("hint: "), "{text}");
    assert!(text.contains("score: 0 of 1 checks held"), "{text}");
}

#[test]
fn exercise_writes_the_starter_once_and_never_through_a_link() {
    let dir = temp("start");
    let d = dir.to_str().unwrap();
    let out = lab(&["exercise", "trim", "--dir", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.join("trim.c")).unwrap();
    assert_eq!(
        written,
        std::fs::read_to_string(repo("exercises/trim/starter.c")).unwrap()
    );
    // A second time: the student's work is kept.
    std::fs::write(dir.join("trim.c"), "my work").unwrap();
    let out = lab(&["exercise", "trim", "--dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already there"));
    assert_eq!(
        std::fs::read_to_string(dir.join("trim.c")).unwrap(),
        "my work"
    );
    // A link where the file would go is not followed.
    let target = dir.join("elsewhere");
    std::os::unix::fs::symlink(&target, dir.join("leakfix.c")).unwrap();
    let out = lab(&["exercise", "leakfix", "--dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists(), "written through the link");
    // Listing and an unknown name.
    let list = String::from_utf8(lab(&["exercise"]).stdout).unwrap();
    for name in EXERCISES {
        assert!(list.contains(name), "{list}");
    }
    let out = lab(&["exercise", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_program_that_does_not_compile_gets_the_compilers_message() {
    let dir = temp("broken");
    let file = dir.join("resident.c");
    std::fs::write(&file, "int main(void) { return x; }\n").unwrap();
    let out = lab(&["grade", "resident", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("does not compile"), "{err}");
    // The student's file is named, not the copy the compiler read.
    assert!(err.contains(file.to_str().unwrap()), "{err}");
    assert!(err.contains("error"), "{err}");
    assert!(err.lines().count() <= 9, "{err}");
    let out = lab(&["grade", "resident", dir.join("missing.c").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn watch_grades_again_when_the_file_changes() {
    let dir = temp("watch");
    let file = dir.join("resident.c");
    std::fs::copy(repo("exercises/resident/starter.c"), &file).unwrap();
    let mut child = Command::new(lab_exe())
        .args(["grade", "resident", file.to_str().unwrap(), "--watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let start = Instant::now();
    let mut wait_for = |wanted: &str| {
        for line in lines.by_ref() {
            let line = line.unwrap();
            if line.contains(wanted) {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no `{wanted}`");
        }
        panic!("lab grade --watch ended before `{wanted}`");
    };
    wait_for("score: 0 of 1");
    wait_for("watching");
    std::fs::copy(repo("tests/exercises/resident-right.c"), &file).unwrap();
    wait_for("score: 1 of 1");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
