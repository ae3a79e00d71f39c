//! Reading the documents a class hands in: each file is parsed straight into
//! typed structs of the fields the report needs (serde skips the rest without
//! building it), and is either a [`Submission`] or one [`BadFile`] message
//! saying why not: missing, empty, not JSON, JSON from another tool or
//! another lab command, a document written by a newer lab.
//!
//! Two kinds of document are read: `lab check --json` ([`Kind::Check`]) and
//! `lab grade NAME --json` ([`Kind::Grade`], one exercise: a run of one).
//! Each kind is a variant of [`Kind`], its fields in `Incoming`, and a
//! branch of `classify` that turns it into the same [`Submission`]: a
//! machine's facts and the runs it made, which is all the merge looks at.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

/// The `schema` version of the documents this lab writes, and the newest it
/// reads. A document without `schema` is version 1 (lab wrote none before).
pub const SCHEMA: u64 = 1;

/// Files larger than this are refused unread: a `lab check --json` of every
/// lab is about 20 KiB, and one whose every check failed well under 1 MiB.
pub const MAX_BYTES: u64 = 16 << 20;

/// The kinds of document `lab report` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `lab check --json`: a machine's facts and every lab × implementation.
    Check,
    /// `lab grade NAME --json`: a machine's facts and one exercise graded.
    Grade,
}

impl Kind {
    /// How a reader names it: `lab check --json`.
    pub fn command(self) -> &'static str {
        match self {
            Kind::Check => "lab check --json",
            Kind::Grade => "lab grade --json",
        }
    }
}

/// What one file brought: one machine's results.
#[derive(Debug)]
pub struct Submission {
    /// The file, as given.
    pub file: PathBuf,
    pub kind: Kind,
    /// The machine's facts (the document's `machine`).
    pub machine: BTreeMap<String, String>,
    pub runs: Vec<RunIn>,
    /// For a `lab grade --json` document: the student's program and score
    /// (its one run holds the failed checks, with their hints).
    pub graded: Option<Graded>,
}

/// What a `lab grade --json` document says of the student's program.
#[derive(Debug)]
pub struct Graded {
    /// The program graded, as the document names it (`file`).
    pub program: String,
    pub passed: bool,
    /// Checks that held, of those that apply.
    pub held: u64,
    pub total: u64,
}

/// A file that is not a document `lab report` reads, and why.
#[derive(Debug)]
pub struct BadFile {
    pub file: PathBuf,
    pub message: String,
}

impl std::fmt::Display for BadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            pmap_view::region::escape_controls(&self.file.to_string_lossy()),
            self.message
        )
    }
}

/// The fields of any document `lab report` reads, each optional: which are
/// there says what the document is ([`classify`]). Fields of other lab
/// documents are only noticed (never built), to name them in the message.
#[derive(Deserialize)]
#[serde(expecting = "a JSON object")]
struct Incoming<'a> {
    schema: Option<serde_json::Value>,
    passed: Option<bool>,
    machine: Option<BTreeMap<String, String>>,
    #[serde(borrow)]
    runs: Option<Vec<RunRaw<'a>>>,
    // `lab grade --json`.
    exercise: Option<String>,
    file: Option<String>,
    score: Option<ScoreIn>,
    checks: Option<Vec<GradedIn>>,
    // Other lab documents: `lab LAB --json` (steps), `lab pmap --json` and
    // `lab explain --json` (regions), `lab diff --json` (changes), `lab
    // watch --json` (samples).
    steps: Option<IgnoredAny>,
    regions: Option<IgnoredAny>,
    changes: Option<IgnoredAny>,
    samples: Option<IgnoredAny>,
}

/// The score of a `lab grade --json` document.
#[derive(Deserialize)]
struct ScoreIn {
    held: u64,
    total: u64,
}

/// A check of a `lab grade --json` document, with its step.
#[derive(Deserialize)]
struct GradedIn {
    step: u64,
    check: GradedCheckIn,
    hint: Option<String>,
}

#[derive(Deserialize)]
struct GradedCheckIn {
    status: String,
    #[serde(flatten)]
    check: CheckIn,
}

/// A string of the document, borrowed from its bytes unless it has escapes:
/// a run's facts are read without a copy (a class of 100,000 documents has
/// 50 million of them), and only those that are not the machine's are kept.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Str<'a>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// A run as the document has it: its facts borrowed.
#[derive(Deserialize)]
struct RunRaw<'a> {
    lab: String,
    #[serde(rename = "impl")]
    imp: String,
    result: String,
    checks_passed: Option<u64>,
    checks_total: Option<u64>,
    #[serde(borrow)]
    facts: Option<BTreeMap<Str<'a>, Str<'a>>>,
    #[serde(default)]
    failed_checks: Vec<StepCheckIn>,
    #[serde(default)]
    not_applicable_checks: Vec<StepCheckIn>,
    message: Option<String>,
}

impl RunRaw<'_> {
    /// The run, its facts only those that are not the `machine`'s (and
    /// never a reading of the moment), but a program's (its Python's) always.
    fn into_run(self, machine: &BTreeMap<String, String>) -> RunIn {
        use crate::measure::machine::{is_program_fact, is_reading};
        RunIn {
            facts: self.facts.map(|f| {
                f.into_iter()
                    .filter(|(k, v)| {
                        !is_reading(&k.0)
                            && (is_program_fact(&k.0)
                                || machine.get(&*k.0).map(String::as_str) != Some(&*v.0))
                    })
                    .map(|(k, v)| (k.0.into_owned(), v.0.into_owned()))
                    .collect()
            }),
            lab: self.lab,
            imp: self.imp,
            result: self.result,
            checks_passed: self.checks_passed,
            checks_total: self.checks_total,
            failed_checks: self.failed_checks,
            not_applicable_checks: self.not_applicable_checks,
            message: self.message,
        }
    }
}

/// One lab × implementation of a `lab check --json` document.
#[derive(Debug)]
pub struct RunIn {
    pub lab: String,
    pub imp: String,
    /// `pass`, `fail`, `differs` (a pinned output differs), `n/a`, `skip` or
    /// `error` (checked by `classify`).
    pub result: String,
    pub checks_passed: Option<u64>,
    pub checks_total: Option<u64>,
    /// The facts the run was judged by (the machine's and its demo's), but
    /// those of the machine: only where the run's differ, and a program's.
    pub facts: Option<BTreeMap<String, String>>,
    pub failed_checks: Vec<StepCheckIn>,
    pub not_applicable_checks: Vec<StepCheckIn>,
    /// Why it was skipped or could not run.
    pub message: Option<String>,
}

impl RunRaw<'_> {
    fn completed(&self) -> bool {
        matches!(self.result.as_str(), "pass" | "fail" | "differs" | "n/a")
    }
}

impl RunIn {
    /// The run completed (its checks were judged).
    pub fn completed(&self) -> bool {
        matches!(self.result.as_str(), "pass" | "fail" | "differs" | "n/a")
    }
}

/// A check and its step (and, from a `lab grade --json` document, the
/// exercise's hint for it).
#[derive(Debug, Deserialize)]
pub struct StepCheckIn {
    pub step: u64,
    pub check: CheckIn,
    #[serde(default)]
    pub hint: Option<String>,
}

/// The fields of a check the report shows.
#[derive(Debug, Deserialize)]
pub struct CheckIn {
    pub id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub expected: String,
    #[serde(default)]
    pub observed: String,
    pub not_applicable: Option<String>,
}

/// Read one file: a submission, or why it is not one.
pub fn read(file: &Path) -> Result<Submission, BadFile> {
    let bad = |message: String| BadFile {
        file: file.to_path_buf(),
        message,
    };
    let bytes = read_bytes(file).map_err(bad)?;
    parse(&bytes)
        .map_err(bad)
        .map(|(kind, mut machine, runs, graded)| {
            // Readings of the moment (free memory) rule a lab out on the
            // machine that ran it; they do not tell two machines apart.
            machine.retain(|k, _| !crate::measure::machine::is_reading(k));
            Submission {
                file: file.to_path_buf(),
                kind,
                machine,
                runs,
                graded,
            }
        })
}

/// The file's bytes: a regular file (a FIFO would block, a directory is
/// not a document) of at most [`MAX_BYTES`].
fn read_bytes(file: &Path) -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot read it: permission denied".to_string(),
        _ => format!("cannot read it: {e}"),
    };
    let meta = std::fs::metadata(file).map_err(io)?;
    if meta.is_dir() {
        return Err("a directory, not a file (give its files: DIR/*.json)".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "{} MiB, too large for a lab check --json document (at most {} MiB)",
            meta.len() >> 20,
            MAX_BYTES >> 20
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("too large (more than {} MiB)", MAX_BYTES >> 20));
    }
    Ok(bytes)
}

type Parsed = (Kind, BTreeMap<String, String>, Vec<RunIn>, Option<Graded>);

/// What the bytes are: a document this lab reads, or the message saying why
/// not (without the file name).
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let not = |why: &str| format!("not a lab check --json document ({why})");
    // A file saved by an editor on Windows may start with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(if bytes.is_empty() {
            "an empty file, not a lab check --json document".into()
        } else {
            "only white space, not a lab check --json document".into()
        });
    }
    // serde reads a struct from an array too: anything but an object is
    // named for what it is.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        return Err(match serde_json::from_slice::<IgnoredAny>(bytes) {
            Ok(_) => not(&format!(
                "a JSON {}, not an object",
                match first {
                    Some(b'[') => "array",
                    Some(b'"') => "string",
                    Some(b't' | b'f') => "boolean",
                    Some(b'n') => "null",
                    _ => "number",
                }
            )),
            // `lab check --json > FILE 2>&1` puts the progress lines first.
            Err(_) if bytes.starts_with(b"[1/") => not(
                "lab check's progress lines are in it: save only its output, \
                 `lab check --json > FILE`, without 2>&1",
            ),
            Err(e) => not(&format!("not JSON: {e}")),
        });
    }
    match serde_json::from_slice::<Incoming>(bytes) {
        Ok(doc) => {
            schema_version(doc.schema.as_ref())?;
            classify(doc).map_err(|why| not(&why))
        }
        Err(e) => {
            // A newer lab may have changed what the fields hold: say that,
            // rather than what did not parse.
            #[derive(Deserialize)]
            struct Probe {
                schema: Option<serde_json::Value>,
            }
            if let Ok(Probe { schema }) = serde_json::from_slice::<Probe>(bytes) {
                schema_version(schema.as_ref())?;
            }
            Err(not(&match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    format!("not JSON: {e}")
                }
                _ => e.to_string(),
            }))
        }
    }
}

/// A `schema` this lab reads: absent, or a whole number up to [`SCHEMA`].
fn schema_version(schema: Option<&serde_json::Value>) -> Result<(), String> {
    let Some(v) = schema else { return Ok(()) };
    match v.as_u64() {
        Some(n) if (1..=SCHEMA).contains(&n) => Ok(()),
        Some(n) if n > SCHEMA => Err(format!(
            "written by a newer lab (schema {n}; this lab reads schema {SCHEMA} and older): \
             read it with a newer lab"
        )),
        _ => Err(format!(
            "an unknown schema version {} (this lab reads schema {SCHEMA} and older)",
            pmap_view::region::escape_controls(&truncated(&v.to_string(), 40))
        )),
    }
}

fn truncated(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_string()
    } else {
        text.chars().take(chars).collect::<String>() + "…"
    }
}

/// Which document `doc` is, by the fields it has; the runs checked.
fn classify(doc: Incoming) -> Result<Parsed, String> {
    if let (Some(_), Some(machine), Some(runs)) = (doc.passed, &doc.machine, doc.runs) {
        let machine = machine.clone();
        for (i, run) in runs.iter().enumerate() {
            let name = || {
                format!(
                    "run {i}, {} ({})",
                    pmap_view::region::escape_controls(&truncated(&run.lab, 40)),
                    pmap_view::region::escape_controls(&truncated(&run.imp, 20))
                )
            };
            if !matches!(
                run.result.as_str(),
                "pass" | "fail" | "differs" | "n/a" | "skip" | "error"
            ) {
                return Err(format!(
                    "{}: result `{}` is none of pass, fail, differs, n/a, skip, error",
                    name(),
                    pmap_view::region::escape_controls(&truncated(&run.result, 20))
                ));
            }
            if run.completed() && (run.checks_passed.is_none() || run.checks_total.is_none()) {
                return Err(format!(
                    "{}: a completed run without checks_passed and checks_total",
                    name()
                ));
            }
        }
        let runs = runs.into_iter().map(|r| r.into_run(&machine)).collect();
        return Ok((Kind::Check, machine, runs, None));
    }
    if let (Some(exercise), Some(passed), Some(machine), Some(score), Some(checks)) =
        (doc.exercise, doc.passed, doc.machine, doc.score, doc.checks)
    {
        // One exercise graded: a run of it (its program is C).
        let (mut failed_checks, mut not_applicable_checks) = (Vec::new(), Vec::new());
        for g in checks {
            let into = match g.check.status.as_str() {
                "fail" => &mut failed_checks,
                "n/a" => &mut not_applicable_checks,
                _ => continue,
            };
            into.push(StepCheckIn {
                step: g.step,
                check: g.check.check,
                hint: g.hint,
            });
        }
        let run = RunIn {
            lab: exercise,
            imp: "c".into(),
            result: if passed { "pass" } else { "fail" }.into(),
            checks_passed: Some(score.held),
            checks_total: Some(score.total),
            facts: None,
            failed_checks,
            not_applicable_checks,
            message: None,
        };
        let graded = Graded {
            program: doc.file.unwrap_or_default(),
            passed,
            held: score.held,
            total: score.total,
        };
        return Ok((Kind::Grade, machine, vec![run], Some(graded)));
    }
    Err(if doc.steps.is_some() {
        "one lab's run, `lab LAB --json`: ask for `lab check --json`".into()
    } else if doc.regions.is_some() {
        "a process's regions, `lab pmap --json` or `lab explain --json`".into()
    } else if doc.changes.is_some() {
        "`lab diff --json`".into()
    } else if doc.samples.is_some() {
        "`lab watch --json`".into()
    } else {
        "no `passed`, `machine` and `runs`: JSON from another tool?".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"passed": true, "machine": {"cpus": "2"}, "runs": [
        {"lab": "heap", "impl": "c", "result": "pass", "passed": true, "seconds": 0.1,
         "checks_passed": 3, "checks_total": 3, "failed_checks": [], "not_applicable_checks": []}]}"#;

    #[test]
    fn a_check_document_is_read_with_only_its_fields() {
        let (kind, machine, runs, _) = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(kind, Kind::Check);
        assert_eq!(machine["cpus"], "2");
        assert_eq!(runs.len(), 1);
        assert!(runs[0].completed());
        // schema 1 is read; fields a newer lab adds are ignored.
        let with = MINIMAL.replacen('{', r#"{"schema": 1, "new_field": [1, {"a": 2}], "#, 1);
        assert!(parse(with.as_bytes()).is_ok());
    }

    #[test]
    fn each_kind_of_bad_input_has_its_own_message() {
        let msg = |text: &str| parse(text.as_bytes()).unwrap_err();
        assert_eq!(msg(""), "an empty file, not a lab check --json document");
        assert!(msg("<html>").starts_with("not a lab check --json document (not JSON: "));
        assert!(
            msg(" [1, 2]") == "not a lab check --json document (a JSON array, not an object)",
            "{}",
            msg(" [1, 2]")
        );
        assert!(msg("\"x\"").contains("(a JSON string, not an object)"));
        assert!(msg("42").contains("(a JSON number, not an object)"));
        assert!(msg("[1, ").contains("(not JSON: EOF while parsing"));
        assert!(msg("[1/18] heap (rust) … pass 18/18 (0.02 s)\n{")
            .contains("lab check's progress lines are in it"));
        let bom = format!("\u{feff}{MINIMAL}");
        assert!(
            parse(bom.as_bytes()).is_ok(),
            "a byte-order mark is skipped"
        );
        assert!(msg(r#"{"name": "x"}"#).contains("JSON from another tool?"));
        assert!(msg(r#"{"pid": 1, "regions": []}"#).contains("`lab pmap --json`"));
        assert!(msg(r#"{"lab": "heap", "steps": []}"#).contains("`lab LAB --json`"));
        assert!(
            msg(&MINIMAL.replace("\"pass\", \"passed\"", "\"ok\", \"passed\""))
                .contains("run 0, heap (c): result `ok` is none of")
        );
        assert!(msg(&MINIMAL.replace("\"checks_passed\": 3,", ""))
            .contains("a completed run without checks_passed"));
        assert!(
            msg(r#"{"passed": true, "machine": {"cpus": 2}, "runs": []}"#)
                .contains("invalid type: integer `2`, expected a string")
        );
    }

    #[test]
    fn a_newer_schema_is_named_even_when_the_rest_does_not_parse() {
        let newer = MINIMAL.replacen('{', r#"{"schema": 2, "#, 1);
        assert!(parse(newer.as_bytes())
            .unwrap_err()
            .starts_with("written by a newer lab (schema 2;"));
        let changed = r#"{"schema": 7, "passed": "yes", "runs": {}}"#;
        assert!(parse(changed.as_bytes())
            .unwrap_err()
            .starts_with("written by a newer lab (schema 7;"));
        let odd = MINIMAL.replacen('{', "{\"schema\": \"v\\u001b2\", ", 1);
        let e = parse(odd.as_bytes()).unwrap_err();
        assert!(
            e.starts_with("an unknown schema version \"v\\u001b2\" (this lab reads schema 1 "),
            "{e}"
        );
    }
}
