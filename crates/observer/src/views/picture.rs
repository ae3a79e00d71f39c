//! The picture every textbook draws, from the real map: the whole address
//! space of the demo at one step, high addresses at the top (the stack) and
//! low ones at the bottom (the program), the step's change highlighted.
//!
//! A real map does not fit a linear scale: a 4 KiB page, a 100 MiB mapping
//! and the tens of TiB of unmapped space between the program and the
//! libraries differ by ten orders of magnitude. So the picture is not to
//! scale, and says so: a block's bar (or height, in the SVG) grows with the
//! logarithm of its size, one cell (or [`SVG_CELL`] pixels) each time the
//! size doubles, one page being one cell; unmapped space is a break of fixed
//! size marked with its size (gaps under [`GAP_SHOWN_KIB`] are not drawn).
//!
//! What makes a block is decided here, once ([`Picture::of`]), and the
//! terminal ([`text`]) and the HTML page ([`svg`]) only draw it:
//!
//! - the pieces of one file (a library's `r--`, `r-x`, `r--`, `rw-`) are one
//!   block with their total size, named as the step's table names regions
//!   ([`pmap_view::Region::label`]); the lowest file is the program;
//! - alike neighbours repeated three times or more (a hundred thread stacks,
//!   each with its guard page) are one block `[anon] x100`, as the step's
//!   table groups them;
//! - small unchanged anonymous regions (TLS blocks, the loader's data) and
//!   `[vvar]` next to one another merge into one block `other (N)`, and
//!   when there are still more than [`MAX_BLOCKS`] blocks, the smallest
//!   unchanged neighbours merge too, so that the picture stays a dozen or
//!   two lines;
//! - a block holding a region that is a row of the step's table
//!   ([`crate::views::step::Changes`]: appeared, vanished, grew, shrank,
//!   changed, split, merged) is highlighted with that row's mark; a region
//!   that vanished is drawn where it was, as a ghost. Highlighted blocks are
//!   never merged into others.
//!
//! The live view draws it at step 0 and at every step whose change moved
//! address space ([`When::Layout`], the default), at every step with
//! `--picture` ([`When::Every`]), and on `p` at a pause.

use std::fmt::Write as _;

use pmap_view::render::{signed_size, size};
use pmap_view::{Change, Kind, Region};

use crate::drive::report::Report;
use crate::views::step::{Delta, Resolution, StepView};

/// A gap of unmapped address space at least this large is drawn as a break.
pub const GAP_SHOWN_KIB: u64 = 1024;

/// Unchanged regions smaller than this may merge into an `other` block.
pub const SMALL_KIB: u64 = 1024;

/// At most this many blocks, when merging the smallest unchanged neighbours
/// can get there (highlighted blocks and landmarks never merge).
pub const MAX_BLOCKS: usize = 14;

/// Alike neighbours are one block `xN` from this many repeats on.
const MIN_REPEATS: usize = 3;

/// Pixels of a block's height in the SVG per doubling of its size.
pub const SVG_CELL: f64 = 3.0;

/// When the live view draws the picture under a step's table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum When {
    /// At step 0 and where a region appeared, vanished, grew, shrank,
    /// split or merged (not where only RSS or Dirty moved).
    #[default]
    Layout,
    /// At every step (`--picture`).
    Every,
    /// Never (only on `p` at a pause).
    Never,
}

/// What a block is, for its colour and for which blocks may merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// The program's file (the lowest file mapping).
    Program,
    /// A file with code: a shared library, the dynamic loader.
    Library,
    /// A file without code (a data file, locale-archive).
    File,
    Heap,
    Stack,
    /// Anonymous memory (or shared memory) the process mapped.
    Anon,
    /// `[vdso]`, `[vvar]`, `[vsyscall]`: the kernel's pages.
    Kernel,
    /// Small regions merged into one block.
    Other,
}

/// One block of the picture: a region, a file's pieces, alike neighbours,
/// or small regions merged.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// As the step's table names it: `[heap]`, `libc.so.6`, `[anon] x100`,
    /// `other (5)`.
    pub label: String,
    pub what: What,
    /// The lowest start and the highest end of its regions.
    pub start: u64,
    pub end: u64,
    /// The sum of its regions, KiB.
    pub size_kib: u64,
    pub rss_kib: u64,
    /// How many regions it stands for.
    pub regions: usize,
    /// N of `xN` (1 for a block that is not a group of alike ones).
    pub repeats: usize,
    /// The change of the table's rows in it; None: not highlighted.
    pub change: Option<Change>,
    /// The sum of the changes of its highlighted regions.
    pub delta: Delta,
    /// It vanished in this step: drawn where it was, as a ghost.
    pub gone: bool,
    /// Unmapped address space between the block below it and this one, KiB.
    pub gap_below_kib: u64,
    /// What makes two blocks alike (for `xN`).
    sig: String,
}

impl Block {
    fn of_region(r: &Region, gone: bool, hl: Option<(Change, Delta)>) -> Block {
        let what = match r.kind {
            Kind::Heap => What::Heap,
            Kind::Stack => What::Stack,
            Kind::Anon | Kind::Other => What::Anon,
            Kind::Vdso | Kind::Vvar | Kind::Vsyscall => What::Kernel,
            Kind::File if r.perms[2] == b'x' => What::Library,
            Kind::File => What::File,
        };
        let label = r.label();
        Block {
            sig: format!(
                "{gone} {:?} {label} {} {} {:?}",
                r.kind,
                r.perms_str(),
                r.fields.size,
                hl.map(|h| h.0)
            ),
            label,
            what,
            start: r.start,
            end: r.end,
            size_kib: r.fields.size,
            rss_kib: r.fields.rss,
            regions: 1,
            repeats: 1,
            change: hl.map(|h| h.0),
            delta: hl.map(|h| h.1).unwrap_or_default(),
            gone,
            gap_below_kib: 0,
        }
    }

    /// This block and the one above it, as one.
    fn absorb(&mut self, b: Block) {
        self.start = self.start.min(b.start);
        self.end = self.end.max(b.end);
        self.size_kib += b.size_kib;
        self.rss_kib += b.rss_kib;
        self.regions += b.regions;
        self.change = match (self.change, b.change) {
            (a, None) => a,
            (None, b) => b,
            (Some(a), Some(b)) if a == b => Some(a),
            _ => Some(Change::Changed),
        };
        self.delta = Delta {
            size: self.delta.size + b.delta.size,
            rss: self.delta.rss + b.delta.rss,
            dirty: self.delta.dirty + b.delta.dirty,
            pss: self.delta.pss + b.delta.pss,
        };
        self.gone &= b.gone;
        self.sig = format!("{} + {}", self.sig, b.sig);
    }

    /// The bar's length in cells: one for a page, one more each time the
    /// size doubles.
    pub fn cells(&self, page_kib: u64) -> f64 {
        cells(self.size_kib, page_kib)
    }

    /// Small, unchanged, and not a landmark: it may merge into `other`.
    fn small(&self) -> bool {
        let vvar = self.what == What::Kernel && self.label.starts_with("[vvar");
        self.change.is_none()
            && self.repeats == 1
            && (matches!(self.what, What::Anon | What::Other) || vvar)
            && self.size_kib < SMALL_KIB
    }

    /// Unchanged and not a landmark (program, `[heap]`, `[stack]`, `[vdso]`).
    fn mergeable(&self) -> bool {
        self.change.is_none()
            && !matches!(
                self.what,
                What::Program | What::Heap | What::Stack | What::Kernel
            )
            || self.small()
    }

    /// The few words of its change: `+10.0 MiB`, `RSS +10.0 MiB`.
    pub fn change_words(&self) -> String {
        let Some(change) = self.change else {
            return String::new();
        };
        let d = self.delta;
        if self.gone {
            return signed_size(-(self.size_kib as i64));
        }
        match change {
            Change::Split => "split".to_string(),
            Change::Merged => "merged".to_string(),
            _ if d.size != 0 => signed_size(d.size),
            _ if d.rss != 0 => format!("RSS {}", signed_size(d.rss)),
            _ if d.dirty != 0 => format!("Dirty {}", signed_size(d.dirty)),
            _ if d.pss != 0 => format!("PSS {}", signed_size(d.pss)),
            other => other.as_str().to_string(),
        }
    }
}

/// A size's bar length in cells: `log2(pages) + 1` (one page: one cell).
pub fn cells(size_kib: u64, page_kib: u64) -> f64 {
    let pages = (size_kib as f64 / page_kib.max(1) as f64).max(1.0);
    pages.log2() + 1.0
}

/// A region of the picture: whether it vanished in the step (drawn as a
/// ghost where it was), and the change and delta of its row, if it is one.
type Placed<'a> = (&'a Region, bool, Option<(Change, Delta)>);

/// The whole address space of a step, as blocks in address order (low first).
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    pub blocks: Vec<Block>,
    pub page_kib: u64,
}

impl Picture {
    /// The picture of step `index` of a run.
    pub fn of_step(report: &Report, index: usize) -> Picture {
        let view = StepView::of(report, index, Resolution::Page);
        Picture::of(&view, report.page_kib())
    }

    /// The picture of a step's view: its capture, with the rows of its
    /// table highlighted.
    pub fn of(view: &StepView, page_kib: u64) -> Picture {
        let changes = &view.changes;
        // The table's rows, by the start of the region they highlight.
        let mut marked: std::collections::HashMap<u64, (Change, Delta)> =
            std::collections::HashMap::new();
        let mut ghosts: Vec<(&Region, Delta)> = Vec::new();
        if changes.totals.is_some() {
            for row in changes.rows.iter().filter(|r| !r.landmark) {
                for m in &row.members {
                    let d = Delta::of(m);
                    match m.change {
                        Change::Vanished => ghosts.push((m.region(), d)),
                        // Still mapped, in the region it merged into.
                        Change::Merged => {
                            if let Some(p) = m.part_of {
                                marked
                                    .entry(p.start)
                                    .or_insert((Change::Merged, Delta::default()));
                            }
                        }
                        _ => {
                            marked.insert(m.region().start, (row.change, d));
                        }
                    }
                }
            }
        }
        let mut regions: Vec<Placed> = view
            .step
            .snapshot
            .regions
            .iter()
            .map(|r| (r, false, marked.get(&r.start).copied()))
            .chain(
                ghosts
                    .iter()
                    .map(|&(r, d)| (r, true, Some((Change::Vanished, d)))),
            )
            .collect();
        regions.sort_by_key(|(r, gone, _)| (r.start, *gone));
        Picture::build(&regions, page_kib)
    }

    /// Blocks from regions in address order: `(region, vanished, highlight)`.
    fn build(regions: &[Placed], page_kib: u64) -> Picture {
        // The pieces of one file are one block.
        let mut blocks: Vec<Block> = Vec::new();
        let mut last_file: Option<(&str, bool)> = None;
        for &(r, gone, hl) in regions {
            let b = Block::of_region(r, gone, hl);
            let file = (r.kind == Kind::File).then_some((r.name.as_str(), gone));
            match blocks.last_mut() {
                Some(last) if file.is_some() && file == last_file => {
                    if b.what == What::Library {
                        last.what = What::Library;
                    }
                    last.absorb(b);
                    last.sig = format!("{gone} file {}", last.label);
                }
                _ => blocks.push(b),
            }
            last_file = file;
        }
        if let Some(first) = blocks
            .iter_mut()
            .find(|b| matches!(b.what, What::Library | What::File) && !b.gone)
        {
            first.what = What::Program;
        }
        let blocks = group_alike(blocks);
        let mut blocks = merge_small(blocks);
        reduce(&mut blocks, MAX_BLOCKS);
        set_gaps(&mut blocks);
        Picture { blocks, page_kib }
    }

    /// The highlighted blocks, low addresses first.
    pub fn highlighted(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|b| b.change.is_some())
    }

    fn max_cells(&self) -> f64 {
        self.blocks
            .iter()
            .map(|b| b.cells(self.page_kib))
            .fold(1.0, f64::max)
    }
}

/// Runs of alike neighbours (one block, or a pair such as a guard page and
/// its stack, repeated [`MIN_REPEATS`] times or more) as one block `xN`.
fn group_alike(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let repeats = |p: usize| -> usize {
            let mut r = 1;
            while i + (r + 1) * p <= blocks.len()
                && (0..p).all(|k| blocks[i + r * p + k].sig == blocks[i + k].sig)
            {
                r += 1;
            }
            r
        };
        let (r1, r2) = (repeats(1), repeats(2));
        let (period, r) = if r2 * 2 > r1 && r2 >= MIN_REPEATS {
            (2, r2)
        } else {
            (1, r1)
        };
        if r < MIN_REPEATS {
            out.push(blocks[i].clone());
            i += 1;
            continue;
        }
        let members = &blocks[i..i + period * r];
        // Named after the largest of the pattern.
        let named = members[..period]
            .iter()
            .max_by_key(|b| b.size_kib)
            .expect("a period of one or two");
        let (label, what) = (format!("{} x{r}", named.label), named.what);
        let mut block = members[0].clone();
        for b in &members[1..] {
            block.absorb(b.clone());
        }
        block.label = label;
        block.what = what;
        block.repeats = r;
        out.push(block);
        i += period * r;
    }
    out
}

/// Runs of small unchanged regions (no gap worth drawing between them) as
/// one block `other (N)`.
fn merge_small(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut run = 0; // how many of the last blocks of `out` are small ones in a run
    for b in blocks {
        let joins = b.small()
            && run > 0
            && out
                .last()
                .is_some_and(|last| b.start.saturating_sub(last.end) / 1024 < GAP_SHOWN_KIB);
        if joins {
            let last = out.last_mut().expect("a run");
            last.absorb(b);
            last.what = What::Other;
            last.label = format!("other ({})", last.regions);
            run += 1;
        } else {
            run = usize::from(b.small());
            out.push(b);
        }
    }
    out
}

/// Merge the smallest pair of mergeable neighbours (no gap worth drawing
/// between them) until there are at most `max` blocks, or no such pair;
/// then two `other` blocks next to one another are one.
fn reduce(blocks: &mut Vec<Block>, max: usize) {
    join_others(blocks);
    while blocks.len() > max {
        let best = (1..blocks.len())
            .filter(|&i| {
                let (a, b) = (&blocks[i - 1], &blocks[i]);
                a.mergeable() && b.mergeable() && close(a, b)
            })
            .min_by_key(|&i| blocks[i - 1].size_kib + blocks[i].size_kib);
        let Some(i) = best else { break };
        let b = blocks.remove(i);
        let a = &mut blocks[i - 1];
        a.absorb(b);
        a.what = What::Other;
        a.repeats = 1;
        a.label = format!("other ({})", a.regions);
    }
    join_others(blocks);
}

/// No gap worth drawing between `a` and the block above it, `b`.
fn close(a: &Block, b: &Block) -> bool {
    b.start.saturating_sub(a.end) / 1024 < GAP_SHOWN_KIB
}

/// Two `other` blocks next to one another as one.
fn join_others(blocks: &mut Vec<Block>) {
    let mut i = 1;
    while i < blocks.len() {
        let (a, b) = (&blocks[i - 1], &blocks[i]);
        if a.what == What::Other && b.what == What::Other && close(a, b) {
            let b = blocks.remove(i);
            let a = &mut blocks[i - 1];
            a.absorb(b);
            a.label = format!("other ({})", a.regions);
        } else {
            i += 1;
        }
    }
}

fn set_gaps(blocks: &mut [Block]) {
    let mut end = None;
    for b in blocks.iter_mut() {
        b.gap_below_kib = end.map_or(0, |e: u64| b.start.saturating_sub(e) / 1024);
        end = Some(end.map_or(b.end, |e: u64| e.max(b.end)));
    }
}

/// A size with the unit that suits it, up to EiB (the gap under
/// `[vsyscall]` is 16 EiB less the user space).
pub fn human(kib: u64) -> String {
    const UNITS: [&str; 5] = ["MiB", "GiB", "TiB", "PiB", "EiB"];
    if kib < 1024 {
        return format!("{kib} KiB");
    }
    let mut v = kib as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let v = format!("{v:.1}");
    format!("{} {}", v.strip_suffix(".0").unwrap_or(&v), UNITS[unit])
}

/// Whether the live view draws the picture of step `index` by itself
/// (see [`When`]).
pub fn shown(report: &Report, index: usize, when: When) -> bool {
    match when {
        When::Every => true,
        When::Never => false,
        When::Layout if index == 0 => true,
        When::Layout => {
            let view = StepView::of(report, index, Resolution::Page);
            view.changes
                .rows
                .iter()
                .any(|r| !r.landmark && (r.change != Change::Changed || r.delta.size != 0))
        }
    }
}

/// A bar of `cells` cells, eighths of a cell drawn too.
fn bar(cells: f64, gone: bool) -> String {
    if gone {
        return "░".repeat(cells.round().max(1.0) as usize);
    }
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = ((cells * 8.0).round() as usize).max(1);
    let mut s = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(EIGHTHS[eighths % 8]);
    }
    s
}

/// The picture of step `index` as text for the live view, `width` columns
/// wide at most (from 40), high addresses on top; `color`: ANSI colours on
/// the highlighted blocks as on the table's rows.
pub fn text(report: &Report, index: usize, color: bool, width: usize) -> String {
    draw_text(&Picture::of_step(report, index), color, width)
}

/// [`text`] of a picture already built.
pub fn draw_text(pic: &Picture, color: bool, width: usize) -> String {
    let width = width.max(40);
    let paint = |code: &str, t: String| {
        if color {
            format!("\x1b[{code}m{t}\x1b[0m")
        } else {
            t
        }
    };
    let cols = |s: &str| s.chars().count();
    let words: Vec<String> = pic.blocks.iter().map(Block::change_words).collect();
    let words_w = words.iter().map(|w| cols(w)).max().unwrap_or(0);
    let size_w = pic
        .blocks
        .iter()
        .map(|b| cols(&size(b.size_kib)))
        .max()
        .unwrap_or(0);
    // "m " label " " size " " bar " " words; labels are cut (with …) to
    // leave the bars 12 columns at least.
    let others = 2 + 1 + size_w + 1 + if words_w > 0 { 1 + words_w } else { 0 };
    let label_w = pic
        .blocks
        .iter()
        .map(|b| cols(&b.label))
        .max()
        .unwrap_or(0)
        .min(if width >= 80 { 24 } else { 16 })
        .min(width.saturating_sub(others + 12))
        .max(6);
    let room = width.saturating_sub(others + label_w).max(1) as f64;
    let max = pic.max_cells();
    // One cell per doubling, unless the largest block would not fit.
    let per = if max <= room { 1.0 } else { room / max };
    let bar_w = (max * per).ceil() as usize;
    let page = pic.page_kib;
    let pages_4m = (4096 / page.max(1)).max(2);
    let scale = if per == 1.0 {
        format!(
            "a bar has one cell for one page ({page} KiB) and one more each time the size \
             doubles ({} cells: {} pages, {})",
            cells(pages_4m * page, page).round(),
            pages_4m,
            human(pages_4m * page)
        )
    } else {
        format!(
            "a bar's length grows with the log of the size ({per:.1} cells: one page of \
             {page} KiB; {:.1} cells: {} pages, {})",
            cells(pages_4m * page, page) * per,
            pages_4m,
            human(pages_4m * page),
        )
    };
    let caption = format!(
        "The whole address space, high addresses on top. Not to scale: {scale}; ┆ is \
         unmapped space (gaps under {} not drawn).",
        human(GAP_SHOWN_KIB)
    );
    let mut out = format!("\n{}\n", paint("2", wrap(&caption, width)));
    for b in pic.blocks.iter().rev() {
        let mark = b.change.map_or(' ', Change::mark);
        let label = if cols(&b.label) > label_w {
            let mut cut: String = b.label.chars().take(label_w.saturating_sub(1)).collect();
            cut.push('…');
            cut
        } else {
            b.label.clone()
        };
        let line = format!(
            "{mark} {label:<label_w$} {:>size_w$} {:<bar_w$} {}",
            size(b.size_kib),
            bar(b.cells(page) * per, b.gone),
            b.change_words()
        );
        let line = line.trim_end().to_string();
        let line = match b.change {
            None => line,
            Some(Change::Appeared | Change::Grew) => paint("32", line),
            Some(Change::Vanished | Change::Shrank) => paint("31", line),
            Some(_) => paint("1", line),
        };
        let _ = writeln!(out, "{line}");
        if b.gap_below_kib >= GAP_SHOWN_KIB {
            let gap = format!("  ┆ {} unmapped{}", human(b.gap_below_kib), kernel_side(b));
            let _ = writeln!(out, "{}", paint("2", gap));
        }
    }
    out
}

/// What lies across a gap below `b` when `b` is above user space (the
/// top half of a 64-bit address space is the kernel's: `[vsyscall]`).
fn kernel_side(b: &Block) -> &'static str {
    if b.start >= 1 << 63 {
        " (user space ends, the kernel's begins)"
    } else {
        ""
    }
}

/// Prose wrapped to `width` columns between words, never between a
/// number and its unit.
fn wrap(text: &str, width: usize) -> String {
    let mut words: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let unit = ["KiB", "MiB", "GiB", "TiB", "pages"]
            .iter()
            .any(|u| word.trim_end_matches([',', ';', '.', ':', ')']) == *u);
        match words.last_mut() {
            Some(last) if unit && last.ends_with(|c: char| c.is_ascii_digit()) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    let mut out = String::new();
    let mut line = String::new();
    for word in &words {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}

/// Escape text for SVG content and attributes.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The picture of step `index` as an inline SVG figure for the HTML page.
pub fn svg(report: &Report, index: usize) -> String {
    draw_svg(&Picture::of_step(report, index))
}

/// [`svg`] of a picture already built: a column of blocks, high addresses
/// on top, each block's height growing by [`SVG_CELL`] pixels per doubling
/// of its size, unmapped space a dashed break of fixed height; a `<title>`
/// tooltip per block gives its address range, size and RSS.
pub fn draw_svg(pic: &Picture) -> String {
    const GAP_H: f64 = 16.0;
    const BASE_H: f64 = 12.0;
    let (w, strip_x, strip_w, text_x) = (480.0, 106.0, 110.0, 222.0);
    let page = pic.page_kib;
    let height_of = |b: &Block| BASE_H + SVG_CELL * (b.cells(page) - 1.0);
    let mut y = 8.0;
    let mut body = String::new();
    for b in pic.blocks.iter().rev() {
        let h = height_of(b);
        let (fill, stroke) = match b.what {
            What::Program => ("#d6e4f0", "#5d7a96"),
            What::Library => ("#e2e6f3", "#6b74a0"),
            What::File => ("#e8eef0", "#6b8a90"),
            What::Heap => ("#f5e3c8", "#a07a3c"),
            What::Stack => ("#d9efd9", "#4f8a4f"),
            What::Anon => ("#f3e6ee", "#946a85"),
            What::Kernel => ("#eeeeee", "#777777"),
            What::Other => ("#f6f6f6", "#999999"),
        };
        let (hl, hl_class) = match b.change {
            None => (None, "unchanged"),
            Some(c @ (Change::Appeared | Change::Grew)) => (Some("#1d7a35"), c.as_str()),
            Some(c @ (Change::Vanished | Change::Shrank)) => (Some("#b3261e"), c.as_str()),
            Some(c) => (Some("#b86e00"), c.as_str()),
        };
        let tip = format!(
            "{label}: {start:#x}–{end:#x}, {size}, RSS {rss}, {n} region{s}{change}",
            label = b.label,
            start = b.start,
            end = b.end,
            size = size(b.size_kib),
            rss = size(b.rss_kib),
            n = b.regions,
            s = if b.regions == 1 { "" } else { "s" },
            change = match b.change {
                Some(c) if b.gone =>
                    format!("; {} in this step ({})", c.as_str(), b.change_words()),
                Some(c) => format!("; {} in this step: {}", c.as_str(), b.change_words()),
                None => String::new(),
            }
        );
        let _ = write!(
            body,
            "<g class=\"block {hl_class}\"><title>{}</title>",
            esc(&tip)
        );
        let dash = if b.gone {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<rect x=\"{strip_x}\" y=\"{y:.1}\" width=\"{strip_w}\" height=\"{h:.1}\" \
             fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{dash}/>",
            if b.gone { "#ffffff" } else { fill },
            hl.unwrap_or(stroke),
            if hl.is_some() { 3 } else { 1 },
        );
        // RSS as a share of the block, inside it (linear within the block).
        if !b.gone && b.size_kib > 0 && b.rss_kib > 0 {
            let rw = strip_w * (b.rss_kib.min(b.size_kib) as f64 / b.size_kib as f64);
            let _ = write!(
                body,
                "<rect x=\"{strip_x}\" y=\"{:.1}\" width=\"{rw:.1}\" height=\"4\" fill=\"{stroke}\" \
                 fill-opacity=\"0.6\"/>",
                y + h - 4.0
            );
        }
        let mid = y + h / 2.0 + 4.0;
        let mark = b.change.map_or(String::new(), |c| format!("{} ", c.mark()));
        let _ = write!(
            body,
            "<text x=\"{:.1}\" y=\"{mid:.1}\" text-anchor=\"end\" class=\"small\">{:x}</text>\
             <text x=\"{text_x}\" y=\"{mid:.1}\"{weight}>{}{} · {}{}</text></g>",
            strip_x - 6.0,
            b.start,
            esc(&mark),
            esc(&b.label),
            esc(&size(b.size_kib)),
            esc(&match b.change {
                Some(_) => format!("  {}", b.change_words()),
                None => String::new(),
            }),
            weight = if hl.is_some() {
                " font-weight=\"700\""
            } else {
                ""
            },
        );
        y += h;
        if b.gap_below_kib >= GAP_SHOWN_KIB {
            let _ = write!(
                body,
                "<g class=\"gap\"><title>{}</title>\
                 <rect x=\"{strip_x}\" y=\"{y:.1}\" width=\"{strip_w}\" height=\"{GAP_H}\" \
                 fill=\"none\" stroke=\"#8a94a0\" stroke-dasharray=\"2 3\"/>\
                 <text x=\"{text_x}\" y=\"{:.1}\" class=\"small\">≈ {} unmapped</text></g>",
                esc(&format!(
                    "unmapped: {} of address space between the blocks (not to scale)",
                    human(b.gap_below_kib)
                )),
                y + GAP_H / 2.0 + 3.5,
                esc(&human(b.gap_below_kib)),
            );
            y += GAP_H;
        }
    }
    let h = y + 8.0;
    let caption = format!(
        "The whole address space, high addresses on top; the regions of the table are \
         outlined in colour. Not to scale: a block is {BASE_H} px high for one page ({page} \
         KiB), {SVG_CELL} px more each time its size doubles; ≈ marks unmapped space (gaps \
         under {} not drawn); the line at a block's foot is its RSS, as a share of its size. \
         Hover for addresses, size and RSS.",
        human(GAP_SHOWN_KIB)
    );
    format!(
        "<figure class=\"picture\" style=\"float: right; max-width: {w}px; margin: 0 0 12px 24px\">\
         <svg class=\"picture\" width=\"{w}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w} {h:.0}\" role=\"img\"><title>the address space, high addresses on \
         top</title>{body}</svg><figcaption>{}</figcaption></figure>",
        esc(&caption)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4;

    fn region(start: u64, kib: u64, perms: &str, name: &str) -> Region {
        let mut p = [0u8; 4];
        p.copy_from_slice(perms.as_bytes());
        Region {
            start,
            end: start + kib * 1024,
            perms: p,
            offset: 0,
            dev_major: 0,
            dev_minor: 0,
            inode: 0,
            name: name.to_string(),
            kind: Kind::classify(name),
            fields: pmap_view::region::Fields {
                size: kib,
                ..Default::default()
            },
            vm_flags: String::new(),
            extra: Vec::new(),
        }
    }

    fn picture(regions: &[Region], marked: &[(u64, Change, i64)]) -> Picture {
        let list: Vec<Placed> = regions
            .iter()
            .map(|r| {
                let hl = marked.iter().find(|m| m.0 == r.start).map(|m| {
                    (
                        m.1,
                        Delta {
                            size: m.2,
                            ..Delta::default()
                        },
                    )
                });
                (r, m_gone(marked, r), hl)
            })
            .collect();
        Picture::build(&list, PAGE)
    }

    fn m_gone(marked: &[(u64, Change, i64)], r: &Region) -> bool {
        marked
            .iter()
            .any(|m| m.0 == r.start && m.1 == Change::Vanished)
    }

    /// A process as the heap lab's: the program, [heap], a big anonymous
    /// mapping below libc, small regions, the loader, [stack], [vsyscall].
    fn process() -> Vec<Region> {
        let prog = 0x5555_0000_0000;
        let libs = 0x7f00_0000_0000;
        vec![
            region(prog, 1408, "r--p", "/usr/bin/demo"),
            region(prog + 1408 * 1024, 2992, "r-xp", "/usr/bin/demo"),
            region(prog + 4400 * 1024, 8, "rw-p", "/usr/bin/demo"),
            region(prog + 0x100_0000, 132, "rw-p", "[heap]"),
            region(libs - 10256 * 1024, 10256, "rw-p", ""),
            region(libs, 152, "r--p", "/lib/libc.so.6"),
            region(libs + 152 * 1024, 1368, "r-xp", "/lib/libc.so.6"),
            region(libs + 1520 * 1024, 8, "rw-p", "/lib/libc.so.6"),
            region(libs + 1528 * 1024, 52, "rw-p", ""),
            region(libs + 1600 * 1024, 4, "---p", ""),
            region(libs + 1604 * 1024, 8, "rw-p", ""),
            region(libs + 1612 * 1024, 16, "r--p", "[vvar]"),
            region(libs + 1628 * 1024, 8, "r-xp", "[vdso]"),
            region(libs + 1636 * 1024, 212, "r-xp", "/lib/ld-linux-x86-64.so.2"),
            region(0x7ffc_0000_0000, 132, "rw-p", "[stack]"),
        ]
    }

    #[test]
    fn a_bar_grows_one_cell_per_doubling() {
        assert_eq!(cells(PAGE, PAGE), 1.0);
        assert_eq!(cells(2 * PAGE, PAGE), 2.0);
        assert_eq!(cells(1024 * PAGE, PAGE), 11.0);
        // 10 MiB and 100 MiB: 3.3 cells apart (a factor of 10), both visible.
        let (ten, hundred) = (cells(10 * 1024, PAGE), cells(100 * 1024, PAGE));
        assert!((hundred - ten - 10f64.log2()).abs() < 1e-9);
        // Less than a page (a region of another page size) is one cell still.
        assert_eq!(cells(0, PAGE), 1.0);
        assert_eq!(bar(1.0, false), "█");
        assert_eq!(bar(2.5, false), "██▌");
        assert_eq!(bar(0.01, false), "▏");
        assert_eq!(bar(3.2, true), "░░░");
    }

    #[test]
    fn sizes_and_gaps_read_in_their_unit() {
        assert_eq!(human(52), "52 KiB");
        assert_eq!(human(10240), "10 MiB");
        assert_eq!(human(1536), "1.5 MiB");
        assert_eq!(human(35 << 30), "35 TiB");
        assert_eq!(human(u64::MAX / 1024), "16 EiB");
        // The caption never ends a line between a number and its unit.
        let w = wrap("aaaa bbbbbbb 1 MiB, cc 4 KiB", 13);
        assert_eq!(w, "aaaa bbbbbbb\n1 MiB, cc\n4 KiB");
    }

    #[test]
    fn files_are_one_block_gaps_are_compressed_and_small_regions_merge() {
        let regions = process();
        let pic = picture(&regions, &[(regions[4].start, Change::Grew, 10240)]);
        let labels: Vec<&str> = pic.blocks.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "demo",
                "[heap]",
                "[anon]",
                "libc.so.6",
                "other (4)",
                "[vdso]",
                "ld-linux-x86-64.so.2",
                "[stack]"
            ]
        );
        let b = &pic.blocks;
        assert_eq!(b[0].what, What::Program);
        assert_eq!((b[0].size_kib, b[0].regions), (4408, 3));
        assert_eq!((b[3].size_kib, b[3].regions), (1528, 3));
        assert_eq!(b[3].what, What::Library);
        // The gaps: the one between the program's pieces and [heap] and the
        // tens of TiB below the libraries are kept, marked with their size;
        // the few pages between small neighbours are not drawn.
        assert_eq!(b[1].gap_below_kib, (0x100_0000 - 4408 * 1024) / 1024);
        assert!(b[2].gap_below_kib > 1 << 30, "{:?}", b[2]);
        assert_eq!(b[4].gap_below_kib, 0);
        assert_eq!(b[5].gap_below_kib, 0);
        // Only the anonymous mapping that grew is highlighted.
        let hl: Vec<&Block> = pic.highlighted().collect();
        assert_eq!(hl.len(), 1);
        assert_eq!(
            (hl[0].label.as_str(), hl[0].change_words()),
            ("[anon]", "+10.0 MiB".to_string())
        );
        // A small region that changed stays a block of its own.
        let pic = picture(&regions, &[(regions[9].start, Change::Appeared, 4)]);
        let labels: Vec<&str> = pic.blocks.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels[3..7],
            ["libc.so.6", "[anon]", "[anon]", "other (2)"],
            "{labels:?}"
        );
        assert_eq!(pic.blocks[5].change, Some(Change::Appeared));
    }

    #[test]
    fn alike_neighbours_are_one_block_xn() {
        // 100 thread stacks, each with its guard page below it, as
        // pthread_create maps them top-down.
        let mut regions = Vec::new();
        let base = 0x7f00_0000_0000u64;
        for i in 0..100u64 {
            let at = base + i * (8196 * 1024);
            regions.push(region(at, 4, "---p", ""));
            regions.push(region(at + 4096, 8192, "rw-p", ""));
        }
        regions.push(region(
            base + 100 * 8196 * 1024,
            1528,
            "r-xp",
            "/lib/libc.so.6",
        ));
        let marked: Vec<(u64, Change, i64)> = regions[..200]
            .iter()
            .map(|r| (r.start, Change::Appeared, r.fields.size as i64))
            .collect();
        let pic = picture(&regions, &marked);
        assert_eq!(pic.blocks.len(), 2, "{:#?}", pic.blocks);
        let b = &pic.blocks[0];
        assert_eq!(b.label, "[anon] x100");
        assert_eq!((b.repeats, b.regions, b.size_kib), (100, 200, 819_600));
        assert_eq!(b.change, Some(Change::Appeared));
        assert_eq!(b.change_words(), "+800.4 MiB");
        // Two alike neighbours are not a group.
        let pic = picture(&regions[..4], &[]);
        assert_eq!(pic.blocks.len(), 4);
    }

    #[test]
    fn a_vanished_region_is_a_ghost_where_it_was() {
        let mut regions = process();
        let gone = regions.remove(4);
        regions.insert(4, gone.clone());
        let pic = picture(&regions, &[(gone.start, Change::Vanished, -10256)]);
        let b = pic.blocks.iter().find(|b| b.gone).unwrap();
        assert_eq!(b.change_words(), "-10.0 MiB");
        let text = draw_text(&pic, false, 60);
        assert!(text.contains("- [anon]"), "{text}");
        assert!(text.contains("░"), "{text}");
    }

    #[test]
    fn too_many_blocks_merge_the_smallest_unchanged_neighbours() {
        // Forty small libraries next to one another, and the heap.
        let mut regions = vec![region(0x1000_0000, 132, "rw-p", "[heap]")];
        for i in 0..40u64 {
            regions.push(region(
                0x7f00_0000_0000 + i * 0x10_0000,
                64 + i,
                "r-xp",
                &format!("/lib/mod{i}.so"),
            ));
        }
        let pic = picture(&regions, &[(regions[20].start, Change::Grew, 4)]);
        assert!(pic.blocks.len() <= MAX_BLOCKS, "{}", pic.blocks.len());
        assert_eq!(pic.blocks[0].label, "[heap]");
        assert_eq!(pic.highlighted().count(), 1);
        assert_eq!(pic.highlighted().next().unwrap().label, "mod19.so");
        // Every region is still counted, in some block.
        assert_eq!(pic.blocks.iter().map(|b| b.regions).sum::<usize>(), 41);
    }

    #[test]
    fn the_text_fits_and_states_its_scale() {
        let regions = process();
        let pic = picture(&regions, &[(regions[4].start, Change::Grew, 10240)]);
        for width in [40, 60, 80, 200] {
            let text = draw_text(&pic, false, width);
            assert!(
                text.lines().all(|l| l.chars().count() <= width),
                "{width}:\n{text}"
            );
            // From 60 columns, one cell per doubling of the size.
            let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(
                words.contains("one more each time the size doubles"),
                width >= 60,
                "{text}"
            );
        }
        let text = draw_text(&pic, false, 60);
        // High addresses on top: [stack] above the libraries above [heap].
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s}: {text}"));
        assert!(at("[stack]") < at("libc.so.6"));
        assert!(at("libc.so.6") < at("> [anon]"));
        assert!(at("> [anon]") < at("[heap]"));
        assert!(at("[heap]") < at("demo"));
        assert!(text.contains("TiB unmapped"), "{text}");
        // A huge block squeezes the bars, and the caption says how.
        let mut huge = process();
        huge.push(region(0x7ffd_0000_0000, 1 << 40, "---p", ""));
        let text = draw_text(&picture(&huge, &[]), false, 60);
        assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains("grows with the log of the size"), "{text}");
        // Colour only when asked.
        assert!(!text.contains('\x1b'));
        assert!(draw_text(&pic, true, 60).contains("\x1b[32m> [anon]"));
    }

    #[test]
    fn the_svg_has_a_titled_group_per_block_and_gaps() {
        let regions = process();
        let pic = picture(&regions, &[(regions[4].start, Change::Grew, 10240)]);
        let svg = draw_svg(&pic);
        assert_eq!(svg.matches("<g class=\"block ").count(), pic.blocks.len());
        assert_eq!(svg.matches("<g class=\"block grew\">").count(), 1);
        assert!(svg.contains("[anon]: 0x7eff"), "{svg}");
        assert_eq!(
            svg.matches("<g class=\"gap\">").count(),
            pic.blocks
                .iter()
                .filter(|b| b.gap_below_kib >= GAP_SHOWN_KIB)
                .count()
        );
        assert!(!svg.contains("<script"));
    }
}
