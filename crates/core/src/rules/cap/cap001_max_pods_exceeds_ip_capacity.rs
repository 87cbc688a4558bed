//! CAP001 max-pods-exceeds-ip-capacity.

use crate::rules::inputs;
use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Ipam};
use super::ip_capacity::{self, LimitsSource};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct MaxPodsExceedsIpCapacity;

static META: RuleMeta = RuleMeta {
    code: "CAP001",
    name: "max-pods-exceeds-ip-capacity",
    severity: Severity::High,
    area: Area::Cap,
    summary: "In ENI mode the kubelet accepts more pods than Cilium can give IPs to",
    what_it_checks: "In Cilium ENI mode, for every node: the kubelet pod capacity \
(`status.capacity.pods`) minus the host-network pods already on the node, against the \
node's Cilium pod-IP capacity: the pool `(ENIs - first-interface-index) × (IPv4 per ENI - \
1)`, ×16 when the node is prefix-delegated, minus the addresses the agent takes from it for \
itself — the router (`cilium_host`) always, the health endpoint while endpoint health \
checking is on, an ingress address while Envoy config is on (`ipam_reserved` in \
`data/cilium.json`; a verbose `cilium status` in the snapshot shows them as `(router)`, \
`(health)`). Instance limits come from EC2 \
DescribeInstanceTypes in the snapshot when present, else from the embedded limits table. \
first-interface-index is the CiliumNode's `spec.eni.first-interface-index`, else the \
Cilium config, else Cilium's default 0. Nodes of the same instance type in the same node \
group are reported together.",
    why_it_matters: "The scheduler only knows the kubelet's max-pods. When that is higher \
than the number of addresses Cilium can attach to the node, the scheduler keeps placing \
pods that then hang in ContainerCreating with `unable to allocate IP via local cilium \
agent`. EKS AMIs set max-pods for the VPC CNI (`ENIs × (IPv4 - 1) + 2`), which does not \
account for Cilium's first-interface-index, so this is common after moving to Cilium \
with `first-interface-index: 1`.",
    how_to_fix: "Make the kubelet limit match what Cilium can address: set max-pods to \
pod-IP capacity + host-network pods in the node bootstrap (AL2023 nodeadm `NodeConfig` \
`spec.kubelet.config.maxPods`, Karpenter EC2NodeClass `spec.kubelet.maxPods`), and roll \
the nodes. Or raise the IP capacity: enable prefix delegation \
(`eni.awsEnablePrefixDelegation=true`, nitro instances; applies to nodes without secondary \
IPs already, i.e. new nodes), or use instance types with more ENIs/addresses.",
    known_limits: "Counts the host-network pods present in the snapshot (DaemonSets that \
will land later are not counted). A node whose ENIs already carry secondary IPs is not \
switched to prefix mode by Cilium; the rule assumes prefix delegation applies to every \
nitro node while it is on. Nodes whose instance limits are unknown are skipped; when no \
node can be checked because of that, the rule reports itself not evaluated.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

struct Row {
    node: String,
    max_pods: u32,
    host_pods: u32,
    capacity: u32,
    formula: String,
    fii_source: &'static str,
    source: LimitsSource,
}

impl Rule for MaxPodsExceedsIpCapacity {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        match common::ipam(cx)? {
            Some(Ipam::Eni) => {}
            _ => return Ok(vec![]),
        }
        let Some(nodes) = cx.cluster.nodes.as_deref() else {
            return META.missing("no Node objects", inputs::NODES);
        };
        if cx.cluster.pods.is_none() {
            return META.missing("no Pod objects (host-network pods per node)", inputs::PODS);
        }
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        let host_pods = cx.facts.host_network_pods_per_node();
        let pd_on = cx.cluster.cilium.prefix_delegation;
        let pools = ip_capacity::EniPools::of(cx);

        let mut unknown_types: BTreeSet<String> = BTreeSet::new();
        let mut checked = 0usize;
        // (group kind, group name, instance type) → rows
        let mut groups: BTreeMap<(&str, String, String), Vec<Row>> = BTreeMap::new();
        for node in nodes {
            let name = node.metadata.name.as_str();
            let cn = cilium_nodes.get(name).copied();
            let Some(itype) = common::instance_type(node, cn) else {
                continue;
            };
            let Some(max_pods) = node.max_pods() else {
                continue;
            };
            let Some(limits) = ip_capacity::instance_limits(cx, itype) else {
                unknown_types.insert(itype.to_string());
                continue;
            };
            checked += 1;
            let (fii, fii_source) = common::first_interface_index(cx, cn);
            let node_pd_off = cn.and_then(|c| c.spec.eni.disable_prefix_delegation) == Some(true);
            let cap = pools.node(&limits.it, fii, pd_on && !node_pd_off);
            let capacity = cap.pod_ips.unwrap_or(0);
            let host = host_pods.get(name).copied().unwrap_or(0);
            if max_pods.saturating_sub(host) <= capacity {
                continue;
            }
            let (gkind, gname) = common::node_group(node).unwrap_or(("", ""));
            groups
                .entry((gkind, gname.to_string(), itype.to_string()))
                .or_default()
                .push(Row {
                    node: name.to_string(),
                    max_pods,
                    host_pods: host,
                    capacity,
                    formula: ip_capacity::cilium_eni_formula(&cap, fii),
                    fii_source,
                    source: limits.source,
                });
        }

        if groups.is_empty() && checked == 0 && !unknown_types.is_empty() {
            return META.missing(
                format!(
                    "EC2 network limits for instance type(s) {}",
                    unknown_types.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                inputs::instance_types(&unknown_types),
            );
        }

        let pd_key = common::helm_key_exists(cx, "eni.awsEnablePrefixDelegation");
        let findings = groups
            .into_iter()
            .map(|((gkind, gname, itype), rows)| {
                finding(gkind, &gname, &itype, rows, pd_key, pd_on)
            })
            .collect();
        Ok(findings)
    }
}

fn finding(
    gkind: &str,
    gname: &str,
    itype: &str,
    rows: Vec<Row>,
    pd_key: bool,
    pd_on: bool,
) -> Finding {
    let object = match rows.as_slice() {
        [one] => ObjectRef::global("Node", &one.node),
        _ if !gkind.is_empty() => ObjectRef::global(gkind, gname),
        _ => ObjectRef::global("Node", &rows[0].node),
    };
    // The tightest node of the group sets the safe max-pods.
    let safe = rows
        .iter()
        .map(|r| r.capacity + r.host_pods)
        .min()
        .unwrap_or(0);
    let worst = rows
        .iter()
        .max_by_key(|r| r.max_pods.saturating_sub(r.host_pods) - r.capacity)
        .unwrap_or(&rows[0]);
    let place = if gkind.is_empty() {
        String::new()
    } else {
        format!(" in {} {}", common::group_words(gkind), gname)
    };
    let message = if rows.len() == 1 {
        format!(
            "Node {} ({itype}) accepts {} pods ({} after {} host-network pods) but Cilium ENI mode can give it only {} pod IPs",
            worst.node,
            worst.max_pods,
            worst.max_pods - worst.host_pods,
            worst.host_pods,
            worst.capacity
        )
    } else {
        format!(
            "{} {itype} nodes{place} accept more pods than Cilium ENI mode can give IPs to (e.g. {}: {} pods after {} host-network pods vs {} pod IPs)",
            rows.len(),
            worst.node,
            worst.max_pods - worst.host_pods,
            worst.host_pods,
            worst.capacity
        )
    };
    let mut f = META.finding(object, message);
    f = f.with_evidence(format!(
        "instance type {itype}: limits from {}",
        worst.source.describe()
    ));
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}: kubelet max pods {} (status.capacity.pods) - {} host-network pods = {} > pod-IP capacity {} [{}; first-interface-index from {}]",
                r.node,
                r.max_pods,
                r.host_pods,
                r.max_pods - r.host_pods,
                r.capacity,
                r.formula,
                r.fii_source
            )
        })
        .collect();
    for l in common::capped(lines, 10) {
        f = f.with_evidence(l);
    }
    let mut fix = format!(
        "Cap the kubelet at what Cilium can address ({safe} = pod-IP capacity + host-network pods on the tightest node), then roll the nodes.\n\
# AL2023 (nodeadm), in the launch template user data of the node group:\n\
{}\n\
# Karpenter: set spec.kubelet.maxPods: {safe} in the EC2NodeClass.",
        common::nodeconfig_max_pods(safe)
    );
    if pd_key && !pd_on {
        fix.push_str(
            "\n# Or raise the capacity on nitro instances (new nodes pick it up):\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set eni.awsEnablePrefixDelegation=true",
        );
    }
    f.with_remediation(fix)
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{Cluster, Ec2InstanceType};
    use crate::rules::testing::outcome;
    use serde_json::json;

    fn cluster(fii: Option<u32>, host_pods: usize, pd: bool) -> Cluster {
        let mut c = Cluster::default();
        let mut cm = json!({"metadata":{"name":"cilium-config","namespace":"kube-system"},
            "data":{"ipam":"eni","routing-mode":"native"}});
        if pd {
            cm["data"]["aws-enable-prefix-delegation"] = json!("true");
        }
        c.config_maps = Some(vec![serde_json::from_value(cm).unwrap()]);
        c.daemonsets = Some(vec![]);
        c.nodes = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"ip-10-0-1-23.eu-west-1.compute.internal","labels":{
                "node.kubernetes.io/instance-type":"m5.large",
                "eks.amazonaws.com/nodegroup":"ng-general"}},
            "status":{"capacity":{"pods":"29"}}}))
        .unwrap()]);
        c.pods = Some(
            (0..host_pods)
                .map(|i| {
                    serde_json::from_value(json!({
                        "metadata":{"name":format!("h{i}"),"namespace":"kube-system"},
                        "spec":{"nodeName":"ip-10-0-1-23.eu-west-1.compute.internal","hostNetwork":true},
                        "status":{"phase":"Running"}}))
                    .unwrap()
                })
                .collect(),
        );
        if let Some(i) = fii {
            c.cilium_nodes = Some(vec![serde_json::from_value(json!({
                "metadata":{"name":"ip-10-0-1-23.eu-west-1.compute.internal"},
                "spec":{"eni":{"first-interface-index":i}}}))
            .unwrap()]);
        }
        c.instance_types = Some(vec![Ec2InstanceType {
            instance_type: "m5.large".into(),
            enis: 3,
            enis_all_cards: 3,
            ipv4_per_eni: 10,
            hypervisor: Some("nitro".into()),
            bare_metal: false,
            vcpus: Some(2),
        }]);
        c.finish();
        c
    }

    #[test]
    fn fires_with_first_interface_index_one() {
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &cluster(Some(1), 2, false)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("27 after 2 host-network pods"),
            "{}",
            f[0].message
        );
        // (3 - 1) × 9 = 18 pool IPs, less the router and health addresses.
        assert!(f[0].message.contains("only 16 pod IPs"), "{}", f[0].message);
        assert!(f[0].remediation.contains("maxPods: 18"));
        assert!(
            f[0].evidence
                .iter()
                .any(|e| e.contains("18 - 2 reserved by the agent (1 router, 1 health) = 16")),
            "{:?}",
            f[0].evidence
        );
    }

    #[test]
    fn boundary_equal_is_quiet() {
        // 29 - 4 = 25 = (3-0)*(10-1) - 2 (router, health): exactly enough.
        assert_eq!(
            outcome(&MaxPodsExceedsIpCapacity, &cluster(None, 4, false)),
            Ok(vec![])
        );
        // The EKS default with two host-network pods: 27 > 25, the two
        // addresses the agent keeps strand two pods.
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &cluster(None, 2, false)) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn reserved_addresses_follow_config_and_verbose_status() {
        // Endpoint health checking off (the chart does this when chaining):
        // only the router address is taken, 29 - 3 = 26 = 27 - 1.
        let mut c = cluster(None, 3, false);
        c.config_maps.as_mut().unwrap()[0]
            .data
            .insert("enable-endpoint-health-checking".into(), "false".into());
        c.finish();
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));
        // Envoy config on (Ingress/Gateway API): three addresses, 26 > 24.
        let mut c = cluster(None, 3, false);
        c.config_maps.as_mut().unwrap()[0]
            .data
            .insert("enable-envoy-config".into(), "true".into());
        c.finish();
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert!(f[0].message.contains("only 24 pod IPs"), "{}", f[0].message);
        // A verbose cilium status lists what the agent really took.
        let mut c = cluster(None, 3, false);
        c.cilium_status = Some(vec![crate::model::CiliumStatusReport {
            source: "cilium-status-cilium-abcde.txt".into(),
            allocation_owners: Some(vec!["router".into(), "default/web-1".into()]),
            ..Default::default()
        }]);
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));
    }

    #[test]
    fn prefix_delegation_lifts_capacity() {
        assert_eq!(
            outcome(&MaxPodsExceedsIpCapacity, &cluster(Some(1), 0, true)),
            Ok(vec![])
        );
    }

    #[test]
    fn not_eni_and_missing_inputs() {
        let mut c = cluster(Some(1), 0, false);
        c.config_maps.as_mut().unwrap()[0]
            .data
            .insert("ipam".into(), "cluster-pool".into());
        c.finish();
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));

        let mut c = cluster(Some(1), 0, false);
        c.pods = None;
        assert!(outcome(&MaxPodsExceedsIpCapacity, &c).is_err());

        // A type neither the snapshot nor the knowledge knows.
        let mut c = cluster(Some(1), 0, false);
        c.instance_types = None;
        c.nodes.as_mut().unwrap()[0].metadata.labels.insert(
            "node.kubernetes.io/instance-type".into(),
            "zz9.nonexistent".into(),
        );
        match outcome(&MaxPodsExceedsIpCapacity, &c) {
            Err(n) => {
                assert!(n.missing.contains("zz9.nonexistent"));
                assert!(n
                    .how_to_provide
                    .unwrap()
                    .contains("--instance-types zz9.nonexistent"));
            }
            other => panic!("{other:?}"),
        }
    }
}
