//! A lab as data: its steps, the checks of each step and the annotations,
//! deserialized from `labs/<lab>/lab.toml`, plus the sources of its demos.
//!
//! The built-in labs are compiled into the binary (see
//! [`crate::spec::catalog`]), so an installed `lab` works from any directory;
//! labs of one's own are read from their folders (`lab --labs DIR`).
//! docs/writing-labs.md describes the format.

use serde::Deserialize;

/// The languages a lab's demo comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impl {
    Rust,
    C,
    Python,
    /// Any program in the prompt protocol, as a script with a `#!` line
    /// (a lab of one's own: bash, perl, a Python or a Ruby of one's choice).
    Script,
}

impl Impl {
    pub const ALL: [Impl; 4] = [Impl::Rust, Impl::C, Impl::Python, Impl::Script];

    pub fn as_str(self) -> &'static str {
        match self {
            Impl::Rust => "rust",
            Impl::C => "c",
            Impl::Python => "python",
            Impl::Script => "script",
        }
    }
}

impl std::fmt::Display for Impl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no implementation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown implementation `{0}` (rust, c, python or script)")]
pub struct UnknownImpl(pub String);

impl std::str::FromStr for Impl {
    type Err = UnknownImpl;
    fn from_str(s: &str) -> Result<Self, UnknownImpl> {
        Impl::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| UnknownImpl(s.to_string()))
    }
}

/// `labs/<lab>/lab.toml`, as written.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    pub name: String,
    /// One line for `lab list`.
    pub summary: String,
    /// The demos, by implementation (`rust`, `c`, `python`, `script`): a file beside
    /// the lab.toml, or `built-in` for the Rust port of the same name.
    pub demos: std::collections::BTreeMap<String, String>,
    /// Shown before step 0: what the lab is about.
    pub intro: String,
    /// Rounding of sizes in the annotated expected outputs (a size expression;
    /// default 1 MiB), for labs whose sizes vary more between runs.
    pub snapshot_resolution: Option<String>,
    /// A file the demo makes whose page-cache residency each step measures
    /// (`cache.resident`), relative to the demo's working directory; `{pid}`
    /// is the demo's pid. The observer deletes it after the run.
    pub cache_file: Option<String>,
    /// Facts this lab's annotated outputs depend on (`thp`, `stack`…): shown
    /// in the report, and the pinned outputs are named by their values
    /// (`threads-c.stack-8192-KiB.cpus-2.stack_merge-no.stack_guards-mappings.snap`).
    #[serde(default)]
    pub machine: Vec<String>,
    /// The most memory the demo holds at once (a size expression): under a
    /// memory cgroup limit below it the demo would be killed, so the lab
    /// does not start and says why.
    pub memory: Option<String>,
    /// The most address space the demo's private writable mappings reserve
    /// (a size expression), where that is far more than `memory`: under
    /// strict overcommit (`vm.overcommit_memory = 2`) the kernel charges it
    /// when it is mapped, so the lab does not start where less is left to
    /// commit. Default: `memory`.
    pub commit: Option<String>,
    /// Facts every check of this lab requires (a check's own `requires`
    /// adds to these and overrides the same fact).
    #[serde(default)]
    pub requires: std::collections::BTreeMap<String, Vec<String>>,
    /// Present when the lab is an exercise (`lab exercise`, `lab grade`).
    pub exercise: Option<ExerciseSpec>,
    pub steps: Vec<StepSpec>,
}

/// What makes a lab an exercise: a task, and a starter program with a gap
/// that the student fills; the lab's checks define success.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExerciseSpec {
    /// The task, in a few sentences (`lab exercise NAME` prints it).
    pub task: String,
    /// The starter program's file, beside the lab.toml (`starter.c`).
    pub starter: String,
    /// The file name the student works on (`resident.c`).
    pub file: String,
}

/// One step: the state after one action of the demo (step 0: before any).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub title: String,
    /// Why the map looks the way it does after this step.
    pub annotation: String,
    /// A hint for students predicting this step (`lab LAB --predict --hint`):
    /// what to think about, not the answer.
    pub hint: Option<String>,
    /// Extra sentences for one implementation only (`rust`, `c`, `python`).
    #[serde(default)]
    pub impl_notes: std::collections::BTreeMap<String, String>,
    /// Sentences for machines with certain facts (`when`), and optionally one
    /// implementation: what *this* machine does where glibc or the kernel
    /// changed the lesson ("glibc 2.43 has no fastbins: …").
    #[serde(default)]
    pub notes: Vec<NoteSpec>,
    #[serde(default)]
    pub checks: Vec<CheckSpec>,
}

/// A sentence of a step that holds only where its facts do.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NoteSpec {
    /// The facts it needs, as a check's `when`.
    pub when: std::collections::BTreeMap<String, Vec<String>>,
    /// Only for this implementation; default: all.
    #[serde(default, rename = "impl")]
    pub only_for: Option<String>,
    pub text: String,
}

impl StepSpec {
    /// The notes of this step for `imp` on a machine with `facts`: its
    /// implementation's note, then each fact note that holds, as paragraphs.
    pub fn note_for(&self, imp: Impl, facts: &crate::measure::machine::Facts) -> Option<String> {
        let paragraphs: Vec<&str> = self
            .impl_notes
            .get(imp.as_str())
            .map(String::as_str)
            .into_iter()
            .chain(
                self.notes
                    .iter()
                    .filter(|n| n.only_for.as_deref().is_none_or(|o| o == imp.as_str()))
                    .filter(|n| facts.unmet(&n.when).is_none())
                    .map(|n| n.text.as_str()),
            )
            .map(str::trim)
            .collect();
        (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"))
    }
}

/// One expectation, e.g. "virtual size grows by 10 MiB, give or take a page".
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Stable identifier (JSON, tests).
    pub id: String,
    /// The expectation in words.
    pub expect: String,
    /// What is measured: `SCOPE.FIELD`; see [`crate::spec::check`].
    pub measure: String,
    /// Compared with which step: `previous` (default), `start` or `none` (absolute value).
    #[serde(default = "default_since")]
    pub since: String,
    /// Lower bound, a size expression like `10 MiB` or `10 MiB - 1 page`.
    pub min: Option<String>,
    /// Upper bound (inclusive).
    pub max: Option<String>,
    /// For text measures (a region's kind, a change): the exact expected word.
    pub equals: Option<String>,
    /// Why the bounds are what they are (page rounding, malloc headers…).
    pub tolerance: Option<String>,
    /// For an exercise: what to think about when the check fails (shown by
    /// `lab grade`), not the answer.
    pub hint: Option<String>,
    /// Only for this implementation (`rust`, `c`, `python`); default: all.
    #[serde(default, rename = "impl")]
    pub only_for: Option<String>,
    /// A variant: the check exists only where these facts have these values
    /// (one of two checks for 4 KiB and 16 KiB Python pools, say); where they
    /// do not, it is left out. See [`crate::measure::machine::Facts::unmet`].
    #[serde(default)]
    pub when: std::collections::BTreeMap<String, Vec<String>>,
    /// Facts the check's expectation depends on: where one does not hold, the
    /// check is reported as not applicable, naming the fact.
    #[serde(default)]
    pub requires: std::collections::BTreeMap<String, Vec<String>>,
}

/// What a check comes to on one run: left out, not applicable (and why), or
/// to be evaluated.
pub enum Applies {
    No,
    NotHere(String),
    Yes,
}

impl CheckSpec {
    /// Does this check apply to `imp` under `facts`, with the lab's own
    /// requirements `lab_requires`?
    pub fn applies(
        &self,
        imp: Impl,
        facts: &crate::measure::machine::Facts,
        lab_requires: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Applies {
        let mine = self
            .only_for
            .as_deref()
            .is_none_or(|only| only == imp.as_str());
        if !mine || facts.unmet(&self.when).is_some() {
            return Applies::No;
        }
        let mut requires = lab_requires.clone();
        requires.extend(self.requires.clone());
        match facts.unmet(&requires) {
            Some(why) => Applies::NotHere(why),
            None => Applies::Yes,
        }
    }
}

fn default_since() -> String {
    "previous".to_string()
}

/// The value of `demos.rust` that names the Rust port of the lab's name.
pub const BUILT_IN: &str = "built-in";

/// A lab with its data parsed and its demo sources attached.
#[derive(Clone)]
pub struct Lab {
    pub spec: LabSpec,
    pub impls: Vec<ImplSource>,
    /// The folder it was read from; None for a built-in lab (`labs/NAME`
    /// of the repository, compiled in).
    pub dir: Option<std::path::PathBuf>,
    /// Its C demo is a student's program, put in by [`Lab::with_c_source`].
    pub graded: bool,
}

/// One implementation of a lab: which language, its file and its source text.
#[derive(Clone)]
pub struct ImplSource {
    pub imp: Impl,
    /// For display: relative to the repository root for a built-in lab
    /// (`labs/heap/heap.c`), else the path it was read from.
    pub file: String,
    pub source: String,
}

impl LabSpec {
    /// The facts the checks of implementation `imp` depend on: the lab's
    /// `machine` list and `requires`, and of each of its checks for `imp`
    /// the facts of `when` and `requires` and those its bounds' size
    /// expressions read (`1 page`: the page size; `new_arenas`: the arena
    /// limits and CPUs). `lab report` names no other fact as telling
    /// machines apart.
    pub fn facts_checks_depend_on(&self, imp: &str) -> std::collections::BTreeSet<String> {
        let mut facts: std::collections::BTreeSet<String> = self.machine.iter().cloned().collect();
        facts.extend(self.requires.keys().cloned());
        for check in self.steps.iter().flat_map(|s| &s.checks) {
            if check.only_for.as_deref().is_some_and(|o| o != imp) {
                continue;
            }
            facts.extend(check.when.keys().cloned());
            facts.extend(check.requires.keys().cloned());
            for bound in [&check.min, &check.max].into_iter().flatten() {
                for word in bound.split(|c: char| c.is_whitespace() || c == '*') {
                    facts.extend(
                        crate::measure::machine::facts_of_word(word)
                            .iter()
                            .map(|f| f.to_string()),
                    );
                }
            }
        }
        facts
    }
}

impl Lab {
    /// This lab with `source` (shown as `file`) as its C demo: an exercise
    /// graded with the student's program in place of the starter.
    pub fn with_c_source(&self, file: String, source: String) -> Lab {
        let mut lab = self.clone();
        lab.graded = true;
        lab.impls.retain(|i| i.imp != Impl::C);
        lab.impls.push(ImplSource {
            imp: Impl::C,
            file,
            source,
        });
        lab
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Does it run code lab's authors did not write (a lab folder's demos,
    /// a student's program)? Such a program is held to the memory its lab
    /// declares ([`crate::drive::confine`]).
    pub fn runs_others_code(&self) -> bool {
        self.dir.is_some() || self.graded
    }

    /// `NAME-IMPL[.FACT-VALUE…]`: the name of this lab's annotated output of
    /// `imp` on a machine with `facts`, by the facts the lab names in
    /// `machine` that the run has (`threads-c.stack-8192-KiB.cpus-2.stack_merge-no`).
    pub fn pinned_name(&self, imp: Impl, facts: &crate::measure::machine::Facts) -> String {
        let suffix: String = self
            .spec
            .machine
            .iter()
            // A fact this run does not have (Python's, for the Rust port)
            // does not name its file.
            .filter_map(|n| Some((n, facts.get(n)?)))
            .map(|(n, v)| {
                let v: String = v
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '.' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect();
                format!(".{n}-{v}")
            })
            .collect();
        format!("{}-{imp}{suffix}", self.name())
    }

    pub fn source_of(&self, imp: Impl) -> Option<&ImplSource> {
        self.impls.iter().find(|s| s.imp == imp)
    }

    /// Where its lab.toml is, in words: `labs/heap/lab.toml (built in)` or
    /// the path it was read from.
    pub fn origin(&self) -> String {
        match &self.dir {
            Some(dir) => dir.join("lab.toml").display().to_string(),
            None => format!("labs/{}/lab.toml (built in)", self.name()),
        }
    }
}

/// The source lines of step `n` (1-based): from the `step n:` marker comment
/// (or a `step a-b:` marker for a loop whose body is steps a to b) to the next
/// blank line.
pub fn step_source(source: &str, n: usize) -> Vec<&str> {
    let covers = |l: &str| step_marker(l).is_some_and(|(a, b)| (a..=b).contains(&n));
    let mut lines = source.lines().skip_while(|l| !covers(l));
    let Some(first) = lines.next() else {
        return Vec::new();
    };
    std::iter::once(first)
        .chain(lines.take_while(|l| !l.trim().is_empty()))
        .collect()
}

/// `(a, b)` when the line is a `// step N:` (a = b = N) or `step A-B:` comment
/// (`//`, `/*` or `#`).
fn step_marker(line: &str) -> Option<(usize, usize)> {
    let t = line.trim_start();
    let t = ["//", "/*", "#"].iter().find_map(|c| t.strip_prefix(c))?;
    let t = t.trim_start().strip_prefix("step ")?;
    let (n, _) = t.split_once(':')?;
    match n.split_once('-') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => n.parse().ok().map(|n| (n, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_facts_a_labs_checks_depend_on() {
        let heap = crate::spec::catalog::find("heap").expect("the heap lab");
        let facts = heap.spec.facts_checks_depend_on("c");
        // requires (malloc, malloc_settings, malloc_perturb), when
        // (page_size), `1 fault` (mthp), `1 page` (page_size).
        for f in [
            "malloc",
            "malloc_settings",
            "malloc_perturb",
            "page_size",
            "mthp",
        ] {
            assert!(facts.contains(f), "{f} in {facts:?}");
        }
        for f in ["libc_version", "python_version", "kernel", "cpus"] {
            assert!(!facts.contains(f), "{f} in {facts:?}");
        }
        // The lab's `machine` list counts; a check of another
        // implementation does not.
        let threads = crate::spec::catalog::find("threads").expect("the threads lab");
        assert!(threads
            .spec
            .facts_checks_depend_on("c")
            .contains("stack_merge"));
        let pylist = crate::spec::catalog::find("pylist").expect("the pylist lab");
        assert!(pylist
            .spec
            .facts_checks_depend_on("python")
            .contains("python_pools"));
    }

    #[test]
    fn step_source_takes_marker_to_blank_line() {
        let src =
            "a\n    // step 1: one\n    x();\n\n    /* step 2: two */\n    y();\n    z();\n\nw\n";
        assert_eq!(step_source(src, 1), vec!["    // step 1: one", "    x();"]);
        assert_eq!(
            step_source(src, 2),
            vec!["    /* step 2: two */", "    y();", "    z();"]
        );
        assert!(step_source(src, 3).is_empty());
        assert_eq!(step_source("# step 10: py\nx = 1\n", 10).len(), 2);
        let looped = "for (;;) {\n  /* step 2-4: again */\n  go();\n\n}\n";
        assert_eq!(
            step_source(looped, 3),
            vec!["  /* step 2-4: again */", "  go();"]
        );
        assert!(step_source(looped, 5).is_empty());
    }
}
