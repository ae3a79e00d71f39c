//! Every snapshot is internally consistent and agrees with the kernel's own
//! sums: at each step, while the demo is blocked, the per-region sums equal the
//! totals and the totals equal `/proc/PID/smaps_rollup`.

use observer::spec::catalog;
use observer::{run_lab, Impl};

use crate::util::run_options;

/// `Key: value kB` fields of smaps_rollup.
fn rollup(pid: i32) -> std::collections::HashMap<String, u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((
                k.to_string(),
                v.trim().strip_suffix(" kB")?.trim().parse().ok()?,
            ))
        })
        .collect()
}

#[test]
fn totals_agree_with_smaps_rollup_at_every_step() {
    for (lab, imp) in [
        ("heap", Impl::C),
        ("heap", Impl::Rust),
        ("mmap", Impl::C),
        ("pylist", Impl::Python),
    ] {
        let lab = catalog::find(lab).unwrap();
        let mut steps = 0;
        run_lab(lab, imp, &run_options(), |report| {
            let snap = &report.steps.last().unwrap().snapshot;
            // The demo is still blocked at this step's prompt: same state.
            let kernel = rollup(report.pid);
            let t = &snap.totals;
            let sum = |f: fn(&pmap_view::Region) -> u64| snap.regions.iter().map(f).sum::<u64>();
            assert_eq!(t.rss_kib, sum(|r| r.fields.rss));
            assert_eq!(t.size_kib, sum(|r| r.fields.size));
            assert_eq!(
                t.rss_kib,
                kernel["Rss"],
                "{} {imp} step {}",
                lab.name(),
                steps
            );
            assert_eq!(
                t.dirty_kib,
                kernel["Shared_Dirty"] + kernel["Private_Dirty"]
            );
            assert_eq!(t.anonymous_kib, kernel["Anonymous"]);
            assert_eq!(t.swap_kib, kernel["Swap"]);
            // Pss of file pages shared with other processes (libc…) moves
            // whenever another process maps or unmaps them, so compare it on a
            // capture taken between two equal rollups. Each region's Pss is
            // truncated to whole KiB; the rollup sums before truncating.
            let pss_held = (0..50).any(|_| {
                let before = rollup(report.pid)["Pss"];
                let ours = pmap_view::Snapshot::capture(report.pid)
                    .unwrap()
                    .totals
                    .pss_kib;
                let after = rollup(report.pid)["Pss"];
                let regions = snap.regions.len() as u64;
                before == after && before >= ours && before - ours < regions
            });
            assert!(pss_held, "Pss never agreed with smaps_rollup");
            steps += 1;
            Ok(observer::Next::Continue)
        })
        .unwrap();
        assert_eq!(steps, lab.spec.steps.len());
    }
}
