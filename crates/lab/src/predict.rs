//! `lab LAB --predict`: the student guesses each step's change of virtual size
//! and RSS before it happens; the truth is shown and the guess scored.
//!
//! A guess is two sizes: `+10M 0`, `-60M -10M`, `512K +4K`, `1.5G 0` (K, M, G
//! are KiB, MiB, GiB; a bare number is KiB). It counts as right when it gets
//! the lesson: a change under [`NOTHING`] is "nothing happened" and only a
//! guess of nothing matches it (malloc's header page is not RAM coming in);
//! any other change must be guessed with its sign and within 20% (at least
//! [`NOTHING`]) of its size. So `0` is never right for a leak of 1008 KiB,
//! and a guess that misses lazy allocation (RSS +10M for a malloc) is off.

/// A guess of one step's changes, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guess {
    pub virt_kib: i64,
    pub rss_kib: i64,
}

/// Parse `+10M`, `-60M`, `0`, `512K`, `1.5G`, `10MiB`.
pub fn parse_size(token: &str) -> Result<i64, String> {
    let t = token.trim();
    let bad = || format!("`{t}` is not a size: {FORMS}");
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, unit) = rest.split_at(split);
    let n: f64 = number.parse().map_err(|_| bad())?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "k" | "kib" | "kb" => 1.0,
        "m" | "mib" | "mb" => 1024.0,
        "g" | "gib" | "gb" => 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    Ok((sign * n * factor).round() as i64)
}

/// Parse a guess: virtual size change, then RSS change.
pub fn parse_guess(line: &str) -> Result<Guess, String> {
    let parts: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|p| !p.is_empty())
        .collect();
    match parts[..] {
        [virt, rss] => Ok(Guess {
            virt_kib: parse_size(virt)?,
            rss_kib: parse_size(rss)?,
        }),
        _ => Err(format!(
            "give two sizes, the change of virtual size, then of RSS: {FORMS}"
        )),
    }
}

/// The forms a size may take, for messages.
pub const FORMS: &str =
    "each like +2M, -512K, 0 or 1.5G (K, M, G are KiB, MiB, GiB; a bare number is KiB)";

/// A change smaller than this (KiB) is "nothing happened": a header page, a
/// page of the stack, not the step's lesson.
pub const NOTHING: i64 = 256;

/// Does `guess` get the lesson of `truth`?
pub fn close_enough(guess: i64, truth: i64) -> bool {
    if truth.abs() < NOTHING {
        return guess.abs() < NOTHING;
    }
    let tolerance = (truth.abs() / 5).max(NOTHING);
    guess.signum() == truth.signum() && (guess - truth).abs() <= tolerance
}

/// The verdict line for one step, and whether both guesses were right.
pub fn judge(guess: Guess, truth_virt: i64, truth_rss: i64) -> (String, bool) {
    let mark = |ok: bool| if ok { "right" } else { "off" };
    let (v, r) = (
        close_enough(guess.virt_kib, truth_virt),
        close_enough(guess.rss_kib, truth_rss),
    );
    let line = format!(
        "your guess: virtual {:+} KiB ({}), RSS {:+} KiB ({}); truth: virtual {truth_virt:+} KiB, RSS {truth_rss:+} KiB",
        guess.virt_kib,
        mark(v),
        guess.rss_kib,
        mark(r)
    );
    (line, v && r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_guesses() {
        assert_eq!(parse_size("+10M"), Ok(10240));
        assert_eq!(parse_size("-60M"), Ok(-61440));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512K"), Ok(512));
        assert_eq!(parse_size("1.5G"), Ok(1572864));
        assert_eq!(parse_size("10MiB"), Ok(10240));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("10X").is_err());
        assert_eq!(
            parse_guess("+10M 0"),
            Ok(Guess {
                virt_kib: 10240,
                rss_kib: 0
            })
        );
        assert_eq!(
            parse_guess("+10M, +4K"),
            Ok(Guess {
                virt_kib: 10240,
                rss_kib: 4
            })
        );
        assert!(parse_guess("+10M").is_err());
    }

    #[test]
    fn scoring_tolerates_headers_not_mechanisms() {
        assert!(close_enough(10240, 10244)); // the malloc header page
        assert!(close_enough(0, 4)); // one page of RSS
        assert!(!close_enough(0, 10240)); // "RSS grows by 10 MiB": the lazy-allocation lesson missed
        assert!(close_enough(-61440, -61448));
        assert!(!close_enough(10240, 51204));
        // A leak of 1008 KiB: "nothing" misses it, 1M gets it, 2M is off.
        assert!(!close_enough(0, 1008));
        assert!(close_enough(1024, 1008));
        assert!(!close_enough(2048, 1008));
        // The sign is the lesson too: -1M is not +1M.
        assert!(!close_enough(-1024, 1008));
        assert!(!close_enough(512, 4)); // half a MiB is not "nothing"
        let (line, ok) = judge(
            Guess {
                virt_kib: 10240,
                rss_kib: 10240,
            },
            10244,
            4,
        );
        assert!(!ok && line.contains("RSS +10240 KiB (off)"), "{line}");
    }
}
