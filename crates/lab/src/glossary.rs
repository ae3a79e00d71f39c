//! The glossary: `lab glossary [TERM]` and the `g` key at a pause.
//!
//! The entries are data, not code: `docs/glossary.md` (readable on its own,
//! and linked from the README) is compiled into the binary, so the installed
//! `lab` has it anywhere. Each entry is a `## NAME` heading, an optional
//! `<!-- also: a, b -->` line of other names to find it by, and its text.

/// The glossary's source, embedded.
const SOURCE: &str = include_str!("../../../docs/glossary.md");

/// One entry of the glossary.
#[derive(Debug)]
pub struct Entry {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    /// Paragraphs, each as written (wrapped when shown).
    pub paragraphs: Vec<String>,
}

/// Every entry, in the file's order.
pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for section in SOURCE.split("\n## ").skip(1) {
        let (name, body) = section.split_once('\n').unwrap_or((section, ""));
        let mut aliases = Vec::new();
        let mut text = String::new();
        for line in body.lines() {
            if let Some(also) = line
                .trim()
                .strip_prefix("<!-- also:")
                .and_then(|l| l.strip_suffix("-->"))
            {
                aliases.extend(also.split(',').map(str::trim).filter(|a| !a.is_empty()));
            } else {
                text.push_str(line);
                text.push('\n');
            }
        }
        let paragraphs = text
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        out.push(Entry {
            name: name.trim(),
            aliases,
            paragraphs,
        });
    }
    out
}

/// The entry named `term` (its name or one of its other names, in any case).
pub fn find(term: &str) -> Option<Entry> {
    let wanted = term.trim().to_lowercase();
    entries().into_iter().find(|e| {
        e.name.to_lowercase() == wanted || e.aliases.iter().any(|a| a.to_lowercase() == wanted)
    })
}

/// One entry as text: its name, then its paragraphs wrapped to `width`.
pub fn render(entry: &Entry, width: usize) -> String {
    let mut out = format!("{}\n", entry.name);
    let body: Vec<String> = entry
        .paragraphs
        .iter()
        .map(|p| observer::views::render::wrap_to(p, "  ", width))
        .collect();
    out.push_str(&body.join("\n\n"));
    out.push('\n');
    out
}

/// The whole glossary as text, `width` columns wide.
pub fn render_all(width: usize) -> String {
    let all = entries();
    let names: Vec<&str> = all.iter().map(|e| e.name).collect();
    let mut out = observer::views::render::wrap_to(
        &format!(
            "Glossary ({}). `lab glossary TERM` shows one entry.",
            names.join(", ")
        ),
        "",
        width,
    );
    out.push('\n');
    for e in &all {
        out.push('\n');
        out.push_str(&render(e, width));
    }
    out
}

/// The names to suggest when a term is not found.
pub fn names() -> Vec<&'static str> {
    entries().iter().map(|e| e.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_the_labs_use_has_an_entry() {
        for term in [
            "RSS",
            "PSS",
            "USS",
            "Dirty",
            "VMA",
            "Mode",
            "rw-p",
            "anonymous",
            "file-backed",
            "fault-around",
            "zero page",
            "THP",
            "arena",
            "tcache",
            "fastbins",
        ] {
            let e = find(term).unwrap_or_else(|| panic!("no entry for {term}"));
            assert!(!e.paragraphs.is_empty(), "{term} has no text");
        }
    }

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in entries() {
            for n in std::iter::once(e.name).chain(e.aliases.iter().copied()) {
                assert!(seen.insert(n.to_lowercase()), "{n} names two entries");
            }
        }
    }

    #[test]
    fn no_markup_of_the_file_leaks_into_the_text() {
        for e in entries() {
            for p in &e.paragraphs {
                assert!(
                    !p.contains("<!--") && !p.starts_with('#'),
                    "{}: {p}",
                    e.name
                );
            }
        }
    }
}
