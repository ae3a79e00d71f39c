//! The house has no import cycles: within each crate, no module uses one that
//! uses it back, directly or through others (a module's uses are the
//! `crate::NAME` paths in its code, comments and tests left out, with the
//! crate root's re-exports resolved to the module that defines them); and no
//! folder of modules uses one that uses it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules of a crate's `src` folder, by path (`step`, `views::step`),
/// with their files: `lib.rs` and `main.rs` left out, folders walked.
fn modules(src: &Path, prefix: &str, out: &mut Vec<(String, std::path::PathBuf)>) {
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if path.is_dir() {
            modules(&path, &format!("{prefix}{name}::"), out);
        } else if let Some(m) = name.strip_suffix(".rs") {
            if m != "lib" && m != "main" {
                out.push((format!("{prefix}{m}"), path));
            }
        }
    }
}

/// Module -> the modules it uses, for the `src` folder of one crate. A path
/// `crate::a::b::Item` uses the longest module it names (`a::b`), or the
/// module a crate-root re-export comes from.
fn uses(src: &Path, reexports: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut found = Vec::new();
    modules(src, "", &mut found);
    let names: BTreeSet<String> = found.iter().map(|(m, _)| m.clone()).collect();
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|p| names.contains(p))
            .or_else(|| {
                reexports
                    .iter()
                    .find(|(item, _)| *item == parts[0])
                    .map(|(_, m)| m.to_string())
            })
    };
    let mut graph = BTreeMap::new();
    for (m, file) in &found {
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let path_at = |rest: &str| -> String {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect::<String>()
                .trim_end_matches(':')
                .to_string()
        };
        let mut deps = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            // `use crate::{a, b}` and `use crate::x::{a, b}` lists too.
            let head = path_at(rest);
            let after = &rest[head.len()..];
            let list = after
                .strip_prefix("::{")
                .or_else(|| (head.is_empty()).then(|| after.strip_prefix('{')).flatten());
            let paths: Vec<String> = match list {
                Some(list) => list[..list.find('}').unwrap_or(0)]
                    .split(',')
                    .map(|item| {
                        let item = path_at(item.trim());
                        if head.is_empty() {
                            item
                        } else {
                            format!("{head}::{item}")
                        }
                    })
                    .collect(),
                None => vec![head],
            };
            for p in paths {
                if let Some(target) = resolve(&p).filter(|t| t != m) {
                    deps.insert(target);
                }
            }
        }
        graph.insert(m.clone(), deps);
    }
    graph
}

/// The same graph between folders: `a::x` using `b::y` is `a` using `b`
/// (modules at the crate root are their own folder).
fn folders(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let folder = |m: &str| m.split("::").next().unwrap_or(m).to_string();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, deps) in graph {
        let f = folder(m);
        let entry = out.entry(f.clone()).or_default();
        for d in deps {
            if folder(d) != f {
                entry.insert(folder(d));
            }
        }
    }
    for deps in out.clone().values() {
        for d in deps {
            out.entry(d.clone()).or_default();
        }
    }
    out
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in &graph[&node] {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_string());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let observer_reexports = [
        ("Impl", "spec::lab"),
        ("Toolchain", "drive::impls"),
        ("Report", "drive::report"),
        ("RunError", "drive::error"),
        ("RunOptions", "drive::run"),
        ("run_lab", "drive::run"),
        ("run_through", "drive::run"),
    ];
    for (krate, reexports) in [
        ("crates/observer/src", &observer_reexports[..]),
        ("crates/pmap-view/src", &[][..]),
        ("crates/workloads/src", &[][..]),
        ("crates/lab/src", &[][..]),
    ] {
        let graph = uses(&root.join(krate), reexports);
        assert!(graph.len() > 2, "{krate}: modules not found");
        for m in graph.keys() {
            if let Some(cycle) = cycle_from(&graph, m) {
                panic!("{krate}: import cycle {}", cycle.join(" -> "));
            }
        }
        // Folders too: each uses only those before it.
        let by_folder = folders(&graph);
        for f in by_folder.keys() {
            if let Some(cycle) = cycle_from(&by_folder, f) {
                panic!("{krate}: folders in a cycle {}", cycle.join(" -> "));
            }
        }
    }
}

/// The observer's folders are layered as its crate doc says: measure, then
/// spec, then drive, then views; and the graph sees modules in folders.
#[test]
fn the_observer_folders_are_layered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graph = uses(&root.join("crates/observer/src"), &[]);
    assert!(graph["views::render"].contains("views::step"), "{graph:?}");
    let f = folders(&graph);
    let order = ["measure", "spec", "drive", "views"];
    for (i, name) in order.iter().enumerate() {
        for d in &f[*name] {
            let j = order.iter().position(|o| o == d).unwrap();
            assert!(j < i, "{name} uses {d}, which comes after it");
        }
    }
}

/// The check itself finds a cycle when there is one.
#[test]
fn a_cycle_is_found() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["c".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cycle_from(&graph, "a"),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    graph.get_mut("c").unwrap().clear();
    assert_eq!(cycle_from(&graph, "a"), None);
}
