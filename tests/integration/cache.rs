//! The cache directory demos are built and run in, and the C compiler line:
//! the cache is the user's own or refused with the reason, never a shared
//! place; `CC` may carry flags; the compiled demo is keyed by the compiler's
//! identity and flags, so switching the compiler behind a name builds anew.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::hostile::scratch_dir;
use crate::util::{data_home, lab_exe};

/// `lab ARGS` with a clean cache choice: no PMAP_LAB_CACHE_DIR unless given.
fn lab_in(cwd: &Path, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Output {
    let mut cmd = Command::new(lab_exe());
    cmd.args(args)
        .current_dir(cwd)
        .env("XDG_DATA_HOME", data_home())
        .env_remove("PMAP_LAB_CACHE_DIR")
        .stdin(std::process::Stdio::null());
    for k in unset {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn compiled_dirs(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("c-"))
        .collect()
}

#[test]
fn a_cache_directory_others_can_write_or_own_is_refused() {
    let base = scratch_dir("cache-refused");
    let open = base.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = lab_in(
        &base,
        &["heap", "--impl", "c", "--cache-dir", open.to_str().unwrap()],
        &[],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("others can write to it"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--cache-dir"), "{}", stderr(&out));
    assert!(compiled_dirs(&open).is_empty(), "nothing is built there");

    // A link to a directory of our own is refused too: it could be swapped.
    let real = base.join("real");
    std::fs::create_dir(&real).unwrap();
    let link = base.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = lab_in(
        &base,
        &["heap", "--impl", "c"],
        &[("PMAP_LAB_CACHE_DIR", link.to_str().unwrap())],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));

    // Another user's directory: only root can make one here.
    if nix::unistd::geteuid().is_root() {
        let theirs = base.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        nix::unistd::chown(&theirs, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let out = lab_in(
            &base,
            &[
                "heap",
                "--impl",
                "c",
                "--cache-dir",
                theirs.to_str().unwrap(),
            ],
            &[],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("belongs to uid 65534"),
            "{}",
            stderr(&out)
        );
    } else {
        crate::util::skip(
            "a_cache_directory_others_can_write_or_own_is_refused",
            "making another user's directory takes root",
        );
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn without_home_the_cache_is_still_the_users_own_and_never_the_current_directory() {
    let cwd = scratch_dir("cache-nohome");
    for home in [None, Some("")] {
        let mut env = Vec::new();
        if let Some(h) = home {
            env.push(("HOME", h));
        }
        let out = lab_in(
            &cwd,
            &["heap", "--impl", "c", "--json"],
            &env,
            &["HOME", "XDG_CACHE_HOME"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "HOME={home:?}: {}",
            stderr(&out)
        );
    }
    assert!(
        std::fs::read_dir(&cwd).unwrap().next().is_none(),
        "lab created files in the current directory"
    );
    let _ = std::fs::remove_dir_all(&cwd);
}

#[test]
fn a_read_only_cache_directory_says_how_to_choose_another() {
    let base = scratch_dir("cache-ro");
    let ro = base.join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o700)).unwrap();
    // A read-only mount (root ignores permission bits, not a read-only filesystem).
    let script = format!(
        "mount --bind {d} {d} && mount -o remount,bind,ro {d} && exec {lab} heap --impl c --cache-dir {d}",
        d = ro.display(),
        lab = lab_exe().display()
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env_remove("PMAP_LAB_CACHE_DIR")
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) if !stderr(&out).contains("unshare:") && !stderr(&out).contains("mount:") => {
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            let msg = stderr(&out);
            assert!(msg.contains("not writable"), "{msg}");
            assert!(msg.contains("PMAP_LAB_CACHE_DIR"), "{msg}");
            assert_eq!(msg.lines().count(), 1, "one line: {msg}");
        }
        Ok(out) => crate::util::skip(
            "a_read_only_cache_directory_says_how_to_choose_another",
            &format!("no mount namespace here: {}", stderr(&out).trim()),
        ),
        Err(e) => crate::util::skip(
            "a_read_only_cache_directory_says_how_to_choose_another",
            &format!("unshare: {e}"),
        ),
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// `CC` with flags works and is named in the run; each compiler line and each
/// compiler behind a name gets its own build.
#[test]
fn the_compiler_line_and_identity_key_the_compiled_demo() {
    let base = scratch_dir("cache-cc");
    // Out of /tmp where the build is (target/tmp), so that it can be reused.
    let cache =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-cc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cache_arg = cache.to_str().unwrap().to_string();
    let run = |cc: &str, path: Option<&str>| {
        let mut env = vec![("CC", cc)];
        if let Some(p) = path {
            env.push(("PATH", p));
        }
        let out = lab_in(
            &base,
            &["heap", "--impl", "c", "--json", "--cache-dir", &cache_arg],
            &env,
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "CC={cc}: {}", stderr(&out));
        let v = crate::util::json_doc(crate::util::Doc::LabRun, &out.stdout);
        v["runtime"].as_str().unwrap().to_string()
    };
    // Builds are cached only where no demo can write the cache (Landlock,
    // and a cache outside /tmp); elsewhere every run builds afresh.
    let builds = |n: usize| {
        if observer::drive::confine::protects(&cache) {
            n
        } else {
            0
        }
    };
    let plain = run("cc", None);
    let optimised = run("cc -O2", None);
    assert!(!plain.contains(" with "), "{plain}");
    assert!(optimised.ends_with(" with -O2"), "{optimised}");
    assert_eq!(
        compiled_dirs(&cache).len(),
        builds(2),
        "one build per compiler line"
    );
    assert_eq!(run("cc -O2", None), optimised);
    assert_eq!(
        compiled_dirs(&cache).len(),
        builds(2),
        "the same line reuses its build"
    );

    // The same name, another compiler behind it.
    let clang = ["/usr/bin/clang", "/usr/local/bin/clang"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let gcc = ["/usr/bin/gcc", "/usr/local/bin/gcc"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    match (gcc, clang) {
        (Some(gcc), Some(clang)) => {
            let bin = base.join("bin");
            std::fs::create_dir(&bin).unwrap();
            let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
            std::os::unix::fs::symlink(gcc, bin.join("mycc")).unwrap();
            let first = run("mycc", Some(&path));
            std::fs::remove_file(bin.join("mycc")).unwrap();
            std::os::unix::fs::symlink(clang, bin.join("mycc")).unwrap();
            let second = run("mycc", Some(&path));
            assert_ne!(first, second, "the run names the compiler that built it");
            assert!(second.to_lowercase().contains("clang"), "{second}");
            assert_eq!(
                compiled_dirs(&cache).len(),
                builds(4),
                "a build per compiler"
            );
        }
        _ => crate::util::skip(
            "the_compiler_line_and_identity_key_the_compiled_demo",
            "switching the compiler behind a name needs gcc and clang",
        ),
    }
    let _ = std::fs::remove_dir_all(&cache);
    let _ = std::fs::remove_dir_all(&base);
}
