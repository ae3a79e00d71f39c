//! The labs there are: the built-in ones, compiled in from the folders of
//! `labs/` (build.rs writes the table: adding a built-in lab is adding a
//! folder), and those read at run time from folders of one's own (`lab
//! --labs DIR`, `PMAP_LAB_LABS`). Both are the same format: a folder with a
//! `lab.toml` and its demos' sources (docs/writing-labs.md).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::spec::lab::{Impl, ImplSource, Lab, LabSpec, BUILT_IN};

/// A built-in lab as compiled in: its folder's name, its lab.toml and the
/// other files of its folder (the annotated outputs left out).
pub struct EmbeddedLab {
    pub dir: &'static str,
    pub toml: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// Every folder of `labs/` with a lab.toml, by name.
pub const EMBEDDED: &[EmbeddedLab] = include!(concat!(env!("OUT_DIR"), "/embedded_labs.rs"));

/// Every folder of `exercises/` with a lab.toml, by name.
pub const EMBEDDED_EXERCISES: &[EmbeddedLab] =
    include!(concat!(env!("OUT_DIR"), "/embedded_exercises.rs"));

/// The environment variable naming folders of labs to add, `:`-separated.
pub const LABS_VARIABLE: &str = "PMAP_LAB_LABS";

static LABS: OnceLock<Vec<Lab>> = OnceLock::new();

/// Every lab: the built-in ones, then those [`init`] added.
pub fn all() -> &'static [Lab] {
    LABS.get_or_init(built_in)
}

pub fn find(name: &str) -> Option<&'static Lab> {
    all().iter().find(|l| l.name() == name)
}

/// The built-in labs, parsed. The data is part of the binary and a test
/// validates it, so a defect here is a build defect, not a user error.
pub fn built_in() -> Vec<Lab> {
    parse_embedded(EMBEDDED, "labs")
}

/// The exercises: the built-in ones (`exercises/`), then the labs added
/// with `--labs` that are exercises (have an `[exercise]` table).
pub fn exercises() -> Vec<Lab> {
    let mut found = parse_embedded(EMBEDDED_EXERCISES, "exercises");
    found.extend(all().iter().filter(|l| l.spec.exercise.is_some()).cloned());
    found
}

/// The text of a file of a built-in exercise's folder (its starter).
pub fn exercise_file(exercise: &Lab, name: &str) -> Option<String> {
    match &exercise.dir {
        Some(dir) => read_demo(dir, name).ok(),
        None => EMBEDDED_EXERCISES
            .iter()
            .find(|e| e.dir == exercise.name())?
            .files
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, text)| text.to_string()),
    }
}

/// A student's program to grade: a file (a link to one is fine: it is only
/// read), text, at most 1 MiB.
pub fn read_student_file(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let m = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !m.is_file() {
        return Err(format!("{shown} is not a file"));
    }
    if m.len() > 1 << 20 {
        return Err(format!("{shown} is over 1 MiB: not a program to grade"));
    }
    read_text(path)
}

/// A file's text, or why not, naming the file.
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))
}

fn parse_embedded(table: &[EmbeddedLab], folder: &str) -> Vec<Lab> {
    table
        .iter()
        .map(|e| {
            let spec: LabSpec = toml::from_str(e.toml)
                .unwrap_or_else(|err| panic!("{folder}/{}/lab.toml: {err}", e.dir));
            let file = |name: &str| {
                e.files
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, text)| text.to_string())
            };
            assemble(spec, None, &format!("{folder}/{}", e.dir), &file)
                .unwrap_or_else(|err| panic!("{folder}/{}/lab.toml: {err}", e.dir))
        })
        .collect()
}

/// Why labs of one's own could not be added.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0} has no lab.toml, and no folder in it has one")]
    NoLabs(String),
    /// The lab.toml has mistakes: the first, and how many more (`lab
    /// validate` lists them all).
    #[error("{}", invalid_message(.dir, .problems))]
    Invalid { dir: String, problems: Vec<String> },
    #[error("two labs named `{name}`: {first} and {second}")]
    Clash {
        name: String,
        first: String,
        second: String,
    },
    #[error("the labs were already loaded")]
    AlreadyLoaded,
}

fn invalid_message(dir: &str, problems: &[String]) -> String {
    let first = problems.first().map_or("", String::as_str);
    match problems.len() {
        0 | 1 => format!("{first} (`lab validate {dir}` checks a lab)"),
        n => format!(
            "{first} (and {} more mistake{}: `lab validate {dir}` lists them)",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    }
}

/// The folders of `PMAP_LAB_LABS` (empty parts left out).
pub fn dirs_from_env() -> Vec<PathBuf> {
    std::env::var_os(LABS_VARIABLE)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Add the labs of `dirs` (each a lab folder or a folder of lab folders) to
/// the built-in ones for the rest of this process; call it before [`all`].
/// A lab named like another one is an error naming both places.
pub fn init(dirs: &[PathBuf]) -> Result<(), LoadError> {
    let mut labs = built_in();
    for dir in dirs {
        for lab_dir in lab_dirs(dir)? {
            let lab = load_dir(&lab_dir)?;
            if let Some(other) = labs.iter().find(|l| l.name() == lab.name()) {
                return Err(LoadError::Clash {
                    name: lab.name().to_string(),
                    first: other.origin(),
                    second: lab.origin(),
                });
            }
            labs.push(lab);
        }
    }
    LABS.set(labs).map_err(|_| LoadError::AlreadyLoaded)
}

/// The lab folders `dir` stands for: itself when it has a lab.toml, else its
/// folders that have one, by name.
pub fn lab_dirs(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if dir.join("lab.toml").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| LoadError::Io(dir.display().to_string(), e))?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(LoadError::NoLabs(dir.display().to_string()));
    }
    Ok(found)
}

/// Read the lab of folder `dir`, refusing it (with its first mistake) when
/// its lab.toml does not validate.
pub fn load_dir(dir: &Path) -> Result<Lab, LoadError> {
    let toml_path = dir.join("lab.toml");
    let shown = toml_path.display().to_string();
    let text = std::fs::read_to_string(&toml_path).map_err(|e| LoadError::Io(shown.clone(), e))?;
    let files = |name: &str| read_demo(dir, name).ok();
    let (spec, problems) = crate::spec::validate::lint(&text, Some(dir), &files);
    let invalid = |problems: Vec<String>| LoadError::Invalid {
        dir: dir.display().to_string(),
        problems,
    };
    if !problems.is_empty() {
        return Err(invalid(
            problems.iter().map(|p| p.at(&shown)).collect::<Vec<_>>(),
        ));
    }
    let spec = spec.expect("no problems: the lab.toml parsed");
    assemble(spec, Some(dir), &dir.display().to_string(), &files)
        .map_err(|e| invalid(vec![format!("{shown}: {e}")]))
}

/// The lab of folder `dir` from data already read, with the demos whose
/// files are there (`lab validate` runs them even when the data has mistakes).
pub fn with_present_demos(mut spec: LabSpec, dir: &Path) -> Result<Lab, String> {
    spec.demos.retain(|imp, file| {
        matches!(imp.parse(), Ok(Impl::C | Impl::Python | Impl::Script))
            && read_demo(dir, file).is_ok()
    });
    let files = |name: &str| read_demo(dir, name).ok();
    assemble(spec, Some(dir), &dir.display().to_string(), &files)
}

/// The text of a demo file of a lab folder: a plain file beside the
/// lab.toml (no path, no link out of the folder), UTF-8.
pub fn read_demo(dir: &Path, name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!(
            "`{name}` is not a file name (a demo is a file beside the lab.toml)"
        ));
    }
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(_) => return Err(format!("{} is not a plain file", path.display())),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    read_text(&path)
}

/// A lab from its parsed data and its demos' files (`file` reads one by
/// name); `shown_dir` prefixes the file names shown.
fn assemble(
    spec: LabSpec,
    dir: Option<&Path>,
    shown_dir: &str,
    file: &dyn Fn(&str) -> Option<String>,
) -> Result<Lab, String> {
    let mut impls = Vec::new();
    for imp in Impl::ALL {
        let Some(name) = spec.demos.get(imp.as_str()) else {
            continue;
        };
        if imp == Impl::Rust {
            let w = workloads::find(&spec.name)
                .filter(|_| name == BUILT_IN)
                .ok_or_else(|| format!("no built-in Rust port named `{}`", spec.name))?;
            impls.push(ImplSource {
                imp,
                file: w.source_file.to_string(),
                source: w.source.to_string(),
            });
            continue;
        }
        let source = file(name).ok_or_else(|| format!("no demo file {name}"))?;
        impls.push(ImplSource {
            imp,
            file: format!("{shown_dir}/{name}"),
            source,
        });
    }
    if impls.is_empty() {
        return Err("no demo (`demos = { c = \"NAME.c\" }`, say)".into());
    }
    Ok(Lab {
        spec,
        impls,
        dir: dir.map(Path::to_path_buf),
        graded: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates the embedded data the way `rustlings dev check` does: every
    /// lab is its folder's name, passes `lab validate`'s checks, has a hint
    /// for every step and no stray file.
    #[test]
    fn embedded_labs_are_consistent() {
        let labs = built_in();
        assert_eq!(labs.len(), EMBEDDED.len());
        for (lab, e) in labs.iter().zip(EMBEDDED) {
            assert_eq!(lab.name(), e.dir, "a lab is named as its folder");
            let files = |name: &str| {
                e.files
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, t)| t.to_string())
            };
            let (_, problems) = crate::spec::validate::lint(e.toml, None, &files);
            let shown: Vec<String> = problems
                .iter()
                .map(|p| p.at(&format!("labs/{}/lab.toml", e.dir)))
                .collect();
            assert!(shown.is_empty(), "{shown:#?}");
            for (index, step) in lab.spec.steps.iter().enumerate().skip(1) {
                assert!(
                    step.hint.is_some(),
                    "{}: step {index} has no hint for --predict --hint",
                    lab.name()
                );
            }
            for (f, _) in e.files {
                assert!(
                    lab.spec.demos.values().any(|d| d == f),
                    "labs/{}/{f} is no demo of the lab",
                    e.dir
                );
            }
        }
    }

    /// The exercises likewise: each validates, is an exercise whose starter
    /// is its C demo, and every check gives a hint for `lab grade`.
    #[test]
    fn embedded_exercises_are_consistent() {
        let exercises = parse_embedded(EMBEDDED_EXERCISES, "exercises");
        assert!(exercises.len() >= 3);
        for (lab, e) in exercises.iter().zip(EMBEDDED_EXERCISES) {
            assert_eq!(lab.name(), e.dir);
            let files = |name: &str| {
                e.files
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, t)| t.to_string())
            };
            let (_, problems) = crate::spec::validate::lint(e.toml, None, &files);
            assert!(
                problems.is_empty(),
                "exercises/{}: {} problems",
                e.dir,
                problems.len()
            );
            let ex = lab.spec.exercise.as_ref().expect("an [exercise] table");
            assert_eq!(lab.spec.demos.get("c"), Some(&ex.starter));
            assert!(exercise_file(lab, &ex.starter).is_some());
            for check in lab.spec.steps.iter().flat_map(|s| &s.checks) {
                assert!(check.hint.is_some(), "{}: {} has no hint", e.dir, check.id);
            }
        }
    }

    #[test]
    fn a_lab_folder_loads_with_its_demo_and_not_without() {
        let dir = std::env::temp_dir().join(format!("pmap-lab-catalog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mmap")).unwrap();
        let mmap = EMBEDDED.iter().find(|e| e.dir == "mmap").unwrap();
        // As a lab of one's own: no Rust port.
        let toml = mmap.toml.replace("rust = \"built-in\", ", "");
        std::fs::write(dir.join("mmap/lab.toml"), toml).unwrap();
        std::fs::write(dir.join("mmap/mmap.c"), mmap.files[0].1).unwrap();
        let lab = load_dir(&dir.join("mmap")).unwrap();
        assert_eq!(lab.impls.len(), 1);
        assert_eq!(
            lab.source_of(Impl::C).unwrap().file,
            format!("{}/mmap/mmap.c", dir.display())
        );
        assert_eq!(lab_dirs(&dir).unwrap(), vec![dir.join("mmap")]);
        assert!(lab.origin().ends_with("mmap/lab.toml"), "{}", lab.origin());
        std::fs::remove_file(dir.join("mmap/mmap.c")).unwrap();
        let err = load_dir(&dir.join("mmap")).err().unwrap().to_string();
        assert!(
            err.contains("mmap/lab.toml:10:15: demos.c: no file `mmap.c`"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
