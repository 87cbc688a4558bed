//! `mesh` through the real binary: fixture pairs of two snapshots, the
//! report formats and exit codes shared with `check`, and bad input.

use serde_json::Value;

mod common;
use common::{core_fixture, doctor};

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
    assert!(err.contains("two snapshots are named \"shop-eu\""), "{err}");
    let (code, _, err) = mesh(&[&a, "/nonexistent/snapshot"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
}
