//! CAP004 overlay-max-pods-left-at-eni-default.

use crate::rules::inputs;
use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Ipam};
use super::ip_capacity;
use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct OverlayMaxPodsLeftAtEniDefault;

/// Nodes, max pods, recommended max pods, vCPUs, limits source.
type Group = (Vec<String>, u32, u32, Option<u32>, &'static str);

static META: RuleMeta = RuleMeta {
    code: "CAP004",
    name: "overlay-max-pods-left-at-eni-default",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "Overlay IPAM, but nodes keep the ENI-derived kubelet max-pods",
    what_it_checks: "With Cilium overlay IPAM (cluster-pool, multi-pool, kubernetes), \
nodes whose kubelet max pods (`status.capacity.pods`) equals the EKS/VPC CNI default for \
their instance type, `ENIs × (IPv4 per ENI - 1) + 2` (the eni-max-pods value), while that \
default is below EKS's own ceiling (110, or 250 above 30 vCPUs).",
    why_it_matters: "In overlay mode pod IPs do not come from ENIs, so the ENI-based \
limit only wastes node capacity: a t3.medium stays at 17 pods, an m5.large at 29, and the \
cluster needs more nodes than the CPU and memory require.",
    how_to_fix: "Set max-pods explicitly in the node bootstrap: AL2023 nodeadm \
`NodeConfig` `spec.kubelet.config.maxPods`, Bottlerocket `settings.kubernetes.max-pods`, \
Karpenter EC2NodeClass `spec.kubelet.maxPods`; EKS guidance caps it at 110 for instances \
up to 30 vCPUs and 250 above. Keep it below the per-node pod CIDR size \
(`cluster-pool-ipv4-mask-size`).",
    known_limits: "A max-pods deliberately set to the same number is indistinguishable. \
Memory reserved for the kubelet grows with max pods (`11 × max_pods + 255` MiB on EKS \
AMIs), which the rule does not weigh.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/choosing-instance-type.html",
};

impl Rule for OverlayMaxPodsLeftAtEniDefault {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let Some(Ipam::Overlay(mode)) = common::ipam(cx)? else {
            return Ok(vec![]);
        };
        let Some(nodes) = cx.cluster.nodes.as_deref() else {
            return META.missing("no Node objects", inputs::NODES);
        };
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        let mut unknown: BTreeSet<String> = BTreeSet::new();
        let mut checked = 0usize;
        // (group kind, group, type) → (nodes, max pods, recommended, vcpus, source)
        let mut groups: BTreeMap<(&str, String, String), Group> = BTreeMap::new();
        for node in nodes {
            let cn = cilium_nodes.get(node.metadata.name.as_str()).copied();
            let (Some(t), Some(max_pods)) = (common::instance_type(node, cn), node.max_pods())
            else {
                continue;
            };
            let Some(l) = ip_capacity::instance_limits(cx, t) else {
                unknown.insert(t.to_string());
                continue;
            };
            checked += 1;
            let default = ip_capacity::eks_default_max_pods(&l.it);
            let recommended = ip_capacity::recommended_max_pods(&l.it);
            if max_pods != default || default >= recommended {
                continue;
            }
            let (gk, gn) = common::node_group(node).unwrap_or(("", ""));
            groups
                .entry((gk, gn.to_string(), t.to_string()))
                .or_insert_with(|| {
                    (
                        Vec::new(),
                        max_pods,
                        recommended,
                        l.it.vcpus,
                        l.source.describe(),
                    )
                })
                .0
                .push(node.metadata.name.clone());
        }
        if groups.is_empty() && checked == 0 && !unknown.is_empty() {
            return META.missing(
                format!(
                    "EC2 network limits for instance type(s) {}",
                    unknown.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                inputs::instance_types(&unknown),
            );
        }
        let mask = cx
            .cluster
            .cilium
            .get("cluster-pool-ipv4-mask-size")
            .map(str::to_string);
        let findings = groups
            .into_iter()
            .map(|((gk, gn, t), (names, max_pods, recommended, vcpus, source))| {
                let object = if names.len() == 1 || gk.is_empty() {
                    ObjectRef::global("Node", &names[0])
                } else {
                    ObjectRef::global(gk, &gn)
                };
                let what = if names.len() == 1 {
                    format!("Node {} ({t})", names[0])
                } else if gk.is_empty() {
                    format!("{} {t} nodes", names.len())
                } else {
                    format!("{} {t} nodes in {} {gn}", names.len(), common::group_words(gk))
                };
                let mut f = META
                    .finding(
                        object,
                        format!(
                            "{what} keep the ENI-derived max pods {max_pods} although {mode} IPAM does not use ENI addresses; up to {recommended} is possible"
                        ),
                    )
                    .with_evidence(format!(
                        "IPAM mode {mode}; kubelet max pods {max_pods} (status.capacity.pods) = eni-max-pods for {t} (ENIs × (IPv4 per ENI - 1) + 2, limits from {source})"
                    ))
                    .with_evidence(format!(
                        "EKS max-pods ceiling for {t}: {recommended} ({} vCPUs; 110 up to 30 vCPUs, 250 above)",
                        vcpus.map_or("unknown".to_string(), |v| v.to_string())
                    ));
                for l in common::capped(names.iter().map(|n| format!("node {n}")).collect(), 10) {
                    f = f.with_evidence(l);
                }
                if let Some(m) = &mask {
                    f = f.with_evidence(format!(
                        "per-node pod CIDR: /{m} (cluster-pool-ipv4-mask-size); max pods must stay below its size"
                    ));
                }
                f.with_remediation(format!(
                    "Set max pods explicitly in the node bootstrap and roll the nodes.\n\
# AL2023 (nodeadm), in the launch template user data:\n\
{}\n\
# Bottlerocket user data (TOML):\n\
[settings.kubernetes]\n\
max-pods = {recommended}\n\
# Karpenter: set spec.kubelet.maxPods: {recommended} in the EC2NodeClass.",
                    common::nodeconfig_max_pods(recommended)
                ))
            })
            .collect();
        Ok(findings)
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{Cluster, Ec2InstanceType};
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn cluster(ipam: &str, max_pods: &str) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":ipam,"cluster-pool-ipv4-mask-size":"24"}}))
        .unwrap()]);
        c.nodes = Some(
            ["a", "b"]
                .iter()
                .map(|n| {
                    serde_json::from_value(json!({"metadata":{"name":n,"labels":{
                        "node.kubernetes.io/instance-type":"t3.medium",
                        "eks.amazonaws.com/nodegroup":"ng-1"}},
                        "status":{"capacity":{"pods":max_pods}}}))
                    .unwrap()
                })
                .collect(),
        );
        c.instance_types = Some(vec![Ec2InstanceType {
            instance_type: "t3.medium".into(),
            enis: 3,
            enis_all_cards: 3,
            ipv4_per_eni: 6,
            hypervisor: Some("nitro".into()),
            bare_metal: false,
            vcpus: Some(2),
        }]);
        c.finish();
        c
    }

    #[test]
    fn fires_on_eni_default_in_overlay() {
        let Ok(f) = outcome(
            &OverlayMaxPodsLeftAtEniDefault,
            &cluster("cluster-pool", "17"),
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object, ObjectRef::global("Nodegroup", "ng-1"));
        assert!(f[0].message.contains("max pods 17"));
        assert!(f[0].remediation.contains("maxPods: 110"));
    }

    #[test]
    fn quiet_cases() {
        assert_eq!(
            outcome(
                &OverlayMaxPodsLeftAtEniDefault,
                &cluster("cluster-pool", "110")
            ),
            Ok(vec![])
        );
        assert_eq!(
            outcome(
                &OverlayMaxPodsLeftAtEniDefault,
                &cluster("cluster-pool", "18")
            ),
            Ok(vec![])
        );
        assert_eq!(
            outcome(&OverlayMaxPodsLeftAtEniDefault, &cluster("eni", "17")),
            Ok(vec![])
        );
        let mut c = cluster("cluster-pool", "17");
        c.nodes = None;
        assert!(outcome(&OverlayMaxPodsLeftAtEniDefault, &c).is_err());
    }
}
