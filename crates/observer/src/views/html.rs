//! The HTML report: one self-contained page for a suite (`lab check --html`)
//! or a single run (`lab heap --html`), to keep, mail or project in class.
//!
//! Self-contained means no network and no script: inline CSS, charts as
//! inline SVG, and a Content-Security-Policy that forbids loading anything,
//! so a page that tried would show it as an error in the browser's console
//! (the headless-browser test looks for exactly that). Every text that comes
//! from a run (region names, a demo's output, source lines) is escaped.
//!
//! Per lab × implementation: a timeline of virtual size and RSS, then every
//! step with its source lines, the demo's prompt, the regions that changed
//! (with their residency maps), the checks and the annotation.

use std::fmt::Write as _;

use pmap_view::render::{mode, signed_size, size};
use pmap_view::{Change, PageMap, PageState};

use crate::drive::report::{Report, StepReport};
use crate::drive::suite::{Outcome, SuiteRun};
use crate::measure::residency;
use crate::spec::check::Status;
use crate::views::step::{Resolution, Row, StepView};

/// The page for a suite run: a summary table, then every run.
pub fn suite_page(runs: &[SuiteRun]) -> String {
    let mut body = String::new();
    summary_table(&mut body, runs);
    for run in runs {
        match &run.outcome {
            Outcome::Ran(report) => run_section(
                &mut body,
                report,
                run.pinned
                    .as_ref()
                    .and_then(|p| p.message(&run.lab, run.imp.as_str()))
                    .map(|said| (run.differs(), said)),
            ),
            Outcome::NotStarted(n) => {
                let _ = writeln!(
                    body,
                    "<section class=\"run\" id=\"{id}\"><h2>{lab} · {imp} \
                     <span class=\"verdict skip\">n/a</span></h2>\
                     <p class=\"message\">{why}</p></section>",
                    id = anchor(&run.lab, run.imp.as_str()),
                    lab = esc(&run.lab),
                    imp = esc(run.imp.as_str()),
                    why = esc(&n.to_string()),
                );
            }
            Outcome::Skipped(why) | Outcome::Error(why) => {
                let _ = writeln!(
                    body,
                    "<section class=\"run\" id=\"{id}\"><h2>{lab} · {imp} \
                     <span class=\"verdict {class}\">{verdict}</span></h2>\
                     <pre class=\"message\">{why}</pre></section>",
                    id = anchor(&run.lab, run.imp.as_str()),
                    lab = esc(&run.lab),
                    imp = esc(run.imp.as_str()),
                    class = verdict_class(run.verdict()),
                    verdict = esc(run.verdict()),
                    why = esc(why),
                );
            }
        }
    }
    page("pmap lab: suite report", &body)
}

/// The page for one run (`lab LAB --html FILE`).
pub fn run_page(report: &Report) -> String {
    let mut body = String::new();
    run_section(&mut body, report, None);
    page(&format!("pmap lab: {} ({})", report.lab, report.imp), &body)
}

/// Check, before a run, that the page can be written to `path`: a run of
/// every step that then fails at the end would lose its timeline and summary.
/// What [`write_page`] will do is tried: the target must not be a link or
/// anything but a plain file, and a temporary file must be creatable beside
/// it (it is removed again).
pub fn check_writable(path: &std::path::Path) -> Result<(), crate::RunError> {
    let error = |e| crate::RunError::Io(format!("cannot write the page {}", path.display()), e);
    refuse_odd_target(path).map_err(error)?;
    let (tmp, file) = create_temporary(path).map_err(error)?;
    drop(file);
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}

/// Write a page to `path`.
pub fn write(path: &std::path::Path, page: &str) -> Result<(), crate::RunError> {
    write_page(path, page)
        .map_err(|e| crate::RunError::Io(format!("writing {}", path.display()), e))
}

/// A link at `path` (one a student's file could not make, but a shared
/// directory could) or something other than a plain file is refused, not
/// followed or replaced; nothing there, or a plain file, is fine.
fn refuse_odd_target(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(std::io::Error::other(
            "it is a symbolic link: not written through it",
        )),
        Ok(m) if !m.file_type().is_file() => Err(std::io::Error::other("not a regular file")),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A new file beside `path` (`.NAME.PID.N.tmp` in the same folder, so that
/// a rename can put it in place), created with O_EXCL and O_NOFOLLOW: never
/// an existing file, never through a link.
fn create_temporary(
    path: &std::path::Path,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Write the page to `path` whole or not at all: into a new temporary file
/// beside it ([`create_temporary`]), flushed to the disk, then renamed over
/// `path`. A full disk, `ulimit -f` or a signal leave the old page as it was
/// (and no cut-off one); the temporary file is removed on failure. A link
/// at `path` is refused, not followed nor replaced.
pub fn write_page(path: &std::path::Path, page: &str) -> std::io::Result<()> {
    use std::io::Write;
    refuse_odd_target(path)?;
    let (tmp, mut file) = create_temporary(path)?;
    let written = file
        .write_all(page.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, path)
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Escape text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --resident: #2a6fb0; --virtual: #c5d5e6; --absent: #e7eaef; --swapped: #d9822b;
        --pass: #1d7a35; --fail: #b3261e; --ink: #1f2328; --muted: #5d6673; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 4px; padding-top: 12px; border-top: 3px solid var(--ink); }
h3 { font-size: 17px; margin: 28px 0 6px; }
.meta, .caption, figcaption, .note { color: var(--muted); font-size: 13px; }
pre, code, td.num, td.mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; }
pre.source { background: #f4f6f8; border-left: 4px solid var(--resident); padding: 8px 12px; overflow-x: auto; margin: 6px 0; }
pre.message { background: #fbeceb; padding: 8px 12px; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 3px 10px; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #cfd6de; font-size: 13px; }
tr + tr td { border-top: 1px solid #eceff3; }
td.num { text-align: right; white-space: nowrap; }
tr.map td { border-top: none; padding-top: 0; }
.verdict { font-size: 14px; padding: 2px 8px; border-radius: 10px; color: #fff; vertical-align: middle; }
.verdict.pass { background: var(--pass); } .verdict.fail, .verdict.error { background: var(--fail); }
.verdict.skip { background: var(--muted); }
td.pass { color: var(--pass); font-weight: 600; white-space: nowrap; }
td.fail { color: var(--fail); font-weight: 600; white-space: nowrap; }
td.na { color: var(--muted); font-weight: 600; white-space: nowrap; }
.mark { font-weight: 700; text-align: center; }
.appeared, .grew { color: var(--pass); } .vanished, .shrank { color: var(--fail); }
.why p { margin: 6px 0; max-width: 80ch; }
figure { margin: 12px 0; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg text.small { font-size: 11px; fill: var(--muted); }
svg .axis { stroke: #8a94a0; stroke-width: 1; }
svg .grid { stroke: #e3e7ec; stroke-width: 1; }
svg .virt { fill: var(--virtual); } svg .rss { fill: var(--resident); }
svg .absent { fill: var(--absent); } svg .resident { fill: var(--resident); } svg .swapped { fill: var(--swapped); }
.legend span { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin: 0 4px 0 12px; }
details summary { cursor: pointer; color: var(--muted); }
article.step { display: flow-root; } /* holds the floating picture of the address space */
"#;

fn page(title: &str, body: &str) -> String {
    let facts: Vec<String> = crate::measure::machine::Facts::of_machine(None)
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "{head}<header><h1>{title}</h1>\n<p class=\"meta\">this machine: {facts}; \
         made by lab {version}</p>\n\
         <p class=\"legend meta\">residency maps, low addresses left:\
         <span style=\"background:var(--resident)\"></span>resident\
         <span style=\"background:var(--absent)\"></span>not resident\
         <span style=\"background:var(--swapped)\"></span>swapped</p></header>\n\
         {body}</body>\n</html>\n",
        head = head(title),
        title = esc(title),
        facts = esc(&facts.join(", ")),
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// A page's start, to `<body>`: the title, the styles, and the
/// Content-Security-Policy that forbids loading anything (every page lab
/// writes starts so: `lab report`'s too).
pub(crate) fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        title = esc(title),
    )
}

fn anchor(lab: &str, imp: &str) -> String {
    let id: String = format!("{lab}-{imp}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    esc(&id)
}

fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "pass",
        "skip" | "n/a" => "skip",
        "ERROR" => "error",
        _ => "fail",
    }
}

fn summary_table(out: &mut String, runs: &[SuiteRun]) {
    let passed = runs.iter().filter(|r| r.passed()).count();
    let _ = write!(
        out,
        "<section id=\"summary\"><h2>Summary: {passed} of {} runs passed</h2>\n<table>\
         <tr><th>lab</th><th>implementation</th><th>checks</th><th>result</th><th>time</th></tr>\n",
        runs.len()
    );
    for r in runs {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{id}\">{lab}</a></td><td>{imp}</td><td class=\"num\">{checks}</td>\
             <td class=\"{class}\">{verdict}</td><td class=\"num\">{secs:.2} s</td></tr>",
            id = anchor(&r.lab, r.imp.as_str()),
            lab = esc(&r.lab),
            imp = esc(r.imp.as_str()),
            checks = esc(&r.checks()),
            class = verdict_class(r.verdict()),
            verdict = esc(r.verdict()),
            secs = r.elapsed.as_secs_f64(),
        );
    }
    out.push_str("</table></section>\n");
}

/// A run's section; `pinned`: for a suite's run of a lab of one's own, its
/// comparison with the pinned annotated output (differs, and what to say).
fn run_section(out: &mut String, report: &Report, pinned: Option<(bool, String)>) {
    let (passed, total) = report.checks_passed();
    let nothing = report.verdict() == crate::drive::report::Verdict::NothingToCheck;
    let differs = pinned.as_ref().is_some_and(|(d, _)| *d);
    let verdict = match report.verdict() {
        crate::drive::report::Verdict::Fail => "fail",
        _ if differs => "fail",
        crate::drive::report::Verdict::Pass => "pass",
        crate::drive::report::Verdict::NothingToCheck => "skip",
    };
    let mut held = if nothing {
        format!(
            "nothing to check on this machine: {}",
            esc(&report.ruled_out_by().join("; "))
        )
    } else {
        format!("{passed} of {total} checks held")
    };
    if differs {
        held += "; DIFFERS from the pinned output";
    }
    let _ = write!(
        out,
        "<section class=\"run\" id=\"{id}\">\n<h2>{lab} · {imp} \
         <span class=\"verdict {verdict}\">{held}</span></h2>\n\
         <p class=\"meta\">{source}, {how}</p>\n\
         <p class=\"meta\">confined by {confinement}</p>\n",
        id = anchor(&report.lab, report.imp.as_str()),
        lab = esc(&report.lab),
        imp = esc(report.imp.as_str()),
        source = esc(&report.source_file),
        how = esc(&report.how),
        confinement = esc(&report.confinement),
    );
    if let Some((_, said)) = &pinned {
        let _ = writeln!(out, "<pre class=\"message\">{}</pre>", esc(said));
    }
    if !report.intro.is_empty() {
        paragraphs(out, &report.intro, "intro");
    }
    let _ = writeln!(
        out,
        "<figure class=\"timeline\">{}<figcaption>Virtual size and RSS of the demo at each step \
         (RSS drawn inside the virtual size).</figcaption></figure>",
        timeline_svg(report)
    );
    for (i, s) in report.steps.iter().enumerate() {
        step_article(out, report, i, s);
    }
    out.push_str("</section>\n");
}

fn paragraphs(out: &mut String, text: &str, class: &str) {
    let _ = write!(out, "<div class=\"{class}\">");
    for p in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let joined: Vec<&str> = p.split_whitespace().collect();
        let _ = write!(out, "<p>{}</p>", esc(&joined.join(" ")));
    }
    out.push_str("</div>\n");
}

fn step_article(out: &mut String, report: &Report, index: usize, s: &StepReport) {
    let _ = write!(
        out,
        "<article class=\"step\" id=\"{id}-step-{index}\">\n<h3>Step {index}{of}: {title}</h3>\n",
        id = anchor(&report.lab, report.imp.as_str()),
        of =
            crate::views::render::total_steps(report).map_or(String::new(), |n| format!(" of {n}")),
        title = esc(&s.title),
    );
    if !s.source.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"caption\">the program just did ({}):</p><pre class=\"source\">{}</pre>",
            esc(&report.source_file),
            esc(&s.source.join("\n"))
        );
    }
    let _ = writeln!(out, "<p>demo says: <code>{}</code></p>", esc(&s.prompt));
    let view = StepView::of(report, index, Resolution::Page);
    let changes = &view.changes;
    match changes.totals {
        None => {
            let _ = writeln!(
                out,
                "<details><summary>all {} regions</summary>",
                s.snapshot.regions.len()
            );
            regions_table(out, &changes.rows);
            out.push_str("</details>\n");
        }
        Some(d) => {
            if changes.rows.iter().all(|r| r.landmark) {
                out.push_str("<p class=\"note\">no region changed</p>\n");
            } else {
                regions_table(out, &changes.rows);
            }
            let b = &s.snapshot.totals;
            let page_tables = match changes.page_tables {
                Some((kib, Some(moved))) => format!(
                    " Page tables (VmPTE, not in any region): {} ({}).",
                    size(kib),
                    signed_size(moved)
                ),
                Some((kib, None)) => format!(" Page tables (VmPTE): {}.", size(kib)),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "<p class=\"note\">{} other regions unchanged. Process total: \
                 virtual {} ({}), RSS {} ({}), Dirty {} ({}).{page_tables}</p>",
                changes.hidden,
                size(b.size_kib),
                signed_size(d.size),
                size(b.rss_kib),
                signed_size(d.rss),
                size(b.dirty_kib),
                signed_size(d.dirty),
            );
        }
    }
    out.push_str(&crate::views::picture::svg(report, index));
    if !view.processes.is_empty() {
        out.push_str("<table><tr><th>process</th><th>RSS</th><th>PSS</th><th>USS</th></tr>\n");
        for p in &view.processes {
            let cell = |v: u64, d: Option<i64>| match d {
                Some(d) => format!("{} ({})", size(v), signed_size(d)),
                None => format!("{} (new)", size(v)),
            };
            let d = p.delta;
            let _ = writeln!(
                out,
                "<tr><td>{who} {pid}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                cell(p.rss, d.map(|d| d.0)),
                cell(p.pss, d.map(|d| d.1)),
                cell(p.uss, d.map(|d| d.2)),
                who = p.who,
                pid = p.pid,
            );
        }
        if view.processes.len() == 1 {
            out.push_str("<tr><td colspan=\"4\">no child any more</td></tr>\n");
        }
        out.push_str("</table>\n");
    }
    if let Some(c) = &s.cache {
        let _ = writeln!(
            out,
            "<p class=\"note\">page cache of {}: {} (mincore)</p>",
            esc(&c.path.file_name().unwrap_or_default().to_string_lossy()),
            c.summary()
        );
    }
    if !s.checks.is_empty() {
        out.push_str(
            "<table class=\"checks\"><tr><th>result</th><th>check</th><th>expected</th>\
             <th>observed</th></tr>\n",
        );
        for c in &s.checks {
            let tolerance = c
                .tolerance
                .as_deref()
                .map(|t| format!("<br><span class=\"note\">tolerance: {}</span>", esc(t)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr><td class=\"{class}\">{mark}</td><td>{desc}{tolerance}</td>\
                 <td>{expected}</td><td>{observed}</td></tr>",
                class = match c.status {
                    Status::Pass => "pass",
                    Status::Fail => "fail",
                    Status::NotApplicable => "na",
                },
                mark = match c.status {
                    Status::Pass => "✓ pass",
                    Status::Fail => "✗ FAIL",
                    Status::NotApplicable => "– n/a",
                },
                desc = esc(&c.description),
                expected = esc(&c.expected),
                observed = esc(c.not_applicable.as_deref().unwrap_or(&c.observed)),
            );
        }
        out.push_str("</table>\n");
    }
    let why: Vec<String> = s
        .annotation
        .split("\n\n")
        .chain(s.note.as_deref())
        .map(|p| crate::views::render::fill(p, s, None))
        .collect();
    if why.iter().any(|p| !p.trim().is_empty()) {
        out.push_str("<h4>why</h4>");
        paragraphs(out, &why.join("\n\n"), "why");
    }
    out.push_str("</article>\n");
}

/// The regions table: one row per row of the step's model, its residency
/// map under it; a row of alike regions lists their addresses when opened.
fn regions_table(out: &mut String, rows: &[Row]) {
    out.push_str(
        "<table class=\"regions\"><tr><th></th><th>Address</th><th>Kbytes</th><th>RSS</th>\
         <th>Dirty</th><th>Mode</th><th>Mapping</th><th>Change</th></tr>\n",
    );
    for row in rows {
        let r = row.region;
        let change = if row.landmark {
            Change::Unchanged
        } else {
            row.change
        };
        let mut words = esc(&crate::views::render::row_words(row));
        if row.count() > 1 {
            let starts: Vec<String> = row
                .members
                .iter()
                .map(|m| format!("{:016x}", m.region().start))
                .collect();
            words += &format!(
                "<details><summary>the {} regions</summary><span class=\"mono\">{}</span></details>",
                row.count(),
                starts.join(" ")
            );
        }
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"mark\">{mark}</td><td class=\"mono\">{start:016x}</td>\
             <td class=\"num\">{size}</td><td class=\"num\">{rss}</td><td class=\"num\">{dirty}</td>\
             <td class=\"mono\">{mode}</td><td class=\"mono\">{label}</td><td>{words}</td></tr>",
            class = change.as_str(),
            mark = esc(&change.mark().to_string()),
            start = r.start,
            size = r.fields.size,
            rss = r.fields.rss,
            dirty = r.fields.dirty(),
            mode = esc(&mode(r)),
            label = esc(&r.label()),
        );
        if let Some(map) = row.residency {
            let _ = writeln!(
                out,
                "<tr class=\"map\"><td></td><td colspan=\"7\">{}<div class=\"caption\">{}</div></td></tr>",
                residency_svg(map),
                esc(&residency::caption(map, MAP_CELLS)),
            );
        }
    }
    out.push_str("</table>\n");
}

/// Cells of a residency map in the page: 3 px each on a 600 px strip.
const MAP_CELLS: usize = 200;

/// A region's residency map as an SVG strip: a cell's blue is as deep as
/// the share of its pages that are resident; swapped pages are orange.
pub fn residency_svg(map: &PageMap) -> String {
    let cells = map.cells(MAP_CELLS);
    let n = cells.len().max(1);
    let (w, h) = (600.0, 16.0);
    let cell_w = w / n as f64;
    let mut svg = format!(
        "<svg class=\"residency\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <title>{}</title><rect class=\"absent\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\"/>",
        esc(&format!(
            "{} of {} pages resident, {} swapped",
            map.count(PageState::Resident),
            map.pages(),
            map.count(PageState::Swapped)
        ))
    );
    // Adjacent cells of the same shade are drawn as one rectangle.
    let mut i = 0;
    while i < cells.len() {
        // Twenty shades; a cell with any resident (or swapped) page gets at
        // least the palest, so one page in a thousand still shows.
        let shade = |c: &pmap_view::pagemap::Cell| {
            let p = c.pages().max(1) as f64;
            let level = |n: u64| match n {
                0 => 0,
                n => ((n as f64 / p * 20.0).round() as u32).max(1),
            };
            (level(c.resident), level(c.swapped))
        };
        let (res, swp) = shade(&cells[i]);
        let run = cells[i..]
            .iter()
            .take_while(|c| shade(c) == (res, swp))
            .count();
        let x = i as f64 * cell_w;
        let width = run as f64 * cell_w;
        let fill = |class: &str, level: u32| {
            let opacity = (level as f64 / 20.0).max(0.25);
            format!(
                "<rect class=\"{class}\" x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"{h}\" fill-opacity=\"{opacity:.2}\"/>"
            )
        };
        if res > 0 {
            svg.push_str(&fill("resident", res));
        }
        if swp > 0 {
            svg.push_str(&fill("swapped", swp));
        }
        i += run;
    }
    svg.push_str("</svg>");
    svg
}

/// Virtual size and RSS at each step, as an SVG bar chart: one bar per step,
/// RSS drawn inside the virtual size, to one linear scale from 0.
pub fn timeline_svg(report: &Report) -> String {
    let totals: Vec<(u64, u64)> = report
        .steps
        .iter()
        .map(|s| (s.snapshot.totals.size_kib, s.snapshot.totals.rss_kib))
        .collect();
    let (w, h) = (720.0, 260.0);
    let (left, right, top, bottom) = (80.0, 20.0, 30.0, 54.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = nice_max(totals.iter().map(|&(v, r)| v.max(r)).max().unwrap_or(0));
    let y = |kib: u64| top + plot_h * (1.0 - kib as f64 / max as f64);
    let mut svg = format!(
        "<svg class=\"timeline\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <title>virtual size and RSS at each step of {} ({})</title>",
        esc(&report.lab),
        esc(report.imp.as_str())
    );
    for k in 0..=4 {
        let v = max / 4 * k;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - right,
            left - 6.0,
            yy + 4.0,
            esc(&axis_label(v))
        );
    }
    let band = plot_w / totals.len().max(1) as f64;
    for (i, (s, &(virt, rss))) in report.steps.iter().zip(&totals).enumerate() {
        let x = left + band * i as f64;
        let (vw, rw) = (band * 0.62, band * 0.34);
        let _ = write!(
            svg,
            "<g><title>step {i}: {title}: virtual {virt_s}, RSS {rss_s}</title>\
             <rect class=\"virt\" x=\"{vx:.1}\" y=\"{vy:.1}\" width=\"{vw:.1}\" height=\"{vh:.1}\"/>\
             <rect class=\"rss\" x=\"{rx:.1}\" y=\"{ry:.1}\" width=\"{rw:.1}\" height=\"{rh:.1}\"/>\
             <text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{virt_s}</text>\
             <text x=\"{cx:.1}\" y=\"{sy:.1}\" text-anchor=\"middle\">step {i}</text>\
             <text class=\"small\" x=\"{cx:.1}\" y=\"{ry2:.1}\" text-anchor=\"middle\">RSS {rss_s}</text></g>",
            title = esc(&s.title),
            virt_s = esc(&size(virt)),
            rss_s = esc(&size(rss)),
            vx = x + (band - vw) / 2.0,
            vy = y(virt),
            vh = y(0) - y(virt),
            rx = x + (band - rw) / 2.0,
            ry = y(rss),
            rh = y(0) - y(rss),
            cx = x + band / 2.0,
            ty = y(virt) - 5.0,
            sy = h - bottom + 18.0,
            ry2 = h - bottom + 34.0,
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{left}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\"/>\
         <rect class=\"virt\" x=\"{lx}\" y=\"8\" width=\"12\" height=\"12\"/>\
         <text x=\"{}\" y=\"18\">virtual size</text>\
         <rect class=\"rss\" x=\"{}\" y=\"8\" width=\"12\" height=\"12\"/>\
         <text x=\"{}\" y=\"18\">RSS</text></svg>",
        w - right,
        left + 16.0,
        left + 120.0,
        left + 136.0,
        y0 = y(0),
        lx = left,
    );
    svg
}

/// The top of a chart's scale: four gridlines at a round step (1, 2, 2.5 or
/// 5 times a power of ten of KiB or MiB; 256 or 512 MiB; whole GiB), the
/// lowest whose top holds the maximum.
fn nice_max(kib: u64) -> u64 {
    const MIB: u64 = 1024;
    const GIB: u64 = 1024 * 1024;
    let decades = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500];
    let steps = decades
        .iter()
        .copied()
        .chain(decades[..9].iter().map(|m| m * MIB))
        .chain([256 * MIB, 512 * MIB])
        .chain((0..8).flat_map(|e| [1, 2, 5].map(|m| m * 10u64.pow(e) * GIB)));
    steps
        .map(|step| step * 4)
        .find(|&top| top >= kib)
        .unwrap_or(kib)
}

/// A gridline's value: "20 MiB", "1.5 GiB", "250 KiB".
fn axis_label(kib: u64) -> String {
    const GIB: u64 = 1024 * 1024;
    if kib >= GIB {
        if kib % GIB == 0 {
            format!("{} GiB", kib / GIB)
        } else {
            format!("{:.1} GiB", kib as f64 / GIB as f64)
        }
    } else if kib == 0 {
        "0".to_string()
    } else if kib >= 1024 && kib % 1024 == 0 {
        format!("{} MiB", kib / 1024)
    } else {
        size(kib)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(anchor("a b", "c\"d"), "a-b-c-d");
    }

    #[test]
    fn the_scale_is_round_and_holds_the_maximum() {
        assert_eq!(nice_max(0), 4);
        assert_eq!(nice_max(66_156), 80 * 1024); // 64.6 MiB under 80 MiB: 20 MiB per line
        assert_eq!(nice_max(4 * 1024), 4 * 1024);
        assert_eq!(nice_max(300), 400);
        assert_eq!(nice_max(1_800_000), 2 * 1024 * 1024); // 1.72 GiB: 512 MiB per line
        for kib in [1, 1000, 1025, 70_000, 1_800_000, 1 << 40] {
            assert!(nice_max(kib) >= kib);
        }
        assert_eq!(axis_label(512 * 1024), "512 MiB");
        assert_eq!(axis_label(3 * 512 * 1024), "1.5 GiB");
    }

    #[test]
    fn a_residency_strip_draws_resident_cells_only() {
        let mut map = PageMap {
            page_kib: 4,
            runs: Vec::new(),
        };
        map.push(PageState::Resident, 1);
        map.push(PageState::NotResident, 499);
        map.push(PageState::Resident, 100);
        let svg = residency_svg(&map);
        // 600 pages in 200 cells of 3: a first cell a third resident, 165
        // not resident, one a third resident, 33 resident: one rectangle per
        // run of a shade, none for the cells with no resident page.
        let rects: Vec<&str> = svg.split("<rect class=\"resident\"").skip(1).collect();
        assert_eq!(rects.len(), 3, "{svg}");
        assert!(
            rects[0].contains("x=\"0.0\" y=\"0\" width=\"3.0\""),
            "{svg}"
        );
        assert!(rects[2].contains("width=\"99.0\""), "{svg}");
        assert!(rects[2].contains("fill-opacity=\"1.00\""), "{svg}");
        assert!(svg.contains("101 of 600 pages resident, 0 swapped"));
        assert!(svg.ends_with("</svg>"));
    }
}
