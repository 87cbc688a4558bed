//! CAP001 max-pods-exceeds-ip-capacity.

use crate::rules::inputs;
use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Ipam};
use super::future_nodes::{self, Source};
use super::ip_capacity::{self, LimitsSource};
use crate::capacity::EKS_HOST_NETWORK_PODS;
use crate::findings::{Finding, ObjectRef, Severity};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::userdata::Format;

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
group are reported together. The same check runs on the nodes that do not exist yet, for \
every instance type each source can launch: an EKS managed node group's max pods comes from \
its launch template version's user data (`describe-launch-template-versions`: nodeadm \
`NodeConfig` `spec.kubelet.config.maxPods`, else `maxPodsExpression`; AL2 `bootstrap.sh \
--kubelet-extra-args --max-pods`; Bottlerocket `settings.kubernetes.max-pods`), else the AMI \
default `ENIs × (IPv4 per ENI - 1) + 2`, capped at 110/250 by EKS when no custom AMI is set; a \
Karpenter NodePool's from its EC2NodeClass `spec.kubelet.maxPods` (v1; NodePool \
`spec.template.spec.kubelet` in v1beta1), else Karpenter's ENI-limited formula, capped by \
`podsPerCore`; its instance types are the embedded table's types its requirements allow. \
New nodes count the host-network DaemonSets as their host-network pods.",
    why_it_matters: "The scheduler only knows the kubelet's max-pods. When that is higher \
than the number of addresses Cilium can attach to the node, the scheduler keeps placing \
pods that then hang in ContainerCreating with `unable to allocate IP via local cilium \
agent`. EKS AMIs set max-pods for the VPC CNI (`ENIs × (IPv4 - 1) + 2`), which does not \
account for Cilium's first-interface-index, so this is common after moving to Cilium \
with `first-interface-index: 1`.",
    how_to_fix: "Make the kubelet limit match what Cilium can address: set max-pods to \
pod-IP capacity + host-network pods (`eks-cilium-doctor generate max-pods --for \
nodeadm|al2|karpenter|bottlerocket|eksctl|terraform --instance-type T` prints the setting) in the node bootstrap (AL2023 nodeadm `NodeConfig` \
`spec.kubelet.config.maxPods`, AL2 `bootstrap.sh --use-max-pods false --kubelet-extra-args \
'--max-pods=N'`, Karpenter EC2NodeClass `spec.kubelet.maxPods`), and roll \
the nodes. Or raise the IP capacity: enable prefix delegation \
(`eni.awsEnablePrefixDelegation=true`, nitro instances; applies to nodes without secondary \
IPs already, i.e. new nodes), or use instance types with more ENIs/addresses.",
    known_limits: "Counts the host-network pods present in the snapshot (DaemonSets that \
will land later are not counted). A node whose ENIs already carry secondary IPs is not \
switched to prefix mode by Cilium; the rule assumes prefix delegation applies to every \
nitro node while it is on. Nodes whose instance limits are unknown are skipped; when no \
node can be checked because of that, the rule reports itself not evaluated. Future nodes: a \
node group whose launch template version is not in the snapshot, or whose user data sets max \
pods through a template placeholder or an expression this reader cannot evaluate, is skipped \
(never guessed); Karpenter's `--reserved-enis` and EFA-only interfaces are taken as 0, a \
`maxPods` in EC2NodeClass `userData` is not read (Karpenter writes its own), NodePool \
requirements on keys other than instance type, family, category, generation, size, CPU, \
hypervisor and architecture (arm64 told from the family name) make the pool not evaluated.",
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
        let (future, future_skipped) = future_nodes::sources(cx);
        let nodes = cx.cluster.nodes.as_deref();
        if future.is_empty() {
            if nodes.is_none() {
                if !future_skipped.is_empty() {
                    return META.missing(
                        format!(
                            "no Node objects, and the max pods of future nodes is not known ({})",
                            future_skipped.join("; ")
                        ),
                        format!("{}; {}", inputs::NODES, inputs::LAUNCH_TEMPLATES),
                    );
                }
                return META.missing("no Node objects", inputs::NODES);
            }
            if cx.cluster.pods.is_none() {
                return META.missing("no Pod objects (host-network pods per node)", inputs::PODS);
            }
        }
        // Without pods the host-network pods per node are unknown: today's
        // nodes are then left to the future-node check of their group.
        let nodes = nodes
            .filter(|_| cx.cluster.pods.is_some())
            .unwrap_or_default();
        let cilium_nodes = cx.facts.cilium_nodes_by_name();
        let host_pods = cx.facts.host_network_pods_per_node();
        let pd_on = cx.cluster.cilium.prefix_delegation;
        let pools = ip_capacity::EniPools::of(cx);

        let mut unknown_types: BTreeSet<String> = BTreeSet::new();
        let mut checked = 0usize;
        // Group and type of every node checked.
        let mut seen: BTreeSet<(&str, String, String)> = BTreeSet::new();
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
            let (gkind, gname) = common::node_group(node).unwrap_or(("", ""));
            seen.insert((gkind, gname.to_string(), itype.to_string()));
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

        let pd_key = common::helm_key_exists(cx, "eni.awsEnablePrefixDelegation");
        let future_findings = future_findings(cx, &future, &groups, &seen, &pools, pd_key);
        let future_checked: usize = future.iter().map(|s| s.types.len()).sum();
        for s in &future {
            unknown_types.extend(s.unknown_types.iter().cloned());
        }
        if groups.is_empty()
            && future_findings.is_empty()
            && checked == 0
            && future_checked == 0
            && !unknown_types.is_empty()
        {
            return META.missing(
                format!(
                    "EC2 network limits for instance type(s) {}",
                    unknown_types.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                inputs::instance_types(&unknown_types),
            );
        }

        let mut findings: Vec<Finding> = groups
            .into_iter()
            .map(|((gkind, gname, itype), rows)| {
                finding(gkind, &gname, &itype, rows, pd_key, pd_on)
            })
            .collect();
        findings.extend(future_findings);
        Ok(findings)
    }
}

/// One instance type of a node group or NodePool whose future nodes will
/// accept more pods than they get IPs.
struct FutureRow {
    itype: String,
    max_pods: u32,
    capacity: u32,
    how: Vec<String>,
    formula: String,
}

/// Host-network pods every new node will run: the DaemonSets on the host
/// network (all of them: nodeSelectors are not applied), else the EKS
/// formula's own assumption.
fn future_host_pods(cx: &Context) -> (u32, String) {
    match cx.cluster.daemonsets.as_deref() {
        Some(ds) => {
            let n = ds
                .iter()
                .filter(|d| d.spec.template.spec.host_network)
                .count();
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            (n, format!("{n} host-network DaemonSet(s) will run on each new node"))
        }
        None => (
            EKS_HOST_NETWORK_PODS,
            format!(
                "{EKS_HOST_NETWORK_PODS} host-network pods assumed per new node (no DaemonSets in the snapshot; the EKS formula's own assumption)"
            ),
        ),
    }
}

/// first-interface-index of nodes not started yet: the Cilium config's,
/// else the most restrictive one the running CiliumNodes carry, else 0.
fn future_first_interface_index(cx: &Context) -> (u32, &'static str) {
    if let Some(i) = cx.cluster.cilium.first_interface_index {
        return (i, "Cilium config");
    }
    let running = cx
        .cluster
        .cilium_nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.spec.eni.first_interface_index)
        .max();
    match running {
        Some(i) => (i, "the running CiliumNodes' spec.eni.first-interface-index"),
        None => common::first_interface_index(cx, None),
    }
}

type NodeGroups = BTreeMap<(&'static str, String, String), Vec<Row>>;

/// Findings on the nodes node groups and NodePools will launch; a group and
/// type already reported from its running nodes is not reported twice.
fn future_findings(
    cx: &Context,
    sources: &[Source],
    current: &NodeGroups,
    seen: &BTreeSet<(&str, String, String)>,
    pools: &ip_capacity::EniPools,
    pd_key: bool,
) -> Vec<Finding> {
    let pd_on = cx.cluster.cilium.prefix_delegation;
    let (fii, fii_source) = future_first_interface_index(cx);
    let (host, host_note) = future_host_pods(cx);
    let mut out = Vec::new();
    for s in sources {
        let mut rows = Vec::new();
        let mut checked = 0;
        for t in &s.types {
            checked += 1;
            let key = (s.kind, s.name.clone(), t.instance_type.clone());
            // Reported from the running nodes already; or, where EKS builds
            // the launch template, running nodes show what new ones get.
            if current.contains_key(&key) || (!s.authoritative && seen.contains(&key)) {
                continue;
            }
            let cap = pools.node(&t.limits.it, fii, pd_on);
            let capacity = cap.pod_ips.unwrap_or(0);
            if t.max_pods.saturating_sub(host) <= capacity {
                continue;
            }
            rows.push(FutureRow {
                itype: t.instance_type.clone(),
                max_pods: t.max_pods,
                capacity,
                how: t.how.clone(),
                formula: ip_capacity::cilium_eni_formula(&cap, fii),
            });
        }
        if rows.is_empty() {
            continue;
        }
        rows.sort_by(|a, b| {
            let d = |r: &FutureRow| r.max_pods.saturating_sub(host) - r.capacity;
            d(b).cmp(&d(a)).then_with(|| a.itype.cmp(&b.itype))
        });
        out.push(future_finding(
            s, &rows, checked, host, &host_note, fii_source, pd_key, pd_on, cx,
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn future_finding(
    s: &Source,
    rows: &[FutureRow],
    checked: usize,
    host: u32,
    host_note: &str,
    fii_source: &str,
    pd_key: bool,
    pd_on: bool,
    cx: &Context,
) -> Finding {
    let worst = &rows[0];
    let words = common::group_words(s.kind);
    let types: Vec<&str> = rows.iter().map(|r| r.itype.as_str()).collect();
    let message = if rows.len() == 1 {
        format!(
            "New {} nodes of {words} {} will accept {} pods ({} after {host} host-network pods) but Cilium ENI mode can give them only {} pod IPs ({})",
            worst.itype,
            s.name,
            worst.max_pods,
            worst.max_pods.saturating_sub(host),
            worst.capacity,
            s.origin
        )
    } else {
        format!(
            "New nodes of {words} {} will accept more pods than Cilium ENI mode can give IPs to on {} of its {checked} instance types (e.g. {}: {} pods after {host} host-network pods vs {} pod IPs; {})",
            s.name,
            rows.len(),
            worst.itype,
            worst.max_pods.saturating_sub(host),
            worst.capacity,
            s.origin
        )
    };
    let mut f = META
        .finding(ObjectRef::global(s.kind, &s.name), message)
        .with_evidence(format!("max pods from {}", s.origin))
        .with_evidence(host_note.to_string())
        .with_evidence(format!("first-interface-index from {fii_source}"));
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{}: max pods {} [{}] - {host} host-network = {} > pod-IP capacity {} [{}]",
                r.itype,
                r.max_pods,
                r.how.join("; "),
                r.max_pods.saturating_sub(host),
                r.capacity,
                r.formula
            )
        })
        .collect();
    for l in common::capped(lines, 10) {
        f = f.with_evidence(l);
    }
    let safe = rows.iter().map(|r| r.capacity + host).min().unwrap_or(0);
    let cluster = cx.cluster_name();
    let mut fix = format!(
        "Cap the kubelet at what Cilium can address on the tightest type ({safe} = pod-IP capacity + {host} host-network pods; `eks-cilium-doctor generate max-pods --for {} --instance-type {}` prints the setting), then replace the nodes.\n",
        if s.kind == "NodePool" { "karpenter" } else { generate_target(s) },
        types.join(" --instance-type ")
    );
    if s.kind == "NodePool" {
        let class = s.node_class.as_deref().unwrap_or("NAME");
        if s.nodepool_kubelet {
            fix.push_str(&format!(
                "# karpenter.sh/v1beta1: in NodePool {}:\nspec:\n  template:\n    spec:\n      kubelet:\n        maxPods: {safe}\n",
                s.name
            ));
        } else {
            fix.push_str(&format!(
                "# In EC2NodeClass {class} (karpenter.k8s.aws/v1):\nspec:\n  kubelet:\n    maxPods: {safe}\n"
            ));
        }
        if rows.len() > 1 {
            fix.push_str(
                "# One maxPods serves every type of the class: or narrow the NodePool's requirements to the types whose pod IPs suffice.\n",
            );
        }
    } else {
        let snippet = match generate_target(s) {
            "bottlerocket" => format!("[settings.kubernetes]\nmax-pods = {safe}"),
            "al2" => format!("/etc/eks/bootstrap.sh {cluster} --use-max-pods false --kubelet-extra-args '--max-pods={safe}'"),
            _ => common::nodeconfig_max_pods(safe),
        };
        match &s.setting {
            Some(setting) => fix.push_str(&format!(
                "# Change {setting} in a new version of the launch template:\n{snippet}\n"
            )),
            None => fix.push_str(&format!(
                "# Set it in the user data of a new launch template version ({}):\n{snippet}\n",
                s.origin
            )),
        }
        if s.origin.starts_with("launch template") {
            fix.push_str(&format!(
                "aws eks update-nodegroup-version --cluster-name {cluster} --nodegroup-name {} --launch-template name=LAUNCH_TEMPLATE,version=NEW_VERSION\n",
                s.name
            ));
        } else {
            fix.push_str(
                "# A node group without a launch template of its own gets EKS's: create the replacement node group with a launch template that carries this user data.\n",
            );
        }
    }
    if pd_key && !pd_on {
        fix.push_str(
            "# Or raise the capacity on nitro instances (new nodes pick it up):\n\
helm upgrade cilium cilium/cilium -n kube-system --reuse-values --set eni.awsEnablePrefixDelegation=true",
        );
    }
    f.with_remediation(fix.trim_end().to_string())
}

/// The `generate max-pods --for` target matching a node group's user data.
fn generate_target(s: &Source) -> &'static str {
    let bottlerocket = s.format == Some(Format::Bottlerocket)
        || s.ami_type
            .as_deref()
            .is_some_and(|a| a.to_ascii_uppercase().starts_with("BOTTLEROCKET"));
    // AL2_x86_64, AL2_ARM_64, AL2_x86_64_GPU (not AL2023_…), or a
    // bootstrap.sh script in the user data.
    let al2 = s.format == Some(Format::Shell)
        || s.ami_type.as_deref().is_some_and(|a| {
            let a = a.to_ascii_uppercase();
            a.starts_with("AL2_")
        });
    if bottlerocket {
        "bottlerocket"
    } else if al2 {
        "al2"
    } else {
        "nodeadm"
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

    /// A cluster with no nodes yet: first-interface-index 1 in the config,
    /// two host-network DaemonSets (cilium, kube-proxy).
    fn empty_cluster() -> Cluster {
        let mut c = cluster(Some(1), 0, false);
        c.config_maps.as_mut().unwrap()[0]
            .data
            .insert("eni-first-interface-index".into(), "1".into());
        c.nodes = Some(vec![]);
        c.cilium_nodes = None;
        c.pods = Some(vec![]);
        let ds = |name: &str| {
            serde_json::from_value(json!({"metadata":{"name":name,"namespace":"kube-system"},
                "spec":{"template":{"spec":{"hostNetwork":true}}}}))
            .unwrap()
        };
        c.daemonsets = Some(vec![ds("cilium"), ds("kube-proxy")]);
        c.finish();
        c
    }

    fn karpenter(
        c: &mut Cluster,
        class_kubelet: serde_json::Value,
        pool_kubelet: serde_json::Value,
    ) {
        c.node_pools = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"default"},
            "spec":{"template":{"spec":{
                "nodeClassRef":{"group":"karpenter.k8s.aws","kind":"EC2NodeClass","name":"default"},
                "kubelet": pool_kubelet,
                "requirements":[
                    {"key":"node.kubernetes.io/instance-type","operator":"In","values":["m5.large"]},
                    {"key":"karpenter.sh/capacity-type","operator":"In","values":["on-demand"]}]}}}}))
        .unwrap()]);
        c.ec2_node_classes = Some(vec![serde_json::from_value(json!({
            "metadata":{"name":"default"},
            "spec":{"amiSelectorTerms":[{"alias":"al2023@latest"}],"kubelet": class_kubelet}}))
        .unwrap()]);
    }

    #[test]
    fn karpenter_default_max_pods_fires_before_any_node() {
        let mut c = empty_cluster();
        karpenter(&mut c, serde_json::Value::Null, serde_json::Value::Null);
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object.kind, "NodePool");
        // 3 × 9 + 2 = 29 - 2 host-network = 27 > (3-1) × 9 - 2 = 16.
        assert!(
            f[0].message.contains("New m5.large nodes of Karpenter NodePool default will accept 29 pods (27 after 2 host-network pods) but Cilium ENI mode can give them only 16 pod IPs"),
            "{}",
            f[0].message
        );
        assert!(f[0].remediation.contains("# In EC2NodeClass default"));
        assert!(
            f[0].remediation.contains("    maxPods: 18"),
            "{}",
            f[0].remediation
        );
        assert!(f[0]
            .remediation
            .contains("generate max-pods --for karpenter --instance-type m5.large"));
        // Set as advised: quiet.
        let mut c = empty_cluster();
        karpenter(&mut c, json!({"maxPods": 18}), serde_json::Value::Null);
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));
        // One more pod than IPs: fires, naming the setting.
        let mut c = empty_cluster();
        karpenter(&mut c, json!({"maxPods": 19}), serde_json::Value::Null);
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert!(
            f[0].message.contains("EC2NodeClass default spec.kubelet"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn karpenter_v1beta1_kubelet_and_unmodelled_requirements() {
        let mut c = empty_cluster();
        karpenter(&mut c, serde_json::Value::Null, json!({"maxPods": 110}));
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert!(
            f[0].remediation.contains("karpenter.sh/v1beta1"),
            "{}",
            f[0].remediation
        );
        assert!(f[0].remediation.contains("        maxPods: 18"));
        // A requirement the check cannot map to types: not evaluated, not guessed.
        let mut c = empty_cluster();
        karpenter(&mut c, serde_json::Value::Null, serde_json::Value::Null);
        c.node_pools.as_mut().unwrap()[0]
            .spec
            .template
            .spec
            .requirements
            .push(serde_json::from_value(json!({"key":"karpenter.k8s.aws/instance-memory","operator":"Gt","values":["2048"]})).unwrap());
        c.nodes = None;
        match outcome(&MaxPodsExceedsIpCapacity, &c) {
            Err(m) => assert!(m.missing.contains("instance-memory"), "{}", m.missing),
            other => panic!("{other:?}"),
        }
    }

    fn launch_template(
        user_data: &str,
        image: Option<&str>,
    ) -> crate::model::LaunchTemplateVersion {
        crate::model::LaunchTemplateVersion {
            launch_template_id: "lt-0abc".into(),
            launch_template_name: "ng-general".into(),
            version_number: 3,
            default_version: false,
            image_id: image.map(String::from),
            instance_type: None,
            user_data: crate::userdata::parse(user_data),
            user_data_error: None,
        }
    }

    fn with_nodegroup(c: &mut Cluster, lt: Option<crate::model::LaunchTemplateVersion>) {
        c.nodegroups = Some(vec![serde_json::from_value(json!({
            "nodegroupName":"ng-general","instanceTypes":["m5.large"],"amiType":"AL2023_x86_64_STANDARD",
            "launchTemplate": {"name":"ng-general","version":"3","id":"lt-0abc"},
            "scalingConfig":{"minSize":0,"maxSize":3,"desiredSize":0}}))
        .unwrap()]);
        c.launch_template_versions = lt.map(|l| vec![l]);
    }

    const NODECONFIG_110: &str = "MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"//\"

--//
Content-Type: application/node.eks.aws

apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      maxPods: 110
--//--
";

    #[test]
    fn an_al2_group_is_told_the_bootstrap_flags_not_a_node_config() {
        let mut c = empty_cluster();
        with_nodegroup(&mut c, None);
        let groups = c.nodegroups.as_mut().unwrap();
        groups[0].ami_type = Some("AL2_x86_64".into());
        groups[0].launch_template = None;
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1, "{f:?}");
        let fix = &f[0].remediation;
        assert!(fix.contains("--for al2 "), "{fix}");
        assert!(
            fix.contains("--use-max-pods false --kubelet-extra-args '--max-pods="),
            "{fix}"
        );
        assert!(!fix.contains("NodeConfig"), "{fix}");
    }

    #[test]
    fn launch_template_max_pods_fires_and_names_the_version() {
        let mut c = empty_cluster();
        with_nodegroup(&mut c, Some(launch_template(NODECONFIG_110, None)));
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].object.kind, "Nodegroup");
        assert!(
            f[0].message
                .contains("launch template ng-general version 3"),
            "{}",
            f[0].message
        );
        // 110 (under the MNG cap of 110 for 2 vCPUs) - 2 = 108 > 16.
        assert!(
            f[0].message.contains("accept 110 pods (108 after 2"),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .remediation
            .contains("# Change MIME part 1: NodeConfig spec.kubelet.config.maxPods"));
        assert!(f[0].remediation.contains("      maxPods: 18"));
        assert!(f[0]
            .remediation
            .contains("aws eks update-nodegroup-version"));

        // The version the node group uses is not in the snapshot: no guess.
        let mut c = empty_cluster();
        let mut lt = launch_template(NODECONFIG_110, None);
        lt.version_number = 2;
        with_nodegroup(&mut c, Some(lt));
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));
        c.nodes = None;
        match outcome(&MaxPodsExceedsIpCapacity, &c) {
            Err(m) => assert!(
                m.missing.contains("version 3 is not in the snapshot"),
                "{}",
                m.missing
            ),
            other => panic!("{other:?}"),
        }

        // maxPods at the safe value: quiet.
        let mut c = empty_cluster();
        with_nodegroup(
            &mut c,
            Some(launch_template(&NODECONFIG_110.replace("110", "18"), None)),
        );
        assert_eq!(outcome(&MaxPodsExceedsIpCapacity, &c), Ok(vec![]));
    }

    #[test]
    fn running_nodes_are_not_reported_twice() {
        // The node group's running node already fires from status.capacity.pods.
        let mut c = cluster(Some(1), 2, false);
        with_nodegroup(&mut c, Some(launch_template(NODECONFIG_110, None)));
        c.daemonsets = Some(vec![]);
        c.finish();
        let Ok(f) = outcome(&MaxPodsExceedsIpCapacity, &c) else {
            panic!()
        };
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object.kind, "Node");
    }
}
