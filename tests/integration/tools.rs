//! `lab diff`: two captures of a live process, compared by region identity.

use std::time::Duration;

use observer::drive::demo::Demo;

use crate::util::{lab, lab_exe};

fn capture(pid: i32, path: &std::path::Path) {
    let out = lab(&["pmap", "--json", &pid.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    crate::util::json_doc(crate::util::Doc::Pmap, &out.stdout);
    std::fs::write(path, out.stdout).unwrap();
}

#[test]
fn diff_of_two_captures_shows_the_malloc_as_a_grown_or_new_anonymous_region() {
    let mut cmd = std::process::Command::new(lab_exe());
    cmd.args(["workload", "heap"]);
    let mut demo = Demo::spawn(cmd).unwrap();
    let t = Duration::from_secs(30);
    let dir = std::env::temp_dir().join(format!("pmap-lab-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    demo.wait_for_prompt(t).unwrap();
    capture(demo.pid(), &a);
    demo.answer().unwrap(); // malloc(10 MiB)
    demo.wait_for_prompt(t).unwrap();
    capture(demo.pid(), &b);
    drop(demo);

    let out = lab(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::Diff, &out.stdout);
    let big: Vec<&serde_json::Value> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["size_delta_kib"].as_i64().unwrap().abs() >= 1024)
        .collect();
    assert_eq!(big.len(), 1, "{v}");
    assert_eq!(big[0]["kind"], "anon");
    assert!(["grew", "appeared"].contains(&big[0]["change"].as_str().unwrap()));
    assert_eq!(big[0]["size_delta_kib"], 10244);

    let text =
        String::from_utf8(lab(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("[anon]") && l.contains("virt +10244 K")),
        "{text}"
    );
    assert!(text.contains("regions unchanged"));

    // Bad input: one clear line, exit 2.
    std::fs::write(dir.join("bad.json"), "{\"regions\": 3}").unwrap();
    let out = lab(&[
        "diff",
        a.to_str().unwrap(),
        dir.join("bad.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.json: no `regions` array"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Drive `lab workload NAME` to the prompt after `steps` actions and explain it.
fn explain_at(name: &str, steps: usize) -> Vec<(String, bool)> {
    let mut cmd = std::process::Command::new(lab_exe());
    cmd.args(["workload", name]);
    let mut demo = Demo::spawn(cmd).unwrap();
    let t = Duration::from_secs(30);
    demo.wait_for_prompt(t).unwrap();
    for _ in 0..steps {
        demo.answer().unwrap();
        demo.wait_for_prompt(t).unwrap();
    }
    let out = lab(&["explain", &demo.pid().to_string(), "--json"]);
    drop(demo);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::Explain, &out.stdout);
    v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["explanation"].as_str().unwrap().to_string(),
                r["certain"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The facts a run of a Rust port has here: this machine's, and the C
/// library this test maps (the workload's too: the same binary tree, the
/// same root), with the allocator variables of the environment.
fn facts_of_threads() -> observer::measure::machine::Facts {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| observer::measure::machine::is_allocator_variable(k))
        .collect();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let paths: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .collect();
    let mut facts = observer::measure::machine::Facts::of_machine(None);
    facts.add_allocator(&env, &paths, None);
    facts
}

#[test]
fn explain_finds_every_thread_stack_guard_page_and_arena() {
    let regions = explain_at("threads", 2); // 100 threads, each has called malloc
    let count = |what: &str| {
        regions
            .iter()
            .filter(|(e, certain)| e.starts_with(what) && *certain)
            .count()
    };
    if facts_of_threads().get("stack_guards") == Some("guard regions") {
        // glibc 2.42+ on Linux 6.13+: one region holds the 100 stacks, their
        // guards inside it, no ---p guard mapping.
        assert_eq!(count("stacks of 100 threads"), 1, "{regions:#?}");
        assert_eq!(count("guard page of thread"), 0);
        return;
    }
    assert_eq!(count("stack of thread"), 100, "{regions:#?}");
    assert_eq!(count("guard page of thread"), 100);
    // The workload runs with this environment, allocator variables included.
    let facts = facts_of_threads();
    let arenas = facts.new_arenas(100) as usize;
    assert_eq!(count("glibc malloc arena"), arenas);
    assert_eq!(count("rest of a malloc arena"), arenas);
    assert_eq!(count("[heap]"), 1);
    assert_eq!(count("[stack]"), 1);
    assert!(count("code (.text) of the program") >= 1);
    // libc.so.6 (glibc 2.34 on), libc-2.31.so before.
    assert_eq!(
        count("code (.text) of library libc.so.6") + count("code (.text) of library libc-2."),
        1
    );
}

#[test]
fn explain_walks_large_malloc_blocks() {
    let regions = explain_at("heap", 2); // malloc(10 MiB) and malloc(50 MiB), merged into one region
    let blocks: Vec<&String> = regions
        .iter()
        .map(|(e, _)| e)
        .filter(|e| e.contains("large malloc block"))
        .collect();
    assert_eq!(blocks.len(), 1, "{regions:#?}");
    assert!(
        blocks[0].starts_with("2 large malloc blocks"),
        "{}",
        blocks[0]
    );
    assert!(blocks[0].contains("the largest 51204 KiB"), "{}", blocks[0]);
}

/// A C program that prints its main thread's thread pointer (glibc's TCB)
/// and, with an argument, starts a second thread first; waits for stdin.
const THREAD_POINTER_C: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *idle(void *arg) { (void)arg; pause(); return 0; }
int main(int argc, char **argv) {
    (void)argv;
    pthread_t t;
    if (argc > 1 && pthread_create(&t, 0, idle, 0) != 0) return 1;
#if defined(__x86_64__)
    /* glibc's TCB starts with a pointer to itself; gcc before 11 has no
     * __builtin_thread_pointer on x86-64. */
    void *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    printf("%p\n", tp);
#else
    printf("%p\n", __builtin_thread_pointer());
#endif
    fflush(stdout);
    getchar();
    return 0;
}
"#;

fn thread_pointer_exe() -> std::path::PathBuf {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let source = tmp.join(format!("thread-pointer.{}.c", std::process::id()));
    let exe = tmp.join(format!("thread-pointer.{}", std::process::id()));
    std::fs::write(&source, THREAD_POINTER_C).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = std::process::Command::new(&cc)
        .args(["-O1", "-pthread", "-o"])
        .arg(&exe)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("`{cc}` not found ({e}): install a C compiler"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// `lab explain` names the small anonymous region holding the main thread's
/// thread-local storage, and it is the region the thread pointer (read by
/// the program itself) points into: exactly one, with or without a second
/// thread, whose TCB is not the main thread's.
#[test]
fn explain_names_the_main_threads_thread_local_storage() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let exe = thread_pointer_exe();
    for args in [&[][..], &["thread"][..]] {
        let mut child = Command::new(&exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let tp = u64::from_str_radix(line.trim().trim_start_matches("0x"), 16)
            .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let out = lab(&["explain", "--json", &child.id().to_string()]);
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = crate::util::json_doc(crate::util::Doc::Explain, &out.stdout);
        let regions = v["regions"].as_array().unwrap();
        let addr = |r: &serde_json::Value, k: &str| {
            u64::from_str_radix(r[k].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        let holding = regions
            .iter()
            .find(|r| addr(r, "start") <= tp && tp < addr(r, "end"))
            .expect("a region holds the thread pointer");
        let what = holding["explanation"].as_str().unwrap();
        assert!(
            what.starts_with("thread-local storage of the main thread")
                && what.contains(&format!("TCB at {tp:#x}")),
            "{args:?}: {what}"
        );
        assert_eq!(holding["certain"], true);
        let named = regions
            .iter()
            .filter(|r| {
                r["explanation"]
                    .as_str()
                    .unwrap()
                    .contains("thread-local storage of the main thread")
            })
            .count();
        assert_eq!(named, 1, "{args:?}: {regions:#?}");
    }
    let _ = std::fs::remove_file(&exe);
}

/// After malloc(10 MiB) the block merges with the TLS region above it when
/// they touch (glibc 2.36 here; with 2.41 the Rust port's block lands apart):
/// explain names the block, and the TLS exactly once, after the block in its
/// region when they merged, else as a region of its own.
#[test]
fn explain_names_the_tls_merged_under_a_malloc_block() {
    let regions = explain_at("heap", 1);
    let block: Vec<&String> = regions
        .iter()
        .map(|(e, _)| e)
        .filter(|e| e.contains("large malloc block"))
        .collect();
    assert_eq!(block.len(), 1, "{regions:#?}");
    assert!(block[0].starts_with("1 large malloc block"), "{}", block[0]);
    let tls: Vec<&String> = regions
        .iter()
        .map(|(e, _)| e)
        .filter(|e| e.contains("thread-local storage of the main thread"))
        .collect();
    assert_eq!(tls.len(), 1, "{regions:#?}");
    if tls[0] == block[0] {
        assert!(
            block[0].contains(" KiB: thread-local storage of the main thread"),
            "{}",
            block[0]
        );
    }
}

#[test]
fn explain_of_a_missing_process_is_one_line() {
    let out = lab(&["explain", "999999999"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
}

#[test]
fn observe_drives_a_students_program_and_shows_its_allocation() {
    let dir = std::env::temp_dir().join(format!("pmap-lab-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("homework.py");
    std::fs::write(&prog, "data = []\ninput('ready> ')\ndata.append(bytearray(50 * 1024 * 1024))\ninput('allocated> ')\n").unwrap();
    let out = lab(&["observe", "--json", "--", "python3", prog.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::Observe, &out.stdout);
    // It says what ran: the program and its arguments (not a lab's `c`).
    assert_eq!(v["command"], serde_json::json!(["python3", prog]));
    assert_eq!(v["impl"], "python3");
    let steps = v["steps"].as_array().unwrap();
    let prompts: Vec<&str> = steps
        .iter()
        .map(|s| s["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["ready>", "allocated>"]);
    // bytearray(50 MiB) is zero-filled by calloc: the pages are resident.
    let grown = steps[1]["changes"].as_array().unwrap().iter().any(|c| {
        c["kind"] == "anon"
            && c["size_delta_kib"].as_i64().unwrap() >= 51200
            && c["rss_delta_kib"].as_i64().unwrap() >= 51200
    });
    assert!(grown, "{}", steps[1]["changes"]);
}

#[test]
fn observe_with_a_prompt_pattern_steps_at_each_match() {
    let out = lab(&[
        "observe",
        "--json",
        "--prompt",
        "> $",
        "--",
        "sh",
        "-c",
        "printf 'a> '; read x; printf 'b> '; read y",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::Observe, &out.stdout);
    let prompts: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["a>", "b>"]);
}

#[test]
fn observe_reports_a_program_that_crashes() {
    let out = lab(&[
        "observe",
        "--no-pause",
        "--",
        "sh",
        "-c",
        "printf 'go> '; read x; kill -SEGV $$",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("killed by SIGSEGV") && err.contains("at step 1"),
        "{err}"
    );
}

/// An empty map is the truth for a zombie and a kernel thread; lab says why.
#[test]
fn pmap_says_why_a_zombie_or_a_kernel_thread_has_no_map() {
    let child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id().to_string();
    // Not waited for yet: a zombie once it has exited.
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap()
        .contains(") Z ")
    {
        assert!(start.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = lab(&["pmap", "-x", &pid]);
    assert!(out.status.success());
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("(a zombie): it has no memory map"));
    drop(child); // reaped by the test harness's exit; not waited here on purpose
    let out = lab(&["pmap", "-x", "2"]); // kthreadd
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("is a kernel thread"));
}
