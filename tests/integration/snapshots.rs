//! The annotated expected output of every lab × implementation, kept under
//! `labs/<lab>/` as insta snapshots: normalised (no addresses, PIDs or
//! timings; sizes rounded to whole MiB, changes under 1 MiB hidden), so a reader
//! can open them and the tests keep them true.

use observer::{catalog, render, run_lab};

use crate::util::run_options;

fn pin(lab_name: &str) {
    let lab = catalog::find(lab_name).unwrap();
    for source in &lab.impls {
        let report = run_lab(lab, source.imp, &run_options(), |_| Ok(()))
            .unwrap_or_else(|e| panic!("{lab_name} {}: {e}", source.imp));
        let text = render::annotated(lab, &report);
        insta::with_settings!({
            snapshot_path => format!("{}/labs/{lab_name}", env!("CARGO_MANIFEST_DIR")),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{lab_name}-{}", source.imp), text);
        });
    }
}

#[test]
fn heap_annotated_outputs() {
    pin("heap");
}

#[test]
fn mmap_annotated_outputs() {
    pin("mmap");
}

#[test]
fn pylist_annotated_outputs() {
    pin("pylist");
}

#[test]
fn zeropage_annotated_outputs() {
    pin("zeropage");
}

#[test]
fn threads_annotated_outputs() {
    pin("threads");
}

#[test]
fn fragmentation_annotated_outputs() {
    pin("fragmentation");
}

#[test]
fn leak_annotated_outputs() {
    pin("leak");
}

#[test]
fn shared_annotated_outputs() {
    pin("shared");
}

#[test]
fn filemap_annotated_outputs() {
    pin("filemap");
}
