//! Which C library a demo runs with, found by what its map holds rather than
//! by one file name, and the glibc behaviours that follow from its version.
//!
//! glibc's own file is `libc.so.6` since 2.34 and `libc-2.31.so` (with a
//! `libc.so.6` link) before; musl is one file, its loader (`ld-musl-*.so.1`).
//! The version is read from the library itself: every glibc carries the
//! banner `GNU C Library (…) … release version 2.36.` that `libc.so.6` prints
//! when run, so the demo's glibc is known even where lab's own differs (a
//! chroot, a container, an archive built elsewhere).
//!
//! The behaviours below changed at known releases (docs/machine-facts.md cites
//! glibc's source for each); a fact is derived from the version where it
//! cannot be read from the process itself.

use std::path::Path;

/// The C library of a process, as its map shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Libc {
    /// glibc, with its version (`2.36`) when the library could be read.
    Glibc(Option<String>),
    Musl,
    /// No C library mapped: a static binary, or a libc lab does not know.
    Unknown,
}

impl Libc {
    /// Identify the C library among the files a process maps (`paths`, as in
    /// /proc/PID/maps); `pid` reaches them through the process's own root
    /// when it runs in another mount namespace or chroot.
    pub fn of_mapped(paths: &[&str], pid: Option<i32>) -> Libc {
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
        // musl is one file, its loader too: `ld-musl-x86_64.so.1` (Alpine),
        // `/usr/lib/x86_64-linux-musl/libc.so` (Debian's musl-gcc).
        if paths
            .iter()
            .any(|p| base(p).starts_with("ld-musl-") || p.contains("-linux-musl/"))
        {
            return Libc::Musl;
        }
        let Some(glibc) = paths.iter().find(|p| is_glibc_file(&base(p))) else {
            return Libc::Unknown;
        };
        let version = read_banner_version(Path::new(glibc), pid)
            .or_else(|| version_from_file_name(&base(glibc)));
        Libc::Glibc(version)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Libc::Glibc(_) => "glibc",
            Libc::Musl => "musl",
            Libc::Unknown => "unknown (no libc mapped: statically linked?)",
        }
    }
}

/// `libc.so.6` (glibc 2.34 on) or `libc-2.31.so` (before).
fn is_glibc_file(base: &str) -> bool {
    base == "libc.so.6" || version_from_file_name(base).is_some()
}

/// `libc-2.31.so` → `2.31`.
fn version_from_file_name(base: &str) -> Option<String> {
    let v = base.strip_prefix("libc-")?.strip_suffix(".so")?;
    let ok = !v.is_empty()
        && v.split('.').count() >= 2
        && v.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| v.to_string())
}

/// The version in glibc's banner, `… release version 2.36.` (or `2.42.9000`
/// for a development snapshot), read from the library file.
fn read_banner_version(path: &Path, pid: Option<i32>) -> Option<String> {
    // A C library is a few MiB; more is not one.
    const MAX: u64 = 64 << 20;
    let read = |p: &Path| -> Option<Vec<u8>> {
        use std::io::Read;
        let f = std::fs::File::open(p).ok()?;
        let mut bytes = Vec::new();
        f.take(MAX).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    };
    let bytes = pid
        .and_then(|pid| {
            let rel = path.strip_prefix("/").ok()?;
            read(&Path::new(&format!("/proc/{pid}/root")).join(rel))
        })
        .or_else(|| read(path))?;
    banner_version(&bytes)
}

/// The version after `release version ` in glibc's banner.
pub fn banner_version(bytes: &[u8]) -> Option<String> {
    let needle = b"release version ";
    let at = memchr::memmem::find(bytes, needle)? + needle.len();
    let v: String = bytes[at..]
        .iter()
        .take(16)
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|&b| b as char)
        .collect();
    let v = v.trim_end_matches('.').to_string();
    (v.contains('.') && v.split('.').all(|p| !p.is_empty())).then_some(v)
}

/// glibc's behaviours that the labs depend on, by version. Each is cited in
/// docs/machine-facts.md ("glibc versions").
pub struct GlibcBehaviour {
    /// Fastbins: singly linked lists of freed chunks up to 128 bytes, not
    /// merged at free. Removed in glibc 2.43: a small chunk that the tcache
    /// does not take is merged with its free neighbours when it is freed.
    pub fastbins: bool,
    /// How many freed chunks of each size a thread's tcache holds by
    /// default: 7 since 2.26, 16 since 2.43.
    pub tcache_count: u32,
    /// A thread's tcache (one chunk: 768 bytes on x86_64 with 2.43) is
    /// malloc'd at the thread's first `free()` of a small chunk from glibc
    /// 2.43 on, and at its first `malloc()` before: a program that frees
    /// nothing until it has filled `[heap]` gets it at the top, where it
    /// stays in use and keeps `[heap]` from shrinking below it.
    pub tcache_at_first_free: bool,
    /// glibc 2.42 on installs a thread stack's guard with
    /// `madvise(MADV_GUARD_INSTALL)` where the kernel has it (Linux 6.13),
    /// instead of a `PROT_NONE` mapping of its own.
    pub madvise_guards: bool,
}

impl GlibcBehaviour {
    /// The behaviours of glibc `version` (`2.36`, `2.42.9000`).
    pub fn of_version(version: &str) -> GlibcBehaviour {
        let (major, minor) = major_minor(version).unwrap_or((2, 36));
        let at_least = |m: u32| (major, minor) >= (2, m);
        GlibcBehaviour {
            fastbins: !at_least(43),
            tcache_count: if at_least(43) { 16 } else { 7 },
            tcache_at_first_free: at_least(43),
            madvise_guards: at_least(42),
        }
    }
}

/// `2.42.9000` → (2, 42).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_is_found_by_either_file_name_and_musl_by_its_loader() {
        assert_eq!(
            Libc::of_mapped(&["/usr/lib/x86_64-linux-gnu/libc-2.31.so"], None),
            Libc::Glibc(Some("2.31".into()))
        );
        assert_eq!(
            Libc::of_mapped(&["/lib/ld-musl-aarch64.so.1"], None),
            Libc::Musl
        );
        assert_eq!(
            Libc::of_mapped(&["/usr/lib/x86_64-linux-musl/libc.so"], None),
            Libc::Musl
        );
        assert_eq!(Libc::of_mapped(&["/usr/bin/true"], None), Libc::Unknown);
        assert_eq!(version_from_file_name("libc-2.so"), None);
        assert_eq!(version_from_file_name("libc-x.y.so"), None);
    }

    #[test]
    fn the_banner_gives_the_version() {
        let b = b"\0GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\nCopy";
        assert_eq!(banner_version(b).as_deref(), Some("2.36"));
        let dev = b"GNU C Library (GNU libc) development release version 2.42.9000.\n";
        assert_eq!(banner_version(dev).as_deref(), Some("2.42.9000"));
        assert_eq!(banner_version(b"release version x"), None);
    }

    #[test]
    fn this_process_glibc_has_a_readable_banner() {
        // lab itself runs on glibc: the library it maps names its version.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let paths: Vec<&str> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .collect();
        match Libc::of_mapped(&paths, None) {
            Libc::Glibc(Some(v)) => assert!(major_minor(&v).is_some(), "{v}"),
            other => panic!("lab's own libc: {other:?} from {paths:?}"),
        }
    }

    #[test]
    fn behaviours_change_at_their_releases() {
        let b = GlibcBehaviour::of_version;
        assert!(b("2.31").fastbins && b("2.42").fastbins && !b("2.43").fastbins);
        assert!(!b("2.41").madvise_guards && b("2.42").madvise_guards);
        assert_eq!((b("2.36").tcache_count, b("2.43").tcache_count), (7, 16));
        assert!(!b("2.42").tcache_at_first_free && b("2.43").tcache_at_first_free);
    }
}
