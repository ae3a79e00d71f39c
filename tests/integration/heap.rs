//! `lab heap --no-pause --json` for each implementation: the region facts the
//! lab teaches, asserted from the JSON of real runs.

use serde_json::Value;

use crate::util::lab_json;

const PAGE_KIB: i64 = 4;

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn total(step: &Value, field: &str) -> i64 {
    num(&step["totals"][field])
}

fn delta(steps: &[Value], i: usize, field: &str) -> i64 {
    total(&steps[i], field) - total(&steps[i - 1], field)
}

/// The changes of a step that moved something by 1 MiB or more.
fn big_changes(step: &Value) -> Vec<&Value> {
    step["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            ["size_delta_kib", "rss_delta_kib"]
                .iter()
                .any(|f| num(&c[f]).abs() >= 1024)
        })
        .collect()
}

/// The region of a step's snapshot that starts at a change's start.
fn region_of<'a>(step: &'a Value, change: &Value) -> &'a Value {
    step["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["start"] == change["start"])
        .expect("a changed region is in the snapshot")
}

fn heap_size(step: &Value) -> i64 {
    step["regions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "heap")
        .map(|r| num(&r["size_kib"]))
        .sum()
}

fn assert_heap_facts(imp: &str) {
    let report = lab_json(&["heap", "--no-pause", "--json", "--impl", imp], 0);
    assert_eq!(report["lab"], "heap");
    assert_eq!(report["impl"], imp);
    assert_eq!(report["passed"], true);
    assert!(num(&report["pid"]) > 0);
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 7);
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(num(&s["index"]), i as i64);
        // Per-region sums are the totals.
        let rss: i64 = s["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| num(&r["rss_kib"]))
            .sum();
        assert_eq!(rss, total(s, "rss_kib"));
        for c in s["checks"].as_array().unwrap() {
            assert_eq!(c["passed"], true, "{imp} step {i}: {c}");
        }
    }

    // Step 1: one anonymous private mapping of 10 MiB plus a header page; RSS barely moves.
    let big = big_changes(&steps[1]);
    assert_eq!(big.len(), 1, "{imp}: one region holds the 10 MiB: {big:?}");
    assert_eq!(big[0]["kind"], "anon");
    assert!(
        (10240..=10240 + PAGE_KIB).contains(&num(&big[0]["size_delta_kib"])),
        "{}",
        big[0]
    );
    let region = region_of(&steps[1], big[0]);
    assert_eq!(region["perms"], "rw-p");
    assert!(num(&region["size_kib"]) >= 10240);
    assert!(delta(steps, 1, "size_kib") >= 10240);
    assert!(delta(steps, 1, "rss_kib") < 1024);
    assert_eq!(
        heap_size(&steps[1]),
        heap_size(&steps[0]),
        "[heap] did not move"
    );

    // Step 2: the 50 MiB land next to the 10 MiB: one region grows by 50 MiB.
    let big = big_changes(&steps[2]);
    assert_eq!(big.len(), 1, "{imp}: {big:?}");
    assert_eq!(
        (big[0]["kind"].as_str(), big[0]["change"].as_str()),
        (Some("anon"), Some("grew"))
    );
    assert!((51200..=51200 + PAGE_KIB).contains(&num(&big[0]["size_delta_kib"])));
    assert!(num(&region_of(&steps[2], big[0])["size_kib"]) >= 61440);
    assert!(delta(steps, 2, "rss_kib") < 1024);

    // Step 3: 10 MiB resident and dirty, in that region, no new address space.
    let big = big_changes(&steps[3]);
    assert_eq!(big.len(), 1, "{imp}: {big:?}");
    assert_eq!(num(&big[0]["rss_delta_kib"]), 10240);
    assert_eq!(num(&big[0]["dirty_delta_kib"]), 10240);
    assert_eq!(delta(steps, 3, "size_kib"), 0);

    // Step 4: both blocks unmapped; back to the start.
    assert_eq!(total(&steps[4], "size_kib"), total(&steps[0], "size_kib"));
    // (Anonymous memory: code pages fault in 64 KiB at a time and are noise here.)
    assert!(
        (total(&steps[4], "anonymous_kib") - total(&steps[0], "anonymous_kib")).abs()
            <= 4 * PAGE_KIB
    );

    // Step 5: free(a) raised the mmap threshold, so the same 10 MiB now come
    // from [heap] (brk): [heap] grows by about 10 MiB, and that is all that grows.
    let grown = heap_size(&steps[5]) - heap_size(&steps[4]);
    assert!(
        (10240..=10240 + 128 + PAGE_KIB).contains(&grown),
        "{imp}: [heap] grew by {grown} KiB"
    );
    assert_eq!(
        delta(steps, 5, "size_kib"),
        grown,
        "{imp}: only [heap] grew"
    );
    assert!(delta(steps, 5, "rss_kib") < 1024);

    // Step 6: free keeps it (the trim threshold is twice the new threshold).
    assert_eq!(heap_size(&steps[6]), heap_size(&steps[5]), "{imp}");
    assert_eq!(delta(steps, 6, "size_kib"), 0, "{imp}");
}

#[test]
fn heap_rust_port_really_allocates_and_writes() {
    assert_heap_facts("rust");
}

#[test]
fn heap_c_demo_shows_the_same_facts() {
    assert_heap_facts("c");
}

/// A failed check is a verdict (exit 1), not an error: the C demo built with
/// every malloc wrapped to write its whole block (`CC` with flags and an
/// extra source, as a student might build it) makes the 10 MiB resident at
/// once, and the lazy-allocation check says so.
#[test]
fn a_check_that_does_not_hold_fails_the_run_with_exit_1() {
    let dir = std::env::temp_dir().join(format!("pmap-lab-test-touch-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let cc = crate::util::touching_malloc_cc(&dir);
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["heap", "--impl", "c", "--no-pause", "--json"])
        .env("CC", &cc)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::LabRun, &out.stdout);
    let failed: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"malloc10-rss"), "{failed:?}");
}

/// The allocator variables of the environment are removed for the demo (and
/// the run says so); kept with --keep-alloc-env, a setting the lab does not
/// model makes its checks not applicable, naming it, rather than failing.
#[test]
fn allocator_settings_are_cleared_or_named() {
    let run = |keep: bool| {
        let mut args = vec!["heap", "--impl", "c", "--no-pause", "--json"];
        if keep {
            args.push("--keep-alloc-env");
        }
        let out = std::process::Command::new(crate::util::lab_exe())
            .args(&args)
            .env("MALLOC_MMAP_THRESHOLD_", (128 << 20).to_string())
            .output()
            .unwrap();
        // Kept, no check of the lab applies: nothing was verified, exit 3.
        assert_eq!(
            out.status.code(),
            Some(if keep { 3 } else { 0 }),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        crate::util::json_doc(crate::util::Doc::LabRun, &out.stdout)
    };
    let cleared = run(false);
    assert_eq!(
        cleared["cleared_env"][0],
        "MALLOC_MMAP_THRESHOLD_=134217728"
    );
    assert_eq!(cleared["machine"]["malloc_settings"], "default");
    let kept = run(true);
    assert_eq!(
        kept["machine"]["malloc_settings"],
        "mmap_threshold=134217728"
    );
    assert_eq!(cleared["result"], "pass");
    assert_eq!(
        (&kept["result"], &kept["passed"]),
        (&"n/a".into(), &false.into())
    );
    assert!(
        kept["nothing_to_check"][0]
            .as_str()
            .is_some_and(|w| w.contains("malloc settings: mmap_threshold=134217728")),
        "{}",
        kept["nothing_to_check"]
    );
    let checks: Vec<&serde_json::Value> = kept["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["checks"].as_array().unwrap())
        .collect();
    assert!(!checks.is_empty());
    for c in checks {
        assert_eq!(c["status"], "n/a", "{c}");
        assert!(
            c["not_applicable"]
                .as_str()
                .unwrap()
                .contains("mmap_threshold"),
            "{c}"
        );
    }
}

/// A suite run in which no check of a lab applies says so, as its own
/// result, in the table and the JSON, and does not fail the suite: it is not
/// a pass either. (Issue 18: it used to read "pass 0/0".)
#[test]
fn a_run_with_nothing_to_check_is_not_a_pass() {
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["check", "fragmentation", "--keep-alloc-env", "--json"])
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=200000")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = crate::util::json_doc(crate::util::Doc::Check, &out.stdout);
    let run = &doc["runs"][0];
    assert_eq!(
        (&run["result"], &run["passed"]),
        (&"n/a".into(), &false.into())
    );
    assert_eq!(run["checks_total"], 0);
    let text = std::process::Command::new(crate::util::lab_exe())
        .args(["check", "fragmentation", "--keep-alloc-env"])
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=200000")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("fragmentation (c): nothing to check on this machine: malloc settings: mmap_threshold=200000"),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("fragmentation") && l.contains(" n/a ")),
        "{shown}"
    );
}
