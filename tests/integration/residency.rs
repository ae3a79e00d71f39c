//! Residency maps (from /proc/PID/pagemap) and the step timeline, on real
//! runs: the JSON's run-length pages agree with smaps's RSS, and the terminal
//! shows "10 MiB written out of 60 MiB" as a bar a sixth full.

use serde_json::Value;

use crate::util::{lab_exe, lab_json};

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Pages in `state` among a change's residency runs.
fn pages(change: &Value, state: &str) -> u64 {
    change["residency"]
        .as_array()
        .unwrap_or_else(|| panic!("no residency map: {change}"))
        .iter()
        .filter(|r| r["state"] == state)
        .map(|r| num(&r["pages"]))
        .sum()
}

/// The change of a step at the region with the most virtual size.
fn largest_change(step: &Value) -> &Value {
    step["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] != "vanished")
        .max_by_key(|c| {
            let region = step["regions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["start"] == c["start"])
                .unwrap();
            num(&region["size_kib"])
        })
        .expect("the step changed a region")
}

#[test]
fn heap_maps_agree_with_smaps_and_show_where_the_written_pages_are() {
    for imp in ["rust", "c"] {
        let report = lab_json(&["heap", "--no-pause", "--json", "--impl", imp], 0);
        let page_kib = num(&report["page_size_kib"]);
        let steps = report["steps"].as_array().unwrap();
        assert!(
            steps[0]["changes"].as_array().unwrap().is_empty(),
            "step 0 has nothing to compare with"
        );
        for step in &steps[1..] {
            for change in step["changes"].as_array().unwrap() {
                // A map for every region whose pages moved; none for one that
                // vanished (no pages) or whose PSS alone moved (another
                // process mapped the same file: its pages did not change).
                let moved = ["size_delta_kib", "rss_delta_kib", "dirty_delta_kib"]
                    .iter()
                    .any(|f| change[f] != 0);
                let has_map = change.get("residency").is_some();
                assert_eq!(has_map, moved && change["change"] != "vanished", "{change}");
                if !has_map {
                    continue;
                }
                // Every page of the region, once; resident pages are its RSS
                // (the demo is blocked: smaps and pagemap saw the same moment).
                let region = step["regions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["start"] == change["start"])
                    .unwrap();
                let all = ["resident", "not_resident", "swapped"]
                    .iter()
                    .map(|s| pages(change, s))
                    .sum::<u64>();
                assert_eq!(all * page_kib, num(&region["size_kib"]), "{imp}: {change}");
                assert_eq!(
                    pages(change, "resident") * page_kib,
                    num(&region["rss_kib"]),
                    "{imp}: {change}"
                );
            }
        }
        // Step 3: the 10 MiB written are one resident run at the top of the
        // ~60 MiB block (mmap hands out addresses top-down: the first block is
        // above the second), the 50 MiB below are not resident.
        let block = largest_change(&steps[3]);
        let runs = block["residency"].as_array().unwrap();
        let longest = |state: &str| {
            runs.iter()
                .filter(|r| r["state"] == state)
                .map(|r| num(&r["pages"]))
                .max()
                .unwrap_or(0)
        };
        let mib = 1024 / page_kib;
        assert!(longest("resident") >= 10 * mib, "{imp}: {runs:?}");
        assert!(longest("not_resident") >= 50 * mib - 1, "{imp}: {runs:?}");
        let top_run = runs
            .iter()
            .rposition(|r| r["state"] == "resident" && num(&r["pages"]) >= 10 * mib)
            .unwrap();
        let below_top = runs
            .iter()
            .position(|r| r["state"] == "not_resident" && num(&r["pages"]) >= 50 * mib - 1)
            .unwrap();
        assert!(below_top < top_run, "{imp}: {runs:?}");
        assert!(runs.len() <= 8, "run-length form: {runs:?}");
    }
}

#[test]
fn the_terminal_shows_the_map_under_the_changed_row_and_a_timeline() {
    let out = std::process::Command::new(lab_exe())
        .args(["heap", "--no-pause"])
        .env("COLUMNS", "80")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let step3 = text
        .split("━━ Step ")
        .find(|s| s.starts_with("3 of"))
        .expect("step 3");
    let lines: Vec<&str> = step3.lines().collect();
    // 80 columns: the row, its changes under it (they do not fit beside it),
    // then the bar in 76 cells.
    let row = lines
        .windows(2)
        .position(|w| w[0].starts_with('~') && w[1].contains("RSS +10240 K"))
        .map(|r| r + 1)
        .unwrap_or_else(|| panic!("the written block's row:\n{step3}"));
    assert!(lines.iter().all(|l| l.chars().count() <= 80), "{step3}");
    let bar = lines[row + 1].trim();
    assert_eq!(bar.chars().count(), 76, "{bar}");
    let full = bar.chars().filter(|&c| c == '█').count();
    let empty = bar.chars().filter(|&c| c == '·').count();
    // 10 MiB of 60 MiB: a sixth of 76 cells is 12.7; cells cut by the block's
    // edges are partly resident (▒).
    assert!((11..=13).contains(&full), "{bar}");
    assert!((60..=64).contains(&empty), "{bar}");
    assert!(bar.ends_with('▒') || bar.ends_with('█'), "{bar}");
    // The caption says the scale: 15362 pages (10 MiB and 50 MiB, a header
    // page each) in 76 cells, plus the few pages of the TLS block below libc
    // when the blocks merged with it (5 with glibc 2.31, 3 with 2.36, 2 with
    // 2.41).
    let caption = &lines[row + 2];
    let pages: u64 = caption
        .split(" of ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{caption}"));
    assert!((15362..=15367).contains(&pages), "{caption}");
    assert!(
        caption.ends_with(" pages resident (1 cell = 203 pages, 812 KiB)"),
        "{caption}"
    );

    // The timeline: one line per step, RSS (█) inside the virtual size (░).
    let timeline = text
        .split("Timeline: ")
        .nth(1)
        .expect("a timeline at the end");
    let bars: Vec<&str> = timeline.lines().skip(1).take(5).collect();
    let cells = |line: &str, c: char| line.chars().filter(|&x| x == c).count();
    let virt: Vec<usize> = bars.iter().map(|l| cells(l, '█') + cells(l, '░')).collect();
    let rss: Vec<usize> = bars.iter().map(|l| cells(l, '█')).collect();
    // The two mallocs add 60 MiB of virtual size: that many cells, give or
    // take the rounding of each bar and of the scale. (Not a ratio to the
    // starting size, which includes the lab binary's own mappings: 8.3 MiB
    // at step 0 with Rust 1.85's build, 7.1 MiB with 1.95's.)
    let cell_mib: f64 = timeline
        .lines()
        .next()
        .and_then(|l| l.split("1 cell = ").nth(1))
        .and_then(|t| t.strip_suffix(" MiB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the scale: {timeline}"));
    let grown = virt[2] as f64 - virt[0] as f64;
    assert!((grown - 60.0 / cell_mib).abs() <= 2.0, "{timeline}");
    assert_eq!(virt[2], virt[3], "writing does not move virtual size");
    assert!(rss[3] >= rss[2] + 5, "writing 10 MiB adds RSS: {timeline}");
    assert_eq!(virt[4], virt[0], "free gives it all back: {timeline}");
    assert!(bars[3].contains(" MiB  RSS "), "{}", bars[3]);
}
