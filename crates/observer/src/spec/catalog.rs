//! The labs compiled into the binary: each lab's data and its demos' sources.

use std::sync::OnceLock;

use crate::spec::lab::Impl;
use crate::spec::lab::{ImplSource, Lab, LabSpec};

struct Embedded {
    toml: &'static str,
    c: Option<(&'static str, &'static str)>,
    python: Option<(&'static str, &'static str)>,
}

const EMBEDDED: &[Embedded] = &[
    Embedded {
        toml: include_str!("../../../../labs/heap/lab.toml"),
        c: Some(("c-demos/heap.c", include_str!("../../../../c-demos/heap.c"))),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/mmap/lab.toml"),
        c: Some(("c-demos/mmap.c", include_str!("../../../../c-demos/mmap.c"))),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/pylist/lab.toml"),
        c: None,
        python: Some((
            "py-demos/pylist.py",
            include_str!("../../../../py-demos/pylist.py"),
        )),
    },
    Embedded {
        toml: include_str!("../../../../labs/zeropage/lab.toml"),
        c: Some((
            "c-demos/zeropage.c",
            include_str!("../../../../c-demos/zeropage.c"),
        )),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/threads/lab.toml"),
        c: Some((
            "c-demos/threads.c",
            include_str!("../../../../c-demos/threads.c"),
        )),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/fragmentation/lab.toml"),
        c: Some((
            "c-demos/fragmentation.c",
            include_str!("../../../../c-demos/fragmentation.c"),
        )),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/leak/lab.toml"),
        c: Some(("c-demos/leak.c", include_str!("../../../../c-demos/leak.c"))),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/shared/lab.toml"),
        c: Some((
            "c-demos/shared.c",
            include_str!("../../../../c-demos/shared.c"),
        )),
        python: None,
    },
    Embedded {
        toml: include_str!("../../../../labs/filemap/lab.toml"),
        c: Some((
            "c-demos/filemap.c",
            include_str!("../../../../c-demos/filemap.c"),
        )),
        python: None,
    },
];

/// Every lab, parsed once. The data is part of the binary and a test parses it,
/// so a parse error here is a build defect, not a user error.
pub fn all() -> &'static [Lab] {
    static LABS: OnceLock<Vec<Lab>> = OnceLock::new();
    LABS.get_or_init(|| EMBEDDED.iter().map(load).collect())
}

pub fn find(name: &str) -> Option<&'static Lab> {
    all().iter().find(|l| l.name() == name)
}

fn load(e: &Embedded) -> Lab {
    let spec: LabSpec =
        toml::from_str(e.toml).unwrap_or_else(|err| panic!("embedded lab data: {err}"));
    let mut impls = Vec::new();
    if let Some(w) = workloads::find(&spec.name) {
        impls.push(ImplSource {
            imp: Impl::Rust,
            file: w.source_file,
            source: w.source,
        });
    }
    if let Some((file, source)) = e.c {
        impls.push(ImplSource {
            imp: Impl::C,
            file,
            source,
        });
    }
    if let Some((file, source)) = e.python {
        impls.push(ImplSource {
            imp: Impl::Python,
            file,
            source,
        });
    }
    Lab { spec, impls }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates the embedded data the way `rustlings dev check` does: every
    /// lab parses, every check compiles, every step of every demo has source.
    #[test]
    fn embedded_labs_are_consistent() {
        for lab in all() {
            assert!(!lab.impls.is_empty(), "{}: no implementation", lab.name());
            for (index, step) in lab.spec.steps.iter().enumerate() {
                for c in &step.checks {
                    if let Some(only) = &c.only_for {
                        let imp: Impl = only
                            .parse()
                            .unwrap_or_else(|e| panic!("{}: {}: {e}", lab.name(), c.id));
                        assert!(
                            lab.source_of(imp).is_some(),
                            "{}: {} is for a missing impl",
                            lab.name(),
                            c.id
                        );
                    }
                }
                if index > 0 {
                    assert!(
                        step.hint.is_some(),
                        "{}: step {index} has no hint for --predict --hint",
                        lab.name()
                    );
                }
                for imp in &lab.impls {
                    if index > 0 {
                        let lines = crate::spec::lab::step_source(imp.source, index);
                        assert!(
                            !lines.is_empty(),
                            "{}: {} has no `step {index}:`",
                            lab.name(),
                            imp.file
                        );
                    }
                    for note in step.impl_notes.keys() {
                        assert!(
                            note.parse::<Impl>().is_ok(),
                            "{}: unknown impl note {note}",
                            lab.name()
                        );
                    }
                }
            }
            let checks = lab.spec.steps.iter().flat_map(|s| &s.checks);
            for fact in lab
                .spec
                .machine
                .iter()
                .chain(lab.spec.requires.keys())
                .chain(
                    checks
                        .clone()
                        .flat_map(|c| c.when.keys().chain(c.requires.keys())),
                )
            {
                assert!(
                    crate::measure::machine::NAMES
                        .iter()
                        .any(|(n, _)| n == fact),
                    "{}: unknown fact {fact}",
                    lab.name()
                );
            }
            // Every check compiles with this machine's numbers.
            let facts = crate::measure::machine::Facts::of_machine(None);
            if let Some(memory) = &lab.spec.memory {
                crate::spec::check::size_expr(memory, &facts)
                    .unwrap_or_else(|e| panic!("{}: memory: {e}", lab.name()));
            }
            for c in checks {
                crate::spec::check::Check::compile(c, &facts)
                    .unwrap_or_else(|e| panic!("{}: check {}: {e}", lab.name(), c.id));
            }
            let ids: std::collections::HashSet<_> = lab
                .spec
                .steps
                .iter()
                .flat_map(|s| &s.checks)
                .map(|c| &c.id)
                .collect();
            let count = lab.spec.steps.iter().map(|s| s.checks.len()).sum::<usize>();
            assert_eq!(ids.len(), count, "{}: duplicate check ids", lab.name());
        }
    }
}
