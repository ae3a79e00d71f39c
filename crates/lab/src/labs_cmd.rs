//! Labs of one's own: `--labs DIR` (and `PMAP_LAB_LABS`) for every command,
//! `lab new` (a lab that runs and passes at once), `lab validate` (every
//! mistake, with its place), `lab bless` (the annotated expected outputs of
//! a lab folder) and their comparison in `lab check`. docs/writing-labs.md
//! is the reference the files written here point to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use observer::spec::catalog;
use observer::spec::check::Status;
use observer::RunError;

use crate::RunArgs;

/// The folders of labs to add: every `--labs DIR` (or `--labs=DIR`) of the
/// command line before a `--`, then those of `PMAP_LAB_LABS`. Read before
/// the command line is parsed, because the labs become commands of it.
pub fn extra_dirs(argv: &[String]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a == "--labs" {
            if let Some(dir) = args.next() {
                dirs.push(PathBuf::from(dir));
            }
        } else if let Some(dir) = a.strip_prefix("--labs=") {
            dirs.push(PathBuf::from(dir));
        }
    }
    dirs.extend(catalog::dirs_from_env());
    dirs
}

/// Whether the user trusts the labs' folders: `--trust-labs` on the command
/// line before a `--`, or `PMAP_LAB_TRUST_LABS` set.
pub fn trust(argv: &[String]) -> observer::spec::trust::Trust {
    let given = argv
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--trust-labs")
        || catalog::trust_from_env();
    if given {
        observer::spec::trust::Trust::Given
    } else {
        observer::spec::trust::Trust::Check
    }
}

/// The commands that never use the labs (they read processes, captures or
/// documents, or a folder named on their command line): for them the labs
/// of `--labs` and `PMAP_LAB_LABS` are not read at all, so a broken, huge
/// or untrusted folder there cannot stop `lab pmap PID`. Completions and
/// the manual page list the built-in labs only.
const WITHOUT_LABS: &[&str] = &[
    "pmap",
    "watch",
    "explain",
    "diff",
    "report",
    "observe",
    "completions",
    "man",
    "glossary",
    "reset",
    "workload",
    "validate",
    "bless",
];

/// Whether the command of `argv` needs the labs: its first word past the
/// global options, unless one of [`WITHOUT_LABS`]. `lab`, `lab --help` and
/// `lab help` list them, so they do.
pub fn needs_labs(argv: &[String]) -> bool {
    let mut args = argv.iter().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--labs" | "--color" => {
                args.next();
            }
            "--" => return true,
            a if a.starts_with('-') => {}
            command => return !WITHOUT_LABS.contains(&command),
        }
    }
    true
}

/// The `--labs DIR` options of this command line, as hints repeat them.
static GIVEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Keep the `--labs DIR` of the command line (not those of `PMAP_LAB_LABS`,
/// which the next command has too) for [`command`].
pub fn remember_given(argv: &[String]) {
    let mut given = String::new();
    let mut args = argv.iter().skip(1).take_while(|a| *a != "--");
    while let Some(a) = args.next() {
        let dir = if a == "--labs" {
            args.next().map(String::as_str)
        } else {
            a.strip_prefix("--labs=")
        };
        if let Some(dir) = dir {
            given += &format!(" --labs {}", shell_word(dir));
        }
    }
    let _ = GIVEN.set(given);
}

/// `lab [--labs DIR…] REST`: a command to suggest, with the folders of labs
/// this one was given, so that it works as shown.
pub fn command(rest: &str) -> String {
    format!("lab{} {rest}", GIVEN.get().map_or("", String::as_str))
}

/// A word as a POSIX shell reads it back: as it is when it is plain, else
/// in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+,:@=%~".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Load the labs of `dirs` beside the built-in ones; a lab named like a
/// command of `lab` is refused too.
pub fn init(dirs: &[PathBuf], commands: &[String]) -> Result<(), String> {
    if dirs.is_empty() {
        return Ok(());
    }
    catalog::init(dirs).map_err(|e| e.to_string())?;
    for lab in catalog::all().iter().filter(|l| l.dir.is_some()) {
        if commands.iter().any(|c| c == lab.name()) {
            return Err(format!(
                "the lab `{}` of {} is named like the command `lab {}`: rename it",
                lab.name(),
                lab.origin(),
                lab.name()
            ));
        }
    }
    Ok(())
}

/// Options of `lab new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The lab's name (lowercase letters, digits, - and _): its folder, its
    /// command (`lab --labs DIR NAME`) and its demo's file.
    name: String,
    /// The demo's language.
    #[arg(long = "impl", value_name = "IMPL", default_value = "c", value_parser = ["c", "python"])]
    imp: String,
    /// Where to make the lab's folder (default: here).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

/// Options of `lab validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// A lab folder, or a folder of lab folders.
    dir: PathBuf,
    /// Seconds a demo may take to reach its next prompt (it is run to count them).
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = crate::parse_seconds)]
    prompt_timeout: f64,
    #[command(flatten)]
    run: RunArgs,
}

/// Options of `lab bless`.
#[derive(Args, Debug)]
pub struct BlessArgs {
    /// A lab folder, or a folder of lab folders.
    dir: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

/// Create a file that must not exist yet, never through a link.
fn create_new(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("refusing to overwrite {}: it exists", path.display())
            }
            _ => format!("cannot write {}: {e}", path.display()),
        })
}

/// A folder opened by its descriptor, to make what goes in it relative to
/// it (never re-resolved by path).
struct Folder {
    fd: std::os::fd::OwnedFd,
    path: PathBuf,
}

fn c_name(name: &std::ffi::OsStr) -> std::io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(name.as_bytes()).map_err(std::io::Error::other)
}

impl Folder {
    /// Open the folder `path` as the user wrote it (links in it are theirs).
    fn open(path: &Path) -> std::io::Result<Folder> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)?;
        Ok(Folder {
            fd: f.into(),
            path: path.to_path_buf(),
        })
    }

    /// Make the folder `name` in this one (it must not exist) and open it,
    /// refusing a link put in its place meanwhile.
    fn make(&self, name: &std::ffi::OsStr) -> std::io::Result<Folder> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let c = c_name(name)?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        if unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: as above; the descriptor returned is ours to own.
        let fd = unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Folder {
            // SAFETY: fd was just opened and is owned by nothing else.
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
            path: self.path.join(name),
        })
    }

    /// Write the new file `name` in this folder (O_EXCL, never through a link).
    fn write_new(&self, name: &str, text: &str) -> Result<(), String> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let path = self.path.join(name);
        let c =
            c_name(name.as_ref()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        // SAFETY: a valid descriptor and a NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o644 as libc::c_uint,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("refusing to overwrite {}: it exists", path.display())
                }
                _ => format!("cannot write {}: {e}", path.display()),
            });
        }
        // SAFETY: fd was just opened and is owned by nothing else.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Open `dir`, making the folders of it that do not exist, one by one,
/// each opened by its descriptor as it is made (a link put in the place of
/// one is refused, not followed). The folders made, for the message.
fn open_making(dir: &Path) -> Result<(Folder, Vec<PathBuf>), String> {
    // The longest part of `dir` that exists is the user's, links and all.
    let mut base = dir;
    let mut missing = Vec::new();
    while std::fs::symlink_metadata(base).is_err() {
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name);
                base = parent;
            }
            // `..` or `.` at the end of a path that does not exist.
            _ => return Err(format!("cannot make {}: no such folder", dir.display())),
        }
        if base.as_os_str().is_empty() {
            base = Path::new(".");
            break;
        }
    }
    let mut folder =
        Folder::open(base).map_err(|e| format!("cannot open {}: {e}", base.display()))?;
    if base == Path::new(".") && !dir.starts_with(".") {
        // Relative to here: named as the user wrote it (`a/b`, not `./a/b`).
        folder.path = PathBuf::new();
    }
    let mut made = Vec::new();
    for name in missing.into_iter().rev() {
        folder = folder
            .make(name)
            .map_err(|e| format!("cannot make {}: {e}", folder.path.join(name).display()))?;
        made.push(folder.path.clone());
    }
    Ok((folder, made))
}

/// `lab new NAME [--impl c|python] [--dir DIR]`.
pub fn new(args: &NewArgs, commands: &[String]) -> ExitCode {
    let name = &args.name;
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    let refuse = |why: String| {
        say!("lab new: {why}");
        ExitCode::from(2)
    };
    if !valid {
        return refuse(format!(
            "`{name}` is no lab name: lowercase letters, digits, - and _ (it names a folder, files and a command)"
        ));
    }
    if let Some(lab) = catalog::all().iter().find(|l| l.name() == name) {
        return refuse(format!(
            "there is a lab named `{name}` already ({}): choose another name",
            lab.origin()
        ));
    }
    if commands.iter().any(|c| c == name) {
        return refuse(format!(
            "`{name}` is a command of lab (`lab {name}`): choose another name"
        ));
    }
    let (parent_folder, made) = match open_making(&args.dir) {
        Ok(f) => f,
        Err(e) => return refuse(e),
    };
    let folder = args.dir.join(name);
    // mkdirat refuses an existing folder and a link in its place.
    let lab_folder = match parent_folder.make(name.as_ref()) {
        Ok(f) => f,
        Err(e) => {
            return refuse(match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!("refusing to overwrite {}: it exists", folder.display())
                }
                _ => format!("cannot make {}: {e}", folder.display()),
            })
        }
    };
    let (demo, source) = match args.imp.as_str() {
        "python" => (format!("{name}.py"), template(PYTHON_DEMO, name)),
        _ => (format!("{name}.c"), template(C_DEMO, name)),
    };
    let toml = template(LAB_TOML, name)
        .replace("DEMO_IMPL", &args.imp)
        .replace("DEMO_FILE", &demo);
    for (file, text) in [
        (demo.as_str(), source.as_str()),
        ("lab.toml", toml.as_str()),
    ] {
        if let Err(e) = lab_folder.write_new(file, text) {
            return refuse(e);
        }
    }
    let made = match made.len() {
        0 => String::new(),
        1 => format!("made the folder {} (it did not exist)\n", made[0].display()),
        _ => format!(
            "made the folders {} (they did not exist)\n",
            made.iter()
                .map(|m| m.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let parent = args.dir.display();
    crate::print_or_quit(&format!(
        "{made}made {0}/lab.toml and {0}/{demo}\n\
         run it:       lab --labs {parent} {name} --impl {imp}\n\
         check it:     lab validate {0}; lab check --labs {parent} {name}\n\
         pin it:       lab bless {0}\n\
         the format:   docs/writing-labs.md\n",
        folder.display(),
        imp = args.imp,
    ))
}

fn template(text: &str, name: &str) -> String {
    text.replace("LABNAME", name)
}

/// The lab.toml `lab new` writes (LABNAME, DEMO_IMPL and DEMO_FILE filled
/// in): the worked example of docs/writing-labs.md.
pub const LAB_TOML: &str = include_str!("new/lab.toml");
pub const C_DEMO: &str = include_str!("new/demo.c");
pub const PYTHON_DEMO: &str = include_str!("new/demo.py");

/// `lab validate DIR`: every mistake of every lab.toml with its place, then
/// each demo run to count its prompts. Exit 1 when there is any mistake.
pub fn validate(args: &ValidateArgs) -> ExitCode {
    observer::drive::cleanup::install_signal_handlers();
    let dirs = match catalog::lab_dirs(&args.dir) {
        Ok(d) => d,
        Err(e) => {
            say!("lab validate: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = args.run.options();
    opts.step_timeout = std::time::Duration::from_secs_f64(args.prompt_timeout);
    let mut mistakes = 0;
    let mut out = String::new();
    for dir in dirs {
        let file = dir.join("lab.toml");
        let shown = file.display().to_string();
        let text = match catalog::read_lab_toml(&file) {
            Ok(t) => t,
            Err(e) => {
                out += &format!("{e}\n");
                mistakes += 1;
                continue;
            }
        };
        let unreadable = std::cell::RefCell::new(Vec::new());
        let read = |name: &str| catalog::read_demo_noting(&dir, name, &unreadable);
        let (spec, problems) = observer::spec::validate::lint(&text, Some(&dir), &read);
        for p in &problems {
            out += &format!("{}\n", p.at(&shown));
        }
        mistakes += problems.len();
        for e in unreadable.take() {
            out += &format!("{e}\n");
            mistakes += 1;
        }
        let Some(spec) = spec else { continue };
        let steps = spec.steps.len();
        let lab = match catalog::with_present_demos(spec, &dir) {
            Ok(lab) => lab,
            // No demo file to run: already a mistake above.
            Err(_) => continue,
        };
        let mut fine = Vec::new();
        // A lab-wide `requires` that does not hold here: its demos are not
        // run (they may need it to run at all), and that is no mistake.
        let machine = observer::measure::machine::Facts::of_machine(None);
        if let Some(why) = observer::drive::run::lab_requires_unmet(&lab, &machine, true) {
            out += &format!(
                "{}: not run: nothing to check on this machine: {why}\n",
                dir.display()
            );
            continue;
        }
        for source in &lab.impls {
            let (line, col) = observer::spec::validate::demo_place(&text, source.imp.as_str());
            let at = format!("{shown}:{line}:{col}: demos.{}", source.imp);
            match observer::drive::run::count_prompts(&lab, source.imp, &opts, steps + 2) {
                Err(RunError::Compile { file, stderr }) => {
                    mistakes += 1;
                    // The compiler read the copy in the cache: name the lab's file.
                    let stderr = stderr.replace(&file, &source.file);
                    out += &format!(
                        "{at}: {} does not compile:\n{}\n",
                        source.file,
                        first_errors(&stderr)
                    );
                }
                Err(e) => {
                    mistakes += 1;
                    out += &format!("{at}: {} could not run: {e}\n", source.file);
                }
                Ok(p) if p.count == 0 => {
                    mistakes += 1;
                    out += &format!(
                        "{at}: {} never prompts: {} (a prompt is a line printed, then a read of stdin)\n",
                        source.file,
                        p.trouble.clone().unwrap_or(format!(
                            "it exited without reading its input; {}",
                            p.last_words
                        ))
                    );
                }
                Ok(p) if p.count != steps => {
                    mistakes += 1;
                    out += &format!(
                        "{at}: {} prompts {} time{}, and the lab has {steps} step{} (one prompt per \
                         step: at the start and after each action){}\n",
                        source.file,
                        p.count,
                        if p.count == 1 { "" } else { "s" },
                        if steps == 1 { "" } else { "s" },
                        p.trouble.map(|t| format!("; {t}")).unwrap_or_default()
                    );
                }
                Ok(p) if p.trouble.is_some() => {
                    mistakes += 1;
                    out += &format!("{at}: {} {}\n", source.file, p.trouble.unwrap_or_default());
                }
                // A lab with mistakes above: its checks are not judged.
                Ok(_) if !problems.is_empty() => {
                    fine.push(format!("{} prompts {steps} times", source.imp))
                }
                // It prompts as it should: its checks, judged on this run.
                Ok(_) => match observer::run_through(&lab, source.imp, &opts) {
                    Ok(report) => {
                        let mut failed = 0;
                        for s in &report.steps {
                            for c in s.checks.iter().filter(|c| c.status == Status::Fail) {
                                failed += 1;
                                let (line, col) =
                                    observer::spec::validate::check_place(&text, s.index, &c.id);
                                out += &format!(
                                    "{shown}:{line}:{col}: check `{}` fails with {} at step {} \
                                     ({}): expected {}; observed {}\n",
                                    c.id, source.imp, s.index, s.title, c.expected, c.observed
                                );
                            }
                        }
                        mistakes += failed;
                        if failed == 0 {
                            let (held, total) = report.checks_passed();
                            fine.push(format!(
                                "{} prompts {steps} times, {held} of {total} checks hold",
                                source.imp
                            ));
                        }
                    }
                    // A lab-wide `requires` does not hold here: not a mistake.
                    Err(RunError::NothingToCheck(n)) => fine.push(format!(
                        "{} prompts {steps} times; its checks: {n}",
                        source.imp
                    )),
                    Err(e) => {
                        mistakes += 1;
                        out += &format!("{at}: {} could not run: {e}\n", source.file);
                    }
                },
            }
        }
        if problems.is_empty() && fine.len() == lab.impls.len() {
            out += &format!("{}: no mistakes ({})\n", dir.display(), fine.join(", "));
        }
    }
    if mistakes > 0 {
        out += &format!(
            "{mistakes} mistake{} (docs/writing-labs.md describes the format)\n",
            if mistakes == 1 { "" } else { "s" }
        );
    }
    // Plain text quoting folder names and demos' words: escaped.
    match crate::print_or_quit(&pmap_view::region::escape_lines(&out)) {
        code if mistakes == 0 => code,
        _ => ExitCode::FAILURE,
    }
}

/// The compiler's first error and the lines under it (at most 6 lines),
/// escaped: they quote the source file, which may hold any byte.
pub(crate) fn first_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().position(|l| l.contains("error")).unwrap_or(0);
    let mut shown: Vec<String> = lines[start..]
        .iter()
        .take(6)
        .map(|l| format!("  {}", pmap_view::region::escape_controls(l)))
        .collect();
    if lines.len() > start + 6 {
        shown.push(format!("  ({} more lines)", lines.len() - start - 6));
    }
    shown.join("\n")
}

use observer::drive::pinned::{file_name as pinned_name, BLESSED};
use observer::views::pinned::annotated;

/// `lab bless DIR`: run every demo of the labs of DIR and write their
/// annotated outputs beside their lab.toml; runs whose checks fail are not
/// blessed.
pub fn bless(args: &BlessArgs) -> ExitCode {
    observer::drive::cleanup::install_signal_handlers();
    let dirs = match catalog::lab_dirs(&args.dir) {
        Ok(d) => d,
        Err(e) => {
            say!("lab bless: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = args.run.options();
    let mut failed = false;
    for dir in dirs {
        let lab = match catalog::load_dir(&dir) {
            Ok(lab) => lab,
            Err(e) => {
                say!("lab bless: {e}");
                return ExitCode::from(2);
            }
        };
        for source in &lab.impls {
            let report = match observer::run_through(&lab, source.imp, &opts) {
                Ok(r) => r,
                Err(e) => {
                    say!("lab bless: {} ({}): {e}", lab.name(), source.imp);
                    return ExitCode::from(2);
                }
            };
            if !report.passed() {
                say!(
                    "lab bless: {} ({}): not blessed: a check failed (`lab check --labs {} {}` shows which)",
                    lab.name(),
                    source.imp,
                    args.dir.display(),
                    lab.name()
                );
                failed = true;
                continue;
            }
            let path = dir.join(pinned_name(&lab, &report));
            match write_replacing(&path, &format!("{BLESSED}{}", annotated(&lab, &report))) {
                Ok(()) => {
                    let _ = crate::print(&format!(
                        "wrote {}\n",
                        pmap_view::region::escape_controls(&path.display().to_string())
                    ));
                }
                Err(e) => {
                    say!("lab bless: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Write `path` whole (a new file renamed over it), refusing when it is a
/// link or anything but a plain file.
fn write_replacing(path: &Path, text: &str) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            return Err(format!(
                "refusing to write {}: it is not a plain file (a symbolic link?)",
                path.display()
            ))
        }
        _ => {}
    }
    let tmp = path.with_extension(format!("snap.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    create_new(&tmp, text)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_one_shell_word() {
        assert_eq!(shell_word("ex/labs-1"), "ex/labs-1");
        assert_eq!(shell_word("my labs"), "'my labs'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn labs_are_found_on_the_command_line_before_a_double_dash() {
        let argv: Vec<String> = [
            "lab", "--labs", "a", "check", "--labs=b", "--", "--labs", "c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let dirs = extra_dirs(&argv);
        assert_eq!(&dirs[..2], &[PathBuf::from("a"), PathBuf::from("b")]);
    }

    #[test]
    fn commands_that_do_not_use_the_labs_are_found_past_the_global_options() {
        let needs = |line: &str| {
            let argv: Vec<String> = line.split(' ').map(String::from).collect();
            needs_labs(&argv)
        };
        assert!(!needs("lab pmap 1"));
        assert!(!needs("lab --labs x --color never watch 1"));
        assert!(!needs(
            "lab --color=never --labs=x --trust-labs completions bash"
        ));
        assert!(needs("lab --labs pmap list"), "pmap is the folder here");
        assert!(needs("lab"));
        assert!(needs("lab --help"));
        assert!(needs("lab help"));
        assert!(needs("lab heap"));
        assert!(needs("lab --labs x check"));
        assert!(needs("lab exercise"));
    }

    /// docs/writing-labs.md shows what `lab new mylab` writes, as it writes it.
    #[test]
    fn the_worked_example_is_what_lab_new_writes() {
        let doc = include_str!("../../../docs/writing-labs.md");
        let toml = template(LAB_TOML, "mylab")
            .replace("DEMO_IMPL", "c")
            .replace("DEMO_FILE", "mylab.c");
        assert!(doc.contains(&format!("```toml\n{toml}```")));
        assert!(doc.contains(&format!("```c\n{}```", template(C_DEMO, "mylab"))));
    }
}
