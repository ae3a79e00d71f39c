//! Checks: a lab's expectations, compiled from data and evaluated on snapshots.
//!
//! A check measures `SCOPE.FIELD` on the step's snapshot, as a change since an
//! earlier step (or as an absolute value), and compares it with bounds written
//! as size expressions (`10 MiB + 1 page`). A failed check is a verdict in the
//! report, never an error.
//!
//! Scopes: `total` (every region), a region kind (`heap`, `stack`, `anon`,
//! `file`, …), `largest`: the region that changed most in this step, or
//! `steady`: the region whose RSS grew steadily over every step so far (the
//! leak detector of [`crate::measure::growth`]; its `rss` and `size` are rates per step).
//! Fields: `size` (virtual), `rss`, `pss`, `dirty`, `swap`, `anonymous`,
//! `anon_huge_pages`, `count` (number of regions); for `largest` also the text
//! fields `kind` and `change`. The scope `process` has what belongs to no
//! region: `process.page_tables`, the page tables' KiB (`VmPTE` of
//! `/proc/PID/status`), memory that writing costs beyond the pages written.

use std::cell::OnceCell;

use pmap_view::{diff, Change, Kind, Region, RegionChange, Snapshot, Totals};
use serde::Serialize;

pub use crate::measure::machine::page_kib;
use crate::measure::machine::Facts;
use crate::spec::lab::CheckSpec;

/// Whether a check held, failed, or does not apply on this machine.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub enum Status {
    #[serde(rename = "pass")]
    Pass,
    #[serde(rename = "fail")]
    Fail,
    /// A fact the check requires does not hold here (the reason names it).
    #[serde(rename = "n/a")]
    NotApplicable,
}

/// The outcome of one check on one step.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub id: String,
    /// True only when the check held (false when it failed or does not apply).
    pub passed: bool,
    pub status: Status,
    /// Why the check does not apply here: the fact that does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    /// The expectation in words (from the lab data).
    pub description: String,
    pub expected: String,
    /// The bounds as the lab writes them, without this machine's numbers
    /// (`100 stacks + 100 pages`): what the annotated outputs pin.
    pub rule: String,
    pub observed: String,
    /// The measured number, KiB (or a count), when the measure is numeric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<String>,
    /// The value is a size in KiB (not a count or a word).
    #[serde(skip)]
    pub is_size: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Total,
    Kind(Kind),
    Largest,
    Steady,
    /// The page-cache residency of the lab's file (`cache.resident`, `cache.size`).
    Cache,
    /// The process as a whole, beyond its regions (`process.page_tables`).
    Process,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Size,
    Rss,
    Pss,
    Dirty,
    Swap,
    Anonymous,
    AnonHugePages,
    Count,
    Uss,
    Resident,
    PageTables,
    KindName,
    ChangeName,
}

impl Field {
    fn is_text(self) -> bool {
        matches!(self, Field::KindName | Field::ChangeName)
    }

    fn words(self) -> &'static str {
        match self {
            Field::Size => "virtual size",
            Field::Rss => "RSS",
            Field::Pss => "PSS",
            Field::Dirty => "Dirty",
            Field::Swap => "swap",
            Field::Anonymous => "Anonymous",
            Field::AnonHugePages => "AnonHugePages",
            Field::Count => "regions",
            Field::Uss => "USS",
            Field::Resident => "resident in the page cache",
            Field::PageTables => "page tables",
            Field::KindName => "kind",
            Field::ChangeName => "change",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Since {
    Previous,
    Start,
    None,
}

/// A compiled check, ready to evaluate.
#[derive(Clone, Debug)]
pub struct Check {
    spec: CheckSpec,
    /// Measured on the demo's child process (`child:` before the measure).
    child: bool,
    scope: Scope,
    field: Field,
    since: Since,
    min: Option<i64>,
    max: Option<i64>,
}

/// The snapshots a check can look at.
pub struct StepSnapshots<'a> {
    pub start: &'a Snapshot,
    pub previous: &'a Snapshot,
    pub current: &'a Snapshot,
    /// Every step so far, the current one last.
    pub all: &'a [&'a Snapshot],
    /// The lab file's page-cache residency at every step so far (if it has one).
    pub caches: &'a [Option<&'a crate::measure::pagecache::Residency>],
    /// This step's largest change and the leak analysis, worked out once for
    /// all the step's checks that need them.
    largest: OnceCell<Option<RegionChange<'a>>>,
    leak: OnceCell<Option<crate::measure::growth::Growth>>,
}

impl<'a> StepSnapshots<'a> {
    /// The view of the last of a series of snapshots (step 0 first).
    pub fn of(
        all: &'a [&'a Snapshot],
        caches: &'a [Option<&'a crate::measure::pagecache::Residency>],
    ) -> Self {
        let n = all.len();
        StepSnapshots {
            start: all[0],
            previous: all[n.saturating_sub(2)],
            current: all[n - 1],
            all,
            caches,
            largest: OnceCell::new(),
            leak: OnceCell::new(),
        }
    }

    /// The region that changed most from the previous step to this one.
    fn largest(&self) -> Option<&RegionChange<'a>> {
        self.largest
            .get_or_init(|| largest_change(&diff(self.previous, self.current).changes).copied())
            .as_ref()
    }

    /// The steadily growing region over every step so far, with rates per step.
    fn leak(&self) -> Option<&crate::measure::growth::Growth> {
        self.leak
            .get_or_init(|| {
                let steps: Vec<f64> = (0..self.all.len()).map(|i| i as f64).collect();
                crate::measure::growth::likely_leak(&crate::measure::growth::analyse(
                    self.all, &steps,
                ))
                .cloned()
            })
            .as_ref()
    }
}

/// A defect in a check of a lab's data (`Check::compile` finds it; the
/// embedded labs are checked by tests, so a user never sees one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("measure `{0}` is not SCOPE.FIELD")]
    NotScopeField(String),
    #[error("unknown scope `{0}`")]
    UnknownScope(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("text fields exist only for `largest` and `steady`")]
    TextFieldScope,
    #[error("`steady` has the fields rss, size (rates per step) and kind")]
    SteadyField,
    #[error("a count of one region means nothing")]
    CountOfOneRegion,
    #[error("unknown since `{0}`")]
    UnknownSince(String),
    #[error("`largest` and `steady` take no `since`")]
    SinceOfOneRegion,
    #[error(transparent)]
    Size(#[from] SizeExprError),
    #[error("a text measure takes `equals` only")]
    TextBounds,
    #[error("a numeric measure takes `min` and/or `max` only")]
    NumericBounds,
    #[error("`cache` has the fields resident and size, and only it has `resident`")]
    CacheField,
    #[error("USS is measured on totals or kinds")]
    UssOfOneRegion,
    #[error("`process` has the field page_tables, and only it has it")]
    ProcessField,
}

/// A size expression [`size_expr`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad size expression `{0}`")]
pub struct SizeExprError(pub String);

impl Check {
    /// Validate and compile a check spec, its bounds evaluated with `facts`.
    /// Errors are defects in lab data.
    pub fn compile(spec: &CheckSpec, facts: &Facts) -> Result<Check, SpecError> {
        let (child, measure) = match spec.measure.strip_prefix("child:") {
            Some(m) => (true, m),
            None => (false, spec.measure.as_str()),
        };
        let (scope, field) = measure
            .split_once('.')
            .ok_or_else(|| SpecError::NotScopeField(spec.measure.clone()))?;
        let scope = match scope {
            "total" => Scope::Total,
            "largest" => Scope::Largest,
            "steady" => Scope::Steady,
            "cache" => Scope::Cache,
            "process" => Scope::Process,
            k => Scope::Kind(parse_kind(k).ok_or_else(|| SpecError::UnknownScope(k.into()))?),
        };
        let field = match field {
            "size" => Field::Size,
            "rss" => Field::Rss,
            "pss" => Field::Pss,
            "dirty" => Field::Dirty,
            "swap" => Field::Swap,
            "anonymous" => Field::Anonymous,
            "anon_huge_pages" => Field::AnonHugePages,
            "count" => Field::Count,
            "uss" => Field::Uss,
            "resident" => Field::Resident,
            "page_tables" => Field::PageTables,
            "kind" => Field::KindName,
            "change" => Field::ChangeName,
            f => return Err(SpecError::UnknownField(f.into())),
        };
        let whole_regions = matches!(scope, Scope::Largest | Scope::Steady);
        if field.is_text() && !whole_regions {
            return Err(SpecError::TextFieldScope);
        }
        if scope == Scope::Steady && !matches!(field, Field::Rss | Field::Size | Field::KindName) {
            return Err(SpecError::SteadyField);
        }
        if field == Field::Count && whole_regions {
            return Err(SpecError::CountOfOneRegion);
        }
        let since = match spec.since.as_str() {
            "previous" => Since::Previous,
            "start" => Since::Start,
            "none" => Since::None,
            s => return Err(SpecError::UnknownSince(s.into())),
        };
        if whole_regions && since != Since::Previous {
            return Err(SpecError::SinceOfOneRegion);
        }
        let eval = |e: &str| size_expr(e, facts);
        let min = spec.min.as_deref().map(eval).transpose()?;
        let max = spec.max.as_deref().map(eval).transpose()?;
        match (field.is_text(), &spec.equals, min.or(max)) {
            (true, Some(_), None) | (false, None, Some(_)) => {}
            (true, _, _) => return Err(SpecError::TextBounds),
            (false, _, _) => return Err(SpecError::NumericBounds),
        }
        if (scope == Scope::Cache) != matches!(field, Field::Resident | Field::Size)
            && (scope == Scope::Cache || field == Field::Resident)
        {
            return Err(SpecError::CacheField);
        }
        if (scope == Scope::Process) != (field == Field::PageTables) {
            return Err(SpecError::ProcessField);
        }
        if field == Field::Uss && whole_regions {
            return Err(SpecError::UssOfOneRegion);
        }
        Ok(Check {
            spec: spec.clone(),
            child,
            scope,
            field,
            since,
            min,
            max,
        })
    }

    /// Is this measured on the demo's child process?
    pub fn on_child(&self) -> bool {
        self.child
    }

    pub fn evaluate(&self, s: &StepSnapshots) -> CheckResult {
        if self.scope == Scope::Process && !self.page_tables_known(s) {
            // Never a pass on a number nobody read.
            return CheckResult {
                id: self.spec.id.clone(),
                passed: false,
                status: Status::Fail,
                not_applicable: None,
                description: self.spec.expect.clone(),
                expected: self.expected_range(),
                rule: self.rule(),
                observed: "not known (no VmPTE in /proc/PID/status)".into(),
                observed_value: None,
                tolerance: self.spec.tolerance.clone(),
                is_size: true,
            };
        }
        let (passed, expected, observed, value) = if self.field.is_text() {
            let want = self.spec.equals.clone().unwrap_or_default();
            let seen = self.text_value(s);
            (
                seen.as_deref() == Some(want.as_str()),
                want,
                seen.unwrap_or_else(|| "no region changed".into()),
                None,
            )
        } else {
            let v = self.numeric_value(s);
            let passed = self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m);
            (passed, self.expected_range(), self.show(v), Some(v))
        };
        CheckResult {
            id: self.spec.id.clone(),
            passed,
            status: if passed { Status::Pass } else { Status::Fail },
            not_applicable: None,
            description: self.spec.expect.clone(),
            expected,
            rule: self.rule(),
            observed,
            observed_value: value,
            tolerance: self.spec.tolerance.clone(),
            is_size: value.is_some() && self.field != Field::Count,
        }
    }

    /// Whether the snapshots this check compares know their page tables.
    fn page_tables_known(&self, s: &StepSnapshots) -> bool {
        let earlier = match self.since {
            Since::Previous => Some(s.previous),
            Since::Start => Some(s.start),
            Since::None => None,
        };
        std::iter::once(s.current)
            .chain(earlier)
            .all(|snap| snap.page_tables_kib.is_some())
    }

    fn numeric_value(&self, s: &StepSnapshots) -> i64 {
        if self.scope == Scope::Cache {
            let at = |i: usize| {
                s.caches.get(i).copied().flatten().map_or(0, |r| {
                    (if self.field == Field::Size {
                        r.size_kib
                    } else {
                        r.resident_kib
                    }) as i64
                })
            };
            let n = s.caches.len();
            let now = at(n.wrapping_sub(1));
            return match self.since {
                Since::Previous => now - at(n.saturating_sub(2)),
                Since::Start => now - at(0),
                Since::None => now,
            };
        }
        if self.scope == Scope::Steady {
            return s.leak().map_or(0, |g| {
                let rate = if self.field == Field::Size {
                    g.size_rate
                } else {
                    g.rss_rate
                };
                rate.round() as i64
            });
        }
        if self.scope == Scope::Largest {
            return s.largest().map_or(0, |c| match self.field {
                Field::Size => c.size_delta(),
                Field::Rss => c.rss_delta(),
                Field::Dirty => c.dirty_delta(),
                Field::Pss => c.pss_delta(),
                Field::Swap => c.swap_delta(),
                _ => {
                    let of = |r: Option<&Region>| r.map_or(0, |r| self.pick(&Totals::of([r]), 1));
                    of(c.after) - of(c.before)
                }
            });
        }
        let now = self.measure(s.current);
        match self.since {
            Since::Previous => now - self.measure(s.previous),
            Since::Start => now - self.measure(s.start),
            Since::None => now,
        }
    }

    fn measure(&self, snap: &Snapshot) -> i64 {
        if self.field == Field::Uss {
            let kind = match self.scope {
                Scope::Kind(k) => Some(k),
                _ => None,
            };
            let regions = snap
                .regions
                .iter()
                .filter(|r| kind.is_none_or(|k| r.kind == k));
            return regions
                .map(|r| (r.fields.private_clean + r.fields.private_dirty) as i64)
                .sum();
        }
        match self.scope {
            Scope::Total => self.pick(&snap.totals, snap.regions.len()),
            Scope::Kind(k) => {
                let count = snap.regions.iter().filter(|r| r.kind == k).count();
                self.pick(&snap.totals_of(k), count)
            }
            Scope::Process => snap.page_tables_kib.unwrap_or(0) as i64,
            Scope::Largest | Scope::Steady | Scope::Cache => {
                unreachable!("not measured on one snapshot")
            }
        }
    }

    fn pick(&self, t: &Totals, count: usize) -> i64 {
        let v = match self.field {
            Field::Size => t.size_kib,
            Field::Rss => t.rss_kib,
            Field::Pss => t.pss_kib,
            Field::Dirty => t.dirty_kib,
            Field::Swap => t.swap_kib,
            Field::Anonymous => t.anonymous_kib,
            Field::AnonHugePages => t.anon_huge_pages_kib,
            Field::Count => count as u64,
            Field::Uss
            | Field::Resident
            | Field::PageTables
            | Field::KindName
            | Field::ChangeName => 0,
        };
        v as i64
    }

    fn text_value(&self, s: &StepSnapshots) -> Option<String> {
        if self.scope == Scope::Steady {
            return s.leak().map(|g| g.track.kind.as_str().to_string());
        }
        let c = s.largest()?;
        Some(match self.field {
            Field::KindName => c.region().kind.as_str().to_string(),
            _ => c.change.as_str().to_string(),
        })
    }

    fn unit(&self) -> &'static str {
        if self.field == Field::Count {
            ""
        } else {
            " KiB"
        }
    }

    fn show(&self, v: i64) -> String {
        let sign = if self.since == Since::None || v <= 0 {
            ""
        } else {
            "+"
        };
        format!("{sign}{v}{}", self.unit())
    }

    /// The bounds in the lab's words only.
    fn rule(&self) -> String {
        if self.field.is_text() {
            return self.spec.equals.clone().unwrap_or_default();
        }
        let e = |x: &Option<String>| x.clone().unwrap_or_default();
        match (&self.spec.min, &self.spec.max) {
            (Some(a), Some(b)) if a == b => a.clone(),
            (Some(_), Some(_)) => format!("{} to {}", e(&self.spec.min), e(&self.spec.max)),
            (Some(_), None) => format!("at least {}", e(&self.spec.min)),
            (None, Some(_)) => format!("at most {}", e(&self.spec.max)),
            (None, None) => String::new(),
        }
    }

    /// The rule with this machine's numbers: `10 MiB to 10 MiB + 1 page (10240..=10244 KiB)`.
    fn expected_range(&self) -> String {
        let u = self.unit();
        let numbers = match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => format!("{a}{u}"),
            (Some(a), Some(b)) => format!("{a}..={b}{u}"),
            (Some(a), None) | (None, Some(a)) => format!("{a}{u}"),
            (None, None) => return String::new(),
        };
        format!("{} ({numbers})", self.rule())
    }

    /// A short phrase for what is measured: "Δ virtual size of `[heap]`".
    pub fn what(&self) -> String {
        let scope = match self.scope {
            Scope::Total => "process".to_string(),
            Scope::Kind(k) => format!("{} regions", k.as_str()),
            Scope::Largest => "largest change".to_string(),
            Scope::Steady => "steadily growing region".to_string(),
            Scope::Cache => "the lab's file".to_string(),
            Scope::Process => "process".to_string(),
        };
        format!("{} of {scope}", self.field.words())
    }
}

/// The value of `SCOPE.FIELD` (a scope of `total`, a region kind or
/// `process`, a numeric field) on one snapshot, for annotations that quote
/// this run's numbers; `None` for a value the snapshot does not know.
pub fn value_on(measure: &str, snap: &Snapshot) -> Option<i64> {
    let spec = CheckSpec {
        id: String::new(),
        expect: String::new(),
        measure: measure.to_string(),
        since: "none".into(),
        min: Some("0".into()),
        max: None,
        equals: None,
        tolerance: None,
        hint: None,
        only_for: None,
        when: Default::default(),
        requires: Default::default(),
    };
    let check = Check::compile(&spec, &Facts::default()).ok()?;
    match check.scope {
        Scope::Process => snap.page_tables_kib.map(|kib| kib as i64),
        Scope::Total | Scope::Kind(_) => Some(check.measure(snap)),
        _ => None,
    }
}

/// The region that changed most in a step: the largest move of its size, RSS,
/// Dirty or PSS (ties: the larger size change).
pub fn largest_change<'a, 'b>(changes: &'b [RegionChange<'a>]) -> Option<&'b RegionChange<'a>> {
    changes
        .iter()
        .filter(|c| c.change != Change::Unchanged)
        .max_by_key(|c| {
            let moved = [
                c.size_delta(),
                c.rss_delta(),
                c.dirty_delta(),
                c.pss_delta(),
            ];
            (moved.iter().map(|d| d.abs()).max(), c.size_delta().abs())
        })
}

fn parse_kind(s: &str) -> Option<Kind> {
    Some(match s {
        "heap" => Kind::Heap,
        "stack" => Kind::Stack,
        "anon" => Kind::Anon,
        "file" => Kind::File,
        "vdso" => Kind::Vdso,
        "vvar" => Kind::Vvar,
        "vsyscall" => Kind::Vsyscall,
        "other" => Kind::Other,
        _ => return None,
    })
}

impl CheckResult {
    /// The result of a check that does not apply here, saying why.
    pub fn not_applicable(spec: &CheckSpec, why: String) -> CheckResult {
        CheckResult {
            id: spec.id.clone(),
            passed: false,
            status: Status::NotApplicable,
            not_applicable: Some(why),
            description: spec.expect.clone(),
            expected: String::new(),
            rule: String::new(),
            observed: String::new(),
            observed_value: None,
            tolerance: spec.tolerance.clone(),
            is_size: false,
        }
    }
}

/// Evaluate a size expression to KiB (or to a count, when it names no size).
///
/// Terms are joined by `+` and `-`; a term is a product of factors written
/// side by side or with `*`: numbers, at most one size unit (`KiB`, `MiB`,
/// `GiB`, `page(s)`, `stack(s)`: a thread's default stack) and counts this
/// machine knows (`cpus`, `new_arenas`, `cached_stacks`, `guard`, see
/// [`Facts::number`]).
/// Examples: `10 MiB + 1 page`, `100 stacks + 100 pages`, `new_arenas * 64 MiB`.
pub fn size_expr(text: &str, facts: &Facts) -> Result<i64, SizeExprError> {
    let bad = || SizeExprError(text.to_string());
    let mut total = 0f64;
    let mut sign = 1f64;
    let mut term: Option<(f64, bool)> = None; // (product so far, has a size unit)
    let mut finish =
        |term: &mut Option<(f64, bool)>, sign: f64| term.take().map(|(v, _)| total += sign * v);
    for tok in text.split_whitespace() {
        match tok {
            "+" | "-" => {
                finish(&mut term, sign).ok_or_else(bad)?;
                sign = if tok == "+" { 1.0 } else { -1.0 };
                continue;
            }
            "*" if term.is_some() => continue,
            _ => {}
        }
        let (value, is_size) = match tok {
            "KiB" => (1.0, true),
            "MiB" => (1024.0, true),
            "GiB" => (1024.0 * 1024.0, true),
            "page" | "pages" => (page_kib() as f64, true),
            word => match facts.number(word) {
                Some((v, size)) => (v as f64, size),
                None => (word.parse::<f64>().map_err(|_| bad())?, false),
            },
        };
        term = Some(match term {
            None => (value, is_size),
            Some((_, true)) if is_size => return Err(bad()),
            Some((v, s)) => (v * value, s || is_size),
        });
    }
    finish(&mut term, sign).ok_or_else(bad)?;
    Ok(total.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_expressions() {
        let p = page_kib();
        let f = Facts::from_pairs([("cpus", "2"), ("stack", "8192 KiB")]);
        assert_eq!(size_expr("10 MiB", &f), Ok(10240));
        assert_eq!(size_expr("10 MiB + 1 page", &f), Ok(10240 + p));
        assert_eq!(size_expr("-60 MiB - 2 pages", &f), Ok(-61440 - 2 * p));
        assert_eq!(size_expr("0", &f), Ok(0));
        assert_eq!(size_expr("0.5 MiB", &f), Ok(512));
        assert_eq!(size_expr("3", &f), Ok(3));
        assert_eq!(
            size_expr("100 stacks + 100 pages", &f),
            Ok(100 * 8192 + 100 * p)
        );
        assert_eq!(size_expr("8 * cpus * 64 MiB - 64 MiB", &f), Ok(15 * 65536));
        assert!(size_expr("MiB MiB", &f).is_err());
        assert!(size_expr("2 nosuchfact", &f).is_err());
        assert!(size_expr("", &f).is_err());
        assert!(size_expr("10 MiB +", &f).is_err());
        assert!(size_expr("ten MiB", &f).is_err());
        assert!(size_expr("1 MiB 2 MiB", &f).is_err());
    }

    fn spec(measure: &str, min: Option<&str>, max: Option<&str>) -> CheckSpec {
        CheckSpec {
            id: "t".into(),
            expect: "t".into(),
            measure: measure.into(),
            since: "previous".into(),
            min: min.map(Into::into),
            max: max.map(Into::into),
            equals: None,
            tolerance: None,
            hint: None,
            only_for: None,
            when: Default::default(),
            requires: Default::default(),
        }
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(Check::compile(&spec("total", Some("1"), None), &Facts::default()).is_err());
        assert!(Check::compile(&spec("nowhere.size", Some("1"), None), &Facts::default()).is_err());
        assert!(Check::compile(&spec("total.size", None, None), &Facts::default()).is_err());
        assert!(Check::compile(&spec("total.kind", Some("1"), None), &Facts::default()).is_err());
        assert!(Check::compile(&spec("heap.size", Some("1"), None), &Facts::default()).is_ok());
    }

    fn snap(text: &str) -> Snapshot {
        Snapshot::from_smaps(1, text.as_bytes()).unwrap()
    }

    #[test]
    fn delta_checks_pass_and_fail_on_real_numbers() {
        let before = snap("1000-2000 rw-p 0 00:00 0 [heap]\nSize: 4 kB\nRss: 4 kB\n");
        let after = snap(
            "1000-2000 rw-p 0 00:00 0 [heap]\nSize: 4 kB\nRss: 4 kB\n\
             7000000-7a01000 rw-p 0 00:00 0 \nSize: 10244 kB\nRss: 4 kB\n",
        );
        let (all, caches) = ([&before, &after], [None, None]);
        let s = StepSnapshots::of(&all, &caches);
        let grow = Check::compile(
            &spec("total.size", Some("10 MiB"), Some("10 MiB + 1 page")),
            &Facts::default(),
        )
        .unwrap();
        let r = grow.evaluate(&s);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.observed, "+10244 KiB");
        let heap = Check::compile(&spec("heap.size", None, Some("0")), &Facts::default()).unwrap();
        assert!(heap.evaluate(&s).passed);
        let rss =
            Check::compile(&spec("total.rss", Some("1 MiB"), None), &Facts::default()).unwrap();
        assert!(!rss.evaluate(&s).passed);
        let mut kind = spec("largest.kind", None, None);
        kind.equals = Some("anon".into());
        let kind = Check::compile(&kind, &Facts::default())
            .unwrap()
            .evaluate(&s);
        assert!(kind.passed && kind.observed == "anon", "{kind:?}");
    }

    #[test]
    fn page_tables_are_a_process_measure() {
        let f = Facts::default();
        for bad in ["total.page_tables", "largest.page_tables", "process.size"] {
            assert!(
                Check::compile(&spec(bad, Some("1"), None), &f).is_err(),
                "{bad}"
            );
        }
        let text = "1000-2000 rw-p 0 00:00 0 [heap]\nSize: 4 kB\nRss: 4 kB\n";
        let (mut before, mut after) = (snap(text), snap(text));
        let (all, caches) = ([&before, &after], [None, None]);
        let grew = Check::compile(&spec("process.page_tables", Some("200 KiB"), None), &f).unwrap();
        // Snapshots built from text know no page tables: a failure, not a pass.
        let unknown = grew.evaluate(&StepSnapshots::of(&all, &caches));
        assert_eq!(unknown.status, Status::Fail, "{unknown:?}");
        assert!(unknown.observed.contains("not known"), "{unknown:?}");
        before.page_tables_kib = Some(48);
        after.page_tables_kib = Some(248);
        let (all, caches) = ([&before, &after], [None, None]);
        let r = grew.evaluate(&StepSnapshots::of(&all, &caches));
        assert!(r.passed && r.observed == "+200 KiB", "{r:?}");
        after.page_tables_kib = Some(244);
        let (all, caches) = ([&before, &after], [None, None]);
        assert!(!grew.evaluate(&StepSnapshots::of(&all, &caches)).passed);
        assert_eq!(value_on("process.page_tables", &after), Some(244));
        assert_eq!(value_on("process.page_tables", &snap(text)), None);
    }
}
