//! VER rules. One file per rule; list each once in `RULES`, in code order.
//!
//! Shared here: reading the running Cilium and Kubernetes versions, the
//! grouping of nodes by how they are rolled (managed node group, Karpenter
//! NodePool, lone node), AMI families, and the rendering of upgrade steps.
//! The upgrade path itself is computed in [`path`] (reused by `plan upgrade`).

pub(crate) mod path;
mod ver001_cilium_k8s_untested;
mod ver002_upgrade_target_untested;
mod ver003_eks_forced_upgrade_soon;
mod ver004_cilium_out_of_support;
mod ver005_kernel_below_cilium_minimum;
mod ver006_kubelet_version_skew;
mod ver007_helm_values_removed_keys;
mod ver008_cilium_upgrade_skips_minor;
mod ver009_mixed_cilium_versions;
pub(crate) mod ver010_node_image_change_on_upgrade;
pub(crate) mod ver011_knowledge_stale;
pub(crate) mod ver012_known_bad_release;
pub(crate) mod ver013_eks_insight_not_passing;

#[cfg(test)]
pub(crate) mod testkit;

use crate::rules::inputs;
use std::collections::BTreeMap;

use super::{Context, Rule};
use crate::findings::ObjectRef;
use crate::knowledge::{AmiFamily, Knowledge};
use crate::model::Node;
use crate::version::{Minor, Version};

use crate::rules::Missing;
pub(crate) use path::{upgrade_path, PathError, Step, UpgradePath};
pub(crate) use ver007_helm_values_removed_keys::{flatten_values, tunnel_translation};
pub(crate) use ver010_node_image_change_on_upgrade::al2023_nodegroup_command;

pub static RULES: &[&dyn Rule] = &[
    &ver001_cilium_k8s_untested::Ver001,
    &ver002_upgrade_target_untested::Ver002,
    &ver003_eks_forced_upgrade_soon::Ver003,
    &ver004_cilium_out_of_support::Ver004,
    &ver005_kernel_below_cilium_minimum::Ver005,
    &ver006_kubelet_version_skew::Ver006,
    &ver007_helm_values_removed_keys::Ver007,
    &ver008_cilium_upgrade_skips_minor::Ver008,
    &ver009_mixed_cilium_versions::Ver009,
    &ver010_node_image_change_on_upgrade::Ver010,
    &ver011_knowledge_stale::Ver011,
    &ver012_known_bad_release::Ver012,
    &ver013_eks_insight_not_passing::Ver013,
];

/// The Cilium project maintains the three newest minor releases (VER004;
/// the report page's versions table).
pub(crate) const MAINTAINED_MINORS: usize = 3;

/// The running Cilium agent version.
/// `Ok(None)`: the snapshot proves Cilium is not installed (the rule does not apply).
pub(super) fn running_cilium(cx: &Context) -> Result<Option<Version>, Missing> {
    use crate::model::cilium::CiliumPresence;
    let s = &cx.cluster.cilium;
    if let Some(v) = s.version {
        return Ok(Some(v));
    }
    match s.presence {
        // No agent runs: nothing to version.
        CiliumPresence::Absent | CiliumPresence::ConfigOnly => return Ok(None),
        CiliumPresence::Unknown | CiliumPresence::Configured => {
            return Err(Missing::new(
                "no DaemonSets or Pods (Cilium agent)",
                inputs::WORKLOADS,
            ));
        }
        CiliumPresence::Running => {}
    }
    let image = s
        .agent_images
        .first()
        .map(String::as_str)
        .unwrap_or("(none)");
    Err(Missing::new(
        format!("the Cilium version: the agent image {image} carries no version tag"),
        "",
    ))
}

/// The control-plane Kubernetes minor.
pub(super) fn running_kubernetes(cx: &Context) -> Result<Minor, Missing> {
    cx.cluster
        .kubernetes_version()
        .map(Version::minor)
        .ok_or_else(|| Missing::new("the Kubernetes version", inputs::KUBERNETES_VERSION))
}

pub(super) fn nodes<'a>(cx: &'a Context) -> Result<&'a [Node], Missing> {
    cx.cluster
        .nodes
        .as_deref()
        .ok_or_else(|| Missing::new("no Node objects", inputs::NODES))
}

/// The agent DaemonSet as a finding object.
pub(super) fn agent_object(cx: &Context) -> ObjectRef {
    match &cx.cluster.cilium.agent_daemonset {
        Some(k) => ObjectRef::new("DaemonSet", Some(&k.namespace), &k.name),
        None => ObjectRef::new("DaemonSet", Some("kube-system"), "cilium"),
    }
}

/// The namespace Cilium (and its Helm release) lives in.
pub(crate) fn cilium_namespace(cx: &Context) -> String {
    cx.cluster
        .cilium
        .agent_daemonset
        .as_ref()
        .map(|k| k.namespace.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "kube-system".to_string())
}

/// `1.27, 1.28, 1.29, 1.30` → `1.27–1.30` (the lists are contiguous); otherwise comma-joined.
pub(crate) fn minor_range(minors: &[Minor]) -> String {
    match (minors.first(), minors.last()) {
        (None, _) | (_, None) => "none".to_string(),
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => {
            let contiguous = minors.windows(2).all(|w| w[1] == w[0].next());
            if contiguous {
                format!("{a}–{b}")
            } else {
                minors
                    .iter()
                    .map(Minor::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }
}

/// The release of a Cilium minor an upgrade step installs: the newest of
/// the minor's latest known patch and the fixed releases of the known issues
/// in that minor that no known issue affects (VER012), so a step never lands
/// on a known-bad release. `None` without data for the minor, or when every
/// candidate is known-bad.
pub(crate) fn step_release(k: &Knowledge, minor: Minor) -> Option<Version> {
    let latest = k.cilium_minor(minor)?.latest_patch;
    let fixes = k
        .known_issues
        .versioned
        .iter()
        .flat_map(|i| i.fixed_in.iter().copied())
        .filter(|v| v.minor() == minor);
    std::iter::once(latest)
        .chain(fixes)
        .filter(|v| k.known_bad(*v).next().is_none())
        .max()
}

/// The chart version to install for a Cilium minor: [`step_release`], else
/// a Helm version constraint on the minor (no data, or only known-bad
/// releases known: then the newest release outside the known issues is
/// the user's to pick).
pub(crate) fn chart_version(k: &Knowledge, minor: Minor) -> String {
    step_release(k, minor)
        .map(|v| v.to_string())
        .unwrap_or_else(|| format!("'~{minor}.0'"))
}

/// `latest known patch X (knowledge of DATE)` of a Cilium minor, else the
/// chart version constraint.
pub(crate) fn latest_known(k: &Knowledge, minor: Minor) -> String {
    k.cilium_minor(minor)
        .map(|m| k.latest_known_patch(m))
        .unwrap_or_else(|| chart_version(k, minor))
}

/// Saving the current values before any `helm upgrade` (Cilium upgrade guide).
pub(crate) fn helm_values_backup(namespace: &str) -> String {
    format!("helm get values cilium --namespace {namespace} -o yaml > cilium-values.yaml")
}

pub(crate) fn helm_upgrade(k: &Knowledge, namespace: &str, minor: Minor) -> String {
    format!(
        "helm upgrade cilium cilium/cilium --namespace {namespace} --version {} -f cilium-values.yaml",
        chart_version(k, minor)
    )
}

/// Render an upgrade path as numbered, copy-pasteable steps.
pub(super) fn render_path(cx: &Context, from: (Minor, Minor), path: &UpgradePath) -> String {
    let namespace = cilium_namespace(cx);
    let cluster = cx.cluster_name();
    let nodegroups: Vec<&str> = cx
        .cluster
        .nodegroups
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|n| n.nodegroup_name.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let (mut cilium, mut kubernetes) = from;
    let mut lines = Vec::new();
    if path.steps.iter().any(|s| matches!(s.step, Step::Cilium(_))) {
        lines.push(format!(
            "Save the current values first: {}",
            helm_values_backup(&namespace)
        ));
    }
    for (i, planned) in path.steps.iter().enumerate() {
        let n = i + 1;
        let note = if planned.tested {
            String::new()
        } else {
            " (this pair is not e2e-tested either: do not stay on it)".to_string()
        };
        match planned.step {
            Step::Cilium(to) => {
                lines.push(format!(
                    "{n}. Cilium {cilium} → {to} on Kubernetes {kubernetes}{note}: {}",
                    helm_upgrade(cx.knowledge, &namespace, to)
                ));
                cilium = to;
            }
            Step::Kubernetes(to) => {
                let mut line = format!(
                    "{n}. Kubernetes {kubernetes} → {to} with Cilium {cilium}{note}: aws eks update-cluster-version --name {cluster} --kubernetes-version {to}"
                );
                if nodegroups.is_empty() {
                    line.push_str(&format!(
                        "; then each managed node group: aws eks update-nodegroup-version --cluster-name {cluster} --nodegroup-name <nodegroup> --kubernetes-version {to}"
                    ));
                } else {
                    for ng in &nodegroups {
                        line.push_str(&format!(
                            "; aws eks update-nodegroup-version --cluster-name {cluster} --nodegroup-name {ng} --kubernetes-version {to}"
                        ));
                    }
                }
                lines.push(line);
                kubernetes = to;
            }
        }
    }
    lines.join("\n")
}

/// How a set of nodes is rolled, for grouping node findings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum NodeSet {
    /// EKS managed node group (`eks.amazonaws.com/nodegroup`).
    Nodegroup(String),
    /// Karpenter NodePool (`karpenter.sh/nodepool`, or the older `karpenter.sh/provisioner-name`).
    NodePool(String),
    /// Anything else: one node.
    Node(String),
}

impl NodeSet {
    pub(super) fn of(node: &Node) -> NodeSet {
        let labels = &node.metadata.labels;
        if let Some(ng) = node.nodegroup() {
            return NodeSet::Nodegroup(ng.to_string());
        }
        if let Some(pool) = labels
            .get("karpenter.sh/nodepool")
            .or_else(|| labels.get("karpenter.sh/provisioner-name"))
        {
            return NodeSet::NodePool(pool.clone());
        }
        NodeSet::Node(node.metadata.name.clone())
    }

    pub(super) fn object(&self) -> ObjectRef {
        match self {
            NodeSet::Nodegroup(n) => ObjectRef::global("Nodegroup", n),
            NodeSet::NodePool(n) => ObjectRef::global("NodePool", n),
            NodeSet::Node(n) => ObjectRef::global("Node", n),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            NodeSet::Nodegroup(n) => format!("node group {n}"),
            NodeSet::NodePool(n) => format!("Karpenter NodePool {n}"),
            NodeSet::Node(n) => format!("node {n}"),
        }
    }

    /// How to replace the nodes of this set with a current AMI of the
    /// cluster's version.
    pub(super) fn roll_command(&self, cx: &Context, kubernetes: Option<Minor>) -> String {
        let cluster = cx.cluster_name();
        match self {
            NodeSet::Nodegroup(n) => match kubernetes {
                Some(v) => format!(
                    "aws eks update-nodegroup-version --cluster-name {cluster} --nodegroup-name {n} --kubernetes-version {v}"
                ),
                None => format!(
                    "aws eks update-nodegroup-version --cluster-name {cluster} --nodegroup-name {n}"
                ),
            },
            NodeSet::NodePool(n) => format!(
                "point the EC2NodeClass of NodePool {n} at a current AMI (e.g. amiSelectorTerms: [{{alias: al2023@latest}}]) and let Karpenter replace the drifted nodes"
            ),
            NodeSet::Node(n) => format!(
                "kubectl drain {n} --ignore-daemonsets --delete-emptydir-data, then replace the instance with one from a current EKS-optimised AMI"
            ),
        }
    }
}

/// Nodes grouped by [`NodeSet`], in a stable order.
pub(super) fn group_nodes<'a, T>(
    items: impl IntoIterator<Item = (&'a Node, T)>,
) -> BTreeMap<NodeSet, Vec<(&'a Node, T)>> {
    let mut groups: BTreeMap<NodeSet, Vec<(&'a Node, T)>> = BTreeMap::new();
    for (node, extra) in items {
        groups
            .entry(NodeSet::of(node))
            .or_default()
            .push((node, extra));
    }
    groups
}

/// `a, b, c and 7 more`.
pub(super) fn sample_names<'a>(names: impl IntoIterator<Item = &'a str>, shown: usize) -> String {
    let all: Vec<&str> = names.into_iter().collect();
    let mut text = all
        .iter()
        .take(shown)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > shown {
        text.push_str(&format!(" and {} more", all.len() - shown));
    }
    text
}

/// The AMI family of an EKS managed node group's `amiType`
/// (`AL2_x86_64`, `AL2023_ARM_64_STANDARD`, `BOTTLEROCKET_x86_64`, …).
/// `CUSTOM` and Windows types have no family here.
pub(crate) fn family_of_ami_type(ami_type: &str) -> Option<AmiFamily> {
    let t = ami_type.to_ascii_uppercase();
    if t.starts_with("AL2023") {
        Some(AmiFamily::Al2023)
    } else if t.starts_with("AL2_") || t == "AL2" {
        Some(AmiFamily::Al2)
    } else if t.starts_with("BOTTLEROCKET") {
        Some(AmiFamily::Bottlerocket)
    } else {
        None
    }
}

/// The AMI family of a node from `status.nodeInfo.osImage`
/// (`Amazon Linux 2`, `Amazon Linux 2023.6.20241010`, `Bottlerocket OS 1.26.1 (aws-k8s-1.31)`).
pub(crate) fn family_of_os_image(os_image: &str) -> Option<AmiFamily> {
    let os = os_image.trim();
    if os.starts_with("Amazon Linux 2023") {
        Some(AmiFamily::Al2023)
    } else if os == "Amazon Linux 2" || os.starts_with("Amazon Linux 2 ") {
        Some(AmiFamily::Al2)
    } else if os.starts_with("Bottlerocket") {
        Some(AmiFamily::Bottlerocket)
    } else {
        None
    }
}

pub(crate) fn family_name(f: AmiFamily) -> &'static str {
    match f {
        AmiFamily::Al2 => "AL2",
        AmiFamily::Al2023 => "AL2023",
        AmiFamily::Bottlerocket => "Bottlerocket",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ami_families() {
        assert_eq!(family_of_ami_type("AL2_x86_64"), Some(AmiFamily::Al2));
        assert_eq!(family_of_ami_type("AL2_ARM_64"), Some(AmiFamily::Al2));
        assert_eq!(
            family_of_ami_type("AL2023_x86_64_STANDARD"),
            Some(AmiFamily::Al2023)
        );
        assert_eq!(
            family_of_ami_type("BOTTLEROCKET_ARM_64"),
            Some(AmiFamily::Bottlerocket)
        );
        assert_eq!(family_of_ami_type("CUSTOM"), None);
        assert_eq!(family_of_ami_type("WINDOWS_CORE_2022_x86_64"), None);
        assert_eq!(family_of_os_image("Amazon Linux 2"), Some(AmiFamily::Al2));
        assert_eq!(
            family_of_os_image("Amazon Linux 2023.6.20241010"),
            Some(AmiFamily::Al2023)
        );
        assert_eq!(
            family_of_os_image("Bottlerocket OS 1.26.1 (aws-k8s-1.31)"),
            Some(AmiFamily::Bottlerocket)
        );
        assert_eq!(family_of_os_image("Ubuntu 22.04.4 LTS"), None);
    }

    #[test]
    fn ranges_and_samples() {
        let m = |s: &str| s.parse::<Minor>().unwrap();
        assert_eq!(minor_range(&[m("1.27"), m("1.28"), m("1.29")]), "1.27–1.29");
        assert_eq!(minor_range(&[m("1.27"), m("1.29")]), "1.27, 1.29");
        assert_eq!(minor_range(&[]), "none");
        assert_eq!(sample_names(["a", "b", "c"], 2), "a, b and 1 more");
    }
}
