//! Every view shows the same rows: the terminal, the HTML page, the JSON
//! document and `lab diff` format one model of a step (`observer::views::step`), so
//! on one real run of the threads lab (100 stacks and guard pages at once)
//! they agree row for row, and group alike regions alike.

use observer::spec::catalog;
use observer::views::render::{self, Style};
use observer::{run_through, Impl};

use crate::util::run_options;

/// The rows of a terminal table: a mark, then a 16-digit address.
fn terminal_rows(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 18
                && b[1] == b' '
                && b[2..18].iter().all(|c| c.is_ascii_hexdigit())
                && b" +-<>~/\\".contains(&b[0])
        })
        .collect()
}

#[test]
fn terminal_html_json_and_diff_show_the_same_rows() {
    let lab = catalog::find("threads").unwrap();
    let report = run_through(lab, Impl::Rust, &run_options()).unwrap();
    let wide = Style {
        width: 400,
        ..Style::default()
    };
    let page = observer::views::html::run_page(&report);
    let doc = serde_json::to_value(observer::views::json::RunDocument::of(&report)).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    // The HTML page's steps, in order.
    let articles: Vec<&str> = page.split("<article class=\"step\"").skip(1).collect();
    assert_eq!(articles.len(), report.steps.len());
    let mut grouped = 0;
    for i in 1..report.steps.len() {
        let text = render::step(&report, i, wide);
        let rows = terminal_rows(&text);
        // The landmarks ([heap], [stack] unchanged) are rows with no change.
        let landmarks = rows.iter().filter(|r| r.starts_with(' ')).count();
        // JSON: one change per region; a group's regions share a number.
        let changes = steps[i]["changes"].as_array().unwrap();
        let mut groups = std::collections::BTreeMap::new();
        let mut singles = 0;
        for c in changes {
            match c.get("group") {
                Some(g) => *groups.entry(g.as_u64().unwrap()).or_insert(0) += 1,
                None => singles += 1,
            }
        }
        assert_eq!(
            rows.len() - landmarks,
            singles + groups.len(),
            "step {i}: terminal rows vs JSON changes\n{text}"
        );
        let html_rows = articles[i].matches("<tr class=\"").count()
            - articles[i].matches("<tr class=\"map\"").count();
        assert_eq!(html_rows, rows.len(), "step {i}: terminal vs HTML rows");
        // `lab diff` of the same two captures shows the same rows.
        let diffed = observer::views::compare::render(
            &report.steps[i - 1].snapshot,
            &report.steps[i].snapshot,
            wide,
        );
        assert_eq!(
            terminal_rows(&diffed),
            rows,
            "step {i}: lab diff vs the step's view"
        );
        // Each group is one row "xN" in the terminal and the page.
        for (_, n) in groups {
            grouped += 1;
            let mark = format!("x{n} alike, each");
            assert!(text.contains(&mark), "step {i}: no `{mark}` row\n{text}");
            assert!(articles[i].contains(&mark), "step {i}: no `{mark}` in HTML");
        }
        // Expanded, every region of a group has its row.
        let expanded = render::step(
            &report,
            i,
            Style {
                expand: true,
                ..wide
            },
        );
        assert_eq!(
            terminal_rows(&expanded).len() - landmarks,
            changes.len(),
            "step {i}: expanded rows vs JSON changes"
        );
    }
    // Step 1: the 100 guard pages are alike (nothing in them), one group of
    // 100; the 100 stacks make a group each time their RSS is the same (a
    // thread caught at another depth of its stack makes a row of its own).
    let appeared: Vec<&serde_json::Value> = steps[1]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"] == "appeared" && c["kind"] == "anon")
        .collect();
    if report.facts.get("stack_guards") == Some("guard regions") {
        // glibc 2.42+ on Linux 6.13+: the guards are inside the stacks'
        // mapping, and the 100 stacks are one region: one row, no group.
        assert_eq!(appeared.len(), 1, "{appeared:?}");
        assert!(appeared[0].get("group").is_none());
        return;
    }
    assert_eq!(appeared.len(), 200, "{appeared:?}");
    let page = report.page_kib() as i64;
    let guards: Vec<&&serde_json::Value> = appeared
        .iter()
        .filter(|c| c["size_delta_kib"].as_i64() == Some(page))
        .collect();
    assert_eq!(guards.len(), 100);
    assert!(
        guards.iter().all(|c| c["group"] == guards[0]["group"]),
        "the guard pages are not one group"
    );
    assert!(grouped >= 2, "no group at all");
}

/// filemap's page-cache reading is one number in every view: the terminal
/// and the HTML page say it in exact KiB, the same as
/// the JSON and the check that measures it, so a few evicted pages never read
/// as "100.0 MiB of 100.0 MiB" beside a check that counts them.
#[test]
fn filemap_page_cache_reads_the_same_in_every_view() {
    let lab = catalog::find("filemap").unwrap();
    let report = run_through(lab, Impl::C, &run_options()).unwrap();
    let page = observer::views::html::run_page(&report);
    let doc = serde_json::to_value(observer::views::json::RunDocument::of(&report)).unwrap();
    let mut seen = 0;
    for (i, s) in report.steps.iter().enumerate() {
        let Some(cache) = &s.cache else { continue };
        seen += 1;
        let words = format!("{} of {} KiB resident", cache.resident_kib, cache.size_kib);
        let text = render::step(&report, i, Style::default());
        assert!(text.contains(&words), "step {i}: terminal\n{text}");
        assert!(page.contains(&words), "step {i}: HTML");
        let json = &doc["steps"][i]["page_cache"];
        assert_eq!(json["resident_kib"], cache.resident_kib, "step {i}: JSON");
        for c in s.checks.iter().filter(|c| c.id.starts_with("unmap-cache")) {
            assert_eq!(
                c.observed,
                format!("{} KiB", cache.resident_kib),
                "step {i}: the check reads the same number"
            );
        }
    }
    assert_eq!(
        seen,
        report.steps.len(),
        "every step reads the file's cache"
    );
}
