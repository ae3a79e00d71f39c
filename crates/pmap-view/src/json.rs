//! The JSON contract's region format, as types: a region ([`RegionJson`]),
//! the totals ([`Totals`], which derives `Serialize`) and the document of
//! `lab pmap --json` ([`ProcessDocument`]), shared by the lab reports
//! (`lab heap --json`), `lab explain --json` and `lab pmap --json`. The
//! schemas are in docs/schema/, and docs/json.md explains every field.
//! Fields may be added, never renamed or removed.
//!
//! Every document is written by [`write_pretty`]: pretty JSON, with DEL and
//! the C1 controls escaped too, straight into the writer. A [`Streamed`]
//! field writes its items as they come, so that 65,000 regions never become
//! one tree of values in memory.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};

use serde::{Deserialize, Serialize, Serializer};
use serde_json::ser::{Formatter, PrettyFormatter};
use serde_json::Value;

use crate::region::{Kind, Region};
use crate::snapshot::Totals;

/// An address as the contract writes it: `"0x…"`, lower-case hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:#x}", self.0))
    }
}

/// A region in the contract's format (docs/schema/common.schema.json#/$defs/region).
#[derive(Clone, Debug, Serialize)]
pub struct RegionJson<'a> {
    pub start: Hex,
    pub end: Hex,
    /// `rw-p`: read, write, execute, then `p`rivate or `s`hared.
    pub perms: &'a str,
    pub kind: Kind,
    /// The kernel's name: a path, `[heap]`, `[stack]`, or empty.
    pub name: &'a str,
    pub size_kib: u64,
    pub rss_kib: u64,
    pub pss_kib: u64,
    /// Shared and private dirty.
    pub dirty_kib: u64,
    pub swap_kib: u64,
    pub anonymous_kib: u64,
    pub anon_huge_pages_kib: u64,
}

impl<'a> RegionJson<'a> {
    pub fn of(r: &'a Region) -> RegionJson<'a> {
        RegionJson {
            start: Hex(r.start),
            end: Hex(r.end),
            perms: r.perms_str(),
            kind: r.kind,
            name: &r.name,
            size_kib: r.fields.size,
            rss_kib: r.fields.rss,
            pss_kib: r.fields.pss,
            dirty_kib: r.fields.dirty(),
            swap_kib: r.fields.swap,
            anonymous_kib: r.fields.anonymous,
            anon_huge_pages_kib: r.fields.anon_huge_pages,
        }
    }
}

/// One process's document of `lab pmap --json` (docs/schema/pmap.schema.json).
#[derive(Serialize)]
#[serde(bound(serialize = "I::Item: Serialize"))]
pub struct ProcessDocument<'a, I: Iterator> {
    pub pid: i32,
    /// The command line, as procps pmap shows it.
    pub command: &'a str,
    pub regions: Streamed<I>,
    /// The sums of `regions`, known once they are written.
    pub totals: &'a Cell<Totals>,
    /// The process's page tables (`VmPTE`), KiB: not part of any region, nor
    /// of `totals`; absent when the kernel does not say (a kernel thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_tables_kib: Option<u64>,
}

/// A sequence written from its iterator as the document is written: the
/// items are never all in memory. It can be written once.
pub struct Streamed<I>(RefCell<Option<I>>);

impl<I> Streamed<I> {
    pub fn new(items: I) -> Streamed<I> {
        Streamed(RefCell::new(Some(items)))
    }
}

impl<I> Serialize for Streamed<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.0.borrow_mut().take().ok_or_else(|| {
            <S::Error as serde::ser::Error>::custom("a streamed sequence is written once")
        })?;
        s.collect_seq(items)
    }
}

/// Write one process's document of `lab pmap --json`, region by region:
/// 65,000 mappings never become one tree of JSON values in memory.
/// `page_tables_kib` is the whole process's, whichever regions are written.
pub fn write_process_document<'a>(
    out: &mut (impl Write + ?Sized),
    pid: i32,
    command: &str,
    regions: impl IntoIterator<Item = &'a Region>,
    page_tables_kib: Option<u64>,
) -> io::Result<()> {
    let totals = Cell::new(Totals::default());
    let regions = regions.into_iter().map(|r| {
        totals.set(totals.get().plus(r));
        RegionJson::of(r)
    });
    write_pretty(
        out,
        &ProcessDocument {
            pid,
            command,
            regions: Streamed::new(regions),
            totals: &totals,
            page_tables_kib,
        },
    )
}

/// `value` as pretty JSON and a newline, written as it is serialised. serde
/// escapes the C0 controls in strings but leaves DEL and the C1 controls
/// (U+0080..U+009F) raw, which some terminals obey, and the bidi overrides,
/// separators and zero-width characters, which hide or reorder text: they
/// are written `\u007f`, `\u0085`, `\u202e`… (the same JSON). Outside
/// strings JSON text is ASCII.
pub fn write_pretty(out: &mut (impl Write + ?Sized), value: &impl Serialize) -> io::Result<()> {
    let mut ser =
        serde_json::Serializer::with_formatter(&mut *out, EscapeControls(PrettyFormatter::new()));
    value.serialize(&mut ser).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// `value` as [`write_pretty`] writes it.
pub fn pretty(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    // Writing to memory fails only when a value cannot be serialised (a map
    // with keys that are not strings): the contract's types have none.
    let _ = write_pretty(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// serde_json's pretty format, with DEL and the C1 controls escaped in strings.
struct EscapeControls<'a>(PrettyFormatter<'a>);

/// What serde leaves raw and a terminal must not get raw: DEL, the C1
/// controls, and the bidi, separator and zero-width characters of
/// [`crate::region::is_unsafe_char`] (all in the BMP: `\uXXXX`).
fn is_control(c: char) -> bool {
    crate::region::is_unsafe_char(c)
}

impl Formatter for EscapeControls<'_> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // serde cuts fragments only at the ASCII it escapes: chars are whole.
        let mut rest = fragment;
        while let Some(i) = rest.find(is_control) {
            w.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            write!(w, "\\u{:04x}", c as u32)?;
            rest = &rest[i + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }

    // The rest is PrettyFormatter's.
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// The most KiB a counter can hold: a whole 64-bit address space. Bounding
/// what a file claims keeps every sum and difference of counters in range.
pub const MAX_KIB: u64 = u64::MAX >> 10;

/// Why a JSON document could not be read back as a snapshot (`lab diff`
/// prints it after the file's name).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("empty file")]
    Empty,
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not a document of the contract (a bad region says which).
    #[error("{0}")]
    Data(#[source] serde_json::Error),
    #[error("no `regions` array")]
    NoRegions,
    #[error("the regions' `{key}` add up to more than {MAX_KIB} KiB (a 64-bit address space)")]
    TotalTooLarge { key: String },
    #[error("`page_tables_kib` is {0}, not a number of KiB from 0 to {MAX_KIB}")]
    BadPageTables(String),
}

/// What is wrong with one region of a document (reported inside
/// [`ReadError::Data`], with the place in the text).
#[derive(Debug, thiserror::Error)]
enum RegionError {
    #[error("region without `{0}`")]
    Missing(&'static str),
    #[error("bad address `{0}`")]
    BadAddress(String),
    #[error("region {start:#x}-{end:#x} ends before it starts")]
    EndsBeforeStart { start: u64, end: u64 },
    #[error("region {start:#x}: `{key}` is {value}, not a number of KiB from 0 to {MAX_KIB}")]
    BadCounter {
        start: u64,
        key: &'static str,
        value: serde_json::Number,
    },
    #[error("region with bad `perms`")]
    BadPerms,
}

/// Read back a snapshot from its JSON form (`lab pmap --json`, or any document
/// with a `regions` array in the contract's format): what `lab diff` compares.
/// Counters the format does not carry are zero; Dirty is kept as private dirty.
pub fn snapshot_from_json(doc: &Value) -> Result<crate::Snapshot, ReadError> {
    Document::deserialize(doc)
        .map_err(ReadError::Data)
        .and_then(Document::into_snapshot)
}

/// The first JSON document of `reader`, read as [`snapshot_from_json`] does,
/// but region by region as the text streams in: no tree of JSON values, so
/// the memory is the regions' own (`lab diff` of two 175 MB captures).
pub fn snapshot_from_reader(reader: impl std::io::Read) -> Result<crate::Snapshot, ReadError> {
    let mut docs = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader))
        .into_iter::<Document>();
    match docs.next() {
        None => Err(ReadError::Empty),
        Some(Err(e)) if e.is_data() => Err(ReadError::Data(e)),
        Some(Err(e)) => Err(ReadError::NotJson(e)),
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
    #[serde(default)]
    page_tables_kib: Option<Value>,
}

impl Document {
    fn into_snapshot(self) -> Result<crate::Snapshot, ReadError> {
        let mut regions = self.regions.ok_or(ReadError::NoRegions)?.0;
        regions.sort_by_key(|r| r.start);
        let totals = crate::Totals::of(&regions);
        // Every counter of the totals, by the names the contract gives them.
        if let Ok(Value::Object(fields)) = serde_json::to_value(totals) {
            for (key, total) in fields {
                if total.as_u64().is_some_and(|t| t > MAX_KIB) {
                    return Err(ReadError::TotalTooLarge { key });
                }
            }
        }
        let pid = self.pid.and_then(|p| p.as_i64()).unwrap_or(0) as i32;
        // Absent or null: not known. Otherwise KiB, as a region's counters.
        let page_tables_kib = match self.page_tables_kib {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|&n| n <= MAX_KIB)
                    .ok_or_else(|| ReadError::BadPageTables(v.to_string()))?,
            ),
        };
        Ok(crate::Snapshot {
            pid,
            regions,
            totals,
            keys: Vec::new(),
            page_tables_kib,
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
    fn into_region(self) -> Result<Region, RegionError> {
        let hex_field = |v: &Option<String>, k: &'static str| -> Result<u64, RegionError> {
            let text = v.as_deref().ok_or(RegionError::Missing(k))?;
            u64::from_str_radix(text.trim_start_matches("0x"), 16)
                .map_err(|_| RegionError::BadAddress(text.to_string()))
        };
        let (start, end) = (
            hex_field(&self.start, "start")?,
            hex_field(&self.end, "end")?,
        );
        if end < start {
            return Err(RegionError::EndsBeforeStart { start, end });
        }
        // A counter is absent (0), or KiB that an address space can hold.
        let kib = |v: &Option<serde_json::Number>, key: &'static str| match v {
            None => Ok(0),
            Some(n) => {
                n.as_u64()
                    .filter(|&n| n <= MAX_KIB)
                    .ok_or_else(|| RegionError::BadCounter {
                        start,
                        key,
                        value: n.clone(),
                    })
            }
        };
        let perms: [u8; 4] = self
            .perms
            .as_deref()
            .and_then(|p| p.as_bytes().try_into().ok())
            .filter(|p: &[u8; 4]| p.iter().all(|b| b"rwxps-".contains(b)))
            .ok_or(RegionError::BadPerms)?;
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
    use serde_json::json;

    fn hex(addr: u64) -> String {
        format!("{addr:#x}")
    }

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
        let text = pretty(&json!({ "name": "a\u{7f}b\u{85}c\u{9f}\x1bé\u{202e}\u{200b}" }));
        assert_eq!(
            text,
            "{\n  \"name\": \"a\\u007fb\\u0085c\\u009f\\u001bé\\u202e\\u200b\"\n}\n"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["name"], "a\u{7f}b\u{85}c\u{9f}\x1bé\u{202e}\u{200b}");
    }

    /// The streamed document is the text of the whole one, and its totals
    /// are those of the regions written.
    #[test]
    fn a_streamed_document_is_the_pretty_one() {
        let snap = snapshot_from_json(&doc(&[(0x1000, 0x3000, 8), (0x5000, 0x6000, 4)])).unwrap();
        for n in [0, 1, 2] {
            let mut out = Vec::new();
            let page_tables = [None, Some(52), Some(0)][n];
            write_process_document(&mut out, 7, "cmd \u{85}", &snap.regions[..n], page_tables)
                .unwrap();
            let regions: Vec<RegionJson> = snap.regions[..n].iter().map(RegionJson::of).collect();
            let totals = Totals::of(&snap.regions[..n]);
            #[derive(Serialize)]
            struct Whole<'a> {
                pid: i32,
                command: &'a str,
                regions: Vec<RegionJson<'a>>,
                totals: Totals,
                #[serde(skip_serializing_if = "Option::is_none")]
                page_tables_kib: Option<u64>,
            }
            let whole = Whole {
                pid: 7,
                command: "cmd \u{85}",
                regions,
                totals,
                page_tables_kib: page_tables,
            };
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text, pretty(&whole));
            assert!(text.contains("cmd \\u0085"), "{text}");
            let back: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back["totals"]["rss_kib"], [0, 8, 12][n]);
            // The page tables come back as they were written.
            let read = snapshot_from_json(&back).unwrap();
            assert_eq!(read.page_tables_kib, page_tables);
        }
        let mut bad = doc(&[(0x1000, 0x2000, 4)]);
        bad["page_tables_kib"] = json!(-4);
        assert!(snapshot_from_json(&bad)
            .unwrap_err()
            .to_string()
            .contains("page_tables_kib"));
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
        assert!(snapshot_from_json(&sum)
            .unwrap_err()
            .to_string()
            .contains("add up to"));
    }
}
