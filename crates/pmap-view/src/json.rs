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

/// JSON text as a terminal may show it: serde escapes C0 controls in
/// strings, but leaves DEL and the C1 controls (U+0080..U+009F) raw, which
/// some terminals obey; they become `\u007f`, `\u0085`… (still the same
/// JSON). Outside strings JSON text is ASCII, so only strings change.
pub fn escape_controls(text: String) -> String {
    let is_control = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c);
    if !text.contains(is_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` as pretty JSON, escaped as [`escape_controls`] says, with a newline.
pub fn pretty(value: &Value) -> String {
    // A Value has string keys only: it always serialises.
    escape_controls(serde_json::to_string_pretty(value).unwrap_or_default()) + "\n"
}

/// One process's document of `lab pmap --json` (`command`, `pid`, `regions`,
/// `totals`, as pretty JSON with its keys in order), written region by region:
/// 65,000 mappings never become one tree of JSON values in memory.
pub fn write_process_document<'a>(
    out: &mut impl std::io::Write,
    pid: i32,
    command: &str,
    regions: impl IntoIterator<Item = &'a Region>,
) -> std::io::Result<()> {
    let head = json!({ "command": command, "pid": pid });
    let head = pretty(&head);
    // `{\n  "command": …,\n  "pid": N\n}\n`: all but the closing brace.
    let head = head.trim_end().trim_end_matches('}').trim_end();
    write!(out, "{head},\n  \"regions\": [")?;
    let mut totals = Totals::default();
    let mut first = true;
    for r in regions {
        totals = totals.plus(r);
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        let text = pretty(&region_json(r));
        for (i, line) in text.trim_end().lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            write!(out, "    {line}")?;
        }
    }
    out.write_all(if first { b"],\n" } else { b"\n  ],\n" })?;
    let totals = pretty(&totals_json(&totals));
    write!(out, "  \"totals\": ")?;
    for (i, line) in totals.trim_end().lines().enumerate() {
        if i > 0 {
            write!(out, "\n  ")?;
        }
        out.write_all(line.as_bytes())?;
    }
    out.write_all(b"\n}\n")
}

/// An address as the contract writes it: `0x…`.
pub fn hex(addr: u64) -> String {
    format!("{addr:#x}")
}

/// The most KiB a counter can hold: a whole 64-bit address space. Bounding
/// what a file claims keeps every sum and difference of counters in range.
pub const MAX_KIB: u64 = u64::MAX >> 10;

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
    let mut out = Vec::with_capacity(regions.len());
    for r in regions {
        let (start, end) = (hex_field(r, "start")?, hex_field(r, "end")?);
        if end < start {
            return Err(format!("region {start:#x}-{end:#x} ends before it starts"));
        }
        // A counter is absent (0), or KiB that an address space can hold.
        let kib = |k: &str| match &r[k] {
            Value::Null => Ok(0),
            v => v.as_u64().filter(|&n| n <= MAX_KIB).ok_or_else(|| {
                format!("region {start:#x}: `{k}` is {v}, not a number of KiB from 0 to {MAX_KIB}")
            }),
        };
        let perms: [u8; 4] = r["perms"]
            .as_str()
            .and_then(|p| p.as_bytes().try_into().ok())
            .filter(|p: &[u8; 4]| p.iter().all(|b| b"rwxps-".contains(b)))
            .ok_or("region with bad `perms`")?;
        let name = r["name"].as_str().unwrap_or("").to_string();
        let fields = crate::Fields {
            size: kib("size_kib")?,
            rss: kib("rss_kib")?,
            pss: kib("pss_kib")?,
            private_dirty: kib("dirty_kib")?,
            swap: kib("swap_kib")?,
            anonymous: kib("anonymous_kib")?,
            anon_huge_pages: kib("anon_huge_pages_kib")?,
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
    let t = &totals;
    for (key, total) in [
        ("size_kib", t.size_kib),
        ("rss_kib", t.rss_kib),
        ("pss_kib", t.pss_kib),
        ("dirty_kib", t.dirty_kib),
        ("swap_kib", t.swap_kib),
        ("anonymous_kib", t.anonymous_kib),
        ("anon_huge_pages_kib", t.anon_huge_pages_kib),
    ] {
        if total > MAX_KIB {
            return Err(format!(
                "the regions' `{key}` add up to more than {MAX_KIB} KiB (a 64-bit address space)"
            ));
        }
    }
    let pid = doc["pid"].as_i64().unwrap_or(0) as i32;
    Ok(crate::Snapshot {
        pid,
        regions: out,
        totals,
        keys: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(regions: &[(u64, u64, u64)]) -> Value {
        let regions: Vec<Value> = regions
            .iter()
            .map(|&(start, end, rss)| {
                json!({"start": hex(start), "end": hex(end), "perms": "rw-p",
                       "name": "", "size_kib": rss, "rss_kib": rss, "dirty_kib": rss})
            })
            .collect();
        json!({ "pid": 1, "regions": regions })
    }

    /// Run in a debug build (overflow checks on): the largest counters the
    /// loader takes, in overlapping regions, sum and compare without overflow.
    #[test]
    fn the_largest_counters_accepted_never_overflow() {
        let big = doc(&[
            (0x1000, 0x3000, MAX_KIB),
            (0x1000, 0x2000, 0),
            (0x1000, 0x1800, 0), // ends before the next region of `small` starts
            (0x1800, 0x4000, 0),
        ]);
        let small = doc(&[(0x1000, 0x2000, 4), (0x2000, 0x3000, 4)]);
        let (big, small) = (
            snapshot_from_json(&big).unwrap(),
            snapshot_from_json(&small).unwrap(),
        );
        for (a, b) in [(&big, &small), (&small, &big), (&big, &big)] {
            for c in crate::diff(a, b).changes {
                let _ = (c.size_delta(), c.rss_delta(), c.dirty_delta());
            }
        }
        assert!(snapshot_from_json(&doc(&[(0, 0x1000, MAX_KIB + 1)])).is_err());
        let sum = doc(&[(0, 0x1000, MAX_KIB), (0x1000, 0x2000, 1)]);
        assert!(snapshot_from_json(&sum).unwrap_err().contains("add up to"));
    }
}
