//! The VPC CNI formula over the embedded limits reproduces the upstream
//! eni-max-pods table (data/upstream/eni-max-pods.txt) for every type.

use doctor_core::capacity::{capacity, CapacityOptions, Mode};
use doctor_core::knowledge::Knowledge;

/// `(instance type, max pods)` of every table line; comments and blank lines skipped.
fn upstream_table() -> Vec<(String, u32)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/upstream/eni-max-pods.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut fields = line.split_whitespace();
            let (Some(name), Some(pods), None) = (fields.next(), fields.next(), fields.next())
            else {
                panic!("malformed table line {line:?}");
            };
            (
                name.to_string(),
                pods.parse().unwrap_or_else(|_| panic!("{line:?}")),
            )
        })
        .collect()
}

#[test]
fn vpc_cni_max_pods_matches_every_line_of_the_upstream_table() {
    let table = upstream_table();
    assert_eq!(table.len(), 1391);
    let knowledge = Knowledge::embedded();
    let options = CapacityOptions::new(Mode::VpcCni);
    let mismatches: Vec<String> = table
        .iter()
        .filter_map(|(name, expected)| match knowledge.instance(name) {
            None => Some(format!("{name}: not in data/instances.csv")),
            Some(it) => {
                let got = capacity(it, &options);
                (got.max_pods != *expected || got.eks_default_max_pods != *expected)
                    .then(|| format!("{name}: table {expected}, computed {}", got.max_pods))
            }
        })
        .collect();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert_eq!(knowledge.instances.len(), table.len());
}
