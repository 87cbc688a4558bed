//! Nodes by AMI family, for the node-OS-aware CFG rules: from the Node's
//! `status.nodeInfo.osImage`, else the EKS node group's `amiType`.

use crate::knowledge::AmiFamily;
use crate::model::Cluster;
use crate::rules::ver::{family_of_ami_type, family_of_os_image};
use crate::rules::Context;

/// Names of the nodes (and node groups without nodes in the snapshot) of
/// `family`, each with what told it (`ip-… (Amazon Linux 2023.6.2024…)`).
pub(crate) fn of_family(c: &Cluster, family: AmiFamily) -> Vec<String> {
    let mut out: Vec<String> = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|n| family_of_os_image(&n.status.node_info.os_image) == Some(family))
        .map(|n| format!("{} ({})", n.metadata.name, n.status.node_info.os_image))
        .collect();
    let groups_with_nodes: std::collections::BTreeSet<&str> = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.nodegroup())
        .collect();
    for ng in c.nodegroups.as_deref().unwrap_or_default() {
        if groups_with_nodes.contains(ng.nodegroup_name.as_str()) {
            continue;
        }
        if let Some(t) = ng.ami_type.as_deref() {
            if family_of_ami_type(t) == Some(family) {
                out.push(format!("node group {} (amiType {t})", ng.nodegroup_name));
            }
        }
    }
    out
}

/// Whether the snapshot can tell node OSes at all.
pub(crate) fn known(c: &Cluster) -> bool {
    c.nodes.is_some() || c.nodegroups.is_some()
}

/// The node a sysdump capture was taken on: the agent pod named in its
/// bugtool archive (`cilium-bugtool-cilium-x2v9q-<ts>/cmd/ip-rule.md`)
/// and that pod's node, else the archive's name.
pub(crate) fn capture_node(cx: &Context, source: &str) -> Option<String> {
    let component = source
        .split(['/', '\\'])
        .find(|p| p.starts_with("cilium-bugtool-"))?;
    let pod = cx.facts.cilium_pods().agents.iter().find(|p| {
        component
            .match_indices(p.metadata.name.as_str())
            .any(|(at, name)| {
                component[..at].ends_with('-') && component[at + name.len()..].starts_with('-')
            })
    });
    Some(match pod.and_then(|p| p.spec.node_name.as_deref()) {
        Some(node) => node.to_string(),
        None => component.to_string(),
    })
}

/// A capture's place for a message: `node ip-… (cmd/ip-rule.md)` or the file.
pub(crate) fn capture_place(cx: &Context, source: &str) -> String {
    let file = crate::rules::ops::common::display_source(source);
    match capture_node(cx, source) {
        Some(node) if !file.contains(&node) => format!("{node} ({file})"),
        _ => file,
    }
}

/// The osImage of the node a capture was taken on, when known.
pub(crate) fn capture_os<'a>(cx: &Context<'a>, source: &str) -> Option<&'a str> {
    let node = capture_node(cx, source)?;
    cx.cluster
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.metadata.name == node)
        .map(|n| n.status.node_info.os_image.as_str())
}
