//! `plan` through the real binary: the upgrade runbook of the plan fixture
//! in both formats, and bad input (exit 2 with one `error:` line).

use serde_json::Value;

mod common;
use common::{core_fixture, doctor, examples};

fn fixture(path: &str) -> String {
    core_fixture(&format!("plan/{path}"))
}

/// (exit code, stdout, stderr) of `plan ARGS`.
fn plan(args: &[&str]) -> (i32, String, String) {
    doctor(&[&["plan"], args].concat())
}

fn upgrade(to: &str, extra: &[&str]) -> (i32, String, String) {
    let snapshot = fixture("eks130-cilium115/snapshot");
    let values = fixture("eks130-cilium115/cilium-values.yaml");
    let mut args = vec![
        "upgrade",
        "--to",
        to,
        &snapshot,
        "--helm-values",
        &values,
        "--as-of",
        "2025-06-01",
    ];
    args.extend_from_slice(extra);
    plan(&args)
}

#[test]
fn upgrade_markdown_and_json() {
    let (code, md, err) = upgrade("1.33", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(md.starts_with("# Upgrade plan: shop-prod to Kubernetes 1.33\n"));
    assert!(md.contains("helm upgrade cilium cilium/cilium --namespace kube-system --version 1.16.19 -f cilium-values.yaml"));
    assert!(
        md.contains("aws eks update-cluster-version --name shop-prod --kubernetes-version 1.33")
    );

    let (code, json, _) = upgrade("1.33", &["--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["to"]["cilium"], "1.18.13");
    assert_eq!(v["steps"].as_array().unwrap().len(), 6);
    assert_eq!(v["steps"][0]["kind"], "cilium");
    assert_eq!(v["steps"][0]["helm_migrations"][1]["key"], "tunnel");
}

#[test]
fn upgrade_bad_input_exits_2() {
    for (to, message) in [
        ("1.30", "is not above the running Kubernetes 1.30"),
        ("1.28", "plan upgrade only moves forward (EKS rolls a control plane back only by 1 minor, within 7 days"),
        ("1.99", "unknown Kubernetes version 1.99"),
    ] {
        let (code, out, err) = upgrade(to, &[]);
        assert_eq!(code, 2, "--to {to}");
        assert!(out.is_empty());
        assert!(err.starts_with("error: ") && err.contains(message), "{err}");
    }
    let (code, _, err) = upgrade("one.two", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("not a version"), "{err}");
    let (code, _, err) = upgrade("1.33", &["--format", "sarif"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown plan format"), "{err}");
    // A snapshot without the versions: only the VPCs of the demo.
    let vpcs = format!("{}/ec2-vpcs.json", examples("demo"));
    let (code, _, err) = plan(&["upgrade", "--to", "1.33", &vpcs]);
    assert_eq!(code, 2);
    assert!(err.contains("no Kubernetes version"), "{err}");
    let (code, _, err) = plan(&["upgrade", "--to", "1.33", "/nonexistent/snapshot"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn rollback_markdown_and_json() {
    let (code, md, err) = plan(&["rollback", &examples("demo")]);
    assert_eq!(code, 0, "{err}");
    assert!(md.starts_with("# Rollback plan: shop-prod from Cilium back to the Amazon VPC CNI\n"));
    let (code, json, _) = plan(&["rollback", &examples("healthy"), "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["steps"][1]["title"], "Bring aws-node back");
}

#[test]
fn rollback_bad_input_exits_2() {
    let vpcs = format!("{}/ec2-vpcs.json", examples("demo"));
    let (code, out, err) = plan(&["rollback", &vpcs]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("no DaemonSets"), "{err}");
    let (code, _, _) = plan(&["rollback"]);
    assert_eq!(code, 2);
}

/// `plan upgrade` runs through the engine as `check` does: a finding the
/// suppression file hides is not in the plan either.
#[test]
fn upgrade_leaves_suppressed_findings_out() {
    let dir = common::temp_dir("plan-suppress");
    let config = dir.path().join("doctor.yaml");
    std::fs::write(
        &config,
        "ignore:\n  - rule: VER004\n    reason: the Cilium upgrade is this plan\n",
    )
    .unwrap();
    let rules = |extra: &[&str]| -> Vec<String> {
        let (code, json, err) = upgrade("1.33", &[&["--format", "json"], extra].concat());
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&json).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(rules(&[]).contains(&"VER004".to_string()));
    let suppressed = rules(&["--config", config.to_str().unwrap()]);
    assert!(
        !suppressed.contains(&"VER004".to_string()),
        "{suppressed:?}"
    );
    assert!(!suppressed.is_empty());
}
