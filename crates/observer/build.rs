//! Embeds the built-in labs: every folder of `labs/` that has a `lab.toml`,
//! with the files beside it (its demos' sources), its annotated expected
//! outputs (`*.snap`) left out. Adding a built-in lab is adding a folder:
//! this writes the table `spec::catalog` reads (`$OUT_DIR/embedded_labs.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../labs");
    let root = root
        .canonicalize()
        .expect("the labs/ folder of the repository");
    // A folder as the path: cargo rebuilds when anything under it changes.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut labs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("reading labs/")
        .map(|e| e.expect("reading labs/").path())
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
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded_labs.rs");
    std::fs::write(dest, out).expect("writing embedded_labs.rs");
}
