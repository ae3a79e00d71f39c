//! The merge of a class's submissions: machines with the same facts make one
//! [`Group`] (with a count); every lab × implementation is tallied per group
//! ([`RunRow`]); every check that failed somewhere is judged on every machine
//! where its run completed ([`CheckRow`]): failed, not applicable, or passed
//! (a `lab check --json` document lists the checks that failed and those that
//! do not apply; any other check of a completed run held). A check that
//! fails on some machines and passes on others comes with the facts that
//! tell those machines apart ([`Separation`]), among those the lab's checks
//! depend on. Each `lab grade --json` document is also a [`Student`]: the
//! program, its score and the checks it failed, with their hints.
//!
//! The merge is one pass ([`Merger::add`], a document at a time, nothing of
//! it kept but counts): machines with the same facts, and the facts a run
//! was judged by, are interned once and counted, so time and memory grow
//! with the documents' number (and the distinct machines), never with its
//! square. A check that first fails on the ten-thousandth document is
//! judged on the others from those counts: where its run completed and the
//! check is listed neither as failed nor as not applicable, it held.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::measure::machine::is_program_fact;
use crate::views::class::read::{BadFile, Kind, Submission};

type Facts = BTreeMap<String, String>;

/// A machine's facts, sorted by name, each name and value shared by every
/// machine that has it: a class of 100,000 machines that each differ (by a
/// kernel build, say) holds a few thousand strings, not seven million.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FactSet(Vec<(Rc<str>, Rc<str>)>);

impl FactSet {
    /// The facts of `pairs` (sorted by name, as a map gives them), their
    /// strings taken from `strings` (and added there).
    fn interned(
        pairs: impl Iterator<Item = (String, String)>,
        strings: &mut HashSet<Rc<str>>,
    ) -> FactSet {
        let mut intern = |s: String| -> Rc<str> {
            if let Some(known) = strings.get(s.as_str()) {
                return known.clone();
            }
            let new: Rc<str> = Rc::from(s);
            strings.insert(new.clone());
            new
        };
        FactSet(pairs.map(|(k, v)| (intern(k), intern(v))).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl serde::Serialize for FactSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The whole class.
#[derive(Debug)]
pub struct Class {
    /// Documents read (each counts as a machine).
    pub documents: usize,
    /// Of them, `lab grade --json` documents.
    pub grades: usize,
    /// Files that were not documents.
    pub bad: Vec<BadFile>,
    /// Most machines first.
    pub groups: Vec<Group>,
    /// Facts with one value on every machine.
    pub same: Facts,
    /// Facts whose value differs between groups, in the order of
    /// `machine::NAMES` (others after, by name).
    pub varying: Vec<String>,
    /// Every lab × implementation, in the order the documents list them.
    pub runs: Vec<RunRow>,
    /// Every check that failed on some machine, in the order of its first
    /// failure.
    pub checks: Vec<CheckRow>,
    /// Each `lab grade --json` document, in the order read.
    pub students: Vec<Student>,
}

/// Machines with the same facts.
#[derive(Debug)]
pub struct Group {
    /// `A`, `B`, … `Z`, `AA`, …
    pub name: String,
    /// The machine's facts: those of a document's `machine` but the facts of
    /// a Python interpreter (a run's, [`is_program_fact`]), which a `lab
    /// grade --json` document never has; so a machine's grade and check
    /// documents are one group.
    pub facts: FactSet,
    /// The files of its machines.
    pub files: Vec<String>,
    /// Runs (over all its machines) that passed (or were skipped), of all.
    pub runs_passed: usize,
    pub runs_total: usize,
}

impl Group {
    pub fn machines(&self) -> usize {
        self.files.len()
    }
}

/// How one lab × implementation went, per group (in the order of
/// [`Class::groups`]).
#[derive(Debug)]
pub struct RunRow {
    pub lab: String,
    pub imp: String,
    pub by_group: Vec<Tally>,
}

impl RunRow {
    pub fn total(&self) -> Tally {
        let mut t = Tally::default();
        for g in &self.by_group {
            t.pass += g.pass;
            t.fail += g.fail;
            t.skip += g.skip;
            t.error += g.error;
            t.absent += g.absent;
        }
        t
    }
}

/// Machines by the result of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Passed, or nothing to check there (`n/a`).
    pub pass: usize,
    /// A check failed (or the pinned output differs).
    pub fail: usize,
    pub skip: usize,
    pub error: usize,
    /// Machines whose document has no such run (an older lab, `lab check LAB`).
    pub absent: usize,
    /// The message of the first error or skip.
    pub message: Option<String>,
}

impl Tally {
    /// Machines where it ran (to the end or not).
    pub fn ran(&self) -> usize {
        self.pass + self.fail + self.error
    }
}

/// A check that failed on at least one machine.
#[derive(Debug)]
pub struct CheckRow {
    pub lab: String,
    pub imp: String,
    pub step: u64,
    pub id: String,
    pub description: String,
    /// As the first machine where it failed saw it.
    pub expected: String,
    pub observed: String,
    /// The exercise's hint for it (from a `lab grade --json` document).
    pub hint: Option<String>,
    /// Machines per group (in the order of [`Class::groups`]).
    pub failed: Vec<usize>,
    pub passed: Vec<usize>,
    pub not_applicable: Vec<usize>,
    /// The facts that tell the failing machines from the passing ones
    /// (empty when it passed nowhere, or when no single fact does), among
    /// those its lab's checks depend on.
    pub separating: Vec<Separation>,
    /// The lab is one this lab knows (built in, an exercise, or from
    /// `--labs`): only the facts its checks depend on were looked at.
    /// Otherwise every fact was.
    pub lab_known: bool,
}

impl CheckRow {
    pub fn failed_on(&self) -> usize {
        self.failed.iter().sum()
    }
    pub fn passed_on(&self) -> usize {
        self.passed.iter().sum()
    }
    pub fn not_applicable_on(&self) -> usize {
        self.not_applicable.iter().sum()
    }
    /// It fails on some machines and passes on others.
    pub fn differs(&self) -> bool {
        self.failed_on() > 0 && self.passed_on() > 0
    }
}

/// A fact whose values on the machines where a check failed are none of its
/// values where the check passed.
#[derive(Debug, PartialEq, Eq)]
pub struct Separation {
    pub fact: String,
    /// `(none)` for a machine without the fact.
    pub failing: Vec<String>,
    pub passing: Vec<String>,
}

/// One `lab grade --json` document: a student's program and how it did.
#[derive(Debug)]
pub struct Student {
    /// The document, as given to `lab report`.
    pub file: String,
    /// The program graded, as the document names it.
    pub program: String,
    pub exercise: String,
    /// Its machine's group (an index into [`Class::groups`]).
    pub group: usize,
    pub passed: bool,
    pub held: u64,
    pub total: u64,
    /// The checks that failed, in the document's order.
    pub failed: Vec<StudentCheck>,
}

/// A check a student's program failed.
#[derive(Debug)]
pub struct StudentCheck {
    /// An index into [`Class::checks`] (its id, description and hint).
    pub check: usize,
    pub expected: String,
    pub observed: String,
}

/// The facts the checks of a lab × implementation depend on, or None for a
/// lab this lab does not know.
pub type Depends<'a> = dyn Fn(&str, &str) -> Option<BTreeSet<String>> + 'a;

/// The facts of every lab's checks, from the labs this lab knows (built in,
/// exercises, those added with `--labs`).
pub fn known_labs(lab: &str, imp: &str) -> Option<BTreeSet<String>> {
    crate::spec::catalog::find(lab)
        .map(|l| l.spec.facts_checks_depend_on(imp))
        .or_else(|| {
            crate::spec::catalog::exercises()
                .into_iter()
                .find(|l| l.name() == lab)
                .map(|l| l.spec.facts_checks_depend_on(imp))
        })
}

/// Merge the submissions (and keep the bad files, for the report to list).
pub fn merge(submissions: Vec<Submission>, bad: Vec<BadFile>, depends: &Depends) -> Class {
    let mut m = Merger::new(depends);
    for s in submissions {
        m.add(s);
    }
    for b in bad {
        m.bad(b);
    }
    m.finish()
}

/// A group as it is being counted (its facts are its key in
/// `Merger::group_ids`, held once).
struct GroupAcc {
    files: Vec<String>,
    /// Its documents of each kind (check, grade).
    of_kind: [usize; 2],
    runs_passed: usize,
    runs_total: usize,
}

/// Machines by the facts they were judged by (an index of `Merger::judged`).
type Counts = HashMap<usize, usize>;

/// A lab × implementation as it is being counted.
struct RunAcc {
    lab: String,
    imp: String,
    /// The kinds of document it was seen in (check, grade): it is absent
    /// from a document of such a kind without it (a grade document never
    /// has the heap lab; a check document never an exercise).
    kinds: [bool; 2],
    by_group: Vec<Tally>,
    /// Machines where it completed, by the facts it was judged by.
    completed: HashMap<usize, usize>,
    /// Its failed checks' rows, by id, then step.
    rows: HashMap<String, Vec<(u64, usize)>>,
    /// Machines where a check did not apply, by id, then step, by judged
    /// facts.
    not_applicable: HashMap<String, Vec<(u64, Counts)>>,
}

/// A failed check as it is being counted.
struct CheckAcc {
    run: usize,
    step: u64,
    id: String,
    description: String,
    expected: String,
    observed: String,
    hint: Option<String>,
    /// Machines where it failed, by judged facts.
    failed: HashMap<usize, usize>,
}

/// The merge, one document at a time.
pub struct Merger<'a> {
    depends: &'a Depends<'a>,
    documents: usize,
    /// Of them, `lab grade --json` documents.
    grades: usize,
    bad: Vec<BadFile>,
    group_ids: HashMap<FactSet, usize>,
    /// The strings of the machines' facts, each once.
    strings: HashSet<Rc<str>>,
    groups: Vec<GroupAcc>,
    run_ids: HashMap<(String, String), usize>,
    runs: Vec<RunAcc>,
    /// Distinct `facts` of runs, each without the facts its machine has.
    run_facts_ids: HashMap<Facts, usize>,
    run_facts: Vec<Facts>,
    /// Distinct facts a check was judged by: a group's, and a run's over them.
    judged_ids: HashMap<(usize, Option<usize>), usize>,
    judged: Vec<(usize, Option<usize>)>,
    checks: Vec<CheckAcc>,
    students: Vec<Student>,
}

fn count(map: &mut HashMap<usize, usize>, key: usize) {
    *map.entry(key).or_insert(0) += 1;
}

impl<'a> Merger<'a> {
    pub fn new(depends: &'a Depends<'a>) -> Merger<'a> {
        Merger {
            depends,
            documents: 0,
            grades: 0,
            bad: Vec::new(),
            group_ids: HashMap::new(),
            strings: HashSet::new(),
            groups: Vec::new(),
            run_ids: HashMap::new(),
            runs: Vec::new(),
            run_facts_ids: HashMap::new(),
            run_facts: Vec::new(),
            judged_ids: HashMap::new(),
            judged: Vec::new(),
            checks: Vec::new(),
            students: Vec::new(),
        }
    }

    /// A file that was not a document.
    pub fn bad(&mut self, bad: BadFile) {
        self.bad.push(bad);
    }

    /// Count one document.
    pub fn add(&mut self, s: Submission) {
        self.documents += 1;
        let machine = FactSet::interned(
            s.machine.into_iter().filter(|(k, _)| !is_program_fact(k)),
            &mut self.strings,
        );
        let g = match self.group_ids.get(&machine) {
            Some(&g) => g,
            None => {
                let g = self.groups.len();
                self.group_ids.insert(machine.clone(), g);
                self.groups.push(GroupAcc {
                    files: Vec::new(),
                    of_kind: [0; 2],
                    runs_passed: 0,
                    runs_total: 0,
                });
                for r in &mut self.runs {
                    r.by_group.push(Tally::default());
                }
                g
            }
        };
        let file = s.file.to_string_lossy().into_owned();
        self.groups[g].files.push(file.clone());
        let kind = match s.kind {
            Kind::Check => 0,
            Kind::Grade => 1,
        };
        self.groups[g].of_kind[kind] += 1;
        if kind == 1 {
            self.grades += 1;
        }
        let mut student = s.graded.map(|graded| Student {
            file,
            program: graded.program,
            exercise: String::new(),
            group: g,
            passed: graded.passed,
            held: graded.held,
            total: graded.total,
            failed: Vec::new(),
        });

        let mut seen: Vec<usize> = Vec::with_capacity(s.runs.len());
        for r in s.runs {
            let k = self.run_id(&r.lab, &r.imp);
            if seen.contains(&k) {
                continue; // the same run twice in one document: the first counts
            }
            seen.push(k);
            self.runs[k].kinds[kind] = true;
            if let Some(st) = &mut student {
                st.exercise.clone_from(&r.lab);
            }
            let group = &mut self.groups[g];
            let t = &mut self.runs[k].by_group[g];
            match r.result.as_str() {
                "pass" | "n/a" => t.pass += 1,
                "fail" | "differs" => t.fail += 1,
                "skip" => t.skip += 1,
                _ => t.error += 1,
            }
            if matches!(r.result.as_str(), "skip" | "error") && t.message.is_none() {
                t.message.clone_from(&r.message);
            }
            group.runs_total += 1;
            if matches!(r.result.as_str(), "pass" | "n/a" | "skip") {
                group.runs_passed += 1;
            }
            if !r.completed() {
                continue;
            }
            // A run's facts are mostly its machine's: only those that are
            // not (a Python run's Python) are kept, interned.
            let facts = r.facts.map(|mut f| {
                f.retain(|k, v| machine.get(k) != Some(v.as_str()));
                self.run_facts_id(f)
            });
            let j = match self.judged_ids.get(&(g, facts)) {
                Some(&j) => j,
                None => {
                    self.judged.push((g, facts));
                    self.judged_ids.insert((g, facts), self.judged.len() - 1);
                    self.judged.len() - 1
                }
            };
            count(&mut self.runs[k].completed, j);
            // A check listed twice counts once; listed as failed and as not
            // applicable, it failed.
            let mut failed_rows: Vec<usize> = Vec::with_capacity(r.failed_checks.len());
            for c in r.failed_checks {
                let row = self.row(k, c.step, &c.check.id);
                if row.is_some_and(|row| failed_rows.contains(&row)) {
                    continue;
                }
                let row = match row {
                    Some(row) => row,
                    None => {
                        let row = self.checks.len();
                        self.runs[k]
                            .rows
                            .entry(c.check.id.clone())
                            .or_default()
                            .push((c.step, row));
                        self.checks.push(CheckAcc {
                            run: k,
                            step: c.step,
                            id: c.check.id,
                            description: c.check.description,
                            expected: c.check.expected.clone(),
                            observed: c.check.observed.clone(),
                            hint: c.hint,
                            failed: HashMap::new(),
                        });
                        row
                    }
                };
                failed_rows.push(row);
                let acc = &mut self.checks[row];
                count(&mut acc.failed, j);
                if let Some(st) = &mut student {
                    st.failed.push(StudentCheck {
                        check: row,
                        expected: c.check.expected,
                        observed: c.check.observed,
                    });
                }
            }
            let mut listed: Vec<(u64, &str)> = Vec::new();
            for c in &r.not_applicable_checks {
                let (step, id) = (c.step, c.check.id.as_str());
                if listed.contains(&(step, id))
                    || self
                        .row(k, step, id)
                        .is_some_and(|row| failed_rows.contains(&row))
                {
                    continue;
                }
                listed.push((step, id));
            }
            for (step, id) in listed {
                let run = &mut self.runs[k];
                let by_step = match run.not_applicable.get_mut(id) {
                    Some(v) => v,
                    None => run.not_applicable.entry(id.to_string()).or_default(),
                };
                match by_step.iter_mut().find(|(s, _)| *s == step) {
                    Some((_, on)) => count(on, j),
                    None => by_step.push((step, HashMap::from([(j, 1)]))),
                }
            }
        }
        if let Some(st) = student {
            self.students.push(st);
        }
    }

    fn run_id(&mut self, lab: &str, imp: &str) -> usize {
        if let Some(&k) = self.run_ids.get(&(lab.to_string(), imp.to_string())) {
            return k;
        }
        let k = self.runs.len();
        self.run_ids.insert((lab.to_string(), imp.to_string()), k);
        self.runs.push(RunAcc {
            lab: lab.to_string(),
            imp: imp.to_string(),
            kinds: [false; 2],
            by_group: vec![Tally::default(); self.groups.len()],
            completed: HashMap::new(),
            rows: HashMap::new(),
            not_applicable: HashMap::new(),
        });
        k
    }

    fn run_facts_id(&mut self, facts: Facts) -> usize {
        if let Some(&i) = self.run_facts_ids.get(&facts) {
            return i;
        }
        self.run_facts.push(facts.clone());
        self.run_facts_ids.insert(facts, self.run_facts.len() - 1);
        self.run_facts.len() - 1
    }

    /// The row of a failed check of run `k`, if it has one.
    fn row(&self, k: usize, step: u64, id: &str) -> Option<usize> {
        self.runs[k]
            .rows
            .get(id)?
            .iter()
            .find(|(s, _)| *s == step)
            .map(|&(_, row)| row)
    }

    /// The class: groups ordered (most machines first, then by facts) and
    /// named, each failed check judged everywhere its run completed.
    pub fn finish(self) -> Class {
        let Merger {
            depends,
            documents,
            grades,
            bad,
            groups,
            group_ids,
            runs,
            run_facts,
            judged,
            checks,
            mut students,
            ..
        } = self;
        let mut facts_of: Vec<FactSet> = vec![FactSet::default(); groups.len()];
        for (facts, g) in group_ids {
            facts_of[g] = facts;
        }
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|&a, &b| {
            groups[b]
                .files
                .len()
                .cmp(&groups[a].files.len())
                .then_with(|| facts_of[a].cmp(&facts_of[b]))
        });
        let mut rank = vec![0; groups.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old] = new;
        }
        let n = groups.len();
        let of_kind: Vec<[usize; 2]> = order.iter().map(|&old| groups[old].of_kind).collect();
        let mut slots: Vec<Option<GroupAcc>> = groups.into_iter().map(Some).collect();
        let groups: Vec<Group> = order
            .iter()
            .enumerate()
            .map(|(new, &old)| {
                let acc = slots[old].take().expect("each group once");
                Group {
                    name: group_name(new),
                    facts: std::mem::take(&mut facts_of[old]),
                    files: acc.files,
                    runs_passed: acc.runs_passed,
                    runs_total: acc.runs_total,
                }
            })
            .collect();
        let run_rows: Vec<RunRow> = runs
            .iter()
            .map(|r| {
                let mut by_group = vec![Tally::default(); n];
                for (old, t) in r.by_group.iter().enumerate() {
                    let new = rank[old];
                    let mut t = t.clone();
                    let seen = t.pass + t.fail + t.skip + t.error;
                    let could: usize = (0..2)
                        .filter(|&k| r.kinds[k])
                        .map(|k| of_kind[new][k])
                        .sum();
                    t.absent = could.saturating_sub(seen);
                    by_group[new] = t;
                }
                RunRow {
                    lab: r.lab.clone(),
                    imp: r.imp.clone(),
                    by_group,
                }
            })
            .collect();

        let facts = JudgedFacts {
            judged: judged
                .iter()
                .map(|&(g, run)| (&groups[rank[g]].facts, run.map(|r| &run_facts[r])))
                .collect(),
        };
        let mut depends_of: HashMap<usize, Option<BTreeSet<String>>> = HashMap::new();
        let rows: Vec<CheckRow> = checks
            .into_iter()
            .map(|c| {
                let run = &runs[c.run];
                let na = run
                    .not_applicable
                    .get(&c.id)
                    .and_then(|v| v.iter().find(|(s, _)| *s == c.step))
                    .map(|(_, on)| on);
                let (mut failed, mut passed, mut not_applicable) =
                    (vec![0; n], vec![0; n], vec![0; n]);
                let (mut failing, mut passing) = (Vec::new(), Vec::new());
                let mut completed: Vec<(&usize, &usize)> = run.completed.iter().collect();
                completed.sort_unstable();
                for (&j, &done) in completed {
                    let g = rank[judged[j].0];
                    let f = c.failed.get(&j).copied().unwrap_or(0);
                    let a = na.and_then(|on| on.get(&j)).copied().unwrap_or(0);
                    let p = done.saturating_sub(f + a);
                    failed[g] += f;
                    not_applicable[g] += a;
                    passed[g] += p;
                    if f > 0 {
                        failing.push(j);
                    }
                    if p > 0 {
                        passing.push(j);
                    }
                }
                let depends = depends_of
                    .entry(c.run)
                    .or_insert_with(|| depends(&run.lab, &run.imp));
                let separating = if failing.is_empty() || passing.is_empty() {
                    Vec::new()
                } else {
                    let mut candidates: BTreeSet<&str> = failing
                        .iter()
                        .chain(&passing)
                        .flat_map(|&j| facts.names(j))
                        .collect();
                    if let Some(d) = depends.as_ref() {
                        candidates.retain(|name| d.contains(*name));
                    }
                    separating(&candidates, &failing, &passing, &facts)
                };
                CheckRow {
                    lab: run.lab.clone(),
                    imp: run.imp.clone(),
                    step: c.step,
                    id: c.id,
                    description: c.description,
                    expected: c.expected,
                    observed: c.observed,
                    hint: c.hint,
                    failed,
                    passed,
                    not_applicable,
                    separating,
                    lab_known: depends.is_some(),
                }
            })
            .collect();
        for s in &mut students {
            s.group = rank[s.group];
        }

        // Facts the same everywhere, and those that vary.
        let mut values: BTreeMap<&str, BTreeSet<Option<&str>>> = BTreeMap::new();
        for g in &groups {
            for k in g.facts.keys() {
                values.entry(k).or_default();
            }
        }
        for (k, vals) in values.iter_mut() {
            for g in &groups {
                vals.insert(g.facts.get(k));
                if vals.len() > 1 {
                    break;
                }
            }
        }
        let same: Facts = values
            .iter()
            .filter(|(_, v)| v.len() == 1)
            .filter_map(|(k, v)| Some((k.to_string(), (*v.iter().next()?)?.to_string())))
            .collect();
        let mut varying: Vec<String> = values
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, _)| k.to_string())
            .collect();
        varying.sort_by_key(|k| fact_order(k));

        Class {
            documents,
            grades,
            bad,
            groups,
            same,
            varying,
            runs: run_rows,
            checks: rows,
            students,
        }
    }
}

/// Where a fact sorts: in the order of `machine::NAMES`, others after.
pub fn fact_order(name: &str) -> (usize, String) {
    let i = crate::measure::machine::NAMES
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(usize::MAX);
    (i, name.to_string())
}

/// `A`..`Z`, `AA`, `AB`, …
fn group_name(mut i: usize) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// The distinct facts checks were judged by: a group's, and a run's over
/// them (a Python run's Python version, say).
struct JudgedFacts<'a> {
    judged: Vec<(&'a FactSet, Option<&'a Facts>)>,
}

impl<'a> JudgedFacts<'a> {
    fn get(&self, j: usize, name: &str) -> Option<&'a str> {
        let (machine, run) = self.judged[j];
        run.and_then(|r| r.get(name))
            .map(String::as_str)
            .or_else(|| machine.get(name))
    }

    fn names(&self, j: usize) -> impl Iterator<Item = &'a str> {
        let (machine, run) = self.judged[j];
        machine
            .keys()
            .chain(run.into_iter().flat_map(|r| r.keys().map(String::as_str)))
    }
}

/// Of the `candidates`, the facts whose values where a check failed (the
/// judged facts `failing`) are none of their values where it passed
/// (`passing`).
fn separating(
    candidates: &BTreeSet<&str>,
    failing: &[usize],
    passing: &[usize],
    facts: &JudgedFacts,
) -> Vec<Separation> {
    let mut out: Vec<Separation> = candidates
        .iter()
        .filter_map(|&name| {
            let values = |side: &[usize]| -> BTreeSet<&str> {
                side.iter()
                    .map(|&j| facts.get(j, name).unwrap_or("(none)"))
                    .collect()
            };
            let (failing, passing) = (values(failing), values(passing));
            (!failing.is_empty() && !passing.is_empty() && failing.is_disjoint(&passing)).then(
                || Separation {
                    fact: name.to_string(),
                    failing: failing.into_iter().map(str::to_string).collect(),
                    passing: passing.into_iter().map(str::to_string).collect(),
                },
            )
        })
        .collect();
    out.sort_by_key(|s| fact_order(&s.fact));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pairs: &[(&str, &str)]) -> Facts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn submission(name: &str, json: &str) -> Submission {
        let (kind, machine, runs, graded) =
            crate::views::class::read::parse(json.as_bytes()).unwrap();
        Submission {
            file: name.into(),
            kind,
            machine,
            runs,
            graded,
        }
    }

    #[test]
    fn a_check_listed_twice_or_also_as_not_applicable_counts_once_as_failed() {
        let check = r#"{"step": 1, "check": {"id": "x", "description": "d"}}"#;
        let doc = |machine: &str, failed: &str, na: &str| {
            format!(
                r#"{{"passed": false, "machine": {{"kernel": "{machine}"}}, "runs": [
                {{"lab": "heap", "impl": "c", "result": "fail", "checks_passed": 1,
                  "checks_total": 2, "failed_checks": [{failed}],
                  "not_applicable_checks": [{na}]}}]}}"#
            )
        };
        let class = merge(
            vec![
                submission("a", &doc("6.1", &format!("{check}, {check}"), check)),
                submission("b", &doc("6.12", "", &format!("{check}, {check}"))),
                submission("c", &doc("6.12", "", "")),
            ],
            Vec::new(),
            &|_, _| None,
        );
        assert_eq!(class.checks.len(), 1);
        let c = &class.checks[0];
        // Groups: B (6.12, two machines) first, then A.
        assert_eq!(class.groups[0].facts.get("kernel"), Some("6.12"));
        assert_eq!(
            (c.failed.clone(), c.passed.clone(), c.not_applicable.clone()),
            (vec![0, 1], vec![1, 0], vec![1, 0])
        );
        assert_eq!(c.separating[0].fact, "kernel");
        assert!(!c.lab_known);
    }

    #[test]
    fn groups_are_named_like_spreadsheet_columns() {
        assert_eq!(group_name(0), "A");
        assert_eq!(group_name(25), "Z");
        assert_eq!(group_name(26), "AA");
        assert_eq!(group_name(27), "AB");
        assert_eq!(group_name(26 + 26 * 26), "AAA");
    }

    #[test]
    fn a_fact_separates_only_when_no_value_is_on_both_sides() {
        let maps = [
            facts(&[("libc_version", "2.41"), ("cpus", "2"), ("thp", "always")]),
            facts(&[("libc_version", "2.36"), ("cpus", "2"), ("thp", "never")]),
            facts(&[("libc_version", "2.36"), ("cpus", "4"), ("thp", "always")]),
            facts(&[("libc_version", "2.41"), ("cpus", "8")]),
        ];
        let all = |j: &JudgedFacts, ids: &[usize]| -> BTreeSet<&'static str> {
            let mut names: BTreeSet<&str> = BTreeSet::new();
            for &i in ids {
                for n in j.names(i) {
                    names.insert(
                        ["libc_version", "cpus", "thp", "python_version"]
                            .into_iter()
                            .find(|k| *k == n)
                            .unwrap(),
                    );
                }
            }
            names
        };
        let mut strings = HashSet::new();
        let maps: Vec<FactSet> = maps
            .into_iter()
            .map(|m| FactSet::interned(m.into_iter(), &mut strings))
            .collect();
        let judged = JudgedFacts {
            judged: maps.iter().map(|m| (m, None)).collect(),
        };
        assert_eq!(
            separating(&all(&judged, &[0, 1, 2]), &[0], &[1, 2], &judged),
            vec![Separation {
                fact: "libc_version".into(),
                failing: vec!["2.41".into()],
                passing: vec!["2.36".into()],
            }]
        );
        // Only the candidates are looked at.
        assert!(separating(&BTreeSet::from(["cpus"]), &[0], &[1, 2], &judged).is_empty());
        // The run's facts count over the machine's: the same machine facts,
        // another Python in the run.
        let (py39, py311) = (
            facts(&[("python_version", "3.9.2")]),
            facts(&[("python_version", "3.11.2")]),
        );
        let judged = JudgedFacts {
            judged: vec![(&maps[1], Some(&py39)), (&maps[1], Some(&py311))],
        };
        let names = all(&judged, &[0, 1]);
        assert_eq!(
            separating(&names, &[0], &[1], &judged)[0].failing,
            ["3.9.2"]
        );
        assert_eq!(
            separating(&names, &[0], &[1], &judged).len(),
            1,
            "the machine facts are alike"
        );
        // A fact one side lacks is `(none)` there, and separates.
        let judged = JudgedFacts {
            judged: vec![(&maps[3], Some(&py39)), (&maps[3], None)],
        };
        let names = all(&judged, &[0, 1]);
        assert_eq!(
            separating(&names, &[0], &[1], &judged)[0].passing,
            ["(none)"]
        );
    }
}
