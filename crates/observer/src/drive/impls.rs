//! The implementations of a lab (Rust port, C demo, Python demo) and how to
//! start each one: the Rust port is this very binary (`lab workload NAME`), the
//! C demo is compiled with the system compiler (`$CC`, flags allowed) into a
//! cache directory of the user's own, the Python demo runs under `python3` or
//! the interpreter the user names. Demos run without the allocator variables
//! of this environment unless asked to keep them.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::drive::error::RunError;
use crate::spec::lab::Lab;

pub use crate::spec::lab::Impl;

/// Where and with what the demos are built and run.
#[derive(Clone, Debug, Default)]
pub struct Toolchain {
    /// The program that runs a Rust port: `PROGRAM workload LAB`. Default: this executable.
    pub workload_exe: Option<PathBuf>,
    /// The C compiler, with flags if any (`clang -O2`). Default: `$CC`, else `cc`.
    pub cc: Option<String>,
    /// The Python interpreter. Default: `python3`.
    pub python: Option<PathBuf>,
    /// Where compiled demos are cached. Default: `$PMAP_LAB_CACHE_DIR`, else
    /// the user's cache directory (see [`cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Run the demo without address-space layout randomisation, so that its
    /// layout, and sizes that depend on alignment, repeat exactly between runs.
    pub no_aslr: bool,
    /// Run the demo with a minimal environment (PATH, HOME, LANG=C.UTF-8): the
    /// Rust runtime's and libc's start-up allocations depend on the environment,
    /// so this makes `[heap]` start the same on every machine (the snapshot tests).
    pub fixed_env: bool,
    /// Keep the allocator variables (`MALLOC_*`, `GLIBC_TUNABLES`,
    /// `LD_PRELOAD`) in the demo's environment. By default they are removed:
    /// the labs teach the allocator as it comes, and the report says what was
    /// removed.
    pub keep_alloc_env: bool,
}

/// A demo ready to start.
pub struct Launch {
    pub command: Command,
    /// The demo's working directory: a folder of this run's own in the cache
    /// directory (files a demo makes, like the filemap lab's, land on a real
    /// disk rather than a tmpfs /tmp), the only folder of lab's where a
    /// confined demo may write; removed when the run ends.
    pub workdir: PathBuf,
    pub run_dir: RunDir,
    /// The program that runs it, in words ("gcc 12.2.0", "Python 3.11.7").
    pub runtime: String,
    /// How the demo comes to run, for the header of a run: "compiled by gcc
    /// 12.2.0 into ~/.cache/pmap-lab/c-…/demo-heap", "run by CPython 3.11.7".
    pub how: String,
    /// The allocator variables the demo runs with.
    pub alloc_env: Vec<(String, String)>,
    /// The allocator variables of this environment removed for the demo.
    pub cleared_env: Vec<String>,
    /// Facts about the demo known before it starts (its Python).
    pub facts: Vec<(&'static str, String)>,
}

/// A run's own folder in the cache directory, `run-PID-N`, made 0700 and
/// removed with all it holds when dropped; one left by a `lab` that was
/// killed is removed by the next run.
pub struct RunDir(PathBuf);

impl RunDir {
    fn create(cache: &Path) -> Result<RunDir, RunError> {
        use std::os::unix::fs::DirBuilderExt;
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        remove_stale_run_dirs(cache);
        let dir = cache.join(format!(
            "run-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| RunError::Io(format!("creating {}", dir.display()), e))?;
        Ok(RunDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Remove `run-PID-N` folders of processes that no longer exist.
fn remove_stale_run_dirs(cache: &Path) {
    for entry in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("run-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists()
            && entry.file_type().is_ok_and(|t| t.is_dir())
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Build (if needed) and describe how to start `imp` of `lab`.
pub fn prepare(lab: &Lab, imp: Impl, tools: &Toolchain) -> Result<Launch, RunError> {
    let mut launch = prepare_command(lab, imp, tools)?;
    launch.command.current_dir(&launch.workdir);
    let ours: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| crate::measure::machine::is_allocator_variable(k))
        .collect();
    if tools.fixed_env {
        launch.command.env_clear().env("LANG", "C.UTF-8");
        for keep in ["PATH", "HOME", "PYENV_ROOT"] {
            if let Some(v) = std::env::var_os(keep) {
                launch.command.env(keep, v);
            }
        }
    }
    if tools.keep_alloc_env {
        for (k, v) in &ours {
            launch.command.env(k, v);
        }
        launch.alloc_env = ours;
    } else {
        for (k, v) in ours {
            launch.command.env_remove(&k);
            launch.cleared_env.push(format!("{k}={v}"));
        }
    }
    if tools.no_aslr {
        // SAFETY: personality(2) is async-signal-safe; it only sets a flag that
        // the exec which follows applies.
        unsafe {
            launch.command.pre_exec(|| {
                if libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Ok(launch)
}

fn prepare_command(lab: &Lab, imp: Impl, tools: &Toolchain) -> Result<Launch, RunError> {
    let source = lab.source_of(imp).ok_or_else(|| RunError::NoSuchImpl {
        lab: lab.name().to_string(),
        imp,
        available: lab
            .impls
            .iter()
            .map(|s| s.imp.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let cache = cache_dir(tools)?;
    let run_dir = RunDir::create(&cache)?;
    let launch = |command: Command, runtime: String, run_dir: RunDir| Launch {
        command,
        how: format!("run by {runtime}"),
        runtime,
        workdir: run_dir.path().to_path_buf(),
        run_dir,
        alloc_env: Vec::new(),
        cleared_env: Vec::new(),
        facts: Vec::new(),
    };
    match imp {
        Impl::Rust => {
            let exe = match &tools.workload_exe {
                Some(p) => p.clone(),
                None => std::env::current_exe()
                    .map_err(|e| RunError::Io("finding this executable".into(), e))?,
            };
            let mut command = Command::new(exe);
            command.args(["workload", lab.name()]);
            Ok(launch(
                command,
                "the Rust port in this lab binary".into(),
                run_dir,
            ))
        }
        Impl::C => {
            let cc = Compiler::from_setting(
                tools
                    .cc
                    .clone()
                    .or_else(|| std::env::var("CC").ok().filter(|s| !s.trim().is_empty()))
                    .as_deref()
                    .unwrap_or("cc"),
            )?;
            let exe = compile_c(&cc, lab.name(), &source.source, &cache, run_dir.path())?;
            let mut l = launch(Command::new(&exe), cc.describe(), run_dir);
            l.how = format!("compiled by {} into {}", l.runtime, exe.display());
            Ok(l)
        }
        Impl::Python => {
            let python = tools
                .python
                .clone()
                .unwrap_or_else(|| PathBuf::from("python3"));
            let shown = python.display().to_string();
            let missing = |why: &str| {
                RunError::MissingTool {
                tool: shown.clone(),
                install: format!(
                    "Python 3 (Debian/Ubuntu: sudo apt install python3), or name a Python 3 with --python PATH{why}"
                ),
            }
            };
            // One probe for the version line and the facts the pylist lab
            // depends on (implementation, version, debug build). Written to
            // run under Python 2 too, so that it can say it is not Python 3.
            let probe = "import platform, sys\n\
                         sys.stdout.write('%s %s %s' % (platform.python_implementation(), \
                         platform.python_version(), hasattr(sys, 'gettotalrefcount')))";
            let out = run_tool(Command::new(&python).args(["-c", probe])).map_err(|e| {
                match e.kind() {
                    std::io::ErrorKind::NotFound => missing(""),
                    _ => RunError::Io(
                        format!("running {shown}"),
                        crate::drive::demo::spawn_error(e),
                    ),
                }
            })?;
            let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let mut words = text.split_whitespace();
            let (Some(implementation), Some(version), Some(debug)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(missing(" (it did not run a Python program)"));
            };
            if !out.status.success() {
                return Err(missing(" (it did not run a Python program)"));
            }
            if !version.starts_with('3') {
                return Err(RunError::Usage(format!(
                    "{shown} is {implementation} {version}, not Python 3: name a Python 3 with --python PATH"
                )));
            }
            // The script in the run's own folder, run in isolated mode (-I):
            // that folder is not on sys.path, nor are PYTHONPATH or the user's
            // site-packages, so no file of another lab can be imported.
            let script = run_dir
                .path()
                .join(Path::new(&source.file).file_name().unwrap_or_default());
            write_if_changed(&script, &source.source)?;
            let mut command = Command::new(&python);
            command.arg("-I").arg(script);
            let mut l = launch(command, format!("{implementation} {version}"), run_dir);
            let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
            // pymalloc's pools: 16 KiB since CPython 3.10, 4 KiB before; other
            // implementations have no pymalloc.
            let minor_number: u32 = version
                .split('.')
                .nth(1)
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let pools = match implementation {
                "CPython" if minor_number >= 10 => "16 KiB",
                "CPython" => "4 KiB",
                _ => "none",
            };
            l.facts = vec![
                ("python", format!("{implementation} {version}")),
                ("python_impl", implementation.to_ascii_lowercase()),
                ("python_version", minor),
                (
                    "python_build",
                    if debug == "True" { "debug" } else { "release" }.into(),
                ),
                ("python_pools", pools.into()),
            ];
            Ok(l)
        }
        Impl::Script => {
            // Run by the interpreter its `#!` line names (with the one
            // argument the kernel would pass), so that the copy in the cache
            // needs no execute permission.
            let first = source.source.lines().next().unwrap_or("");
            let Some(line) = first.strip_prefix("#!").map(str::trim) else {
                return Err(RunError::Usage(format!(
                    "{}: a script demo starts with a #! line naming its interpreter (#!/bin/bash)",
                    source.file
                )));
            };
            let (interpreter, arg) = match line.split_once(char::is_whitespace) {
                Some((i, a)) => (i, Some(a.trim())),
                None => (line, None),
            };
            if interpreter.is_empty() {
                return Err(RunError::Usage(format!(
                    "{}: an empty #! line",
                    source.file
                )));
            }
            let script = run_dir
                .path()
                .join(Path::new(&source.file).file_name().unwrap_or_default());
            write_if_changed(&script, &source.source)?;
            let mut command = Command::new(interpreter);
            command.args(arg).arg(script);
            Ok(launch(command, interpreter.to_string(), run_dir))
        }
    }
}

/// Run a helper program (the compiler, `--version` probes) to completion, in
/// its own process group registered for cleanup: a signal to `lab` while it
/// compiles leaves no compiler running either, and a SIGKILL of `lab` (which
/// runs no cleanup) still ends it, by the parent-death signal.
fn run_tool(command: &mut Command) -> std::io::Result<std::process::Output> {
    command
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: prctl is async-signal-safe and only sets a flag of the child.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = crate::drive::cleanup::spawn_registered(command)?;
    let pid = child.id() as i32;
    let out = child.wait_with_output();
    crate::drive::cleanup::unregister(pid);
    out
}

/// A C compiler as the user names it: a program and its flags (`CC="clang -O2"`).
#[derive(Debug)]
struct Compiler {
    program: String,
    flags: Vec<String>,
    /// The first line of `--version`.
    version: String,
    /// What makes one compiler differ from another: its resolved path, size,
    /// modification time, whole `--version` text and the flags. The cache
    /// key, so that switching the compiler behind `cc` builds anew.
    identity: String,
}

impl Compiler {
    fn from_setting(setting: &str) -> Result<Compiler, RunError> {
        let words = shlex::split(setting)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                RunError::Usage(format!(
                    "the C compiler setting `{setting}` is not a command line"
                ))
            })?;
        let (program, flags) = (words[0].clone(), words[1..].to_vec());
        let not_found = || RunError::MissingTool {
            tool: program.clone(),
            install:
                "a C compiler (Debian/Ubuntu: sudo apt install gcc; Fedora: sudo dnf install gcc)"
                    .into(),
        };
        let out =
            run_tool(Command::new(&program).arg("--version")).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => not_found(),
                _ => RunError::Io(
                    format!("running `{program} --version`"),
                    crate::drive::demo::spawn_error(e),
                ),
            })?;
        if !out.status.success() {
            return Err(not_found());
        }
        let text = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        })
        .into_owned();
        let version = text.lines().next().unwrap_or("").trim().to_string();
        let resolved = resolve(&program);
        let stamp = resolved
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                format!("{} {} {}", m.len(), m.mtime(), m.ino())
            })
            .unwrap_or_default();
        let identity = format!(
            "{}\0{stamp}\0{text}\0{}\0-O0 -pthread",
            resolved
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            flags.join("\0")
        );
        Ok(Compiler {
            program,
            flags,
            version,
            identity,
        })
    }

    /// "gcc (Debian 12.2.0-14) 12.2.0 with -O2".
    fn describe(&self) -> String {
        if self.flags.is_empty() {
            self.version.clone()
        } else {
            format!("{} with {}", self.version, self.flags.join(" "))
        }
    }
}

/// The file `program` runs: itself when it has a slash, else the first match on PATH.
fn resolve(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return std::fs::canonicalize(program).ok();
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// The environment variable that chooses the cache directory.
pub const CACHE_DIR_VARIABLE: &str = "PMAP_LAB_CACHE_DIR";

/// The directory compiled demos are cached in and demos run in: `--cache-dir`,
/// else `$PMAP_LAB_CACHE_DIR`, else `pmap-lab` in `$XDG_CACHE_HOME`, in
/// `$HOME/.cache`, or in the home directory of the password database; never a
/// shared place like /tmp. It must be this user's own and writable by nobody
/// else, because programs are run from it, and so must every folder above it
/// be root's or the user's: it is created 0700, and refused with a message
/// naming the folder and saying why when it is not.
pub fn cache_dir(tools: &Toolchain) -> Result<PathBuf, RunError> {
    let absolute = |p: PathBuf| p.is_absolute().then_some(p);
    let chosen = tools.cache_dir.clone().or_else(|| {
        std::env::var_os(CACHE_DIR_VARIABLE)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let dir = match chosen {
        Some(dir) => dir,
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .and_then(absolute)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .and_then(absolute)
                    .map(|h| h.join(".cache"))
            })
            .or_else(|| {
                nix::unistd::User::from_uid(nix::unistd::geteuid())
                    .ok()
                    .flatten()
                    .map(|u| u.dir.join(".cache"))
                    .and_then(absolute)
            })
            .map(|base| base.join("pmap-lab"))
            .ok_or_else(|| {
                RunError::Usage(format!(
                    "no cache directory: set XDG_CACHE_HOME or HOME, or choose one with \
                     --cache-dir DIR or {CACHE_DIR_VARIABLE}"
                ))
            })?,
    };
    ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Create `dir` (0700) if needed and check it and every folder above it,
/// component by component from `/` ([`crate::spec::trust`], as OpenSSH
/// checks key files): each is root's or this user's, none writable by
/// others (but a sticky one like /tmp on the way), `dir` itself this user's
/// and writable by nobody else. Missing folders are made only inside ones
/// already checked. Links on the way are followed only from checked folders
/// and checked where they lead. After this nobody but root and the user can
/// rename anything on the path, so the path (which the compiler's `-o` and
/// the interpreter's script argument resolve again) keeps naming this folder.
fn ensure_private_dir(dir: &Path) -> Result<(), RunError> {
    use crate::spec::trust::{self, Owner};
    let choose = format!("choose another with --cache-dir DIR or {CACHE_DIR_VARIABLE}");
    let checked = trust::dir(dir, Owner::You, true).map_err(|e| {
        RunError::Usage(if e.unusable {
            format!(
                "cannot use the cache directory {}: {e}; {choose}",
                dir.display()
            )
        } else {
            format!(
                "refusing the cache directory {}: {e}, and programs are run from it; {choose}",
                dir.display()
            )
        })
    })?;
    if nix::unistd::access(
        &checked.real,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .is_err()
    {
        return Err(RunError::Usage(format!(
            "the cache directory {} is not writable (a read-only filesystem?); {choose}",
            dir.display()
        )));
    }
    Ok(())
}

/// Compile `source` once per (compiler identity, flags, source) into
/// `CACHE/c-HASH/demo-NAME` (so pmap shows the demo under a name of its own
/// that cannot be taken for the kernel's `[heap]` or `[stack]`); later runs
/// reuse the binary, but only where no program lab runs can have written it:
/// where the kernel has Landlock, every demo runs unable to write outside
/// its run folder and /tmp ([`crate::drive::confine::protects`]). Elsewhere
/// (no Landlock, or a cache under /tmp) the binary is built afresh in
/// `run_dir` for each run.
///
/// The compiler works in `run_dir`; run as root, it runs as `nobody`, so
/// that a source can read no file (`#include "/etc/shadow"`, an assembler's
/// `.incbin`) that a user without privileges could not.
fn compile_c(
    cc: &Compiler,
    name: &str,
    source: &str,
    cache: &Path,
    run_dir: &Path,
) -> Result<PathBuf, RunError> {
    let key = fnv1a(
        cc.identity
            .as_bytes()
            .iter()
            .chain(b"\0")
            .chain(source.as_bytes()),
    );
    let reuse = crate::drive::confine::protects(cache);
    let dir = cache.join(format!("c-{key:016x}"));
    let exe = dir.join(format!("demo-{name}"));
    if reuse && std::fs::symlink_metadata(&exe).is_ok_and(|m| m.file_type().is_file()) {
        return Ok(exe);
    }
    let build = run_dir.join("build");
    let io = |what: String| move |e| RunError::Io(what, e);
    std::fs::create_dir(&build).map_err(io(format!("creating {}", build.display())))?;
    let file = format!("{name}.c");
    let built_name = format!("demo-{name}");
    write_if_changed(&build.join(&file), source)?;
    let unprivileged = Unprivileged::when_root();
    if let Some(who) = &unprivileged {
        who.give(&build)?;
        who.give(&build.join(&file))?;
    }
    let build_fd =
        std::fs::File::open(&build).map_err(io(format!("opening {}", build.display())))?;
    let mut command = Command::new(&cc.program);
    // -O0 is what `cc heap.c` means: the demo is compiled as a student would;
    // flags in CC come after it and win. -pthread as every threaded program's
    // build says: glibc before 2.34 keeps pthread_create in libpthread (since
    // 2.34 it is in libc and the flag changes nothing).
    command
        .arg("-O0")
        .args(&cc.flags)
        .arg("-o")
        .arg(&built_name)
        .arg(&file)
        .arg("-pthread");
    if let Some(who) = &unprivileged {
        // std empties the supplementary groups when it sets the uid.
        command.uid(who.uid).gid(who.gid);
    }
    let fd = build_fd.as_raw_fd();
    // SAFETY: fchdir is async-signal-safe; the folder stays open until the
    // compiler has run. (By descriptor: as `nobody` the compiler could not
    // walk the path to it, through the cache's private folders.)
    unsafe {
        command.pre_exec(move || {
            if libc::fchdir(fd) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out =
        run_tool(&mut command).map_err(|e| RunError::Io(format!("running {}", cc.program), e))?;
    drop(build_fd);
    if !out.status.success() {
        let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // Under `ulimit -v` the compiler has the demo's limit too, and where
        // the cache is not protected it compiles at every run.
        if let Some(kib) = address_space_limit_kib() {
            stderr += &format!(
                "\n(the compiler ran under your address-space limit, `ulimit -v` {kib} KiB, \
                 which may be too small for it: raise it, or run the Rust port, --impl rust)"
            );
        }
        return Err(RunError::Compile { file, stderr });
    }
    let built = build.join(&built_name);
    if unprivileged.is_some() {
        // Root's again: `nobody` must not be able to change it.
        std::os::unix::fs::lchown(&built, Some(0), Some(0))
            .map_err(io(format!("taking back {}", built.display())))?;
    }
    if !reuse {
        return Ok(built);
    }
    ensure_private_dir(&dir)?;
    // Renamed into place (the run folder is in the cache, on its
    // filesystem): two labs running at once never see a half-written binary.
    std::fs::rename(&built, &exe).map_err(io(format!("writing {}", exe.display())))?;
    Ok(exe)
}

/// This process's `ulimit -v`, in KiB, when there is one.
pub(crate) fn address_space_limit_kib() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur / 1024)
}

/// The user a compiler runs as when lab runs as root: `nobody`.
struct Unprivileged {
    uid: u32,
    gid: u32,
}

impl Unprivileged {
    fn when_root() -> Option<Unprivileged> {
        if !nix::unistd::geteuid().is_root() {
            return None;
        }
        let nobody = nix::unistd::User::from_name("nobody").ok().flatten();
        Some(Unprivileged {
            uid: nobody.as_ref().map_or(65534, |u| u.uid.as_raw()),
            gid: nobody.as_ref().map_or(65534, |u| u.gid.as_raw()),
        })
    }

    /// Hand `path` to this user, to work in or read.
    fn give(&self, path: &Path) -> Result<(), RunError> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
            .map_err(|e| RunError::Io(format!("handing {} to uid {}", path.display(), self.uid), e))
    }
}

/// Write `text` to `path` unless it is there already, atomically (a private
/// file, created exclusively and never through a link, renamed into place):
/// labs running at once never read half a file.
fn write_if_changed(path: &Path, text: &str) -> Result<(), RunError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
        && std::fs::read(path).is_ok_and(|old| old == text.as_bytes())
    {
        return Ok(());
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let err = |e| RunError::Io(format!("writing {}", path.display()), e);
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// FNV-1a, 64-bit: a stable hash for cache keys (std's hasher may change between releases).
fn fnv1a<'a>(bytes: impl Iterator<Item = &'a u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
