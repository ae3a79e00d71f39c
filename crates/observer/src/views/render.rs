//! Text renderings of a lab run: the live terminal view of each step, and the
//! normalised "annotated expected output" kept under `labs/<lab>/`.
//!
//! The terminal view shows raw numbers and addresses; the normalised view has
//! no addresses, PIDs or timings, and rounds sizes to whole MiB and hides
//! changes under 1 MiB, so that it reads the same on every run on this kind of
//! machine. Renderers return strings; the CLI decides where they go.

use std::fmt::Write as _;

use pmap_view::region::escape_controls;
use pmap_view::render::{x_row, x_total, X_HEADER, X_RULE};
use pmap_view::{Change, RegionChange};

use crate::drive::report::{Report, StepReport};
use crate::drive::suite::{Outcome, SuiteRun};
use crate::measure::residency::{self, Detail};
use crate::spec::check::{CheckResult, Status};
use crate::spec::lab::Lab;
use crate::views::step::{Changes, Delta, Process, Resolution, Row, StepView};

const LEGEND: &str =
    "In the tables: + appeared, - vanished, > grew, < shrank, ~ changed (RSS, Dirty…), \
     / split off a larger region, \\ merged into a neighbour; xN: N alike regions. \
     Mode is pmap's: r, w, x, then s for shared (/proc's rw-p is rw--- here, rw-s is \
     rw-s-, ---p is -----); `lab glossary mode` says more.";

/// The cells of a residency map in the normalised view: fixed, so that the
/// map reads the same whatever the terminal.
const NORMALISED_MAP_CELLS: usize = 32;

/// How many residency maps a step shows at most in the live view (the
/// threads lab changes a hundred stacks at once; the JSON has them all).
const LIVE_MAPS: usize = 8;

/// How to render.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// ANSI colours (only when writing to a terminal).
    pub color: bool,
    /// The terminal's width in columns: residency maps and the timeline fit in it.
    pub width: usize,
    /// Every region of a group of alike ones on its own row (`e` at a pause).
    pub expand: bool,
    /// When the step shows the picture of the address space under its table.
    pub picture: crate::views::picture::When,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 80,
            expand: false,
            picture: crate::views::picture::When::default(),
        }
    }
}

/// The width of the terminal on stdout (`COLUMNS` when it says, else the
/// terminal's own size), None when stdout is not a terminal.
pub fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(n);
    }
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col as usize)
}

impl Style {
    /// The width prose is wrapped to in the live view: the terminal's, at
    /// most 80 columns (longer lines are hard to read).
    pub fn prose_width(&self) -> usize {
        self.width.clamp(20, 80)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn good(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn bad(&self, t: &str) -> String {
        self.paint("31", t)
    }
}

/// The lines before step 0: which lab, which implementation, what it is about.
pub fn intro(lab: &Lab, report: &Report, style: Style) -> String {
    let mut out = String::new();
    let w = style.prose_width();
    let _ = writeln!(
        out,
        "{}",
        style.bold(&wrap_hanging(
            &format!(
                "pmap lab: {} ({} implementation, {})",
                lab.name(),
                report.imp,
                report.source_file
            ),
            "",
            "  ",
            w
        ))
    );
    let _ = writeln!(
        out,
        "{}",
        wrap_hanging(
            &format!("demo pid {}, {}", report.pid, report.how),
            "",
            "  ",
            w
        )
    );
    let _ = writeln!(
        out,
        "{}",
        wrap_hanging(&format!("confined by {}", report.confinement), "", "  ", w)
    );
    let facts = report.facts.describe(&lab.spec.machine);
    if !facts.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            wrap_hanging(&format!("this machine: {facts}"), "", "  ", w)
        );
    }
    if !report.cleared_env.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&wrap_to(
                &format!(
                    "The demo runs without {} (allocator settings change what the lab shows; \
                     --keep-alloc-env keeps them).",
                    report.cleared_env.join(" ")
                ),
                "",
                w
            ))
        );
    }
    let _ = writeln!(out, "\n{}", wrap_to(lab.spec.intro.trim(), "", w));
    let _ = writeln!(out, "\n{}", style.dim(&wrap_to(LEGEND, "", w)));
    let _ = writeln!(
        out,
        "{}",
        style.dim(&wrap_to(
            &format!(
                "Under a region that changed, its pages from low to high addresses: {}.",
                residency::legend(Detail::Exact)
            ),
            "",
            w
        ))
    );
    out
}

/// The live view of the last captured step of `report`.
///
/// It fits `style.width` columns (from 60 up): prose is wrapped between
/// words; a region's changes stand in a column beside the rows when the
/// widest row and its words fit, else under each row, broken between
/// clauses; a name that does not fit ends in `…`.
pub fn step(report: &Report, index: usize, style: Style) -> String {
    let s = &report.steps[index];
    let width = style.width.max(20);
    let mut out = String::from("\n");
    title(&mut out, report, s, style, Some(width));
    // What the demo printed: text, never a terminal command.
    let said = wrap_hanging(
        &escape_controls(&s.prompt),
        "demo says: ",
        "  ",
        style.prose_width(),
    );
    let said = said.strip_prefix("demo says:").unwrap_or(&said);
    let _ = writeln!(out, "{}{said}", style.dim("demo says:"));
    let _ = writeln!(out);
    let view = StepView::of(report, index, Resolution::Page);
    out.push_str(&table(&view.changes, &s.snapshot.totals, style));
    processes(&mut out, &view.processes, None, width);
    if let Some(c) = &s.cache {
        let name = c.path.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(
            out,
            "\n{}",
            wrap_hanging(
                &format!("page cache of {name}: {} (mincore)", c.summary()),
                "  ",
                "    ",
                width
            )
        );
    }
    if crate::views::picture::shown(report, index, style.picture) {
        out.push_str(&crate::views::picture::text(
            report,
            index,
            style.color,
            width,
        ));
    }
    checks(&mut out, &s.checks, style, None);
    why(&mut out, s, None, Some(style.prose_width()));
    out
}

/// The rows of a step (or of `lab diff`) as the live view shows them, with
/// the total under them. Fits `style.width` columns: a region's change words
/// stand in a column beside the rows when the widest row and its words fit,
/// else under each row, broken between clauses; a name that does not fit
/// ends in `…`.
pub fn table(changes: &Changes, totals: &pmap_view::Totals, style: Style) -> String {
    let mut out = String::new();
    let width = style.width.max(20);
    let compared = changes.totals.is_some();
    // The lines of the table, with their words, before choosing the layout.
    struct Line<'a> {
        text: String,
        words: String,
        change: Change,
        map: Option<&'a pmap_view::PageMap>,
    }
    let mut lines: Vec<Line> = Vec::new();
    for row in &changes.rows {
        if style.expand && row.count() > 1 {
            for m in &row.members {
                let r = m.region();
                lines.push(Line {
                    text: format!("{} {}", m.change.mark(), x_row(r)),
                    words: change_words(m),
                    change: row.change,
                    map: None,
                });
            }
            continue;
        }
        lines.push(Line {
            text: format!("{} {}", row.change.mark(), x_row(row.region)),
            words: row_words(row),
            change: if row.landmark {
                Change::Unchanged
            } else {
                row.change
            },
            map: row.residency,
        });
    }
    let totals_words = changes.totals.map(|d| deltas(d.size, d.rss, d.dirty));
    // The Change column: at column 69 (after the 66 of a row), when every
    // row and its words fit there.
    let beside = compared
        && lines
            .iter()
            .map(|r| (r.text.chars().count().max(68), r.words.chars().count()))
            .chain(totals_words.iter().map(|w| (70, w.chars().count())))
            .all(|(row, words)| words == 0 || row + 1 + words <= width);
    let header = format!("  {X_HEADER:<68} {}", if beside { "Change" } else { "" });
    let _ = writeln!(out, "{}", header.trim_end());
    // The maps of the rows whose RSS (then size) moved most, at most LIVE_MAPS.
    let mut ranked: Vec<(usize, i64, i64)> = changes
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.residency.is_some() && compared)
        .map(|(i, r)| (i, r.delta.rss.abs(), r.delta.size.abs()))
        .collect();
    ranked.sort_by_key(|&(_, rss, size)| std::cmp::Reverse((rss, size)));
    let drawn: Vec<&pmap_view::PageMap> = ranked
        .iter()
        .take(LIVE_MAPS)
        .filter_map(|&(i, ..)| changes.rows[i].residency)
        .collect();
    for line in &lines {
        let mut texts = Vec::new();
        if beside {
            texts.push(
                format!("{:<68} {}", line.text, line.words)
                    .trim_end()
                    .to_string(),
            );
        } else {
            texts.push(fit(&line.text, width));
            if !line.words.is_empty() {
                texts.extend(
                    clauses(&line.words, "    ", "      ", width)
                        .lines()
                        .map(String::from),
                );
            }
        }
        for text in texts {
            let text = match line.change {
                Change::Unchanged if !compared => text,
                Change::Unchanged => style.dim(&text),
                Change::Appeared | Change::Grew => style.good(&text),
                Change::Vanished | Change::Shrank => style.bad(&text),
                Change::Changed | Change::Split | Change::Merged => style.bold(&text),
            };
            let _ = writeln!(out, "{text}");
        }
        if let Some(map) = line
            .map
            .filter(|m| drawn.iter().any(|d| std::ptr::eq(*d, *m)))
        {
            live_map(&mut out, map, style);
        }
    }
    if compared {
        let mut notes = Vec::new();
        let unmapped = ranked.len() - drawn.len();
        if unmapped > 0 {
            notes.push(format!(
                "… and the residency maps of {unmapped} more changed regions (--json has them all)"
            ));
        }
        if changes.rows.iter().any(|r| r.count() > 1) && !style.expand {
            notes.push("xN: N alike regions on one row (e at a pause shows each)".to_string());
        }
        if changes.hidden > 0 {
            notes.push(format!(
                "… {} other regions unchanged (or only their shared pages' PSS moved)",
                changes.hidden
            ));
        }
        for note in notes {
            let _ = writeln!(
                out,
                "{}",
                style.dim(&wrap_hanging(&note, "  ", "    ", width))
            );
        }
    }
    let _ = writeln!(out, "  {X_RULE}");
    let total = format!("  {}", x_total(totals));
    match &totals_words {
        Some(words) if beside => {
            let _ = writeln!(out, "{}", format!("{total:<70} {words}").trim_end());
        }
        Some(words) => {
            let _ = writeln!(out, "{}", fit(&total, width));
            let _ = writeln!(out, "{}", clauses(words, "    ", "      ", width));
        }
        None => {
            let _ = writeln!(out, "{}", fit(&total, width));
        }
    }
    if let Some((kib, moved)) = changes.page_tables {
        let moved = moved.map_or(String::new(), |d| format!(" ({})", signed_kib(d)));
        let line = format!(
            "page tables: {kib} K{moved}, not in the table: the kernel's memory for \
             mapping these pages (VmPTE)"
        );
        let _ = writeln!(
            out,
            "{}",
            style.dim(&wrap_hanging(&line, "  ", "    ", width))
        );
    }
    out
}

/// `line` cut to `width` columns, its end replaced by `…` when cut (the
/// mapping name is the last field of a row).
fn fit(line: &str, width: usize) -> String {
    if line.chars().count() <= width {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Change words (`changed virt 0 K, RSS +4 K, Dirty +4 K`) wrapped to `width`
/// between their clauses, never inside one (unless a clause alone is wider).
fn clauses(words: &str, first: &str, rest: &str, width: usize) -> String {
    let parts: Vec<String> = words
        .split(", ")
        .enumerate()
        .map(|(i, p)| {
            let comma = if i + 1 < words.split(", ").count() {
                ","
            } else {
                ""
            };
            format!("{p}{comma}")
        })
        .collect();
    let mut out = String::new();
    let mut line = String::from(first);
    let mut empty = true;
    for part in parts {
        if !empty && line.chars().count() + 1 + part.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        if empty && first.len() + part.chars().count() > width {
            // One clause wider than the line: break it between words.
            let prefix = line.clone();
            line = wrap_hanging(&part, &prefix, rest, width);
        } else {
            line.push_str(&part);
        }
        empty = false;
    }
    out.push_str(&line);
    out
}

/// The normalised annotated report of a whole run (the `labs/<lab>/` files).
pub fn annotated(lab: &Lab, report: &Report) -> String {
    let style = Style::default();
    // Whole MiB by default: the program's code faults in 64 KiB at a time
    // (fault-around), which moves RSS by a tenth of a MiB from run to run.
    let resolution = lab
        .spec
        .snapshot_resolution
        .as_deref()
        .and_then(|r| crate::spec::check::size_expr(r, &report.facts).ok())
        .or(Some(1024));
    let mib = |kib: i64, signed: bool| rounded(kib, signed, resolution);
    // The virtual size a step adds or removes is what the program asked for
    // (10 MiB and a header page: 10244 KiB) on every machine, so it is
    // shown exactly; unless the lab rounds sizes coarser (a Python's
    // allocator reserves differently from version to version).
    let exact_virt = lab.spec.snapshot_resolution.is_none();
    let virt = |kib: i64| {
        if exact_virt {
            signed_kib(kib)
        } else {
            mib(kib, true)
        }
    };
    let rounded_deltas = |size: i64, rss: i64, dirty: i64| {
        format!(
            "virt {}, RSS {}, Dirty {}",
            virt(size),
            mib(rss, true),
            mib(dirty, true)
        )
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "pmap lab: {} ({} implementation, {})",
        lab.name(),
        report.imp,
        report.source_file
    );
    let pinned = report.facts.describe(&lab.spec.machine);
    if !pinned.is_empty() {
        let _ = writeln!(out, "pinned for: {pinned}");
    }
    let _ = writeln!(out, "\n{}", wrap(lab.spec.intro.trim(), ""));
    // How to read the file is docs/reading-annotated-outputs.md, once for
    // every lab (issue 20): here only what differs between labs, the
    // rounding, in one line.
    let step = mib(resolution.unwrap_or(1024), false);
    let step = step.trim_start_matches('≈');
    let virtual_too = if exact_virt { "" } else { ", virtual too" };
    let _ = writeln!(
        out,
        "\n{}",
        wrap(
            &format!(
                "How to read: docs/reading-annotated-outputs.md (rounding: {step}{virtual_too})."
            ),
            ""
        )
    );
    let res = resolution.unwrap_or(1024);
    let views: Vec<StepView> = (0..report.steps.len())
        .map(|i| StepView::of(report, i, Resolution::Rounded(res)))
        .collect();
    // The Mapping column fits the longest name of the run ("zero (deleted)").
    let pid = report.pid.to_string();
    let name_width = views
        .iter()
        .skip(1)
        .flat_map(|v| &v.changes.rows)
        .map(|row| row.region.label().replace(&pid, "PID").chars().count())
        .max()
        .unwrap_or(0)
        .max(10);
    for (index, s) in report.steps.iter().enumerate() {
        let _ = writeln!(out);
        title(&mut out, report, s, style, None);
        let pid = report.pid.to_string();
        let _ = writeln!(
            out,
            "demo says: {}",
            normalise_text(&s.prompt).replace(&pid, "PID")
        );
        let view = &views[index];
        if let Some(totals) = view.changes.totals {
            let _ = writeln!(
                out,
                "\n  {:<name_width$} {:<5} {:>10} {:>10} {:>10}  Change",
                "Mapping", "Mode", "Kbytes", "RSS", "Dirty"
            );
            if view.changes.rows.is_empty() {
                let _ = writeln!(out, "  (no region changed by {} KiB or more)", res / 2);
            }
            for row in &view.changes.rows {
                let r = row.region;
                let f = &r.fields;
                let (d, word) = (row.delta, row.change.as_str());
                let mut line = format!(
                    "{} {:<name_width$} {:<5} {:>10} {:>10} {:>10}  ",
                    row.change.mark(),
                    r.label().replace(&pid, "PID"),
                    pmap_view::render::mode(r),
                    // A new (or gone) region's whole size is its request.
                    // (As the virtual size moved: a block that merged
                    // with the few TLS pages beside it shows its own size.)
                    if exact_virt && matches!(row.change, Change::Appeared | Change::Vanished) {
                        format!("{} K", d.size.abs())
                    } else {
                        mib(f.size as i64, false)
                    },
                    mib(f.rss as i64, false),
                    mib(f.dirty() as i64, false),
                );
                match row.change {
                    Change::Split => line += "split off a larger region (no new memory)",
                    Change::Merged => line += "merged into a neighbour (still mapped there)",
                    _ => {
                        line += &format!("{word} {}", rounded_deltas(d.size, d.rss, d.dirty));
                        if row.pss_shown {
                            line += &format!(", PSS {}", mib(d.pss, true));
                        }
                    }
                }
                if row.count() > 1 {
                    line += &format!("  (x{})", row.count());
                }
                let _ = writeln!(out, "{line}");
                // Huge pages depend on the THP mode: pinned only by labs
                // whose outputs are named by it.
                if f.anon_huge_pages > 0 && lab.spec.machine.iter().any(|m| m == "thp") {
                    let _ = writeln!(
                        out,
                        "  AnonHugePages {}",
                        mib(f.anon_huge_pages as i64, false)
                    );
                }
                // No cell finer than the lab's resolution: which pages of a
                // small region are resident is incidental (what a kept arena
                // last held), and a map of fewer than 4 cells says nothing.
                let cells = (f.size as i64 / res.max(1)).min(NORMALISED_MAP_CELLS as i64) as usize;
                if let Some(map) = row.residency.filter(|_| cells >= 4) {
                    let _ = writeln!(out, "    {}", residency::bar(map, cells, Detail::Majority));
                }
            }
            // The total counts everything, incidental moves too: rounded.
            let _ = writeln!(
                out,
                "  process total: virt {}, RSS {}, Dirty {}",
                mib(totals.size, true),
                mib(totals.rss, true),
                mib(totals.dirty, true)
            );
            processes(&mut out, &view.processes, Some(res), 80);
        }
        if let Some(c) = &s.cache {
            // Rounded like every size here: a few pages a reclaimer took
            // must not change the pinned text (the checks count them).
            let (r, t) = (c.resident_kib as i64, c.size_kib as i64);
            let _ = writeln!(
                out,
                "  page cache of the file: {} of {} resident",
                mib(r, false),
                mib(t, false)
            );
        }
        checks(&mut out, &s.checks, style, Some(resolution));
        why(&mut out, s, resolution, None);
    }
    let (passed, total) = report.checks_passed();
    if report.verdict() == crate::drive::report::Verdict::NothingToCheck {
        let _ = writeln!(
            out,
            "\nNothing to check on this machine: {}.",
            report.ruled_out_by().join("; ")
        );
    } else {
        let _ = writeln!(out, "\n{passed} of {total} checks held.");
    }
    out
}

/// A residency map under its row: the bar, and its caption beside it when
/// both fit in the terminal, else below.
fn live_map(out: &mut String, map: &pmap_view::PageMap, style: Style) {
    const INDENT: &str = "    ";
    let width = style.width.clamp(40, 200) - INDENT.len();
    let bar = residency::bar(map, width, Detail::Exact);
    let plain = residency::caption(map, width);
    if bar.chars().count() + 2 + plain.chars().count() <= width {
        let _ = writeln!(out, "{INDENT}{bar}  {}", style.dim(&plain));
    } else {
        // "N of M pages resident" and "(1 cell = …)" on lines of their own.
        let plain = if INDENT.len() + plain.chars().count() <= style.width {
            plain
        } else {
            plain.replacen(" (", "\n\n(", 1)
        };
        let caption =
            wrap_to(&plain, INDENT, style.width.max(INDENT.len() + 20)).replace("\n\n", "\n");
        let _ = writeln!(out, "{INDENT}{bar}\n{}", style.dim(&caption));
    }
}

/// Virtual size and RSS at every step of a run, as a text bar chart: one
/// line per step, RSS drawn inside the virtual size, to one linear scale.
pub fn timeline(report: &Report, style: Style) -> String {
    let totals: Vec<(u64, u64)> = report
        .steps
        .iter()
        .map(|s| (s.snapshot.totals.size_kib, s.snapshot.totals.rss_kib))
        .collect();
    let max = totals
        .iter()
        .map(|&(v, r)| v.max(r))
        .max()
        .unwrap_or(0)
        .max(1);
    // "  12 " + bar + "  virt 1234.5 MiB  RSS 1234.5 MiB"
    let numbers = 34;
    let cells = style
        .width
        .clamp(40, 200)
        .saturating_sub(5 + numbers)
        .min(72);
    let per_cell = max as f64 / cells as f64;
    let scaled = |kib: u64| -> usize {
        let n = (kib as f64 / per_cell).round() as usize;
        if kib > 0 {
            n.max(1) // a nonzero amount stays visible
        } else {
            0
        }
    };
    let mut out = format!(
        "\n{}\n",
        style.bold(&wrap_to(
            &format!(
                "Timeline: virtual size (░) and RSS (█) at each step, 1 cell = {}",
                pmap_view::render::size(per_cell.round() as u64)
            ),
            "",
            style.prose_width()
        ))
    );
    for (s, &(virt, rss)) in report.steps.iter().zip(&totals) {
        let (v, r) = (scaled(virt), scaled(rss).min(scaled(virt).max(1)));
        let bar = format!("{}{}", "█".repeat(r), "░".repeat(v.saturating_sub(r)));
        let _ = writeln!(
            out,
            "  {:>2} {}{}  virt {:>10}  RSS {:>10}",
            s.index,
            style.good(&bar),
            " ".repeat(cells.saturating_sub(v.max(r))),
            pmap_view::render::size(virt),
            pmap_view::render::size(rss)
        );
    }
    out
}

/// One line for the end of a run: "9 of 9 checks held" in green, or which failed.
pub fn summary(report: &Report, style: Style) -> String {
    let (passed, total) = report.checks_passed();
    let line = format!(
        "{} lab, {} implementation: {passed} of {total} checks held",
        report.lab, report.imp
    );
    let w = style.prose_width();
    if report.verdict() == crate::drive::report::Verdict::NothingToCheck {
        style.dim(&wrap_to(
            &format!(
                "{} lab, {} implementation: nothing to check on this machine: {}",
                report.lab,
                report.imp,
                report.ruled_out_by().join("; ")
            ),
            "",
            w,
        ))
    } else if passed == total {
        style.good(&wrap_to(&line, "", w))
    } else {
        style.bad(&wrap_to(
            &format!("{line}; {} failed", total - passed),
            "",
            w,
        ))
    }
}

/// The step's rule and the source lines it ran. `width`: the live view's
/// (the rule is cut to it and a long title wrapped, never the rule; long
/// source lines go on, indented, under themselves); None for the annotated
/// outputs, which keep their fixed 72-column rule.
fn title(out: &mut String, report: &Report, s: &StepReport, style: Style, width: Option<usize>) {
    let of = total_steps(report).map_or(String::new(), |n| format!(" of {n}"));
    let head = format!("━━ Step {}{of}: {} ", s.index, s.title);
    match width {
        None => {
            let _ = writeln!(out, "{}", style.bold(&format!("{head:━<72}")));
        }
        Some(width) => {
            let rule = width.min(72);
            // The last line of the title keeps at least "━━" after it.
            let lines = wrap_hanging(head.trim_end(), "", "   ", rule.saturating_sub(3));
            let mut lines: Vec<String> = lines.lines().map(String::from).collect();
            if let Some(last) = lines.last_mut() {
                last.push(' ');
                let fill = rule.saturating_sub(last.chars().count());
                last.push_str(&"━".repeat(fill));
            }
            let _ = writeln!(out, "{}", style.bold(&lines.join("\n")));
        }
    }
    if !s.source.is_empty() {
        let did = format!("the program just did ({}):", report.source_file);
        let did = match width {
            Some(w) => wrap_hanging(&did, "", "  ", w.min(80)),
            None => did,
        };
        let _ = writeln!(out, "{}", style.dim(&did));
        for line in &s.source {
            // The demo's file may hold any character (a lab from --labs).
            let whole = format!("    {}", escape_controls(line));
            match width {
                Some(w) if whole.chars().count() > w => {
                    let indent = whole.len() - whole.trim_start().len();
                    let first = &whole[..indent];
                    let rest = format!("{first}    ");
                    let _ = writeln!(out, "{}", wrap_hanging(whole.trim_start(), first, &rest, w));
                }
                _ => {
                    let _ = writeln!(out, "{whole}");
                }
            }
        }
    }
}

/// The number of the last step, from the lab data.
pub(crate) fn total_steps(report: &Report) -> Option<usize> {
    report.last_step
}

/// `normalised`: round observed sizes (to the given resolution, or 1 MiB).
fn checks(out: &mut String, checks: &[CheckResult], style: Style, normalised: Option<Option<i64>>) {
    if checks.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nchecks:");
    for c in checks {
        let mark = match c.status {
            Status::Pass => style.good("✓ pass"),
            Status::Fail => style.bad("✗ FAIL"),
            Status::NotApplicable => style.dim("– n/a "),
        };
        // The live view (not normalised) fits the terminal; the annotated
        // outputs keep their fixed layout.
        let live = normalised.is_none().then_some(style.width.max(20));
        let indented = |text: &str| match live {
            Some(w) => wrap_to(text, "          ", w),
            None => wrap(text, "          "),
        };
        match live {
            Some(w) => {
                let plain = wrap_hanging(&c.description, "  ✓ pass  ", "          ", w);
                let _ = writeln!(out, "  {mark}  {}", &plain["  ✓ pass  ".len()..]);
            }
            None => {
                let _ = writeln!(out, "  {mark}  {}", c.description);
            }
        }
        if let Some(why) = &c.not_applicable {
            let _ = writeln!(out, "{}", indented(&format!("not applicable: {why}")));
            continue;
        }
        // The annotated outputs pin the rule and, for a check that held, no
        // number of this machine's; a failure shows what was seen.
        let line = match (normalised, c.passed) {
            (Some(_), true) => format!("expected {}; held", c.rule),
            (Some(resolution), false) => format!(
                "expected {}; observed {}",
                c.rule,
                match (c.is_size, c.observed_value) {
                    (true, Some(v)) => rounded(v, true, resolution),
                    _ => c.observed.clone(),
                }
            ),
            (None, _) => format!("expected {}; observed {}", c.expected, c.observed),
        };
        match live {
            Some(_) => {
                let _ = writeln!(out, "{}", indented(&line));
            }
            None => {
                let _ = writeln!(out, "          {line}");
            }
        }
        if let Some(t) = &c.tolerance {
            let _ = writeln!(out, "{}", indented(&format!("tolerance: {t}")));
        }
    }
}

/// The annotation, with `{SCOPE.FIELD}` placeholders filled in with this
/// step's numbers (rounded to `resolution` in the normalised view).
/// `width`: the live view's prose width; None: the annotated outputs' 80.
fn why(out: &mut String, s: &StepReport, resolution: Option<i64>, width: Option<usize>) {
    if s.annotation.is_empty() && s.note.is_none() {
        return;
    }
    let _ = writeln!(out, "\nwhy:");
    let paragraphs: Vec<String> = s
        .annotation
        .split("\n\n")
        .chain(s.note.as_deref())
        .map(|p| match width {
            Some(w) => wrap_to(&fill(p, s, resolution), "  ", w),
            None => wrap(&fill(p, s, resolution), "  "),
        })
        .collect();
    let _ = writeln!(out, "{}", paragraphs.join("\n\n"));
}

/// RSS, PSS and USS of the anonymous and shared memory of the demo and its
/// children (at the steps [`crate::views::step::processes`] gives them), each with its move since the
/// previous step. `resolution`: the annotated outputs show only the moves of
/// PSS and USS, rounded (a process's absolute totals count the program's and
/// the libraries' pages, which differ from machine to machine), and no pids.
fn processes(out: &mut String, procs: &[Process], resolution: Option<i64>, width: usize) {
    if procs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{}",
        wrap_hanging(
            "processes, their anonymous and shared memory (not the program's files):",
            "  ",
            "  ",
            width
        )
    );
    match resolution {
        None => live_processes(out, procs, width),
        Some(_) => {
            // RSS is left out: a child faults in the file pages of the
            // code it runs after fork (fork does not copy those page-table
            // entries), a few hundred KiB that vary from run to run; PSS and
            // USS are the lesson.
            let _ = writeln!(
                out,
                "  {:<12} {:>10} {:>10}  (since the previous step)",
                "process", "PSS", "USS"
            );
            let cell =
                |d: Option<i64>| d.map_or("new".to_string(), |d| rounded(d, true, resolution));
            for p in procs {
                let d = p.delta;
                let (pss, uss) = (cell(d.map(|d| d.1)), cell(d.map(|d| d.2)));
                let _ = writeln!(out, "  {:<12} {pss:>10} {uss:>10}", p.who);
            }
        }
    }
    if procs.len() == 1 {
        let _ = writeln!(out, "  (no child any more)");
    }
}

/// The live process table: columns when 77 fit, else a line of clauses per
/// process.
fn live_processes(out: &mut String, procs: &[Process], width: usize) {
    let cell = |v: u64, d: Option<i64>| match d {
        Some(d) => format!("{v} K ({})", signed_kib(d)),
        None => format!("{v} K (new)"),
    };
    let columns = width >= 77;
    if columns {
        let _ = writeln!(
            out,
            "  {:<12} {:>20} {:>20} {:>20}",
            "process", "RSS", "PSS", "USS"
        );
    }
    for p in procs {
        let d = p.delta;
        let name = format!("{} {}", p.who, p.pid);
        let (rss, pss, uss) = (
            cell(p.rss, d.map(|d| d.0)),
            cell(p.pss, d.map(|d| d.1)),
            cell(p.uss, d.map(|d| d.2)),
        );
        if columns {
            let _ = writeln!(out, "  {name:<12} {rss:>20} {pss:>20} {uss:>20}");
        } else {
            let words = format!("{name}: RSS {rss}, PSS {pss}, USS {uss}");
            let _ = writeln!(out, "{}", clauses(&words, "  ", "    ", width));
        }
    }
}

/// Replace `{heap.rss}`-style placeholders with values from the step's snapshot.
pub(crate) fn fill(text: &str, s: &StepReport, resolution: Option<i64>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        out.push_str(&rest[..open]);
        match crate::spec::check::value_on(name, &s.snapshot) {
            Some(v) if name.ends_with(".count") => out.push_str(&v.to_string()),
            Some(v) if resolution.is_some() => out.push_str(&rounded(v, false, resolution)),
            Some(v) => out.push_str(&format!("{v} KiB")),
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// The words of a row: "grew virt +10244 K, RSS +4 K, Dirty +4 K", after
/// "x100 alike, each" for a group. None for a landmark or at step 0.
pub(crate) fn row_words(row: &Row) -> String {
    if row.landmark || row.change == Change::Unchanged {
        return String::new();
    }
    let each = if row.count() > 1 {
        format!("x{} alike, each ", row.count())
    } else {
        String::new()
    };
    format!(
        "{each}{}",
        words(
            row.change,
            row.delta,
            row.pss_shown,
            row.part_of,
            row.region
        )
    )
}

/// The words of one region's change (a member of a group shown expanded).
fn change_words(c: &RegionChange) -> String {
    let d = Delta::of(c);
    let pss_shown = c.region().own_pss() && d.pss != d.rss;
    words(c.change, d, pss_shown, c.part_of, c.region())
}

fn words(
    change: Change,
    d: Delta,
    pss_shown: bool,
    part_of: Option<&pmap_view::Region>,
    r: &pmap_view::Region,
) -> String {
    let pss = if pss_shown {
        format!(", PSS {}", signed_kib(d.pss))
    } else {
        String::new()
    };
    let at = part_of.map_or(String::new(), |p| format!("{:#x}", p.start));
    let words = match change {
        Change::Unchanged => String::new(),
        // The counters of a piece that split off were its parent's: no new memory.
        Change::Split => format!(
            "split off the region at {at}, no new memory: virt {} K, RSS {} K, Dirty {} K",
            r.fields.size,
            r.fields.rss,
            r.fields.dirty()
        ),
        Change::Merged => format!("merged into the region at {at}, still mapped there"),
        _ => format!(
            "{} {}{pss}",
            change.as_str(),
            deltas(d.size, d.rss, d.dirty)
        ),
    };
    format!("{words}{}", huge_pages(r))
}

/// Transparent huge pages are shown only where there are some (THP mode decides).
fn huge_pages(r: &pmap_view::Region) -> String {
    match r.fields.anon_huge_pages {
        0 => String::new(),
        kib => format!(" (AnonHugePages {kib} K)"),
    }
}

fn signed_kib(v: i64) -> String {
    if v > 0 {
        format!("+{v} K")
    } else {
        format!("{v} K")
    }
}

fn deltas(size: i64, rss: i64, dirty: i64) -> String {
    format!(
        "virt {}, RSS {}, Dirty {}",
        signed_kib(size),
        signed_kib(rss),
        signed_kib(dirty)
    )
}

/// KiB rounded to `resolution` KiB (default: 1 MiB), so that
/// it reads the same on every run; amounts under half the resolution read `≈0 MiB`.
fn rounded(kib: i64, signed: bool, resolution: Option<i64>) -> String {
    let step = resolution.filter(|&r| r > 0).unwrap_or(1024);
    let n = (kib as f64 / step as f64).round() as i64 * step;
    if n == 0 {
        return "≈0 MiB".to_string();
    }
    let sign = if signed && n > 0 { "+" } else { "" };
    format!("≈{sign}{} MiB", n / 1024)
}

/// Remove what changes from run to run in a demo's words: pointers and pids.
fn normalise_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let n = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        out.push_str(if n > 0 { "0x…" } else { "0x" });
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// Wrap prose to `width` columns (characters, not bytes), every line after
/// `prefix`; paragraphs (blank-line separated) stay apart, and a word longer
/// than the line stands alone on its line rather than being cut.
pub fn wrap_to(text: &str, prefix: &str, width: usize) -> String {
    wrap_hanging(text, prefix, prefix, width)
}

/// As [`wrap_to`], with `first` before the first line and `rest` before the others.
pub fn wrap_hanging(text: &str, first: &str, rest: &str, width: usize) -> String {
    let cols = |s: &str| s.chars().count();
    let mut out = String::new();
    for para in text.split("\n\n") {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut prefix = if out.is_empty() { first } else { rest };
        let mut line = String::from(prefix);
        let mut empty = true;
        for word in glued(para) {
            let word = word.as_str();
            if !empty && cols(&line) + 1 + cols(word) > width {
                out.push_str(line.trim_end());
                out.push('\n');
                prefix = rest;
                line = String::from(prefix);
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(line.trim_end());
    }
    out
}

/// The words of `text`, a number kept with the unit after it (`1.1 MiB`,
/// `+4 K`): a line never ends between the two.
fn glued(text: &str) -> Vec<String> {
    const UNITS: [&str; 9] = [
        "K", "KiB", "MiB", "GiB", "kB", "pages", "page", "MiB)", "KiB)",
    ];
    let mut words: Vec<String> = Vec::new();
    let mut number = false;
    for word in text.split_whitespace() {
        let unit = UNITS.contains(&word.trim_end_matches([',', ';', '.', ':']));
        match words.last_mut() {
            Some(last) if number && unit => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
        number = !unit
            && word.chars().any(|c| c.is_ascii_digit())
            && word
                .trim_start_matches(['(', '+', '-', '≈'])
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    }
    words
}

/// Wrap prose to 80 columns with a prefix (annotations are written as
/// paragraphs). Counted in bytes: the annotated outputs were made so, and
/// must not change.
pub(crate) fn wrap(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    for para in text.split("\n\n") {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        let mut line = String::from(prefix);
        for word in para.split_whitespace() {
            if line.len() > prefix.len() && line.len() + 1 + word.len() > 80 {
                out.push_str(line.trim_end());
                out.push('\n');
                line = String::from(prefix);
            }
            if line.len() > prefix.len() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(line.trim_end());
    }
    out
}

/// The summary table, then the details of every failed check and error,
/// and the checks that do not apply here with the fact that decides it.
pub fn suite_table(runs: &[SuiteRun]) -> String {
    let w = runs.iter().map(|r| r.lab.len()).max().unwrap_or(0).max(10);
    let mut out = format!(
        "{}\n\n",
        wrap(
            &format!("machine: {}", crate::drive::suite::facts(runs).summary()),
            "  "
        )
        .trim_start()
    );
    out += &format!(
        "{:<w$} {:<8} {:>7} {:>4}  {:<6} {:>8}\n",
        "lab", "impl", "checks", "n/a", "result", "time"
    );
    for r in runs {
        out += &format!(
            "{:<w$} {:<8} {:>7} {:>4}  {:<6} {:>6.2} s\n",
            r.lab,
            r.imp.as_str(),
            r.checks(),
            r.not_applicable(),
            r.verdict(),
            r.elapsed.as_secs_f64()
        );
    }
    let cleared: std::collections::BTreeSet<&String> = runs
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Ran(report) => Some(&report.cleared_env),
            _ => None,
        })
        .flatten()
        .collect();
    if !cleared.is_empty() {
        out += &format!(
            "(the demos ran without {}: --keep-alloc-env keeps them)\n",
            cleared.into_iter().cloned().collect::<Vec<_>>().join(" ")
        );
    }
    let total: std::time::Duration = runs.iter().map(|r| r.elapsed).sum();
    let failed = runs.iter().filter(|r| r.fails_suite()).count();
    let skipped = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
        .count();
    let nothing = runs.iter().filter(|r| r.verdict() == "n/a").count();
    let differ = runs.iter().filter(|r| r.verdict() == "DIFFERS").count();
    out += &match (failed, skipped + nothing) {
        (0, 0) => format!(
            "all {} runs passed in {:.2} s\n",
            runs.len(),
            total.as_secs_f64()
        ),
        (0, _) => {
            let mut others = Vec::new();
            if skipped > 0 {
                others.push(format!("{skipped} skipped"));
            }
            if nothing > 0 {
                others.push(format!("{nothing} with nothing to check on this machine"));
            }
            format!(
                "{} runs passed, {} in {:.2} s\n",
                runs.len() - skipped - nothing,
                others.join(", "),
                total.as_secs_f64()
            )
        }
        (f, _) => format!(
            "{f} of {} runs did not pass{} ({:.2} s)\n",
            runs.len(),
            match differ {
                0 => String::new(),
                n if n == f => ": their annotated outputs differ from the pinned ones".to_string(),
                n => format!(" ({n} of them: the annotated output differs from the pinned one)"),
            },
            total.as_secs_f64()
        ),
    };
    for r in runs {
        if let Some(why) = r.ruled_out_by() {
            out += &match &r.outcome {
                // Says it whole: "nothing to check on this machine: …".
                Outcome::NotStarted(_) => format!("\n{} ({}): {why}\n", r.lab, r.imp),
                _ => format!(
                    "\n{} ({}): nothing to check on this machine: {why}\n",
                    r.lab, r.imp
                ),
            };
        }
    }
    for r in runs {
        let name = format!("{} ({})", r.lab, r.imp);
        match &r.outcome {
            Outcome::Ran(report) => {
                for s in &report.steps {
                    for c in s.checks.iter().filter(|c| c.status == Status::Fail) {
                        out += &format!(
                            "\n{name}, step {} ({}): {}\n  expected {}; observed {}\n",
                            s.index, s.title, c.description, c.expected, c.observed
                        );
                    }
                }
                // Checks that do not apply, counted by the fact that decides.
                let mut reasons: Vec<(&str, usize)> = Vec::new();
                for why in report
                    .steps
                    .iter()
                    .flat_map(|s| &s.checks)
                    .filter_map(|c| c.not_applicable.as_deref())
                {
                    match reasons.iter_mut().find(|(w, _)| *w == why) {
                        Some((_, n)) => *n += 1,
                        None => reasons.push((why, 1)),
                    }
                }
                for (why, n) in reasons {
                    let checks = if n == 1 { "check" } else { "checks" };
                    out += &format!("\n{name}: {n} {checks} not applicable: {why}\n");
                }
                if let Some(said) = r
                    .pinned
                    .as_ref()
                    .and_then(|p| p.message(&r.lab, r.imp.as_str()))
                {
                    out += &format!("\n{said}");
                    if !said.ends_with('\n') {
                        out.push('\n');
                    }
                }
            }
            Outcome::NotStarted(_) => {}
            Outcome::Skipped(why) => out += &format!("\n{name} skipped: {why}\n"),
            Outcome::Error(why) => out += &format!("\n{name}: {why}\n"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_normalised() {
        assert_eq!(normalise_text("a = 0x7f12ab: go"), "a = 0x…: go");
        assert_eq!(normalise_text("0x"), "0x");
    }

    #[test]
    fn live_wrapping_counts_columns_and_keeps_numbers_with_units() {
        let text = "█ 2564 of 15365 pages resident (1 cell = 275 pages, 1.1 MiB) ≈ ≈ ≈ ≈";
        for width in 16..40 {
            let w = wrap_to(text, "  ", width);
            assert!(
                w.lines().all(|l| l.chars().count() <= width),
                "{width}: {w}"
            );
            for unit in ["pages", "MiB)"] {
                assert!(
                    !w.lines().any(|l| l.trim_start().starts_with(unit)),
                    "{width}: {w}"
                );
            }
        }
        assert_eq!(wrap_hanging("a b c", "> ", "  ", 5), "> a b\n  c");
    }

    #[test]
    fn change_words_break_between_clauses() {
        let words = "changed virt 0 K, RSS +10240 K, Dirty +10240 K";
        assert_eq!(
            clauses(words, "    ", "      ", 35),
            "    changed virt 0 K, RSS +10240 K,\n      Dirty +10240 K"
        );
        assert_eq!(clauses(words, "    ", "      ", 80), format!("    {words}"));
    }

    #[test]
    fn a_row_too_wide_ends_in_an_ellipsis() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcd", 4), "abcd");
    }

    #[test]
    fn wrap_keeps_paragraphs_and_prefix() {
        let w = wrap(&"word ".repeat(30), "  ");
        assert!(w.lines().all(|l| l.len() <= 80 && l.starts_with("  ")));
        assert_eq!(wrap("a\n\nb", "> "), "> a\n\n> b");
    }
}
