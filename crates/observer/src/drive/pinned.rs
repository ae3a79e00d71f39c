//! The pinned annotated outputs of labs of one's own (`lab bless` writes
//! them beside the lab.toml, `lab check` compares): their file names, and
//! what a run's comparison with its pinned output found (the comparison
//! itself renders the run: `crate::views::pinned`). A difference is a
//! verdict of its own (`differs`), which the table, the JSON, the HTML and
//! the exit code of `lab check` all show (docs/json.md).

use std::path::{Path, PathBuf};

use crate::drive::report::Report;
use crate::spec::lab::Lab;

/// The header of a pinned file, before the annotated output.
pub const BLESSED: &str = "---\nsource: lab bless (the annotated output of this lab; `lab check --labs DIR` compares it)\n---\n";

/// What a run's comparison with its pinned annotated output found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pinned {
    /// The run's annotated output is the pinned one.
    Same { file: PathBuf },
    /// It differs: `diff` is the first hunk of a unified diff.
    Differs { file: PathBuf, diff: String },
    /// Outputs are pinned for this implementation, but for other machine
    /// facts (`facts`: this run's, in words): nothing was compared.
    OtherFacts { file: PathBuf, facts: String },
}

impl Pinned {
    /// `same`, `differs` or `not compared`: the JSON's `pinned.status`.
    pub fn status(&self) -> &'static str {
        match self {
            Pinned::Same { .. } => "same",
            Pinned::Differs { .. } => "differs",
            Pinned::OtherFacts { .. } => "not compared",
        }
    }

    /// The pinned file (for `OtherFacts`: the one this run would need).
    pub fn file(&self) -> &Path {
        match self {
            Pinned::Same { file }
            | Pinned::Differs { file, .. }
            | Pinned::OtherFacts { file, .. } => file,
        }
    }

    /// What to tell about it, in a paragraph (None when it is the same).
    pub fn message(&self, lab: &str, imp: &str) -> Option<String> {
        match self {
            Pinned::Same { .. } => None,
            Pinned::Differs { file, diff } => Some(format!(
                "{lab} ({imp}): the annotated output differs from {} (`lab bless` writes it anew):\n{diff}",
                file.display()
            )),
            Pinned::OtherFacts { file, facts } => Some(format!(
                "{}: not compared: pinned only for other machine facts ({facts})",
                file.display()
            )),
        }
    }
}

/// `NAME-IMPL[.FACT-VALUE…].snap`: the file of a lab's annotated output for
/// the machine facts of `report` (those the lab names in `machine`).
pub fn file_name(lab: &Lab, report: &Report) -> String {
    format!("{}.snap", lab.pinned_name(report.imp, &report.facts))
}

/// One hunk of a unified diff around the first differing lines: up to 3
/// lines of context and up to 8 lines of each side, each line escaped (the
/// pinned file may hold any character).
pub fn short_diff(expected: &str, actual: &str, name: &str) -> String {
    use pmap_view::region::escape_controls as e;
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let first = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[first..]
        .iter()
        .rev()
        .zip(b[first..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_end, b_end) = (a.len() - tail, b.len() - tail);
    let from = first.saturating_sub(3);
    let mut out = format!("--- {}\n+++ this run\n", e(name));
    let shown_a = (a_end - first).min(8);
    let shown_b = (b_end - first).min(8);
    out += &format!(
        "@@ -{},{} +{},{} @@\n",
        from + 1,
        first - from + shown_a,
        from + 1,
        first - from + shown_b
    );
    for l in &a[from..first] {
        out += &format!(" {}\n", e(l));
    }
    for l in &a[first..first + shown_a] {
        out += &format!("-{}\n", e(l));
    }
    for l in &b[first..first + shown_b] {
        out += &format!("+{}\n", e(l));
    }
    if a_end - first > shown_a || b_end - first > shown_b {
        out += "(more differences follow)\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_diff_shows_the_first_differing_lines() {
        let d = short_diff("a\nb\nc\nd\ne\n", "a\nb\nc\nX\ne\n", "f.snap");
        assert_eq!(
            d,
            "--- f.snap\n+++ this run\n@@ -1,4 +1,4 @@\n a\n b\n c\n-d\n+X\n"
        );
        let d = short_diff("a\n", "a\nb\n", "f");
        assert!(d.ends_with(" a\n+b\n"), "{d}");
        let d = short_diff("a\n", "\x1b[2J\n", "f");
        assert!(d.ends_with("+\\x1b[2J\n"), "{d}");
    }
}
