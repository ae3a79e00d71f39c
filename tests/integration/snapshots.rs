//! The annotated expected output of every lab × implementation, kept under
//! `labs/<lab>/` as insta snapshots: normalised (no addresses, PIDs or
//! timings; sizes rounded to the lab's resolution, changes under it hidden;
//! checks pinned by their rule, not by this machine's numbers), so a reader
//! can open them and the tests keep them true.
//!
//! A lab whose output depends on machine facts (`machine = ["cpus", "stack"]`
//! in its lab.toml) is pinned per value of those facts, in a file named by
//! them (`threads-c.stack-8192-KiB.cpus-2.stack_merge-no.stack_guards-mappings.snap`); on a machine with other
//! values and no such file, the comparison is skipped with a message saying
//! so, while the lab's checks are still required to hold. `PMAP_LAB_PIN=1
//! INSTA_UPDATE=always` records the output for this machine's values.

use observer::run_through;
use observer::spec::catalog;
use observer::views::render;

use crate::util::run_options;

fn pin(lab_name: &str) {
    let lab = catalog::find(lab_name)
        .unwrap_or_else(|| panic!("labs/{lab_name} is not compiled in (crates/observer/build.rs)"));
    let dir = format!("{}/labs/{lab_name}", env!("CARGO_MANIFEST_DIR"));
    for source in &lab.impls {
        let report = run_through(lab, source.imp, &run_options())
            .unwrap_or_else(|e| panic!("{lab_name} {}: {e}", source.imp));
        let failed: Vec<String> = report
            .steps
            .iter()
            .flat_map(|s| &s.checks)
            .filter(|c| c.status == observer::spec::check::Status::Fail)
            .map(|c| format!("{}: expected {}; observed {}", c.id, c.expected, c.observed))
            .collect();
        assert!(failed.is_empty(), "{lab_name} {}: {failed:#?}", source.imp);
        let name = lab.pinned_name(source.imp, &report.facts);
        let prefix = format!("{lab_name}-{}.", source.imp);
        let pinned: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with(&prefix) && f.ends_with(".snap"))
            .collect();
        // PMAP_LAB_PIN=1 records the output for this machine's facts (run
        // where the facts really are those values; read it before committing).
        if !lab.spec.machine.is_empty()
            && std::env::var_os("PMAP_LAB_PIN").is_none()
            && !pinned.is_empty()
            && !pinned.contains(&format!("{name}.snap"))
        {
            crate::util::skip(
                "every_lab_has_its_annotated_outputs",
                &format!(
                    "labs/{lab_name}/{name}.snap: the annotated output is pinned only for \
                     {} ({}); this machine has {}. Its checks held",
                    pinned.join(", "),
                    lab.spec.machine.join(", "),
                    report.facts.describe(&lab.spec.machine)
                ),
            );
            continue;
        }
        let text = render::annotated(lab, &report);
        insta::with_settings!({
            snapshot_path => dir.clone(),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name, text);
        });
    }
}

/// Every folder of labs/ with a lab.toml, each lab in turn; a failure names
/// its lab (and its message, with the diff, is printed above the summary).
#[test]
fn every_lab_has_its_annotated_outputs() {
    let root = format!("{}/labs", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("lab.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 9, "labs/ has the built-in labs: {names:?}");
    // scripts/pinned-variants.sh runs one lab under other machine facts.
    if let Ok(only) = std::env::var("PMAP_LAB_SNAPSHOT_LABS") {
        let only: Vec<&str> = only.split(',').collect();
        for want in &only {
            assert!(names.iter().any(|n| n == want), "no lab {want} in labs/");
        }
        names.retain(|n| only.contains(&n.as_str()));
    }
    let failed: Vec<&String> = names
        .iter()
        .filter(|name| std::panic::catch_unwind(|| pin(name)).is_err())
        .collect();
    assert!(
        failed.is_empty(),
        "the annotated outputs of these labs differ or their checks failed: {failed:?}"
    );
}
