//! `plan upgrade` on fixture snapshots (real kubectl / AWS CLI files loaded
//! by the real loaders), with insta snapshots of the runbooks.

use std::path::{Path, PathBuf};

use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::model::Cluster;
use doctor_core::plan::render::{rollback_markdown, upgrade_markdown};
use doctor_core::plan::rollback::plan_rollback;
use doctor_core::plan::upgrade::{plan_upgrade, StepKind, UpgradeRequest};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plan")
        .join(name)
}

fn load(name: &str, helm_values: bool) -> Cluster {
    let dir = fixture(name);
    let options = LoadOptions {
        helm_values: if helm_values {
            vec![dir.join("cilium-values.yaml")]
        } else {
            vec![]
        },
        ..LoadOptions::default()
    };
    load_paths(&[dir.join("snapshot")], &options)
        .expect("fixture loads")
        .cluster
}

fn request(to: &str, as_of: &str) -> UpgradeRequest {
    UpgradeRequest {
        target_kubernetes: to.parse().unwrap(),
        as_of: as_of.parse().unwrap(),
        suppressions: Default::default(),
    }
}

#[test]
fn eks_130_cilium_115_to_133() {
    let cluster = load("eks130-cilium115", true);
    let plan = plan_upgrade(
        &cluster,
        Knowledge::embedded(),
        &request("1.33", "2025-06-01"),
    )
    .unwrap();
    let order: Vec<(StepKind, String)> = plan
        .steps
        .iter()
        .map(|s| (s.kind, format!("{}/{}", s.after.kubernetes, s.after.cilium)))
        .collect();
    // Cilium one minor at a time to 1.18 (the lowest that tests 1.33), every
    // pair tested, then the control plane one minor at a time.
    assert_eq!(
        order,
        vec![
            (StepKind::Cilium, "1.30/1.16.19".to_string()),
            (StepKind::Cilium, "1.30/1.17.18".to_string()),
            (StepKind::Cilium, "1.30/1.18.13".to_string()),
            (StepKind::Kubernetes, "1.31/1.18.13".to_string()),
            (StepKind::Kubernetes, "1.32/1.18.13".to_string()),
            (StepKind::Kubernetes, "1.33/1.18.13".to_string()),
        ]
    );
    assert!(plan.steps.iter().all(|s| s.tested));
    // The removed keys the values set, each at the step that needs it.
    let keys: Vec<Vec<&str>> = plan
        .steps
        .iter()
        .map(|s| s.helm_migrations.iter().map(|m| m.key.as_str()).collect())
        .collect();
    assert_eq!(keys[0], vec!["proxy.prometheus.enabled", "tunnel"]);
    assert_eq!(keys[2], vec!["enableCiliumEndpointSlice"]);
    assert!(keys[1].is_empty() && keys[3..].iter().all(Vec::is_empty));
    // STANDARD policy within 90 days of the end of standard support.
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("--upgrade-policy supportType=EXTENDED")));
    insta::assert_snapshot!("eks130_cilium115_to_133", upgrade_markdown(&plan));
}

#[test]
fn past_extended_support_warns_of_a_forced_upgrade() {
    let cluster = load("eks130-cilium115", true);
    let plan = plan_upgrade(
        &cluster,
        Knowledge::embedded(),
        &request("1.31", "2026-11-26"),
    )
    .unwrap();
    assert!(
        plan.warnings[0].contains("ended on 2025-07-23")
            && plan.warnings[0].contains("at any time"),
        "{:?}",
        plan.warnings
    );
    // No EXTENDED advice once standard support is over: it can no longer be set.
    assert!(!plan
        .warnings
        .iter()
        .any(|w| w.contains("supportType=EXTENDED")));
}

#[test]
fn without_helm_values_the_plan_says_so() {
    let cluster = load("eks130-cilium115", false);
    let plan = plan_upgrade(
        &cluster,
        Knowledge::embedded(),
        &request("1.31", "2025-06-01"),
    )
    .unwrap();
    assert!(plan.steps.iter().all(|s| s.helm_migrations.is_empty()));
    assert!(plan
        .before_you_start
        .iter()
        .any(|a| a.text.contains("no Helm values")));
}

#[test]
fn bad_targets_are_errors() {
    let cluster = load("eks130-cilium115", true);
    let k = Knowledge::embedded();
    let err = |to: &str| {
        plan_upgrade(&cluster, k, &request(to, "2025-06-01"))
            .unwrap_err()
            .0
    };
    assert!(err("1.30").contains("not above the running Kubernetes 1.30"));
    // The way back is EKS rollback, one minor within its window (eks.json).
    assert!(err("1.29").contains("only by 1 minor, within 7 days"));
    assert!(err("1.99").contains("unknown Kubernetes version 1.99"));
    let empty = Cluster::default();
    assert!(plan_upgrade(&empty, k, &request("1.33", "2025-06-01"))
        .unwrap_err()
        .0
        .contains("no Kubernetes version"));
}

fn example(name: &str) -> Cluster {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    load_paths(&[dir], &LoadOptions::default())
        .expect("example loads")
        .cluster
}

#[test]
fn rollback_of_the_demo_cluster() {
    let plan = plan_rollback(&example("demo")).unwrap();
    let md = rollback_markdown(&plan);
    // The add-on is installed: OVERWRITE restores aws-node's nodeSelector.
    assert!(md.contains("aws eks update-addon --cluster-name shop-prod --addon-name vpc-cni --resolve-conflicts OVERWRITE"));
    assert!(md.contains("helm uninstall cilium --namespace kube-system"));
    insta::assert_snapshot!("rollback_demo", md);
}

#[test]
fn rollback_of_the_healthy_cluster() {
    // aws-node kept but patched off the nodes, no vpc-cni add-on.
    let plan = plan_rollback(&example("healthy")).unwrap();
    insta::assert_snapshot!("rollback_healthy", rollback_markdown(&plan));
}

#[test]
fn rollback_needs_cilium_and_daemonsets() {
    assert!(plan_rollback(&Cluster::default())
        .unwrap_err()
        .0
        .contains("no DaemonSets"));
    let mut no_cilium = example("demo");
    no_cilium.cilium.agent_daemonset = None;
    assert!(plan_rollback(&no_cilium)
        .unwrap_err()
        .0
        .contains("no Cilium agent DaemonSet"));
}
