//! The implementations of a lab (Rust port, C demo, Python demo) and how to
//! start each one: the Rust port is this very binary (`lab workload NAME`), the
//! C demo is compiled with the system compiler into a cache directory, the
//! Python demo runs under `python3` or the interpreter the user names.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::lab::Lab;
use crate::RunError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Impl {
    Rust,
    C,
    Python,
}

impl Impl {
    pub const ALL: [Impl; 3] = [Impl::Rust, Impl::C, Impl::Python];

    pub fn as_str(self) -> &'static str {
        match self {
            Impl::Rust => "rust",
            Impl::C => "c",
            Impl::Python => "python",
        }
    }
}

impl std::fmt::Display for Impl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Impl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Impl::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| format!("unknown implementation `{s}` (rust, c or python)"))
    }
}

/// Where and with what the demos are built and run.
#[derive(Clone, Debug, Default)]
pub struct Toolchain {
    /// The program that runs a Rust port: `PROGRAM workload LAB`. Default: this executable.
    pub workload_exe: Option<PathBuf>,
    /// The C compiler. Default: `$CC`, else `cc`.
    pub cc: Option<String>,
    /// The Python interpreter. Default: `python3`.
    pub python: Option<PathBuf>,
    /// Where compiled demos are cached. Default: the user's cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Run the demo without address-space layout randomisation, so that its
    /// layout, and sizes that depend on alignment, repeat exactly between runs.
    pub no_aslr: bool,
    /// Run the demo with a minimal environment (PATH, HOME, LANG=C.UTF-8): the
    /// Rust runtime's and libc's start-up allocations depend on the environment,
    /// so this makes [heap] start the same on every machine (the snapshot tests).
    pub fixed_env: bool,
}

/// A demo ready to start.
pub struct Launch {
    pub command: Command,
    /// The demo's working directory (the cache directory: files a demo makes,
    /// like the filemap lab's, land on a real disk rather than a tmpfs /tmp).
    pub workdir: PathBuf,
    /// The program that runs it, in words ("gcc 12.2.0", "Python 3.11.7").
    pub runtime: String,
}

/// Build (if needed) and describe how to start `imp` of `lab`.
pub fn prepare(lab: &Lab, imp: Impl, tools: &Toolchain) -> Result<Launch, RunError> {
    let mut launch = prepare_command(lab, imp, tools)?;
    launch.command.current_dir(&launch.workdir);
    if tools.fixed_env {
        launch.command.env_clear().env("LANG", "C.UTF-8");
        for keep in ["PATH", "HOME", "PYENV_ROOT"] {
            if let Some(v) = std::env::var_os(keep) {
                launch.command.env(keep, v);
            }
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
    match imp {
        Impl::Rust => {
            let exe = match &tools.workload_exe {
                Some(p) => p.clone(),
                None => std::env::current_exe()
                    .map_err(|e| RunError::Io("finding this executable".into(), e))?,
            };
            let mut command = Command::new(exe);
            command.args(["workload", lab.name()]);
            Ok(Launch {
                command,
                runtime: "the Rust port in this lab binary".into(),
                workdir: cache_dir(tools)?,
            })
        }
        Impl::C => {
            let cc = tools
                .cc
                .clone()
                .or_else(|| std::env::var("CC").ok())
                .unwrap_or_else(|| "cc".into());
            let runtime = tool_version(&cc, &["--version"])?.ok_or_else(|| RunError::MissingTool {
                tool: cc.clone(),
                install: "a C compiler (Debian/Ubuntu: sudo apt install gcc; Fedora: sudo dnf install gcc)".into(),
            })?;
            let cache = cache_dir(tools)?;
            let exe = compile_c(&cc, lab.name(), source.source, &cache)?;
            Ok(Launch {
                command: Command::new(exe),
                runtime,
                workdir: cache,
            })
        }
        Impl::Python => {
            let python = tools
                .python
                .clone()
                .unwrap_or_else(|| PathBuf::from("python3"));
            let shown = python.display().to_string();
            let runtime = tool_version(&shown, &["--version"])?
                .filter(|v| v.starts_with("Python "))
                .ok_or_else(|| RunError::MissingTool {
                    tool: shown.clone(),
                    install: "Python 3 (Debian/Ubuntu: sudo apt install python3), or name a Python 3 with --python PATH"
                        .into(),
                })?;
            let cache = cache_dir(tools)?;
            let script = cache.join(Path::new(source.file).file_name().unwrap_or_default());
            write_if_changed(&script, source.source)?;
            let mut command = Command::new(&python);
            command.arg(script);
            Ok(Launch {
                command,
                runtime,
                workdir: cache,
            })
        }
    }
}

/// Run a helper program (the compiler, `--version` probes) to completion, in
/// its own process group registered for cleanup: a signal to `lab` while it
/// compiles leaves no compiler running either.
fn run_tool(command: &mut Command) -> std::io::Result<std::process::Output> {
    command
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = crate::cleanup::spawn_registered(command)?;
    let pid = child.id() as i32;
    let out = child.wait_with_output();
    crate::cleanup::unregister(pid);
    out
}

/// First line of `TOOL --version`; None when there is no such tool. A tool
/// that cannot be started for another reason (too many open files or
/// processes: `ulimit -n`, `ulimit -u`), or that fails, is an error saying
/// so: "not found" would send the user to install what is there.
fn tool_version(tool: &str, args: &[&str]) -> Result<Option<String>, RunError> {
    let running = || format!("running `{tool} {}`", args.join(" "));
    let out = match run_tool(Command::new(tool).args(args)) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RunError::Io(running(), crate::demo::spawn_error(e))),
    };
    let text = if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    let line = String::from_utf8_lossy(text)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().next().unwrap_or("").trim();
        return Err(RunError::Io(
            running(),
            std::io::Error::other(format!(
                "it {}{}{said}",
                crate::demo::describe_status(out.status),
                if said.is_empty() { "" } else { ": " }
            )),
        ));
    }
    Ok((!line.is_empty()).then_some(line))
}

fn cache_dir(tools: &Toolchain) -> Result<PathBuf, RunError> {
    let dir = tools.cache_dir.clone().unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("pmap-lab")
    });
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// Compile `source` once per (compiler, source) pair into
/// `CACHE/c-HASH/NAME` (so pmap shows the demo under its own name); later runs
/// reuse the binary.
fn compile_c(cc: &str, name: &str, source: &str, cache: &Path) -> Result<PathBuf, RunError> {
    let key = fnv1a(cc.as_bytes().iter().chain(b"\0").chain(source.as_bytes()));
    let dir = cache.join(format!("c-{key:016x}"));
    let exe = dir.join(name);
    if exe.exists() {
        return Ok(exe);
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Io(format!("creating {}", dir.display()), e))?;
    let src = dir.join(format!("{name}.c"));
    write_if_changed(&src, source)?;
    // Build under a private name, then rename: two labs running at once never
    // see a half-written binary.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    // -O0 is what `cc heap.c` means: the demo is compiled as a student would.
    let out = run_tool(Command::new(cc).arg("-O0").arg("-o").arg(&tmp).arg(&src))
        .map_err(|e| RunError::Io(format!("running {cc}"), e))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(RunError::Compile {
            file: src.display().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    std::fs::rename(&tmp, &exe)
        .map_err(|e| RunError::Io(format!("writing {}", exe.display()), e))?;
    Ok(exe)
}

/// Write `text` to `path` unless it is there already, atomically (a private
/// file renamed into place): labs running at once never read half a file.
fn write_if_changed(path: &Path, text: &str) -> Result<(), RunError> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let err = |e| RunError::Io(format!("writing {}", path.display()), e);
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// FNV-1a, 64-bit: a stable hash for cache keys (std's hasher may change between releases).
fn fnv1a<'a>(bytes: impl Iterator<Item = &'a u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
