//! The corpus of real failures (`corpus/`): `check` on each case's inputs,
//! held to what its `case.json` says the tool diagnoses, and the count the
//! README quotes (`cargo test -p eks-cilium-doctor --test corpus -- --nocapture`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{doctor, here};

/// The severities in the report's order, least first.
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or_else(|| panic!("unknown severity {severity:?}"))
}

fn corpus_dir() -> PathBuf {
    here("../../corpus")
}

/// The case directories below `dir` (those with a `case.json`), sorted.
fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("case.json").is_file())
        .collect();
    out.sort();
    out
}

/// `check` on the case's inputs, with its extra arguments: the JSON report.
fn check(case_dir: &Path, case: &Value) -> Value {
    let input = case_dir.join("input").display().to_string();
    let mut args = vec![
        "check",
        input.as_str(),
        "--format",
        "json",
        "--as-of",
        "2026-12-01",
    ];
    let extra: Vec<String> = case["args"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    args.extend(extra.iter().map(String::as_str));
    let (code, stdout, stderr) = doctor(&args);
    assert!(
        code == 0 || code == 1,
        "{}: check exited {code}: {stderr}",
        case_dir.display()
    );
    serde_json::from_str(&stdout).unwrap()
}

/// The finding's words a reader sees: message, evidence and remediation.
fn text_of(finding: &Value) -> String {
    let mut text = finding["message"].as_str().unwrap_or_default().to_string();
    for line in finding["evidence"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(line.as_str().unwrap_or_default());
    }
    text.push('\n');
    text.push_str(finding["remediation"].as_str().unwrap_or_default());
    text.to_lowercase()
}

/// The first finding that meets one of the case's diagnoses: its rule code.
fn diagnosis(case: &Value, report: &Value) -> Option<String> {
    let findings = report["findings"].as_array().unwrap();
    for expected in case["diagnosis"].as_array().unwrap() {
        let rule = expected["rule"].as_str().unwrap();
        let least = rank(expected["severity_at_least"].as_str().unwrap());
        let words: Vec<String> = expected["mentions_any"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_lowercase())
            .collect();
        assert!(!words.is_empty(), "{}: mentions_any is empty", case["id"]);
        let met = findings.iter().any(|f| {
            f["rule"] == rule
                && rank(f["severity"].as_str().unwrap()) >= least
                && words.iter().any(|w| text_of(f).contains(w))
        });
        if met {
            return Some(rule.to_string());
        }
    }
    None
}

#[test]
fn every_case_is_diagnosed_as_its_case_file_says() {
    let mut table = String::from("| case | root cause stated | diagnosed by |\n|---|---|---|\n");
    let mut wrong = Vec::new();
    let (mut diagnosed, mut stated, mut diagnosed_stated, mut total) = (0, 0, 0, 0);
    for dir in cases(&corpus_dir()) {
        let case: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let id = case["id"].as_str().unwrap().to_string();
        assert_eq!(
            dir.file_name().unwrap().to_str().unwrap(),
            id,
            "the directory is named after the case"
        );
        let report = check(&dir, &case);
        let by = diagnosis(&case, &report);
        let root_cause_stated = case["root_cause_stated"].as_bool().unwrap();
        total += 1;
        stated += usize::from(root_cause_stated);
        if by.is_some() {
            diagnosed += 1;
            diagnosed_stated += usize::from(root_cause_stated);
        }
        if case["diagnosed"].as_bool().unwrap() != by.is_some() {
            wrong.push(format!(
                "{id}: case.json says diagnosed={}, the tool {}",
                case["diagnosed"],
                match &by {
                    Some(rule) => format!("diagnoses it ({rule})"),
                    None => "does not".to_string(),
                }
            ));
        }
        table.push_str(&format!(
            "| {id} | {} | {} |\n",
            if root_cause_stated { "yes" } else { "no" },
            by.as_deref().unwrap_or("—")
        ));
    }
    println!("{table}");
    println!(
        "{diagnosed} of {total} corpus cases diagnosed; {diagnosed_stated} of the {stated} whose thread states a root cause"
    );
    assert!(total > 0, "no corpus cases found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn quiet_clusters_raise_nothing_from_the_watched_rules() {
    let quiet = corpus_dir().join("quiet");
    if !quiet.is_dir() {
        return;
    }
    for dir in cases(&quiet) {
        let case: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let below = rank(case["quiet"]["severity_below"].as_str().unwrap());
        let prefixes: Vec<&str> = case["quiet"]["rules_prefix"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let report = check(&dir, &case);
        for finding in report["findings"].as_array().unwrap() {
            let rule = finding["rule"].as_str().unwrap();
            if prefixes.iter().any(|p| rule.starts_with(p)) {
                assert!(
                    rank(finding["severity"].as_str().unwrap()) < below,
                    "{}: {rule} {} on a healthy cluster: {}",
                    dir.display(),
                    finding["severity"],
                    finding["message"]
                );
            }
        }
    }
}
