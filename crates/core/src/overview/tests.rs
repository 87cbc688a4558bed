// Clusters are built field by field, as the loaders fill them.
#![allow(clippy::field_reassign_with_default)]

use serde_json::json;

use super::*;
use crate::version::Date;

const NODE: &str = "ip-10-0-1-23.eu-west-1.compute.internal";

/// A cluster with one t3.medium node (kubelet max pods 17), Cilium
/// `version` in `ipam` mode, and `host`/`pods` pods on the node.
fn cluster(ipam: &str, version: &str, fii: Option<u32>, host: usize, pods: usize) -> Cluster {
    let mut c = Cluster::default();
    c.config_maps = Some(vec![serde_json::from_value(json!({
        "metadata":{"name":"cilium-config","namespace":"kube-system"},
        "data":{"ipam":ipam}}))
    .unwrap()]);
    let mut ds: crate::model::Workload = serde_json::from_value(json!({
        "metadata":{"name":"cilium","namespace":"kube-system"},
        "spec":{"template":{"spec":{"containers":[{"name":"cilium-agent",
            "image":format!("quay.io/cilium/cilium:v{version}")}]}}}}))
    .unwrap();
    ds.kind = "DaemonSet".into();
    c.daemonsets = Some(vec![ds]);
    c.nodes = Some(vec![node(NODE, "t3.medium", "general", 17)]);
    let pod = |i: usize, host_network: bool, phase: &str| {
        serde_json::from_value(json!({
            "metadata":{"name":format!("p{i}-{host_network}"),"namespace":"default"},
            "spec":{"nodeName":NODE,"hostNetwork":host_network},
            "status":{"phase":phase}}))
        .unwrap()
    };
    let mut all: Vec<_> = (0..host).map(|i| pod(i, true, "Running")).collect();
    all.extend((0..pods).map(|i| pod(i, false, "Running")));
    // Finished pods hold no IP.
    all.push(pod(99, false, "Succeeded"));
    c.pods = Some(all);
    if let Some(i) = fii {
        c.cilium_nodes = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":NODE},"spec":{"eni":{"first-interface-index":i}}}))
        .unwrap()]);
    }
    c.server_version = Some(crate::model::ServerVersion {
        git_version: "v1.32.9-eks-113cf36".into(),
        version: "1.32.9".parse().unwrap(),
    });
    c.finish();
    c
}

fn node(name: &str, itype: &str, group: &str, max_pods: u32) -> Node {
    serde_json::from_value(json!({
        "metadata":{"name":name,"labels":{
            "node.kubernetes.io/instance-type":itype,
            "eks.amazonaws.com/nodegroup":group}},
        "status":{"capacity":{"pods":max_pods.to_string()},
            "allocatable":{"pods":max_pods.to_string()},
            "nodeInfo":{"kernelVersion":"6.1.176-221.360.amzn2023.x86_64",
                "osImage":"Amazon Linux 2023.9.20260714","kubeletVersion":"v1.32.9"}}}))
    .unwrap()
}

#[test]
fn eni_capacity_of_a_t3_medium_follows_the_knowledge() {
    let k = Knowledge::embedded();
    let t3 = k.instance("t3.medium").unwrap();
    // data/instances.csv: t3.medium,3,6,nitro,false,2.
    assert_eq!((t3.enis, t3.ipv4_per_eni), (3, 6));

    let o = Overview::build(&cluster("eni", "1.16.5", Some(1), 2, 5), k);
    assert_eq!(o.ipam.kind, "eni");
    assert_eq!(o.nodes_total, 1);
    let g = &o.node_groups[0];
    assert_eq!((g.kind, g.name.as_str()), ("Nodegroup", "general"));
    let n = &g.nodes[0];
    assert_eq!(n.pod_ips_used, 5, "running pods off the host network only");
    assert_eq!(n.host_network_pods, 2);
    // (3 ENIs - first-interface-index 1) × (6 - 1) = 10 pool IPs, less the
    // router and health addresses the agent keeps (ipam_reserved): 8.
    assert_eq!(n.ip_capacity, Some(8));
    assert_eq!(n.kubelet_max_pods, Some(17));
    assert_eq!(n.allocatable_pods, Some(17));
    // 17 - 2 host-network pods = 15 > 8: CAP001's condition.
    assert_eq!(n.max_pods_exceeds_ip_capacity, Some(true));
    assert_eq!(g.nodes_over_ip_capacity, 1);
    assert_eq!((g.pod_ips_used, g.ip_capacity), (5, Some(8)));
    assert!(n.ip_capacity_formula.as_deref().unwrap().ends_with("= 8"));

    // first-interface-index 0: 3 × 5 - 2 = 13, short of 17 - 2 = 15 (the
    // EKS default strands two pods here too).
    let o = Overview::build(&cluster("eni", "1.16.5", None, 2, 5), k);
    let n = &o.node_groups[0].nodes[0];
    assert_eq!(n.ip_capacity, Some(13));
    assert_eq!(n.max_pods_exceeds_ip_capacity, Some(true));
    let o = Overview::build(&cluster("eni", "1.16.5", None, 4, 5), k);
    assert_eq!(
        o.node_groups[0].nodes[0].max_pods_exceeds_ip_capacity,
        Some(false)
    );

    // Nothing is hard-coded: other limits in the knowledge, other numbers.
    let mut other = k.clone();
    other.instances.get_mut("t3.medium").unwrap().enis = 4;
    let o = Overview::build(&cluster("eni", "1.16.5", Some(1), 2, 5), &other);
    assert_eq!(o.node_groups[0].nodes[0].ip_capacity, Some(13));
}

#[test]
fn overlay_has_no_ip_capacity_and_unknown_types_are_counted() {
    let k = Knowledge::embedded();
    let o = Overview::build(&cluster("cluster-pool", "1.16.5", None, 1, 3), k);
    assert_eq!(o.ipam.kind, "overlay");
    let g = &o.node_groups[0];
    assert_eq!(g.ip_capacity, None);
    assert_eq!(g.nodes_without_ip_capacity, 1);
    assert_eq!(g.nodes[0].max_pods_exceeds_ip_capacity, None);
    assert_eq!(g.nodes[0].pod_ips_used, 3);

    let mut c = cluster("eni", "1.16.5", None, 0, 0);
    c.nodes = Some(vec![node(NODE, "x9.unknown", "general", 17)]);
    let g = &Overview::build(&c, k).node_groups[0];
    assert_eq!((g.ip_capacity, g.nodes_without_ip_capacity), (None, 1));
}

#[test]
fn large_groups_show_the_most_used_nodes() {
    let mut c = cluster("eni", "1.16.5", None, 0, 0);
    let names: Vec<String> = (0..TOP_NODES_PER_GROUP + 5)
        .map(|i| format!("n{i:02}"))
        .collect();
    c.nodes = Some(
        names
            .iter()
            .map(|n| node(n, "t3.medium", "big", 17))
            .collect(),
    );
    // Node nI runs I pods: the last ones are the most used.
    c.pods = Some(
        names
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                (0..i).map(move |j| {
                    serde_json::from_value(json!({
                        "metadata":{"name":format!("{n}-{j}"),"namespace":"default"},
                        "spec":{"nodeName":n},"status":{"phase":"Running"}}))
                    .unwrap()
                })
            })
            .collect(),
    );
    c.finish();
    let g = &Overview::build(&c, Knowledge::embedded()).node_groups[0];
    assert_eq!(g.node_count, TOP_NODES_PER_GROUP + 5);
    assert_eq!(g.nodes.len(), TOP_NODES_PER_GROUP);
    assert_eq!(g.nodes_not_shown, 5);
    assert_eq!(g.nodes[0].name, format!("n{:02}", TOP_NODES_PER_GROUP + 4));
    assert!(g
        .nodes
        .windows(2)
        .all(|w| w[0].pod_ips_used >= w[1].pod_ips_used));
    // The group totals count every node, shown or not.
    let all: u64 = (0..TOP_NODES_PER_GROUP as u64 + 5).sum();
    assert_eq!(g.pod_ips_used, all);
    assert_eq!(g.ip_capacity, Some(13 * (TOP_NODES_PER_GROUP as u64 + 5)));
}

fn check<'a>(o: &'a Overview, subject: &str) -> &'a VersionCheck {
    o.versions
        .checks
        .iter()
        .find(|c| c.subject == subject)
        .unwrap_or_else(|| panic!("no {subject} check in {:#?}", o.versions.checks))
}

#[test]
fn version_verdicts_follow_the_knowledge() {
    let k = Knowledge::embedded();
    let m = k.cilium_minor(Minor::new(1, 16)).unwrap();
    let kube = Minor::new(1, 32);
    let o = Overview::build(&cluster("eni", "1.16.5", None, 0, 0), k);
    assert_eq!(
        o.versions.kubernetes.as_deref(),
        Some("v1.32.9-eks-113cf36")
    );
    assert_eq!(o.versions.cilium.as_deref(), Some("1.16.5"));
    let compat = check(&o, "Cilium × Kubernetes");
    let tested = m.k8s_tested.contains(&kube);
    assert_eq!(
        compat.verdict,
        if tested {
            Verdict::Ok
        } else {
            Verdict::Problem
        }
    );
    let patch = check(&o, "Cilium patch");
    assert!(patch.knowledge.contains(&m.latest_patch.to_string()));
    assert_eq!(patch.verdict, Verdict::Warning, "1.16.5 is behind");
    let kernel = check(&o, "Node kernels");
    assert!(kernel.knowledge.contains(&m.min_kernel.to_string()));
    assert_eq!(kernel.verdict, Verdict::Ok, "6.1 meets {}", m.min_kernel);
    assert_eq!(check(&o, "AMI kernel").running, "AL2023");

    // Flip each fact in the knowledge and the verdicts follow.
    let mut other = k.clone();
    let minor = other
        .cilium
        .iter_mut()
        .find(|c| c.minor == Minor::new(1, 16))
        .unwrap();
    minor.k8s_tested = if tested { vec![] } else { vec![kube] };
    minor.latest_patch = "1.16.5".parse().unwrap();
    minor.min_kernel = "6.2.0".parse().unwrap();
    let o = Overview::build(&cluster("eni", "1.16.5", None, 0, 0), &other);
    let compat = check(&o, "Cilium × Kubernetes");
    assert_eq!(
        compat.verdict,
        if tested {
            Verdict::Problem
        } else {
            Verdict::Ok
        }
    );
    assert_eq!(check(&o, "Cilium patch").verdict, Verdict::Ok);
    assert_eq!(check(&o, "Node kernels").verdict, Verdict::Problem);
    assert_eq!(check(&o, "AMI kernel").verdict, Verdict::Problem);

    // A minor the data does not know.
    let o = Overview::build(&cluster("eni", "1.99.0", None, 0, 0), k);
    assert_eq!(check(&o, "Cilium release").verdict, Verdict::Unknown);
}

#[test]
fn maintained_minors_are_the_newest_in_the_data() {
    let k = Knowledge::embedded();
    let newest = k.newest_cilium().minor;
    let oldest = k.cilium[k.cilium.len() - MAINTAINED_MINORS].minor;
    let older = k.cilium[k.cilium.len() - MAINTAINED_MINORS - 1].minor;
    for (minor, verdict) in [
        (newest, Verdict::Ok),
        (oldest, Verdict::Ok),
        (older, Verdict::Problem),
    ] {
        let o = Overview::build(&cluster("eni", &format!("{minor}.0"), None, 0, 0), k);
        assert_eq!(check(&o, "Cilium support").verdict, verdict, "{minor}");
    }
}

#[test]
fn eks_support_window_on_a_date() {
    let k = Knowledge::embedded();
    let cal = k.eks_version(Minor::new(1, 32)).unwrap();
    let o = Overview::build(&cluster("eni", "1.16.5", None, 0, 0), k);
    let s = o.versions.eks_support.as_ref().unwrap();
    assert_eq!(s.end_of_standard_support, cal.end_of_standard_support);
    assert_eq!(s.end_of_extended_support, cal.end_of_extended_support);
    let on = |d: Date| o.versions.support_check(d).unwrap();
    let day_before = cal.end_of_standard_support.add_days(-1);
    assert_eq!(on(day_before).verdict, Verdict::Ok);
    assert!(on(day_before).detail.contains("1 more day"));
    assert_eq!(on(cal.end_of_standard_support).verdict, Verdict::Warning);
    assert_eq!(on(cal.end_of_extended_support).verdict, Verdict::Problem);

    // No Kubernetes version: no calendar, no verdict.
    let mut c = cluster("eni", "1.16.5", None, 0, 0);
    c.server_version = None;
    let o = Overview::build(&c, k);
    assert!(o.versions.support_check(day_before).is_none());
    assert_eq!(check(&o, "Cilium × Kubernetes").verdict, Verdict::Unknown);
}

#[test]
fn eks_support_prefers_describe_cluster_versions_and_names_its_source() {
    let k = Knowledge::embedded();
    let cal = k.eks_version(Minor::new(1, 32)).unwrap();
    let o = Overview::build(&cluster("eni", "1.16.5", None, 0, 0), k);
    let s = o.versions.eks_support.as_ref().unwrap();
    assert_eq!(
        s.source,
        CalendarSource::Embedded {
            knowledge_of: k.eks_calendar_date()
        }
    );
    let as_of = cal.end_of_standard_support.add_days(-1);
    assert!(o
        .versions
        .support_check(as_of)
        .unwrap()
        .knowledge
        .contains("(the embedded calendar (data/eks.json, knowledge of"));

    // EKS moved the end of standard support by a month: the live date wins.
    let later = cal.end_of_standard_support.add_days(30);
    let mut c = cluster("eni", "1.16.5", None, 0, 0);
    c.eks_cluster_versions = Some(vec![serde_json::from_value(json!({
        "clusterVersion": "1.32", "clusterType": "eks",
        "releaseDate": format!("{}T00:00:00+00:00", cal.eks_release),
        "endOfStandardSupportDate": format!("{later}T00:00:00+00:00"),
        "endOfExtendedSupportDate": format!("{}T00:00:00+00:00", cal.end_of_extended_support)
    }))
    .unwrap()]);
    let o = Overview::build(&c, k);
    let s = o.versions.eks_support.as_ref().unwrap();
    assert_eq!(s.source, CalendarSource::DescribeClusterVersions);
    assert_eq!(s.end_of_standard_support, later);
    let check = o
        .versions
        .support_check(cal.end_of_standard_support)
        .unwrap();
    assert_eq!(check.verdict, Verdict::Ok);
    assert!(check
        .knowledge
        .ends_with("(EKS DescribeClusterVersions in the snapshot)"));
}

#[test]
fn no_nodes_no_groups() {
    let mut c = Cluster::default();
    c.finish();
    let o = Overview::build(&c, Knowledge::embedded());
    assert!(o.node_groups.is_empty());
    assert_eq!(o.ipam.kind, "unknown");
    assert!(o.versions.checks.is_empty());
}
