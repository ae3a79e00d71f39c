//! Parser for the text of `/proc/PID/smaps`, with no I/O.
//!
//! The format (proc(5)): a header line per mapping, as in `/proc/PID/maps`,
//! followed by `Key:   value kB` lines and a final `VmFlags:` line. The parser
//! takes bytes, not `&str`: a pathname may hold any bytes but NUL and newline.
//! It never panics on any input; a malformed line is an error naming its line.

use crate::region::{Field, Fields, Key, Kind, Region};

/// A line of smaps that is not in the documented format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("smaps line {line}: {what}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub what: &'static str,
}

/// Parse a whole smaps text into regions, in the order the kernel gave them.
pub fn parse(text: &[u8]) -> Result<Vec<Region>, ParseError> {
    let mut parser = Parser::new();
    parser.feed(text)?;
    Ok(parser.finish()?.regions)
}

/// What a whole smaps text holds: its regions and its counter columns.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub regions: Vec<Region>,
    /// The counter keys in the kernel's order (what `pmap -X` shows as columns).
    pub keys: Vec<Key>,
}

/// Where a counter line's value goes.
#[derive(Clone, Copy)]
enum Slot {
    Known(Field),
    Extra,
}

/// A key the parser has seen, with `Key:` packed into a word for a one-compare
/// match on the hot path (every key the kernel prints is at most 15 bytes).
struct KeySlot {
    key: Box<[u8]>,
    /// `Key:` in the low bytes of a word, `mask` selecting them, and the
    /// spaces the kernel pads the rest of 16 bytes with.
    word: u128,
    mask: u128,
    padding: u128,
    slot: Slot,
}

impl KeySlot {
    fn new(key: &[u8], slot: Slot) -> KeySlot {
        let mut bytes = [0u8; 16];
        let mut mask = [0u8; 16];
        let with_colon = key.len() + 1;
        if with_colon <= 16 {
            bytes[..key.len()].copy_from_slice(key);
            bytes[key.len()] = b':';
            mask[..with_colon].fill(0xff);
        }
        let mask = u128::from_le_bytes(mask);
        KeySlot {
            key: key.into(),
            word: u128::from_le_bytes(bytes),
            mask,
            padding: SPACES_16 & !mask,
            slot,
        }
    }

    /// The value and length of the line `text` starts with, if it is this
    /// key's counter line: `Key:   1234 kB\n` (or without ` kB` for a flag).
    #[inline]
    fn counter(&self, text: &[u8]) -> Option<(u64, usize)> {
        match (text.get(..16), text.get(16..24), text.get(24..28)) {
            (Some(head), Some(field), Some(tail)) if self.mask != 0 => {
                let head = u128::from_le_bytes(head.try_into().ok()?);
                if head & self.mask != self.word {
                    return None;
                }
                // The kernel's layout, `%-16s%8lu kB`: the value right-aligned in
                // bytes 16..24, read as one word.
                let len = match tail {
                    b" kB\n" => 28,
                    [b'\n', ..] => 25,
                    _ => 0,
                };
                if len != 0 && head & !self.mask == self.padding {
                    let word = u64::from_le_bytes(field.try_into().ok()?);
                    if let Some(value) = padded_digits(word) {
                        return Some((value, len));
                    }
                }
                general_counter(text, self.key.len() + 1)
            }
            _ => {
                let after = self.key.len();
                if text.starts_with(&self.key) && text.get(after) == Some(&b':') {
                    general_counter(text, after + 1)
                } else {
                    None
                }
            }
        }
    }
}

/// Eight bytes of spaces then digits, as a number; None for anything else.
#[inline]
fn padded_digits(word: u64) -> Option<u64> {
    let leading = ((word ^ SPACES).trailing_zeros() / 8) as usize;
    if leading == 8 {
        return None; // no digit
    }
    // Every byte after the spaces has the 0x10 bit of a digit (a space has not);
    // spaces become '0'; then every byte must be '0'..='9'.
    let digit_bits = 0x1010_1010_1010_1010u64 >> (8 * leading);
    let digits = word | 0x1010_1010_1010_1010;
    let nibbles = 0xf0f0_f0f0_f0f0_f0f0;
    let ok = (word >> (8 * leading)) & digit_bits == digit_bits
        && digits & nibbles == 0x3030_3030_3030_3030
        && digits.wrapping_add(0x0606_0606_0606_0606) & nibbles == 0x3030_3030_3030_3030;
    ok.then(|| eight_digits(digits))
}

/// A counter line in any layout: the value from `start` (after the colon),
/// past spaces, then ` kB` or nothing, then the newline.
#[inline]
fn general_counter(text: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut i = start;
    while text.get(i) == Some(&b' ') {
        i += 1;
    }
    let digits = i;
    let mut value = 0u64;
    while let Some(&d) = text.get(i).filter(|d| d.is_ascii_digit()) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    // 19 digits cannot overflow; longer numbers take the checked slow path.
    if i == digits || i - digits > 19 {
        return None;
    }
    if text.get(i..i + 4) == Some(b" kB\n") {
        Some((value, i + 4))
    } else if text.get(i) == Some(&b'\n') {
        Some((value, i + 1))
    } else {
        None
    }
}

/// An incremental smaps parser: feed it the text in chunks of any size (a
/// line may straddle two chunks), as it is read, so a capture never holds the
/// whole text (tens of MiB for a process with 60,000 mappings).
///
/// The hot loop is one line of `Key:   value kB` per counter, 25 of them per
/// mapping. The kernel prints the keys in the same order for every mapping, so
/// the parser predicts each key from the previous one and checks it with one
/// comparison, instead of searching all keys.
#[derive(Default)]
pub struct Parser<'s> {
    parsed: Parsed,
    /// Where finished regions go instead of `parsed.regions`, if anywhere.
    sink: Option<Sink<'s>>,
    /// Leave `vm_flags` empty (one allocation less per mapping).
    skip_vm_flags: bool,
    /// Each key of `parsed.keys`, and where its value goes.
    slots: Vec<KeySlot>,
    /// Index in `slots` of the key expected on the next counter line.
    next: usize,
    /// Lines parsed so far, for error messages.
    lines: usize,
    /// The start of a line whose end is in the next chunk.
    carry: Vec<u8>,
}

/// A consumer of finished regions, given the keys seen so far.
type Sink<'s> = Box<dyn FnMut(Region, &[Key]) + 's>;

impl Parser<'static> {
    pub fn new() -> Parser<'static> {
        Parser::default()
    }
}

impl<'s> Parser<'s> {
    /// A parser that hands each region, once complete, to `sink` (with the
    /// keys, complete from the first region on) and keeps none: for a caller
    /// that keeps less of each mapping than a whole [`Region`].
    pub fn streaming(sink: impl FnMut(Region, &[Key]) + 's) -> Parser<'s> {
        Parser {
            sink: Some(Box::new(sink)),
            ..Parser::default()
        }
    }

    /// Do not keep VmFlags: every region's `vm_flags` stays empty.
    pub fn without_vm_flags(mut self) -> Parser<'s> {
        self.skip_vm_flags = true;
        self
    }

    /// Hand the last region to the sink, if there is one.
    fn flush_region(&mut self) {
        if let Some(sink) = &mut self.sink {
            if let Some(region) = self.parsed.regions.pop() {
                sink(region, &self.parsed.keys);
            }
        }
    }

    /// Parse the complete lines of `chunk` (and of the carry before it).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ParseError> {
        let mut rest = chunk;
        if !self.carry.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', rest) else {
                self.carry.extend_from_slice(rest);
                return Ok(());
            };
            let mut line = std::mem::take(&mut self.carry);
            line.extend_from_slice(&rest[..nl]);
            self.line(&line)?;
            line.clear();
            self.carry = line; // keep its capacity
            rest = &rest[nl + 1..];
        }
        // Whole lines only: the tail after the last newline waits for the next chunk.
        let Some(last) = memchr::memrchr(b'\n', rest) else {
            self.carry.extend_from_slice(rest);
            return Ok(());
        };
        self.lines_of(&rest[..=last])?;
        self.carry.extend_from_slice(&rest[last + 1..]);
        Ok(())
    }

    /// Parse `text`, whole lines each ending in a newline.
    fn lines_of(&mut self, text: &[u8]) -> Result<(), ParseError> {
        let mut pos = 0;
        while pos < text.len() {
            if let Some(next) = self.predicted_counter(&text[pos..]) {
                pos += next;
                continue;
            }
            let len = memchr::memchr(b'\n', &text[pos..]).unwrap_or(text.len() - pos);
            self.line(&text[pos..pos + len])?;
            pos += len + 1;
        }
        Ok(())
    }

    /// The hot path: `text` starts with the counter line the parser expects,
    /// `Key:   1234 kB\n`. Stores its value and returns the length of the line,
    /// or None for anything else (left to [`Parser::line`]).
    #[inline]
    fn predicted_counter(&mut self, text: &[u8]) -> Option<usize> {
        let expected = self.slots.get(self.next)?;
        let Slot::Known(field) = expected.slot else {
            return None;
        };
        let (value, len) = expected.counter(text)?;
        *self.parsed.regions.last_mut()?.fields.slot(field) = value;
        self.lines += 1;
        self.next += 1;
        Some(len)
    }

    /// The regions and keys, once the whole text was fed.
    pub fn finish(mut self) -> Result<Parsed, ParseError> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line)?;
        }
        self.flush_region();
        Ok(std::mem::take(&mut self.parsed))
    }

    /// Any line: a mapping header, a counter, VmFlags.
    fn line(&mut self, line: &[u8]) -> Result<(), ParseError> {
        self.lines += 1;
        let lineno = self.lines;
        let err = |what| ParseError { line: lineno, what };
        let Some(&first) = line.first() else {
            return Ok(());
        };
        // Header lines start with a lowercase hex address; keys with a capital.
        if matches!(first, b'0'..=b'9' | b'a'..=b'f') {
            let region = parse_header(line).map_err(err)?;
            self.flush_region();
            self.parsed.regions.push(region);
            self.next = 0;
            return Ok(());
        }
        let Some(region) = self.parsed.regions.last_mut() else {
            return Err(err("field before any mapping header"));
        };
        let colon = memchr::memchr(b':', line).ok_or(err("field without ':'"))?;
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        let slot = match self.slots.get(self.next) {
            Some(expected) if *expected.key == *key => expected.slot,
            _ => {
                if key == b"VmFlags" {
                    if !self.skip_vm_flags {
                        region.vm_flags = String::from_utf8_lossy(value.trim_ascii()).into_owned();
                    }
                    return Ok(());
                }
                self.next = match self.slots.iter().position(|s| *s.key == *key) {
                    Some(i) => i,
                    None => {
                        // A key not seen before (normally only in the first region).
                        let (slot, column) = match Field::from_key(key) {
                            Some(f) => (Slot::Known(f), Key::Known(f)),
                            None => (
                                Slot::Extra,
                                Key::Extra(String::from_utf8_lossy(key).into_owned()),
                            ),
                        };
                        self.slots.push(KeySlot::new(key, slot));
                        self.parsed.keys.push(column);
                        self.slots.len() - 1
                    }
                };
                self.slots[self.next].slot
            }
        };
        self.next += 1;
        match slot {
            Slot::Known(field) => {
                *region.fields.slot(field) = parse_value(value).ok_or(err("bad number"))?;
            }
            Slot::Extra => {
                // A field from a newer kernel: keep it verbatim rather than reject the capture.
                region.extra.push((
                    String::from_utf8_lossy(key).into_owned(),
                    String::from_utf8_lossy(value.trim_ascii()).into_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// Eight spaces.
const SPACES: u64 = u64::from_le_bytes(*b"        ");
/// Sixteen spaces.
const SPACES_16: u128 = u128::from_le_bytes(*b"                ");

/// The number written by eight ASCII digits, the first in the lowest byte
/// (the classic SWAR reduction: pairs, then quads, then the whole).
#[inline]
fn eight_digits(ascii: u64) -> u64 {
    let x = ascii.wrapping_sub(0x3030_3030_3030_3030);
    let x = x.wrapping_mul(10).wrapping_add(x >> 8);
    let pairs = x & 0x0000_00ff_0000_00ff;
    let pairs_hi = (x >> 16) & 0x0000_00ff_0000_00ff;
    pairs
        .wrapping_mul(100 + (1_000_000 << 32))
        .wrapping_add(pairs_hi.wrapping_mul(1 + (10_000 << 32)))
        >> 32
}

/// `   1234 kB` or `   1`: the number; None for anything else.
fn parse_value(value: &[u8]) -> Option<u64> {
    let mut digits = value.trim_ascii_start();
    let n = take_dec(&mut digits)?;
    match digits.trim_ascii() {
        b"" | b"kB" => Some(n),
        _ => None,
    }
}

fn parse_header(line: &[u8]) -> Result<Region, &'static str> {
    let mut rest = line;
    let start = take_hex(&mut rest, b'-').ok_or("bad start address")?;
    let end = take_hex(&mut rest, b' ').ok_or("bad end address")?;
    if end < start {
        return Err("end address below start address");
    }
    let perms: [u8; 4] = rest
        .get(..4)
        .and_then(|p| p.try_into().ok())
        .ok_or("missing permissions")?;
    if !perms.iter().all(|b| b"rwxps-".contains(b)) {
        return Err("bad permissions");
    }
    rest = rest.get(4..).ok_or("missing permissions")?;
    rest = rest.strip_prefix(b" ").ok_or("missing offset")?;
    let offset = take_hex(&mut rest, b' ').ok_or("bad offset")?;
    let dev_major = take_hex(&mut rest, b':').ok_or("bad device")?;
    let dev_minor = take_hex(&mut rest, b' ').ok_or("bad device")?;
    let inode = take_dec(&mut rest).ok_or("bad inode")?;
    let name_start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let name = name_text(&rest[name_start..]);
    Ok(Region {
        start,
        end,
        perms,
        offset,
        dev_major: u32::try_from(dev_major).map_err(|_| "bad device")?,
        dev_minor: u32::try_from(dev_minor).map_err(|_| "bad device")?,
        inode,
        kind: Kind::classify(&name),
        name,
        fields: Fields::default(),
        vm_flags: String::new(),
        extra: Vec::new(),
    })
}

/// A pathname as text: a path may hold any byte but NUL and newline; each byte
/// that is not part of valid UTF-8 becomes `?`, as procps prints it.
pub fn name_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (good, bad) = rest.split_at(e.valid_up_to());
                        // Checked above: `good` is valid UTF-8.
                        out.push_str(std::str::from_utf8(good).unwrap_or_default());
                        out.push('?');
                        rest = &bad[1..];
                    }
                }
            }
            out
        }
    }
}

/// Parse lowercase/uppercase hex up to `stop` (consumed). None on overflow or no digits.
fn take_hex(rest: &mut &[u8], stop: u8) -> Option<u64> {
    let end = memchr::memchr(stop, rest)?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value = 0u64;
    for &b in digits {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        value = (value << 4) | u64::from(d);
    }
    *rest = &rest[end + 1..];
    Some(value)
}

/// Parse leading decimal digits. None on overflow or no digits.
fn take_dec(rest: &mut &[u8]) -> Option<u64> {
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    let mut value = 0u64;
    if end <= 19 {
        // Cannot overflow: 19 digits are below 2^64.
        for &b in &rest[..end] {
            value = value * 10 + u64::from(b - b'0');
        }
    } else {
        for &b in &rest[..end] {
            value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
    }
    *rest = &rest[end..];
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_with_spaces_in_path_and_deleted_suffix() {
        let text = b"7f00-7f10 rw-s 00001000 00:05 42    /dev/shm/my file (deleted)\nSize: 4 kB\n";
        let r = &parse(text).unwrap()[0];
        assert_eq!(
            (r.start, r.end, r.offset, r.inode),
            (0x7f00, 0x7f10, 0x1000, 42)
        );
        assert_eq!(r.name, "/dev/shm/my file (deleted)");
        assert_eq!(r.kind, Kind::File);
        assert_eq!(r.label(), "my file (deleted)");
        assert!(r.is_shared());
    }

    #[test]
    fn counters_in_the_kernels_layout_and_others_parse_alike() {
        let mut values: Vec<u64> = vec![0, 1, 7, 10, 99, 4096, 1234567, 12345678, 99999999];
        values.extend([123456789, u64::MAX, 1 << 40]);
        for v in values {
            for line in [
                format!("{:<16}{:>8} kB\n", "Rss:", v), // the kernel's layout
                format!("Rss: {v} kB\n"),
                format!("Rss:\t{v}\n"),
            ] {
                let text = format!("1000-2000 r--p 0 00:00 0\n{line}");
                let regions = parse(text.as_bytes()).unwrap();
                assert_eq!(regions[0].fields.rss, v, "{line:?}");
            }
        }
        // One chunk boundary anywhere in a line changes nothing.
        let text =
            b"1000-2000 r--p 0 00:00 0\nPss:                1234 kB\nTHPeligible:           1\n";
        for cut in 0..text.len() {
            let mut p = Parser::new();
            p.feed(&text[..cut]).unwrap();
            p.feed(&text[cut..]).unwrap();
            let r = &p.finish().unwrap().regions[0];
            assert_eq!(
                (r.fields.pss, r.fields.thp_eligible),
                (1234, 1),
                "cut at {cut}"
            );
        }
        let bad_layout = [
            "Rss:                 1 2 kB\n",
            "Rss:                12x4 kB\n",
        ];
        for bad in bad_layout
            .into_iter()
            .chain(["Rss: 12 4 kB\n", "Rss:          kB\n"])
        {
            let text = format!("1000-2000 r--p 0 00:00 0\n{bad}");
            assert!(parse(text.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_utf8_in_a_name_becomes_question_marks() {
        let r = &parse(b"1000-2000 r--p 0 fe:00 1 /tmp/a\xff\xe2\x82b\n").unwrap()[0];
        assert_eq!(r.name, "/tmp/a???b");
    }

    #[test]
    fn unknown_fields_are_kept_and_bad_lines_are_errors() {
        let text = b"1000-2000 r--p 00000000 00:00 0 \nSize: 4 kB\nFancyNew:  7 kB\n";
        let r = &parse(text).unwrap()[0];
        assert_eq!(r.extra, vec![("FancyNew".to_string(), "7 kB".to_string())]);
        assert_eq!(r.kind, Kind::Anon);
        assert_eq!(parse(b"Size: 4 kB\n").unwrap_err().line, 1);
        assert_eq!(
            parse(b"1000-2000 r--p 0 00:00 0\nRss: x kB\n")
                .unwrap_err()
                .line,
            2
        );
        assert!(parse(b"2000-1000 r--p 0 00:00 0\n").is_err());
        assert!(parse(b"1000-2000 r--p 0 00:00 99999999999999999999999\n").is_err());
    }
}
