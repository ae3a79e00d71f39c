//! Facts about this machine that decide what a lab should see: the
//! transparent-huge-page mode, the stack limit, the kernel. A lab names the
//! facts it depends on; a check can apply only when a fact has given values
//! (`when = { thp = ["always", "madvise"] }`), so the lab checks the case this
//! machine is in rather than skipping, and the report says which case it was.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The facts, read once per process.
pub fn facts() -> &'static BTreeMap<&'static str, String> {
    static FACTS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    FACTS.get_or_init(|| {
        let mut f = BTreeMap::new();
        f.insert("thp", thp_mode());
        f.insert(
            "stack",
            stack_limit().map_or("unlimited".into(), |kib| format!("{kib} KiB")),
        );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        f.insert("kernel", kernel.trim().to_string());
        f.insert("cpus", online_cpus().to_string());
        f
    })
}

/// The THP mode: `always`, `madvise`, `never`, or `unavailable` (no THP support).
fn thp_mode() -> String {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .ok()
        .and_then(|s| Some(s.split_once('[')?.1.split_once(']')?.0.to_string()))
        .unwrap_or_else(|| "unavailable".into())
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

/// Online CPUs, as glibc counts them to size its arena limit (8 per CPU on 64-bit).
pub fn online_cpus() -> i64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as i64
}

/// The stack glibc gives a new thread with default attributes, in KiB: the
/// soft stack limit, or 2 MiB when it is unlimited (measured on x86-64).
pub fn thread_stack_kib() -> i64 {
    stack_limit().map_or(2048, |kib| kib as i64)
}

/// Numbers lab data may use in size expressions: `cpus` (a count), `stack`
/// (KiB, a thread's default stack), `cached_stacks` (how many freed thread
/// stacks glibc keeps for reuse: its cache holds up to 40 MiB of stacks with
/// their guard pages).
pub fn number(name: &str) -> Option<(i64, bool)> {
    let page = crate::check::page_kib();
    Some(match name {
        "cpus" => (online_cpus(), false),
        "stack" | "stacks" => (thread_stack_kib(), true),
        "cached_stacks" => ((40 * 1024) / (thread_stack_kib() + page), false),
        _ => return None,
    })
}

/// Does a `when` condition hold here? Every named fact must have one of the values.
pub fn holds(when: &BTreeMap<String, Vec<String>>) -> bool {
    when.iter().all(|(fact, values)| {
        facts()
            .get(fact.as_str())
            .is_some_and(|v| values.contains(v))
    })
}

/// "THP madvise, stack 8192 KiB" for the facts a lab names.
pub fn describe(names: &[String]) -> String {
    let words = |n: &str| {
        match n {
            "thp" => "transparent huge pages",
            "stack" => "stack limit (ulimit -s)",
            other => other,
        }
        .to_string()
    };
    names
        .iter()
        .map(|n| {
            format!(
                "{}: {}",
                words(n),
                facts().get(n.as_str()).map_or("?", |v| v.as_str())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_read_and_conditions_follow_them() {
        let thp = facts()["thp"].clone();
        assert!(["always", "madvise", "never", "unavailable"].contains(&thp.as_str()));
        let mut when = BTreeMap::new();
        when.insert("thp".to_string(), vec![thp]);
        assert!(holds(&when));
        when.insert("thp".to_string(), vec!["no such mode".to_string()]);
        assert!(!holds(&when));
    }
}
