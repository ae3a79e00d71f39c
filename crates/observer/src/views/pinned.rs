//! The comparison of a run of a lab of one's own with its pinned annotated
//! output (`lab bless` wrote it; `crate::drive::pinned` names the file and
//! holds what the comparison found, which `lab check`'s suite carries).

use std::path::Path;

use crate::drive::pinned::{file_name, short_diff, Pinned, BLESSED};
use crate::drive::report::Report;
use crate::spec::lab::Lab;

/// The annotated output of a run of a lab of one's own, its demo's path
/// shown relative to the folder of labs (`mylab/mylab.c`), so that it reads
/// the same wherever the folder is.
pub fn annotated(lab: &Lab, report: &Report) -> String {
    let mut report = report.clone();
    if let Some(file) = Path::new(&report.source_file).file_name() {
        report.source_file = format!("{}/{}", lab.name(), file.to_string_lossy());
    }
    crate::views::render::annotated(lab, &report)
}

/// Compare a completed run of `lab` (a lab of one's own, with a folder)
/// with its pinned output; None when the lab has no folder or nothing is
/// pinned for its implementation.
pub fn compare(lab: &Lab, report: &Report) -> Option<Pinned> {
    let dir = lab.dir.as_ref()?;
    let file = dir.join(file_name(lab, report));
    let Ok(blessed) = std::fs::read_to_string(&file) else {
        let prefix = format!("{}-{}.", lab.name(), report.imp);
        let others = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let f = e.file_name().to_string_lossy().into_owned();
                f.starts_with(&prefix) && f.ends_with(".snap")
            });
        return others.then(|| Pinned::OtherFacts {
            file,
            facts: report.facts.describe(&lab.spec.machine),
        });
    };
    let expected = blessed.strip_prefix(BLESSED).unwrap_or(&blessed);
    let actual = annotated(lab, report);
    if expected == actual {
        return Some(Pinned::Same { file });
    }
    let diff = short_diff(expected, &actual, &file.display().to_string());
    Some(Pinned::Differs { file, diff })
}
