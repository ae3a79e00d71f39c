//! Which folders and files `lab` trusts: the cache folder it builds and runs
//! demos in, and the folders of labs (`--labs`, `PMAP_LAB_LABS`) whose demos
//! it runs. Checked the way OpenSSH checks a user's key files before it reads
//! them: `safe_path()` in misc.c of OpenSSH 10.5p1 (openssh-portable tag
//! V_10_5_P1, `$OpenBSD: misc.c,v 1.215`; unchanged at 0ef0f5a8), which
//! sshd calls through `safe_path_fd()` on authorized_keys files when
//! `StrictModes` is on (auth2-pubkeyfile.c). There, the
//! file and every directory above it must be owned by root or by the user,
//! and none may be writable by group or others (`st_mode & 022`).
//!
//! What is checked here, component by component from `/` down:
//!
//! - every folder on the way is owned by root or by the user running `lab`
//!   (its effective uid), and is not writable by its group or by others,
//!   unless it is sticky (`/tmp`: mode 1777). In a sticky folder only the
//!   owner of an entry (or of the folder, or a process with CAP_FOWNER) may
//!   rename or replace it (rename(2), ERRORS, EPERM or EACCES; man-pages
//!   6.03), and the next component is owned by root or the user, so others
//!   still cannot swap it. OpenSSH allows no sticky
//!   folder; a cache or labs folder under `/tmp` is too common to refuse;
//! - the folder itself is not writable by group or others at all, sticky or
//!   not (others could add entries to it), and is owned by the user (the
//!   cache, [`Owner::You`]) or by root or the user (a labs folder,
//!   [`Owner::RootOrYou`]);
//! - a file (lab.toml, a demo) is a plain file owned by root or the user and
//!   not writable by group or others ([`file`]), as OpenSSH's first test.
//!
//! Symbolic links are **resolved explicitly**, not refused: `~/.cache`
//! linked to another disk is ordinary. A link is followed only when it is
//! owned by root or the user and sits in a folder already found trustworthy
//! (so only root or the user could have made it, or can change it), and
//! where it leads is walked and checked like the rest, from `/` again when
//! it is absolute. OpenSSH instead calls realpath(3) first and checks only
//! the resolved path ("XXX Should any specific check be done for sym
//! links ?"): a link in a folder others can write would be followed to
//! wherever they point it.
//!
//! The walk is done with descriptors (`openat(O_PATH | O_NOFOLLOW)` on the
//! folder before, `fstat` of what was opened), so what is checked is what
//! was reached, not a name looked up twice. After it succeeds, every folder
//! on the path, links included, can be changed only by root or the user:
//! nobody else can rename, remove or replace an entry in any of them. The
//! path resolved again by name later (a compiler's `-o PATH`, an
//! interpreter's script argument) therefore reaches the same folder, which
//! is why the cache is used by path after the check: the atomic folder
//! swap (renameat2 `RENAME_EXCHANGE`) of issue 19 needs write permission on
//! a parent, and such a parent is refused. (The descriptor itself cannot
//! reach those programs: they resolve their arguments in their own
//! processes, and `/proc/PID/fd/N` of lab is not theirs to open once a demo
//! runs as another user.)
//!
//! One line names the component and the reason, for any refusal.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, Mode, SFlag};

/// Who may own the final folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The user running `lab` only (the cache: programs are built there).
    You,
    /// Root or the user (a folder of labs: a course's, installed by root).
    RootOrYou,
}

/// Whether the labs' folders and files are checked, or the user said they
/// trust them (`--trust-labs`, `PMAP_LAB_TRUST_LABS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trust {
    /// Check ownership and modes (the default).
    #[default]
    Check,
    /// The user trusts them: only the size limits and file types apply.
    Given,
}

/// Why a folder or file is not trusted: the component and the reason, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untrusted {
    /// The component refused (a folder on the way, the folder, a link, a file).
    pub component: PathBuf,
    /// The whole line, starting with the component.
    pub message: String,
    /// Whether it could not be walked at all (missing, not a directory, an
    /// error of the system), rather than found untrustworthy.
    pub unusable: bool,
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Untrusted {}

fn refuse(component: &Path, reason: impl std::fmt::Display) -> Untrusted {
    let reason = reason.to_string();
    Untrusted {
        component: component.to_path_buf(),
        unusable: reason.starts_with(':') || reason == NOT_A_DIRECTORY,
        message: {
            let gap = if reason.starts_with(':') { "" } else { " " };
            format!("{}{gap}{reason}", component.display())
        },
    }
}

const NOT_A_DIRECTORY: &str = "is not a directory";

/// The effective uid, the one whose files `lab` may trust.
fn me() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// `uid 1000 (alice)`, or `uid 12345` when it has no name.
fn who(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("uid {uid} ({})", u.name),
        _ => format!("uid {uid}"),
    }
}

/// "its group", "others", "its group and others".
fn writers(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "others",
    }
}

fn owner_ok(uid: u32, owner: Owner) -> bool {
    uid == me() || (owner == Owner::RootOrYou && uid == 0)
}

fn owner_reason(uid: u32, owner: Owner) -> String {
    match owner {
        Owner::RootOrYou => format!(
            "belongs to {}, neither root nor you (uid {})",
            who(uid),
            me()
        ),
        Owner::You => format!("belongs to {}, not to you (uid {})", who(uid), me()),
    }
}

/// A folder on the way to the one checked.
fn check_on_the_way(path: &Path, st: &FileStat) -> Result<(), Untrusted> {
    let mode = st.st_mode;
    if !owner_ok(st.st_uid, Owner::RootOrYou) {
        return Err(refuse(path, owner_reason(st.st_uid, Owner::RootOrYou)));
    }
    if mode & 0o022 != 0 && mode & libc::S_ISVTX == 0 {
        return Err(refuse(
            path,
            format!(
                "is writable by {} (mode {:04o}) and not sticky: they could swap what is below it",
                writers(mode),
                mode & 0o7777
            ),
        ));
    }
    Ok(())
}

/// The folder checked itself.
fn check_final(path: &Path, st: &FileStat, owner: Owner) -> Result<(), Untrusted> {
    let mode = st.st_mode;
    if mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(refuse(path, NOT_A_DIRECTORY));
    }
    if !owner_ok(st.st_uid, owner) {
        return Err(refuse(path, owner_reason(st.st_uid, owner)));
    }
    if mode & 0o022 != 0 {
        return Err(refuse(
            path,
            format!(
                "is writable by {} (mode {:04o})",
                writers(mode),
                mode & 0o7777
            ),
        ));
    }
    Ok(())
}

/// A lab's file (lab.toml, a demo), from the metadata of the opened file:
/// a plain file owned by root or the user that its group and others cannot
/// write.
pub fn file(path: &Path, meta: &std::fs::Metadata) -> Result<(), Untrusted> {
    if !meta.file_type().is_file() {
        return Err(refuse(path, "is not a plain file"));
    }
    if !owner_ok(meta.uid(), Owner::RootOrYou) {
        return Err(refuse(path, owner_reason(meta.uid(), Owner::RootOrYou)));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refuse(
            path,
            format!(
                "is writable by {} (mode {:04o})",
                writers(meta.mode()),
                meta.mode() & 0o7777
            ),
        ));
    }
    Ok(())
}

fn open_at(dir: &OwnedFd, name: &OsStr) -> nix::Result<OwnedFd> {
    let fd = nix::fcntl::openat(
        Some(dir.as_raw_fd()),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The most links followed in one walk (Linux's own limit, MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// A folder checked from `/` down, and its descriptor.
pub struct Checked {
    /// The folder (`O_PATH`): what was checked.
    pub fd: OwnedFd,
    /// Its path with every link resolved.
    pub real: PathBuf,
}

/// Check `path` (a folder; relative to the current directory when relative)
/// component by component from `/`, as the module says. With `create`,
/// missing folders are made (mode 0700), each only inside a folder already
/// checked.
pub fn dir(path: &Path, owner: Owner, create: bool) -> Result<Checked, Untrusted> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| refuse(path, format_args!(": the current directory: {e}")))?
            .join(path)
    };
    let root = Path::new("/");
    let open_root = || -> Result<OwnedFd, Untrusted> {
        let fd = nix::fcntl::open(
            root,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| refuse(root, format_args!(": {}", e.desc())))?;
        // SAFETY: open returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let stat = |p: &Path, fd: &OwnedFd| {
        nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| refuse(p, format_args!(": {}", e.desc())))
    };
    let mut queue: VecDeque<OsString> = VecDeque::new();
    push_front(&mut queue, &absolute);
    let root_fd = open_root()?;
    check_on_the_way(root, &stat(root, &root_fd)?)?;
    // The folders walked into, `/` first: `..` goes back one.
    let mut stack: Vec<(PathBuf, OwnedFd)> = vec![(root.to_path_buf(), root_fd)];
    let mut links = 0;
    while let Some(name) = queue.pop_front() {
        if name == ".." {
            if stack.len() > 1 {
                stack.pop();
            }
            continue;
        }
        let (at, at_fd) = stack.last().expect("the stack starts with /");
        let here = at.join(&name);
        let fd = match open_at(at_fd, &name) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) if create => {
                match nix::sys::stat::mkdirat(
                    Some(at_fd.as_raw_fd()),
                    name.as_os_str(),
                    Mode::from_bits_truncate(0o700),
                ) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(refuse(
                            &here,
                            format_args!(": cannot create it: {}", e.desc()),
                        ))
                    }
                }
                open_at(at_fd, &name).map_err(|e| refuse(&here, format_args!(": {}", e.desc())))?
            }
            Err(e) => return Err(refuse(&here, format_args!(": {}", e.desc()))),
        };
        let st = stat(&here, &fd)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFLNK {
            // Its folder is checked already: only root or the user could
            // have put it there; its owner could replace it in a sticky one.
            if !owner_ok(st.st_uid, Owner::RootOrYou) {
                return Err(refuse(
                    &here,
                    format!(
                        "is a symbolic link of {}, neither root's nor yours (uid {})",
                        who(st.st_uid),
                        me()
                    ),
                ));
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(refuse(&here, ": too many symbolic links on the way"));
            }
            let target = nix::fcntl::readlinkat(Some(at_fd.as_raw_fd()), name.as_os_str())
                .map_err(|e| refuse(&here, format_args!(": {}", e.desc())))?;
            let target = PathBuf::from(target);
            if target.is_absolute() {
                stack.truncate(1);
            }
            push_front(&mut queue, &target);
            continue;
        }
        if kind != SFlag::S_IFDIR {
            return Err(refuse(&here, NOT_A_DIRECTORY));
        }
        if queue.iter().all(|n| n == ".") {
            check_final(&here, &st, owner)?;
        } else {
            check_on_the_way(&here, &st)?;
        }
        stack.push((here, fd));
    }
    let (real, fd) = stack.pop().expect("the stack starts with /");
    // A path ending in `..` (or `/` itself) ends at a folder checked only as
    // one on the way.
    check_final(&real, &stat(&real, &fd)?, owner)?;
    Ok(Checked { fd, real })
}

/// Put the components of `path` before those of `queue` (`.` and `/` left out).
fn push_front(queue: &mut VecDeque<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    for p in parts.into_iter().rev() {
        queue.push_front(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(what: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pmap-lab-trust-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn a_folder_of_ones_own_is_trusted_and_made_when_missing() {
        let d = scratch("own");
        let made = d.join("a/b/c");
        let c = dir(&made, Owner::You, true).unwrap();
        assert_eq!(c.real, made);
        let mode = std::fs::metadata(&made).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        // `..` and `.` are walked, not looked up by name.
        let c = dir(&d.join("a/./b/../b/c/."), Owner::You, false).unwrap();
        assert_eq!(c.real, made);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_parent_others_can_write_is_named_and_a_sticky_one_is_not() {
        let d = scratch("parent");
        std::fs::create_dir_all(d.join("open/mine")).unwrap();
        std::fs::set_permissions(d.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = dir(&d.join("open/mine"), Owner::You, false).err().unwrap();
        assert_eq!(err.component, d.join("open"));
        assert!(
            err.message.ends_with(
                "open is writable by its group and others (mode 0777) and not sticky: they could swap what is below it"
            ),
            "{err}"
        );
        std::fs::set_permissions(d.join("open"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(dir(&d.join("open/mine"), Owner::You, false).is_ok());
        // The folder itself: never writable by others, sticky or not.
        let err = dir(&d.join("open"), Owner::You, false).err().unwrap();
        assert!(
            err.message
                .ends_with("open is writable by its group and others (mode 1777)"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn links_are_followed_from_trusted_folders_and_checked_where_they_lead() {
        let d = scratch("links");
        std::fs::create_dir_all(d.join("real/inner")).unwrap();
        std::os::unix::fs::symlink(d.join("real"), d.join("abs")).unwrap();
        std::os::unix::fs::symlink("real/inner", d.join("rel")).unwrap();
        assert_eq!(
            dir(&d.join("abs/inner"), Owner::You, false).unwrap().real,
            d.join("real/inner")
        );
        assert_eq!(
            dir(&d.join("rel"), Owner::You, false).unwrap().real,
            d.join("real/inner")
        );
        // A link leading into a folder others can write is refused there.
        std::fs::create_dir_all(d.join("open/x")).unwrap();
        std::fs::set_permissions(d.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink(d.join("open/x"), d.join("to-open")).unwrap();
        let err = dir(&d.join("to-open"), Owner::You, false).err().unwrap();
        assert_eq!(err.component, d.join("open"));
        // A link in a folder others can write is not followed: that folder is refused first.
        std::os::unix::fs::symlink(d.join("real"), d.join("open/link")).unwrap();
        let err = dir(&d.join("open/link"), Owner::You, false).err().unwrap();
        assert_eq!(err.component, d.join("open"));
        // A loop ends.
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        let err = dir(&d.join("loop"), Owner::You, false).err().unwrap();
        assert!(
            err.message
                .ends_with("loop: too many symbolic links on the way"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
