//! `lab report` on real documents: `lab check heap mmap --json` run once for
//! real, and once with a C compiler line whose malloc writes every block (a
//! student's machine where six heap checks really fail); a class is made of
//! copies of them with edited facts (another glibc, a kernel name with
//! `<script>` and control characters in it, a run that could not start),
//! and files that are no such document. The table, the JSON document (valid
//! by its schema) and the HTML page must say which machines passed what,
//! which checks differ where and which fact tells them apart, name every bad
//! file once, and show every student text escaped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::util::{json_doc, lab_exe, lab_json, Doc};

/// The two real documents: every check held; six heap (c) checks failed.
fn real_documents() -> &'static (Value, Value) {
    static DOCS: OnceLock<(Value, Value)> = OnceLock::new();
    DOCS.get_or_init(|| {
        let passing = lab_json(&["check", "heap", "mmap", "--json"], 0);
        let dir = Scratch::new("report-cc");
        let cc = crate::util::touching_malloc_cc(&dir.0);
        let out = Command::new(lab_exe())
            .args(["check", "heap", "--json"])
            .env("CC", &cc)
            .env("XDG_DATA_HOME", crate::util::data_home())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let failing = json_doc(Doc::Check, &out.stdout);
        (passing, failing)
    })
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    /// A directory of its own: tests run in parallel in one process.
    fn new(name: &str) -> Scratch {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("pmap-lab-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, doc: &Value) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Set a fact on the machine and in every run that has facts.
fn set_fact(doc: &mut Value, name: &str, value: &str) {
    doc["machine"][name] = json!(value);
    for run in doc["runs"].as_array_mut().unwrap() {
        if let Some(facts) = run.get_mut("facts") {
            facts[name] = json!(value);
        }
    }
}

fn run_mut<'a>(doc: &'a mut Value, lab: &str, imp: &str) -> &'a mut Value {
    doc["runs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["lab"] == lab && r["impl"] == imp)
        .unwrap()
}

const HOSTILE_KERNEL: &str = "6.1<script>alert('x')</script>\u{1b}]0;owned\u{7}";
const HOSTILE_MESSAGE: &str = "<img src=x onerror=alert(1)>\u{1b}[2J\u{85}";

/// The class: five readable documents (alice, bob and erin alike; carol
/// with another glibc, another Python, other small huge pages and the
/// failing heap (c) run; dave with hostile facts), seven files that are
/// not documents, in the order given.
struct Class {
    dir: Scratch,
    files: Vec<PathBuf>,
    /// carol's glibc version, and everyone else's.
    other_glibc: String,
    glibc: String,
    /// carol's small huge pages (mTHP), and everyone else's.
    other_mthp: String,
    mthp: String,
}

fn class() -> Class {
    let (passing, failing) = real_documents();
    let dir = Scratch::new("report-class");
    let glibc = passing["machine"]["libc_version"]
        .as_str()
        .expect("a glibc machine")
        .to_string();
    let other_glibc = if glibc == "2.41" { "2.36" } else { "2.41" }.to_string();
    let mthp = passing["machine"]["mthp"].as_str().unwrap().to_string();
    let other_mthp = if mthp == "64kB always" {
        "none"
    } else {
        "64kB always"
    }
    .to_string();
    let mut files = vec![
        dir.write("alice.json", passing),
        dir.write("bob.json", passing),
    ];
    let mut carol = passing.clone();
    *run_mut(&mut carol, "heap", "c") = failing["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["impl"] == "c")
        .unwrap()
        .clone();
    carol["passed"] = json!(false);
    // Three facts differ on carol's machine; of them only mTHP is one the
    // heap lab's checks depend on (a `1 fault` in their bounds).
    set_fact(&mut carol, "libc_version", &other_glibc);
    set_fact(&mut carol, "mthp", &other_mthp);
    set_fact(&mut carol, "python_version", "3.9");
    files.push(dir.write("carol.json", &carol));
    let mut dave = passing.clone();
    set_fact(&mut dave, "kernel", HOSTILE_KERNEL);
    dave["machine"]["thp<b>"] = json!("&amp;\u{85}");
    files.push(dir.write("dave.json", &dave));
    // erin: alice's machine, where the Rust mmap run could not start.
    let mut erin = passing.clone();
    let run = run_mut(&mut erin, "mmap", "rust");
    *run = json!({
        "lab": "mmap", "impl": "rust", "result": "error", "passed": false,
        "seconds": 0.5, "message": HOSTILE_MESSAGE,
    });
    erin["passed"] = json!(false);
    check_schema_ok(&erin);
    files.push(dir.write("erin.json", &erin));

    // Files that are no lab check --json document.
    std::fs::write(dir.0.join("empty.json"), "").unwrap();
    files.push(dir.0.join("empty.json"));
    files.push(dir.0.join("missing.json"));
    files.push(dir.write(
        "package.json",
        &json!({"name": "student-project", "version": "1.0.0"}),
    ));
    let pmap = Command::new(lab_exe())
        .args(["pmap", "--json", &std::process::id().to_string()])
        .output()
        .unwrap();
    std::fs::write(dir.0.join("pmap.json"), &pmap.stdout).unwrap();
    files.push(dir.0.join("pmap.json"));
    let mut newer = passing.clone();
    newer["schema"] = json!(2);
    newer["runs"] = json!({"heap": "pass"});
    files.push(dir.write("newer.json", &newer));
    std::fs::write(dir.0.join("notes.txt"), "my results: all passed\n").unwrap();
    files.push(dir.0.join("notes.txt"));
    std::fs::create_dir(dir.0.join("artifacts")).unwrap();
    files.push(dir.0.join("artifacts"));
    Class {
        dir,
        files,
        other_glibc,
        glibc,
        other_mthp,
        mthp,
    }
}

fn check_schema_ok(doc: &Value) {
    crate::util::check_schema(Doc::Check, doc).unwrap();
}

fn report(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(lab_exe())
        .arg("report")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn os(paths: &[PathBuf]) -> Vec<&std::ffi::OsStr> {
    paths.iter().map(|p| p.as_os_str()).collect()
}

/// The heap checks the touching malloc fails.
const FAILED: [&str; 6] = [
    "malloc10-rss",
    "malloc50-rss",
    "write-rss",
    "write-dirty",
    "write-page-tables",
    "again-rss",
];

/// No control character but newline: nothing a terminal would obey.
fn assert_no_controls(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} has raw control characters {bad:?}");
}

#[test]
fn a_class_report_groups_machines_and_tells_apart_the_checks_that_differ() {
    let (_, failing) = real_documents();
    let failed_here: Vec<&str> = failing["runs"][1]["failed_checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed_here, FAILED, "the real failing run");

    let class = class();
    let page = class.dir.0.join("class.html");
    let mut args = os(&class.files);
    args.extend([std::ffi::OsStr::new("--html"), page.as_os_str()]);
    let out = report(&args);
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(out.status.code(), Some(2), "a file was bad: {stderr}");

    // One message per bad file, in order, then which ones.
    let d = class.dir.0.display();
    let expected = [
        format!("lab report: {d}/empty.json: an empty file, not a lab check --json document"),
        format!("lab report: {d}/missing.json: no such file"),
        format!(
            "lab report: {d}/package.json: not a lab check --json document (no `passed`, \
             `machine` and `runs`: JSON from another tool?)"
        ),
        format!(
            "lab report: {d}/pmap.json: not a lab check --json document (a process's regions, \
             `lab pmap --json` or `lab explain --json`)"
        ),
        format!(
            "lab report: {d}/newer.json: written by a newer lab (schema 2; this lab reads \
             schema 1 and older): read it with a newer lab"
        ),
        format!(
            "lab report: {d}/notes.txt: not a lab check --json document (not JSON: expected \
             value at line 1 column 1)"
        ),
        format!("lab report: {d}/artifacts: a directory, not a file (give its files: DIR/*.json)"),
        format!(
            "lab report: 7 of 12 files could not be read: {d}/empty.json, {d}/missing.json, \
             {d}/package.json, {d}/pmap.json, {d}/newer.json, {d}/notes.txt, {d}/artifacts"
        ),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected);

    // The machines: alice, bob and erin alike (A), carol (B) and dave (C)
    // alone; only the facts that differ are columns.
    assert!(
        stdout.starts_with(
            "lab report: 5 documents read, 5 machines in 3 groups of the same facts\n\
             (7 files could not be read: see the messages on stderr)\n"
        ),
        "{stdout}"
    );
    assert_no_controls(&stdout, "the table");
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("  group  machines  runs passed"))
        .expect(&stdout);
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        cols(lines[header]),
        [
            "group",
            "machines",
            "runs",
            "passed",
            "kernel",
            "mthp",
            "libc_version",
            "thp<b>"
        ]
    );
    let kernel = real_documents().0["machine"]["kernel"].as_str().unwrap();
    // 3 machines x 4 runs, erin's mmap (rust) an error.
    let row = |cells: &[&str]| cols(&cells.join(" "));
    assert_eq!(
        cols(lines[header + 1]),
        row(&["A", "3", "11/12", kernel, &class.mthp, &class.glibc, "-"])
    );
    assert_eq!(
        cols(lines[header + 2]),
        row(&[
            "B",
            "1",
            "3/4",
            kernel,
            &class.other_mthp,
            &class.other_glibc,
            "-"
        ])
    );
    assert_eq!(
        cols(lines[header + 3])[..3],
        ["C", "1", "4/4"],
        "{}",
        lines[header + 3]
    );
    // dave's kernel, escaped: the script is text, the terminal title
    // sequence shows as an escape.
    assert!(
        lines[header + 3].contains("6.1<script>alert('x')</script>\\x1b]0;owned\\x07"),
        "{}",
        lines[header + 3]
    );
    assert!(lines[header + 3].contains("&amp;\\u{85}"));
    assert!(stdout.contains("The same on every machine: arena_max default, "));

    // The runs: where each passed, and where not.
    let run_line = |lab: &str, imp: &str| {
        lines
            .iter()
            .find(|l| cols(l).starts_with(&[lab.to_string(), imp.to_string()]))
            .map(|l| cols(l))
            .expect(&stdout)
    };
    assert_eq!(run_line("heap", "rust"), ["heap", "rust", "5/5"]);
    assert_eq!(
        run_line("heap", "c"),
        ["heap", "c", "4/5", "B:", "1", "failed"]
    );
    assert_eq!(
        run_line("mmap", "rust"),
        ["mmap", "rust", "4/5", "A:", "1", "error"]
    );
    assert!(
        stdout.contains("  mmap (rust) on A: <img src=x onerror=alert(1)>\\x1b[2J\\u{85}\n"),
        "{stdout}"
    );

    // The checks that differ: the six, on carol's machine only, told apart
    // by mTHP, a fact heap's checks depend on: not by the glibc version nor
    // the Python version (issue 19), which differ there too.
    let differ = stdout
        .split("Checks that fail on some machines and pass on others:\n")
        .nth(1)
        .expect(&stdout);
    assert!(!stdout.contains("Checks that fail on every machine"));
    let titles: Vec<&str> = differ
        .lines()
        .filter(|l| l.starts_with("  heap (c), step "))
        .collect();
    assert_eq!(titles.len(), 6, "{differ}");
    for (title, id) in titles.iter().zip(FAILED) {
        assert!(title.contains(&format!(", {id}: ")), "{title}");
    }
    let apart = format!(
        "    told apart by: mthp {} where it failed, {} where it passed\n",
        class.other_mthp, class.mthp
    );
    assert_eq!(differ.matches(&apart).count(), 6, "{differ}");
    assert!(!stdout.contains("told apart by: libc_version"), "{differ}");
    assert!(!stdout.contains("python"), "a C lab: {stdout}");
    assert_eq!(
        differ
            .matches("    failed on 1 machine: B (1); passed on 4: A (3), C (1)\n")
            .count(),
        6,
        "{differ}"
    );
    assert!(differ.contains("step 3, write-rss: the block's RSS grows by 10 MiB"));

    // The page: self-contained, every text escaped, the same findings.
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">"
    ));
    assert!(!html.contains("<script"), "no script, escaped or not");
    assert!(!html.contains("<img"));
    // Nothing loaded: the only `src=` is erin's message, as text.
    assert_eq!(
        html.matches("src=").count(),
        html.matches("&lt;img src=x").count()
    );
    assert_no_controls(&html, "the page");
    assert!(
        html.contains("6.1&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;\\x1b]0;owned\\x07"),
        "dave's kernel"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;\\x1b[2J\\u{85}"));
    assert!(html.contains("<th title=\"kernel\">kernel</th>"));
    assert!(html.contains("<th title=\"thp&lt;b&gt;\">thp&lt;b&gt;</th>"));
    assert_eq!(html.matches("<article class=\"check\">").count(), 6);
    assert_eq!(
        html.matches(&format!(
            "<tr><td>mthp</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            class.other_mthp, class.mthp
        ))
        .count(),
        6
    );
    assert!(!html.contains("<tr><td>libc_version</td>"));
    assert!(html.contains("<tr id=\"group-A\"><td>A</td><td class=\"num\">3</td>"));
    assert!(html.contains("package.json: not a lab check --json document ("));
}

#[test]
fn the_json_report_is_valid_and_says_the_same() {
    let class = class();
    let mut args = os(&class.files);
    args.push(std::ffi::OsStr::new("--json"));
    let out = report(&args);
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(Doc::Report, &out.stdout);
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["documents"], 5);
    let bad: Vec<&str> = doc["bad_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            Path::new(b["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        bad,
        [
            "empty.json",
            "missing.json",
            "package.json",
            "pmap.json",
            "newer.json",
            "notes.txt",
            "artifacts"
        ]
    );
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0]["machines"], 3);
    let names: Vec<&str> = groups[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["alice.json", "bob.json", "erin.json"]);
    // JSON keeps the true text (escaped as JSON escapes it).
    assert_eq!(groups[2]["facts"]["kernel"], HOSTILE_KERNEL);
    assert_eq!(
        doc["varying_facts"],
        json!(["kernel", "mthp", "libc_version", "thp<b>"])
    );
    let mmap = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["lab"] == "mmap" && r["impl"] == "rust")
        .unwrap();
    assert_eq!((&mmap["passed"], &mmap["errors"]), (&json!(4), &json!(1)));
    assert_eq!(mmap["by_group"][0]["message"], HOSTILE_MESSAGE);
    let checks = doc["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, FAILED);
    for c in checks {
        assert_eq!(c["differs"], true);
        assert_eq!(c["failed_on"], json!([{"group": "B", "machines": 1}]));
        assert_eq!(
            c["passed_on"],
            json!([{"group": "A", "machines": 3}, {"group": "C", "machines": 1}])
        );
        assert_eq!(
            c["separating_facts"],
            json!([{"fact": "mthp", "failing": [class.other_mthp], "passing": [class.mthp]}])
        );
    }
    // The schema holds the document to its rules.
    let mut broken = doc.clone();
    broken["checks"][0]["passed_on"] = json!([]);
    assert!(
        crate::util::check_schema(Doc::Report, &broken).is_err(),
        "a check that differs passes somewhere"
    );
}

#[test]
fn a_class_where_every_check_held_exits_0_and_a_check_failing_everywhere_is_named() {
    let (passing, failing) = real_documents();
    let dir = Scratch::new("report-good");
    let files = [dir.write("a.json", passing), dir.write("b.json", passing)];
    let out = report(&os(&files));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(out.stderr.is_empty());
    assert!(stdout
        .starts_with("lab report: 2 documents read, 2 machines in 1 group of the same facts\n\n"));
    assert!(
        stdout.contains("\nNo check failed on any machine.\n"),
        "{stdout}"
    );

    // Only the failing machine: its checks fail everywhere they ran, with
    // nothing to tell apart.
    let only = [dir.write("c.json", failing)];
    let out = report(&os(&only));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a failed check is data, not an error"
    );
    assert!(!stdout.contains("told apart"));
    let everywhere = stdout
        .split("Checks that fail on every machine where they ran:\n")
        .nth(1)
        .expect(&stdout);
    assert_eq!(
        everywhere
            .matches("    failed on 1 machine: A (1)\n")
            .count(),
        6
    );

    // Nothing readable: no report.
    let out = report(&[dir.0.join("nothing.json").as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr)
        .ends_with("lab report: the file could not be read: no report\n"));
}

#[test]
fn the_page_is_never_written_through_a_symbolic_link() {
    let (passing, _) = real_documents();
    let dir = Scratch::new("report-link");
    let file = dir.write("a.json", passing);
    let victim = dir.0.join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let link = dir.0.join("link.html");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dangling = dir.0.join("dangling.html");
    let nowhere = dir.0.join("created-through-the-link.html");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    for out_path in [&link, &dangling] {
        let out = report(&[file.as_os_str(), "--html".as_ref(), out_path.as_os_str()]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stderr,
            format!(
                "lab report: cannot write the page {}: it is a symbolic link: not written \
                 through it\n",
                out_path.display()
            )
        );
        // The table was printed all the same.
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("lab report: 1 document read"));
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!nowhere.exists());
    // A regular file there is replaced.
    let page = dir.0.join("page.html");
    std::fs::write(&page, "x".repeat(1 << 20)).unwrap();
    let out = report(&[file.as_os_str(), "--html".as_ref(), page.as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
}

/// The class page in headless Chromium (as the suite's page in html.rs): no
/// console message (nothing blocked, no script), and the students' text is
/// text in the DOM the browser built, never an element.
#[test]
fn the_class_page_loads_in_a_browser_with_the_hostile_text_as_text() {
    let Some(browser) = crate::html::chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is missing on CI: .ci/run installs it (apt-get install chromium)");
        }
        return crate::util::skip(
            "the_class_page_loads_in_a_browser_with_the_hostile_text_as_text",
            "no chromium on PATH (or set CHROMIUM); .ci/run installs it",
        );
    };
    let class = class();
    let page = class.dir.0.join("class.html");
    let mut args = os(&class.files);
    args.extend([std::ffi::OsStr::new("--html"), page.as_os_str()]);
    assert_eq!(report(&args).status.code(), Some(2));
    let shown = crate::html::headless(&browser, &class.dir.0, &["--dump-dom".into()], &page);
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(
        crate::html::console_messages(&shown.stderr),
        Vec::<String>::new(),
        "the page loads without errors"
    );
    let dom = String::from_utf8(shown.stdout).unwrap();
    assert!(!dom.contains("<script"), "no script element");
    assert!(!dom.contains("<img"), "no image element");
    assert!(dom.contains("6.1&lt;script&gt;alert('x')&lt;/script&gt;\\x1b]0;owned\\x07"));
    assert_eq!(dom.matches("<article class=\"check\">").count(), 6);
}

/// Real documents of this machine for the students' view: `lab check
/// pylist --json` (with its Python's facts), and `lab grade resident --json`
/// of a right solution and of the starter (its one check fails).
fn real_grades() -> &'static (Value, Value, Value) {
    static DOCS: OnceLock<(Value, Value, Value)> = OnceLock::new();
    DOCS.get_or_init(|| {
        let repo = env!("CARGO_MANIFEST_DIR");
        let pylist = lab_json(&["check", "pylist", "--json"], 0);
        assert!(
            pylist["machine"]["python_version"].is_string(),
            "a Python run's facts are in the machine of lab check --json"
        );
        let right = lab_json(
            &[
                "grade",
                "resident",
                &format!("{repo}/tests/exercises/resident-right.c"),
                "--json",
            ],
            0,
        );
        let wrong = lab_json(
            &[
                "grade",
                "resident",
                &format!("{repo}/exercises/resident/starter.c"),
                "--json",
            ],
            1,
        );
        assert!(wrong["machine"].get("python_version").is_none());
        (pylist, right, wrong)
    })
}

/// Every character a terminal must not get as it is (issue 19): controls
/// but the newline, bidi embeddings, overrides, isolates and marks, the
/// line and paragraph separators, zero-width characters.
fn assert_no_unsafe(text: &str, what: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c as u32, 0x061c | 0x200b..=0x200f | 0x2028..=0x202e
                    | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xfeff)
        })
        .collect();
    assert!(bad.is_empty(), "{what} has raw characters {bad:?}");
}

/// Issue 19: a machine's `lab grade --json` documents carry fewer facts
/// than its `lab check --json` (no Python's): they are still one group, and
/// the runs a kind of document never has are not "without it".
#[test]
fn grade_and_check_documents_of_one_machine_are_one_group() {
    let (pylist, right, wrong) = real_grades();
    let (heap_mmap, _) = real_documents();
    let dir = Scratch::new("report-one-machine");
    let files = [
        dir.write("check-pylist.json", pylist),
        dir.write("check-heap.json", heap_mmap),
        dir.write("right.json", right),
        dir.write("wrong.json", wrong),
    ];
    let out = report(&os(&files));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with(
            "lab report: 4 documents read (2 lab check, 2 lab grade), 4 machines in 1 group \
             of the same facts\n"
        ),
        "{stdout}"
    );
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let run_line = |lab: &str, imp: &str| {
        stdout
            .lines()
            .find(|l| cols(l).starts_with(&[lab.to_string(), imp.to_string()]))
            .map(cols)
            .expect(&stdout)
    };
    // Each run where its kind of document could have it.
    assert_eq!(
        run_line("pylist", "python"),
        ["pylist", "python", "1/1", "A:", "1", "without", "it"]
    );
    assert_eq!(
        run_line("heap", "c"),
        ["heap", "c", "1/1", "A:", "1", "without", "it"]
    );
    assert_eq!(
        run_line("resident", "c"),
        ["resident", "c", "1/2", "A:", "1", "failed"]
    );
    // One machine: nothing tells the failing program's apart.
    assert!(stdout.contains(
        "    no single fact its lab's checks depend on tells the machines where it failed from \
         the others\n"
    ));

    let mut args = os(&files);
    args.push("--json".as_ref());
    let doc = json_doc(Doc::Report, &report(&args).stdout);
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{doc:#}");
    assert_eq!(groups[0]["machines"], 4);
    // The group's facts are the machine's: the Python's are the run's.
    assert!(groups[0]["facts"].get("python_version").is_none());
    assert_eq!(groups[0]["facts"]["kernel"], pylist["machine"]["kernel"]);
}

/// Issue 19: a failed exercise reads as each student's program, its score,
/// and each failed check with what was expected, observed and the hint, in
/// the table, the JSON and the page.
#[test]
fn grade_documents_have_a_view_per_student() {
    let (_, right, wrong) = real_grades();
    let repo = env!("CARGO_MANIFEST_DIR");
    let dir = Scratch::new("report-students");
    let files = [
        dir.write("right.json", right),
        dir.write("wrong.json", wrong),
    ];
    let page = dir.0.join("class.html");
    let mut args = os(&files);
    args.extend(["--html".as_ref(), page.as_os_str()]);
    let out = report(&args);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let failed = &wrong["checks"][0];
    assert_eq!(failed["check"]["status"], "fail");
    let hint = failed["hint"].as_str().expect("a failed check's hint");
    let d = dir.0.display();
    let expected = format!(
        "Students (a lab grade --json document each):\n\
         \x20 {d}/right.json: resident, {repo}/tests/exercises/resident-right.c: 1 of 1 check \
         held, passed (group A)\n\
         \x20 {d}/wrong.json: resident, {repo}/exercises/resident/starter.c: 0 of 1 check held, \
         failed (group A)\n\
         \x20   ✗ step 1, resident-50: {}\n\
         \x20     expected {}; observed {}\n\
         \x20     hint: {}\n",
        failed["check"]["description"].as_str().unwrap(),
        failed["check"]["expected"].as_str().unwrap(),
        failed["check"]["observed"].as_str().unwrap(),
        hint.trim(),
    );
    assert!(stdout.contains(&expected), "{stdout}\nwanted:\n{expected}");

    let mut args = os(&files);
    args.push("--json".as_ref());
    let doc = json_doc(Doc::Report, &report(&args).stdout);
    let students = doc["students"].as_array().unwrap();
    assert_eq!(students.len(), 2);
    assert_eq!(
        (
            &students[0]["passed"],
            &students[0]["held"],
            &students[0]["total"]
        ),
        (&json!(true), &json!(1), &json!(1))
    );
    assert_eq!(students[0]["failed_checks"], json!([]));
    assert_eq!(
        students[1]["program"],
        format!("{repo}/exercises/resident/starter.c")
    );
    assert_eq!(students[1]["exercise"], "resident");
    assert_eq!(students[1]["group"], "A");
    assert_eq!(
        students[1]["failed_checks"],
        json!([{
            "step": 1,
            "id": "resident-50",
            "description": failed["check"]["description"],
            "expected": failed["check"]["expected"],
            "observed": failed["check"]["observed"],
            "hint": hint,
        }])
    );
    // The schema holds it to its rules: a passed program failed nothing.
    let mut broken = doc.clone();
    broken["students"][0]["failed_checks"] = students[1]["failed_checks"].clone();
    assert!(crate::util::check_schema(Doc::Report, &broken).is_err());

    let html = std::fs::read_to_string(&page).unwrap();
    let students_html = html
        .split("<section id=\"students\">")
        .nth(1)
        .expect("a students section")
        .split("</section>")
        .next()
        .unwrap();
    assert_eq!(students_html.matches("<tr><td class=\"mono\">").count(), 2);
    assert!(students_html.contains("<td class=\"num fail\">0/1</td>"));
    assert!(students_html.contains("✗ step 1 · <code>resident-50</code>"));
    let plain: String = hint
        .chars()
        .take_while(|c| !"&<>\"'".contains(*c))
        .collect();
    assert!(
        students_html.contains(&format!("hint: {plain}")),
        "{students_html}"
    );
}

/// Issue 19: every text of a document that reaches the terminal is escaped,
/// bidi overrides and isolates, separators and zero-width characters too:
/// in the table, the per-student view, the messages, the page.
#[test]
fn bidi_separators_and_zero_width_characters_are_escaped() {
    let (passing, _) = real_documents();
    let (_, _, wrong) = real_grades();
    let dir = Scratch::new("report-bidi");
    let mut forged = wrong.clone();
    forged["file"] = json!("evil\u{202e}c.exe\u{2066}.c");
    forged["checks"][0]["hint"] = json!("look\u{2028}here\u{200b}now\u{feff}\u{1b}[2J");
    forged["checks"][0]["check"]["observed"] = json!("+4 KiB\u{2029}\u{200f}");
    let mut odd = passing.clone();
    set_fact(&mut odd, "kernel", "6.1\u{2067}-rtl\u{2069}\u{202a}");
    let missing = dir.0.join("gone\u{202e}nosj.json");
    let files = [
        dir.write("forged.json", &forged),
        dir.write("odd.json", &odd),
        missing.clone(),
    ];
    let page = dir.0.join("class.html");
    let mut args = os(&files);
    args.extend(["--html".as_ref(), page.as_os_str()]);
    let out = report(&args);
    assert_eq!(out.status.code(), Some(2), "a file is missing");
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_no_unsafe(&stdout, "the table");
    assert_no_unsafe(&stderr, "the messages");
    assert!(
        stdout.contains(": resident, evil\\u{202e}c.exe\\u{2066}.c: 0 of 1 check held"),
        "{stdout}"
    );
    assert!(
        stdout.contains("observed +4 KiB\\u{2029}\\u{200f}\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: look\\u{2028}here\\u{200b}now\\u{feff}\\x1b[2J\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("6.1\\u{2067}-rtl\\u{2069}\\u{202a}"),
        "{stdout}"
    );
    assert!(
        stderr.contains("gone\\u{202e}nosj.json: no such file"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_no_unsafe(&html, "the page");
    assert!(html.contains("evil\\u{202e}c.exe\\u{2066}.c"));
}
