//! Parser for the text of `/proc/PID/smaps`, with no I/O.
//!
//! The format (proc(5)): a header line per mapping, as in `/proc/PID/maps`,
//! followed by `Key:   value kB` lines and a final `VmFlags:` line. The parser
//! takes bytes, not `&str`: a pathname may hold any bytes but NUL and newline.
//! It never panics on any input; a malformed line is an error naming its line.

use crate::region::{Fields, Kind, Region};

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
    let mut regions: Vec<Region> = Vec::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let err = |what| ParseError {
            line: index + 1,
            what,
        };
        if line.is_empty() {
            continue;
        }
        if is_header(line) {
            regions.push(parse_header(line).map_err(err)?);
            continue;
        }
        let region = regions
            .last_mut()
            .ok_or(err("field before any mapping header"))?;
        parse_field(region, line).map_err(err)?;
    }
    Ok(regions)
}

/// Header lines start with a lowercase hex address; field keys start with a capital.
fn is_header(line: &[u8]) -> bool {
    matches!(line[0], b'0'..=b'9' | b'a'..=b'f')
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
    let name = String::from_utf8_lossy(&rest[name_start..]).into_owned();
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

fn parse_field(region: &mut Region, line: &[u8]) -> Result<(), &'static str> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or("field without ':'")?;
    let (key, value) = (&line[..colon], &line[colon + 1..]);
    if key == b"VmFlags" {
        region.vm_flags = String::from_utf8_lossy(value).trim().to_string();
        return Ok(());
    }
    let Some(slot) = field_slot(&mut region.fields, key) else {
        // A field from a newer kernel: keep it verbatim rather than reject the capture.
        region.extra.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).trim().to_string(),
        ));
        return Ok(());
    };
    let mut digits = value.trim_ascii_start();
    *slot = take_dec(&mut digits).ok_or("bad number")?;
    match digits.trim_ascii() {
        b"" | b"kB" => Ok(()),
        _ => Err("unexpected unit"),
    }
}

fn field_slot<'a>(f: &'a mut Fields, key: &[u8]) -> Option<&'a mut u64> {
    Some(match key {
        b"Size" => &mut f.size,
        b"KernelPageSize" => &mut f.kernel_page_size,
        b"MMUPageSize" => &mut f.mmu_page_size,
        b"Rss" => &mut f.rss,
        b"Pss" => &mut f.pss,
        b"Pss_Dirty" => &mut f.pss_dirty,
        b"Pss_Anon" => &mut f.pss_anon,
        b"Pss_File" => &mut f.pss_file,
        b"Pss_Shmem" => &mut f.pss_shmem,
        b"Shared_Clean" => &mut f.shared_clean,
        b"Shared_Dirty" => &mut f.shared_dirty,
        b"Private_Clean" => &mut f.private_clean,
        b"Private_Dirty" => &mut f.private_dirty,
        b"Referenced" => &mut f.referenced,
        b"Anonymous" => &mut f.anonymous,
        b"KSM" => &mut f.ksm,
        b"LazyFree" => &mut f.lazy_free,
        b"AnonHugePages" => &mut f.anon_huge_pages,
        b"ShmemPmdMapped" => &mut f.shmem_pmd_mapped,
        b"FilePmdMapped" => &mut f.file_pmd_mapped,
        b"Shared_Hugetlb" => &mut f.shared_hugetlb,
        b"Private_Hugetlb" => &mut f.private_hugetlb,
        b"Swap" => &mut f.swap,
        b"SwapPss" => &mut f.swap_pss,
        b"Locked" => &mut f.locked,
        b"THPeligible" => &mut f.thp_eligible,
        b"ProtectionKey" => &mut f.protection_key,
        _ => return None,
    })
}

/// Parse lowercase/uppercase hex up to `stop` (consumed). None on overflow or no digits.
fn take_hex(rest: &mut &[u8], stop: u8) -> Option<u64> {
    let end = rest.iter().position(|&b| b == stop)?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value = 0u64;
    for &b in digits {
        let d = (b as char).to_digit(16)?;
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
    for &b in &rest[..end] {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
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
