//! Text renderings of regions in the layout of procps-ng `pmap -x`.
//!
//! Renderers return strings or write to any `io::Write`; they never print.
//! Mappings are named as the kernel names them (`[heap]`, `[stack]`, `[vdso]`)
//! where procps writes a blanket `[ anon ]`.

use crate::region::Region;
use crate::snapshot::Totals;

/// The column header of `pmap -x`.
pub const X_HEADER: &str = "Address           Kbytes     RSS   Dirty Mode  Mapping";
/// The rule above the total line of `pmap -x`.
pub const X_RULE: &str = "---------------- ------- ------- ------- ";

/// pmap's five-character mode: `rwx`, then `s` for a shared mapping, then `-`.
pub fn mode(region: &Region) -> String {
    // procps's rule lives in one place: the `lab pmap` writer's.
    String::from_utf8_lossy(&crate::pmap::mode(region.perms)).into_owned()
}

/// One `pmap -x` row: address, Kbytes, RSS, Dirty, mode, mapping.
pub fn x_row(region: &Region) -> String {
    format!(
        "{:016x} {:>7} {:>7} {:>7} {} {}",
        region.start,
        region.fields.size,
        region.fields.rss,
        region.fields.dirty(),
        mode(region),
        region.label()
    )
}

/// The `total kB` line of `pmap -x`.
pub fn x_total(totals: &Totals) -> String {
    format!(
        "total kB         {:>7} {:>7} {:>7}",
        totals.size_kib, totals.rss_kib, totals.dirty_kib
    )
}

/// A whole `pmap -x` body (header, rows, rule, total) for a list of regions.
pub fn write_x<'a>(
    out: &mut impl std::io::Write,
    regions: impl IntoIterator<Item = &'a Region>,
    totals: &Totals,
) -> std::io::Result<()> {
    writeln!(out, "{X_HEADER}")?;
    for r in regions {
        writeln!(out, "{}", x_row(r))?;
    }
    writeln!(out, "{X_RULE}")?;
    writeln!(out, "{}", x_total(totals))
}

/// A signed KiB amount as a person reads it: `+10.0 MiB`, `-4 KiB`, `0`.
pub fn signed_size(kib: i64) -> String {
    if kib == 0 {
        return "0".to_string();
    }
    let sign = if kib > 0 { '+' } else { '-' };
    format!("{sign}{}", size(kib.unsigned_abs()))
}

/// A KiB amount as a person reads it: KiB below 1 MiB, else MiB with one decimal.
pub fn size(kib: u64) -> String {
    if kib < 1024 {
        format!("{kib} KiB")
    } else if kib < 1024 * 1024 {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    } else {
        format!("{:.2} GiB", kib as f64 / (1024.0 * 1024.0))
    }
}
