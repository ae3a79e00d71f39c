//! The JSON Schemas of docs/schema/ against real documents: a document lab
//! prints is valid, and the same document broken is not (the validator
//! really runs). Every other test that reads `--json` validates it too
//! (`util::json_doc`).

use serde_json::{json, Value};

use crate::util::{check_schema, json_doc, json_docs, lab, lab_json, Doc};

/// A way to break a document, named.
type Break = (&'static str, fn(&mut Value));

/// `doc` is valid, and each of `breaks` applied to a copy of it is not.
fn valid_but_not_broken(kind: Doc, doc: &Value, breaks: &[Break]) {
    check_schema(kind, doc).unwrap();
    for (what, brk) in breaks {
        let mut broken = doc.clone();
        brk(&mut broken);
        assert_ne!(&broken, doc, "{what}: the document did not change");
        assert!(
            check_schema(kind, &broken).is_err(),
            "{kind:?} with {what} passed validation"
        );
    }
}

#[test]
fn a_lab_run_is_valid_and_a_broken_one_is_not() {
    let run = lab_json(&["heap", "--no-pause", "--json"], 0);
    valid_but_not_broken(
        Doc::LabRun,
        &run,
        &[
            ("no totals", |d| {
                d["steps"][1].as_object_mut().unwrap().remove("totals");
            }),
            ("an address as a number", |d| {
                d["steps"][0]["regions"][0]["start"] = json!(4096)
            }),
            ("an unknown region kind", |d| {
                d["steps"][0]["regions"][0]["kind"] = json!("bss")
            }),
            ("a negative size", |d| {
                d["steps"][0]["regions"][0]["size_kib"] = json!(-4)
            }),
            ("a field the contract does not have", |d| {
                d["steps"][2]["changes"][0]["surprise"] = json!(1)
            }),
            ("an n/a check without its reason", |d| {
                let c = &mut d["steps"][1]["checks"][0];
                c["status"] = json!("n/a");
                c["passed"] = json!(false);
                c.as_object_mut().unwrap().remove("not_applicable");
            }),
            ("a passed check that failed", |d| {
                d["steps"][1]["checks"][0]["status"] = json!("fail")
            }),
            ("an unknown implementation", |d| d["impl"] = json!("java")),
            ("a residency state", |d| {
                let changes = d["steps"][3]["changes"].as_array_mut().unwrap();
                let c = changes.iter_mut().find(|c| c.get("residency").is_some());
                c.unwrap()["residency"][0]["state"] = json!("maybe")
            }),
        ],
    );
    // A lab's run is not an observed program's (no command), and back.
    assert!(check_schema(Doc::Observe, &run).is_err());
}

#[test]
fn a_pmap_document_is_valid_and_a_broken_one_is_not() {
    let pid = std::process::id().to_string();
    let out = lab(&["pmap", "--json", &pid, &pid]);
    assert!(out.status.success());
    let docs = json_docs(Doc::Pmap, &out.stdout);
    assert_eq!(docs.len(), 2);
    valid_but_not_broken(
        Doc::Pmap,
        &docs[0],
        &[
            ("no regions", |d| {
                d.as_object_mut().unwrap().remove("regions");
            }),
            ("bad perms", |d| d["regions"][0]["perms"] = json!("rwx")),
            ("an upper-case address", |d| {
                let a = d["regions"][0]["end"].as_str().unwrap().to_uppercase();
                d["regions"][0]["end"] = json!(a.replace("0X", "0x") + "F")
            }),
            ("a total missing", |d| {
                d["totals"].as_object_mut().unwrap().remove("rss_kib");
            }),
            ("negative page tables", |d| d["page_tables_kib"] = json!(-4)),
        ],
    );
    // Two documents: the second is validated too (and is the same process).
    assert_eq!(docs[1]["pid"], docs[0]["pid"]);
    // A live process's page tables are there: it runs through them.
    assert!(
        docs[0]["page_tables_kib"].as_u64().is_some_and(|k| k > 0),
        "{}",
        docs[0]
    );
    let explained = lab(&["explain", "--json", &pid]);
    let explained = json_doc(Doc::Explain, &explained.stdout);
    valid_but_not_broken(
        Doc::Explain,
        &explained,
        &[
            ("a region without its explanation", |d| {
                d["regions"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("explanation");
            }),
            ("a region with a stray field", |d| {
                d["regions"][0]["why"] = json!("")
            }),
        ],
    );
    // An explained region is not a plain one.
    assert!(check_schema(Doc::Pmap, &explained).is_err());
}

/// Every schema compiles, and an empty object is none of the documents.
#[test]
fn every_schema_compiles_and_refuses_an_empty_object() {
    for doc in Doc::ALL {
        assert!(check_schema(doc, &json!({})).is_err(), "{doc:?}");
    }
}

/// `lab check` where no compiler can be found: the C demo's run is an error,
/// or skipped with --skip-missing; both documents are valid, and a run that
/// did not complete cannot carry counts, nor lack its message.
#[test]
fn a_suite_with_a_skipped_and_a_failed_run_is_valid() {
    let check = |extra: &[&str]| {
        let out = std::process::Command::new(crate::util::lab_exe())
            .args(["check", "heap", "--json"])
            .args(extra)
            .env("PATH", "/nonexistent")
            .env_remove("CC")
            .env("XDG_DATA_HOME", crate::util::data_home())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        json_doc(Doc::Check, &out.stdout)
    };
    let results = |doc: &Value| -> Vec<String> {
        doc["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r["impl"].as_str().unwrap(), r["result"]))
            .collect()
    };
    let errored = check(&[]);
    assert_eq!(results(&errored), ["rust \"pass\"", "c \"error\""]);
    let skipped = check(&["--skip-missing"]);
    assert_eq!(results(&skipped), ["rust \"pass\"", "c \"skip\""]);
    for doc in [&errored, &skipped] {
        valid_but_not_broken(
            Doc::Check,
            doc,
            &[
                ("a message-less error", |d| {
                    d["runs"][1].as_object_mut().unwrap().remove("message");
                }),
                ("counts of a run that did not complete", |d| {
                    d["runs"][1]["checks_total"] = json!(3)
                }),
                ("a message for a run that completed", |d| {
                    d["runs"][0]["message"] = json!("?")
                }),
                ("a completed run without its counts", |d| {
                    d["runs"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("checks_passed");
                }),
                ("an unknown result", |d| {
                    d["runs"][0]["result"] = json!("ok")
                }),
            ],
        );
    }
}
