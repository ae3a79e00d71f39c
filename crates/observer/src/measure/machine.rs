//! The facts a lab's outcome depends on: the kernel and its transparent huge
//! pages, the CPU count and stack limit as glibc reads them, a memory cgroup
//! limit, the cache directory's filesystem (machine facts), and, per run, the
//! demo's C library, allocator and allocator settings, and its Python
//! (run facts).
//!
//! Lab data uses them in two ways (see docs/writing-labs.md):
//! - a check `requires` facts (`requires = { malloc = ["glibc"] }`); where one
//!   does not hold, the check is *not applicable* and the report names the
//!   fact, instead of failing for a reason nobody can read;
//! - a check's bounds follow facts through numbers in size expressions
//!   (`stack`, `cpus`, `new_arenas`, `cached_stacks`), so the threads lab is
//!   right for 1 CPU, `MALLOC_ARENA_MAX=2` or `ulimit -s 1001` alike.
//!
//! Facts are values, passed to whoever needs them: nothing here is global but
//! the cached reading of this machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;

use crate::measure::c_library::{GlibcBehaviour, Libc};

/// The allocator variables that change what glibc's malloc or threads do,
/// and that the demos run without unless asked (`--keep-alloc-env`).
pub fn is_allocator_variable(name: &str) -> bool {
    name.starts_with("MALLOC_") || name == "GLIBC_TUNABLES" || name == "LD_PRELOAD"
}

/// Named facts, each a short value in words (`thp = "madvise"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Facts(BTreeMap<String, String>);

/// Every fact name lab data may use, with its words for a reader.
pub const NAMES: &[(&str, &str)] = &[
    ("kernel", "kernel"),
    ("page_size", "page size"),
    ("thp", "transparent huge pages"),
    ("mthp", "smaller huge pages (mTHP)"),
    ("cpus", "CPUs (as glibc counts them)"),
    ("stack", "stack limit (ulimit -s)"),
    (
        "stack_merge",
        "thread stacks merge with anonymous neighbours",
    ),
    ("stack_thp", "huge pages in thread stacks"),
    ("memory_limit", "memory cgroup limit"),
    ("memory_available", "memory available (MemAvailable)"),
    ("overcommit", "memory overcommit (vm.overcommit_memory)"),
    (
        "commit_available",
        "memory left to commit under strict overcommit",
    ),
    (
        "page_cache_drop",
        "page cache of the cache directory's files can be dropped",
    ),
    ("cache_fs", "cache directory's filesystem"),
    (
        "proactive_reclaim",
        "a reclaimer that evicts idle memory without memory pressure",
    ),
    ("libc", "the demo's C library"),
    ("libc_version", "the demo's glibc version"),
    ("malloc", "the demo's malloc"),
    ("fastbins", "glibc's fastbins"),
    ("tcache_count", "tcache chunks per size"),
    ("tcache_init", "when glibc allocates a thread's tcache"),
    ("stack_guards", "thread stack guards"),
    ("malloc_settings", "malloc settings"),
    ("malloc_perturb", "MALLOC_PERTURB_"),
    ("arena_max", "malloc arena limit"),
    ("arena_test", "malloc arena test"),
    ("stack_cache", "thread stack cache"),
    ("python", "Python"),
    ("python_impl", "Python implementation"),
    ("python_version", "Python version"),
    ("python_pools", "pymalloc's pool size"),
    ("python_build", "Python build"),
];

/// Facts that are readings of the moment (free memory, commit left): they
/// rule a lab out before it starts, but two runs of one machine differ in
/// them, so they do not tell machines apart (`lab report`).
pub fn is_reading(name: &str) -> bool {
    matches!(name, "memory_available" | "commit_available")
}

/// Facts of the Python interpreter a run used: a document has them only when
/// it ran Python (a `lab check --json` of pylist's Python demo), never a
/// `lab grade --json` (its program is C) nor `lab check heap`. They are a
/// run's facts, not the machine's: `lab report` groups machines without them.
pub fn is_program_fact(name: &str) -> bool {
    name.starts_with("python")
}

/// The facts a word of a size expression reads (see [`Facts::number`]; a
/// `page` is this machine's page size): `cpus` is the fact `cpus`,
/// `new_arenas` reads `arena_max`, `arena_test` and `cpus`. Keep in step
/// with [`Facts::number`].
pub fn facts_of_word(word: &str) -> &'static [&'static str] {
    match word {
        "page" | "pages" | "guard" | "guards" => &["page_size"],
        "cpus" => &["cpus"],
        "stack" | "stacks" => &["stack", "page_size"],
        "cached_stacks" => &["stack_cache", "stack", "page_size"],
        "new_arenas" => &["arena_max", "arena_test", "cpus"],
        "fault" | "faults" => &["mthp", "page_size"],
        "huge_fault" | "huge_faults" => &["thp", "page_size"],
        _ => &[],
    }
}

/// The words for a fact's name.
pub fn words(name: &str) -> &str {
    NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name, |(_, w)| *w)
}

impl Facts {
    /// This machine's facts (read once per process), for a cache directory.
    pub fn of_machine(cache_dir: Option<&Path>) -> Facts {
        static MACHINE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
        let mut f = MACHINE
            .get_or_init(|| {
                let mut f = BTreeMap::new();
                let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                f.insert("kernel".into(), kernel);
                f.insert("page_size".into(), format!("{} KiB", page_kib()));
                let (thp, mthp) = thp_modes();
                f.insert("thp".into(), thp);
                f.insert("mthp".into(), mthp);
                f.insert("cpus".into(), glibc_cpus().to_string());
                f.insert(
                    "stack".into(),
                    stack_limit().map_or("unlimited".into(), |kib| format!("{kib} KiB")),
                );
                let merge = stack_merge();
                f.insert("stack_merge".into(), merge.into());
                // Unmarked stacks under THP `always` can fault a whole 2 MiB
                // huge page on their first touch.
                let huge = merge == "possible" && f.get("thp").is_some_and(|t| t == "always");
                f.insert(
                    "stack_thp".into(),
                    if huge { "possible" } else { "no" }.into(),
                );
                f.insert(
                    "memory_limit".into(),
                    memory_limit_kib().map_or("none".into(), |kib| format!("{kib} KiB")),
                );
                f.insert(
                    "memory_available".into(),
                    meminfo_kib("MemAvailable").map_or("unknown".into(), |k| format!("{k} KiB")),
                );
                let mode = overcommit();
                f.insert("overcommit".into(), mode.into());
                // Under strict overcommit every private writable mapping is
                // charged when it is made: what is left to charge is a limit
                // like a cgroup's. Elsewhere nothing is charged.
                let headroom = match (
                    mode,
                    meminfo_kib("CommitLimit"),
                    meminfo_kib("Committed_AS"),
                ) {
                    ("strict", Some(limit), Some(used)) => {
                        format!("{} KiB", limit.saturating_sub(used))
                    }
                    _ => "unlimited".to_string(),
                };
                f.insert("commit_available".into(), headroom);
                f.insert("proactive_reclaim".into(), proactive_reclaim().into());
                f
            })
            .clone();
        if let Some(dir) = cache_dir {
            f.insert("cache_fs".into(), filesystem(dir));
            f.insert(
                "page_cache_drop".into(),
                crate::measure::pagecache::can_drop(dir).into(),
            );
        }
        Facts(f)
    }

    /// Facts from name/value pairs (tests, and lab data validation).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Facts {
        Facts(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Add the allocator facts of a demo that runs with `env` (its whole
    /// environment) and whose start-up map names `libraries` (mapped files);
    /// `pid` is the demo's, to read its C library through its own root.
    pub fn add_allocator(
        &mut self,
        env: &[(String, String)],
        libraries: &[&str],
        pid: Option<i32>,
    ) {
        let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
        let found = Libc::of_mapped(libraries, pid);
        if let Libc::Glibc(version) = &found {
            // Unreadable library: the demo loads the glibc lab loads (the
            // same root), whose version lab knows.
            let version = version.clone().unwrap_or_else(glibc_version);
            let b = GlibcBehaviour::of_version(&version);
            self.set("fastbins", if b.fastbins { "yes" } else { "no" });
            self.set("tcache_count", b.tcache_count.to_string());
            self.set(
                "tcache_init",
                if b.tcache_at_first_free {
                    "first free"
                } else {
                    "first malloc"
                },
            );
            let guards = b.madvise_guards && kernel_has_guard_regions();
            self.set(
                "stack_guards",
                if guards { "guard regions" } else { "mappings" },
            );
            self.set("libc_version", version);
        } else {
            // musl and the others map a PROT_NONE guard below a thread stack.
            self.set("stack_guards", "mappings");
        }
        let libc = found.name().to_string();
        let preloaded: Vec<String> = libraries
            .iter()
            .map(|l| base(l))
            .filter(|b| {
                ["jemalloc", "tcmalloc", "mimalloc", "hoard"]
                    .iter()
                    .any(|a| b.contains(a))
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let malloc = if !preloaded.is_empty() {
            format!("preloaded {}", preloaded.join(", "))
        } else if libc == "glibc" {
            "glibc".to_string()
        } else if libc == "musl" {
            "musl".to_string()
        } else {
            "unknown".to_string()
        };
        self.set("libc", libc);
        self.set("malloc", malloc);

        // glibc's tunables, GLIBC_TUNABLES=glibc.malloc.arena_max=1:…, and the
        // older MALLOC_* aliases.
        let mut tunables: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in env {
            if let Some(name) = k.strip_prefix("MALLOC_") {
                let name = name.trim_end_matches('_').to_ascii_lowercase();
                tunables.insert(format!("glibc.malloc.{name}"), v.clone());
            }
        }
        for item in var("GLIBC_TUNABLES").unwrap_or("").split(':') {
            if let Some((k, v)) = item.split_once('=') {
                tunables.insert(k.to_string(), v.to_string());
            }
        }
        let get = |k: &str| tunables.get(k).and_then(|v| v.parse::<i64>().ok());
        self.set(
            "arena_max",
            get("glibc.malloc.arena_max")
                .filter(|&n| n > 0)
                .map_or("default".into(), |n| n.to_string()),
        );
        self.set(
            "arena_test",
            get("glibc.malloc.arena_test")
                .filter(|&n| n > 0)
                .unwrap_or(8)
                .to_string(),
        );
        self.set(
            "stack_cache",
            get("glibc.pthread.stack_cache_size")
                .map_or("40 MiB".into(), |b| format!("{} KiB", b.max(0) / 1024)),
        );
        // MALLOC_PERTURB_ fills every block malloc returns (and every one
        // free takes): the memory is touched, the layout is the same.
        self.set(
            "malloc_perturb",
            get("glibc.malloc.perturb")
                .filter(|&n| n & 0xff != 0)
                .map_or("off".into(), |n| (n & 0xff).to_string()),
        );
        // Everything else that moves malloc's thresholds or layout.
        let settings: Vec<String> = tunables
            .iter()
            .filter(|(k, _)| {
                k.starts_with("glibc.malloc.")
                    && !matches!(
                        k.as_str(),
                        "glibc.malloc.arena_max"
                            | "glibc.malloc.arena_test"
                            | "glibc.malloc.perturb"
                    )
            })
            .map(|(k, v)| format!("{}={v}", k.trim_start_matches("glibc.malloc.")))
            .collect();
        self.set(
            "malloc_settings",
            if settings.is_empty() {
                "default".to_string()
            } else {
                settings.join(" ")
            },
        );
    }

    /// A number lab data may use in size expressions, and whether it is a
    /// size (KiB) rather than a count. See [`crate::spec::check::size_expr`].
    pub fn number(&self, name: &str) -> Option<(i64, bool)> {
        let stack = self.thread_stack_kib();
        Some(match name {
            "cpus" => (self.count("cpus").unwrap_or(1), false),
            "stack" | "stacks" => (stack, true),
            "guard" | "guards" => (thread_guard_kib(), true),
            "cached_stacks" => {
                // glibc keeps freed stacks (with their guard) while the
                // cache holds at most stack_cache; 100 threads at most here.
                let cache = self.kib("stack_cache").unwrap_or(40 * 1024);
                ((cache / (stack + thread_guard_kib())).min(100), false)
            }
            "new_arenas" => (self.new_arenas(100), false),
            "fault" | "faults" => (self.fault_kib(), true),
            "huge_fault" | "huge_faults" => (self.huge_fault_kib(), true),
            _ => return None,
        })
    }

    /// The arenas glibc creates when `threads` threads that all stay alive
    /// call malloc once: a thread's first malloc creates an arena while there
    /// are at most `arena_test` (8 on 64-bit), and then while there are fewer
    /// than the limit: `arena_max` if set, else 8 per CPU. (glibc's
    /// arena_get2; measured with 1 and 2 CPUs and MALLOC_ARENA_MAX=1, 2.)
    pub fn new_arenas(&self, threads: i64) -> i64 {
        let limit = match self.count("arena_max") {
            Some(max) => max,
            None => {
                let test = self.count("arena_test").unwrap_or(8);
                (8 * self.count("cpus").unwrap_or(1)).max(test + 1)
            }
        };
        (limit - 1).clamp(0, threads)
    }

    /// The stack of a new thread with default attributes, in KiB: the soft
    /// stack limit rounded up to pages (at least PTHREAD_STACK_MIN: 16 KiB on
    /// x86-64, 128 KiB on arm64), or 2 MiB when it is unlimited (glibc's
    /// ARCH_STACK_DEFAULT_SIZE on x86 and aarch64; sysdeps/nptl/
    /// pthread_early_init.h).
    pub fn thread_stack_kib(&self) -> i64 {
        let page = page_kib();
        let min = (libc::PTHREAD_STACK_MIN / 1024) as i64;
        match self.kib("stack") {
            Some(kib) => (kib.max(min) + page - 1) / page * page,
            None => 2048,
        }
    }

    /// What a first touch of anonymous memory may fault in beyond its page
    /// where transparent huge pages (2 MiB) are `always`: a whole huge page,
    /// when its aligned block lies in the region and has no page table yet.
    /// 0 where they are not `always` (nothing beyond the fault unit).
    pub fn huge_fault_kib(&self) -> i64 {
        if self.get("thp") == Some("always") {
            huge_page_kib()
        } else {
            0
        }
    }

    /// The unit the kernel faults anonymous memory in where nothing was
    /// madvised: the largest small huge page size (mTHP) set to `always`,
    /// else a page.
    pub fn fault_kib(&self) -> i64 {
        self.get("mthp")
            .unwrap_or("none")
            .split(", ")
            .filter_map(|s| {
                let (size, mode) = s.split_once(' ')?;
                (mode == "always").then(|| size.strip_suffix("kB")?.parse::<i64>().ok())?
            })
            .max()
            .unwrap_or_else(page_kib)
    }

    fn count(&self, name: &str) -> Option<i64> {
        self.get(name)?.parse().ok()
    }

    /// A fact written as a size ("8192 KiB", "40 MiB"), in KiB.
    fn kib(&self, name: &str) -> Option<i64> {
        size_kib(self.get(name)?)
    }

    /// Why `requires` does not hold here, or None when it does. Each named
    /// fact must match one of its alternatives: a value (`"glibc"`), or a
    /// comparison (`">= 6.7"` for versions, `">= 1 GiB"` for sizes; a fact
    /// of `none` or `unlimited` is larger than any size).
    pub fn unmet(&self, requires: &BTreeMap<String, Vec<String>>) -> Option<String> {
        let mut unmet = Vec::new();
        for (fact, alternatives) in requires {
            let value = self.get(fact).unwrap_or("unknown");
            if !alternatives.iter().any(|a| matches(value, a)) {
                unmet.push(format!(
                    "{}: {value} (this check needs {})",
                    words(fact),
                    alternatives.join(" or ")
                ));
            }
        }
        (!unmet.is_empty()).then(|| unmet.join("; "))
    }

    /// "transparent huge pages (2 MiB): madvise, …" for the named facts.
    /// The facts of `names` this run has, in words (a Python fact is not one
    /// of a run of the Rust port).
    pub fn describe(&self, names: &[String]) -> String {
        names
            .iter()
            .filter_map(|n| Some(format!("{}: {}", words(n), self.get(n)?)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every fact, `name value` joined by commas (the check table's header).
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Does `value` satisfy `alternative` (an exact value or a comparison)?
fn matches(value: &str, alternative: &str) -> bool {
    let alt = alternative.trim();
    let ops = [">=", "<=", "!=", ">", "<"];
    let Some(op) = ops.iter().find(|o| alt.starts_with(**o)) else {
        return value == alt;
    };
    let want = alt[op.len()..].trim();
    let numeric = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit());
    let order = if !numeric(want) {
        // Words (`!= tmpfs`) compare as words.
        value.cmp(want)
    } else if want.contains(' ') {
        // A size: compare in KiB; `none`/`unlimited` is above every size.
        let w = size_kib(want);
        let v = match value {
            "none" | "unlimited" => Some(i64::MAX),
            v => size_kib(v),
        };
        match (v, w) {
            (Some(v), Some(w)) => v.cmp(&w),
            _ => return false,
        }
    } else {
        compare_versions(value, want)
    };
    match *op {
        ">=" => order.is_ge(),
        "<=" => order.is_le(),
        "!=" => order.is_ne(),
        ">" => order.is_gt(),
        _ => order.is_lt(),
    }
}

/// A size as facts write them, `8192 KiB`, `40 MiB`, `1 GiB`, in KiB. (Lab
/// data's size expressions are [`crate::spec::check::size_expr`]'s, which use facts.)
fn size_kib(text: &str) -> Option<i64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let n: f64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "KiB" => 1.0,
        "MiB" => 1024.0,
        "GiB" => 1024.0 * 1024.0,
        _ => return None,
    };
    Some((n * unit).round() as i64)
}

/// Compare dotted versions by their leading numbers ("6.1.0-40-cloud-amd64" < "6.7").
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let nums = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit() && c != '.')
            .next()
            .unwrap_or("")
            .split('.')
            .map_while(|p| p.parse().ok())
            .collect()
    };
    let (a, b) = (nums(a), nums(b));
    for i in 0..a.len().max(b.len()) {
        let o = a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0));
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// The THP mode for 2 MiB pages (the per-size knob when it does not say
/// `inherit`, else the top-level one), and the smaller sizes (mTHP) that are
/// enabled, or `none`.
fn thp_modes() -> (String, String) {
    let base = Path::new("/sys/kernel/mm/transparent_hugepage");
    let mode = |p: &Path| -> Option<String> {
        let s = std::fs::read_to_string(p).ok()?;
        Some(s.split_once('[')?.1.split_once(']')?.0.to_string())
    };
    let Some(top) = mode(&base.join("enabled")) else {
        return ("unavailable".into(), "none".into());
    };
    let effective = |m: String| if m == "inherit" { top.clone() } else { m };
    let pmd_kib = huge_page_kib();
    let pmd =
        mode(&base.join(format!("hugepages-{pmd_kib}kB/enabled"))).map_or(top.clone(), effective);
    let mut small: Vec<(u64, String)> = std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let m = effective(mode(&e.path().join("enabled"))?);
            (kb < pmd_kib as u64 && m != "never").then_some((kb, m))
        })
        .collect();
    small.sort();
    let mthp = if small.is_empty() {
        "none".to_string()
    } else {
        small
            .iter()
            .map(|(kb, m)| format!("{kb}kB {m}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (pmd, mthp)
}

/// Can a thread's stack merge with an anonymous mapping beside it? Kernels
/// that mark `MAP_STACK` mappings no-hugepage (the `nh` VmFlag; Linux 6.7 on,
/// with THP) keep them apart; older ones, or ones without THP, merge them like
/// any anonymous mapping. Measured on this kernel: map a page with MAP_STACK
/// and read its flags. `no` or `possible`.
fn stack_merge() -> &'static str {
    // SAFETY: a fresh private anonymous page of our own, unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page_bytes(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return "possible";
    }
    let start = format!("{:x}-", p as usize);
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let marked = smaps
        .split_once(&format!("\n{start}"))
        .and_then(|(_, rest)| rest.lines().find(|l| l.starts_with("VmFlags:")))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "nh"));
    // SAFETY: the page mapped above, not used since.
    unsafe { libc::munmap(p, page_bytes()) };
    if marked {
        "no"
    } else {
        "possible"
    }
}

/// Does this kernel accept `madvise(MADV_GUARD_INSTALL)` (Linux 6.13 on)?
/// Measured: install a guard in a page of our own, then unmap it.
pub fn kernel_has_guard_regions() -> bool {
    const MADV_GUARD_INSTALL: libc::c_int = 102;
    let page = page_bytes();
    // SAFETY: a fresh private anonymous page of our own, unmapped below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return false;
    }
    // SAFETY: the page mapped above; a guard only makes it fault on access,
    // and nothing accesses it before it is unmapped.
    let ok = unsafe { libc::madvise(p, page, MADV_GUARD_INSTALL) } == 0;
    // SAFETY: the page mapped above, not used since.
    unsafe { libc::munmap(p, page) };
    ok
}

/// The soft stack limit (`ulimit -s`) in KiB, None when unlimited. glibc sizes
/// new threads' stacks from it.
pub fn stack_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur / 1024)
}

/// Online CPUs as glibc counts them to size its arena limit: it reads
/// /sys/devices/system/cpu/online (a CPU affinity mask does not change it).
pub fn glibc_cpus() -> i64 {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| parse_cpu_list(s.trim()))
        .unwrap_or_else(|| {
            // SAFETY: sysconf has no preconditions.
            unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as i64
        })
}

/// "0-3,5" → 5.
fn parse_cpu_list(list: &str) -> Option<i64> {
    let mut n = 0;
    for part in list.split(',') {
        n += match part.split_once('-') {
            Some((a, b)) => b.parse::<i64>().ok()? - a.parse::<i64>().ok()? + 1,
            None => {
                part.parse::<i64>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}

/// The memory limit of this process's cgroup (v2 `memory.max`, v1
/// `memory.limit_in_bytes`), in KiB; None when there is none. The demos
/// inherit the cgroup.
fn memory_limit_kib() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut limits = Vec::new();
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let file = if controllers.is_empty() {
            format!("/sys/fs/cgroup{path}/memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")
        } else {
            continue;
        };
        if let Some(bytes) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            // v1 writes "no limit" as a huge page-aligned number.
            if bytes < (1 << 60) {
                limits.push(bytes / 1024);
            }
        }
    }
    limits.into_iter().min()
}

/// The filesystem type of `dir` by its magic number (`tmpfs`, `ext4`…).
/// Whether a DAMON-based reclaimer runs (`damon pageout`, else `none`):
/// the kernel's DAMON_RECLAIM module, or a kdamond switched on through
/// sysfs with a `pageout` scheme (as some cloud kernels ship). It evicts
/// memory it has seen idle even when memory is plentiful, clean page cache
/// first, by regions of physical memory it samples a page at a time. Traced
/// here (the `mm_filemap_delete_from_page_cache` event), `kdamond.0` took 1 to
/// 10 pages of filemap's just-read file in 4 runs of about 1,000 under load.
fn proactive_reclaim() -> &'static str {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    if read(Path::new("/sys/module/damon_reclaim/parameters/enabled")).trim() == "Y" {
        return "damon pageout";
    }
    let children = |p: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(p)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let kdamonds = Path::new("/sys/kernel/mm/damon/admin/kdamonds");
    let pageout = children(kdamonds)
        .iter()
        .filter(|k| read(&k.join("state")).trim() == "on")
        .flat_map(|k| children(&k.join("contexts")))
        .flat_map(|c| children(&c.join("schemes")))
        .any(|s| read(&s.join("action")).trim() == "pageout");
    if pageout {
        "damon pageout"
    } else {
        "none"
    }
}

fn filesystem(dir: &Path) -> String {
    match nix::sys::statfs::statfs(dir) {
        Ok(s) => {
            let t = s.filesystem_type();
            use nix::sys::statfs as fs;
            let name = if t == fs::TMPFS_MAGIC {
                "tmpfs"
            } else if t == fs::EXT4_SUPER_MAGIC {
                "ext4"
            } else if t == fs::BTRFS_SUPER_MAGIC {
                "btrfs"
            } else if t == fs::XFS_SUPER_MAGIC {
                "xfs"
            } else if t == fs::OVERLAYFS_SUPER_MAGIC {
                "overlay"
            } else if t == fs::NFS_SUPER_MAGIC {
                "nfs"
            } else if t.0 == 0x0102_1994 {
                "tmpfs"
            } else if t.0 == 0x858458f6 {
                "ramfs"
            } else {
                return format!("type {:#x}", t.0);
            };
            name.to_string()
        }
        Err(e) => format!("unknown ({e})"),
    }
}

/// glibc's version (`gnu_get_libc_version`), the one the demos load too.
fn glibc_version() -> String {
    extern "C" {
        fn gnu_get_libc_version() -> *const libc::c_char;
    }
    // SAFETY: returns a pointer to a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) }
        .to_string_lossy()
        .into_owned()
}

/// The page size of this machine, in bytes (see [`pmap_view::page_bytes`]).
pub fn page_bytes() -> usize {
    pmap_view::page_bytes()
}

/// The page size of this machine, in KiB.
pub fn page_kib() -> i64 {
    (page_bytes() / 1024) as i64
}

/// The guard below a new thread's stack, in KiB: a page, but at least
/// 64 KiB on aarch64 (glibc 2.27 on: ARCH_MIN_GUARD_SIZE in
/// sysdeps/aarch64/nptl/pthreaddef.h, applied in nptl/allocatestack.c;
/// measured: 100 threads add 100 x (8192 + 64) KiB on arm64 with 4 and 16
/// KiB pages).
pub fn thread_guard_kib() -> i64 {
    let min = if cfg!(target_arch = "aarch64") { 64 } else { 0 };
    page_kib().max(min)
}

/// The size of a transparent huge page (a PMD's worth of pages): 2 MiB with
/// 4 KiB pages, 32 MiB with 16 KiB pages (arm64), 512 MiB with 64 KiB.
pub fn huge_page_kib() -> i64 {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .map(|b| b / 1024)
        // A page table page holds page/8 entries: (page / 8) pages.
        .unwrap_or_else(|| page_kib() * page_kib() * 1024 / 8)
}

/// A line of /proc/meminfo (`MemAvailable`), in KiB.
pub fn meminfo_kib(name: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `vm.overcommit_memory`: `heuristic` (0, the default: an allocation fails
/// only when it is obviously too large), `always` (1) or `strict` (2: every
/// private writable mapping is charged against the commit limit when it is
/// made). Documentation/mm/overcommit-accounting.rst.
fn overcommit() -> &'static str {
    match std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .unwrap_or_default()
        .trim()
    {
        "0" => "heuristic",
        "1" => "always",
        "2" => "strict",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(fact: &str, alts: &[&str]) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([(
            fact.to_string(),
            alts.iter().map(|s| s.to_string()).collect(),
        )])
    }

    #[test]
    fn requirements_name_the_fact_that_does_not_hold() {
        let f = Facts::from_pairs([("thp", "never"), ("kernel", "6.1.0-40-cloud-amd64")]);
        assert_eq!(f.unmet(&req("thp", &["never"])), None);
        let why = f.unmet(&req("thp", &["always", "madvise"])).unwrap();
        assert!(why.contains("transparent huge pages: never"), "{why}");
        assert_eq!(f.unmet(&req("kernel", &["< 6.7"])), None);
        assert_eq!(f.unmet(&req("thp", &["!= always"])), None);
        assert!(f.unmet(&req("thp", &["!= never"])).is_some());
        assert!(f.unmet(&req("kernel", &[">= 6.7"])).is_some());
        let m = Facts::from_pairs([("memory_limit", "307200 KiB")]);
        assert!(m.unmet(&req("memory_limit", &[">= 1 GiB"])).is_some());
        assert_eq!(m.unmet(&req("memory_limit", &[">= 256 MiB"])), None);
        let none = Facts::from_pairs([("memory_limit", "none")]);
        assert_eq!(none.unmet(&req("memory_limit", &[">= 1 GiB"])), None);
    }

    #[test]
    fn arena_counts_follow_cpus_and_settings() {
        let with = |pairs: &[(&str, &str)]| {
            let mut f = Facts::from_pairs(pairs.iter().copied());
            f.add_allocator(
                &pairs
                    .iter()
                    .filter(|(k, _)| k.starts_with("MALLOC") || k.starts_with("GLIBC"))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>(),
                &["/usr/lib/x86_64-linux-gnu/libc.so.6"],
                None,
            );
            f
        };
        assert_eq!(with(&[("cpus", "1")]).new_arenas(100), 8);
        assert_eq!(with(&[("cpus", "2")]).new_arenas(100), 15);
        assert_eq!(with(&[("cpus", "64")]).new_arenas(100), 100);
        assert_eq!(
            with(&[("cpus", "2"), ("MALLOC_ARENA_MAX", "2")]).new_arenas(100),
            1
        );
        let one = with(&[
            ("cpus", "2"),
            ("GLIBC_TUNABLES", "glibc.malloc.arena_max=1"),
        ]);
        assert_eq!(one.new_arenas(100), 0);
        assert_eq!(one.get("malloc_settings"), Some("default"));
        let perturb = with(&[("MALLOC_PERTURB_", "165")]);
        assert_eq!(perturb.get("malloc_settings"), Some("default"));
        assert_eq!(perturb.get("malloc_perturb"), Some("165"));
        let tuned = with(&[("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")]);
        assert_eq!(tuned.get("malloc_settings"), Some("hugetlb=1"));
        assert_eq!(tuned.get("malloc_perturb"), Some("off"));
        assert_eq!(perturb.get("malloc"), Some("glibc"));
    }

    #[test]
    fn thread_stacks_follow_the_limit_as_glibc_rounds_it() {
        let page = page_kib();
        let f = |s: &str| Facts::from_pairs([("stack", s)]).thread_stack_kib();
        assert_eq!(f("8192 KiB"), 8192);
        assert_eq!(f("1001 KiB"), (1001 + page - 1) / page * page);
        assert_eq!(f("unlimited"), 2048);
        let min = (libc::PTHREAD_STACK_MIN / 1024) as i64; // 16 KiB x86-64, 128 KiB arm64
        assert_eq!(f("4 KiB"), (min + page - 1) / page * page);
        let cached = |s: &str| Facts::from_pairs([("stack", s)]).number("cached_stacks");
        assert_eq!(cached("8192 KiB"), Some((40 * 1024 / (8192 + page), false)));
        assert_eq!(cached("256 KiB"), Some((100, false)));
    }

    #[test]
    fn faults_follow_small_huge_pages() {
        let f = |m: &str| Facts::from_pairs([("mthp", m)]).fault_kib();
        assert_eq!(f("none"), page_kib());
        assert_eq!(f("16kB madvise, 64kB always"), 64);
        assert_eq!(f("64kB madvise"), page_kib());
        let h = |t: &str| Facts::from_pairs([("thp", t)]).huge_fault_kib();
        assert_eq!(
            (h("always"), h("madvise"), h("never")),
            (huge_page_kib(), 0, 0)
        );
    }

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0-3,5"), Some(5));
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn this_machine_has_its_facts() {
        let f = Facts::of_machine(Some(Path::new("/")));
        for name in [
            "kernel",
            "thp",
            "mthp",
            "cpus",
            "stack",
            "stack_merge",
            "memory_limit",
            "cache_fs",
        ] {
            assert!(f.get(name).is_some(), "{name} missing: {f:?}");
        }
        assert!(["always", "madvise", "never", "unavailable"].contains(&f.get("thp").unwrap()));
    }
}
