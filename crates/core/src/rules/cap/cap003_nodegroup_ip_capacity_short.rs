//! CAP003 nodegroup-ip-capacity-short.

use crate::rules::inputs;
use std::collections::{BTreeSet, HashSet};

use super::common::{self, Ipam};
use super::future_nodes;
use super::ip_capacity;
use crate::findings::{ObjectRef, Severity};
use crate::model::Workload;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct NodegroupIpCapacityShort;

static META: RuleMeta = RuleMeta {
    code: "CAP003",
    name: "nodegroup-ip-capacity-short",
    severity: Severity::High,
    area: Area::Cap,
    summary: "The node groups at maximum size cannot give every workload pod an IP",
    what_it_checks: "In Cilium ENI mode: the pods that need a pod IP — the replicas of \
Deployments and StatefulSets, of ReplicaSets that no Deployment owns, plus one pod per \
DaemonSet per node, all without host networking — against the pod-IP capacity of the EKS \
managed node groups at their maximum size: Σ maxSize × `(ENIs - first-interface-index) × \
(IPv4 per ENI - 1)` (×16 with prefix delegation) minus the addresses the agent takes for \
itself on every node (router, health, and ingress with Envoy config; from `cilium status \
--verbose` when the snapshot has it, else from cilium-config), using the smallest instance \
type when a group has several. A node holds no more pods than its kubelet max pods: where the \
max pods the node group's launch template (or EKS's default, capped at 110/250) gives a type, \
less the host-network DaemonSets, is below its pod IPs, that is the node's capacity. Nodes \
outside managed node groups count with their current capacity.",
    why_it_matters: "When demand exceeds what the node groups can ever address, the \
autoscaler stops at maxSize while pods wait for IPs: scale-ups and rollouts (which \
briefly need extra replicas) stall.",
    how_to_fix: "Raise the node groups' maximum size (`aws eks update-nodegroup-config \
--scaling-config`), use instance types with more ENIs/addresses, or enable prefix \
delegation (`eni.awsEnablePrefixDelegation=true`, nitro instances).",
    known_limits: "DaemonSets are counted on every node even when their nodeSelector \
limits them; Jobs, CronJobs and bare pods are not counted; rollout surge is not added. \
Karpenter-provisioned capacity has no fixed maximum, so the rule does not fire when \
Karpenter NodePools exist. Node groups whose instance limits are unknown make the rule \
not evaluated rather than under-count capacity.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

fn needs_ip(w: &Workload) -> bool {
    !w.spec.template.spec.host_network
}

impl Rule for NodegroupIpCapacityShort {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        match common::ipam(cx)? {
            Some(Ipam::Eni) => {}
            _ => return Ok(vec![]),
        }
        let c = cx.cluster;
        if c.node_pools.as_deref().is_some_and(|p| !p.is_empty()) {
            // Karpenter capacity has no fixed maximum to compare against.
            return Ok(vec![]);
        }
        let Some(nodegroups) = c.nodegroups.as_deref() else {
            return META.missing(
                "no EKS node groups (describe-nodegroup)",
                inputs::NODEGROUPS,
            );
        };
        let Some(workloads) = c.deployments.as_deref() else {
            return META.missing(
                "no Deployments/StatefulSets/ReplicaSets",
                inputs::CLUSTER_WORKLOADS,
            );
        };
        let Some(daemonsets) = c.daemonsets.as_deref() else {
            return META.missing("no DaemonSets", inputs::DAEMONSETS);
        };
        let nodes = c.nodes.as_deref().unwrap_or_default();
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        let pd_on = c.cilium.prefix_delegation;
        let pools = ip_capacity::EniPools::of(cx);

        // ---- demand
        let deployments: HashSet<(&str, &str)> = workloads
            .iter()
            .filter(|w| w.kind == "Deployment")
            .map(|w| (w.metadata.namespace(), w.metadata.name.as_str()))
            .collect();
        let mut counted: Vec<(u32, String)> = Vec::new();
        for w in workloads.iter().filter(|w| needs_ip(w)) {
            let ns = w.metadata.namespace();
            let counts = match w.kind.as_str() {
                "Deployment" | "StatefulSet" => true,
                // ReplicaSets of a Deployment are that Deployment's replicas.
                "ReplicaSet" => !w.metadata.owner_references.iter().any(|o| {
                    o.kind == "Deployment" && deployments.contains(&(ns, o.name.as_str()))
                }),
                _ => false,
            };
            if counts {
                let r = w.spec.replicas.unwrap_or(1);
                if r > 0 {
                    counted.push((r, format!("{} {ns}/{}", w.kind, w.metadata.name)));
                }
            }
        }
        let replicas: u64 = counted.iter().map(|(r, _)| u64::from(*r)).sum();
        let ds_needing_ip: Vec<&Workload> = daemonsets.iter().filter(|d| needs_ip(d)).collect();
        let ds_count = ds_needing_ip.len() as u64;

        // ---- capacity
        let mut unknown: BTreeSet<String> = BTreeSet::new();
        let mut lines = Vec::new();
        let mut total_nodes: u64 = 0;
        let mut capacity: u64 = 0;
        // (nodegroup, max size, per-node capacity)
        let mut groups: Vec<(&str, u32, u32)> = Vec::new();
        // The max pods each node group's nodes get (launch template or EKS
        // default): a node holds no more pods than that, whatever its IPs.
        let (future, _) = future_nodes::sources(cx);
        let host_ds = daemonsets
            .iter()
            .filter(|d| d.spec.template.spec.host_network)
            .count() as u32;
        let max_pods_of = |ng: &str, t: &str| {
            future
                .iter()
                .filter(|s| s.kind == "Nodegroup" && s.name == ng)
                .flat_map(|s| s.types.iter().map(move |x| (s, x)))
                .find(|(_, x)| x.instance_type == t)
                .map(|(s, x)| {
                    (
                        x.max_pods.saturating_sub(host_ds),
                        s.origin.clone(),
                        x.max_pods,
                    )
                })
        };
        let ng_names: HashSet<&str> = nodegroups
            .iter()
            .map(|n| n.nodegroup_name.as_str())
            .collect();
        for ng in nodegroups {
            let name = ng.nodegroup_name.as_str();
            let Some(max) = ng.scaling_config.max_size else {
                continue;
            };
            let members: Vec<_> = nodes
                .iter()
                .filter(|n| n.nodegroup() == Some(name))
                .collect();
            let mut types: BTreeSet<String> = ng.instance_types.iter().cloned().collect();
            if types.is_empty() {
                types = members
                    .iter()
                    .filter_map(|n| {
                        common::instance_type(
                            n,
                            cilium_nodes.get(n.metadata.name.as_str()).copied(),
                        )
                    })
                    .map(str::to_string)
                    .collect();
            }
            if types.is_empty() {
                unknown.insert(format!("(instance types of node group {name})"));
                continue;
            }
            // The most restrictive first-interface-index among the group's nodes.
            let fii = members
                .iter()
                .map(|n| {
                    common::first_interface_index(
                        cx,
                        cilium_nodes.get(n.metadata.name.as_str()).copied(),
                    )
                    .0
                })
                .max()
                .unwrap_or_else(|| common::first_interface_index(cx, None).0);
            let mut smallest: Option<(u32, String)> = None;
            for t in &types {
                let Some(l) = ip_capacity::instance_limits(cx, t) else {
                    unknown.insert(t.clone());
                    continue;
                };
                let node_cap = pools.node(&l.it, fii, pd_on);
                let mut cap = node_cap.pod_ips.unwrap_or(0);
                let mut formula = ip_capacity::cilium_eni_formula(&node_cap, fii);
                if let Some((pods, origin, max_pods)) = max_pods_of(name, t) {
                    if pods < cap {
                        formula = format!(
                            "{formula}; but max pods {max_pods} ({origin}) - {host_ds} host-network DaemonSets = {pods} pods per node"
                        );
                        cap = pods;
                    }
                }
                if smallest.as_ref().is_none_or(|(c, _)| cap < *c) {
                    smallest = Some((cap, formula));
                }
            }
            let Some((per_node, formula)) = smallest else {
                continue;
            };
            total_nodes += u64::from(max);
            capacity += u64::from(max) * u64::from(per_node);
            groups.push((name, max, per_node));
            lines.push(format!(
                "node group {name}: maxSize {max} × {per_node} pod IPs ({} [{formula}]) = {}",
                types.iter().cloned().collect::<Vec<_>>().join("/"),
                u64::from(max) * u64::from(per_node)
            ));
        }
        if !unknown.is_empty() {
            let types: BTreeSet<String> = unknown
                .iter()
                .filter(|t| !t.starts_with('('))
                .cloned()
                .collect();
            return META.missing(
                format!(
                    "EC2 network limits for {}",
                    unknown.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                if types.is_empty() {
                    inputs::NODES.to_string()
                } else {
                    inputs::instance_types(&types)
                },
            );
        }
        // Nodes outside the managed node groups: their current capacity.
        for n in nodes
            .iter()
            .filter(|n| n.nodegroup().is_none_or(|g| !ng_names.contains(g)))
        {
            let cn = cilium_nodes.get(n.metadata.name.as_str()).copied();
            let Some(t) = common::instance_type(n, cn) else {
                continue;
            };
            let Some(l) = ip_capacity::instance_limits(cx, t) else {
                continue;
            };
            let fii = common::first_interface_index(cx, cn).0;
            let cap = pools.pod_ips(&l.it, fii, pd_on);
            total_nodes += 1;
            capacity += u64::from(cap);
            lines.push(format!(
                "node {} (no managed node group, {t}): {cap} pod IPs",
                n.metadata.name
            ));
        }
        if groups.is_empty() {
            return Ok(vec![]);
        }

        let demand = replicas + ds_count * total_nodes;
        if demand <= capacity {
            return Ok(vec![]);
        }
        let deficit = demand - capacity;
        let cluster_name = c.name.as_deref().unwrap_or("CLUSTER");
        let mut f = META
            .finding(
                ObjectRef::global("Cluster", c.name.as_deref().unwrap_or("cluster")),
                format!(
                    "Pods needing a pod IP ({demand}) exceed the pod-IP capacity of the node groups at maximum size ({capacity}) by {deficit}"
                ),
            )
            .with_evidence(format!(
                "demand: {replicas} workload replicas + {ds_count} DaemonSet(s) × {total_nodes} nodes at maximum size = {demand} (host-network workloads excluded)"
            ));
        for l in &lines {
            f = f.with_evidence(l.clone());
        }
        counted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let top: Vec<String> = counted
            .iter()
            .take(5)
            .map(|(r, n)| format!("{n}: {r} replicas"))
            .collect();
        if !top.is_empty() {
            f = f.with_evidence(format!("largest workloads: {}", top.join(", ")));
        }
        // Grow the group whose nodes add the most free pod IPs.
        let best = groups
            .iter()
            .map(|(n, max, per)| (*n, *max, u64::from(*per).saturating_sub(ds_count)))
            .max_by_key(|(_, _, free)| *free);
        let mut fix = String::new();
        if let Some((ng, max, free)) = best.filter(|(_, _, free)| *free > 0) {
            let extra = deficit.div_ceil(free);
            let new_max = u64::from(max) + extra;
            fix.push_str(&format!(
                "# Raise the maximum size of {ng} by {extra} node(s) ({free} free pod IPs each after DaemonSets):\n\
aws eks update-nodegroup-config --cluster-name {cluster_name} --nodegroup-name {ng} --scaling-config maxSize={new_max}\n"
            ));
        }
        if !pd_on && common::helm_key_exists(cx, "eni.awsEnablePrefixDelegation") {
            fix.push_str(
                "# Or raise the per-node capacity on nitro instances (new nodes):\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set eni.awsEnablePrefixDelegation=true",
            );
        }
        Ok(vec![f.with_remediation(fix.trim_end().to_string())])
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{Cluster, Ec2InstanceType};
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn workload(
        kind: &str,
        name: &str,
        replicas: u32,
        owner: Option<&str>,
        host: bool,
    ) -> Workload {
        let mut w: Workload = serde_json::from_value(json!({
            "metadata":{"name":name,"namespace":"shop",
                "ownerReferences": owner.map(|o| vec![json!({"kind":"Deployment","name":o})])},
            "spec":{"replicas":replicas,"template":{"spec":{"hostNetwork":host}}}}))
        .unwrap();
        w.kind = kind.into();
        w
    }

    fn cluster(replicas: u32) -> Cluster {
        let mut c = Cluster::default();
        c.name = Some("prod".into());
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"eni","eni-first-interface-index":"1"}}))
        .unwrap()]);
        c.nodegroups = Some(vec![serde_json::from_value(json!({
            "nodegroupName":"ng-general","instanceTypes":["m5.large"],
            "scalingConfig":{"minSize":1,"maxSize":3,"desiredSize":2}}))
        .unwrap()]);
        c.instance_types = Some(vec![Ec2InstanceType {
            instance_type: "m5.large".into(),
            enis: 3,
            enis_all_cards: 3,
            ipv4_per_eni: 10,
            hypervisor: Some("nitro".into()),
            bare_metal: false,
            vcpus: Some(2),
        }]);
        let mut ds = workload("DaemonSet", "fluent-bit", 0, None, false);
        ds.metadata.namespace = Some("logging".into());
        c.daemonsets = Some(vec![ds, workload("DaemonSet", "cilium", 0, None, true)]);
        c.deployments = Some(vec![
            workload("Deployment", "web", replicas, None, false),
            // Owned by web: not counted again.
            workload("ReplicaSet", "web-7d9f4b", replicas, Some("web"), false),
            workload("StatefulSet", "db", 3, None, false),
            workload("Deployment", "hostnet", 50, None, true),
        ]);
        c.finish();
        c
    }

    #[test]
    fn arithmetic_and_boundary() {
        // capacity 3 × ((3-1)×(10-1) - 2 router/health) = 48;
        // demand = web + 3 (db) + 1 DS × 3 nodes.
        assert_eq!(outcome(&NodegroupIpCapacityShort, &cluster(42)), Ok(vec![]));
        let Ok(f) = outcome(&NodegroupIpCapacityShort, &cluster(43)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("(49)"), "{}", f[0].message);
        assert!(f[0].message.contains("(48) by 1"));
        assert!(f[0]
            .remediation
            .contains("--nodegroup-name ng-general --scaling-config maxSize=4"));
    }

    #[test]
    fn not_applicable_and_missing() {
        let mut c = cluster(100);
        c.node_pools = Some(vec![Default::default()]);
        assert_eq!(outcome(&NodegroupIpCapacityShort, &c), Ok(vec![]));
        let mut c = cluster(100);
        c.nodegroups = None;
        assert!(outcome(&NodegroupIpCapacityShort, &c).is_err());
        let mut c = cluster(100);
        c.instance_types = None;
        c.nodegroups.as_mut().unwrap()[0].instance_types = vec!["zz9.nonexistent".into()];
        assert!(outcome(&NodegroupIpCapacityShort, &c).is_err());
    }

    #[test]
    fn launch_template_max_pods_bounds_capacity() {
        // The launch template sets maxPods 10: 10 - 1 host-network DaemonSet
        // (cilium) = 9 pods per node, below its 16 pod IPs: 3 × 9 = 27.
        let mut c = cluster(30);
        c.nodegroups.as_mut().unwrap()[0].launch_template = Some(
            serde_json::from_value(json!({"name":"ng-general","version":"1","id":"lt-1"})).unwrap(),
        );
        c.launch_template_versions = Some(vec![crate::model::LaunchTemplateVersion {
            launch_template_id: "lt-1".into(),
            launch_template_name: "ng-general".into(),
            version_number: 1,
            default_version: true,
            user_data: crate::userdata::parse("[settings.kubernetes]\nmax-pods = 10\n"),
            ..Default::default()
        }]);
        let Ok(f) = outcome(&NodegroupIpCapacityShort, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("(36)") && f[0].message.contains("(27)"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].evidence.iter().any(|e| e.contains("but max pods 10 (launch template ng-general version 1) - 1 host-network DaemonSets = 9 pods per node")),
            "{:?}",
            f[0].evidence
        );
        // Without the launch template the 16 pod IPs bound it: 48 ≥ 36.
        assert_eq!(outcome(&NodegroupIpCapacityShort, &cluster(30)), Ok(vec![]));
    }
}
