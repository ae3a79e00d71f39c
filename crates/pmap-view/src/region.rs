//! One mapping of a process: its address range, permissions, backing and the
//! memory counters the kernel reports for it in smaps.

use std::borrow::Cow;

use serde::Serialize;

/// What a region is, named the way the kernel names it in `/proc/PID/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `[heap]`: the brk area that glibc's main arena grows with `brk`/`sbrk`.
    Heap,
    /// `[stack]`: the main thread's stack.
    Stack,
    /// A nameless (or `[anon:…]`) anonymous mapping: large mallocs, thread stacks, arenas.
    Anon,
    /// A mapping of a file (executables, libraries, data files, deleted files).
    File,
    /// `[vdso]`: kernel code mapped into every process for fast syscalls.
    Vdso,
    /// `[vvar]` and friends: kernel data read by the vdso.
    Vvar,
    /// `[vsyscall]`: the legacy fixed-address syscall page.
    Vsyscall,
    /// Anything else the kernel names (`[uprobes]`, SysV shm, …).
    Other,
}

impl Kind {
    /// Classify a region from the pathname column of smaps.
    pub fn classify(name: &str) -> Kind {
        match name {
            "" => Kind::Anon,
            "[heap]" => Kind::Heap,
            "[stack]" => Kind::Stack,
            "[vdso]" => Kind::Vdso,
            "[vsyscall]" => Kind::Vsyscall,
            n if n.starts_with("[vvar") => Kind::Vvar,
            n if n.starts_with("[anon:") => Kind::Anon,
            n if n.starts_with('/') && !n.starts_with("/SYSV") => Kind::File,
            _ => Kind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Heap => "heap",
            Kind::Stack => "stack",
            Kind::Anon => "anon",
            Kind::File => "file",
            Kind::Vdso => "vdso",
            Kind::Vvar => "vvar",
            Kind::Vsyscall => "vsyscall",
            Kind::Other => "other",
        }
    }
}

/// The counters of one smaps entry, in KiB (`THPeligible` is a flag, 0 or 1).
///
/// A fixed struct rather than a map: capture is the hot path, and every field
/// the kernel documents has a slot. Fields a newer kernel adds are kept in
/// [`Region::extra`], never dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Fields {
    pub size: u64,
    pub kernel_page_size: u64,
    pub mmu_page_size: u64,
    pub rss: u64,
    pub pss: u64,
    pub pss_dirty: u64,
    pub pss_anon: u64,
    pub pss_file: u64,
    pub pss_shmem: u64,
    pub shared_clean: u64,
    pub shared_dirty: u64,
    pub private_clean: u64,
    pub private_dirty: u64,
    pub referenced: u64,
    pub anonymous: u64,
    pub ksm: u64,
    pub lazy_free: u64,
    pub anon_huge_pages: u64,
    pub shmem_pmd_mapped: u64,
    pub file_pmd_mapped: u64,
    pub shared_hugetlb: u64,
    pub private_hugetlb: u64,
    pub swap: u64,
    pub swap_pss: u64,
    pub locked: u64,
    pub thp_eligible: u64,
    pub protection_key: u64,
}

impl Fields {
    /// Dirty as pmap reports it: shared plus private dirty pages.
    pub fn dirty(&self) -> u64 {
        self.shared_dirty.saturating_add(self.private_dirty)
    }

    /// The value of one counter.
    #[inline]
    pub fn get(&self, field: Field) -> u64 {
        field.get(self)
    }

    /// The slot of one counter, to set it.
    #[inline]
    pub fn slot(&mut self, field: Field) -> &mut u64 {
        field.slot(self)
    }
}

/// Declares [`Field`] once: its variants, smaps keys and [`Fields`] slots.
macro_rules! fields {
    ($($variant:ident $slot:ident $key:literal,)*) => {
        /// Names every slot of [`Fields`]: the smaps keys this crate models, in
        /// the order the kernel prints them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Field { $($variant,)* }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The key as smaps spells it.
            pub fn key(self) -> &'static str {
                match self { $(Field::$variant => $key,)* }
            }

            /// The field an smaps key names, if this crate models it.
            pub fn from_key(key: &[u8]) -> Option<Field> {
                match key { $(k if k == $key.as_bytes() => Some(Field::$variant),)* _ => None }
            }

            #[inline]
            fn get(self, f: &Fields) -> u64 {
                match self { $(Field::$variant => f.$slot,)* }
            }

            #[inline]
            fn slot(self, f: &mut Fields) -> &mut u64 {
                match self { $(Field::$variant => &mut f.$slot,)* }
            }
        }
    };
}

fields! {
    Size size "Size",
    KernelPageSize kernel_page_size "KernelPageSize",
    MmuPageSize mmu_page_size "MMUPageSize",
    Rss rss "Rss",
    Pss pss "Pss",
    PssDirty pss_dirty "Pss_Dirty",
    PssAnon pss_anon "Pss_Anon",
    PssFile pss_file "Pss_File",
    PssShmem pss_shmem "Pss_Shmem",
    SharedClean shared_clean "Shared_Clean",
    SharedDirty shared_dirty "Shared_Dirty",
    PrivateClean private_clean "Private_Clean",
    PrivateDirty private_dirty "Private_Dirty",
    Referenced referenced "Referenced",
    Anonymous anonymous "Anonymous",
    Ksm ksm "KSM",
    LazyFree lazy_free "LazyFree",
    AnonHugePages anon_huge_pages "AnonHugePages",
    ShmemPmdMapped shmem_pmd_mapped "ShmemPmdMapped",
    FilePmdMapped file_pmd_mapped "FilePmdMapped",
    SharedHugetlb shared_hugetlb "Shared_Hugetlb",
    PrivateHugetlb private_hugetlb "Private_Hugetlb",
    Swap swap "Swap",
    SwapPss swap_pss "SwapPss",
    Locked locked "Locked",
    ThpEligible thp_eligible "THPeligible",
    ProtectionKey protection_key "ProtectionKey",
}

/// One counter column of smaps, in the order the kernel listed it: a field
/// this crate models, or one it does not know (kept in [`Region::extra`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Known(Field),
    Extra(String),
}

impl Key {
    pub fn name(&self) -> &str {
        match self {
            Key::Known(f) => f.key(),
            Key::Extra(name) => name,
        }
    }

    /// This key's value in `region`: an unknown field's leading number.
    #[inline]
    pub fn value(&self, region: &Region) -> u64 {
        match self {
            Key::Known(f) => region.fields.get(*f),
            Key::Extra(name) => region
                .extra
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| {
                    v.bytes().take_while(u8::is_ascii_digit).fold(0u64, |n, d| {
                        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    })
                })
                .unwrap_or(0),
        }
    }
}

/// One mapping (one VMA) of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rw-s` as in maps.
    pub perms: [u8; 4],
    pub offset: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub inode: u64,
    /// The pathname column, verbatim (empty for plain anonymous memory).
    pub name: String,
    pub kind: Kind,
    pub fields: Fields,
    /// `VmFlags` mnemonics, verbatim.
    pub vm_flags: String,
    /// Fields this parser does not know (a newer kernel), as `(key, value text)`.
    pub extra: Vec<(String, String)>,
}

impl Region {
    pub fn size_kib(&self) -> u64 {
        (self.end - self.start) / 1024
    }

    pub fn perms_str(&self) -> &str {
        // Built only from bytes the parser checked to be ASCII.
        std::str::from_utf8(&self.perms).unwrap_or("????")
    }

    pub fn is_shared(&self) -> bool {
        self.perms[3] == b's'
    }

    /// Whether this region's PSS moves only by this process's doing. Not so
    /// for a private file mapping or a kernel special mapping: their pages
    /// are the page cache's or the kernel's, shared with whatever else maps
    /// them, so their PSS moves when unrelated processes start or end. (A
    /// shared mapping's PSS, and an anonymous one's after fork, are moved by
    /// this process and its children.)
    pub fn own_pss(&self) -> bool {
        matches!(self.kind, Kind::Heap | Kind::Stack | Kind::Anon) || self.is_shared()
    }

    /// A short label for reports: the kernel's name, a file's base name, or
    /// `[anon]`, its control characters escaped ([`escape_controls`]).
    pub fn label(&self) -> String {
        let label = self.raw_label();
        match escape_controls(&label) {
            Cow::Borrowed(_) => label,
            Cow::Owned(escaped) => escaped,
        }
    }

    fn raw_label(&self) -> String {
        match self.kind {
            Kind::Anon if self.name.is_empty() => "[anon]".to_string(),
            Kind::File => {
                let (path, deleted) = match self.name.strip_suffix(" (deleted)") {
                    Some(p) => (p, " (deleted)"),
                    None => (self.name.as_str(), ""),
                };
                let base = path.rsplit('/').next().unwrap_or(path);
                format!("{base}{deleted}")
            }
            _ => self.name.clone(),
        }
    }
}

/// A character that must not reach a terminal as it is: a control character
/// (C0, DEL, C1), which can drive the terminal (`\e]0;title\a`, `\e[?1049h`),
/// or one that changes what the text around it seems to say without being
/// seen: the bidi embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069) and marks (U+200E, U+200F, U+061C), the line and paragraph
/// separators (U+2028, U+2029) and the zero-width characters (U+200B–U+200D,
/// U+2060–U+2064, U+FEFF). The one definition both escapers use.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x061c | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xfeff)
}

/// Text from a program, a file or the kernel as lab's own views show it on
/// a terminal: each character of [`is_unsafe_char`] written as an escape,
/// `\x1b`, `\u{85}` or `\u{202e}`, so that a mapping named `\e]0;title\a`
/// or a demo's output reaches the terminal as text, never as a command, and
/// a name cannot hide or reverse what follows it. (The `lab pmap` formats
/// print procps's `?` instead: [`crate::pmap::printable`].)
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c as u32 {
            n @ (0..=0x1f | 0x7f) => out.push_str(&format!("\\x{n:02x}")),
            n if is_unsafe_char(c) => out.push_str(&format!("\\u{{{n:x}}}")),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text of several lines ([`escape_controls`] for each, the line breaks
/// kept): a program's output, a compiler's errors.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(escape_controls)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_lab_views() {
        assert!(matches!(
            escape_controls("/usr/lib/libc.so.6"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_controls("a\x1b[31mb\x07\t\x7f\u{85}é"),
            "a\\x1b[31mb\\x07\\x09\\x7f\\u{85}é"
        );
        // Bidi overrides and isolates, separators, zero-width characters.
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}c\u{2028}d\u{200b}e\u{feff}f\u{2069}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}d\\u{200b}e\\u{feff}f\\u{2069}"
        );
        assert!(matches!(
            escape_controls("naïve ünïcode → ok"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_lines("a\x1b[?1049h\r\nb\x07\n"),
            "a\\x1b[?1049h\\x0d\nb\\x07\n"
        );
    }
}
