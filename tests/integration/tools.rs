//! `lab diff`: two captures of a live process, compared by region identity.

use std::time::Duration;

use observer::demo::Demo;

use crate::util::{lab, lab_exe};

fn capture(pid: i32, path: &std::path::Path) {
    let out = lab(&["pmap", "--json", &pid.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
