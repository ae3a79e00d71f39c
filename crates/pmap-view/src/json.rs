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

/// Read back a snapshot from its JSON form (`lab pmap --json`, or any document
/// with a `regions` array in the contract's format): what `lab diff` compares.
/// Counters the format does not carry are zero; Dirty is kept as private dirty.
pub fn snapshot_from_json(doc: &Value) -> Result<crate::Snapshot, String> {
    let regions = doc["regions"].as_array().ok_or("no `regions` array")?;
    let hex_field = |r: &Value, k: &str| -> Result<u64, String> {
        let text = r[k]
            .as_str()
            .ok_or_else(|| format!("region without `{k}`"))?;
        u64::from_str_radix(text.trim_start_matches("0x"), 16)
            .map_err(|_| format!("bad address `{text}`"))
    };
    let kib = |r: &Value, k: &str| r[k].as_u64().unwrap_or(0);
    let mut out = Vec::with_capacity(regions.len());
    for r in regions {
        let (start, end) = (hex_field(r, "start")?, hex_field(r, "end")?);
        if end < start {
            return Err(format!("region {start:#x}-{end:#x} ends before it starts"));
        }
        let perms: [u8; 4] = r["perms"]
            .as_str()
            .and_then(|p| p.as_bytes().try_into().ok())
            .filter(|p: &[u8; 4]| p.iter().all(|b| b"rwxps-".contains(b)))
            .ok_or("region with bad `perms`")?;
        let name = r["name"].as_str().unwrap_or("").to_string();
        let fields = crate::Fields {
            size: kib(r, "size_kib"),
            rss: kib(r, "rss_kib"),
            pss: kib(r, "pss_kib"),
            private_dirty: kib(r, "dirty_kib"),
            swap: kib(r, "swap_kib"),
            anonymous: kib(r, "anonymous_kib"),
            anon_huge_pages: kib(r, "anon_huge_pages_kib"),
            ..Default::default()
        };
        out.push(Region {
            start,
            end,
            perms,
            offset: 0,
            dev_major: 0,
            dev_minor: 0,
            inode: 0,
            kind: crate::Kind::classify(&name),
            name,
            fields,
            vm_flags: String::new(),
            extra: Vec::new(),
        });
    }
    out.sort_by_key(|r| r.start);
    let totals = crate::Totals::of(&out);
    let pid = doc["pid"].as_i64().unwrap_or(0) as i32;
    Ok(crate::Snapshot {
        pid,
        regions: out,
        totals,
        keys: Vec::new(),
    })
}
