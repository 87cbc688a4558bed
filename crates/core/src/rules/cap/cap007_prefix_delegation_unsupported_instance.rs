//! CAP007 prefix-delegation-unsupported-instance.

use crate::rules::inputs;
use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Ipam};
use super::ip_capacity;
use crate::findings::{ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PrefixDelegationUnsupportedInstance;

static META: RuleMeta = RuleMeta {
    code: "CAP007",
    name: "prefix-delegation-unsupported-instance",
    severity: Severity::Medium,
    area: Area::Cap,
    summary: "Prefix delegation is on, but some nodes' instance types cannot use it",
    what_it_checks: "In Cilium ENI mode with prefix delegation on \
(`aws-enable-prefix-delegation` / `eni.awsEnablePrefixDelegation`): the instance types of \
the nodes and of the EKS node groups. Cilium allocates prefixes only on instances whose \
hypervisor is nitro, and on bare metal from the Cilium minor the knowledge names \
(`prefix_delegation_on_bare_metal` in `data/cilium.json`, read in `IsPrefixDelegated()` of \
the operator code; `explain` cannot name it, the finding does). Nodes whose CiliumNode sets `spec.eni.disable-prefix-delegation` \
are skipped.",
    why_it_matters: "On those instances Cilium silently falls back to individual \
secondary IPs, so they have 16 times fewer pod IPs than planned: pods scheduled there by \
a max-pods sized for prefixes hang in ContainerCreating.",
    how_to_fix: "Move the node groups to nitro instance types (or, for bare metal, upgrade \
Cilium to the first minor that prefix-delegates there, which the finding names), or size \
their kubelet max pods for secondary IPs.",
    known_limits: "Uses the hypervisor reported by EC2 (or the embedded limits table); \
instance types whose limits are unknown are listed as not evaluated.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for PrefixDelegationUnsupportedInstance {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        match common::ipam(cx)? {
            Some(Ipam::Eni) => {}
            _ => return Ok(vec![]),
        }
        let c = cx.cluster;
        if !c.cilium.prefix_delegation {
            return Ok(vec![]);
        }
        if c.nodes.is_none() && c.nodegroups.is_none() {
            return META.missing("no Node objects and no EKS node groups", inputs::NODES);
        }
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        // instance type → (nodes, node groups)
        let mut uses: BTreeMap<String, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
        for n in c.nodes.as_deref().unwrap_or_default() {
            let cn = cilium_nodes.get(n.metadata.name.as_str()).copied();
            if cn.and_then(|c| c.spec.eni.disable_prefix_delegation) == Some(true) {
                continue;
            }
            if let Some(t) = common::instance_type(n, cn) {
                let e = uses.entry(t.to_string()).or_default();
                e.0.push(n.metadata.name.clone());
                if let Some(ng) = n.nodegroup() {
                    e.1.insert(ng.to_string());
                }
            }
        }
        for ng in c.nodegroups.as_deref().unwrap_or_default() {
            for t in &ng.instance_types {
                uses.entry(t.clone())
                    .or_default()
                    .1
                    .insert(ng.nodegroup_name.clone());
            }
        }
        let version = c.cilium.version;
        // The first Cilium minor that delegates prefixes on bare metal (knowledge).
        let bare_metal_from = cx
            .knowledge
            .cilium
            .iter()
            .find(|m| m.prefix_delegation_on_bare_metal)
            .map(|m| m.minor);
        let fii = common::first_interface_index(cx, None).0;
        let pools = ip_capacity::EniPools::of(cx);
        let mut unknown = BTreeSet::new();
        let mut findings = Vec::new();
        for (t, (nodes, groups)) in uses {
            let Some(l) = ip_capacity::instance_limits(cx, &t) else {
                unknown.insert(t);
                continue;
            };
            if ip_capacity::prefix_delegation_supported(cx, &l.it) {
                continue;
            }
            let why = if l.it.bare_metal {
                let from = bare_metal_from
                    .map(|m| format!("bare metal only from {m}"))
                    .unwrap_or_else(|| "no Cilium version in the data does bare metal".into());
                match version {
                    Some(v) => format!(
                        "bare metal, which Cilium {} does not prefix-delegate ({from})",
                        v.minor()
                    ),
                    None => format!("bare metal, not prefix-delegated by every Cilium version ({from}; running version unknown)"),
                }
            } else {
                format!(
                    "hypervisor {}, and Cilium allocates prefixes only on nitro instances",
                    l.it.hypervisor
                )
            };
            let object = match (nodes.as_slice(), groups.len()) {
                (_, 1) => {
                    ObjectRef::global("Nodegroup", groups.iter().next().map_or("", String::as_str))
                }
                ([one], _) => ObjectRef::global("Node", one),
                _ => ObjectRef::global("InstanceType", &t),
            };
            let mut f = META
                .finding(
                    object,
                    format!(
                        "Prefix delegation is on, but {t} is {why}: {} node(s){} fall back to secondary IPs",
                        nodes.len(),
                        if groups.is_empty() {
                            String::new()
                        } else {
                            format!(" and node group(s) {}", groups.iter().cloned().collect::<Vec<_>>().join(", "))
                        }
                    ),
                )
                .with_evidence(format!(
                    "{t}: hypervisor {}, bare metal {} ({})",
                    l.it.hypervisor,
                    l.it.bare_metal,
                    l.source.describe()
                ))
                .with_evidence({
                    let without = pools.node(&l.it, fii, false);
                    let reserved = crate::capacity::reserved_total(&without.reserved_ips);
                    let with_prefixes = without
                        .pool_ips
                        .unwrap_or(0)
                        .saturating_mul(ip_capacity::IPS_PER_PREFIX)
                        .saturating_sub(reserved);
                    format!(
                        "pod IPs per node without prefixes: {} instead of {with_prefixes} \
                         (first-interface-index {fii}; {reserved} pool address(es) kept by the agent)",
                        without.pod_ips.unwrap_or(0)
                    )
                })
                .with_evidence(
                    "Cilium IsPrefixDelegated() (pkg/aws/eni/node.go): prefixes only on instances with hypervisor nitro, and on bare metal from the minor the knowledge names",
                );
            for l in common::capped(nodes.iter().map(|n| format!("node {n}")).collect(), 10) {
                f = f.with_evidence(l);
            }
            let fix = if l.it.bare_metal {
                match bare_metal_from {
                    Some(m) => format!("Upgrade Cilium to {m} or later, one minor at a time (bare metal prefix delegation), or move these nodes to nitro instance types; until then size their kubelet maxPods for secondary IPs (CAP001 shows the number)."),
                    None => "Move these nodes to nitro instance types, or size their kubelet maxPods for secondary IPs (CAP001 shows the number).".to_string(),
                }
            } else {
                "Move these node groups to nitro instance types (e.g. the current generation of the same family), or size their kubelet maxPods for secondary IPs (CAP001 shows the number).".to_string()
            };
            findings.push(f.with_remediation(fix));
        }
        if findings.is_empty() && !unknown.is_empty() {
            return META.missing(
                format!(
                    "EC2 hypervisor/bare-metal facts for instance type(s) {}",
                    unknown.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                inputs::instance_types(&unknown),
            );
        }
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

    fn cluster(image: &str, itype: &str, pd: bool) -> Cluster {
        let mut c = Cluster::default();
        c.config_maps = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"eni","aws-enable-prefix-delegation": pd.to_string()}}))
        .unwrap()]);
        let mut ds: crate::model::Workload = serde_json::from_value(json!({
            "metadata":{"name":"cilium","namespace":"kube-system","labels":{"k8s-app":"cilium"}},
            "spec":{"template":{"spec":{"containers":[{"name":"cilium-agent","image":image}]}}}}))
        .unwrap();
        ds.kind = "DaemonSet".into();
        c.daemonsets = Some(vec![ds]);
        c.nodes = Some(vec![serde_json::from_value(
            json!({"metadata":{"name":"n1","labels":{
            "node.kubernetes.io/instance-type":itype}}}),
        )
        .unwrap()]);
        c.instance_types = Some(vec![
            Ec2InstanceType {
                instance_type: "m4.large".into(),
                enis: 2,
                enis_all_cards: 2,
                ipv4_per_eni: 10,
                hypervisor: Some("xen".into()),
                bare_metal: false,
                vcpus: Some(2),
            },
            Ec2InstanceType {
                instance_type: "m5.metal".into(),
                enis: 15,
                enis_all_cards: 15,
                ipv4_per_eni: 50,
                hypervisor: None,
                bare_metal: true,
                vcpus: Some(96),
            },
            Ec2InstanceType {
                instance_type: "m5.large".into(),
                enis: 3,
                enis_all_cards: 3,
                ipv4_per_eni: 10,
                hypervisor: Some("nitro".into()),
                bare_metal: false,
                vcpus: Some(2),
            },
        ]);
        c.finish();
        c
    }

    #[test]
    fn xen_fires_nitro_quiet_pd_off_quiet() {
        let img = "quay.io/cilium/cilium:v1.18.7";
        let Ok(f) = outcome(
            &PrefixDelegationUnsupportedInstance,
            &cluster(img, "m4.large", true),
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("xen"));
        assert_eq!(
            outcome(
                &PrefixDelegationUnsupportedInstance,
                &cluster(img, "m5.large", true)
            ),
            Ok(vec![])
        );
        assert_eq!(
            outcome(
                &PrefixDelegationUnsupportedInstance,
                &cluster(img, "m4.large", false)
            ),
            Ok(vec![])
        );
    }

    #[test]
    fn bare_metal_depends_on_version() {
        let Ok(f) = outcome(
            &PrefixDelegationUnsupportedInstance,
            &cluster("quay.io/cilium/cilium:v1.17.13", "m5.metal", true),
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("Cilium 1.17"));
        // Bare metal is prefix-delegated from v1.18.0 (eni_iam.json
        // bare_metal_by_minor, pkg/aws/eni/node.go:799-801 at v1.18.7).
        assert!(
            f[0].remediation.contains("1.18 or later"),
            "{:?}",
            f[0].remediation
        );
        for quiet in [
            "quay.io/cilium/cilium:v1.18.7",
            "quay.io/cilium/cilium:v1.19.1",
        ] {
            assert_eq!(
                outcome(
                    &PrefixDelegationUnsupportedInstance,
                    &cluster(quiet, "m5.metal", true)
                ),
                Ok(vec![]),
                "{quiet}"
            );
        }
    }
}
