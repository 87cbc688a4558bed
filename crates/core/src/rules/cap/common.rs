//! Helpers shared by the CAP rules: which IPAM the cluster runs, per-node
//! facts (instance type, node group, first-interface-index) and evidence
//! formatting. The per-node counts are the evaluation's [`crate::facts`].

use crate::rules::inputs;

use crate::model::{CiliumNode, Cluster, Node};
use crate::rules::Context;
use crate::rules::Missing;

pub use crate::model::cilium::Ipam;

/// The IPAM in force. `Ok(None)`: Cilium is provably not installed (the
/// DaemonSets were provided and none is Cilium's, and there is no Cilium
/// config), so Cilium-specific rules do not apply. `Err`: not evaluable.
pub fn ipam(cx: &Context) -> Result<Option<Ipam>, Missing> {
    ipam_of(cx.cluster).map_err(|(missing, how)| Missing::new(missing, how))
}

/// [`ipam`] on the model alone (the report page's capacity view uses it
/// too); `Err` is (what is missing, how to provide it).
pub fn ipam_of(c: &Cluster) -> Result<Option<Ipam>, (&'static str, &'static str)> {
    use crate::model::cilium::CiliumPresence;
    match (c.cilium.presence, &c.cilium.ipam) {
        (CiliumPresence::Absent, _) => Ok(None),
        (CiliumPresence::Unknown, _) => Err((
            "no DaemonSets, Pods or Cilium configuration: cannot tell whether Cilium runs",
            inputs::DAEMONSETS,
        )),
        (_, Some(ipam)) => Ok(Some(ipam.clone())),
        (_, None) => Err((
            "the Cilium IPAM mode (ConfigMap kube-system/cilium-config or Helm values)",
            inputs::CILIUM_CONFIG,
        )),
    }
}

/// The node's EC2 instance type: its label, else the CiliumNode's `spec.eni.instance-type`.
pub fn instance_type<'a>(node: &'a Node, cn: Option<&'a CiliumNode>) -> Option<&'a str> {
    node.instance_type()
        .or_else(|| cn.and_then(|c| c.spec.eni.instance_type.as_deref()))
        .filter(|t| !t.is_empty())
}

/// The group a node belongs to, for grouping findings: EKS managed node
/// group, else Karpenter NodePool (`karpenter.sh/nodepool`, older
/// `karpenter.sh/provisioner-name`).
pub fn node_group(node: &Node) -> Option<(&'static str, &str)> {
    let l = &node.metadata.labels;
    if let Some(ng) = node.nodegroup() {
        return Some(("Nodegroup", ng));
    }
    l.get("karpenter.sh/nodepool")
        .or_else(|| l.get("karpenter.sh/provisioner-name"))
        .map(|p| ("NodePool", p.as_str()))
}

/// first-interface-index of a node and where it came from. Default 0: "If
/// unspecified, this value defaults to 0 which means that eth0 will be used
/// for pod IPs" (eni_iam.json `ciliumnode_spec_eni_fields`,
/// `first_interface_index.code_default`).
pub fn first_interface_index(cx: &Context, cn: Option<&CiliumNode>) -> (u32, &'static str) {
    if let Some(i) = cn.and_then(|c| c.spec.eni.first_interface_index) {
        return (i, "CiliumNode spec.eni.first-interface-index");
    }
    if let Some(i) = cx.cluster.cilium.first_interface_index {
        return (i, "Cilium config");
    }
    (0, "Cilium default (unset)")
}

/// Evidence lines, at most `max`, then "… and N more".
pub fn capped(lines: Vec<String>, max: usize) -> Vec<String> {
    let total = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(max).collect();
    if total > max {
        out.push(format!("… and {} more", total - max));
    }
    out
}

/// How a node-group kind reads in a sentence.
pub fn group_words(kind: &str) -> &'static str {
    match kind {
        "Nodegroup" => "node group",
        "NodePool" => "Karpenter NodePool",
        _ => "group",
    }
}

/// An AL2023 nodeadm `NodeConfig` that sets the kubelet's max pods.
pub fn nodeconfig_max_pods(max_pods: u32) -> String {
    [
        "---".to_string(),
        "apiVersion: node.eks.aws/v1alpha1".to_string(),
        "kind: NodeConfig".to_string(),
        "spec:".to_string(),
        "  kubelet:".to_string(),
        "    config:".to_string(),
        format!("      maxPods: {max_pods}"),
    ]
    .join("\n")
}

/// Whether the Cilium chart knows the Helm value `key` (knowledge: the
/// flattened keys of the running minor's chart; a map-valued key counts
/// through its children). Running minor unknown or not in the data: any
/// minor in the data.
pub fn helm_key_exists(cx: &Context, key: &str) -> bool {
    let child = format!("{key}.");
    let has = |keys: &std::collections::BTreeSet<String>| {
        keys.contains(key)
            || keys
                .range(child.clone()..)
                .next()
                .is_some_and(|k| k.starts_with(&child))
    };
    match cx
        .cluster
        .cilium
        .version
        .and_then(|v| cx.knowledge.helm_keys(v.minor()))
    {
        Some(keys) => has(keys),
        None => cx.knowledge.helm_keys.values().any(has),
    }
}
