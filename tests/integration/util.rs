//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The `lab` binary under test, written back to disk first: a binary the
/// linker has just written has dirty page-cache pages, and their writeback in
/// the middle of a run would show as Dirty dropping in the Rust ports' maps.
///
/// `LAB_EXE=PATH` tests another build instead (an older one, to see a
/// regression test fail without its fix).
pub fn lab_exe() -> PathBuf {
    static SYNCED: std::sync::Once = std::sync::Once::new();
    let exe = std::env::var_os("LAB_EXE")
        .filter(|e| !e.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lab")), PathBuf::from);
    SYNCED.call_once(|| {
        std::fs::File::open(&exe)
            .and_then(|f| f.sync_all())
            .expect("syncing the lab binary");
    });
    exe
}

/// Where the tests keep `lab`'s progress file (not the user's).
pub fn data_home() -> PathBuf {
    std::env::temp_dir().join(format!("pmap-lab-tests-data-{}", std::process::id()))
}

/// Run `lab ARGS` with stdin closed (not a terminal: never pauses).
pub fn lab(args: &[&str]) -> Output {
    Command::new(lab_exe())
        .args(args)
        .env("XDG_DATA_HOME", data_home())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running lab")
}

/// Run `lab ARGS --json` and parse its output, asserting the exit code and
/// that the document is valid by its schema.
pub fn lab_json(args: &[&str], code: i32) -> serde_json::Value {
    let out = lab(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "lab {args:?}: stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_doc(Doc::of_args(args), &out.stdout)
}

/// The documents lab prints with `--json`, each with its JSON Schema in
/// docs/schema/ (docs/json.md explains them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    /// `lab LAB --json`
    LabRun,
    /// `lab observe --json -- CMD…`
    Observe,
    /// `lab check --json`
    Check,
    /// `lab pmap --json PID…` (one document per PID)
    Pmap,
    /// `lab explain --json PID`
    Explain,
    /// `lab diff --json A B`
    Diff,
    /// `lab watch --json PID`
    Watch,
    /// `lab report --json FILE…`
    Report,
    /// `lab grade NAME --json`
    Grade,
}

impl Doc {
    pub const ALL: [Doc; 9] = [
        Doc::LabRun,
        Doc::Observe,
        Doc::Check,
        Doc::Pmap,
        Doc::Explain,
        Doc::Diff,
        Doc::Watch,
        Doc::Report,
        Doc::Grade,
    ];

    /// The document `lab ARGS` prints, by its subcommand.
    pub fn of_args(args: &[&str]) -> Doc {
        match args.first().copied() {
            Some("observe") => Doc::Observe,
            Some("check") => Doc::Check,
            Some("pmap") => Doc::Pmap,
            Some("explain") => Doc::Explain,
            Some("diff") => Doc::Diff,
            Some("watch") => Doc::Watch,
            Some("report") => Doc::Report,
            Some("grade") => Doc::Grade,
            _ => Doc::LabRun,
        }
    }

    /// Its schema, relative to docs/schema/.
    pub fn schema_file(self) -> &'static str {
        match self {
            Doc::LabRun => "lab-run.schema.json",
            Doc::Observe => "observe.schema.json",
            Doc::Check => "check.schema.json",
            Doc::Pmap => "pmap.schema.json",
            Doc::Explain => "explain.schema.json",
            Doc::Diff => "diff.schema.json",
            Doc::Watch => "watch.schema.json",
            Doc::Report => "report.schema.json",
            Doc::Grade => "grade.schema.json",
        }
    }
}

/// The schemas of docs/schema/, compiled once (their `$ref`s to
/// common.schema.json are loaded from beside them).
fn schemas() -> &'static (boon::Schemas, Vec<(Doc, boon::SchemaIndex)>) {
    static SCHEMAS: std::sync::OnceLock<(boon::Schemas, Vec<(Doc, boon::SchemaIndex)>)> =
        std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema");
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        let index = Doc::ALL
            .iter()
            .map(|&doc| {
                let path = dir.join(doc.schema_file());
                let i = compiler
                    .compile(path.to_str().unwrap(), &mut schemas)
                    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                (doc, i)
            })
            .collect();
        (schemas, index)
    })
}

/// Whether `value` is a valid `doc` by its schema: the errors, one per line.
pub fn check_schema(doc: Doc, value: &serde_json::Value) -> Result<(), String> {
    let (schemas, index) = schemas();
    let i = index.iter().find(|(d, _)| *d == doc).unwrap().1;
    schemas.validate(value, i).map_err(|e| format!("{e:#}"))
}

/// `stdout` of lab as its one `doc`, asserted valid by its schema.
pub fn json_doc(doc: Doc, stdout: &[u8]) -> serde_json::Value {
    let mut docs = json_docs(doc, stdout);
    assert_eq!(docs.len(), 1, "one JSON document");
    docs.remove(0)
}

/// `stdout` of lab as `doc`s, one after the other (`lab pmap --json` of
/// several PIDs), each asserted valid by its schema.
pub fn json_docs(doc: Doc, stdout: &[u8]) -> Vec<serde_json::Value> {
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("lab --json prints JSON");
    for (n, value) in docs.iter().enumerate() {
        if let Err(e) = check_schema(doc, value) {
            panic!(
                "document {n} is not a valid {doc:?} by docs/schema/{}:\n{e}",
                doc.schema_file()
            );
        }
    }
    docs
}

/// True while `pid` is a live process (a zombie awaiting its reaper is not).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => observer::drive::demo::stat_state(&stat) != Some('Z'),
        Err(_) => false,
    }
}

/// Wait up to `limit` for `pid` to be gone.
pub fn gone_within(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    !alive(pid)
}

/// The observer's options for tests: the Rust ports run from the binary under
/// test, without address-space randomisation (so that sizes that depend on
/// alignment, like CPython's arenas, repeat exactly) and with a minimal
/// environment (so that start-up allocations are the same on every machine).
pub fn run_options() -> observer::RunOptions {
    observer::RunOptions {
        tools: observer::Toolchain {
            workload_exe: Some(lab_exe()),
            no_aslr: true,
            fixed_env: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A `CC` line that builds a C demo with every malloc writing its whole block
/// (`-Wl,--wrap=malloc` and a small source in `dir`): memory the lab expects
/// to stay untouched becomes resident, as a student's mistake would make it.
pub fn touching_malloc_cc(dir: &std::path::Path) -> String {
    let wrapper = dir.join("touch.c");
    std::fs::write(
        &wrapper,
        "#include <stddef.h>\n#include <string.h>\nvoid *__real_malloc(size_t);\n\
         void *__wrap_malloc(size_t n) { void *p = __real_malloc(n); if (p) memset(p, 1, n); return p; }\n",
    )
    .unwrap();
    format!("cc -Wl,--wrap=malloc {}", wrapper.display())
}

/// A test that cannot run here says so where cargo shows it (straight to
/// the terminal: the harness captures `eprintln!`), and fails when `CI` is
/// set: CI must run every test. Call it, then return.
pub fn skip(test: &str, why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {why}; CI must run it"
    );
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}
