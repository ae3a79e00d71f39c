//! The smaps parser never panics, whatever it is fed: arbitrary bytes, and
//! real captures mutated (bytes flipped, lines cut, dropped, repeated or
//! truncated). Fields a newer kernel might add are kept, not rejected.

use pmap_view::{smaps, Snapshot};
use proptest::prelude::*;

fn fixture(step: usize) -> Vec<u8> {
    let path = format!(
        "{}/crates/pmap-view/tests/fixtures/heap-c-step{step}.smaps",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

/// One edit of a capture, at positions given as fractions of its length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: f64, byte: u8 },
    Truncate { at: f64 },
    DropLine { at: f64 },
    RepeatLine { at: f64 },
    Insert { at: f64, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        at.clone().prop_map(|at| Mutation::Truncate { at }),
        at.clone().prop_map(|at| Mutation::DropLine { at }),
        at.clone().prop_map(|at| Mutation::RepeatLine { at }),
        (at, proptest::collection::vec(any::<u8>(), 0..40))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
    ]
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let pos = |at: f64, len: usize| ((at * len as f64) as usize).min(len.saturating_sub(1));
    let line_bounds = |text: &[u8], i: usize| {
        let start = text[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let end = text[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| i + p + 1);
        (start, end)
    };
    if text.is_empty() {
        return;
    }
    match m {
        Mutation::Flip { at, byte } => {
            let i = pos(*at, text.len());
            text[i] = *byte;
        }
        Mutation::Truncate { at } => text.truncate(pos(*at, text.len())),
        Mutation::DropLine { at } => {
            let (s, e) = line_bounds(text, pos(*at, text.len()));
            text.drain(s..e);
        }
        Mutation::RepeatLine { at } => {
            let (s, e) = line_bounds(text, pos(*at, text.len()));
            let line = text[s..e].to_vec();
            text.splice(s..s, line);
        }
        Mutation::Insert { at, bytes } => {
            let i = pos(*at, text.len());
            text.splice(i..i, bytes.iter().copied());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = smaps::parse(&bytes);
    }

    #[test]
    fn arbitrary_text_lines_never_panic(lines in proptest::collection::vec("[0-9a-f:\\- A-Za-z_/\\[\\]]{0,60}", 0..30)) {
        let _ = smaps::parse(lines.join("\n").as_bytes());
    }

    #[test]
    fn mutated_real_captures_never_panic(step in 0usize..5, edits in proptest::collection::vec(mutation(), 1..8)) {
        let mut text = fixture(step);
        for m in &edits {
            apply(&mut text, m);
        }
        if let Ok(snap) = Snapshot::from_smaps(1, &text) {
            // Whatever parses is consistent: the totals are the regions' sums.
            let rss: u64 = snap.regions.iter().map(|r| r.fields.rss).sum();
            prop_assert_eq!(snap.totals.rss_kib, rss);
            prop_assert!(snap.regions.iter().all(|r| r.end >= r.start));
        }
    }

    /// A field a newer kernel adds, anywhere after a header, is kept verbatim.
    #[test]
    fn unknown_fields_are_kept(line in 0usize..400, value in 0u64..1_000_000) {
        let text = String::from_utf8(fixture(1)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let at = 1 + line % (lines.len() - 1);
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edited.insert(at, format!("FutureField:     {value} kB"));
        let ours = Snapshot::from_smaps(1, edited.join("\n").as_bytes()).unwrap();
        let plain = Snapshot::from_smaps(1, text.as_bytes()).unwrap();
        prop_assert_eq!(ours.totals, plain.totals);
        let kept: Vec<_> = ours.regions.iter().flat_map(|r| &r.extra).collect();
        prop_assert_eq!(kept.len(), 1);
        prop_assert_eq!(&kept[0].1, &format!("{value} kB"));
    }
}
