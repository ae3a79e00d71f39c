//! `lab watch PID`: finds the region that grows steadily, with the right rate,
//! and says nothing grows when nothing does.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::util::{lab, lab_exe};

fn rollup_rss(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let line = text.lines().find(|l| l.starts_with("Rss:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn watch_finds_a_leak_and_its_rate() {
    // The Rust port of the leak demo, leaking 1008 KiB of [heap] every 20 ms.
    let mut leaker = Command::new(lab_exe())
        .args(["workload", "leak", "heap", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(leaker.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let pid = leaker.id();
    assert_eq!(first.trim(), format!("pid {pid}"));

    // Ground truth, measured around the watch with our own clock.
    let (t0, rss0) = (Instant::now(), rollup_rss(pid));
    let out = lab(&[
        "watch",
        &pid.to_string(),
        "--interval",
        "0.2",
        "--count",
        "11",
        "--json",
    ]);
    let (t1, rss1) = (Instant::now(), rollup_rss(pid));
    leaker.kill().unwrap();
    leaker.wait().unwrap();

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = crate::util::json_doc(crate::util::Doc::Watch, &out.stdout);
    assert_eq!(v["samples"].as_array().unwrap().len(), 11);
    let leak = &v["likely_leak"];
    assert_eq!(leak["kind"], "heap", "{v}");
    assert_eq!(leak["steady"], true);
    let rate = leak["rss_kib_per_s"].as_f64().unwrap();
    let truth = (rss1 - rss0) / (t1 - t0).as_secs_f64();
    assert!(
        (rate - truth).abs() <= truth * 0.10,
        "watch says {rate:.0} KiB/s, the process grew {truth:.0} KiB/s"
    );
}

#[test]
fn watch_flags_nothing_in_a_process_that_does_not_grow() {
    let mut idle = Command::new("sleep").arg("30").spawn().unwrap();
    let out = lab(&[
        "watch",
        &idle.id().to_string(),
        "--interval",
        "0.05",
        "--count",
        "5",
    ]);
    idle.kill().unwrap();
    idle.wait().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(text.contains("no region grew steadily"), "{text}");
}

#[test]
fn watch_of_a_missing_process_is_one_clear_line() {
    let out = lab(&["watch", "999999999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not found") || err.contains("not a process id"),
        "{err}"
    );
}

/// Issue 19: a watched process exits and its PID goes to another process.
/// `lab watch` compares the start time at every sample and stops, instead of
/// reporting the newcomer's memory as the watched one's growth. The reuse is
/// forced in a PID namespace of our own (root: `ns_last_pid`).
#[test]
fn watch_stops_when_the_pid_belongs_to_another_process() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root: this test must run"
        );
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED watch::watch_stops_when_the_pid_belongs_to_another_process: needs root (a PID namespace and ns_last_pid)"
        );
        return;
    }
    // In the namespace: a process to watch, lab watching it, the process
    // killed and reaped, its PID handed to a new process (which maps 200
    // MiB and writes them), then lab's verdict.
    let script = format!(
        r#"
sleep 60 & victim=$!
"{lab}" watch $victim --interval 0.2 --count 40 >/dev/null 2>"$1/err" & watcher=$!
sleep 0.5
kill -KILL $victim; wait $victim 2>/dev/null
echo $((victim - 1)) > /proc/sys/kernel/ns_last_pid
python3 -c 'import time; b = bytearray(200 << 20); time.sleep(10)' & newcomer=$!
echo "victim $victim newcomer $newcomer" > "$1/pids"
wait $watcher; echo "rc $?" >> "$1/pids"
kill -KILL $newcomer
"#,
        lab = lab_exe().display()
    );
    let dir = std::env::temp_dir().join(format!("pmap-lab-watch-reuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t0 = Instant::now();
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script, "sh"])
        .arg(&dir)
        .output()
        .expect("unshare (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pids = std::fs::read_to_string(dir.join("pids")).unwrap();
    let err = std::fs::read_to_string(dir.join("err")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let words: Vec<&str> = pids.split_whitespace().collect();
    assert_eq!(words[1], words[3], "the PID was not reused: {pids}");
    assert!(pids.contains("rc 0"), "{pids} {err}");
    assert!(
        err.contains("now belongs to another process") || err.contains("exited"),
        "{err}"
    );
    // It stopped at the exit, long before its 40 samples (8 s).
    assert!(t0.elapsed().as_secs_f64() < 7.0, "{err}");
}
