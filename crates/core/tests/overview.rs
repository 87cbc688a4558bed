//! The report page's overview (capacity per node group, versions against
//! the knowledge) of the bundled demo and of the CAP001 and CAP004
//! fixtures (ENI mode over capacity, overlay), as JSON snapshots.

use std::path::{Path, PathBuf};

use doctor_core::knowledge::Knowledge;
use doctor_core::load::{load_paths, LoadOptions};
use doctor_core::overview::Overview;

fn overview(dir: &str) -> Overview {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let loaded = load_paths(&[PathBuf::from(&dir)], &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Overview::build(&loaded.cluster, Knowledge::embedded())
}

#[test]
fn demo() {
    let o = overview("../../examples/demo");
    // The demo's t3.medium group is CAP001's example: kubelet 17 pods, IPs for fewer.
    let general = o.node_groups.iter().find(|g| g.name == "general").unwrap();
    assert!(general.nodes_over_ip_capacity > 0);
    insta::assert_json_snapshot!("overview_demo", o);
}

#[test]
fn eni_fixture_over_capacity() {
    let o = overview("tests/fixtures/CAP001/fires");
    assert_eq!(o.ipam.kind, "eni");
    insta::assert_json_snapshot!("overview_cap001_fires", o);
}

#[test]
fn overlay_fixture() {
    let o = overview("tests/fixtures/CAP004/fires");
    assert_eq!(o.ipam.kind, "overlay");
    assert!(o.node_groups.iter().all(|g| g.ip_capacity.is_none()));
    insta::assert_json_snapshot!("overview_cap004_fires", o);
}
