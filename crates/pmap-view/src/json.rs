//! The JSON form of regions and totals: DESIGN.md's region format, shared by
//! the lab reports (`lab heap --json`) and `lab pmap --json`. Fields may be
//! added, never renamed.

use serde_json::{json, Value};

use crate::region::Region;
use crate::snapshot::Totals;

/// Totals in KiB.
pub fn totals_json(t: &Totals) -> Value {
    json!({
        "size_kib": t.size_kib,
        "rss_kib": t.rss_kib,
        "pss_kib": t.pss_kib,
        "dirty_kib": t.dirty_kib,
        "swap_kib": t.swap_kib,
        "anonymous_kib": t.anonymous_kib,
        "anon_huge_pages_kib": t.anon_huge_pages_kib,
    })
}

/// A region in the contract's format (plus a few more counters).
pub fn region_json(r: &Region) -> Value {
    json!({
        "start": hex(r.start),
        "end": hex(r.end),
        "perms": r.perms_str(),
        "kind": r.kind,
        "name": r.name,
        "size_kib": r.fields.size,
        "rss_kib": r.fields.rss,
        "pss_kib": r.fields.pss,
        "dirty_kib": r.fields.dirty(),
        "swap_kib": r.fields.swap,
        "anonymous_kib": r.fields.anonymous,
        "anon_huge_pages_kib": r.fields.anon_huge_pages,
    })
}

/// An address as the contract writes it: `0x…`.
pub fn hex(addr: u64) -> String {
    format!("{addr:#x}")
}
