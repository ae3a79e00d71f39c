//! The JSON form of regions and totals: DESIGN.md's region format, shared by
//! the lab reports (`lab heap --json`) and `lab pmap --json`. Fields may be
//! added, never renamed.

use serde::Deserialize;
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
    let totals = std::cell::Cell::new(Totals::default());
    let items = regions.into_iter().map(|r| {
        totals.set(totals.get().plus(r));
        region_json(r)
    });
    write_array_document(
        out,
        &json!({ "command": command, "pid": pid }),
        "regions",
        items,
        || Some(("totals", totals_json(&totals.get()))),
    )
}

/// A document `{HEAD's fields, "KEY": [ITEMS…], TAIL}` as [`pretty`] would
/// print it (HEAD's keys sort before KEY, TAIL's after), one item at a time:
/// the items are never all in memory. `tail` is asked for once the items
/// are written (totals of them, say).
pub fn write_array_document(
    out: &mut (impl std::io::Write + ?Sized),
    head: &Value,
    key: &str,
    items: impl IntoIterator<Item = Value>,
    tail: impl FnOnce() -> Option<(&'static str, Value)>,
) -> std::io::Result<()> {
    let head = pretty(head);
    // `{\n  "a": …,\n  "b": N\n}\n`: all but the closing brace.
    let head = head.trim_end().trim_end_matches('}').trim_end();
    let comma = if head == "{" { "" } else { "," };
    write!(out, "{head}{comma}\n  {}: [", Value::from(key))?;
    let mut first = true;
    for item in items {
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        first = false;
        write_indented(out, &item, "    ")?;
    }
    out.write_all(if first { b"]" } else { b"\n  ]" })?;
    if let Some((key, value)) = tail() {
        write!(out, ",\n  {}: ", Value::from(key))?;
        write_indented(out, &value, "  ")?;
    }
    out.write_all(b"\n}\n")
}

/// `value` as [`pretty`] prints it, every line after the first indented by
/// `indent` (its depth in the enclosing document).
fn write_indented(
    out: &mut (impl std::io::Write + ?Sized),
    value: &Value,
    indent: &str,
) -> std::io::Result<()> {
    let text = pretty(value);
    for (i, line) in text.trim_end().lines().enumerate() {
        if i > 0 {
            write!(out, "\n{indent}")?;
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
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
    Document::deserialize(doc)
        .map_err(|e| e.to_string())
        .and_then(Document::into_snapshot)
}

/// The first JSON document of `reader`, read as [`snapshot_from_json`] does,
/// but region by region as the text streams in: no tree of JSON values, so
/// the memory is the regions' own (`lab diff` of two 175 MB captures).
pub fn snapshot_from_reader(reader: impl std::io::Read) -> Result<crate::Snapshot, String> {
    let mut docs = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader))
        .into_iter::<Document>();
    match docs.next() {
        None => Err("empty file".into()),
        Some(Err(e)) if e.is_data() => Err(e.to_string()),
        Some(Err(e)) => Err(format!("not JSON: {e}")),
        Some(Ok(doc)) => doc.into_snapshot(),
    }
}

/// A document as `lab diff` reads it: its pid and its regions, checked.
#[derive(serde::Deserialize)]
struct Document {
    #[serde(default)]
    pid: Option<Value>,
    #[serde(default)]
    regions: Option<RegionList>,
}

impl Document {
    fn into_snapshot(self) -> Result<crate::Snapshot, String> {
        let mut regions = self.regions.ok_or("no `regions` array")?.0;
        regions.sort_by_key(|r| r.start);
        let totals = crate::Totals::of(&regions);
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
        let pid = self.pid.and_then(|p| p.as_i64()).unwrap_or(0) as i32;
        Ok(crate::Snapshot {
            pid,
            regions,
            totals,
            keys: Vec::new(),
        })
    }
}

/// The `regions` array, each region checked and converted as it is read.
struct RegionList(Vec<Region>);

impl<'de> serde::Deserialize<'de> for RegionList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RegionList, D::Error> {
        /// Set once the array is being read: errors after that are a region's.
        struct Regions<'a>(&'a std::cell::Cell<bool>);
        impl<'de> serde::de::Visitor<'de> for Regions<'_> {
            type Value = RegionList;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of regions")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RegionList, A::Error> {
                self.0.set(true);
                let mut out = Vec::new();
                while let Some(raw) = seq.next_element::<RawRegion>()? {
                    out.push(raw.into_region().map_err(serde::de::Error::custom)?);
                }
                out.shrink_to_fit();
                Ok(RegionList(out))
            }
        }
        // Anything but an array is "no regions array", as before.
        let entered = std::cell::Cell::new(false);
        d.deserialize_seq(Regions(&entered)).map_err(|e: D::Error| {
            if entered.get() {
                e
            } else {
                serde::de::Error::custom("no `regions` array")
            }
        })
    }
}

/// A region as the file has it, before it is checked.
#[derive(serde::Deserialize)]
struct RawRegion {
    start: Option<String>,
    end: Option<String>,
    perms: Option<String>,
    name: Option<String>,
    size_kib: Option<serde_json::Number>,
    rss_kib: Option<serde_json::Number>,
    pss_kib: Option<serde_json::Number>,
    dirty_kib: Option<serde_json::Number>,
    swap_kib: Option<serde_json::Number>,
    anonymous_kib: Option<serde_json::Number>,
    anon_huge_pages_kib: Option<serde_json::Number>,
}

impl RawRegion {
    fn into_region(self) -> Result<Region, String> {
        let hex_field = |v: &Option<String>, k: &str| -> Result<u64, String> {
            let text = v
                .as_deref()
                .ok_or_else(|| format!("region without `{k}`"))?;
            u64::from_str_radix(text.trim_start_matches("0x"), 16)
                .map_err(|_| format!("bad address `{text}`"))
        };
        let (start, end) = (
            hex_field(&self.start, "start")?,
            hex_field(&self.end, "end")?,
        );
        if end < start {
            return Err(format!("region {start:#x}-{end:#x} ends before it starts"));
        }
        // A counter is absent (0), or KiB that an address space can hold.
        let kib = |v: &Option<serde_json::Number>, k: &str| match v {
            None => Ok(0),
            Some(n) => n.as_u64().filter(|&n| n <= MAX_KIB).ok_or_else(|| {
                format!("region {start:#x}: `{k}` is {n}, not a number of KiB from 0 to {MAX_KIB}")
            }),
        };
        let perms: [u8; 4] = self
            .perms
            .as_deref()
            .and_then(|p| p.as_bytes().try_into().ok())
            .filter(|p: &[u8; 4]| p.iter().all(|b| b"rwxps-".contains(b)))
            .ok_or("region with bad `perms`")?;
        let name = self.name.unwrap_or_default();
        let fields = crate::Fields {
            size: kib(&self.size_kib, "size_kib")?,
            rss: kib(&self.rss_kib, "rss_kib")?,
            pss: kib(&self.pss_kib, "pss_kib")?,
            private_dirty: kib(&self.dirty_kib, "dirty_kib")?,
            swap: kib(&self.swap_kib, "swap_kib")?,
            anonymous: kib(&self.anonymous_kib, "anonymous_kib")?,
            anon_huge_pages: kib(&self.anon_huge_pages_kib, "anon_huge_pages_kib")?,
            ..Default::default()
        };
        Ok(Region {
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
        })
    }
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

    #[test]
    fn json_text_escapes_del_and_c1_controls() {
        let text = pretty(&json!({ "name": "a\u{7f}b\u{85}c\u{9f}\x1bé" }));
        assert_eq!(
            text,
            "{\n  \"name\": \"a\\u007fb\\u0085c\\u009f\\u001bé\"\n}\n"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "a\u{7f}b\u{85}c\u{9f}\x1bé");
    }

    /// The streamed document is the text of the whole one.
    #[test]
    fn a_streamed_document_is_the_pretty_one() {
        let items = || (0..3).map(|i| json!({ "a": i, "b": [1, 2], "c": {} }));
        for n in [0, 3] {
            let mut out = Vec::new();
            write_array_document(
                &mut out,
                &json!({ "pid": 7 }),
                "regions",
                items().take(n),
                || Some(("totals", json!({ "x": 1 }))),
            )
            .unwrap();
            let whole = json!({
                "pid": 7,
                "regions": items().take(n).collect::<Vec<_>>(),
                "totals": { "x": 1 },
            });
            assert_eq!(String::from_utf8(out).unwrap(), pretty(&whole));
        }
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
