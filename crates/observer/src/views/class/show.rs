//! The class report's three forms: the terminal table ([`text`]), the JSON
//! document of `lab report --json` ([`ReportDocument`],
//! docs/schema/report.schema.json) and the HTML page ([`page`]), and the
//! page is written by `html::write_page` (never through a symbolic link).
//!
//! Every text that comes from the documents (facts, names, messages, file
//! names) went through students' hands: the terminal gets it with its
//! control characters escaped (`\x1b`), the page the same and HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::views::class::merge::{CheckRow, Class, Group, RunRow, Student, Tally};
use crate::views::class::read::SCHEMA;
use crate::views::html::esc;

/// Text from a document, safe on a terminal.
fn shown(text: &str) -> String {
    pmap_view::region::escape_controls(text).into_owned()
}

/// Text from a document, safe in a page.
fn html(text: &str) -> String {
    esc(&shown(text))
}

/// `heap (c)`.
fn run_name(lab: &str, imp: &str) -> String {
    format!("{} ({})", shown(lab), shown(imp))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Groups with a count, by name: `B (80), D (1 of 3)`.
fn on_groups(class: &Class, counts: &[usize]) -> String {
    let parts: Vec<String> = class
        .groups
        .iter()
        .zip(counts)
        .filter(|(_, &n)| n > 0)
        .map(|(g, &n)| {
            if n == g.machines() {
                format!("{} ({n})", g.name)
            } else {
                format!("{} ({n} of {})", g.name, g.machines())
            }
        })
        .collect();
    parts.join(", ")
}

/// Where a run did not pass: `B: 80 failed; C: 7 errors`.
fn not_passed(class: &Class, row: &RunRow) -> String {
    let mut parts = Vec::new();
    for (g, t) in class.groups.iter().zip(&row.by_group) {
        let mut what = Vec::new();
        if t.fail > 0 {
            what.push(format!("{} failed", t.fail));
        }
        if t.error > 0 {
            what.push(plural(t.error, "error", "errors"));
        }
        if t.skip > 0 {
            what.push(format!("{} skipped", t.skip));
        }
        if t.absent > 0 {
            what.push(format!("{} without it", t.absent));
        }
        if !what.is_empty() {
            parts.push(format!("{}: {}", g.name, what.join(", ")));
        }
    }
    parts.join("; ")
}

/// A fact's value in a group, `-` when it has none.
fn fact<'a>(g: &'a Group, name: &str) -> &'a str {
    g.facts.get(name).unwrap_or("-")
}

/// The table for the terminal.
pub fn text(class: &Class) -> String {
    let mut out = String::new();
    let machines = class.documents;
    let _ = writeln!(
        out,
        "lab report: {} read{}, {} in {}",
        plural(machines, "document", "documents"),
        if class.grades == 0 {
            String::new()
        } else {
            format!(
                " ({} lab check, {} lab grade)",
                machines - class.grades,
                class.grades
            )
        },
        plural(machines, "machine", "machines"),
        plural(
            class.groups.len(),
            "group of the same facts",
            "groups of the same facts"
        ),
    );
    if !class.bad.is_empty() {
        let _ = writeln!(
            out,
            "({} could not be read: see the messages on stderr)",
            plural(class.bad.len(), "file", "files")
        );
    }

    // Machines: a line per group, the facts that vary as columns.
    let mut header: Vec<String> = ["group", "machines", "runs passed"]
        .map(String::from)
        .to_vec();
    header.extend(class.varying.iter().map(|f| shown(f)));
    let mut rows = vec![header];
    for g in &class.groups {
        let mut row = vec![
            g.name.clone(),
            g.machines().to_string(),
            format!("{}/{}", g.runs_passed, g.runs_total),
        ];
        row.extend(class.varying.iter().map(|f| shown(fact(g, f))));
        rows.push(row);
    }
    out.push_str("\nMachines, grouped by their facts:\n");
    out.push_str(&table(&rows, &[1, 2]));
    if !class.same.is_empty() {
        let same: Vec<String> = class
            .same
            .iter()
            .map(|(k, v)| format!("{} {}", shown(k), shown(v)))
            .collect();
        let _ = writeln!(out, "The same on every machine: {}.", same.join(", "));
    }

    // Runs: passed where they ran, and where they did not pass.
    let mut rows = vec![["lab", "impl", "passed", "where not"]
        .map(String::from)
        .to_vec()];
    for r in &class.runs {
        let t = r.total();
        rows.push(vec![
            shown(&r.lab),
            shown(&r.imp),
            format!("{}/{}", t.pass, t.ran()),
            not_passed(class, r),
        ]);
    }
    out.push_str("\nRuns (machines where it passed, of those where it ran):\n");
    out.push_str(&table(&rows, &[2]));
    for r in &class.runs {
        for (g, t) in class.groups.iter().zip(&r.by_group) {
            if let Some(m) = &t.message {
                let _ = writeln!(
                    out,
                    "  {} on {}: {}",
                    run_name(&r.lab, &r.imp),
                    g.name,
                    shown(m)
                );
            }
        }
    }

    if !class.students.is_empty() {
        out.push_str("\nStudents (a lab grade --json document each):\n");
        for s in &class.students {
            student_text(&mut out, class, s);
        }
    }

    let (differ, everywhere): (Vec<&CheckRow>, Vec<&CheckRow>) =
        class.checks.iter().partition(|c| c.differs());
    if !differ.is_empty() {
        out.push_str("\nChecks that fail on some machines and pass on others:\n");
        for c in differ {
            check_text(&mut out, class, c);
        }
    }
    if !everywhere.is_empty() {
        out.push_str("\nChecks that fail on every machine where they ran:\n");
        for c in everywhere {
            check_text(&mut out, class, c);
        }
    }
    if class.checks.is_empty() && class.runs.iter().all(|r| r.total().fail == 0) {
        out.push_str("\nNo check failed on any machine.\n");
    }
    out
}

/// How a student's program did: `alice.json: resident, alice.c: 0 of 1
/// checks held (group A)`, then each failed check with what was expected,
/// what was observed, and the exercise's hint.
fn student_text(out: &mut String, class: &Class, s: &Student) {
    let _ = writeln!(
        out,
        "  {}: {}, {}: {} of {} {} held, {} (group {})",
        shown(&s.file),
        shown(&s.exercise),
        shown(&s.program),
        s.held,
        s.total,
        if s.total == 1 { "check" } else { "checks" },
        if s.passed { "passed" } else { "failed" },
        class.groups[s.group].name
    );
    for f in &s.failed {
        let c = &class.checks[f.check];
        let _ = writeln!(
            out,
            "    ✗ step {}, {}: {}\n      expected {}; observed {}",
            c.step,
            shown(&c.id),
            shown(&c.description),
            shown(&f.expected),
            shown(&f.observed)
        );
        if let Some(hint) = &c.hint {
            let _ = writeln!(out, "      hint: {}", shown(hint.trim()));
        }
    }
}

fn check_text(out: &mut String, class: &Class, c: &CheckRow) {
    let _ = writeln!(
        out,
        "  {}, step {}, {}: {}",
        run_name(&c.lab, &c.imp),
        c.step,
        shown(&c.id),
        shown(&c.description)
    );
    let mut on = format!(
        "    failed on {}: {}",
        plural(c.failed_on(), "machine", "machines"),
        on_groups(class, &c.failed)
    );
    if c.passed_on() > 0 {
        let _ = write!(
            on,
            "; passed on {}: {}",
            c.passed_on(),
            on_groups(class, &c.passed)
        );
    }
    if c.not_applicable_on() > 0 {
        let _ = write!(
            on,
            "; not applicable on {}: {}",
            c.not_applicable_on(),
            on_groups(class, &c.not_applicable)
        );
    }
    let _ = writeln!(out, "{on}");
    if c.differs() {
        if c.separating.is_empty() {
            out.push_str(if c.lab_known {
                "    no single fact its lab's checks depend on tells the machines where it failed \
                 from the others\n"
            } else {
                "    no single fact tells the machines where it failed from the others\n"
            });
        } else {
            let facts: Vec<String> = c
                .separating
                .iter()
                .map(|s| {
                    format!(
                        "{} {} where it failed, {} where it passed",
                        shown(&s.fact),
                        shown(&s.failing.join(" or ")),
                        shown(&s.passing.join(" or "))
                    )
                })
                .collect();
            let _ = writeln!(out, "    told apart by: {}", facts.join("; "));
        }
    }
    let _ = writeln!(
        out,
        "    expected {}; observed {} (the first machine where it failed)",
        shown(&c.expected),
        shown(&c.observed)
    );
}

/// Columns padded to their widest cell (by characters); `right` columns
/// aligned right. Two spaces indent each line.
fn table(rows: &[Vec<String>], right: &[usize]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from(" ");
        for (i, cell) in r.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            line.push(' ');
            if right.contains(&i) {
                line += &pad;
                line += cell;
            } else {
                line += cell;
                line += &pad;
            }
            line.push(' ');
        }
        out += line.trim_end();
        out.push('\n');
    }
    out
}

/// `lab report --json` (docs/schema/report.schema.json).
#[derive(Serialize)]
pub struct ReportDocument<'a> {
    pub schema: u64,
    /// Documents read.
    pub documents: usize,
    pub bad_files: Vec<BadFileJson>,
    /// Facts with one value on every machine.
    pub same_facts: &'a BTreeMap<String, String>,
    /// Facts whose value differs between groups.
    pub varying_facts: &'a [String],
    pub groups: Vec<GroupJson<'a>>,
    pub runs: Vec<RunJson<'a>>,
    pub checks: Vec<CheckJson<'a>>,
    /// Each `lab grade --json` document: the program, its score, the
    /// checks it failed with their hints.
    pub students: Vec<StudentJson<'a>>,
}

#[derive(Serialize)]
pub struct StudentJson<'a> {
    pub file: &'a str,
    pub program: &'a str,
    pub exercise: &'a str,
    pub group: &'a str,
    pub passed: bool,
    pub held: u64,
    pub total: u64,
    pub failed_checks: Vec<StudentCheckJson<'a>>,
}

#[derive(Serialize)]
pub struct StudentCheckJson<'a> {
    pub step: u64,
    pub id: &'a str,
    pub description: &'a str,
    pub expected: &'a str,
    pub observed: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
}

#[derive(Serialize)]
pub struct BadFileJson {
    pub file: String,
    pub message: String,
}

#[derive(Serialize)]
pub struct GroupJson<'a> {
    pub group: &'a str,
    pub machines: usize,
    pub facts: &'a crate::views::class::merge::FactSet,
    pub files: &'a [String],
    pub runs_passed: usize,
    pub runs_total: usize,
}

#[derive(Serialize)]
pub struct RunJson<'a> {
    pub lab: &'a str,
    #[serde(rename = "impl")]
    pub imp: &'a str,
    #[serde(flatten)]
    pub total: TallyJson<'a>,
    /// Per group where it ran or was looked for.
    pub by_group: Vec<GroupTallyJson<'a>>,
}

#[derive(Serialize)]
pub struct TallyJson<'a> {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    pub absent: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

impl<'a> TallyJson<'a> {
    fn of(t: &'a Tally, message: bool) -> TallyJson<'a> {
        TallyJson {
            passed: t.pass,
            failed: t.fail,
            skipped: t.skip,
            errors: t.error,
            absent: t.absent,
            message: if message { t.message.as_deref() } else { None },
        }
    }
}

#[derive(Serialize)]
pub struct GroupTallyJson<'a> {
    pub group: &'a str,
    #[serde(flatten)]
    pub tally: TallyJson<'a>,
}

#[derive(Serialize)]
pub struct CheckJson<'a> {
    pub lab: &'a str,
    #[serde(rename = "impl")]
    pub imp: &'a str,
    pub step: u64,
    pub id: &'a str,
    pub description: &'a str,
    pub expected: &'a str,
    pub observed: &'a str,
    /// Fails on some machines and passes on others.
    pub differs: bool,
    pub failed_on: Vec<GroupCount<'a>>,
    pub passed_on: Vec<GroupCount<'a>>,
    pub not_applicable_on: Vec<GroupCount<'a>>,
    pub separating_facts: Vec<SeparationJson<'a>>,
}

#[derive(Serialize)]
pub struct GroupCount<'a> {
    pub group: &'a str,
    pub machines: usize,
}

#[derive(Serialize)]
pub struct SeparationJson<'a> {
    pub fact: &'a str,
    pub failing: &'a [String],
    pub passing: &'a [String],
}

impl<'a> ReportDocument<'a> {
    pub fn of(class: &'a Class) -> ReportDocument<'a> {
        let counts = |counts: &[usize]| -> Vec<GroupCount<'a>> {
            class
                .groups
                .iter()
                .zip(counts)
                .filter(|(_, &n)| n > 0)
                .map(|(g, &n)| GroupCount {
                    group: &g.name,
                    machines: n,
                })
                .collect()
        };
        ReportDocument {
            schema: SCHEMA,
            documents: class.documents,
            bad_files: class
                .bad
                .iter()
                .map(|b| BadFileJson {
                    file: b.file.to_string_lossy().into_owned(),
                    message: b.message.clone(),
                })
                .collect(),
            same_facts: &class.same,
            varying_facts: &class.varying,
            groups: class
                .groups
                .iter()
                .map(|g| GroupJson {
                    group: &g.name,
                    machines: g.machines(),
                    facts: &g.facts,
                    files: &g.files,
                    runs_passed: g.runs_passed,
                    runs_total: g.runs_total,
                })
                .collect(),
            runs: class
                .runs
                .iter()
                .map(|r| {
                    let total = r.total();
                    RunJson {
                        lab: &r.lab,
                        imp: &r.imp,
                        total: TallyJson {
                            message: None,
                            ..TallyJson::of(&total, false)
                        },
                        by_group: class
                            .groups
                            .iter()
                            .zip(&r.by_group)
                            .map(|(g, t)| GroupTallyJson {
                                group: &g.name,
                                tally: TallyJson::of(t, true),
                            })
                            .collect(),
                    }
                })
                .collect(),
            checks: class
                .checks
                .iter()
                .map(|c| CheckJson {
                    lab: &c.lab,
                    imp: &c.imp,
                    step: c.step,
                    id: &c.id,
                    description: &c.description,
                    expected: &c.expected,
                    observed: &c.observed,
                    differs: c.differs(),
                    failed_on: counts(&c.failed),
                    passed_on: counts(&c.passed),
                    not_applicable_on: counts(&c.not_applicable),
                    separating_facts: c
                        .separating
                        .iter()
                        .map(|s| SeparationJson {
                            fact: &s.fact,
                            failing: &s.failing,
                            passing: &s.passing,
                        })
                        .collect(),
                })
                .collect(),
            students: class
                .students
                .iter()
                .map(|s| StudentJson {
                    file: &s.file,
                    program: &s.program,
                    exercise: &s.exercise,
                    group: &class.groups[s.group].name,
                    passed: s.passed,
                    held: s.held,
                    total: s.total,
                    failed_checks: s
                        .failed
                        .iter()
                        .map(|f| {
                            let c = &class.checks[f.check];
                            StudentCheckJson {
                                step: c.step,
                                id: &c.id,
                                description: &c.description,
                                expected: &f.expected,
                                observed: &f.observed,
                                hint: c.hint.as_deref(),
                            }
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Styles of the class page beyond the common ones.
const CLASS_CSS: &str = "td.some { color: #9a6700; font-weight: 600; } \
    .facts td { font-size: 13px; } section { overflow-x: auto; }";

/// The HTML page: machines, runs by group, checks that differ, checks that
/// fail everywhere, files that could not be read.
pub fn page(class: &Class) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<header><h1>pmap lab: class report</h1>\n<p class=\"meta\">{} read, in {} of \
         machines with the same facts{}; made by lab {}</p></header>\n<style>{CLASS_CSS}</style>",
        plural(class.documents, "document", "documents"),
        plural(class.groups.len(), "group", "groups"),
        if class.bad.is_empty() {
            String::new()
        } else {
            format!(
                "; {} could not be read",
                plural(class.bad.len(), "file", "files")
            )
        },
        env!("CARGO_PKG_VERSION"),
    );

    // Machines.
    body.push_str(
        "<section id=\"machines\"><h2>Machines, grouped by their facts</h2>\n<table class=\"facts\">\
         <tr><th>group</th><th>machines</th><th>runs passed</th>",
    );
    for f in &class.varying {
        let _ = write!(
            body,
            "<th title=\"{}\">{}</th>",
            html(crate::measure::machine::words(f)),
            html(f)
        );
    }
    body.push_str("<th>all facts, files</th></tr>\n");
    for g in &class.groups {
        let all = g.runs_passed == g.runs_total;
        let _ = write!(
            body,
            "<tr id=\"group-{name}\"><td>{name}</td><td class=\"num\">{n}</td>\
             <td class=\"num {class}\">{p}/{t}</td>",
            name = esc(&g.name),
            n = g.machines(),
            class = if all { "pass" } else { "fail" },
            p = g.runs_passed,
            t = g.runs_total,
        );
        for f in &class.varying {
            let _ = write!(body, "<td class=\"mono\">{}</td>", html(fact(g, f)));
        }
        let facts: Vec<String> = g
            .facts
            .iter()
            .map(|(k, v)| format!("{} {}", html(k), html(v)))
            .collect();
        let files: Vec<String> = g.files.iter().map(|f| html(f)).collect();
        let _ = writeln!(
            body,
            "<td><details><summary>{} facts, {}</summary><p class=\"note\">{}</p>\
             <p class=\"note mono\">{}</p></details></td></tr>",
            g.facts.len(),
            plural(g.files.len(), "file", "files"),
            facts.join(", "),
            files.join("<br>"),
        );
    }
    body.push_str("</table>\n");
    if !class.same.is_empty() {
        let same: Vec<String> = class
            .same
            .iter()
            .map(|(k, v)| format!("{} <code>{}</code>", html(k), html(v)))
            .collect();
        let _ = writeln!(
            body,
            "<p class=\"note\">The same on every machine: {}.</p>",
            same.join(", ")
        );
    }
    body.push_str("</section>\n");

    // Runs × groups.
    body.push_str(
        "<section id=\"runs\"><h2>Runs</h2>\n<p class=\"note\">Machines where the run passed, \
         of those in the group where it ran.</p>\n<table><tr><th>lab</th><th>implementation</th>\
         <th>all</th>",
    );
    for g in &class.groups {
        let _ = write!(body, "<th>{}</th>", esc(&g.name));
    }
    body.push_str("</tr>\n");
    for r in &class.runs {
        let t = r.total();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td>{}",
            html(&r.lab),
            html(&r.imp),
            tally_cell(&t)
        );
        for t in &r.by_group {
            body.push_str(&tally_cell(t));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</table>\n");
    for r in &class.runs {
        for (g, t) in class.groups.iter().zip(&r.by_group) {
            if let Some(m) = &t.message {
                let _ = writeln!(
                    body,
                    "<p>{} on group {}:</p><pre class=\"message\">{}</pre>",
                    html(&run_name(&r.lab, &r.imp)),
                    esc(&g.name),
                    html(m)
                );
            }
        }
    }
    body.push_str("</section>\n");

    if !class.students.is_empty() {
        students_html(&mut body, class);
    }

    let (differ, everywhere): (Vec<&CheckRow>, Vec<&CheckRow>) =
        class.checks.iter().partition(|c| c.differs());
    if !differ.is_empty() {
        body.push_str(
            "<section id=\"differ\"><h2>Checks that fail on some machines and pass on others</h2>\n",
        );
        for c in differ {
            check_html(&mut body, class, c);
        }
        body.push_str("</section>\n");
    }
    if !everywhere.is_empty() {
        body.push_str(
            "<section id=\"everywhere\"><h2>Checks that fail on every machine where they ran</h2>\n",
        );
        for c in everywhere {
            check_html(&mut body, class, c);
        }
        body.push_str("</section>\n");
    }
    if !class.bad.is_empty() {
        body.push_str(
            "<section id=\"bad\"><h2>Files that could not be read</h2>\n<pre class=\"message\">",
        );
        for b in &class.bad {
            let _ = writeln!(body, "{}", esc(&b.to_string()));
        }
        body.push_str("</pre></section>\n");
    }
    format!(
        "{}{body}</body>\n</html>\n",
        crate::views::html::head("pmap lab: class report")
    )
}

fn tally_cell(t: &Tally) -> String {
    let ran = t.ran();
    if ran == 0 {
        let what = if t.skip > 0 { "skipped" } else { "-" };
        return format!("<td class=\"na\">{what}</td>");
    }
    let class = if t.pass == ran {
        "pass"
    } else if t.pass == 0 {
        "fail"
    } else {
        "some"
    };
    format!("<td class=\"num {class}\">{}/{ran}</td>", t.pass)
}

/// Each student's program: file, exercise, score, group, and the checks it
/// failed with what was observed and the hint.
fn students_html(out: &mut String, class: &Class) {
    out.push_str(
        "<section id=\"students\"><h2>Students</h2>\n<p class=\"note\">One <code>lab grade \
         --json</code> document each: the program, its score, and each check it failed with the \
         exercise's hint.</p>\n<table><tr><th>file</th><th>exercise</th><th>program</th>\
         <th>checks held</th><th>group</th><th>failed checks</th></tr>\n",
    );
    for s in &class.students {
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td>\
             <td class=\"num {}\">{}/{}</td><td>{}</td><td>",
            html(&s.file),
            html(&s.exercise),
            html(&s.program),
            if s.passed { "pass" } else { "fail" },
            s.held,
            s.total,
            esc(&class.groups[s.group].name),
        );
        for f in &s.failed {
            let c = &class.checks[f.check];
            let _ = write!(
                out,
                "<p>✗ step {} · <code>{}</code>: {}<br><span class=\"note\">expected {}; \
                 observed {}</span>",
                c.step,
                html(&c.id),
                html(&c.description),
                html(&f.expected),
                html(&f.observed)
            );
            if let Some(hint) = &c.hint {
                let _ = write!(
                    out,
                    "<br><span class=\"note\">hint: {}</span>",
                    html(hint.trim())
                );
            }
            out.push_str("</p>");
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table></section>\n");
}

fn check_html(out: &mut String, class: &Class, c: &CheckRow) {
    let _ = writeln!(
        out,
        "<article class=\"check\"><h3>{} · step {} · <code>{}</code></h3>\n<p>{}</p>\n\
         <table><tr><th></th><th>machines</th><th>groups</th></tr>\n\
         <tr><td class=\"fail\">✗ failed</td><td class=\"num\">{}</td><td>{}</td></tr>\n\
         <tr><td class=\"pass\">✓ passed</td><td class=\"num\">{}</td><td>{}</td></tr>\n\
         <tr><td class=\"na\">– n/a</td><td class=\"num\">{}</td><td>{}</td></tr></table>",
        html(&run_name(&c.lab, &c.imp)),
        c.step,
        html(&c.id),
        html(&c.description),
        c.failed_on(),
        esc(&on_groups(class, &c.failed)),
        c.passed_on(),
        esc(&on_groups(class, &c.passed)),
        c.not_applicable_on(),
        esc(&on_groups(class, &c.not_applicable)),
    );
    if c.differs() {
        if c.separating.is_empty() {
            out.push_str(if c.lab_known {
                "<p class=\"note\">No single fact its lab's checks depend on tells the machines \
                 where it failed from the others.</p>\n"
            } else {
                "<p class=\"note\">No single fact tells the machines where it failed from the \
                 others.</p>\n"
            });
        } else {
            out.push_str(
                "<table class=\"separating\"><tr><th>fact that tells them apart</th>\
                 <th>where it failed</th><th>where it passed</th></tr>\n",
            );
            for s in &c.separating {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                    html(&s.fact),
                    html(&s.failing.join(", ")),
                    html(&s.passing.join(", "))
                );
            }
            out.push_str("</table>\n");
        }
    }
    let _ = writeln!(
        out,
        "<p class=\"note\">expected {}; observed {} (the first machine where it failed)</p></article>",
        html(&c.expected),
        html(&c.observed)
    );
}
