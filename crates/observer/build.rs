//! Embeds the built-in labs and exercises: every folder of `labs/` (and of
//! `exercises/`) that has a `lab.toml`, with the files beside it (its demos'
//! sources), its annotated expected outputs (`*.snap`) left out. Adding a
//! built-in lab is adding a folder: this writes the tables `spec::catalog`
//! reads (`$OUT_DIR/embedded_labs.rs`, `$OUT_DIR/embedded_exercises.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    table("labs", "embedded_labs.rs");
    table("exercises", "embedded_exercises.rs");
}

/// The table of the lab folders of the repository's folder `folder`.
fn table(folder: &str, file_name: &str) {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../..")
        .join(folder);
    let root = root
        .canonicalize()
        .unwrap_or_else(|_| panic!("the {folder}/ folder of the repository"));
    // A folder as the path: cargo rebuilds when anything under it changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut labs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|_| panic!("reading {folder}/"))
        .map(|e| e.unwrap_or_else(|_| panic!("reading {folder}/")).path())
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    labs.sort();
    let mut out = String::from("&[\n");
    for dir in labs {
        let name = dir.file_name().unwrap().to_str().expect("a UTF-8 lab name");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("reading a lab folder")
            .map(|e| e.expect("reading a lab folder").path())
            .filter(|p| p.is_file())
            .filter(|p| {
                let f = p.file_name().unwrap().to_string_lossy();
                f != "lab.toml" && !f.ends_with(".snap") && !f.ends_with(".snap.new")
            })
            .collect();
        files.sort();
        let _ = writeln!(
            out,
            "    EmbeddedLab {{ dir: {name:?}, toml: include_str!({:?}), files: &[",
            dir.join("lab.toml").display().to_string()
        );
        for f in files {
            let file = f.file_name().unwrap().to_str().expect("a UTF-8 file name");
            let _ = writeln!(
                out,
                "        ({file:?}, include_str!({:?})),",
                f.display().to_string()
            );
        }
        out.push_str("    ] },\n");
    }
    out.push_str("]\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join(file_name);
    std::fs::write(dest, out).unwrap_or_else(|_| panic!("writing {file_name}"));
}
