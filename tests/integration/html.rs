//! The HTML report in a real browser: `lab check heap mmap --html` on real
//! runs, loaded in headless Chromium, which must log no console message (a
//! script error, or anything the page's Content-Security-Policy blocked: the
//! page loads nothing), whose DOM must hold the runs, charts, maps and checks,
//! and whose screenshot must show the charts in their colours.
//!
//! Without Chromium the test says so and passes, except on CI (`CI` set),
//! where `.ci/run` installs Chromium: there a missing browser fails the test,
//! so CI always runs it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::util::lab_exe;

/// Chromium on PATH (Debian's `chromium`, or as other systems name it), or `$CHROMIUM`.
pub(crate) fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|p| p.is_file())
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("pmap-lab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run headless Chromium on `page` with `args`, in its own process group so
/// that it and every helper process it starts are killed if it hangs, and
/// are all gone when this returns.
pub(crate) fn headless(exe: &Path, scratch: &Path, args: &[String], page: &Path) -> Output {
    use std::os::unix::process::CommandExt;
    let profile = tempdir_in(scratch, "profile");
    let (out_path, err_path) = (scratch.join("stdout"), scratch.join("stderr"));
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            // Without these Chromium reaches for the network, closed here.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Console messages (script errors, CSP violations) go to stderr.
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .process_group(0)
        .spawn()
        .expect("starting chromium");
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("chromium did not finish within 120 s (killed)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers normally exit with the browser; make sure none outlives it.
    let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
    Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

fn tempdir_in(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The console messages Chromium logged (`…:INFO:CONSOLE:…] "message"`).
pub(crate) fn console_messages(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect()
}

/// Pixels of a screenshot within 3 of `rgb` on every channel.
fn pixels_of(pixels: &[[u8; 3]], rgb: [u8; 3]) -> usize {
    pixels
        .iter()
        .filter(|p| (0..3).all(|i| p[i].abs_diff(rgb[i]) <= 3))
        .count()
}

#[test]
fn the_html_report_loads_in_a_browser_without_errors_and_shows_its_charts() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is missing on CI: .ci/run installs it (apt-get install chromium)");
        }
        return crate::util::skip(
            "the_html_report_loads_in_a_browser_without_errors_and_shows_its_charts",
            "no chromium on PATH (apt-get install chromium, or set CHROMIUM); .ci/run \
             installs it, so CI runs this test",
        );
    };
    let scratch = Scratch::new("html");
    let report = scratch.0.join("report.html");
    let out = Command::new(lab_exe())
        .args(["check", "heap", "mmap", "--html"])
        .arg(&report)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&report).expect("lab check --html wrote the page");
    assert!(!html.contains("<script"), "a static page");
    assert!(!html.contains("src="), "nothing loaded: everything inline");

    // A control page first: this browser does report script errors and
    // blocked loads on stderr, so that their absence below means something.
    let control = scratch.0.join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'\"></head><body><p>control</p>\
         <img src=\"https://example.invalid/a.png\"></body></html>",
    )
    .unwrap();
    let shown = headless(&browser, &scratch.0, &["--dump-dom".into()], &control);
    assert!(
        console_messages(&shown.stderr)
            .iter()
            .any(|m| m.contains("Content Security Policy")),
        "the control page's blocked image is logged: {}",
        String::from_utf8_lossy(&shown.stderr)
    );

    // The report: no console message at all, and the DOM the browser built
    // has every run, chart, map and check table.
    let shown = headless(&browser, &scratch.0, &["--dump-dom".into()], &report);
    assert!(shown.status.success(), "{shown:?}");
    assert_eq!(
        console_messages(&shown.stderr),
        Vec::<String>::new(),
        "the report loads without errors"
    );
    let dom = String::from_utf8(shown.stdout).unwrap();
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(
        count("<section class=\"run\""),
        4,
        "heap and mmap, rust and c"
    );
    assert_eq!(count("<svg class=\"timeline\""), 4);
    // heap: 5 steps with a changed region each (the last, free of a block
    // [heap] keeps, changes none); mmap: the mapping appears and is written
    // (it vanishes at the last step: no pages, no map). A page of stack or
    // stdio buffer may change too and get its map.
    assert!(count("<svg class=\"residency\"") >= 2 * (5 + 2), "{dom}");
    // heap has checks at 6 steps, mmap at 3.
    assert_eq!(count("<table class=\"checks\">"), 2 * (6 + 3));
    assert_eq!(count("✓ pass"), 2 * (18 + 12));
    assert!(
        dom.contains("of 15365 pages resident"),
        "heap's 60 MiB block"
    );
    assert!(
        dom.contains("25600 of 25600 pages resident"),
        "mmap, written"
    );
    // Text with quotes, ampersands and angle brackets survives escaping: the
    // C demo's source line, as the browser reads it back.
    assert!(
        dom.contains(
            "if (a == NULL) { fprintf(stderr, \"heap: malloc of 10 MiB failed\\n\"); return 1; }"
        ),
        "the C source in the DOM"
    );

    // The screenshot shows the charts: the timeline's bars and the maps in
    // their colours (the CSS's --virtual, --resident and --absent).
    let png = scratch.0.join("report.png");
    let shot = headless(
        &browser,
        &scratch.0,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,2000".into(),
            "--hide-scrollbars".into(),
        ],
        &report,
    );
    assert!(shot.status.success(), "{shot:?}");
    let bytes = std::fs::read(&png).expect("a screenshot");
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 2000));
    let channels = info.line_size / info.width as usize;
    assert!(channels >= 3, "{info:?}");
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let distinct: std::collections::HashSet<[u8; 3]> = pixels.iter().copied().collect();
    assert!(distinct.len() > 100, "a page of text and charts, not blank");
    let white = pixels_of(&pixels, [255, 255, 255]);
    assert!(white < pixels.len() * 97 / 100, "not blank");
    let virt = pixels_of(&pixels, [0xc5, 0xd5, 0xe6]);
    let resident = pixels_of(&pixels, [0x2a, 0x6f, 0xb0]);
    let absent = pixels_of(&pixels, [0xe7, 0xea, 0xef]);
    // The heap timeline's two 60 MiB bars alone are ~77 x 130 px each.
    assert!(virt > 10_000, "virtual-size bars: {virt} px");
    assert!(resident > 1_000, "RSS bars: {resident} px");
    assert!(absent > 5_000, "residency strips: {absent} px");
}

#[test]
fn a_run_that_could_not_complete_is_in_the_page_with_its_message_escaped() {
    let scratch = Scratch::new("html-error");
    let report = scratch.0.join("report.html");
    let out = Command::new(lab_exe())
        .args([
            "check",
            "pylist",
            "--python",
            "/nonexistent/py<3>&",
            "--html",
        ])
        .arg(&report)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the Python run failed");
    let html = std::fs::read_to_string(&report).expect("the page is written all the same");
    assert!(
        html.contains("<h2>Summary: 1 of 2 runs passed</h2>"),
        "{html}"
    );
    let section = html
        .split("<section class=\"run\" id=\"pylist-python\">")
        .nth(1)
        .expect("a section for the run that failed");
    assert!(
        section.contains("<span class=\"verdict error\">ERROR</span>"),
        "{section}"
    );
    assert!(
        section.contains("`/nonexistent/py&lt;3&gt;&amp;` not found (or not working)"),
        "{section}"
    );
    // The Rust port ran: its section has its timeline and checks.
    let rust = html
        .split("<section class=\"run\" id=\"pylist-rust\">")
        .nth(1)
        .unwrap();
    assert!(rust.contains("<svg class=\"timeline\""));
    assert!(rust.contains("<span class=\"verdict pass\">"), "{rust}");

    // A page that cannot be written is an environment error (exit 2).
    let out = Command::new(lab_exe())
        .args(["heap", "--no-pause", "--html"])
        .arg(&scratch.0)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("lab: cannot write the page "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
