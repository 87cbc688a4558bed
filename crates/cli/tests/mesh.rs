//! `mesh` through the real binary: fixture pairs of two snapshots, the
//! report formats and exit codes shared with `check`, and bad input.

use serde_json::Value;

mod common;
use common::{core_fixture, doctor, temp_dir};

/// (exit code, stdout, stderr) of `mesh ARGS`.
fn mesh(args: &[&str]) -> (i32, String, String) {
    doctor(&[&["mesh"], args].concat())
}

#[test]
fn mesh_reports_like_check() {
    let (a, b) = (
        core_fixture("MESH003/fires/a"),
        core_fixture("MESH003/fires/b"),
    );
    let (code, out, err) = mesh(&[&a, &b, "--as-of", "2026-11-26"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("MESH003 mesh-duplicate-cluster-identity — ClusterPair shop-eu ↔ shop-us"),
        "{out}"
    );
    let (code, json, _) = mesh(&[&a, &b, "--format", "json", "--fail-on", "none"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["cluster"]["name"], "shop-eu, shop-us");
    assert_eq!(v["evaluated_rules"].as_array().unwrap().len(), 4);
    // A healthy pair exits 0.
    let (qa, qb) = (
        core_fixture("MESH005/quiet/a"),
        core_fixture("MESH005/quiet/b"),
    );
    let (code, _, err) = mesh(&[&qa, &qb]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn mesh_bad_input_exits_2() {
    let a = core_fixture("MESH003/fires/a");
    let (code, _, err) = mesh(&[&a]);
    assert_eq!(code, 2, "one snapshot is not a mesh: {err}");
    let (code, _, err) = mesh(&[&a, &a]);
    assert_eq!(code, 2);
    assert!(
        err.contains("are the same cluster (arn:aws:eks:eu-west-1:111122223333:cluster/shop-eu)"),
        "{err}"
    );
    let (code, _, err) = mesh(&[&a, "/nonexistent/snapshot"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
}

/// A copy of a MESH004 fixture snapshot renamed to EKS cluster `prod` in
/// `region`, with Cilium `cluster-name: prod` and `cluster-id: 7`.
fn prod_in(dir: &std::path::Path, from: &str, region: &str) -> String {
    let out = dir.join(region);
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(core_fixture(from)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if name == "eks-cluster.json" {
            doc["cluster"]["name"] = "prod".into();
            doc["cluster"]["arn"] =
                format!("arn:aws:eks:{region}:111122223333:cluster/prod").into();
        }
        if name == "k8s-cilium-config.json" {
            doc["data"]["cluster-name"] = "prod".into();
            doc["data"]["cluster-id"] = "7".into();
        }
        std::fs::write(out.join(name), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    out.display().to_string()
}

#[test]
fn two_clusters_named_prod_in_two_regions_are_two_clusters() {
    let dir = temp_dir("mesh-prod");
    let eu = prod_in(dir.path(), "MESH004/fires/a", "eu-west-1");
    let us = prod_in(dir.path(), "MESH004/fires/b", "us-east-1");
    let (code, json, err) = mesh(&[&eu, &us, "--format", "json", "--as-of", "2026-11-26"]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"MESH003"), "{rules:?}");
    assert!(rules.contains(&"MESH004"), "{rules:?}");
    assert_eq!(
        v["cluster"]["name"],
        "prod (eu-west-1, 111122223333), prod (us-east-1, 111122223333)"
    );
}

#[test]
fn mesh_applies_suppressions_and_reports_skipped_inputs() {
    let dir = temp_dir("mesh-suppress");
    let eu = prod_in(dir.path(), "MESH004/fires/a", "eu-west-1");
    let us = prod_in(dir.path(), "MESH004/fires/b", "us-east-1");
    std::fs::write(
        format!("{us}/notes.txt"),
        "hand-written notes, not a dump\n",
    )
    .unwrap();
    let config = dir.path().join("doctor.yaml");
    std::fs::write(
        &config,
        "ignore:\n  - rule: MESH004\n    reason: the pools are migrated next week\n",
    )
    .unwrap();
    let (_, json, err) = mesh(&[
        &eu,
        &us,
        "--format",
        "json",
        "--config",
        config.to_str().unwrap(),
        "--fail-on",
        "none",
    ]);
    let v: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {err}"));
    let active: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(!active.contains(&"MESH004"), "{active:?}");
    assert!(
        v["suppressed"].to_string().contains("MESH004"),
        "{}",
        v["suppressed"]
    );
    let skipped = v["skipped_inputs"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0]["path"]
        .as_str()
        .unwrap()
        .starts_with("prod (us-east-1, 111122223333): "));
}
