//! Demos that misbehave: hang at a step, crash, exit early, or cannot get
//! their memory. The observer notices, kills the demo, reports the step and
//! what it saw, and `lab` exits 2.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::Duration;

use observer::spec::catalog;
use observer::{run_lab, Impl, RunError, RunOptions, Toolchain};

use crate::util::gone_within;

/// A stand-in for `lab workload heap`: a shell script with the given body.
fn fake_workload(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmap-lab-faults-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\necho pid $$\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

fn run_fake(name: &str, body: &str) -> (RunError, i32) {
    let script = fake_workload(name, body);
    let opts = RunOptions {
        step_timeout: Duration::from_millis(500),
        tools: Toolchain {
            workload_exe: Some(script.clone()),
            ..Default::default()
        },
    };
    let mut pid = 0;
    let err = run_lab(catalog::find("heap").unwrap(), Impl::Rust, &opts, |r| {
        pid = r.pid;
        Ok(observer::Next::Continue)
    })
    .expect_err("the fake demo misbehaves");
    let _ = std::fs::remove_dir_all(script.parent().unwrap());
    (err, pid)
}

#[test]
fn a_demo_that_hangs_is_killed_and_the_step_named() {
    let (err, pid) = run_fake("hang", "echo start; read x; echo working; sleep 30");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "the demo did not reach its next prompt within 0.5 s (it was killed) at step 1"
        ),
        "{msg}"
    );
    assert!(msg.contains("working"), "shows what it printed: {msg}");
    assert!(
        gone_within(pid, Duration::from_secs(5)),
        "hung demo {pid} survived"
    );
}

#[test]
fn a_demo_that_crashes_is_reported_with_its_signal() {
    let (err, _) = run_fake(
        "crash",
        "echo start; read x; echo one; read x; kill -SEGV $$",
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("the demo was killed by SIGSEGV (segmentation fault) at step 2"),
        "{msg}"
    );
}

#[test]
fn a_demo_that_exits_early_is_reported() {
    let (err, _) = run_fake("early", "echo start; read x; echo bye; exit 3");
    assert!(
        err.to_string()
            .starts_with("the demo exited with status 3 at step 1; its last output:\n  bye"),
        "{err}"
    );
}

#[test]
fn a_demo_under_ulimit_v_says_its_allocation_was_refused() {
    // The C demo must be compiled already: no compiler runs in 40 MiB. It
    // is kept only in a cache no demo can write (docs/confinement.md).
    let cache = observer::drive::impls::cache_dir(&Default::default()).unwrap();
    if !observer::drive::confine::protects(&cache) {
        return crate::util::skip(
            "a_demo_under_ulimit_v_says_its_allocation_was_refused",
            &format!(
                "the cache {} is not out of every demo's reach (no Landlock, or under /tmp): \
                 the demo would be compiled under the limit",
                cache.display()
            ),
        );
    }
    let built = std::process::Command::new(crate::util::lab_exe())
        .args(["heap", "--impl", "c", "--no-pause"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    // 40 MiB of address space: enough for lab and the 10 MiB block, not for the 50 MiB one.
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["heap", "--impl", "c", "--no-pause"])
        .env("NO_COLOR", "1")
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .apply_rlimit_as(40 << 20)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "exited with status 1 (its address space is limited to 40960 KiB by `ulimit -v`"
        ),
        "{err}"
    );
    assert!(err.contains("at step 2"), "{err}");
    assert!(err.contains("heap: malloc of 50 MiB failed"), "{err}");
}

trait RlimitAs {
    fn apply_rlimit_as(&mut self, bytes: u64) -> &mut Self;
}

impl RlimitAs for std::process::Command {
    fn apply_rlimit_as(&mut self, bytes: u64) -> &mut Self {
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            self.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }
}

/// In a memory cgroup of 40 MiB, a lab whose demo holds more (mmap: 100 MiB)
/// does not start and says why; a demo that holds more than its lab says (the
/// heap demo built with every malloc writing its block: 60 MiB) is OOM-killed,
/// and the message says, in words, that it ran out of memory. Needs root and
/// a memory controller, cgroup v1 (this machine, CI) or v2; elsewhere it says
/// why it skips.
#[test]
fn a_demo_killed_by_the_oom_killer_is_explained() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        crate::util::skip(
            "faults::a_demo_killed_by_the_oom_killer_is_explained",
            "a memory cgroup needs root",
        );
        return;
    }
    let name = format!("pmap-lab-oom-{}", std::process::id());
    let v1 = std::path::Path::new("/sys/fs/cgroup/memory");
    let v2 = std::path::Path::new("/sys/fs/cgroup");
    let limit = (40u64 << 20).to_string();
    let group = if v1.join("cgroup.procs").exists() {
        let group = v1.join(&name);
        std::fs::create_dir_all(&group).unwrap();
        std::fs::write(group.join("memory.limit_in_bytes"), &limit).unwrap();
        group
    } else if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
    {
        // cgroup v2, the memory controller enabled for the root's children.
        let group = v2.join(&name);
        std::fs::create_dir_all(&group).unwrap();
        std::fs::write(group.join("memory.max"), &limit).unwrap();
        let _ = std::fs::write(group.join("memory.swap.max"), "0");
        group
    } else {
        return crate::util::skip(
            "a_demo_killed_by_the_oom_killer_is_explained",
            "no memory controller (cgroup v1 memory, or cgroup v2 with memory in the root's \
             subtree_control)",
        );
    };
    let procs = group.join("cgroup.procs");
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["mmap", "--impl", "c", "--no-pause"])
        .stdin(std::process::Stdio::null())
        .pre_exec_join(procs.clone())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the mmap lab does not apply here: the memory cgroup limit is 40960 KiB and its demo holds up to 112 MiB"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("pmap-lab-test-oom-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let cc = crate::util::touching_malloc_cc(&dir);
    let out = std::process::Command::new(crate::util::lab_exe())
        .args(["heap", "--impl", "c", "--no-pause"])
        .env("CC", &cc)
        .stdin(std::process::Stdio::null())
        .pre_exec_join(procs.clone())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir(&group);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the demo was killed by SIGKILL (SIGKILL usually means"),
        "{err}"
    );
    assert!(
        err.contains("out-of-memory killer or a memory cgroup limit"),
        "{err}"
    );
    assert!(err.contains("at step 2"), "{err}");
}

trait JoinCgroup {
    fn pre_exec_join(&mut self, procs: std::path::PathBuf) -> &mut Self;
}

impl JoinCgroup for std::process::Command {
    fn pre_exec_join(&mut self, procs: std::path::PathBuf) -> &mut Self {
        // SAFETY: open/write/close of a small file before exec; the path is
        // prepared before the fork.
        let path = std::ffi::CString::new(procs.into_os_string().into_encoded_bytes()).unwrap();
        unsafe {
            self.pre_exec(move || {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let ok = libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
                libc::close(fd);
                if ok {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            })
        }
    }
}
