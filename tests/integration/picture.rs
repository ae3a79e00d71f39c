//! The picture of the whole address space (`observer::views::picture`) on
//! real runs: it shows where the step's memory went, highlights exactly the
//! regions the step's table shows, fits 60 columns, and is well-formed SVG
//! in the page.

use observer::views::picture::{self, Block, Picture, What, When};
use observer::views::render::{self, Style};
use observer::views::step::{Resolution, StepView};
use observer::{run_through, Impl};
use pmap_view::Change;

use observer::spec::catalog;

use crate::util::run_options;

/// The block that holds address `at` (a vanished region's: the ghost).
fn block_at(pic: &Picture, at: u64, gone: bool) -> &Block {
    pic.blocks
        .iter()
        .find(|b| b.gone == gone && b.start <= at && at < b.end)
        .unwrap_or_else(|| panic!("no block at {at:#x}: {:#?}", pic.blocks))
}

/// Every region of the step's table is in a highlighted block, and no
/// other region is: the picture marks what the table shows.
fn highlights_the_rows(report: &observer::Report, index: usize) {
    let view = StepView::of(report, index, Resolution::Page);
    let pic = Picture::of(&view, report.page_kib());
    let mut shown = std::collections::BTreeSet::new();
    for row in view.changes.rows.iter().filter(|r| !r.landmark) {
        for m in &row.members {
            let (at, gone) = match (m.change, m.part_of) {
                (Change::Vanished, _) => (m.region().start, true),
                (Change::Merged, Some(p)) => (p.start, false),
                _ => (m.region().start, false),
            };
            let b = block_at(&pic, at, gone);
            assert!(
                b.change.is_some(),
                "step {index}: {:?} at {at:#x} is a row, its block is not marked: {b:#?}",
                m.change
            );
            shown.insert(at);
        }
    }
    // A block marked holds a row's region; the others hold none.
    for b in pic.blocks.iter().filter(|b| b.change.is_some()) {
        assert!(
            shown.iter().any(|&at| b.start <= at && at < b.end),
            "step {index}: {b:#?} is marked but holds no row"
        );
    }
    // Every region of the capture is in one block, counted once.
    let snap = &report.steps[index].snapshot;
    let live: Vec<&Block> = pic.blocks.iter().filter(|b| !b.gone).collect();
    assert_eq!(
        live.iter().map(|b| b.regions).sum::<usize>(),
        snap.regions.len(),
        "step {index}"
    );
    assert_eq!(
        live.iter().map(|b| b.size_kib).sum::<u64>(),
        snap.totals.size_kib,
        "step {index}"
    );
    // In address order, low first; the gaps are the unmapped space between.
    for w in pic.blocks.windows(2) {
        assert!(w[0].start <= w[1].start, "step {index}: {w:#?}");
    }
}

#[test]
fn heap_step_1_shows_where_the_10_mib_went() {
    let lab = catalog::find("heap").unwrap();
    let report = run_through(lab, Impl::Rust, &run_options()).unwrap();
    let page = report.page_kib();
    let pic = Picture::of_step(&report, 1);
    let marked: Vec<(usize, &Block)> = pic
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| b.change.is_some())
        .collect();
    assert_eq!(marked.len(), 1, "{:#?}", pic.blocks);
    let (i, b) = marked[0];
    // The anonymous mapping that grew by 10 MiB (and the chunk header's page).
    assert_eq!(b.what, What::Anon, "{b:#?}");
    assert_eq!(b.label, "[anon]");
    assert!(
        matches!(b.change, Some(Change::Grew | Change::Appeared)),
        "{b:#?}"
    );
    assert!(
        (10 * 1024..=10 * 1024 + page as i64).contains(&b.delta.size),
        "{b:#?}"
    );
    assert!(b.size_kib >= 10 * 1024);
    // Where: mmap hands out addresses top-down below the libraries, far
    // above [heap]: in address order [heap], then the 10 MiB, then libc.
    let heap = pic
        .blocks
        .iter()
        .position(|b| b.what == What::Heap)
        .expect("[heap]");
    assert!(heap < i, "[heap] below the 10 MiB");
    // The next library up is libc: right above when the block merged with
    // the TLS pages below libc (glibc 2.36 here), with those pages between
    // them when it did not (the Rust port under glibc 2.41).
    let above = pic.blocks[i + 1..]
        .iter()
        .position(|b| b.what == What::Library)
        .map(|n| i + 1 + n)
        .expect("a library above the 10 MiB");
    // libc.so.6 (glibc 2.34 on), libc-2.31.so before.
    assert!(
        pic.blocks[above].label.starts_with("libc.")
            || pic.blocks[above].label.starts_with("libc-"),
        "{:#?}",
        pic.blocks[above]
    );
    assert!(
        pic.blocks[i + 1..above]
            .iter()
            .all(|b| b.size_kib < 1024 && b.change.is_none()),
        "only the few unchanged pages of TLS between: {:#?}",
        &pic.blocks[i + 1..above]
    );
    assert!(pic.blocks[..i]
        .iter()
        .all(|b| !matches!(b.what, What::Library)));
    // Between the 10 MiB and [heap]: unmapped space, drawn as a break.
    assert!(
        pic.blocks[heap + 1..=i]
            .iter()
            .any(|b| b.gap_below_kib >= picture::GAP_SHOWN_KIB),
        "{:#?}",
        pic.blocks
    );
    // The program is the lowest block; [stack] is above every library.
    assert_eq!(pic.blocks[0].what, What::Program);
    let stack = pic
        .blocks
        .iter()
        .position(|b| b.what == What::Stack)
        .unwrap();
    assert!(pic.blocks[..stack].iter().any(|b| b.what == What::Library));
    assert!(pic.blocks[stack..].iter().all(|b| b.what != What::Library));

    // The terminal: under the table at 60 columns, high addresses on top.
    let style = Style {
        width: 60,
        ..Style::default()
    };
    let text = render::step(&report, 1, style);
    assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
    let picture_at = text.find("The whole address space").expect("a picture");
    assert!(
        picture_at > text.find("total kB").unwrap(),
        "under the table"
    );
    let drawn = &text[picture_at..text.find("\nchecks:").unwrap()];
    let line = |prefix: &str| {
        drawn
            .lines()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line `{prefix}`:\n{drawn}"))
    };
    let anon = drawn
        .lines()
        .position(|l| l.starts_with("> [anon]") || l.starts_with("+ [anon]"))
        .unwrap_or_else(|| panic!("{drawn}"));
    // libc.so.6 since glibc 2.34, libc-2.31.so before.
    let libc = drawn
        .lines()
        .position(|l| l.starts_with("  libc.so.6") || l.starts_with("  libc-2."))
        .unwrap_or_else(|| panic!("no libc line:\n{drawn}"));
    assert!(line("  [stack]") < libc, "{drawn}");
    assert!(libc < anon, "{drawn}");
    assert!(anon < line("  [heap]"), "{drawn}");
    assert!(line("  [heap]") < line("  lab"), "{drawn}");
    assert!(drawn.lines().nth(anon).unwrap().ends_with("+10.0 MiB"));
    assert!(drawn.contains("TiB unmapped"), "{drawn}");
    // A dozen or two lines.
    assert!(drawn.lines().count() <= 26, "{drawn}");
    // No colour unless asked; with it, the change is in the table's green.
    assert!(!text.contains('\x1b'));
    let coloured = picture::text(&report, 1, true, 60);
    assert!(
        coloured.contains("\x1b[32m> [anon]") || coloured.contains("\x1b[32m+ [anon]"),
        "{coloured}"
    );

    // When: step 0 and where address space moved; not step 3 (a write: only
    // RSS and Dirty moved), unless --picture.
    assert!(picture::shown(&report, 0, When::Layout));
    assert!(picture::shown(&report, 1, When::Layout));
    assert!(picture::shown(&report, 4, When::Layout), "free unmaps");
    assert!(!picture::shown(&report, 3, When::Layout));
    assert!(picture::shown(&report, 3, When::Every));
    assert!(!picture::shown(&report, 1, When::Never));
    assert!(!render::step(&report, 3, style).contains("The whole address space"));
    // Step 4: the 60 MiB went back to the kernel: the region shrank by it.
    let pic = Picture::of_step(&report, 4);
    let freed: Vec<&Block> = pic.highlighted().collect();
    assert!(
        freed
            .iter()
            .any(|b| b.what == What::Anon && b.delta.size <= -60 * 1024),
        "{freed:#?}"
    );

    for index in 0..report.steps.len() {
        highlights_the_rows(&report, index);
    }
}

#[test]
fn a_hundred_thread_stacks_are_one_block_and_the_rows_are_marked() {
    let lab = catalog::find("threads").unwrap();
    let report = run_through(lab, Impl::Rust, &run_options()).unwrap();
    let pic = Picture::of_step(&report, 1);
    if report.facts.get("stack_guards") == Some("guard regions") {
        // glibc 2.42+ on Linux 6.13+: the guards are inside, and the 100
        // stacks merged into one region: one new block of 100 stacks.
        let stack = report.facts.thread_stack_kib() as u64 + report.page_kib();
        let stacks = pic
            .blocks
            .iter()
            .find(|b| b.size_kib == 100 * stack)
            .unwrap_or_else(|| panic!("{:#?}", pic.blocks));
        assert_eq!((stacks.repeats, stacks.regions), (1, 1));
        assert_eq!(stacks.change, Some(Change::Appeared));
        for index in 0..report.steps.len() {
            highlights_the_rows(&report, index);
        }
        return;
    }
    let stacks = pic
        .blocks
        .iter()
        .find(|b| b.label == "[anon] x100")
        .unwrap_or_else(|| panic!("{:#?}", pic.blocks));
    // Each a stack and its guard page, all new.
    assert_eq!((stacks.repeats, stacks.regions), (100, 200));
    assert_eq!(stacks.change, Some(Change::Appeared));
    let page = report.page_kib();
    assert_eq!(stacks.size_kib % 100, 0);
    assert!(stacks.size_kib / 100 > 1024 + page, "{stacks:#?}");
    let text = picture::text(&report, 1, false, 60);
    assert!(text.contains("+ [anon] x100"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 60), "{text}");
    for index in 0..report.steps.len() {
        highlights_the_rows(&report, index);
    }
}

/// A well-formed SVG fragment: tags balance, attributes are quoted, text
/// holds only the five escapes.
fn assert_well_formed(svg: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "a bare > in text: {text}");
        for (i, _) in text.match_indices('&') {
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| text[i..].starts_with(e)),
                "a bare & in text: {text}"
            );
        }
        let gt = rest[lt..].find('>').expect("a tag ends") + lt;
        let tag = &rest[lt + 1..gt];
        assert!(
            tag.matches('"').count() % 2 == 0,
            "unbalanced quotes: {tag}"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "in {svg}");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap();
            open.push(name.to_string());
        }
        rest = &rest[gt + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

#[test]
fn the_page_has_a_well_formed_picture_per_step() {
    let lab = catalog::find("heap").unwrap();
    let report = run_through(lab, Impl::Rust, &run_options()).unwrap();
    let page = observer::views::html::run_page(&report);
    let articles: Vec<&str> = page.split("<article class=\"step\"").skip(1).collect();
    assert_eq!(articles.len(), report.steps.len());
    for (i, article) in articles.iter().enumerate() {
        let start = article
            .find("<figure class=\"picture\"")
            .unwrap_or_else(|| panic!("step {i}: no picture"));
        let end = article[start..].find("</figure>").unwrap() + start + "</figure>".len();
        let figure = &article[start..end];
        assert_well_formed(figure);
        let pic = Picture::of_step(&report, i);
        // A group with a tooltip per block: its addresses, size and RSS.
        assert_eq!(
            figure.matches("<g class=\"block ").count(),
            pic.blocks.len(),
            "step {i}"
        );
        for g in figure.split("<g class=\"block ").skip(1) {
            let g = &g[..g.find("</g>").unwrap()];
            assert!(
                g.contains("<title>") && g.contains(", RSS "),
                "step {i}: {g}"
            );
        }
        let marked = figure.matches("<g class=\"block ").count()
            - figure.matches("<g class=\"block unchanged\">").count();
        assert_eq!(marked, pic.highlighted().count(), "step {i}");
        if i == 1 {
            // Grew where it merged with the TLS pages, appeared where not.
            assert!(
                figure.contains("<g class=\"block grew\">")
                    || figure.contains("<g class=\"block appeared\">"),
                "{figure}"
            );
            assert!(figure.contains("[anon]: 0x"), "{figure}");
        }
    }
}
