//! Labs of one's own, on real demos: `lab new` makes a lab that passes at
//! once, `--labs DIR` adds it to every command, `lab validate` names every
//! kind of mistake with its place, `lab bless` pins the output that `lab
//! check` then compares.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{data_home, lab_exe};

/// A fresh folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmap-lab-labs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `lab ARGS` with stdin closed, no PMAP_LAB_LABS of the caller's.
fn lab(args: &[&str]) -> Output {
    std::process::Command::new(lab_exe())
        .args(args)
        .env("XDG_DATA_HOME", data_home())
        .env_remove("PMAP_LAB_LABS")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running lab")
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

#[test]
fn a_new_lab_passes_at_once_in_c_and_python() {
    let dir = scratch("new");
    for (name, imp) in [("mine-c", "c"), ("mine_py", "python")] {
        let out = lab(&["new", name, "--impl", imp, "--dir", s(&dir)]);
        assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    }
    let out = lab(&["validate", s(&dir)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("mine-c: no mistakes (c prompts 3 times, 3 of 3 checks hold)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mine_py: no mistakes (python prompts 3 times, 3 of 3 checks hold)"),
        "{stdout}"
    );
    let out = lab(&["check", "--labs", s(&dir), "--json"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let doc = crate::util::json_doc(crate::util::Doc::Check, &out.stdout);
    let runs = doc["runs"].as_array().unwrap();
    let mine: Vec<(&str, &str, &str)> = runs
        .iter()
        .filter(|r| r["lab"].as_str().unwrap().starts_with("mine"))
        .map(|r| {
            (
                r["lab"].as_str().unwrap(),
                r["impl"].as_str().unwrap(),
                r["result"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(mine.len(), 2, "{runs:#?}");
    // The built-in labs ran too, and every run held.
    assert!(runs.len() > 2);
    // The environment variable does what --labs does; `lab list` shows them.
    let out = std::process::Command::new(lab_exe())
        .args(["list"])
        .env(
            "PMAP_LAB_LABS",
            format!("/nonexistent-but-empty-part::{}", s(&dir)),
        )
        .env("XDG_DATA_HOME", data_home())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing folder is an error: {stdout}{stderr}"
    );
    assert!(
        stderr.starts_with("lab: /nonexistent-but-empty-part"),
        "{stderr}"
    );
    let out = std::process::Command::new(lab_exe())
        .args(["list"])
        .env("PMAP_LAB_LABS", format!("{}:", s(&dir)))
        .env("XDG_DATA_HOME", data_home())
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("mine-c") && stdout.contains("[python]"),
        "{stdout}"
    );
    // `lab NAME` runs it, step by step, with its JSON.
    let run = crate::util::json_doc(
        crate::util::Doc::LabRun,
        &lab(&["--labs", s(&dir), "mine_py", "--impl", "python", "--json"]).stdout,
    );
    assert_eq!(run["passed"], true);
    assert_eq!(run["steps"].as_array().unwrap().len(), 3);
    // It refuses to overwrite, a name taken, a bad name, a link in its way.
    let out = lab(&["new", "mine-c", "--dir", s(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("refusing to overwrite"),
        "{:?}",
        text(&out)
    );
    for (name, why) in [
        ("heap", "labs/heap/lab.toml"),
        ("Bad Name", "no lab name"),
        ("list", "is a command"),
    ] {
        let out = lab(&["new", name, "--dir", s(&dir)]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(text(&out).1.contains(why), "{name}: {:?}", text(&out));
    }
    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("linked")).unwrap();
    let out = lab(&["new", "linked", "--dir", s(&dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !dir.join("elsewhere").exists(),
        "nothing made through the link"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_lab_named_like_a_built_in_one_is_an_error_naming_both() {
    let dir = scratch("clash");
    assert!(lab(&["new", "mylab", "--dir", s(&dir)]).status.success());
    let toml = dir.join("mylab/lab.toml");
    let text_of = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text_of.replace("name = \"mylab\"", "name = \"heap\""),
    )
    .unwrap();
    std::fs::rename(dir.join("mylab"), dir.join("heap")).unwrap();
    let out = lab(&["--labs", s(&dir), "list"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("labs/heap/lab.toml (built in)")
            && stderr.contains(&format!("{}/heap/lab.toml", s(&dir))),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A lab made by `lab new`, then broken by `edit` of its lab.toml (and
/// demo); what `lab validate` says.
fn validate_broken(tag: &str, imp: &str, edit: impl Fn(&Path)) -> (i32, String) {
    let dir = scratch(tag);
    assert!(lab(&["new", "broken", "--impl", imp, "--dir", s(&dir)])
        .status
        .success());
    edit(&dir.join("broken"));
    let out = lab(&["validate", s(&dir.join("broken")), "--prompt-timeout", "3"]);
    let (stdout, stderr) = text(&out);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!stdout.contains("no mistakes"), "{stdout}");
    (out.status.code().unwrap(), format!("{stdout}{stderr}"))
}

fn replace_in(file: &Path, from: &str, to: &str) {
    let t = std::fs::read_to_string(file).unwrap();
    assert!(t.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, t.replacen(from, to, 1)).unwrap();
}

#[test]
fn validate_names_every_mistake_of_a_lab_toml_with_its_place() {
    let (code, out) = validate_broken("mistakes", "c", |d| {
        let t = d.join("lab.toml");
        replace_in(&t, "intro = \"\"\"", "colour = \"red\"\nintro = \"\"\"");
        replace_in(
            &t,
            "measure = \"total.size\"",
            "measure = \"total.bigness\"",
        );
        replace_in(&t, "max = \"16 MiB + 1 MiB\"", "max = \"16 MB\"");
        replace_in(&t, "max = \"1 MiB\"\n", "");
        replace_in(&t, "mmap reserved 16 MiB", "mmap reserved {anon.weight}");
    });
    assert_eq!(code, 1, "{out}");
    let file = "broken/lab.toml";
    let lines: Vec<&str> = out.lines().collect();
    let find = |what: &str| {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in:\n{out}"))
            .to_string()
    };
    let place = |line: &str| {
        let at = line.find(file).unwrap() + file.len();
        line[at..].split(':').take(3).collect::<Vec<_>>().join(":")
    };
    assert_eq!(place(&find("unknown key `colour`")), ":12:1");
    assert_eq!(place(&find("no placeholder `{anon.weight}`")), ":32:15");
    assert_eq!(place(&find("unknown measure `total.bigness`")), ":43:11");
    assert_eq!(place(&find("bad size expression `16 MB`")), ":45:7");
    assert_eq!(place(&find("check `map-rss` has no bound")), ":48:1");
    assert!(out.contains("5 mistakes"), "{out}");
    // The demo still ran (the data could be read): it was fine.
    assert!(!out.contains("demos.c"), "{out}");
}

#[test]
fn validate_runs_the_demo_a_wrong_step_count_a_silent_demo_a_compile_error() {
    // One step too many in the lab: the demo prompts 3 times.
    let (code, out) = validate_broken("steps", "python", |d| {
        let t = d.join("lab.toml");
        let mut text = std::fs::read_to_string(&t).unwrap();
        text.push_str("\n[[steps]]\ntitle = \"more\"\nhint = \"h\"\nannotation = \"a\"\n");
        std::fs::write(&t, text).unwrap();
        replace_in(
            &d.join("broken.py"),
            "input(f\"wrote every",
            "# step 3: more\nx = 1\n\ninput(f\"wrote every",
        );
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("broken/lab.toml:11:20: demos.python:")
            && out.contains("prompts 3 times, and the lab has 4 steps"),
        "{out}"
    );
    // A demo that never prompts.
    let (code, out) = validate_broken("silent", "python", |d| {
        std::fs::write(
            d.join("broken.py"),
            "# step 1: a\nx = 1\n\n# step 2: b\ny = 2\n\nprint('no prompt here')\n",
        )
        .unwrap();
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("never prompts") && out.contains("no prompt here"),
        "{out}"
    );
    // A demo that does not compile: the compiler's first error, trimmed.
    let (code, out) = validate_broken("compile", "c", |d| {
        replace_in(&d.join("broken.c"), "size_t i;", "size_t i = nosuchname;");
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("does not compile") && out.contains("nosuchname"),
        "{out}"
    );
    assert!(out.lines().count() < 15, "trimmed: {out}");
    // A demo that hangs without prompting is killed after the timeout.
    let (code, out) = validate_broken("hang", "python", |d| {
        replace_in(
            &d.join("broken.py"),
            "print(\"pid\"",
            "import time\ntime.sleep(30)\nprint(\"pid\"",
        );
    });
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did not reach a prompt within 3.0 s"), "{out}");
}

#[test]
fn bless_pins_the_output_and_check_compares_it() {
    let dir = scratch("bless");
    assert!(lab(&["new", "pinned", "--dir", s(&dir)]).status.success());
    let out = lab(&["bless", s(&dir)]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let snap = dir.join("pinned/pinned-c.snap");
    let blessed = std::fs::read_to_string(&snap).unwrap();
    // The same text the snapshot tests pin for the built-in labs, the
    // demo's path relative to the folder of labs.
    assert!(
        blessed.contains("pmap lab: pinned (c implementation, pinned/pinned.c)"),
        "{blessed}"
    );
    assert!(
        blessed.contains("✓ pass  virtual size grows by 16 MiB"),
        "{blessed}"
    );
    let out = lab(&["check", "--labs", s(&dir), "pinned"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // The lab changes: the next check fails, showing where.
    replace_in(
        &dir.join("pinned/lab.toml"),
        "then writes one byte",
        "then writes 1 byte",
    );
    // (The difference is in the table: a verdict, DIFFERS; see verdict.rs.)
    let out = lab(&["check", "--labs", s(&dir), "pinned"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("the annotated output differs"), "{stdout}");
    assert!(
        stdout.contains("\n-The program maps 16 MiB of anonymous memory, then writes one byte"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n+The program maps 16 MiB of anonymous memory, then writes 1 byte"),
        "{stdout}"
    );
    // bless refuses to write through a link.
    std::fs::remove_file(&snap).unwrap();
    let target = dir.join("target.txt");
    std::os::unix::fs::symlink(&target, &snap).unwrap();
    let out = lab(&["bless", s(&dir)]);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(!target.exists(), "nothing written through the link");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Any program in the prompt protocol can be a lab's demo: a script run by
/// the interpreter of its #! line (bash here, whose variables live in its
/// [heap]); a script without one is refused in one line.
#[test]
fn a_script_demo_runs_by_its_interpreter() {
    let dir = scratch("script");
    let lab_dir = dir.join("shlab");
    std::fs::create_dir_all(&lab_dir).unwrap();
    std::fs::write(
        lab_dir.join("demo.sh"),
        "#!/bin/bash\n\
         echo \"start: press Enter to fill a variable\"\n\
         read -r _\n\
         # step 1: fill a variable with 8 MiB\n\
         x=$(head -c 8388608 /dev/zero | tr '\\0' a)\n\
         echo \"filled ${#x} bytes: press Enter to exit\"\n\
         read -r _\n",
    )
    .unwrap();
    std::fs::write(
        lab_dir.join("lab.toml"),
        r#"name = "shlab"
summary = "a bash demo"
demos = { script = "demo.sh" }
intro = "A bash variable lives in bash's heap."

[[steps]]
title = "start"
annotation = "Nothing yet."

[[steps]]
title = "fill a variable with 8 MiB"
annotation = "bash keeps the variable in its heap."

[[steps.checks]]
id = "heap-grows"
expect = "[heap] grows by at least 8 MiB"
measure = "heap.rss"
min = "8 MiB"
tolerance = "the variable's 8 MiB, and bash's copies of it while it reads."
"#,
    )
    .unwrap();
    let out = lab(&["validate", s(&lab_dir)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("script prompts 2 times"), "{stdout}");
    let out = lab(&["--labs", s(&dir), "shlab", "--no-pause"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("script implementation: 1 of 1 checks held"),
        "{stdout}"
    );
    // Without a #! line: one clear line, exit 2.
    replace_in(&lab_dir.join("demo.sh"), "#!/bin/bash\n", "");
    let out = lab(&["--labs", s(&dir), "shlab", "--no-pause"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("#! line"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
