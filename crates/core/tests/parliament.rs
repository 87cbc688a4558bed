//! Every generated operator policy (each Cilium minor with each combination
//! of its conditional features) against parliament. The only finding
//! allowed is the LOW `RESOURCE_STAR`: the docs scope the actions to no
//! resource (see `generate::iam_policy`).

mod validators;

use std::collections::BTreeSet;
use std::process::Command;

use doctor_core::generate::iam_policy::{operator_policy, FeatureChoice};
use doctor_core::knowledge::Knowledge;
use validators::{run, tool, Scratch};

const INSTALL: &str = "pip install parliament";

/// Each minor's policy for every subset of its conditional features.
fn all_policies() -> Vec<(String, String)> {
    let k = Knowledge::embedded();
    let mut out = Vec::new();
    for c in &k.cilium {
        let features: Vec<&str> = c
            .eni_conditional_actions
            .iter()
            .map(|f| f.feature.as_str())
            .collect();
        for mask in 0..(1u32 << features.len()) {
            let mut choice = FeatureChoice::default();
            for (i, f) in features.iter().enumerate() {
                let set = if mask & (1 << i) != 0 {
                    &mut choice.enable
                } else {
                    &mut choice.disable
                };
                set.insert(f.to_string());
            }
            let policy = operator_policy(k, c.minor, &choice).unwrap();
            out.push((
                format!("{}-{mask:02}.json", c.minor),
                serde_json::to_string_pretty(&policy).unwrap(),
            ));
        }
    }
    out
}

/// The findings of parliament's `--json` output, one JSON object a line.
fn findings(output: &str) -> Vec<serde_json::Value> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{output}")))
        .collect()
}

fn assert_only_resource_star(found: &[serde_json::Value]) {
    for f in found {
        assert_eq!(f["severity"], "LOW", "a finding above LOW: {f}");
        assert_eq!(f["issue"], "RESOURCE_STAR", "an unexpected finding: {f}");
    }
}

#[test]
fn parliament_finds_nothing_above_low_in_any_generated_policy() {
    let Some(parliament) = tool("parliament", INSTALL) else {
        return;
    };
    let scratch = Scratch::new("parliament");
    let policies = all_policies();
    assert!(policies.len() > 100, "{}", policies.len());
    for (name, text) in &policies {
        scratch.write(name, text);
    }
    let (_, output) = run(Command::new(&parliament)
        .arg("--directory")
        .arg(&scratch.0)
        .args(["--include_policy_extension", "json", "--json"]));
    let found = findings(&output);
    assert_only_resource_star(&found);
    // Every file was read: each has its one RESOURCE_STAR finding.
    let files: BTreeSet<&str> = found
        .iter()
        .filter_map(|f| f["location"]["filepath"].as_str())
        .collect();
    assert_eq!(files.len(), policies.len(), "{output}");
}

#[test]
fn parliament_string_mode_reads_a_generated_policy() {
    let Some(parliament) = tool("parliament", INSTALL) else {
        return;
    };
    // --file needs a TTY on stdin; --string does not (ecosystem notes).
    let (name, text) = all_policies().pop().unwrap();
    let (_, output) = run(Command::new(&parliament).args(["--string", &text, "--json"]));
    let found = findings(&output);
    assert_eq!(found.len(), 1, "{name}: {output}");
    assert_only_resource_star(&found);
}
