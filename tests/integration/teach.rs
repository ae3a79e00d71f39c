//! Teaching features: predictions and hints, progress, colour, completions and
//! the manual page.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

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
    let right = "+10M 0\n+50M 0\n0 +10M\n-60M -10M\n+10M 0\n0 0\n";
    let (out, code) = lab_with_input(&["heap", "--impl", "c", "--predict"], right, &data);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Your predictions: 6 of 6 steps right"),
        "{out}"
    );
    // The classic wrong answer: RSS follows malloc.
    // And the belief that free() gives [heap] memory back.
    let wrong = "+10M +10M\n+50M +50M\n0 +10M\n-60M -10M\n+10M 0\n-10M 0\n";
    let (out, _) = lab_with_input(&["heap", "--impl", "c", "--predict"], wrong, &data);
    assert!(
        out.contains("RSS +10240 KiB (off); truth: virtual +10244 KiB, RSS +4 KiB"),
        "{out}"
    );
    assert!(
        out.contains("Your predictions: 3 of 6 steps right"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// "Nothing happens" is never right for a leak of 1008 KiB a step (within
/// 1 MiB of it, the old rule scored it right); a guess of the leak is.
#[test]
fn guessing_no_change_misses_a_small_leak() {
    let data = temp("predict-leak");
    let (out, _) = lab_with_input(
        &["leak", "--impl", "c", "--predict"],
        "0 0\n0 0\n0 0\n0 0\n0 0\n",
        &data,
    );
    assert!(
        out.contains("Your predictions: 0 of 5 steps right"),
        "{out}"
    );
    let (out, _) = lab_with_input(
        &["leak", "--impl", "c", "--predict"],
        "+1M +1M\n+1M +1M\n+1M +1M\n+1M +1M\n+1M +1M\n",
        &data,
    );
    assert!(
        out.contains("Your predictions: 5 of 5 steps right"),
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
    // The example is not the answer of any heap step, and the error lists
    // the forms a guess may take.
    assert!(out.contains("(like +2M -512K)"), "{out}");
    let mut child = Command::new(lab_exe())
        .args(["heap", "--predict"])
        .env("XDG_DATA_HOME", temp("badguess2"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"lots\n").unwrap();
    let err = String::from_utf8(child.wait_with_output().unwrap().stderr).unwrap();
    assert!(
        err.contains("like +2M, -512K, 0 or 1.5G (K, M, G are KiB, MiB, GiB"),
        "{err}"
    );
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

/// `lab ARGS` on a pty (so that it pauses), at its first pause; returns it
/// and what it printed so far.
fn lab_on_a_pty(args: &[&str], columns: Option<&str>) -> (observer::drive::demo::Demo, String) {
    let mut cmd = Command::new(lab_exe());
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("XDG_DATA_HOME", crate::util::data_home());
    match columns {
        Some(c) => cmd.env("COLUMNS", c),
        None => cmd.env_remove("COLUMNS"),
    };
    let mut lab = observer::drive::demo::Demo::spawn(cmd).unwrap();
    let out = lab.wait_for_prompt(Duration::from_secs(60)).unwrap();
    (lab, out)
}

/// Press `keys` at a pause and return what `lab` printed until the next one.
fn press(lab: &mut observer::drive::demo::Demo, keys: &[u8]) -> String {
    lab.send_keys(keys).unwrap();
    lab.wait_for_prompt(Duration::from_secs(60)).unwrap()
}

/// Press `keys`, expecting `lab` to end: its exit code and last words.
fn press_to_end(lab: &mut observer::drive::demo::Demo, keys: &[u8]) -> (i32, String) {
    lab.send_keys(keys).unwrap();
    let (status, out) = lab.wait_for_exit(Duration::from_secs(30)).unwrap();
    (status.code().unwrap_or(-1), out)
}

#[test]
fn keys_at_a_pause_help_go_back_show_the_glossary_and_quit() {
    let (mut lab, out) = lab_on_a_pty(&["heap"], None);
    assert!(out.contains("━━ Step 0 of 6"), "{out}");
    assert!(
        out.contains("Press Enter for the next step (malloc(10 MiB)), ? for the other keys"),
        "{out}"
    );
    // ? and h list the keys and do not advance.
    for key in [b"?", b"h"] {
        let out = press(&mut lab, key);
        assert!(
            out.contains("Keys at a pause")
                && out.contains("b       show the previous step's view again"),
            "{out}"
        );
        assert!(!out.contains("━━ Step"), "{out}");
    }
    // An unknown key shows them too, and does not advance.
    let out = press(&mut lab, b"x");
    assert!(
        out.contains("That key does nothing here.") && out.contains("Keys at a pause"),
        "{out}"
    );
    assert!(!out.contains("━━ Step"), "{out}");
    // An arrow key (three bytes) is one unknown key, not three.
    let out = press(&mut lab, b"\x1b[A");
    assert_eq!(out.matches("Keys at a pause").count(), 1, "{out}");
    let out = press(&mut lab, b"b");
    assert!(out.contains("there is no step before it"), "{out}");
    // Enter advances.
    let out = press(&mut lab, b"\n");
    assert!(out.contains("━━ Step 1 of 6: malloc(10 MiB)"), "{out}");
    // b: the previous step's view again, then further back is refused.
    let out = press(&mut lab, b"b");
    assert!(out.contains("━━ Step 0 of 6"), "{out}");
    assert!(
        out.contains("That was step 0 again; the demo is at step 1."),
        "{out}"
    );
    let out = press(&mut lab, b"b");
    assert!(out.contains("there is no step before it"), "{out}");
    // g: the glossary.
    let out = press(&mut lab, b"g");
    for term in [
        "RSS",
        "PSS",
        "USS",
        "Dirty",
        "Mode",
        "Zero page",
        "tcache",
        "Fastbins",
    ] {
        assert!(out.lines().any(|l| l == term), "{term} in:\n{out}");
    }
    assert!(!out.contains("━━ Step"), "{out}");
    // Ctrl-Z suspends (here, in a process group no shell controls, the stop
    // is discarded): it neither advances nor quits.
    let out = press(&mut lab, b"\x1a");
    assert!(
        !out.contains("━━ Step") && !out.contains("stopped"),
        "{out}"
    );
    // Enter still goes to the next step after all that.
    let out = press(&mut lab, b"\n");
    assert!(out.contains("━━ Step 2 of 6"), "{out}");
    let (code, out) = press_to_end(&mut lab, b"q");
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("\nstopped at step 2 of 6\n"), "{out:?}");
}

#[test]
fn ctrl_d_and_ctrl_c_at_a_pause_stop_with_where() {
    // Ctrl-D at the first pause.
    let (mut lab, _) = lab_on_a_pty(&["heap"], None);
    let (code, out) = press_to_end(&mut lab, b"\x04");
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("\nstopped at step 0 of 6\n"), "{out:?}");
    // Ctrl-C after a step: the same words and the same exit status as q.
    let (mut lab, out) = lab_on_a_pty(&["heap"], None);
    let demo: i32 = out
        .lines()
        .find_map(|l| l.strip_prefix("demo pid "))
        .and_then(|l| l.split(',').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no demo pid in: {out}"));
    press(&mut lab, b"\n");
    let (code, out) = press_to_end(&mut lab, b"\x03");
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("\nstopped at step 1 of 6\n"), "{out:?}");
    assert!(
        crate::util::gone_within(demo, Duration::from_secs(5)),
        "demo {demo} left running"
    );
    // SIGINT from elsewhere (or Ctrl-C while a step runs): the same words,
    // then lab dies of the signal as before.
    let (mut lab, _) = lab_on_a_pty(&["heap"], None);
    lab.signal(libc::SIGINT).unwrap();
    let (status, out) = lab.wait_for_exit(Duration::from_secs(10)).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGINT));
    assert!(out.ends_with("\nstopped at step 0 of 6\n"), "{out:?}");
}

#[test]
fn step_n_runs_through_to_step_n_then_pauses() {
    let (mut lab, out) = lab_on_a_pty(&["heap", "--step", "2"], None);
    // Steps 0 and 1 in a line each, step 2 whole, and the pause after it.
    assert!(out.contains("\nStep 0 of 6: start"), "{out}");
    assert!(
        out.contains("\nStep 1 of 6: malloc(10 MiB): virt +10.0 MiB, RSS"),
        "{out}"
    );
    assert!(
        !out.contains("━━ Step 0") && !out.contains("━━ Step 1"),
        "{out}"
    );
    assert!(out.contains("━━ Step 2 of 6: malloc(50 MiB)"), "{out}");
    assert!(
        out.contains("Press Enter for the next step (write every byte of the first 10 MiB)"),
        "{out}"
    );
    // b shows the step run through in full.
    let out = press(&mut lab, b"b");
    assert!(out.contains("━━ Step 1 of 6: malloc(10 MiB)"), "{out}");
    let out = press(&mut lab, b"\n");
    assert!(out.contains("━━ Step 3 of 6"), "{out}");
    let (code, out) = press_to_end(&mut lab, b"q");
    assert_eq!(code, 0);
    assert!(out.ends_with("stopped at step 3 of 6\n"), "{out:?}");

    // Without a terminal: no pause, the same shape; a step the lab has not is refused.
    let out = crate::util::lab(&["heap", "--step", "4"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("\nStep 3 of 6: write every byte of the first 10 MiB: virt 0, RSS +"),
        "{text}"
    );
    assert!(
        text.contains("━━ Step 4 of 6") && !text.contains("━━ Step 3"),
        "{text}"
    );
    // With --predict, the guesses start after step N.
    let (text, code) = lab_with_input(
        &["heap", "--impl", "c", "--predict", "--step", "2"],
        "0 +10M\n-60M -10M\n+10M 0\n0 0\n",
        &temp("predict-step"),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        !text.contains("Step 2: malloc(50 MiB). Your guess"),
        "{text}"
    );
    assert!(
        text.contains("Your predictions: 4 of 4 steps right"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(temp("predict-step"));
    let out = crate::util::lab(&["heap", "--step", "7"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "lab: --step 7: the heap lab has steps 0 to 6\n"
    );
}

#[test]
fn the_glossary_is_one_command_away() {
    let all = String::from_utf8(lab(&["glossary"]).stdout).unwrap();
    for term in [
        "RSS",
        "PSS",
        "USS",
        "Dirty",
        "VMA",
        "Mode",
        "Anonymous",
        "Fault-around",
        "Zero page",
        "THP",
        "Arena",
        "tcache",
        "Fastbins",
    ] {
        assert!(all.lines().any(|l| l == term), "{term} in:\n{all}");
    }
    // One entry, by any of its names, in any case.
    let out = lab(&["glossary", "rw-p"]);
    let mode = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        mode.starts_with("Mode\n") && mode.contains("`rw-p` is `rw---`"),
        "{mode}"
    );
    let zero = String::from_utf8(lab(&["glossary", "zero", "page"]).stdout).unwrap();
    assert!(zero.starts_with("Zero page\n"), "{zero}");
    let out = lab(&["glossary", "pageout"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("lab: no glossary entry for `pageout` (there are: Page, VMA, RSS"),
        "{err}"
    );
    // Wrapped to the terminal.
    let out = Command::new(lab_exe())
        .args(["glossary"])
        .env("COLUMNS", "60")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
}

/// Every line of `text` fits `width` columns, and none was broken between a
/// number and its unit.
fn assert_fits(text: &str, width: usize, what: &str) {
    let mut previous = "";
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "{what}: a line of {} columns:\n{line}\n\nin:\n{text}",
            line.chars().count()
        );
        let first = line.split_whitespace().next().unwrap_or("");
        let unit = ["K", "K,", "KiB", "KiB)", "MiB", "MiB)", "MiB,", "pages"].contains(&first);
        assert!(
            !(unit && previous.ends_with(|c: char| c.is_ascii_digit())),
            "{what}: a number cut from its unit:\n{previous}\n{line}"
        );
        previous = line;
    }
}

#[test]
fn at_60_columns_every_line_of_every_lab_fits() {
    for name in [
        "heap",
        "mmap",
        "pylist",
        "zeropage",
        "threads",
        "fragmentation",
        "leak",
        "shared",
        "filemap",
    ] {
        let out = Command::new(lab_exe())
            .args([name, "--no-pause"])
            .env("COLUMNS", "60")
            .env("NO_COLOR", "1")
            .env("XDG_DATA_HOME", crate::util::data_home())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("━━ Step 1 of"), "{name}: {text}");
        assert_fits(&text, 60, name);
        // The step rule is whole: a long title goes on under itself,
        // indented, and its last line ends in the rule.
        let lines: Vec<&str> = text.lines().collect();
        for (i, _) in lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("━━ Step"))
        {
            let end = (i..lines.len())
                .find(|&j| lines[j].ends_with(" ━━") || lines[j].ends_with("━━━"))
                .unwrap_or_else(|| panic!("{name}: no rule after {}", lines[i]));
            assert!(end - i <= 2, "{name}: {}", lines[i..=end].join("\n"));
            assert!(
                lines[i + 1..=end].iter().all(|l| l.starts_with("   ")),
                "{name}: {}",
                lines[i..=end].join("\n")
            );
        }
    }
    // The pauses too: the question, the keys, the glossary, a view shown
    // again, the picture of the address space.
    let (mut lab, out) = lab_on_a_pty(&["heap"], Some("60"));
    assert_fits(&out, 60, "step 0 and the pause");
    for key in [&b"?"[..], b"g", b"\n", b"b", b"p"] {
        let out = press(&mut lab, key);
        assert_fits(&out, 60, &format!("after {key:?}"));
        if key == b"p" {
            assert!(out.contains("The whole address space"), "{out}");
        }
    }
    let (code, _) = press_to_end(&mut lab, b"q");
    assert_eq!(code, 0);
}

/// After the child exits, the live view still shows the process table, so a
/// student sees the parent's PSS and USS jump up as the annotation says.
#[test]
fn the_process_table_stays_for_the_step_after_the_child_exits() {
    let out = crate::util::lab(&["shared", "--impl", "c", "--no-pause", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.rsplit("Step 5 of").next().unwrap();
    assert!(last.contains("process") && last.contains("USS"), "{last}");
    assert!(last.contains("(no child any more)"), "{last}");
}
