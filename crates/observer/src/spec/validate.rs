//! Every mistake in a lab.toml, each with its line and column: what `lab
//! validate` reports before running the demos, and why a lab of one's own is
//! refused at load. The file is read twice: as a document with the place of
//! every key and value (toml_edit), to find unknown keys, values of the
//! wrong type, missing keys and where each value is; then as the lab's data
//! (with those keys left out), to check what the values say: measures, size
//! expressions, bounds, facts, placeholders, the demos.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, TableLike, Value};

use crate::measure::machine::{Facts, NAMES};
use crate::spec::check::{size_expr, Check, SpecError};
use crate::spec::lab::{step_source, Impl, LabSpec, BUILT_IN};

/// One mistake: where (1-based line and column; None: the file as a whole)
/// and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Problem {
    /// `FILE:LINE:COL: message`.
    pub fn at(&self, file: &str) -> String {
        format!("{file}:{}:{}: {}", self.line, self.column, self.message)
    }
}

const LAB_KEYS: &[(&str, Shape, bool)] = &[
    ("name", Shape::Text, true),
    ("summary", Shape::Text, true),
    ("demos", Shape::TextMap, true),
    ("intro", Shape::Text, true),
    ("snapshot_resolution", Shape::Text, false),
    ("cache_file", Shape::Text, false),
    ("machine", Shape::TextList, false),
    ("memory", Shape::Text, false),
    ("commit", Shape::Text, false),
    ("requires", Shape::ListMap, false),
    ("exercise", Shape::TextMap, false),
    ("steps", Shape::Tables, true),
];

const STEP_KEYS: &[(&str, Shape, bool)] = &[
    ("title", Shape::Text, true),
    ("annotation", Shape::Text, true),
    ("hint", Shape::Text, false),
    ("impl_notes", Shape::TextMap, false),
    ("notes", Shape::Tables, false),
    ("checks", Shape::Tables, false),
];

const CHECK_KEYS: &[(&str, Shape, bool)] = &[
    ("id", Shape::Text, true),
    ("expect", Shape::Text, true),
    ("measure", Shape::Text, true),
    ("since", Shape::Text, false),
    ("min", Shape::Text, false),
    ("max", Shape::Text, false),
    ("equals", Shape::Text, false),
    ("tolerance", Shape::Text, false),
    ("hint", Shape::Text, false),
    ("impl", Shape::Text, false),
    ("when", Shape::ListMap, false),
    ("requires", Shape::ListMap, false),
];

/// The type a key's value must have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    TextList,
    /// A table of texts (`demos`, `impl_notes`).
    TextMap,
    /// A table of lists of texts (`requires`, `when`).
    ListMap,
    /// An array of tables (`[[steps]]`, `[[steps.checks]]`).
    Tables,
}

impl Shape {
    fn words(self) -> &'static str {
        match self {
            Shape::Text => "a string",
            Shape::TextList => "a list of strings",
            Shape::TextMap => "a table of strings",
            Shape::ListMap => "a table of lists of strings (`{ fact = [\"value\"] }`)",
            Shape::Tables => "an array of tables",
        }
    }

    fn fits(self, item: &Item) -> bool {
        let texts = |v: &Value| {
            v.as_array()
                .is_some_and(|a| a.iter().all(|x| x.as_str().is_some()))
        };
        match self {
            Shape::Text => item.as_str().is_some(),
            Shape::TextList => item.as_value().is_some_and(texts),
            Shape::TextMap => item
                .as_table_like()
                .is_some_and(|t| t.iter().all(|(_, v)| v.as_str().is_some())),
            Shape::ListMap => item
                .as_table_like()
                .is_some_and(|t| t.iter().all(|(_, v)| v.as_value().is_some_and(texts))),
            Shape::Tables => {
                item.as_array_of_tables().is_some()
                    || item
                        .as_array()
                        .is_some_and(|a| a.iter().all(|v| v.as_inline_table().is_some()))
            }
        }
    }
}

/// Where a table is: `[]` the top, `[i]` step i, `[i, j]` check j of step i.
type TablePath = Vec<usize>;

/// The i-th table of an array of tables (either way of writing it) and its place.
fn nth(item: &Item, i: usize) -> Option<(&dyn TableLike, Option<Range<usize>>)> {
    if let Some(a) = item.as_array_of_tables() {
        return a.get(i).map(|t| (t as &dyn TableLike, t.span()));
    }
    let v = item.as_array()?.get(i)?;
    let t = v.as_inline_table()?;
    Some((t as &dyn TableLike, t.span()))
}

fn nth_mut(item: &mut Item, i: usize) -> Option<&mut dyn TableLike> {
    match item {
        Item::ArrayOfTables(a) => a.get_mut(i).map(|t| t as &mut dyn TableLike),
        Item::Value(Value::Array(a)) => a
            .get_mut(i)
            .and_then(Value::as_inline_table_mut)
            .map(|t| t as &mut dyn TableLike),
        _ => None,
    }
}

fn count(item: &Item) -> usize {
    item.as_array_of_tables()
        .map(|a| a.len())
        .or_else(|| item.as_array().map(|a| a.len()))
        .unwrap_or(0)
}

struct Linter<'a> {
    text: &'a str,
    doc: toml_edit::ImDocument<&'a str>,
    problems: Vec<(usize, String)>,
}

impl<'a> Linter<'a> {
    fn report(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        self.problems
            .push((span.map_or(0, |s| s.start), message.into()));
    }

    /// The table at `path` and the place of its header (or first key).
    fn table(&self, path: &[usize]) -> Option<(&dyn TableLike, Option<Range<usize>>)> {
        let top: &dyn TableLike = self.doc.as_table();
        match path {
            [] => Some((top, Some(0..0))),
            [i] => nth(top.get("steps")?, *i),
            [i, j] => nth(nth(top.get("steps")?, *i)?.0.get("checks")?, *j),
            _ => None,
        }
    }

    /// The place of `key`'s value in the table at `path`, else of the table.
    fn value_span(&self, path: &[usize], key: &str) -> Option<Range<usize>> {
        let (t, header) = self.table(path)?;
        t.get(key).and_then(Item::span).or(header)
    }

    fn key_span(&self, path: &[usize], key: &str) -> Option<Range<usize>> {
        let (t, header) = self.table(path)?;
        t.key(key).and_then(|k| k.span()).or(header)
    }

    /// Unknown keys, values of the wrong type and missing keys of the table
    /// at `path`; the keys to leave out before reading the data.
    fn shapes(&mut self, path: &[usize], keys: &[(&str, Shape, bool)], what: &str) -> Vec<String> {
        let Some((table, header)) = self.table(path) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut drop = Vec::new();
        for (key, item) in table.iter() {
            let span = table.key(key).and_then(|k| k.span());
            match keys.iter().find(|(k, _, _)| *k == key) {
                None => {
                    let known: Vec<&str> = keys.iter().map(|(k, _, _)| *k).collect();
                    found.push((
                        span,
                        format!(
                            "unknown key `{key}` in {what} (its keys: {})",
                            known.join(", ")
                        ),
                    ));
                    drop.push(key.to_string());
                }
                Some((_, shape, _)) if !shape.fits(item) => {
                    found.push((
                        item.span().or(span),
                        format!("`{key}` must be {}", shape.words()),
                    ));
                    drop.push(key.to_string());
                }
                Some(_) => {}
            }
        }
        for (key, _, required) in keys {
            if *required && !table.contains_key(key) {
                found.push((header.clone(), format!("{what} has no `{key}`")));
            }
        }
        for (span, message) in found {
            self.report(span, message);
        }
        drop
    }
}

/// Every mistake of the lab.toml `text`, in the order of the file; and the
/// lab's data when it could be read. `dir`: the lab's folder, whose name the
/// lab must have (None: not checked); `file` reads a demo file by name.
pub fn lint(
    text: &str,
    dir: Option<&Path>,
    file: &dyn Fn(&str) -> Option<String>,
) -> (Option<LabSpec>, Vec<Problem>) {
    let doc = match toml_edit::ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let problem = locate(text, e.span().map_or(0, |s| s.start), e.message().trim());
            return (None, vec![problem]);
        }
    };
    let mut l = Linter {
        text,
        doc,
        problems: Vec::new(),
    };
    // The keys and types, table by table; the bad keys are left out of the
    // copy the data is read from, so that every other mistake shows too.
    let mut leave_out: Vec<(TablePath, String)> = Vec::new();
    for key in l.shapes(&[], LAB_KEYS, "the lab") {
        leave_out.push((vec![], key));
    }
    let steps = l.doc.get("steps").map_or(0, count);
    for i in 0..steps {
        for key in l.shapes(&[i], STEP_KEYS, &format!("step {i}")) {
            leave_out.push((vec![i], key));
        }
        let checks = l
            .table(&[i])
            .and_then(|(t, _)| t.get("checks").map(count))
            .unwrap_or(0);
        for j in 0..checks {
            for key in l.shapes(&[i, j], CHECK_KEYS, &format!("check {} of step {i}", j + 1)) {
                leave_out.push((vec![i, j], key));
            }
        }
    }
    // Text the lab shows on a terminal must not command it.
    let mut hidden = Vec::new();
    unsafe_strings_in(l.doc.as_table(), &mut hidden);
    for (span, c) in hidden {
        l.report(
            span,
            format!(
                "a string holds U+{:04X}, a control or invisible character (lab shows the \
                 lab's text on a terminal: write it as it should read)",
                c as u32
            ),
        );
    }
    let mut copy: toml_edit::DocumentMut = l.doc.clone().into_mut();
    for (path, key) in &leave_out {
        let table: Option<&mut dyn TableLike> = match path.as_slice() {
            [] => Some(copy.as_table_mut()),
            [i] => copy.get_mut("steps").and_then(|s| nth_mut(s, *i)),
            [i, j] => copy
                .get_mut("steps")
                .and_then(|s| nth_mut(s, *i))
                .and_then(|t| t.get_mut("checks"))
                .and_then(|c| nth_mut(c, *j)),
            _ => None,
        };
        if let Some(t) = table {
            t.remove(key);
        }
    }
    let spec = match toml::from_str::<LabSpec>(&copy.to_string()) {
        Ok(spec) => Some(spec),
        Err(e) if l.problems.is_empty() => {
            // Not expected (the shapes were checked): the reader's own words.
            let at = e.span().map_or(0, |s| s.start);
            l.problems.push((at, e.message().trim().to_string()));
            None
        }
        Err(_) => None,
    };
    if let Some(spec) = &spec {
        meaning(&mut l, spec, dir, file);
    }
    let mut problems: Vec<(usize, String)> = l.problems;
    problems.sort_by_key(|(at, _)| *at);
    let problems = problems
        .into_iter()
        .map(|(at, m)| locate(text, at, &m))
        .collect();
    (spec, problems)
}

/// Every string value of `table` (nested ones included) that holds a
/// character of [`pmap_view::region::is_unsafe_char`] other than a line
/// break or a tab, with the first such character.
fn unsafe_strings_in(table: &dyn TableLike, out: &mut Vec<(Option<Range<usize>>, char)>) {
    fn value(v: &Value, out: &mut Vec<(Option<Range<usize>>, char)>) {
        match v {
            Value::String(text) => {
                if let Some(c) = text
                    .value()
                    .chars()
                    .find(|&c| c != '\n' && c != '\t' && pmap_view::region::is_unsafe_char(c))
                {
                    out.push((v.span(), c));
                }
            }
            Value::Array(a) => a.iter().for_each(|v| value(v, out)),
            Value::InlineTable(t) => unsafe_strings_in(t, out),
            _ => {}
        }
    }
    for (_, item) in table.iter() {
        match item {
            Item::Value(v) => value(v, out),
            Item::Table(t) => unsafe_strings_in(t, out),
            Item::ArrayOfTables(a) => a.iter().for_each(|t| unsafe_strings_in(t, out)),
            Item::None => {}
        }
    }
}

/// Where `demos.IMP` is written in the lab.toml `text` (its value), for
/// messages about that demo; 1:1 when it cannot be found.
pub fn demo_place(text: &str, imp: &str) -> (usize, usize) {
    let at = toml_edit::ImDocument::parse(text)
        .ok()
        .and_then(|doc| {
            let demos = doc.get("demos")?.as_table_like()?;
            demos
                .get(imp)
                .and_then(Item::span)
                .or_else(|| doc.get("demos")?.span())
        })
        .map_or(0, |s| s.start);
    let p = locate(text, at, "");
    (p.line, p.column)
}

/// Where the check `id` of step `step` is written in the lab.toml `text`
/// (its `id` value), for messages about that check; 1:1 when it cannot be
/// found.
pub fn check_place(text: &str, step: usize, id: &str) -> (usize, usize) {
    let at = toml_edit::ImDocument::parse(text)
        .ok()
        .and_then(|doc| {
            let checks = doc
                .get("steps")?
                .as_array_of_tables()?
                .get(step)?
                .get("checks")?
                .as_array_of_tables()?;
            checks
                .iter()
                .find(|c| c.get("id").and_then(Item::as_str) == Some(id))?
                .get("id")?
                .span()
        })
        .map_or(0, |s| s.start);
    let p = locate(text, at, "");
    (p.line, p.column)
}

/// A byte offset of `text` as a 1-based line and column (in characters).
fn locate(text: &str, at: usize, message: &str) -> Problem {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Problem {
        line,
        column,
        message: message.to_string(),
    }
}

/// The checks of what the values say.
fn meaning(
    l: &mut Linter,
    spec: &LabSpec,
    dir: Option<&Path>,
    file: &dyn Fn(&str) -> Option<String>,
) {
    let facts = Facts::of_machine(None);
    let name_ok = !spec.name.is_empty()
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !spec.name.starts_with('-');
    if !name_ok {
        l.report(
            l.value_span(&[], "name"),
            format!(
                "the name `{}` must be lowercase letters, digits, - and _ (it names files and a command)",
                spec.name
            ),
        );
    } else if let Some(folder) = dir
        .and_then(|d| d.canonicalize().ok())
        .and_then(|d| d.file_name().map(|f| f.to_string_lossy().into_owned()))
    {
        if folder != spec.name {
            l.report(
                l.value_span(&[], "name"),
                format!(
                    "the lab is named `{}` but its folder `{folder}`: name them alike",
                    spec.name
                ),
            );
        }
    }
    // The demos.
    if spec.demos.is_empty() {
        l.report(
            l.value_span(&[], "demos"),
            "no demo: `demos = { c = \"NAME.c\" }` or `{ python = \"NAME.py\" }`",
        );
    }
    let demos_at = |l: &Linter, imp: &str| {
        l.table(&[])
            .and_then(|(t, _)| t.get("demos"))
            .and_then(Item::as_table_like)
            .and_then(|d| d.get(imp))
            .and_then(Item::span)
            .or_else(|| l.value_span(&[], "demos"))
    };
    let mut sources: Vec<(String, String, Option<Range<usize>>)> = Vec::new();
    for (imp, name) in &spec.demos {
        let at = demos_at(l, imp);
        match imp.parse::<Impl>() {
            Err(e) => l.report(at, format!("demos: {e}")),
            Ok(Impl::Rust) => {
                if name != BUILT_IN || workloads::find(&spec.name).is_none() {
                    l.report(
                        at,
                        format!(
                            "demos.rust: only the built-in labs have a Rust port (`rust = \"{BUILT_IN}\"`); \
                             a lab of your own has a C or Python demo"
                        ),
                    );
                }
            }
            Ok(_) => match file(name) {
                Some(source) => sources.push((imp.clone(), source, at)),
                None => l.report(
                    at,
                    format!("demos.{imp}: no file `{name}` beside the lab.toml"),
                ),
            },
        }
    }
    for key in ["snapshot_resolution", "memory", "commit"] {
        let value = match key {
            "memory" => &spec.memory,
            "commit" => &spec.commit,
            _ => &spec.snapshot_resolution,
        };
        if let Some(e) = value.as_deref().and_then(|v| size_expr(v, &facts).err()) {
            l.report(l.value_span(&[], key), size_message(&e.0));
        }
    }
    for fact in &spec.machine {
        if !known_fact(fact) {
            l.report(l.value_span(&[], "machine"), unknown_fact(fact));
        }
    }
    facts_of(l, &[], "requires", &spec.requires);
    if spec.steps.is_empty() {
        l.report(l.value_span(&[], "steps"), "a lab needs at least one step");
    }
    let mut ids = BTreeSet::new();
    for (i, step) in spec.steps.iter().enumerate() {
        placeholders(l, &[i], "annotation", &step.annotation);
        for (imp, note) in &step.impl_notes {
            let at = l
                .table(&[i])
                .and_then(|(t, _)| t.get("impl_notes"))
                .and_then(Item::as_table_like)
                .and_then(|n| n.key(imp))
                .and_then(|k| k.span())
                .or_else(|| l.key_span(&[i], "impl_notes"));
            match imp.parse::<Impl>() {
                Ok(imp) if spec.demos.contains_key(imp.as_str()) => {
                    placeholders(l, &[i], "impl_notes", note)
                }
                Ok(imp) => l.report(at, format!("impl_notes.{imp}: the lab has no {imp} demo")),
                Err(e) => l.report(at, format!("impl_notes: {e}")),
            }
        }
        // A note of facts: its facts and its implementation exist, and its
        // placeholders name values (reported at the step's `notes`).
        for note in &step.notes {
            let at = l.key_span(&[i], "notes");
            for fact in note.when.keys().filter(|f| !known_fact(f)) {
                l.report(at.clone(), format!("notes: {}", unknown_fact(fact)));
            }
            if let Some(only) = &note.only_for {
                match only.parse::<Impl>() {
                    Ok(imp) if spec.demos.contains_key(imp.as_str()) => {}
                    Ok(imp) => l.report(
                        at.clone(),
                        format!("notes: impl: the lab has no {imp} demo"),
                    ),
                    Err(e) => l.report(at.clone(), format!("notes: impl: {e}")),
                }
            }
            placeholders(l, &[i], "notes", &note.text);
        }
        for (j, c) in step.checks.iter().enumerate() {
            let path = [i, j];
            if !ids.insert(c.id.clone()) {
                l.report(
                    l.value_span(&path, "id"),
                    format!("a second check with the id `{}`", c.id),
                );
            }
            if let Some(only) = &c.only_for {
                match only.parse::<Impl>() {
                    Ok(imp) if spec.demos.contains_key(imp.as_str()) => {}
                    Ok(imp) => l.report(
                        l.value_span(&path, "impl"),
                        format!("impl: the lab has no {imp} demo"),
                    ),
                    Err(e) => l.report(l.value_span(&path, "impl"), format!("impl: {e}")),
                }
            }
            facts_of(l, &path, "when", &c.when);
            facts_of(l, &path, "requires", &c.requires);
            check(l, &path, c, &facts);
        }
    }
    // Each step of a file demo starts at a `step N:` comment: the lab shows
    // the lines from it as what the program just did.
    for (imp, source, at) in sources {
        let missing: Vec<String> = (1..spec.steps.len())
            .filter(|&n| step_source(&source, n).is_empty())
            .map(|n| n.to_string())
            .collect();
        if !missing.is_empty() {
            l.report(
                at,
                format!(
                    "demos.{imp}: no `step N:` comment for step{} {} (the lab shows the lines \
                     from it to the next blank line as what the program just did)",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
            );
        }
    }
}

/// A check's measure, bounds, since and tolerance.
fn check(l: &mut Linter, path: &[usize], c: &crate::spec::lab::CheckSpec, facts: &Facts) {
    // The bounds first, each on its own: a bad measure does not hide them.
    for (key, value) in [("min", &c.min), ("max", &c.max)] {
        if let Some(e) = value.as_deref().and_then(|v| size_expr(v, facts).err()) {
            l.report(l.value_span(path, key), size_message(&e.0));
        }
    }
    match Check::compile(c, facts).err() {
        None | Some(SpecError::Size(_)) => {}
        Some(SpecError::UnknownSince(s)) => l.report(
            l.value_span(path, "since"),
            format!("unknown since `{s}` (previous, start or none)"),
        ),
        Some(e @ SpecError::SinceOfOneRegion) => {
            l.report(l.value_span(path, "since"), e.to_string())
        }
        Some(SpecError::TextBounds) => l.report(
            l.table(path).and_then(|t| t.1),
            format!(
                "check `{}`: a text measure needs `equals` (and no min or max)",
                c.id
            ),
        ),
        Some(SpecError::NumericBounds) if c.min.is_none() && c.max.is_none() => l.report(
            l.table(path).and_then(|t| t.1),
            format!("check `{}` has no bound: give `min`, `max` or both", c.id),
        ),
        Some(SpecError::NumericBounds) => l.report(
            l.value_span(path, "equals"),
            format!(
                "check `{}`: a numeric measure takes `min` and `max`, not `equals`",
                c.id
            ),
        ),
        Some(e) => l.report(
            l.value_span(path, "measure"),
            format!(
                "unknown measure `{}`: {e} (docs/writing-labs.md lists the measures)",
                c.measure
            ),
        ),
    }
    // A range with nothing in it: the check could never hold (on this
    // machine, for bounds that depend on its facts).
    if let (Some(min), Some(max)) = (&c.min, &c.max) {
        if let (Ok(lo), Ok(hi)) = (size_expr(min, facts), size_expr(max, facts)) {
            if lo > hi {
                let sizes = [min, max]
                    .iter()
                    .any(|e| e.contains("iB") || e.contains("page") || e.contains("stack"));
                let unit = if sizes { " KiB" } else { "" };
                l.report(
                    l.value_span(path, "max"),
                    format!(
                        "check `{}`: the range is empty: min `{min}` ({lo}{unit} here) is above \
                         max `{max}` ({hi}{unit}), so the check can never hold",
                        c.id
                    ),
                );
            }
        }
    }
    let ranged = match (&c.min, &c.max) {
        (Some(a), Some(b)) => a != b,
        (None, None) => false,
        _ => true,
    };
    if ranged && c.tolerance.as_deref().is_none_or(|t| t.trim().is_empty()) {
        l.report(
            l.table(path).and_then(|t| t.1),
            format!(
                "check `{}` allows a range but says not why: add `tolerance` (page rounding, \
                 a header, what varies between runs)",
                c.id
            ),
        );
    }
}

fn size_message(expr: &str) -> String {
    format!(
        "bad size expression `{expr}` (numbers, KiB, MiB, GiB, page(s), stack(s), and the \
         counts cpus, new_arenas, cached_stacks, guard, joined by + - *)"
    )
}

fn known_fact(fact: &str) -> bool {
    NAMES.iter().any(|(n, _)| *n == fact)
}

fn unknown_fact(fact: &str) -> String {
    let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
    format!(
        "unknown machine fact `{fact}` (the facts: {})",
        names.join(", ")
    )
}

fn facts_of(l: &mut Linter, path: &[usize], key: &str, map: &BTreeMap<String, Vec<String>>) {
    for fact in map.keys() {
        if !known_fact(fact) {
            let at = l
                .table(path)
                .and_then(|(t, _)| t.get(key))
                .and_then(Item::as_table_like)
                .and_then(|m| m.key(fact))
                .and_then(|k| k.span())
                .or_else(|| l.value_span(path, key));
            l.report(at, unknown_fact(fact));
        }
    }
}

/// `{SCOPE.FIELD}` placeholders of a text that name no value.
fn placeholders(l: &mut Linter, path: &[usize], key: &str, text: &str) {
    let mut snap = pmap_view::Snapshot::from_smaps(0, b"").expect("empty smaps parses");
    snap.page_tables_kib = Some(0);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        let looks_like = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':'));
        if !looks_like || crate::spec::check::value_on(name, &snap).is_some() {
            continue;
        }
        let span = l.value_span(path, key);
        let at = span.map(|s| {
            let raw = &l.text[s.clone()];
            let off = raw.find(&format!("{{{name}}}")).unwrap_or(0);
            s.start + off..s.start + off + 1
        });
        l.report(
            at,
            format!(
                "no placeholder `{{{name}}}`: placeholders are {{SCOPE.FIELD}} with a scope of \
                 total, a region kind (heap, stack, anon, file…) or process, and a numeric field \
                 (size, rss, pss, dirty, swap, anonymous, anon_huge_pages, count, uss, page_tables)"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        let files =
            |name: &str| (name == "x.c").then(|| "int main(){}\n/* step 1: a */\nx;\n".to_string());
        lint(text, None, &files)
            .1
            .iter()
            .map(|p| p.at("lab.toml"))
            .collect()
    }

    const GOOD: &str = r#"name = "x"
summary = "s"
demos = { c = "x.c" }
intro = "i"

[[steps]]
title = "start"
annotation = "a"

[[steps]]
title = "one"
annotation = "[heap] is {heap.size}"

[[steps.checks]]
id = "grow"
expect = "grows"
measure = "total.size"
min = "1 MiB"
max = "1 MiB + 1 page"
tolerance = "a page of header"
"#;

    #[test]
    fn a_good_lab_has_no_problem() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn every_mistake_is_one_message_with_its_place() {
        let bad = GOOD
            .replace("intro = \"i\"", "intro = \"i\"\ncolour = \"red\"")
            .replace("total.size", "total.sizes")
            .replace("{heap.size}", "{heap.bigness}")
            .replace("max = \"1 MiB + 1 page\"", "max = \"1 MB\"");
        let got = problems(&bad);
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(
            got[0].starts_with("lab.toml:5:1: unknown key `colour`"),
            "{got:#?}"
        );
        assert!(
            got[1].starts_with("lab.toml:13:25: no placeholder `{heap.bigness}`"),
            "{got:#?}"
        );
        assert!(
            got[2].starts_with("lab.toml:18:11: unknown measure `total.sizes`"),
            "{got:#?}"
        );
        assert!(
            got[3].starts_with("lab.toml:20:7: bad size expression `1 MB`"),
            "{got:#?}"
        );
    }

    /// Issue 19: `min = "1 MiB"`, `max = "0 KiB"` was accepted once a
    /// tolerance was given, and the check then always failed.
    #[test]
    fn an_empty_range_is_a_mistake() {
        let empty = GOOD.replace("max = \"1 MiB + 1 page\"", "max = \"0 KiB\"");
        let got = problems(&empty);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with(
                "lab.toml:19:7: check `grow`: the range is empty: min `1 MiB` (1024 KiB here) \
                 is above max `0 KiB` (0 KiB)"
            ),
            "{got:#?}"
        );
    }

    /// Issue 19: text of a lab reaches the terminal; a control or bidi
    /// character in it is a mistake.
    #[test]
    fn a_control_or_bidi_character_in_a_string_is_a_mistake() {
        let bad = GOOD.replace("intro = \"i\"", "intro = \"i\\u001b[2J\\u202e\"");
        let got = problems(&bad);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].contains("a string holds U+001B"), "{got:#?}");
    }

    #[test]
    fn no_bound_no_reason_and_a_syntax_error() {
        let no_bound = GOOD.replace("min = \"1 MiB\"\nmax = \"1 MiB + 1 page\"\n", "");
        let got = problems(&no_bound);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with("lab.toml:14:1: check `grow` has no bound"),
            "{got:#?}"
        );
        let no_reason = GOOD.replace("tolerance = \"a page of header\"\n", "");
        let got = problems(&no_reason);
        assert!(got[0].contains("add `tolerance`"), "{got:#?}");
        let broken = GOOD.replace("title = \"one\"", "title = \"one");
        let got = problems(&broken);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].starts_with("lab.toml:11:"), "{got:#?}");
        let typed = GOOD.replace("title = \"one\"", "title = 1");
        let got = problems(&typed);
        assert!(
            got[0].starts_with("lab.toml:11:9: `title` must be a string"),
            "{got:#?}"
        );
    }

    #[test]
    fn a_note_names_known_facts_an_implementation_of_the_lab_and_values() {
        let note = |body: &str| {
            GOOD.replace(
                "\n[[steps.checks]]",
                &format!("\n[[steps.notes]]\n{body}\n\n[[steps.checks]]"),
            )
        };
        let good = note("when = { fastbins = [\"no\"] }\nimpl = \"c\"\ntext = \"t {heap.rss}\"");
        assert_eq!(problems(&good), Vec::<String>::new());
        let bad =
            note("when = { fastbin = [\"no\"] }\nimpl = \"python\"\ntext = \"{heap.bigness}\"");
        let got = problems(&bad);
        assert_eq!(got.len(), 3, "{got:#?}");
        assert!(
            got[0].contains("notes: unknown machine fact `fastbin`"),
            "{got:#?}"
        );
        assert!(
            got[1].contains("notes: impl: the lab has no python demo"),
            "{got:#?}"
        );
        assert!(
            got[2].contains("no placeholder `{heap.bigness}`"),
            "{got:#?}"
        );
    }
}
