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

/// Run `lab ARGS --json` and parse its output, asserting the exit code.
pub fn lab_json(args: &[&str], code: i32) -> serde_json::Value {
    let out = lab(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "lab {args:?}: stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lab --json prints JSON")
}

/// True while `pid` is a live process (a zombie awaiting its reaper is not).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => observer::demo::stat_state(&stat) != Some('Z'),
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
