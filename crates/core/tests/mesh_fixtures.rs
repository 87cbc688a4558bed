//! Every multi-cluster rule has fixtures under `tests/fixtures/<CODE>/`:
//! `fires/{a,b}/` and `quiet/{a,b}/`, two snapshots each, every snapshot
//! loaded separately into its own cluster by the real loaders (as `mesh`
//! does). `fires/` must produce at least one finding (snapshotted with
//! insta), `quiet/` must evaluate and produce none.

use std::path::{Path, PathBuf};

use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::rules::{
    all_metas, evaluate_mesh, mesh_registry, CheckOptions, MeshContext, MeshRule, NamedCluster,
    Outcome,
};

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load_pair(dir: &Path) -> Vec<NamedCluster> {
    ["a", "b"]
        .iter()
        .map(|side| {
            let path = dir.join(side);
            let cluster = load_paths(std::slice::from_ref(&path), &LoadOptions::default())
                .unwrap_or_else(|e| panic!("{}: fixture does not load: {e}", path.display()))
                .cluster;
            let name = cluster.eks.as_ref().map(|e| e.name.clone()).unwrap();
            NamedCluster { name, cluster }
        })
        .collect()
}

fn options() -> CheckOptions {
    CheckOptions {
        as_of: "2026-11-26".parse().unwrap(),
        ..CheckOptions::default()
    }
}

fn run(rule: &dyn MeshRule, dir: &Path) -> Outcome {
    let clusters = load_pair(dir);
    let options = options();
    rule.check(&MeshContext {
        clusters: &clusters,
        knowledge: Knowledge::embedded(),
        options: &options,
    })
}

#[test]
fn every_mesh_rule_fires_on_its_fixture_and_stays_quiet_on_the_other() {
    assert_eq!(mesh_registry().len(), 4);
    for rule in mesh_registry() {
        let code = rule.meta().code;
        let base = fixture_root().join(code);
        match run(*rule, &base.join("fires")) {
            Ok(findings) => {
                assert!(!findings.is_empty(), "{code}: fires/ produced no finding");
                for f in &findings {
                    assert_eq!(f.rule.code, code);
                    // Each finding names both clusters.
                    let text = format!("{} {}", f.object, f.message);
                    assert!(
                        text.contains("shop-eu") && text.contains("shop-us"),
                        "{code}: {text}"
                    );
                }
                insta::with_settings!({snapshot_suffix => code, prepend_module_to_snapshot => false}, {
                    insta::assert_json_snapshot!("mesh_fires", findings);
                });
            }
            Err(n) => panic!("{code}: fires/ not evaluated: {}", n.missing),
        }
        match run(*rule, &base.join("quiet")) {
            Ok(findings) => {
                assert!(findings.is_empty(), "{code}: quiet/ fired: {findings:#?}")
            }
            Err(n) => panic!("{code}: quiet/ not evaluated: {}", n.missing),
        }
    }
}

#[test]
fn mesh_rules_are_documented_with_the_others() {
    let codes: Vec<&str> = all_metas().iter().map(|m| m.code).collect();
    let at = |c: &str| codes.iter().position(|x| *x == c).unwrap();
    assert_eq!(at("MESH003"), at("MESH002") + 1);
    assert_eq!(at("MESH006") + 1, at("OPS001"));
    assert_eq!(
        doctor_core::rules::find_meta("mesh004").unwrap().name,
        "mesh-pod-cidr-overlap"
    );
}

#[test]
fn missing_inputs_are_not_evaluated() {
    // Two snapshots with nothing but the EKS cluster: every rule says what it misses.
    let dir = fixture_root().join("MESH003/quiet");
    let clusters: Vec<NamedCluster> = load_pair(&dir)
        .into_iter()
        .map(|c| NamedCluster {
            name: c.name,
            cluster: doctor_core::model::Cluster {
                eks: c.cluster.eks,
                ..Default::default()
            },
        })
        .collect();
    let options = options();
    let report = evaluate_mesh(&MeshContext {
        clusters: &clusters,
        knowledge: Knowledge::embedded(),
        options: &options,
    });
    assert!(report.findings.is_empty());
    let missing: Vec<&str> = report.not_evaluated.iter().map(|n| n.rule.code).collect();
    assert_eq!(missing, vec!["MESH003", "MESH004", "MESH005", "MESH006"]);
}
