//! One verdict (issue 19, item 8), pages written whole and text escaped
//! (item 7): the exit status, the table, the JSON and the HTML of `lab
//! check` agree, a pinned-output difference included; `lab grade --json`
//! always prints one document; a lab-wide `requires` makes a run n/a before
//! it starts; `lab validate` rejects an empty range and judges the checks;
//! `lab new --dir` makes missing parents; hints repeat `--labs`; `--python`
//! with a run without Python is an error; `--html` never leaves a cut-off
//! page; a program's output and a mapping's name reach the terminal escaped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::util::{data_home, json_doc, lab_exe, Doc};

/// A fresh folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("pmap-lab-verdict-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `lab ARGS` with stdin closed, no PMAP_LAB_LABS of the caller's, in `cwd`.
fn lab_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(lab_exe())
        .args(args)
        .current_dir(cwd)
        .env("XDG_DATA_HOME", data_home())
        .env_remove("PMAP_LAB_LABS")
        .stdin(Stdio::null())
        .output()
        .expect("running lab")
}

fn lab(args: &[&str]) -> Output {
    lab_in(&std::env::temp_dir(), args)
}

/// `sh -c SCRIPT` with `$LAB` the binary under test (for `ulimit`, `trap`).
fn lab_in_shell(script: &str) -> Output {
    Command::new("sh")
        .args(["-c", script])
        .env("LAB", lab_exe())
        .env("XDG_DATA_HOME", data_home())
        .env_remove("PMAP_LAB_LABS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn replace_in(file: &Path, from: &str, to: &str) {
    let t = std::fs::read_to_string(file).unwrap();
    assert!(t.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, t.replacen(from, to, 1)).unwrap();
}

/// `lab new NAME --dir DIR` (a C lab of 3 steps and 3 checks that passes).
fn new_lab(dir: &Path, name: &str) -> PathBuf {
    let out = lab(&["new", name, "--dir", s(dir)]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    dir.join(name)
}

/// The characters of `text` that must not reach a terminal (but newline).
fn unsafe_chars(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && pmap_view::region::is_unsafe_char(c))
        .collect()
}

// ------------------------------------------------------- pinned outputs

/// Issue 19: when only the pinned annotated output differed, `lab check`
/// exited 1 while its table said "all 1 runs passed" and its JSON said
/// `"passed": true`, `result: "pass"`.
#[test]
fn a_pinned_output_that_differs_is_one_verdict_everywhere() {
    let dir = Scratch::new("pinned");
    let lab_dir = new_lab(&dir, "pin");
    let out = lab(&["bless", s(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // The same: every view says pass.
    let out = lab(&["check", "--labs", s(&dir), "pin", "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc = json_doc(Doc::Check, stdout.as_bytes());
    assert_eq!(doc["runs"][0]["result"], "pass");
    assert_eq!(doc["runs"][0]["pinned"]["status"], "same");

    replace_in(
        &lab_dir.join("lab.toml"),
        "then writes one byte",
        "then writes 1 byte",
    );
    let page = dir.join("page.html");
    let out = lab(&["check", "--labs", s(&dir), "pin", "--html", s(&page)]);
    let (table, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{table}{stderr}");
    assert!(!table.contains("runs passed"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("pin ") && l.contains("3/3") && l.contains("DIFFERS")),
        "{table}"
    );
    assert!(
        table.contains("1 of 1 runs did not pass: their annotated outputs differ"),
        "{table}"
    );
    assert!(
        table.contains("\n+The program maps 16 MiB of anonymous memory, then writes 1 byte"),
        "{table}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Summary: 0 of 1 runs passed"), "{html}");
    assert!(html.contains(">DIFFERS</td>"), "{html}");
    assert!(html.contains("DIFFERS from the pinned output"), "{html}");

    let out = lab(&["check", "--labs", s(&dir), "pin", "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = json_doc(Doc::Check, stdout.as_bytes());
    assert_eq!(doc["passed"], false, "{doc:#}");
    let run = &doc["runs"][0];
    assert_eq!(run["result"], "differs", "{run:#}");
    assert_eq!(run["passed"], false, "{run:#}");
    assert_eq!(run["checks_passed"], 3, "{run:#}");
    assert_eq!(run["pinned"]["status"], "differs", "{run:#}");
    assert!(
        run["pinned"]["diff"]
            .as_str()
            .unwrap()
            .contains("\n-The program maps 16 MiB of anonymous memory, then writes one byte"),
        "{run:#}"
    );
    assert!(
        run["pinned"]["file"]
            .as_str()
            .unwrap()
            .ends_with("pin/pin-c.snap"),
        "{run:#}"
    );
}

// ------------------------------------------------------- lab grade --json

/// A C file for the exercise `leakfix` (any program: these end at step 0).
fn graded(dir: &Path, name: &str, source: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, source).unwrap();
    file
}

/// Issue 19: `lab grade --json` printed nothing on a compile error, a hang
/// or a crash (exit 2): an autograder got no document.
#[test]
fn grade_json_prints_one_document_when_it_cannot_grade() {
    let dir = Scratch::new("grade");
    let cases = [
        (
            "compile.c",
            "int main(void) { return 1 +; }\n",
            "compile",
            "does not compile",
        ),
        (
            "hang.c",
            "int main(void) { for (;;) {} }\n",
            "hang",
            "did not reach its next prompt within 2.0 s",
        ),
        (
            // A terminal-hostile last output, then a crash.
            "crash.c",
            "#include <stdio.h>\n#include <signal.h>\nint main(void) {\n\
             printf(\"boom\\x1b[?1049h\\a\\rX\\x7f\\n\"); fflush(stdout);\n\
             raise(SIGSEGV); return 0; }\n",
            "crash",
            "SIGSEGV",
        ),
    ];
    for (name, source, cause, says) in cases {
        let file = graded(&dir, name, source);
        let out = lab(&[
            "grade",
            "leakfix",
            s(&file),
            "--json",
            "--step-timeout",
            "2",
            "--color",
            "never",
        ]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}{stderr}");
        // One document (json_doc parses all of stdout), valid by its schema.
        let doc = json_doc(Doc::Grade, stdout.as_bytes());
        assert_eq!(doc["graded"], false, "{name}: {doc:#}");
        assert_eq!(doc["passed"], false, "{name}: {doc:#}");
        assert_eq!(doc["cause"], cause, "{name}: {doc:#}");
        assert_eq!(doc["exercise"], "leakfix");
        assert_eq!(doc["file"], s(&file));
        let reason = doc["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{name}: {reason}");
        // The same, said on stderr, escaped.
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert_eq!(
            unsafe_chars(&stderr),
            Vec::<char>::new(),
            "{name}: {stderr}"
        );
        assert_eq!(unsafe_chars(reason), Vec::<char>::new(), "{name}: {reason}");
        if cause == "crash" {
            assert!(
                stderr.contains("boom\\x1b[?1049h\\x07\\x0dX\\x7f"),
                "{stderr}"
            );
        }
    }
    // A memory limit: `ulimit -v` refuses the program its allocation.
    let file = graded(
        &dir,
        "memory.c",
        "#include <stdlib.h>\n#include <string.h>\nint main(void) {\n\
         char *p = malloc(4UL << 30); if (!p) return 3; memset(p, 1, 4UL << 30); return 0; }\n",
    );
    let out = lab_in_shell(&format!(
        "ulimit -v 2097152; exec \"$LAB\" grade leakfix {} --json",
        s(&file)
    ));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let doc = json_doc(Doc::Grade, stdout.as_bytes());
    assert_eq!(doc["graded"], false, "{doc:#}");
    assert_eq!(doc["cause"], "memory", "{doc:#}");
    // The exercise's own memory (leakfix declares 32 MiB), which lab
    // enforces on the graded program.
    let file = graded(
        &dir,
        "hog.c",
        "#include <stdlib.h>\n#include <string.h>\nint main(void) {\n\
         char *p = malloc(200 << 20); if (!p) return 3; memset(p, 1, 200 << 20); return 0; }\n",
    );
    let out = lab(&["grade", "leakfix", s(&file), "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    let doc = json_doc(Doc::Grade, stdout.as_bytes());
    assert_eq!(doc["cause"], "memory", "{doc:#}");
    // A file that cannot be read, and an unknown exercise: a document too.
    let out = lab(&["grade", "leakfix", s(&dir.join("missing.c")), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(Doc::Grade, &out.stdout);
    assert_eq!(doc["cause"], "unreadable", "{doc:#}");
    let out = lab(&["grade", "nosuchexercise", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(Doc::Grade, &out.stdout);
    assert_eq!(doc["cause"], "error", "{doc:#}");
}

// ------------------------------------------------------- lab-wide requires

/// Issue 19: with `requires = { stack = [">= 8 MiB"] }` under `ulimit -s
/// 4096` the demo still ran, segfaulted, and the result was ERROR, not n/a.
/// Here the demo crashes whenever it runs: an n/a shows it did not.
#[test]
fn a_lab_wide_requires_makes_the_run_na_before_it_starts() {
    let dir = Scratch::new("requires");
    let lab_dir = new_lab(&dir, "needstack");
    replace_in(
        &lab_dir.join("lab.toml"),
        "demos = { c = \"needstack.c\" }",
        "demos = { c = \"needstack.c\" }\nrequires = { stack = [\">= 8 MiB\"] }",
    );
    replace_in(
        &lab_dir.join("needstack.c"),
        "    printf(\"pid %d\\n\", (int)getpid());",
        "    *(volatile int *)0 = 1;\n    printf(\"pid %d\\n\", (int)getpid());",
    );
    let d = s(&dir);
    let out = lab_in_shell(&format!(
        "ulimit -s 4096; exec \"$LAB\" check --labs {d} needstack --json"
    ));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let doc = json_doc(Doc::Check, stdout.as_bytes());
    let run = &doc["runs"][0];
    assert_eq!(run["result"], "n/a", "{run:#}");
    assert_eq!(run["checks_total"], 0, "{run:#}");
    assert_eq!(run["checks_not_applicable"], 3, "{run:#}");
    assert!(
        run["not_applicable_checks"][0]["check"]["not_applicable"]
            .as_str()
            .unwrap()
            .contains("stack limit (ulimit -s): 4096 KiB"),
        "{run:#}"
    );
    let page = dir.join("page.html");
    let out = lab_in_shell(&format!(
        "ulimit -s 4096; exec \"$LAB\" check --labs {d} needstack --html {}",
        s(&page)
    ));
    let (table, stderr) = text(&out);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<td class=\"skip\">n/a</td>"), "{html}");
    assert!(html.contains("its demo was not run"), "{html}");
    assert_eq!(out.status.code(), Some(0), "{table}{stderr}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("needstack ") && l.contains(" n/a ")),
        "{table}"
    );
    assert!(table.contains("its demo was not run"), "{table}");
    // `lab LAB`: exit 3, nothing verified, as for a run whose checks are all n/a.
    let out = lab_in_shell(&format!(
        "ulimit -s 4096; exec \"$LAB\" --labs {d} needstack --no-pause"
    ));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(
        stderr.contains("nothing to check on this machine: stack limit"),
        "{stderr}"
    );
    // validate does not run it either, and that is no mistake.
    let out = lab_in_shell(&format!("ulimit -s 4096; exec \"$LAB\" validate {d}"));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("not run: nothing to check on this machine"),
        "{stdout}"
    );
}

// ------------------------------------------------------- lab validate

/// Issue 19: validate accepted `min = "1 MiB"`, `max = "0 KiB"` once a
/// tolerance was given; the check then always failed. Validate runs the
/// demo: it says which checks fail on that run.
#[test]
fn validate_rejects_an_empty_range_and_names_the_checks_that_fail() {
    let dir = Scratch::new("validate");
    let lab_dir = new_lab(&dir, "ranges");
    let toml = lab_dir.join("lab.toml");
    replace_in(&toml, "max = \"16 MiB + 1 MiB\"", "max = \"0 KiB\"");
    let out = lab(&["validate", s(&dir)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "check `map-virtual`: the range is empty: min `16 MiB` (16384 KiB here) is above \
             max `0 KiB` (0 KiB), so the check can never hold"
        ),
        "{stdout}"
    );
    // A range that is not empty but fails here: named with its place.
    replace_in(&toml, "max = \"0 KiB\"", "max = \"16 MiB + 1 MiB\"");
    replace_in(
        &toml,
        "min = \"16 MiB\"\nmax = \"16 MiB + 256 KiB\"",
        "min = \"32 MiB\"\nmax = \"33 MiB\"",
    );
    let out = lab(&["validate", s(&dir)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains("check `write-rss` fails with c at step 2"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let place = format!("{}:", toml.display());
    assert!(line.starts_with(&place), "{line}");
    assert!(line.contains("expected 32 MiB to 33 MiB"), "{line}");
    assert!(stdout.contains("1 mistake"), "{stdout}");
}

// ------------------------------------------------------- lab new --dir

/// Issue 19: `lab new NAME --dir ~/labs` failed when `~/labs` did not
/// exist, naming the lab's folder, not the missing parent.
#[test]
fn lab_new_makes_missing_parents_and_refuses_a_link() {
    let dir = Scratch::new("new");
    let deep = dir.join("course/labs");
    let out = lab(&["new", "first", "--dir", s(&deep)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "made the folders {}, {} (they did not exist)\n",
            dir.join("course").display(),
            deep.display()
        )),
        "{stdout}"
    );
    assert!(deep.join("first/lab.toml").is_file());
    assert!(deep.join("first/first.c").is_file());
    // A link where the lab's folder would be is refused, not followed.
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, deep.join("second")).unwrap();
    let out = lab(&["new", "second", "--dir", s(&deep)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

// ------------------------------------------------------- hints

/// Issue 19: `lab --labs ex exercise NAME` printed "then: lab grade NAME",
/// which fails without `--labs`, and the error did not mention `--labs`.
#[test]
fn hints_repeat_labs_and_unknown_names_mention_it() {
    let dir = Scratch::new("hints");
    let ex = dir.join("ex");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(ex.join("myex")).unwrap();
    for f in ["lab.toml", "starter.c"] {
        std::fs::copy(
            repo.join("exercises/leakfix").join(f),
            ex.join("myex").join(f),
        )
        .unwrap();
    }
    replace_in(
        &ex.join("myex/lab.toml"),
        "name = \"leakfix\"",
        "name = \"myex\"",
    );
    let out = lab_in(&dir, &["--labs", "ex", "exercise", "myex"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("then: lab --labs ex grade myex"),
        "{stdout}"
    );
    let out = lab_in(&dir, &["--labs", "ex", "exercise", "myex"]);
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("grade it with `lab --labs ex grade myex`"),
        "{stderr}"
    );
    // Without --labs: the errors say what is missing.
    let out = lab_in(&dir, &["grade", "myex"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--labs DIR"), "{stderr}");
    let out = lab_in(&dir, &["check", "myex"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--labs DIR"), "{stderr}");
    let out = lab_in(&dir, &["myex"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("lab --labs DIR NAME"), "{stderr}");
}

// ------------------------------------------------------- --python

/// Issue 19: `lab pylist --python /usr/bin/python3.11` (as the README
/// showed) silently ran the Rust port.
#[test]
fn python_with_a_run_that_uses_no_python_is_an_error() {
    let out = lab(&["pylist", "--python", "/usr/bin/python3", "--no-pause"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stdout, "", "nothing ran");
    assert!(stderr.contains("add --impl python"), "{stderr}");
    let out = lab(&["heap", "--impl", "c", "--python", "/usr/bin/python3"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the heap lab has no Python demo"),
        "{stderr}"
    );
}

// ------------------------------------------------------- --html

/// Issue 19: `--html` truncated and rewrote an existing page in place: on a
/// full disk the old page was lost and a cut-off one remained. Past `ulimit
/// -f` (a full disk for this process) the old page must stay whole.
#[test]
fn an_html_page_is_replaced_whole_or_not_at_all() {
    use std::os::unix::fs::MetadataExt;
    let dir = Scratch::new("html");
    let page = dir.join("page.html");
    let old = "<html>the old page</html>\n";
    std::fs::write(&page, old).unwrap();
    // 8 KiB: far less than a page of heap's run.
    let out = lab_in_shell(&format!(
        "trap '' XFSZ; ulimit -f 16; exec \"$LAB\" heap --no-pause --html {}",
        s(&page)
    ));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), old);
    let left: Vec<_> = std::fs::read_dir(&*dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        [std::ffi::OsString::from("page.html")],
        "no temporary file left"
    );
    // Written: a new file renamed over the old one (a reader of the old
    // one keeps it whole).
    let before = std::fs::metadata(&page).unwrap().ino();
    let out = lab(&["heap", "--no-pause", "--html", s(&page)]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert_ne!(std::fs::metadata(&page).unwrap().ino(), before);
    assert!(std::fs::read_to_string(&page)
        .unwrap()
        .ends_with("</html>\n"));
    // A link in its place is refused (before the run), its target untouched.
    let target = dir.join("target.html");
    std::fs::write(&target, old).unwrap();
    let link = dir.join("link.html");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = lab(&["check", "heap", "--html", s(&link)]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), old);
}

// ------------------------------------------------------- escaping

/// A lab whose demo prints terminal commands (alternate screen, bell,
/// carriage return, DEL, a bidi override) after its first prompt and then
/// crashes.
fn hostile_lab(dir: &Path) {
    let lab_dir = new_lab(dir, "loud");
    replace_in(
        &lab_dir.join("loud.c"),
        "    /* step 1: map 16 MiB of private anonymous memory */",
        "    /* step 1: map 16 MiB of private anonymous memory */\n    \
         printf(\"boom\\x1b[?1049h\\a\\rX\\x7f\\xe2\\x80\\xae!\\n\"); fflush(stdout);\n    \
         *(volatile int *)0 = 1;",
    );
}

/// Issue 19: `lab validate`, `lab check` and `lab grade` printed a failed
/// demo's last output raw (ESC, BEL, CR, DEL, `\e[?1049h`), also with
/// `--color never`.
#[test]
fn a_failed_demos_last_output_is_escaped() {
    let dir = Scratch::new("loud");
    hostile_lab(&dir);
    let shown = "boom\\x1b[?1049h\\x07\\x0dX\\x7f\\u{202e}!";
    for args in [
        &["validate", s(&dir), "--color", "never"][..],
        &["check", "--labs", s(&dir), "loud", "--color", "never"],
        &["check", "--labs", s(&dir), "loud"],
        &["--labs", s(&dir), "loud", "--no-pause", "--color", "never"],
    ] {
        let out = lab(args);
        let (stdout, stderr) = text(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stdout}{stderr}");
        let all = format!("{stdout}{stderr}");
        assert_eq!(unsafe_chars(&all), Vec::<char>::new(), "{args:?}: {all:?}");
        assert!(all.contains(shown), "{args:?}: {all}");
    }
}

/// A Python process mapping a file whose name holds a bidi override and
/// isolate, a line separator and a zero-width space; killed when dropped.
struct Mapper {
    child: std::process::Child,
    /// Where its file is: removed with it.
    _dir: Scratch,
}

const TRICKY: &str = "evil\u{202e}txt.exe\u{2066}\u{2028}\u{200b}";

impl Mapper {
    fn start() -> Mapper {
        use std::io::BufRead;
        let dir = Scratch::new("mapper");
        let script = "import mmap, os, sys\n\
                      f = open(os.path.join(sys.argv[1], sys.argv[2]), 'wb+')\n\
                      f.write(b'x' * 65536)\nf.flush()\n\
                      m = mmap.mmap(f.fileno(), 65536)\n\
                      print('ready', flush=True)\nsys.stdin.read()\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(&*dir)
            .arg(TRICKY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        Mapper { child, _dir: dir }
    }
}

impl Drop for Mapper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 19: bidi overrides (U+202E), U+2028/2029 and zero-width
/// characters in mapping names reached the terminal as they are.
#[test]
fn bidi_and_zero_width_characters_in_mapping_names_are_escaped() {
    let m = Mapper::start();
    let pid = m.child.id().to_string();
    let escaped = "evil\\u{202e}txt.exe\\u{2066}\\u{2028}\\u{200b}";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["pmap", &pid], "evil???txt.exe?????????"),
        (vec!["pmap", "-x", &pid], "evil???txt.exe?????????"),
        (vec!["pmap", "-X", &pid], "evil???txt.exe?????????"),
        (vec!["explain", &pid], escaped),
        (vec!["watch", &pid, "--interval", "0.1", "--count", "2"], ""),
    ];
    for (args, shown) in cases {
        let out = lab(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(
            unsafe_chars(&stdout),
            Vec::<char>::new(),
            "{args:?}: {stdout}"
        );
        assert!(stdout.contains(shown), "{args:?}: no {shown} in {stdout}");
    }
    // diff: the region appears between a capture without it and one with it.
    let dir = Scratch::new("bidi-diff");
    let out = lab(&["pmap", "--json", &pid]);
    assert_eq!(out.status.code(), Some(0));
    let after: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The JSON text is safe on a terminal (`\u202e`) and keeps the true name.
    let (json_text, _) = text(&out);
    assert_eq!(unsafe_chars(&json_text), Vec::<char>::new(), "{json_text}");
    let regions = after["regions"].as_array().unwrap();
    assert!(regions
        .iter()
        .any(|r| r["name"].as_str().unwrap().ends_with(TRICKY)));
    let mut before = after.clone();
    before["regions"] = serde_json::Value::Array(
        regions
            .iter()
            .filter(|r| !r["name"].as_str().unwrap().ends_with(TRICKY))
            .cloned()
            .collect(),
    );
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&a, before.to_string()).unwrap();
    std::fs::write(&b, after.to_string()).unwrap();
    let out = lab(&["diff", s(&a), s(&b)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(unsafe_chars(&stdout), Vec::<char>::new(), "{stdout}");
    assert!(stdout.contains(escaped), "{stdout}");
}

/// Messages quote paths and names as they are on disk: what would command
/// the terminal in them is escaped (every message goes through one macro).
#[test]
fn messages_quote_paths_escaped() {
    let hostile = "/nonexistent/\u{1b}]0;title\u{7}\u{202e}x";
    // validate checks a folder's every component first: a missing one in
    // a folder that exists, so that the message names the hostile one.
    let tmp_hostile = format!(
        "{}/\u{1b}]0;title\u{7}\u{202e}x",
        std::env::temp_dir().display()
    );
    for args in [
        &["validate", &tmp_hostile][..],
        &["check", "heap", "--html", &format!("{hostile}/page.html")],
        &["grade", "leakfix", hostile],
    ] {
        let out = lab(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}{stderr}");
        assert_eq!(
            unsafe_chars(&stderr),
            Vec::<char>::new(),
            "{args:?}: {stderr:?}"
        );
        assert!(
            stderr.contains("/\\x1b]0;title\\x07\\u{202e}x"),
            "{args:?}: {stderr}"
        );
    }
}
