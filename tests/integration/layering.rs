//! The house has no import cycles: within each crate, no module uses one that
//! uses it back, directly or through others (a module's uses are the
//! `crate::NAME` paths in its code, comments and tests left out, with the
//! crate root's re-exports resolved to the module that defines them).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module -> the modules it uses, for the `src` folder of one crate.
fn uses(src: &Path, reexports: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: Vec<String> = std::fs::read_dir(src)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let m = name.strip_suffix(".rs")?.to_string();
            (m != "lib" && m != "main").then_some(m)
        })
        .collect();
    let mut graph = BTreeMap::new();
    for m in &modules {
        let text = std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap();
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut deps = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let target = reexports
                .iter()
                .find(|(item, _)| *item == name)
                .map_or(name.clone(), |(_, module)| module.to_string());
            if modules.contains(&target) && &target != m {
                deps.insert(target);
            }
        }
        // `use crate::{a, b}` lists too.
        for (i, _) in code.match_indices("use crate::{") {
            let list = &code[i + "use crate::{".len()..];
            let list = &list[..list.find('}').unwrap_or(0)];
            for item in list.split(',') {
                let name = item.trim().split("::").next().unwrap_or("").to_string();
                if modules.contains(&name) && &name != m {
                    deps.insert(name);
                }
            }
        }
        graph.insert(m.clone(), deps);
    }
    graph
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
        ("Impl", "lab"),
        ("Toolchain", "impls"),
        ("Report", "report"),
        ("RunError", "error"),
        ("RunOptions", "run"),
        ("run_lab", "run"),
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
