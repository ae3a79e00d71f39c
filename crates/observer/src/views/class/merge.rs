//! The merge of a class's submissions: machines with the same facts make one
//! [`Group`] (with a count); every lab × implementation is tallied per group
//! ([`RunRow`]); every check that failed somewhere is judged on every machine
//! where its run completed ([`CheckRow`]): failed, not applicable, or passed
//! (a `lab check --json` document lists the checks that failed and those that
//! do not apply; any other check of a completed run held). A check that
//! fails on some machines and passes on others comes with the facts that
//! tell those machines apart ([`Separation`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::views::class::read::{BadFile, Submission};

type Facts = BTreeMap<String, String>;

/// The whole class.
#[derive(Debug)]
pub struct Class {
    /// Documents read.
    pub documents: usize,
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
    /// Every check that failed on some machine, in run order, then step.
    pub checks: Vec<CheckRow>,
}

/// Machines with the same facts.
#[derive(Debug)]
pub struct Group {
    /// `A`, `B`, … `Z`, `AA`, …
    pub name: String,
    pub facts: Facts,
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
    pub pass: usize,
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
    /// Machines per group (in the order of [`Class::groups`]).
    pub failed: Vec<usize>,
    pub passed: Vec<usize>,
    pub not_applicable: Vec<usize>,
    /// The facts that tell the failing machines from the passing ones
    /// (empty when it passed nowhere, or when no single fact does).
    pub separating: Vec<Separation>,
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

/// What a machine's document says of a check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Failed,
    Passed,
    NotApplicable,
}

/// A check's identity: lab, implementation, step, id.
type CheckKey = (String, String, u64, String);

/// Merge the submissions (and keep the bad files, for the report to list).
pub fn merge(submissions: &[Submission], bad: Vec<BadFile>) -> Class {
    // Groups: identical facts, most machines first, then by facts.
    let mut by_facts: BTreeMap<&Facts, Vec<usize>> = BTreeMap::new();
    for (i, s) in submissions.iter().enumerate() {
        by_facts.entry(&s.machine).or_default().push(i);
    }
    let mut grouped: Vec<(&Facts, Vec<usize>)> = by_facts.into_iter().collect();
    grouped.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
    let mut group_of = vec![0; submissions.len()];
    for (g, (_, members)) in grouped.iter().enumerate() {
        for &m in members {
            group_of[m] = g;
        }
    }
    let n = grouped.len();

    // Runs, in the order they first appear.
    let mut run_index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut runs: Vec<RunRow> = Vec::new();
    for s in submissions {
        for r in &s.runs {
            run_index
                .entry((r.lab.as_str(), r.imp.as_str()))
                .or_insert_with(|| {
                    runs.push(RunRow {
                        lab: r.lab.clone(),
                        imp: r.imp.clone(),
                        by_group: vec![Tally::default(); n],
                    });
                    runs.len() - 1
                });
        }
    }
    let mut groups: Vec<Group> = grouped
        .iter()
        .enumerate()
        .map(|(g, (facts, members))| Group {
            name: group_name(g),
            facts: (*facts).clone(),
            files: members
                .iter()
                .map(|&m| submissions[m].file.to_string_lossy().into_owned())
                .collect(),
            runs_passed: 0,
            runs_total: 0,
        })
        .collect();
    for (i, s) in submissions.iter().enumerate() {
        let g = group_of[i];
        let mut seen = vec![false; runs.len()];
        for r in &s.runs {
            let k = run_index[&(r.lab.as_str(), r.imp.as_str())];
            if std::mem::replace(&mut seen[k], true) {
                continue; // the same run twice in one document: the first counts
            }
            let t = &mut runs[k].by_group[g];
            match r.result.as_str() {
                "pass" => t.pass += 1,
                "fail" => t.fail += 1,
                "skip" => t.skip += 1,
                _ => t.error += 1,
            }
            if matches!(r.result.as_str(), "skip" | "error") && t.message.is_none() {
                t.message = r.message.clone();
            }
            groups[g].runs_total += 1;
            if matches!(r.result.as_str(), "pass" | "skip") {
                groups[g].runs_passed += 1;
            }
        }
        for (k, seen) in seen.iter().enumerate() {
            if !seen {
                runs[k].by_group[g].absent += 1;
            }
        }
    }

    // Checks that failed anywhere, with what the first failure saw.
    let mut failing: Vec<(CheckKey, usize)> = Vec::new();
    let mut known: HashMap<CheckKey, usize> = HashMap::new();
    let mut rows: Vec<CheckRow> = Vec::new();
    for s in submissions {
        for r in s.runs.iter().filter(|r| r.completed()) {
            for c in &r.failed_checks {
                let key = (r.lab.clone(), r.imp.clone(), c.step, c.check.id.clone());
                if !known.contains_key(&key) {
                    known.insert(key.clone(), rows.len());
                    failing.push((key, run_index[&(r.lab.as_str(), r.imp.as_str())]));
                    rows.push(CheckRow {
                        lab: r.lab.clone(),
                        imp: r.imp.clone(),
                        step: c.step,
                        id: c.check.id.clone(),
                        description: c.check.description.clone(),
                        expected: c.check.expected.clone(),
                        observed: c.check.observed.clone(),
                        failed: vec![0; n],
                        passed: vec![0; n],
                        not_applicable: vec![0; n],
                        separating: Vec::new(),
                    });
                }
            }
        }
    }
    // Each such check on each machine whose run completed, and the facts it
    // was judged by there (the run's, over the machine's).
    let mut judged: Vec<Vec<(Verdict, Judged)>> = vec![Vec::new(); rows.len()];
    for (i, s) in submissions.iter().enumerate() {
        let mut done = vec![false; runs.len()];
        for r in s.runs.iter() {
            let k = run_index[&(r.lab.as_str(), r.imp.as_str())];
            if std::mem::replace(&mut done[k], true) || !r.completed() {
                continue;
            }
            let listed = |list: &[crate::views::class::read::StepCheckIn], step, id: &str| {
                list.iter().any(|c| c.step == step && c.check.id == id)
            };
            let facts = Judged {
                machine: &s.machine,
                run: r.facts.as_ref(),
            };
            for (row, (key, run)) in failing.iter().enumerate() {
                if *run != k {
                    continue;
                }
                let verdict = if listed(&r.failed_checks, key.2, &key.3) {
                    Verdict::Failed
                } else if listed(&r.not_applicable_checks, key.2, &key.3) {
                    Verdict::NotApplicable
                } else {
                    Verdict::Passed
                };
                let counts = match verdict {
                    Verdict::Failed => &mut rows[row].failed,
                    Verdict::Passed => &mut rows[row].passed,
                    Verdict::NotApplicable => &mut rows[row].not_applicable,
                };
                counts[group_of[i]] += 1;
                judged[row].push((verdict, facts));
            }
        }
    }
    for (row, judged) in rows.iter_mut().zip(&judged) {
        row.separating = separating(judged);
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
            vals.insert(g.facts.get(*k).map(String::as_str));
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
        documents: submissions.len(),
        bad,
        groups,
        same,
        varying,
        runs,
        checks: rows,
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

/// The facts a check was judged by on one machine: its run's, over the
/// machine's.
#[derive(Clone, Copy)]
struct Judged<'a> {
    machine: &'a Facts,
    run: Option<&'a Facts>,
}

impl<'a> Judged<'a> {
    fn get(&self, name: &str) -> Option<&'a String> {
        self.run
            .and_then(|r| r.get(name))
            .or_else(|| self.machine.get(name))
    }

    fn names(&self) -> impl Iterator<Item = &'a String> {
        self.machine
            .keys()
            .chain(self.run.into_iter().flat_map(|r| r.keys()))
    }
}

/// The facts whose values where a check failed are none of their values
/// where it passed (machines where it does not apply left out).
fn separating(judged: &[(Verdict, Judged)]) -> Vec<Separation> {
    let names: BTreeSet<&String> = judged.iter().flat_map(|(_, f)| f.names()).collect();
    let mut out: Vec<Separation> = names
        .into_iter()
        .filter_map(|name| {
            let values = |want: Verdict| -> BTreeSet<&str> {
                judged
                    .iter()
                    .filter(|(v, _)| *v == want)
                    .map(|(_, f)| f.get(name).map_or("(none)", String::as_str))
                    .collect()
            };
            let (failing, passing) = (values(Verdict::Failed), values(Verdict::Passed));
            (!failing.is_empty() && !passing.is_empty() && failing.is_disjoint(&passing)).then(
                || Separation {
                    fact: name.clone(),
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
        let on = |i: usize| Judged {
            machine: &maps[i],
            run: None,
        };
        let judged = vec![
            (Verdict::Failed, on(0)),
            (Verdict::Passed, on(1)),
            (Verdict::Passed, on(2)),
            // Not applicable: does not count on either side.
            (Verdict::NotApplicable, on(3)),
        ];
        assert_eq!(
            separating(&judged),
            vec![Separation {
                fact: "libc_version".into(),
                failing: vec!["2.41".into()],
                passing: vec!["2.36".into()],
            }]
        );
        // The run's facts count over the machine's: the same machine facts,
        // another Python in the run.
        let (py39, py311) = (
            facts(&[("python_version", "3.9.2")]),
            facts(&[("python_version", "3.11.2")]),
        );
        let judged = vec![
            (
                Verdict::Failed,
                Judged {
                    machine: &maps[1],
                    run: Some(&py39),
                },
            ),
            (
                Verdict::Passed,
                Judged {
                    machine: &maps[1],
                    run: Some(&py311),
                },
            ),
        ];
        assert_eq!(separating(&judged)[0].failing, ["3.9.2"]);
        assert_eq!(separating(&judged).len(), 1, "the machine facts are alike");
        // A fact one side lacks is `(none)` there, and separates.
        let judged = vec![
            (
                Verdict::Failed,
                Judged {
                    machine: &maps[3],
                    run: Some(&py39),
                },
            ),
            (Verdict::Passed, on(3)),
        ];
        assert_eq!(separating(&judged)[0].passing, ["(none)"]);
        // A check that passes nowhere has nothing to separate.
        assert!(separating(&judged[..1]).is_empty());
    }
}
