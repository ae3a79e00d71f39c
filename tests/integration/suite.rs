//! `lab check`: every lab × implementation, the table, JSON, missing toolchains.

use crate::util::lab;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_runs_every_lab_and_implementation() {
    let out = lab(&["check"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let pairs: Vec<(&str, &str)> = observer::spec::catalog::all()
        .iter()
        .flat_map(|l| l.impls.iter().map(move |s| (l.name(), s.imp.as_str())))
        .collect();
    // The three core labs at least, with their implementations.
    for core in [
        ("heap", "rust"),
        ("heap", "c"),
        ("mmap", "rust"),
        ("mmap", "c"),
        ("pylist", "rust"),
        ("pylist", "python"),
    ] {
        assert!(pairs.contains(&core), "{core:?}");
    }
    for (name, imp) in &pairs {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().take(2).eq([*name, *imp]))
            .unwrap_or_else(|| panic!("no row for {name} {imp}:\n{stdout}"));
        assert!(row.contains(" pass "), "{row}");
        assert!(
            stderr.contains(&format!("{name} ({imp}) … pass")),
            "progress line for {name} {imp}: {stderr}"
        );
    }
    assert!(
        stdout.contains(&format!("all {} runs passed", pairs.len())),
        "{stdout}"
    );
}

#[test]
fn check_json_names_the_interpreter() {
    let out = lab(&["check", "pylist", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = crate::util::json_doc(crate::util::Doc::Check, &out.stdout);
    assert_eq!(v["passed"], true);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let py = runs.iter().find(|r| r["impl"] == "python").unwrap();
    assert!(py["runtime"].as_str().unwrap().contains(" 3."), "{py}");
    assert!(
        py["facts"]["python_version"]
            .as_str()
            .unwrap()
            .starts_with("3."),
        "{py}"
    );
    assert!(v["machine"]["kernel"].is_string(), "{v}");
    assert_eq!(py["checks_passed"], py["checks_total"]);
    // Every run says what confined its demo (the matrix shows it per machine).
    for run in runs {
        let confined = run["confinement"].as_str().unwrap_or_default();
        assert!(
            confined.starts_with("a keeper that ends all it starts"),
            "{run}"
        );
    }
}

#[test]
fn a_missing_python_fails_with_what_to_install_or_is_skipped() {
    let out = lab(&["check", "pylist", "--python", "/nonexistent/python3"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("pylist") && l.contains("python") && l.contains("ERROR")),
        "{stdout}"
    );
    assert!(
        stdout.contains("`/nonexistent/python3` not found (or not working): install Python 3"),
        "{stdout}"
    );

    let out = lab(&[
        "check",
        "pylist",
        "--python",
        "/nonexistent/python3",
        "--skip-missing",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("pylist") && l.contains("skip")),
        "{stdout}"
    );
}

#[test]
fn a_python_that_is_not_python_is_named() {
    let out = lab(&[
        "pylist",
        "--impl",
        "python",
        "--python",
        "/bin/true",
        "--no-pause",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`/bin/true` not found (or not working): install Python 3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_of_an_unknown_lab_is_a_usage_error() {
    let out = lab(&["check", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "lab: no lab named `nosuch` (`lab list` lists them; a lab of your own needs its \
         folder: --labs DIR)"
    );
}
