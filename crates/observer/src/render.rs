//! Text renderings of a lab run: the live terminal view of each step, and the
//! normalised "annotated expected output" kept under `labs/<lab>/`.
//!
//! The terminal view shows raw numbers and addresses; the normalised view has
//! no addresses, PIDs or timings, and rounds sizes to whole MiB and hides
//! changes under 1 MiB, so that it reads the same on every run on this kind of
//! machine. Renderers return strings; the CLI decides where they go.

use std::fmt::Write as _;

use pmap_view::render::{x_row, x_total, X_HEADER, X_RULE};
use pmap_view::{diff, Change, Kind, RegionChange};

use crate::check::{CheckResult, Status};
use crate::lab::Lab;
use crate::report::{Report, StepReport};
use crate::residency::{self, Detail, RegionResidency};

const LEGEND: &str =
    "In the tables: + appeared, - vanished, > grew, < shrank, ~ changed (RSS, Dirty…). \
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
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 80,
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
    if !lab.spec.machine.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            wrap_hanging(
                &format!("this machine: {}", report.facts.describe(&lab.spec.machine)),
                "",
                "  ",
                w
            )
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
    let said = wrap_hanging(&s.prompt, "demo says: ", "  ", style.prose_width());
    let said = said.strip_prefix("demo says:").unwrap_or(&said);
    let _ = writeln!(out, "{}{said}", style.dim("demo says:"));
    let _ = writeln!(out);
    let previous = index.checked_sub(1).map(|i| &report.steps[i].snapshot);
    // The rows with their change words, before choosing the layout.
    struct Row<'a> {
        text: String,
        words: String,
        change: Change,
        region: &'a pmap_view::Region,
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut hidden = 0;
    let d = previous.map(|prev| diff(prev, &s.snapshot));
    match &d {
        None => {
            for r in &s.snapshot.regions {
                rows.push(Row {
                    text: format!("  {}", x_row(r)),
                    words: String::new(),
                    change: Change::Unchanged,
                    region: r,
                });
            }
        }
        Some(d) => {
            for c in &d.changes {
                let r = c.region();
                let context = matches!(r.kind, Kind::Heap | Kind::Stack);
                if (c.change == Change::Unchanged || pss_noise(c)) && !context {
                    hidden += 1;
                    continue;
                }
                rows.push(Row {
                    text: format!("{} {}", c.change.mark(), x_row(r)),
                    words: change_words(c),
                    change: c.change,
                    region: r,
                });
            }
        }
    }
    let totals_words = previous.map(|prev| {
        let (a, b) = (&prev.totals, &s.snapshot.totals);
        deltas(
            delta(a.size_kib, b.size_kib),
            delta(a.rss_kib, b.rss_kib),
            delta(a.dirty_kib, b.dirty_kib),
        )
    });
    // The Change column: at column 69 (after the 66 of a row), when every
    // row and its words fit there.
    let beside = previous.is_some()
        && rows
            .iter()
            .map(|r| (r.text.chars().count().max(68), r.words.chars().count()))
            .chain(totals_words.iter().map(|w| (70, w.chars().count())))
            .all(|(row, words)| words == 0 || row + 1 + words <= width);
    let header = format!("  {X_HEADER:<68} {}", if beside { "Change" } else { "" });
    let _ = writeln!(out, "{}", header.trim_end());
    let mapped = d.as_ref().map(|d| live_maps(s, d)).unwrap_or_default();
    for row in &rows {
        let mut lines = Vec::new();
        if beside {
            lines.push(
                format!("{:<68} {}", row.text, row.words)
                    .trim_end()
                    .to_string(),
            );
        } else {
            lines.push(fit(&row.text, width));
            if !row.words.is_empty() {
                lines.extend(
                    clauses(&row.words, "    ", "      ", width)
                        .lines()
                        .map(String::from),
                );
            }
        }
        for line in lines {
            let line = match row.change {
                Change::Unchanged if previous.is_none() => line,
                Change::Unchanged => style.dim(&line),
                Change::Appeared | Change::Grew => style.good(&line),
                Change::Vanished | Change::Shrank => style.bad(&line),
                Change::Changed => style.bold(&line),
            };
            let _ = writeln!(out, "{line}");
        }
        let r = row.region;
        if let Some(map) = mapped.iter().find(|m| m.start == r.start && m.end == r.end) {
            live_map(&mut out, &map.map, style);
        }
    }
    if let Some(d) = &d {
        let unmapped = d
            .changed()
            .filter(|c| residency::of(&s.residency, c.region()).is_some())
            .count()
            - mapped.len();
        let mut notes = Vec::new();
        if unmapped > 0 {
            notes.push(format!(
                "… and the residency maps of {unmapped} more changed regions (--json has them all)"
            ));
        }
        if hidden > 0 {
            notes.push(format!(
                "… {hidden} other regions unchanged (or with PSS moves under 1 MiB)"
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
    let total = format!("  {}", x_total(&s.snapshot.totals));
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
    processes(&mut out, report, index, None);
    if let Some(c) = &s.cache {
        let name = c.path.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(
            out,
            "\n{}",
            wrap_hanging(
                &format!(
                    "page cache of {name}: {} of {} KiB resident (mincore)",
                    c.resident_kib, c.size_kib
                ),
                "  ",
                "    ",
                width
            )
        );
    }
    checks(&mut out, &s.checks, style, None);
    why(&mut out, s, None, Some(style.prose_width()));
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
        .and_then(|r| crate::check::size_expr(r, &report.facts).ok())
        .or(Some(1024));
    let mib = |kib: i64, signed: bool| rounded(kib, signed, resolution);
    let rounded_deltas = |size: i64, rss: i64, dirty: i64| {
        format!(
            "virt {}, RSS {}, Dirty {}",
            mib(size, true),
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
    if !lab.spec.machine.is_empty() {
        let _ = writeln!(
            out,
            "pinned for: {}",
            report.facts.describe(&lab.spec.machine)
        );
    }
    let _ = writeln!(out, "\n{}", wrap(lab.spec.intro.trim(), ""));
    let _ = writeln!(
        out,
        "\n{}",
        wrap(
            &format!(
                "Under each region that changed, its pages from low to high addresses in \
                 at most {NORMALISED_MAP_CELLS} cells of {} or more: {}.",
                mib(resolution.unwrap_or(1024), false).trim_start_matches('≈'),
                residency::legend(Detail::Majority)
            ),
            ""
        )
    );
    for (index, s) in report.steps.iter().enumerate() {
        let _ = writeln!(out);
        title(&mut out, report, s, style, None);
        let pid = report.pid.to_string();
        let _ = writeln!(
            out,
            "demo says: {}",
            normalise_text(&s.prompt).replace(&pid, "PID")
        );
        if index > 0 {
            let prev = &report.steps[index - 1].snapshot;
            let d = diff(prev, &s.snapshot);
            let _ = writeln!(
                out,
                "\n  {:<10} {:<5} {:>10} {:>10} {:>10}  Change",
                "Mapping", "Mode", "Kbytes", "RSS", "Dirty"
            );
            // A row, and the residency map drawn under it.
            let mut rows: Vec<(String, Option<String>)> = Vec::new();
            let threshold = resolution.unwrap_or(1024) / 2;
            for c in d.changed().filter(|c| significant(c, threshold)) {
                // At the lab's resolution, an anonymous region that grew from
                // nothing appeared, and one that shrank to nothing vanished:
                // whether a new mapping merged into a few anonymous pages
                // beside it (the TLS block below libc: 3 pages with glibc
                // 2.36, 2 with 2.41, merged or not) is not the lesson. Named
                // regions ([heap]) keep their identity.
                let tiny = |r: Option<&pmap_view::Region>| {
                    r.is_some_and(|r| r.kind == Kind::Anon && (r.fields.size as i64) < threshold)
                };
                let (mark, word, r) = match c.change {
                    Change::Grew if tiny(c.before) => {
                        (Change::Appeared.mark(), "appeared", c.region())
                    }
                    Change::Shrank if tiny(c.after) => (
                        Change::Vanished.mark(),
                        "vanished",
                        c.before.unwrap_or(c.region()),
                    ),
                    _ => (c.change.mark(), c.change.as_str(), c.region()),
                };
                let f = &r.fields;
                let mut row = format!(
                    "{} {:<10} {:<5} {:>10} {:>10} {:>10}  {} {}",
                    mark,
                    r.label().replace(&pid, "PID"),
                    pmap_view::render::mode(r),
                    mib(f.size as i64, false),
                    mib(f.rss as i64, false),
                    mib(f.dirty() as i64, false),
                    word,
                    rounded_deltas(c.size_delta(), c.rss_delta(), c.dirty_delta()),
                );
                if !private_file(r) && (c.pss_delta() - c.rss_delta()).abs() >= 1024 {
                    row += &format!(", PSS {}", mib(c.pss_delta(), true));
                }
                // Huge pages depend on the THP mode: pinned only by labs
                // whose outputs are named by it.
                if r.fields.anon_huge_pages > 0 && lab.spec.machine.iter().any(|m| m == "thp") {
                    row += &format!(
                        "\n  AnonHugePages {}",
                        mib(r.fields.anon_huge_pages as i64, false)
                    );
                }
                // No cell finer than the lab's resolution: which pages of a
                // small region are resident is incidental (what a kept arena
                // last held), and a map of fewer than 4 cells says nothing.
                let cells = (f.size as i64 / resolution.unwrap_or(1024).max(1))
                    .min(NORMALISED_MAP_CELLS as i64) as usize;
                let map = residency::of(&s.residency, r)
                    .filter(|_| c.change != Change::Vanished && cells >= 4)
                    .map(|m| residency::bar(m, cells, Detail::Majority));
                rows.push((row, map));
            }
            if rows.is_empty() {
                let _ = writeln!(out, "  (no region changed by {threshold} KiB or more)");
            }
            // Runs of identical lines (100 thread stacks, say) read as one line with a count.
            let mut i = 0;
            while i < rows.len() {
                let run = rows[i..].iter().take_while(|r| **r == rows[i]).count();
                let times = if run > 1 {
                    format!("  (x{run})")
                } else {
                    String::new()
                };
                let (row, map) = &rows[i];
                let _ = writeln!(out, "{row}{times}");
                if let Some(map) = map {
                    let _ = writeln!(out, "    {map}");
                }
                i += run;
            }
            let (a, b) = (&prev.totals, &s.snapshot.totals);
            let _ = writeln!(
                out,
                "  process total: {}",
                rounded_deltas(
                    delta(a.size_kib, b.size_kib),
                    delta(a.rss_kib, b.rss_kib),
                    delta(a.dirty_kib, b.dirty_kib)
                )
            );
        }
        if let Some(c) = &s.cache {
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
    let _ = writeln!(out, "\n{passed} of {total} checks held.");
    out
}

/// The maps the live view draws: those of the regions whose RSS (then size)
/// moved most, at most [`LIVE_MAPS`].
fn live_maps<'a>(s: &'a StepReport, d: &pmap_view::Diff) -> Vec<&'a RegionResidency> {
    let mut ranked: Vec<(&RegionResidency, i64, i64)> = d
        .changed()
        .filter_map(|c| {
            let r = c.region();
            let m = s
                .residency
                .iter()
                .find(|m| m.start == r.start && m.end == r.end)?;
            Some((m, c.rss_delta().abs(), c.size_delta().abs()))
        })
        .collect();
    ranked.sort_by_key(|&(_, rss, size)| std::cmp::Reverse((rss, size)));
    ranked
        .into_iter()
        .take(LIVE_MAPS)
        .map(|(m, ..)| m)
        .collect()
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
    if passed == total {
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
            let whole = format!("    {line}");
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

/// RSS, PSS and USS of the demo and its children side by side, when it has
/// children. (Live view only: file pages make these totals move with whatever
/// else runs on the machine, too much for the normalised view.)
/// RSS, PSS and USS of the demo and its children, at the steps where it has
/// children and at the first step after its last child exited (where the
/// parent's PSS and USS jump back up: the shared lab's last lesson).
fn processes(out: &mut String, report: &Report, index: usize, resolution: Option<i64>) {
    let s = &report.steps[index];
    let had_children = index
        .checked_sub(1)
        .is_some_and(|i| !report.steps[i].children.is_empty());
    if s.children.is_empty() && !had_children {
        return;
    }
    let show = |kib: u64| match resolution {
        Some(_) => rounded(kib as i64, false, resolution),
        None => format!("{kib} KiB"),
    };
    let _ = writeln!(
        out,
        "\n  {:<16} {:>12} {:>12} {:>12}",
        "process", "RSS", "PSS", "USS"
    );
    let rows =
        std::iter::once(("demo", &s.snapshot)).chain(s.children.iter().map(|c| ("child", c)));
    for (who, snap) in rows {
        let name = if resolution.is_some() {
            who.to_string()
        } else {
            format!("{who} {}", snap.pid)
        };
        let t = &snap.totals;
        let uss = crate::report::uss(snap);
        let _ = writeln!(
            out,
            "  {name:<16} {:>12} {:>12} {:>12}",
            show(t.rss_kib),
            show(t.pss_kib),
            show(uss)
        );
    }
    if s.children.is_empty() {
        let _ = writeln!(out, "  (no child any more)");
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
        match crate::check::value_on(name, &s.snapshot) {
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

/// A change is worth a line of the normalised view when its size, RSS, Dirty
/// or PSS moved by at least half the rounding (512 KiB by default): a change
/// that rounds to a whole unit is shown, noise well below it is not.
///
/// The PSS of a private file mapping does not count: its clean pages are the
/// page cache's, shared with every process that maps the file (the lab
/// binary's code with the other `lab`s running), so it moves when unrelated
/// processes start or end. (A shared mapping's PSS is the shared lab's lesson.)
fn significant(c: &RegionChange, threshold: i64) -> bool {
    let pss = if private_file(c.region()) {
        0
    } else {
        c.pss_delta()
    };
    [c.size_delta(), c.rss_delta(), c.dirty_delta(), pss]
        .iter()
        .any(|d| d.abs() >= threshold)
}

fn private_file(r: &pmap_view::Region) -> bool {
    r.kind == Kind::File && !r.is_shared()
}

/// A change of PSS alone, under 1 MiB: other processes mapping or unmapping
/// the same library pages, not something this step did.
fn pss_noise(c: &RegionChange) -> bool {
    c.change == Change::Changed
        && [
            c.size_delta(),
            c.rss_delta(),
            c.dirty_delta(),
            c.swap_delta(),
        ]
        .iter()
        .all(|d| *d == 0)
        && c.pss_delta().abs() < 1024
}

pub(crate) fn change_words(c: &RegionChange) -> String {
    let words = match c.change {
        Change::Unchanged => String::new(),
        _ => format!(
            "{} {}{}",
            c.change.as_str(),
            deltas(c.size_delta(), c.rss_delta(), c.dirty_delta()),
            if c.pss_delta() != c.rss_delta() {
                format!(", PSS {}", signed_kib(c.pss_delta()))
            } else {
                String::new()
            }
        ),
    };
    format!("{words}{}", huge_pages(c.region()))
}

/// Transparent huge pages are shown only where there are some (THP mode decides).
fn huge_pages(r: &pmap_view::Region) -> String {
    match r.fields.anon_huge_pages {
        0 => String::new(),
        kib => format!(" (AnonHugePages {kib} K)"),
    }
}

fn delta(before: u64, after: u64) -> i64 {
    after as i64 - before as i64
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
