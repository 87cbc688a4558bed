//! The facts of 2026-12-01 as users meet them (issue: correct to the fact):
//! each through the real loader, the embedded knowledge and the rule.

use doctor_core::findings::Finding;
use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_files, LoadOptions};
use doctor_core::model::Cluster;
use doctor_core::rules::{registry, CheckOptions, Context, Outcome};
use serde_json::{json, Value};

fn cluster(documents: &[Value]) -> Cluster {
    let texts: Vec<(String, String)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("{i}.json"), d.to_string()))
        .collect();
    let files = texts.iter().map(|(n, t)| (n.as_str(), t.as_bytes()));
    load_files("test", files, &LoadOptions::default())
        .expect("the documents load")
        .cluster
}

fn run(code: &str, cluster: &Cluster, as_of: &str) -> Outcome {
    let rule = registry()
        .iter()
        .find(|r| r.meta().code == code)
        .expect("a registered rule");
    let options = CheckOptions {
        as_of: as_of.parse().unwrap(),
        ..CheckOptions::default()
    };
    rule.check(&Context::new(cluster, Knowledge::embedded(), &options))
}

fn findings(code: &str, cluster: &Cluster, as_of: &str) -> Vec<Finding> {
    match run(code, cluster, as_of) {
        Ok(f) => f,
        Err(n) => panic!("{code} not evaluated: {n:?}"),
    }
}

fn agent(version: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
        "spec": {"template": {"spec": {"containers": [
            {"name": "cilium-agent", "image": format!("quay.io/cilium/cilium:v{version}")}]}}}})
}

fn kubernetes(git_version: &str) -> Value {
    json!({"serverVersion": {"major": "1", "minor": "35", "gitVersion": git_version,
        "platform": "linux/amd64"}})
}

#[test]
fn cilium_1_19_is_tested_with_kubernetes_1_35() {
    // compatibility.rst on the v1.19 branch since v1.19.2: 1.32-1.35.
    let c = cluster(&[agent("1.19.7"), kubernetes("v1.35.2-eks-3f1c9b7")]);
    assert!(findings("VER001", &c, "2026-12-01").is_empty());
    // 1.31 is no longer in the list.
    let c = cluster(&[agent("1.19.7"), kubernetes("v1.31.9-eks-1f2a3b4")]);
    assert_eq!(findings("VER001", &c, "2026-12-01").len(), 1);
}

#[test]
fn eks_1_36_has_a_calendar_and_ver003_evaluates_it() {
    let eks = json!({"cluster": {"name": "prod", "version": "1.36",
        "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod", "status": "ACTIVE",
        "upgradePolicy": {"supportType": "STANDARD"}}});
    let c = cluster(&[agent("1.20.1"), eks]);
    // 1.36: standard support to 2027-08-02 (eks_versions.json, sources E/F).
    assert!(findings("VER003", &c, "2026-12-01").is_empty());
    let f = findings("VER003", &c, "2027-07-01");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("2027-08-02"), "{}", f[0].message);
}

#[test]
fn cilium_1_18_prefix_delegates_on_bare_metal() {
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cilium-config", "namespace": "kube-system"},
        "data": {"ipam": "eni", "aws-enable-prefix-delegation": "true"}});
    let node = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "metal-1", "labels": {"node.kubernetes.io/instance-type": "m5.metal"}},
        "status": {"capacity": {"pods": "250"}}});
    let pods = json!({"apiVersion": "v1", "kind": "PodList", "items": []});
    for (version, fires) in [("1.17.18", true), ("1.18.13", false)] {
        let c = cluster(&[agent(version), config.clone(), node.clone(), pods.clone()]);
        assert_eq!(
            !findings("CAP007", &c, "2026-12-01").is_empty(),
            fires,
            "{version}"
        );
    }
    // With prefixes (1.18), 250 max pods fit the ×16 pool: no CAP001 either.
    let c = cluster(&[agent("1.18.13"), config, node, pods]);
    assert!(findings("CAP001", &c, "2026-12-01").is_empty());
}
